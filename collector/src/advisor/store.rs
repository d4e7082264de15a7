//! The advisor's tables: recommendations (one row per kind and key, kept
//! after resolving), their events (history), and the latest headroom table.
//! A row that does not decode (an unknown kind, severity or state, evidence
//! that is not JSON) is skipped and logged (`store::rows`), never read as a
//! default.

use std::collections::HashMap;

use super::lifecycle::{Event, Recommendation, State};
use super::{Evidence, RecKind, Severity};
use crate::analysis::headroom::Headroom;
use crate::store::rows::{BadRow, Decoded, parse_enum, parse_json};
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

    /// Every stored recommendation without its evidence (an empty one,
    /// written as JSON that decodes), for the alerts' dispatcher, which
    /// reads them every tick and never shows evidence.
    pub async fn recommendations_without_evidence(
        &self,
    ) -> Result<Vec<Recommendation>, StoreError> {
        self.read_recommendations(
            "SELECT id, kind, key, severity, title, summary, action, '{\"facts\":[],\"series\":[]}' AS evidence, confidence, \
             state, snoozed_until_ms, first_seen_ms, last_seen_ms, resolved_ms, seen_passes, \
             missed_passes FROM recommendations WHERE state <> 'pending' ORDER BY first_seen_ms, id",
            None,
        )
        .await
    }

    /// How many recommendations are open, per kind and severity (for
    /// `/metrics`, without reading their evidence). A kind or severity that
    /// does not decode is skipped and logged, naming one of its rows.
    pub async fn open_counts(&self) -> Result<Vec<(RecKind, Severity, i64)>, StoreError> {
        let rows: Vec<(String, String, i64, String)> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT kind, severity, COUNT(*), MIN(id) FROM recommendations \
                 WHERE state = 'open' GROUP BY kind, severity",
            )
            .fetch_all(pool)
            .await
            .context("counting open recommendations")?
        });
        Ok(rows
            .into_iter()
            .map(|(kind, severity, count, id)| {
                Ok((
                    parse_enum(TABLE, &id, "kind", &kind, RecKind::parse)?,
                    parse_enum(TABLE, &id, "severity", &severity, Severity::parse)?,
                    count,
                ))
            })
            .collect::<Decoded<_>>()
            .kept())
    }

    /// One recommendation by id.
    pub async fn recommendation(&self, id: &str) -> Result<Option<Recommendation>, StoreError> {
        Ok(self
            .read_recommendations(select!("WHERE id = $1"), Some(id))
            .await?
            .pop())
    }

    /// Reads recommendations with `sql` (bound to `id` when given); a row
    /// that does not decode is skipped and logged.
    async fn read_recommendations(
        &self,
        sql: &'static str,
        id: Option<&str>,
    ) -> Result<Vec<Recommendation>, StoreError> {
        Ok(self.decode_recommendations(sql, id).await?.kept())
    }

    /// Reads recommendations with `sql`: those that decode and the errors
    /// of those that do not.
    pub(super) async fn decode_recommendations(
        &self,
        sql: &'static str,
        id: Option<&str>,
    ) -> Result<Decoded<Recommendation>, StoreError> {
        let rows: Vec<RecommendationRow> = on_pool!(&self.read, pool => {
            let mut query = sqlx::query_as(sql);
            if let Some(id) = id {
                query = query.bind(id);
            }
            query.fetch_all(pool).await.context("reading recommendations")?
        });
        Ok(rows.into_iter().map(RecommendationRow::decode).collect())
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
        let rows: Vec<EventRow> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT recommendation_id, at_ms, state, actor, note FROM recommendation_events \
                 WHERE recommendation_id = $1 ORDER BY at_ms, id",
            )
            .bind(id)
            .fetch_all(pool)
            .await
            .context("reading recommendation events")?
        });
        Ok(rows
            .into_iter()
            .map(EventRow::decode)
            .collect::<Decoded<_>>()
            .kept())
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
        let rows: Vec<(String, String, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as("SELECT resource, data, updated_ms FROM headroom")
                .fetch_all(pool)
                .await
                .context("reading headroom")?
        });
        Ok(rows
            .into_iter()
            .map(|(resource, data, updated)| {
                let data = parse_json::<serde_json::Value>("headroom", &resource, "data", &data)?;
                Ok((data, updated))
            })
            .collect::<Decoded<_>>()
            .kept())
    }
}

/// The stored recommendations' table.
const TABLE: &str = "recommendations";

/// A `recommendations` row as stored.
#[derive(sqlx::FromRow)]
struct RecommendationRow {
    id: String,
    kind: String,
    key: String,
    severity: String,
    title: String,
    summary: String,
    action: String,
    evidence: String,
    confidence: f64,
    state: String,
    snoozed_until_ms: Option<i64>,
    first_seen_ms: i64,
    last_seen_ms: i64,
    resolved_ms: Option<i64>,
    seen_passes: i64,
    missed_passes: i64,
}

impl RecommendationRow {
    fn decode(self) -> Result<Recommendation, BadRow> {
        let id = self.id;
        Ok(Recommendation {
            kind: parse_enum(TABLE, &id, "kind", &self.kind, RecKind::parse)?,
            severity: parse_enum(TABLE, &id, "severity", &self.severity, Severity::parse)?,
            evidence: parse_json::<Evidence>(TABLE, &id, "evidence", &self.evidence)?,
            state: parse_enum(TABLE, &id, "state", &self.state, State::parse)?,
            id,
            key: self.key,
            title: self.title,
            summary: self.summary,
            action: self.action,
            confidence: self.confidence,
            snoozed_until: self.snoozed_until_ms,
            first_seen: self.first_seen_ms,
            last_seen: self.last_seen_ms,
            resolved_at: self.resolved_ms,
            seen_passes: self.seen_passes,
            missed_passes: self.missed_passes,
        })
    }
}

/// A `recommendation_events` row as stored.
#[derive(sqlx::FromRow)]
struct EventRow {
    recommendation_id: String,
    at_ms: i64,
    state: String,
    actor: String,
    note: String,
}

impl EventRow {
    fn decode(self) -> Result<Event, BadRow> {
        // Events are named by their recommendation and time.
        let key = format!("{}@{}", self.recommendation_id, self.at_ms);
        Ok(Event {
            state: parse_enum(
                "recommendation_events",
                &key,
                "state",
                &self.state,
                State::parse,
            )?,
            recommendation_id: self.recommendation_id,
            at: self.at_ms,
            actor: self.actor,
            note: self.note,
        })
    }
}
