//! Provocations of the close codes: each makes a real server close a websocket with one code.

use std::time::Duration;

use circlekeeper_protocol::{
    close, limits, Command, Event, Presence, RoomCreated, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use super::common::{Client, Remote, TestServer, WAIT};
use super::{flood, join, lobby, tuned};

/// Upgrade a plain TCP connection to a websocket by hand and then never send a frame, not even a
/// pong (a websocket library answers pings as it reads); read until the server's close frame.
/// Returns its code (`None` if the stream ended, or the close had no code).
async fn silent_connection_closed_with(server: &Remote) -> Option<u16> {
    let mut tcp = TcpStream::connect(server.addr).await.expect("connect");
    let head = format!(
        "GET /ws?v={PROTOCOL_VERSION} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nOrigin: {}\r\n\r\n",
        server.addr,
        server.url()
    );
    tcp.write_all(head.as_bytes()).await.expect("send upgrade");
    let read = async {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = tcp.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            bytes.extend_from_slice(&buf[..n]);
            if let Some(code) = close_code_in(&bytes) {
                return code;
            }
        }
    };
    tokio::time::timeout(4 * WAIT, read)
        .await
        .expect("the server closed the silent connection in time")
}

/// In the bytes a server sent after a `101` upgrade answer: the close frame's code, once the
/// whole close frame has arrived (`Some(None)` for a close without a code).
fn close_code_in(bytes: &[u8]) -> Option<Option<u16>> {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        text.len() < 12 || text.starts_with("HTTP/1.1 101"),
        "the upgrade was refused: {text}"
    );
    let mut at = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    // Server frames are not masked: opcode, a length (7 bits, or 16 or 64 after it), payload.
    while at + 2 <= bytes.len() {
        let opcode = bytes[at] & 0x0f;
        let (len, header) = match bytes[at + 1] & 0x7f {
            126 => (
                u16::from_be_bytes(bytes.get(at + 2..at + 4)?.try_into().ok()?) as usize,
                4,
            ),
            127 => (
                u64::from_be_bytes(bytes.get(at + 2..at + 10)?.try_into().ok()?) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let payload = bytes.get(at + header..at + header + len)?;
        if opcode == 0x8 {
            return Some(payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])));
        }
        at += header + len;
    }
    None
}

/// Someone who joined `room` over a socket with a small receive buffer and then stops reading.
async fn slow_reader(server: &TestServer, room: &RoomCreated) -> Client {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let tcp = tokio::time::timeout(WAIT, socket.connect(server.addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let request = server.ws_request(&format!("/ws?v={PROTOCOL_VERSION}"));
    let upgrade = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp));
    let (ws, _) = tokio::time::timeout(WAIT, upgrade)
        .await
        .expect("upgrade in time")
        .expect("upgrade");
    let mut sid = Client::new("Sid", ws);
    sid.enter(join(room, &room.join_key)).await;
    sid
}

/// Whether `c` has seen `who` turn away.
fn saw_away(c: &Client, who: u32) -> bool {
    c.log.iter().any(|s| {
        matches!(&s.event, Event::ParticipantUpdated { participant, .. }
            if participant.id == who && participant.presence == Presence::Away)
    })
}

/// A room of one long stage with a hand queue, then a block of 39 stages once per presenter,
/// each with the longest title and purpose a format may have: each `plan_changed` is big.
fn room_with_a_long_plan() -> Value {
    let per_presenter = json!({
        "kind": "discussion", "title": "t".repeat(100), "purpose": "p".repeat(300),
        "timebox_ms": 60_000, "speaking": "open", "per_presenter": true
    });
    let mut stages = vec![json!({
        "kind": "check_out", "title": "Out", "timebox_ms": 14_400_000, "speaking": "hand_queue"
    })];
    stages.resize(limits::MAX_FORMAT_STAGES, per_presenter);
    json!({"title": "Slow", "format": {"name": "Long plan", "stages": stages}})
}

/// How many bytes of big events to send a reader that does not read: about what Linux buffers
/// for a loopback connection whose receiver keeps a small buffer. Small events make up any
/// difference, until the server gives up on the reader.
const FILL_BYTES: usize = 4 << 20;

