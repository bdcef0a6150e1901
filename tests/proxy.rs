//! The shipped HAProxy configuration (`deploy/haproxy.cfg`), run for real in front of three
//! stand-in nodes that answer every request with their own name: every URL of a room lands on
//! the node its id hashes to, ids spread over all nodes, and a node whose `/readyz` fails is
//! taken out with only its own rooms moving (consistent hashing), and given them back when it
//! is ready again.
//!
//! The configuration is used as shipped; the test sets only the environment variables it reads
//! (`CK_BIND`, `CK_NODE1..3`, `CK_CHECK_INTER`). Without `haproxy` on the PATH the test says it
//! was skipped and why; with `CI` set it fails instead.

#[path = "common/binary.rs"]
mod binary;
#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/postgres.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cluster::{free_port, haproxy_missing, Haproxy};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest any single step (a request, haproxy starting, a node going down) may take.
const WAIT: Duration = Duration::from_secs(10);

/// How often the proxy asks each node's `/readyz` in this test.
const CHECK_INTER: &str = "100ms";

/// Room ids routed in the test: random-looking, like the server's.
const ROOMS: usize = 60;

/// A stand-in node: answers every request with its name, and `/readyz` with 200 or 503.
struct Node {
    name: &'static str,
    addr: SocketAddr,
    ready: Arc<AtomicBool>,
    /// `/readyz` answers given so far: [ready, not ready].
    checks: Arc<[AtomicU64; 2]>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct NodeState {
    name: &'static str,
    ready: Arc<AtomicBool>,
    checks: Arc<[AtomicU64; 2]>,
}

async fn readyz(State(s): State<NodeState>) -> StatusCode {
    if s.ready.load(Ordering::SeqCst) {
        s.checks[0].fetch_add(1, Ordering::SeqCst);
        StatusCode::OK
    } else {
        s.checks[1].fetch_add(1, Ordering::SeqCst);
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// `/ws`: a real websocket upgrade; the node's name is its first frame.
async fn ws(State(s): State<NodeState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |mut socket| async move {
        let _ = socket.send(Message::Text(s.name.into())).await;
        let _ = socket.close().await;
    })
}

/// Any other request: the node's name, and the `X-Forwarded-For` it was given, if any.
async fn own_name(State(s): State<NodeState>, headers: HeaderMap) -> impl IntoResponse {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string();
    ([("x-seen-forwarded-for", forwarded)], s.name)
}

impl Node {
    async fn start(name: &'static str) -> Node {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a node");
        let addr = listener.local_addr().expect("a node address");
        let ready = Arc::new(AtomicBool::new(true));
        let checks = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let state = NodeState {
            name,
            ready: Arc::clone(&ready),
            checks: Arc::clone(&checks),
        };
        let app = Router::new()
            .route("/readyz", get(readyz))
            .route("/ws", get(ws))
            .fallback(own_name)
            .with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Node {
            name,
            addr,
            ready,
            checks,
            task,
        }
    }

    fn checks(&self, ready: bool) -> u64 {
        self.checks[usize::from(!ready)].load(Ordering::SeqCst)
    }

    /// Make `/readyz` answer `ready` and wait until the proxy has seen it three times (its
    /// `fall` and `rise` are 2), so the proxy has taken the node out or put it back.
    async fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
        let seen = self.checks(ready);
        self.wait_checks(ready, seen + 3).await;
    }

    async fn wait_checks(&self, ready: bool, count: u64) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.checks(ready) < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: the proxy did not ask /readyz {count} times within {WAIT:?}",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn start_haproxy(port: u16, nodes: &[Node], log: &Path) -> Haproxy {
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
    Haproxy::start(port, &addrs, CHECK_INTER, log)
}

/// `GET path` through the proxy on a fresh connection: the status, the head and the body.
async fn get_via(port: u16, path: &str) -> (u16, String, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&raw).into_owned())
    };
    let raw = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path}: no answer within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: not an HTTP answer: {raw:?}"));
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// The node that answered `GET path` through the proxy.
async fn node_for(port: u16, path: &str) -> String {
    let (status, _, body) = get_via(port, path).await;
    assert_eq!(status, 200, "GET {path} through the proxy: {body}");
    body
}

