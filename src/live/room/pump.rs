//! The pump: one input through the core and its outcome carried out. Every input — an entry,
//! a command, a presence change, a tick — goes through [`Room::handle`](crate::room::Room::handle); the
//! [`Effect`]s that come back are carried out here, in order, without knowing which command
//! owed them: tokens and link keys are made and their hashes stored, notes and the session's end
//! are written, the series records what it is owed (durably, before the input's writes are
//! queued), and the answer, the events, the admission and any disconnections are queued behind
//! the step's writes.
//!
//! What the core cannot make, the runtime makes before anything changes: the actor holds one
//! random secret made ahead ([`Spare`]) and hands it to whichever effect asks for a token or a
//! key, so an input that needs one never finds the OS out of randomness after the room has
//! changed. If the OS has none when the spare is to be made, inputs from connections are
//! refused and nothing changes.

use std::time::Instant;

use circlekeeper_protocol::{AckResult, CommandId, ErrorCode, LinkKind, ParticipantId};
use tokio::sync::oneshot;
use tracing::error;

use super::delivery::{ack_with, error_frame, Admission, Delivery, Outbound, Peer};
use super::{Actor, ConnId};
use crate::room::state::{Effect, Input, Outcome, Rejection};
use crate::secret::{self, KeptKey};
use crate::store::{Origin, Write};

/// Who an input came from, and what its answer needs.
pub(super) enum Sender {
    /// Time passing, or a presence change: nobody to answer.
    Nobody,
    /// A command from an admitted connection.
    Command {
        conn: ConnId,
        who: ParticipantId,
        id: CommandId,
        received: Instant,
    },
    /// A connection entering.
    Entry {
        conn: ConnId,
        id: CommandId,
        peer: Peer,
        reply: oneshot::Sender<Result<ParticipantId, Rejection>>,
        /// The last sequence number a resuming client saw.
        last_seq: Option<u64>,
        /// A guest's new series guest key, for their welcome.
        guest_key: Option<String>,
    },
}

/// One random secret (a future token or link key) made ahead of need. Never logged.
pub(super) struct Spare(Option<String>);

impl Spare {
    /// None yet: the first input from a connection makes one.
    pub(super) fn new() -> Spare {
        Spare(None)
    }

    /// Whether a secret is at hand, making one if not.
    fn ready(&mut self) -> bool {
        if self.0.is_none() {
            self.0 = made();
        }
        self.0.is_some()
    }

    /// The secret made ahead (or, should there be none, one made now); the next is made at once.
    fn take(&mut self) -> Result<String, getrandom::Error> {
        let secret = match self.0.take() {
            Some(secret) => secret,
            None => secret::new_secret()?,
        };
        self.0 = made();
        Ok(secret)
    }
}

/// A new secret, or `None` (logged) when the OS has no randomness to give.
fn made() -> Option<String> {
    match secret::new_secret() {
        Ok(secret) => Some(secret),
        Err(e) => {
            error!(error = %e, "no randomness for a new token or key");
            None
        }
    }
}

/// What an outcome's effects leave for the actor to queue or deliver.
#[derive(Default)]
struct Carried {
    /// The writes the effects make, after the events'.
    writes: Vec<Write>,
    /// A new personal token, for the welcome.
    token: Option<String>,
    /// Who the sender's connection now is.
    admitted: Option<ParticipantId>,
    /// People no longer in the room.
    gone: Vec<ParticipantId>,
    /// Whether the room is to be deleted.
    delete: bool,
}

impl Actor {
    /// Hand one input to the core and carry out its outcome.
    pub(super) async fn pump(&mut self, input: Input, from: Sender) {
        if !matches!(from, Sender::Nobody) && !self.spare.ready() {
            let r = Rejection::new(ErrorCode::Internal, "the server has no random source");
            return self.refuse(from, r);
        }
        let now = self.ctx.clock.now();
        let Outcome {
            events,
            answer,
            effects,
        } = self.room.handle(now, input);
        let mut result = match answer {
            Ok(result) => result,
            Err(r) => return self.refuse(from, r),
        };
        if effects.contains(&Effect::ShowJoinKey) && self.keys.join_key == KeptKey::Unknown {
            // `show_link` changes nothing, so refusing it after the core is safe.
            let r = Rejection::new(
                ErrorCode::LinkUnknown,
                "this room's join link was made before links could be shown again; \
                 replace it to get one",
            );
            return self.refuse(from, r);
        }
        let changed = !events.is_empty() || !effects.is_empty();
        let mut carried = Carried::default();
        for effect in effects {
            if let Err(e) = self.carry_out(effect, &mut carried, &mut result).await {
                // The room stops and is loaded again, as stored, when next asked for.
                let e = crate::store::StoreError::Backend {
                    reason: e.to_string(),
                };
                return self.fail(&e);
            }
        }
        // A command's ack names the seq of its last event, and carries its result.
        let ack = match &from {
            Sender::Command { id, .. } => Some(ack_with(id, self.room.seq(), now, result.as_ref())),
            _ => None,
        };
        if carried.delete {
            // Nothing more is written for this room: its events go with it.
            let answer = match from {
                Sender::Command { conn, received, .. } => ack.map(|frame| Delivery::Answer {
                    conn,
                    frame,
                    ok: true,
                    received,
                }),
                other => {
                    let r = Rejection::new(ErrorCode::RoomNotFound, "this room is being deleted");
                    self.refuse(other, r);
                    None
                }
            };
            return self.delete(answer);
        }
        let origin = match &from {
            Sender::Command { who, id, .. } if !events.is_empty() => Some(Origin {
                participant: *who,
                id: id.clone(),
            }),
            _ => None,
        };
        let from = match (from, carried.admitted) {
            (entry @ Sender::Entry { .. }, None) => {
                let r = Rejection::new(ErrorCode::Internal, "the room did not admit you");
                self.refuse(entry, r);
                Sender::Nobody
            }
            (from, _) => from,
        };
        let frames = self.record(events, origin);
        self.open_writes.extend(carried.writes);
        if !frames.is_empty() {
            self.open_deliveries.push(Delivery::Broadcast(frames));
        }
        match from {
            Sender::Nobody => {}
            Sender::Command {
                conn,
                who,
                id,
                received,
            } => {
                if let Some(ack) = ack {
                    // Remember the id of anything that changed the room or owed the world
                    // something, so a retry (after a lost ack) is acknowledged again instead
                    // of applied twice.
                    if changed {
                        self.remember(who, id, ack.clone());
                    }
                    self.open_deliveries.push(Delivery::Answer {
                        conn,
                        frame: ack,
                        ok: true,
                        received,
                    });
                }
            }
            Sender::Entry {
                conn,
                id,
                mut peer,
                reply,
                last_seq,
                guest_key,
            } => {
                if let Some(who) = carried.admitted {
                    let first = match carried.token {
                        Some(token) => {
                            Admission::Frame(self.welcome(id, who, Some(token), guest_key, now))
                        }
                        None => self.resumption(id, who, last_seq, now),
                    };
                    peer.who = who;
                    *self.arriving.entry(who).or_default() += 1;
                    self.open_deliveries.push(Delivery::Admit {
                        conn,
                        peer,
                        first,
                        reply,
                    });
                }
            }
        }
        self.open_deliveries
            .extend(carried.gone.into_iter().map(Delivery::Disconnect));
    }

