//! The server's metrics: lock-free counters, gauges and fixed-bucket histograms, and their
//! rendering in the Prometheus text exposition format (`GET /metrics`). They live beside the
//! layers rather than in any one of them: the server counts connections and refusals, the live
//! layer commands and deliveries, the store's committer its flushes — none imports another
//! layer to count.
//!
//! Hot paths (a room actor releasing an ack, a connection task taking a frame) only do relaxed
//! atomic additions: no lock, no allocation. Labels are fixed, server-chosen words (an outcome,
//! a close reason): never a token, a room id or anything people wrote.
//!
//! Besides the server's own, a scrape carries the standard process metrics ([`process`]), a
//! build-info gauge, and the store's size on disk, read at most every
//! [`STORE_SIZE_EVERY`] (a scrape between two reads repeats the last).

pub mod process;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use circlekeeper_protocol::close;

/// Upper bounds (seconds) of the histograms' buckets; `+Inf` is implied.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram of durations with the fixed [`BUCKETS`]. Each observation adds one to one
/// bucket (they are summed into Prometheus' cumulative buckets when rendered), to the sum and
/// to nothing else.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of the observations, in nanoseconds.
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Record one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Write `name_bucket`, `name_sum` and `name_count` lines. The count is the `+Inf` bucket,
    /// so the two always agree even while other threads record.
    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            match BUCKETS.get(i) {
                Some(le) => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// Why a connection ended: a close code the server sent, or the client's doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disconnect {
    /// The server sent this close code.
    Code(u16),
    /// The client closed the connection (a close frame, or the stream ended cleanly).
    ClientClosed,
    /// The connection broke: a read or write error.
    Reset,
}

/// The `reason` label of each disconnect counter, in the order of [`Metrics::disconnects`].
const REASONS: [&str; 16] = [
    "going_away",
    "unsupported",
    "too_big",
    "idle",
    "protocol_mismatch",
    "auth_failed",
    "removed",
    "too_slow",
    "room_deleted",
    "rate_limited",
    "other_code",
    "client_closed",
    "reset",
    "handshake_timeout",
    "invalid_payload",
    "room_moved",
];

/// The limits that refuse requests at the door (`circlekeeper_refused_total{limit}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A websocket upgrade from a page not on the allowlist.
    Origin,
    /// An address holding too many connections.
    Connections,
    /// The server holding too many rooms.
    Rooms,
    /// An address opening too many rooms this hour.
    RoomsPerAddress,
    /// An address that gave too many wrong links, keys or tokens.
    Attempts,
}

/// The `limit` label of each refusal counter, in the order of [`Limit`].
const LIMITS: [&str; 5] = [
    "origin",
    "connections",
    "rooms",
    "rooms_per_address",
    "attempts",
];

impl Disconnect {
    /// Index into [`REASONS`].
    fn index(self) -> usize {
        match self {
            Disconnect::Code(close::GOING_AWAY) => 0,
            Disconnect::Code(close::UNSUPPORTED) => 1,
            Disconnect::Code(close::TOO_BIG) => 2,
            Disconnect::Code(close::IDLE) => 3,
            Disconnect::Code(close::PROTOCOL_MISMATCH) => 4,
            Disconnect::Code(close::AUTH_FAILED) => 5,
            Disconnect::Code(close::REMOVED) => 6,
            Disconnect::Code(close::TOO_SLOW) => 7,
            Disconnect::Code(close::ROOM_DELETED) => 8,
            Disconnect::Code(close::RATE_LIMITED) => 9,
            Disconnect::Code(close::HANDSHAKE_TIMEOUT) => 13,
            Disconnect::Code(close::INVALID_PAYLOAD) => 14,
            Disconnect::Code(close::ROOM_MOVED) => 15,
            Disconnect::Code(_) => 10,
            Disconnect::ClientClosed => 11,
            Disconnect::Reset => 12,
        }
    }
}

/// Every metric the server keeps (the commit thread keeps its own, in
/// [`CommitStats`](crate::store::committer::CommitStats)). One per server, shared by its
/// connection tasks and room actors.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Open websocket connections.
    connections: AtomicU64,
    /// Event frames handed to connections' outboxes.
    events_delivered: AtomicU64,
    /// Commands a room applied and acknowledged.
    commands_ok: AtomicU64,
    /// Commands a room refused with an error.
    commands_refused: AtomicU64,
    /// Frames refused by a connection's rate limit.
    rate_limited: AtomicU64,
    /// Requests refused by a limit at the door, by [`LIMITS`].
    refused: [AtomicU64; LIMITS.len()],
    /// Ended connections, by [`REASONS`].
    disconnects: [AtomicU64; REASONS.len()],
    /// From a command frame's arrival to the release of its answer.
    command_seconds: Histogram,
    /// The store's size on disk, as last read.
    store_bytes: StoreSize,
}

