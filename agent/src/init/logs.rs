//! Web server access logs under `--log-dir` (default `/var/log`):
//! `nginx/*access.log` and `caddy/*.log`, and their format told from their
//! last lines by the `access_log` source's own parsers (`sniff`, pure).

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::plan::LogFormat;
use crate::sources::access_log::parse::{self, DurationUnit, Fields};

/// Bytes read from the end of a log to sniff its format.
const TAIL_BYTES: u64 = 64 * 1024;
/// Lines looked at.
const SNIFF_LINES: usize = 20;

/// A log file and the server that writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFile {
    pub server: Server,
    pub path: PathBuf,
}

/// Which web server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Nginx,
    Caddy,
}

impl Server {
    /// Its name in prose.
    pub fn name(self) -> &'static str {
        match self {
            Server::Nginx => "nginx",
            Server::Caddy => "Caddy",
        }
    }
}

impl LogFile {
    /// The source name: `nginx` for nginx's `access.log`, else the server
    /// and the file's stem (`caddy-shop`, `nginx-shop.access`).
    pub fn name(&self) -> String {
        let stem = self
            .path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        match (self.server, stem.as_str()) {
            (Server::Nginx, "access") => "nginx".into(),
            (Server::Nginx, _) => format!("nginx-{stem}"),
            (Server::Caddy, _) => format!("caddy-{stem}"),
        }
    }
}

/// The live access logs under `log_dir` (rotated copies such as
/// `access.log.1` or `.gz` are not live and are left out).
pub fn find(log_dir: &Path) -> Vec<LogFile> {
    let mut found = Vec::new();
    for (server, dir, wanted) in [
        (Server::Nginx, "nginx", "access.log"),
        (Server::Caddy, "caddy", ".log"),
    ] {
        let Ok(entries) = std::fs::read_dir(log_dir.join(dir)) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file())
            .filter(|path| {
                path.file_name()
                    .is_some_and(|name| name.to_string_lossy().ends_with(wanted))
            })
            .collect();
        paths.sort();
        found.extend(paths.into_iter().map(|path| LogFile { server, path }));
    }
    found
}

/// The last lines of `path` (up to [`SNIFF_LINES`]).
pub fn last_lines(path: &Path) -> std::io::Result<Vec<String>> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if length > TAIL_BYTES && !lines.is_empty() {
        lines.remove(0); // probably cut in the middle
    }
    let start = lines.len().saturating_sub(SNIFF_LINES);
    Ok(lines[start..]
        .iter()
        .map(|line| (*line).to_owned())
        .collect())
}

/// Which format `lines` are in, or why the `access_log` source cannot
/// read them. An empty log of nginx is taken as nginx's default format.
pub fn sniff(server: Server, lines: &[String]) -> Result<LogFormat, String> {
    if lines.is_empty() {
        return match server {
            Server::Nginx => Ok(LogFormat::NginxCombined {
                duration: false,
                cache: false,
                empty: true,
            }),
            Server::Caddy => Err("empty, so its format cannot be told yet".into()),
        };
    }
    let majority = |count: usize| count * 2 > lines.len();
    let nginx: Vec<parse::Entry> = lines
        .iter()
        .filter_map(|line| parse::nginx_combined(line))
        .collect();
    if majority(nginx.len()) {
        return Ok(LogFormat::NginxCombined {
            duration: nginx.iter().any(|e| e.duration_ms.is_some()),
            cache: nginx.iter().any(|e| e.cache.is_some()),
            empty: false,
        });
    }
    let Some(Value::Object(first)) = lines
        .iter()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
    else {
        return Err(
            "neither nginx's `combined` format nor JSON lines: set its format by hand \
             (see agent.example.toml)"
                .into(),
        );
    };
    if first
        .get("request")
        .is_some_and(|request| request.get("method").is_some())
    {
        return Err(
            "Caddy's JSON nests the method and URI under `request`, which the access_log \
             source cannot read: have Caddy write flat keys, or read the store's traces \
             with the otlp source instead"
                .into(),
        );
    }
    let (fields, unit_from_key) = json_fields(&first);
    let parsed = lines
        .iter()
        .filter(|line| parse::json(line, &fields).is_some())
        .count();
    if majority(parsed) {
        Ok(LogFormat::Json {
            fields,
            unit_from_key,
        })
    } else {
        Err(
            "JSON lines without recognisable method, path and status keys: set `fields` \
             by hand (see agent.example.toml)"
                .into(),
        )
    }
}

