//! The room actor: one task per live room that owns its [`Room`], its connected peers, its
//! credentials and its recent history, and is the only writer of that room.
//!
//! Connections talk to it through a cloneable [`RoomHandle`] over a bounded inbox. For each
//! accepted command the actor applies it at once, submits the events to the group-commit
//! thread, and queues what the command owes the world (the broadcast, the ack, a welcome) as a
//! `Pending` entry. The commands of one wake-up (all that wait in the inbox) share one submission
//! and one entry, so they are flushed and released together and each peer gets them in one write. Entries are released strictly in order, each only when its writes are
//! durable: nothing is acknowledged or broadcast before it is on disk, yet the room keeps
//! applying commands while a flush runs. Each event is serialized once and the same bytes go to
//! every peer's bounded outbox; a peer whose outbox is full is cut off (close code 4008) rather
//! than allowed to slow the room.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use circlekeeper_protocol::{
    close, AckResult, Command, CommandId, ErrorCode, LinkKind, Millis, ParticipantId, Presence,
    ServerMessage, SessionStatus, Standing, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, warn};

use super::state::{Recorded, Rejection, Room};
use crate::clock::Clock;
use crate::live::{Change, SeriesError};
use crate::metrics::Metrics;
use crate::secret;
use crate::store::{Committer, Durable, Origin, Snapshot, StoreError, StoredEvent, Write};

/// How many messages may wait in a room's inbox. Connections wait (backpressure) when it is
/// full; a room of 64 people sending a command each still fits several times over.
pub const ROOM_INBOX: usize = 256;

/// How many frames may wait for one connection. A client that falls this far behind is cut off
/// with close code 4008 and resumes later; it never slows its room. The channel allocates as it
/// fills, so an idle connection does not pay for this capacity.
pub const PEER_OUTBOX: usize = 1024;

/// Most events a resume replays one by one; more than that gets a snapshot instead, which is
/// smaller and keeps the replay within the connection's outbox.
pub const MAX_REPLAY: usize = PEER_OUTBOX - 24;

/// Most events the resume buffer keeps, whatever the time window: bounds a busy room's memory.
/// A resume that missed more than [`MAX_REPLAY`] events gets a snapshot however many are kept,
/// so keeping the last `MAX_REPLAY` answers every resume exactly as a longer buffer would.
pub const MAX_RECENT_EVENTS: usize = MAX_REPLAY;

/// Command ids remembered per participant, so that a retried command is applied once.
pub const REMEMBERED_COMMANDS: usize = 64;

/// Most inbox messages one step of the actor handles before it submits their writes together.
pub const MAX_STEP_MESSAGES: usize = 64;

/// A snapshot is written every this many events, so a restart replays at most this many.
pub const SNAPSHOT_EVERY: u64 = 256;

/// How long after a person's last connection closes they are shown `away`, by default (the
/// server's `presence_grace` setting). A quick reconnect
/// (a network blip, a page reload, a phone changing networks) within it changes nothing the
/// others see, and costs the room no events: when a third of a server's connections drop and
/// resume at once, this spares every room two presence events per person.
pub const PRESENCE_GRACE_MS: Millis = 3_000;

/// A connection's id, unique within the server.
pub type ConnId = u64;

/// What the actor sends a connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A JSON text frame.
    Frame(Utf8Bytes),
}

/// How a connection asks to enter a room.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A new participant (`join`, with the join key) or facilitator (`host`, with the host key).
    New {
        /// Whether they came with `host`.
        host: bool,
        /// The key from the link.
        key: String,
        /// Display name.
        name: String,
        /// The personal token to give them (made by the caller from the OS's random source).
        token: String,
    },
    /// A series member with their personal key: the first time a new participant, afterwards
    /// the same one (on any device).
    Member {
        /// The series the link belongs to.
        series: String,
        /// The member key.
        key: String,
        /// A personal token for this device (made by the caller).
        token: String,
    },
    /// An existing participant with their token.
    Resume {
        /// The personal token.
        token: String,
        /// The last sequence number the client saw.
        last_seq: Option<u64>,
    },
}

/// A message to a room actor.
pub enum RoomMsg {
    /// A connection enters the room. The actor sends the welcome (or error) on the outbox.
    Enter {
        /// The connection.
        conn: ConnId,
        /// The command id of `join` / `host` / `resume`.
        id: CommandId,
        /// Who they say they are.
        credential: Credential,
        /// The connection's outbox.
        outbox: mpsc::Sender<Outbound>,
        /// Where the actor writes the close code if it cuts the connection off.
        close_code: Arc<AtomicU16>,
        /// Who they are, once admitted.
        reply: oneshot::Sender<Result<ParticipantId, Rejection>>,
    },
    /// A command from an admitted connection.
    Command {
        /// The connection.
        conn: ConnId,
        /// The command id.
        id: CommandId,
        /// The command.
        command: Command,
        /// When its frame arrived (for the command latency metric).
        received: Instant,
    },
    /// A connection closed.
    Leave {
        /// The connection.
        conn: ConnId,
    },
    /// Delete the room (retention ran out, or its series was deleted): disconnect everyone
    /// and remove it from disk. `done` is answered once the delete is durable.
    Delete {
        /// Answered when the room is gone from disk (dropped if the store failed).
        done: Option<oneshot::Sender<()>>,
    },
    /// The room and everything written in it, for an export by a facilitator (host key).
    Export {
        /// The host key.
        key: String,
        /// The view and the notes, or why not.
        reply: oneshot::Sender<Result<ExportData, Rejection>>,
    },
    /// What someone holding a join or host key may read before entering: title, format, ground
    /// rules and whether the session is still open.
    Preview {
        /// The key from the link.
        key: String,
        /// The answer.
        reply: oneshot::Sender<Result<circlekeeper_protocol::RoomPreview, Rejection>>,
    },
}