/// How long a reading of the store's size on disk serves scrapes before it is read again.
pub const STORE_SIZE_EVERY: Duration = Duration::from_secs(5);

/// The store's size on disk as last read, and when.
#[derive(Debug, Default)]
struct StoreSize(Mutex<Option<(Instant, Option<u64>)>>);

impl StoreSize {
    /// The size read at most [`STORE_SIZE_EVERY`] before `now`, or a new reading by `read`.
    /// Scrapes that come together wait for one reading rather than each making their own.
    fn get(&self, now: Instant, read: impl FnOnce() -> Option<u64>) -> Option<u64> {
        let Ok(mut last) = self.0.lock() else {
            return read();
        };
        match *last {
            Some((at, bytes)) if now.saturating_duration_since(at) < STORE_SIZE_EVERY => bytes,
            _ => {
                let bytes = read();
                *last = Some((now, bytes));
                bytes
            }
        }
    }
}

/// Whether the store takes writes, as the commit thread last found, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct StoreHealth {
    /// It takes writes.
    pub up: bool,
    /// Times it stopped taking them since the start.
    pub outages: u64,
}

/// The version and commit the binary was built from, escaped for a label value.
fn build_labels() -> String {
    let escape = |v: &str| {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let mut labels = format!("version=\"{}\"", escape(env!("CARGO_PKG_VERSION")));
    if let Some(commit) = option_env!("CIRCLEKEEPER_COMMIT").filter(|c| !c.is_empty()) {
        let _ = write!(labels, ",commit=\"{}\"", escape(commit));
    }
    labels
}

/// Counts one open connection while it lives (see [`Metrics::connection_opened`]).
#[derive(Debug)]
pub struct OpenConnection<'a>(&'a Metrics);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// A connection opened; it counts until the guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection<'_> {
        self.connections.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self)
    }

    /// A connection ended, for this reason.
    pub fn disconnected(&self, why: Disconnect) {
        self.disconnects[why.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A frame was refused by the rate limit.
    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was refused by a limit at the door.
    pub fn refused(&self, limit: Limit) {
        self.refused[limit as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// `n` event frames were handed to connections.
    pub fn events_delivered(&self, n: u64) {
        self.events_delivered.fetch_add(n, Ordering::Relaxed);
    }

    /// A command's answer was released: acknowledged (`ok`) or refused, `latency` after its
    /// frame arrived.
    pub fn command_answered(&self, ok: bool, latency: Duration) {
        let counter = if ok {
            &self.commands_ok
        } else {
            &self.commands_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.command_seconds.observe(latency);
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4), with the live
    /// room count, the commit thread's flush histogram and health, this process's metrics,
    /// and the store's size on disk (`store_bytes` is called at most every
    /// [`STORE_SIZE_EVERY`]; `None` leaves the metric out).
    pub fn render(
        &self,
        rooms: usize,
        flush_seconds: &Histogram,
        store: StoreHealth,
        store_bytes: impl FnOnce() -> Option<u64>,
    ) -> String {
        let mut out = String::with_capacity(4096);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let simple = |out: &mut String, name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        simple(
            &mut out,
            "circlekeeper_connections",
            "gauge",
            "Open websocket connections.",
            load(&self.connections),
        );
        simple(
            &mut out,
            "circlekeeper_rooms",
            "gauge",
            "Live rooms (with a running actor).",
            rooms as u64,
        );
        simple(
            &mut out,
            "circlekeeper_events_delivered_total",
            "counter",
            "Event frames handed to connections (one per event per recipient).",
            load(&self.events_delivered),
        );
        labelled(
            &mut out,
            "circlekeeper_commands_total",
            "Commands a room answered, by outcome (ok: acknowledged, refused: error).",
            "outcome",
            [
                ("ok", &self.commands_ok),
                ("refused", &self.commands_refused),
            ],
        );
        simple(
            &mut out,
            "circlekeeper_rate_limited_total",
            "counter",
            "Frames refused by a connection's rate limit.",
            load(&self.rate_limited),
        );
        labelled(
            &mut out,
            "circlekeeper_refused_total",
            "Requests refused by a limit at the door (origin, connections per address, rooms per server, rooms per address per hour, wrong links per address).",
            "limit",
            LIMITS.iter().copied().zip(&self.refused),
        );
        labelled(
            &mut out,
            "circlekeeper_disconnects_total",
            "Ended websocket connections, by the close code the server sent or the client's doing.",
            "reason",
            REASONS.iter().copied().zip(&self.disconnects),
        );
        self.command_seconds.render(
            &mut out,
            "circlekeeper_command_seconds",
            "From a command frame's arrival to the release of its ack or error.",
        );
        flush_seconds.render(
            &mut out,
            "circlekeeper_store_flush_seconds",
            "The commit thread's write and flush of one batch.",
        );
        simple(
            &mut out,
            "circlekeeper_store_up",
            "gauge",
            "1 while the store takes writes, 0 while it refuses them and is retried with backoff.",
            u64::from(store.up),
        );
        simple(
            &mut out,
            "circlekeeper_store_outages_total",
            "counter",
            "Times the store stopped taking writes (a full disk, the database out of reach).",
            store.outages,
        );
        let _ = writeln!(
            out,
            "# HELP circlekeeper_build_info The version (and commit, when known) of the running binary.\n\
             # TYPE circlekeeper_build_info gauge\n\
             circlekeeper_build_info{{{}}} 1",
            build_labels()
        );
        if let Some(bytes) = self.store_bytes.get(Instant::now(), store_bytes) {
            simple(
                &mut out,
                "circlekeeper_store_bytes",
                "gauge",
                "The store's size on disk in bytes (sled: its log and blob files), read at most every 5 seconds.",
                bytes,
            );
        }
        process::Process::read().render(&mut out);
        out
    }
}

/// A counter with one sample per value of `label`.
fn labelled<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    samples: impl IntoIterator<Item = (&'a str, &'a AtomicU64)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (value, n) in samples {
        let _ = writeln!(
            out,
            "{name}{{{label}=\"{value}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_renders_cumulative_buckets() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count 3\n"), "{out}");
        assert!(out.contains("x_sum 60.0031\n"), "{out}");
        assert_eq!(h.count(), 3);
    }

    #[test]
    fn the_store_size_is_read_again_only_after_a_while() {
        let size = StoreSize::default();
        let start = Instant::now();
        assert_eq!(size.get(start, || Some(10)), Some(10));
        let soon = start + STORE_SIZE_EVERY / 2;
        assert_eq!(size.get(soon, || panic!("read too soon")), Some(10));
        let later = start + STORE_SIZE_EVERY;
        assert_eq!(size.get(later, || Some(20)), Some(20));
        assert_eq!(size.get(later + STORE_SIZE_EVERY, || None), None);
    }

    #[test]
    fn build_info_and_the_store_s_size_and_health_are_rendered() {
        let m = Metrics::default();
        let up = StoreHealth {
            up: true,
            outages: 0,
        };
        let text = m.render(0, &Histogram::default(), up, || Some(4096));
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            text.contains(&format!("\ncirclekeeper_build_info{{version=\"{version}\"")),
            "{text}"
        );
        assert!(text.contains("\ncirclekeeper_store_bytes 4096\n"), "{text}");
        assert!(text.contains("\ncirclekeeper_store_up 1\n"), "{text}");
        assert!(
            text.contains("\ncirclekeeper_store_outages_total 0\n"),
            "{text}"
        );
        let down = StoreHealth {
            up: false,
            outages: 3,
        };
        let without = Metrics::default().render(0, &Histogram::default(), down, || None);
        assert!(!without.contains("circlekeeper_store_bytes"), "{without}");
        assert!(without.contains("\ncirclekeeper_store_up 0\n"), "{without}");
        assert!(
            without.contains("\ncirclekeeper_store_outages_total 3\n"),
            "{without}"
        );
    }

    #[test]
    fn every_close_code_has_its_own_reason() {
        let codes = [
            close::GOING_AWAY,
            close::UNSUPPORTED,
            close::TOO_BIG,
            close::IDLE,
            close::PROTOCOL_MISMATCH,
            close::AUTH_FAILED,
            close::REMOVED,
            close::TOO_SLOW,
            close::ROOM_DELETED,
            close::RATE_LIMITED,
            close::HANDSHAKE_TIMEOUT,
            close::INVALID_PAYLOAD,
            close::ROOM_MOVED,
        ];
        let mut seen: Vec<usize> = codes.iter().map(|&c| Disconnect::Code(c).index()).collect();
        seen.push(Disconnect::ClientClosed.index());
        seen.push(Disconnect::Reset.index());
        seen.push(Disconnect::Code(4999).index());
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), REASONS.len());
    }
}
