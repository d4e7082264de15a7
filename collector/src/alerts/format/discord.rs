//! Discord webhook: the headline as `content` and one embed per alert
//! (title, summary and action, link, severity colour, fields, timestamp,
//! footer), with `allowed_mentions` empty so that nothing pings.
//!
//! Limits kept (Discord's embed limits): content 2000 characters, 10 embeds,
//! title 256, description 4096, 25 fields of name 256 and value 1024, footer
//! 2048, and 6000 characters summed over every embed's title, description,
//! field names and values and footer; descriptions shrink to fit the sum.

use serde_json::{Value, json};

use super::{alert_time, chars, fence_safe, percent, truncate};
use crate::advisor::Severity;
use crate::alerts::{Alert, AlertStatus, Notification};
use crate::timefmt::rfc3339_millis;

/// Most embeds; with more alerts the last one counts the rest.
pub const MAX_EMBEDS: usize = 10;
/// Longest `content`.
pub const MAX_CONTENT: usize = 2000;
/// Longest embed title.
pub const MAX_TITLE: usize = 256;
/// Longest embed description.
pub const MAX_DESCRIPTION: usize = 4096;
/// Most characters over all embeds of a message.
pub const MAX_TOTAL: usize = 6000;
/// Longest footer kept (Discord allows 2048; shorter leaves room for text).
pub const MAX_FOOTER: usize = 256;

/// Critical and firing.
pub const RED: u32 = 0xE0_1E_5A;
/// Warning and firing.
pub const AMBER: u32 = 0xEC_B2_2E;
/// Info and firing.
pub const BLUE: u32 = 0x3B_82_F6;
/// Resolved.
pub const GREEN: u32 = 0x2E_B6_7D;

/// The webhook message for `n`.
pub fn render(n: &Notification) -> Value {
    let (shown, hidden) = if n.alerts.len() > MAX_EMBEDS {
        (
            &n.alerts[..MAX_EMBEDS - 1],
            n.alerts.len() - (MAX_EMBEDS - 1),
        )
    } else {
        (&n.alerts[..], 0)
    };
    let mut embeds: Vec<Embed> = shown.iter().map(Embed::of).collect();
    if hidden > 0 {
        embeds.push(Embed::more(n, hidden));
    }

    // Everything but the descriptions is short and bounded; the descriptions
    // share what is left of the total evenly.
    let fixed: usize = embeds.iter().map(Embed::fixed_chars).sum();
    let share = if embeds.is_empty() {
        0
    } else {
        (MAX_TOTAL.saturating_sub(fixed) / embeds.len()).min(MAX_DESCRIPTION)
    };

    json!({
        "username": "Headroom",
        "content": truncate(&n.headline(), MAX_CONTENT),
        "allowed_mentions": { "parse": [] },
        "embeds": embeds.iter().map(|e| e.to_json(share)).collect::<Vec<_>>(),
    })
}

/// The colour of an alert: green when resolved, else by severity.
pub fn color(status: AlertStatus, severity: Severity) -> u32 {
    match (status, severity) {
        (AlertStatus::Resolved, _) => GREEN,
        (AlertStatus::Firing, Severity::Critical) => RED,
        (AlertStatus::Firing, Severity::Warning) => AMBER,
        (AlertStatus::Firing, Severity::Info) => BLUE,
    }
}

/// One embed before its description is fitted.
struct Embed {
    title: String,
    summary: String,
    action: String,
    url: String,
    color: u32,
    fields: Vec<(&'static str, String)>,
    timestamp: Option<String>,
    footer: String,
}

impl Embed {
    fn of(alert: &Alert) -> Self {
        Self {
            title: truncate(&alert.title, MAX_TITLE),
            summary: alert.summary.clone(),
            action: fence_safe(&alert.action),
            url: alert.url.clone(),
            color: color(alert.status, alert.severity),
            fields: vec![
                ("Severity", alert.severity.as_str().to_owned()),
                ("Kind", alert.kind.as_str().to_owned()),
                ("Status", alert.status.as_str().to_owned()),
                ("Confidence", percent(alert.confidence)),
            ],
            timestamp: Some(rfc3339_millis(alert_time(alert))),
            footer: truncate(
                &format!("Headroom · {}", alert.recommendation_id),
                MAX_FOOTER,
            ),
        }
    }

    fn more(n: &Notification, hidden: usize) -> Self {
        Self {
            title: format!("…and {hidden} more"),
            summary: "More alerts of this group are listed in Headroom.".to_owned(),
            action: String::new(),
            url: n.dashboard_url.clone(),
            color: color(n.status, n.severity()),
            fields: Vec::new(),
            timestamp: None,
            footer: "Headroom".to_owned(),
        }
    }

    /// Characters counted against the total, descriptions aside.
    fn fixed_chars(&self) -> usize {
        chars(&self.title)
            + chars(&self.footer)
            + self
                .fields
                .iter()
                .map(|(name, value)| chars(name) + chars(value))
                .sum::<usize>()
    }

    /// The summary and, when there is one, the action in a code block,
    /// within `max` characters; each is cut rather than the fence.
    fn description(&self, max: usize) -> String {
        if self.action.is_empty() {
            return truncate(&self.summary, max);
        }
        let full = format!("{}\n```\n{}\n```", self.summary, self.action);
        if chars(&full) <= max {
            return full;
        }
        let fences = chars("\n```\n\n```");
        // Too little room for a readable code block: the summary alone.
        if max < fences + 40 {
            return truncate(&self.summary, max);
        }
        let room = max - fences;
        let summary_room = room.saturating_sub(chars(&self.action)).max(room / 2);
        let summary = truncate(&self.summary, summary_room);
        let action = truncate(&self.action, room - chars(&summary));
        format!("{summary}\n```\n{action}\n```")
    }

