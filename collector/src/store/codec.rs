//! Gorilla-style bit-packed blocks: the on-disk encoding of one time-series block
//! (Pelkonen et al., "Gorilla: A Fast, Scalable, In-Memory Time Series Database").
//!
//! A block is a run of rows sorted by timestamp; each row is one `i64` timestamp
//! (unix milliseconds) and `C` `f64` values, with `C` fixed per block (1..=8; raw
//! series use 1, rollups use 4 for count, sum, min, max).
//!
//! # Format, version 1
//!
//! ```text
//! byte 0        version, always 1
//! byte 1        column count C, 1..=8
//! bytes 2..     row count N, unsigned LEB128 (at most 10 bytes)
//! then          bit stream, written most significant bit first, zero-padded to a
//!               whole byte; nothing follows it. Empty when N = 0.
//! ```
//!
//! The bit stream is interleaved row by row: a row's timestamp, then its C values
//! in column order, then the next row.
//!
//! Row 0: the timestamp as 64 raw bits, then each value's `to_bits()` as 64 raw bits.
//!
//! Timestamps of later rows: `delta = t[i] - t[i-1]` and `dod = delta - prev_delta`,
//! both in wrapping `i64` arithmetic (so any sequence round-trips, even unsorted or
//! spanning `i64::MIN..=i64::MAX`), with `prev_delta = 0` for row 1. The dod is
//! zigzag-mapped (`z = (dod << 1) ^ (dod >> 63)`, so small negatives stay small) and
//! stored in the first bucket whose width holds `z`:
//!
//! ```text
//! 0                 z = 0        dod 0: a perfectly regular interval
//! 10    + 7 bits    z < 2^7      dod in -64..=63 ms (scrape jitter)
//! 110   + 9 bits    z < 2^9      dod in -256..=255 ms
//! 1110  + 12 bits   z < 2^12     dod in -2048..=2047 ms
//! 11110 + 32 bits   z < 2^32     dod within about ±24 days
//! 11111 + 64 bits   any z
//! ```
//!
//! Values of later rows, per column, XOR-ed with the previous value of the same
//! column (`x = bits ^ prev_bits`):
//!
//! ```text
//! 0                                    x = 0
//! 10 + (64 - L - T) bits               x fits the window (L leading, T trailing zero
//!                                      bits) last set in this column: x >> T
//! 11 + 5 bits L + 6 bits (M - 1) + M   new window: L = min(leading zeros, 31),
//!                                      M = 64 - L - T meaningful bits (1..=64, hence
//!                                      stored minus one), then x >> T
//! ```
//!
//! A column has no window until its first `11`; `10` before that is corrupt. The
//! encoder uses `10` whenever `x` fits the current window and `11` otherwise.
//!
//! [`decode`] never panics and is strict: every malformed input, including
//! non-zero padding and bytes after the stream, is a [`CodecError`]. It refuses
//! a row count larger than the remaining bytes could hold (every row costs at
//! least `1 + C` bits, row 0 `64 * (1 + C)`) before allocating for it.

use thiserror::Error;

/// Format version written in byte 0.
const VERSION: u8 = 1;
/// Most value columns a block may carry.
const MAX_COLUMNS: usize = 8;
/// Widths of the delta-of-delta buckets selected by 1..=5 leading one bits.
const DOD_WIDTHS: [u32; 5] = [7, 9, 12, 32, 64];

/// Why a block could not be decoded or merged.
#[derive(Debug, Error, PartialEq)]
pub enum CodecError {
    #[error("block is truncated")]
    Truncated,
    #[error("unsupported block format version {0} (expected {VERSION})")]
    BadVersion(u8),
    #[error("block has {0} columns, expected 1..={MAX_COLUMNS}")]
    BadColumns(u8),
    #[error("block row count varint does not fit in 64 bits")]
    BadRowCount,
    #[error("block header claims {rows} rows but only {bytes} bytes of data follow")]
    TooManyRows { rows: u64, bytes: usize },
    #[error("XOR window of {leading} leading zeros and {length} meaningful bits exceeds 64 bits")]
    BadXorWindow { leading: u32, length: u32 },
    #[error("XOR control '10' reuses a window before any was set")]
    XorWindowUnset,
    #[error("padding bits after the last row are not zero")]
    BadPadding,
    #[error("{bytes} unexpected bytes after the last row")]
    Trailing { bytes: usize },
    #[error("merge needs at least one block")]
    NoBlocks,
    #[error("block {block} has {found} columns but block 0 has {expected}")]
    ColumnMismatch {
        block: usize,
        expected: usize,
        found: usize,
    },
    #[error("block {block} is malformed: {values} values for {rows} rows of {columns} columns")]
    BadShape {
        block: usize,
        rows: usize,
        values: usize,
        columns: usize,
    },
}

