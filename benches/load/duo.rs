//! The comparison mode's client, one generator for both servers (`compare.rs` drives it): the
//! same rooms, the same senders, the same pacing, only the frames differ.
//!
//! - **circlekeeper**: a room is opened over HTTP and hosted (ground rules accepted, session
//!   started, a single hand-queue stage with no timer); every other connection joins with the
//!   join key and accepts the ground rules. A command is `raise_hand` / `lower_hand`,
//!   alternating per member (durable acks on); its event is the one its ack names.
//! - **bare**: a connection enters by connecting to `/ws?room=ID`. A command is one JSON text
//!   frame of the same shape and size, `{"id":"c101","type":"raise_hand","s":3}` (`s`: the
//!   sender's place in its room), which the server sends to every member; the sender's copy is
//!   its ack.
//!
//! In both, connection 0 of a room (the host) only reads; the others send. Every frame read is
//! checked: circlekeeper's events must follow on by seq on every connection; the bare server's
//! frames must follow on by counter, per sender, on every connection. A command is *delivered*
//! once every member other than its sender has read its event; the latency is from the send to
//! the last of those reads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use circlekeeper_protocol::{Command, RoomCreated};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{enter_raw, histogram, lock, micros, Entry, Socket, Target, WAIT};

/// Which server a run drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The bare broadcast server (`bare.rs`).
    Bare,
    /// circlekeeper (one node, or a cluster through HAProxy).
    Ck,
}

impl Kind {
    /// Its name in options, tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bare => "bare",
            Kind::Ck => "circlekeeper",
        }
    }
}

/// The room circlekeeper's commands run in: one hand-queue stage of four hours (no timer fires).
pub const ROOM_BODY: &str = r#"{"title":"compare","format":{"name":"Compare","stages":[{"kind":"discussion","title":"Open floor","timebox_ms":14400000,"speaking":"hand_queue"}]}}"#;

/// Most frames one connection reads before its reader stops.
const MAX_FRAMES: u64 = 100_000_000;
/// Commands a room tracks before old, finished entries are pruned.
const MAX_TRACKED: usize = 4096;

/// What every connection of a run adds to.
pub struct Stats {
    /// Command sent → read by every other member, for commands sent while measuring.
    pub delivery: Mutex<Histogram<u64>>,
    /// Command sent → its ack (circlekeeper) or echo (bare) at the sender.
    pub ack: Mutex<Histogram<u64>>,
    /// Commands delivered to every other member while measuring.
    pub delivered: AtomicU64,
    /// Commands sent while measuring.
    pub sent: AtomicU64,
    /// Event frames read while measuring (the sender's own copy included).
    pub events: AtomicU64,
    /// Losses: events skipped, seen twice or out of order; commands refused; frames not
    /// understood; connections closed by the server.
    pub gaps: AtomicU64,
    pub duplicates: AtomicU64,
    pub refused: AtomicU64,
    pub unreadable: AtomicU64,
    pub closed: AtomicU64,
    /// True while measuring.
    pub measuring: AtomicBool,
}

impl Stats {
    /// All zero.
    pub fn new() -> Stats {
        Stats {
            delivery: Mutex::new(histogram()),
            ack: Mutex::new(histogram()),
            delivered: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            events: AtomicU64::new(0),
            gaps: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            unreadable: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
        }
    }

    fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// Every sign of a lost message, as (what, how many).
    pub fn losses(&self, undelivered: u64) -> Vec<(&'static str, u64)> {
        vec![
            ("commands not delivered to every member", undelivered),
            ("events a connection never saw", Self::get(&self.gaps)),
            (
                "events seen twice or out of order",
                Self::get(&self.duplicates),
            ),
            ("commands refused", Self::get(&self.refused)),
            ("unreadable frames", Self::get(&self.unreadable)),
            ("connections the server closed", Self::get(&self.closed)),
        ]
    }
}

