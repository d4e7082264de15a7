//! Points → blocks: groups a batch's points by series and hour window and
//! encodes each group as one raw block.

use std::collections::{BTreeMap, HashMap};

use super::convert::Point;
use crate::store::model::{Kind, NewBlock, SeriesKey};
use crate::store::{RAW, codec, window_of};

/// The distinct series of `points` and, per point, the index of its series.
pub fn distinct_series(points: &[Point]) -> (Vec<(SeriesKey, Kind)>, Vec<usize>) {
    let mut index: HashMap<&SeriesKey, usize> = HashMap::new();
    let mut keys = Vec::new();
    let mut of_point = Vec::with_capacity(points.len());
    for point in points {
        let next = keys.len();
        let slot = *index.entry(&point.key).or_insert(next);
        if slot == next {
            keys.push((point.key.clone(), point.kind));
        }
        of_point.push(slot);
    }
    (keys, of_point)
}

/// One raw block per (series, hour window), points sorted by time (stable).
pub fn encode_blocks(
    points: &[Point],
    series_of_point: &[usize],
    series_ids: &[i64],
) -> Vec<NewBlock> {
    let mut groups: BTreeMap<(i64, i64), Vec<(i64, f64)>> = BTreeMap::new();
    for (point, &series) in points.iter().zip(series_of_point) {
        let series_id = series_ids[series];
        groups
            .entry((series_id, window_of(RAW, point.timestamp_ms)))
            .or_default()
            .push((point.timestamp_ms, point.value));
    }
    groups
        .into_iter()
        .map(|((series_id, window_ms), mut rows)| {
            rows.sort_by_key(|row| row.0);
            let timestamps: Vec<i64> = rows.iter().map(|row| row.0).collect();
            let values: Vec<f64> = rows.iter().map(|row| row.1).collect();
            NewBlock {
                series_id,
                resolution_ms: RAW,
                window_ms,
                start_ms: timestamps[0],
                end_ms: timestamps[timestamps.len() - 1],
                points: rows.len() as i64,
                compacted: false,
                data: codec::encode(&timestamps, &values, 1),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str, t: i64, v: f64) -> Point {
        Point {
            key: SeriesKey::new(name, [("agent", "a")]),
            kind: Kind::Gauge,
            timestamp_ms: t,
            value: v,
        }
    }

    #[test]
    fn points_split_by_series_and_hour_and_sort_by_time() {
        let hour = crate::store::HOUR;
        let points = vec![
            point("a", 2_000, 2.0),
            point("b", 5, 9.0),
            point("a", 1_000, 1.0),
            point("a", hour + 1, 3.0),
        ];
        let (keys, of_point) = distinct_series(&points);
        assert_eq!(keys.len(), 2);
        assert_eq!(of_point, vec![0, 1, 0, 0]);
        let blocks = encode_blocks(&points, &of_point, &[10, 20]);
        assert_eq!(blocks.len(), 3);
        let first = codec::decode(&blocks[0].data).expect("decodes");
        assert_eq!((blocks[0].series_id, blocks[0].window_ms), (10, 0));
        assert_eq!(first.timestamps, vec![1_000, 2_000]);
        assert_eq!(first.values, vec![1.0, 2.0]);
        assert_eq!(
            (blocks[1].series_id, blocks[1].window_ms, blocks[1].points),
            (10, hour, 1)
        );
        assert_eq!(blocks[2].series_id, 20);
    }
}
