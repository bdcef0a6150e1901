//! Resumption: what lets a client come back without guessing. The room keeps a short tail of
//! its recent events as ready frames, the sequence numbers and times of the older ones still in
//! the resume window (sixteen bytes each, no frame), and the acks of recent commands per
//! participant, compactly (so a retried command is acknowledged again, never applied twice). A
//! returning client gets exactly the events it missed — from the tail, and from the store for
//! those further back — or a snapshot when they are not all in the window, or the whole room
//! when it saw nothing yet.
//!
//! Every peer gets the same bytes for an event (private texts travel sealed, as envelopes only
//! their author's device opens), so an event read back from the store is serialized into the
//! very frame the others got: nothing is filtered per recipient, then or now.

use std::collections::VecDeque;
use std::ops::Deref;

use axum::extract::ws::Utf8Bytes;
use circlekeeper_protocol::{
    CommandId, ErrorCode, Millis, ParticipantId, ServerMessage, PROTOCOL_VERSION,
};

use super::delivery::{ack_frame, event_frame, frame, Admission, PEER_OUTBOX};
use super::Actor;
use crate::room::state::Rejection;
use crate::store::StoredEvent;

/// Most events a resume replays one by one; more than that gets a snapshot instead, which is
/// smaller and keeps the replay within the connection's outbox.
pub const MAX_REPLAY: usize = PEER_OUTBOX - 24;

/// Most events kept in memory as ready frames (the tail). A resume that reaches further back
/// (but no more than [`MAX_REPLAY`] events, within the resume window) gets the older ones from
/// the store. A reconnect after a blip misses a handful of events.
pub const MAX_RECENT_EVENTS: usize = 16;

/// Most bytes of frames the tail keeps, whatever the count: some 5 to 16 events of a circle,
/// a few seconds to half a minute of it (a resume after a blip, 0.5 to 3 s away, needs a
/// handful). At 2,250 rooms × 8 after a minute of steady load, 16 events and 2 KiB (was 32
/// and 4 KiB) saved 0.2 KiB per participant, with the reconnect storm's resumes no slower.
pub const MAX_RECENT_BYTES: usize = 2 * 1024;

/// Command ids remembered per participant, so that a retried command is applied once. A
/// client sends a command again only when its ack did not come back before its connection
/// dropped: the last few it sent. Each costs some 40 bytes (its id, the seq and time of its
/// ack; the whole ack only when it carried a result).
pub const REMEMBERED_COMMANDS: usize = 16;

/// An event as the resume buffer keeps it: ready to send again.
pub(super) struct RecentEvent {
    /// Its sequence number.
    pub(super) seq: u64,
    /// When it happened.
    pub(super) at: Millis,
    /// Its frame, as every peer got it.
    pub(super) frame: Utf8Bytes,
}

/// A command remembered for its retries: enough to send its ack again.
pub(super) struct Remembered {
    /// The command id.
    id: Box<str>,
    /// The seq its ack named.
    seq: u64,
    /// The server time its ack named.
    at: Millis,
    /// The whole ack, when it carried a result (a new link key, a drawn prompt): rare.
    with_result: Option<Utf8Bytes>,
}

/// The first frames of a resume that replays events: the `resumed` frame, the events to read
/// from the store (those older than the tail), then the events the tail held. Reads as its
/// frames in memory (the `resumed` frame first).
pub(super) struct Replay {
    /// `resumed`, then the tail's events after the client's last seq.
    frames: Vec<Utf8Bytes>,
    /// Events after this seq and before `frames[1]`'s, to read from the store once durable.
    gap: Option<(u64, u64)>,
}

impl Deref for Replay {
    type Target = [Utf8Bytes];

    fn deref(&self) -> &[Utf8Bytes] {
        &self.frames
    }
}

/// The fields of an ack frame a remembered command keeps.
#[derive(serde::Deserialize)]
struct AckFields {
    seq: u64,
    server_time: Millis,
    #[serde(default)]
    result: Option<serde::de::IgnoredAny>,
}

impl Actor {
    /// Fill the resume buffer and the remembered acks from a restored room's recent events.
    pub(super) fn restore_recent(&mut self, recent: Vec<StoredEvent>) {
        let keep_from = recent.len().saturating_sub(MAX_RECENT_EVENTS);
        for (i, e) in recent.into_iter().enumerate() {
            if let Some(origin) = &e.origin {
                let ack = ack_frame(origin.id.clone(), e.seq, e.at);
                self.remember(origin.participant, origin.id.clone(), ack);
            }
            if i < keep_from {
                self.older.push_back((e.seq, e.at));
            } else {
                self.recent.push_back(RecentEvent {
                    seq: e.seq,
                    at: e.at,
                    frame: event_frame(&e.recorded()),
                });
            }
        }
        self.trim_recent();
    }

