//! The HTTP face of the server and the life of its rooms: the axum router, the JSON API that
//! opens rooms ([`api`]), the `/ws` connection task ([`ws`]), the `/metrics` counters
//! ([`metrics`]), and [`AppState`], which restores rooms on start, deletes them when their
//! retention runs out, and shuts down cleanly.

pub mod api;
mod cluster;
mod decode;
pub mod guard;
mod settings;
/// The metrics live at the crate root ([`crate::metrics`]); re-exported for the server's users.
pub use crate::metrics;
pub mod web;
pub mod ws;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use circlekeeper_protocol::Millis;
use dashmap::{DashMap, DashSet};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::clock::Clock;
use crate::live::room::{Keys, Notice, RoomContext, RoomInit, SeriesLink};
use crate::live::{spawn_room, RoomHandle, RoomMsg};
use crate::live::{spawn_series, SeriesError, SeriesHandle};
use crate::room::Room;
use crate::series::SeriesRecord;
use crate::store::committer::CommitStats;
use crate::store::{Committer, Store, StoreError, StoredEvent, Write};
pub use cluster::{Unserved, CLAIM_POLL};
use metrics::Metrics;
pub use settings::{Settings, ADDRESS_BURST_SECS, RETENTION_SWEEP};

/// Longest room id looked up in the store (ids the server makes are 32 hex digits).
const MAX_ROOM_ID: usize = 64;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Live rooms by id. Holds handles only, never room state.
    rooms: DashMap<String, RoomHandle>,
    /// Rooms being loaded (or deleted while not loaded), each behind its own lock, so that one
    /// room is read from the store once however many connections ask for it at once.
    loading: DashMap<String, Arc<tokio::sync::Mutex<()>>>,
    /// Rooms held, loaded or not (counted at start, then kept up to date).
    held: AtomicUsize,
    /// Rooms whose stored records are damaged: refused rather than served wrong.
    unavailable: DashSet<String>,
    /// Series actors by id: each is the only writer of its record. Holds handles only.
    series: DashMap<String, SeriesHandle>,
    store: Arc<dyn Store>,
    /// The group-commit thread's handle; taken at shutdown so the thread can finish.
    committer: Mutex<Option<Committer>>,
    commit_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Room actor tasks, awaited at shutdown.
    actors: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Series actor tasks, awaited at shutdown after the rooms (which may still write to them).
    series_actors: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    notices: mpsc::UnboundedSender<Notice>,
    clock: Clock,
    settings: Settings,
    /// Source of connection ids.
    next_conn: AtomicU64,
    /// Flips to `true` when the server shuts down: connections close with 1001.
    shutdown: watch::Sender<bool>,
    /// Counts retention sweeps done (tests wait on it).
    sweeps: watch::Sender<u64>,
    /// Counters, gauges and histograms for `/metrics`.
    metrics: Arc<Metrics>,
    /// The commit thread's counters (they outlive the committer, taken at shutdown).
    commit_stats: Arc<CommitStats>,
    /// Per-address limits.
    guard: guard::Guard,
    /// The origins websocket upgrades may come from (`None`: any).
    origins: Option<std::collections::BTreeSet<String>>,
    /// The leases this node holds (several nodes).
    cluster: cluster::Cluster,
}

