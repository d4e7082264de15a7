//! The agent's durable disk spool: sealed batches wait here, in sequence order, until the
//! collector acks them.
//!
//! # On-disk format
//! - `meta`: `b"HRSPOOL1" | u64 epoch`. The epoch is random, chosen when the directory is new.
//! - `ack`: `u64 acked | u64 last assigned seq | 3×u64 pending drops | u32 crc32c` (all LE).
//! - `lock`: holds an exclusive file lock while a `Spool` is open, so two agents never share one.
//! - `seg-<first seq, 20 digits>.log`: records back to back, each
//!   `u32 LE body length | u32 LE crc32c(body) | body`, where body =
//!   `u64 seq | u64 points | 3×u64 carried drop counts | payload` (LE). The carried drops are the
//!   ones handed to the batch when it was sealed, reported again if the record is dropped unacked.
//!
//! # Size cap, and what happens when full
//! Appends keep the segment files within `max_bytes` in total (a spool reopened with a smaller
//! cap shrinks at the next append). The active segment rolls when the next record would take it
//! past `clamp(max_bytes / 8, 4 KiB, 64 MiB)`. When a record does not fit, whole segments are
//! deleted, oldest first (the active one only when it is the last one left). Acked records go for
//! free; each unacked one is counted into `spool_full_batches`/`spool_full_points` together with
//! the drops it carried, and the next sealed batch reports them, so no drop is ever forgotten. A
//! record larger than `max_bytes` on its own is refused ([`SpoolError::TooLarge`]).
//!
//! # fsync policy
//! `append` writes the record and fsyncs the segment (and the directory when it creates or deletes
//! a segment) before returning the seq: an appended batch survives a crash. The `ack` file is
//! written tmp + rename without fsync: losing the latest ack only causes re-sends, which the
//! collector de-duplicates. It is fsynced only before deleting segments with unacked records or
//! the last segment, since it is then the only record of those drops and of the highest seq.
//!
//! # Crash recovery
//! `open` removes leftover `*.tmp` files and scans the segments in order. The first record that
//! runs past the end of its file, fails its crc or does not increase the seq starts a torn tail:
//! the segment is truncated there, and each record in the tail counts as a corrupt record and
//! (unless known to be acked) a `corrupt_batches` drop. The next seq is `max(highest seq on disk,
//! acked, last seq in the ack file) + 1`, so seqs never go backwards. Pending drops in the ack file
//! that a record newer than the file already carries are not counted twice.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const META_FILE: &str = "meta";
const ACK_FILE: &str = "ack";
const LOCK_FILE: &str = "lock";
const META_MAGIC: &[u8; 8] = b"HRSPOOL1";
const HEADER_LEN: usize = 8;
const BODY_FIXED_LEN: usize = 40;
const ACK_LEN: usize = 44;
const MIN_SEGMENT_BYTES: u64 = 4 << 10;
const MAX_SEGMENT_BYTES: u64 = 64 << 20;

/// Data the agent had to give up, reported to the collector by the next sealed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    pub spool_full_batches: u64,
    pub spool_full_points: u64,
    pub corrupt_batches: u64,
}

impl DropCounts {
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, other: DropCounts) {
        *self = self.zip(other, u64::saturating_add);
    }

    fn minus(self, other: DropCounts) -> DropCounts {
        self.zip(other, u64::saturating_sub)
    }

    fn fields(self) -> [u64; 3] {
        [
            self.spool_full_batches,
            self.spool_full_points,
            self.corrupt_batches,
        ]
    }

    fn from_fields([spool_full_batches, spool_full_points, corrupt_batches]: [u64; 3]) -> Self {
        Self {
            spool_full_batches,
            spool_full_points,
            corrupt_batches,
        }
    }

    fn zip(self, other: DropCounts, f: fn(u64, u64) -> u64) -> DropCounts {
        let (a, b) = (self.fields(), other.fields());
        Self::from_fields([0, 1, 2].map(|i| f(a[i], b[i])))
    }

    fn decode(b: &[u8]) -> DropCounts {
        Self::from_fields([0, 8, 16].map(|at| le_u64(b, at)))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool I/O on {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("batch of {bytes} bytes is larger than the whole spool ({max} bytes)")]
    TooLarge { bytes: u64, max: u64 },
    #[error("spool directory {} is in use by another process", path.display())]
    Locked { path: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// What `open` found: intact records kept, corrupt/torn records discarded, bytes truncated.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    pub records: u64,
    pub corrupt_records: u64,
    pub truncated_bytes: u64,
}

/// Where one record lives, and what must be counted if it is dropped unacked.
#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    offset: u64,
    len: u64,
    points: u64,
    carried: DropCounts,
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    size: u64,
    entries: Vec<Entry>,
}

