//! Silences, pure: matchers on a recommendation's kind, severity or id and
//! on the receiver, active from `starts_at` until `ends_at`. A silenced
//! alert is left out of notifications (firing and resolved alike).

use serde::{Deserialize, Serialize};

use crate::advisor::{RecKind, Severity};

/// What a silence matches; every matcher set must match, and at least one
/// must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Matchers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RecKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation_id: Option<String>,
    /// A configured receiver's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
}

impl Matchers {
    /// Whether no matcher is set (such a silence would match everything).
    pub fn is_empty(&self) -> bool {
        self.kind.is_none()
            && self.severity.is_none()
            && self.recommendation_id.is_none()
            && self.receiver.is_none()
    }

    /// Whether an alert for `recommendation_id` of `kind` and `severity`,
    /// going to `receiver`, matches.
    pub fn matches(
        &self,
        receiver: &str,
        recommendation_id: &str,
        kind: RecKind,
        severity: Severity,
    ) -> bool {
        !self.is_empty()
            && self.kind.is_none_or(|k| k == kind)
            && self.severity.is_none_or(|s| s == severity)
            && self
                .recommendation_id
                .as_deref()
                .is_none_or(|id| id == recommendation_id)
            && self.receiver.as_deref().is_none_or(|r| r == receiver)
    }
}

/// One silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Silence {
    pub id: String,
    pub matchers: Matchers,
    pub comment: String,
    pub created_by: String,
    /// Unix milliseconds.
    pub starts_at: i64,
    /// Unix milliseconds; the silence stops applying at this instant.
    pub ends_at: i64,
    pub created_at: i64,
}

impl Silence {
    /// `pending`, `active` or `expired` at `now`. A silence ended before it
    /// started (a pending one expired early) is expired.
    pub fn state(&self, now: i64) -> &'static str {
        if self.ends_at <= self.starts_at || now >= self.ends_at {
            "expired"
        } else if now < self.starts_at {
            "pending"
        } else {
            "active"
        }
    }

    /// Whether it silences that alert at `now`.
    pub fn silences(
        &self,
        now: i64,
        receiver: &str,
        recommendation_id: &str,
        kind: RecKind,
        severity: Severity,
    ) -> bool {
        self.state(now) == "active"
            && self
                .matchers
                .matches(receiver, recommendation_id, kind, severity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn silence(matchers: Matchers) -> Silence {
        Silence {
            id: "s1".into(),
            matchers,
            comment: String::new(),
            created_by: "ana".into(),
            starts_at: 1_000,
            ends_at: 2_000,
            created_at: 1_000,
        }
    }

    #[test]
    fn a_silence_applies_only_between_its_start_and_its_end() {
        let s = silence(Matchers {
            kind: Some(RecKind::Index),
            ..Matchers::default()
        });
        let hit = |now| s.silences(now, "slack", "index-1", RecKind::Index, Severity::Warning);
        assert!(!hit(999));
        assert!(hit(1_000));
        assert!(hit(1_999));
        assert!(!hit(2_000), "expired at ends_at");
        assert_eq!(s.state(2_000), "expired");
        assert_eq!(s.state(500), "pending");
    }

    #[test]
    fn every_set_matcher_must_match() {
        let s = silence(Matchers {
            kind: Some(RecKind::Cache),
            severity: Some(Severity::Critical),
            receiver: Some("ops".into()),
            recommendation_id: None,
        });
        let at = 1_500;
        assert!(s.silences(at, "ops", "cache-1", RecKind::Cache, Severity::Critical));
        assert!(!s.silences(at, "dev", "cache-1", RecKind::Cache, Severity::Critical));
        assert!(!s.silences(at, "ops", "cache-1", RecKind::Cache, Severity::Warning));
        assert!(!s.silences(at, "ops", "cdn-1", RecKind::Cdn, Severity::Critical));
    }

    #[test]
    fn a_silence_without_matchers_matches_nothing() {
        let s = silence(Matchers::default());
        assert!(!s.silences(1_500, "ops", "x", RecKind::Index, Severity::Critical));
    }
}