/// One command on its way: when it was sent, by whom, and who has read its event.
struct Pending {
    /// Sent at, by (known at the send for bare, at the ack for circlekeeper), and whether it
    /// was sent while measuring.
    sent: Option<(Instant, usize, bool)>,
    /// Which connections read it (bit per place), and when the last other member did.
    readers: u64,
    reads: Vec<(usize, Instant)>,
    /// Read by every other member (its delivery counted).
    done: bool,
}

/// A room's commands on their way.
pub struct Track {
    size: usize,
    pending: HashMap<u64, Pending>,
    newest: u64,
}

impl Track {
    /// A room of `size` connections.
    pub fn new(size: usize) -> Track {
        Track {
            size,
            pending: HashMap::new(),
            newest: 0,
        }
    }

    fn entry(&mut self, key: u64) -> &mut Pending {
        self.newest = self.newest.max(key);
        self.pending.entry(key).or_insert_with(|| Pending {
            sent: None,
            readers: 0,
            reads: Vec::new(),
            done: false,
        })
    }

    /// Connection `who` read the event `key` at `at`.
    fn read(&mut self, key: u64, who: usize, at: Instant, stats: &Stats) {
        let p = self.entry(key);
        p.readers |= 1u64 << who;
        p.reads.push((who, at));
        self.settle(key, stats);
    }

    /// The command whose event is `key` was sent at `at` by `who`.
    fn sent(&mut self, key: u64, at: Instant, who: usize, measured: bool, stats: &Stats) {
        self.entry(key).sent = Some((at, who, measured));
        self.settle(key, stats);
    }

    fn settle(&mut self, key: u64, stats: &Stats) {
        let size = self.size;
        let Some(p) = self.pending.get_mut(&key) else {
            return;
        };
        if let Some((at, who, measured)) = p.sent {
            let others = p.readers & !(1u64 << who);
            if !p.done && others.count_ones() as usize >= size - 1 {
                p.done = true;
                // Sent while measuring: its latency counts however late it arrives; it counts
                // as delivered if it arrived before the run ended.
                if measured {
                    let last = p
                        .reads
                        .iter()
                        .filter(|(r, _)| *r != who)
                        .map(|(_, t)| *t)
                        .max()
                        .unwrap_or(at);
                    if stats.measuring.load(Ordering::Relaxed) {
                        stats.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ =
                        lock(&stats.delivery).record(micros(last.saturating_duration_since(at)));
                }
            }
            // Kept until the sender's own copy is read too (it frees a bare command).
            if p.done && p.readers.count_ones() as usize >= size {
                self.pending.remove(&key);
            }
        }
        if self.pending.len() > MAX_TRACKED {
            // Events no command of ours claimed (circlekeeper's presence, say), read by all.
            let (newest, size) = (self.newest, self.size);
            self.pending.retain(|&k, p| {
                p.sent.is_some()
                    || (p.readers.count_ones() as usize) < size
                    || k + (MAX_TRACKED as u64) / 2 > newest
            });
        }
    }

    /// Commands sent whose event has not reached every other member.
    pub fn undelivered(&self) -> u64 {
        self.pending
            .values()
            .filter(|p| p.sent.is_some() && !p.done)
            .count() as u64
    }
}

/// What a room's connections share.
#[derive(Clone)]
pub struct Shared {
    pub kind: Kind,
    pub track: Arc<Mutex<Track>>,
    pub stats: Arc<Stats>,
    /// Commands the room may still send before their acks come back.
    pub window: Arc<Semaphore>,
    /// Set once the bench closes the room's connections (a close is then expected).
    pub closing: Arc<AtomicBool>,
}

/// The frame heads the reader looks at.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default, borrow)]
    id: Option<&'a str>,
    #[serde(default)]
    seq: Option<u64>,
    /// Bare frames: the sender's place.
    #[serde(default)]
    s: Option<usize>,
}

/// The counter in a command id `c123`.
fn id_number(id: &str) -> Option<u64> {
    id.strip_prefix('c')?.parse().ok()
}

/// A bare frame's key in its room's tracker: sender and counter.
fn bare_key(sender: usize, n: u64) -> u64 {
    ((sender as u64) << 48) | n
}