impl Segment {
    fn last_seq(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.seq)
    }
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    epoch: u64,
    acked: u64,
    last_seq: u64,
    drops: DropCounts,
    bytes: u64,
    /// Oldest first; the last one is the active segment appends go to.
    segments: VecDeque<Segment>,
    _lock: File,
}

impl Spool {
    /// Opens (creating if needed) the spool directory and recovers what it holds. Generates and
    /// persists a random `epoch` when the directory is new.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<(Spool, Recovery), SpoolError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = lock_dir(dir)?;
        let mut paths = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let path = entry.map_err(io_err(dir))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(".tmp") {
                fs::remove_file(&path).map_err(io_err(&path))?;
            } else if let Some(first_seq) = parse_segment_name(name) {
                paths.push((first_seq, path));
            }
        }
        paths.sort();
        let epoch = read_or_create_epoch(dir)?;
        let (acked, file_last_seq, file_drops) = read_ack_file(dir);

        let mut scan = Scan {
            acked,
            file_last_seq,
            ..Scan::default()
        };
        let mut segments = VecDeque::new();
        for (_, path) in paths {
            let buf = fs::read(&path).map_err(io_err(&path))?;
            let (entries, valid) = scan.segment(&buf);
            if entries.is_empty() {
                fs::remove_file(&path).map_err(io_err(&path))?;
                continue;
            }
            if valid < buf.len() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                let truncate = file.set_len(valid as u64).and_then(|()| file.sync_all());
                truncate.map_err(io_err(&path))?;
            }
            segments.push_back(Segment {
                path,
                size: valid as u64,
                entries,
            });
        }
        sync_dir(dir)?;
        let mut drops = file_drops.minus(scan.consumed);
        drops.add(scan.drops);
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segment_bytes: (max_bytes / 8).clamp(MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES),
            epoch,
            acked,
            last_seq: file_last_seq.max(acked).max(scan.max_seq),
            drops,
            bytes: segments.iter().map(|s| s.size).sum(),
            segments,
            _lock: lock,
        };
        spool.persist_and_remove_acked()?;
        let Scan { recovery, .. } = scan;
        if recovery.corrupt_records > 0 {
            tracing::error!(
                spool = %dir.display(),
                corrupt_records = recovery.corrupt_records,
                truncated_bytes = recovery.truncated_bytes,
                "spool held torn or corrupt records; they were discarded"
            );
        }
        let pending = spool.pending();
        tracing::info!(spool = %dir.display(), epoch, pending, "spool opened");
        Ok((spool, recovery))
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Seals one batch. `build(seq, drops)` gets the seq assigned to it and the drops accumulated
    /// since the previous sealed batch, which the record then carries. `points` is how many data
    /// points the payload holds. Room is made by deleting the oldest segments; unacked records
    /// lost that way are handed to the next `build`. A record larger than `max_bytes` on its own
    /// is refused and nothing changes.
    pub fn append(
        &mut self,
        points: u64,
        build: impl FnOnce(u64, DropCounts) -> Vec<u8>,
    ) -> Result<u64, SpoolError> {
        let seq = self.last_seq + 1;
        let carried = self.drops;
        let payload = build(seq, carried);
        let len = (HEADER_LEN + BODY_FIXED_LEN + payload.len()) as u64;
        if len > self.max_bytes || BODY_FIXED_LEN + payload.len() > u32::MAX as usize {
            return Err(SpoolError::TooLarge {
                bytes: len,
                max: self.max_bytes,
            });
        }
        self.make_room(len)?;
        let seg = match self.segments.back_mut() {
            Some(seg) if seg.size == 0 || seg.size + len <= self.segment_bytes => seg,
            _ => self.create_segment(seq)?,
        };
        let mut file = OpenOptions::new()
            .append(true)
            .open(&seg.path)
            .map_err(io_err(&seg.path))?;
        let record = encode_record(seq, points, carried, &payload);
        if let Err(source) = file.write_all(&record).and_then(|()| file.sync_data()) {
            if let Err(error) = file.set_len(seg.size) {
                let path = seg.path.display();
                tracing::warn!(path = %path, error = %error, "could not undo partial spool write");
            }
            return Err(io_err(&seg.path)(source));
        }
        seg.entries.push(Entry {
            seq,
            offset: seg.size,
            len,
            points,
            carried,
        });
        seg.size += len;
        self.bytes += len;
        self.last_seq = seq;
        self.drops = self.drops.minus(carried);
        self.persist_best_effort();
        Ok(seq)
    }

    /// Adds drops observed elsewhere (e.g. a full in-memory queue) so the next sealed batch
    /// reports them.
    pub fn add_drops(&mut self, drops: DropCounts) {
        if !drops.is_zero() {
            self.drops.add(drops);
            self.persist_best_effort();
        }
    }

    /// The next unacked record with seq >= `from`, if any, read from disk. A record that no
    /// longer passes its checksum is skipped and counted as a corrupt batch.
    pub fn read_from(&mut self, from: u64) -> Result<Option<Record>, SpoolError> {
        let mut from = from.max(self.acked + 1);
        loop {
            let found = self.segments.iter_mut().find_map(|seg| {
                let i = seg.entries.partition_point(|e| e.seq < from);
                (i < seg.entries.len()).then_some((seg, i))
            });
            let Some((seg, i)) = found else {
                return Ok(None);
            };
            let entry = seg.entries[i];
            let mut buf = vec![0; entry.len as usize];
            let mut file = File::open(&seg.path).map_err(io_err(&seg.path))?;
            file.seek(SeekFrom::Start(entry.offset))
                .and_then(|_| file.read_exact(&mut buf))
                .map_err(io_err(&seg.path))?;
            if matches!(decode_record(&buf, 0), Ok(d) if d.seq == entry.seq) {
                let payload = buf.split_off(HEADER_LEN + BODY_FIXED_LEN);
                return Ok(Some(Record {
                    seq: entry.seq,
                    payload,
                }));
            }
            let (path, seq) = (seg.path.display(), entry.seq);
            tracing::error!(path = %path, seq, "spooled batch failed its checksum; skipped");
            seg.entries.remove(i);
            self.drops.corrupt_batches += 1;
            self.drops.add(entry.carried);
            self.persist_best_effort();
            from = entry.seq + 1;
        }
    }

    /// Everything <= `seq` is acknowledged; deletes the segments holding only acked records.
    /// Repeated or out-of-date acks are ignored; acks past the last seq are capped to it.
    pub fn ack(&mut self, seq: u64) -> Result<(), SpoolError> {
        let seq = seq.min(self.last_seq);
        if seq <= self.acked {
            return Ok(());
        }
        self.acked = seq;
        self.persist_and_remove_acked()
    }

    /// Highest acked seq.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Highest assigned seq (0 if none ever).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Number of unacked records on disk.
    pub fn pending(&self) -> u64 {
        let unacked =
            |s: &Segment| s.entries.len() - s.entries.partition_point(|e| e.seq <= self.acked);
        self.segments.iter().map(unacked).sum::<usize>() as u64
    }

    /// Bytes on disk in segment files.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Drops accumulated and not yet handed to a batch.
    pub fn pending_drops(&self) -> DropCounts {
        self.drops
    }

    /// Deletes the oldest segments until `len` more bytes fit, counting unacked records lost.
    fn make_room(&mut self, len: u64) -> Result<(), SpoolError> {
        let (mut kept, mut n, mut lost) = (self.bytes, 0, DropCounts::default());
        while kept + len > self.max_bytes && n < self.segments.len() {
            for e in self.segments[n]
                .entries
                .iter()
                .filter(|e| e.seq > self.acked)
            {
                lost.add(DropCounts {
                    spool_full_batches: 1,
                    spool_full_points: e.points,
                    corrupt_batches: 0,
                });
                lost.add(e.carried);
            }
            kept -= self.segments[n].size;
            n += 1;
        }
        if n == 0 {
            return Ok(());
        }
        let before = self.drops;
        self.drops.add(lost);
        if let Err(error) = self.write_ack_file(true) {
            self.drops = before;
            return Err(error);
        }
        if lost.spool_full_batches > 0 {
            tracing::error!(
                spool = %self.dir.display(),
                batches = lost.spool_full_batches,
                points = lost.spool_full_points,
                "spool full: dropped the oldest unsent batches"
            );
        }
        self.remove_front(n)
    }

    /// Writes the ack file, then deletes the segments holding only acked records. The ack file is
    /// made durable first when no segment would be left to show the highest seq.
    fn persist_and_remove_acked(&mut self) -> Result<(), SpoolError> {
        let n = self
            .segments
            .iter()
            .take_while(|s| s.last_seq() <= self.acked)
            .count();
        self.write_ack_file(n > 0 && n == self.segments.len())?;
        self.remove_front(n)
    }

    fn remove_front(&mut self, n: usize) -> Result<(), SpoolError> {
        for _ in 0..n {
            let Some(seg) = self.segments.front() else {
                break;
            };
            match fs::remove_file(&seg.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&seg.path)(e)),
                _ => {}
            }
            self.bytes -= seg.size;
            self.segments.pop_front();
        }
        if n > 0 { sync_dir(&self.dir) } else { Ok(()) }
    }

    fn create_segment(&mut self, first_seq: u64) -> Result<&mut Segment, SpoolError> {
        let path = self.dir.join(format!("seg-{first_seq:020}.log"));
        let mut options = OpenOptions::new();
        options
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err(&path))?;
        sync_dir(&self.dir)?;
        self.segments.push_back(Segment {
            path,
            size: 0,
            entries: Vec::new(),
        });
        let last = self.segments.len() - 1;
        Ok(&mut self.segments[last])
    }

    fn write_ack_file(&self, durable: bool) -> Result<(), SpoolError> {
        let mut buf = Vec::with_capacity(ACK_LEN);
        put_u64s(&mut buf, &[self.acked, self.last_seq]);
        put_u64s(&mut buf, &self.drops.fields());
        buf.extend_from_slice(&crc32c::crc32c(&buf).to_le_bytes());
        write_atomic(&self.dir, ACK_FILE, &buf, durable)
    }

    /// Rewrites the ack file when failing loses nothing yet: the next write catches up, and
    /// recovery tells from the segments which drops a record already carries.
    fn persist_best_effort(&self) {
        if let Err(error) = self.write_ack_file(false) {
            tracing::warn!(error = %error, "could not update the spool ack file");
        }
    }
}

