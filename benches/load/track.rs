//! What the load generator counts: the shared [`Metrics`] (histograms in microseconds and
//! counters), and each room's delivery [`Track`] — command → its last event read by the last
//! connection of the room — with the host's view the scripts act on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

/// Delivery entries a room keeps before old ones are pruned.
const MAX_TRACKED: usize = 256;

// ----- metrics ------------------------------------------------------------------------------

/// A histogram in microseconds, 1 µs to 10 minutes, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Lock, ignoring poisoning (a panicking task must not hide the figures).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whole microseconds, at least 1.
pub fn micros(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(u64::MAX)) as u64).max(1)
}

pub(crate) fn record(h: &Mutex<Histogram<u64>>, us: u64) {
    let _ = lock(h).record(us.clamp(1, 600_000_000));
}

/// Microseconds since the Unix epoch (the server's clock on the same machine).
pub(crate) fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, micros)
}

/// What every task adds to.
pub struct Metrics {
    /// Connect → welcome, for `join`.
    pub join: Mutex<Histogram<u64>>,
    /// Connect → `resumed`, for `resume`.
    pub resume: Mutex<Histogram<u64>>,
    /// Of a resume: TCP connect → websocket open (the handshake alone).
    pub resume_handshake: Mutex<Histogram<u64>>,
    /// Command sent → its ack read by the sender.
    pub ack: Mutex<Histogram<u64>>,
    /// Command sent → its last event read by the last member of the room.
    pub delivery: Mutex<Histogram<u64>>,
    /// The same, for the coaching swap's room only.
    pub swap: Mutex<Histogram<u64>>,
    /// How late a `timer_expired` reached a client after the timer's deadline.
    pub timer_late: Mutex<Histogram<u64>>,
    /// Connections open now.
    pub connected: AtomicU64,
    /// Members who joined.
    pub joined: AtomicU64,
    /// Commands sent.
    pub commands: AtomicU64,
    /// Acks read.
    pub acks: AtomicU64,
    /// Errors read (the scripts send only commands that should succeed).
    pub errors: AtomicU64,
    /// Event frames read by clients after measuring began.
    pub events: AtomicU64,
    /// Event frames read in all.
    pub events_all: AtomicU64,
    /// Frames the clients could not read.
    pub unreadable: AtomicU64,
    /// Events a connection never saw (a seq skipped).
    pub gaps: AtomicU64,
    /// Events a connection saw twice or out of order.
    pub duplicates: AtomicU64,
    /// Resumes answered with `resumed` (missed events replayed).
    pub resumed: AtomicU64,
    /// Events replayed after a `resumed`.
    pub replayed: AtomicU64,
    /// Resumes answered with `snapshot` (the events could not be replayed).
    pub snapshots: AtomicU64,
    /// Connections the server closed while the bench expected them open.
    pub closed_early: AtomicU64,
    /// Resilient connections (failover): closes by the server, by close code: 4012 (the room
    /// moved), 1001 (going away), no close frame (the node died), any other code.
    pub closes_moved: AtomicU64,
    pub closes_going_away: AtomicU64,
    pub closes_no_frame: AtomicU64,
    pub closes_other: AtomicU64,
    /// Resume attempts that failed (no connection, refused `unavailable`, closed before the
    /// answer) and were tried again after a back-off.
    pub resume_retries: AtomicU64,
    /// Commands sent again with their id after a resume (their first answer never came).
    pub retried_commands: AtomicU64,
    /// Connections reconnect and resume when the server closes them (failover), rather than
    /// count as a failure.
    pub resilient: AtomicBool,
    /// True while measuring.
    pub measuring: AtomicBool,
    /// When the measured run began and how long it lasts (for the progress bar).
    pub run: Mutex<Option<(Instant, Duration)>>,
}

