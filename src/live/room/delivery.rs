//! Delivery: what a room sends its connections once a step is durable. Each event is
//! serialized once and the same bytes go to every peer's bounded outbox; answers go to their
//! sender; an admitted connection becomes a peer with its first frames; people no longer in the
//! room, or too slow to keep up, are cut off with a close code their connection task sends
//! (woken at once through its [`Cutoff`], even while it waits to write).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use circlekeeper_protocol::{
    close, limits, CommandId, ErrorCode, Millis, ParticipantId, ServerMessage,
};
use tokio::sync::{mpsc, oneshot, Notify};
use tracing::{debug, warn};

use super::{Actor, Notice};
use crate::room::state::{Recorded, Rejection};

/// How many frames may wait for one connection. A client that falls this far behind is cut off
/// with close code 4008 and resumes later; it never slows its room. The channel allocates as it
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
}

impl Outbound {
    /// The frame's text.
    pub fn into_bytes(self) -> Utf8Bytes {
        match self {
            Outbound::Frame(bytes) | Outbound::Answer(bytes) => bytes,
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
    pub(super) outbox: mpsc::Sender<Outbound>,
    /// Where the reason is written when the room cuts it off.
    pub(super) cutoff: Arc<Cutoff>,
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
    match serde_json::to_string(msg) {
        Ok(s) if s.len() <= limits::MAX_SERVER_FRAME_BYTES => Utf8Bytes::from(s),
        Ok(s) => {
            let (kind, id) = described(msg);
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
        Err(e) => {
            // Our own types always serialize; say so loudly if that ever changes.
            warn!(error = %e, "a server message failed to serialize");
            Utf8Bytes::from_static(
                r#"{"type":"error","code":"internal","message":"the server could not encode a message"}"#,
            )
        }
    }
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
    frame(&ServerMessage::Event {
        seq: r.seq,
        at: r.at,
        event: r.event.clone(),
    })
}

/// An ack without a result.
pub(super) fn ack_frame(id: CommandId, seq: u64, now: Millis) -> Utf8Bytes {
    frame(&ServerMessage::Ack {
        id,
        seq,
        server_time: now,
        result: None,
    })
}

impl Actor {
    pub(super) fn deliver(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::Broadcast(frames) => self.broadcast(frames),
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

    /// The same frames to every peer; a peer whose outbox is full is cut off.
    fn broadcast(&mut self, frames: Vec<Utf8Bytes>) {
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
        let sent = frames
            .into_iter()
            .all(|f| peer.outbox.try_send(Outbound::Frame(f)).is_ok());
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
