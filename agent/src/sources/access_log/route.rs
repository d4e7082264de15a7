//! Raw request paths → route templates, so that ids never become labels.
//!
//! In order: the query string and fragment are dropped; an absolute URL
//! (`http://host/x`) keeps only its path; configured templates
//! (`/store/carts/:id/complete`) are tried first, segment by segment (a
//! `:name` segment matches any one segment); a path whose last segment ends
//! in a static-asset extension becomes `/static/*.<ext>` of kind `static`;
//! otherwise every segment that looks like an id becomes `:id`:
//!
//! - Medusa ids, a lower-case `prefix_` + at least 16 alphanumerics with a
//!   digit (`cart_01H…`, `order_01…`, `prod_01…`, `pay_col_01…`, `pk_…`);
//! - ULIDs (26 Crockford base-32 characters), UUIDs, numbers;
//! - hex runs of 16 or more characters with a digit;
//! - base64-ish tokens: 20 or more characters of `[A-Za-z0-9_=+.-]` with a
//!   digit and both letter cases (slugs are lower case and stay);
//! - anything with `@` (e-mail addresses) or `%` (encoded text), and any
//!   segment longer than 64 characters.
//!
//! Empty segments collapse (`//a/` → `/a`). Methods outside the standard set
//! become `OTHER`.

/// Extensions reported as `static` (lower case, without the dot).
pub const STATIC_EXTENSIONS: &[&str] = &[
    "js", "css", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "woff", "woff2", "ttf",
    "map",
];

/// Longest segment kept as text.
const MAX_SEGMENT: usize = 64;

/// Whether a request is for a static asset or for the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Static,
    Dynamic,
}

impl Kind {
    /// The `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Static => "static",
            Kind::Dynamic => "dynamic",
        }
    }
}

/// Configured templates, split into segments.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    templates: Vec<(String, Vec<String>)>,
}

impl Templates {
    /// From `routes` (each starts with `/`; `Config::validate` checks it).
    pub fn new(routes: &[String]) -> Self {
        Self {
            templates: routes
                .iter()
                .map(|route| (route.clone(), segments(route).map(str::to_owned).collect()))
                .collect(),
        }
    }

    fn find(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = segments(path).collect();
        self.templates
            .iter()
            .find(|(_, template)| {
                template.len() == parts.len()
                    && template
                        .iter()
                        .zip(&parts)
                        .all(|(t, p)| t.starts_with(':') || t == p)
            })
            .map(|(route, _)| route.as_str())
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|segment| !segment.is_empty())
}

/// The route template of a raw request target and its kind, or `None` when
/// it is not a path at all (`*`, `host:443`).
pub fn template(target: &str, templates: &Templates) -> Option<(String, Kind)> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => path,
    };
    if !path.starts_with('/') {
        return None;
    }
    if let Some(route) = templates.find(path) {
        return Some((route.to_owned(), Kind::Dynamic));
    }
    let last = segments(path).last().unwrap_or_default();
    if let Some((_, extension)) = last.rsplit_once('.') {
        let extension = extension.to_ascii_lowercase();
        if STATIC_EXTENSIONS.contains(&extension.as_str()) {
            return Some((format!("/static/*.{extension}"), Kind::Static));
        }
    }
    let mut route = String::with_capacity(path.len());
    for segment in segments(path) {
        route.push('/');
        route.push_str(if looks_like_id(segment) {
            ":id"
        } else {
            segment
        });
    }
    if route.is_empty() {
        route.push('/');
    }
    Some((route, Kind::Dynamic))
}

/// The method as a label: one of the standard ones, else `OTHER`.
pub fn method(method: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|known| known.eq_ignore_ascii_case(method))
        .copied()
        .unwrap_or("OTHER")
}

/// Whether `segment` is an identifier (see the module doc).
pub fn looks_like_id(segment: &str) -> bool {
    let has_digit = segment.bytes().any(|b| b.is_ascii_digit());
    segment.len() > MAX_SEGMENT
        || segment.contains(['@', '%'])
        || segment.bytes().all(|b| b.is_ascii_digit())
        || is_uuid(segment)
        || is_ulid(segment)
        || is_prefixed_id(segment)
        || (segment.len() >= 16 && has_digit && segment.bytes().all(|b| b.is_ascii_hexdigit()))
        || is_token(segment, has_digit)
}

