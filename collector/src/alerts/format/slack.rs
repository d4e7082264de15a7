//! Slack incoming webhook, Block Kit: `text` (the notification's fallback),
//! a header, a fields section, and per alert a section, its action in a
//! code block and a button to the dashboard.
//!
//! Limits kept (Block Kit reference): 50 blocks per message, header text
//! 150 characters, section text 3000, at most 10 fields of 2000 each,
//! button text 75, button URL 3000, `action_id` 255 and unique in the
//! message. mrkdwn texts escape `&`, `<` and `>` as `&amp;`, `&lt;` and
//! `&gt;`; truncation never cuts an escape.

use serde_json::{Value, json};

use super::{chars, fence_safe, kinds, percent, status_line, top_confidence, truncate};
use crate::alerts::{Alert, Notification};

/// Most alerts shown; the rest are counted in a context block.
pub const MAX_ALERTS: usize = 10;
/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Longest header text.
pub const MAX_HEADER: usize = 150;
/// Longest section text.
pub const MAX_SECTION: usize = 3000;
/// Longest field text.
pub const MAX_FIELD: usize = 2000;
/// Longest button URL; longer ones get no button.
pub const MAX_URL: usize = 3000;
/// Longest fallback `text` kept (Slack truncates messages far above this).
pub const MAX_TEXT: usize = 3000;

/// The button's label.
const BUTTON: &str = "Open in Headroom";

/// The Block Kit message for `n`.
pub fn render(n: &Notification) -> Value {
    let headline = n.headline();
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": { "type": "plain_text", "text": truncate(&headline, MAX_HEADER), "emoji": true },
        }),
        json!({
            "type": "section",
            "fields": [
                field("Severity", n.severity().as_str()),
                field("Kind", &kinds(n)),
                field("Status", &status_line(n)),
                field("Confidence", &top_confidence(n)),
                field("Reason", n.reason.as_str()),
            ],
        }),
    ];
    for (i, alert) in n.alerts.iter().take(MAX_ALERTS).enumerate() {
        blocks.push(json!({ "type": "divider" }));
        blocks.extend(alert_blocks(i, alert));
    }
    let hidden = n.alerts.len().saturating_sub(MAX_ALERTS);
    if hidden > 0 {
        blocks.push(json!({
            "type": "context",
            "elements": [{
                "type": "mrkdwn",
                "text": format!("…and {hidden} more alert{} not shown here.", plural(hidden)),
            }],
        }));
    }
    json!({
        "text": escape_within(&headline, MAX_TEXT),
        "blocks": blocks,
    })
}

/// A section, the action when there is one, and a button when the URL fits.
fn alert_blocks(index: usize, alert: &Alert) -> Vec<Value> {
    let head = format!(
        "*{}*  ({} · {} · {} · {})\n",
        escape_within(&alert.title, 300),
        alert.severity.as_str(),
        alert.kind.as_str(),
        alert.status.as_str(),
        percent(alert.confidence),
    );
    let summary = escape_within(&alert.summary, MAX_SECTION - chars(&head));
    let mut blocks = vec![mrkdwn_section(format!("{head}{summary}"))];
    if !alert.action.is_empty() {
        let fences = "```\n\n```";
        let action = escape_within(&fence_safe(&alert.action), MAX_SECTION - chars(fences));
        blocks.push(mrkdwn_section(format!("```\n{action}\n```")));
    }
    if !alert.url.is_empty() && chars(&alert.url) <= MAX_URL {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": { "type": "plain_text", "text": BUTTON, "emoji": true },
                "url": alert.url,
                "action_id": format!("open_{index}"),
            }],
        }));
    }
    blocks
}

fn mrkdwn_section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn field(name: &str, value: &str) -> Value {
    let label = format!("*{name}*\n");
    let value = escape_within(value, MAX_FIELD - chars(&label));
    json!({ "type": "mrkdwn", "text": format!("{label}{value}") })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `text` escaped for mrkdwn and cut to at most `max` characters, ending
/// with "…" when cut; an escape (`&amp;`) is kept whole or left out.
pub fn escape_within(text: &str, max: usize) -> String {
    let escaped = escape(text);
    if chars(&escaped) <= max {
        return escaped;
    }
    if max == 0 {
        return String::new();
    }
    let budget = max - 1;
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let piece = match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            other => other.to_string(),
        };
        let len = chars(&piece);
        if used + len > budget {
            break;
        }
        used += len;
        out.push_str(&piece);
    }
    out.push('…');
    out
}

