//! Several nodes on one PostgreSQL database: the leases this node holds on rooms and series
//! (see [`crate::store::leases`]). A room or series is claimed before it is loaded or written,
//! its fence goes with every write, the leases are renewed every third of their time, what
//! another node asks for is handed over, and everything is released at shutdown. With a store
//! one process owns (sled) there are no leases and every method here does nothing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circlekeeper_protocol::close;
use dashmap::DashMap;
use tracing::{debug, info, warn};

use super::AppState;
use crate::live::RoomMsg;
use crate::store::leases::WANTED_POLL;
use crate::store::{Claim, Owner, OwnerKind, StoreError};

/// How often a node asks again for a lease another node holds, while it waits for it.
pub const CLAIM_POLL: Duration = Duration::from_millis(200);

/// How long a hand-over may take: the room's pending writes made durable, its connections
/// closed.
const HAND_OVER: Duration = Duration::from_secs(10);

/// Why a room (or series) is not served by this node now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unserved {
    /// There is no such room (`room_not_found`, 404).
    NotFound,
    /// Its stored records are damaged (`room_unavailable`, 503).
    Damaged,
    /// The store cannot be reached, or the server is shutting down (`unavailable`, 503).
    Unavailable,
    /// Another node runs it and did not hand it over in time: the client reconnects (close
    /// `4012`; HTTP 503 `unavailable`).
    Elsewhere,
}

/// The leases this node holds.
#[derive(Default)]
pub(super) struct Cluster {
    /// Owner → the fence of this node's lease on it.
    held: DashMap<Owner, u64>,
    /// When the leases were last renewed (or first claimed).
    renewed: Mutex<Option<Instant>>,
}

impl AppState {
    /// Whether this node is one of several (its store has leases).
    pub fn clustered(&self) -> bool {
        self.inner.store.leases().is_some()
    }

    /// This node's id, with several nodes.
    pub fn node_id(&self) -> Option<String> {
        self.inner.store.leases().map(|l| l.node().to_string())
    }