impl AppState {
    /// Start the server's state over a store: the commit thread, every stored room (restored
    /// from its snapshot and events), and the retention sweeper.
    pub fn start(
        store: Arc<dyn Store>,
        clock: Clock,
        settings: Settings,
    ) -> Result<AppState, StoreError> {
        let (committer, thread) =
            Committer::spawn(Arc::clone(&store)).map_err(|e| StoreError::Record {
                key: "commit thread".into(),
                reason: e.to_string(),
            })?;
        let (notices, notice_rx) = mpsc::unbounded_channel();
        let commit_stats = committer.shared_stats();
        let origins = guard::allowed_origins(&settings);
        let state = AppState {
            inner: Arc::new(Inner {
                rooms: DashMap::new(),
                loading: DashMap::new(),
                held: AtomicUsize::new(0),
                unavailable: DashSet::new(),
                series: DashMap::new(),
                store,
                committer: Mutex::new(Some(committer)),
                commit_thread: Mutex::new(Some(thread)),
                actors: Mutex::new(Vec::new()),
                series_actors: Mutex::new(Vec::new()),
                notices,
                clock,
                settings,
                next_conn: AtomicU64::new(1),
                shutdown: watch::Sender::new(false),
                sweeps: watch::Sender::new(0),
                metrics: Arc::default(),
                commit_stats,
                guard: guard::Guard::default(),
                origins,
                cluster: cluster::Cluster::default(),
            }),
        };
        if let Some(leases) = state.inner.store.leases() {
            // A node that starts holds nothing, whatever a process with its id held before.
            leases.release_all()?;
            info!(
                node = leases.node(),
                lease_ms = leases.lease_time().as_millis() as u64,
                "one of several nodes: rooms and series are claimed when first used"
            );
        } else {
            for record in state.inner.store.series()? {
                state.launch_series(record, None);
            }
        }
        state.count_stored()?;
        tokio::spawn(sweeper(state.clone(), notice_rx));
        tokio::spawn(pruner(state.clone()));
        tokio::spawn(cluster::leaseholder(state.clone()));
        Ok(state)
    }

    /// The per-address limits.
    pub fn guard(&self) -> &guard::Guard {
        &self.inner.guard
    }

