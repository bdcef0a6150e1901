//! The integration-test harness: a real server on `127.0.0.1:0` with a manual clock and a
//! throwaway sled store, real websocket clients, and a tiny HTTP/1.1 client for the JSON API.
//!
//! Every wait is bounded by [`WAIT`], so a test that goes wrong fails fast with a message saying
//! who was waiting for what, instead of hanging. Nothing here sleeps: a client waits for the
//! frame it expects, and timers move only when a test advances [`TestServer::clock`].
//!
//! A [`Client`] keeps the room as it sees it: the welcome's view, then every event applied by
//! assignment (as `protocol/README.md` tells a client author to do). It checks on the way that
//! event sequence numbers are contiguous and that every ack names the last event seen, so each
//! test checks the protocol's promises without asking for it.

// Each test file uses its own part of the harness.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use circlekeeper::server::Settings;
use circlekeeper::store::{SledStore, Store};
use circlekeeper::{AppState, Clock};
use circlekeeper_protocol::{
    AckResult, Command, ErrorCode, Event, Millis, ParticipantId, ParticipantView, RoomCreated,
    RoomView, ServerMessage, TimerKind, TimerState, PROTOCOL_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait may take before the test fails. Generous for a loaded CI machine,
/// short enough that a broken test does not hang the suite.
pub const WAIT: Duration = Duration::from_secs(5);

/// Where the manual clock starts: a fixed instant (2027-01-15), so times in a test are exact.
pub const EPOCH: Millis = 1_800_000_000_000;

/// A server running in this test's runtime. Dropping it stops the server.
pub struct TestServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The same address, for the network-facing helpers (`server.join(..)` and so on).
    remote: Remote,
    /// The server's clock: move it with `clock.advance(..)` to fire timers.
    pub clock: Clock,
    /// The server's shared state (for looking at live rooms).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Graceful shutdown waits for open websockets; a test is done with them.
        self.task.abort();
    }
}

/// An HTTP answer: status and parsed JSON body (`Value::Null` if the body is not JSON).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body, parsed.
    pub json: Value,
    /// Body, raw.
    pub text: String,
}

impl TestServer {
    /// Start a server on an ephemeral port with a manual clock at [`EPOCH`] and a temporary
    /// sled store.
    pub async fn start() -> TestServer {
        let store = SledStore::temporary().expect("temporary sled store");
        // Scripted clients act faster than people: a deeper burst keeps long scripts under the
        // limit (the flood test reads the setting).
        TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
            s.rate_burst = 60.0
        })
        .await
    }

    /// Start a server on an ephemeral port over `store`, with `clock`; `tune` may change the
    /// settings (resume window, retention, timeouts, presence grace: none unless set) before
    /// it starts.
    pub async fn start_with(
        store: Arc<dyn Store>,
        clock: Clock,
        tune: impl FnOnce(&mut Settings),
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let mut settings = Settings::new(&format!("http://{addr}"));
        // Presence turns away at once, so that scripts need not move the clock past the grace
        // (`resume.rs` tests the grace itself, by setting it in `tune`).
        settings.presence_grace = Duration::ZERO;
        // Scripts open many rooms and try wrong keys on purpose from one address: the
        // per-address limits stay out of their way (`limits.rs` sets them to test them).
        settings.rooms_per_ip_per_hour = 1_000_000;
        settings.max_failed_entries = 1_000_000;
        settings.max_connections_per_ip = 100_000;
        settings.address_rate_burst = 1e9;
        settings.address_rate_per_second = 1e9;
        tune(&mut settings);
        let state = AppState::start(store, clock.clone(), settings).expect("state starts");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(circlekeeper::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            addr,
            remote: Remote { addr },
            clock,
            state,
            shutdown: Some(tx),
            task,
        }
    }

    /// Shut the server down as SIGTERM would: clients are told to reconnect, rooms stop, the
    /// store is flushed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.state.shutdown().await;
    }

    /// The value of one metric series (`name{label="value"}`), as `/metrics` shows it.
    pub fn metric(&self, series: &str) -> u64 {
        metric_value(&self.state.render_metrics(), series)
            .unwrap_or_else(|| panic!("no {series} in /metrics"))
    }

    /// The server clock's reading.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Move the manual clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Move the manual clock to `at` (which must not be in the past).
    pub fn advance_to(&self, at: Millis) {
        let now = self.now();
        assert!(at >= now, "the clock cannot go back from {now} to {at}");
        self.clock.advance(Duration::from_millis(at - now));
    }
}

/// The value of one metric series (`name` or `name{label="value"}`) on a `/metrics` page.
pub fn metric_value(page: &str, series: &str) -> Option<u64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// A circlekeeper server reached over the network at `addr`: an in-process [`TestServer`]
/// (which derefs to one) or the real binary in crash tests.
#[derive(Debug, Clone, Copy)]
pub struct Remote {
    /// The address it listens on.
    pub addr: SocketAddr,
}

