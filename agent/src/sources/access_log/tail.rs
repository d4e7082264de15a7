//! Reading the lines appended to a log file since the last read, across
//! rotation and truncation, with the position saved on disk.
//!
//! - The position is `(inode, offset)`: the offset is just past the last
//!   complete line handed out; a last line without its `\n` waits for the
//!   next read.
//! - Rotation (the path now names another inode): the old file stays open and
//!   is read to its end at every read until one read finds nothing new in
//!   it (a writer may keep appending to it until it reopens its log); the
//!   new file is read from offset 0.
//! - Truncation (the file is shorter than the offset): read again from 0.
//!   A file truncated and then refilled past the old offset between two
//!   reads cannot be told apart from appends (copytruncate's known race).
//! - State file `<state_dir>/<name>.offset`, text `inode offset\n`, written
//!   to a temporary file, fsynced and renamed over the old one after every
//!   read. At start: same inode → resume at the saved offset (0 when the
//!   file is now shorter); another inode → 0 (the remains of a file rotated
//!   while the agent was down are not read). With no state: the end of an
//!   existing file (its history is not replayed into the current interval),
//!   or 0 for a file that appears later.
//! - At most `max_bytes` are read per call; the rest waits for the next.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Read size; also the longest line: a longer one is handed out in pieces.
const CHUNK: usize = 64 * 1024;

/// Where reading resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub inode: u64,
    pub offset: u64,
}

impl Position {
    fn encode(self) -> String {
        format!("{} {}\n", self.inode, self.offset)
    }

    fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split_whitespace();
        let inode = parts.next()?.parse().ok()?;
        let offset = parts.next()?.parse().ok()?;
        Some(Self { inode, offset })
    }
}

