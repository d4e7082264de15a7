//! Microsoft Teams workflow webhook (Power Automate's "When a Teams webhook
//! request is received"): a `message` whose one attachment is an Adaptive
//! Card 1.4 with the headline, a container per alert (title, summary, facts,
//! action in monospace) and up to five `Action.OpenUrl` buttons.
//!
//! Teams refuses messages above about 28 KB, so at most [`MAX_ALERTS`] alerts
//! are shown and their texts are cut to fixed lengths.

use serde_json::{Value, json};

use super::{percent, truncate};
use crate::advisor::Severity;
use crate::alerts::{Alert, AlertStatus, Notification};

/// Most alerts shown; the rest are counted in a closing text.
pub const MAX_ALERTS: usize = 10;
/// Most `Action.OpenUrl` buttons.
pub const MAX_ACTIONS: usize = 5;
/// Longest headline.
pub const MAX_HEADLINE: usize = 300;
/// Longest alert title.
pub const MAX_TITLE: usize = 200;
/// Longest summary.
pub const MAX_SUMMARY: usize = 800;
/// Longest action.
pub const MAX_ACTION: usize = 800;
/// The largest body Teams accepts, in bytes (kept under, with margin).
pub const MAX_BYTES: usize = 28 * 1024;

/// The button's label.
const BUTTON: &str = "Open in Headroom";

/// The workflow webhook message for `n`.
pub fn render(n: &Notification) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": truncate(&n.headline(), MAX_HEADLINE),
        "size": "Large",
        "weight": "Bolder",
        "wrap": true,
        "color": headline_color(n.status, n.severity()),
    })];
    body.extend(n.alerts.iter().take(MAX_ALERTS).map(container));
    let hidden = n.alerts.len().saturating_sub(MAX_ALERTS);
    if hidden > 0 {
        body.push(json!({
            "type": "TextBlock",
            "text": format!("…and {hidden} more in Headroom."),
            "isSubtle": true,
            "wrap": true,
        }));
    }

    let mut actions: Vec<Value> = n
        .alerts
        .iter()
        .filter(|a| !a.url.is_empty())
        .take(MAX_ACTIONS)
        .enumerate()
        .map(|(i, a)| {
            let title = if i == 0 {
                BUTTON.to_owned()
            } else {
                truncate(&format!("Open: {}", a.title), 60)
            };
            json!({ "type": "Action.OpenUrl", "title": title, "url": a.url })
        })
        .collect();
    if actions.is_empty() && !n.dashboard_url.is_empty() {
        actions.push(json!({ "type": "Action.OpenUrl", "title": BUTTON, "url": n.dashboard_url }));
    }

    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": actions,
            },
        }],
    })
}

/// The headline's colour: `Good` once resolved, else by severity.
pub fn headline_color(status: AlertStatus, severity: Severity) -> &'static str {
    match (status, severity) {
        (AlertStatus::Resolved, _) => "Good",
        (AlertStatus::Firing, Severity::Critical) => "Attention",
        (AlertStatus::Firing, Severity::Warning) => "Warning",
        (AlertStatus::Firing, Severity::Info) => "Default",
    }
}

