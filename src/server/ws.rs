//! One task per websocket connection: decode and validate frames, authenticate with `join`,
//! `host` or `resume`, pass commands to the room actor, and write what the actor sends back.
//!
//! One `select!` per connection, in this order: shutdown, the room cutting the connection off,
//! outbound frames, inbound frames, handshake timeout, heartbeat. Bad input gets an error frame
//! and the connection stays; an oversized frame, a flood, a client too slow to read or a silent
//! one is cut off with a documented close code, after what it is owed (see `closing`).
//!
//! - `bucket` — the connection's own frame allowance (the address's is in [`super::guard`]);
//! - `closing` — writes that a shutdown or a cut-off can interrupt, and the bounded ending:
//!   answers owed, close frame, and the client's frames read until its close.

mod bucket;
mod closing;

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::server::Unserved;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;
use circlekeeper_protocol::{
    close, limits, ClientMessage, Command, ErrorCode, ParticipantId, PROTOCOL_VERSION,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, Instrument};

use super::api::ApiError;
pub use super::decode::MAX_JSON_DEPTH;
use super::decode::{classify, id_of, parse, scan, valid_id};
use super::guard::{ClientIp, Slot, SlotCell};
use super::AppState;
use crate::live::room::{error_frame, outbox, ConnId, Credential, Cutoff, Outbound, PEER_OUTBOX};
use crate::live::{RoomHandle, RoomMsg};
use crate::metrics::{Disconnect, Limit};
use crate::room::state::clean_name;
use crate::secret;
use bucket::Bucket;
use closing::{close_and_linger, close_bound, room_reason, too_slow, write_or_stop, End};

/// The websocket library's own message limit. Frames between [`limits::MAX_FRAME_BYTES`] and
/// this get a clean close 1009 from us; larger ones are dropped by the library mid-read.
pub const LIBRARY_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Most bytes the websocket library may hold to write: the protocol's largest server frame
/// ([`limits::MAX_SERVER_FRAME_BYTES`]), which the room's delivery never exceeds (a frame that
/// would is logged and answered with `internal`). Memory stays bounded: frames are written as
/// they are flushed.
pub const MAX_OUTGOING_FRAME_BYTES: usize = limits::MAX_SERVER_FRAME_BYTES;

/// Write buffer per connection (the library writes to the socket once this much is queued; a
/// flush writes the rest): commands and events are small, and the library's 128 KiB default
/// would cost ~136 KiB per participant.
pub const SOCKET_BUFFER_BYTES: usize = 4 * 1024;

/// Read buffer per connection, allocated whole when the connection opens: a client's frames
/// are commands of a few hundred bytes, so 1 KiB holds several; a larger frame (up to
/// [`LIBRARY_MAX_MESSAGE_BYTES`]) grows it as it arrives. 4 KiB here cost 3 KiB more per
/// participant (`docs/memory-2026-12-02.md`).
pub const READ_BUFFER_BYTES: usize = 1024;

/// Longest the server spends, once it has decided to close a connection, handing over what the
/// client is owed first: the answers to the commands it already passed to the room (their
/// events must be durable first: a few milliseconds), and whatever else is queued.
pub const DRAIN: Duration = Duration::from_secs(2);

/// Longest the server spends, after that, writing the close frame and reading (and discarding)
/// what the client still sends until the client's own close frame: a socket dropped with unread
/// data in it is reset, and the reset throws away the answers and the close frame.
pub const CLOSE_LINGER: Duration = Duration::from_secs(3);

/// How long the server keeps trying to write the close frame (4008) to a client that stopped
/// reading, after what was already on its way: a client that reads again within it learns why.
/// Also how long the frames the room queued before cutting a connection off for another reason
/// (removed, room deleted) may take to go out.
pub const SLOW_CLOSE: Duration = Duration::from_secs(10);

/// Most frames gathered from the outbox before one flush (a step's batch from the room is
/// taken whole, however many frames it holds).
pub const WRITE_BATCH: usize = 64;

/// Refused frames (rate-limited) after which the connection is closed (code 4029): the one
/// that makes the count is answered like the others, then the connection closes.
pub const RATE_STRIKES: u32 = 50;

/// The close reason of a server shutting down.
const RESTARTING: &str = "the server is restarting: reconnect and resume";

/// The `/ws` query string.
#[derive(Debug, Deserialize)]
pub struct WsQuery {
    /// Protocol version the client speaks. Read as text, so that `v=abc` is refused like any
    /// other wrong version (close 4001) rather than with a bare HTTP 400.
    v: Option<String>,
    /// The room the connection is for, where a proxy in front of several nodes reads it to
    /// route by room. Optional in protocol v1; when given, the first `join`, `host`, `member`
    /// or `resume` must name this room (see `Connection::enter`).
    room: Option<String>,
}

