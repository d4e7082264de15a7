//! Codec tests: round trips (property and edge cases), malformed input
//! never panics, bytes per point of realistic series, merging.

use super::*;
use proptest::prelude::*;

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

fn assert_round_trip(timestamps: &[i64], values: &[f64], columns: usize) -> Vec<u8> {
    let block = encode(timestamps, values, columns);
    let decoded = decode(&block).unwrap();
    assert_eq!(decoded.timestamps, timestamps);
    assert_eq!(bits(&decoded.values), bits(values));
    assert_eq!(decoded.columns, columns);
    block
}

/// Timestamps that walk through every delta-of-delta bucket.
fn timestamps(max_rows: usize) -> impl Strategy<Value = Vec<i64>> {
    let step = prop_oneof![
        Just(0i64),
        Just(15_000),
        14_950..15_050i64,
        0..5_000i64,
        0..i64::from(u32::MAX),
        any::<i64>().prop_map(|d| d.unsigned_abs() as i64 / 4),
    ];
    (any::<i64>(), proptest::collection::vec(step, 0..max_rows)).prop_map(|(start, steps)| {
        let mut ts: Vec<i64> = std::iter::once(start)
            .chain(steps.into_iter().scan(start, |t, d| {
                *t = t.saturating_add(d);
                Some(*t)
            }))
            .collect();
        ts.sort();
        ts
    })
}

/// Values that exercise every XOR control: repeats, small changes, any bits.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        (10..40u8).prop_map(f64::from),
        Just(0.0),
        Just(-0.0),
        Just(f64::NAN),
    ]
}

fn block(max_rows: usize) -> impl Strategy<Value = (Vec<i64>, Vec<f64>, usize)> {
    (timestamps(max_rows), 1..=4usize).prop_flat_map(|(ts, columns)| {
        let n = ts.len() * columns;
        (
            Just(ts),
            proptest::collection::vec(value(), n),
            Just(columns),
        )
    })
}

proptest! {
    #[test]
    fn sorted_rows_round_trip((ts, values, columns) in block(200)) {
        assert_round_trip(&ts, &values, columns);
    }

    #[test]
    fn arbitrary_timestamps_and_bit_patterns_round_trip(
        (ts, raw, columns) in (1..=4usize).prop_flat_map(|columns| {
            proptest::collection::vec(any::<i64>(), 0..50).prop_flat_map(move |ts| {
                let n = ts.len() * columns;
                (Just(ts), proptest::collection::vec(any::<u64>(), n), Just(columns))
            })
        })
    ) {
        let values: Vec<f64> = raw.into_iter().map(f64::from_bits).collect();
        let mut sorted = ts.clone();
        sorted.sort();
        assert_round_trip(&sorted, &values, columns);
        // Unsorted input is accepted by encode, so it must round-trip too.
        assert_round_trip(&ts, &values, columns);
    }

    #[test]
    fn random_bytes_are_rejected_without_panicking(
        data in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        let _ = decode(&data);
    }

    #[test]
    fn random_bit_stream_after_valid_header_never_panics(
        columns in 1..=8u8,
        rows in 0..200u8,
        stream in proptest::collection::vec(any::<u8>(), 0..600)
    ) {
        let mut data = vec![VERSION, columns, rows];
        data.extend(stream);
        let _ = decode(&data);
    }

    #[test]
    fn every_truncation_of_a_valid_block_is_an_error((ts, values, columns) in block(30)) {
        let block = encode(&ts, &values, columns);
        for len in 0..block.len() {
            prop_assert!(decode(&block[..len]).is_err(), "prefix of {} bytes decoded", len);
        }
    }

    #[test]
    fn flipped_bits_never_panic((ts, values, columns) in block(30), flips in proptest::collection::vec(any::<usize>(), 1..4)) {
        let mut block = encode(&ts, &values, columns);
        for flip in flips {
            let bit = flip % (block.len() * 8);
            block[bit / 8] ^= 1 << (bit % 8);
        }
        let _ = decode(&block);
    }

    #[test]
    fn merge_keeps_all_rows_sorted_and_stable(
        blocks in proptest::collection::vec(proptest::collection::vec(0..20i64, 0..30), 1..5)
    ) {
        // Each value records (block, row) so the order of ties can be checked.
        let decoded: Vec<Decoded> = blocks.iter().enumerate().map(|(b, ts)| {
            let mut ts = ts.clone();
            ts.sort();
            let values = (0..ts.len()).flat_map(|r| [b as f64, r as f64]).collect();
            Decoded { timestamps: ts, values, columns: 2 }
        }).collect();
        let merged = merge(&decoded).unwrap();
        let total: usize = blocks.iter().map(Vec::len).sum();
        prop_assert_eq!(merged.timestamps.len(), total);
        prop_assert_eq!(merged.values.len(), total * 2);
        let rows: Vec<(i64, f64, f64)> = merged.timestamps.iter().zip(merged.values.chunks_exact(2))
            .map(|(&t, v)| (t, v[0], v[1])).collect();
        for pair in rows.windows(2) {
            let ((t0, b0, r0), (t1, b1, r1)) = (pair[0], pair[1]);
            prop_assert!(t0 < t1 || (t0 == t1 && (b0, r0) < (b1, r1)), "{:?}", pair);
        }
    }
}

