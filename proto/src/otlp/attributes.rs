//! The attribute allowlist and the labels made from it: the only place
//! that reads attribute values from spans and data points. Everything not
//! in `ALLOWED_ATTRIBUTES` (headers, `http.url`, …) is skipped unread;
//! route labels come only from `http.route` (a template), methods and
//! status codes are reduced to a fixed set, step names lose ids. The one
//! exception, `db.statement` ([`STATEMENT_ATTRIBUTE`]), is lent to a
//! fingerprint function only ([`statement_fingerprint`]): its text is never
//! copied, kept or logged.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};

/// The only attributes ever read from a span or a data point.
pub const ALLOWED_ATTRIBUTES: [&str; 8] = [
    "http.route",
    "http.method",
    "http.request.method",
    "http.status_code",
    "http.response.status_code",
    "db.system",
    "service.name",
    "service.version",
];

/// Read only to be fingerprinted, never kept: the SQL of a database span,
/// with its literal values (e-mails, tokens) inlined.
pub const STATEMENT_ATTRIBUTE: &str = "db.statement";

/// The fingerprint `fingerprinter` makes of a span's `db.statement`; the
/// text is only borrowed for the call.
pub fn statement_fingerprint(
    attributes: &[KeyValue],
    fingerprinter: fn(&str) -> Option<u64>,
) -> Option<u64> {
    let attribute = attributes.iter().find(|a| a.key == STATEMENT_ATTRIBUTE)?;
    match attribute.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => fingerprinter(text),
        _ => None,
    }
}

/// Label value used when a cap on distinct routes or steps is reached, or a
/// value does not look like a template.
pub const OTHER: &str = "other";

/// The allowlisted attributes of a span or data point, and nothing else.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowed {
    pub route: Option<String>,
    pub method: Option<String>,
    pub status: Option<i64>,
    pub db_system: Option<String>,
}

impl Allowed {
    /// Reads only `ALLOWED_ATTRIBUTES` from `attributes`.
    pub fn read(attributes: &[KeyValue]) -> Self {
        let mut allowed = Self::default();
        for attribute in attributes {
            let key = attribute.key.as_str();
            if !ALLOWED_ATTRIBUTES.contains(&key) {
                continue;
            }
            let value = attribute.value.as_ref().and_then(|v| v.value.as_ref());
            match key {
                "http.route" => allowed.route = string(value),
                "http.method" | "http.request.method" => allowed.method = string(value),
                "http.status_code" | "http.response.status_code" => allowed.status = int(value),
                "db.system" => allowed.db_system = string(value),
                _ => {}
            }
        }
        allowed
    }
}

fn string(value: Option<&any_value::Value>) -> Option<String> {
    match value {
        Some(any_value::Value::StringValue(text)) => Some(text.clone()),
        _ => None,
    }
}

fn int(value: Option<&any_value::Value>) -> Option<i64> {
    match value {
        Some(any_value::Value::IntValue(number)) => Some(*number),
        Some(any_value::Value::StringValue(text)) => text.parse().ok(),
        Some(any_value::Value::DoubleValue(number)) => Some(*number as i64),
        _ => None,
    }
}

/// A request's identity: method, route template and status class.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestKey {
    pub method: String,
    pub route: String,
    pub status_class: String,
}

impl RequestKey {
    /// From allowlisted attributes; `None` without a usable `http.route`.
    pub fn from_allowed(allowed: &Allowed) -> Option<Self> {
        let route = allowed.route.as_deref()?;
        Some(Self {
            method: method(allowed.method.as_deref()),
            route: route_label(route),
            status_class: status_class(allowed.status),
        })
    }
}

/// Upper-case HTTP method, or `OTHER` for anything non-standard.
pub fn method(value: Option<&str>) -> String {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    let upper = value.unwrap_or_default().to_ascii_uppercase();
    if KNOWN.contains(&upper.as_str()) {
        upper
    } else {
        "OTHER".into()
    }
}

/// `2xx`…`5xx`, or `unknown`.
pub fn status_class(status: Option<i64>) -> String {
    match status {
        Some(code @ 100..=599) => format!("{}xx", code / 100),
        _ => "unknown".into(),
    }
}

/// The route template as a label: templates only (`/store/carts/:id`);
/// anything long or with characters a template does not have becomes `other`.
pub fn route_label(route: &str) -> String {
    let template = route.len() <= 200
        && route.starts_with('/')
        && route
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/:_-.{}*".contains(c));
    if template { route.into() } else { OTHER.into() }
}

/// `step:<action>:invoke` → `<action>`; an action with characters other
/// than letters, digits, `-`, `_`, `.` (ids, spaces) becomes `other`.
pub fn step_label(name: &str) -> Option<String> {
    let rest = name.strip_prefix("step:")?;
    let action = rest.split(':').next().unwrap_or_default();
    let clean = !action.is_empty()
        && action.len() <= 100
        && action
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !looks_like_id(action);
    Some(if clean { action.into() } else { OTHER.into() })
}

/// A segment with a run of 8 or more digits or hex-and-digit characters
/// (ULIDs, UUIDs, numeric ids).
fn looks_like_id(text: &str) -> bool {
    text.split(['-', '_', '.']).any(|part| {
        part.len() >= 8
            && part.chars().any(|c| c.is_ascii_digit())
            && part.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;

    fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn text(key: &str, value: &str) -> KeyValue {
        kv(key, any_value::Value::StringValue(value.into()))
    }

    #[test]
    fn only_allowlisted_attributes_are_read() {
        let attributes = vec![
            text("http.route", "/a"),
            text("http.method", "post"),
            kv("http.status_code", any_value::Value::IntValue(200)),
            text("http.url", "/store/carts/cart_01SECRET/complete"),
            text("http.request.header.authorization", "Bearer sk_secret"),
            text("db.statement", "SELECT 'a@b.c'"),
        ];
        assert_eq!(
            Allowed::read(&attributes),
            Allowed {
                route: Some("/a".into()),
                method: Some("post".into()),
                status: Some(200),
                db_system: None,
            }
        );
    }

    #[test]
    fn status_codes_may_come_as_text_or_under_the_new_name() {
        let attributes = vec![text("http.response.status_code", "503")];
        assert_eq!(Allowed::read(&attributes).status, Some(503));
    }

    #[test]
    fn steps_lose_their_ids() {
        assert_eq!(
            step_label("step:create-carts:invoke"),
            Some("create-carts".into())
        );
        assert_eq!(
            step_label("step:01HZX9ABCDEF12345:invoke"),
            Some(OTHER.into())
        );
        assert_eq!(step_label("workflow:complete-cart"), None);
    }

    #[test]
    fn labels_are_templates_methods_and_status_classes() {
        assert_eq!(route_label("/store/carts/:id"), "/store/carts/:id");
        assert_eq!(route_label("/a?email=x@y.z"), OTHER);
        assert_eq!(method(Some("brew")), "OTHER");
        assert_eq!(status_class(Some(503)), "5xx");
        assert_eq!(status_class(None), "unknown");
    }
}