/// Recovery state while scanning segments in order.
#[derive(Default)]
struct Scan {
    acked: u64,
    file_last_seq: u64,
    max_seq: u64,
    /// Drops carried by records newer than the ack file: they hold its pending drops.
    consumed: DropCounts,
    /// Drops found in discarded tails.
    drops: DropCounts,
    recovery: Recovery,
}

impl Scan {
    /// Indexes one segment's intact records; returns them and the length of the intact prefix.
    fn segment(&mut self, buf: &[u8]) -> (Vec<Entry>, usize) {
        let (mut entries, mut pos) = (Vec::new(), 0);
        while let Ok(d) = decode_record(buf, pos) {
            if d.seq <= self.max_seq {
                break;
            }
            self.seen(&d);
            let (offset, len) = (pos as u64, d.len as u64);
            entries.push(Entry {
                seq: d.seq,
                offset,
                len,
                points: d.points,
                carried: d.carried,
            });
            pos += d.len;
        }
        let valid = pos;
        self.recovery.records += entries.len() as u64;
        self.recovery.truncated_bytes += (buf.len() - valid) as u64;
        while pos < buf.len() {
            self.recovery.corrupt_records += 1;
            match decode_record(buf, pos) {
                Ok(d) => {
                    self.seen(&d);
                    if d.seq > self.acked {
                        self.drops.corrupt_batches += 1;
                        self.drops.add(d.carried);
                    }
                    pos += d.len;
                }
                Err(tear) => {
                    self.drops.corrupt_batches += 1;
                    match tear {
                        Tear::BadCrc(len) => pos += len,
                        Tear::Short => break,
                    }
                }
            }
        }
        (entries, valid)
    }