/// A room's view and everything written in it, for an export.
pub type ExportData = (
    Box<circlekeeper_protocol::RoomView>,
    Box<crate::room::state::Notes>,
);

/// What a room tells the rest of the server when it stops for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The room was deleted.
    Deleted(String),
    /// The room could not make its events durable and stopped serving.
    Failed(String),
}

/// The sending side of a room actor's inbox. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RoomHandle {
    inbox: mpsc::Sender<RoomMsg>,
}

impl RoomHandle {
    /// Send a message to the room; `false` if the room is gone.
    pub async fn send(&self, msg: RoomMsg) -> bool {
        self.inbox.send(msg).await.is_ok()
    }
}

/// A room's link keys, as hashes.
#[derive(Clone, Debug)]
pub struct Keys {
    /// SHA-256 of the join key.
    pub join: [u8; 32],
    /// SHA-256 of the host key.
    pub host: [u8; 32],
}

/// Everything a room actor starts from: a new room, or one restored from the store.
pub struct RoomInit {
    /// The room.
    pub room: Room,
    /// Its link keys.
    pub keys: Keys,
    /// Token hashes of its participants.
    pub tokens: Vec<([u8; 32], ParticipantId)>,
    /// Its recent events, oldest first (restored rooms), for resume and retried commands.
    pub recent: Vec<StoredEvent>,
    /// The series it belongs to, with the members who may enter by their personal link.
    pub series: Option<SeriesLink>,
    /// Whether it was brought back from the store (rather than just opened).
    pub restored: bool,
}

/// A room's series: its id and the handle of its actor, the only writer of its record (the
/// room asks it who a member is, and has it record the room's pairs and commitments).
#[derive(Debug, Clone)]
pub struct SeriesLink {
    /// Series id.
    pub id: String,
    /// The series' actor.
    pub handle: crate::live::SeriesHandle,
}

/// What the actors of a server share.
#[derive(Clone)]
pub struct RoomContext {
    /// Where writes go to become durable.
    pub committer: Committer,
    /// The clock.
    pub clock: Clock,
    /// How far back (ms) a resume can replay events one by one.
    pub resume_window_ms: u64,
    /// How long (ms) after a person's last connection closes they turn away.
    pub presence_grace_ms: u64,
    /// Where a room reports that it stopped for good.
    pub notices: mpsc::UnboundedSender<Notice>,
    /// The server's metrics (commands answered, events delivered).
    pub metrics: Arc<Metrics>,
}

struct Peer {
    who: ParticipantId,
    outbox: mpsc::Sender<Outbound>,
    close_code: Arc<AtomicU16>,
}

/// An event as the resume buffer keeps it: ready to send again.
struct RecentEvent {
    seq: u64,
    at: Millis,
    frame: Utf8Bytes,
}

/// What the first frames of an admitted connection are.
enum Admission {
    /// A welcome or snapshot, made when the command was applied.
    Frame(Utf8Bytes),
    /// A `resumed` frame followed by these events.
    Replay(Vec<Utf8Bytes>),
}

/// Something a command owes the world once its writes are durable.
enum Delivery {
    /// Events for every admitted peer.
    Broadcast(Vec<Utf8Bytes>),
    /// A command's ack (`ok`) or error for its connection, counted in the metrics.
    Answer {
        conn: ConnId,
        frame: Utf8Bytes,
        ok: bool,
        received: Instant,
    },
    /// A connection enters: becomes a peer and gets its first frames.
    Admit {
        conn: ConnId,
        peer: Peer,
        first: Admission,
        reply: oneshot::Sender<Result<ParticipantId, Rejection>>,
    },
    /// Close the connections of people no longer in the room.
    CloseRemoved,
    /// The room is deleted: disconnect everyone and stop.
    Deleted,
}

/// One command's (or tick's) deliveries and the receipt they wait for.
struct Pending {
    receipt: Option<Durable>,
    deliveries: Vec<Delivery>,
}

struct Actor {
    room: Room,
    series: Option<SeriesLink>,
    keys: Keys,
    /// Token hash → participant.
    tokens: HashMap<[u8; 32], ParticipantId>,
    peers: HashMap<ConnId, Peer>,
    ctx: RoomContext,
    /// Events of the resume window, as frames, in order (including those still pending).
    recent: VecDeque<RecentEvent>,
    /// Recent acknowledged command ids per participant, with their ack frames.
    acks: HashMap<ParticipantId, VecDeque<(CommandId, Utf8Bytes)>>,
    /// Deliveries waiting for durability, in order.
    pending: VecDeque<Pending>,
    /// Writes queued this step, not yet submitted.
    open_writes: Vec<Write>,
    /// Deliveries queued this step, to wait for `open_writes`.
    open_deliveries: Vec<Delivery>,
    /// Sequence number of the last snapshot written.
    snapshot_seq: u64,
    /// People whose connection was cut off: their presence is checked after this step.
    pending_away: Vec<ParticipantId>,
    /// People whose last connection closed, and when their presence is to be checked (after
    /// [`PRESENCE_GRACE_MS`]), earliest first.
    away_due: VecDeque<(Millis, ParticipantId)>,
    /// Admissions queued but not yet delivered, per participant: they count as connected.
    arriving: HashMap<ParticipantId, usize>,
    /// Set once a delete is queued: nothing more may be written for this room.
    deleting: bool,
    /// Who waits to hear that the room is gone from disk.
    delete_waiters: Vec<oneshot::Sender<()>>,
    /// Set when the actor must stop after this step.
    stopped: bool,
}

