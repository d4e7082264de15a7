//! CDN evidence, normalized (pure): whether a response came from a cache,
//! read from `cache-status` (RFC 9211), `x-cache` (Varnish, Fastly, Squid,
//! CloudFront), `cf-cache-status` (Cloudflare), and its `age`. Only these
//! verdicts are kept; the header values themselves are never stored.
//!
//! "Hit" means the response was served from a cache without the origin
//! producing it. When a header lists several caches (a shield and an edge),
//! the response is a hit if any of them served it: a cache closer to the
//! user that missed forwarded to one that hit, and the origin was spared.

/// The headers that say whether a cache served the response, in the order
/// they are reported.
pub const HIT_HEADERS: [&str; 3] = ["cache-status", "x-cache", "cf-cache-status"];

/// The header with the response's age in a cache, in seconds.
pub const AGE_HEADER: &str = "age";

/// Whether `value` of `header` (one of [`HIT_HEADERS`], several header
/// lines joined with `,`) says the response came from a cache; `None` for
/// other headers.
pub fn is_hit(header: &str, value: &str) -> Option<bool> {
    match header {
        "cache-status" => Some(cache_status_hit(value)),
        "x-cache" => Some(split_list(value).any(x_cache_hit)),
        "cf-cache-status" => Some(split_list(value).any(cf_hit)),
        _ => None,
    }
}

/// `age: <delta-seconds>`; the first value when there are several.
pub fn age_seconds(value: &str) -> Option<f64> {
    let first = split_list(value).next()?;
    first.parse::<u64>().ok().map(|seconds| seconds as f64)
}

/// RFC 9211: `CacheName; hit`, `CacheName; fwd=miss; stored`, members
/// separated by commas (a quoted cache name may hold commas or semicolons).
/// A member is a hit when it carries the `hit` parameter (`hit` or `hit=?1`).
fn cache_status_hit(value: &str) -> bool {
    split_list(value).any(|member| {
        split_outside_quotes(member, ';')
            .skip(1)
            .map(str::trim)
            .any(|param| match param.split_once('=') {
                None => param.eq_ignore_ascii_case("hit"),
                Some((key, value)) => {
                    key.trim().eq_ignore_ascii_case("hit") && value.trim() == "?1"
                }
            })
    })
}

/// `HIT`, `Hit from cloudfront`, `RefreshHit from cloudfront`, `TCP_HIT`,
/// `TCP_MEM_HIT`: the first word ends in `HIT`. `MISS`, `TCP_MISS`,
/// `Miss from cloudfront`, `PASS`, `Error from cloudfront` are not.
fn x_cache_hit(member: &str) -> bool {
    let word = member.split_whitespace().next().unwrap_or_default();
    word.len() >= 3
        && word.is_char_boundary(word.len() - 3)
        && word[word.len() - 3..].eq_ignore_ascii_case("hit")
}

/// Cloudflare serves `HIT`, `STALE` (cached copy while the origin fails),
/// `UPDATING` (cached copy while it refreshes) and `REVALIDATED` (cached
/// body after a 304) from its cache; `MISS`, `EXPIRED`, `BYPASS`, `DYNAMIC`,
/// `NONE` and `UNKNOWN` come from the origin.
fn cf_hit(member: &str) -> bool {
    ["HIT", "STALE", "UPDATING", "REVALIDATED"]
        .iter()
        .any(|hit| member.eq_ignore_ascii_case(hit))
}

/// The trimmed, non-empty members of a comma-separated list.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    split_outside_quotes(value, ',')
        .map(str::trim)
        .filter(|member| !member.is_empty())
}

/// Splits on `separator` except inside double quotes (with `\` escapes).
fn split_outside_quotes(value: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in value.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            parts.push(&value[start..index]);
            start = index + c.len_utf8();
        }
    }
    parts.push(&value[start..]);
    parts.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(header: &str, value: &str) -> bool {
        is_hit(header, value).unwrap_or_else(|| panic!("{header} is a cache header"))
    }

    #[test]
    fn cache_status_follows_rfc_9211() {
        assert!(hit("cache-status", "ExampleCache; hit, CDN; fwd=miss"));
        assert!(hit("cache-status", "ExampleCache; hit"));
        assert!(hit("cache-status", "Edge; hit=?1; ttl=30"));
        assert!(hit("cache-status", r#""Cache, with; commas"; HIT"#));
        assert!(!hit("cache-status", "ExampleCache; fwd=uri-miss"));
        assert!(!hit(
            "cache-status",
            "Origin; fwd=stale; fwd-status=200, CDN; fwd=miss; stored"
        ));
        assert!(!hit("cache-status", "Edge; hit=?0"));
        assert!(!hit("cache-status", r#""hit; by name"; fwd=miss"#));
        assert!(
            !hit("cache-status", "hit"),
            "a cache named hit is not a hit"
        );
        assert!(!hit("cache-status", ""));
    }

    #[test]
    fn x_cache_hits_and_misses_from_several_vendors() {
        for value in [
            "HIT",
            "hit",
            "TCP_HIT",
            "TCP_MEM_HIT from squid",
            "Hit from cloudfront",
            "RefreshHit from cloudfront",
            "MISS, HIT",
            "HIT, MISS",
        ] {
            assert!(hit("x-cache", value), "{value}");
        }
        for value in [
            "MISS",
            "TCP_MISS",
            "Miss from cloudfront",
            "Error from cloudfront",
            "PASS",
            "MISS, MISS",
            "",
            "é",
        ] {
            assert!(!hit("x-cache", value), "{value}");
        }
    }

    #[test]
    fn cloudflare_statuses_served_from_its_cache_are_hits() {
        for value in ["HIT", "hit", "STALE", "UPDATING", "REVALIDATED"] {
            assert!(hit("cf-cache-status", value), "{value}");
        }
        for value in [
            "MISS", "EXPIRED", "BYPASS", "DYNAMIC", "NONE", "UNKNOWN", "HITS",
        ] {
            assert!(!hit("cf-cache-status", value), "{value}");
        }
    }

    #[test]
    fn age_is_whole_seconds_and_other_headers_are_not_verdicts() {
        assert_eq!(age_seconds("42"), Some(42.0));
        assert_eq!(age_seconds(" 7 , 9"), Some(7.0));
        assert_eq!(age_seconds("-1"), None);
        assert_eq!(age_seconds("soon"), None);
        assert_eq!(is_hit(AGE_HEADER, "42"), None);
        assert_eq!(is_hit("server", "HIT"), None);
    }
}