    fn seen(&mut self, d: &Decoded) {
        if d.seq > self.file_last_seq {
            self.consumed.add(d.carried);
        }
        self.max_seq = self.max_seq.max(d.seq);
    }
}

struct Decoded {
    seq: u64,
    points: u64,
    carried: DropCounts,
    /// Header + body.
    len: usize,
}

enum Tear {
    /// The header or body runs past the end of the file, or the length is impossible.
    Short,
    /// A plausible record (header + body length) whose checksum fails.
    BadCrc(usize),
}

fn encode_record(seq: u64, points: u64, carried: DropCounts, payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEADER_LEN + BODY_FIXED_LEN + payload.len());
    buf.extend_from_slice(&[0; HEADER_LEN]);
    put_u64s(&mut buf, &[seq, points]);
    put_u64s(&mut buf, &carried.fields());
    buf.extend_from_slice(payload);
    let body_len = (buf.len() - HEADER_LEN) as u32;
    let crc = crc32c::crc32c(&buf[HEADER_LEN..]);
    buf[..4].copy_from_slice(&body_len.to_le_bytes());
    buf[4..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    buf
}

fn decode_record(buf: &[u8], pos: usize) -> Result<Decoded, Tear> {
    let rest = &buf[pos.min(buf.len())..];
    if rest.len() < HEADER_LEN {
        return Err(Tear::Short);
    }
    let len = HEADER_LEN + le_u32(rest, 0) as usize;
    if len < HEADER_LEN + BODY_FIXED_LEN || rest.len() < len {
        return Err(Tear::Short);
    }
    let body = &rest[HEADER_LEN..len];
    if crc32c::crc32c(body) != le_u32(rest, 4) {
        return Err(Tear::BadCrc(len));
    }
    let (seq, points, carried) = (
        le_u64(body, 0),
        le_u64(body, 8),
        DropCounts::decode(&body[16..]),
    );
    Ok(Decoded {
        seq,
        points,
        carried,
        len,
    })
}