/// A participant stops reading while the room keeps talking: first frames large enough to fill
/// every socket buffer (the presenter order swapped back and forth: each `plan_changed` carries
/// the whole plan), then small ones until the server gives up on the reader (everyone sees them
/// turn away). The reader then reads what was queued for it, and the close.
async fn too_slow() -> Option<u16> {
    let server = tuned(|s| {
        // Scripted senders are not rate-limited here, and no ping is answered late.
        s.rate_burst = 1e9;
        s.ping_every = Duration::from_secs(3600);
        s.idle_timeout = Duration::from_secs(3 * 3600);
    })
    .await;
    let room = server.create_room(room_with_a_long_plan()).await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let sid = slow_reader(&server, &room).await;
    fran.ok(Command::Start).await;
    let orders = [vec![fran.you, sid.you], vec![sid.you, fran.you]];
    let mut sent = 0;
    for order in orders.iter().cycle() {
        if sent >= FILL_BYTES {
            break;
        }
        let order = order.clone();
        fran.ok(Command::SetPresenterOrder { order }).await;
        let plan_changed = fran
            .frames
            .iter()
            .rev()
            .find(|f| f["event"]["type"] == "plan_changed");
        sent += plan_changed.map_or(0, |f| f.to_string().len()).max(1_000);
    }
    // Small events, a batch at a time, until Sid is cut off.
    for _ in 0..300 {
        if saw_away(&fran, sid.you) {
            break;
        }
        let mut ids = Vec::new();
        for _ in 0..50 {
            ids.push(fran.send(Command::RaiseHand).await);
            ids.push(fran.send(Command::LowerHand { participant: None }).await);
        }
        for id in ids {
            fran.answer(&id).await.expect("a hand goes up and down");
        }
    }
    assert!(saw_away(&fran, sid.you), "the server never gave up on Sid");
    read_to_the_close(sid).await
}

/// Read everything `c` was sent, up to the close: its code.
async fn read_to_the_close(mut c: Client) -> Option<u16> {
    for _ in 0..1_000_000 {
        if let Message::Close(frame) = c.next_frame().await? {
            return frame.map(|f| u16::from(f.code));
        }
    }
    None
}

/// Provoke the server into closing a websocket with `code`; returns the code it closed with
/// (`Some(None)`: closed without a code), or `None` if there is no provocation for `code`.
pub(super) async fn provoke_close(code: u16) -> Option<Option<u16>> {
    let got = match code {
        close::PROTOCOL_MISMATCH => {
            let server = TestServer::start().await;
            let mut c = server.connect_to("Old", "/ws?v=2").await;
            c.expect_close().await
        }
        close::AUTH_FAILED => {
            let l = lobby().await;
            let mut c = l.server.connect("Mallory").await;
            c.enter_refused(join(&l.room, "not-the-key")).await;
            c.expect_close().await
        }
        close::REMOVED => {
            let mut l = lobby().await;
            l.ada.ok(Command::Leave).await;
            l.ada.expect_close().await
        }
        close::ROOM_DELETED => {
            let mut l = lobby().await;
            l.fran.ok(Command::DeleteRoom).await;
            l.ada.expect_close().await
        }
        close::TOO_SLOW => too_slow().await,
        close::RATE_LIMITED => {
            let mut l = lobby().await;
            let closed = |m: &Message| match m {
                Message::Close(frame) => Some(frame.as_ref().map(|f| u16::from(f.code))),
                _ => None,
            };
            flood(&mut l.ada, closed).await?
        }
        close::HANDSHAKE_TIMEOUT => {
            let server = tuned(|s| s.handshake_timeout = Duration::from_millis(300)).await;
            silent_connection_closed_with(&server).await
        }
        close::IDLE => {
            let server = tuned(|s| {
                s.ping_every = Duration::from_millis(100);
                s.idle_timeout = Duration::from_millis(300);
            })
            .await;
            silent_connection_closed_with(&server).await
        }
        close::GOING_AWAY => {
            let mut l = lobby().await;
            l.server.stop().await;
            l.ada.expect_close().await
        }
        close::TOO_BIG => {
            let mut l = lobby().await;
            let big = format!(
                r#"{{"id":"big","type":"sync","pad":"{}"}}"#,
                "x".repeat(limits::MAX_FRAME_BYTES)
            );
            l.ada.raw_send(&big).await;
            l.ada.expect_close().await
        }
        close::ROOM_MOVED => {
            // Another node holds the room's lease now: its write is refused, the room moves.
            let (server, store) = super::faulty::server().await;
            let room = server.create_room(super::checkout_room("Moved")).await;
            let mut fran = server.host(&room, "Fran").await;
            store.set(super::faulty::Mode::Fenced);
            fran.send(Command::AcceptGroundRules).await;
            let got = fran.expect_close().await;
            server.stop().await;
            got
        }
        close::INVALID_PAYLOAD => {
            let mut l = lobby().await;
            let frame = Frame::message(b"\xc3\x28".to_vec(), OpCode::Data(Data::Text), true);
            assert!(l.ada.raw_send_message(Message::Frame(frame)).await);
            l.ada.expect_close().await
        }
        _ => return None,
    };
    Some(got)
}
