//! The server's abuse limits at the door, over real sockets on 127.0.0.1: the websocket
//! `Origin` allowlist, connections per address, rooms per server, rooms opened per address
//! per hour, wrong links per address, and the handshake timeouts. Each test sets the limit
//! small, goes over it, checks the documented refusal, and checks that everyone else (people
//! already in, other addresses) is unaffected.
//!
//! Other addresses are real: Linux routes all of 127.0.0.0/8 to loopback, so a client bound
//! to 127.0.0.2 is another address to the server.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use circlekeeper::server::Settings;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{close, limits, Command, ErrorCode, RoomCreated};
use common::{parse_http, Client, HttpResponse, Remote, TestServer, EPOCH, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::MaybeTlsStream;

const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;

async fn server(tune: impl FnOnce(&mut Settings)) -> TestServer {
    let store = SledStore::temporary().expect("temporary sled store");
    TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), tune).await
}

/// A TCP connection to the server from `source`.
async fn tcp_from(server: &Remote, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))
        .expect("bind a loopback source address");
    tokio::time::timeout(WAIT, socket.connect(server.addr))
        .await
        .expect("connect in time")
        .expect("connect")
}

/// An upgrade from `source` with these headers (`origin` and so on); the HTTP refusal if any.
async fn ws_from(
    server: &Remote,
    source: Ipv4Addr,
    headers: &[(&str, &str)],
) -> Result<Client, HttpResponse> {
    let mut request = server
        .ws_url("/ws?v=1")
        .into_client_request()
        .expect("a websocket URL");
    for (name, value) in headers {
        let name: tokio_tungstenite::tungstenite::http::HeaderName =
            name.parse().expect("a header name");
        request
            .headers_mut()
            .insert(name, value.parse().expect("a header value"));
    }
    let tcp = tcp_from(server, source).await;
    let upgrade = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(tcp));
    match tokio::time::timeout(WAIT, upgrade)
        .await
        .expect("an answer in time")
    {
        Ok((ws, _)) => Ok(Client::new("client", ws)),
        Err(WsError::Http(response)) => {
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response.into_body().unwrap_or_default();
            let mut answer = parse_http(
                format!(
                    "HTTP/1.1 {status} X\r\n\r\n{}",
                    String::from_utf8_lossy(&body)
                )
                .as_bytes(),
            );
            if let Some(retry) = retry {
                answer.json["retry_after_header"] = retry.into();
            }
            Err(answer)
        }
        Err(e) => panic!("the upgrade failed without an HTTP answer: {e}"),
    }
}

/// An upgrade from our own pages (`Origin` is the public URL).
async fn ws_own(server: &Remote, source: Ipv4Addr) -> Result<Client, HttpResponse> {
    let origin = server.url();
    ws_from(server, source, &[("origin", origin.as_str())]).await
}