/// Start the actor of a room and return its handle and task. The actor ends when every handle
/// is gone, or when the room is deleted or fails.
pub fn spawn_room(init: RoomInit, ctx: RoomContext) -> (RoomHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(ROOM_INBOX);
    let snapshot_seq = init.room.seq();
    let mut actor = Actor {
        room: init.room,
        series: init.series,
        keys: init.keys,
        tokens: init.tokens.into_iter().collect(),
        peers: HashMap::new(),
        ctx,
        recent: VecDeque::new(),
        acks: HashMap::new(),
        pending: VecDeque::new(),
        open_writes: Vec::new(),
        open_deliveries: Vec::new(),
        snapshot_seq,
        pending_away: Vec::new(),
        away_due: VecDeque::new(),
        arriving: HashMap::new(),
        deleting: false,
        delete_waiters: Vec::new(),
        stopped: false,
    };
    for e in init.recent {
        if let Some(origin) = &e.origin {
            let ack = ack_frame(origin.id.clone(), e.seq, e.at);
            actor.remember(origin.participant, origin.id.clone(), ack);
        }
        actor.recent.push_back(RecentEvent {
            seq: e.seq,
            at: e.at,
            frame: event_frame(&e.recorded()),
        });
    }
    while actor.recent.len() > MAX_RECENT_EVENTS {
        actor.recent.pop_front();
    }
    let span = tracing::info_span!("room", room_id = %actor.room.view().id);
    let task = tokio::spawn(tracing::Instrument::instrument(
        run_room(actor, rx, init.restored),
        span,
    ));
    (RoomHandle { inbox: tx }, task)
}

/// A series change's outcome as the store's: a series that is gone records nothing (its rooms
/// are being deleted with it).
fn series_result<R>(result: Result<R, SeriesError>) -> Result<(), StoreError> {
    match result {
        Ok(_) | Err(SeriesError::Gone) => Ok(()),
        Err(SeriesError::Store(e)) => Err(e),
    }
}

/// Serialize a server message once, as a text frame.
pub fn frame(msg: &ServerMessage) -> Utf8Bytes {
    match serde_json::to_string(msg) {
        Ok(s) => Utf8Bytes::from(s),
        Err(e) => {
            // Our own types always serialize; say so loudly if that ever changes.
            warn!(error = %e, "a server message failed to serialize");
            Utf8Bytes::from_static(
                r#"{"type":"error","code":"internal","message":"the server could not encode a message"}"#,
            )
        }
    }
}

/// An error frame.
pub fn error_frame(
    id: Option<CommandId>,
    code: ErrorCode,
    message: impl Into<String>,
) -> Utf8Bytes {
    frame(&ServerMessage::Error {
        id,
        code,
        message: message.into(),
    })
}

fn event_frame(r: &Recorded) -> Utf8Bytes {
    frame(&ServerMessage::Event {
        seq: r.seq,
        at: r.at,
        event: r.event.clone(),
    })
}

fn ack_frame(id: CommandId, seq: u64, now: Millis) -> Utf8Bytes {
    frame(&ServerMessage::Ack {
        id,
        seq,
        server_time: now,
        result: None,
    })
}

/// What woke the actor.
enum Step {
    Durable(Result<(), StoreError>),
    Msg(Option<RoomMsg>),
    Tick,
}

