//! One task per websocket connection: decode and validate frames, authenticate with `join`,
//! `host` or `resume`, pass commands to the room actor, and write what the actor sends back.
//!
//! One `select!` per connection, in this order: outbound frames, inbound frames, heartbeat.
//! Bad input gets an error frame and the connection stays; an oversized frame, a flood or a
//! silent peer is cut off with a documented close code.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use circlekeeper_protocol::{
    close, limits, ClientMessage, Command, ErrorCode, ParticipantId, PROTOCOL_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;
use std::net::IpAddr;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, Instrument};

use super::api::ApiError;
use super::guard::{ClientIp, FrameAllowance, Slot, SlotCell};
use super::AppState;
use crate::live::room::{error_frame, ConnId, Credential, Outbound, PEER_OUTBOX};
use crate::live::{RoomHandle, RoomMsg};
use crate::metrics::{Disconnect, Limit};
use crate::room::state::clean_text;
use crate::secret;

/// The websocket library's own message limit. Frames between [`limits::MAX_FRAME_BYTES`] and
/// this get a clean close 1009 from us; larger ones are dropped by the library mid-read.
pub const LIBRARY_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Most bytes the websocket library may hold to write: it refuses (and the connection fails)
/// a server frame larger than this. A welcome or an event carries whole lists (participants,
/// shared commitments), so it is far above any frame a room can make within the documented
/// limits; the old cap of 64 KiB broke a room for good once its commitments outgrew it (nobody
/// could be welcomed). Memory stays bounded: frames are written as they are flushed.
pub const MAX_OUTGOING_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Read and write buffer per connection: commands and events are small, and the library's
/// 128 KiB default would cost ~136 KiB per participant.
pub const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// Longest a close frame may take to write before the connection is dropped without it.
pub const CLOSE_WRITE: std::time::Duration = std::time::Duration::from_secs(1);

/// Most frames written to a socket before one flush.
pub const WRITE_BATCH: usize = 64;

/// Refused frames (rate-limited) after which the connection is closed (code 4029).
pub const RATE_STRIKES: u32 = 50;

/// The `/ws` query string.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// Protocol version the client speaks. Read as text, so that `v=abc` is refused like any
    /// other wrong version (close 4001) rather than with a bare HTTP 400.
    v: Option<String>,
}

/// `GET /ws?v=1`: upgrade to a websocket, if the page asking is one of ours (`Origin`) and its
/// address may hold another connection.
pub async fn upgrade(
    State(app): State<AppState>,
    client: ClientIp,
    cell: Option<Extension<SlotCell>>,
    headers: HeaderMap,
    Query(q): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if !app.origin_allowed(origin) {
        app.metrics().refused(Limit::Origin);
        let message = format!(
            "websockets are accepted from this server's own pages ({}); the operator can allow \
             other origins with --allowed-origins",
            app.settings().public_url
        );
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::OriginNotAllowed,
            message,
        ));
    }
    // The slot the connection took at the door moves to the websocket; behind a trusted
    // proxy, the client it names takes one here.
    let slot = match cell.and_then(|Extension(c)| c.take()) {
        Some(slot) => Some(slot),
        None if client.via_proxy => {
            match app
                .guard()
                .open(client.ip, app.settings().max_connections_per_ip)
            {
                Ok(slot) => Some(slot),
                Err(refusal) => {
                    app.metrics().refused(Limit::Connections);
                    return Err(refusal.into_api_error());
                }
            }
        }
        None => None,
    };
    Ok(ws
        .max_message_size(LIBRARY_MAX_MESSAGE_BYTES)
        .max_frame_size(LIBRARY_MAX_MESSAGE_BYTES)
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .max_write_buffer_size(MAX_OUTGOING_FRAME_BYTES)
        .on_upgrade(move |socket| {
            let conn = app.inner.next_conn.fetch_add(1, Ordering::Relaxed);
            let span = tracing::info_span!(
                "conn",
                conn,
                room_id = tracing::field::Empty,
                participant_id = tracing::field::Empty
            );
            let version = q.v.as_deref().and_then(parse_version);
            Connection::new(app, conn, client.ip)
                .run(socket, version, slot)
                .instrument(span)
        }))
}

