//! The load generator's side of a connection: connecting from one of several loopback source
//! addresses, entering a room, sending commands and timing their answers, reading events and
//! checking that each connection sees every event of its room exactly once, in order — also
//! across a drop and a `resume`. Every websocket is opened at the protocol's routing URL,
//! `/ws?v=1&room=ID`, so that a proxy in front of several nodes sends it to the room's node.
//! In the failover scenario connections are *resilient* (see `resume.rs`).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use circlekeeper_protocol::{ClientMessage, Command, PROTOCOL_VERSION};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::resume::{Parked, Slot};

/// Longest any single wait (a handshake, an answer) may take before the bench gives up.
pub const WAIT: Duration = Duration::from_secs(20);
/// Most frames one connection reads before its reader stops.
const MAX_FRAMES_PER_CONN: u64 = 50_000_000;
/// Most answers skipped while waiting for the one that matters.
const MAX_ANSWERS: usize = 1024;
/// Most frames read while waiting for the answer to an entry command.
const MAX_FRAMES_PER_ANSWER: usize = 256;
/// Socket buffers of the bench's clients (the server uses 4 KiB too).
const CLIENT_BUFFER: usize = 4 * 1024;

/// A client's websocket.
pub type Socket = WebSocketStream<TcpStream>;

// ----- where to connect ---------------------------------------------------------------------

/// The server under load: its listening addresses (connections are spread over them) and how
/// many loopback source addresses to connect from (127.0.0.1, .2, …), each with its own
/// ephemeral port range.
#[derive(Debug, Clone)]
pub struct Target {
    /// Listening addresses; connection `i` goes to `addrs[i % len]`.
    pub addrs: Vec<SocketAddr>,
    /// Loopback source addresses to spread connections over (1 to 250).
    pub sources: usize,
}

impl Target {
    /// The address connection `i` goes to.
    pub fn addr(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len()]
    }

    /// Open a TCP connection for connection `i`, from source 127.0.0.(1 + i % sources) when
    /// the server is on loopback, and upgrade it to a websocket at `/ws?v=1&room=ROOM` (the
    /// protocol's routing URL: a proxy hashes the room id to pick the room's node).
    pub async fn connect(&self, i: usize, room: &str) -> anyhow::Result<Socket> {
        let server = self.addr(i);
        let tcp = match server {
            SocketAddr::V4(v4) if v4.ip().is_loopback() && self.sources > 1 => {
                let source = Ipv4Addr::new(127, 0, 0, 1 + (i % self.sources) as u8);
                let socket = TcpSocket::new_v4()?;
                socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
                tokio::time::timeout(WAIT, socket.connect(server))
                    .await
                    .context("no TCP connection in time")??
            }
            _ => tokio::time::timeout(WAIT, TcpStream::connect(server))
                .await
                .context("no TCP connection in time")??,
        };
        tcp.set_nodelay(true)?;
        // From the server's own pages: the Origin is its first address (the public URL of the
        // bench's server; an external server needs it allowed, or `--allowed-origins '*'`).
        let mut request =
            format!("ws://{server}/ws?v={PROTOCOL_VERSION}&room={room}").into_client_request()?;
        let origin = format!("http://{}", self.addr(0)).parse()?;
        request.headers_mut().insert("origin", origin);
        let (ws, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::client_async_with_config(request, tcp, Some(client_config())),
        )
        .await
        .context("no websocket handshake in time")??;
        Ok(ws)
    }
}

fn client_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(CLIENT_BUFFER)
        .write_buffer_size(CLIENT_BUFFER)
        .max_write_buffer_size(256 * 1024)
}

use crate::track::unix_micros;
pub(crate) use crate::track::{histogram, lock, micros, record, HostView, Metrics, Track};

// ----- frames -------------------------------------------------------------------------------

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
    #[serde(default)]
    you: Option<u64>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default, borrow)]
    event: Option<EventHead<'a>>,
}

