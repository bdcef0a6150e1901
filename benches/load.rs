//! End-to-end load bench: how many concurrent circles one machine holds, and how fast.
//!
//! The bench starts the real server in process (`AppState::start` over `SledStore::open` in a
//! fresh temporary directory — a real on-disk store with durable acknowledgements — served on
//! `127.0.0.1:0` with the rate limits raised out of the way), opens R rooms × P participants
//! over real websockets (one facilitator hosting each room, P − 1 members joining with the join
//! key), and runs a scenario:
//!
//! - *steady*: every room acts every `interval` ms, in a hand-queue stage: a member raises a
//!   hand, the facilitator gives the floor, the member says done, and so on round the room;
//! - *burst*: every member of every room raises and lowers a hand as fast as its acks come
//!   back, for `burst-secs`;
//! - *join_storm*: rooms are opened and hosted first, then every member joins within
//!   `join-window` seconds (evenly spread), then a short steady phase checks the rooms work.
//!
//! Measured, with HDR histograms: join latency (TCP connect → websocket upgrade → `join` →
//! welcome); command → ack latency at the sender; command → delivery of its last event to the
//! last member of the room (events matched by `seq`: an ack names the seq of the command's last
//! event); events delivered per second (event frames read by all clients); acknowledged
//! commands per second (every ack is durable); process CPU and resident memory per participant.
//!
//! Each scenario runs in a child process of its own (this binary, re-run with `LOAD_CHILD`), so
//! that its memory figure starts from a clean heap and its file descriptors are its own. The
//! server and the clients share that process: the resident memory per participant includes the
//! client side. A calibration child first measures what a bare tokio-tungstenite server end plus
//! one of our clients costs per connection (both with 4 KiB buffers, as the server's are); half
//! of that is taken as the client's share and subtracted, as an estimate.
//!
//! Run: `cargo bench --bench load` (about a minute on two cores: 250 rooms × 8 = 2,000
//! connections, i.e. 4,000 file descriptors in one process, under the 20,000 soft limit here).
//! Options, as `--name value` after `--` or as environment variables:
//!
//! | option            | env                 | default | meaning                                  |
//! |-------------------|---------------------|---------|------------------------------------------|
//! | `--scenario`      | `LOAD_SCENARIO`     | all     | steady, burst, join_storm or all         |
//! | `--rooms`         | `LOAD_ROOMS`        | 250     | rooms R                                  |
//! | `--participants`  | `LOAD_PARTICIPANTS` | 8       | participants per room P (host included)  |
//! | `--secs`          | `LOAD_SECS`         | 15      | steady duration, seconds                 |
//! | `--interval-ms`   | `LOAD_INTERVAL_MS`  | 2000    | steady: ms between a room's commands     |
//! | `--burst-secs`    | `LOAD_BURST_SECS`   | 5       | burst duration, seconds                  |
//! | `--join-window`   | `LOAD_JOIN_WINDOW`  | 5       | join storm: seconds over which all join  |
//! | `--calibrate`     | `LOAD_CALIBRATE`    | 1       | 0 skips the client-memory calibration    |
//!
//! A progress line goes to stderr every second; the table to stdout; JSON to
//! `target/load-<scenario>.json`. Every loop is bounded in count and time, all traffic stays
//! on 127.0.0.1, and everything is shut down at the end.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use circlekeeper::server::Settings;
use circlekeeper::store::{SledStore, Store};
use circlekeeper::{AppState, Clock};
use circlekeeper_protocol::{ClientMessage, Command, RoomCreated, PROTOCOL_VERSION};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Barrier, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Longest any single wait (a handshake, an answer) may take before the bench gives up.
const WAIT: Duration = Duration::from_secs(15);
/// Most frames one connection reads before its reader stops.
const MAX_FRAMES_PER_CONN: u64 = 50_000_000;
/// Most answers skipped while waiting for the one that matters.
const MAX_ANSWERS: usize = 1024;
/// Most frames read while waiting for a welcome or an answer before the reader runs.
const MAX_FRAMES_PER_ANSWER: usize = 256;
/// Most commands one room (steady) or one member (burst) sends in a scenario.
const MAX_COMMANDS: u64 = 10_000_000;
/// Connections opened at once while setting up (not in the join storm).
const SETUP_CONCURRENCY: usize = 64;
/// Delivery entries a room keeps before old ones are pruned.
const MAX_TRACKED: usize = 4096;
/// Socket buffers of the bench's clients (the server uses 4 KiB too).
const CLIENT_BUFFER: usize = 4 * 1024;

/// The room every host opens: one hand-queue discussion stage of four hours (no timer fires).
const ROOM_BODY: &str = r#"{"title":"load","format":{"name":"Load","stages":[{"kind":"discussion","title":"Open floor","timebox_ms":14400000,"speaking":"hand_queue"}]}}"#;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

// ----- options ------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Opts {
    scenario: String,
    rooms: usize,
    participants: usize,
    secs: f64,
    interval_ms: u64,
    burst_secs: f64,
    join_window: f64,
    calibrate: bool,
}