    /// Move events beyond the tail out of it (keeping their seq and time), and drop what is
    /// older than the resume window or beyond [`MAX_REPLAY`].
    pub(super) fn trim_recent(&mut self) {
        let mut bytes: usize = self.recent.iter().map(|e| e.frame.len()).sum();
        // The newest event stays, however large.
        while self.recent.len() > MAX_RECENT_EVENTS
            || (bytes > MAX_RECENT_BYTES && self.recent.len() > 1)
        {
            if let Some(e) = self.recent.pop_front() {
                bytes -= e.frame.len();
                self.older.push_back((e.seq, e.at));
            }
        }
        let now = self.ctx.clock.now();
        let oldest = now.saturating_sub(self.ctx.resume_window_ms);
        while self.older.front().is_some_and(|&(_, at)| {
            at < oldest || self.older.len() + self.recent.len() > MAX_REPLAY
        }) {
            self.older.pop_front();
        }
        if self.older.is_empty() {
            // An emptied deque keeps its block; a quiet room gives it back.
            self.older.shrink_to_fit();
            while self.recent.front().is_some_and(|e| e.at < oldest) {
                self.recent.pop_front();
            }
        }
    }

    /// Remember a command's ack, so a retry gets it again.
    pub(super) fn remember(&mut self, who: ParticipantId, id: CommandId, ack: Utf8Bytes) {
        let kept = match serde_json::from_str::<AckFields>(ack.as_str()) {
            Ok(AckFields {
                seq,
                server_time,
                result: None,
            }) => Remembered {
                id: id.into_boxed_str(),
                seq,
                at: server_time,
                with_result: None,
            },
            _ => Remembered {
                id: id.into_boxed_str(),
                seq: 0,
                at: 0,
                with_result: Some(ack),
            },
        };
        let list = self
            .acks
            .entry(who)
            .or_insert_with(|| VecDeque::with_capacity(4));
        if list.len() >= REMEMBERED_COMMANDS {
            list.pop_front();
        }
        list.push_back(kept);
    }

    /// The ack of `who`'s command `id`, if it was already applied.
    pub(super) fn remembered(&self, who: ParticipantId, id: &CommandId) -> Option<Utf8Bytes> {
        let r = self.acks.get(&who)?.iter().find(|r| *r.id == **id)?;
        Some(match &r.with_result {
            Some(ack) => ack.clone(),
            None => ack_frame(id.clone(), r.seq, r.at),
        })
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

    /// The oldest event a resume may replay one by one: the first still in the resume window.
    fn oldest_replayable(&self) -> u64 {
        match (self.older.front(), self.recent.front()) {
            (Some(&(seq, _)), _) => seq,
            (None, Some(e)) => e.seq,
            (None, None) => self.room.seq() + 1,
        }
    }

    /// What a returning client gets first: the missed events one by one when they are all in
    /// the resume window (and not too many) — those older than the tail read from the store
    /// when it is delivered —, a snapshot when they are not, the whole room when it saw
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
        let missed = seq.saturating_sub(last);
        if last <= seq && last + 1 >= self.oldest_replayable() && missed as usize <= MAX_REPLAY {
            let mut frames = Vec::with_capacity(missed.min(MAX_RECENT_EVENTS as u64) as usize + 1);
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
            let tail_first = self.recent.front().map_or(seq + 1, |e| e.seq);
            let gap = (last + 1 < tail_first).then_some((last, tail_first));
            return Admission::Replay(Replay { frames, gap });
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

    /// A replay's frames, in order, once what it waited for is durable: the events older than
    /// the tail are read from the store (every one of them, or the resume is refused and the
    /// client comes back again).
    pub(super) fn replayed(&self, replay: Replay) -> Result<Vec<Utf8Bytes>, Rejection> {
        let Replay { frames, gap } = replay;
        let Some((after, before)) = gap else {
            return Ok(frames);
        };
        let wanted = (before - after - 1) as usize;
        let id = self.room.view().id.clone();
        let store = std::sync::Arc::clone(&self.ctx.store);
        let read = move || store.events_after(&id, after, wanted);
        // The store's read is synchronous: on a runtime with worker threads, this one hands its
        // other tasks on while it reads.
        let events = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(read),
            _ => read(),
        };
        let unavailable = |why: &str| {
            tracing::warn!(
                after,
                before,
                why,
                "a resume's older events could not be read"
            );
            Rejection::new(
                ErrorCode::Unavailable,
                "the server could not read what you missed; resume again in a moment",
            )
        };
        let events = events.map_err(|e| unavailable(&e.to_string()))?;
        let complete = events.len() == wanted
            && events
                .iter()
                .zip(after + 1..)
                .all(|(e, expected)| e.seq == expected);
        if !complete {
            return Err(unavailable("events missing from the store"));
        }
        let mut out = Vec::with_capacity(frames.len() + wanted);
        let mut frames = frames.into_iter();
        out.extend(frames.next());
        out.extend(events.iter().map(|e| event_frame(&e.recorded())));
        out.extend(frames);
        Ok(out)
    }
}