/// `GET /ws?v=1&room=ID`: upgrade to a websocket, if the page asking is one of ours (`Origin`) and its
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
        .read_buffer_size(READ_BUFFER_BYTES)
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
            Connection::new(app, conn, client.ip, q.room)
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
    /// The room the URL named (`/ws?v=1&room=ID`), if it named one: the only room this
    /// connection may enter.
    url_room: Option<String>,
    /// Our copy of the outbox sender, kept until the actor holds one.
    tx: Option<outbox::Sender<Outbound>>,
    /// Set (and we are woken) when the room cuts us off.
    cutoff: Arc<Cutoff>,
    bucket: Bucket,
    /// The client's address, for the per-address limits (frames, wrong keys and tokens).
    ip: IpAddr,
    /// Frames this task answers itself (refusals before the room), waiting to be written
    /// before the next frame is read.
    replies: Vec<Utf8Bytes>,
    /// Commands passed to the room whose answer has not come back yet: owed to the client
    /// before a close.
    in_flight: usize,
}

impl Connection {
    fn new(app: AppState, conn: ConnId, ip: IpAddr, url_room: Option<String>) -> Connection {
        let (burst, per_second) = (app.settings().rate_burst, app.settings().rate_per_second);
        Connection {
            app,
            conn,
            joined: None,
            room_id: None,
            url_room,
            tx: None,
            cutoff: Arc::new(Cutoff::new()),
            bucket: Bucket::full(burst, per_second),
            ip,
            replies: Vec::new(),
            in_flight: 0,
        }
    }

    /// Serve the connection; its address's slot is given back when it ends.
    ///
    /// Not an `async fn`: the socket is split before the future is made, so that the future
    /// (held in every connection's task for its whole life) keeps the two halves, not also
    /// the moved-from socket (368 bytes); and `serve` borrows the connection rather than
    /// keeping a second copy of it.
    fn run(
        self,
        socket: WebSocket,
        version: Option<u32>,
        slot: Option<Slot>,
    ) -> impl std::future::Future<Output = ()> + Send {
        let (mut sink, mut stream) = socket.split();
        let mut conn = self;
        async move {
            let app = conn.app.clone();
            let metrics = app.metrics();
            let _open = metrics.connection_opened();
            let why = conn.serve(&mut sink, &mut stream, version).await;
            metrics.disconnected(why);
            drop(slot);
        }
    }

    /// Serve the connection until it ends; returns why it ended.
    async fn serve(
        &mut self,
        sink: &mut SplitSink<WebSocket, Message>,
        stream: &mut SplitStream<WebSocket>,
        version: Option<u32>,
    ) -> Disconnect {
        let (tx, mut rx) = outbox::channel::<Outbound>(PEER_OUTBOX);
        self.tx = Some(tx);
        let end = if version != Some(PROTOCOL_VERSION) {
            let reason = "this server speaks protocol version 1: connect to /ws?v=1";
            End::Close(close::PROTOCOL_MISMATCH, reason)
        } else if *self.app.shutting_down().borrow() {
            End::Close(close::GOING_AWAY, RESTARTING)
        } else {
            self.converse(sink, stream, &mut rx).await
        };
        let why = match end {
            End::Close(code, reason) => {
                // Given up on as too slow: what is queued is dropped, not owed.
                if code != close::TOO_SLOW {
                    self.drain(sink, &mut rx).await;
                }
                drop(rx);
                self.leave().await;
                close_and_linger(sink, stream, code, reason, close_bound(code)).await;
                Disconnect::Code(code)
            }
            End::Gone(why) => {
                drop(rx);
                self.leave().await;
                if why == Disconnect::ClientClosed {
                    // Send the library's answer to the client's close frame.
                    let _ = tokio::time::timeout(CLOSE_LINGER, sink.flush()).await;
                }
                why
            }
        };
        debug!("connection closed");
        why
    }

    /// Tell the room we are gone, keeping what is left of our frame allowance for our next
    /// connection.
    async fn leave(&mut self) {
        if let Some((room, who)) = self.joined.take() {
            if let Some(room_id) = self.room_id.take() {
                self.app
                    .guard()
                    .keep_frames(&room_id, who, self.bucket.left());
            }
            room.send(RoomMsg::Leave { conn: self.conn }).await;
        }
    }