/// `--name value` from the arguments, else the environment variable, else `None`.
fn raw_opt(name: &str, env: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let flag = format!("--{name}");
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

fn num_opt<T: std::str::FromStr>(name: &str, env: &str, default: T) -> anyhow::Result<T> {
    match raw_opt(name, env) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("--{name} / {env}: cannot read {v:?}")),
    }
}

impl Opts {
    fn read() -> anyhow::Result<Opts> {
        let o = Opts {
            scenario: raw_opt("scenario", "LOAD_SCENARIO").unwrap_or_else(|| "all".into()),
            rooms: num_opt("rooms", "LOAD_ROOMS", 250)?,
            participants: num_opt("participants", "LOAD_PARTICIPANTS", 8)?,
            secs: num_opt("secs", "LOAD_SECS", 15.0)?,
            interval_ms: num_opt("interval-ms", "LOAD_INTERVAL_MS", 2000)?,
            burst_secs: num_opt("burst-secs", "LOAD_BURST_SECS", 5.0)?,
            join_window: num_opt("join-window", "LOAD_JOIN_WINDOW", 5.0)?,
            calibrate: num_opt("calibrate", "LOAD_CALIBRATE", 1u8)? != 0,
        };
        ensure!(
            (1..=100_000).contains(&o.rooms),
            "rooms must be 1 to 100000"
        );
        ensure!(
            (2..=64).contains(&o.participants),
            "participants must be 2 to 64 (a host and at least one member)"
        );
        for (name, v) in [
            ("secs", o.secs),
            ("burst-secs", o.burst_secs),
            ("join-window", o.join_window),
        ] {
            ensure!(
                v.is_finite() && (0.1..=3600.0).contains(&v),
                "{name}: 0.1 to 3600"
            );
        }
        ensure!(
            (10..=600_000).contains(&o.interval_ms),
            "interval-ms: 10 to 600000"
        );
        Ok(o)
    }

    fn connections(&self) -> usize {
        self.rooms * self.participants
    }
}

// ----- metrics ------------------------------------------------------------------------------

fn histogram() -> Histogram<u64> {
    // Microseconds, 1 µs to 10 minutes, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

/// What every task adds to.
struct Metrics {
    join: Mutex<Histogram<u64>>,
    ack: Mutex<Histogram<u64>>,
    delivery: Mutex<Histogram<u64>>,
    connected: AtomicU64,
    joined: AtomicU64,
    commands: AtomicU64,
    acks: AtomicU64,
    errors: AtomicU64,
    /// Event frames read by clients after measuring began.
    events: AtomicU64,
    /// Frames the clients could not read.
    unreadable: AtomicU64,
    /// Flips when measuring begins (progress line only).
    measuring: AtomicBool,
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            join: Mutex::new(histogram()),
            ack: Mutex::new(histogram()),
            delivery: Mutex::new(histogram()),
            connected: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            acks: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            events: AtomicU64::new(0),
            unreadable: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
        }
    }
}

/// One event seq in one room: how many members read it, when the last did, and when the
/// command whose last event it is was sent (known once its ack arrives).
struct Seen {
    count: usize,
    last: Instant,
    sent: Option<Instant>,
}

/// Delivery tracking for one room.
struct Track {
    members: usize,
    /// Seqs at or below this are not measured (setup); `u64::MAX` until measuring begins.
    from: u64,
    seqs: HashMap<u64, Seen>,
}

impl Track {
    fn new(members: usize) -> Track {
        Track {
            members,
            from: u64::MAX,
            seqs: HashMap::new(),
        }
    }

    /// A member read event `seq` at `now`.
    fn seen(&mut self, seq: u64, now: Instant, metrics: &Metrics) {
        if seq <= self.from {
            return;
        }
        metrics.events.fetch_add(1, Ordering::Relaxed);
        let members = self.members;
        let s = self.seqs.entry(seq).or_insert(Seen {
            count: 0,
            last: now,
            sent: None,
        });
        s.count += 1;
        s.last = now;
        if s.count >= members {
            if let Some(sent) = s.sent {
                let _ = lock(&metrics.delivery).record(micros(s.last - sent).max(1));
                self.seqs.remove(&seq);
            }
        }
    }

    /// The command sent at `sent` was acknowledged at `seq` (the seq of its last event).
    fn sent(&mut self, seq: u64, sent: Instant, metrics: &Metrics) {
        if seq <= self.from {
            return;
        }
        let members = self.members;
        let s = self.seqs.entry(seq).or_insert(Seen {
            count: 0,
            last: sent,
            sent: None,
        });
        if s.sent.is_none() {
            s.sent = Some(sent);
        }
        if s.count >= members {
            let _ = lock(&metrics.delivery).record(micros(s.last - sent).max(1));
            self.seqs.remove(&seq);
        }
        if self.seqs.len() > MAX_TRACKED {
            // Intermediate events of multi-event commands are never claimed: drop old ones.
            self.seqs
                .retain(|&k, v| k + 1024 > seq || (v.sent.is_some() && v.count < members));
        }
    }

