//! From sources to the spool: one task per source scrapes on its interval
//! and hands its samples to the batcher, which seals them into the spool
//! every `flush_interval` (or sooner when a batch is full).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headroom_proto::signals::agent::AGENT_SCRAPES_TOTAL;
use headroom_proto::v1;
use prost::Message;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::sources::{Source, counter, up_sample};
use crate::spool::{DropCounts, Spool, SpoolError};

/// The spool, shared by the batcher (appends) and the shipper (reads, acks).
pub type SharedSpool = Arc<Mutex<Spool>>;

/// Parts waiting for the batcher, per source task.
pub const QUEUE_CAPACITY: usize = 256;

/// Losses that happen outside the spool, reported by the next sealed batch.
#[derive(Debug, Default)]
pub struct OtherDrops {
    /// Samples a source produced while the batcher's queue was full.
    pub queue_full_samples: AtomicU64,
    /// Batches the collector refused as invalid.
    pub rejected_batches: AtomicU64,
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// Runs one source until `stop` turns true. Besides the source's own
/// samples, every scrape yields `up` and `agent_scrapes_total` (the scrape's
/// ordinal since the agent started: gaps or repeats at the collector show
/// loss or duplication).
pub fn spawn_source(
    mut source: Box<dyn Source>,
    type_name: &'static str,
    interval: Duration,
    parts: mpsc::Sender<v1::Batch>,
    drops: Arc<OtherDrops>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        let mut scrapes = 0u64;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
            let now = now_ms();
            let (mut part, up) = match source.scrape(now).await {
                Ok(part) => {
                    if failing {
                        tracing::info!(source = source.name(), "source recovered");
                        failing = false;
                    }
                    (part, true)
                }
                Err(error) => {
                    tracing::warn!(source = source.name(), error = %error, "scrape failed; retrying at the next interval");
                    failing = true;
                    (v1::Batch::default(), false)
                }
            };
            scrapes += 1;
            part.samples
                .push(up_sample(source.name(), type_name, up, now));
            part.samples.push(counter(
                &AGENT_SCRAPES_TOTAL,
                &[("source", source.name())],
                now,
                scrapes as f64,
            ));
            let points = part.point_count();
            if parts.try_send(part).is_err() {
                drops
                    .queue_full_samples
                    .fetch_add(points, Ordering::Relaxed);
                tracing::warn!(
                    source = source.name(),
                    points,
                    "the batcher is behind; samples dropped and counted"
                );
            }
        }
    })
}

/// Seals parts into the spool until every sender is gone, then seals the
/// rest and returns.
pub async fn run_batcher(
    mut parts: mpsc::Receiver<v1::Batch>,
    spool: SharedSpool,
    sealed: Arc<Notify>,
    drops: Arc<OtherDrops>,
    flush_interval: Duration,
    max_batch_points: usize,
) {
    let mut pending = v1::Batch::default();
    let mut ticker = tokio::time::interval(flush_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            part = parts.recv() => match part {
                Some(part) => {
                    pending.extend(part);
                    if pending.point_count() as usize >= max_batch_points {
                        seal(&spool, &mut pending, &drops, &sealed);
                    }
                }
                None => break,
            },
            _ = ticker.tick() => seal(&spool, &mut pending, &drops, &sealed),
        }
    }
    seal(&spool, &mut pending, &drops, &sealed);
}

/// Seals `pending` (when it holds anything, or drops must be reported) into
/// the spool and wakes the shipper.
fn seal(spool: &SharedSpool, pending: &mut v1::Batch, drops: &OtherDrops, sealed: &Notify) {
    let Ok(mut spool) = spool.lock() else {
        tracing::error!("the spool's lock is poisoned; batches can no longer be sealed");
        return;
    };
    let queue_full = drops.queue_full_samples.swap(0, Ordering::Relaxed);
    let rejected = drops.rejected_batches.swap(0, Ordering::Relaxed);
    let points = pending.point_count();
    if points == 0 && queue_full == 0 && rejected == 0 && spool.pending_drops().is_zero() {
        return;
    }
    let batch = std::mem::take(pending);
    let result = spool.append(points, |sequence, spool_drops| {
        v1::Batch {
            sequence,
            created_ms: now_ms(),
            drops: Some(v1::Drops {
                spool_full_batches: spool_drops.spool_full_batches,
                spool_full_points: spool_drops.spool_full_points,
                corrupt_batches: spool_drops.corrupt_batches,
                queue_full_samples: queue_full,
                rejected_batches: rejected,
            }),
            ..batch
        }
        .encode_to_vec()
    });
    match result {
        Ok(_) => sealed.notify_one(),
        Err(error) => {
            match &error {
                SpoolError::TooLarge { .. } => {
                    tracing::error!(error = %error, points, "a batch is larger than the whole spool; it is dropped and counted (raise spool.max_bytes or lower agent.max_batch_points)");
                }
                _ => {
                    tracing::error!(error = %error, points, "cannot write to the spool; the batch is dropped and counted")
                }
            }
            spool.add_drops(DropCounts {
                spool_full_batches: 1,
                spool_full_points: points,
                corrupt_batches: 0,
            });
            drops
                .queue_full_samples
                .fetch_add(queue_full, Ordering::Relaxed);
            drops
                .rejected_batches
                .fetch_add(rejected, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str) -> v1::Batch {
        v1::Batch {
            samples: vec![v1::Sample {
                name: name.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn sealed_batches_carry_their_sequence_and_the_drops_since_the_last_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (spool, _) = Spool::open(dir.path(), 1 << 20).expect("spool");
        let spool = Arc::new(Mutex::new(spool));
        let drops = OtherDrops::default();
        drops.queue_full_samples.store(7, Ordering::Relaxed);
        let notify = Notify::new();
        let mut pending = part("a");
        seal(&spool, &mut pending, &drops, &notify);
        let mut empty = v1::Batch::default();
        seal(&spool, &mut empty, &drops, &notify);
        let mut guard = spool.lock().expect("lock");
        assert_eq!(
            guard.last_seq(),
            1,
            "an empty batch without drops is not sealed"
        );
        let record = guard.read_from(1).expect("read").expect("a record");
        let batch = v1::Batch::decode(record.payload.as_slice()).expect("decodes");
        assert_eq!(batch.sequence, 1);
        assert_eq!(batch.samples[0].name, "a");
        assert_eq!(batch.drops.map(|d| d.queue_full_samples), Some(7));
        assert_eq!(drops.queue_full_samples.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn extend_keeps_every_part() {
        let mut batch = part("a");
        batch.extend(part("b"));
        assert_eq!(batch.samples.len(), 2);
    }
}
