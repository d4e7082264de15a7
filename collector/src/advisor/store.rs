//! The advisor's tables: recommendations (one row per kind and key, kept
//! after resolving), their events (history), and the latest headroom table.

use std::collections::HashMap;

use sqlx::Row;

use super::lifecycle::{Event, Recommendation, State};
use super::{Evidence, RecKind, Severity};
use crate::analysis::headroom::Headroom;
use crate::store::{Context, Store, StoreError, on_pool};

macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, kind, key, severity, title, summary, action, evidence, confidence, state, ",
            "snoozed_until_ms, first_seen_ms, last_seen_ms, resolved_ms, seen_passes, missed_passes ",
            "FROM recommendations ",
            $rest
        )
    };
}

impl Store {
    /// Every stored recommendation, pending and resolved included.
    pub async fn recommendations(&self) -> Result<Vec<Recommendation>, StoreError> {
        self.read_recommendations(select!("ORDER BY first_seen_ms, id"), None)
            .await
    }

    /// Every stored recommendation without its evidence (empty), for the
    /// alerts' dispatcher, which reads them every tick and never shows evidence.
    pub async fn recommendations_without_evidence(
        &self,
    ) -> Result<Vec<Recommendation>, StoreError> {
        self.read_recommendations(
            "SELECT id, kind, key, severity, title, summary, action, '{}' AS evidence, confidence, \
             state, snoozed_until_ms, first_seen_ms, last_seen_ms, resolved_ms, seen_passes, \
             missed_passes FROM recommendations WHERE state <> 'pending' ORDER BY first_seen_ms, id",
            None,
        )
        .await
    }