    /// Whether a websocket upgrade with this `Origin` header may go on.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match &self.inner.origins {
            None => true,
            Some(set) => origin
                .and_then(guard::origin_of)
                .is_some_and(|o| set.contains(&o)),
        }
    }

    /// The clock the server runs on.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The server's settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Whether a room exists but cannot be served (damaged record).
    pub fn is_unavailable(&self, id: &str) -> bool {
        self.inner.unavailable.contains(id)
    }

    /// How many rooms are live (loaded, with a running actor).
    pub fn room_count(&self) -> usize {
        self.inner.rooms.len()
    }

    /// How many rooms the server holds, loaded or not (ended rooms within their retention
    /// included): what [`Settings::max_rooms`] limits.
    pub fn held_rooms(&self) -> usize {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// A receiver that changes after every retention sweep.
    pub fn sweeps(&self) -> watch::Receiver<u64> {
        self.inner.sweeps.subscribe()
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The metrics in the Prometheus text format (`GET /metrics`).
    pub fn render_metrics(&self) -> String {
        self.inner
            .metrics
            .render(self.room_count(), &self.inner.commit_stats.flush_seconds)
    }

    /// Whether the server can take work: it is not shutting down and the store answers (an
    /// empty submission goes through the commit thread's write and flush within `within`).
    /// Rooms are restored before [`AppState::start`] returns, so a started state has them.
    pub async fn ready(&self, within: Duration) -> Result<(), &'static str> {
        if *self.inner.shutdown.borrow() {
            return Err("shutting_down");
        }
        let committer = self.inner.committer.lock().ok().and_then(|c| c.clone());
        let Some(committer) = committer else {
            return Err("shutting_down");
        };
        let probe = async { committer.submit(Vec::new()).await.await };
        match tokio::time::timeout(within, probe).await {
            Ok(Ok(Ok(()))) => Ok(()),
            _ => Err("store_unavailable"),
        }
    }

    /// A receiver that turns `true` when the server shuts down.
    pub fn shutting_down(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    fn context(&self) -> Option<RoomContext> {
        let committer = self.inner.committer.lock().ok()?.clone()?;
        Some(RoomContext {
            committer,
            clock: self.inner.clock.clone(),
            resume_window_ms: self.inner.settings.resume_window.as_millis() as u64,
            presence_grace_ms: self.inner.settings.presence_grace.as_millis() as u64,
            notices: self.inner.notices.clone(),
            metrics: Arc::clone(&self.inner.metrics),
        })
    }

    /// Start a room's actor and register it; its handle. A room already live keeps its actor
    /// (one writer per room): the second is never started.
    fn launch(&self, init: RoomInit) -> Option<RoomHandle> {
        let ctx = self.context()?;
        let id = init.room.view().id.clone();
        let entry = match self.inner.rooms.entry(id) {
            dashmap::Entry::Occupied(live) => return Some(live.get().clone()),
            dashmap::Entry::Vacant(vacant) => vacant,
        };
        let (handle, task) = spawn_room(init, ctx);
        entry.insert(handle.clone());
        if let Ok(mut actors) = self.inner.actors.lock() {
            actors.retain(|t| !t.is_finished());
            actors.push(task);
        }
        Some(handle)
    }

    /// Count the stored rooms (for the server's room limit). Rooms themselves are loaded when
    /// first used ([`AppState::room`]), not at start.
    fn count_stored(&self) -> Result<(), StoreError> {
        let held = self.inner.store.room_count()?;
        self.inner.held.store(held, Ordering::Relaxed);
        if held > 0 {
            info!(
                rooms = held,
                "stored rooms found; each is loaded when first used"
            );
        }
        Ok(())
    }

    /// A live room's handle, bringing the room back from the store on first use: its latest
    /// snapshot, then the events after it. With several nodes the room's lease is claimed
    /// first (waiting, up to a lease, for another node to hand it over). Refused if there is no
    /// such room, if its stored records are damaged (then it is marked unavailable: refused,
    /// never served half-read), if the store cannot be reached, or if another node keeps it.
    pub async fn room(&self, id: &str) -> Result<RoomHandle, Unserved> {
        if let Some(handle) = self.live_room(id) {
            return Ok(handle);
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
            Some(handle) => Ok(handle),
            None => self.load_room(id).await,
        };
        drop(held);
        self.ungate(id, gate);
        handle
    }

    /// A live room's handle, if it is loaded (a clone: no map guard escapes).
    fn live_room(&self, id: &str) -> Option<RoomHandle> {
        self.inner.rooms.get(id).map(|r| r.value().clone())
    }

    /// The lock that serializes loading (and deleting while not loaded) one room.
    fn gate(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            self.inner
                .loading
                .entry(id.to_string())
                .or_default()
                .value(),
        )
    }

    /// Forget a room's gate once nobody else holds it.
    fn ungate(&self, id: &str, gate: Arc<tokio::sync::Mutex<()>>) {
        drop(gate);
        self.inner
            .loading
            .remove_if(id, |_, g| Arc::strong_count(g) == 1);
    }

    /// Read a room from the store and start its actor (called under the room's gate).
    async fn load_room(&self, id: &str) -> Result<RoomHandle, Unserved> {
        let store = Arc::clone(&self.inner.store);
        let key = id.to_string();
        // Whether it exists, before anything is claimed for it.
        let record = tokio::task::spawn_blocking(move || store.room(&key)).await;
        let record = match record {
            Ok(Ok(Some(record))) => record,
            Ok(Ok(None)) => return Err(Unserved::NotFound),
            Ok(Err(e)) if e.is_transient() => {
                warn!(room_id = %id, error = %e, "a room could not be read: the store is unavailable");
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
    async fn restore_room(
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
            let loaded = store.load_recent(&key, crate::live::room::MAX_RECENT_EVENTS)?;
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
                warn!(room_id = %id, error = %e, "a room could not be read: the store is unavailable");
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

    /// Start the actor of a new room whose record is already durable (a series' session is
    /// written by its series' actor, with the session), under this node's lease `fence`.
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
        let init = RoomInit {
            room: Room::new(setup),
            keys,
            tokens: Vec::new(),
            recent: Vec::new(),
            series: series.map(|s| self.series_link(s)),
            restored: false,
            fence,
        };
        self.inner.held.fetch_add(1, Ordering::Relaxed);
        match self.launch(init) {
            Some(_) => Ok(()),
            None => Err(StoreError::Closed),
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

    /// Submit writes to the commit thread and wait until they are durable.
    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let committer = self.inner.committer.lock().ok().and_then(|c| c.clone());
        let committer = committer.ok_or(StoreError::Closed)?;
        let receipt = committer.submit(writes).await;
        receipt.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Every stored room record (for the community host's listing).
    pub fn room_records(&self) -> Result<Vec<(String, crate::store::RoomRecord)>, StoreError> {
        self.inner.store.rooms()
    }

    /// Every series record, as each series' actor holds it (with several nodes: as stored, which
    /// is what every acknowledged change left).
    pub async fn all_series(&self) -> Vec<SeriesRecord> {
        if self.clustered() {
            let store = Arc::clone(&self.inner.store);
            let mut out = match tokio::task::spawn_blocking(move || store.series()).await {
                Ok(Ok(all)) => all,
                _ => {
                    warn!("the series could not be listed");
                    Vec::new()
                }
            };
            out.sort_by_key(|s| s.created_at);
            return out;
        }
        let handles: Vec<SeriesHandle> = self
            .inner
            .series
            .iter()
            .map(|e| e.value().clone())
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            if let Ok(record) = handle.read(SeriesRecord::clone).await {
                out.push(record);
            }
        }
        out.sort_by_key(|s| s.created_at);
        out
    }

    /// A room's view and notes, read from the store (for exports of rooms by the host key).
    pub fn stored_summary(
        &self,
        room: &str,
        names: crate::export::Names,
    ) -> Result<crate::export::RoomSummary, crate::export::ExportError> {
        crate::export::from_store(self.inner.store.as_ref(), room, names)
    }

    /// A room's stored events (for exports).
    pub fn load_events(&self, room: &str) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.inner.store.load(room)?.events)
    }

    /// A series' id and the way to its actor, for the actor of one of its rooms.
    fn series_link(&self, id: &str) -> SeriesLink {
        let directory: Arc<dyn crate::live::SeriesDirectory> =
            Arc::new(Directory(Arc::downgrade(&self.inner)));
        SeriesLink {
            id: id.to_string(),
            handle: crate::live::SeriesRef::new(id, directory),
        }
    }

    /// A series' actor, by id (a clone: no map guard escapes). With several nodes the series
    /// is claimed and loaded on first use, like a room.
    pub async fn series(&self, id: &str) -> Result<SeriesHandle, Unserved> {
        if let Some(handle) = self.live_series(id) {
            return Ok(handle);
        }
        if !self.clustered() || id.is_empty() || id.len() > MAX_ROOM_ID {
            return Err(Unserved::NotFound);
        }
        let owner = crate::store::Owner::series(id);
        let gate = self.gate(&owner.lease_key());
        let held = gate.lock().await;
        let handle = match self.live_series(id) {
            Some(handle) => Ok(handle),
            None => self.load_series(&owner).await,
        };
        drop(held);
        self.ungate(&owner.lease_key(), gate);
        handle
    }

    /// A series' actor, if it runs here.
    fn live_series(&self, id: &str) -> Option<SeriesHandle> {
        self.inner
            .series
            .get(id)
            .map(|h| h.value().clone())
            .filter(|h| !h.is_closed())
    }

    /// Claim a series, read it from the store and start its actor (under its gate).
    async fn load_series(&self, owner: &crate::store::Owner) -> Result<SeriesHandle, Unserved> {
        let store = Arc::clone(&self.inner.store);
        let key = owner.id.clone();
        let exists = tokio::task::spawn_blocking(move || store.series_record(&key)).await;
        match exists {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => return Err(Unserved::NotFound),
            _ => return Err(Unserved::Unavailable),
        }
        let fence = self.claim(owner, true).await?;
        // Read again under the lease: the last holder may have written since.
        let store = Arc::clone(&self.inner.store);
        let key = owner.id.clone();
        let record = tokio::task::spawn_blocking(move || store.series_record(&key)).await;
        let launched = match record {
            Ok(Ok(Some(record))) => self.launch_series(record, fence),
            Ok(Ok(None)) => None,
            _ => {
                self.release(owner).await;
                return Err(Unserved::Unavailable);
            }
        };
        match launched {
            Some(handle) => Ok(handle),
            None => {
                self.release(owner).await;
                Err(Unserved::NotFound)
            }
        }
    }

    /// Start the actor of a series from its stored record and register it.
    fn launch_series(&self, record: SeriesRecord, fence: Option<u64>) -> Option<SeriesHandle> {
        let committer = self.inner.committer.lock().ok().and_then(|c| c.clone())?;
        let id = record.id.clone();
        let (handle, task) = spawn_series(record, committer, fence);
        self.inner.series.insert(id, handle.clone());
        if let Ok(mut actors) = self.inner.series_actors.lock() {
            actors.retain(|t| !t.is_finished());
            actors.push(task);
        }
        Some(handle)
    }

    /// Create a series: its record is durable before its actor exists (with several nodes,
    /// under its new lease).
    pub(crate) async fn create_series(&self, record: SeriesRecord) -> Result<(), StoreError> {
        let owner = crate::store::Owner::series(&record.id);
        let fence = self.claim(&owner, false).await.map_err(unserved)?;
        let mut writes = fenced(&owner, fence);
        writes.push(Write::Series {
            record: Box::new(record.clone()),
        });
        if let Err(e) = self.commit(writes).await {
            self.release(&owner).await;
            return Err(e);
        }
        if fence.is_some() {
            // As a new room: the node the proxy sends the series' first request to claims it.
            self.release(&owner).await;
            return Ok(());
        }
        if self.launch_series(record, fence).is_some() {
            Ok(())
        } else {
            Err(StoreError::Closed)
        }
    }

    /// Delete a series and every room opened for it: each room is gone from disk (and its
    /// people disconnected) before the series record is. Returns `false` if there was no such
    /// series.
    pub(crate) async fn delete_series(&self, id: &str) -> Result<bool, StoreError> {
        let handle = match self.series(id).await {
            Ok(handle) => handle,
            Err(Unserved::NotFound) => return Ok(false),
            Err(other) => return Err(unserved(other)),
        };
        let rooms = match handle
            .read(|s| {
                s.sessions
                    .iter()
                    .map(|x| x.room_id.clone())
                    .collect::<Vec<_>>()
            })
            .await
        {
            Ok(rooms) => rooms,
            Err(SeriesError::Gone) => return Ok(false),
            Err(SeriesError::Store(e)) => return Err(e),
        };
        for room in &rooms {
            self.delete_room(room).await?;
        }
        let last = match handle.delete().await {
            Ok(last) => last,
            Err(SeriesError::Gone) => Vec::new(),
            Err(SeriesError::Store(e)) => return Err(e),
        };
        // A session opened while the others were being deleted goes too.
        for room in last.iter().filter(|r| !rooms.contains(r)) {
            self.delete_room(room).await?;
        }
        self.inner.series.remove(id);
        self.lost(&crate::store::Owner::series(id));
        info!(series_id = %id, "series deleted");
        Ok(true)
    }

    /// Delete a room, live or stored only, and wait until it is gone from disk.
    async fn delete_room(&self, id: &str) -> Result<(), StoreError> {
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
    async fn delete_gated(&self, id: &str) -> Result<(), StoreError> {
        if let Some(handle) = self.live_room(id) {
            let (done, gone) = tokio::sync::oneshot::channel();
            if handle.send(RoomMsg::Delete { done: Some(done) }).await && gone.await.is_ok() {
                self.inner.rooms.remove(id);
                self.lost(&crate::store::Owner::room(id));
                return Ok(());
            }
        }
        // Not live (or it stopped meanwhile): remove what is stored. Another node running it
        // hands it over first.
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

    /// Delete rooms whose session ended longer ago than the retention.
    async fn sweep(&self) {
        let now = self.inner.clock.now();
        let retention = self.inner.settings.retention.as_millis() as u64;
        let rooms = match self.inner.store.rooms() {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "retention sweep could not list rooms");
                return;
            }
        };
        self.inner.held.store(rooms.len(), Ordering::Relaxed);
        let open: std::collections::HashSet<String> = rooms
            .iter()
            .filter(|(_, r)| r.ended_at.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for (id, record) in rooms {
            let Some(ended) = record.ended_at else {
                continue;
            };
            if ended.saturating_add(retention) > now {
                continue;
            }
            info!(room_id = %id, "room deleted after its retention");
            if let Err(e) = self.delete_room(&id).await {
                warn!(room_id = %id, error = %e, "room could not be deleted");
            }
        }
        self.sweep_series(now, &open).await;
    }

    /// Delete series idle for longer than the series retention: no session opened since, and
    /// every session's room ended (or gone).
    async fn sweep_series(&self, now: Millis, open_rooms: &std::collections::HashSet<String>) {
        let retention = self.inner.settings.series_retention.as_millis() as u64;
        for record in self.all_series().await {
            let last = record
                .sessions
                .iter()
                .map(|s| s.opened_at)
                .max()
                .unwrap_or(record.created_at)
                .max(record.created_at);
            if last.saturating_add(retention) > now {
                continue;
            }
            if record
                .sessions
                .iter()
                .any(|s| open_rooms.contains(&s.room_id))
            {
                continue;
            }
            info!(series_id = %record.id, "series deleted after its retention");
            if let Err(e) = self.delete_series(&record.id).await {
                warn!(series_id = %record.id, error = %e, "series could not be deleted");
            }
        }
    }

    /// Shut down: tell every connection to reconnect (close 1001), stop every room, let the
    /// commit thread finish and flush the store. Bounded by the shutdown grace.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.shutdown.send_replace(true);
        inner.rooms.clear();
        let actors: Vec<_> = inner
            .actors
            .lock()
            .map(|mut a| a.drain(..).collect())
            .unwrap_or_default();
        let grace = inner.settings.shutdown_grace;
        let all = futures_util::future::join_all(actors);
        if tokio::time::timeout(grace, all).await.is_err() {
            warn!("rooms did not stop within the shutdown grace");
        }
        // Series' actors stop once their handles are gone, after the jobs they were given
        // (the rooms' last ones included).
        inner.series.clear();
        let series: Vec<_> = inner
            .series_actors
            .lock()
            .map(|mut a| a.drain(..).collect())
            .unwrap_or_default();
        if tokio::time::timeout(grace, futures_util::future::join_all(series))
            .await
            .is_err()
        {
            warn!("series did not stop within the shutdown grace");
        }
        if let Ok(mut c) = inner.committer.lock() {
            c.take();
        }
        let thread = inner.commit_thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let joined = tokio::task::spawn_blocking(move || thread.join());
            if tokio::time::timeout(grace, joined).await.is_err() {
                warn!("the commit thread did not finish within the shutdown grace");
            }
        }
        if let Err(e) = inner.store.flush() {
            error!(error = %e, "the final flush failed");
        }
        // Every write is durable: other nodes may take the rooms at once.
        self.release_all().await;
    }
}

/// The refusal of a claim, as a store error (for the callers that answer with those).
fn unserved(u: Unserved) -> StoreError {
    StoreError::Backend {
        reason: match u {
            Unserved::Elsewhere => "another node holds its lease".into(),
            other => format!("{other:?}"),
        },
    }
}

/// The fence write that goes first in a submission of `owner`'s writes (with several nodes).
fn fenced(owner: &crate::store::Owner, fence: Option<u64>) -> Vec<Write> {
    fence
        .map(|fence| Write::Fence {
            owner: owner.clone(),
            fence,
        })
        .into_iter()
        .collect()
}

/// How the rooms of this node find their series' actors: through the server's state (held
/// weakly: the rooms do not keep the server alive).
struct Directory(std::sync::Weak<Inner>);

impl crate::live::SeriesDirectory for Directory {
    fn find<'a>(
        &'a self,
        id: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<SeriesHandle>> + Send + 'a>>
    {
        Box::pin(async move {
            let inner = self.0.upgrade()?;
            AppState { inner }.series(id).await.ok()
        })
    }
}

pub use crate::restore::rebuild;

/// Delete rooms when their retention runs out, and forget rooms that stopped for good.
async fn sweeper(state: AppState, mut notices: mpsc::UnboundedReceiver<Notice>) {
    let mut shutdown = state.shutting_down();
    let mut next = state.inner.clock.now();
    loop {
        let clock = state.inner.clock.clone();
        tokio::select! {
            _ = shutdown.changed() => return,
            notice = notices.recv() => match notice {
                Some(Notice::Deleted(id)) => {
                    state.inner.rooms.remove(&id);
                    state.lost(&crate::store::Owner::room(&id));
                    let _ = state.inner.held.fetch_update(
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                        |n| Some(n.saturating_sub(1)),
                    );
                }
                Some(notice @ (Notice::Failed(_) | Notice::Stopped(_) | Notice::Moved(_))) => {
                    let id = notice.room().to_string();
                    if matches!(notice, Notice::Failed(_)) {
                        state.inner.unavailable.insert(id.clone());
                    }
                    let state = state.clone();
                    tokio::spawn(async move { state.forget_stopped(&id, &notice).await });
                }
                None => return,
            },
            _ = clock.sleep_until(next) => {
                state.sweep().await;
                state.inner.sweeps.send_modify(|n| *n += 1);
                let every = state.inner.settings.retention_sweep.as_millis() as u64;
                next = state.inner.clock.now() + every.max(1);
            }
        }
    }
}

impl AppState {
    /// A room that stopped by itself (failed, or another node took it): once its actor has
    /// ended, it leaves the registry (unless a new actor took its place) and its lease is
    /// released, or forgotten if it was lost.
    async fn forget_stopped(&self, id: &str, notice: &Notice) {
        let owner = crate::store::Owner::room(id);
        if let Some(handle) = self.live_room(id) {
            let ended = tokio::time::timeout(Duration::from_secs(10), handle.closed()).await;
            if ended.is_ok() {
                self.inner.rooms.remove_if(id, |_, live| live.same(&handle));
            }
        }
        if matches!(notice, Notice::Moved(_)) {
            self.lost(&owner);
        } else if self.live_room(id).is_none() {
            self.release(&owner).await;
        }
    }
}

/// Forget per-address counts that are whole again, every [`guard::PRUNE_EVERY`].
async fn pruner(state: AppState) {
    let mut shutdown = state.shutting_down();
    let mut every = tokio::time::interval(guard::PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = every.tick() => {
                state.inner.guard.prune(&state.inner.settings, std::time::Instant::now());
            }
        }
    }
}

/// The router shared by `main` and the tests.
pub fn app(state: AppState) -> Router {
    use axum::middleware::from_fn_with_state;
    // Endpoints that check an id, key or token, and those that open rooms (see `guard`).
    let entries = from_fn_with_state(state.clone(), guard::entries);
    let quota = from_fn_with_state(state.clone(), guard::room_quota);
    Router::new()
        .route("/", get(web::index))
        .route("/r/{room}", get(web::room_page))
        .route("/{file}", get(web::file))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/api/formats", get(api::formats))
        .route("/api/prompts", get(api::prompts))
        .route(
            "/api/rooms",
            post(api::create_room).route_layer(quota.clone()),
        )
        .route(
            "/api/rooms/{room}/preview",
            post(api::preview).route_layer(entries.clone()),
        )
        .route(
            "/api/rooms/{room}/export",
            post(api::export).route_layer(entries.clone()),
        )
        .route(
            "/api/host/list",
            post(api::host_list).route_layer(entries.clone()),
        )
        .route(
            "/api/host/report",
            post(api::host_range_report).route_layer(entries.clone()),
        )
        .route(
            "/api/host/rooms/{room}/export",
            post(api::host_export).route_layer(entries.clone()),
        )
        .route(
            "/api/host/series/{series}/report",
            post(api::host_report).route_layer(entries.clone()),
        )
        .route("/host", get(web::index))
        .route("/api/series", post(api::create_series))
        .route(
            "/api/series/{series}/rooms",
            post(api::create_series_room)
                .route_layer(quota)
                .route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/me",
            post(api::member).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/delete",
            post(api::delete_series).route_layer(entries),
        )
        .route("/s/{series}", get(web::room_page))
        .route("/ws", get(ws::upgrade))
        .layer(axum::middleware::map_response(no_referrer))
        .with_state(state)
}

/// Keep capability links out of `Referer` headers, everywhere.
async fn no_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