/// One HTTP/1.1 request from `source`, with extra header lines; the whole answer.
async fn http_from(
    server: &Remote,
    source: Ipv4Addr,
    method: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> (HttpResponse, String) {
    let mut tcp = tcp_from(server, source).await;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{extra}\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    );
    let exchange = async {
        tcp.write_all(head.as_bytes()).await?;
        tcp.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(WAIT, exchange)
        .await
        .expect("an answer in time")
        .expect("an HTTP exchange");
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    (parse_http(&raw), text)
}

/// `join` with the room's own join key.
fn join(room: &RoomCreated, name: &str) -> Command {
    Command::Join {
        room: room.room_id.clone(),
        key: room.join_key.clone(),
        name: name.into(),
        guest: None,
    }
}

/// Join `room` on a connection already open.
async fn join_on(client: &mut Client, room: &RoomCreated, name: &str) {
    client.enter(join(room, name)).await;
}

fn code(answer: &HttpResponse) -> &str {
    answer.json["code"].as_str().unwrap_or("")
}

/// Wait (bounded) until the server counts `n` connections from `ip`: closes are seen by the
/// server a moment after the client sends them.
async fn until_connections(server: &TestServer, ip: Ipv4Addr, n: usize) {
    let counted = async {
        while server.state.guard().connections(IpAddr::V4(ip)) != n {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, counted)
        .await
        .unwrap_or_else(|_| panic!("the server never counted {n} connections from {ip}"));
}

/// A line's value in the server's `/metrics` text.
#[tokio::test]
async fn websockets_come_only_from_allowed_origins() {
    let server = server(|s| s.allowed_origins = vec!["https://partner.example.org".into()]).await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut host = server.host(&room, "Ada").await;

    let missing = ws_from(&server, LOCAL, &[]).await.err().expect("refused");
    assert_eq!(missing.status, 403);
    assert_eq!(code(&missing), "origin_not_allowed", "{}", missing.text);
    assert!(
        missing.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("--allowed-origins")),
        "the message says how to allow an origin: {}",
        missing.text
    );
    for foreign in [
        "https://evil.example",
        "null",
        "http://127.0.0.1:1",
        "https://partner.example.org.evil.example",
    ] {
        let refused = ws_from(&server, LOCAL, &[("origin", foreign)])
            .await
            .err()
            .unwrap_or_else(|| panic!("{foreign} must be refused"));
        assert_eq!(
            (refused.status, code(&refused)),
            (403, "origin_not_allowed"),
            "{foreign}"
        );
    }

    assert_eq!(
        server.metric("circlekeeper_refused_total{limit=\"origin\"}"),
        5
    );

    // Our own pages, under the loopback names, and the configured partner are let in.
    let port = server.addr.port();
    for own in [
        server.url(),
        format!("http://localhost:{port}"),
        "https://partner.example.org".to_string(),
        "HTTPS://Partner.Example.org:443".to_string(),
    ] {
        let mut client = ws_from(&server, LOCAL, &[("origin", own.as_str())])
            .await
            .unwrap_or_else(|r| panic!("{own} must be allowed: {}", r.text));
        // Each under a name of their own: one room refuses a second "Grace" (`name_taken`).
        join_on(&mut client, &room, &common::unique_name("Grace")).await;
    }
    host.sync().await;

    // `*` lets in any page, and clients that send no Origin.
    let open = self::server(|s| s.allowed_origins = vec!["*".into()]).await;
    assert!(ws_from(&open, LOCAL, &[]).await.is_ok());
    assert!(ws_from(&open, LOCAL, &[("origin", "https://evil.example")])
        .await
        .is_ok());
}

#[tokio::test]
async fn an_address_holds_a_limited_number_of_connections() {
    let server = server(|s| s.max_connections_per_ip = 3).await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut host = server.host(&room, "Ada").await;
    let mut grace = server.join(&room, "Grace").await;
    let mut third = ws_own(&server, LOCAL).await.expect("the third connection");
    until_connections(&server, LOCAL, 3).await;

    let refused = ws_own(&server, LOCAL)
        .await
        .err()
        .expect("the fourth is refused");
    assert_eq!(refused.status, 429);
    assert_eq!(code(&refused), "too_many_connections", "{}", refused.text);
    assert_eq!(refused.json["retry_after_header"], "10");
    // Plain HTTP from the address is refused at the door too, before its request is read.
    let (answer, raw) = http_from(&server, LOCAL, "GET", "/healthz", "", "").await;
    assert_eq!(answer.status, 429, "{raw}");
    assert!(raw.contains("retry-after: 10"), "{raw}");
    assert_eq!(
        server.metric("circlekeeper_refused_total{limit=\"connections\"}"),
        2
    );

    // Another address is unaffected, and so is everyone already in.
    let mut other = ws_own(&server, OTHER).await.expect("another address");
    join_on(&mut other, &room, "Lin").await;
    host.sync().await;
    grace.sync().await;
    join_on(&mut third, &room, "Sam").await;

    // A closed connection gives its place back.
    third.close().await;
    until_connections(&server, LOCAL, 2).await;
    assert!(ws_own(&server, LOCAL).await.is_ok());
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_counted() {
    let server = server(|s| {
        s.trusted_proxies = vec![IpAddr::V4(LOCAL)];
        s.max_connections_per_ip = 2;
        s.rooms_per_ip_per_hour = 1;
    })
    .await;
    let origin = server.url();
    let client_a = [
        ("origin", origin.as_str()),
        ("x-forwarded-for", "203.0.113.7"),
    ];
    let client_b = [
        ("origin", origin.as_str()),
        ("x-forwarded-for", "198.51.100.1, 203.0.113.9"),
    ];
    let _a1 = ws_from(&server, LOCAL, &client_a).await.expect("a, first");
    let _a2 = ws_from(&server, LOCAL, &client_a).await.expect("a, second");
    let refused = ws_from(&server, LOCAL, &client_a)
        .await
        .err()
        .expect("a, third");
    assert_eq!(
        (refused.status, code(&refused)),
        (429, "too_many_connections")
    );
    // The proxy's own address is not the client: b gets its own allowance.
    let _b1 = ws_from(&server, LOCAL, &client_b).await.expect("b, first");
    let _b2 = ws_from(&server, LOCAL, &client_b).await.expect("b, second");

    // Rooms opened through the proxy, on behalf of the client it names.
    let open_for = |client: &'static str| {
        let forwarded = format!("X-Forwarded-For: {client}\r\n");
        let server = &server;
        async move {
            let body = r#"{"title":"Set","format":"action_learning_set"}"#;
            http_from(server, LOCAL, "POST", "/api/rooms", &forwarded, body)
                .await
                .0
        }
    };
    let first = open_for("203.0.113.7").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = open_for("203.0.113.7").await;
    assert_eq!((second.status, code(&second)), (429, "too_many_rooms"));
    let other = open_for("203.0.113.9").await;
    assert_eq!(
        other.status, 201,
        "another client behind the proxy: {}",
        other.text
    );
}

#[tokio::test]
async fn a_server_holds_a_limited_number_of_rooms() {
    let server = server(|s| s.max_rooms = 2).await;
    let first = server.create_builtin_room("action_learning_set").await;
    server.create_builtin_room("action_learning_set").await;
    let full = server
        .create_room_raw(r#"{"title":"Third","format":"action_learning_set"}"#)
        .await;
    assert_eq!(full.status, 503, "{}", full.text);
    assert_eq!(code(&full), "server_full");
    assert_eq!(
        server.metric("circlekeeper_refused_total{limit=\"rooms\"}"),
        1
    );
    // The rooms it holds work as before.
    let mut host = server.host(&first, "Ada").await;
    server.join(&first, "Grace").await;
    host.sync().await;
}

#[tokio::test]
async fn an_address_opens_a_limited_number_of_rooms_an_hour() {
    let server = server(|s| s.rooms_per_ip_per_hour = 3).await;
    let body = r#"{"title":"Set","format":"action_learning_set"}"#;
    // A refused request (a bad format) does not spend the allowance.
    let bad = server
        .create_room_raw(r#"{"title":"Set","format":"nope"}"#)
        .await;
    assert_eq!(bad.status, 400);
    for _ in 0..3 {
        let opened = server.create_room_raw(body).await;
        assert_eq!(opened.status, 201, "{}", opened.text);
    }
    let (refused, raw) = http_from(&server, LOCAL, "POST", "/api/rooms", "", body).await;
    assert_eq!(refused.status, 429, "{raw}");
    assert_eq!(code(&refused), "too_many_rooms");
    assert_eq!(
        server.metric("circlekeeper_refused_total{limit=\"rooms_per_address\"}"),
        1
    );
    // A room every 20 minutes comes back: the first in 1,200 s.
    assert!(raw.contains("retry-after: 1200"), "{raw}");
    let (other, _) = http_from(&server, OTHER, "POST", "/api/rooms", "", body).await;
    assert_eq!(other.status, 201, "another address: {}", other.text);
}

#[tokio::test]
async fn guessing_links_is_refused_per_address() {
    let server = server(|s| s.max_failed_entries = 3).await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut host = server.host(&room, "Ada").await;
    let wrong = Command::Join {
        room: room.room_id.clone(),
        key: "not-the-key".into(),
        name: "Mallory".into(),
        guest: None,
    };
    // Two wrong keys and an unknown room: each refused as before, and counted.
    for attempt in 0..3 {
        let mut guess = ws_own(&server, LOCAL).await.expect("a connection");
        let command = if attempt < 2 {
            wrong.clone()
        } else {
            Command::Join {
                room: "no-such-room".into(),
                key: "x".into(),
                name: "Mallory".into(),
                guest: None,
            }
        };
        let refused = guess.enter_refused(command).await;
        assert!(
            matches!(
                refused.code,
                ErrorCode::InvalidKey | ErrorCode::RoomNotFound
            ),
            "{refused:?}"
        );
        assert_eq!(guess.expect_close().await, Some(close::AUTH_FAILED));
    }
    // Now even the right key is refused from this address, without being checked.
    let mut locked = ws_own(&server, LOCAL).await.expect("a connection");
    let refused = locked.enter_refused(join(&room, "Mallory")).await;
    assert_eq!(refused.code, ErrorCode::TooManyAttempts);
    assert_eq!(locked.expect_close().await, Some(close::RATE_LIMITED));
    let preview = format!(r#"{{"key":"{}"}}"#, room.join_key);
    let path = format!("/api/rooms/{}/preview", room.room_id);
    let (answer, raw) = http_from(&server, LOCAL, "POST", &path, "", &preview).await;
    assert_eq!(answer.status, 429, "{raw}");
    assert_eq!(code(&answer), "too_many_attempts");
    assert!(raw.contains("retry-after: 10"), "{raw}");
    assert_eq!(
        server.metric("circlekeeper_refused_total{limit=\"attempts\"}"),
        2
    );

    // Another address joins; people already in are unaffected.
    let mut other = ws_own(&server, OTHER).await.expect("another address");
    join_on(&mut other, &room, "Grace").await;
    let (answer, _) = http_from(&server, OTHER, "POST", &path, "", &preview).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    host.sync().await;
}

#[tokio::test]
async fn wrong_keys_over_http_count_too() {
    let server = server(|s| s.max_failed_entries = 2).await;
    let room = server.create_builtin_room("action_learning_set").await;
    let path = format!("/api/rooms/{}/preview", room.room_id);
    let (a, _) = http_from(&server, LOCAL, "POST", &path, "", r#"{"key":"wrong"}"#).await;
    assert_eq!((a.status, code(&a)), (403, "invalid_key"));
    let (b, _) = http_from(
        &server,
        LOCAL,
        "POST",
        "/api/rooms/nope/preview",
        "",
        r#"{"key":"x"}"#,
    )
    .await;
    assert_eq!((b.status, code(&b)), (404, "room_not_found"));
    // The websocket shares the count: the address is locked out there as well.
    let mut ws = ws_own(&server, LOCAL).await.expect("a connection");
    let refused = ws.enter_refused(join(&room, "Mallory")).await;
    assert_eq!(refused.code, ErrorCode::TooManyAttempts);
    // A right answer never counted: another address's good preview is fine.
    let good = format!(r#"{{"key":"{}"}}"#, room.join_key);
    let (c, _) = http_from(&server, OTHER, "POST", &path, "", &good).await;
    assert_eq!(c.status, 200, "{}", c.text);
}

#[tokio::test]
async fn a_connection_that_never_enters_is_closed_after_the_handshake_timeout() {
    let server = server(|s| s.handshake_timeout = Duration::from_millis(300)).await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut silent = ws_own(&server, LOCAL).await.expect("a connection");
    let mut host = server.host(&room, "Ada").await;
    assert_eq!(silent.expect_close().await, Some(close::HANDSHAKE_TIMEOUT));
    let timed_out = "circlekeeper_disconnects_total{reason=\"handshake_timeout\"}";
    let counted = async {
        while server.metric(timed_out) != 1 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, counted)
        .await
        .expect("the disconnect is counted by reason");
    // Whoever entered in time stays, past the timeout.
    host.sync().await;
    assert!(host.closed.is_none());
}

#[tokio::test]
async fn slow_request_headers_are_dropped_after_the_handshake_timeout() {
    let server = server(|s| s.handshake_timeout = Duration::from_millis(300)).await;
    let mut slow = tcp_from(&server, LOCAL).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write part of a request");
    // The server gives up on the request: it answers 408 or just closes, within the bound.
    let mut raw = Vec::new();
    let read = tokio::time::timeout(WAIT, slow.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "the server kept a half-sent request open");
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.contains("200 OK"), "{text}");
    // A connection that sends nothing at all goes the same way.
    let mut silent = tcp_from(&server, LOCAL).await;
    let mut raw = Vec::new();
    let read = tokio::time::timeout(WAIT, silent.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "the server kept a silent connection open");
    // A prompt request on another connection is served.
    let ok = server.http("GET", "/healthz", b"").await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn a_room_holds_a_limited_number_of_people() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut host = server.host(&room, "Ada").await;
    let mut people = Vec::new();
    for i in 1..limits::MAX_PARTICIPANTS {
        people.push(server.join(&room, &format!("Person {i}")).await);
    }
    let mut late = server.connect("late").await;
    let refused = late.enter_refused(join(&room, "One too many")).await;
    assert_eq!(refused.code, ErrorCode::RoomFull);
    // The connection stays (the person may try again later), and so does everyone inside.
    assert!(late.closed.is_none());
    let acked = host.sync().await;
    assert_eq!(host.view.participants.len(), limits::MAX_PARTICIPANTS);
    if let Some(last) = people.last_mut() {
        last.catch_up(acked.seq).await;
        last.sync().await;
    }
}

#[tokio::test]
async fn every_http_body_over_64_kib_is_refused_with_413() {
    let server = TestServer::start().await;
    let big = vec![b'x'; limits::MAX_CREATE_BODY_BYTES + 1];
    for path in [
        "/api/rooms",
        "/api/rooms/someroom/preview",
        "/api/rooms/someroom/export",
        "/api/series",
        "/api/series/someseries/rooms",
        "/api/series/someseries/me",
        "/api/series/someseries/delete",
        "/api/host/list",
        "/api/host/report",
        "/api/host/rooms/someroom/export",
        "/api/host/series/someseries/report",
    ] {
        let answer = server.http("POST", path, &big).await;
        assert_eq!(answer.status, 413, "{path}: {}", answer.text);
        assert_eq!(
            answer.json["code"], "invalid_message",
            "{path}: {}",
            answer.text
        );
    }
    // A body that does not say its length is cut off at the limit all the same.
    let mut stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/series HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for _ in 0..(limits::MAX_CREATE_BODY_BYTES / 4096 + 2) {
        let chunk = format!("1000\r\n{}\r\n", "y".repeat(4096));
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut raw = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut raw)).await;
    assert!(read.is_ok(), "an answer within {WAIT:?}");
    let answer = parse_http(&raw);
    assert_eq!(answer.status, 413, "{}", answer.text);
    // A body within the limit is read as usual.
    let ok = server
        .http(
            "POST",
            "/api/rooms",
            br#"{"title":"Small","format":"action_learning_set"}"#,
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

/// Send `sync` frames one at a time on `c` until one is rate-limited (at most `most`); how
/// many were answered before that.
async fn syncs_until_limited(c: &mut Client, tag: &str, most: usize) -> usize {
    use circlekeeper_protocol::ServerMessage;
    use tokio_tungstenite::tungstenite::Message;
    for n in 0..most {
        c.raw_send(&format!(r#"{{"id":"{tag}{n}","type":"sync"}}"#))
            .await;
        loop {
            let Some(Message::Text(text)) = c.next_frame().await else {
                panic!("the connection closed after {n} syncs");
            };
            match serde_json::from_str(text.as_str()) {
                Ok(ServerMessage::Error {
                    code: ErrorCode::RateLimited,
                    ..
                }) => return n,
                Ok(ServerMessage::Ack { .. }) => break,
                _ => continue,
            }
        }
    }
    most
}

#[tokio::test]
async fn a_reconnect_does_not_refill_a_persons_frame_allowance() {
    let server = TestServer::start_with(
        Arc::new(SledStore::temporary().expect("store")),
        Clock::manual(EPOCH),
        |s| {
            s.rate_burst = 10.0;
            s.rate_per_second = 0.01;
        },
    )
    .await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut ada = server.join(&room, "Ada").await;
    // Her burst, less the join, then the limit.
    let first = syncs_until_limited(&mut ada, "a", 50).await;
    assert!((8..=10).contains(&first), "{first} syncs before the limit");
    // She comes back on a new connection at once: her allowance is what she left.
    let token = ada.token.clone();
    ada.disconnect().await;
    let mut again = server.resume("Ada again", &room.room_id, &token).await;
    let after = syncs_until_limited(&mut again, "b", 50).await;
    assert_eq!(after, 0, "a reconnect gave {after} more frames");
    // Someone else in the room is not affected.
    let mut ben = server.join(&room, "Ben").await;
    let bens = syncs_until_limited(&mut ben, "c", 50).await;
    assert!(bens >= 8, "Ben got only {bens}");
}
