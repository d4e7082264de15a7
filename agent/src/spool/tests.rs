//! Spool tests: a property test against an in-memory model, torn and
//! corrupt tails, a SIGKILL mid-write, a full spool, acks and reopen.

use super::*;
use proptest::prelude::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RECORD_OVERHEAD: usize = HEADER_LEN + BODY_FIXED_LEN;

fn payload(seq: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let names = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name());
    let segs = names.filter(|n| n.to_str().and_then(parse_segment_name).is_some());
    let mut files: Vec<PathBuf> = segs.map(|n| dir.join(n)).collect();
    files.sort();
    files
}

fn disk_bytes(dir: &Path) -> u64 {
    segment_files(dir)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

fn all_pending(spool: &mut Spool) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    while let Some(r) = spool
        .read_from(out.last().map_or(0, |r| r.seq + 1))
        .unwrap()
    {
        out.push(r);
    }
    out
}

/// Appends a record of `len + RECORD_OVERHEAD` bytes; returns its seq and the drops handed
/// to `build`.
fn append(spool: &mut Spool, points: u64, len: usize) -> (u64, DropCounts) {
    let mut handed = None;
    let build = |seq, drops| {
        handed = Some(drops);
        payload(seq, len)
    };
    let seq = spool.append(points, build).unwrap();
    (seq, handed.unwrap())
}

#[derive(Debug)]
struct ModelRecord {
    seq: u64,
    size: u64,
    points: u64,
    carried: DropCounts,
}

/// The spool's retention policy restated over record sizes.
#[derive(Debug, Default)]
struct Model {
    max_bytes: u64,
    segs: VecDeque<Vec<ModelRecord>>,
    acked: u64,
    last_seq: u64,
    dropped: DropCounts,
    /// Drops carried by batches that were acked, i.e. reached the collector.
    delivered: DropCounts,
}

impl Model {
    fn bytes(&self) -> u64 {
        self.segs.iter().flatten().map(|r| r.size).sum()
    }

    fn pending(&self) -> Vec<&ModelRecord> {
        self.segs
            .iter()
            .flatten()
            .filter(|r| r.seq > self.acked)
            .collect()
    }

    fn append(&mut self, size: u64, points: u64, carried: DropCounts) -> u64 {
        while self.bytes() + size > self.max_bytes {
            for r in self
                .segs
                .pop_front()
                .unwrap()
                .iter()
                .filter(|r| r.seq > self.acked)
            {
                self.dropped.spool_full_batches += 1;
                self.dropped.spool_full_points += r.points;
            }
        }
        let seg_bytes = (self.max_bytes / 8).clamp(4096, 64 << 20);
        let fits = |s: &Vec<ModelRecord>| s.iter().map(|r| r.size).sum::<u64>() + size <= seg_bytes;
        if !self.segs.back().is_some_and(fits) {
            self.segs.push_back(Vec::new());
        }
        self.last_seq += 1;
        let record = ModelRecord {
            seq: self.last_seq,
            size,
            points,
            carried,
        };
        self.segs.back_mut().unwrap().push(record);
        self.last_seq
    }

