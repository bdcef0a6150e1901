//! A real cluster for the tests: PostgreSQL from Debian's package (`postgres.rs`), three real
//! `circlekeeper` binaries on 127.0.0.1 sharing one fresh database (`binary.rs`, each with its
//! own `--node-id`, a short `--lease-secs` and `--trusted-proxies 127.0.0.1`), and HAProxy with
//! the shipped `deploy/haproxy.cfg` in front of them (only its environment variables set:
//! `CK_BIND`, `CK_NODE1..3`, `CK_CHECK_INTER`).
//!
//! A [`Cluster`] can kill a node (`kill -9`), freeze and thaw it (SIGSTOP, SIGCONT), shut it down
//! cleanly (SIGTERM), start it again on the same port, and read the leases table to say which
//! node holds a room. Everything it started is killed and reaped when it is dropped (the proxy
//! first, then the nodes, then PostgreSQL), even when the test panics; every wait is bounded.
//! Clusters take turns: one test's cluster runs at a time, so short leases are not broken by
//! another test's load.
//!
//! Clients reach rooms through the proxy on `/ws?v=1&room=ID` (the proxy routes a websocket by
//! that parameter), with the proxy's URL as `Origin` (the nodes' `--public-url`). They behave
//! as the spec tells a client to when its connection ends with 4012, 1001 or no close frame:
//! [`come_back`] resumes through the proxy (a bounded loop of attempts with small jittered
//! delays, [`resume_until`]) and checks it was let in exactly where it left;
//! [`catch_up_through`] and [`ok_through`] take in events, or send a command again with the
//! same id, across such comebacks. A failing test prints the leases table and what every
//! database session is doing ([`Cluster::database_state`]).
//!
//! Without `haproxy` or PostgreSQL installed, [`Cluster::start`] prints why the test is skipped
//! and returns `None`; with `CI` set it panics instead.
//!
//! Included by path (`#[path = "common/cluster.rs"] mod cluster;`), after `binary.rs` (as
//! `binary`), `postgres.rs` (as `postgres_server`) and `mod common`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use circlekeeper::store::{PgStore, Store, StoredEvent};
use circlekeeper_protocol::{Command, PROTOCOL_VERSION};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::binary::Binary;
use crate::common::{Acked, Client, Entry, Remote, Reply, Welcomed};
use crate::postgres_server::Postgres;

/// How many nodes a cluster runs.
pub const NODES: usize = 3;

/// How often the proxy asks each node's `/readyz` (`CK_CHECK_INTER`): a node that fails two
/// checks in a row is taken out.
pub const CHECK_INTER: &str = "200ms";

/// Longest one attempt to enter a room may take: the asking node waits up to lease-secs + 1 s
/// for a holder to let go, and a frozen node never answers.
pub const ATTEMPT: Duration = Duration::from_secs(4);

/// Longest anything else the harness waits for (the proxy starting, a lease changing hands).
pub const SETTLE: Duration = Duration::from_secs(20);

/// Most times one command, or one catching up, may need to come back before it is answered:
/// while a node fails, a room may move twice (to the node the proxy retries on, then to the
/// one the room's id hashes to once the proxy took the failed node out).
pub const MOST_COMEBACKS: u32 = 4;

/// One test's cluster at a time (see the module doc).
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The haproxy process: killed and reaped when dropped.
pub struct Haproxy {
    child: Child,
    /// Where its output goes.
    pub log: PathBuf,
}

impl Haproxy {
    /// Run `deploy/haproxy.cfg` as shipped, listening on `127.0.0.1:port` in front of `nodes`
    /// (at most three), asking their `/readyz` every `check_inter`; its output goes to `log`.
    pub fn start(port: u16, nodes: &[SocketAddr], check_inter: &str, log: &Path) -> Haproxy {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/haproxy.cfg");
        let file = std::fs::File::create(log).expect("a haproxy log file");
        let mut command = Process::new("haproxy");
        command
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .env("CK_BIND", format!("127.0.0.1:{port}"))
            .env("CK_CHECK_INTER", check_inter)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("a log handle"))
            .stderr(file);
        for (n, node) in nodes.iter().enumerate() {
            command.env(format!("CK_NODE{}", n + 1), node.to_string());
        }
        Haproxy {
            child: command.spawn().expect("start haproxy"),
            log: log.to_path_buf(),
        }
    }

    /// Its output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("----- haproxy output -----\n{}", self.output());
        }
    }
}

