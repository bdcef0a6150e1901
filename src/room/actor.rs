//! The room actor: one task per live room that owns its [`Room`], its connected peers and its
//! credentials, and is the only writer of that room.
//!
//! Connections talk to it through a cloneable [`RoomHandle`] over a bounded inbox. For each
//! accepted command it writes the events to the store, then serializes each event once and
//! hands the same bytes to every peer's bounded outbox. A peer whose outbox is full is cut off
//! (close code 4008) rather than allowed to slow the room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use circlekeeper_protocol::{
    close, AckResult, Command, CommandId, ErrorCode, ParticipantId, Presence, ServerMessage,
    Standing, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::state::{Recorded, Rejection, Room};
use crate::clock::Clock;
use crate::secret;
use crate::store::{Store, StoreError};

/// How many messages may wait in a room's inbox. Connections wait (backpressure) when it is
/// full; a room of 64 people sending a command each still fits several times over.
pub const ROOM_INBOX: usize = 256;

/// How many frames may wait for one connection. A client that falls this far behind is cut off
/// with close code 4008 and resumes later; it never slows its room.
pub const PEER_OUTBOX: usize = 512;

/// A connection's id, unique within the server.
pub type ConnId = u64;

/// What the actor sends a connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A JSON text frame.
    Frame(Utf8Bytes),
}

