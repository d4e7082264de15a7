//! The web dashboard's assets, embedded into the binary at build time from
//! `dashboards/`: `GET /` (the page) and `GET /assets/{file}` (its script
//! and style). Nothing is fetched from elsewhere at run time. Responses
//! carry an ETag (a hash of the content) with `Cache-Control: no-cache`, so
//! browsers revalidate and get a 304 until the binary changes.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, ErrorBody};

/// One embedded file.
#[derive(Debug)]
struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    hash: u64,
}

const fn asset(body: &'static [u8], content_type: &'static str) -> Asset {
    Asset {
        body,
        content_type,
        hash: fnv1a(body),
    }
}

static INDEX: Asset = asset(
    include_bytes!("../../../dashboards/index.html"),
    "text/html; charset=utf-8",
);
static APP_JS: Asset = asset(
    include_bytes!("../../../dashboards/app.js"),
    "text/javascript; charset=utf-8",
);
static INDEXES_JS: Asset = asset(
    include_bytes!("../../../dashboards/indexes.js"),
    "text/javascript; charset=utf-8",
);
static APP_CSS: Asset = asset(
    include_bytes!("../../../dashboards/app.css"),
    "text/css; charset=utf-8",
);

/// The page may load only its own script, style and API: the inline SVG
/// charts use presentation attributes, never `style`.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// FNV-1a, 64 bits, computed at compile time.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The dashboard's page (never needs a token; its API calls do)
#[utoipa::path(
    get,
    path = "/",
    tag = "dashboard",
    security(()),
    responses(
        (status = 200, description = "The page.", content_type = "text/html", body = String),
        (status = 304, description = "Unchanged since the ETag sent in `If-None-Match`."),
    )
)]
pub(super) async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX, &headers)
}

/// One of the dashboard's script and style files
#[utoipa::path(
    get,
    path = "/assets/{file}",
    tag = "dashboard",
    security(()),
    params(("file" = String, Path, description = "`app.js`, `indexes.js` or `app.css`.")),
    responses(
        (status = 200, description = "The file.", content_type = "text/javascript", body = String),
        (status = 304, description = "Unchanged since the ETag sent in `If-None-Match`."),
        (status = 404, description = "No such file.", body = ErrorBody),
    )
)]
pub(super) async fn file(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match lookup(&file) {
        Some(asset) => serve(asset, &headers),
        None => ApiError::not_found(format!("no dashboard asset `{file}`")).into_response(),
    }
}

fn lookup(file: &str) -> Option<&'static Asset> {
    match file {
        "app.js" => Some(&APP_JS),
        "indexes.js" => Some(&INDEXES_JS),
        "app.css" => Some(&APP_CSS),
        _ => None,
    }
}

fn serve(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let etag = format!("\"{:016x}\"", asset.hash);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, value);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_embedded_with_its_type() {
        assert!(
            std::str::from_utf8(INDEX.body)
                .expect("utf-8")
                .contains("/assets/app.js")
        );
        assert!(
            std::str::from_utf8(INDEX.body)
                .expect("utf-8")
                .contains("/assets/app.css")
        );
        assert_eq!(
            lookup("app.js").map(|a| a.content_type),
            Some(APP_JS.content_type)
        );
        assert!(lookup("app.css").is_some_and(|a| a.content_type.starts_with("text/css")));
        for script in ["app.js", "indexes.js"] {
            assert!(
                std::str::from_utf8(INDEX.body)
                    .expect("utf-8")
                    .contains(&format!("/assets/{script}")),
                "index.html loads {script}"
            );
            assert!(lookup(script).is_some(), "{script} is embedded");
        }
        assert!(lookup("../Cargo.toml").is_none());
        assert!(lookup("index.html").is_none());
    }

    #[test]
    fn a_matching_etag_gets_304_and_another_gets_the_body() {
        let etag = format!("\"{:016x}\"", APP_JS.hash);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&etag).expect("ascii"),
        );
        let response = serve(&APP_JS, &headers);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(response.headers()[header::ETAG], etag.as_str());

        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        let response = serve(&APP_JS, &headers);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
    }

    #[test]
    fn the_hash_changes_with_the_content() {
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        assert_ne!(INDEX.hash, APP_JS.hash);
    }
}