/// Commands a connection sent and has no answer for yet (circlekeeper): counter → sent at,
/// measured.
type InFlight = Arc<Mutex<std::collections::VecDeque<(u64, Instant, bool)>>>;

/// Read one connection's frames until it closes.
async fn read_loop(
    mut stream: SplitStream<Socket>,
    room: Shared,
    place: usize,
    mut expect: u64,
    flight: InFlight,
) {
    let stats = &room.stats;
    // Bare: the next counter expected from each sender.
    let mut next_n: Vec<u64> = vec![1; 64];
    for _ in 0..MAX_FRAMES {
        let Some(Ok(msg)) = stream.next().await else {
            break;
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        let now = Instant::now();
        let Ok(head) = serde_json::from_str::<Head>(text.as_str()) else {
            stats.unreadable.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let measuring = stats.measuring.load(Ordering::Relaxed);
        match (room.kind, head.kind) {
            (Kind::Ck, "event") => {
                let Some(seq) = head.seq else {
                    stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if seq < expect {
                    stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if seq > expect {
                    stats.gaps.fetch_add(seq - expect, Ordering::Relaxed);
                }
                expect = seq + 1;
                if measuring {
                    stats.events.fetch_add(1, Ordering::Relaxed);
                }
                lock(&room.track).read(seq, place, now, stats);
            }
            (Kind::Ck, "ack") => {
                let (Some(n), Some(seq)) = (head.id.and_then(id_number), head.seq) else {
                    stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let Some((at, measured)) = take_in_flight(&flight, n) else {
                    stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                room.window.add_permits(1);
                if measured {
                    let _ = lock(&stats.ack).record(micros(now - at));
                }
                lock(&room.track).sent(seq, at, place, measured, stats);
            }
            (Kind::Ck, "error") => {
                stats.refused.fetch_add(1, Ordering::Relaxed);
                if head.id.and_then(id_number).is_some() {
                    room.window.add_permits(1);
                }
            }
            (Kind::Ck, _) => {}
            (Kind::Bare, _) => {
                let (Some(n), Some(s)) = (head.id.and_then(id_number), head.s) else {
                    stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let Some(next) = next_n.get_mut(s) else {
                    stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if n < *next {
                    stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if n > *next {
                    stats.gaps.fetch_add(n - *next, Ordering::Relaxed);
                }
                *next = n + 1;
                if measuring {
                    stats.events.fetch_add(1, Ordering::Relaxed);
                }
                if s == place {
                    // Our echo: the ack.
                    if let Some((at, measured)) = take_in_flight(&flight, n) {
                        room.window.add_permits(1);
                        if measured {
                            let _ = lock(&stats.ack).record(micros(now - at));
                        }
                    }
                }
                lock(&room.track).read(bare_key(s, n), place, now, stats);
            }
        }
    }
    if !room.closing.load(Ordering::Relaxed) {
        stats.closed.fetch_add(1, Ordering::Relaxed);
    }
}

/// The send time of command `n`, taken off the list of those in flight (answers come in order).
fn take_in_flight(flight: &InFlight, n: u64) -> Option<(Instant, bool)> {
    let mut f = lock(flight);
    for _ in 0..f.len() {
        let (k, at, measured) = f.pop_front()?;
        if k == n {
            return Some((at, measured));
        }
    }
    None
}

/// One connection in its room.
pub struct Conn {
    place: usize,
    sink: SplitSink<Socket, Message>,
    reader: JoinHandle<()>,
    flight: InFlight,
    next: u64,
    /// circlekeeper: is our hand up (after the commands sent so far)?
    raised: bool,
}

impl Conn {
    /// Connect (connection number `index` of the run, place `place` in its room) and enter.
    /// circlekeeper: `created` names the room; the host (place 0) accepts the ground rules and
    /// starts, members join and accept them. Bare: connecting is entering.
    pub async fn open(
        target: &Target,
        index: usize,
        place: usize,
        room_name: &str,
        created: Option<&RoomCreated>,
        shared: &Shared,
    ) -> anyhow::Result<Conn> {
        let (ws, expect) = match (shared.kind, created) {
            (Kind::Bare, _) => (target.connect(index, room_name).await?, 1),
            (Kind::Ck, Some(c)) => {
                let entry = if place == 0 {
                    Entry::Host {
                        room: c.room_id.clone(),
                        key: c.host_key.clone(),
                    }
                } else {
                    Entry::Join {
                        room: c.room_id.clone(),
                        key: c.join_key.clone(),
                    }
                };
                let name = format!("P{place}");
                let (mut ws, mut seq) = enter_raw(target, index, &c.room_id, entry, &name).await?;
                seq = seq.max(answer(&mut ws, "e2", Command::AcceptGroundRules).await?);
                if place == 0 {
                    seq = seq.max(answer(&mut ws, "e3", Command::Start).await?);
                }
                (ws, seq + 1)
            }
            (Kind::Ck, None) => bail!("a circlekeeper connection needs its room"),
        };
        let (sink, stream) = ws.split();
        let flight = InFlight::default();
        let reader = tokio::spawn(read_loop(
            stream,
            shared.clone(),
            place,
            expect,
            Arc::clone(&flight),
        ));
        Ok(Conn {
            place,
            sink,
            reader,
            flight,
            next: 0,
            raised: false,
        })
    }

    /// Send one command (the window's permit is taken by the caller and given back by the
    /// answer).
    pub async fn send(&mut self, shared: &Shared) -> anyhow::Result<()> {
        self.next += 1;
        let n = self.next;
        let measured = shared.stats.measuring.load(Ordering::Relaxed);
        let text = match shared.kind {
            Kind::Bare => {
                format!(r#"{{"id":"c{n}","type":"raise_hand","s":{}}}"#, self.place)
            }
            Kind::Ck if self.raised => format!(r#"{{"id":"c{n}","type":"lower_hand"}}"#),
            Kind::Ck => format!(r#"{{"id":"c{n}","type":"raise_hand"}}"#),
        };
        self.raised = !self.raised;
        let at = Instant::now();
        lock(&self.flight).push_back((n, at, measured));
        if shared.kind == Kind::Bare {
            // The frame is its own event: known to the tracker from the send.
            lock(&shared.track).sent(
                bare_key(self.place, n),
                at,
                self.place,
                measured,
                &shared.stats,
            );
        }
        if measured {
            shared.stats.sent.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::timeout(WAIT, self.sink.send(Message::text(text)))
            .await
            .context("could not send in time")??;
        Ok(())
    }

    /// Commands sent and not answered.
    pub fn in_flight(&self) -> usize {
        lock(&self.flight).len()
    }

    /// Close our side and wait (bounded) for the reader to end.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
        if tokio::time::timeout(Duration::from_secs(2), &mut self.reader)
            .await
            .is_err()
        {
            self.reader.abort();
        }
    }
}

/// Before the socket is split: send `command` as `id` and read until its ack; the seq it names.
async fn answer(ws: &mut Socket, id: &str, command: Command) -> anyhow::Result<u64> {
    let frame = serde_json::to_string(&circlekeeper_protocol::ClientMessage {
        id: id.to_string(),
        command,
    })?;
    tokio::time::timeout(WAIT, ws.send(Message::text(frame)))
        .await
        .context("could not send in time")??;
    let mut seen = 0;
    for _ in 0..256 {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .context("no answer in time")?
            .context("the server closed before answering")??;
        let Message::Text(text) = msg else { continue };
        let head: Head = serde_json::from_str(text.as_str())?;
        if head.kind == "event" {
            seen = seen.max(head.seq.unwrap_or(0));
        }
        if head.id == Some(id) {
            match head.kind {
                "ack" => return Ok(seen.max(head.seq.unwrap_or(0))),
                _ => bail!("{id} refused: {}", text.as_str()),
            }
        }
    }
    bail!("no answer to {id} within 256 frames")
}