/// The protocol version a `v` query value names: only the plain decimal text of a version
/// (`1`), so `01`, `+1`, `1.0` or ` 1` name none and are refused like `v=2` (close 4001).
fn parse_version(v: &str) -> Option<u32> {
    v.parse::<u32>().ok().filter(|n| n.to_string() == v)
}

/// Whether a read failed because a text frame was not valid UTF-8 (close 1007), rather than
/// because the connection broke.
fn is_invalid_utf8(e: &axum::Error) -> bool {
    let inner: &(dyn std::error::Error + 'static) = e;
    std::iter::successors(Some(inner), |e| e.source()).any(|e| {
        matches!(
            e.downcast_ref::<tungstenite::Error>(),
            Some(tungstenite::Error::Utf8(_))
        )
    })
}

/// Deepest nesting of arrays and objects in a client frame (`{"a":[1]}` nests 2 deep); a
/// deeper frame is refused with `invalid_message` before it is read. Commands nest at most 2.
pub const MAX_JSON_DEPTH: usize = 32;

/// Most fields tried, one left out at a time, to name the one a command could not take.
const FIELD_TRIALS: usize = 16;

/// What [`scan`] found wrong with a frame, before reading it as a command.
#[derive(Debug, Clone, PartialEq)]
enum Flaw {
    /// An object (at any depth) has this key twice.
    DuplicateKey(String),
    /// Arrays and objects nest deeper than [`MAX_JSON_DEPTH`].
    TooDeep,
    /// This top-level field holds a number too large for any field (such as `1e400`).
    NumberOutOfRange(String),
}

impl Flaw {
    /// The error frame's message.
    fn message(&self) -> String {
        match self {
            Flaw::DuplicateKey(key) => {
                format!("duplicate key {key:?}: a key may appear once in an object")
            }
            Flaw::TooDeep => {
                format!("arrays and objects nest deeper than {MAX_JSON_DEPTH} levels")
            }
            Flaw::NumberOutOfRange(field) => format!("{field}: number out of range"),
        }
    }
}

/// What a [`scan`] learned on its way through a frame.
#[derive(Default)]
struct ScanState {
    /// The first flaw, which ended the scan.
    flaw: Option<Flaw>,
    /// The top-level `id`, if it is a string read before the flaw and not over-long.
    id: Option<String>,
    /// The top-level key whose value the scan was in when it failed.
    field: Option<String>,
}

/// One pass over a frame, before it is read as a command, for what serde_json lets through or
/// reports badly: a repeated key (serde_json keeps the last silently), nesting deeper than
/// [`MAX_JSON_DEPTH`], a number too large for any field. `Err` carries the frame's id, when
/// it came before the flaw. Malformed JSON passes: the careful reading names it.
fn scan(text: &str) -> Result<(), (Option<String>, Flaw)> {
    let state = std::cell::RefCell::new(ScanState::default());
    let mut de = serde_json::Deserializer::from_str(text);
    let seed = ScanSeed {
        depth: 0,
        capture: false,
        state: &state,
    };
    let result = serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|_| de.end());
    let ScanState { flaw, id, field } = state.into_inner();
    if let Some(flaw) = flaw {
        return Err((id, flaw));
    }
    match (result, field) {
        // serde_json reads a number like 1e400 as a syntax error; its message is the only way
        // to tell it from one.
        (Err(e), Some(field)) if e.to_string().starts_with("number out of range") => {
            Err((id, Flaw::NumberOutOfRange(field)))
        }
        _ => Ok(()),
    }
}

/// One value in a [`scan`]: `depth` arrays and objects enclose it; `capture` keeps it if it
/// is a string (the top-level `id`).
#[derive(Clone, Copy)]
struct ScanSeed<'a> {
    depth: usize,
    capture: bool,
    state: &'a std::cell::RefCell<ScanState>,
}