impl std::ops::Deref for TestServer {
    type Target = Remote;

    fn deref(&self) -> &Remote {
        &self.remote
    }
}

impl Remote {
    /// The public base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One HTTP/1.1 request with `Connection: close`; reads the whole answer.
    pub async fn http(&self, method: &str, path: &str, body: &[u8]) -> HttpResponse {
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr).await.expect("connect");
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                self.addr,
                body.len()
            );
            stream.write_all(head.as_bytes()).await.expect("write head");
            stream.write_all(body).await.expect("write body");
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await.expect("read answer");
            raw
        };
        let raw = tokio::time::timeout(WAIT, exchange)
            .await
            .unwrap_or_else(|_| panic!("{method} {path}: no answer within {WAIT:?}"));
        parse_http(&raw)
    }

    /// `POST /api/rooms` with a raw body: status and body, whatever they are.
    pub async fn create_room_raw(&self, body: &str) -> HttpResponse {
        self.http("POST", "/api/rooms", body.as_bytes()).await
    }

    /// `POST /api/rooms`, which must answer 201.
    pub async fn create_room(&self, body: Value) -> RoomCreated {
        let answer = self.create_room_raw(&body.to_string()).await;
        assert_eq!(answer.status, 201, "POST /api/rooms: {}", answer.text);
        serde_json::from_value(answer.json).expect("a RoomCreated body")
    }

    /// A room running a built-in format.
    pub async fn create_builtin_room(&self, format: &str) -> RoomCreated {
        self.create_room(serde_json::json!({ "title": "Tuesday set", "format": format }))
            .await
    }

    /// `POST /api/series`: a monthly series of three-month cycles titled `title` with these
    /// members, which must answer 201.
    pub async fn create_series(
        &self,
        title: &str,
        members: &[&str],
    ) -> circlekeeper_protocol::SeriesCreated {
        let body = serde_json::json!({
            "title": title, "cadence": "monthly", "cycle_months": 3, "members": members,
        });
        let answer = self
            .http("POST", "/api/series", body.to_string().as_bytes())
            .await;
        assert_eq!(answer.status, 201, "POST /api/series: {}", answer.text);
        serde_json::from_value(answer.json).expect("a SeriesCreated body")
    }

    /// Open a series' next session over HTTP with its host key, host it as "Fran" (ground
    /// rules accepted), and let every member in with their personal link (ground rules
    /// accepted). Returns the room, the facilitator and the members, in the series' order.
    pub async fn series_session(
        &self,
        series: &circlekeeper_protocol::SeriesCreated,
    ) -> (RoomCreated, Client, Vec<Client>) {
        let path = format!("/api/series/{}/rooms", series.series_id);
        let body = serde_json::json!({ "key": series.host_key });
        let answer = self.http("POST", &path, body.to_string().as_bytes()).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let room: RoomCreated = serde_json::from_value(answer.json).expect("a room");
        let mut fran = self.host(&room, "Fran").await;
        fran.ok(Command::AcceptGroundRules).await;
        let mut members = Vec::new();
        for m in &series.members {
            let mut c = self.connect(&m.name).await;
            c.enter(Command::Member {
                room: room.room_id.clone(),
                series: series.series_id.clone(),
                key: m.key.clone(),
            })
            .await;
            c.ok(Command::AcceptGroundRules).await;
            members.push(c);
        }
        (room, fran, members)
    }

    /// A monthly series "Alumni circle" of two members, Ada and Ben, with its first session
    /// open: `(series_id, the POST /api/series answer, the session's host URL)`.
    pub async fn series_with_a_session(&self) -> (String, Value, String) {
        let body = serde_json::json!({ "title": "Alumni circle", "cadence": "monthly", "cycle_months": 3, "members": ["Ada", "Ben"] });
        let answer = self
            .http("POST", "/api/series", body.to_string().as_bytes())
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        let series_id = answer.json["series_id"]
            .as_str()
            .expect("series id")
            .to_string();
        let open = serde_json::json!({ "key": answer.json["host_key"] });
        let opened = self
            .http(
                "POST",
                &format!("/api/series/{series_id}/rooms"),
                open.to_string().as_bytes(),
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.text);
        let host_url = opened.json["host_url"]
            .as_str()
            .expect("host url")
            .to_string();
        (series_id, answer.json, host_url)
    }

    /// The websocket URL for a path and query, e.g. `/ws?v=1`.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.addr)
    }

    /// The upgrade request for `path_and_query`, from one of the server's own pages (`Origin`
    /// is its public URL, as a browser on the web client would send).
    pub fn ws_request(
        &self,
        path_and_query: &str,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self
            .ws_url(path_and_query)
            .into_client_request()
            .expect("a websocket URL");
        let origin = self.url().parse().expect("an origin header");
        request.headers_mut().insert("origin", origin);
        request
    }

    /// A websocket on `path_and_query`, not yet in any room.
    pub async fn connect_to(&self, name: &str, path_and_query: &str) -> Client {
        let url = self.ws_url(path_and_query);
        let request = self.ws_request(path_and_query);
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .unwrap_or_else(|_| panic!("{name}: no websocket handshake within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("{name}: websocket handshake with {url} failed: {e}"));
        Client::new(name, ws)
    }

    /// A websocket on `/ws?v=1`, not yet in any room.
    pub async fn connect(&self, name: &str) -> Client {
        self.connect_to(name, &format!("/ws?v={PROTOCOL_VERSION}"))
            .await
    }

    /// A facilitator, from the host link.
    pub async fn host(&self, room: &RoomCreated, name: &str) -> Client {
        let mut client = self.connect(name).await;
        client
            .enter(Command::Host {
                room: room.room_id.clone(),
                key: room.host_key.clone(),
                name: name.into(),
            })
            .await;
        client
    }

    /// A participant, from the join link.
    pub async fn join(&self, room: &RoomCreated, name: &str) -> Client {
        let client = self.connect(name).await;
        join_with(client, room).await
    }

    /// A websocket on `/ws?v=1` from `source` (Linux routes all of 127.0.0.0/8 to loopback, so
    /// 127.0.0.2 is another client address to the server), with this socket receive buffer if
    /// given (a small one makes frames pile up on the server when the client does not read).
    pub async fn socket_from(
        &self,
        source: std::net::Ipv4Addr,
        receive_buffer: Option<u32>,
    ) -> Socket {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        if let Some(bytes) = receive_buffer {
            socket
                .set_recv_buffer_size(bytes)
                .expect("a receive buffer size");
        }
        socket
            .bind(SocketAddr::new(source.into(), 0))
            .expect("bind a loopback source address");
        let tcp = tokio::time::timeout(WAIT, socket.connect(self.addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let request = self.ws_request(&format!("/ws?v={PROTOCOL_VERSION}"));
        let upgrade = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp));
        let (ws, _) = tokio::time::timeout(WAIT, upgrade)
            .await
            .expect("an upgrade in time")
            .expect("an upgrade");
        ws
    }

    /// Come back as an existing participant, on a new connection.
    pub async fn resume(&self, name: &str, room_id: &str, token: &str) -> Client {
        let mut client = self.connect(name).await;
        client
            .enter(Command::Resume {
                room: room_id.into(),
                token: token.into(),
                last_seq: None,
            })
            .await;
        client.token = token.into();
        client
    }
}

/// Join `room` from its join link on `client`'s connection, under the client's name.
pub async fn join_with(mut client: Client, room: &RoomCreated) -> Client {
    let name = client.name.clone();
    client
        .enter(Command::Join {
            room: room.room_id.clone(),
            key: room.join_key.clone(),
            name,
            guest: None,
        })
        .await;
    client
}

/// `base` and a number no other call in this test process got ("Newcomer 3"): a display name
/// no one else in a room has, as `join` and `host` require (`name_taken`).
pub fn unique_name(base: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{base} {n}")
}

/// An action learning set with Fran (facilitator) and Ada, both past the ground rules, started
/// and moved to its commitment stage (index 5, Ada presenting): the room and both clients.
pub async fn at_commitment(server: &Remote) -> (RoomCreated, Client, Client) {
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    fran.ok(Command::AcceptGroundRules).await;
    ada.ok(Command::AcceptGroundRules).await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 5 }).await;
    (room, fran, ada)
}