/// The node that answered a websocket upgrade on `path` through the proxy: its first frame.
async fn ws_node_for(port: u16, path: &str) -> String {
    let url = format!("ws://127.0.0.1:{port}{path}");
    let talk = async {
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("upgrade {url}: {e}"));
        let first = socket.next().await;
        let _ = socket.close(None).await;
        first
    };
    match tokio::time::timeout(WAIT, talk).await {
        Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(name)))) => name.to_string(),
        other => panic!("{url}: expected the node's name, got {other:?}"),
    }
}

/// Where each room lands through the proxy, checking that its page, its API calls and its
/// websocket all land on the same node.
async fn placement(port: u16, rooms: &[String]) -> BTreeMap<String, String> {
    let mut placed = BTreeMap::new();
    for room in rooms {
        let page = node_for(port, &format!("/r/{room}")).await;
        let api = node_for(port, &format!("/api/rooms/{room}/preview")).await;
        let host_api = node_for(port, &format!("/api/host/rooms/{room}/export")).await;
        let ws = ws_node_for(port, &format!("/ws?v=1&room={room}")).await;
        assert_eq!(
            [&api, &host_api, &ws],
            [&page, &page, &page],
            "room {room}: page, API and websocket on different nodes"
        );
        placed.insert(room.clone(), page);
    }
    placed
}

/// `count` random-looking room ids (fixed, so the test is the same every run).
fn room_ids(count: usize) -> Vec<String> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{x:016x}")
        })
        .collect()
}

#[tokio::test]
async fn haproxy_routes_every_url_of_a_room_to_one_node_and_moves_only_a_failed_nodes_rooms() {
    if let Some(why) = haproxy_missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and the proxy test cannot run: {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let nodes = [
        Node::start("node1").await,
        Node::start("node2").await,
        Node::start("node3").await,
    ];
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("haproxy.log");
    let port = free_port();
    let haproxy = start_haproxy(port, &nodes, &log);
    // Every node is up once the proxy has seen it ready three times (rise is 2).
    for node in &nodes {
        node.wait_checks(true, 3).await;
    }

    let rooms = room_ids(ROOMS);
    let before = placement(port, &rooms).await;
    for node in &nodes {
        let held = before.values().filter(|n| *n == node.name).count();
        assert!(held > 0, "no room landed on {}: {before:?}", node.name);
    }
    // The nodes learn the client's address from X-Forwarded-For.
    let (_, head, _) = get_via(port, "/").await;
    assert!(
        head.contains("x-seen-forwarded-for: 127.0.0.1\r\n"),
        "the proxy did not say who the client is: {head}"
    );
    // Series pages and API calls are routed by the series id the same way.
    for series in &rooms[..10] {
        let page = node_for(port, &format!("/s/{series}")).await;
        let api = node_for(port, &format!("/api/series/{series}/rooms")).await;
        assert_eq!(
            page, api,
            "series {series}: page and API on different nodes"
        );
    }

    // node2's /readyz fails: its rooms move, every other room stays where it was.
    nodes[1].set_ready(false).await;
    let during = placement(port, &rooms).await;
    for room in &rooms {
        if before[room] == "node2" {
            assert_ne!(
                during[room], "node2",
                "room {room} still on the failed node"
            );
        } else {
            assert_eq!(
                during[room], before[room],
                "room {room} moved off a healthy node"
            );
        }
    }
    // Enough rooms moved for the check above to mean something.
    let moved: Vec<_> = rooms.iter().filter(|r| before[*r] == "node2").collect();
    assert!(
        moved.len() >= 2,
        "too few rooms on node2 to judge: {moved:?}"
    );

    // node2 is ready again: it gets exactly its rooms back.
    nodes[1].set_ready(true).await;
    let after = placement(port, &rooms).await;
    assert_eq!(after, before, "rooms did not return to where they were");

    drop(haproxy);
    for node in nodes {
        node.task.abort();
    }
}
