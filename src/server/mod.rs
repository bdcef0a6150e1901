//! The HTTP face of the server and the life of its rooms: the axum router, the JSON API that
//! opens rooms ([`api`]), the `/ws` connection task ([`ws`]), the `/metrics` counters
//! ([`metrics`]), and [`AppState`], which restores rooms on start, deletes them when their
//! retention runs out, and shuts down cleanly. Which rooms and series run here, loaded on first
//! use, is in `rooms` and `series`; with several nodes, the leases they run under in `cluster`.

pub mod api;
mod cluster;
mod decode;
pub mod guard;
mod rooms;
mod series;
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
use crate::live::room::{Notice, RoomContext, RoomInit};
use crate::live::SeriesHandle;
use crate::live::{spawn_room, RoomHandle};
use crate::store::committer::CommitStats;
use crate::store::{Committer, Store, StoreError, StoredEvent, Write};
pub use cluster::{Unserved, CLAIM_POLL};
use metrics::Metrics;
pub use settings::{Settings, ADDRESS_BURST_SECS, RETENTION_SWEEP};

/// Longest room id looked up in the store (ids the server makes are 32 hex digits).
const MAX_ROOM_ID: usize = 64;

/// A handle on the server's state that does not keep it alive (for background workers that
/// end with it).
pub struct WeakState(std::sync::Weak<Inner>);

impl WeakState {
    /// The state, while the server runs.
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(|inner| AppState { inner })
    }
}

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Live rooms by id. Holds handles only, never room state.
    rooms: DashMap<String, RoomHandle>,
    /// Rooms opened here that nobody has used yet: their state, ready for an actor that is
    /// started at their first request (an entry, a preview, an export, a delete). A room
    /// opened days before its session costs its state only, not a task and an inbox.
    dormant: DashMap<String, Box<rooms::Dormant>>,
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
    /// Outgoing webhooks: the sender, its policy and the delivery logs.
    webhooks: crate::webhooks::Webhooks,
}

impl AppState {
    /// Start the server's state over a store: the commit thread, every stored room (restored
    /// from its snapshot and events), and the retention sweeper.
    pub fn start(
        store: Arc<dyn Store>,
        clock: Clock,
        settings: Settings,
    ) -> Result<AppState, StoreError> {
        let webhooks = crate::webhooks::Webhooks::new(settings.webhooks.clone(), clock.clone());
        // With webhooks on, the store reports sessions opened, started and ended once durable.
        let (store, sightings): (Arc<dyn Store>, _) = if settings.webhooks.enabled {
            let (observed, rx) = crate::webhooks::Observed::wrap(store);
            (observed, Some(rx))
        } else {
            (store, None)
        };
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
                dormant: DashMap::new(),
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
                webhooks,
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
        if let Some(sightings) = sightings {
            tokio::spawn(api::webhooks_worker(
                WeakState(Arc::downgrade(&state.inner)),
                sightings,
            ));
        }
        Ok(state)
    }

    /// Outgoing webhooks: the sender and the delivery logs.
    pub fn webhooks(&self) -> &crate::webhooks::Webhooks {
        &self.inner.webhooks
    }

    /// The series a stored room belongs to, if any (read from the store: call it off the
    /// runtime's threads).
    pub fn stored_room_series(&self, room: &str) -> Result<Option<String>, StoreError> {
        Ok(self.inner.store.room(room)?.and_then(|r| r.series))
    }

    /// A series' record as stored, without loading its actor or claiming its lease (read from
    /// the store: call it off the runtime's threads).
    pub fn stored_series(
        &self,
        id: &str,
    ) -> Result<Option<crate::series::SeriesRecord>, StoreError> {
        self.inner.store.series_record(id)
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

    /// How many rooms are live: loaded, with a running actor, or opened here and waiting
    /// for their first request (their actor starts then).
    pub fn room_count(&self) -> usize {
        self.inner.rooms.len() + self.inner.dormant.len()
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
        let stats = &self.inner.commit_stats;
        self.inner.metrics.render(
            self.room_count(),
            &stats.flush_seconds,
            stats.health(),
            || self.inner.store.size_on_disk(),
        )
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
            store: Arc::clone(&self.inner.store),
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

    /// A room's view and notes, read from the store (for exports of rooms by the host key).
    pub fn stored_summary(
        &self,
        room: &str,
        names: crate::export::Names,
    ) -> Result<crate::export::RoomSummary, crate::export::ExportError> {
        crate::export::from_store(self.inner.store.as_ref(), room, names)
    }

    /// The store, for a backup streamed to the operator (`GET /api/admin/backup`).
    pub(crate) fn backup_store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.inner.store)
    }

    /// A room's stored events (for exports).
    pub fn load_events(&self, room: &str) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.inner.store.load(room)?.events)
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
        // Their records are durable and nothing was written in them since.
        inner.dormant.clear();
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
        .route("/{folder}/{file}", get(web::file_in))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/api/formats", get(api::formats))
        .route("/api/prompts", get(api::prompts))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/texts/{lang}", get(api::texts))
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
        .route(
            "/api/admin/backup",
            get(api::admin_backup).route_layer(entries.clone()),
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
            "/api/series/{series}/calendar",
            post(api::calendar_settings).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/calendar/feed",
            post(api::calendar_feed_address).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/calendar/{file}",
            get(api::calendar_feed).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/calendar/{feed}/{file}",
            get(api::calendar_event).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/members",
            post(api::series_members).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/calls",
            post(api::set_series_calls).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/webhooks",
            post(api::series_webhooks).route_layer(entries.clone()),
        )
        .route(
            "/api/series/{series}/webhooks/{hook}/test",
            post(api::test_webhook).route_layer(entries.clone()),
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