/// Keys of a JSON line for each field, by the names web servers and
/// log_format snippets commonly use; and whether the duration's unit was
/// told by its key.
fn json_fields(object: &serde_json::Map<String, Value>) -> (Fields, bool) {
    let default = Fields::default();
    let pick = |names: &[&str], fallback: &str| {
        names
            .iter()
            .find(|name| object.contains_key(**name))
            .map_or_else(|| fallback.to_owned(), |name| (*name).to_owned())
    };
    let duration = pick(
        &[
            "duration",
            "duration_ms",
            "request_time",
            "upstream_response_time",
            "response_time",
            "duration_us",
            "latency",
        ],
        &default.duration,
    );
    let unit = match duration.as_str() {
        "request_time" | "upstream_response_time" => Some(DurationUnit::Seconds),
        name if name.ends_with("_ms") => Some(DurationUnit::Millis),
        name if name.ends_with("_us") => Some(DurationUnit::Micros),
        _ => None,
    };
    let fields = Fields {
        time: pick(
            &[
                "time",
                "time_local",
                "time_iso8601",
                "timestamp",
                "ts",
                "@timestamp",
            ],
            &default.time,
        ),
        method: pick(
            &["method", "request_method", "http_method"],
            &default.method,
        ),
        path: pick(&["path", "uri", "request_uri", "url"], &default.path),
        status: pick(
            &["status", "status_code", "response_status"],
            &default.status,
        ),
        bytes: pick(
            &[
                "bytes",
                "body_bytes_sent",
                "bytes_sent",
                "size",
                "response_size",
            ],
            &default.bytes,
        ),
        duration,
        duration_unit: unit.unwrap_or(default.duration_unit),
        cache: pick(
            &["cache", "upstream_cache_status", "cache_status"],
            &default.cache,
        ),
    };
    (fields, unit.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|text| (*text).to_owned()).collect()
    }

    const COMBINED: &str = r#"203.0.113.7 - - [27/Nov/2026:13:05:01 +0000] "GET /store/products HTTP/1.1" 200 1534 "-" "curl/8.0""#;

    #[test]
    fn nginx_combined_with_and_without_request_time() {
        assert_eq!(
            sniff(Server::Nginx, &lines(&[COMBINED, COMBINED])),
            Ok(LogFormat::NginxCombined {
                duration: false,
                cache: false,
                empty: false
            })
        );
        let timed = format!("{COMBINED} 0.012 HIT");
        assert_eq!(
            sniff(Server::Nginx, &lines(&[&timed, &timed, "garbage"])),
            Ok(LogFormat::NginxCombined {
                duration: true,
                cache: true,
                empty: false
            })
        );
    }

    #[test]
    fn an_empty_nginx_log_is_taken_as_nginx_default_and_an_empty_caddy_log_is_not() {
        assert!(matches!(
            sniff(Server::Nginx, &[]),
            Ok(LogFormat::NginxCombined { empty: true, .. })
        ));
        assert!(sniff(Server::Caddy, &[]).is_err());
    }

    #[test]
    fn json_lines_get_their_keys_and_unit() {
        let line = r#"{"time_local":"x","request_method":"GET","request_uri":"/store/carts","status":"200","body_bytes_sent":"12","request_time":"0.004","upstream_cache_status":"MISS"}"#;
        let Ok(LogFormat::Json {
            fields,
            unit_from_key,
        }) = sniff(Server::Nginx, &lines(&[line, line]))
        else {
            panic!("json expected")
        };
        assert!(unit_from_key);
        assert_eq!(
            fields,
            Fields {
                time: "time_local".into(),
                method: "request_method".into(),
                path: "request_uri".into(),
                status: "status".into(),
                bytes: "body_bytes_sent".into(),
                duration: "request_time".into(),
                duration_unit: DurationUnit::Seconds,
                cache: "upstream_cache_status".into(),
            }
        );
    }

    #[test]
    fn caddys_nested_json_and_other_text_are_refused_with_a_reason() {
        let caddy = r#"{"level":"info","ts":1.7e9,"logger":"http.log.access","request":{"method":"GET","uri":"/"},"status":200,"size":5,"duration":0.001}"#;
        let reason = sniff(Server::Caddy, &lines(&[caddy])).expect_err("nested");
        assert!(reason.contains("nests"), "{reason}");
        let reason = sniff(Server::Nginx, &lines(&["hello world"])).expect_err("text");
        assert!(reason.contains("neither"), "{reason}");
    }

    #[test]
    fn only_live_logs_are_found_and_named_after_their_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in [
            "nginx/access.log",
            "nginx/access.log.1",
            "nginx/shop.access.log",
            "nginx/error.log",
            "caddy/shop.log",
            "caddy/shop.log.gz",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, "").expect("write");
        }
        let names: Vec<String> = find(dir.path()).iter().map(LogFile::name).collect();
        assert_eq!(names, ["nginx", "nginx-shop.access", "caddy-shop"]);
    }
}