#[test]
fn zero_rows_round_trip_as_a_three_byte_header() {
    let block = assert_round_trip(&[], &[], 4);
    assert_eq!(block, [VERSION, 4, 0]);
}

#[test]
fn a_single_row_round_trips() {
    assert_round_trip(&[1_700_000_000_000], &[42.5], 1);
    assert_round_trip(&[-1], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 8);
}

#[test]
fn extreme_and_repeated_timestamps_round_trip() {
    let ts = [
        i64::MIN,
        i64::MIN,
        -1,
        0,
        0,
        1,
        i64::MAX - 1,
        i64::MAX,
        i64::MAX,
    ];
    assert_round_trip(&ts, &[0.0; 9], 1);
    let mut unsorted = ts;
    unsorted.reverse();
    assert_round_trip(&unsorted, &[0.0; 9], 1);
    assert_round_trip(&[i64::MAX, i64::MIN, i64::MAX, i64::MIN], &[1.0; 4], 1);
}

#[test]
fn dods_at_every_bucket_boundary_round_trip() {
    let dods = [
        0, -64, 63, -65, 64, -256, 255, -257, 256, -2048, 2047, -2049, 2048,
    ];
    let wide = [
        i64::from(i32::MIN),
        i64::from(i32::MAX),
        i64::from(i32::MIN) - 1,
    ];
    let mut ts = vec![0i64, 15_000];
    for dod in dods
        .into_iter()
        .chain(wide)
        .chain([1 << 40, i64::MIN, i64::MAX])
    {
        let delta = ts[ts.len() - 1]
            .wrapping_sub(ts[ts.len() - 2])
            .wrapping_add(dod);
        ts.push(ts[ts.len() - 1].wrapping_add(delta));
    }
    assert_round_trip(&ts, &vec![1.0; ts.len()], 1);
}

#[test]
fn special_floats_round_trip_bit_exactly() {
    let specials = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
        f64::from_bits(0x7ff8_dead_beef_cafe), // NaN with payload
        f64::from_bits(0xfff0_0000_0000_0001),
        f64::from_bits(1),                     // smallest subnormal
        f64::from_bits(0x000f_ffff_ffff_ffff), // largest subnormal
        -f64::from_bits(1),
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
    ];
    let ts: Vec<i64> = (0..specials.len() as i64).map(|i| i * 15_000).collect();
    assert_round_trip(&ts, &specials, 1);
    // Every special after every other, in four columns.
    let mut values: Vec<f64> = specials.iter().rev().copied().collect();
    values.extend(specials);
    values.extend(specials.iter().rev().copied());
    values.extend(specials);
    let ts: Vec<i64> = (0..values.len() as i64 / 4).collect();
    assert_round_trip(&ts, &values, 4);
}

#[test]
fn xor_with_64_meaningful_bits_round_trips() {
    let a = 1.5f64;
    let b = f64::from_bits(a.to_bits() ^ 0x8000_0000_0000_0001);
    let block = assert_round_trip(&[0, 1, 2, 3], &[a, b, a, b], 1);
    // Header, 64 + 64 bits, then 3 rows of dod ('0' or '10'+7) and values
    // ('11'+5+6+64 once, then '10'+64 twice).
    assert!(
        block.len() < 3 + 16 + 3 * 2 + (77 + 66 * 2) / 8 + 2,
        "{block:?}"
    );
}

#[test]
fn malformed_headers_are_rejected() {
    assert_eq!(decode(&[]), Err(CodecError::Truncated));
    assert_eq!(decode(&[2, 1, 0]), Err(CodecError::BadVersion(2)));
    assert_eq!(decode(&[VERSION]), Err(CodecError::Truncated));
    assert_eq!(decode(&[VERSION, 0, 0]), Err(CodecError::BadColumns(0)));
    assert_eq!(decode(&[VERSION, 9, 0]), Err(CodecError::BadColumns(9)));
    assert_eq!(decode(&[VERSION, 1]), Err(CodecError::Truncated));
    assert_eq!(decode(&[VERSION, 1, 0x80]), Err(CodecError::Truncated));
    let mut overlong = vec![VERSION, 1];
    overlong.extend([0xff; 9]);
    overlong.push(0x02);
    assert_eq!(decode(&overlong), Err(CodecError::BadRowCount));
}

#[test]
fn absurd_row_counts_are_rejected_before_allocating() {
    let mut data = vec![VERSION, 8];
    write_varint(&mut data, u64::MAX);
    data.extend([0; 64]);
    assert_eq!(
        decode(&data),
        Err(CodecError::TooManyRows {
            rows: u64::MAX,
            bytes: 64
        })
    );
    // One row more than the stream could hold at the minimum cost per row.
    let mut data = vec![VERSION, 1];
    write_varint(&mut data, 8 * 100 / 2 - 63 + 1);
    data.extend([0; 100]);
    assert!(matches!(decode(&data), Err(CodecError::TooManyRows { .. })));
}