    /// Commands acknowledged whose last event has not reached every member.
    fn undelivered(&self) -> usize {
        self.seqs.values().filter(|s| s.sent.is_some()).count()
    }
}

// ----- clients ------------------------------------------------------------------------------

/// The parts of a server frame the bench reads (the rest is skipped, not built).
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// An answer a reader passes to whoever sent the command.
enum Answer {
    Ack { id: String, seq: u64, at: Instant },
    Error { id: Option<String>, what: String },
}

fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(CLIENT_BUFFER)
        .write_buffer_size(CLIENT_BUFFER)
        .max_write_buffer_size(64 * 1024)
}

async fn connect(url: &str) -> anyhow::Result<Socket> {
    let (ws, _) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true),
    )
    .await
    .context("no websocket handshake in time")??;
    Ok(ws)
}

fn frame(id: &str, command: Command) -> anyhow::Result<Message> {
    Ok(Message::text(serde_json::to_string(&ClientMessage {
        id: id.to_string(),
        command,
    })?))
}

/// Before the socket is split: send a command and read until the welcome or ack naming it.
async fn ask(ws: &mut Socket, id: &str, command: Command) -> anyhow::Result<u64> {
    tokio::time::timeout(WAIT, ws.send(frame(id, command)?))
        .await
        .with_context(|| format!("{id}: could not send in time"))??;
    for _ in 0..MAX_FRAMES_PER_ANSWER {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .with_context(|| format!("no answer to {id} in time"))?
            .with_context(|| format!("the server closed before answering {id}"))??;
        let Message::Text(text) = msg else {
            if let Message::Close(f) = msg {
                bail!("the server closed ({f:?}) before answering {id}");
            }
            continue;
        };
        let head: Head = serde_json::from_str(text.as_str())?;
        match head.kind {
            "welcome" | "ack" if head.id.as_deref() == Some(id) => {
                return Ok(head.seq.unwrap_or(0))
            }
            "error" => bail!(
                "{id} refused: {} ({})",
                head.code.unwrap_or_default(),
                head.message.unwrap_or_default()
            ),
            _ => {}
        }
    }
    bail!("no answer to {id} within {MAX_FRAMES_PER_ANSWER} frames")
}

/// Read a connection's frames until it closes: events to the room's tracker, answers to the
/// sender.
async fn read_loop(
    mut stream: SplitStream<Socket>,
    track: Arc<Mutex<Track>>,
    metrics: Arc<Metrics>,
    answers: mpsc::UnboundedSender<Answer>,
) {
    for _ in 0..MAX_FRAMES_PER_CONN {
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
            metrics.unreadable.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match head.kind {
            "event" => {
                if let Some(seq) = head.seq {
                    lock(&track).seen(seq, now, &metrics);
                }
            }
            "ack" => {
                if let Some(id) = head.id {
                    let _ = answers.send(Answer::Ack {
                        id,
                        seq: head.seq.unwrap_or(0),
                        at: now,
                    });
                }
            }
            "error" => {
                let what = format!(
                    "{} ({})",
                    head.code.unwrap_or_default(),
                    head.message.unwrap_or_default()
                );
                let _ = answers.send(Answer::Error { id: head.id, what });
            }
            _ => {}
        }
    }
    metrics.connected.fetch_sub(1, Ordering::Relaxed);
}

/// A connection after entry: its sink, its answers, its reader.
struct Conn {
    sink: SplitSink<Socket, Message>,
    answers: mpsc::UnboundedReceiver<Answer>,
    reader: JoinHandle<()>,
    next_id: u64,
    track: Arc<Mutex<Track>>,
    metrics: Arc<Metrics>,
}

impl Conn {
    fn split(ws: Socket, track: &Arc<Mutex<Track>>, metrics: &Arc<Metrics>) -> Conn {
        let (sink, stream) = ws.split();
        let (tx, answers) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_loop(
            stream,
            Arc::clone(track),
            Arc::clone(metrics),
            tx,
        ));
        Conn {
            sink,
            answers,
            reader,
            next_id: 100,
            track: Arc::clone(track),
            metrics: Arc::clone(metrics),
        }
    }

    /// Send a command, wait for its ack; record the ack latency and tell the tracker which
    /// seq the command ended at. Returns that seq.
    async fn command(&mut self, command: Command) -> anyhow::Result<u64> {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        let msg = frame(&id, command)?;
        let t0 = Instant::now();
        self.metrics.commands.fetch_add(1, Ordering::Relaxed);
        tokio::time::timeout(WAIT, self.sink.send(msg))
            .await
            .with_context(|| format!("{id}: could not send in time"))??;
        for _ in 0..MAX_ANSWERS {
            let answer = tokio::time::timeout(WAIT, self.answers.recv())
                .await
                .with_context(|| format!("no answer to {id} in time"))?
                .with_context(|| format!("the connection closed before answering {id}"))?;
            match answer {
                Answer::Ack { id: a, seq, at } if a == id => {
                    self.metrics.acks.fetch_add(1, Ordering::Relaxed);
                    if self.metrics.measuring.load(Ordering::Relaxed) {
                        let _ = lock(&self.metrics.ack).record(micros(at - t0).max(1));
                    }
                    lock(&self.track).sent(seq, t0, &self.metrics);
                    return Ok(seq);
                }
                Answer::Error { id: a, what }
                    if a.as_deref() == Some(id.as_str()) || a.is_none() =>
                {
                    self.metrics.errors.fetch_add(1, Ordering::Relaxed);
                    bail!("{id} refused: {what}");
                }
                _ => {}
            }
        }
        bail!("no answer to {id} within {MAX_ANSWERS} answers")
    }

    /// Close our side and wait (bounded) for the reader to see the end.
    async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.sink.close()).await;
        let reader = &mut self.reader;
        if tokio::time::timeout(Duration::from_secs(2), &mut *reader)
            .await
            .is_err()
        {
            reader.abort();
        }
    }
}