/// The body of `POST /api/rooms` for a room of one four-hour check-out stage with a hand queue:
/// people raise hands and record commitments there from the start.
pub fn checkout_room(title: &str) -> Value {
    serde_json::json!({
        "title": title,
        "format": {"name": "Check-out", "stages": [
            {"kind": "check_out", "title": "Out", "timebox_ms": 14_400_000, "speaking": "hand_queue"}
        ]}
    })
}

/// Split a raw HTTP/1.1 answer into status and JSON body (chunked bodies are decoded).
pub fn parse_http(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an HTTP answer has a head and a body: {text:?}"));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP status line: {head:?}"));
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    HttpResponse {
        status,
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        text: body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// An accepted command.
#[derive(Debug, Clone, PartialEq)]
pub struct Acked {
    /// The room's sequence number after the command.
    pub seq: u64,
    /// The server's clock when it was applied.
    pub server_time: Millis,
    /// The command's answer, if it has one.
    pub result: Option<AckResult>,
}

/// A refused command.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// The id echoed, if any.
    pub id: Option<String>,
    /// The stable code.
    pub code: ErrorCode,
    /// The human message.
    pub message: String,
}

/// An event as a client saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Sequence number.
    pub seq: u64,
    /// When it happened.
    pub at: Millis,
    /// What happened.
    pub event: Event,
}