    fn ack(&mut self, seq: u64) {
        let seq = seq.min(self.last_seq).max(self.acked);
        for r in self
            .segs
            .iter()
            .flatten()
            .filter(|r| r.seq > self.acked && r.seq <= seq)
        {
            self.delivered.add(r.carried);
        }
        self.acked = seq;
        while self
            .segs
            .front()
            .is_some_and(|s| s.last().unwrap().seq <= seq)
        {
            self.segs.pop_front();
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Append {
        len: usize,
        points: u64,
    },
    /// Acks `last_seq + 2 - back`: sometimes past the end, sometimes repeated or stale.
    Ack {
        back: u64,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..3000, 0u64..100).prop_map(|(len, points)| Op::Append { len, points }),
        2 => (0u64..12).prop_map(|back| Op::Ack { back }),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn spool_matches_model_across_reopens(
        max_bytes in 3000u64..60_000,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = Spool::open(dir.path(), max_bytes).unwrap();
        let epoch = spool.epoch();
        let mut model = Model { max_bytes, ..Model::default() };
        for op in ops.into_iter().chain([Op::Reopen]) {
            match op {
                Op::Append { len, points } => {
                    let size = (len + RECORD_OVERHEAD) as u64;
                    if size > max_bytes {
                        let err = spool.append(points, |seq, _| payload(seq, len)).unwrap_err();
                        prop_assert!(matches!(err, SpoolError::TooLarge { .. }), "{}", err);
                    } else {
                        let (seq, carried) = append(&mut spool, points, len);
                        prop_assert_eq!(seq, model.append(size, points, carried));
                    }
                }
                Op::Ack { back } => {
                    let seq = (model.last_seq + 2).saturating_sub(back);
                    spool.ack(seq).unwrap();
                    model.ack(seq);
                }
                Op::Reopen => {
                    let drops = spool.pending_drops();
                    drop(spool);
                    let (reopened, recovery) = Spool::open(dir.path(), max_bytes).unwrap();
                    spool = reopened;
                    prop_assert_eq!(recovery.corrupt_records, 0);
                    let on_disk = model.segs.iter().flatten().count() as u64;
                    prop_assert_eq!(recovery.records, on_disk);
                    prop_assert_eq!((spool.epoch(), spool.pending_drops()), (epoch, drops));
                    let got = all_pending(&mut spool);
                    let want = model.pending();
                    prop_assert_eq!(got.len(), want.len());
                    for (got, want) in got.iter().zip(want) {
                        prop_assert_eq!(got.seq, want.seq);
                        let len = want.size as usize - RECORD_OVERHEAD;
                        prop_assert_eq!(&got.payload, &payload(want.seq, len));
                    }
                }
            }
            prop_assert_eq!((spool.last_seq(), spool.acked()), (model.last_seq, model.acked));
            prop_assert_eq!(spool.pending(), model.pending().len() as u64);
            prop_assert_eq!(spool.bytes(), model.bytes());
            prop_assert_eq!(disk_bytes(dir.path()), model.bytes());
            prop_assert!(spool.bytes() <= max_bytes);
            // Each dropped batch is reported exactly once: by an acked batch, a pending one,
            // or (still pending) by the next one.
            let mut reported = model.delivered;
            model.pending().iter().for_each(|r| reported.add(r.carried));
            reported.add(spool.pending_drops());
            prop_assert_eq!(reported, model.dropped);
        }
    }
}

fn reopen_after_damage(damage: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    for _ in 0..3 {
        append(&mut spool, 1, 100);
    }
    drop(spool);
    damage(segment_files(dir.path()).last().unwrap());
    let (mut spool, recovery) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((recovery.records, recovery.corrupt_records), (2, 1));
    assert!(recovery.truncated_bytes > 0);
    assert_eq!(spool.pending_drops(), DropCounts::from_fields([0, 0, 1]));
    let seqs: Vec<u64> = all_pending(&mut spool).iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(disk_bytes(dir.path()), 2 * (100 + RECORD_OVERHEAD) as u64);
    let (seq, handed) = append(&mut spool, 1, 100);
    assert!(seq > 3, "seq {seq} reused");
    assert_eq!(handed, DropCounts::from_fields([0, 0, 1]));
    drop(spool);
    let (mut spool, recovery) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((recovery.records, recovery.corrupt_records), (3, 0));
    assert!(spool.pending_drops().is_zero());
    assert_eq!(all_pending(&mut spool)[2].payload, payload(seq, 100));
}

#[test]
fn truncated_last_record_is_discarded_on_reopen() {
    reopen_after_damage(|path| {
        let file = OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(file.metadata().unwrap().len() - 5).unwrap();
    });
}

#[test]
fn corrupted_last_record_is_discarded_on_reopen() {
    reopen_after_damage(|path| {
        let mut bytes = fs::read(path).unwrap();
        *bytes.last_mut().unwrap() ^= 0x40;
        fs::write(path, bytes).unwrap();
    });
}

const CHILD_DIR_ENV: &str = "HEADROOM_SPOOL_TEST_CHILD_DIR";

/// Payloads of up to 4 MiB, so that a kill can land in the middle of writing one.
fn kill_test_payload(seq: u64) -> Vec<u8> {
    let len = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (4 << 20);
    let mut payload = vec![seq as u8; len as usize];
    payload.extend_from_slice(&seq.to_le_bytes());
    payload
}

/// Does nothing unless run as the child of `records_survive_kill_mid_write`: then appends
/// until killed.
#[test]
fn child_append_loop() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let (mut spool, _) = Spool::open(Path::new(&dir), 64 << 20).unwrap();
    loop {
        spool.append(1, |seq, _| kill_test_payload(seq)).unwrap();
    }
}

#[test]
fn records_survive_kill_mid_write() {
    let dir = tempfile::tempdir().unwrap();
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, m)| m);
    let child_test = format!("{module}::child_append_loop");
    let mut last_seq = 0;
    for round in 1..=4 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([&child_test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let the child roll a few segments, so it is mid-stream when killed.
        let deadline = Instant::now() + Duration::from_secs(60);
        while segment_files(dir.path()).len() < round + 2 {
            assert!(child.try_wait().unwrap().is_none(), "child exited early");
            assert!(Instant::now() < deadline, "child made no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        child.wait().unwrap();

        let (mut spool, recovery) = Spool::open(dir.path(), 64 << 20).unwrap();
        assert!(recovery.corrupt_records <= 1, "{recovery:?}");
        let records = all_pending(&mut spool);
        for pair in records.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1, "seqs must be contiguous");
        }
        for r in &records {
            assert!(
                r.payload == kill_test_payload(r.seq),
                "record {} damaged",
                r.seq
            );
        }
        assert_eq!(records.last().unwrap().seq, spool.last_seq());
        assert!(spool.last_seq() > last_seq);
        last_seq = spool.last_seq();
    }
}