/// A decoded block.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// One timestamp (unix milliseconds) per row.
    pub timestamps: Vec<i64>,
    /// Row-major values: row 0's columns, then row 1's, …
    pub values: Vec<f64>,
    /// Values per row, 1..=8.
    pub columns: usize,
}

/// Encodes rows (must already be sorted by timestamp, duplicates allowed) with `columns` values each.
/// `values.len() == timestamps.len() * columns`, row-major (row 0's columns, then row 1's …).
///
/// Unsorted timestamps still round-trip, they only compress worse.
///
/// # Panics
///
/// If `columns` is not in 1..=8 or `values.len() != timestamps.len() * columns`:
/// both are bugs in the caller, which builds blocks from its own data.
pub fn encode(timestamps: &[i64], values: &[f64], columns: usize) -> Vec<u8> {
    assert!(
        (1..=MAX_COLUMNS).contains(&columns),
        "block column count {columns} is not in 1..={MAX_COLUMNS}"
    );
    assert!(
        timestamps.len().checked_mul(columns) == Some(values.len()),
        "{} values for {} rows of {columns} columns",
        values.len(),
        timestamps.len()
    );
    // Header, then roughly two bits per value for regular data.
    let mut w = BitWriter::with_capacity(12 + 16 * (1 + columns) + values.len() / 2);
    w.out.push(VERSION);
    w.out.push(columns as u8);
    write_varint(&mut w.out, timestamps.len() as u64);

    let mut rows = timestamps.iter().zip(values.chunks_exact(columns));
    if let Some((&first_ts, first_values)) = rows.next() {
        w.write(first_ts as u64, 64);
        let mut states: Vec<XorState> = first_values
            .iter()
            .map(|v| {
                w.write(v.to_bits(), 64);
                XorState::new(v.to_bits())
            })
            .collect();
        let (mut prev, mut prev_delta) = (first_ts, 0i64);
        for (&ts, row) in rows {
            let delta = ts.wrapping_sub(prev);
            write_dod(&mut w, delta.wrapping_sub(prev_delta));
            (prev, prev_delta) = (ts, delta);
            for (state, v) in states.iter_mut().zip(row) {
                state.encode(&mut w, v.to_bits());
            }
        }
    }
    w.finish()
}

/// Decodes a block: returns (timestamps, row-major values, columns).
pub fn decode(data: &[u8]) -> Result<Decoded, CodecError> {
    let (&version, rest) = data.split_first().ok_or(CodecError::Truncated)?;
    if version != VERSION {
        return Err(CodecError::BadVersion(version));
    }
    let (&column_byte, rest) = rest.split_first().ok_or(CodecError::Truncated)?;
    let columns = usize::from(column_byte);
    if !(1..=MAX_COLUMNS).contains(&columns) {
        return Err(CodecError::BadColumns(column_byte));
    }
    let (row_count, stream) = read_varint(rest)?;
    if row_count == 0 {
        return match stream.len() {
            0 => Ok(Decoded {
                timestamps: Vec::new(),
                values: Vec::new(),
                columns,
            }),
            bytes => Err(CodecError::Trailing { bytes }),
        };
    }
    let min_bits = (u128::from(row_count) + 63) * (1 + columns as u128);
    if min_bits > stream.len() as u128 * 8 {
        return Err(CodecError::TooManyRows {
            rows: row_count,
            bytes: stream.len(),
        });
    }
    // Fits: bounded by the input's length in bits.
    let rows = row_count as usize;

    let mut r = BitReader {
        data: stream,
        pos: 0,
    };
    let mut timestamps = Vec::with_capacity(rows);
    let mut values = Vec::with_capacity(rows * columns);
    let first_ts = r.read(64)? as i64;
    timestamps.push(first_ts);
    let mut states = Vec::with_capacity(columns);
    for _ in 0..columns {
        let bits = r.read(64)?;
        values.push(f64::from_bits(bits));
        states.push(XorState::new(bits));
    }
    let (mut prev, mut prev_delta) = (first_ts, 0i64);
    for _ in 1..rows {
        let delta = prev_delta.wrapping_add(read_dod(&mut r)?);
        let ts = prev.wrapping_add(delta);
        timestamps.push(ts);
        (prev, prev_delta) = (ts, delta);
        for state in &mut states {
            values.push(f64::from_bits(state.decode(&mut r)?));
        }
    }
    r.finish()?;
    Ok(Decoded {
        timestamps,
        values,
        columns,
    })
}

