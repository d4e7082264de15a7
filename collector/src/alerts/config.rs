//! `[[alerts]]` receivers and `[alerting]` timers in collector.toml.
//! Webhook URLs and secrets are [`Secret`]s: masked in `Debug`, in logs and
//! in `check`'s output, and never served by the API.

use std::fmt;

use headroom_proto::config::HumanDuration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::advisor::{RecKind, Severity};

/// A value that must not be shown: a webhook URL (its path is the
/// credential) or an HMAC secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Serialized masked: the only serializer of the configuration is `check`.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0.is_empty() { "" } else { "***" })
    }
}

/// The platform a receiver posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverType {
    /// Slack incoming webhook, Block Kit.
    Slack,
    /// Discord webhook, embeds.
    Discord,
    /// Microsoft Teams workflow webhook, an Adaptive Card.
    Teams,
    /// Generic JSON, signed with HMAC-SHA256.
    Webhook,
}

impl ReceiverType {
    /// The configuration's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverType::Slack => "slack",
            ReceiverType::Discord => "discord",
            ReceiverType::Teams => "teams",
            ReceiverType::Webhook => "webhook",
        }
    }
}

/// One `[[alerts]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Unique name (`alerts test --receiver NAME`, the API, the logs).
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ReceiverType,
    /// The platform's webhook URL (a secret: its path is the credential).
    pub url: Secret,
    /// HMAC-SHA256 key for `type = "webhook"` (required there, refused elsewhere).
    #[serde(default)]
    pub secret: Secret,
    /// Least severity sent. Default `warning`.
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Kinds sent; empty means every kind.
    #[serde(default)]
    pub kinds: Vec<RecKind>,
    /// Most notifications per hour; more wait (nothing is dropped). Default 30.
    #[serde(default = "default_max_per_hour")]
    pub max_per_hour: u32,
}

fn default_min_severity() -> Severity {
    Severity::Warning
}

fn default_max_per_hour() -> u32 {
    30
}

impl ReceiverConfig {
    /// Whether a recommendation of `kind` and `severity` goes to this receiver.
    pub fn routes(&self, kind: RecKind, severity: Severity) -> bool {
        severity >= self.min_severity && (self.kinds.is_empty() || self.kinds.contains(&kind))
    }
}

/// `[alerting]`: Alertmanager's timers, and how hard delivery tries.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// How long a new group waits for more alerts before its first notification.
    pub group_wait: HumanDuration,
    /// How long after a notification a group's changes are sent.
    pub group_interval: HumanDuration,
    /// How often a group still firing, unchanged, is sent again.
    pub repeat_interval: HumanDuration,
    /// The dashboard's address for links; empty means `http://<http_listen>`.
    pub external_url: String,
    /// First retry delay after a failure; doubles per attempt.
    pub retry_backoff: HumanDuration,
    /// Longest delay between two attempts.
    pub retry_max_backoff: HumanDuration,
    /// After this long without success, a delivery is recorded as failed.
    pub give_up_after: HumanDuration,
    /// Timeout of one HTTP request.
    pub timeout: HumanDuration,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        Self {
            group_wait: HumanDuration::secs(30),
            group_interval: HumanDuration::secs(300),
            repeat_interval: HumanDuration::secs(4 * 3600),
            external_url: String::new(),
            retry_backoff: HumanDuration::secs(1),
            retry_max_backoff: HumanDuration::secs(300),
            give_up_after: HumanDuration::secs(3600),
            timeout: HumanDuration::secs(10),
        }
    }
}

/// Mistakes in `[[alerts]]` and `[alerting]`, appended to `errors`.
pub fn validate(receivers: &[ReceiverConfig], alerting: &AlertingConfig, errors: &mut Vec<String>) {
    let mut names = std::collections::HashSet::new();
    for (index, receiver) in receivers.iter().enumerate() {
        let at = format!("`alerts[{index}]`");
        if receiver.name.trim().is_empty() {
            errors.push(format!("{at}: `name` must not be empty"));
        } else if !names.insert(receiver.name.as_str()) {
            errors.push(format!("{at}: the name `{}` is used twice", receiver.name));
        }
        let url = receiver.url.expose();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            // The URL is a secret: say what is wrong without echoing it.
            errors.push(format!("{at}: `url` must start with https:// (or http://)"));
        }
        match (receiver.kind, receiver.secret.is_empty()) {
            (ReceiverType::Webhook, true) => errors.push(format!(
                "{at}: `secret` is required for type = \"webhook\" (it signs every payload)"
            )),
            (ReceiverType::Webhook, false) if receiver.secret.expose().len() < 16 => {
                errors.push(format!("{at}: `secret` must be at least 16 characters"));
            }
            (kind, false) if kind != ReceiverType::Webhook => errors.push(format!(
                "{at}: `secret` applies only to type = \"webhook\" ({} cannot verify a signature)",
                kind.as_str()
            )),
            _ => {}
        }
        if receiver.max_per_hour == 0 {
            errors.push(format!("{at}: `max_per_hour` must be at least 1"));
        }
    }
    let external = &alerting.external_url;
    let is_http = external.starts_with("http://") || external.starts_with("https://");
    if !external.is_empty() && !is_http {
        errors.push("`alerting.external_url`: must start with http:// or https://".to_owned());
    }
    for (key, value) in [
        ("alerting.group_interval", &alerting.group_interval),
        ("alerting.repeat_interval", &alerting.repeat_interval),
        ("alerting.retry_backoff", &alerting.retry_backoff),
        ("alerting.timeout", &alerting.timeout),
    ] {
        if value.0.is_zero() {
            errors.push(format!("`{key}`: must be more than 0s"));
        }
    }
    if alerting.retry_max_backoff < alerting.retry_backoff {
        errors.push("`alerting.retry_max_backoff`: must be at least `retry_backoff`".to_owned());
    }
    if alerting.give_up_after < alerting.retry_backoff {
        errors.push("`alerting.give_up_after`: must be at least `retry_backoff`".to_owned());
    }
}
