//! What the bench reads from the OS: a process's resident memory, CPU time and open files
//! (its own, the server's, or summed over several: a cluster's nodes, PostgreSQL and its
//! backends), and whether enough file descriptors are allowed; and a server's CPU time by
//! thread group (`/proc/PID/task`), to say which of its threads the CPU went to.

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

/// The thread groups a server's CPU is split into, by thread name: tokio's runtime (its
/// workers and its blocking pool share the name), circlekeeper's commit thread, sled's IO
/// pool, and every other thread.
pub const THREAD_GROUPS: [&str; 4] = ["runtime threads", "commit thread", "sled IO pool", "other"];

/// Each of [`THREAD_GROUPS`] beside its figure in `values`.
pub fn named(values: [f64; 4]) -> impl Iterator<Item = (&'static str, f64)> {
    THREAD_GROUPS.into_iter().zip(values)
}

/// Which of [`THREAD_GROUPS`] a thread of this name (`/proc/…/comm`, at most 15 bytes) is in.
fn thread_group(comm: &str) -> usize {
    let comm = comm.trim();
    if comm.starts_with("tokio-r") {
        0
    } else if comm.starts_with("circlekeeper-co") {
        1
    } else if comm.starts_with("sled-io") {
        2
    } else {
        3
    }
}

/// CPU time by thread group at one moment: threads that end between two readings are missed
/// (sled's pool keeps its threads, tokio's blocking pool ends idle ones after 10 s).
#[derive(Debug, Clone, Copy)]
pub struct ThreadSample {
    /// When it was read.
    pub at: Instant,
    /// User + system CPU time of each of [`THREAD_GROUPS`].
    pub cpu: [Duration; 4],
}

impl ThreadSample {
    /// Cores busy in each group between `self` and `later`.
    pub fn busy_until(&self, later: &ThreadSample) -> [f64; 4] {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        std::array::from_fn(|i| later.cpu[i].saturating_sub(self.cpu[i]).as_secs_f64() / wall)
    }
}

impl Proc {
    /// Read the CPU time of every thread of the processes now (not their children), by group.
    pub fn threads(&self) -> ThreadSample {
        let mut cpu = [Duration::ZERO; 4];
        for dir in &self.dirs {
            let Ok(tasks) = std::fs::read_dir(format!("{dir}/task")) else {
                continue;
            };
            for task in tasks.take(100_000).filter_map(Result::ok) {
                let path = task.path();
                let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
                let ticks = std::fs::read_to_string(path.join("stat"))
                    .ok()
                    .and_then(|s| cpu_ticks(&s))
                    .unwrap_or(0);
                cpu[thread_group(&comm)] += ticks_to_time(ticks);
            }
        }
        ThreadSample {
            at: Instant::now(),
            cpu,
        }
    }
}

/// utime + stime, in clock ticks, of a `/proc/…/stat` line.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 3; utime 14 and stime 15.
    let u: u64 = f.get(11)?.parse().ok()?;
    let st: u64 = f.get(12)?.parse().ok()?;
    Some(u + st)
}

/// Linux reports clock ticks of 1/100 s (USER_HZ).
pub fn ticks_to_time(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 10)
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
        .and_then(|s| cpu_ticks(&s))
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("{dir}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Sample {
        at: Instant::now(),
        rss_kib,
        cpu: ticks_to_time(ticks),
        fds,
    }
}

/// The CPU time (user + system) the calling thread has used so far, to a clock tick (10 ms).
pub fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    cpu_ticks(&stat).map(ticks_to_time)
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
