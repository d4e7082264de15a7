//! Points → blocks: groups a batch's points by series and hour window and
//! encodes each group as one raw block.

use std::collections::BTreeMap;

use super::convert::Point;
use crate::store::model::NewBlock;
use crate::store::{RAW, codec, window_of};

/// One raw block per (series, hour window), points sorted by time (stable).
pub fn encode_blocks(points: &[Point], series_ids: &[i64]) -> Vec<NewBlock> {
    let mut groups: BTreeMap<(i64, i64), Vec<(i64, f64)>> = BTreeMap::new();
    for point in points {
        let series_id = series_ids[point.series];
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

    fn point(series: usize, t: i64, v: f64) -> Point {
        Point {
            series,
            timestamp_ms: t,
            value: v,
        }
    }

    #[test]
    fn points_split_by_series_and_hour_and_sort_by_time() {
        let hour = crate::store::HOUR;
        let points = vec![
            point(0, 2_000, 2.0),
            point(1, 5, 9.0),
            point(0, 1_000, 1.0),
            point(0, hour + 1, 3.0),
        ];
        let blocks = encode_blocks(&points, &[10, 20]);
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