/// What a welcome said besides the room.
#[derive(Debug, Clone, PartialEq)]
pub struct Welcomed {
    /// The id of the command it answered.
    pub id: String,
    /// How it came: `welcome`, `resumed` (with how many events follow) or `snapshot`.
    pub kind: Entry,
    /// Protocol version.
    pub protocol: u32,
    /// Server clock.
    pub server_time: Millis,
    /// Room sequence number.
    pub seq: u64,
}

/// What became of a frame (see [`Client::reply`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A `welcome`, `resumed` or `snapshot` answered it.
    Entered(Welcomed),
    /// An `ack` or an `error` answered it.
    Answered(Result<Acked, Refused>),
    /// The connection ended first (with this close code, if the server sent one).
    Closed(Option<u16>),
}

/// What kind of frame admitted a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A `welcome` with the whole room.
    Welcome,
    /// A `resumed`: this many missed events follow.
    Resumed(u64),
    /// A `snapshot` (`recovered` as given).
    Snapshot(bool),
}

/// The websocket a test client holds.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One websocket client and what it has seen.
pub struct Client {
    /// A name for failure messages (and the display name it joined with).
    pub name: String,
    ws: Socket,
    /// Our participant id, once welcomed.
    pub you: ParticipantId,
    /// Our personal token (from the welcome, or the one we resumed with).
    pub token: String,
    /// The room id, once welcomed.
    pub room_id: String,
    /// The series guest key the last welcome gave, if any.
    pub guest_key: Option<String>,
    /// The room as this client sees it: the welcome's view with every event since applied.
    pub view: RoomView,
    /// The last sequence number seen (welcome, event or ack).
    pub seq: u64,
    /// The welcome, once welcomed.
    pub welcome: Option<Welcomed>,
    /// Every event seen since the welcome, in order.
    pub log: Vec<Seen>,
    /// Every text frame the server sent, as JSON, in order: the wire as it was, for tests that
    /// replay it (`reducer.rs`).
    pub frames: Vec<Value>,
    /// Index in `log` up to which `expect_event` has looked.
    cursor: usize,
    /// Acks and errors not yet claimed by `command`.
    answers: Vec<ServerMessage>,
    /// The close frame, once the server closed.
    pub closed: Option<Option<CloseFrame>>,
    next_id: u64,
}

fn empty_view() -> RoomView {
    serde_json::from_value(serde_json::json!({
        "id": "", "title": "", "format": "", "ground_rules": "", "warn_before_ms": 0,
        "participants": [],
        "session": { "status": "lobby", "started_at": null, "paused_at": null, "ended_at": null },
        "presenter_order": [], "plan": [], "stage": null,
        "turn": { "floor": null, "queue": [], "round": null, "speaker_timer": null },
        "floor_time": { "by_participant": [], "by_role": [] },
        "prompt": null
    }))
    .expect("an empty room view")
}

/// A short description of a frame for failure messages.
fn describe(msg: &Message) -> String {
    match msg {
        Message::Text(t) => t.to_string(),
        other => format!("{other:?}"),
    }
}

impl Client {
    /// A client over an open websocket, not yet in any room.
    pub fn new(name: &str, ws: Socket) -> Client {
        Client {
            name: name.into(),
            ws,
            you: 0,
            token: String::new(),
            room_id: String::new(),
            guest_key: None,
            view: empty_view(),
            seq: 0,
            welcome: None,
            log: Vec::new(),
            frames: Vec::new(),
            cursor: 0,
            answers: Vec::new(),
            closed: None,
            next_id: 0,
        }
    }

    /// A fresh command id.
    pub fn fresh_id(&mut self) -> String {
        // Unique across every client of the test run: two clients of one participant (a
        // resume) must not reuse an id, or the server rightly answers the old command again.
        static CONNECTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        if self.next_id == 0 {
            self.next_id =
                CONNECTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * 1_000_000;
        }
        self.next_id += 1;
        format!("{}-{}", self.name.to_lowercase(), self.next_id)
    }

    /// Send a command with a fresh id; returns the id.
    pub async fn send(&mut self, command: Command) -> String {
        let id = self.fresh_id();
        self.send_with_id(&id, command).await;
        id
    }

    /// Send a command with a given id.
    pub async fn send_with_id(&mut self, id: &str, command: Command) {
        let mut value = serde_json::to_value(&command).expect("a command serializes");
        value["id"] = Value::String(id.into());
        self.raw_send(&value.to_string()).await;
    }