#[test]
fn full_spool_drops_oldest_and_reports_them_once() {
    let dir = tempfile::tempdir().unwrap();
    // 16 KiB cap, 4 KiB segments, 1000-byte records: 4 per segment, 16 fit.
    let (mut spool, _) = Spool::open(dir.path(), 16 << 10).unwrap();
    for _ in 0..16 {
        assert!(append(&mut spool, 10, 952).1.is_zero());
    }
    assert!(spool.pending_drops().is_zero());
    assert_eq!(append(&mut spool, 10, 952), (17, DropCounts::default()));
    let lost = DropCounts::from_fields([4, 40, 0]);
    assert_eq!(spool.pending_drops(), lost);
    assert_eq!(spool.read_from(0).unwrap().unwrap().seq, 5);
    assert_eq!(spool.pending(), 13);

    drop(spool);
    let (mut spool, _) = Spool::open(dir.path(), 16 << 10).unwrap();
    assert_eq!(spool.pending_drops(), lost);
    assert_eq!(append(&mut spool, 10, 952).1, lost);
    assert!(spool.pending_drops().is_zero());
    assert!(append(&mut spool, 10, 952).1.is_zero());

    // Batches that carried drops get dropped too; what they carried is reported again.
    for _ in 0..100 {
        append(&mut spool, 10, 952);
    }
    let dropped = spool.read_from(0).unwrap().unwrap().seq - 1;
    let mut reported = spool.pending_drops();
    spool
        .segments
        .iter()
        .flat_map(|s| &s.entries)
        .for_each(|e| reported.add(e.carried));
    assert_eq!(
        reported,
        DropCounts::from_fields([dropped, 10 * dropped, 0])
    );
    assert!(spool.bytes() <= 16 << 10);
}