// ----- rooms --------------------------------------------------------------------------------

/// One room under load: the host's connection first, then the members'.
struct LoadRoom {
    index: usize,
    created: RoomCreated,
    conns: Vec<Conn>,
    track: Arc<Mutex<Track>>,
}

/// Open a room and host it: create, host, accept the ground rules, start.
async fn open_room(
    addr: SocketAddr,
    index: usize,
    members: usize,
    metrics: Arc<Metrics>,
) -> anyhow::Result<LoadRoom> {
    let created = common::create_room(addr, ROOM_BODY, WAIT).await?;
    let url = format!("ws://{addr}/ws?v={PROTOCOL_VERSION}");
    let mut ws = connect(&url).await?;
    metrics.connected.fetch_add(1, Ordering::Relaxed);
    ask(
        &mut ws,
        "h1",
        Command::Host {
            room: created.room_id.clone(),
            key: created.host_key.clone(),
            name: format!("Host {index}"),
        },
    )
    .await?;
    ask(&mut ws, "h2", Command::AcceptGroundRules).await?;
    ask(&mut ws, "h3", Command::Start).await?;
    let track = Arc::new(Mutex::new(Track::new(members)));
    let host = Conn::split(ws, &track, &metrics);
    Ok(LoadRoom {
        index,
        created,
        conns: vec![host],
        track,
    })
}

/// A member joins (timed: connect → welcome) and accepts the ground rules.
async fn join_member(
    addr: SocketAddr,
    room: RoomCreated,
    name: String,
    track: Arc<Mutex<Track>>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Conn> {
    let t0 = Instant::now();
    let url = format!("ws://{addr}/ws?v={PROTOCOL_VERSION}");
    let mut ws = connect(&url).await?;
    metrics.connected.fetch_add(1, Ordering::Relaxed);
    ask(
        &mut ws,
        "j1",
        Command::Join {
            room: room.room_id,
            key: room.join_key,
            name,
        },
    )
    .await?;
    let _ = lock(&metrics.join).record(micros(t0.elapsed()).max(1));
    metrics.joined.fetch_add(1, Ordering::Relaxed);
    ask(&mut ws, "j2", Command::AcceptGroundRules).await?;
    Ok(Conn::split(ws, &track, &metrics))
}

/// Every member of every room joins: as fast as `SETUP_CONCURRENCY` allows, or (`window`)
/// spread evenly over that window, all at once.
async fn join_all(
    addr: SocketAddr,
    rooms: &mut [LoadRoom],
    participants: usize,
    window: Option<Duration>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<()> {
    let total = rooms.len() * (participants - 1);
    let gate = Arc::new(Semaphore::new(match window {
        Some(_) => total.max(1),
        None => SETUP_CONCURRENCY,
    }));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total);
    // Member-major order, so that rooms fill evenly.
    for m in 1..participants {
        for room in rooms.iter() {
            let i = (m - 1) * rooms.len() + room.index;
            let at = window.map(|w| start + w.mul_f64(i as f64 / total as f64));
            let gate = Arc::clone(&gate);
            let created = room.created.clone();
            let track = Arc::clone(&room.track);
            let metrics = Arc::clone(metrics);
            let name = format!("Member {m} of {}", room.index);
            let index = room.index;
            tasks.push(tokio::spawn(async move {
                if let Some(at) = at {
                    tokio::time::sleep_until(at).await;
                }
                let _permit = gate.acquire_owned().await?;
                let conn = join_member(addr, created, name, track, metrics).await?;
                anyhow::Ok((index, conn))
            }));
        }
    }
    let mut first_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok((index, conn))) => rooms[index].conns.push(conn),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(e.into());
            }
        }
    }
    match first_error {
        Some(e) => Err(e.context("a member could not join")),
        None => Ok(()),
    }
}