impl ScanSeed<'_> {
    /// Record a flaw and end the scan.
    fn fail<E: serde::de::Error>(&self, flaw: Flaw) -> E {
        self.state.borrow_mut().flaw = Some(flaw);
        E::custom("flawed frame")
    }

    /// The depth of a container this value opens, or the end of the scan if too deep.
    fn enter<E: serde::de::Error>(&self) -> Result<usize, E> {
        let level = self.depth + 1;
        if level > MAX_JSON_DEPTH {
            return Err(self.fail(Flaw::TooDeep));
        }
        Ok(level)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for ScanSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ScanSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Option<String>, E> {
        Ok(self.capture.then(|| v.to_string()))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<Option<String>, A::Error> {
        let inner = ScanSeed {
            depth: self.enter()?,
            capture: false,
            ..self
        };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<Option<String>, A::Error> {
        let depth = self.enter()?;
        let mut seen = std::collections::BTreeSet::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if seen.contains(&key) {
                if self.depth == 0 && key == "id" {
                    self.state.borrow_mut().id = None;
                }
                let shown: String = key.chars().take(40).collect();
                return Err(self.fail(Flaw::DuplicateKey(shown)));
            }
            let top = self.depth == 0;
            let inner = ScanSeed {
                depth,
                capture: top && key == "id",
                state: self.state,
            };
            match map.next_value_seed(inner) {
                Ok(Some(id)) if id.chars().count() <= limits::MAX_COMMAND_ID_CHARS => {
                    self.state.borrow_mut().id = Some(id);
                }
                Ok(_) => {}
                Err(e) => {
                    if top {
                        let shown: String = key.chars().take(40).collect();
                        self.state.borrow_mut().field = Some(shown);
                    }
                    return Err(e);
                }
            }
            seen.insert(key);
        }
        Ok(None)
    }
}

/// An object key in a [`scan`], borrowed from the frame unless it has escapes.
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }
}

/// A token bucket: `burst` deep, refilled at `per_second` (from [`Settings`](super::Settings)).
struct Bucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
    strikes: u32,
}

impl Bucket {
    /// Refill for the time passed.
    fn refill(&mut self, now: Instant) {
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
    }

    /// What is left, to keep for the person's next connection.
    fn left(&mut self) -> FrameAllowance {
        self.refill(Instant::now());
        FrameAllowance {
            tokens: self.tokens,
            at: self.at.into_std(),
            strikes: self.strikes,
        }
    }

    /// Start from what the person's last connection left (refilled since), if that is less.
    fn resume(&mut self, left: FrameAllowance) {
        let now = Instant::now();
        self.refill(now);
        let since = now.into_std().duration_since(left.at).as_secs_f64() * self.per_second;
        let then = (left.tokens + since).min(self.burst);
        if then < self.burst {
            self.tokens = self.tokens.min(then);
            self.strikes = self.strikes.max(left.strikes);
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            // A client that let its bucket fill up again has calmed down: forgive it.
            if self.tokens >= self.burst {
                self.strikes = 0;
            }
            self.tokens -= 1.0;
            true
        } else {
            self.strikes += 1;
            false
        }
    }
}

/// What to do after a frame.
enum Next {
    Continue,
    Close(u16, &'static str),
}

struct Connection {
    app: AppState,
    conn: ConnId,
    /// The room and who we are in it, once admitted.
    joined: Option<(RoomHandle, ParticipantId)>,
    /// The room's id, once admitted (the key of our frame allowance when we leave).
    room_id: Option<String>,
    /// Our copy of the outbox sender, kept until the actor holds one.
    tx: Option<mpsc::Sender<Outbound>>,
    close_code: Arc<AtomicU16>,
    bucket: Bucket,
    /// The client's address, for the per-address limit on wrong keys and tokens.
    ip: IpAddr,
}

impl Connection {
    fn new(app: AppState, conn: ConnId, ip: IpAddr) -> Connection {
        let (burst, per_second) = (app.settings().rate_burst, app.settings().rate_per_second);
        Connection {
            app,
            conn,
            joined: None,
            room_id: None,
            tx: None,
            close_code: Arc::new(AtomicU16::new(close::GOING_AWAY)),
            bucket: Bucket {
                burst,
                per_second,
                tokens: burst,
                at: Instant::now(),
                strikes: 0,
            },
            ip,
        }
    }

    /// Serve the connection; its address's slot is given back when it ends.
    async fn run(self, socket: WebSocket, version: Option<u32>, slot: Option<Slot>) {
        let app = self.app.clone();
        let metrics = app.metrics();
        let _open = metrics.connection_opened();
        let why = self.serve(socket, version).await;
        metrics.disconnected(why);
        drop(slot);
    }

