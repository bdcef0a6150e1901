//! The room actor: one task per live room that owns its [`Room`], its connected peers, its
//! credentials and its recent history, and is the only writer of that room.
//!
//! The actor is a pump around the pure core. Every input — someone entering, a command, a
//! presence change, time passing — goes through [`Room::handle`], and the actor carries out the
//! [`Outcome`](crate::room::state::Outcome) it returns without knowing which command caused it:
//! it journals the events with whatever the effects write, and once they are durable delivers
//! the answer and the events and carries out the rest. It knows no command by name.
//!
//! Connections talk to it through a cloneable [`RoomHandle`] over a bounded inbox. The inputs
//! of one wake-up (all that wait in the inbox) share one submission to the group-commit thread
//! and one pending entry, so they are flushed and released together and each peer gets them in
//! one write. Entries are released strictly in order, each only when its writes are durable:
//! nothing is acknowledged or broadcast before it is on disk, yet the room keeps handling
//! inputs while a flush runs. Each event is serialized once and the same bytes go to every
//! peer's bounded outbox; a peer whose outbox is full is cut off (close code 4008) rather than
//! allowed to slow the room.
//!
//! The actor's parts, each in a module of its own:
//!
//! - `admission` — how a connection's credentials become an `Input`:
//!   keys and tokens compared with the hashes the actor holds, series members looked up;
//! - `pump` — one input through the core, and its effects carried out;
//! - `journal` — the group-commit pipeline: writes queued, sealed into one submission, and the
//!   deliveries that wait for it released in order once durable;
//! - `delivery` — frames to peers, answers, admissions and cut-offs;
//! - `resume` — the resume buffer, remembered acks, and what a returning client gets first;
//! - `series` — what the room records in its series (pairs, commitments) through the series'
//!   actor, and the repair of a room brought back after a crash.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use circlekeeper_protocol::{close, CommandId, ErrorCode, Millis, ParticipantId, Presence};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::room::state::{Input, Rejection, Room};
use crate::store::{Committer, StoreError, StoredEvent, Write};

mod admission;
mod delivery;
mod journal;
pub mod outbox;
mod pump;
mod resume;
mod series;

pub use admission::Credential;
pub use delivery::{error_frame, frame, ConnId, Cutoff, Outbound, PEER_OUTBOX};
pub use journal::{MAX_STEP_MESSAGES, SNAPSHOT_EVERY};
pub use resume::{MAX_RECENT_EVENTS, MAX_REPLAY, REMEMBERED_COMMANDS};

use delivery::{Delivery, Peer};
use journal::Pending;
use pump::{Sender, Spare};
use resume::{RecentEvent, Remembered};

/// How many messages may wait in a room's inbox. Connections wait (backpressure) when it is
/// full; a room of 64 people sending a command each still fits several times over.
pub const ROOM_INBOX: usize = 256;

/// How long after a person's last connection closes they are shown `away`, by default (the
/// server's `presence_grace` setting). A quick reconnect
/// (a network blip, a page reload, a phone changing networks) within it changes nothing the
/// others see, and costs the room no events: when a third of a server's connections drop and
/// resume at once, this spares every room two presence events per person.
pub const PRESENCE_GRACE_MS: Millis = 3_000;