fn put_u64s(buf: &mut Vec<u8>, values: &[u64]) {
    values
        .iter()
        .for_each(|v| buf.extend_from_slice(&v.to_le_bytes()));
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    let well_formed = digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit());
    well_formed.then(|| digits.parse().ok()).flatten()
}

fn lock_dir(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join(LOCK_FILE);
    let mut options = OpenOptions::new();
    let file = options
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    // A lock can outlive its owner by a moment: an agent restarted while the
    // old process exits, or a child forked by another thread holding the
    // descriptor until its exec. Retry briefly before calling it taken.
    let mut attempts = 0;
    loop {
        match file.try_lock() {
            Err(TryLockError::WouldBlock) if attempts < LOCK_ATTEMPTS => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            result => break lock_result(result, file, dir, &path),
        }
    }
}

/// Attempts at the spool's lock, 50 ms apart, before [`SpoolError::Locked`].
const LOCK_ATTEMPTS: u32 = 40;

fn lock_result(
    result: Result<(), TryLockError>,
    file: File,
    dir: &Path,
    path: &Path,
) -> Result<File, SpoolError> {
    match result {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(SpoolError::Locked {
            path: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
            tracing::warn!(spool = %dir.display(), "file locks unsupported; spool not guarded");
            Ok(file)
        }
        Err(TryLockError::Error(e)) => Err(io_err(path)(e)),
    }
}

fn read_or_create_epoch(dir: &Path) -> Result<u64, SpoolError> {
    let path = dir.join(META_FILE);
    match fs::read(&path) {
        Ok(b) if b.len() == 16 && b.starts_with(META_MAGIC) => return Ok(le_u64(&b, 8)),
        Ok(_) => tracing::warn!(path = %path.display(), "unreadable spool meta; new epoch"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(&path)(e)),
    }
    let epoch = rand::random::<u64>();
    let mut buf = META_MAGIC.to_vec();
    put_u64s(&mut buf, &[epoch]);
    write_atomic(dir, META_FILE, &buf, true)?;
    Ok(epoch)
}

/// Reads `(acked, last seq, pending drops)`; a missing or damaged file reads as a new spool.
fn read_ack_file(dir: &Path) -> (u64, u64, DropCounts) {
    let path = dir.join(ACK_FILE);
    match fs::read(&path) {
        Ok(b) if b.len() == ACK_LEN && crc32c::crc32c(&b[..40]) == le_u32(&b, 40) => {
            (le_u64(&b, 0), le_u64(&b, 8), DropCounts::decode(&b[16..]))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => (0, 0, DropCounts::default()),
        _ => {
            let path = path.display();
            tracing::warn!(path = %path, "unreadable spool ack file; batches may be re-sent");
            (0, 0, DropCounts::default())
        }
    }
}

fn write_atomic(dir: &Path, name: &str, data: &[u8], durable: bool) -> Result<(), SpoolError> {
    let (tmp, path) = (dir.join(format!("{name}.tmp")), dir.join(name));
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(data).map_err(io_err(&tmp))?;
    if durable {
        file.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    if durable { sync_dir(dir) } else { Ok(()) }
}

fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests;