/// Merges blocks with the same column count into one block sorted by timestamp.
/// Stable: rows with equal timestamps keep the order of `blocks`, then their
/// order within a block.
pub fn merge(blocks: &[Decoded]) -> Result<Decoded, CodecError> {
    let columns = blocks.first().ok_or(CodecError::NoBlocks)?.columns;
    for (block, b) in blocks.iter().enumerate() {
        let rows = b.timestamps.len();
        if !(1..=MAX_COLUMNS).contains(&b.columns)
            || rows.checked_mul(b.columns) != Some(b.values.len())
        {
            return Err(CodecError::BadShape {
                block,
                rows,
                values: b.values.len(),
                columns: b.columns,
            });
        }
        if b.columns != columns {
            return Err(CodecError::ColumnMismatch {
                block,
                expected: columns,
                found: b.columns,
            });
        }
    }
    let mut rows: Vec<(i64, &[f64])> = blocks
        .iter()
        .flat_map(|b| {
            b.timestamps
                .iter()
                .copied()
                .zip(b.values.chunks_exact(columns))
        })
        .collect();
    // Stable, and fast on a concatenation of sorted runs.
    rows.sort_by_key(|&(ts, _)| ts);
    let mut merged = Decoded {
        timestamps: Vec::with_capacity(rows.len()),
        values: Vec::with_capacity(rows.len() * columns),
        columns,
    };
    for (ts, row) in rows {
        merged.timestamps.push(ts);
        merged.values.extend_from_slice(row);
    }
    Ok(merged)
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    (z >> 1) as i64 ^ -((z & 1) as i64)
}

fn write_dod(w: &mut BitWriter, dod: i64) {
    let z = zigzag(dod);
    if z == 0 {
        w.write(0, 1);
        return;
    }
    let bucket = DOD_WIDTHS
        .iter()
        .position(|&width| width == 64 || z >> width == 0)
        .unwrap_or(DOD_WIDTHS.len() - 1);
    let ones = bucket as u32 + 1;
    if (ones as usize) < DOD_WIDTHS.len() {
        // `ones` one bits, then the terminating zero.
        w.write(((1 << ones) - 1) << 1, ones + 1);
    } else {
        w.write((1 << ones) - 1, ones);
    }
    w.write(z, DOD_WIDTHS[bucket]);
}

fn read_dod(r: &mut BitReader) -> Result<i64, CodecError> {
    let mut ones = 0;
    while ones < DOD_WIDTHS.len() && r.read(1)? == 1 {
        ones += 1;
    }
    match ones.checked_sub(1) {
        None => Ok(0),
        Some(bucket) => Ok(unzigzag(r.read(DOD_WIDTHS[bucket])?)),
    }
}

/// One column's XOR state: the previous value and the current window
/// (leading, trailing zero bits), if one was set.
struct XorState {
    prev: u64,
    window: Option<(u32, u32)>,
}

impl XorState {
    fn new(first: u64) -> Self {
        Self {
            prev: first,
            window: None,
        }
    }