/// A small deterministic generator (xorshift), for phases.
fn mix(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// Steady: one command every `interval`, round the room: raise hand, give floor, done.
async fn steady_room(
    mut room: LoadRoom,
    interval: Duration,
    barrier: Arc<Barrier>,
    deadline_rx: oneshot::Receiver<tokio::time::Instant>,
) -> anyhow::Result<LoadRoom> {
    let deadline = begin(&mut room, barrier, deadline_rx).await?;
    let members = room.conns.len() - 1;
    let phase = interval.mul_f64((mix(room.index as u64 + 1) % 1000) as f64 / 1000.0);
    let start = tokio::time::Instant::now() + phase;
    let mut k: u64 = 0;
    while k < MAX_COMMANDS {
        let at = start + interval.mul_f64(k as f64);
        if at >= deadline {
            break;
        }
        tokio::time::sleep_until(at).await;
        let m = 1 + ((k / 3) as usize % members);
        let (who, command) = match k % 3 {
            0 => (m, Command::RaiseHand),
            1 => (0, Command::GiveFloor { participant: None }),
            _ => (m, Command::Done),
        };
        room.conns[who]
            .command(command)
            .await
            .with_context(|| format!("room {}", room.index))?;
        k += 1;
    }
    Ok(room)
}

/// Burst: every member raises and lowers a hand as fast as its acks come back.
async fn burst_room(
    mut room: LoadRoom,
    barrier: Arc<Barrier>,
    deadline_rx: oneshot::Receiver<tokio::time::Instant>,
) -> anyhow::Result<LoadRoom> {
    let deadline = begin(&mut room, barrier, deadline_rx).await?;
    let mut conns = std::mem::take(&mut room.conns).into_iter();
    let host = conns.next().context("a room without its host")?;
    let tasks: Vec<JoinHandle<anyhow::Result<Conn>>> = conns
        .map(|mut conn| {
            tokio::spawn(async move {
                let mut k: u64 = 0;
                while k < MAX_COMMANDS && tokio::time::Instant::now() < deadline {
                    let command = if k % 2 == 0 {
                        Command::RaiseHand
                    } else {
                        Command::LowerHand { participant: None }
                    };
                    conn.command(command).await?;
                    k += 1;
                }
                // Leave the hand down.
                if k % 2 == 1 {
                    conn.command(Command::LowerHand { participant: None })
                        .await?;
                }
                Ok(conn)
            })
        })
        .collect();
    room.conns.push(host);
    let mut first_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok(conn)) => room.conns.push(conn),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(e.into());
            }
        }
    }
    match first_error {
        Some(e) => Err(e.context(format!("room {}", room.index))),
        None => Ok(room),
    }
}

/// Start measuring in this room (a sync names its seq), wait for every room, take the deadline.
async fn begin(
    room: &mut LoadRoom,
    barrier: Arc<Barrier>,
    deadline_rx: oneshot::Receiver<tokio::time::Instant>,
) -> anyhow::Result<tokio::time::Instant> {
    let seq = room.conns[0].command(Command::Sync).await?;
    lock(&room.track).from = seq;
    barrier.wait().await;
    deadline_rx.await.context("no deadline")
}

// ----- the process --------------------------------------------------------------------------

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time of this process (user + system), assuming 100 clock ticks per second.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
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
    Duration::from_millis(ticks * 10)
}

/// The soft open-file limit of this process.
fn open_file_limit() -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|n| n.parse().ok())
        })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// A progress line on stderr every second until `stop` fires (bounded to an hour).
fn progress(
    name: &'static str,
    metrics: Arc<Metrics>,
    started: Instant,
    mut stop: oneshot::Receiver<()>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let mut last_events = 0;
        for _ in 0..3600 {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            let events = metrics.events.load(Ordering::Relaxed);
            eprintln!(
                "[{name} {:>5.1} s] {} connected, {} joined, {} commands, {} acks, {} errors, \
                 {} events ({}/s){}, RSS {} MiB",
                started.elapsed().as_secs_f64(),
                metrics.connected.load(Ordering::Relaxed),
                metrics.joined.load(Ordering::Relaxed),
                metrics.commands.load(Ordering::Relaxed),
                metrics.acks.load(Ordering::Relaxed),
                metrics.errors.load(Ordering::Relaxed),
                events,
                events - last_events,
                if metrics.measuring.load(Ordering::Relaxed) {
                    ", measuring"
                } else {
                    ""
                },
                rss_kib() / 1024
            );
            last_events = events;
        }
    })
}

// ----- one scenario -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Steady,
    Burst,
    JoinStorm,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::Burst => "burst",
            Scenario::JoinStorm => "join_storm",
        }
    }

    fn parse(s: &str) -> Option<Scenario> {
        match s {
            "steady" => Some(Scenario::Steady),
            "burst" => Some(Scenario::Burst),
            "join_storm" | "join-storm" | "joinstorm" => Some(Scenario::JoinStorm),
            _ => None,
        }
    }
}

/// What one scenario measured, for the table and the JSON.
struct Report {
    scenario: Scenario,
    connections: usize,
    setup: Duration,
    join_phase: Duration,
    run: Duration,
    commands: u64,
    events: u64,
    undelivered: usize,
    rss_base_kib: u64,
    rss_connected_kib: u64,
    rss_end_kib: u64,
    cpu_run: Duration,
    fds_needed: usize,
}