    /// The conversation: one `select!` over shutdown, the room cutting us off, outbound
    /// frames, inbound frames, the handshake timeout and the heartbeat, until one of them ends
    /// it.
    async fn converse(
        &mut self,
        sink: &mut SplitSink<WebSocket, Message>,
        stream: &mut SplitStream<WebSocket>,
        rx: &mut outbox::Receiver<Outbound>,
    ) -> End {
        let ping_every = self.app.settings().ping_every;
        let idle_timeout = self.app.settings().idle_timeout;
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut last_heard = Instant::now();
        let handshake = tokio::time::sleep(self.app.settings().handshake_timeout);
        tokio::pin!(handshake);
        // Made once, not per turn of the loop: each new `changed()` registers with (and leaves)
        // the one shutdown channel every connection shares.
        let mut shutdown = self.app.shutting_down();
        let shutdown = shutdown.changed();
        tokio::pin!(shutdown);
        let cutoff = Arc::clone(&self.cutoff);
        // When we saw the room cut us off for a reason other than being too slow.
        let mut cut_seen: Option<Instant> = None;
        // Made once too: it registers with the cut-off's waiters when first polled, and stays.
        let cut = cutoff.wait();
        tokio::pin!(cut);
        // The frames of one write, kept between writes so that a write allocates nothing.
        let mut frames: Vec<Utf8Bytes> = Vec::new();
        loop {
            // Our own answers go out before the next frame is read.
            if !self.replies.is_empty() {
                let mine = self.replies.drain(..).map(Message::Text);
                match write_or_stop(sink, mine, &mut shutdown, &cutoff, &mut cut_seen).await {
                    Ok(took) => last_heard = not_listening(last_heard, took),
                    Err(end) => return end,
                }
            }
            tokio::select! {
                _ = &mut shutdown => return End::Close(close::GOING_AWAY, RESTARTING),
                code = &mut cut, if cut_seen.is_none() => {
                    if code == close::TOO_SLOW {
                        return too_slow();
                    }
                    cut_seen = Some(Instant::now());
                }
                out = rx.recv() => match out {
                    Some(out) => {
                        // Write what is waiting together: one flush for a step's events and
                        // answers, and for whatever else is queued.
                        self.take(out, &mut frames);
                        while frames.len() < WRITE_BATCH {
                            let Some(more) = rx.try_recv() else { break };
                            self.take(more, &mut frames);
                        }
                        let batch = frames.drain(..).map(Message::Text);
                        match write_or_stop(sink, batch, &mut shutdown, &cutoff, &mut cut_seen).await {
                            Ok(took) => last_heard = not_listening(last_heard, took),
                            Err(end) => return end,
                        }
                    }
                    None => {
                        let code = cutoff.code().unwrap_or(close::GOING_AWAY);
                        return End::Close(code, room_reason(code));
                    }
                },
                msg = stream.next() => {
                    last_heard = Instant::now();
                    let next = match msg {
                        None | Some(Ok(Message::Close(_))) => return End::Gone(Disconnect::ClientClosed),
                        Some(Err(e)) if is_invalid_utf8(&e) => {
                            return End::Close(close::INVALID_PAYLOAD, "text frames must be valid UTF-8");
                        }
                        Some(Err(_)) => return End::Gone(Disconnect::Reset),
                        // Boxed, made and freed as it runs: held inline, a frame's handling
                        // would take some 570 bytes in every connection's task, idle or not.
                        Some(Ok(Message::Text(text))) => Box::pin(self.on_text(&text, rx)).await,
                        Some(Ok(Message::Binary(_))) => self.on_binary(),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Next::Continue,
                    };
                    if let Next::Close(code, reason) = next {
                        return End::Close(code, reason);
                    }
                }
                _ = &mut handshake, if self.joined.is_none() => {
                    return End::Close(close::HANDSHAKE_TIMEOUT, "join, host or resume sooner: reconnect when ready");
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > idle_timeout {
                        return End::Close(close::IDLE, "nothing heard for too long: reconnect and resume");
                    }
                    let ping = [Message::Ping(Default::default())];
                    match write_or_stop(sink, ping, &mut shutdown, &cutoff, &mut cut_seen).await {
                        Ok(took) => last_heard = not_listening(last_heard, took),
                        Err(end) => return end,
                    }
                }
            }
        }
    }

