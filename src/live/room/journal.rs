//! The journal: the room's group-commit pipeline. Everything the inputs of one step write
//! (events, a snapshot when one is due, whatever their effects write) is queued with what those
//! inputs owe the world (broadcasts, answers, admissions), sealed into one submission to the
//! commit thread, and put behind its receipt as one pending entry. Entries are released strictly
//! in order, each only once its writes are durable; if the store fails, nothing pending is ever
//! released and the room stops.

use circlekeeper_protocol::{close, ErrorCode};
use tokio::sync::oneshot;
use tracing::{error, warn};

use super::delivery::{error_frame, event_frame, Admission, Delivery, Outbound};
use super::resume::RecentEvent;
use super::{Actor, Notice};
use crate::room::state::{Recorded, Rejection};
use crate::store::{Durable, EventJson, Origin, Snapshot, StoreError, StoredEvent, Write};

/// Most inbox messages one step of the actor handles before it submits their writes together.
pub const MAX_STEP_MESSAGES: usize = 64;

/// A snapshot is written every this many events, so a restart replays at most this many.
pub const SNAPSHOT_EVERY: u64 = 256;

/// One step's deliveries and the receipt they wait for.
pub(super) struct Pending {
    /// The commit thread's receipt for the step's writes; `None` once durable (or if the step
    /// wrote nothing).
    pub(super) receipt: Option<Durable>,
    /// What the step owes the world, in order.
    deliveries: Vec<Delivery>,
}

impl Actor {
    /// Journal new events: their writes (stored with the command they complete, `origin`, on
    /// the last one) are queued, a snapshot with them when one is due, and each event is
    /// serialized once — the frame the resume buffer keeps, every peer gets, and the store
    /// writes the event's JSON from. Returns the frames, in order.
    pub(super) fn record(
        &mut self,
        events: Vec<Recorded>,
        origin: Option<Origin>,
    ) -> Vec<axum::extract::ws::Utf8Bytes> {
        if events.is_empty() {
            return Vec::new();
        }
        let mut frames = Vec::with_capacity(events.len());
        let last = events.len() - 1;
        let mut origin = origin;
        let mut stored = Vec::with_capacity(events.len());
        for (i, r) in events.into_iter().enumerate() {
            let f = event_frame(&r);
            self.recent.push_back(RecentEvent {
                seq: r.seq,
                at: r.at,
                frame: f.clone(),
            });
            // The store writes the event's JSON from the frame (no copy, no second pass).
            let json = EventJson::from_frame(f.clone());
            frames.push(f);
            stored.push(StoredEvent {
                seq: r.seq,
                at: r.at,
                event: r.event,
                origin: if i == last { origin.take() } else { None },
                json,
            });
        }
        self.trim_recent();
        let room = self.room.view().id.clone();
        if self.room.seq() >= self.snapshot_seq + SNAPSHOT_EVERY {
            self.snapshot_seq = self.room.seq();
            self.open_writes.push(Write::Events {
                room: room.clone(),
                events: stored,
            });
            self.open_writes.push(Write::Snapshot {
                room,
                snapshot: Box::new(Snapshot {
                    room: self.room.clone(),
                }),
            });
        } else {
            self.open_writes.push(Write::Events {
                room,
                events: stored,
            });
        }
        frames
    }

    /// Submit the writes queued this step as one submission and put their deliveries behind
    /// its receipt (or behind nothing, if there were no writes).
    pub(super) async fn seal(&mut self) {
        if self.open_deliveries.is_empty() && self.open_writes.is_empty() {
            return;
        }
        let mut writes = std::mem::take(&mut self.open_writes);
        let deliveries = std::mem::take(&mut self.open_deliveries);
        if let (Some(fence), false) = (self.fence, writes.is_empty()) {
            let owner = crate::store::Owner::room(&self.room.view().id);
            writes.insert(0, Write::Fence { owner, fence });
        }
        let receipt = if writes.is_empty() {
            None
        } else {
            Some(self.ctx.committer.submit_in(&self.chain, writes).await)
        };
        self.pending.push_back(Pending {
            receipt,
            deliveries,
        });
    }

    /// Release, in order, every pending entry whose writes are durable.
    pub(super) fn release_ready(&mut self) {
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
            self.deliver_all(ready.deliveries);
            if self.stopped {
                return;
            }
        }
    }

    /// The room cannot go on (the store failed, or the OS has no randomness for what an effect
    /// needs): nothing pending may be acknowledged. Every command waiting for durability is
    /// answered `unavailable` (an entry is refused the same way), everyone is disconnected, and
    /// the room stops serving here. How it stops depends on why:
    ///
    /// - another node holds its lease ([`StoreError::Fenced`]): close `4012`, nothing answered
    ///   (the clients resume where the room went and send their commands again);
    /// - the store could not be reached or refused the write (a full disk): close `1001`;
    ///   the next request for it loads it again, as on disk, once the store takes writes
    ///   again (until then it is refused `unavailable`, never `room_not_found`);
    /// - anything else (a damaged record): close `1001`, and the room is not served again.
    pub(super) fn fail(&mut self, e: &StoreError) {
        let (code, notice): (u16, fn(String) -> Notice) = match e {
            StoreError::Fenced { .. } => (close::ROOM_MOVED, Notice::Moved),
            e if e.is_transient() => (close::GOING_AWAY, Notice::Stopped),
            _ => (close::GOING_AWAY, Notice::Failed),
        };
        if code == close::ROOM_MOVED {
            warn!("another node took this room over; it stops here");
        } else if e.is_transient() {
            // The commit thread logs the outage once; the room is loaded again, as on disk,
            // by the next request for it once the store takes writes again.
            warn!(error = %e, "the room's changes could not be made durable; it stops until the store takes writes again");
        } else {
            error!(error = %e, "the room cannot go on (its changes could not be made durable); it stops");
        }
        let waiting: Vec<Delivery> = self
            .pending
            .drain(..)
            .flat_map(|p| p.deliveries)
            .chain(self.open_deliveries.drain(..))
            .collect();
        self.open_writes.clear();
        if code != close::ROOM_MOVED {
            for d in waiting {
                self.refuse_undurable(d);
            }
        }
        self.stop(code, notice);
    }

    /// What a delivery that will never be durable owes: an `unavailable` error for a command
    /// (or an entry: on its connection too, which then closes) that would have been
    /// acknowledged; an error answer as it was.
    fn refuse_undurable(&mut self, d: Delivery) {
        const MSG: &str = "the server could not save this; try again in a few seconds";
        match d {
            Delivery::Answer {
                conn, frame, ok, ..
            } => {
                if !ok {
                    return self.send_to(conn, frame);
                }
                let id = answered(frame.as_str());
                self.send_to(conn, error_frame(id, ErrorCode::Unavailable, MSG));
            }
            Delivery::Admit {
                peer, first, reply, ..
            } => {
                let id = match &first {
                    Admission::Frame(f) => answered(f.as_str()),
                    Admission::Replay(frames) => frames.first().and_then(|f| answered(f.as_str())),
                };
                let error = error_frame(id, ErrorCode::Unavailable, MSG);
                let _ = peer.outbox.try_send(Outbound::Frame(error));
                let _ = reply.send(Err(Rejection::new(ErrorCode::Unavailable, MSG)));
            }
            Delivery::Broadcast(_) | Delivery::Disconnect(_) | Delivery::Deleted => {}
        }
    }
}

/// The id of the command a server frame answers (an ack, a welcome, `resumed`, a snapshot).
fn answered(frame: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        id: Option<String>,
    }
    serde_json::from_str::<Answer>(frame)
        .ok()
        .and_then(|a| a.id)
}