    /// Run a lease call on a blocking thread; `None` if the store has no leases.
    async fn on_leases<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn crate::store::Leases) -> Result<T, StoreError> + Send + 'static,
    ) -> Option<Result<T, StoreError>> {
        let store = Arc::clone(&self.inner.store);
        let ran = tokio::task::spawn_blocking(move || store.leases().map(f)).await;
        match ran {
            Ok(answer) => answer,
            Err(e) => Some(Err(StoreError::Backend {
                reason: format!("a lease call failed: {e}"),
            })),
        }
    }

    /// Claim `owner` for this node: its fence (`None` without leases). If another node holds
    /// it, that node is asked to hand it over and, with `wait`, this waits for it (polling) up
    /// to the lease time and a second.
    pub(super) async fn claim(&self, owner: &Owner, wait: bool) -> Result<Option<u64>, Unserved> {
        let Some(lease) = self.inner.store.leases().map(|l| l.lease_time()) else {
            return Ok(None);
        };
        let deadline = Instant::now() + lease + Duration::from_secs(1);
        // Bounded by the deadline; the count bounds it too, whatever the clock does.
        let most = 2 + (lease + Duration::from_secs(1)).as_millis() / CLAIM_POLL.as_millis();
        for _ in 0..most {
            if *self.inner.shutdown.borrow() {
                return Err(Unserved::Unavailable);
            }
            let o = owner.clone();
            match self.on_leases(move |l| l.claim(&o)).await {
                Some(Ok(Claim::Held(fence))) => {
                    self.inner.cluster.held.insert(owner.clone(), fence);
                    if let Ok(mut renewed) = self.inner.cluster.renewed.lock() {
                        renewed.get_or_insert_with(Instant::now);
                    }
                    debug!(owner = %owner.lease_key(), fence, "lease claimed");
                    return Ok(Some(fence));
                }
                Some(Ok(Claim::Elsewhere { node, expires_in })) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if !wait || left.is_zero() {
                        debug!(owner = %owner.lease_key(), %node, "held by another node");
                        return Err(Unserved::Elsewhere);
                    }
                    let pause = expires_in
                        .clamp(Duration::from_millis(20), CLAIM_POLL)
                        .min(left);
                    tokio::time::sleep(pause).await;
                }
                Some(Err(e)) => {
                    warn!(error = %e, "a lease could not be claimed");
                    return Err(Unserved::Unavailable);
                }
                None => return Ok(None),
            }
        }
        Err(Unserved::Elsewhere)
    }

    /// Give up this node's lease on `owner` (if it holds one): another node may take it at once.
    pub(super) async fn release(&self, owner: &Owner) {
        let Some((_, fence)) = self.inner.cluster.held.remove(owner) else {
            return;
        };
        self.release_fence(owner, fence).await;
    }

    /// Give up the lease on `owner` claimed with `fence` (if the database still has it so).
    async fn release_fence(&self, owner: &Owner, fence: u64) {
        self.inner
            .cluster
            .held
            .remove_if(owner, |_, held| *held == fence);
        let o = owner.clone();
        if let Some(Err(e)) = self.on_leases(move |l| l.release(&o, fence)).await {
            // It expires by itself.
            warn!(error = %e, "a lease could not be released");
        }
    }

    /// Forget a lease this node lost (another node claimed it).
    pub(super) fn lost(&self, owner: &Owner) {
        self.inner.cluster.held.remove(owner);
    }

    /// Give up every lease (at shutdown, once every write is durable).
    pub(super) async fn release_all(&self) {
        self.inner.cluster.held.clear();
        if let Some(Err(e)) = self.on_leases(|l| l.release_all()).await {
            warn!(error = %e, "leases could not be released; they expire by themselves");
        }
    }

    /// Stop serving `owner` here: a room's actor finishes what is pending and closes its
    /// connections with `code`; a series' actor runs the jobs waiting. Then the lease is
    /// released (unless `code` says it was lost).
    pub(super) async fn hand_over(&self, owner: &Owner, code: u16) {
        // The fence is taken first: once the room's actor stops, the sweeper forgets the lease
        // (`forget_stopped`), and the release below must still find it.
        let fence = self.inner.cluster.held.get(owner).map(|f| *f);
        match owner.kind {
            OwnerKind::Room => {
                let gate = self.gate(&owner.id);
                let held = gate.lock().await;
                if let Some(handle) = self.live_room(&owner.id) {
                    let (done, stopped) = tokio::sync::oneshot::channel();
                    if handle.send(RoomMsg::HandOver { code, done }).await {
                        let _ = tokio::time::timeout(HAND_OVER, stopped).await;
                    }
                    self.inner
                        .rooms
                        .remove_if(&owner.id, |_, live| live.same(&handle));
                }
                if let (close::ROOM_MOVED, Some(fence)) = (code, fence) {
                    self.release_fence(owner, fence).await;
                }
                drop(held);
                self.ungate(&owner.id, gate);
            }
            OwnerKind::Series => {
                let gate = self.gate(&owner.lease_key());
                let held = gate.lock().await;
                if let Some((_, handle)) = self.inner.series.remove(&owner.id) {
                    let _ = tokio::time::timeout(HAND_OVER, handle.hand_over()).await;
                }
                if let Some(fence) = fence {
                    self.release_fence(owner, fence).await;
                }
                drop(held);
                self.ungate(&owner.lease_key(), gate);
            }
        }
    }

    /// Renew the leases; stop serving those lost. If renewing has failed for longer than a
    /// lease, stop serving everything (other nodes may have taken it all over).
    async fn renew(&self) {
        let held: Vec<(Owner, u64)> = self
            .inner
            .cluster
            .held
            .iter()
            .map(|e| (e.key().clone(), *e.value()))
            .collect();
        let lease = self
            .inner
            .store
            .leases()
            .map_or(Duration::ZERO, |l| l.lease_time());
        match self.on_leases(move |l| l.renew(&held)).await {
            Some(Ok(lost)) => {
                if let Ok(mut r) = self.inner.cluster.renewed.lock() {
                    *r = Some(Instant::now());
                }
                for owner in lost {
                    warn!(owner = %owner.lease_key(), "lease lost to another node; it stops here");
                    self.lost(&owner);
                    let state = self.clone();
                    tokio::spawn(async move { state.hand_over(&owner, close::ROOM_MOVED).await });
                }
            }
            Some(Err(e)) => {
                let since = self
                    .inner
                    .cluster
                    .renewed
                    .lock()
                    .ok()
                    .and_then(|r| *r)
                    .map(|at| at.elapsed());
                warn!(error = %e, "leases could not be renewed");
                if since.is_some_and(|s| s > lease) {
                    warn!("leases not renewed for longer than a lease: every room stops here");
                    self.stop_everything().await;
                }
            }
            None => {}
        }
    }

    /// Stop every room and series here without releasing anything (the store is out of
    /// reach): their connections close with `1001` and reconnect.
    async fn stop_everything(&self) {
        let owners: Vec<Owner> = self
            .inner
            .cluster
            .held
            .iter()
            .map(|e| e.key().clone())
            .collect();
        self.inner.cluster.held.clear();
        if let Ok(mut r) = self.inner.cluster.renewed.lock() {
            *r = None;
        }
        for owner in owners {
            self.hand_over(&owner, close::GOING_AWAY).await;
        }
    }

    /// Hand over what other nodes asked for.
    async fn serve_wanted(&self) {
        let Some(Ok(wanted)) = self.on_leases(|l| l.wanted()).await else {
            return;
        };
        for owner in wanted {
            if !self.inner.cluster.held.contains_key(&owner) {
                continue;
            }
            info!(owner = %owner.lease_key(), "another node asked for it: handed over");
            let state = self.clone();
            tokio::spawn(async move { state.hand_over(&owner, close::ROOM_MOVED).await });
        }
    }
}

/// With leases: release what a process with this node's id held before (at start), then renew
/// every third of the lease and hand over what others want every [`WANTED_POLL`], until the
/// server shuts down.
pub(super) async fn leaseholder(state: AppState) {
    let Some(lease) = state.inner.store.leases().map(|l| l.lease_time()) else {
        return;
    };
    let mut shutdown = state.shutting_down();
    let renew_every = (lease / 3).max(WANTED_POLL);
    let mut renew = tokio::time::interval(renew_every);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut wanted = tokio::time::interval(WANTED_POLL);
    wanted.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = renew.tick() => state.renew().await,
            _ = wanted.tick() => state.serve_wanted().await,
        }
    }
}