async fn run_scenario(sc: Scenario, o: &Opts, metrics: Arc<Metrics>) -> anyhow::Result<Report> {
    let n = o.connections();
    let fds_needed = 2 * n + 200;
    if let Some(limit) = open_file_limit() {
        ensure!(
            fds_needed as u64 <= limit,
            "{n} connections need about {fds_needed} file descriptors in this process (client \
             and server ends); the soft limit is {limit}: raise it (ulimit -n) or lower the load"
        );
    }
    let dir = tempfile::tempdir().context("a temporary directory")?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path())?);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut settings = Settings::new(&format!("http://{addr}"));
    settings.rate_burst = 1e9;
    settings.rate_per_second = 1e9;
    settings.shutdown_grace = Duration::from_secs(10);
    settings.idle_timeout = Duration::from_secs(3600);
    let state = AppState::start(store, Clock::System, settings)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async move {
        let _ = stopped.await;
    };
    let server = tokio::spawn(circlekeeper::serve(listener, state.clone(), stopped));

    let started = Instant::now();
    let (stop_progress, progress_rx) = oneshot::channel();
    let bar = progress(sc.name(), Arc::clone(&metrics), started, progress_rx);

    let budget = Duration::from_secs_f64(o.secs + o.burst_secs + o.join_window + 300.0);
    let outcome = tokio::time::timeout(budget, drive(sc, o, addr, &metrics))
        .await
        .context("the scenario did not finish in time")
        .and_then(|r| r);

    let _ = stop_progress.send(());
    let _ = bar.await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(30), state.shutdown())
        .await
        .ok();
    server.abort();
    let _ = server.await;
    drop(state);
    let mut report = outcome?;
    report.fds_needed = fds_needed;
    Ok(report)
}

async fn drive(
    sc: Scenario,
    o: &Opts,
    addr: SocketAddr,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Report> {
    let rss_base_kib = rss_kib();
    let setup_start = Instant::now();
    // Open and host every room.
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let opening: Vec<_> = (0..o.rooms)
        .map(|i| {
            let gate = Arc::clone(&gate);
            let metrics = Arc::clone(metrics);
            let members = o.participants;
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                open_room(addr, i, members, metrics).await
            })
        })
        .collect();
    let mut rooms = Vec::with_capacity(o.rooms);
    for t in opening {
        rooms.push(t.await??);
    }
    let setup = setup_start.elapsed();

    // Members join.
    let join_start = Instant::now();
    let window = (sc == Scenario::JoinStorm).then(|| Duration::from_secs_f64(o.join_window));
    join_all(addr, &mut rooms, o.participants, window, metrics).await?;
    let join_phase = join_start.elapsed();
    // Let the last welcomes' frames settle before the memory reading.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_connected_kib = rss_kib();

    // Traffic.
    let run_for = Duration::from_secs_f64(match sc {
        Scenario::Steady => o.secs,
        Scenario::Burst => o.burst_secs,
        Scenario::JoinStorm => o.secs.min(5.0),
    });
    let barrier = Arc::new(Barrier::new(rooms.len() + 1));
    let interval = Duration::from_millis(o.interval_ms);
    let mut deadlines = Vec::with_capacity(rooms.len());
    let mut tracks = Vec::with_capacity(rooms.len());
    let mut runs = Vec::with_capacity(rooms.len());
    for room in rooms {
        let (tx, rx) = oneshot::channel();
        deadlines.push(tx);
        tracks.push(Arc::clone(&room.track));
        let barrier = Arc::clone(&barrier);
        runs.push(match sc {
            Scenario::Burst => tokio::spawn(burst_room(room, barrier, rx)),
            _ => tokio::spawn(steady_room(room, interval, barrier, rx)),
        });
    }
    barrier.wait().await;
    let commands_before = metrics.acks.load(Ordering::Relaxed);
    metrics.measuring.store(true, Ordering::Relaxed);
    let cpu_before = cpu_time();
    let run_start = Instant::now();
    let deadline = tokio::time::Instant::now() + run_for;
    for tx in deadlines {
        let _ = tx.send(deadline);
    }
    let mut rooms = Vec::with_capacity(runs.len());
    let mut first_error = None;
    for r in runs {
        match r.await {
            Ok(Ok(room)) => rooms.push(room),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(e.into());
            }
        }
    }
    // Wait (bounded) for the last deliveries of acknowledged commands.
    let drain_until = Instant::now() + Duration::from_secs(5);
    let mut undelivered = usize::MAX;
    while Instant::now() < drain_until {
        undelivered = tracks.iter().map(|t| lock(t).undelivered()).sum();
        if undelivered == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let run = run_start.elapsed();
    let cpu_run = cpu_time().saturating_sub(cpu_before);
    metrics.measuring.store(false, Ordering::Relaxed);
    let commands = metrics.acks.load(Ordering::Relaxed) - commands_before;
    let events = metrics.events.load(Ordering::Relaxed);
    let rss_end_kib = rss_kib();

    // Close every connection.
    let closing: Vec<_> = rooms
        .into_iter()
        .flat_map(|r| r.conns)
        .map(|c| tokio::spawn(c.close()))
        .collect();
    for c in closing {
        let _ = c.await;
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    Ok(Report {
        scenario: sc,
        connections: o.connections(),
        setup,
        join_phase,
        run,
        commands,
        events,
        undelivered,
        rss_base_kib,
        rss_connected_kib,
        rss_end_kib,
        cpu_run,
        fds_needed: 0,
    })
}

// ----- calibration: what the client side costs ----------------------------------------------

/// Connect `n` of our clients (split, with a reader task each, as in the load) to a bare
/// tokio-tungstenite server end with 4 KiB buffers that only reads; returns resident bytes per
/// connection (client and bare server end together).
async fn calibrate(n: usize) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = tokio::spawn(async move {
        let mut ends = Vec::new();
        for _ in 0..n {
            let Ok((tcp, _)) = listener.accept().await else {
                break;
            };
            let _ = tcp.set_nodelay(true);
            ends.push(tokio::spawn(async move {
                let cfg = client_config();
                if let Ok(mut ws) =
                    tokio_tungstenite::accept_async_with_config(tcp, Some(cfg)).await
                {
                    for _ in 0..MAX_FRAMES_PER_CONN {
                        match ws.next().await {
                            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                            _ => {}
                        }
                    }
                }
            }));
        }
        ends
    });
    let metrics = Arc::new(Metrics::new());
    let track = Arc::new(Mutex::new(Track::new(1)));
    let before = rss_kib();
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let url = format!("ws://{addr}/ws");
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (gate, url, track, metrics) = (
                Arc::clone(&gate),
                url.clone(),
                Arc::clone(&track),
                Arc::clone(&metrics),
            );
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let ws = connect(&url).await?;
                metrics.connected.fetch_add(1, Ordering::Relaxed);
                anyhow::Ok(Conn::split(ws, &track, &metrics))
            })
        })
        .collect();
    let mut conns = Vec::with_capacity(n);
    for t in tasks {
        conns.push(t.await??);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rss_kib();
    let closing: Vec<_> = conns.into_iter().map(|c| tokio::spawn(c.close())).collect();
    for c in closing {
        let _ = c.await;
    }
    if let Ok(Ok(ends)) = tokio::time::timeout(Duration::from_secs(10), acceptor).await {
        for e in ends {
            e.abort();
        }
    }
    Ok(after.saturating_sub(before) as f64 * 1024.0 / n.max(1) as f64)
}