    fn encode(&mut self, w: &mut BitWriter, bits: u64) {
        let xor = bits ^ self.prev;
        self.prev = bits;
        if xor == 0 {
            w.write(0, 1);
            return;
        }
        let leading = xor.leading_zeros().min(31);
        let trailing = xor.trailing_zeros();
        match self.window {
            Some((l, t)) if leading >= l && trailing >= t => {
                w.write(0b10, 2);
                w.write(xor >> t, 64 - l - t);
            }
            _ => {
                let length = 64 - leading - trailing;
                w.write(0b11, 2);
                w.write(u64::from(leading), 5);
                w.write(u64::from(length - 1), 6);
                w.write(xor >> trailing, length);
                self.window = Some((leading, trailing));
            }
        }
    }

    fn decode(&mut self, r: &mut BitReader) -> Result<u64, CodecError> {
        if r.read(1)? == 0 {
            return Ok(self.prev);
        }
        let (leading, trailing) = if r.read(1)? == 0 {
            self.window.ok_or(CodecError::XorWindowUnset)?
        } else {
            let leading = r.read(5)? as u32;
            let length = r.read(6)? as u32 + 1;
            if leading + length > 64 {
                return Err(CodecError::BadXorWindow { leading, length });
            }
            let window = (leading, 64 - leading - length);
            self.window = Some(window);
            window
        };
        // The window always holds at least one bit, so `trailing < 64`.
        self.prev ^= r.read(64 - leading - trailing)? << trailing;
        Ok(self.prev)
    }
}

fn write_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_varint(data: &[u8]) -> Result<(u64, &[u8]), CodecError> {
    let mut n = 0u64;
    for (i, &byte) in data.iter().enumerate() {
        // The tenth byte carries bit 63 only, and ends the varint.
        if i == 9 && byte > 1 {
            return Err(CodecError::BadRowCount);
        }
        n |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((n, data.get(i + 1..).unwrap_or_default()));
        }
    }
    Err(CodecError::Truncated)
}

/// Appends bits most significant first.
struct BitWriter {
    out: Vec<u8>,
    /// Bits already used in the partial byte, 0..8.
    used: u32,
    partial: u8,
}

impl BitWriter {
    fn with_capacity(bytes: usize) -> Self {
        Self {
            out: Vec::with_capacity(bytes),
            used: 0,
            partial: 0,
        }
    }

    /// Writes the low `width` (0..=64) bits of `value`.
    fn write(&mut self, value: u64, mut width: u32) {
        while width > 0 {
            let free = 8 - self.used;
            let take = free.min(width);
            let chunk = (value >> (width - take)) & ((1 << take) - 1);
            self.partial |= (chunk as u8) << (free - take);
            self.used += take;
            width -= take;
            if self.used == 8 {
                self.out.push(self.partial);
                (self.used, self.partial) = (0, 0);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.used > 0 {
            self.out.push(self.partial);
        }
        self.out
    }
}

/// Reads bits most significant first; running out is [`CodecError::Truncated`].
struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits; never beyond `data.len() * 8`.
    pos: usize,
}

impl BitReader<'_> {
    /// Reads `width` (0..=64) bits.
    fn read(&mut self, mut width: u32) -> Result<u64, CodecError> {
        if width as usize > self.data.len() * 8 - self.pos {
            return Err(CodecError::Truncated);
        }
        let mut out = 0u64;
        while width > 0 {
            let byte = *self.data.get(self.pos / 8).ok_or(CodecError::Truncated)?;
            let available = 8 - (self.pos % 8) as u32;
            let take = available.min(width);
            let chunk = (u32::from(byte) >> (available - take)) & ((1 << take) - 1);
            out = (out << take) | u64::from(chunk);
            self.pos += take as usize;
            width -= take;
        }
        Ok(out)
    }

    /// Checks that only zero padding is left.
    fn finish(mut self) -> Result<(), CodecError> {
        let padding = (8 - self.pos % 8) % 8;
        if self.read(padding as u32)? != 0 {
            return Err(CodecError::BadPadding);
        }
        match self.data.len() - self.pos / 8 {
            0 => Ok(()),
            bytes => Err(CodecError::Trailing { bytes }),
        }
    }
}

#[cfg(test)]
mod tests {
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
                    connections =
                        (connections + (lcg(&mut seed) % 7) as f64 - 3.0).clamp(10.0, 40.0);
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
}