    /// Carry out one effect: what it writes goes into `carried`, what it answers into
    /// `result`. An error means the room cannot go on.
    async fn carry_out(
        &mut self,
        effect: Effect,
        carried: &mut Carried,
        result: &mut Option<AckResult>,
    ) -> Result<(), Box<dyn std::fmt::Display + Send>> {
        match effect {
            Effect::IssueToken { participant } => {
                let token = self.spare.take().map_err(boxed)?;
                let hash = secret::hash(&token);
                self.tokens.insert(hash, participant);
                carried.writes.push(Write::Token {
                    room: self.room.view().id.clone(),
                    hash,
                    participant,
                });
                carried.token = Some(token);
            }
            Effect::Admit { participant } => carried.admitted = Some(participant),
            Effect::ReplaceLinkKey {
                link,
                give_to_sender,
            } => {
                let key = self.spare.take().map_err(boxed)?;
                carried
                    .writes
                    .push(self.replace_key(link, &key, give_to_sender));
                if give_to_sender {
                    *result = Some(AckResult::Link { link, key });
                }
            }
            Effect::ShowJoinKey => {
                let join_key = match &self.keys.join_key {
                    KeptKey::Key(key) => Some(key.clone()),
                    // `pump` refused `show_link` before carrying out its effects.
                    KeptKey::Off | KeptKey::Unknown => None,
                };
                *result = Some(AckResult::JoinKey { join_key });
            }
            Effect::SaveNotes => carried.writes.push(Write::Notes {
                room: self.room.view().id.clone(),
                notes: Box::new(self.room.notes().clone()),
            }),
            Effect::RecordPairs { groups } => self.record_pairs(groups).await.map_err(boxed)?,
            Effect::RecordCommitments => self.record_commitments(false).await.map_err(boxed)?,
            Effect::Disconnect { participant } => carried.gone.push(participant),
            Effect::Delete => carried.delete = true,
            Effect::Ended { at } => carried.writes.push(Write::Ended {
                room: self.room.view().id.clone(),
                at,
            }),
        }
        Ok(())
    }

    /// Refuse an input: a command is answered with an error once what came before it is
    /// released; an entry at once (it is not a peer yet). Nothing changed.
    fn refuse(&mut self, from: Sender, r: Rejection) {
        match from {
            Sender::Nobody => {}
            Sender::Command {
                conn, id, received, ..
            } => self.open_deliveries.push(Delivery::Answer {
                conn,
                frame: error_frame(Some(id), r.code, r.message),
                ok: false,
                received,
            }),
            Sender::Entry {
                id, peer, reply, ..
            } => {
                tracing::debug!(code = r.code.as_str(), "entry refused");
                let error = error_frame(Some(id), r.code, &r.message);
                let _ = peer.outbox.try_send(Outbound::Frame(error));
                let _ = reply.send(Err(r));
            }
        }
    }

    /// Replace a link's key hash with the hash of `key`: the old key stops opening the room at
    /// once. A join key is kept (sealed with the record) when `kept` (`rotate_link`); after
    /// `revoke_link` the join link is off. Returns the write that makes the new hashes (and
    /// kept key) durable, with the input's events.
    fn replace_key(&mut self, link: LinkKind, key: &str, kept: bool) -> Write {
        let hash = secret::hash(key);
        match link {
            LinkKind::Join => {
                self.keys.join = hash;
                self.keys.join_key = if kept {
                    KeptKey::Key(key.to_string())
                } else {
                    KeptKey::Off
                };
            }
            LinkKind::Host => self.keys.host = hash,
        }
        Write::Keys {
            room: self.room.view().id.clone(),
            join: self.keys.join,
            host: self.keys.host,
            join_key: self.keys.join_key.clone(),
        }
    }
}

/// An error as the reason the room stops.
fn boxed<E: std::fmt::Display + Send + 'static>(e: E) -> Box<dyn std::fmt::Display + Send> {
    Box::new(e)
}
