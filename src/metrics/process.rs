//! The standard process metrics of Prometheus clients (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
//! `process_max_fds`, `process_start_time_seconds`), read from `/proc/self` at each scrape: a
//! handful of small reads, no lock. Elsewhere than Linux, and for any file that cannot be read
//! or parsed, the metric is left out rather than reported as zero.

use std::fmt::Write as _;

/// One reading of the process.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Process {
    /// User and system CPU time, seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory size, bytes.
    pub virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors (left out when unlimited).
    pub max_fds: Option<u64>,
    /// When the process started, seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

/// `AT_CLKTCK` in the auxiliary vector: the clock ticks per second of `/proc` times.
const AT_CLKTCK: u64 = 17;

impl Process {
    /// Read this process from `/proc/self` (everything `None` where there is no `/proc`).
    pub fn read() -> Process {
        let file = |name: &str| std::fs::read_to_string(format!("/proc/{name}")).ok();
        let ticks = std::fs::read("/proc/self/auxv")
            .ok()
            .and_then(|auxv| clock_ticks(&auxv))
            .unwrap_or(100.0);
        let (cpu_seconds, start_ticks) = file("self/stat")
            .map(|s| stat(&s, ticks))
            .unwrap_or_default();
        let boot = file("stat").and_then(|s| boot_time(&s));
        let status = file("self/status");
        Process {
            cpu_seconds,
            resident_bytes: status.as_deref().and_then(|s| kib(s, "VmRSS:")),
            virtual_bytes: status.as_deref().and_then(|s| kib(s, "VmSize:")),
            open_fds: std::fs::read_dir("/proc/self/fd")
                .ok()
                .map(|d| d.count() as u64),
            max_fds: file("self/limits").and_then(|s| max_open_files(&s)),
            start_time_seconds: start_ticks.zip(boot).map(|(t, b)| b as f64 + t / ticks),
        }
    }

    /// Write the metrics present, in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let mut metric = |name: &str, kind: &str, help: &str, value: Option<String>| {
            if let Some(value) = value {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                let _ = writeln!(out, "{name} {value}");
            }
        };
        let text = |v: Option<u64>| v.map(|v| v.to_string());
        metric(
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            self.cpu_seconds.map(|v| v.to_string()),
        );
        metric(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            text(self.resident_bytes),
        );
        metric(
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            text(self.virtual_bytes),
        );
        metric(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            text(self.open_fds),
        );
        metric(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            text(self.max_fds),
        );
        metric(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            self.start_time_seconds.map(|v| format!("{v:.2}")),
        );
    }
}

/// `AT_CLKTCK` from the auxiliary vector (pairs of native-endian words).
fn clock_ticks(auxv: &[u8]) -> Option<f64> {
    const WORD: usize = std::mem::size_of::<usize>();
    let word = |b: &[u8]| -> Option<u64> {
        let bytes: [u8; WORD] = b.try_into().ok()?;
        Some(usize::from_ne_bytes(bytes) as u64)
    };
    auxv.chunks_exact(2 * WORD).find_map(|pair| {
        let (key, value) = pair.split_at(WORD);
        (word(key)? == AT_CLKTCK)
            .then(|| word(value))
            .flatten()
            .filter(|&t| t > 0)
            .map(|t| t as f64)
    })
}

/// From `/proc/self/stat`: CPU seconds (utime + stime) and the start time in ticks after boot.
/// The command name (field 2) may hold spaces and parentheses: fields are counted after its
/// last `)`.
fn stat(text: &str, ticks: f64) -> (Option<f64>, Option<f64>) {
    let Some((_, rest)) = text.rsplit_once(')') else {
        return (None, None);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): field n is at index n - 3.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let cpu = field(14)
        .zip(field(15))
        .map(|(user, system)| (user + system) as f64 / ticks);
    (cpu, field(22).map(|t| t as f64))
}

/// `btime` of `/proc/stat`: when the machine booted, seconds since the epoch.
fn boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `kB` line of `/proc/self/status`, in bytes.
fn kib(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix(key))?;
    let number = line.split_whitespace().next()?.parse::<u64>().ok()?;
    number.checked_mul(1024)
}

/// The soft limit of "Max open files" in `/proc/self/limits` (`None` when unlimited).
fn max_open_files(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed_field_by_field() {
        let line = "4242 (a (b) c) S 1 2 3 0 -1 4194304 104 0 0 0 250 50 0 0 20 0 9 0 12345 \
                    2998272 395 18446744073709551615";
        let (cpu, start) = stat(line, 100.0);
        assert_eq!(cpu, Some(3.0));
        assert_eq!(start, Some(12345.0));
        assert_eq!(stat("garbage", 100.0), (None, None));
        assert_eq!(
            boot_time("cpu 1 2 3\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
        let status = "Name:\tx\nVmSize:\t    3892 kB\nVmRSS:\t    2016 kB\n";
        assert_eq!(kib(status, "VmRSS:"), Some(2016 * 1024));
        assert_eq!(kib(status, "VmSize:"), Some(3892 * 1024));
        assert_eq!(kib(status, "VmSwap:"), None);
        let limits = "Limit Soft Hard Units\nMax open files            1024                 4096                 files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(max_open_files(unlimited), None);
        let mut auxv = Vec::new();
        for (k, v) in [(6usize, 4096usize), (17, 250), (0, 0)] {
            auxv.extend_from_slice(&k.to_ne_bytes());
            auxv.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(clock_ticks(&auxv), Some(250.0));
        assert_eq!(clock_ticks(&auxv[..2 * std::mem::size_of::<usize>()]), None);
    }

    #[test]
    fn only_what_was_read_is_rendered() {
        let mut out = String::new();
        Process::default().render(&mut out);
        assert_eq!(out, "");
        let p = Process {
            open_fds: Some(7),
            ..Process::default()
        };
        p.render(&mut out);
        assert!(out.contains("\nprocess_open_fds 7\n"), "{out}");
        assert!(!out.contains("process_max_fds"), "{out}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads_whole_on_linux() {
        let p = Process::read();
        assert!(p.cpu_seconds.is_some_and(|s| s >= 0.0), "{p:?}");
        assert!(p.resident_bytes.is_some_and(|b| b > 1 << 20), "{p:?}");
        assert!(p.virtual_bytes >= p.resident_bytes, "{p:?}");
        assert!(p.open_fds.is_some_and(|n| n >= 3), "{p:?}");
        assert!(p.start_time_seconds.is_some_and(|s| s > 1.6e9), "{p:?}");
    }
}