#[derive(Deserialize)]
struct EventHead<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(default)]
    turn: Option<TurnHead>,
    #[serde(default)]
    state: Option<TimerHead>,
    #[serde(default)]
    pairs: Option<PairsHead>,
}

#[derive(Deserialize)]
struct TurnHead {
    floor: Option<FloorHead>,
}

#[derive(Deserialize)]
struct FloorHead {
    participant: u64,
}

#[derive(Deserialize)]
struct TimerHead {
    #[serde(default)]
    ends_at: Option<u64>,
}

#[derive(Deserialize)]
struct PairsHead {
    groups: Vec<GroupHead>,
}

#[derive(Deserialize)]
struct GroupHead {
    members: Vec<u64>,
    coach: u64,
}

/// An answer a reader passes to whoever sent the command.
enum Answer {
    Ack { id: String, seq: u64, at: Instant },
    Error { id: Option<String>, what: String },
}

fn frame(id: &str, command: Command) -> anyhow::Result<Message> {
    Ok(Message::text(serde_json::to_string(&ClientMessage {
        id: id.to_string(),
        command,
    })?))
}

/// How a connection enters its room.
pub enum Entry {
    /// `host` with the host key.
    Host { room: String, key: String },
    /// `join` with the join key.
    Join { room: String, key: String },
    /// `resume` with a token and the last seq read.
    Resume {
        room: String,
        token: String,
        last_seq: u64,
    },
}

/// For the comparison mode (`duo.rs`): connect connection `index` to `room` and enter with
/// `entry`, before any reader runs. Returns the socket and the seq its events follow on from.
pub(crate) async fn enter_raw(
    target: &Target,
    index: usize,
    room: &str,
    entry: Entry,
    name: &str,
) -> anyhow::Result<(Socket, u64)> {
    let mut ws = target.connect(index, room).await?;
    let entered = enter(&mut ws, &entry, name, None).await?;
    Ok((ws, entered.seq))
}

/// The entry's answer.
struct Entered {
    you: u64,
    token: Option<String>,
    /// The seq the next event must follow.
    seq: u64,
}

/// Before the socket is split: send the entry command and read until its answer.
async fn enter(
    ws: &mut Socket,
    entry: &Entry,
    name: &str,
    metrics: Option<&Metrics>,
) -> anyhow::Result<Entered> {
    let command = match entry {
        Entry::Host { room, key } => Command::Host {
            room: room.clone(),
            key: key.clone(),
            name: name.to_string(),
        },
        Entry::Join { room, key } => Command::Join {
            room: room.clone(),
            key: key.clone(),
            name: name.to_string(),
            guest: None,
        },
        Entry::Resume {
            room,
            token,
            last_seq,
        } => Command::Resume {
            room: room.clone(),
            token: token.clone(),
            last_seq: Some(*last_seq),
        },
    };
    tokio::time::timeout(WAIT, ws.send(frame("e1", command)?))
        .await
        .context("could not send the entry in time")??;
    for _ in 0..MAX_FRAMES_PER_ANSWER {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .context("no answer to the entry in time")?
            .context("the server closed before answering the entry")??;
        let Message::Text(text) = msg else {
            if let Message::Close(f) = msg {
                bail!("the server closed ({f:?}) before answering the entry");
            }
            continue;
        };
        let head: Head = serde_json::from_str(text.as_str())?;
        match head.kind {
            "welcome" | "resumed" | "snapshot" if head.id.as_deref() == Some("e1") => {
                let seq = head.seq.unwrap_or(0);
                let seq = match (head.kind, entry) {
                    ("resumed", Entry::Resume { last_seq, .. }) => {
                        if let Some(metrics) = metrics {
                            metrics.resumed.fetch_add(1, Ordering::Relaxed);
                            metrics
                                .replayed
                                .fetch_add(seq.saturating_sub(*last_seq), Ordering::Relaxed);
                        }
                        *last_seq
                    }
                    ("snapshot", _) => {
                        if let Some(metrics) = metrics {
                            metrics.snapshots.fetch_add(1, Ordering::Relaxed);
                        }
                        seq
                    }
                    _ => seq,
                };
                return Ok(Entered {
                    you: head.you.unwrap_or(0),
                    token: head.token,
                    seq,
                });
            }
            "error" => bail!(
                "entry refused: {} ({})",
                head.code.unwrap_or_default(),
                head.message.unwrap_or_default()
            ),
            _ => {}
        }
    }
    bail!("no answer to the entry within {MAX_FRAMES_PER_ANSWER} frames")
}