    /// Serve the connection until it ends; returns why it ended.
    async fn serve(mut self, socket: WebSocket, version: Option<u32>) -> Disconnect {
        let (mut sink, mut stream) = socket.split();
        if version != Some(PROTOCOL_VERSION) {
            let reason = "this server speaks protocol version 1: connect to /ws?v=1";
            let _ = sink
                .send(close_message(close::PROTOCOL_MISMATCH, reason))
                .await;
            return Disconnect::Code(close::PROTOCOL_MISMATCH);
        }
        let (tx, mut rx) = mpsc::channel::<Outbound>(PEER_OUTBOX);
        self.tx = Some(tx);
        let ping_every = self.app.settings().ping_every;
        let idle_timeout = self.app.settings().idle_timeout;
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut shutdown = self.app.shutting_down();
        if *shutdown.borrow() {
            let reason = "the server is restarting: reconnect and resume";
            let _ = sink.send(close_message(close::GOING_AWAY, reason)).await;
            return Disconnect::Code(close::GOING_AWAY);
        }
        let mut last_heard = Instant::now();
        let handshake = tokio::time::sleep(self.app.settings().handshake_timeout);
        tokio::pin!(handshake);
        // Made once, not per turn of the loop: each new `changed()` registers with (and leaves)
        // the one shutdown channel every connection shares.
        let shutdown = shutdown.changed();
        tokio::pin!(shutdown);
        let outcome = loop {
            tokio::select! {
                _ = &mut shutdown => {
                    break Ok((close::GOING_AWAY, "the server is restarting: reconnect and resume"));
                }
                out = rx.recv() => match out {
                    Some(Outbound::Frame(bytes)) => {
                        // Write what is waiting together: one flush for an event and its ack.
                        let written = async {
                            let mut ok = sink.feed(Message::Text(bytes)).await.is_ok();
                            let mut batched = 1;
                            while ok && batched < WRITE_BATCH {
                                let Ok(Outbound::Frame(more)) = rx.try_recv() else { break };
                                ok = sink.feed(Message::Text(more)).await.is_ok();
                                batched += 1;
                            }
                            ok && sink.flush().await.is_ok()
                        };
                        // A client that stops reading blocks the write: a shutdown does not
                        // wait for it (nor can it be told anything: the socket is full).
                        tokio::select! {
                            ok = written => if !ok {
                                break Err(Disconnect::Reset);
                            },
                            _ = &mut shutdown => break Err(Disconnect::Reset),
                        }
                    }
                    None => break Ok((self.close_code.load(Ordering::Relaxed), "")),
                },
                msg = stream.next() => {
                    last_heard = Instant::now();
                    let next = match msg {
                        None | Some(Ok(Message::Close(_))) => break Err(Disconnect::ClientClosed),
                        Some(Err(e)) if is_invalid_utf8(&e) => {
                            break Ok((close::INVALID_PAYLOAD, "text frames must be valid UTF-8"));
                        }
                        Some(Err(_)) => break Err(Disconnect::Reset),
                        Some(Ok(Message::Text(text))) => self.on_text(&text, &mut sink, &mut rx).await,
                        Some(Ok(Message::Binary(_))) => self.on_binary(&mut sink).await,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Next::Continue,
                    };
                    if let Next::Close(code, reason) = next {
                        break Ok((code, reason));
                    }
                }
                _ = &mut handshake, if self.joined.is_none() => {
                    break Ok((close::HANDSHAKE_TIMEOUT, "join, host or resume sooner: reconnect when ready"));
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > idle_timeout {
                        break Ok((close::IDLE, "nothing heard for too long: reconnect and resume"));
                    }
                    tokio::select! {
                        sent = sink.send(Message::Ping(Default::default())) => if sent.is_err() {
                            break Err(Disconnect::Reset);
                        },
                        _ = &mut shutdown => break Err(Disconnect::Reset),
                    }
                }
            }
        };
        let why = match outcome {
            Ok((code, reason)) => {
                // Bounded: a client that does not read never gets it, and must not hold us.
                let close = sink.send(close_message(code, reason));
                let _ = tokio::time::timeout(CLOSE_WRITE, close).await;
                Disconnect::Code(code)
            }
            Err(why) => why,
        };
        if let Some((room, who)) = self.joined.take() {
            if let Some(room_id) = self.room_id.take() {
                self.app
                    .guard()
                    .keep_frames(&room_id, who, self.bucket.left());
            }
            room.send(RoomMsg::Leave { conn: self.conn }).await;
        }
        debug!("connection closed");
        why
    }

