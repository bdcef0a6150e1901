//! Delivery: what a room sends its connections once a step is durable. Each event is
//! serialized once and the same bytes go to every peer; answers go to their sender; an
//! admitted connection becomes a peer with its first frames; people no longer in the room, or
//! too slow to keep up, are cut off with a close code their connection task sends (woken at
//! once through its [`Cutoff`], even while it waits to write).
//!
//! What one released step owes a peer goes to it as one [`Outbound::Batch`]: one channel
//! send and at most one wake-up of its connection task per step, however many events and
//! answers the step holds, and the task writes them with one flush.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use circlekeeper_protocol::{
    close, limits, AckResult, CommandId, ErrorCode, Event, Millis, ParticipantId, ServerMessage,
};
use serde::Serialize;
use tokio::sync::{oneshot, Notify};
use tracing::{debug, warn};

use super::{outbox, Actor, Notice};
use crate::room::state::{Recorded, Rejection};

/// How many frames may wait for one connection. A client that falls this far behind is cut off
/// with close code 4008 and resumes later; it never slows its room. Bounds both the outbox's
/// messages and the frames its batches hold ([`Cutoff::queued`]). The channel allocates as it
/// fills, so an idle connection does not pay for this capacity.
pub const PEER_OUTBOX: usize = 1024;

/// A connection's id, unique within the server.
pub type ConnId = u64;

/// What the actor sends a connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A JSON text frame: an event, or the first frames of an entry.
    Frame(Utf8Bytes),
    /// The answer (`ack` or `error`) to one of the connection's commands: the connection counts
    /// them, so that before it closes it can wait for the answers it still owes its client.
    Answer(Utf8Bytes),
    /// What one step owes the connection, in order: events and answers. Its frames count in
    /// [`Cutoff::queued`] until the connection takes them ([`Outbound::taken`]).
    Batch {
        /// The frames, in the order they are to be written.
        frames: Vec<Utf8Bytes>,
        /// How many of them are answers to the connection's commands.
        answers: usize,
    },
}

impl Outbound {
    /// Take what the connection is to write: its frames are pushed onto `out` in order, the
    /// batch's count is given back to `cutoff`, and the number of answers among them is
    /// returned.
    pub fn taken(self, cutoff: &Cutoff, out: &mut Vec<Utf8Bytes>) -> usize {
        match self {
            Outbound::Frame(bytes) => {
                out.push(bytes);
                0
            }
            Outbound::Answer(bytes) => {
                out.push(bytes);
                1
            }
            Outbound::Batch { frames, answers } => {
                cutoff.queued.fetch_sub(frames.len(), Ordering::AcqRel);
                out.extend(frames);
                answers
            }
        }
    }
}

/// Why a room cut a connection off, shared by the room and the connection's task: the close
/// code the task is to send, and a wake-up for a task that is waiting to write to a client
/// that stopped reading (it gives up on the frames still queued when it is cut off as too slow).
#[derive(Debug, Default)]
pub struct Cutoff {
    /// The close code, once cut off (0 until then).
    code: AtomicU16,
    /// Wakes the task waiting in [`Cutoff::wait`].
    woken: Notify,
    /// Frames in [`Outbound::Batch`]es sent and not yet taken by the connection: at most
    /// [`PEER_OUTBOX`] (single frames are bounded by the channel's own capacity).
    queued: AtomicUsize,
}

impl Cutoff {
    /// Not cut off (yet).
    pub fn new() -> Cutoff {
        Cutoff::default()
    }

    /// The close code the room cut the connection off with, if it did.
    pub fn code(&self) -> Option<u16> {
        match self.code.load(Ordering::Acquire) {
            0 => None,
            code => Some(code),
        }
    }

    /// Cut the connection off with `code`, and wake its task.
    pub(super) fn set(&self, code: u16) {
        self.code.store(code, Ordering::Release);
        self.woken.notify_waiters();
    }

    /// Wait until the connection is cut off; its close code.
    pub async fn wait(&self) -> u16 {
        loop {
            let woken = self.woken.notified();
            tokio::pin!(woken);
            // Registered before the check, so a `set` between the two is not missed.
            woken.as_mut().enable();
            if let Some(code) = self.code() {
                return code;
            }
            woken.await;
        }
    }
}

