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
use std::net::IpAddr;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, Instrument};

use super::api::ApiError;
pub use super::decode::MAX_JSON_DEPTH;
use super::decode::{classify, parse, scan, valid_id};
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
        if !valid_id(&id) {
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
    fn only_the_plain_decimal_text_names_a_version() {
        assert_eq!(parse_version("1"), Some(1));
        assert_eq!(parse_version("2"), Some(2));
        for v in ["01", "+1", "1.0", " 1", "1 ", "", "-1", "1e0", "0x1", "١"] {
            assert_eq!(parse_version(v), None, "{v:?}");
        }
    }
}
