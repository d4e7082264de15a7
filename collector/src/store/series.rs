//! Series ids: a cache in front of the `series` table, creating rows for
//! series seen for the first time.

use std::collections::HashMap;
use std::sync::Mutex;

use super::model::{Kind, SeriesKey};
use super::{Context, Store, StoreError, on_pool};

/// (name, labels JSON) → series id, for every series this process has seen.
#[derive(Debug, Default)]
pub struct SeriesCache {
    ids: Mutex<HashMap<(String, String), i64>>,
}

impl SeriesCache {
    fn get(&self, key: &(String, String)) -> Option<i64> {
        self.ids.lock().ok().and_then(|ids| ids.get(key).copied())
    }

    fn insert(&self, key: (String, String), id: i64) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.insert(key, id);
        }
    }
}

impl Store {
    /// The id of each series in `keys` (same order), creating missing ones.
    /// New series are committed on their own, before the batch that uses
    /// them, so a cached id always names a committed row.
    pub async fn series_ids(&self, keys: &[(SeriesKey, Kind)]) -> Result<Vec<i64>, StoreError> {
        let mut ids = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for (index, (key, kind)) in keys.iter().enumerate() {
            let cache_key = (key.name.clone(), key.labels_json());
            match self.series.get(&cache_key) {
                Some(id) => ids.push(id),
                None => {
                    ids.push(0);
                    missing.push((index, cache_key, *kind));
                }
            }
        }
        if missing.is_empty() {
            return Ok(ids);
        }
        on_pool!(&self.write, pool => {
            let mut tx = pool.begin().await.context("creating series")?;
            for (index, (name, labels), kind) in &missing {
                sqlx::query(
                    "INSERT INTO series (name, labels, kind) VALUES ($1, $2, $3) \
                     ON CONFLICT (name, labels) DO NOTHING",
                )
                .bind(name)
                .bind(labels)
                .bind(*kind as i64)
                .execute(&mut *tx)
                .await
                .context("creating series")?;
                let id: i64 = sqlx::query_scalar("SELECT id FROM series WHERE name = $1 AND labels = $2")
                    .bind(name)
                    .bind(labels)
                    .fetch_one(&mut *tx)
                    .await
                    .context("reading a series id")?;
                ids[*index] = id;
            }
            tx.commit().await.context("creating series")?;
        });
        for (index, cache_key, _) in missing {
            self.series.insert(cache_key, ids[index]);
        }
        Ok(ids)
    }
}
