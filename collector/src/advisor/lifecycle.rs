//! The lifecycle of a recommendation, pure: pending (seen, not yet shown) →
//! open → acknowledged or snoozed → resolved. A finding opens after
//! `open_after` consecutive passes (at once when its evidence says
//! `opens_at_once`: a measurement, not a trend that one pass may show by
//! chance) and resolves itself after `resolve_after` consecutive passes
//! without it, so nothing flaps; every change of state is an event kept as
//! history.

use serde::{Deserialize, Serialize};

use super::{Evidence, Finding, RecKind, Severity};

/// Where a recommendation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RecommendationState)]
pub enum State {
    /// Seen, but not yet for `open_after` passes: not shown.
    Pending,
    Open,
    Acknowledged,
    Snoozed,
    Resolved,
}

impl State {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Open => "open",
            State::Acknowledged => "acknowledged",
            State::Snoozed => "snoozed",
            State::Resolved => "resolved",
        }
    }

    /// Parses the API's name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            State::Pending,
            State::Open,
            State::Acknowledged,
            State::Snoozed,
            State::Resolved,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the evidence is (still) there and someone should look.
    pub fn is_active(self) -> bool {
        matches!(self, State::Open | State::Acknowledged | State::Snoozed)
    }
}

/// A recommendation as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Recommendation {
    pub id: String,
    pub kind: RecKind,
    #[serde(skip)]
    pub key: String,
    pub severity: Severity,
    pub title: String,
    /// What is wrong and what happens if nothing is done.
    pub summary: String,
    /// What to do, exactly.
    pub action: String,
    pub evidence: Evidence,
    #[schema(minimum = 0, maximum = 1)]
    pub confidence: f64,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<i64>,
    pub first_seen: i64,
    pub last_seen: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    #[serde(skip)]
    pub seen_passes: i64,
    #[serde(skip)]
    pub missed_passes: i64,
}

/// One change of state, kept as history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub recommendation_id: String,
    pub at: i64,
    pub state: State,
    /// `advisor` for the analysis, else who acted through the API.
    pub actor: String,
    pub note: String,
}

/// The stable id of a finding: the same kind and key is the same advice.
pub fn id_of(kind: RecKind, key: &str) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in kind.as_str().bytes().chain([0u8]).chain(key.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{}-{hash:016x}", kind.as_str())
}

/// Hysteresis of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hysteresis {
    pub open_after: i64,
    pub resolve_after: i64,
}

/// Applies one pass's findings to the stored recommendations at `now`.
/// Returns the recommendations that changed and the events to record.
pub fn step(
    stored: &[Recommendation],
    findings: &[Finding],
    now: i64,
    hysteresis: Hysteresis,
) -> (Vec<Recommendation>, Vec<Event>) {
    let mut changed = Vec::new();
    let mut events = Vec::new();
    let mut event = |rec: &Recommendation, note: &str| {
        events.push(Event {
            recommendation_id: rec.id.clone(),
            at: now,
            state: rec.state,
            actor: "advisor".to_owned(),
            note: note.to_owned(),
        });
    };
    let by_id: std::collections::HashMap<String, &Finding> = findings
        .iter()
        .map(|f| (id_of(f.kind, &f.key), f))
        .collect();

    for rec in stored {
        let Some(finding) = by_id.get(&rec.id) else {
            // Absent this pass.
            let mut next = rec.clone();
            match rec.state {
                State::Pending => {
                    if rec.seen_passes == 0 {
                        continue;
                    }
                    next.seen_passes = 0;
                    next.missed_passes += 1;
                }
                State::Resolved => {
                    if rec.missed_passes > 0 {
                        continue;
                    }
                    next.missed_passes = 1;
                    next.seen_passes = 0;
                }
                State::Open | State::Acknowledged | State::Snoozed => {
                    next.missed_passes += 1;
                    next.seen_passes = 0;
                    if next.missed_passes >= hysteresis.resolve_after {
                        next.state = State::Resolved;
                        next.resolved_at = Some(now);
                        next.snoozed_until = None;
                        event(&next, "resolved: the evidence is gone");
                    }
                }
            }
            changed.push(next);
            continue;
        };
        let mut next = rec.clone();
        refresh(&mut next, finding, now);
        next.seen_passes += 1;
        let came_back = next.missed_passes > 0;
        next.missed_passes = 0;
        match rec.state {
            State::Pending
                if next.seen_passes >= hysteresis.open_after || finding.evidence.opens_at_once =>
            {
                next.state = State::Open;
                event(&next, "opened");
            }
            State::Resolved if came_back => {
                next.resolved_at = None;
                next.seen_passes = 1;
                if hysteresis.open_after <= 1 {
                    next.state = State::Open;
                    event(&next, "reopened: the evidence is back");
                } else {
                    next.state = State::Pending;
                }
            }
            State::Snoozed if next.snoozed_until.is_some_and(|until| until <= now) => {
                next.state = State::Open;
                next.snoozed_until = None;
                event(&next, "the snooze expired");
            }
            _ => {}
        }
        changed.push(next);
    }

    let known: std::collections::HashSet<&str> = stored.iter().map(|r| r.id.as_str()).collect();
    for finding in findings {
        let id = id_of(finding.kind, &finding.key);
        if known.contains(id.as_str()) || changed.iter().any(|r| r.id == id) {
            continue;
        }
        let mut rec = Recommendation {
            id,
            kind: finding.kind,
            key: finding.key.clone(),
            severity: finding.severity,
            title: String::new(),
            summary: String::new(),
            action: String::new(),
            evidence: Evidence::default(),
            confidence: 0.0,
            state: State::Pending,
            snoozed_until: None,
            first_seen: now,
            last_seen: now,
            resolved_at: None,
            seen_passes: 1,
            missed_passes: 0,
        };
        refresh(&mut rec, finding, now);
        if hysteresis.open_after <= 1 || finding.evidence.opens_at_once {
            rec.state = State::Open;
            event(&rec, "opened");
        }
        changed.push(rec);
    }
    (changed, events)
}