/// One alert: title, summary, facts and, when there is one, the action.
fn container(alert: &Alert) -> Value {
    let mut items = vec![
        json!({
            "type": "TextBlock",
            "text": truncate(&alert.title, MAX_TITLE),
            "weight": "Bolder",
            "wrap": true,
        }),
        json!({
            "type": "TextBlock",
            "text": truncate(&alert.summary, MAX_SUMMARY),
            "wrap": true,
        }),
        json!({
            "type": "FactSet",
            "facts": [
                { "title": "Severity", "value": alert.severity.as_str() },
                { "title": "Kind", "value": alert.kind.as_str() },
                { "title": "Status", "value": alert.status.as_str() },
                { "title": "Confidence", "value": percent(alert.confidence) },
            ],
        }),
    ];
    if !alert.action.is_empty() {
        items.push(json!({
            "type": "TextBlock",
            "text": truncate(&alert.action, MAX_ACTION),
            "fontType": "Monospace",
            "wrap": true,
        }));
    }
    json!({ "type": "Container", "separator": true, "items": items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::format::chars;
    use crate::alerts::format::fixtures::{ACTION, oversized, two_alerts};

    #[test]
    fn envelope_is_a_message_with_one_adaptive_card() {
        let v = render(&two_alerts());
        assert_eq!(v["type"], "message");
        let attachments = v["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), 1);
        let a = &attachments[0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert!(a["contentUrl"].is_null());
        assert!(a.get("contentUrl").is_some());
        let card = &a["content"];
        assert_eq!(
            card["$schema"],
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
    }

    #[test]
    fn headline_is_large_bolder_wrapped_and_coloured() {
        let v = render(&two_alerts());
        let headline = &v["attachments"][0]["content"]["body"][0];
        assert_eq!(
            *headline,
            json!({
                "type": "TextBlock",
                "text": "[FIRING:1] Add an index on product (handle) (+1 more)",
                "size": "Large",
                "weight": "Bolder",
                "wrap": true,
                "color": "Attention",
            })
        );
    }

    #[test]
    fn headline_colors_are_attention_warning_and_good() {
        assert_eq!(
            headline_color(AlertStatus::Firing, Severity::Critical),
            "Attention"
        );
        assert_eq!(
            headline_color(AlertStatus::Firing, Severity::Warning),
            "Warning"
        );
        assert_eq!(
            headline_color(AlertStatus::Resolved, Severity::Critical),
            "Good"
        );
        let mut n = two_alerts();
        n.status = AlertStatus::Resolved;
        n.alerts.remove(0);
        let v = render(&n);
        assert_eq!(v["attachments"][0]["content"]["body"][0]["color"], "Good");
    }

    #[test]
    fn each_alert_is_a_container_with_title_summary_facts_and_action() {
        let v = render(&two_alerts());
        let body = v["attachments"][0]["content"]["body"]
            .as_array()
            .expect("body");
        assert_eq!(body.len(), 3);
        let first = &body[1];
        assert_eq!(first["type"], "Container");
        let items = first["items"].as_array().expect("items");
        assert_eq!(items.len(), 4);
        assert_eq!(items[0]["type"], "TextBlock");
        assert_eq!(items[0]["text"], "Add an index on product (handle)");
        assert_eq!(items[0]["weight"], "Bolder");
        assert_eq!(
            items[1]["text"],
            "Sequential scans on product read 2.1M rows/s <at peak> & grow 8%/week."
        );
        assert_eq!(items[1]["wrap"], true);
        assert_eq!(
            items[2],
            json!({
                "type": "FactSet",
                "facts": [
                    { "title": "Severity", "value": "critical" },
                    { "title": "Kind", "value": "index" },
                    { "title": "Status", "value": "firing" },
                    { "title": "Confidence", "value": "85%" },
                ],
            })
        );
        assert_eq!(
            items[3],
            json!({ "type": "TextBlock", "text": ACTION, "fontType": "Monospace", "wrap": true })
        );
        let second = body[2]["items"].as_array().expect("items");
        assert_eq!(second.len(), 3, "no action block without an action");
        assert_eq!(second[2]["facts"][2]["value"], "resolved");
        assert_eq!(second[2]["facts"][0]["value"], "warning");
    }

    #[test]
    fn buttons_open_each_alert_first_one_labelled_open_in_headroom() {
        let v = render(&two_alerts());
        let actions = &v["attachments"][0]["content"]["actions"];
        assert_eq!(
            *actions,
            json!([
                {
                    "type": "Action.OpenUrl",
                    "title": "Open in Headroom",
                    "url": "https://headroom.example/recommendations/rec-index-1",
                },
                {
                    "type": "Action.OpenUrl",
                    "title": "Open: Redis hit ratio below 80%",
                    "url": "https://headroom.example/recommendations/rec-cache-2",
                },
            ])
        );
    }

    #[test]
    fn thirty_huge_alerts_stay_small_enough_for_teams() {
        let v = render(&oversized());
        let card = &v["attachments"][0]["content"];
        let body = card["body"].as_array().expect("body");
        assert_eq!(body.len(), 1 + MAX_ALERTS + 1);
        assert_eq!(body[11]["text"], "…and 20 more in Headroom.");
        assert_eq!(card["actions"].as_array().map(Vec::len), Some(MAX_ACTIONS));
        for container in &body[1..=MAX_ALERTS] {
            for item in container["items"].as_array().expect("items") {
                if let Some(text) = item["text"].as_str() {
                    assert!(chars(text) <= MAX_SUMMARY);
                }
            }
        }
        let bytes = v.to_string().len();
        assert!(bytes < MAX_BYTES, "{bytes} bytes");
    }
}
