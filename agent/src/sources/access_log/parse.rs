//! One log line → one [`Entry`], for each `format`.
//!
//! `nginx_combined` is nginx's predefined format
//! `$remote_addr - $remote_user [$time_local] "$request" $status
//! $body_bytes_sent "$http_referer" "$http_user_agent"`, optionally followed
//! by more space-separated fields. Of those, the first number is the
//! duration in seconds (`$request_time`, or `$upstream_response_time`; for
//! the latter's `0.010, 0.120` across upstreams the first field's value
//! counts); `-` is "no duration"; a field that is an nginx cache status
//! (`HIT`, `MISS`, `BYPASS`, `EXPIRED`, `STALE`, `UPDATING`, `REVALIDATED`)
//! is `$upstream_cache_status`. Quoted fields may hold spaces and `\"`.
//!
//! `json` is one object per line; `fields` names the keys (top level only).
//! Numbers may be JSON numbers or strings (`"0.123"`, as nginx's
//! `escape=json` writes them).

use serde::Deserialize;
use serde_json::Value;

/// What one request line says.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub method: String,
    /// The raw request target (path and query).
    pub target: String,
    pub status: u16,
    pub bytes: u64,
    pub duration_ms: Option<f64>,
    /// Cache status, lower case.
    pub cache: Option<String>,
}

/// Unit of the json `duration` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum DurationUnit {
    #[serde(rename = "s")]
    Seconds,
    #[default]
    #[serde(rename = "ms")]
    Millis,
    #[serde(rename = "us")]
    Micros,
}

impl DurationUnit {
    /// The `duration_unit` value.
    pub fn as_str(self) -> &'static str {
        match self {
            DurationUnit::Seconds => "s",
            DurationUnit::Millis => "ms",
            DurationUnit::Micros => "us",
        }
    }

    fn to_ms(self, value: f64) -> f64 {
        match self {
            DurationUnit::Seconds => value * 1000.0,
            DurationUnit::Millis => value,
            DurationUnit::Micros => value / 1000.0,
        }
    }
}

/// Which json keys hold what (`format = "json"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fields {
    /// Accepted for completeness; lines are counted in the interval in which
    /// they are read, not by their own time.
    pub time: String,
    pub method: String,
    /// The request target (path, with or without its query string).
    pub path: String,
    pub status: String,
    pub bytes: String,
    pub duration: String,
    pub duration_unit: DurationUnit,
    pub cache: String,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            time: "time".into(),
            method: "method".into(),
            path: "path".into(),
            status: "status".into(),
            bytes: "bytes".into(),
            duration: "duration".into(),
            duration_unit: DurationUnit::Millis,
            cache: "cache".into(),
        }
    }
}

const CACHE_STATUSES: &[&str] = &[
    "HIT",
    "MISS",
    "BYPASS",
    "EXPIRED",
    "STALE",
    "UPDATING",
    "REVALIDATED",
];

/// Splits an nginx line into fields: bare words, `[bracketed]` and
/// `"quoted"` (with `\"` escapes), without their delimiters.
fn tokens(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(first) = chars.next() else {
            return Some(out);
        };
        let mut token = String::new();
        match first {
            '"' => loop {
                match chars.next()? {
                    '\\' => token.push(chars.next()?),
                    '"' => break,
                    c => token.push(c),
                }
            },
            '[' => loop {
                match chars.next()? {
                    ']' => break,
                    c => token.push(c),
                }
            },
            c => {
                token.push(c);
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    token.push(c);
                    chars.next();
                }
            }
        }
        out.push(token);
    }
}