/// Whether `haproxy` can run here; `None` if it can, else the reason.
pub fn haproxy_missing() -> Option<String> {
    match Process::new("haproxy").arg("-v").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("`haproxy -v` failed: {}", out.status)),
        Err(e) => Some(format!(
            "haproxy is not installed ({e}); apt-get install haproxy"
        )),
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    probe.local_addr().expect("a probe address").port()
}

/// A room's row in the leases table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The holding node's `--node-id` (empty once released).
    pub node: String,
    /// The fencing number: a new holder always has a larger one.
    pub fence: i64,
    /// Whether it has not expired yet (by the database's clock).
    pub live: bool,
    /// Whether another node asked for it.
    pub wanted: bool,
}

impl Lease {
    /// Whether `node` holds it now.
    pub fn held_by(&self, node: &str) -> bool {
        self.live && self.node == node
    }
}

/// One node of the cluster.
struct Node {
    /// Its `--node-id`.
    id: String,
    /// Where it listens (the same after a restart).
    addr: SocketAddr,
    /// Its data directory (unused on PostgreSQL, but the binary wants one).
    dir: PathBuf,
    /// The process, while it runs.
    binary: Option<Binary>,
}

/// PostgreSQL, three nodes and the proxy in front of them. Fields drop in order: the proxy, the
/// nodes, PostgreSQL, the directory, then the turn is given up.
pub struct Cluster {
    haproxy: Haproxy,
    nodes: Vec<Node>,
    pg: Postgres,
    /// The database the nodes share.
    pub db: String,
    /// The proxy: every client of the tests goes through it unless it means not to.
    pub proxy: Remote,
    /// The nodes' `--lease-secs`.
    pub lease: Duration,
    /// Flags every node starts with (but `--addr`).
    args: Vec<String>,
    dir: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Say why a cluster test cannot run: panic under CI, else print it and return `None`.
fn skipped<T>(test: &str, why: &str) -> Option<T> {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI is set and the cluster test cannot run: {why}"
    );
    eprintln!("SKIPPED {test}: {why}");
    None
}

impl Cluster {
    /// Start PostgreSQL, three nodes with `--lease-secs lease_secs`, and the proxy; wait until
    /// the proxy answers. `None` (printed) when haproxy or PostgreSQL is not installed.
    pub async fn start(test: &str, lease_secs: u64) -> Option<Cluster> {
        if let Some(why) = haproxy_missing() {
            return skipped(test, &why);
        }
        let turn = TURN.lock().await;
        let pg = Postgres::start(test)?;
        let db = pg.fresh_database();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let proxy_port = free_port();
        let lease = lease_secs.to_string();
        let public_url = format!("http://127.0.0.1:{proxy_port}");
        let args: Vec<String> = [
            "--store",
            &db,
            "--lease-secs",
            &lease,
            "--trusted-proxies",
            "127.0.0.1",
            "--public-url",
            &public_url,
            // Scripts open rooms and connect from one address faster than people do.
            "--rooms-per-ip-per-hour",
            "1000000",
            "--max-failed-entries",
            "1000000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut nodes = Vec::new();
        // One after the other: the first applies the schema's migrations.
        for n in 1..=NODES {
            let id = format!("node{n}");
            let node_dir = dir.path().join(&id);
            std::fs::create_dir(&node_dir).expect("a node's data directory");
            let mut flags: Vec<&str> = args.iter().map(String::as_str).collect();
            flags.extend(["--node-id", &id]);
            let binary = Binary::start_at("127.0.0.1:0", &node_dir, &flags);
            nodes.push(Node {
                id,
                addr: binary.remote().addr,
                dir: node_dir,
                binary: Some(binary),
            });
        }
        let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.addr).collect();
        let haproxy = Haproxy::start(
            proxy_port,
            &addrs,
            CHECK_INTER,
            &dir.path().join("haproxy.log"),
        );
        let cluster = Cluster {
            haproxy,
            nodes,
            pg,
            db,
            proxy: Remote {
                addr: SocketAddr::from(([127, 0, 0, 1], proxy_port)),
            },
            lease: Duration::from_secs(lease_secs),
            args,
            dir,
            _turn: turn,
        };
        cluster.wait_proxy_ready().await;
        Some(cluster)
    }

