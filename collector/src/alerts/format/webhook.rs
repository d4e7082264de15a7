//! Generic webhook: the notification as versioned JSON (`"version": "1"`),
//! signed with HMAC-SHA256 over `<timestamp>.<raw body>` and sent with the
//! `X-Headroom-Timestamp` and `X-Headroom-Signature` headers.
//!
//! [`verify`] is what a receiver does (and what our tests do): check both
//! headers, refuse a timestamp too far from now (replays), and compare the
//! signature in constant time. `docs/alerts-payloads.md` documents the
//! payload and the scheme for receivers.

use ring::hmac;
use serde_json::{Value, json};
use thiserror::Error;

use crate::alerts::{Alert, Notification};
use crate::timefmt::rfc3339_millis;

/// The payload's schema version.
pub const VERSION: &str = "1";
/// Unix seconds when the body was signed.
pub const TIMESTAMP_HEADER: &str = "X-Headroom-Timestamp";
/// `sha256=<lowercase hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "X-Headroom-Signature";
/// The signature's scheme prefix.
const PREFIX: &str = "sha256=";
/// The tolerance receivers are told to use, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signed request was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing {header} header")]
    Missing { header: &'static str },
    #[error("malformed {header} header")]
    Malformed { header: &'static str },
    #[error("signature does not match the body")]
    Mismatch,
    #[error(
        "timestamp {timestamp} is {age_secs} s from now, more than the {tolerance_secs} s allowed"
    )]
    TooOld {
        timestamp: i64,
        age_secs: i64,
        tolerance_secs: i64,
    },
}

/// The webhook payload for `n`.
pub fn render(n: &Notification) -> Value {
    json!({
        "version": VERSION,
        "id": n.id,
        "receiver": n.receiver,
        "group_key": n.group_key,
        "status": n.status.as_str(),
        "reason": n.reason.as_str(),
        "created_at": rfc3339_millis(n.created_at),
        "created_at_ms": n.created_at,
        "dashboard_url": n.dashboard_url,
        "alerts": n.alerts.iter().map(alert).collect::<Vec<_>>(),
    })
}

fn alert(a: &Alert) -> Value {
    json!({
        "recommendation_id": a.recommendation_id,
        "kind": a.kind.as_str(),
        "severity": a.severity.as_str(),
        "status": a.status.as_str(),
        "title": a.title,
        "summary": a.summary,
        "action": a.action,
        "confidence": a.confidence,
        "first_seen": rfc3339_millis(a.first_seen),
        "resolved_at": a.resolved_at.map(rfc3339_millis),
        "url": a.url,
    })
}

/// The `X-Headroom-Signature` value: `sha256=` and the lowercase hex
/// HMAC-SHA256, keyed with `secret`, of `<timestamp>.<body>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "{PREFIX}{}",
        hmac_hex(secret, &signing_input(timestamp, body))
    )
}

/// Checks a request as a receiver would: both headers present and well
/// formed, `|now_secs - timestamp| <= tolerance_secs`, and the signature
/// equal (constant time) to the HMAC of `<timestamp>.<body>` under `secret`.
pub fn verify(
    secret: &[u8],
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let timestamp = timestamp_header.ok_or(VerifyError::Missing {
        header: TIMESTAMP_HEADER,
    })?;
    let signature = signature_header.ok_or(VerifyError::Missing {
        header: SIGNATURE_HEADER,
    })?;
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::Malformed {
            header: TIMESTAMP_HEADER,
        })?;
    let tag = signature
        .trim()
        .strip_prefix(PREFIX)
        .and_then(|h| hex::decode(h).ok())
        .filter(|t| t.len() == hmac::HMAC_SHA256.digest_algorithm().output_len())
        .ok_or(VerifyError::Malformed {
            header: SIGNATURE_HEADER,
        })?;
    let age_secs = now_secs.saturating_sub(timestamp).saturating_abs();
    if age_secs > tolerance_secs {
        return Err(VerifyError::TooOld {
            timestamp,
            age_secs,
            tolerance_secs,
        });
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, &signing_input(timestamp, body), &tag).map_err(|_| VerifyError::Mismatch)
}

/// The bytes signed: the decimal timestamp, a dot, the raw body.
fn signing_input(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut input = format!("{timestamp}.").into_bytes();
    input.extend_from_slice(body);
    input
}