    async fn on_text(&mut self, text: &str, rx: &mut outbox::Receiver<Outbound>) -> Next {
        let received = std::time::Instant::now();
        if text.len() > limits::MAX_FRAME_BYTES {
            return Next::Close(close::TOO_BIG, "frames are limited to 16 KiB");
        }
        if let Some(next) = self.rate_limit(Some(text)) {
            return next;
        }
        let scanned = match scan(text) {
            Ok(scanned) => scanned,
            Err((id, flaw)) => {
                self.reply(error_frame(id, ErrorCode::InvalidMessage, flaw.message()));
                return Next::Continue;
            }
        };
        let msg = match parse(text, scanned) {
            Ok(msg) => msg,
            Err(e) => {
                let (id, code, message) = classify(text, &e);
                self.reply(error_frame(id, code, message));
                return Next::Continue;
            }
        };
        let ClientMessage { id, command } = msg;
        if !valid_id(&id) {
            let message = format!(
                "id must be 1 to {} characters",
                limits::MAX_COMMAND_ID_CHARS
            );
            self.reply(error_frame(None, ErrorCode::InvalidText, message));
            return Next::Continue;
        }
        let credential = match command {
            Command::Join {
                room,
                key,
                name,
                guest,
            } => Some((
                room,
                Credential::New {
                    host: false,
                    key,
                    name,
                    guest,
                },
            )),
            Command::Host { room, key, name } => Some((
                room,
                Credential::New {
                    host: true,
                    key,
                    name,
                    guest: None,
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
                    self.reply(error_frame(Some(id), ErrorCode::NotAuthenticated, msg));
                    return Next::Continue;
                };
                let command = with_seed(command);
                if !room
                    .send(RoomMsg::Command {
                        conn: self.conn,
                        id,
                        command: Box::new(command),
                        received,
                    })
                    .await
                {
                    return Next::Close(close::GOING_AWAY, room_reason(close::GOING_AWAY));
                }
                self.in_flight += 1;
                return Next::Continue;
            }
        };
        let Some((room_id, credential)) = credential else {
            return Next::Continue;
        };
        if self.joined.is_some() {
            let msg = "this connection is already in a room";
            self.reply(error_frame(Some(id), ErrorCode::AlreadyAuthenticated, msg));
            return Next::Continue;
        }
        // Boxed: entering (which may load the room from the store) happens once per
        // connection, and its future would otherwise take room in every connection's task.
        Box::pin(self.enter(id, room_id, credential, rx)).await
    }

    /// A binary frame: refused, but it counts against the rate limit like any frame the
    /// server answers, so binary frames cannot flood the connection either.
    fn on_binary(&mut self) -> Next {
        if let Some(next) = self.rate_limit(None) {
            return next;
        }
        let msg = "frames are JSON text, not binary";
        self.reply(error_frame(None, ErrorCode::InvalidMessage, msg));
        Next::Continue
    }

    /// A frame this task answers itself, written before the next frame is read.
    fn reply(&mut self, frame: Utf8Bytes) {
        self.replies.push(frame);
    }

    /// Take a token for a frame (`text`, if it is one) from the connection's allowance and its
    /// address's; `Some` if the frame must not be handled: it is refused (with its `id`, when
    /// it has one), and the refusal that makes [`RATE_STRIKES`] also closes the connection.
    fn rate_limit(&mut self, text: Option<&str>) -> Option<Next> {
        let message = if !self.bucket.ready() {
            "too many commands: slow down"
        } else if !self.app.guard().take_frame(
            self.ip,
            self.app.settings(),
            std::time::Instant::now(),
        ) {
            "too many commands from your network: slow down"
        } else {
            self.bucket.spend();
            return None;
        };
        self.bucket.strike();
        self.app.metrics().rate_limited();
        let id = text.and_then(id_of);
        self.reply(error_frame(id, ErrorCode::RateLimited, message));
        if self.bucket.strikes >= RATE_STRIKES {
            return Some(Next::Close(
                close::RATE_LIMITED,
                "too many commands: wait, then reconnect",
            ));
        }
        Some(Next::Continue)
    }

    /// Ask the room to admit us; on success the actor owns the outbox from here on.
    ///
    /// Only the room the URL named, when it named one (`/ws?v=1&room=ID`): a proxy routed the
    /// connection by it, so a frame for another room may have reached a node that must not
    /// serve that room. A mismatch is refused with `invalid_message` and the connection closed
    /// (4003) before anything else is looked at; it costs no attempt.
    async fn enter(
        &mut self,
        id: String,
        room_id: String,
        credential: Credential,
        rx: &mut outbox::Receiver<Outbound>,
    ) -> Next {
        if self.url_room.as_ref().is_some_and(|want| *want != room_id) {
            let msg = "the room in this frame is not the room in the websocket URL \
                       (/ws?v=1&room=ID): reconnect with the room you mean";
            self.reply(error_frame(Some(id), ErrorCode::InvalidMessage, msg));
            return Next::Close(close::AUTH_FAILED, "wrong room for this connection");
        }
        // A bad name is answered here, before it costs an attempt or the room's time.
        if let Credential::New { name, .. } = &credential {
            if let Err(r) = clean_name("name", name) {
                self.reply(error_frame(Some(id), r.code, r.message));
                return Next::Continue;
            }
        }
        let app = self.app.clone();
        let guard = app.guard();
        let settings = app.settings();
        if let Err(refusal) = guard.may_attempt(self.ip, settings, std::time::Instant::now()) {
            app.metrics().refused(Limit::Attempts);
            self.reply(error_frame(Some(id), refusal.code, refusal.message()));
            return Next::Close(
                close::RATE_LIMITED,
                "too many wrong links: wait, then retry",
            );
        }
        let ip = self.ip;
        let failed = || guard.failed_attempt(ip, settings, std::time::Instant::now());
        let room = match app.room(&room_id).await {
            Ok(room) => room,
            Err(Unserved::Damaged) => {
                let msg = "this room cannot be served right now; the operator has been told";
                self.reply(error_frame(Some(id), ErrorCode::RoomUnavailable, msg));
                return Next::Close(close::AUTH_FAILED, "room unavailable");
            }
            Err(Unserved::NotFound) => {
                failed();
                let msg = "no room with that id";
                self.reply(error_frame(Some(id), ErrorCode::RoomNotFound, msg));
                return Next::Close(close::AUTH_FAILED, "no such room");
            }
            Err(Unserved::Unavailable) => {
                let msg = "the server cannot reach its store: reconnect in a few seconds";
                self.reply(error_frame(Some(id), ErrorCode::Unavailable, msg));
                return Next::Close(close::GOING_AWAY, room_reason(close::GOING_AWAY));
            }
            Err(Unserved::Elsewhere) => {
                let msg = "the room is running on another server: reconnect";
                self.reply(error_frame(Some(id), ErrorCode::Unavailable, msg));
                return Next::Close(close::ROOM_MOVED, room_reason(close::ROOM_MOVED));
            }
        };
        let Some(outbox) = self.tx.clone() else {
            return Next::Close(close::GOING_AWAY, room_reason(close::GOING_AWAY));
        };
        let (reply, answer) = oneshot::channel();
        let msg = RoomMsg::Enter {
            conn: self.conn,
            id,
            credential: Box::new(credential),
            outbox,
            cutoff: Arc::clone(&self.cutoff),
            reply,
        };
        if !room.send(msg).await {
            return Next::Close(close::GOING_AWAY, room_reason(close::GOING_AWAY));
        }
        match answer.await {
            Ok(Ok(who)) => {
                let span = tracing::Span::current();
                span.record("room_id", room_id.as_str());
                span.record("participant_id", who);
                // A reconnect picks up the allowance the person's last connection left.
                if let Some(left) = guard.frames_left(&room_id, who) {
                    self.bucket.resume(left);
                }
                self.joined = Some((room, who));
                self.room_id = Some(room_id);
                self.tx = None;
                Next::Continue
            }
            Ok(Err(rejection)) => {
                // The actor put the error frame on the outbox: deliver it first.
                let mut first = Vec::new();
                while let Some(out) = rx.try_recv() {
                    self.take(out, &mut first);
                }
                self.replies.extend(first);
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
                    // The room stopped on this server: the client reconnects and resumes.
                    ErrorCode::Unavailable => {
                        Next::Close(close::GOING_AWAY, room_reason(close::GOING_AWAY))
                    }
                    _ => Next::Continue,
                }
            }
            Err(_) => Next::Close(close::GOING_AWAY, room_reason(close::GOING_AWAY)),
        }
    }
}

/// `last_heard`, moved on by the time the task spent writing rather than listening: silence
/// while the server was not reading does not count towards the idle timeout.
fn not_listening(last_heard: Instant, took: Duration) -> Instant {
    (last_heard + took).min(Instant::now())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plain_decimal_text_names_a_version() {
        assert_eq!(parse_version("1"), Some(1));
        assert_eq!(parse_version("2"), Some(2));
        for v in ["01", "+1", "1.0", " 1", "1 ", "", "-1", "1e0", "0x1", "١"] {
            assert_eq!(parse_version(v), None, "{v:?}");
        }
    }
}
