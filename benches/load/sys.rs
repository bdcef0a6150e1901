//! What the bench reads from the OS: a process's resident memory, CPU time and open files
//! (its own, the server's, or summed over several: a cluster's nodes, PostgreSQL and its
//! backends), and whether enough file descriptors are allowed.

use std::time::{Duration, Instant};

use anyhow::ensure;

/// A process to sample: this one, or others by pid (summed), with or without their children.
#[derive(Debug, Clone)]
pub struct Proc {
    dirs: Vec<String>,
    /// Also sum the children of each pid (PostgreSQL's backends under its postmaster).
    children: bool,
}

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it was read.
    pub at: Instant,
    /// Resident memory, KiB.
    pub rss_kib: u64,
    /// User + system CPU time.
    pub cpu: Duration,
    /// Open file descriptors.
    pub fds: u64,
}

impl Proc {
    /// This process.
    pub fn own() -> Proc {
        Proc {
            dirs: vec!["/proc/self".into()],
            children: false,
        }
    }

    /// Another process by pid.
    pub fn pid(pid: u32) -> Proc {
        Proc::pids(&[pid])
    }

    /// Several processes, summed (a cluster's nodes).
    pub fn pids(pids: &[u32]) -> Proc {
        Proc {
            dirs: pids.iter().map(|p| format!("/proc/{p}")).collect(),
            children: false,
        }
    }

    /// A process and its children, summed (PostgreSQL: the postmaster and its backends).
    pub fn tree(pid: u32) -> Proc {
        Proc {
            children: true,
            ..Proc::pid(pid)
        }
    }

    /// The same processes, with their children summed too.
    pub fn with_children(self) -> Proc {
        Proc {
            children: true,
            ..self
        }
    }

    /// Read it now (zeros where the OS does not say).
    pub fn sample(&self) -> Sample {
        let mut dirs = self.dirs.clone();
        if self.children {
            let parents: Vec<u64> = self
                .dirs
                .iter()
                .filter_map(|d| d.rsplit('/').next()?.parse().ok())
                .collect();
            dirs.extend(children_of(&parents));
        }
        let mut total = Sample {
            at: Instant::now(),
            rss_kib: 0,
            cpu: Duration::ZERO,
            fds: 0,
        };
        for dir in &dirs {
            let s = sample_dir(dir);
            total.rss_kib += s.rss_kib;
            total.cpu += s.cpu;
            total.fds += s.fds;
        }
        total
    }
}

/// The `/proc/PID` directories of the processes whose parent is one of `parents` (bounded).
fn children_of(parents: &[u64]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .take(1_000_000)
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.parse::<u64>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{name}/stat")).ok()?;
            let rest = stat.rsplit_once(')')?.1.to_string();
            // After the command name: state, then the parent's pid.
            let ppid: u64 = rest.split_whitespace().nth(1)?.parse().ok()?;
            parents.contains(&ppid).then(|| format!("/proc/{name}"))
        })
        .collect()
}

/// One process's reading.
fn sample_dir(dir: &str) -> Sample {
    let rss_kib = line_field(&format!("{dir}/status"), "VmRSS:", 1).unwrap_or(0);
    let ticks = std::fs::read_to_string(format!("{dir}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            // After the command name: state is field 3; utime 14 and stime 15.
            let u: u64 = f.get(11)?.parse().ok()?;
            let st: u64 = f.get(12)?.parse().ok()?;
            Some(u + st)
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("{dir}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Sample {
        at: Instant::now(),
        rss_kib,
        // Linux reports clock ticks of 1/100 s (USER_HZ).
        cpu: Duration::from_millis(ticks * 10),
        fds,
    }
}

/// The soft open-file limit of this process.
pub fn open_file_limit() -> Option<u64> {
    line_field("/proc/self/limits", "Max open files", 3)
}

/// The `nth` whitespace-separated word, as a number, of the first line of file `path` that
/// starts with `prefix`.
fn line_field(path: &str, prefix: &str, nth: usize) -> Option<u64> {
    std::fs::read_to_string(path).ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(nth))
            .and_then(|n| n.parse().ok())
    })
}

/// Refuse a load this process cannot hold: one descriptor per connection, plus slack.
pub fn check_fds(connections: usize) -> anyhow::Result<()> {
    let need = connections as u64 + 256;
    if let Some(limit) = open_file_limit() {
        ensure!(
            need <= limit,
            "{connections} connections need about {need} file descriptors in the load \
             generator (and as many in the server); the soft limit is {limit}: raise it \
             (ulimit -n) or lower the load"
        );
    }
    Ok(())
}
