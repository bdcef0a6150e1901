//! The rooms this node runs: a room loaded from the store on first use (with several nodes,
//! after its lease is claimed), opened, and deleted, each under its own gate so that one room is
//! read once however many ask for it at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use circlekeeper_protocol::Millis;
use tracing::{debug, error, warn};

use super::{rebuild, AppState, Unserved, MAX_ROOM_ID};
use crate::live::room::{Keys, RoomInit};
use crate::live::{RoomHandle, RoomMsg};
use crate::room::Room;
use crate::store::{StoreError, StoredEvent, Write};

/// A room opened on this node (one node, no leases) that nobody has used yet: only what it
/// was opened with, kept until its first request starts its actor. Its record is durable, and
/// nothing has been written in it since.
pub(super) struct Dormant {
    setup: crate::room::RoomSetup,
    keys: Keys,
    series: Option<String>,
}

impl AppState {
    /// A live room's handle, bringing the room back from the store on first use: its latest
    /// snapshot, then the events after it. With several nodes the room's lease is claimed
    /// first (waiting, up to a lease, for another node to hand it over). Refused if there is no
    /// such room, if its stored records are damaged (then it is marked unavailable: refused,
    /// never served half-read), if the store cannot be reached, or if another node keeps it.
    ///
    /// A room whose actor stopped but is still registered (it failed a write a moment ago, and
    /// the sweeper has not forgotten it yet) is refused `Unavailable`, never `NotFound`: the
    /// client keeps its token and comes back, and then the room is loaded again from the store.
    pub async fn room(&self, id: &str) -> Result<RoomHandle, Unserved> {
        if let Some(handle) = self.live_room(id) {
            return serving(handle);
        }
        if self.inner.unavailable.contains(id) {
            return Err(Unserved::Damaged);
        }
        if id.is_empty() || id.len() > MAX_ROOM_ID {
            return Err(Unserved::NotFound);
        }
        let gate = self.gate(id);
        let held = gate.lock().await;
        // Someone else may have loaded it while this waited.
        let handle = match self.live_room(id) {
            Some(handle) => serving(handle),
            None => match self.inner.dormant.remove(id) {
                // Opened here and not used yet: its actor starts now, from the state it was
                // opened with (nothing was written in it since).
                Some((_, dormant)) => {
                    let init = self.woken(*dormant);
                    self.launch(init).ok_or(Unserved::Unavailable)
                }
                None => self.load_room(id).await,
            },
        };
        drop(held);
        self.ungate(id, gate);
        handle
    }

    /// A live room's handle, if it is loaded (a clone: no map guard escapes).
    pub(super) fn live_room(&self, id: &str) -> Option<RoomHandle> {
        self.inner.rooms.get(id).map(|r| r.value().clone())
    }