    fn to_json(&self, description_max: usize) -> Value {
        let mut embed = json!({
            "title": self.title,
            "description": self.description(description_max),
            "color": self.color,
            "footer": { "text": self.footer },
        });
        if !self.fields.is_empty() {
            embed["fields"] = self
                .fields
                .iter()
                .map(|(name, value)| json!({ "name": name, "value": value, "inline": true }))
                .collect();
        }
        // Discord refuses an embed whose `url` is not a well-formed URL.
        if !self.url.is_empty() {
            embed["url"] = json!(self.url);
        }
        if let Some(timestamp) = &self.timestamp {
            embed["timestamp"] = json!(timestamp);
        }
        embed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::format::fixtures::{oversized, two_alerts};

    fn total(embed: &Value) -> usize {
        let text = |v: &Value| v.as_str().map_or(0, chars);
        let fields: usize = embed["fields"].as_array().map_or(0, |fs| {
            fs.iter()
                .map(|f| text(&f["name"]) + text(&f["value"]))
                .sum()
        });
        text(&embed["title"])
            + text(&embed["description"])
            + text(&embed["footer"]["text"])
            + fields
    }

    #[test]
    fn message_has_username_headline_and_no_mentions() {
        let v = render(&two_alerts());
        assert_eq!(v["username"], "Headroom");
        assert_eq!(
            v["content"],
            "[FIRING:1] Add an index on product (handle) (+1 more)"
        );
        assert_eq!(v["allowed_mentions"], json!({ "parse": [] }));
        assert_eq!(v["embeds"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn firing_embed_has_every_documented_field() {
        let v = render(&two_alerts());
        let e = &v["embeds"][0];
        assert_eq!(e["title"], "Add an index on product (handle)");
        assert_eq!(
            e["description"],
            "Sequential scans on product read 2.1M rows/s <at peak> & grow 8%/week.\n\
             ```\nCREATE INDEX CONCURRENTLY ON `product` (handle) WHERE price < 10 && stock > 0;\n```"
        );
        assert_eq!(
            e["url"],
            "https://headroom.example/recommendations/rec-index-1"
        );
        assert_eq!(e["color"], 0xE0_1E_5A);
        assert_eq!(
            e["fields"],
            json!([
                { "name": "Severity", "value": "critical", "inline": true },
                { "name": "Kind", "value": "index", "inline": true },
                { "name": "Status", "value": "firing", "inline": true },
                { "name": "Confidence", "value": "85%", "inline": true },
            ])
        );
        assert_eq!(e["timestamp"], "2024-03-01T12:00:00.000Z");
        assert_eq!(e["footer"], json!({ "text": "Headroom · rec-index-1" }));
    }

    #[test]
    fn resolved_embed_is_green_and_stamped_with_its_resolution() {
        let v = render(&two_alerts());
        let e = &v["embeds"][1];
        assert_eq!(e["title"], "Redis hit ratio below 80%");
        assert_eq!(e["description"], "The hit ratio is back at 93%.");
        assert_eq!(e["color"], 0x2E_B6_7D);
        assert_eq!(e["timestamp"], "2024-03-01T13:30:15.250Z");
        assert_eq!(e["fields"][0]["value"], "warning");
        assert_eq!(e["fields"][2]["value"], "resolved");
        assert_eq!(e["fields"][3]["value"], "60%");
        assert_eq!(e["footer"]["text"], "Headroom · rec-cache-2");
    }

    #[test]
    fn colors_follow_severity_while_firing_and_green_once_resolved() {
        assert_eq!(color(AlertStatus::Firing, Severity::Critical), 0xE01E5A);
        assert_eq!(color(AlertStatus::Firing, Severity::Warning), 0xECB22E);
        assert_eq!(color(AlertStatus::Firing, Severity::Info), 0x3B82F6);
        for s in [Severity::Critical, Severity::Warning, Severity::Info] {
            assert_eq!(color(AlertStatus::Resolved, s), 0x2EB67D);
        }
    }

    #[test]
    fn thirty_huge_alerts_stay_within_every_embed_limit() {
        let v = render(&oversized());
        assert!(chars(v["content"].as_str().expect("content")) <= MAX_CONTENT);
        let embeds = v["embeds"].as_array().expect("embeds");
        assert_eq!(embeds.len(), MAX_EMBEDS);
        let sum: usize = embeds.iter().map(total).sum();
        assert!(sum <= MAX_TOTAL, "{sum} characters");
        for e in embeds {
            assert!(chars(e["title"].as_str().expect("title")) <= MAX_TITLE);
            let description = e["description"].as_str().expect("description");
            assert!(chars(description) <= MAX_DESCRIPTION);
            assert!(chars(e["footer"]["text"].as_str().expect("footer")) <= 2048);
            let fields = e["fields"].as_array().map_or(&[][..], Vec::as_slice);
            assert!(fields.len() <= 25);
            for f in fields {
                assert!(chars(f["name"].as_str().expect("name")) <= 256);
                assert!(chars(f["value"].as_str().expect("value")) <= 1024);
            }
        }
        assert_eq!(embeds[9]["title"], "…and 21 more");
        assert_eq!(embeds[9]["url"], "https://headroom.example");
    }

    #[test]
    fn a_cut_description_keeps_its_code_block_closed() {
        let v = render(&oversized());
        let description = v["embeds"][0]["description"].as_str().expect("description");
        assert!(description.ends_with("…\n```"), "{description}");
        assert_eq!(description.matches("```").count(), 2);
    }

    #[test]
    fn an_alert_without_url_gets_no_embed_url() {
        let mut n = two_alerts();
        n.alerts[0].url.clear();
        let v = render(&n);
        assert!(v["embeds"][0].get("url").is_none());
    }
}
