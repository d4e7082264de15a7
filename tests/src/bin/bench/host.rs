//! Facts from /proc and the machine: CPU time of the collector, of this
//! process, of PostgreSQL and of the whole machine; RSS; file sizes; and the
//! machine description for the summary.

use std::path::Path;
use std::process::Command;

/// Cumulative CPU time in clock ticks.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    collector: u64,
    bench: u64,
    postgres: u64,
    machine: u64,
}

impl Cpu {
    pub fn now(collector_pid: u32) -> Self {
        Self {
            collector: process_ticks(&format!("/proc/{collector_pid}/stat"), false).unwrap_or(0),
            bench: process_ticks("/proc/self/stat", false).unwrap_or(0),
            postgres: postgres_ticks(),
            machine: machine_busy_ticks(),
        }
    }

    /// Seconds used since `earlier`.
    pub fn since(self, earlier: Self, tick: f64) -> CpuSeconds {
        let s = |now: u64, then: u64| now.saturating_sub(then) as f64 / tick;
        CpuSeconds {
            collector: s(self.collector, earlier.collector),
            bench: s(self.bench, earlier.bench),
            postgres: s(self.postgres, earlier.postgres),
            machine: s(self.machine, earlier.machine),
        }
    }
}

/// CPU seconds used over an interval.
#[derive(Debug, Clone, Copy)]
pub struct CpuSeconds {
    pub collector: f64,
    pub bench: f64,
    pub postgres: f64,
    pub machine: f64,
}

impl CpuSeconds {
    /// Everything else the machine was busy with.
    pub fn other(&self) -> f64 {
        (self.machine - self.collector - self.bench - self.postgres).max(0.0)
    }
}

/// utime + stime (and, with `children`, cutime + cstime) of a /proc stat file.
fn process_ticks(path: &str, children: bool) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses: state is [0],
    // utime [11], stime [12], cutime [13], cstime [14].
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let own = field(11)? + field(12)?;
    Some(if children {
        own + field(13)? + field(14)?
    } else {
        own
    })
}

/// CPU of every `postgres` process on the machine, with reaped children
/// (so backends that exit are still counted).
fn postgres_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| {
            let path = entry.path().join("stat");
            let text = std::fs::read_to_string(&path).ok()?;
            let comm = &text[text.find('(')? + 1..text.rfind(')')?];
            (comm == "postgres").then(|| process_ticks(&path.display().to_string(), true))?
        })
        .sum()
}

/// Busy (not idle, not iowait) ticks of all CPUs, from /proc/stat.
fn machine_busy_ticks() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|line| line.starts_with("cpu ")) else {
        return 0;
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is inside user).
    fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum()
}

pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn clock_ticks_per_second() -> f64 {
    command_output("getconf", &["CLK_TCK"])
        .and_then(|text| text.parse().ok())
        .unwrap_or(100.0)
}

pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Facts about the machine for the summary.
#[derive(Debug)]
pub struct Machine {
    pub nproc: String,
    pub model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub date: String,
    pub commit: String,
    pub postgres: String,
}

impl Machine {
    pub fn read(with_postgres: bool) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map_or("unknown CPU".to_owned(), |(_, model)| {
                model.trim().to_owned()
            });
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0.0);
        let postgres = if with_postgres {
            let version = command_output(
                "psql",
                &[
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-tAc",
                    "SHOW server_version",
                ],
            );
            format!(
                "; PostgreSQL {} (local, trust auth)",
                version.unwrap_or_else(|| "?".into())
            )
        } else {
            String::new()
        };
        Self {
            nproc: command_output("nproc", &[]).unwrap_or_else(|| "?".into()),
            model,
            memory_gib: memory_kib / (1024.0 * 1024.0),
            kernel: command_output("uname", &["-r"]).unwrap_or_else(|| "?".into()),
            date: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
                .unwrap_or_else(|| "?".into()),
            commit: command_output("git", &["describe", "--always", "--dirty"])
                .unwrap_or_else(|| "?".into()),
            postgres,
        }
    }
}

pub fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
