//! Rule `cdn`: static assets served from origin, CDN hit ratio and first byte.
//!
//! Symptoms, why they matter and the fix:
//! - a large share of the requests or bytes an access log sees are static
//!   assets (`kind=static`: scripts, styles, images, fonts) that no cache
//!   served: the origin spends workers and bandwidth on files a CDN would
//!   serve from the edge, closer to the customer;
//! - a cache that misses (hit ratio from `access_log_cache_total` statuses
//!   or from the probes' cache-status headers): the CDN is there but its
//!   cache key or TTLs keep it from helping;
//! - a slow first byte on static assets probed: the asset comes from far
//!   away or from the origin each time.
//!
//! Probe targets count as static assets when their label (the URL by
//! default) ends in one of [`STATIC_EXTENSIONS`], the access log's list.

use headroom_proto::signals::access_log::{
    ACCESS_LOG_BYTES_TOTAL, ACCESS_LOG_CACHE_TOTAL, ACCESS_LOG_REQUESTS_TOTAL,
};
use headroom_proto::signals::http::{HTTP_PROBE_CACHE_HIT, HTTP_PROBE_DURATION_MS};

use serde::{Deserialize, Serialize};

use crate::advisor::needs::{Need, recent};
use crate::advisor::snapshot::Series;
use crate::advisor::{Context, Evidence, Finding, RecKind, Severity};

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.5: every cdn finding needs `min_requests` or `min_probe_points` behind it, which scores 0.5.
/// The series this rule reads.
pub const NEEDS: &[Need] = &[
    recent(&ACCESS_LOG_REQUESTS_TOTAL),
    recent(&ACCESS_LOG_BYTES_TOTAL),
    recent(&ACCESS_LOG_CACHE_TOTAL),
    recent(&HTTP_PROBE_CACHE_HIT),
    recent(&HTTP_PROBE_DURATION_MS),
];

pub const MIN_CONFIDENCE: f64 = 0.5;

/// Thresholds of the `cdn` rule (`[advisor.cdn]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Static requests not served by a cache, as a share of all requests
    /// of an access log (recent window), at or above this are "served from
    /// origin". Default 0.3.
    pub static_request_share: f64,
    /// … or static bytes not served by a cache, as a share of all bytes, at
    /// or above this. Default 0.5.
    pub static_byte_share: f64,
    /// Fewer requests than this in an access log's recent window say
    /// nothing (also the least static requests behind a hit ratio).
    /// Default 1,000.
    pub min_requests: f64,
    /// A cache hit ratio below this is low. Default 0.8.
    pub min_hit_ratio: f64,
    /// Fewer probe points than this in the recent window say nothing.
    /// Default 10.
    pub min_probe_points: usize,
    /// A median first byte of a static asset probed above this (ms) is
    /// slow. Default 200 ms.
    pub max_static_ttfb_ms: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            static_request_share: 0.3,
            static_byte_share: 0.5,
            min_requests: 1_000.0,
            min_hit_ratio: 0.8,
            min_probe_points: 10,
            max_static_ttfb_ms: 200.0,
        }
    }
}

/// Extensions of static assets (the access log's `route::STATIC_EXTENSIONS`).
pub const STATIC_EXTENSIONS: &[&str] = &[
    "js", "css", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "woff", "woff2", "ttf",
    "map",
];

/// Cache statuses of a response the cache served without the origin
/// producing it (nginx's `$upstream_cache_status`, lower-cased by the agent).
const CACHED_STATUSES: &[&str] = &["hit", "stale", "updating"];

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    access_logs(ctx, &mut out);
    probe_hit_ratio(ctx, &mut out);
    probe_first_byte(ctx, &mut out);
    out
}

/// Increase of the usable counter `name` with `labels` in the recent window.
fn increase(ctx: &Context, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    ctx.snapshot
        .find(name, labels)
        .filter(|s| ctx.usable(s))
        .map(|s| s.increase_since(ctx.since()))
}

