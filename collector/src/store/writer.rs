//! The batch writer: one task that commits batches in groups (one
//! transaction, one fsync for up to `max_group` batches), de-duplicates them
//! on (agent id, spool epoch, sequence) and answers each caller once its
//! batch is durable.

use std::collections::HashMap;

use tokio::sync::{mpsc, oneshot};

use super::model::{NewBlock, Outcome, PreparedBatch};
use super::{Context, Store, StoreError, insert_blocks, on_pool};

type Job = (PreparedBatch, oneshot::Sender<Result<Outcome, String>>);

/// A handle to the writer task; cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task for `store`.
    pub fn spawn(store: Store, max_group: usize) -> Self {
        let (jobs, mut receiver) = mpsc::channel::<Job>(max_group * 4);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(max_group);
            while receiver.recv_many(&mut group, max_group).await > 0 {
                let (batches, replies): (Vec<_>, Vec<_>) = group.drain(..).unzip();
                match commit_group(&store, &batches).await {
                    Ok(outcomes) => {
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            let _ = reply.send(Ok(outcome));
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, batches = batches.len(), "batch group not committed; agents will re-send");
                        for reply in replies {
                            let _ = reply.send(Err(error.to_string()));
                        }
                    }
                }
            }
        });
        Self { jobs }
    }

    /// Commits `batch` (with others queued at the same time) and returns once
    /// it is durable, or was already stored.
    pub async fn commit(&self, batch: PreparedBatch) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((batch, reply))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(message)) => Err(StoreError::GroupFailed(message)),
            Err(_) => Err(StoreError::WriterGone),
        }
    }
}

async fn commit_group(
    store: &Store,
    batches: &[PreparedBatch],
) -> Result<Vec<Outcome>, StoreError> {
    on_pool!(&store.write, pool => {
        let mut tx = pool.begin().await.context("beginning a batch transaction")?;
        let mut watermarks: HashMap<(&str, i64), (i64, bool)> = HashMap::new();
        let mut outcomes = Vec::with_capacity(batches.len());
        let mut blocks: Vec<&NewBlock> = Vec::new();
        for batch in batches {
            let key = (batch.agent_id.as_str(), batch.epoch);
            let last = match watermarks.get(&key) {
                Some((last, _)) => *last,
                None => sqlx::query_scalar::<_, i64>(
                    "SELECT last_sequence FROM agent_epochs WHERE agent_id = $1 AND epoch = $2",
                )
                .bind(batch.agent_id.as_str())
                .bind(batch.epoch)
                .fetch_optional(&mut *tx)
                .await
                .context("reading the de-duplication watermark")?
                .unwrap_or(0),
            };
            if batch.sequence <= last {
                watermarks.entry(key).or_insert((last, false));
                sqlx::query("UPDATE agents SET duplicates = duplicates + 1, last_seen_ms = $2 WHERE agent_id = $1")
                    .bind(batch.agent_id.as_str())
                    .bind(batch.received_ms)
                    .execute(&mut *tx)
                    .await
                    .context("counting a duplicate batch")?;
                outcomes.push(Outcome::Duplicate);
                continue;
            }
            watermarks.insert(key, (batch.sequence, true));
            blocks.extend(&batch.blocks);
            let drops = batch.drops;
            sqlx::query(
                "UPDATE agents SET last_seen_ms = $2, spool_epoch = $3, last_sequence = $4, \
                 batches = batches + 1, points = points + $5, \
                 dropped_spool_full_batches = dropped_spool_full_batches + $6, \
                 dropped_spool_full_points = dropped_spool_full_points + $7, \
                 dropped_corrupt_batches = dropped_corrupt_batches + $8, \
                 dropped_queue_full_samples = dropped_queue_full_samples + $9, \
                 dropped_rejected_batches = dropped_rejected_batches + $10 \
                 WHERE agent_id = $1",
            )
            .bind(batch.agent_id.as_str())
            .bind(batch.received_ms)
            .bind(batch.epoch)
            .bind(batch.sequence)
            .bind(batch.points)
            .bind(drops.spool_full_batches)
            .bind(drops.spool_full_points)
            .bind(drops.corrupt_batches)
            .bind(drops.queue_full_samples)
            .bind(drops.rejected_batches)
            .execute(&mut *tx)
            .await
            .context("updating the agent's counters")?;
            for text in &batch.texts {
                sqlx::query(
                    "INSERT INTO texts (kind, key, text, last_seen_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (kind, key) DO UPDATE SET text = excluded.text, last_seen_ms = excluded.last_seen_ms",
                )
                .bind(text.kind)
                .bind(text.key.as_str())
                .bind(text.text.as_str())
                .bind(batch.received_ms)
                .execute(&mut *tx)
                .await
                .context("storing texts")?;
            }
            outcomes.push(Outcome::Stored);
        }
        insert_blocks!(tx, blocks);
        for ((agent_id, epoch), (last, stored)) in &watermarks {
            if !stored {
                continue;
            }
            sqlx::query(
                "INSERT INTO agent_epochs (agent_id, epoch, last_sequence) VALUES ($1, $2, $3) \
                 ON CONFLICT (agent_id, epoch) DO UPDATE SET last_sequence = excluded.last_sequence \
                 WHERE excluded.last_sequence > agent_epochs.last_sequence",
            )
            .bind(*agent_id)
            .bind(*epoch)
            .bind(*last)
            .execute(&mut *tx)
            .await
            .context("advancing the de-duplication watermark")?;
        }
        tx.commit().await.context("committing a batch group")?;
        Ok(outcomes)
    })
}
