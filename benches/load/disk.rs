//! The disk's flush floor: how long a small append and its `fdatasync` take in the filesystem
//! that holds the server's store (a temporary directory, as the server child's), measured in
//! the comparison's sitting, after its runs.
//!
//! circlekeeper acknowledges and broadcasts a command only once its group commit is on disk,
//! and each group commit ends with one such flush; the bare server never flushes. So the steady
//! scenario's latency cannot go below this floor, whatever the server does, and the comparison
//! prints it beside the table so that its p99 ratio can be read against it. A flush also costs
//! CPU (the filesystem's work in the caller, measured here on the measuring thread): the floor
//! of the CPU a group commit can cost, whatever the server does around it.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::track::{histogram, micros};

/// Bytes appended before each flush: about one group commit of a few commands.
const APPEND: usize = 2048;

/// The least CPU time the flushes must have taken together for their CPU to be read: five
/// clock ticks, so that it is known to within a fifth.
const MIN_CPU: Duration = Duration::from_millis(50);

/// The flush floor, in microseconds.
pub struct Floor {
    /// Flushes measured.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// CPU time of one append and flush, on average (none when the flushes took less than a
    /// few of the OS's 10 ms clock ticks in all: too few to read).
    pub cpu_us: Option<f64>,
}

impl Floor {
    /// The line printed under the comparison's table.
    pub fn line(&self) -> String {
        format!(
            "disk floor: a {APPEND}-byte append + fdatasync in the store's filesystem, {} \
             flushes after the runs: p50 {:.2} ms, p99 {:.2} ms{}. Every circlekeeper ack and \
             broadcast waits for one such flush (shared by its group commit); the bare server \
             never flushes.",
            self.count,
            self.p50_us as f64 / 1000.0,
            self.p99_us as f64 / 1000.0,
            self.cpu_us
                .map_or(String::new(), |c| format!(", {c:.0} µs of CPU each")),
        )
    }

    /// For the JSON report.
    pub fn json(&self) -> Value {
        json!({
            "append_bytes": APPEND,
            "count": self.count,
            "p50_us": self.p50_us,
            "p99_us": self.p99_us,
            "cpu_us": self.cpu_us,
        })
    }
}

/// Measure up to `max` flushes, for at most `budget`.
pub fn measure(max: u64, budget: Duration) -> anyhow::Result<Floor> {
    let dir = tempfile::tempdir()?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("flush-floor"))?;
    let bytes = [0x5a_u8; APPEND];
    let mut h = histogram();
    let cpu_before = crate::sys::thread_cpu();
    let started = Instant::now();
    for _ in 0..max {
        if started.elapsed() > budget {
            break;
        }
        let at = Instant::now();
        file.write_all(&bytes)?;
        file.sync_data()?;
        h.record(micros(at.elapsed()).min(h.high()))?;
    }
    anyhow::ensure!(!h.is_empty(), "no flush was measured");
    let cpu = cpu_before
        .zip(crate::sys::thread_cpu())
        .map(|(b, a)| a.saturating_sub(b))
        .filter(|c| *c >= MIN_CPU);
    Ok(Floor {
        cpu_us: cpu.map(|c| c.as_secs_f64() * 1e6 / h.len() as f64),
        count: h.len(),
        p50_us: h.value_at_quantile(0.5),
        p99_us: h.value_at_quantile(0.99),
    })
}