/// A message to a room actor.
pub enum RoomMsg {
    /// A connection enters the room. The actor sends the welcome (or error) on the outbox.
    Enter {
        /// The connection.
        conn: ConnId,
        /// The command id of `join` / `host` / `member` / `resume`.
        id: CommandId,
        /// Who they say they are (boxed: it keeps every room's inbox slots small).
        credential: Box<Credential>,
        /// The connection's outbox.
        outbox: outbox::Sender<Outbound>,
        /// Where the actor writes the close code if it cuts the connection off.
        cutoff: Arc<Cutoff>,
        /// Who they are, once admitted.
        reply: oneshot::Sender<Result<ParticipantId, Rejection>>,
    },
    /// A command from an admitted connection.
    Command {
        /// The connection.
        conn: ConnId,
        /// The command id.
        id: CommandId,
        /// The command (boxed: it keeps every room's inbox slots small; the channel allocates
        /// them 32 at a time).
        command: Box<circlekeeper_protocol::Command>,
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
    /// Stop serving the room on this node (another node wants it, or this node lost its
    /// lease, or is shutting down): what is pending is made durable and delivered, then every
    /// connection is closed with `code` and the actor stops. `done` is answered when it has.
    HandOver {
        /// The close code for its connections ([`close::ROOM_MOVED`] or
        /// [`close::GOING_AWAY`]).
        code: u16,
        /// Answered once the actor has stopped.
        done: oneshot::Sender<()>,
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
    /// The room's stored records are damaged (or a write was refused as damaged): it stopped
    /// and must not be loaded again until the operator has looked.
    Failed(String),
    /// The room stopped because the store could not be reached; loading it again (once the
    /// store is back) serves it as it is on disk.
    Stopped(String),
    /// Another node holds the room's lease now (its write was refused, or it was handed over):
    /// it stopped here, and its connections were told to reconnect (`4012`).
    Moved(String),
}

impl Notice {
    /// The notice of a room that stops with close `code`.
    pub fn for_close(code: u16) -> fn(String) -> Notice {
        if code == close::ROOM_MOVED {
            Notice::Moved
        } else {
            Notice::Stopped
        }
    }

    /// The room it is about.
    pub fn room(&self) -> &str {
        match self {
            Notice::Deleted(id) | Notice::Failed(id) | Notice::Stopped(id) | Notice::Moved(id) => {
                id
            }
        }
    }
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

    /// Whether both handles lead to the same actor.
    pub fn same(&self, other: &RoomHandle) -> bool {
        self.inbox.same_channel(&other.inbox)
    }

    /// Whether the actor has stopped (its inbox is gone).
    pub fn is_closed(&self) -> bool {
        self.inbox.is_closed()
    }

    /// Resolves once the actor has stopped.
    pub async fn closed(&self) {
        self.inbox.closed().await;
    }
}

/// A room's link keys, as hashes, and the join key itself where it was kept.
#[derive(Clone, Debug)]
pub struct Keys {
    /// SHA-256 of the join key.
    pub join: [u8; 32],
    /// SHA-256 of the host key.
    pub host: [u8; 32],
    /// The current join key, for `show_link` (never logged).
    pub join_key: crate::secret::KeptKey,
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
    /// The fence of this node's lease on the room (several nodes): every submission of the
    /// room carries it, so that a write after the lease was lost is refused.
    pub fence: Option<u64>,
}

/// A room's series: its id and the way to its actor, the only writer of its record (the room
/// asks it who a member is, and has it record the room's pairs and commitments).
#[derive(Debug, Clone)]
pub struct SeriesLink {
    /// Series id.
    pub id: String,
    /// The series' actor, wherever it runs when asked.
    pub handle: crate::live::SeriesRef,
}

/// What the actors of a server share.
#[derive(Clone)]
pub struct RoomContext {
    /// Where writes go to become durable.
    pub committer: Committer,
    /// The store, read (once durable) for the events a resume reaches further back than the
    /// in-memory tail.
    pub store: Arc<dyn crate::store::Store>,
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

struct Actor {
    room: Room,
    series: Option<SeriesLink>,
    keys: Keys,
    /// Token hash → participant.
    tokens: HashMap<[u8; 32], ParticipantId>,
    peers: HashMap<ConnId, Peer>,
    ctx: RoomContext,
    /// A random secret made ahead, for the next token or link key an effect asks for.
    spare: Spare,
    /// The last events (the tail), as frames, in order (including those still pending).
    recent: VecDeque<RecentEvent>,
    /// The seq and time of the events of the resume window older than the tail, in order:
    /// a resume that reaches them reads them from the store.
    older: VecDeque<(u64, Millis)>,
    /// Recent acknowledged command ids per participant, with what their acks said.
    acks: HashMap<ParticipantId, VecDeque<Remembered>>,
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
    /// The fence of this node's lease on the room, if there are leases.
    fence: Option<u64>,
    /// Set by [`RoomMsg::HandOver`]: once nothing is pending, stop with this close code and
    /// answer.
    handing_over: Option<(u16, oneshot::Sender<()>)>,
    /// This actor's submissions, each building on the ones before: once one fails, the rest
    /// are refused unwritten (the room stops, and is loaded again as stored).
    chain: crate::store::Chain,
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
        spare: Spare::new(),
        recent: VecDeque::new(),
        older: VecDeque::new(),
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
        fence: init.fence,
        handing_over: None,
        chain: crate::store::Chain::default(),
    };
    actor.restore_recent(init.recent);
    let span = tracing::info_span!("room", room_id = %actor.room.view().id);
    let task = tokio::spawn(tracing::Instrument::instrument(
        run_room(actor, rx, init.restored),
        span,
    ));
    (RoomHandle { inbox: tx }, task)
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
        Box::pin(actor.nobody_here()).await;
        Box::pin(actor.repair_series()).await;
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
                // Each step's future is boxed (made and freed as the step runs): held inline,
                // the largest of them (an entry, a command with effects that await the series)
                // would take room in every live room's task, busy or not.
                Box::pin(actor.handle(msg)).await;
                // Take what else is waiting too: the inputs of one step share a submission,
                // a flush and a release, so each peer gets their events in one write.
                let mut taken = 1;
                while taken < MAX_STEP_MESSAGES && !actor.stopped {
                    let Ok(msg) = inbox.try_recv() else { break };
                    Box::pin(actor.handle(msg)).await;
                    taken += 1;
                }
            }
            Step::Msg(None) => {
                // Every handle is gone: submit what was applied, so it is kept.
                actor.seal().await;
                break;
            }
            Step::Tick => Box::pin(actor.tick()).await,
        }
        actor.seal().await;
        actor.release_ready();
        if actor.stopped {
            break;
        }
        if actor.pending.is_empty() {
            if let Some((code, done)) = actor.handing_over.take() {
                actor.stop(code, Notice::for_close(code));
                let _ = done.send(());
                break;
            }
        }
        if actor.deleting {
            actor.pending_away.clear();
            actor.away_due.clear();
        }
        for who in std::mem::take(&mut actor.pending_away) {
            Box::pin(actor.presence_check(who)).await;
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
        if let Some((code, _)) = &self.handing_over {
            let code = *code;
            return self.refuse_while_handing_over(msg, code);
        }
        match msg {
            RoomMsg::Enter {
                conn,
                id,
                credential,
                outbox,
                cutoff,
                reply,
            } => {
                let (input, last_seq, guest_key) = Box::pin(self.entry(*credential)).await;
                let peer = Peer {
                    who: 0,
                    outbox,
                    cutoff,
                };
                let from = Sender::Entry {
                    conn,
                    id,
                    peer,
                    reply,
                    last_seq,
                    guest_key,
                };
                self.pump(input, from).await;
            }
            RoomMsg::Command {
                conn,
                id,
                command,
                received,
            } => {
                let Some(who) = self.peers.get(&conn).map(|p| p.who) else {
                    return;
                };
                // A retried command is acknowledged again, never applied twice.
                if let Some(ack) = self.remembered(who, &id) {
                    self.open_deliveries.push(Delivery::Answer {
                        conn,
                        frame: ack,
                        ok: true,
                        received,
                    });
                    return;
                }
                let from = Sender::Command {
                    conn,
                    who,
                    id,
                    received,
                };
                let input = Input::Command {
                    from: who,
                    command: *command,
                };
                self.pump(input, from).await;
            }
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
                self.delete(None);
            }
            RoomMsg::Preview { key, reply } => {
                let _ = reply.send(self.preview(&key));
            }
            RoomMsg::Export { key, reply } => {
                let _ = reply.send(self.export(&key));
            }
            RoomMsg::HandOver { code, done } => self.handing_over = Some((code, done)),
        }
    }

    /// While the room is handed over, nothing new is taken: an entry is closed with the
    /// hand-over's code (the client reconnects and finds the room where it went), a command is
    /// left unanswered (its connection is closed with the rest: the client resumes and sends
    /// it again), and reads are refused with `unavailable`.
    fn refuse_while_handing_over(&mut self, msg: RoomMsg, code: u16) {
        let moving = || Rejection::new(ErrorCode::Unavailable, "this room is moving: try again");
        match msg {
            RoomMsg::Enter { cutoff, .. } => cutoff.set(code),
            RoomMsg::Command { .. } => {}
            RoomMsg::Leave { conn } => {
                self.peers.remove(&conn);
            }
            RoomMsg::Delete { done } => self.delete_waiters.extend(done),
            RoomMsg::Preview { reply, .. } => {
                let _ = reply.send(Err(moving()));
            }
            RoomMsg::Export { reply, .. } => {
                let _ = reply.send(Err(moving()));
            }
            RoomMsg::HandOver { done, .. } => {
                // Answered when the first one is done: the actor stops then.
                drop(done);
            }
        }
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
            // Answered (by its sender's drop) when the room is gone: nothing to hand over.
            RoomMsg::HandOver { .. } => {}
        }
    }

    /// Time has passed: whoever's grace ran out without a connection is checked for `away`
    /// after this step, and the room's due timers fire.
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
        self.pump(Input::Tick, Sender::Nobody).await;
    }

    /// Remove the room from disk, then (once that is durable) disconnect everyone and stop.
    /// `answer` (the ack of the command that asked for it, if one did) is sent first.
    fn delete(&mut self, answer: Option<Delivery>) {
        let room = self.room.view().id.clone();
        self.open_writes.push(Write::Delete { room });
        self.open_deliveries.extend(answer);
        self.open_deliveries.push(Delivery::Deleted);
        self.deleting = true;
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
        for participant in present {
            let input = Input::Presence {
                participant,
                presence: Presence::Away,
            };
            self.pump(input, Sender::Nobody).await;
        }
        self.seal().await;
    }

    /// Mark someone away when their last connection has gone.
    async fn presence_check(&mut self, who: ParticipantId) {
        let arriving = self.arriving.get(&who).is_some_and(|&n| n > 0);
        if arriving || self.peers.values().any(|p| p.who == who) {
            return;
        }
        let input = Input::Presence {
            participant: who,
            presence: Presence::Away,
        };
        self.pump(input, Sender::Nobody).await;
    }
}

#[cfg(test)]
mod tests;