    /// Send a raw text frame.
    pub async fn raw_send(&mut self, text: &str) {
        let name = &self.name;
        tokio::time::timeout(WAIT, self.ws.send(Message::text(text)))
            .await
            .unwrap_or_else(|_| panic!("{name}: could not send within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("{name}: send failed: {e}"));
    }

    /// Send a raw frame of any kind; `false` if the connection refused it.
    pub async fn raw_send_message(&mut self, msg: Message) -> bool {
        matches!(
            tokio::time::timeout(WAIT, self.ws.send(msg)).await,
            Ok(Ok(()))
        )
    }

    /// The next frame from the server, raw (`None` when the stream ended).
    pub async fn next_frame(&mut self) -> Option<Message> {
        let name = &self.name;
        match tokio::time::timeout(WAIT, self.ws.next()).await {
            Err(_) => panic!("{name}: no frame within {WAIT:?}"),
            Ok(None) => None,
            Ok(Some(Ok(msg))) => Some(msg),
            // A reset after the server closed ends the stream like a clean end would.
            Ok(Some(Err(_))) => None,
        }
    }

    /// Read one frame and take it in: events are checked for contiguous sequence numbers and
    /// applied, acks and errors are kept for `command`, the welcome sets who we are, a close
    /// is recorded. Returns `false` once the connection has closed.
    async fn pump(&mut self, waiting_for: &str) -> bool {
        if self.closed.is_some() {
            return false;
        }
        let name = self.name.clone();
        let msg = match tokio::time::timeout(WAIT, self.ws.next()).await {
            Err(_) => panic!("{name}: waited {WAIT:?} for {waiting_for}; nothing came"),
            Ok(None) | Ok(Some(Err(_))) => {
                self.closed = Some(None);
                return false;
            }
            Ok(Some(Ok(msg))) => msg,
        };
        let text = match msg {
            Message::Text(text) => text,
            Message::Close(frame) => {
                self.closed = Some(frame);
                return false;
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => return true,
            Message::Binary(b) => panic!("{name}: the server sent a binary frame: {b:?}"),
        };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_else(|e| {
            panic!("{name}: the server sent a frame that is not JSON ({e}): {text}")
        });
        let msg: ServerMessage = serde_json::from_value(frame.clone()).unwrap_or_else(|e| {
            panic!("{name}: the server sent a frame we cannot read ({e}): {text}")
        });
        self.frames.push(frame);
        self.take(msg);
        true
    }

    fn take(&mut self, msg: ServerMessage) {
        let name = &self.name;
        match msg {
            ServerMessage::Event { seq, at, event } => {
                assert_eq!(
                    seq,
                    self.seq + 1,
                    "{name}: event sequence numbers must be contiguous; after {} came {seq} ({event:?})",
                    self.seq
                );
                self.seq = seq;
                self.view.apply(&event);
                self.log.push(Seen { seq, at, event });
            }
            ServerMessage::Welcome {
                id,
                protocol,
                server_time,
                seq,
                you,
                token,
                room,
                guest_key,
            } => {
                self.guest_key = guest_key;
                self.you = you;
                if let Some(token) = token {
                    self.token = token;
                }
                self.room_id = room.id.clone();
                self.view = *room;
                self.seq = seq;
                self.welcome = Some(Welcomed {
                    id,
                    kind: Entry::Welcome,
                    protocol,
                    server_time,
                    seq,
                });
            }
            ServerMessage::Resumed {
                id,
                protocol,
                server_time,
                seq,
                replayed,
                you,
            } => {
                assert_eq!(you, self.you, "{name}: resumed as someone else");
                assert_eq!(
                    seq,
                    self.seq + replayed,
                    "{name}: resumed at {seq} with {replayed} events after our {}",
                    self.seq
                );
                self.welcome = Some(Welcomed {
                    id,
                    kind: Entry::Resumed(replayed),
                    protocol,
                    server_time,
                    seq,
                });
            }
            ServerMessage::Snapshot {
                id,
                protocol,
                server_time,
                seq,
                recovered,
                you,
                room,
            } => {
                self.you = you;
                self.view = *room;
                self.seq = seq;
                self.welcome = Some(Welcomed {
                    id,
                    kind: Entry::Snapshot(recovered),
                    protocol,
                    server_time,
                    seq,
                });
            }
            ServerMessage::Ack { seq, .. } => {
                // An ack names the room's seq after the command's events, which come first; a
                // retried command id is acked again with its original (earlier) seq.
                assert!(
                    seq <= self.seq,
                    "{name}: an ack at {seq} came before its events (we are at {})",
                    self.seq
                );
                self.answers.push(msg);
            }
            ServerMessage::Error { .. } => self.answers.push(msg),
        }
    }

    /// Send `join`, `host` or `resume` and wait for the welcome.
    pub async fn enter(&mut self, command: Command) -> Welcomed {
        let id = self.fresh_id();
        self.enter_with_id(&id, command).await
    }

    /// Send `join`, `host`, `member` or `resume` with a given id and wait for the welcome.
    pub async fn enter_with_id(&mut self, id: &str, command: Command) -> Welcomed {
        self.send_with_id(id, command).await;
        loop {
            if let Some(w) = self.welcome.clone().filter(|w| w.id == id) {
                return w;
            }
            if let Some(answer) = self.claim(id) {
                panic!("{}: expected a welcome, got {answer:?}", self.name);
            }
            if !self.pump("a welcome").await {
                panic!(
                    "{}: the server closed ({:?}) instead of welcoming",
                    self.name, self.closed
                );
            }
        }
    }

    /// Send `join`, `host`, `member` or `resume` and wait for the welcome (`Ok`) or the error
    /// that refuses it (its code).
    pub async fn enter_or_refused(&mut self, command: Command) -> Result<Welcomed, ErrorCode> {
        let id = self.send(command).await;
        loop {
            if let Some(w) = self.welcome.clone().filter(|w| w.id == id) {
                return Ok(w);
            }
            match self.claim(&id) {
                Some(ServerMessage::Error { code, .. }) => return Err(code),
                Some(answer) => panic!("{}: expected a welcome, got {answer:?}", self.name),
                None => {}
            }
            if !self.pump("a welcome or a refusal").await {
                panic!("{}: the server closed ({:?})", self.name, self.closed);
            }
        }
    }

    /// Send `join`, `host` or `resume` and wait for the error that refuses it.
    pub async fn enter_refused(&mut self, command: Command) -> Refused {
        match self.command(command).await {
            Ok(ok) => panic!("{}: expected a refusal, got {ok:?}", self.name),
            Err(refused) => refused,
        }
    }

    /// Drop this connection and come back on a new one with our token and the last sequence
    /// number we saw, keeping our view: the server replays what we missed (or sends a
    /// snapshot). Returns how we were admitted.
    pub async fn reconnect(&mut self, server: &Remote) -> Welcomed {
        if self.closed.is_none() {
            self.disconnect().await;
        }
        let fresh = server.connect(&self.name).await;
        self.ws = fresh.ws;
        self.closed = None;
        self.welcome = None;
        let last_seq = Some(self.seq);
        self.enter(Command::Resume {
            room: self.room_id.clone(),
            token: self.token.clone(),
            last_seq,
        })
        .await
    }

    fn claim(&mut self, id: &str) -> Option<ServerMessage> {
        let at = self.answers.iter().position(|a| match a {
            ServerMessage::Ack { id: a, .. } => a == id,
            ServerMessage::Error { id: a, .. } => a.as_deref() == Some(id),
            _ => false,
        })?;
        Some(self.answers.remove(at))
    }

    /// Wait for the ack or error answering `id`, taking in every event on the way.
    pub async fn answer(&mut self, id: &str) -> Result<Acked, Refused> {
        loop {
            match self.claim(id) {
                Some(ServerMessage::Ack {
                    seq,
                    server_time,
                    result,
                    ..
                }) => {
                    return Ok(Acked {
                        seq,
                        server_time,
                        result,
                    });
                }
                Some(ServerMessage::Error { id, code, message }) => {
                    return Err(Refused { id, code, message })
                }
                Some(other) => panic!("{}: unexpected answer {other:?}", self.name),
                None => {}
            }
            if let Some(w) = self.welcome.as_ref().filter(|w| w.id == id) {
                panic!("{}: {id} was answered with a welcome: {w:?}", self.name);
            }
            if !self.pump(&format!("the answer to {id}")).await {
                panic!(
                    "{}: the server closed ({:?}) before answering {id}",
                    self.name, self.closed
                );
            }
        }
    }

    /// Send a command and wait for its ack or error.
    pub async fn command(&mut self, command: Command) -> Result<Acked, Refused> {
        let id = self.send(command).await;
        self.answer(&id).await
    }

    /// Send a command that must be accepted.
    pub async fn ok(&mut self, command: Command) -> Acked {
        let what = format!("{command:?}");
        self.command(command)
            .await
            .unwrap_or_else(|r| panic!("{}: {what} was refused: {r:?}", self.name))
    }

    /// Send a command that must be refused; returns the code.
    pub async fn refused(&mut self, command: Command) -> ErrorCode {
        let what = format!("{command:?}");
        match self.command(command).await {
            Ok(ok) => panic!(
                "{}: {what} should be refused; it was acked: {ok:?}",
                self.name
            ),
            Err(r) => r.code,
        }
    }

    /// What became of the frame with id `id`, whatever it was: the welcome (or `resumed`,
    /// `snapshot`) that admitted us, its ack or error, an error that names no id (a refusal
    /// before the id could be read), or the end of the connection. Events on the way are taken
    /// in.
    pub async fn reply(&mut self, id: &str) -> Reply {
        loop {
            if let Some(w) = self.welcome.clone().filter(|w| w.id == id) {
                return Reply::Entered(w);
            }
            let answer = self.claim(id).or_else(|| {
                let at = self
                    .answers
                    .iter()
                    .position(|a| matches!(a, ServerMessage::Error { id: None, .. }))?;
                Some(self.answers.remove(at))
            });
            match answer {
                Some(ServerMessage::Ack {
                    seq,
                    server_time,
                    result,
                    ..
                }) => {
                    return Reply::Answered(Ok(Acked {
                        seq,
                        server_time,
                        result,
                    }))
                }
                Some(ServerMessage::Error { id, code, message }) => {
                    return Reply::Answered(Err(Refused { id, code, message }))
                }
                Some(other) => panic!("{}: unexpected answer {other:?}", self.name),
                None => {}
            }
            if !self.pump(&format!("the answer to {id}")).await {
                let code = self.closed.clone().flatten().map(|f| u16::from(f.code));
                return Reply::Closed(code);
            }
        }
    }

    /// Take in every frame the server sent before a `sync` sent now, or up to the end of the
    /// connection if it is closed or closing; never panics on a closed connection.
    pub async fn drain(&mut self) {
        if self.closed.is_some() {
            return;
        }
        let id = self.fresh_id();
        let frame = serde_json::json!({"id": id, "type": "sync"}).to_string();
        if !self.raw_send_message(Message::text(frame)).await {
            while self.pump("the end of the connection").await {}
            return;
        }
        while self.claim(&id).is_none() {
            if !self.pump("the answer to a sync").await {
                return;
            }
        }
    }

    /// Acks and errors that arrived but no `command` or `answer` has claimed.
    pub fn unclaimed_answers(&self) -> &[ServerMessage] {
        &self.answers
    }

    /// Wait for the next error frame (with or without an id).
    pub async fn expect_error(&mut self) -> Refused {
        loop {
            let at = self
                .answers
                .iter()
                .position(|a| matches!(a, ServerMessage::Error { .. }));
            if let Some(at) = at {
                if let ServerMessage::Error { id, code, message } = self.answers.remove(at) {
                    return Refused { id, code, message };
                }
            }
            if !self.pump("an error").await {
                panic!(
                    "{}: the server closed ({:?}) instead of answering with an error",
                    self.name, self.closed
                );
            }
        }
    }

    /// Wait for an event matching `pred`, looking first at events seen but not yet expected.
    /// Events before the match count as expected too.
    pub async fn expect_event(&mut self, pred: impl Fn(&Event) -> bool) -> Event {
        // Bounded overall too: a room whose timers keep sending other events never lets a
        // single frame wait run out.
        let deadline = tokio::time::Instant::now() + 4 * WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: the event did not come within {:?} (other frames kept coming)",
                self.name,
                4 * WAIT
            );
            if let Some(i) = self.log[self.cursor..].iter().position(|s| pred(&s.event)) {
                let i = self.cursor + i;
                self.cursor = i + 1;
                return self.log[i].event.clone();
            }
            self.cursor = self.log.len();
            if !self.pump("an event").await {
                panic!(
                    "{}: the server closed ({:?}) before the event came",
                    self.name, self.closed
                );
            }
        }
    }

    /// Wait until this client has seen the event with sequence number `seq`.
    pub async fn catch_up(&mut self, seq: u64) {
        while self.seq < seq {
            if !self.pump(&format!("event {seq}")).await {
                panic!(
                    "{}: the server closed ({:?}) before event {seq}",
                    self.name, self.closed
                );
            }
        }
        self.cursor = self.log.len();
    }

    /// Events seen since the last `expect_event`/`catch_up`/`take_new_events`, marked expected.
    pub fn take_new_events(&mut self) -> Vec<Event> {
        let new = self.log[self.cursor..]
            .iter()
            .map(|s| s.event.clone())
            .collect();
        self.cursor = self.log.len();
        new
    }

    /// A `sync` round trip: the server has handled everything this client sent before, and
    /// every event broadcast before it has arrived. Returns the ack.
    pub async fn sync(&mut self) -> Acked {
        self.ok(Command::Sync).await
    }

    /// Check that nothing happened in the room since `seq`: a sync round trip shows no new
    /// event and the same sequence number.
    pub async fn assert_quiet_since(&mut self, seq: u64) {
        let ack = self.sync().await;
        assert_eq!(
            ack.seq, seq,
            "{}: the room moved on; events: {:?}",
            self.name, self.log
        );
        assert!(
            self.log.last().is_none_or(|s| s.seq <= seq),
            "{}: events arrived: {:?}",
            self.name,
            self.log
        );
    }

    /// Wait for the server to close the connection; returns the close code (`None` if the
    /// stream ended without a close frame). Events and answers on the way are taken in.
    pub async fn expect_close(&mut self) -> Option<u16> {
        while self.pump("the connection to close").await {}
        self.closed
            .clone()
            .flatten()
            .map(|frame| u16::from(frame.code))
    }

    /// Close this connection but keep the client (view, token, seq) for [`Client::reconnect`].
    pub async fn disconnect(&mut self) {
        let _ = self.raw_send_message(Message::Close(None)).await;
        while self.pump("the close handshake").await {}
    }

    /// Close the connection from our side and wait for the server to see it.
    pub async fn close(mut self) {
        self.disconnect().await;
    }

    /// A participant in this client's view, by id.
    pub fn participant(&self, id: ParticipantId) -> &ParticipantView {
        self.view
            .participants
            .iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("{}: no participant {id} in the view", self.name))
    }