/// An admitted connection.
pub(super) struct Peer {
    /// Who it is.
    pub(super) who: ParticipantId,
    /// Its outbox.
    pub(super) outbox: outbox::Sender<Outbound>,
    /// Where the reason is written when the room cuts it off.
    pub(super) cutoff: Arc<Cutoff>,
}

impl Peer {
    /// Send frames (`answers` of them answers) as one message; `false` if the connection is
    /// too far behind to take them (it is then to be cut off as too slow).
    fn offer(&self, mut frames: Vec<Utf8Bytes>, answers: usize) -> bool {
        if frames.len() == 1 {
            let Some(f) = frames.pop() else { return true };
            let one = if answers == 1 {
                Outbound::Answer(f)
            } else {
                Outbound::Frame(f)
            };
            return self.outbox.try_send(one).is_ok();
        }
        let n = frames.len();
        // Only this room adds to the count; the connection only takes away, so a stale read
        // can only be too high, never let more through than the bound.
        if n == 0 || self.cutoff.queued.load(Ordering::Acquire) + n > PEER_OUTBOX {
            return n == 0;
        }
        self.cutoff.queued.fetch_add(n, Ordering::AcqRel);
        if self
            .outbox
            .try_send(Outbound::Batch { frames, answers })
            .is_err()
        {
            self.cutoff.queued.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        true
    }
}

/// A run of a step's broadcasts and answers, gathered so that each peer gets its share in one
/// message.
#[derive(Default)]
struct Segment {
    /// Frames for every peer, in order, or one connection's answer.
    items: Vec<Item>,
    /// How many broadcast frames the run holds.
    broadcast: usize,
}

/// One item of a [`Segment`].
enum Item {
    /// A frame for every peer.
    All(Utf8Bytes),
    /// An answer for one connection.
    To(ConnId, Utf8Bytes),
}

/// What the first frames of an admitted connection are.
pub(super) enum Admission {
    /// A welcome or snapshot.
    Frame(Utf8Bytes),
    /// A `resumed` frame followed by the events missed (some read from the store when
    /// delivered: see `resume`).
    Replay(super::resume::Replay),
}

/// Something an input owes the world once its writes are durable.
pub(super) enum Delivery {
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
    /// Close every connection of someone no longer in the room.
    Disconnect(ParticipantId),
    /// The room is deleted: disconnect everyone and stop.
    Deleted,
}

/// Serialize a server message once, as a text frame. A frame larger than clients are asked to
/// accept ([`limits::MAX_SERVER_FRAME_BYTES`]) would make the websocket library fail the
/// connection without a word, so it is not sent: the log says which message and how large
/// (never what it holds), and an `internal` error answering the same command goes in its
/// place. Within the room limits no frame comes near this size (`tests/full_room.rs`).
pub fn frame(msg: &ServerMessage) -> Utf8Bytes {
    framed(msg, || described(msg))
}

/// Most frames' size, in bytes: the buffer a frame is serialized into starts this large, so
/// that an event or an ack takes one allocation.
const FRAME_START_BYTES: usize = 256;

/// Serialize `msg` as a text frame (see [`frame`]); `what` says what it is, for the log, if it
/// is too large to send.
fn framed<T: Serialize>(
    msg: &T,
    what: impl FnOnce() -> (&'static str, Option<CommandId>),
) -> Utf8Bytes {
    let mut out = Vec::with_capacity(FRAME_START_BYTES);
    match serde_json::to_writer(&mut out, msg).map(|()| String::from_utf8(out)) {
        Ok(Ok(s)) if s.len() <= limits::MAX_SERVER_FRAME_BYTES => Utf8Bytes::from(s),
        Ok(Ok(s)) => {
            let (kind, id) = what();
            warn!(
                kind,
                bytes = s.len(),
                limit = limits::MAX_SERVER_FRAME_BYTES,
                "a server frame is too large to send; an internal error goes in its place"
            );
            error_frame(
                id,
                ErrorCode::Internal,
                "the server could not send a message this large",
            )
        }
        Ok(Err(e)) => {
            // serde_json writes UTF-8 only; say so loudly if that ever changes.
            warn!(error = %e, "a server message was not UTF-8");
            Utf8Bytes::from_static(
                r#"{"type":"error","code":"internal","message":"the server could not encode a message"}"#,
            )
        }
        Err(e) => {
            // Our own types always serialize; say so loudly if that ever changes.
            warn!(error = %e, "a server message failed to serialize");
            Utf8Bytes::from_static(
                r#"{"type":"error","code":"internal","message":"the server could not encode a message"}"#,
            )
        }
    }
}

/// [`ServerMessage::Event`], borrowing its event: the same JSON, byte for byte, without a copy
/// of the event.
#[derive(Serialize)]
#[serde(tag = "type", rename = "event")]
struct EventFrame<'a> {
    seq: u64,
    at: Millis,
    event: &'a Event,
}

/// [`ServerMessage::Ack`], borrowing its id: the same JSON, byte for byte.
#[derive(Serialize)]
#[serde(tag = "type", rename = "ack")]
struct AckFrame<'a> {
    id: &'a str,
    seq: u64,
    server_time: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a AckResult>,
}

