//! circlekeeper: a real-time server for peer coaching circles.
//!
//! The crate in layers, top to bottom; a layer uses only those below it (see `DESIGN.md`):
//!
//! ```text
//! server → live → room (core) / store → protocol
//! ```
//!
//! - [`server`] — the axum router: `POST /api/rooms` opens a room, `/ws` carries the protocol
//!   (one task per connection: decode → validate → authenticate → hand to the live room), and
//!   the embedded web client; `/healthz`, `/readyz` and Prometheus `/metrics` for operators;
//!   limits per address and per connection.
//! - [`live`] — the runtime: one actor per live room and one per series, each the only writer
//!   of what it owns. A room's actor is a pump: input → [`room`]'s `Room::handle` → events,
//!   answer, effects → journal (group commit) → deliver; it carries out effects without
//!   knowing which command caused them.
//! - [`room`] — the pure core: `Room::handle(now, input) -> Outcome { events, answer, effects }`,
//!   its timers as deadlines and its prompt bank. No I/O, no clock, no tokio.
//! - [`store`] — the `Store` trait and its sled implementation (room records, event logs,
//!   token hashes, series), and the committer that makes writes durable in groups: bytes and
//!   keys, no room logic.
//! - The wire types and `RoomView::apply` live in the `circlekeeper-protocol` crate, below
//!   everything.
//!
//! Beside the core, pure like it and knowing nothing of sockets:
//!
//! - [`export`] — session summaries (JSON, Markdown, CSV, HTML) with only exportable text.
//! - [`formats`] — built-in formats as data, and validation of custom ones.
//! - [`pairing`] — who meets whom in a coaching swap: pure, seeded pairing that rotates
//!   partners across a series' history, keeps fixed and locked groups, and places late joiners.
//! - [`series`] — recurring rooms with a member list: personal links, pairing history.
//! - [`calendar`] — a series' planned sessions, members' feed keys, and their iCalendar text.
//! - [`random`] — the seeded mixing and shuffling the core draws from.
//! - [`restore`] — a room rebuilt from its stored snapshot, notes and events (restarts, exports).
//! - [`texts`] — every built-in English text translated into each shipped language (Spanish,
//!   German), for the web client's map and for exports in a language.
//!
//! - [`backup`] — `circlekeeper backup` and `restore`: a store written to one versioned file
//!   while the server runs, and loaded into an empty store of either backend.
//!
//! Shared by the layers:
//!
//! - [`metrics`] — lock-free counters and histograms, rendered for `/metrics`.
//! - [`secret`] — link keys and personal tokens: random, hashed, compared in constant time.
//! - [`clock`] — the system clock, or a manual one that tests move by hand.
//! - [`config`] — flags and environment variables.
//!
//! Beside the server, for the world outside:
//!
//! - [`webhooks`] — outgoing webhooks a series host configures: sessions opened, started and
//!   ended, told with counts and links only, signed, retried, logged; seen from the store's
//!   durable writes, sent by their own tasks so nothing waits for a receiver.
//!
//! The wire types live in the `circlekeeper-protocol` crate.

pub mod backup;
pub mod calendar;
pub mod check;
pub mod clock;
pub mod config;
pub mod export;
pub mod formats;
pub mod live;
pub mod metrics;
pub mod pairing;
pub mod random;
pub mod restore;
pub mod room;
pub mod secret;
pub mod series;
pub mod server;
pub mod store;
pub mod texts;
pub mod webhooks;

use std::future::Future;

/// The allocator of every binary built on this crate (the server, its tests and benches).
/// Frames, events and writes are allocated on one thread and freed on another (a room actor
/// makes a frame, each connection task drops its copy, the commit thread drops the writes):
/// glibc's malloc serializes those frees on arena locks, mimalloc frees them without one.
/// The `system-alloc` feature (off by default) leaves the system's allocator in place, so that
/// a heap profiler (heaptrack, valgrind's dhat or massif) sees every allocation.
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use tokio::net::TcpListener;

pub use clock::Clock;
pub use server::{app, AppState};

/// Connections waiting to be accepted, per listener (the kernel caps it at
/// `net.core.somaxconn`). When a third of a server's clients reconnect at once, a shallow
/// queue overflows and each dropped handshake costs its client a one-second retransmit.
pub const LISTEN_BACKLOG: u32 = 8192;

/// Listen on `addr` with a deep accept queue ([`LISTEN_BACKLOG`]).
pub fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's listeners do: a restarted server may bind while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serve the app on `listener` until `shutdown` resolves, then let open HTTP exchanges finish
/// (websockets are closed by [`AppState::shutdown`]).
///
/// Every accepted connection first takes a slot of its address
/// ([`Settings::max_connections_per_ip`](server::Settings)); over the limit it is answered
/// `429 too_many_connections` and closed before any of its request is read. (A trusted reverse
/// proxy's connections take none: the websocket upgrade counts the client it names.) Request
/// headers must arrive within the handshake timeout. Sockets are set to `TCP_NODELAY`: an event
/// and its ack are small frames written back to back, and Nagle's algorithm would hold the
/// second one for the client's delayed ACK (about 40 ms on Linux).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use server::guard::SlotCell;
    use tower::ServiceExt;

    let router = app(state.clone());
    let settings = state.settings().clone();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.handshake_timeout);
    // Each connection task holds a clone of `open`; `closed` resolves when all are gone.
    let (open, mut closed) = tokio::sync::mpsc::channel::<()>(1);
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let slot = if settings.trusted_proxies.contains(&peer.ip()) {
            None
        } else {
            match state
                .guard()
                .open(peer.ip(), settings.max_connections_per_ip)
            {
                Ok(slot) => Some(slot),
                Err(refusal) => {
                    state.metrics().refused(metrics::Limit::Connections);
                    tokio::spawn(server::guard::refuse(tcp, refusal));
                    continue;
                }
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
        let cell = SlotCell::new(slot);
        let service = router.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(cell.clone());
                req
            },
        );
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = http
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let mut stopping = stopping.clone();
        let open = open.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let stopped = tokio::select! {
                _ = connection.as_mut() => false,
                _ = stopping.wait_for(|s| *s) => true,
            };
            if stopped {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
            drop(open);
        });
    }
    drop(listener);
    stop.send_replace(true);
    drop(open);
    // `None` once every connection task has dropped its sender.
    let _ = closed.recv().await;
    Ok(())
}

/// An accept that failed: a connection that died in the queue is skipped at once; running out
/// of file descriptors or memory is logged and waited out, rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; pausing accepts for a second");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}