fn is_uuid(segment: &str) -> bool {
    let groups: Vec<&str> = segment.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_ulid(segment: &str) -> bool {
    segment.len() == 26
        && segment.bytes().any(|b| b.is_ascii_digit())
        && segment
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

fn is_prefixed_id(segment: &str) -> bool {
    let Some((prefix, rest)) = segment.rsplit_once('_') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        && rest.len() >= 16
        && rest.bytes().any(|b| b.is_ascii_digit())
        && rest.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_token(segment: &str, has_digit: bool) -> bool {
    segment.len() >= 20
        && has_digit
        && segment.bytes().any(|b| b.is_ascii_uppercase())
        && segment.bytes().any(|b| b.is_ascii_lowercase())
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_=+.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(target: &str) -> String {
        template(target, &Templates::default())
            .map(|(route, _)| route)
            .unwrap_or_default()
    }

    #[test]
    fn medusa_ids_become_placeholders() {
        for (raw, want) in [
            (
                "/store/carts/cart_01HZX3Q4M2N5P6R7S8T9V0W1XY/complete",
                "/store/carts/:id/complete",
            ),
            (
                "/store/carts/cart_01JABCDEFGHJKMNPQRSTVWXYZ0/line-items",
                "/store/carts/:id/line-items",
            ),
            (
                "/admin/orders/order_01HZX3Q4M2N5P6R7S8T9V0W1XY",
                "/admin/orders/:id",
            ),
            (
                "/store/products/prod_01HZX3Q4M2N5P6R7S8T9V0W1XY?fields=*variants",
                "/store/products/:id",
            ),
            (
                "/store/payment-collections/pay_col_01HZX3Q4M2N5P6R7S8T9V0W1XY/payment-sessions",
                "/store/payment-collections/:id/payment-sessions",
            ),
            ("/store/products", "/store/products"),
            (
                "/store/shipping-options?cart_id=cart_01HZX3Q4M2",
                "/store/shipping-options",
            ),
        ] {
            assert_eq!(route(raw), want, "{raw}");
        }
    }

    #[test]
    fn uuids_ulids_numbers_and_tokens_become_placeholders() {
        for (raw, want) in [
            (
                "/orders/550e8400-e29b-41d4-a716-446655440000",
                "/orders/:id",
            ),
            ("/x/01ARZ3NDEKTSV4RRFFQ69G5FAV/y", "/x/:id/y"),
            ("/users/12345/addresses/7", "/users/:id/addresses/:id"),
            ("/blob/deadbeef0123456789abcdef", "/blob/:id"),
            (
                "/reset/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0",
                "/reset/:id",
            ),
            ("/u/someone@example.com", "/u/:id"),
            ("/search/john%20doe", "/search/:id"),
            ("/products/blue-t-shirt-2024", "/products/blue-t-shirt-2024"),
            (
                "http://shop.example.com/store/regions/12?x=1",
                "/store/regions/:id",
            ),
            ("//store//carts/", "/store/carts"),
            ("/", "/"),
            ("/?q=secret", "/"),
        ] {
            assert_eq!(route(raw), want, "{raw}");
        }
        assert!(template("*", &Templates::default()).is_none());
        assert!(template("shop.example.com:443", &Templates::default()).is_none());
    }

    #[test]
    fn static_assets_collapse_by_extension() {
        let templates = Templates::default();
        assert_eq!(
            template("/_next/static/chunks/app-4f3a9c.js?v=3", &templates),
            Some(("/static/*.js".into(), Kind::Static))
        );
        assert_eq!(
            template("/images/Hero.JPG", &templates),
            Some(("/static/*.jpg".into(), Kind::Static))
        );
        assert_eq!(
            template("/fonts/inter.woff2", &templates).map(|(r, _)| r),
            Some("/static/*.woff2".into())
        );
        assert_eq!(
            template("/store/products.json", &templates).map(|(_, k)| k),
            Some(Kind::Dynamic)
        );
    }

    #[test]
    fn configured_templates_win() {
        let templates = Templates::new(&["/store/products/:handle".into()]);
        assert_eq!(
            template("/store/products/blue-shirt", &templates),
            Some(("/store/products/:handle".into(), Kind::Dynamic))
        );
        assert_eq!(
            template("/store/products/blue-shirt/variants", &templates).map(|(r, _)| r),
            Some("/store/products/blue-shirt/variants".into())
        );
    }

    #[test]
    fn methods_are_bounded() {
        assert_eq!(method("post"), "POST");
        assert_eq!(method("PROPFIND"), "OTHER");
    }
}