/// What a reader shares with its connection.
#[derive(Clone)]
pub struct Room {
    /// The room's delivery tracker.
    pub track: Arc<Mutex<Track>>,
    /// The host's view; only the host's reader writes it.
    pub host: Arc<watch::Sender<HostView>>,
    /// Everyone's figures.
    pub metrics: Arc<Metrics>,
    /// Notified when the server closes one of the room's resilient connections.
    pub dropped: Arc<Notify>,
}

/// Read a connection's frames until it closes: events to the room's tracker (checking each
/// seq follows the last), answers to the sender.
async fn read_loop(
    mut stream: SplitStream<Socket>,
    room: Room,
    is_host: bool,
    last_seq: Arc<AtomicU64>,
    closing: Arc<AtomicBool>,
    slot: Arc<Slot>,
    answers: mpsc::UnboundedSender<Answer>,
) {
    let metrics = &room.metrics;
    // Counts the connection out however the reader ends (also when aborted).
    let _live = Live(Arc::clone(metrics));
    let mut expect = last_seq.load(Ordering::Relaxed) + 1;
    let mut code = 0u64;
    for _ in 0..MAX_FRAMES_PER_CONN {
        let Some(Ok(msg)) = stream.next().await else {
            break;
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(f) => {
                code = f.map_or(0, |f| u64::from(u16::from(f.code)));
                break;
            }
            _ => continue,
        };
        let now = Instant::now();
        let Ok(head) = serde_json::from_str::<Head>(text.as_str()) else {
            metrics.unreadable.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match head.kind {
            "event" => {
                let Some(seq) = head.seq else {
                    metrics.unreadable.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                metrics.events_all.fetch_add(1, Ordering::Relaxed);
                if seq < expect {
                    metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if seq > expect {
                    metrics.gaps.fetch_add(seq - expect, Ordering::Relaxed);
                }
                expect = seq + 1;
                last_seq.store(seq, Ordering::Relaxed);
                if let Some(ev) = &head.event {
                    if ev.kind == "timer_expired" {
                        if let Some(ends_at) = ev.state.as_ref().and_then(|s| s.ends_at) {
                            let late = unix_micros().saturating_sub(ends_at * 1000);
                            if metrics.measuring.load(Ordering::Relaxed) {
                                record(&metrics.timer_late, late);
                            }
                        }
                    }
                }
                lock(&room.track).seen(seq, now, metrics);
                if is_host {
                    room.host.send_modify(|v| {
                        v.seq = seq;
                        if let Some(ev) = &head.event {
                            if let Some(turn) = &ev.turn {
                                v.floor = turn.floor.as_ref().map(|f| f.participant);
                            }
                            if let Some(pairs) = &ev.pairs {
                                v.groups = pairs
                                    .groups
                                    .iter()
                                    .map(|g| (g.members.clone(), g.coach))
                                    .collect();
                            }
                        }
                    });
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
    if closing.load(Ordering::Relaxed) {
        return;
    }
    if !metrics.resilient.load(Ordering::Relaxed) {
        metrics.closed_early.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // Failover: the server closed it; the room's task reconnects it (the answers channel
    // closes when this returns, which ends a command waiting for its answer).
    let by_code = match code {
        4012 => &metrics.closes_moved,
        1001 => &metrics.closes_going_away,
        0 => &metrics.closes_no_frame,
        _ => &metrics.closes_other,
    };
    by_code.fetch_add(1, Ordering::Relaxed);
    slot.last_code.store(code, Ordering::Relaxed);
    *lock(&slot.closed_at) = Some(Instant::now());
    slot.closes.fetch_add(1, Ordering::Relaxed);
    slot.open.store(false, Ordering::Relaxed);
    room.dropped.notify_one();
}

/// One open connection in [`Metrics::connected`], until dropped.
struct Live(Arc<Metrics>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A command sent and not answered yet: sent again with the same id after a resume.
#[derive(Clone)]
pub(crate) struct Pending {
    pub(crate) id: String,
    pub(crate) msg: Message,
    pub(crate) kind: &'static str,
    pub(crate) tracked: bool,
    pub(crate) sent: Instant,
}

/// A connection inside its room.
pub struct Conn {
    /// Which connection this is (picks the listener and the source address).
    pub index: usize,
    /// Our participant id.
    pub you: u64,
    room_id: String,
    token: String,
    is_host: bool,
    sink: SplitSink<Socket, Message>,
    answers: mpsc::UnboundedReceiver<Answer>,
    reader: JoinHandle<()>,
    last_seq: Arc<AtomicU64>,
    closing: Arc<AtomicBool>,
    pub(crate) next_id: u64,
    room: Room,
    slot: Arc<Slot>,
    pub(crate) pending: Option<Pending>,
}

impl Conn {
    /// Connect, enter with `entry`, and start reading. Returns the connection and how long
    /// connect → answer took.
    pub async fn open(
        target: &Target,
        index: usize,
        entry: Entry,
        name: &str,
        room: &Room,
        as_host: bool,
    ) -> anyhow::Result<(Conn, Duration)> {
        let slot = Arc::new(Slot::default());
        Conn::open_in(target, index, entry, name, room, as_host, slot).await
    }

    /// [`Conn::open`] for the participant whose connection is `slot`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_in(
        target: &Target,
        index: usize,
        entry: Entry,
        name: &str,
        room: &Room,
        as_host: bool,
        slot: Arc<Slot>,
    ) -> anyhow::Result<(Conn, Duration)> {
        let t0 = Instant::now();
        let room_id = match &entry {
            Entry::Host { room, .. } | Entry::Join { room, .. } | Entry::Resume { room, .. } => {
                room.clone()
            }
        };
        let mut ws = target.connect(index, &room_id).await?;
        if matches!(entry, Entry::Resume { .. }) {
            record(&room.metrics.resume_handshake, micros(t0.elapsed()));
        }
        room.metrics.connected.fetch_add(1, Ordering::Relaxed);
        let entered = match enter(&mut ws, &entry, name, Some(&room.metrics)).await {
            Ok(e) => e,
            Err(e) => {
                room.metrics.connected.fetch_sub(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        let took = t0.elapsed();
        let is_host = as_host;
        let token = match entry {
            Entry::Host { .. } | Entry::Join { .. } => entered.token.unwrap_or_default(),
            Entry::Resume { token, .. } => token,
        };
        let (sink, stream) = ws.split();
        let (tx, answers) = mpsc::unbounded_channel();
        let last_seq = Arc::new(AtomicU64::new(entered.seq));
        let closing = Arc::new(AtomicBool::new(false));
        slot.open.store(true, Ordering::Relaxed);
        let reader = tokio::spawn(read_loop(
            stream,
            room.clone(),
            is_host,
            Arc::clone(&last_seq),
            Arc::clone(&closing),
            Arc::clone(&slot),
            tx,
        ));
        Ok((
            Conn {
                index,
                you: entered.you,
                room_id,
                token,
                is_host,
                sink,
                answers,
                reader,
                last_seq,
                closing,
                next_id: 100,
                room: room.clone(),
                slot,
                pending: None,
            },
            took,
        ))
    }

    /// This participant's connection state, across resumes.
    pub fn slot(&self) -> Arc<Slot> {
        Arc::clone(&self.slot)
    }

    /// The server closed this connection (its reader ended).
    pub fn is_closed(&self) -> bool {
        !self.slot.open.load(Ordering::Relaxed) || self.reader.is_finished()
    }

    /// The close code of the server's last close of it (0: none).
    pub fn last_close_code(&self) -> u64 {
        self.slot.last_code.load(Ordering::Relaxed)
    }

    /// Send a command and wait for its ack; record the ack latency, and (`tracked`) tell the
    /// room's tracker which seq the command ended at, for the delivery latency. Commands that
    /// cause no event (a `draw_prompt`) must not be tracked. Returns the ack's seq. If the
    /// connection closes first, the command stays pending: [`Conn::send_pending`] sends it
    /// again, with its id, once resumed.
    pub async fn command(&mut self, command: Command, tracked: bool) -> anyhow::Result<u64> {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        let kind = command.name();
        let msg = frame(&id, command)?;
        self.room.metrics.commands.fetch_add(1, Ordering::Relaxed);
        self.pending = Some(Pending {
            id,
            msg,
            kind,
            tracked,
            sent: Instant::now(),
        });
        self.send_pending().await
    }

    /// Is a command waiting for its answer?
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Send the pending command (again, with the same id, after a resume) and wait for its
    /// answer; the ack latency and the delivery count from when it was first sent.
    pub async fn send_pending(&mut self) -> anyhow::Result<u64> {
        let Some(p) = self.pending.clone() else {
            bail!("no command waiting for its answer");
        };
        let Pending {
            id,
            msg,
            kind,
            tracked,
            sent: t0,
        } = p;
        let metrics = Arc::clone(&self.room.metrics);
        tokio::time::timeout(WAIT, self.sink.send(msg))
            .await
            .with_context(|| format!("{kind} {id}: could not send in time"))??;
        for _ in 0..MAX_ANSWERS {
            let answer = tokio::time::timeout(WAIT, self.answers.recv())
                .await
                .with_context(|| format!("no answer to {kind} {id} in time"))?
                .with_context(|| format!("the connection closed before answering {kind}"))?;
            match answer {
                Answer::Ack { id: a, seq, at } if a == id => {
                    self.pending = None;
                    metrics.acks.fetch_add(1, Ordering::Relaxed);
                    if metrics.measuring.load(Ordering::Relaxed) {
                        record(&metrics.ack, micros(at - t0));
                    }
                    if tracked {
                        lock(&self.room.track).sent(seq, t0, &metrics);
                    }
                    return Ok(seq);
                }
                Answer::Error { id: a, what }
                    if a.as_deref() == Some(id.as_str()) || a.is_none() =>
                {
                    self.pending = None;
                    metrics.errors.fetch_add(1, Ordering::Relaxed);
                    bail!("{kind} {id} refused: {what}");
                }
                _ => {}
            }
        }
        bail!("no answer to {kind} {id} within {MAX_ANSWERS} answers")
    }

    /// Take the connection down without a close frame (as a network failure would): the
    /// reader stops; what a `resume` needs is kept.
    pub async fn park(self) -> Parked {
        let Conn {
            index,
            room_id,
            token,
            is_host,
            sink,
            reader,
            last_seq,
            closing,
            room,
            you,
            next_id,
            slot,
            pending,
            ..
        } = self;
        closing.store(true, Ordering::Relaxed);
        reader.abort();
        let _ = reader.await;
        drop(sink);
        slot.open.store(false, Ordering::Relaxed);
        Parked {
            index,
            you,
            room_id,
            token,
            is_host,
            last_seq: last_seq.load(Ordering::Relaxed),
            next_id,
            room,
            slot,
            pending,
        }
    }

    /// Drop the connection as a network failure would (no close frame), then come back with
    /// `resume` and the last seq read. The new reader checks that the replayed events follow
    /// on exactly. Returns the resumed connection and connect → `resumed`.
    pub async fn drop_and_resume(self, target: &Target) -> anyhow::Result<(Conn, Duration)> {
        self.park().await.open(target).await
    }

    /// Close our side and wait (bounded) for the reader to see the end.
    pub async fn close(mut self) {
        self.closing.store(true, Ordering::Relaxed);
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