fn access_logs(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cdn;
    for stat in ctx
        .snapshot
        .matching(ACCESS_LOG_REQUESTS_TOTAL.name, &[("kind", "static")])
    {
        let (agent, source) = (stat.label("agent"), stat.label("source"));
        let of = |kind: &'static str| [("agent", agent), ("source", source), ("kind", kind)];
        let (Some(static_req), Some(dynamic_req)) = (
            increase(ctx, ACCESS_LOG_REQUESTS_TOTAL.name, &of("static")),
            increase(ctx, ACCESS_LOG_REQUESTS_TOTAL.name, &of("dynamic")),
        ) else {
            continue;
        };
        let requests = static_req + dynamic_req;
        if requests < config.min_requests || static_req <= 0.0 {
            continue;
        }
        let static_bytes = increase(ctx, ACCESS_LOG_BYTES_TOTAL.name, &of("static")).unwrap_or(0.0);
        let dynamic_bytes =
            increase(ctx, ACCESS_LOG_BYTES_TOTAL.name, &of("dynamic")).unwrap_or(0.0);
        let bytes = static_bytes + dynamic_bytes;
        let labels = [("agent", agent), ("source", source)];
        let statuses: Vec<(&Series, f64)> = ctx
            .snapshot
            .matching(ACCESS_LOG_CACHE_TOTAL.name, &labels)
            .filter(|s| ctx.usable(s))
            .map(|s| (s, s.increase_since(ctx.since())))
            .collect();
        let lookups: f64 = statuses.iter().map(|(_, n)| n).sum();
        let cached: f64 = statuses
            .iter()
            .filter(|(s, _)| CACHED_STATUSES.contains(&s.label("status")))
            .map(|(_, n)| n)
            .sum();
        // Hits are taken as static requests: the generous reading.
        let uncached_static = (static_req - cached).max(0.0);
        let uncached_fraction = uncached_static / static_req;
        let request_share = uncached_static / requests;
        let byte_share = if bytes > 0.0 {
            static_bytes * uncached_fraction / bytes
        } else {
            0.0
        };
        let static_hit_ratio = (cached / static_req).min(1.0);
        let has_cache = lookups > 0.0;
        let mut evidence = Evidence::default()
            .against(
                "static requests not served by a cache / all requests",
                request_share,
                "ratio",
                config.static_request_share,
            )
            .against(
                "static bytes not served by a cache / all bytes",
                byte_share,
                "ratio",
                config.static_byte_share,
            )
            .against(
                "requests (recent window)",
                requests,
                "requests",
                config.min_requests,
            )
            .series(ACCESS_LOG_REQUESTS_TOTAL.name, &stat.labels, None);
        if let Some(s) = ctx
            .snapshot
            .find(ACCESS_LOG_BYTES_TOTAL.name, &of("static"))
        {
            evidence = evidence.series(ACCESS_LOG_BYTES_TOTAL.name, &s.labels, None);
        }
        for (s, _) in &statuses {
            evidence = evidence.series(ACCESS_LOG_CACHE_TOTAL.name, &s.labels, None);
        }
        let confidence = (requests / (requests + config.min_requests)).clamp(0.5, 0.9);
        if request_share >= config.static_request_share || byte_share >= config.static_byte_share {
            let cache_text = if has_cache {
                evidence = evidence.against(
                    "static hit ratio",
                    static_hit_ratio,
                    "ratio",
                    config.min_hit_ratio,
                );
                format!(
                    "; the cache in front served at most {:.0}% of them",
                    static_hit_ratio * 100.0
                )
            } else {
                evidence = evidence.note("No cache status in these log lines: no cache in front of this server, or its status is not logged.");
                String::new()
            };
            out.push(Finding {
                kind: RecKind::Cdn,
                key: format!("origin_static/{agent}/{source}"),
                severity: if byte_share >= config.static_byte_share {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                title: format!("Static assets served from origin ({source})"),
                summary: format!(
                    "{:.0}% of the requests and {:.0}% of the bytes that {source} served in \
                     the recent window were static assets no cache served (thresholds {:.0}% / \
                     {:.0}%){cache_text}. If nothing is done, the origin keeps spending workers \
                     and bandwidth on files, every customer fetches them from the origin's \
                     region, and traffic peaks hit the application servers in full.",
                    request_share * 100.0,
                    byte_share * 100.0,
                    config.static_request_share * 100.0,
                    config.static_byte_share * 100.0
                ),
                action: "Serve static assets (the storefront's scripts, styles, images, fonts \
                         and Medusa's uploaded product images) through a CDN: point the asset \
                         host or the file module's URL at the CDN, and send long-lived \
                         `Cache-Control: public, max-age=31536000, immutable` on fingerprinted \
                         files."
                    .to_owned(),
                evidence,
                confidence,
            });
        } else if has_cache
            && static_req >= config.min_requests
            && static_hit_ratio < config.min_hit_ratio
        {
            out.push(Finding {
                kind: RecKind::Cdn,
                key: format!("hit_ratio/access_log/{agent}/{source}"),
                severity: Severity::Info,
                title: format!("Cache in front of {source} misses static assets"),
                summary: format!(
                    "The cache in front of {source} served at most {:.0}% of {static_req:.0} \
                     static requests in the recent window (threshold {:.0}%). If nothing is \
                     done, most asset requests still travel to the origin.",
                    static_hit_ratio * 100.0,
                    config.min_hit_ratio * 100.0
                ),
                action: hit_ratio_action(),
                evidence: evidence.against(
                    "static hit ratio",
                    static_hit_ratio,
                    "ratio",
                    config.min_hit_ratio,
                ),
                confidence,
            });
        }
    }
}

fn hit_ratio_action() -> String {
    "Check the cache key and TTLs: strip query strings and cookies that do not change the \
     asset from the cache key, make sure the origin does not send `Cache-Control: private`, \
     `no-store` or `Set-Cookie` on assets, raise the TTL of fingerprinted files, and check \
     that `Vary` holds only what matters (e.g. `Accept-Encoding`)."
        .to_owned()
}

/// Whether a probe target is a static asset, from its label (the URL by
/// default).
fn is_static(target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    last.rsplit_once('.')
        .is_some_and(|(_, ext)| STATIC_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

fn probe_hit_ratio(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cdn;
    let (now, stale, start) = (ctx.snapshot.now_ms, ctx.config.stale_ms(), ctx.since());
    for s in ctx.snapshot.named(HTTP_PROBE_CACHE_HIT.name) {
        let (agent, target, header) = (s.label("agent"), s.label("target"), s.label("header"));
        if s.fresh(now, stale).is_none() {
            continue;
        }
        // Only what should be cached: static assets, or what was ever a hit.
        let cacheable = is_static(target) || s.points.iter().any(|&(_, v)| v > 0.0);
        let recent = s.since(start);
        if !cacheable || recent.len() < config.min_probe_points {
            continue;
        }
        let ratio = recent.iter().map(|&(_, v)| v).sum::<f64>() / recent.len() as f64;
        if ratio >= config.min_hit_ratio {
            continue;
        }
        let points = recent.len() as f64;
        out.push(Finding {
            kind: RecKind::Cdn,
            key: format!("hit_ratio/probe/{agent}/{target}/{header}"),
            severity: Severity::Warning,
            title: format!("CDN misses on {target}"),
            summary: format!(
                "The CDN served {target} from its cache in only {:.0}% of the probes in the \
                 recent window (`{header}`, threshold {:.0}%), although the same URL is \
                 requested again and again. If nothing is done, these requests keep going to \
                 the origin and customers wait for it.",
                ratio * 100.0,
                config.min_hit_ratio * 100.0
            ),
            action: hit_ratio_action(),
            evidence: Evidence::default()
                .against(
                    "probe cache hit ratio (recent window)",
                    ratio,
                    "ratio",
                    config.min_hit_ratio,
                )
                .against(
                    "probe points",
                    points,
                    "points",
                    config.min_probe_points as f64,
                )
                .series(
                    HTTP_PROBE_CACHE_HIT.name,
                    &s.labels,
                    Some(config.min_hit_ratio),
                ),
            confidence: (points / (points + 10.0)).min(0.9),
        });
    }
}

fn probe_first_byte(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cdn;
    let (now, stale, start) = (ctx.snapshot.now_ms, ctx.config.stale_ms(), ctx.since());
    for s in ctx
        .snapshot
        .matching(HTTP_PROBE_DURATION_MS.name, &[("phase", "first_byte")])
    {
        let (agent, target) = (s.label("agent"), s.label("target"));
        if !is_static(target) || s.fresh(now, stale).is_none() {
            continue;
        }
        let mut values: Vec<f64> = s.since(start).iter().map(|&(_, v)| v).collect();
        if values.len() < config.min_probe_points {
            continue;
        }
        values.sort_by(f64::total_cmp);
        let mid = values.len() / 2;
        let median = if values.len().is_multiple_of(2) {
            (values[mid - 1] + values[mid]) / 2.0
        } else {
            values[mid]
        };
        if median <= config.max_static_ttfb_ms {
            continue;
        }
        let hit = ctx
            .snapshot
            .matching(
                HTTP_PROBE_CACHE_HIT.name,
                &[("agent", agent), ("target", target)],
            )
            .filter_map(|h| h.fresh(now, stale))
            .fold(None, |best: Option<f64>, v| {
                Some(best.map_or(v, |b| b.max(v)))
            });
        let cause = match hit {
            Some(v) if v > 0.0 => {
                "even from the CDN's cache, so the time goes to the edge's distance from the probe or to the asset's size (compare the probe's connect phase with its first byte)"
            }
            Some(_) => "the CDN missed, so the origin produced it",
            None => {
                "no cache-status header was seen, so Headroom cannot tell whether a CDN served it"
            }
        };
        let points = values.len() as f64;
        out.push(Finding {
            kind: RecKind::Cdn,
            key: format!("ttfb/{agent}/{target}"),
            severity: Severity::Info,
            title: format!("Slow first byte for {target}"),
            summary: format!(
                "The static asset {target} takes {median:.0} ms to its first byte (median of the \
                 recent window, threshold {:.0} ms): {cause}. If nothing is done, every page \
                 that needs it renders that much later.",
                config.max_static_ttfb_ms
            ),
            action: "Serve the asset from a CDN edge near the customers with a long TTL (check \
                     that the probe sees a cache hit), and keep the origin for cache misses \
                     only."
                .to_owned(),
            evidence: Evidence::default()
                .against(
                    "median first byte (recent window)",
                    median,
                    "ms",
                    config.max_static_ttfb_ms,
                )
                .against(
                    "probe points",
                    points,
                    "points",
                    config.min_probe_points as f64,
                )
                .series(
                    HTTP_PROBE_DURATION_MS.name,
                    &s.labels,
                    Some(config.max_static_ttfb_ms),
                ),
            confidence: (points / (points + 10.0)).min(0.9),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::Snapshot;
    use crate::advisor::rules::testing::{keyed, run_rule};
    use crate::analysis::{DAY_MS, MINUTE_MS};
    use crate::store::model::Kind;

    const NOW: i64 = 40 * DAY_MS;
    const STEP: i64 = 5 * MINUTE_MS;
    const ASSET: &str = "https://shop.example/_next/static/app.js";
    const API: &str = "https://shop.example/store/products";

    fn run(snap: &Snapshot) -> Vec<Finding> {
        run_rule(evaluate, snap, &[])
    }

    /// A counter rising by `each` over `n` five-minute steps ending now.
    fn counter(name: &str, labels: &[(&str, &str)], n: i64, each: f64) -> Series {
        let points = (0..=n)
            .map(|i| (NOW - (n - i) * STEP, 500.0 + i as f64 * each))
            .collect();
        Series::new(name, labels, Kind::Counter, points)
    }

    /// An access log over ten steps: requests and bytes per step by kind,
    /// and cache statuses per step.
    fn log(requests: [f64; 2], bytes: [f64; 2], cache: &[(&str, f64)]) -> Snapshot {
        log_steps(10, requests, bytes, cache)
    }

    fn log_steps(n: i64, requests: [f64; 2], bytes: [f64; 2], cache: &[(&str, f64)]) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        for (i, kind) in ["static", "dynamic"].into_iter().enumerate() {
            let labels = [("agent", "web"), ("source", "nginx"), ("kind", kind)];
            snap.push(counter(
                "access_log_requests_total",
                &labels,
                n,
                requests[i],
            ));
            snap.push(counter("access_log_bytes_total", &labels, n, bytes[i]));
        }
        for &(status, each) in cache {
            let labels = [("agent", "web"), ("source", "nginx"), ("status", status)];
            snap.push(counter("access_log_cache_total", &labels, n, each));
        }
        snap
    }

    #[test]
    fn static_request_share_at_the_threshold_is_served_from_origin() {
        let found = run(&log([300.0, 700.0], [100.0, 900.0], &[]));
        let f = keyed(&found, "origin_static/");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert_eq!(f[0].key, "origin_static/web/nginx");
        assert_eq!(f[0].severity, Severity::Info, "bytes are below their share");
        assert!(f[0].action.contains("CDN"));
        assert_eq!(
            keyed(
                &run(&log([500.0, 500.0], [100.0, 900.0], &[])),
                "origin_static/"
            )
            .len(),
            1
        );
    }

    #[test]
    fn static_request_share_below_the_threshold_is_fine() {
        assert!(run(&log([290.0, 710.0], [100.0, 900.0], &[])).is_empty());
    }

    #[test]
    fn static_byte_share_below_at_and_above_the_threshold() {
        assert!(run(&log([100.0, 900.0], [490.0, 510.0], &[])).is_empty());
        let at = run(&log([100.0, 900.0], [500.0, 500.0], &[]));
        assert_eq!(at.len(), 1);
        assert_eq!(at[0].severity, Severity::Warning);
        assert_eq!(run(&log([100.0, 900.0], [900.0, 100.0], &[])).len(), 1);
    }

    #[test]
    fn access_logs_need_enough_requests_and_points() {
        // 10 steps × 100 = 1,000 requests; × 90 = 900.
        assert_eq!(run(&log([50.0, 50.0], [1.0, 1.0], &[])).len(), 1);
        assert!(run(&log([45.0, 45.0], [1.0, 1.0], &[])).is_empty());
        assert!(run(&log_steps(1, [5_000.0, 5_000.0], [1.0, 1.0], &[])).is_empty());
    }

    #[test]
    fn cache_hits_take_static_requests_off_the_origin() {
        let cached = run(&log(
            [500.0, 500.0],
            [100.0, 900.0],
            &[("hit", 450.0), ("miss", 50.0)],
        ));
        assert!(cached.is_empty(), "{cached:#?}");
    }

    #[test]
    fn a_static_hit_ratio_below_the_threshold_is_a_cache_key_problem() {
        // 150 of 500 static requests a step miss: 15% of all requests.
        let found = run(&log(
            [500.0, 500.0],
            [100.0, 900.0],
            &[("hit", 350.0), ("miss", 150.0)],
        ));
        let f = keyed(&found, "hit_ratio/access_log/");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert!(f[0].action.contains("cache key"));
        assert!(
            keyed(&found, "origin_static/").is_empty(),
            "one finding per source"
        );
        let at = run(&log(
            [500.0, 500.0],
            [100.0, 900.0],
            &[("hit", 400.0), ("miss", 100.0)],
        ));
        assert!(at.is_empty(), "0.8 is enough");
    }

    #[test]
    fn origin_static_with_a_cache_reports_its_hit_ratio_once() {
        let found = run(&log(
            [800.0, 200.0],
            [100.0, 900.0],
            &[("hit", 100.0), ("miss", 700.0)],
        ));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].key.starts_with("origin_static/"));
        assert!(
            found[0].summary.contains("at most 12%"),
            "{}",
            found[0].summary
        );
    }

    fn probe(name: &str, target: &str, extra: (&str, &str), values: &[f64]) -> Series {
        let n = values.len() as i64;
        let points = values
            .iter()
            .enumerate()
            .map(|(i, &v)| (NOW - (n - 1 - i as i64) * MINUTE_MS, v))
            .collect();
        Series::new(
            name,
            &[("agent", "probe"), ("target", target), extra],
            Kind::Gauge,
            points,
        )
    }

    fn hits(target: &str, hits: usize, misses: usize) -> Snapshot {
        let mut values = vec![1.0; hits];
        values.extend(vec![0.0; misses]);
        let mut snap = Snapshot::at(NOW);
        snap.push(probe(
            "http_probe_cache_hit",
            target,
            ("header", "x-cache"),
            &values,
        ));
        snap
    }

    #[test]
    fn probe_hit_ratio_below_at_and_above_the_threshold() {
        assert!(run(&hits(ASSET, 8, 2)).is_empty());
        let below = run(&hits(ASSET, 7, 3));
        assert_eq!(below.len(), 1);
        assert_eq!(
            below[0].key,
            format!("hit_ratio/probe/probe/{ASSET}/x-cache")
        );
        assert!(run(&hits(ASSET, 10, 0)).is_empty());
    }

    #[test]
    fn probe_hit_ratio_needs_enough_points() {
        assert!(run(&hits(ASSET, 0, 9)).is_empty());
        assert_eq!(run(&hits(ASSET, 0, 10)).len(), 1);
    }

    #[test]
    fn dynamic_targets_that_never_hit_are_not_expected_to() {
        assert!(run(&hits(API, 0, 20)).is_empty());
        assert_eq!(run(&hits(API, 5, 15)).len(), 1, "cacheable but missing");
    }

    fn first_byte(target: &str, ms: f64, points: usize, cache_hit: Option<f64>) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        snap.push(probe(
            "http_probe_duration_ms",
            target,
            ("phase", "first_byte"),
            &vec![ms; points],
        ));
        snap.push(probe(
            "http_probe_duration_ms",
            target,
            ("phase", "total"),
            &vec![ms * 3.0; points],
        ));
        if let Some(hit) = cache_hit {
            snap.push(probe(
                "http_probe_cache_hit",
                target,
                ("header", "x-cache"),
                &vec![hit; points],
            ));
        }
        snap
    }

    #[test]
    fn static_first_byte_below_at_and_above_the_threshold() {
        assert!(run(&first_byte(ASSET, 150.0, 10, None)).is_empty());
        assert!(run(&first_byte(ASSET, 200.0, 10, None)).is_empty());
        let above = run(&first_byte(ASSET, 201.0, 10, None));
        assert_eq!(keyed(&above, "ttfb/").len(), 1);
        assert!(
            above[0]
                .summary
                .contains("cannot tell whether a CDN served it")
        );
        let from_edge = run(&first_byte(ASSET, 400.0, 10, Some(1.0)));
        assert!(from_edge[0].summary.contains("even from the CDN"));
    }

    #[test]
    fn first_byte_needs_points_and_a_static_target() {
        assert!(run(&first_byte(ASSET, 900.0, 9, None)).is_empty());
        assert!(run(&first_byte(API, 900.0, 20, None)).is_empty());
        let mut stale = first_byte(ASSET, 900.0, 20, None);
        stale.now_ms += DAY_MS;
        assert!(run(&stale).is_empty());
    }

    #[test]
    fn static_targets_are_recognised_by_extension() {
        assert!(is_static(ASSET));
        assert!(is_static("https://cdn.example/img/a.WEBP?v=3"));
        assert!(!is_static(API));
        assert!(!is_static("https://shop.example/"));
    }
}
