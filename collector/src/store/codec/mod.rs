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
mod tests;