    async fn on_text<S>(
        &mut self,
        text: &str,
        sink: &mut S,
        rx: &mut mpsc::Receiver<Outbound>,
    ) -> Next
    where
        S: SinkExt<Message> + Unpin,
    {
        let received = std::time::Instant::now();
        if text.len() > limits::MAX_FRAME_BYTES {
            return Next::Close(close::TOO_BIG, "frames are limited to 16 KiB");
        }
        if let Some(next) = self.rate_limit(sink).await {
            return next;
        }
        if let Err((id, flaw)) = scan(text) {
            send(
                sink,
                error_frame(id, ErrorCode::InvalidMessage, flaw.message()),
            )
            .await;
            return Next::Continue;
        }
        let msg = match parse(text) {
            Ok(msg) => msg,
            Err(e) => {
                let (id, code, message) = classify(text, &e);
                send(sink, error_frame(id, code, message)).await;
                return Next::Continue;
            }
        };
        let ClientMessage { id, command } = msg;
        if id.is_empty() || id.chars().count() > limits::MAX_COMMAND_ID_CHARS {
            let message = format!(
                "id must be 1 to {} characters",
                limits::MAX_COMMAND_ID_CHARS
            );
            send(sink, error_frame(None, ErrorCode::InvalidText, message)).await;
            return Next::Continue;
        }
        let credential = match command {
            Command::Join { room, key, name } => Some((
                room,
                Credential::New {
                    host: false,
                    key,
                    name,
                },
            )),
            Command::Host { room, key, name } => Some((
                room,
                Credential::New {
                    host: true,
                    key,
                    name,
                },
            )),
            Command::Member { room, series, key } => {
                Some((room, Credential::Member { series, key }))
            }
            Command::Resume {
                room,
                token,
                last_seq,
            } => Some((room, Credential::Resume { token, last_seq })),
            command => {
                let Some((room, _)) = &self.joined else {
                    let msg = "join, host or resume first";
                    send(
                        sink,
                        error_frame(Some(id), ErrorCode::NotAuthenticated, msg),
                    )
                    .await;
                    return Next::Continue;
                };
                let command = with_seed(command);
                if !room
                    .send(RoomMsg::Command {
                        conn: self.conn,
                        id,
                        command,
                        received,
                    })
                    .await
                {
                    return Next::Close(close::GOING_AWAY, "the room has closed");
                }
                return Next::Continue;
            }
        };
        let Some((room_id, credential)) = credential else {
            return Next::Continue;
        };
        if self.joined.is_some() {
            let msg = "this connection is already in a room";
            send(
                sink,
                error_frame(Some(id), ErrorCode::AlreadyAuthenticated, msg),
            )
            .await;
            return Next::Continue;
        }
        self.enter(id, room_id, credential, sink, rx).await
    }

    /// A binary frame: refused, but it counts against the rate limit like any frame the
    /// server answers, so binary frames cannot flood the connection either.
    async fn on_binary<S>(&mut self, sink: &mut S) -> Next
    where
        S: SinkExt<Message> + Unpin,
    {
        if let Some(next) = self.rate_limit(sink).await {
            return next;
        }
        let msg = "frames are JSON text, not binary";
        send(sink, error_frame(None, ErrorCode::InvalidMessage, msg)).await;
        Next::Continue
    }

    /// Take a token for a frame; `Some` if the frame must not be handled (refused, or the
    /// connection is to close).
    async fn rate_limit<S>(&mut self, sink: &mut S) -> Option<Next>
    where
        S: SinkExt<Message> + Unpin,
    {
        if self.bucket.take() {
            return None;
        }
        self.app.metrics().rate_limited();
        if self.bucket.strikes >= RATE_STRIKES {
            return Some(Next::Close(
                close::RATE_LIMITED,
                "too many commands: wait, then reconnect",
            ));
        }
        send(
            sink,
            error_frame(None, ErrorCode::RateLimited, "too many commands: slow down"),
        )
        .await;
        Some(Next::Continue)
    }