impl Metrics {
    /// All zero.
    pub fn new() -> Metrics {
        Metrics {
            join: Mutex::new(histogram()),
            resume: Mutex::new(histogram()),
            resume_handshake: Mutex::new(histogram()),
            ack: Mutex::new(histogram()),
            delivery: Mutex::new(histogram()),
            swap: Mutex::new(histogram()),
            timer_late: Mutex::new(histogram()),
            connected: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            acks: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            events: AtomicU64::new(0),
            events_all: AtomicU64::new(0),
            unreadable: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            resumed: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            closed_early: AtomicU64::new(0),
            closes_moved: AtomicU64::new(0),
            closes_going_away: AtomicU64::new(0),
            closes_no_frame: AtomicU64::new(0),
            closes_other: AtomicU64::new(0),
            resume_retries: AtomicU64::new(0),
            retried_commands: AtomicU64::new(0),
            resilient: AtomicBool::new(false),
            measuring: AtomicBool::new(false),
            run: Mutex::new(None),
        }
    }

    /// Read a counter.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

// ----- delivery tracking --------------------------------------------------------------------

/// One event seq in one room: how many connections read it, when the last did, and when the
/// command whose last event it is was sent (known once its ack arrives).
struct Seen {
    count: usize,
    last: Instant,
    sent: Option<Instant>,
    /// Its delivery was recorded (or it needs none).
    claimed: bool,
}

/// Delivery tracking for one room: command → last event at the last connection.
pub struct Track {
    /// Connections in the room (each must read each event).
    members: usize,
    /// Seqs at or below this are not measured (setup); `u64::MAX` until measuring begins.
    pub from: u64,
    seqs: HashMap<u64, Seen>,
    /// The coaching swap's room: its deliveries go to their own histogram.
    swap: bool,
}

impl Track {
    /// A room of `members` connections.
    pub fn new(members: usize, swap: bool) -> Track {
        Track {
            members,
            from: u64::MAX,
            seqs: HashMap::new(),
            swap,
        }
    }

    /// Is this the coaching swap's room?
    pub fn is_swap(&self) -> bool {
        self.swap
    }

    fn record(&self, us: u64, metrics: &Metrics) {
        record(
            if self.swap {
                &metrics.swap
            } else {
                &metrics.delivery
            },
            us,
        );
    }

    /// A connection read event `seq` at `now`.
    pub(crate) fn seen(&mut self, seq: u64, now: Instant, metrics: &Metrics) {
        if seq <= self.from {
            return;
        }
        metrics.events.fetch_add(1, Ordering::Relaxed);
        let members = self.members;
        let s = self.seqs.entry(seq).or_insert(Seen {
            count: 0,
            last: now,
            sent: None,
            claimed: false,
        });
        s.count += 1;
        s.last = now;
        if s.count >= members && !s.claimed {
            if let Some(sent) = s.sent {
                s.claimed = true;
                let us = micros(s.last.saturating_duration_since(sent));
                self.record(us, metrics);
            }
        }
    }

    /// The command sent at `sent` was acknowledged at `seq` (the seq of its last event).
    pub(crate) fn sent(&mut self, seq: u64, sent: Instant, metrics: &Metrics) {
        if seq <= self.from {
            return;
        }
        let members = self.members;
        let s = self.seqs.entry(seq).or_insert(Seen {
            count: 0,
            last: sent,
            sent: None,
            claimed: false,
        });
        if !s.claimed && s.sent.is_none() {
            if s.count >= members && s.last < sent {
                // Everyone had this event before the command was sent: the command caused
                // no event of its own (nothing changed), so there is no delivery to time.
                s.claimed = true;
            } else {
                s.sent = Some(sent);
                if s.count >= members {
                    s.claimed = true;
                    let us = micros(s.last.saturating_duration_since(sent));
                    self.record(us, metrics);
                }
            }
        }
        if self.seqs.len() > MAX_TRACKED {
            // Keep recent seqs, and commands still waiting for their delivery.
            self.seqs.retain(|&k, v| {
                k + (MAX_TRACKED as u64) / 2 > seq || (v.sent.is_some() && !v.claimed)
            });
        }
    }

    /// Commands acknowledged whose last event has not reached every connection.
    pub fn undelivered(&self) -> usize {
        self.seqs
            .values()
            .filter(|s| s.sent.is_some() && !s.claimed)
            .count()
    }
}

/// What the host's connection has seen of its room: enough for the scripts to act on.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    /// Highest seq read.
    pub seq: u64,
    /// Who has the floor (in a round: the current speaker).
    pub floor: Option<u64>,
    /// Coaching swap groups: (members, coach).
    pub groups: Vec<(Vec<u64>, u64)>,
}