/// Parses a `nginx_combined` line (see the module doc).
pub fn nginx_combined(line: &str) -> Option<Entry> {
    let fields = tokens(line.trim_end_matches('\r'))?;
    if fields.len() < 9 {
        return None;
    }
    let mut request = fields[4].split(' ');
    let method = request.next()?.to_owned();
    let target = request.next()?.to_owned();
    let status = fields[5].parse().ok()?;
    let bytes = if fields[6] == "-" {
        0
    } else {
        fields[6].parse().ok()?
    };
    let mut duration_ms = None;
    let mut cache = None;
    let mut seen_number = false;
    for extra in &fields[9..] {
        let first = extra.split(',').next().unwrap_or_default().trim();
        if let Ok(seconds) = first.parse::<f64>() {
            if !seen_number && seconds.is_finite() && seconds >= 0.0 {
                duration_ms = Some(seconds * 1000.0);
            }
            seen_number = true;
        } else if CACHE_STATUSES.contains(&extra.as_str()) {
            cache = Some(extra.to_ascii_lowercase());
        }
    }
    Some(Entry {
        method,
        target,
        status,
        bytes,
        duration_ms,
        cache,
    })
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a `json` line with `fields`; `method`, `path` and `status` are
/// required, the others optional.
pub fn json(line: &str, fields: &Fields) -> Option<Entry> {
    let Value::Object(object) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let status = number(object.get(&fields.status)?)?;
    if !(0.0..1000.0).contains(&status) {
        return None;
    }
    Some(Entry {
        method: text(&fields.method)?.to_owned(),
        target: text(&fields.path)?.to_owned(),
        status: status as u16,
        bytes: object
            .get(&fields.bytes)
            .and_then(number)
            .filter(|bytes| *bytes >= 0.0)
            .map_or(0, |bytes| bytes as u64),
        duration_ms: object
            .get(&fields.duration)
            .and_then(number)
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| fields.duration_unit.to_ms(d)),
        cache: text(&fields.cache)
            .filter(|status| !status.is_empty() && *status != "-")
            .map(str::to_ascii_lowercase),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = r#"203.0.113.7 - - [27/Nov/2026:13:05:01 +0000] "POST /store/carts/cart_01HZX3Q4M2N5P6R7S8T9V0W1XY/complete HTTP/1.1" 200 1534 "https://shop.example.com/checkout" "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" AppleWebKit""#;

    #[test]
    fn nginx_combined_without_request_time() {
        let entry = nginx_combined(COMBINED).expect("parses");
        assert_eq!(entry.method, "POST");
        assert_eq!(
            entry.target,
            "/store/carts/cart_01HZX3Q4M2N5P6R7S8T9V0W1XY/complete"
        );
        assert_eq!((entry.status, entry.bytes), (200, 1534));
        assert_eq!(entry.duration_ms, None);
        assert_eq!(entry.cache, None);
    }

    #[test]
    fn nginx_combined_with_request_time_and_cache_status() {
        let entry = nginx_combined(&format!("{COMBINED} 0.287")).expect("parses");
        assert_eq!(entry.duration_ms, Some(287.0));
        let entry = nginx_combined(&format!("{COMBINED} 0.250, 0.030 HIT")).expect("parses");
        assert_eq!(entry.duration_ms, Some(250.0));
        assert_eq!(entry.cache.as_deref(), Some("hit"));
        let entry = nginx_combined(&format!("{COMBINED} - MISS")).expect("parses");
        assert_eq!(entry.duration_ms, None);
        assert_eq!(entry.cache.as_deref(), Some("miss"));
        let entry = nginx_combined(&format!("{COMBINED} 0.005 0.004")).expect("parses");
        assert_eq!(entry.duration_ms, Some(5.0));
    }

    #[test]
    fn nginx_garbage_is_rejected() {
        assert!(nginx_combined("").is_none());
        assert!(nginx_combined("hello world").is_none());
        assert!(nginx_combined(r#"1.2.3.4 - - [x] "GET / HTTP/1.1" abc 1 "-" "-""#).is_none());
        assert!(nginx_combined(r#"1.2.3.4 - - [x] "-" 400 0 "-" "-""#).is_none());
        assert!(
            nginx_combined(r#"1.2.3.4 - - [x] "GET / HTTP/1.1" 200 1 "-" "unterminated"#).is_none()
        );
        let dash_bytes = nginx_combined(r#"1.2.3.4 - - [x] "GET / HTTP/1.1" 304 - "-" "-""#);
        assert_eq!(dash_bytes.map(|e| e.bytes), Some(0));
    }

    #[test]
    fn json_with_field_mapping_and_units() {
        let fields = Fields {
            method: "request_method".into(),
            path: "uri".into(),
            bytes: "body_bytes_sent".into(),
            duration: "request_time".into(),
            duration_unit: DurationUnit::Seconds,
            cache: "upstream_cache_status".into(),
            ..Fields::default()
        };
        let line = r#"{"request_method":"GET","uri":"/store/products?limit=1","status":"200","body_bytes_sent":"512","request_time":"0.042","upstream_cache_status":"HIT"}"#;
        let entry = json(line, &fields).expect("parses");
        assert_eq!(entry.method, "GET");
        assert_eq!(entry.target, "/store/products?limit=1");
        assert_eq!((entry.status, entry.bytes), (200, 512));
        assert_eq!(entry.duration_ms, Some(42.0));
        assert_eq!(entry.cache.as_deref(), Some("hit"));

        let defaults = Fields::default();
        let line = r#"{"method":"POST","path":"/x","status":503,"duration":1500}"#;
        let entry = json(line, &defaults).expect("parses");
        assert_eq!(
            (entry.status, entry.bytes, entry.duration_ms),
            (503, 0, Some(1500.0))
        );
        let micros = Fields {
            duration_unit: DurationUnit::Micros,
            ..Fields::default()
        };
        assert_eq!(json(line, &micros).and_then(|e| e.duration_ms), Some(1.5));
        assert!(json(r#"{"method":"GET","status":200}"#, &defaults).is_none());
        assert!(json("not json", &defaults).is_none());
        assert!(json("[1,2]", &defaults).is_none());
    }
}