/// What a server message is (its `type`, and an event's own `type`), for the log, and the id
/// of the command it answers, if any.
fn described(msg: &ServerMessage) -> (&'static str, Option<CommandId>) {
    match msg {
        ServerMessage::Welcome { id, .. } => ("welcome", Some(id.clone())),
        ServerMessage::Resumed { id, .. } => ("resumed", Some(id.clone())),
        ServerMessage::Snapshot { id, .. } => ("snapshot", Some(id.clone())),
        ServerMessage::Ack { id, .. } => ("ack", Some(id.clone())),
        ServerMessage::Error { id, .. } => ("error", id.clone()),
        ServerMessage::Event { event, .. } => (event.name(), None),
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

/// An event's frame, as every peer gets it.
pub(super) fn event_frame(r: &Recorded) -> Utf8Bytes {
    let msg = EventFrame {
        seq: r.seq,
        at: r.at,
        event: &r.event,
    };
    framed(&msg, || (r.event.name(), None))
}

/// An ack without a result.
pub(super) fn ack_frame(id: CommandId, seq: u64, now: Millis) -> Utf8Bytes {
    ack_with(&id, seq, now, None)
}

/// An ack: the command's id, the room's seq after it, and its result if it has one.
pub(super) fn ack_with(id: &str, seq: u64, now: Millis, result: Option<&AckResult>) -> Utf8Bytes {
    let msg = AckFrame {
        id,
        seq,
        server_time: now,
        result,
    };
    framed(&msg, || ("ack", Some(id.to_string())))
}

impl Actor {
    /// Carry out one released step's deliveries, in order. Broadcasts and answers are gathered
    /// and each peer gets its share as one message; an admission, a disconnection or the
    /// room's deletion first sends what was gathered before it, so every peer sees the same
    /// order as if each frame had been sent on its own.
    pub(super) fn deliver_all(&mut self, deliveries: Vec<Delivery>) {
        let mut run = Segment::default();
        for delivery in deliveries {
            match delivery {
                Delivery::Broadcast(frames) => {
                    run.broadcast += frames.len();
                    run.items.extend(frames.into_iter().map(Item::All));
                }
                Delivery::Answer {
                    conn,
                    frame,
                    ok,
                    received,
                } => {
                    self.ctx.metrics.command_answered(ok, received.elapsed());
                    run.items.push(Item::To(conn, frame));
                }
                other => {
                    self.send_run(std::mem::take(&mut run));
                    self.deliver_one(other);
                }
            }
        }
        self.send_run(run);
    }

    /// Send each peer its share of a run in one message; a peer too far behind is cut off.
    fn send_run(&mut self, run: Segment) {
        if run.items.is_empty() {
            return;
        }
        let mut slow = Vec::new();
        let mut delivered = 0;
        for (&conn, peer) in &self.peers {
            let mut frames = Vec::with_capacity(run.broadcast + 1);
            let mut answers = 0;
            for item in &run.items {
                match item {
                    Item::All(f) => frames.push(f.clone()),
                    Item::To(to, f) if *to == conn => {
                        frames.push(f.clone());
                        answers += 1;
                    }
                    Item::To(..) => {}
                }
            }
            if peer.offer(frames, answers) {
                delivered += run.broadcast as u64;
            } else {
                slow.push(conn);
            }
        }
        for conn in slow {
            self.cut_off(conn, close::TOO_SLOW);
        }
        if delivered > 0 {
            self.ctx.metrics.events_delivered(delivered);
        }
    }

    /// Carry out an admission, a disconnection or the room's deletion.
    fn deliver_one(&mut self, delivery: Delivery) {
        match delivery {
            // Gathered by `deliver_all`.
            Delivery::Broadcast(_) | Delivery::Answer { .. } => {}
            Delivery::Admit {
                conn,
                peer,
                first,
                reply,
            } => self.admit(conn, peer, first, reply),
            Delivery::Disconnect(who) => {
                let gone: Vec<ConnId> = self
                    .peers
                    .iter()
                    .filter(|(_, p)| p.who == who)
                    .map(|(&c, _)| c)
                    .collect();
                for conn in gone {
                    self.cut_off(conn, close::REMOVED);
                }
            }
            Delivery::Deleted => {
                self.stop(close::ROOM_DELETED, Notice::Deleted);
                for done in self.delete_waiters.drain(..) {
                    let _ = done.send(());
                }
            }
        }
    }

    /// Make a connection a peer, if its first frames fit its outbox.
    fn admit(
        &mut self,
        conn: ConnId,
        peer: Peer,
        first: Admission,
        reply: oneshot::Sender<Result<ParticipantId, Rejection>>,
    ) {
        let who = peer.who;
        if let Some(n) = self.arriving.get_mut(&who) {
            *n = n.saturating_sub(1);
        }
        let frames = match first {
            Admission::Frame(f) => vec![f],
            Admission::Replay(replay) => match self.replayed(replay) {
                Ok(frames) => frames,
                Err(r) => {
                    peer.cutoff.set(close::GOING_AWAY);
                    let _ = reply.send(Err(r));
                    return;
                }
            },
        };
        let sent = peer.offer(frames, 0);
        if sent {
            self.peers.insert(conn, peer);
            let _ = reply.send(Ok(who));
        } else {
            peer.cutoff.set(close::TOO_SLOW);
            let _ = reply.send(Err(Rejection::new(
                ErrorCode::Internal,
                "could not send the room",
            )));
        }
    }

    /// Stop for good: cut every connection off with `code`, and tell the server why.
    pub(super) fn stop(&mut self, code: u16, notice: fn(String) -> Notice) {
        let conns: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in conns {
            self.cut_off(conn, code);
        }
        let _ = self.ctx.notices.send(notice(self.room.view().id.clone()));
        self.stopped = true;
    }

    /// The answer to one of a connection's commands, if it is still a peer.
    pub(super) fn send_to(&mut self, conn: ConnId, bytes: Utf8Bytes) {
        let full = self
            .peers
            .get(&conn)
            .is_some_and(|p| p.outbox.try_send(Outbound::Answer(bytes)).is_err());
        if full {
            self.cut_off(conn, close::TOO_SLOW);
        }
    }

    /// Drop a connection's outbox after recording why: its task closes the socket. Presence is
    /// updated by the `Leave` the connection task sends when it ends.
    pub(super) fn cut_off(&mut self, conn: ConnId, code: u16) {
        if let Some(peer) = self.peers.remove(&conn) {
            peer.cutoff.set(code);
            debug!(conn, code, "connection cut off");
            self.pending_away.push(peer.who);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_event_and_ack_frames_are_the_protocol_frames_byte_for_byte() {
        let event = Event::LinkChanged {
            link: circlekeeper_protocol::LinkKind::Host,
            revoked: false,
            by: 3,
        };
        let r = Recorded {
            seq: 41,
            at: 1_700_000_000_123,
            event: event.clone(),
        };
        let whole = frame(&ServerMessage::Event {
            seq: 41,
            at: 1_700_000_000_123,
            event,
        });
        assert_eq!(event_frame(&r).as_str(), whole.as_str());
        for result in [
            None,
            Some(AckResult::JoinKey { join_key: None }),
            Some(AckResult::Link {
                link: circlekeeper_protocol::LinkKind::Join,
                key: "k\"ey".into(),
            }),
        ] {
            let whole = frame(&ServerMessage::Ack {
                id: "c\u{e9}\"7".into(),
                seq: 9,
                server_time: 12,
                result: result.clone(),
            });
            let ours = ack_with("c\u{e9}\"7", 9, 12, result.as_ref());
            assert_eq!(ours.as_str(), whole.as_str());
        }
        assert_eq!(
            ack_frame("a".into(), 1, 2).as_str(),
            r#"{"type":"ack","id":"a","seq":1,"server_time":2}"#
        );
    }

    #[test]
    fn a_step_goes_to_a_peer_as_one_batch_counted_until_taken() {
        let (outbox, mut rx) = outbox::channel(PEER_OUTBOX);
        let peer = Peer {
            who: 1,
            outbox,
            cutoff: Arc::new(Cutoff::new()),
        };
        let frames: Vec<Utf8Bytes> = (0..3).map(|i| Utf8Bytes::from(i.to_string())).collect();
        assert!(peer.offer(frames, 1));
        assert_eq!(peer.cutoff.queued.load(Ordering::Acquire), 3);
        // One frame goes as itself, not counted as a batch.
        assert!(peer.offer(vec![Utf8Bytes::from_static("x")], 1));
        assert_eq!(peer.cutoff.queued.load(Ordering::Acquire), 3);
        let mut out = Vec::new();
        let mut answers = 0;
        while let Some(o) = rx.try_recv() {
            answers += o.taken(&peer.cutoff, &mut out);
        }
        let texts: Vec<&str> = out.iter().map(Utf8Bytes::as_str).collect();
        assert_eq!(texts, ["0", "1", "2", "x"]);
        assert_eq!(answers, 2);
        assert_eq!(peer.cutoff.queued.load(Ordering::Acquire), 0);
        // More frames than may wait are refused whole: the peer is to be cut off.
        let many: Vec<Utf8Bytes> = (0..PEER_OUTBOX / 2)
            .map(|_| Utf8Bytes::from_static("e"))
            .collect();
        assert!(peer.offer(many.clone(), 0));
        assert!(peer.offer(many.clone(), 0));
        assert!(!peer.offer(many, 0));
        assert_eq!(peer.cutoff.queued.load(Ordering::Acquire), PEER_OUTBOX);
    }

    #[test]
    fn a_frame_too_large_to_send_becomes_an_internal_error_answering_the_same_command() {
        let huge = ServerMessage::Ack {
            id: "c9".into(),
            seq: 1,
            server_time: 0,
            result: Some(circlekeeper_protocol::AckResult::Link {
                link: circlekeeper_protocol::LinkKind::Join,
                key: "k".repeat(limits::MAX_SERVER_FRAME_BYTES),
            }),
        };
        let sent = frame(&huge);
        assert!(sent.len() < 1024, "a small frame goes instead");
        let msg: ServerMessage = serde_json::from_str(sent.as_str()).expect("a server message");
        assert!(
            matches!(
                msg,
                ServerMessage::Error { id: Some(ref id), code: ErrorCode::Internal, .. } if id == "c9"
            ),
            "{msg:?}"
        );
        // Just under the limit, the frame goes as it is.
        let fits = ServerMessage::Error {
            id: None,
            code: ErrorCode::Internal,
            message: String::new(),
        };
        let empty = frame(&fits).len();
        let fits = ServerMessage::Error {
            id: None,
            code: ErrorCode::Internal,
            message: "m".repeat(limits::MAX_SERVER_FRAME_BYTES - empty),
        };
        assert_eq!(frame(&fits).len(), limits::MAX_SERVER_FRAME_BYTES);
    }
}