    /// The current stage's timer, as this client sees it.
    pub fn stage_timer(&self) -> TimerState {
        self.view
            .stage
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no stage", self.name))
            .timer
            .clone()
    }

    /// The current stage's index, as this client sees it.
    pub fn stage_index(&self) -> usize {
        self.view
            .stage
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no stage", self.name))
            .index
    }

    /// Who holds the floor, as this client sees it.
    pub fn floor(&self) -> Option<ParticipantId> {
        self.view.turn.floor.as_ref().map(|f| f.participant)
    }
}

/// Whether `event` is the warning (or, when `expired`, the expiry) of a `kind` timer.
pub fn is_timer(kind: TimerKind, event: &Event, expired: bool) -> bool {
    match event {
        Event::TimerWarning { timer, .. } => *timer == kind && !expired,
        Event::TimerExpired { timer, .. } => *timer == kind && expired,
        _ => false,
    }
}

/// Two rooms written by a server that has since stopped, the first with a damaged event
/// record. Returns the data directory, the damaged room and its facilitator's token, and the
/// healthy room.
pub async fn damaged_data_dir() -> (tempfile::TempDir, RoomCreated, String, RoomCreated) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |_| {}).await;
    let damaged = server.create_builtin_room("coaching_circle").await;
    let healthy = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&damaged, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    server.host(&healthy, "Gus").await;
    server.stop().await;
    release_store(store).await;
    damage_event(dir.path(), &damaged.room_id, 2);
    (dir, damaged, fran.token, healthy)
}