#[test]
fn oversized_record_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(dir.path(), 16 << 10).unwrap();
    append(&mut spool, 1, 100);
    spool.add_drops(DropCounts::from_fields([0, 0, 2]));
    let err = spool.append(1, |_, _| vec![0; 16 << 10]).unwrap_err();
    assert!(
        matches!(err, SpoolError::TooLarge { max: 16384, .. }),
        "{err}"
    );
    assert_eq!((spool.last_seq(), spool.pending()), (1, 1));
    assert_eq!(spool.pending_drops(), DropCounts::from_fields([0, 0, 2]));
}

#[test]
fn ack_deletes_acked_segments_and_seq_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // 64 KiB cap, 8 KiB segments, 1000-byte records: 8 per segment.
    let (mut spool, _) = Spool::open(dir.path(), 64 << 10).unwrap();
    for _ in 0..20 {
        append(&mut spool, 1, 952);
    }
    assert_eq!(segment_files(dir.path()).len(), 3);
    spool.ack(10).unwrap();
    assert_eq!(segment_files(dir.path()).len(), 2);
    assert_eq!(spool.read_from(0).unwrap().unwrap().seq, 11);
    assert_eq!(spool.read_from(14).unwrap().unwrap().seq, 14);
    spool.ack(5).unwrap();
    assert_eq!((spool.acked(), spool.pending()), (10, 10));
    assert_eq!(spool.bytes(), disk_bytes(dir.path()));

    drop(spool);
    let (mut spool, _) = Spool::open(dir.path(), 64 << 10).unwrap();
    assert_eq!((spool.acked(), spool.pending()), (10, 10));
    spool.ack(100).unwrap();
    assert_eq!(spool.acked(), 20);
    assert!(segment_files(dir.path()).is_empty());
    assert_eq!((spool.bytes(), spool.pending()), (0, 0));
    assert!(spool.read_from(0).unwrap().is_none());

    drop(spool);
    let (mut spool, recovery) = Spool::open(dir.path(), 64 << 10).unwrap();
    assert_eq!(recovery.records, 0);
    assert_eq!((spool.last_seq(), spool.acked()), (20, 20));
    assert_eq!(append(&mut spool, 1, 10).0, 21);
    assert_eq!(spool.read_from(0).unwrap().unwrap().seq, 21);
}

#[test]
fn added_drops_survive_reopen_until_a_batch_carries_them() {
    let dir = tempfile::tempdir().unwrap();
    let drops = DropCounts::from_fields([3, 30, 1]);
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    let epoch = spool.epoch();
    spool.add_drops(drops);
    drop(spool);
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((spool.epoch(), spool.pending_drops()), (epoch, drops));
    assert_eq!(append(&mut spool, 1, 10).1, drops);
    drop(spool);
    let (spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert!(spool.pending_drops().is_zero());
}

#[test]
fn drops_carried_by_a_record_are_not_reported_twice_after_a_crash() {
    // A crash between fsyncing a record and rewriting the ack file leaves the drops that the
    // record carries pending in the ack file.
    let dir = tempfile::tempdir().unwrap();
    let drops = DropCounts::from_fields([2, 7, 0]);
    let (mut spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    spool.add_drops(drops);
    let stale = fs::read(dir.path().join(ACK_FILE)).unwrap();
    assert_eq!(append(&mut spool, 1, 10).1, drops);
    drop(spool);
    fs::write(dir.path().join(ACK_FILE), stale).unwrap();
    let (spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert!(spool.pending_drops().is_zero());
    assert_eq!(spool.last_seq(), 1);
}

#[test]
fn second_open_of_a_spool_in_use_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (_spool, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    let err = Spool::open(dir.path(), 1 << 20).unwrap_err();
    assert!(matches!(err, SpoolError::Locked { .. }), "{err}");
}