/// The actor loop: durability receipts first, then messages, then timer ticks.
async fn run_room(mut actor: Actor, mut inbox: mpsc::Receiver<RoomMsg>, restored: bool) {
    if restored {
        actor.nobody_here().await;
        actor.repair_series().await;
    }
    while !actor.stopped {
        let deadline = match (actor.room.next_deadline(), actor.away_due.front()) {
            (Some(d), Some(&(a, _))) => Some(d.min(a)),
            (d, a) => d.or(a.map(|&(a, _)| a)),
        };
        let clock = actor.ctx.clock.clone();
        let waiting = actor.pending.front().is_some_and(|p| p.receipt.is_some());
        let step = tokio::select! {
            biased;
            result = async {
                match actor.pending.front_mut().and_then(|p| p.receipt.as_mut()) {
                    Some(receipt) => receipt.await.unwrap_or(Err(StoreError::Closed)),
                    None => std::future::pending().await,
                }
            }, if waiting => Step::Durable(result),
            msg = inbox.recv() => Step::Msg(msg),
            _ = async {
                match deadline {
                    Some(d) => clock.sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => Step::Tick,
        };
        match step {
            Step::Durable(Ok(())) => {
                if let Some(front) = actor.pending.front_mut() {
                    front.receipt = None;
                }
            }
            Step::Durable(Err(e)) => actor.fail(&e),
            Step::Msg(Some(msg)) => {
                actor.handle(msg).await;
                // Take what else is waiting too: the commands of one step share a submission,
                // a flush and a release, so each peer gets their events in one write.
                let mut taken = 1;
                while taken < MAX_STEP_MESSAGES && !actor.stopped {
                    let Ok(msg) = inbox.try_recv() else { break };
                    actor.handle(msg).await;
                    taken += 1;
                }
            }
            Step::Msg(None) => {
                // Every handle is gone: submit what was applied, so it is kept.
                actor.seal().await;
                break;
            }
            Step::Tick => actor.tick().await,
        }
        actor.seal().await;
        actor.release_ready();
        if actor.stopped {
            break;
        }
        if actor.deleting {
            actor.pending_away.clear();
            actor.away_due.clear();
        }
        for who in std::mem::take(&mut actor.pending_away) {
            actor.presence_check(who).await;
        }
        actor.seal().await;
        actor.release_ready();
    }
    debug!("room actor stopped");
}

impl Actor {
    async fn handle(&mut self, msg: RoomMsg) {
        if self.deleting {
            return self.refuse_while_deleting(msg);
        }
        match msg {
            RoomMsg::Enter {
                conn,
                id,
                credential,
                outbox,
                close_code,
                reply,
            } => {
                let peer = Peer {
                    who: 0,
                    outbox,
                    close_code,
                };
                if let Err(r) = self.enter(conn, id.clone(), credential, peer, reply).await {
                    // `enter` gave the reply back only on failure paths that already answered.
                    debug!(code = r.code.as_str(), "entry refused");
                }
            }
            RoomMsg::Command {
                conn,
                id,
                command,
                received,
            } => self.command(conn, id, command, received).await,
            RoomMsg::Leave { conn } => {
                if let Some(peer) = self.peers.remove(&conn) {
                    if self.ctx.presence_grace_ms == 0 {
                        self.presence_check(peer.who).await;
                    } else {
                        // Checked once the grace has passed: a quick resume changes nothing.
                        let now = self.ctx.clock.now();
                        let due = now.saturating_add(self.ctx.presence_grace_ms);
                        self.away_due.push_back((due, peer.who));
                    }
                }
            }
            RoomMsg::Delete { done } => {
                self.delete_waiters.extend(done);
                self.delete(None).await
            }
            RoomMsg::Preview { key, reply } => {
                let _ = reply.send(self.preview(&key));
            }
            RoomMsg::Export { key, reply } => {
                let answer = if secret::matches(&key, &self.keys.host) {
                    Ok((
                        Box::new(self.room.view().clone()),
                        Box::new(self.room.notes().clone()),
                    ))
                } else {
                    Err(Rejection::new(
                        ErrorCode::InvalidKey,
                        "only the host link exports this room",
                    ))
                };
                let _ = reply.send(answer);
            }
        }
    }

    fn preview(&self, key: &str) -> Result<circlekeeper_protocol::RoomPreview, Rejection> {
        if !secret::matches(key, &self.keys.join) && !secret::matches(key, &self.keys.host) {
            return Err(Rejection::new(
                ErrorCode::InvalidKey,
                "this link does not open this room",
            ));
        }
        let view = self.room.view();
        Ok(circlekeeper_protocol::RoomPreview {
            title: view.title.clone(),
            format: view.format.clone(),
            ground_rules: view.ground_rules.clone(),
            status: view.session.status,
        })
    }

    /// Once a delete is queued nothing more is written: later messages are refused (and their
    /// connections closed with the rest when the delete is durable).
    fn refuse_while_deleting(&mut self, msg: RoomMsg) {
        let gone = || Rejection::new(ErrorCode::RoomNotFound, "this room is being deleted");
        match msg {
            RoomMsg::Enter {
                id, outbox, reply, ..
            } => {
                let r = gone();
                let _ = outbox.try_send(Outbound::Frame(error_frame(Some(id), r.code, &r.message)));
                let _ = reply.send(Err(r));
            }
            RoomMsg::Command {
                conn, id, received, ..
            } => {
                let r = gone();
                self.ctx.metrics.command_answered(false, received.elapsed());
                self.send_to(conn, error_frame(Some(id), r.code, r.message));
            }
            RoomMsg::Leave { conn } => {
                self.peers.remove(&conn);
            }
            RoomMsg::Delete { done } => self.delete_waiters.extend(done),
            RoomMsg::Preview { reply, .. } => {
                let _ = reply.send(Err(gone()));
            }
            RoomMsg::Export { reply, .. } => {
                let _ = reply.send(Err(gone()));
            }
        }
    }

    /// Queue deliveries behind these writes, in the entry being built: everything queued until
    /// the next [`Actor::seal`] is submitted together, so one receipt (and one release) covers
    /// every command in it.
    fn queue(&mut self, writes: Vec<Write>, deliveries: Vec<Delivery>) {
        self.open_writes.extend(writes);
        self.open_deliveries.extend(deliveries);
    }

    /// Submit the writes queued this step as one submission and put their deliveries behind
    /// its receipt (or behind nothing, if there were no writes).
    async fn seal(&mut self) {
        if self.open_deliveries.is_empty() && self.open_writes.is_empty() {
            return;
        }
        let writes = std::mem::take(&mut self.open_writes);
        let deliveries = std::mem::take(&mut self.open_deliveries);
        let receipt = if writes.is_empty() {
            None
        } else {
            Some(self.ctx.committer.submit(writes).await)
        };
        self.pending.push_back(Pending {
            receipt,
            deliveries,
        });
    }

    /// The writes and frames for new events: stored with the command they answer, kept in the
    /// resume buffer, and a snapshot when one is due.
    fn record(
        &mut self,
        events: &[Recorded],
        origin: Option<Origin>,
    ) -> (Vec<Write>, Vec<Utf8Bytes>) {
        let room_id = self.room.view().id.clone();
        let last = events.len().saturating_sub(1);
        let stored: Vec<StoredEvent> = events
            .iter()
            .enumerate()
            .map(|(i, r)| StoredEvent::new(r, if i == last { origin.clone() } else { None }))
            .collect();
        let mut frames = Vec::with_capacity(events.len());
        for r in events {
            let f = event_frame(r);
            self.recent.push_back(RecentEvent {
                seq: r.seq,
                at: r.at,
                frame: f.clone(),
            });
            frames.push(f);
        }
        self.trim_recent();
        let mut writes = Vec::with_capacity(2);
        if !stored.is_empty() {
            writes.push(Write::Events {
                room: room_id.clone(),
                events: stored,
            });
        }
        if self.room.seq() >= self.snapshot_seq + SNAPSHOT_EVERY {
            self.snapshot_seq = self.room.seq();
            writes.push(Write::Snapshot {
                room: room_id.clone(),
                snapshot: Box::new(Snapshot {
                    room: self.room.clone(),
                }),
            });
        }
        if events.iter().any(|r| {
            matches!(&r.event, circlekeeper_protocol::Event::SessionChanged { session, .. }
                if session.status == SessionStatus::Ended)
        }) {
            writes.push(Write::Ended {
                room: room_id,
                at: events.last().map_or(0, |r| r.at),
            });
        }
        (writes, frames)
    }

    /// Drop events older than the resume window (and beyond the count cap).
    fn trim_recent(&mut self) {
        let now = self.ctx.clock.now();
        let oldest = now.saturating_sub(self.ctx.resume_window_ms);
        while self
            .recent
            .front()
            .is_some_and(|e| e.at < oldest || self.recent.len() > MAX_RECENT_EVENTS)
        {
            self.recent.pop_front();
        }
    }

    fn remember(&mut self, who: ParticipantId, id: CommandId, ack: Utf8Bytes) {
        let list = self.acks.entry(who).or_default();
        if list.len() >= REMEMBERED_COMMANDS {
            list.pop_front();
        }
        list.push_back((id, ack));
    }

    async fn enter(
        &mut self,
        conn: ConnId,
        id: CommandId,
        credential: Credential,
        mut peer: Peer,
        reply: oneshot::Sender<Result<ParticipantId, Rejection>>,
    ) -> Result<(), Rejection> {
        let now = self.ctx.clock.now();
        let refuse = |peer: &Peer, reply: oneshot::Sender<_>, r: Rejection| {
            let _ = peer.outbox.try_send(Outbound::Frame(error_frame(
                Some(id.clone()),
                r.code,
                &r.message,
            )));
            let _ = reply.send(Err(r.clone()));
            Err(r)
        };
        match credential {
            Credential::New {
                host,
                key,
                name,
                token,
            } => {
                // `join` takes the join key only and `host` the host key only.
                let expected = if host {
                    &self.keys.host
                } else {
                    &self.keys.join
                };
                if !secret::matches(&key, expected) {
                    let r =
                        Rejection::new(ErrorCode::InvalidKey, "this link does not open this room");
                    return refuse(&peer, reply, r);
                }
                let standing = if host {
                    Standing::Facilitator
                } else {
                    Standing::Participant
                };
                let (who, events) = match self.room.join(now, &name, standing) {
                    Ok(joined) => joined,
                    Err(r) => return refuse(&peer, reply, r),
                };
                self.admit_with_token(conn, id, who, token, &events, peer, reply, now)
                    .await;
            }
            Credential::Member { series, key, token } => {
                // Asked of the series' actor each time: a choice or a member list changed a
                // moment ago holds at once.
                let member = match self.series.as_ref().filter(|s| s.id == series) {
                    Some(link) => link
                        .handle
                        .read(move |record| record.member_by_key(&key).cloned())
                        .await
                        .ok()
                        .flatten(),
                    None => None,
                };
                let Some(member) = member else {
                    let r = Rejection::new(
                        ErrorCode::InvalidKey,
                        "this personal link does not open this room",
                    );
                    return refuse(&peer, reply, r);
                };
                if member.choice == Some(circlekeeper_protocol::CycleChoice::End) {
                    let r = Rejection::new(ErrorCode::Forbidden, "you have left this series");
                    return refuse(&peer, reply, r);
                }
                let removed = self
                    .room
                    .view()
                    .participants
                    .iter()
                    .any(|p| p.member.as_deref() == Some(member.id.as_str()) && p.removed);
                if removed {
                    let r = Rejection::new(ErrorCode::Forbidden, "you are no longer in this room");
                    return refuse(&peer, reply, r);
                }
                // The same member on another device is the same participant.
                let existing = self
                    .room
                    .view()
                    .participants
                    .iter()
                    .find(|p| p.member.as_deref() == Some(member.id.as_str()) && !p.removed)
                    .map(|p| p.id);
                let (who, events) = match existing {
                    Some(who) => (who, self.room.set_presence(now, who, Presence::Connected)),
                    None => match self.room.join_as(
                        now,
                        &member.name,
                        Standing::Participant,
                        Some(member.id.clone()),
                    ) {
                        Ok(joined) => joined,
                        Err(r) => return refuse(&peer, reply, r),
                    },
                };
                self.admit_with_token(conn, id, who, token, &events, peer, reply, now)
                    .await;
            }
            Credential::Resume { token, last_seq } => {
                let Some(&who) = self.tokens.get(&secret::hash(&token)) else {
                    let r = Rejection::new(
                        ErrorCode::InvalidToken,
                        "this token does not belong to this room",
                    );
                    return refuse(&peer, reply, r);
                };
                if self.room.participant(who).is_none_or(|p| p.removed) {
                    let r = Rejection::new(ErrorCode::Forbidden, "you are no longer in this room");
                    return refuse(&peer, reply, r);
                }
                let events = self.room.set_presence(now, who, Presence::Connected);
                let (writes, frames) = self.record(&events, None);
                let first = self.resumption(id, who, last_seq, now);
                peer.who = who;
                *self.arriving.entry(who).or_default() += 1;
                let deliveries = vec![
                    Delivery::Broadcast(frames),
                    Delivery::Admit {
                        conn,
                        peer,
                        first,
                        reply,
                    },
                ];
                self.queue(writes, deliveries);
            }
        }
        Ok(())
    }

    /// Give `who` a personal token (stored as a hash) and admit the connection with a welcome,
    /// once the entry's events and the token are durable.
    #[allow(clippy::too_many_arguments)]
    async fn admit_with_token(
        &mut self,
        conn: ConnId,
        id: CommandId,
        who: ParticipantId,
        token: String,
        events: &[Recorded],
        mut peer: Peer,
        reply: oneshot::Sender<Result<ParticipantId, Rejection>>,
        now: Millis,
    ) {
        let hash = secret::hash(&token);
        self.tokens.insert(hash, who);
        let (mut writes, frames) = self.record(events, None);
        writes.push(Write::Token {
            room: self.room.view().id.clone(),
            hash,
            participant: who,
        });
        let welcome = self.welcome(id, who, Some(token), now);
        peer.who = who;
        *self.arriving.entry(who).or_default() += 1;
        let deliveries = vec![
            Delivery::Broadcast(frames),
            Delivery::Admit {
                conn,
                peer,
                first: Admission::Frame(welcome),
                reply,
            },
        ];
        self.queue(writes, deliveries);
    }

    fn welcome(
        &self,
        id: CommandId,
        who: ParticipantId,
        token: Option<String>,
        now: Millis,
    ) -> Utf8Bytes {
        frame(&ServerMessage::Welcome {
            id,
            protocol: PROTOCOL_VERSION,
            server_time: now,
            seq: self.room.seq(),
            you: who,
            token,
            room: Box::new(self.room.view().clone()),
        })
    }

    /// What a returning client gets first: the missed events one by one when the buffer holds
    /// them all (and not too many), a snapshot when it does not, the whole room when it saw
    /// nothing yet.
    fn resumption(
        &self,
        id: CommandId,
        who: ParticipantId,
        last_seq: Option<u64>,
        now: Millis,
    ) -> Admission {
        let seq = self.room.seq();
        let Some(last) = last_seq else {
            return Admission::Frame(self.welcome(id, who, None, now));
        };
        let oldest_kept = self.recent.front().map_or(seq + 1, |e| e.seq);
        let missed = seq.saturating_sub(last);
        if last <= seq && last + 1 >= oldest_kept && missed as usize <= MAX_REPLAY {
            let mut frames = Vec::with_capacity(missed as usize + 1);
            frames.push(frame(&ServerMessage::Resumed {
                id,
                protocol: PROTOCOL_VERSION,
                server_time: now,
                seq,
                replayed: missed,
                you: who,
            }));
            frames.extend(
                self.recent
                    .iter()
                    .filter(|e| e.seq > last)
                    .map(|e| e.frame.clone()),
            );
            return Admission::Replay(frames);
        }
        Admission::Frame(frame(&ServerMessage::Snapshot {
            id,
            protocol: PROTOCOL_VERSION,
            server_time: now,
            seq,
            recovered: false,
            you: who,
            room: Box::new(self.room.view().clone()),
        }))
    }

    async fn command(&mut self, conn: ConnId, id: CommandId, command: Command, received: Instant) {
        let Some(who) = self.peers.get(&conn).map(|p| p.who) else {
            return;
        };
        // A retried command is acknowledged again, never applied twice.
        let seen = self
            .acks
            .get(&who)
            .and_then(|list| list.iter().find(|(seen, _)| *seen == id))
            .map(|(_, ack)| ack.clone());
        let answer = |frame, ok| Delivery::Answer {
            conn,
            frame,
            ok,
            received,
        };
        if let Some(ack) = seen {
            self.queue(Vec::new(), vec![answer(ack, true)]);
            return;
        }
        let now = self.ctx.clock.now();
        // A link's new key comes from the OS before anything changes: if it cannot, nothing does.
        let link = match &command {
            Command::RotateLink { link } => Some((*link, true)),
            Command::RevokeLink { link } => Some((*link, false)),
            _ => None,
        };
        let new_key = match link {
            Some((link, issue)) => match secret::new_secret() {
                Ok(key) => Some((link, issue, key)),
                Err(e) => {
                    error!(error = %e, "no randomness for a new link key");
                    let error = error_frame(
                        Some(id),
                        ErrorCode::Internal,
                        "the server could not make a new key",
                    );
                    self.queue(Vec::new(), vec![answer(error, false)]);
                    return;
                }
            },
            None => None,
        };
        match self.room.apply(now, who, &command) {
            Ok(mut applied) => {
                if matches!(command, Command::DeleteRoom) {
                    let ack = ack_frame(id, self.room.seq(), now);
                    self.delete(Some(answer(ack, true))).await;
                    return;
                }
                let mut writes = Vec::new();
                if let Some((link, issue, key)) = new_key {
                    writes.push(self.replace_key(link, &key));
                    applied.result = issue.then_some(AckResult::Link { link, key });
                }
                let ack = frame(&ServerMessage::Ack {
                    id: id.clone(),
                    seq: self.room.seq(),
                    server_time: now,
                    result: applied.result,
                });
                let origin = (!applied.events.is_empty()).then(|| Origin {
                    participant: who,
                    id: id.clone(),
                });
                // Remember the id of anything that changed the room or wrote a note, so a retry
                // (after a lost ack) is acknowledged again instead of applied twice.
                if origin.is_some() || Room::writes_notes(&command) {
                    self.remember(who, id, ack.clone());
                }
                // The series' record first: its change is durable before this command's ack.
                let series = if matches!(command, Command::ConfirmPairs | Command::PlaceLate { .. })
                {
                    self.record_pairs().await
                } else if Room::writes_notes(&command) {
                    self.record_commitments(false).await
                } else {
                    Ok(())
                };
                if let Err(e) = series {
                    return self.fail(&e);
                }
                let (recorded, frames) = self.record(&applied.events, origin);
                writes.extend(recorded);
                if Room::writes_notes(&command) {
                    writes.push(Write::Notes {
                        room: self.room.view().id.clone(),
                        notes: Box::new(self.room.notes().clone()),
                    });
                }
                let deliveries = vec![
                    Delivery::Broadcast(frames),
                    answer(ack, true),
                    Delivery::CloseRemoved,
                ];
                self.queue(writes, deliveries);
            }
            Err(r) => {
                let error = error_frame(Some(id), r.code, r.message);
                self.queue(Vec::new(), vec![answer(error, false)]);
            }
        }
    }

    /// Replace a link's key hash with the hash of `key` (`rotate_link`, `revoke_link`): the old
    /// key stops opening the room at once. Returns the write that makes the new hashes durable,
    /// with the command's events. (`revoke_link` drops its key after this, so nobody holds it.)
    fn replace_key(&mut self, link: LinkKind, key: &str) -> Write {
        let hash = secret::hash(key);
        match link {
            LinkKind::Join => self.keys.join = hash,
            LinkKind::Host => self.keys.host = hash,
        }
        Write::Keys {
            room: self.room.view().id.clone(),
            join: self.keys.join,
            host: self.keys.host,
        }
    }

    /// In a series room: write the confirmed pairs into the series' history (the next
    /// session's pairing reads it), through the series' actor, durably.
    async fn record_pairs(&self) -> Result<(), StoreError> {
        let Some(link) = &self.series else {
            return Ok(());
        };
        let room = self.room.view().id.clone();
        let groups = self.room.groups_as_people();
        series_result(
            link.handle
                .update(move |record| match record.session_of(&room) {
                    Some(session) => {
                        record.record_pairs(session, &groups);
                        ((), Change::Save(Vec::new()))
                    }
                    None => ((), Change::None),
                })
                .await,
        )
    }

    /// In a series room: keep this room's commitments (and reviews of earlier ones) in the
    /// series record, for the members' next session, through the series' actor, durably. With
    /// `missing_only`, only commitments the series does not hold yet are added (a room brought
    /// back after a crash repairs what its series may have missed, and never undoes a later
    /// session's review).
    async fn record_commitments(&self, missing_only: bool) -> Result<(), StoreError> {
        let Some(link) = &self.series else {
            return Ok(());
        };
        let notes = self.room.notes();
        let mut mine: Vec<circlekeeper_protocol::Commitment> = notes.commitments.clone();
        if !missing_only {
            mine.extend(notes.earlier.iter().cloned());
        }
        if mine.is_empty() {
            return Ok(());
        }
        series_result(
            link.handle
                .update(move |record| {
                    if missing_only {
                        mine.retain(|c| !record.commitments.iter().any(|k| k.id == c.id));
                    }
                    let before = record.commitments.clone();
                    record.merge_commitments(&mine);
                    if record.commitments == before {
                        ((), Change::None)
                    } else {
                        ((), Change::Save(Vec::new()))
                    }
                })
                .await,
        )
    }

    /// A room brought back from the store has nobody connected yet: whoever it shows as
    /// connected is away (written like any change, before anything else is).
    async fn nobody_here(&mut self) {
        let present: Vec<ParticipantId> = self
            .room
            .view()
            .participants
            .iter()
            .filter(|p| p.presence == Presence::Connected)
            .map(|p| p.id)
            .collect();
        let now = self.ctx.clock.now();
        let mut events = Vec::new();
        for who in present {
            events.extend(self.room.set_presence(now, who, Presence::Away));
        }
        if events.is_empty() {
            return;
        }
        let (writes, frames) = self.record(&events, None);
        self.queue(writes, vec![Delivery::Broadcast(frames)]);
        self.seal().await;
    }

    /// A room brought back from the store gives its series what a crash between the room's
    /// commit and the series' may have lost: its pairs, if the series has none for this
    /// session, and commitments the series does not hold. Both are no-ops when nothing was lost.
    async fn repair_series(&mut self) {
        let Some(link) = &self.series else { return };
        let room = self.room.view().id.clone();
        let groups = self.room.groups_as_people();
        let pairs = if groups.is_empty() {
            Ok(())
        } else {
            series_result(
                link.handle
                    .update(move |record| {
                        let Some(session) = record.session_of(&room) else {
                            return ((), Change::None);
                        };
                        let recorded = record
                            .history
                            .pairs()
                            .any(|(_, _, sessions)| sessions.contains(&session));
                        if recorded {
                            return ((), Change::None);
                        }
                        record.record_pairs(session, &groups);
                        ((), Change::Save(Vec::new()))
                    })
                    .await,
            )
        };
        let result = match pairs {
            Ok(()) => self.record_commitments(true).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            warn!(error = %e, "a restored room could not repair its series record");
        }
    }

    async fn tick(&mut self) {
        if self.deleting {
            return;
        }
        let now = self.ctx.clock.now();
        // Presence first: whoever's grace has passed without a connection is away now.
        while let Some(&(due, who)) = self.away_due.front() {
            if due > now {
                break;
            }
            self.away_due.pop_front();
            self.pending_away.push(who);
        }
        let events = self.room.tick(now);
        if events.is_empty() {
            return;
        }
        let (writes, frames) = self.record(&events, None);
        self.queue(writes, vec![Delivery::Broadcast(frames)]);
    }

    /// Remove the room from disk, then (once that is durable) disconnect everyone and stop.
    async fn delete(&mut self, ack: Option<Delivery>) {
        let room = self.room.view().id.clone();
        let mut deliveries: Vec<Delivery> = ack.into_iter().collect();
        deliveries.push(Delivery::Deleted);
        self.queue(vec![Write::Delete { room }], deliveries);
        self.deleting = true;
    }

    /// Release, in order, every pending entry whose writes are durable.
    fn release_ready(&mut self) {
        loop {
            let Some(front) = self.pending.front_mut() else {
                return;
            };
            if let Some(receipt) = front.receipt.as_mut() {
                match receipt.try_recv() {
                    Ok(Ok(())) => front.receipt = None,
                    Ok(Err(e)) => return self.fail(&e),
                    Err(oneshot::error::TryRecvError::Empty) => return,
                    Err(oneshot::error::TryRecvError::Closed) => {
                        return self.fail(&StoreError::Closed)
                    }
                }
            }
            let Some(ready) = self.pending.pop_front() else {
                return;
            };
            for d in ready.deliveries {
                self.deliver(d);
            }
            if self.stopped {
                return;
            }
        }
    }

    fn deliver(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::Broadcast(frames) => {
                let mut delivered = 0;
                for f in frames {
                    let mut slow = Vec::new();
                    for (&conn, peer) in &self.peers {
                        if peer.outbox.try_send(Outbound::Frame(f.clone())).is_err() {
                            slow.push(conn);
                        } else {
                            delivered += 1;
                        }
                    }
                    for conn in slow {
                        self.cut_off(conn, close::TOO_SLOW);
                    }
                }
                if delivered > 0 {
                    self.ctx.metrics.events_delivered(delivered);
                }
            }
            Delivery::Answer {
                conn,
                frame,
                ok,
                received,
            } => {
                self.ctx.metrics.command_answered(ok, received.elapsed());
                self.send_to(conn, frame);
            }
            Delivery::Admit {
                conn,
                peer,
                first,
                reply,
            } => {
                let who = peer.who;
                if let Some(n) = self.arriving.get_mut(&who) {
                    *n = n.saturating_sub(1);
                }
                let frames = match first {
                    Admission::Frame(f) => vec![f],
                    Admission::Replay(frames) => frames,
                };
                let sent = frames
                    .into_iter()
                    .all(|f| peer.outbox.try_send(Outbound::Frame(f)).is_ok());
                if sent {
                    self.peers.insert(conn, peer);
                    let _ = reply.send(Ok(who));
                } else {
                    peer.close_code.store(close::TOO_SLOW, Ordering::Relaxed);
                    let _ = reply.send(Err(Rejection::new(
                        ErrorCode::Internal,
                        "could not send the room",
                    )));
                }
            }
            Delivery::CloseRemoved => self.close_removed(),
            Delivery::Deleted => {
                let conns: Vec<ConnId> = self.peers.keys().copied().collect();
                for conn in conns {
                    self.cut_off(conn, close::ROOM_DELETED);
                }
                let _ = self
                    .ctx
                    .notices
                    .send(Notice::Deleted(self.room.view().id.clone()));
                for done in self.delete_waiters.drain(..) {
                    let _ = done.send(());
                }
                self.stopped = true;
            }
        }
    }

    /// The store failed: nothing pending may be acknowledged. Disconnect everyone (they will
    /// find the room as it was on disk after a restart) and stop serving this room.
    fn fail(&mut self, e: &StoreError) {
        error!(error = %e, "events could not be made durable; the room stops");
        self.pending.clear();
        self.open_writes.clear();
        self.open_deliveries.clear();
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in conns {
            self.cut_off(conn, close::GOING_AWAY);
        }
        let _ = self
            .ctx
            .notices
            .send(Notice::Failed(self.room.view().id.clone()));
        self.stopped = true;
    }

    fn send_to(&mut self, conn: ConnId, bytes: Utf8Bytes) {
        let full = self
            .peers
            .get(&conn)
            .is_some_and(|p| p.outbox.try_send(Outbound::Frame(bytes)).is_err());
        if full {
            self.cut_off(conn, close::TOO_SLOW);
        }
    }

    /// Drop a connection's outbox after recording why: its task closes the socket. Presence is
    /// updated by the `Leave` the connection task sends when it ends.
    fn cut_off(&mut self, conn: ConnId, code: u16) {
        if let Some(peer) = self.peers.remove(&conn) {
            peer.close_code.store(code, Ordering::Relaxed);
            debug!(conn, code, "connection cut off");
            self.pending_away.push(peer.who);
        }
    }

    /// Close the connections of anyone who is no longer in the room.
    fn close_removed(&mut self) {
        let gone: Vec<ConnId> = self
            .peers
            .iter()
            .filter(|(_, p)| self.room.participant(p.who).is_none_or(|v| v.removed))
            .map(|(&c, _)| c)
            .collect();
        for conn in gone {
            self.cut_off(conn, close::REMOVED);
        }
    }

    /// Mark someone away when their last connection has gone.
    async fn presence_check(&mut self, who: ParticipantId) {
        let arriving = self.arriving.get(&who).is_some_and(|&n| n > 0);
        if arriving || self.peers.values().any(|p| p.who == who) {
            return;
        }
        let now = self.ctx.clock.now();
        let events = self.room.set_presence(now, who, Presence::Away);
        if events.is_empty() {
            return;
        }
        let (writes, frames) = self.record(&events, None);
        self.queue(writes, vec![Delivery::Broadcast(frames)]);
    }
}