    /// Ask the room to admit us; on success the actor owns the outbox from here on.
    async fn enter<S>(
        &mut self,
        id: String,
        room_id: String,
        credential: Credential,
        sink: &mut S,
        rx: &mut mpsc::Receiver<Outbound>,
    ) -> Next
    where
        S: SinkExt<Message> + Unpin,
    {
        // A bad name is answered here, before it costs an attempt or the room's time.
        if let Credential::New { name, .. } = &credential {
            if let Err(r) = clean_text("name", name, limits::MAX_NAME_CHARS) {
                send(sink, error_frame(Some(id), r.code, r.message)).await;
                return Next::Continue;
            }
        }
        let guard = self.app.guard();
        let settings = self.app.settings();
        if let Err(refusal) = guard.may_attempt(self.ip, settings, std::time::Instant::now()) {
            self.app.metrics().refused(Limit::Attempts);
            send(sink, error_frame(Some(id), refusal.code, refusal.message())).await;
            return Next::Close(
                close::RATE_LIMITED,
                "too many wrong links: wait, then retry",
            );
        }
        let failed = || guard.failed_attempt(self.ip, settings, std::time::Instant::now());
        let room = self.app.room(&room_id).await;
        if room.is_none() && self.app.is_unavailable(&room_id) {
            let msg = "this room cannot be served right now; the operator has been told";
            send(sink, error_frame(Some(id), ErrorCode::RoomUnavailable, msg)).await;
            return Next::Close(close::AUTH_FAILED, "room unavailable");
        }
        let Some(room) = room else {
            failed();
            send(
                sink,
                error_frame(Some(id), ErrorCode::RoomNotFound, "no room with that id"),
            )
            .await;
            return Next::Close(close::AUTH_FAILED, "no such room");
        };
        let Some(outbox) = self.tx.clone() else {
            return Next::Close(close::GOING_AWAY, "");
        };
        let (reply, answer) = oneshot::channel();
        let msg = RoomMsg::Enter {
            conn: self.conn,
            id,
            credential,
            outbox,
            close_code: Arc::clone(&self.close_code),
            reply,
        };
        if !room.send(msg).await {
            return Next::Close(close::GOING_AWAY, "the room has closed");
        }
        match answer.await {
            Ok(Ok(who)) => {
                let span = tracing::Span::current();
                span.record("room_id", room_id.as_str());
                span.record("participant_id", who);
                // A reconnect picks up the allowance the person's last connection left.
                if let Some(left) = self.app.guard().frames_left(&room_id, who) {
                    self.bucket.resume(left);
                }
                self.joined = Some((room, who));
                self.room_id = Some(room_id);
                self.tx = None;
                Next::Continue
            }
            Ok(Err(rejection)) => {
                // The actor put the error frame on the outbox: deliver it first.
                while let Ok(Outbound::Frame(bytes)) = rx.try_recv() {
                    send(sink, bytes).await;
                }
                if matches!(
                    rejection.code,
                    ErrorCode::InvalidKey | ErrorCode::InvalidToken
                ) {
                    failed();
                }
                match rejection.code {
                    ErrorCode::InvalidKey | ErrorCode::InvalidToken | ErrorCode::Forbidden => {
                        Next::Close(close::AUTH_FAILED, "not admitted")
                    }
                    _ => Next::Continue,
                }
            }
            Err(_) => Next::Close(close::GOING_AWAY, "the room has closed"),
        }
    }
}

/// Fill in a seed the client left out, from the OS's random source.
fn with_seed(command: Command) -> Command {
    match command {
        Command::ShufflePresenters { seed: None } => Command::ShufflePresenters {
            seed: Some(secret::random_seed()),
        },
        Command::DrawPrompt { seed: None } => Command::DrawPrompt {
            seed: Some(secret::random_seed()),
        },
        Command::ProposePairs { seed: None } => Command::ProposePairs {
            seed: Some(secret::random_seed()),
        },
        other => other,
    }
}

/// Read a client frame. Only a string `type` names a command: a derived enum would also take
/// a variant's index (`"type": 7` would be read as `pass`).
///
/// The common case takes one typed pass over the text and a skimming pass that only looks at
/// `type`; anything unusual (an error, a `type` that is not a string) is read again the careful
/// way, through a [`Value`], so the answer is always the careful one's. Repeated keys never get
/// here: [`scan`] refuses them first.
fn parse(text: &str) -> Result<ClientMessage, serde_json::Error> {
    if let Ok(msg) = serde_json::from_str::<ClientMessage>(text) {
        if matches!(
            serde_json::from_str::<TypeProbe>(text),
            Ok(TypeProbe {
                kind: TypeKind::Text
            })
        ) {
            return Ok(msg);
        }
    }
    parse_via_value(text)
}

/// The careful reading of a client frame: as a [`Value`] first, then typed.
fn parse_via_value(text: &str) -> Result<ClientMessage, serde_json::Error> {
    let value: Value = serde_json::from_str(text)?;
    if !value.get("type").is_some_and(Value::is_string) {
        return Err(serde::de::Error::custom("type must be a string"));
    }
    serde_json::from_value(value)
}

/// What a frame's `type` is, read without building the rest of the frame.
#[derive(Deserialize)]
struct TypeProbe {
    #[serde(rename = "type", default)]
    kind: TypeKind,
}

/// Whether a `type` was a string.
#[derive(Default)]
enum TypeKind {
    /// No `type` at all.
    #[default]
    Missing,
    /// A string.
    Text,
    /// Anything else: a number, `null`, an object...
    Other,
}

impl<'de> Deserialize<'de> for TypeKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TypeKind, D::Error> {
        d.deserialize_any(TypeKindVisitor)
    }
}