    /// The lock that serializes loading (and deleting while not loaded) one room.
    pub(super) fn gate(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            self.inner
                .loading
                .entry(id.to_string())
                .or_default()
                .value(),
        )
    }

    /// Forget a room's gate once nobody else holds it.
    pub(super) fn ungate(&self, id: &str, gate: Arc<tokio::sync::Mutex<()>>) {
        drop(gate);
        self.inner
            .loading
            .remove_if(id, |_, g| Arc::strong_count(g) == 1);
    }

    /// Read a room from the store and start its actor (called under the room's gate).
    pub(super) async fn load_room(&self, id: &str) -> Result<RoomHandle, Unserved> {
        let store = Arc::clone(&self.inner.store);
        let key = id.to_string();
        // Whether it exists, before anything is claimed for it.
        let record = tokio::task::spawn_blocking(move || store.room(&key)).await;
        let record = match record {
            Ok(Ok(Some(record))) => record,
            Ok(Ok(None)) => return Err(Unserved::NotFound),
            Ok(Err(e)) if e.is_transient() => {
                self.unreadable(id, &e);
                return Err(Unserved::Unavailable);
            }
            Ok(Err(e)) => {
                error!(room_id = %id, "room not restored: {e}");
                self.inner.unavailable.insert(id.to_string());
                return Err(Unserved::Damaged);
            }
            Err(e) => {
                error!(room_id = %id, error = %e, "loading a room failed");
                return Err(Unserved::Unavailable);
            }
        };
        let owner = crate::store::Owner::room(id);
        let fence = self.claim(&owner, true).await?;
        let loaded = self.restore_room(id, record, fence).await;
        if loaded.is_err() {
            self.release(&owner).await;
        }
        loaded
    }

    /// Read a room's snapshot and events (after its lease is claimed) and start its actor.
    pub(super) async fn restore_room(
        &self,
        id: &str,
        record: crate::store::RoomRecord,
        fence: Option<u64>,
    ) -> Result<RoomHandle, Unserved> {
        let store = Arc::clone(&self.inner.store);
        let key = id.to_string();
        let now = self.inner.clock.now();
        let window = self.inner.settings.resume_window.as_millis() as u64;
        let loaded = tokio::task::spawn_blocking(move || {
            // The snapshot, the events after it, and the last ones a resume may replay.
            let loaded = store.load_recent(&key, crate::live::room::MAX_REPLAY)?;
            let room = rebuild(&record, &loaded).map_err(|gap| StoreError::Record {
                key: format!("room {key}"),
                reason: gap.to_string(),
            })?;
            Ok::<_, StoreError>((record, loaded, room))
        })
        .await;
        let (record, loaded, room) = match loaded {
            Ok(Ok(found)) => found,
            Ok(Err(e)) if e.is_transient() => {
                self.unreadable(id, &e);
                return Err(Unserved::Unavailable);
            }
            Ok(Err(why)) => {
                error!(room_id = %id, "room not restored: {why}");
                self.inner.unavailable.insert(id.to_string());
                return Err(Unserved::Damaged);
            }
            Err(e) => {
                error!(room_id = %id, error = %e, "loading a room failed");
                return Err(Unserved::Unavailable);
            }
        };
        let since: Millis = now.saturating_sub(window);
        let recent: Vec<StoredEvent> = loaded
            .events
            .into_iter()
            .filter(|e| e.at >= since)
            .collect();
        let init = RoomInit {
            room,
            keys: Keys {
                join: record.join_key_hash,
                host: record.host_key_hash,
                join_key: record.join_key.clone(),
            },
            tokens: loaded.tokens,
            recent,
            series: record.series.as_deref().map(|s| self.series_link(s)),
            restored: true,
            fence,
        };
        self.launch(init).ok_or(Unserved::Unavailable)
    }

    /// Open a new room (used by `POST /api/rooms`): its record is durable before it exists.
    /// With several nodes its lease is claimed first.
    pub(crate) async fn open_room(
        &self,
        record: crate::store::RoomRecord,
        keys: Keys,
    ) -> Result<(), StoreError> {
        let setup = record.setup.clone();
        let series = record.series.clone();
        let owner = crate::store::Owner::room(&setup.id);
        let fence = self.claim(&owner, false).await.map_err(unserved)?;
        let mut writes = fenced(&owner, fence);
        writes.push(Write::Room {
            record: Box::new(record),
        });
        if let Err(e) = self.commit(writes).await {
            self.release(&owner).await;
            return Err(e);
        }
        self.start_room(setup, series.as_deref(), keys, fence).await
    }

    /// Make ready a new room whose record is already durable (a series' session is
    /// written by its series' actor, with the session), under this node's lease `fence`.
    /// On one node it is kept [`Dormant`] until its first request starts its actor.
    ///
    /// With several nodes the room is not started here: its lease is released, and the node the
    /// proxy sends the room's first request to claims it then. (Rooms are opened through the
    /// proxy by whichever node the client's address hashes to, which is seldom the room's.)
    pub(crate) async fn start_room(
        &self,
        setup: crate::room::RoomSetup,
        series: Option<&str>,
        keys: Keys,
        fence: Option<u64>,
    ) -> Result<(), StoreError> {
        if fence.is_some() {
            self.inner.held.fetch_add(1, Ordering::Relaxed);
            self.release(&crate::store::Owner::room(&setup.id)).await;
            return Ok(());
        }
        if self.context().is_none() {
            return Err(StoreError::Closed);
        }
        self.inner.held.fetch_add(1, Ordering::Relaxed);
        // Its actor starts at the room's first request (`AppState::room`).
        let dormant = Dormant {
            setup,
            keys,
            series: series.map(str::to_string),
        };
        self.inner
            .dormant
            .insert(dormant.setup.id.clone(), Box::new(dormant));
        Ok(())
    }

    /// What a dormant room's actor starts from.
    fn woken(&self, dormant: Dormant) -> RoomInit {
        RoomInit {
            room: Room::new(dormant.setup),
            keys: dormant.keys,
            tokens: Vec::new(),
            recent: Vec::new(),
            series: dormant.series.as_deref().map(|s| self.series_link(s)),
            restored: false,
            fence: None,
        }
    }

    /// Claim a new room's lease (several nodes) before its record is written: its fence, and
    /// the write that carries it (to go first in the submission that writes the record).
    pub(crate) async fn claim_new_room(
        &self,
        id: &str,
    ) -> Result<(Option<u64>, Vec<Write>), StoreError> {
        let owner = crate::store::Owner::room(id);
        let fence = self.claim(&owner, false).await.map_err(unserved)?;
        Ok((fence, fenced(&owner, fence)))
    }

    /// Delete a room, live or stored only, and wait until it is gone from disk.
    pub(super) async fn delete_room(&self, id: &str) -> Result<(), StoreError> {
        let gate = self.gate(id);
        let held = gate.lock().await;
        let result = self.delete_gated(id).await;
        drop(held);
        self.ungate(id, gate);
        result
    }

    /// [`AppState::delete_room`], under the room's gate: a room not live is not loaded (nor
    /// can it be while this runs); its stored records are removed directly (with several nodes,
    /// under its lease: a node running it is asked to hand it over first).
    pub(super) async fn delete_gated(&self, id: &str) -> Result<(), StoreError> {
        if let Some(handle) = self.live_room(id) {
            let (done, gone) = tokio::sync::oneshot::channel();
            if handle.send(RoomMsg::Delete { done: Some(done) }).await && gone.await.is_ok() {
                self.inner.rooms.remove(id);
                self.lost(&crate::store::Owner::room(id));
                return Ok(());
            }
        }
        // Not live (or it stopped meanwhile): remove what is stored. Another node running it
        // hands it over first. A room opened here and never used is forgotten first: under
        // the gate, nobody can start it meanwhile.
        self.inner.dormant.remove(id);
        let owner = crate::store::Owner::room(id);
        let fence = self.claim(&owner, true).await.map_err(unserved)?;
        let mut writes = fenced(&owner, fence);
        writes.push(Write::Delete {
            room: id.to_string(),
        });
        let deleted = self.commit(writes).await;
        // The lease row went with the room.
        self.lost(&owner);
        deleted?;
        self.inner.rooms.remove(id);
        self.inner.unavailable.remove(id);
        Ok(())
    }
}

