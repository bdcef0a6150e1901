//! The **bare broadcast server** the comparison mode (`compare.rs`) measures circlekeeper
//! against: the transport alone, with nothing of circlekeeper's work on top — no state beyond
//! room membership, no validation, no durability, no heartbeat. `GET /ws?room=ID` upgrades to a
//! websocket; every text frame a member sends is sent, as it is, to every member of that room,
//! the sender included (its echo stands in for an ack).
//!
//! It runs in a child process of the load bench (this binary with `LOAD_CHILD=bare`), as the
//! bench's own circlekeeper server does, so that its memory and CPU are read from `/proc` apart
//! from the load generator's, and the two servers are started, measured and stopped the same
//! way. What it shares with the real server, so that the difference is circlekeeper's work and
//! not the plumbing:
//!
//! - axum 0.8's `ws` with the **same websocket settings**, taken from `src/server/ws.rs`'s own
//!   constants (so they cannot drift): 4 KiB read and write buffers, the library's 64 KiB
//!   message and frame limit, the protocol's largest server frame as the most the library may
//!   hold to write;
//! - the same **write batching**: what waits in a connection's outbox (bounded like a
//!   participant's, [`PEER_OUTBOX`]) is fed to the socket, up to [`WRITE_BATCH`] frames, and
//!   flushed once; a member whose outbox is full is cut off, as the real server does (4008);
//! - the same **allocator** (mimalloc: the `circlekeeper` library this binary links declares it
//!   as the global allocator), the same multi-thread tokio runtime, the same listening socket
//!   (`circlekeeper::listen`, its deep accept queue) and `TCP_NODELAY` on every connection.
//!
//! Frames are shared, not copied: one [`Utf8Bytes`] (reference-counted) goes to every member.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use circlekeeper::live::room::PEER_OUTBOX;
use circlekeeper::server::ws::{
    LIBRARY_MAX_MESSAGE_BYTES, MAX_OUTGOING_FRAME_BYTES, SOCKET_BUFFER_BYTES, WRITE_BATCH,
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::client::lock;

/// One member's outbox.
type Outbox = mpsc::Sender<Utf8Bytes>;

/// The members of one room: connection number → outbox.
type Members = Arc<Mutex<HashMap<u64, Outbox>>>;

/// Every room with at least one member.
#[derive(Clone, Default)]
struct Rooms {
    rooms: Arc<Mutex<HashMap<String, Members>>>,
    next_conn: Arc<AtomicU64>,
}

impl Rooms {
    /// The room's member list, made on its first member. (Locks: the room map, then a
    /// room's members, never the other way round.)
    fn enter(&self, room: &str, conn: u64, outbox: Outbox) -> Members {
        let mut rooms = lock(&self.rooms);
        let members = Arc::clone(rooms.entry(room.to_string()).or_default());
        lock(&members).insert(conn, outbox);
        members
    }

    /// Take the member out; the room goes with its last member.
    fn leave(&self, room: &str, conn: u64, members: &Members) {
        let mut rooms = lock(&self.rooms);
        let mut m = lock(members);
        m.remove(&conn);
        if m.is_empty() {
            rooms.remove(room);
        }
    }
}

/// `/ws?room=ID` (any other parameter, such as circlekeeper's `v`, is ignored).
#[derive(Deserialize)]
struct WsQuery {
    room: Option<String>,
}

async fn upgrade(
    State(rooms): State<Rooms>,
    Query(q): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let room = q.room.unwrap_or_default();
    ws.max_message_size(LIBRARY_MAX_MESSAGE_BYTES)
        .max_frame_size(LIBRARY_MAX_MESSAGE_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_write_buffer_size(MAX_OUTGOING_FRAME_BYTES)
        .on_upgrade(move |socket| member(socket, rooms, room))
}

/// One member's connection: its frames go to the whole room; the room's frames come out of its
/// outbox, batched.
async fn member(socket: WebSocket, rooms: Rooms, room: String) {
    let conn = rooms.next_conn.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(PEER_OUTBOX);
    let members = rooms.enter(&room, conn, tx);
    let (mut sink, mut stream) = socket.split();
    loop {
        tokio::select! {
            out = rx.recv() => {
                // Dropped from the room (its outbox was full): cut off, as too slow.
                let Some(first) = out else { break };
                if sink.feed(Message::Text(first)).await.is_err() {
                    break;
                }
                let mut fed = 1;
                while fed < WRITE_BATCH {
                    let Ok(more) = rx.try_recv() else { break };
                    if sink.feed(Message::Text(more)).await.is_err() {
                        break;
                    }
                    fed += 1;
                }
                if sink.flush().await.is_err() {
                    break;
                }
            }
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let mut m = lock(&members);
                    // A member that cannot take the frame is dropped (its outbox closes).
                    m.retain(|_, outbox| outbox.try_send(text.clone()).is_ok());
                }
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
        }
    }
    rooms.leave(&room, conn, &members);
    let _ = tokio::time::timeout(Duration::from_secs(2), sink.close()).await;
}

/// The bare server's child process: `LOAD_LISTENERS` ports on 127.0.0.1, `ready ADDR…` on
/// stdout, until its stdin closes (or four hours pass).
pub fn child() -> anyhow::Result<()> {
    let listeners: usize = std::env::var("LOAD_LISTENERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .clamp(1, 64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let rooms = Rooms::default();
        let app = Router::new().route("/ws", get(upgrade)).with_state(rooms);
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(listeners);
        let mut servers = Vec::with_capacity(listeners);
        for _ in 0..listeners {
            let l: TcpListener = circlekeeper::listen("127.0.0.1:0".parse()?)?;
            addrs.push(l.local_addr()?);
            let l = l.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let app = app.clone();
            servers.push(tokio::spawn(async move { axum::serve(l, app).await }));
        }
        crate::servers::serve_until_stdin_closes(&addrs).await?;
        for s in servers {
            s.abort();
        }
        anyhow::Ok(())
    })?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