// ----- report -------------------------------------------------------------------------------

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn hist_json(h: &Histogram<u64>) -> serde_json::Value {
    json!({
        "count": h.len(),
        "p50_us": h.value_at_quantile(0.50),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
        "mean_us": h.mean(),
    })
}

fn print_and_save(
    r: &Report,
    o: &Opts,
    metrics: &Metrics,
    client_bytes: Option<f64>,
) -> anyhow::Result<()> {
    let join = lock(&metrics.join).clone();
    let ack = lock(&metrics.ack).clone();
    let delivery = lock(&metrics.delivery).clone();
    let run_s = r.run.as_secs_f64().max(1e-9);
    let events_per_s = r.events as f64 / run_s;
    let commands_per_s = r.commands as f64 / run_s;
    let participants = r.connections.max(1) as f64;
    let per_participant =
        r.rss_connected_kib.saturating_sub(r.rss_base_kib) as f64 * 1024.0 / participants;
    let server_estimate = client_bytes.map(|c| per_participant - c);
    let cpu_share = r.cpu_run.as_secs_f64() / run_s;
    let (cores, mem_kib, cpu) = common::machine();

    println!();
    println!(
        "### load: {} — {} rooms × {} participants = {} connections — {}",
        r.scenario.name(),
        o.rooms,
        o.participants,
        r.connections,
        common::machine_line()
    );
    println!();
    println!("| latency | count | p50 | p99 | p99.9 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, h) in [
        ("join (connect → welcome)", &join),
        ("command → ack", &ack),
        ("command → last member", &delivery),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            h.len(),
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.99)),
            ms(h.value_at_quantile(0.999)),
            ms(h.max())
        );
    }
    println!();
    println!("| figure | value |");
    println!("|---|---:|");
    println!("| connections held | {} |", r.connections);
    println!(
        "| rooms opened and hosted | {:.2} s |",
        r.setup.as_secs_f64()
    );
    println!("| members joined | {:.2} s |", r.join_phase.as_secs_f64());
    println!("| measured run | {:.2} s |", run_s);
    println!("| durable acked commands/s | {commands_per_s:.0} |");
    println!("| events delivered/s | {events_per_s:.0} |");
    println!(
        "| acked commands not delivered to every member | {} |",
        r.undelivered
    );
    println!(
        "| process CPU during run (server + clients) | {:.0} % of one core |",
        cpu_share * 100.0
    );
    println!(
        "| RSS: base → connected → end | {} → {} → {} MiB |",
        r.rss_base_kib / 1024,
        r.rss_connected_kib / 1024,
        r.rss_end_kib / 1024
    );
    println!(
        "| RSS per participant, server + client | {:.1} KiB |",
        per_participant / 1024.0
    );
    match (client_bytes, server_estimate) {
        (Some(c), Some(s)) => println!(
            "| RSS per participant, server (estimate: minus {:.1} KiB client) | {:.1} KiB |",
            c / 1024.0,
            s / 1024.0
        ),
        _ => println!("| RSS per participant, server only | not calibrated |"),
    }
    println!();

    let out = json!({
        "scenario": r.scenario.name(),
        "machine": { "cores": cores, "memory_kib": mem_kib, "cpu": cpu },
        "rooms": o.rooms,
        "participants_per_room": o.participants,
        "connections": r.connections,
        "options": {
            "secs": o.secs, "interval_ms": o.interval_ms,
            "burst_secs": o.burst_secs, "join_window_secs": o.join_window,
        },
        "setup_secs": r.setup.as_secs_f64(),
        "join_phase_secs": r.join_phase.as_secs_f64(),
        "run_secs": run_s,
        "join_latency": hist_json(&join),
        "ack_latency": hist_json(&ack),
        "delivery_to_last_member": hist_json(&delivery),
        "acked_commands": r.commands,
        "acked_commands_per_sec": commands_per_s,
        "events_delivered": r.events,
        "events_delivered_per_sec": events_per_s,
        "undelivered": r.undelivered,
        "errors": metrics.errors.load(Ordering::Relaxed),
        "unreadable_frames": metrics.unreadable.load(Ordering::Relaxed),
        "cpu_cores_busy": cpu_share,
        "rss_kib": { "base": r.rss_base_kib, "connected": r.rss_connected_kib, "end": r.rss_end_kib },
        "rss_bytes_per_participant_with_clients": per_participant,
        "client_bytes_per_connection_estimate": client_bytes,
        "rss_bytes_per_participant_server_estimate": server_estimate,
        "fds_needed": r.fds_needed,
        "durable_acks": true,
        "in_process": true,
    });
    let dir = target_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("load-{}.json", r.scenario.name()));
    std::fs::write(&path, serde_json::to_string_pretty(&out)?)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