impl AppState {
    /// Log a room that could not be read because the store is out of reach: at `warn`, unless
    /// the commit thread already said the store is down (then once per outage is enough, not
    /// once per request).
    fn unreadable(&self, id: &str, e: &StoreError) {
        if self.inner.commit_stats.down.load(Ordering::Acquire) {
            debug!(room_id = %id, error = %e, "a room could not be read: the store is down");
        } else {
            warn!(room_id = %id, error = %e, "a room could not be read: the store is unavailable");
        }
    }
}

/// A registered room's handle if its actor still runs; `Unavailable` if it stopped (it is
/// forgotten shortly, and loaded again on the next request).
fn serving(handle: RoomHandle) -> Result<RoomHandle, Unserved> {
    if handle.is_closed() {
        Err(Unserved::Unavailable)
    } else {
        Ok(handle)
    }
}

/// The fence write that goes first in a submission of `owner`'s writes (with several nodes).
pub(super) fn fenced(owner: &crate::store::Owner, fence: Option<u64>) -> Vec<Write> {
    fence
        .map(|fence| Write::Fence {
            owner: owner.clone(),
            fence,
        })
        .into_iter()
        .collect()
}

/// The refusal of a claim, as a store error (for the callers that answer with those).
pub(super) fn unserved(u: Unserved) -> StoreError {
    StoreError::Backend {
        reason: match u {
            Unserved::Elsewhere => "another node holds its lease".into(),
            other => format!("{other:?}"),
        },
    }
}