struct TypeKindVisitor;

impl<'de> serde::de::Visitor<'de> for TypeKindVisitor {
    type Value = TypeKind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<TypeKind, E> {
        Ok(TypeKind::Text)
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<TypeKind, E> {
        Ok(TypeKind::Other)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<TypeKind, E> {
        Ok(TypeKind::Other)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<TypeKind, E> {
        Ok(TypeKind::Other)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<TypeKind, E> {
        Ok(TypeKind::Other)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<TypeKind, E> {
        Ok(TypeKind::Other)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<TypeKind, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(TypeKind::Other)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TypeKind, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(TypeKind::Other)
    }
}

/// Tell malformed JSON from an unknown type from a known type with bad fields, and find the id
/// when there is one to name.
fn classify(text: &str, err: &serde_json::Error) -> (Option<String>, ErrorCode, String) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return (
            None,
            ErrorCode::MalformedJson,
            "the frame is not valid JSON".into(),
        );
    };
    let Value::Object(obj) = value else {
        return (
            None,
            ErrorCode::InvalidMessage,
            "a frame is a JSON object with a type and an id".into(),
        );
    };
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| s.chars().count() <= limits::MAX_COMMAND_ID_CHARS)
        .map(str::to_string);
    match obj.get("type").and_then(Value::as_str) {
        None => (
            id,
            ErrorCode::UnknownType,
            "the frame has no type, or its type is not a string".into(),
        ),
        Some(t) if !Command::NAMES.contains(&t) => {
            let shown: String = t.chars().take(40).collect();
            (
                id,
                ErrorCode::UnknownType,
                format!("unknown type {shown:?}"),
            )
        }
        Some(t) => {
            let detail = err.to_string();
            let detail = detail.split(" at line ").next().unwrap_or(&detail);
            let message = match culprit(&obj) {
                Some(field) if !detail.contains(&format!("`{field}`")) => {
                    format!("{t}: {field}: {detail}")
                }
                _ => format!("{t}: {detail}"),
            };
            (id, ErrorCode::InvalidMessage, message)
        }
    }
}

/// The field a command of a known type could not take (a wrong type, a number out of range
/// for it, an unknown variant): the one whose absence alone lets the frame be read, or be
/// missed as a required field. serde's message names a wrong value but not where it was.
fn culprit(obj: &serde_json::Map<String, Value>) -> Option<&str> {
    obj.keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "id" | "type"))
        .take(FIELD_TRIALS)
        .find(|k| {
            let mut rest = obj.clone();
            rest.remove(*k);
            match serde_json::from_value::<ClientMessage>(Value::Object(rest)) {
                Ok(_) => true,
                Err(e) => e.to_string().starts_with(&format!("missing field `{k}`")),
            }
        })
}