    /// How many recommendations are open, per kind and severity (for
    /// `/metrics`, without reading their evidence).
    pub async fn open_counts(&self) -> Result<Vec<(RecKind, Severity, i64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT kind, severity, COUNT(*) FROM recommendations \
                 WHERE state = 'open' GROUP BY kind, severity",
            )
            .fetch_all(pool)
            .await
            .context("counting open recommendations")?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(kind, severity, count)| {
                Some((RecKind::parse(&kind)?, Severity::parse(&severity)?, count))
            })
            .collect())
    }

    /// One recommendation by id.
    pub async fn recommendation(&self, id: &str) -> Result<Option<Recommendation>, StoreError> {
        Ok(self
            .read_recommendations(select!("WHERE id = $1"), Some(id))
            .await?
            .pop())
    }

    async fn read_recommendations(
        &self,
        sql: &'static str,
        id: Option<&str>,
    ) -> Result<Vec<Recommendation>, StoreError> {
        on_pool!(&self.read, pool => {
            let mut query = sqlx::query(sql);
            if let Some(id) = id {
                query = query.bind(id);
            }
            query
                .fetch_all(pool)
                .await
                .context("reading recommendations")?
                .iter()
                .map(|row| -> Result<Recommendation, sqlx::Error> {
                    let kind: String = row.try_get("kind")?;
                    let severity: String = row.try_get("severity")?;
                    let state: String = row.try_get("state")?;
                    let evidence: String = row.try_get("evidence")?;
                    Ok(Recommendation {
                        id: row.try_get("id")?,
                        kind: RecKind::parse(&kind).unwrap_or(RecKind::None),
                        key: row.try_get("key")?,
                        severity: Severity::parse(&severity).unwrap_or(Severity::Info),
                        title: row.try_get("title")?,
                        summary: row.try_get("summary")?,
                        action: row.try_get("action")?,
                        evidence: serde_json::from_str::<Evidence>(&evidence).unwrap_or_default(),
                        confidence: row.try_get("confidence")?,
                        state: State::parse(&state).unwrap_or(State::Open),
                        snoozed_until: row.try_get("snoozed_until_ms")?,
                        first_seen: row.try_get("first_seen_ms")?,
                        last_seen: row.try_get("last_seen_ms")?,
                        resolved_at: row.try_get("resolved_ms")?,
                        seen_passes: row.try_get("seen_passes")?,
                        missed_passes: row.try_get("missed_passes")?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .context("reading recommendations")
        })
    }

    /// Writes changed recommendations and their events in one transaction.
    /// A change to a stored recommendation applies only while its stored
    /// state is still the one in `read` (the state the change was computed
    /// from), so an advisor pass never overwrites an acknowledgement made
    /// while it ran, nor one action another. Returns the ids left as they
    /// were; their events are not written.
    pub async fn save_recommendations(
        &self,
        changed: &[Recommendation],
        events: &[Event],
        read: &HashMap<String, State>,
    ) -> Result<Vec<String>, StoreError> {
        if changed.is_empty() && events.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(&self.write, pool => {
            let mut tx = pool.begin().await.context("saving recommendations")?;
            let mut skipped = Vec::new();
            for rec in changed {
                let evidence = serde_json::to_string(&rec.evidence).unwrap_or_else(|_| "{}".into());
                let written = sqlx::query(
                    "INSERT INTO recommendations (id, kind, key, severity, title, summary, action, evidence, \
                     confidence, state, snoozed_until_ms, first_seen_ms, last_seen_ms, resolved_ms, seen_passes, missed_passes) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, title = excluded.title, \
                     summary = excluded.summary, action = excluded.action, evidence = excluded.evidence, \
                     confidence = excluded.confidence, state = excluded.state, snoozed_until_ms = excluded.snoozed_until_ms, \
                     last_seen_ms = excluded.last_seen_ms, resolved_ms = excluded.resolved_ms, \
                     seen_passes = excluded.seen_passes, missed_passes = excluded.missed_passes \
                     WHERE recommendations.state = COALESCE($17, recommendations.state)",
                )
                .bind(&rec.id)
                .bind(rec.kind.as_str())
                .bind(&rec.key)
                .bind(rec.severity.as_str())
                .bind(&rec.title)
                .bind(&rec.summary)
                .bind(&rec.action)
                .bind(evidence)
                .bind(rec.confidence)
                .bind(rec.state.as_str())
                .bind(rec.snoozed_until)
                .bind(rec.first_seen)
                .bind(rec.last_seen)
                .bind(rec.resolved_at)
                .bind(rec.seen_passes)
                .bind(rec.missed_passes)
                .bind(read.get(&rec.id).map(|state| state.as_str()))
                .execute(&mut *tx)
                .await
                .context("saving a recommendation")?;
                if written.rows_affected() == 0 {
                    skipped.push(rec.id.clone());
                }
            }
            for event in events.iter().filter(|e| !skipped.contains(&e.recommendation_id)) {
                sqlx::query(
                    "INSERT INTO recommendation_events (recommendation_id, at_ms, state, actor, note) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&event.recommendation_id)
                .bind(event.at)
                .bind(event.state.as_str())
                .bind(&event.actor)
                .bind(&event.note)
                .execute(&mut *tx)
                .await
                .context("saving a recommendation event")?;
            }
            tx.commit().await.context("saving recommendations")?;
            Ok(skipped)
        })
    }

    /// The history of one recommendation, oldest first.
    pub async fn recommendation_events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query(
                "SELECT recommendation_id, at_ms, state, actor, note FROM recommendation_events \
                 WHERE recommendation_id = $1 ORDER BY at_ms, id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .context("reading recommendation events")?
            .iter()
            .map(|row| -> Result<Event, sqlx::Error> {
                let state: String = row.try_get("state")?;
                Ok(Event {
                    recommendation_id: row.try_get("recommendation_id")?,
                    at: row.try_get("at_ms")?,
                    state: State::parse(&state).unwrap_or(State::Open),
                    actor: row.try_get("actor")?,
                    note: row.try_get("note")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .context("reading recommendation events")
        })
    }

    /// Replaces the headroom table with `table`, computed at `now`.
    pub async fn save_headroom(&self, table: &[Headroom], now: i64) -> Result<(), StoreError> {
        on_pool!(&self.write, pool => {
            let mut tx = pool.begin().await.context("saving headroom")?;
            sqlx::query("DELETE FROM headroom")
                .execute(&mut *tx)
                .await
                .context("saving headroom")?;
            for entry in table {
                sqlx::query("INSERT INTO headroom (resource, data, updated_ms) VALUES ($1, $2, $3) \
                             ON CONFLICT (resource) DO UPDATE SET data = excluded.data, updated_ms = excluded.updated_ms")
                    .bind(&entry.resource)
                    .bind(serde_json::to_string(entry).unwrap_or_else(|_| "{}".into()))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .context("saving headroom")?;
            }
            tx.commit().await.context("saving headroom")
        })
    }

    /// Rows of the headroom table and when it was last written: changes
    /// whenever the advisor saves a new table (a cheap check before a re-read).
    pub async fn headroom_version(&self) -> Result<(i64, Option<i64>), StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query_as("SELECT COUNT(*), MAX(updated_ms) FROM headroom")
                .fetch_one(pool)
                .await
                .context("reading headroom")
        })
    }

    /// The latest headroom table, as JSON objects, with when it was computed.
    pub async fn headroom(&self) -> Result<Vec<(serde_json::Value, i64)>, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query("SELECT data, updated_ms FROM headroom")
                .fetch_all(pool)
                .await
                .context("reading headroom")?
                .iter()
                .map(|row| -> Result<(serde_json::Value, i64), sqlx::Error> {
                    let data: String = row.try_get("data")?;
                    Ok((
                        serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
                        row.try_get("updated_ms")?,
                    ))
                })
                .collect::<Result<Vec<_>, _>>()
                .context("reading headroom")
        })
    }
}