/// Overwrite event `seq` of `room` in the sled data directory `dir` with a record that does not
/// decode, with sled directly (the server must be stopped and its store released).
pub fn damage_event(dir: &std::path::Path, room: &str, seq: u64) {
    // sled lets go of its lock file a moment after its last handle is dropped: try again for
    // a bounded while.
    let deadline = std::time::Instant::now() + WAIT;
    let db = loop {
        match sled::open(dir) {
            Ok(db) => break db,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::yield_now();
            }
            Err(e) => panic!("sled did not open within {WAIT:?}: {e}"),
        }
    };
    let events = db.open_tree("roomid_seq_event").expect("tree");
    let mut key = room.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    assert!(
        events.get(&key).expect("read").is_some(),
        "event {seq} of {room} is stored"
    );
    events.insert(key, b"{\"seq\":2,".to_vec()).expect("write");
    db.flush().expect("flush");
}

/// Wait (bounded) until the test holds the last reference to the store, then close it: a
/// stopped server lets go of it a moment after `stop` returns.
pub async fn release_store(store: Arc<SledStore>) {
    let wait = async {
        while Arc::strong_count(&store) > 1 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .expect("the server let go of the store");
    drop(store);
}

/// A room stored the way rooms were before join keys were kept (only the hashes of its keys,
/// [`KeptKey::Unknown`](circlekeeper::secret::KeptKey)), written straight into `store`: the
/// server loads it when it is first asked for. Its keys, as a creation would have answered.
#[allow(dead_code)]
pub fn legacy_room(store: &dyn circlekeeper::store::Store) -> RoomCreated {
    use circlekeeper::secret;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let join_key = secret::new_secret().expect("os random");
    let host_key = secret::new_secret().expect("os random");
    let record = circlekeeper::store::RoomRecord {
        join_key_hash: secret::hash(&join_key),
        host_key_hash: secret::hash(&host_key),
        join_key: secret::KeptKey::Unknown,
        ..circlekeeper::store::conformance::record(&id, "Before keys were kept")
    };
    store.put_room(&id, &record).expect("put");
    store.flush().expect("flush");
    RoomCreated {
        join_url: String::new(),
        host_url: String::new(),
        room_id: id,
        join_key,
        host_key,
    }
}