/// The receiving side of a connection's outbox, plus why the actor closed it.
pub struct PeerLink {
    /// Frames to write to the socket.
    pub outbox: mpsc::Receiver<Outbound>,
    /// Set by the actor before it drops the sending side: the close code to send.
    pub close_code: Arc<AtomicU16>,
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
    /// An existing participant with their token.
    Resume {
        /// The personal token.
        token: String,
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
    },
    /// A connection closed.
    Leave {
        /// The connection.
        conn: ConnId,
    },
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

struct Peer {
    who: ParticipantId,
    outbox: mpsc::Sender<Outbound>,
    close_code: Arc<AtomicU16>,
}

struct Actor {
    room: Room,
    keys: Keys,
    /// Token hash → participant.
    tokens: HashMap<[u8; 32], ParticipantId>,
    peers: HashMap<ConnId, Peer>,
    store: Arc<dyn Store>,
    clock: Clock,
}

/// Start the actor of a room and return its handle. The actor ends when every handle is gone.
pub fn spawn_room(room: Room, keys: Keys, store: Arc<dyn Store>, clock: Clock) -> RoomHandle {
    let (tx, rx) = mpsc::channel(ROOM_INBOX);
    let actor = Actor {
        room,
        keys,
        tokens: HashMap::new(),
        peers: HashMap::new(),
        store,
        clock,
    };
    let span = tracing::info_span!("room", room_id = %actor.room.view().id);
    tokio::spawn(tracing::Instrument::instrument(run_room(actor, rx), span));
    RoomHandle { inbox: tx }
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

/// The actor loop: messages in, timer ticks at deadlines.
async fn run_room(mut actor: Actor, mut inbox: mpsc::Receiver<RoomMsg>) {
    loop {
        let deadline = actor.room.next_deadline();
        let clock = actor.clock.clone();
        tokio::select! {
            msg = inbox.recv() => match msg {
                Some(msg) => actor.handle(msg),
                None => break,
            },
            _ = async {
                match deadline {
                    Some(d) => clock.sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                let now = actor.clock.now();
                let events = actor.room.tick(now);
                actor.publish(&events);
            }
        }
    }
    debug!("room actor stopped");
}

impl Actor {
    fn handle(&mut self, msg: RoomMsg) {
        match msg {
            RoomMsg::Enter {
                conn,
                id,
                credential,
                outbox,
                close_code,
                reply,
            } => {
                let result = self.enter(conn, &id, credential, outbox.clone(), close_code);
                if let Err(r) = &result {
                    let _ =
                        outbox.try_send(Outbound::Frame(error_frame(Some(id), r.code, &r.message)));
                }
                let _ = reply.send(result);
            }
            RoomMsg::Command { conn, id, command } => self.command(conn, id, command),
            RoomMsg::Leave { conn } => {
                if let Some(peer) = self.peers.remove(&conn) {
                    self.presence_check(peer.who);
                }
            }
        }
    }

    fn enter(
        &mut self,
        conn: ConnId,
        id: &str,
        credential: Credential,
        outbox: mpsc::Sender<Outbound>,
        close_code: Arc<AtomicU16>,
    ) -> Result<ParticipantId, Rejection> {
        let now = self.clock.now();
        let (who, token, events) = match credential {
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
                    return Err(Rejection::new(
                        ErrorCode::InvalidKey,
                        "this link does not open this room",
                    ));
                }
                let standing = if host {
                    Standing::Facilitator
                } else {
                    Standing::Participant
                };
                let (who, events) = self.room.join(now, &name, standing)?;
                let hash = secret::hash(&token);
                self.persist(&events)
                    .and_then(|()| self.store.put_token(&hash, &self.room.view().id, who))
                    .map_err(|e| internal(&e))?;
                self.tokens.insert(hash, who);
                (who, Some(token), events)
            }
            Credential::Resume { token } => {
                let who = self
                    .tokens
                    .get(&secret::hash(&token))
                    .copied()
                    .ok_or_else(|| {
                        Rejection::new(
                            ErrorCode::InvalidToken,
                            "this token does not belong to this room",
                        )
                    })?;
                if self.room.participant(who).is_none_or(|p| p.removed) {
                    return Err(Rejection::new(
                        ErrorCode::Forbidden,
                        "you were removed from this room",
                    ));
                }
                let events = self.room.set_presence(now, who, Presence::Connected);
                self.persist(&events).map_err(|e| internal(&e))?;
                (who, None, events)
            }
        };
        // Others hear of the arrival; the newcomer gets the whole room, which includes it.
        self.broadcast(&events);
        let welcome = ServerMessage::Welcome {
            id: id.to_string(),
            protocol: PROTOCOL_VERSION,
            server_time: now,
            seq: self.room.seq(),
            you: who,
            token,
            room: Box::new(self.room.view().clone()),
        };
        if outbox.try_send(Outbound::Frame(frame(&welcome))).is_ok() {
            self.peers.insert(
                conn,
                Peer {
                    who,
                    outbox,
                    close_code,
                },
            );
        }
        Ok(who)
    }

    fn command(&mut self, conn: ConnId, id: CommandId, command: Command) {
        let Some(who) = self.peers.get(&conn).map(|p| p.who) else {
            return;
        };
        let now = self.clock.now();
        match self.room.apply(now, who, &command) {
            Ok(applied) => {
                if let Err(e) = self.persist(&applied.events) {
                    // The events are in memory but not stored: refuse rather than pretend.
                    let r = internal(&e);
                    self.send_to(conn, error_frame(Some(id), r.code, r.message));
                    return;
                }
                self.publish(&applied.events);
                self.ack(conn, id, now, applied.result);
                self.close_removed();
            }
            Err(r) => self.send_to(conn, error_frame(Some(id), r.code, r.message)),
        }
    }

    fn ack(&mut self, conn: ConnId, id: CommandId, now: u64, result: Option<AckResult>) {
        let ack = ServerMessage::Ack {
            id,
            seq: self.room.seq(),
            server_time: now,
            result,
        };
        self.send_to(conn, frame(&ack));
    }

    fn persist(&self, events: &[Recorded]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.store.append(&self.room.view().id, events)
    }

    /// Store and broadcast events that did not come from a command (ticks).
    fn publish(&mut self, events: &[Recorded]) {
        if events.is_empty() {
            return;
        }
        if let Err(e) = self.persist(events) {
            warn!(error = %e, "events could not be stored");
        }
        self.broadcast(events);
    }

    fn broadcast(&mut self, events: &[Recorded]) {
        for r in events {
            let bytes = frame(&ServerMessage::Event {
                seq: r.seq,
                at: r.at,
                event: r.event.clone(),
            });
            let mut slow = Vec::new();
            for (&conn, peer) in &self.peers {
                if peer
                    .outbox
                    .try_send(Outbound::Frame(bytes.clone()))
                    .is_err()
                {
                    slow.push(conn);
                }
            }
            for conn in slow {
                self.cut_off(conn, close::TOO_SLOW);
            }
        }
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

    /// Drop a connection's outbox after recording why: its task closes the socket.
    fn cut_off(&mut self, conn: ConnId, code: u16) {
        if let Some(peer) = self.peers.remove(&conn) {
            peer.close_code.store(code, Ordering::Relaxed);
            debug!(conn, code, "connection cut off");
            self.presence_check(peer.who);
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
    fn presence_check(&mut self, who: ParticipantId) {
        if self.peers.values().any(|p| p.who == who) {
            return;
        }
        let now = self.clock.now();
        let events = self.room.set_presence(now, who, Presence::Away);
        self.publish(&events);
    }
}

fn internal(e: &StoreError) -> Rejection {
    warn!(error = %e, "store failed");
    Rejection::new(
        ErrorCode::Internal,
        "the server could not save this; nothing changed",
    )
}