async fn send<S>(sink: &mut S, bytes: Utf8Bytes)
where
    S: SinkExt<Message> + Unpin,
{
    let _ = sink.send(Message::Text(bytes)).await;
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_reading_agrees_with_the_careful_one() {
        let frames = [
            r#"{"id":"a","type":"raise_hand"}"#,
            r#"{"type":"lower_hand","id":"b","participant":null}"#,
            r#"{"id":"c","type":7}"#,
            r#"{"id":"d","type":null}"#,
            r#"{"id":"e","type":{"x":[1,2,{"y":"z"}]}}"#,
            r#"{"id":"f","type":["raise_hand"]}"#,
            r#"{"id":"g"}"#,
            r#"{"id":"h","type":7,"type":"raise_hand"}"#,
            r#"{"id":"i","type":"raise_hand","type":"done"}"#,
            r#"{"id":"j","type":"give_floor","participant":"x"}"#,
            r#"{"id":"k","type":"nope"}"#,
            r#"[1,2]"#,
            r#"{"id":"l","type":"raise_hand""#,
            r#"{"id":"m","type":"raise_hand","extra":{"deep":[true,false,1.5]}}"#,
        ];
        for text in frames {
            let quick = parse(text).map_err(|e| e.to_string());
            let careful = parse_via_value(text).map_err(|e| e.to_string());
            assert_eq!(
                quick.is_ok(),
                careful.is_ok(),
                "{text}: {quick:?} vs {careful:?}"
            );
            if let (Ok(q), Ok(c)) = (&quick, &careful) {
                assert_eq!(q, c, "{text}");
            }
        }
        assert!(parse(r#"{"id":"c","type":7}"#).is_err());
        assert!(parse(r#"{"id":"a","type":"raise_hand"}"#).is_ok());
    }

    #[test]
    fn only_the_plain_decimal_text_names_a_version() {
        assert_eq!(parse_version("1"), Some(1));
        assert_eq!(parse_version("2"), Some(2));
        for v in ["01", "+1", "1.0", " 1", "1 ", "", "-1", "1e0", "0x1", "١"] {
            assert_eq!(parse_version(v), None, "{v:?}");
        }
    }

    #[test]
    fn the_scan_finds_repeats_depth_and_huge_numbers_and_passes_the_rest() {
        let flaw = |text: &str| scan(text).err();
        assert_eq!(flaw(r#"{"id":"a","type":"sync"}"#), None);
        assert_eq!(
            flaw(r#"{"id":"a","type":"sync""#),
            None,
            "malformed is not a flaw"
        );
        assert_eq!(flaw("not json"), None);
        assert_eq!(
            flaw(r#"{"id":"a","x":{"k":1,"\u006b":2}}"#),
            Some((Some("a".into()), Flaw::DuplicateKey("k".into())))
        );
        // The same key in two objects is no repeat.
        assert_eq!(flaw(r#"{"id":"a","x":{"k":1},"y":{"k":2}}"#), None);
        let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
        assert_eq!(flaw(&nested(MAX_JSON_DEPTH)), None);
        assert_eq!(
            flaw(&nested(MAX_JSON_DEPTH + 1)),
            Some((None, Flaw::TooDeep))
        );
        assert_eq!(
            flaw(r#"{"id":"a","n":[1e400]}"#),
            Some((Some("a".into()), Flaw::NumberOutOfRange("n".into())))
        );
        assert_eq!(flaw("1e400"), None, "no field to name: malformed");
        let long_id = "i".repeat(limits::MAX_COMMAND_ID_CHARS + 1);
        assert_eq!(
            flaw(&format!(r#"{{"id":"{long_id}","a":1,"a":1}}"#)),
            Some((None, Flaw::DuplicateKey("a".into())))
        );
    }
}