/// Loads the saved position; `None` when there is none (or it is unreadable).
pub fn load(state: &Path) -> io::Result<Option<Position>> {
    match std::fs::read_to_string(state) {
        Ok(text) => Ok(Position::decode(&text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Saves `position` atomically (temporary file, fsync, rename).
pub fn save(state: &Path, position: Position) -> io::Result<()> {
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = state.with_extension("offset.tmp");
    let mut file = File::create(&temporary)?;
    file.write_all(position.encode().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, state)
}

struct Open {
    file: File,
    inode: u64,
    offset: u64,
}

impl Open {
    fn new(file: File, offset: u64) -> io::Result<Self> {
        let inode = file.metadata()?.ino();
        Ok(Self {
            file,
            inode,
            offset,
        })
    }

    /// Hands out complete lines from `offset` to the end (or `budget`);
    /// returns the bytes consumed.
    fn drain(&mut self, budget: &mut u64, on_line: &mut dyn FnMut(&[u8])) -> io::Result<u64> {
        if self.file.metadata()?.len() < self.offset {
            self.offset = 0;
        }
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut buffer = vec![0u8; CHUNK];
        let mut filled = 0;
        let mut consumed = 0;
        while *budget > 0 {
            let want = (buffer.len() - filled).min(usize::try_from(*budget).unwrap_or(usize::MAX));
            let read = self.file.read(&mut buffer[filled..filled + want.max(1)])?;
            if read == 0 {
                break;
            }
            filled += read;
            let mut start = 0;
            while let Some(newline) = buffer[start..filled].iter().position(|b| *b == b'\n') {
                on_line(&buffer[start..start + newline]);
                start += newline + 1;
            }
            if start == 0 && filled == buffer.len() {
                on_line(&buffer[..filled]);
                start = filled;
            }
            self.offset += start as u64;
            consumed += start as u64;
            *budget = budget.saturating_sub(start as u64);
            buffer.copy_within(start..filled, 0);
            filled -= start;
        }
        Ok(consumed)
    }
}

/// Follows one path.
pub struct Tailer {
    path: PathBuf,
    state: PathBuf,
    max_bytes: u64,
    /// Whether the saved position was loaded (at the first read).
    started: bool,
    /// Where to start the next file opened: resume point from the state.
    resume: Option<Position>,
    current: Option<Open>,
    /// A rotated file still being read to its end.
    rotated: Option<Open>,
}

impl Tailer {
    /// Follows `path`, keeping its position in `state`.
    pub fn new(path: PathBuf, state: PathBuf, max_bytes: u64) -> Self {
        Self {
            path,
            state,
            max_bytes,
            started: false,
            resume: None,
            current: None,
            rotated: None,
        }
    }

    /// The position of the file being followed.
    pub fn position(&self) -> Option<Position> {
        self.current.as_ref().map(|open| Position {
            inode: open.inode,
            offset: open.offset,
        })
    }

    /// Hands every complete new line to `on_line`, then saves the position.
    /// Fails when the path cannot be opened and no file is being followed.
    pub fn read(&mut self, on_line: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        if !self.started {
            let saved = load(&self.state)?;
            self.resume = Some(match saved {
                Some(position) => position,
                None => match std::fs::metadata(&self.path) {
                    Ok(meta) => Position {
                        inode: meta.ino(),
                        offset: meta.len(),
                    },
                    Err(_) => Position {
                        inode: 0,
                        offset: 0,
                    },
                },
            });
            self.started = true;
        }
        let mut budget = self.max_bytes;
        if let Some(rotated) = &mut self.rotated
            && rotated.drain(&mut budget, on_line)? == 0
        {
            self.rotated = None;
        }
        if let Some(current) = &mut self.current {
            current.drain(&mut budget, on_line)?;
        }
        match File::open(&self.path) {
            Ok(file) => {
                let inode = file.metadata()?.ino();
                if self
                    .current
                    .as_ref()
                    .is_some_and(|open| open.inode != inode)
                {
                    // Rotated: the old file was read to its end just above.
                    self.rotated = self.current.take();
                }
                if self.current.is_none() {
                    let offset = match self.resume.take() {
                        Some(position) if position.inode == inode => position.offset,
                        _ => 0,
                    };
                    let mut open = Open::new(file, offset)?;
                    open.drain(&mut budget, on_line)?;
                    self.current = Some(open);
                }
            }
            Err(error) if self.current.is_none() => return Err(error),
            // Gone (rotated, the new file not created yet): keep the old.
            Err(_) => {}
        }
        if let Some(position) = self.position() {
            save(&self.state, position)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        log: PathBuf,
        state: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("access.log");
        let state = dir.path().join("state").join("web.offset");
        Fixture {
            log,
            state,
            _dir: dir,
        }
    }

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open");
        file.write_all(text.as_bytes()).expect("write");
    }

    fn read(tailer: &mut Tailer) -> Vec<String> {
        let mut lines = Vec::new();
        tailer
            .read(&mut |line| lines.push(String::from_utf8_lossy(line).into_owned()))
            .expect("read");
        lines
    }

    #[test]
    fn starts_at_the_end_then_reads_appends_and_waits_for_partial_lines() {
        let f = fixture();
        append(&f.log, "old 1\nold 2\n");
        let mut tailer = Tailer::new(f.log.clone(), f.state.clone(), u64::MAX);
        assert!(read(&mut tailer).is_empty(), "history is not replayed");
        append(&f.log, "a\nb\npart");
        assert_eq!(read(&mut tailer), ["a", "b"]);
        assert!(read(&mut tailer).is_empty());
        append(&f.log, "ial\n");
        assert_eq!(read(&mut tailer), ["partial"]);
    }

    #[test]
    fn a_file_that_appears_later_is_read_from_its_start() {
        let f = fixture();
        let mut tailer = Tailer::new(f.log.clone(), f.state.clone(), u64::MAX);
        assert!(tailer.read(&mut |_| {}).is_err());
        append(&f.log, "first\n");
        assert_eq!(read(&mut tailer), ["first"]);
    }

    #[test]
    fn rotation_finishes_the_old_file_then_reads_the_new_one() {
        let f = fixture();
        append(&f.log, "");
        let mut tailer = Tailer::new(f.log.clone(), f.state.clone(), u64::MAX);
        read(&mut tailer);
        append(&f.log, "1\n2\n");
        let rotated = f.log.with_extension("log.1");
        std::fs::rename(&f.log, &rotated).expect("rename");
        append(&rotated, "3\n");
        // Renamed, the new file not yet there: the old one is still read.
        assert_eq!(read(&mut tailer), ["1", "2", "3"]);
        append(&rotated, "4\n");
        append(&f.log, "new 1\n");
        assert_eq!(read(&mut tailer), ["4", "new 1"]);
        // The writer still had the old file open.
        append(&rotated, "5\n");
        append(&f.log, "new 2\n");
        assert_eq!(read(&mut tailer), ["5", "new 2"]);
        assert!(read(&mut tailer).is_empty());
        assert!(tailer.rotated.is_none(), "closed after a quiet read");
    }

    #[test]
    fn truncation_restarts_at_zero() {
        let f = fixture();
        append(&f.log, "");
        let mut tailer = Tailer::new(f.log.clone(), f.state.clone(), u64::MAX);
        read(&mut tailer);
        append(&f.log, "a long line\nanother long line\n");
        assert_eq!(read(&mut tailer).len(), 2);
        File::create(&f.log).expect("truncate");
        append(&f.log, "short\n");
        assert_eq!(read(&mut tailer), ["short"]);
    }

    #[test]
    fn a_restart_resumes_from_the_saved_position() {
        let f = fixture();
        append(&f.log, "");
        let mut tailer = Tailer::new(f.log.clone(), f.state.clone(), u64::MAX);
        read(&mut tailer);
        append(&f.log, "a\nb\n");
        assert_eq!(read(&mut tailer), ["a", "b"]);
        let saved = load(&f.state).expect("load").expect("saved");
        assert_eq!(Some(saved), tailer.position());
        assert_eq!(saved.offset, 4);
        drop(tailer);
        append(&f.log, "c\n");
        let mut again = Tailer::new(f.log.clone(), f.state.clone(), u64::MAX);
        assert_eq!(read(&mut again), ["c"], "nothing re-read, nothing skipped");

        // Rotated while stopped: the new file from its start.
        drop(again);
        std::fs::rename(&f.log, f.log.with_extension("old")).expect("rename");
        append(&f.log, "d\n");
        let mut rotated = Tailer::new(f.log.clone(), f.state.clone(), u64::MAX);
        assert_eq!(read(&mut rotated), ["d"]);
    }

    #[test]
    fn state_round_trips_and_ignores_garbage() {
        let f = fixture();
        let position = Position {
            inode: 42,
            offset: 1 << 40,
        };
        save(&f.state, position).expect("save");
        assert_eq!(load(&f.state).expect("load"), Some(position));
        std::fs::write(&f.state, "nonsense").expect("write");
        assert_eq!(load(&f.state).expect("load"), None);
    }

    #[test]
    fn reads_are_bounded_and_continue_next_time() {
        let f = fixture();
        append(&f.log, "");
        let mut tailer = Tailer::new(f.log.clone(), f.state.clone(), 4);
        read(&mut tailer);
        append(&f.log, "aa\nbb\ncc\n");
        let first = read(&mut tailer);
        assert!(!first.is_empty() && first.len() < 3, "{first:?}");
        let mut all = first;
        all.extend(read(&mut tailer));
        all.extend(read(&mut tailer));
        assert_eq!(all, ["aa", "bb", "cc"]);
    }
}