    /// Wait until the proxy answers `/readyz` with 200 (bounded).
    async fn wait_proxy_ready(&self) {
        let deadline = Instant::now() + SETTLE;
        loop {
            if let Some(200) = http_status(self.proxy.addr, "/readyz").await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the proxy did not answer /readyz within {SETTLE:?}: {}",
                self.haproxy.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Node `n` (0-based), reached directly, bypassing the proxy.
    pub fn node(&self, n: usize) -> Remote {
        Remote {
            addr: self.nodes[n].addr,
        }
    }

    /// Node `n`'s `--node-id`.
    pub fn node_id(&self, n: usize) -> &str {
        &self.nodes[n].id
    }

    /// The index of the node called `id`.
    pub fn index_of(&self, id: &str) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node called {id:?}"))
    }

    fn binary(&self, n: usize) -> &Binary {
        self.nodes[n]
            .binary
            .as_ref()
            .unwrap_or_else(|| panic!("{} is not running", self.nodes[n].id))
    }

    /// `kill -9` node `n` and reap it.
    pub fn kill9(&mut self, n: usize) {
        let binary = self.nodes[n]
            .binary
            .take()
            .unwrap_or_else(|| panic!("{} is not running", self.nodes[n].id));
        binary.kill9();
    }

    /// Freeze node `n` (SIGSTOP).
    pub fn stop(&self, n: usize) {
        self.binary(n).stop();
    }

    /// Thaw node `n` (SIGCONT).
    pub fn cont(&self, n: usize) {
        self.binary(n).cont();
    }

    /// Ask node `n` to shut down cleanly (SIGTERM); it keeps running while it does.
    pub fn terminate(&self, n: usize) {
        self.binary(n).terminate();
    }

    /// Wait (bounded) for node `n` to exit after [`Cluster::terminate`], which must be a clean
    /// exit (status 0).
    pub fn wait_exit(&mut self, n: usize, within: Duration) {
        let mut binary = self.nodes[n]
            .binary
            .take()
            .unwrap_or_else(|| panic!("{} is not running", self.nodes[n].id));
        let status = binary.wait_exit(within);
        assert!(
            status.success(),
            "{} exited with {status}; its output:\n{}",
            self.nodes[n].id,
            binary.output_text()
        );
    }

    /// Node `n`'s output so far.
    pub fn output(&self, n: usize) -> String {
        self.nodes[n]
            .binary
            .as_ref()
            .map(Binary::output_text)
            .unwrap_or_default()
    }

    /// Start node `n` again, on the port it had, after it was killed or exited. A port a
    /// moment ago in use may still be taken: a few tries.
    pub fn restart(&mut self, n: usize) {
        assert!(
            self.nodes[n].binary.is_none(),
            "{} is still running",
            self.nodes[n].id
        );
        let addr = self.nodes[n].addr.to_string();
        let mut flags: Vec<&str> = self.args.iter().map(String::as_str).collect();
        flags.extend(["--node-id", &self.nodes[n].id]);
        let mut why = String::new();
        for _ in 0..5 {
            let mut binary = Binary::spawn_at(&addr, &self.nodes[n].dir, &flags);
            match binary.try_wait_listening() {
                Ok(()) => {
                    self.nodes[n].binary = Some(binary);
                    return;
                }
                Err(e) => why = e,
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{} did not start again on {addr}: {why}", self.nodes[n].id);
    }

    /// The lease row of room `room`, if there is one.
    pub async fn holder(&self, room: &str) -> Option<Lease> {
        let url = self.db.clone();
        let owner = format!("room:{room}");
        tokio::task::spawn_blocking(move || {
            let mut client =
                postgres::Client::connect(&url, postgres::NoTls).expect("connect to the database");
            client
                .query_opt(
                    "SELECT node, fence, expires_at > now(), wanted FROM leases WHERE owner = $1",
                    &[&owner],
                )
                .expect("read the leases table")
                .map(|row| Lease {
                    node: row.get(0),
                    fence: row.get(1),
                    live: row.get(2),
                    wanted: row.get(3),
                })
        })
        .await
        .expect("the lease query ran")
    }

    /// Every row of the leases table of rooms: (room id, lease).
    pub async fn room_leases(&self) -> Vec<(String, Lease)> {
        let url = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut client =
                postgres::Client::connect(&url, postgres::NoTls).expect("connect to the database");
            client
                .query(
                    "SELECT owner, node, fence, expires_at > now(), wanted FROM leases
                     WHERE owner LIKE 'room:%' ORDER BY owner",
                    &[],
                )
                .expect("read the leases table")
                .iter()
                .map(|row| {
                    let owner: String = row.get(0);
                    let room = owner.trim_start_matches("room:").to_string();
                    let lease = Lease {
                        node: row.get(1),
                        fence: row.get(2),
                        live: row.get(3),
                        wanted: row.get(4),
                    };
                    (room, lease)
                })
                .collect()
        })
        .await
        .expect("the lease query ran")
    }

    /// Wait (bounded by `within`) until room `room`'s lease satisfies `ok`; the lease then.
    pub async fn wait_lease(
        &self,
        room: &str,
        within: Duration,
        what: &str,
        ok: impl Fn(&Lease) -> bool,
    ) -> Lease {
        let deadline = Instant::now() + within;
        loop {
            let lease = self.holder(room).await;
            if let Some(lease) = lease.clone().filter(&ok) {
                return lease;
            }
            assert!(
                Instant::now() < deadline,
                "room {room}: not {what} within {within:?}; its lease: {lease:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every event of room `room` in the database, read with the store itself (events are
    /// sealed at rest).
    pub async fn stored_events(&self, room: &str) -> Vec<StoredEvent> {
        let url = self.db.clone();
        let room = room.to_string();
        tokio::task::spawn_blocking(move || {
            let store = PgStore::open(&url).expect("open the store");
            store.load(&room).expect("load the room").events
        })
        .await
        .expect("the store read ran")
    }

    /// One value of node `n`'s `/metrics` (`name` or `name{labels}`), asked directly.
    pub async fn metric(&self, n: usize, series: &str) -> u64 {
        let text = self.node(n).http("GET", "/metrics", b"").await.text;
        crate::common::metric_value(&text, series)
            .unwrap_or_else(|| panic!("no {series} in {}'s /metrics", self.nodes[n].id))
    }

    /// PostgreSQL's log, for failure messages.
    pub fn postgres_log(&self) -> String {
        self.pg.log()
    }

    /// The leases table and what every database session is doing (waiting for a lock, idle
    /// in a transaction, ...), for failure messages. Runs on a thread of its own: the
    /// synchronous client may not run inside a tokio runtime.
    pub fn database_state(&self) -> String {
        let url = self.db.clone();
        let look = move || -> Result<String, postgres::Error> {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            let mut out = String::from("leases (owner, node, fence, expires in ms, wanted):\n");
            for row in client.query(
                "SELECT owner, node, fence,
                        (extract(epoch FROM expires_at - now()) * 1000)::bigint, wanted
                 FROM leases ORDER BY owner",
                &[],
            )? {
                let (owner, node, fence, left, wanted): (String, String, i64, i64, bool) =
                    (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
                out += &format!("  {owner} {node:?} {fence} {left} {wanted}\n");
            }
            out +=
                "sessions (pid, application, state, waiting for, in that state for, last query):\n";
            for row in client.query(
                "SELECT pid, application_name, coalesce(state, ''),
                        coalesce(wait_event_type || ':' || wait_event, ''),
                        coalesce((extract(epoch FROM now() - state_change) * 1000)::bigint, -1),
                        left(query, 120)
                 FROM pg_stat_activity WHERE datname = current_database()
                   AND pid <> pg_backend_pid()",
                &[],
            )? {
                let (pid, app, state, wait, since, query): (
                    i32,
                    String,
                    String,
                    String,
                    i64,
                    String,
                ) = (
                    row.get(0),
                    row.get(1),
                    row.get(2),
                    row.get(3),
                    row.get(4),
                    row.get(5),
                );
                out += &format!("  {pid} {app} {state} [{wait}] {since}ms {query:?}\n");
            }
            Ok(out)
        };
        std::thread::spawn(look).join().map_or_else(
            |_| "the database could not be read".into(),
            |r| r.unwrap_or_else(|e| format!("the database could not be read: {e}")),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("----- database -----\n{}", self.database_state());
        }
    }
}

/// The status of `GET path` on `addr`, or `None` if nothing sensible came within a second.
async fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.ok()?;
        String::from_utf8_lossy(&raw)
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
    };
    tokio::time::timeout(Duration::from_secs(1), exchange)
        .await
        .ok()
        .flatten()
}

/// The websocket path of room `room`, as the web client opens it.
pub fn ws_path(room: &str) -> String {
    format!("/ws?v={PROTOCOL_VERSION}&room={room}")
}

/// A websocket to `to` (the proxy or a node) for room `room`, with the proxy's `Origin`
/// (`origin`, the nodes' public URL); the reason if no handshake within [`ATTEMPT`].
pub async fn try_connect(
    to: &Remote,
    origin: &Remote,
    name: &str,
    room: &str,
) -> Result<Client, String> {
    let mut request = to
        .ws_url(&ws_path(room))
        .into_client_request()
        .map_err(|e| format!("a websocket request: {e}"))?;
    let value = origin
        .url()
        .parse()
        .map_err(|e| format!("an origin header: {e}"))?;
    request.headers_mut().insert("origin", value);
    match tokio::time::timeout(ATTEMPT, tokio_tungstenite::connect_async(request)).await {
        Err(_) => Err(format!("no handshake with {} within {ATTEMPT:?}", to.addr)),
        Ok(Err(e)) => Err(format!("handshake with {}: {e}", to.addr)),
        Ok(Ok((ws, _))) => Ok(Client::new(name, ws)),
    }
}

/// A websocket to `to` for room `room`, which must open.
pub async fn connect(to: &Remote, origin: &Remote, name: &str, room: &str) -> Client {
    try_connect(to, origin, name, room)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Enter room `room` through `to` with `command` (`host` or `join`), which must welcome us.
pub async fn enter(
    to: &Remote,
    origin: &Remote,
    name: &str,
    room: &str,
    command: Command,
) -> Client {
    let mut client = connect(to, origin, name, room).await;
    client.enter(command).await;
    client
}

/// How one attempt to come back went.
pub type Attempt = Result<(Client, Welcomed), String>;

/// One attempt to come back as `old` (its token, room, view and last seen seq) on a new
/// connection to `to`: the client that got in and how, or why not (no handshake, an error
/// such as `unavailable`, a close such as 4012 or 1001, no answer within [`ATTEMPT`]).
pub async fn try_resume(to: &Remote, origin: &Remote, old: &Client) -> Attempt {
    let mut fresh = try_connect(to, origin, &old.name, &old.room_id).await?;
    fresh.you = old.you;
    fresh.token = old.token.clone();
    fresh.room_id = old.room_id.clone();
    fresh.view = old.view.clone();
    fresh.seq = old.seq;
    fresh.log = old.log.clone();
    let resume = Command::Resume {
        room: old.room_id.clone(),
        token: old.token.clone(),
        last_seq: Some(old.seq),
    };
    let answer = async {
        let id = fresh.send(resume).await;
        fresh.reply(&id).await
    };
    match tokio::time::timeout(ATTEMPT, answer).await {
        Err(_) => Err(format!("no answer to resume within {ATTEMPT:?}")),
        Ok(Reply::Entered(welcomed)) => Ok((fresh, welcomed)),
        Ok(Reply::Answered(answer)) => Err(format!("resume answered with {answer:?}")),
        Ok(Reply::Closed(code)) => Err(format!("closed ({code:?}) before resuming")),
    }
}

/// Come back as `old` through `to`, trying again after small jittered delays until it works
/// or `within` has passed (then panic with every reason seen). The client, how it was let in,
/// and how many attempts it took.
pub async fn resume_until(
    to: &Remote,
    origin: &Remote,
    old: &Client,
    within: Duration,
) -> (Client, Welcomed, u32) {
    let deadline = Instant::now() + within;
    let mut why = Vec::new();
    // Seeded by the token: every participant waits differently.
    let seed = old
        .token
        .bytes()
        .fold(0_u64, |h, b| h.rotate_left(5) ^ u64::from(b));
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_resume(to, origin, old).await {
            Ok((client, welcomed)) => return (client, welcomed, attempt),
            Err(e) => why.push(e),
        }
        assert!(
            Instant::now() < deadline,
            "{}: could not resume within {within:?} ({attempt} attempts): {why:#?}",
            old.name
        );
        tokio::time::sleep(jitter(seed, u64::from(attempt))).await;
    }
}

/// A delay of 50–250 ms, different for each client (`seed`) and attempt.
fn jitter(seed: u64, attempt: u64) -> Duration {
    let x = (seed ^ attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Duration::from_millis(50 + (x >> 33) % 200)
}

/// The close code a connection ended with, if the server sent one.
pub fn close_code(client: &Client) -> Option<u16> {
    client.closed.clone().flatten().map(|f| u16::from(f.code))
}

/// Whether a client whose connection ended with `code` comes back through the proxy, as the
/// spec tells it to: the room moved (4012), its node is going away (1001), or the connection
/// dropped without a close frame (the node died).
pub fn comes_back_after(code: Option<u16>) -> bool {
    matches!(code, None | Some(4012) | Some(1001))
}

/// Come back as `client` through `proxy` ([`resume_until`], bounded by `within`) and take the
/// new connection's place. It must be let in again exactly where it left: its missed events
/// one by one (the harness checks they are contiguous from its last seq, none twice) or a
/// snapshot, never a fresh welcome. The missed events follow: see [`catch_up_through`].
pub async fn come_back(proxy: &Remote, client: &mut Client, within: Duration) -> Welcomed {
    let (new, welcomed, _) = resume_until(proxy, proxy, client, within).await;
    match welcomed.kind {
        Entry::Resumed(replayed) => assert_eq!(
            welcomed.seq,
            client.seq + replayed,
            "{}: resumed with the wrong number of missed events",
            new.name
        ),
        Entry::Snapshot(_) => assert!(
            welcomed.seq >= client.seq,
            "{}: a snapshot from the past",
            new.name
        ),
        Entry::Welcome => panic!("{}: a resume with last_seq was welcomed afresh", new.name),
    }
    *client = new;
    welcomed
}

/// Take in every event up to `seq`, coming back through `proxy` whenever the connection ends
/// first ([`comes_back_after`]); how many times it came back.
pub async fn catch_up_through(proxy: &Remote, client: &mut Client, seq: u64) -> u32 {
    let mut back = 0;
    for _ in 0..2 * MOST_COMEBACKS + 2 {
        if client.seq >= seq {
            return back;
        }
        if client.closed.is_some() {
            let code = close_code(client);
            back = come_back_again(proxy, client, code, back, &format!("event {seq}")).await;
        } else {
            // Everything the room sent before a sync of ours.
            client.drain().await;
        }
    }
    panic!("{}: never caught up to event {seq}", client.name)
}

/// Send `command` and wait for its ack as a client does while rooms move between nodes: each
/// time the connection ends before the answer ([`comes_back_after`]), come back through
/// `proxy` and send it again with the same id (the spec's rule: an unanswered command was not
/// applied, and its id makes a repeat apply once). The ack, and how many times it came back.
pub async fn ok_through(proxy: &Remote, client: &mut Client, command: Command) -> (Acked, u32) {
    let id = client.fresh_id();
    let mut frame = serde_json::to_value(&command).expect("a command serializes");
    frame["id"] = serde_json::Value::String(id.clone());
    let mut back = 0;
    loop {
        // A connection already gone fails to send; the reply below says so.
        let _ = client
            .raw_send_message(Message::text(frame.to_string()))
            .await;
        match client.reply(&id).await {
            Reply::Answered(Ok(acked)) => return (acked, back),
            Reply::Answered(Err(refused)) => {
                panic!("{}: {command:?} was refused: {refused:?}", client.name)
            }
            Reply::Entered(w) => panic!("{}: {command:?} answered with {w:?}", client.name),
            Reply::Closed(code) => {
                let what = format!("the answer to {command:?}");
                back = come_back_again(proxy, client, code, back, &what).await;
            }
        }
    }
}

/// `client`'s connection ended with `code` before `what` came, after `back` comebacks: it
/// comes back once more ([`come_back`]), unless the code says not to or it came back too often.
/// The new count.
async fn come_back_again(
    proxy: &Remote,
    client: &mut Client,
    code: Option<u16>,
    back: u32,
    what: &str,
) -> u32 {
    assert!(
        comes_back_after(code) && back < MOST_COMEBACKS,
        "{}: closed with {code:?} (after {back} comebacks) before {what}",
        client.name
    );
    come_back(proxy, client, SETTLE).await;
    back + 1
}