// ----- main ---------------------------------------------------------------------------------

/// A child process: one scenario (or the calibration) in a fresh process.
fn child(which: &str, o: &Opts) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        if which == "calibrate" {
            let n = o.connections();
            let per = tokio::time::timeout(Duration::from_secs(120), calibrate(n))
                .await
                .context("the calibration did not finish in time")??;
            eprintln!(
                "calibration: {n} client connections to a bare server end: {:.1} KiB each \
                 (client + bare server end); client share taken as half: {:.1} KiB",
                per / 1024.0,
                per / 2048.0
            );
            let dir = target_dir();
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("load-calibrate.json"),
                serde_json::to_string_pretty(&json!({
                    "connections": n,
                    "bytes_per_connection_client_and_bare_server": per,
                    "client_bytes_estimate": per / 2.0,
                }))?,
            )?;
            return Ok(());
        }
        let sc = Scenario::parse(which).with_context(|| format!("unknown scenario {which:?}"))?;
        let metrics = Arc::new(Metrics::new());
        let report = run_scenario(sc, o, Arc::clone(&metrics)).await?;
        let client_bytes = std::env::var("LOAD_CLIENT_BYTES")
            .ok()
            .and_then(|s| s.parse::<f64>().ok());
        print_and_save(&report, o, &metrics, client_bytes)?;
        ensure!(
            report.undelivered == 0,
            "{} acknowledged commands never reached every member",
            report.undelivered
        );
        Ok(())
    })
}

fn main() -> anyhow::Result<()> {
    let o = Opts::read()?;
    if let Ok(which) = std::env::var("LOAD_CHILD") {
        return child(&which, &o);
    }
    let scenarios: Vec<Scenario> = if o.scenario == "all" {
        vec![Scenario::Steady, Scenario::Burst, Scenario::JoinStorm]
    } else {
        o.scenario
            .split(',')
            .map(|s| Scenario::parse(s.trim()).with_context(|| format!("unknown scenario {s:?}")))
            .collect::<anyhow::Result<_>>()?
    };
    println!(
        "load bench — {} — server and clients in one process per scenario, durable acks on, \
         sled store in a temporary directory",
        common::machine_line()
    );
    let exe = std::env::current_exe()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run_child = |which: &str, client_bytes: Option<f64>| -> anyhow::Result<()> {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(&args).env("LOAD_CHILD", which);
        if let Some(c) = client_bytes {
            cmd.env("LOAD_CLIENT_BYTES", format!("{c}"));
        }
        let status = cmd.status()?;
        ensure!(
            status.success(),
            "{which}: the child process failed ({status})"
        );
        Ok(())
    };
    let client_bytes = if o.calibrate {
        run_child("calibrate", None)?;
        let path = target_dir().join("load-calibrate.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        v.get("client_bytes_estimate")
            .and_then(serde_json::Value::as_f64)
    } else {
        None
    };
    for sc in scenarios {
        run_child(sc.name(), client_bytes)?;
    }
    Ok(())
}