/// Lowercase hex HMAC-SHA256 of `message` under `key`.
fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hex::encode(hmac::sign(&key, message).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::format::fixtures::{
        ACTION, CREATED_AT, FIRST_SEEN, RESOLVED_AT, oversized, two_alerts,
    };

    const SECRET: &[u8] = b"webhook-secret";
    const NOW: i64 = 1_709_301_600;

    #[test]
    fn payload_has_every_documented_field() {
        let v = render(&two_alerts());
        assert_eq!(v["version"], "1");
        assert_eq!(v["id"], "ntf-42");
        assert_eq!(v["receiver"], "ops");
        assert_eq!(v["group_key"], "kind=index");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["reason"], "changed");
        assert_eq!(v["created_at"], "2024-03-01T14:00:00.000Z");
        assert_eq!(v["created_at_ms"], CREATED_AT);
        assert_eq!(v["dashboard_url"], "https://headroom.example");
        assert_eq!(v.as_object().map(|o| o.len()), Some(10));
        assert_eq!(
            v["alerts"],
            json!([
                {
                    "recommendation_id": "rec-index-1",
                    "kind": "index",
                    "severity": "critical",
                    "status": "firing",
                    "title": "Add an index on product (handle)",
                    "summary": "Sequential scans on product read 2.1M rows/s <at peak> & grow 8%/week.",
                    "action": ACTION,
                    "confidence": 0.853,
                    "first_seen": "2024-03-01T12:00:00.000Z",
                    "resolved_at": null,
                    "url": "https://headroom.example/recommendations/rec-index-1",
                },
                {
                    "recommendation_id": "rec-cache-2",
                    "kind": "cache",
                    "severity": "warning",
                    "status": "resolved",
                    "title": "Redis hit ratio below 80%",
                    "summary": "The hit ratio is back at 93%.",
                    "action": "",
                    "confidence": 0.6,
                    "first_seen": "2024-03-01T12:00:00.000Z",
                    "resolved_at": "2024-03-01T13:30:15.250Z",
                    "url": "https://headroom.example/recommendations/rec-cache-2",
                },
            ])
        );
        assert_eq!(FIRST_SEEN, 1_709_294_400_000);
        assert_eq!(RESOLVED_AT, 1_709_299_815_250);
    }

    #[test]
    fn payload_keeps_every_alert_and_its_full_texts() {
        let n = oversized();
        let v = render(&n);
        let alerts = v["alerts"].as_array().expect("alerts");
        assert_eq!(alerts.len(), 30);
        assert_eq!(alerts[29]["summary"], n.alerts[29].summary.as_str());
    }

    #[test]
    fn hmac_matches_the_rfc_4231_test_vectors() {
        assert_eq!(
            hmac_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sign_is_the_prefixed_hmac_of_timestamp_dot_body() {
        // The RFC vectors have no "<ts>." prefix: compare with the helper
        // they prove right, over the signing string written out by hand.
        let body = br#"{"id":"ntf-42"}"#;
        let expected = hmac_hex(SECRET, br#"1709301600.{"id":"ntf-42"}"#);
        assert_eq!(sign(SECRET, NOW, body), format!("sha256={expected}"));
        let signature = sign(SECRET, NOW, body);
        assert_eq!(signature.len(), "sha256=".len() + 64);
        assert!(
            signature[7..]
                .chars()
                .all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        );
    }

    #[test]
    fn verify_accepts_the_right_signature_within_tolerance() {
        let body = b"{\"id\":\"ntf-42\"}";
        let signature = sign(SECRET, NOW, body);
        let ts = NOW.to_string();
        for now in [NOW, NOW + 300, NOW - 300] {
            assert_eq!(
                verify(SECRET, Some(&ts), Some(&signature), body, now, 300),
                Ok(())
            );
        }
    }

    #[test]
    fn verify_rejects_a_changed_body() {
        let signature = sign(SECRET, NOW, b"{\"id\":\"a\"}");
        assert_eq!(
            verify(
                SECRET,
                Some(&NOW.to_string()),
                Some(&signature),
                b"{\"id\":\"b\"}",
                NOW,
                300
            ),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn verify_rejects_a_wrong_secret() {
        let signature = sign(b"other", NOW, b"{}");
        assert_eq!(
            verify(
                SECRET,
                Some(&NOW.to_string()),
                Some(&signature),
                b"{}",
                NOW,
                300
            ),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn verify_rejects_a_changed_timestamp() {
        let signature = sign(SECRET, NOW, b"{}");
        assert_eq!(
            verify(
                SECRET,
                Some(&(NOW + 1).to_string()),
                Some(&signature),
                b"{}",
                NOW,
                300
            ),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn verify_rejects_a_replay_older_than_the_tolerance() {
        let signature = sign(SECRET, NOW, b"{}");
        assert_eq!(
            verify(
                SECRET,
                Some(&NOW.to_string()),
                Some(&signature),
                b"{}",
                NOW + 301,
                300
            ),
            Err(VerifyError::TooOld {
                timestamp: NOW,
                age_secs: 301,
                tolerance_secs: 300
            })
        );
    }

    #[test]
    fn verify_rejects_missing_and_malformed_headers() {
        let signature = sign(SECRET, NOW, b"{}");
        let ts = NOW.to_string();
        let check = |ts: Option<&str>, sig: Option<&str>| verify(SECRET, ts, sig, b"{}", NOW, 300);
        assert_eq!(
            check(None, Some(&signature)),
            Err(VerifyError::Missing {
                header: "X-Headroom-Timestamp"
            })
        );
        assert_eq!(
            check(Some(&ts), None),
            Err(VerifyError::Missing {
                header: "X-Headroom-Signature"
            })
        );
        let bad_ts = VerifyError::Malformed {
            header: "X-Headroom-Timestamp",
        };
        assert_eq!(check(Some("soon"), Some(&signature)), Err(bad_ts));
        let bad_sig = VerifyError::Malformed {
            header: "X-Headroom-Signature",
        };
        for sig in [&signature[7..], "sha1=00", "sha256=zz", "sha256=abcd", ""] {
            assert_eq!(check(Some(&ts), Some(sig)), Err(bad_sig.clone()), "{sig}");
        }
    }
}