#[test]
fn trailing_bytes_and_dirty_padding_are_rejected() {
    let mut block = encode(&[0], &[1.0], 1);
    block.push(0);
    assert_eq!(decode(&block), Err(CodecError::Trailing { bytes: 1 }));
    assert_eq!(
        decode(&[VERSION, 1, 0, 0]),
        Err(CodecError::Trailing { bytes: 1 })
    );
    // Two rows: 128 + 1 + 1 bits, so the last byte holds 6 padding bits.
    let mut block = encode(&[0, 0], &[1.0, 1.0], 1);
    *block.last_mut().unwrap() |= 1;
    assert_eq!(decode(&block), Err(CodecError::BadPadding));
}

#[test]
fn window_reuse_before_a_window_is_set_is_rejected() {
    let mut w = BitWriter::with_capacity(32);
    w.out.extend([VERSION, 1, 2]);
    w.write(0, 64); // timestamp
    w.write(0, 64); // value
    w.write(0, 1); // dod 0
    w.write(0b10, 2); // reuse a window that does not exist
    assert_eq!(decode(&w.finish()), Err(CodecError::XorWindowUnset));
}

#[test]
fn merge_interleaves_blocks_and_keeps_ties_in_block_order() {
    let a = Decoded {
        timestamps: vec![1, 3, 3, 5],
        values: vec![10.0, 11.0, 12.0, 13.0],
        columns: 1,
    };
    let b = Decoded {
        timestamps: vec![0, 3, 6],
        values: vec![20.0, 21.0, 22.0],
        columns: 1,
    };
    let merged = merge(&[a, b]).unwrap();
    assert_eq!(merged.timestamps, [0, 1, 3, 3, 3, 5, 6]);
    assert_eq!(merged.values, [20.0, 10.0, 11.0, 12.0, 21.0, 13.0, 22.0]);
    assert_eq!(merged.columns, 1);
}

#[test]
fn merge_rejects_mixed_columns_malformed_blocks_and_nothing() {
    let one = Decoded {
        timestamps: vec![1],
        values: vec![1.0],
        columns: 1,
    };
    let four = Decoded {
        timestamps: vec![1],
        values: vec![1.0; 4],
        columns: 4,
    };
    assert_eq!(
        merge(&[one.clone(), four]),
        Err(CodecError::ColumnMismatch {
            block: 1,
            expected: 1,
            found: 4
        })
    );
    let short = Decoded {
        timestamps: vec![1, 2],
        values: vec![1.0],
        columns: 1,
    };
    assert!(matches!(
        merge(&[one, short]),
        Err(CodecError::BadShape { block: 1, .. })
    ));
    assert_eq!(merge(&[]), Err(CodecError::NoBlocks));
}

/// Deterministic pseudo-random numbers for the size test (no `rand` here).
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

#[test]
fn realistic_series_compress_to_a_few_bits_per_point() {
    const POINTS: usize = 10_000;
    let start = 1_700_000_000_000i64;
    let regular: Vec<i64> = (0..POINTS as i64).map(|i| start + i * 15_000).collect();
    let mut seed = 7;
    let jittered: Vec<i64> = regular
        .iter()
        .map(|t| t + (lcg(&mut seed) % 41) as i64 - 20)
        .collect();
    let mut connections = 25.0;
    let gauge: Vec<f64> = (0..POINTS)
        .map(|_| {
            if lcg(&mut seed).is_multiple_of(10) {
                connections = (connections + (lcg(&mut seed) % 7) as f64 - 3.0).clamp(10.0, 40.0);
            }
            connections
        })
        .collect();
    let mut total = 1_000_000.0;
    let counter: Vec<f64> = (0..POINTS)
        .map(|_| {
            total += (lcg(&mut seed) % 20) as f64;
            total
        })
        .collect();
    let constant = vec![3.0; POINTS];
    let rollup: Vec<f64> = gauge
        .chunks(4)
        .flat_map(|c| {
            let sum: f64 = c.iter().sum();
            let min = c.iter().copied().fold(f64::INFINITY, f64::min);
            let max = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            [c.len() as f64, sum, min, max]
        })
        .collect();
    let rollup_ts: Vec<i64> = regular.iter().step_by(4).copied().collect();

    let per_point = |ts: &[i64], values: &[f64], columns: usize| {
        let block = assert_round_trip(ts, values, columns);
        block.len() as f64 / ts.len() as f64
    };
    for (name, ts, values) in [
        ("constant, regular 15 s", &regular, &constant),
        ("gauge 10..40, regular 15 s", &regular, &gauge),
        ("gauge 10..40, ±20 ms jitter", &jittered, &gauge),
        ("counter, regular 15 s", &regular, &counter),
        ("counter, ±20 ms jitter", &jittered, &counter),
    ] {
        println!("{name:>30}: {:.3} bytes/point", per_point(ts, values, 1));
    }
    println!(
        "{:>30}: {:.3} bytes/row",
        "rollup count,sum,min,max (C=4)",
        per_point(&rollup_ts, &rollup, 4)
    );
    let constant_cost = per_point(&regular, &constant, 1);
    assert!(constant_cost < 0.5, "{constant_cost} bytes/point");
}
