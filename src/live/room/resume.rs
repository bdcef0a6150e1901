//! Resumption: what lets a client come back without guessing. The room keeps its recent events
//! as ready frames (the resume buffer, bounded by time and count) and the acks of recent
//! commands per participant (so a retried command is acknowledged again, never applied twice);
//! a returning client gets exactly the events it missed, or a snapshot when they are not all
//! kept, or the whole room when it saw nothing yet.

use axum::extract::ws::Utf8Bytes;
use circlekeeper_protocol::{CommandId, Millis, ParticipantId, ServerMessage, PROTOCOL_VERSION};

use super::delivery::{ack_frame, event_frame, frame, Admission, PEER_OUTBOX};
use super::Actor;
use crate::store::StoredEvent;

/// Most events a resume replays one by one; more than that gets a snapshot instead, which is
/// smaller and keeps the replay within the connection's outbox.
pub const MAX_REPLAY: usize = PEER_OUTBOX - 24;

/// Most events the resume buffer keeps, whatever the time window: bounds a busy room's memory.
/// A resume that missed more than [`MAX_REPLAY`] events gets a snapshot however many are kept,
/// so keeping the last `MAX_REPLAY` answers every resume exactly as a longer buffer would.
pub const MAX_RECENT_EVENTS: usize = MAX_REPLAY;

/// Command ids remembered per participant, so that a retried command is applied once.
pub const REMEMBERED_COMMANDS: usize = 64;

/// An event as the resume buffer keeps it: ready to send again.
pub(super) struct RecentEvent {
    /// Its sequence number.
    pub(super) seq: u64,
    /// When it happened.
    pub(super) at: Millis,
    /// Its frame, as every peer got it.
    pub(super) frame: Utf8Bytes,
}

impl Actor {
    /// Fill the resume buffer and the remembered acks from a restored room's recent events.
    pub(super) fn restore_recent(&mut self, recent: Vec<StoredEvent>) {
        for e in recent {
            if let Some(origin) = &e.origin {
                let ack = ack_frame(origin.id.clone(), e.seq, e.at);
                self.remember(origin.participant, origin.id.clone(), ack);
            }
            self.recent.push_back(RecentEvent {
                seq: e.seq,
                at: e.at,
                frame: event_frame(&e.recorded()),
            });
        }
        while self.recent.len() > MAX_RECENT_EVENTS {
            self.recent.pop_front();
        }
    }

    /// Drop events older than the resume window (and beyond the count cap).
    pub(super) fn trim_recent(&mut self) {
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

    /// Remember a command's ack, so a retry gets it again.
    pub(super) fn remember(&mut self, who: ParticipantId, id: CommandId, ack: Utf8Bytes) {
        let list = self.acks.entry(who).or_default();
        if list.len() >= REMEMBERED_COMMANDS {
            list.pop_front();
        }
        list.push_back((id, ack));
    }

    /// The ack of `who`'s command `id`, if it was already applied.
    pub(super) fn remembered(&self, who: ParticipantId, id: &CommandId) -> Option<Utf8Bytes> {
        self.acks
            .get(&who)
            .and_then(|list| list.iter().find(|(seen, _)| seen == id))
            .map(|(_, ack)| ack.clone())
    }

    /// The whole room for `who`, with their new personal token if they just got one.
    pub(super) fn welcome(
        &self,
        id: CommandId,
        who: ParticipantId,
        token: Option<String>,
        guest_key: Option<String>,
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
            guest_key,
        })
    }

    /// What a returning client gets first: the missed events one by one when the buffer holds
    /// them all (and not too many), a snapshot when it does not, the whole room when it saw
    /// nothing yet.
    pub(super) fn resumption(
        &self,
        id: CommandId,
        who: ParticipantId,
        last_seq: Option<u64>,
        now: Millis,
    ) -> Admission {
        let seq = self.room.seq();
        let Some(last) = last_seq else {
            return Admission::Frame(self.welcome(id, who, None, None, now));
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
}