/// Slack's three control characters replaced by their HTML entities.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::alerts::format::fixtures::{oversized, two_alerts};

    fn texts_of(blocks: &[Value], kind: &str) -> Vec<String> {
        blocks
            .iter()
            .filter(|b| b["type"] == kind)
            .filter_map(|b| b["text"]["text"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn fallback_text_and_header_are_the_headline() {
        let v = render(&two_alerts());
        assert_eq!(
            v["text"],
            "[FIRING:1] Add an index on product (handle) (+1 more)"
        );
        let header = &v["blocks"][0];
        assert_eq!(header["type"], "header");
        assert_eq!(header["text"]["type"], "plain_text");
        assert_eq!(
            header["text"]["text"],
            "[FIRING:1] Add an index on product (handle) (+1 more)"
        );
    }

    #[test]
    fn fields_section_carries_severity_kind_status_confidence() {
        let v = render(&two_alerts());
        let fields = v["blocks"][1]["fields"].as_array().expect("fields");
        assert_eq!(v["blocks"][1]["type"], "section");
        let texts: Vec<&str> = fields.iter().filter_map(|f| f["text"].as_str()).collect();
        assert!(fields.iter().all(|f| f["type"] == "mrkdwn"));
        assert_eq!(
            texts,
            [
                "*Severity*\ncritical",
                "*Kind*\nindex, cache",
                "*Status*\nfiring (1 firing, 1 resolved)",
                "*Confidence*\n85%",
                "*Reason*\nchanged",
            ]
        );
    }

    #[test]
    fn each_alert_has_an_escaped_section_its_action_in_code_and_a_button() {
        let v = render(&two_alerts());
        let blocks = v["blocks"].as_array().expect("blocks");
        let types: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
        assert_eq!(
            types,
            [
                "header", "section", "divider", "section", "section", "actions", "divider",
                "section", "actions",
            ]
        );
        assert_eq!(blocks[3]["text"]["type"], "mrkdwn");
        assert_eq!(
            blocks[3]["text"]["text"],
            "*Add an index on product (handle)*  (critical · index · firing · 85%)\n\
             Sequential scans on product read 2.1M rows/s &lt;at peak&gt; &amp; grow 8%/week."
        );
        assert_eq!(
            blocks[4]["text"]["text"],
            "```\nCREATE INDEX CONCURRENTLY ON `product` (handle) WHERE price &lt; 10 \
             &amp;&amp; stock &gt; 0;\n```"
        );
        let button = &blocks[5]["elements"][0];
        assert_eq!(button["type"], "button");
        assert_eq!(button["text"]["type"], "plain_text");
        assert_eq!(button["text"]["text"], "Open in Headroom");
        assert_eq!(
            button["url"],
            "https://headroom.example/recommendations/rec-index-1"
        );
        assert_eq!(button["action_id"], "open_0");
        assert_eq!(
            blocks[7]["text"]["text"],
            "*Redis hit ratio below 80%*  (warning · cache · resolved · 60%)\n\
             The hit ratio is back at 93%."
        );
        assert_eq!(blocks[8]["elements"][0]["action_id"], "open_1");
        assert_eq!(
            blocks[8]["elements"][0]["url"],
            "https://headroom.example/recommendations/rec-cache-2"
        );
    }

    #[test]
    fn escaping_replaces_the_three_control_characters() {
        assert_eq!(escape("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
        assert_eq!(escape("`code` *bold*"), "`code` *bold*");
    }

    #[test]
    fn escaping_within_a_limit_never_cuts_an_entity() {
        assert_eq!(escape_within("ab&cd", 5), "ab…");
        assert_eq!(escape_within("ab&cd", 8), "ab&amp;…");
        assert_eq!(escape_within("ab&cd", 9), "ab&amp;cd");
    }

    #[test]
    fn thirty_huge_alerts_stay_within_every_block_kit_limit() {
        let v = render(&oversized());
        let blocks = v["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= MAX_BLOCKS, "{} blocks", blocks.len());
        assert!(chars(v["text"].as_str().expect("text")) <= MAX_TEXT);
        for text in texts_of(blocks, "header") {
            assert!(chars(&text) <= MAX_HEADER);
        }
        let sections = texts_of(blocks, "section");
        assert_eq!(sections.len(), 2 * MAX_ALERTS);
        for text in sections {
            assert!(chars(&text) <= MAX_SECTION, "{}", chars(&text));
            assert!(!text.contains('<'));
        }
        for block in blocks.iter().filter(|b| b["fields"].is_array()) {
            let fields = block["fields"].as_array().expect("fields");
            assert!(fields.len() <= 10);
            for f in fields {
                assert!(chars(f["text"].as_str().expect("text")) <= MAX_FIELD);
            }
        }
        let mut ids = HashSet::new();
        for block in blocks.iter().filter(|b| b["type"] == "actions") {
            for e in block["elements"].as_array().expect("elements") {
                let id = e["action_id"].as_str().expect("action_id");
                assert!(chars(id) <= 255);
                assert!(ids.insert(id.to_owned()), "duplicate {id}");
                assert!(chars(e["text"]["text"].as_str().expect("label")) <= 75);
            }
        }
        assert_eq!(ids.len(), MAX_ALERTS);
        let last = blocks.last().expect("a block");
        assert_eq!(last["type"], "context");
        assert_eq!(
            last["elements"][0]["text"],
            "…and 20 more alerts not shown here."
        );
    }

    #[test]
    fn triple_backticks_in_an_action_cannot_close_its_code_block() {
        let v = render(&oversized());
        let code = v["blocks"][4]["text"]["text"].as_str().expect("code");
        assert!(code.starts_with("```\n") && code.ends_with("\n```"));
        assert_eq!(code.matches("```").count(), 2);
    }
}