fn refresh(rec: &mut Recommendation, finding: &Finding, now: i64) {
    rec.severity = finding.severity;
    rec.title.clone_from(&finding.title);
    rec.summary.clone_from(&finding.summary);
    rec.action.clone_from(&finding.action);
    rec.evidence = finding.evidence.clone();
    rec.confidence = finding.confidence;
    rec.last_seen = now;
}

/// What a person may do to a recommendation through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    /// Until this unix time in milliseconds.
    Snooze(i64),
    Resolve,
    Reopen,
}

/// Applies a person's action; an error says why it does not apply.
pub fn act(
    rec: &Recommendation,
    action: Action,
    actor: &str,
    now: i64,
) -> Result<(Recommendation, Event), String> {
    let mut next = rec.clone();
    let note = match action {
        Action::Acknowledge if rec.state.is_active() => {
            next.state = State::Acknowledged;
            next.snoozed_until = None;
            "acknowledged".to_owned()
        }
        Action::Snooze(until) if rec.state.is_active() => {
            if until <= now {
                return Err("`until` must be in the future".to_owned());
            }
            next.state = State::Snoozed;
            next.snoozed_until = Some(until);
            format!("snoozed until {until}")
        }
        Action::Resolve if rec.state != State::Resolved => {
            next.state = State::Resolved;
            next.resolved_at = Some(now);
            next.snoozed_until = None;
            // Stays resolved while the evidence continues; reopens only if it
            // goes away and comes back.
            next.missed_passes = 0;
            "resolved by hand".to_owned()
        }
        Action::Reopen if rec.state != State::Open && rec.state != State::Pending => {
            next.state = State::Open;
            next.resolved_at = None;
            next.snoozed_until = None;
            "reopened by hand".to_owned()
        }
        _ => {
            return Err(format!(
                "a recommendation that is {} cannot be {}",
                rec.state.as_str(),
                match action {
                    Action::Acknowledge => "acknowledged",
                    Action::Snooze(_) => "snoozed",
                    Action::Resolve => "resolved",
                    Action::Reopen => "reopened",
                }
            ));
        }
    };
    let event = Event {
        recommendation_id: rec.id.clone(),
        at: now,
        state: next.state,
        actor: actor.to_owned(),
        note,
    };
    Ok((next, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Hysteresis = Hysteresis {
        open_after: 2,
        resolve_after: 3,
    };

    fn finding(key: &str) -> Finding {
        Finding {
            kind: RecKind::Index,
            key: key.to_owned(),
            severity: Severity::Warning,
            title: format!("index {key}"),
            summary: "s".into(),
            action: "a".into(),
            evidence: Evidence::default(),
            confidence: 0.8,
        }
    }

    /// Runs passes; `present[i]` says whether the finding is there in pass i.
    fn run(present: &[bool]) -> (Vec<Recommendation>, Vec<Event>) {
        let mut stored: Vec<Recommendation> = Vec::new();
        let mut all_events = Vec::new();
        for (i, &here) in present.iter().enumerate() {
            let findings = if here { vec![finding("k")] } else { vec![] };
            let (changed, events) = step(&stored, &findings, i as i64, H);
            for rec in changed {
                match stored.iter_mut().find(|r| r.id == rec.id) {
                    Some(slot) => *slot = rec,
                    None => stored.push(rec),
                }
            }
            all_events.extend(events);
        }
        (stored, all_events)
    }

    #[test]
    fn a_finding_opens_only_after_open_after_consecutive_passes() {
        assert_eq!(run(&[true]).0[0].state, State::Pending);
        assert_eq!(run(&[true, false, true]).0[0].state, State::Pending);
        let (recs, events) = run(&[true, true]);
        assert_eq!(recs[0].state, State::Open);
        assert_eq!(events.len(), 1);
        assert_eq!(recs[0].first_seen, 0);
        assert_eq!(recs[0].last_seen, 1);
    }

    #[test]
    fn a_finding_measured_directly_opens_in_its_first_pass_and_resolves_as_any_other() {
        let direct = Finding {
            evidence: Evidence::default().opening_at_once(true),
            ..finding("k")
        };
        let (opened, events) = step(&[], std::slice::from_ref(&direct), 0, H);
        assert_eq!(opened[0].state, State::Open);
        assert_eq!(events.len(), 1);
        // Pending from an earlier pass without it: opens now.
        let (pending, _) = step(&[], &[finding("k")], 0, H);
        assert_eq!(pending[0].state, State::Pending);
        let (now_open, _) = step(&pending, std::slice::from_ref(&direct), 1, H);
        assert_eq!(now_open[0].state, State::Open);
        // Resolving still takes resolve_after absent passes.
        let (absent, _) = step(&opened, &[], 1, H);
        assert_eq!(absent[0].state, State::Open);
    }

    #[test]
    fn an_open_recommendation_resolves_after_resolve_after_absent_passes_and_not_before() {
        assert_eq!(run(&[true, true, false, false]).0[0].state, State::Open);
        assert_eq!(
            run(&[true, true, false, true, false, false]).0[0].state,
            State::Open,
            "an interrupted absence does not count"
        );
        let (recs, events) = run(&[true, true, false, false, false]);
        assert_eq!(recs[0].state, State::Resolved);
        assert_eq!(recs[0].resolved_at, Some(4));
        assert_eq!(events.last().map(|e| e.state), Some(State::Resolved));
    }

    #[test]
    fn a_resolved_recommendation_reopens_when_the_evidence_returns() {
        let (recs, events) = run(&[true, true, false, false, false, true, true]);
        assert_eq!(recs[0].state, State::Open);
        assert_eq!(recs[0].first_seen, 0, "history is the same recommendation");
        assert_eq!(events.len(), 3);
    }

    #[test]
    fn ids_are_stable_per_kind_and_key() {
        assert_eq!(id_of(RecKind::Index, "a"), id_of(RecKind::Index, "a"));
        assert_ne!(id_of(RecKind::Index, "a"), id_of(RecKind::Index, "b"));
        assert_ne!(id_of(RecKind::Index, "a"), id_of(RecKind::Cache, "a"));
    }

    #[test]
    fn snooze_expires_back_to_open_and_acknowledged_stays_while_present() {
        let (recs, _) = run(&[true, true]);
        let (snoozed, _) = act(&recs[0], Action::Snooze(10), "ana", 2).unwrap();
        assert_eq!(snoozed.state, State::Snoozed);
        let (changed, _) = step(std::slice::from_ref(&snoozed), &[finding("k")], 5, H);
        assert_eq!(changed[0].state, State::Snoozed);
        let (changed, events) = step(std::slice::from_ref(&snoozed), &[finding("k")], 10, H);
        assert_eq!(changed[0].state, State::Open);
        assert_eq!(events[0].note, "the snooze expired");

        let (acked, event) = act(&recs[0], Action::Acknowledge, "ana", 3).unwrap();
        assert_eq!(
            (acked.state, event.actor.as_str()),
            (State::Acknowledged, "ana")
        );
        let (changed, _) = step(std::slice::from_ref(&acked), &[finding("k")], 4, H);
        assert_eq!(changed[0].state, State::Acknowledged);
        assert!(
            act(&recs[0], Action::Snooze(1), "ana", 3).is_err(),
            "snooze into the past"
        );
    }

    #[test]
    fn resolved_by_hand_stays_resolved_while_the_evidence_continues() {
        let (recs, _) = run(&[true, true]);
        let (resolved, _) = act(&recs[0], Action::Resolve, "ana", 2).unwrap();
        let (changed, _) = step(std::slice::from_ref(&resolved), &[finding("k")], 3, H);
        assert_eq!(changed[0].state, State::Resolved);
        assert!(act(&resolved, Action::Acknowledge, "ana", 3).is_err());
    }
}
