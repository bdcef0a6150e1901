//! Floods over real sockets on 127.0.0.1: a client that writes faster than its allowance, and
//! keeps writing after the server has had enough, hears every answer it is owed and the close
//! frame that says why; and an address that reconnects, or comes back under new names, after
//! each close gets no more than its address's allowance, which is still enough for a whole room
//! behind one Wi-Fi.
//!
//! Other addresses are real: Linux routes all of 127.0.0.0/8 to loopback, so a client bound to
//! 127.0.0.2 is another address to the server.

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use circlekeeper::server::ws::RATE_STRIKES;
use circlekeeper::server::Settings;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{close, Command, ErrorCode, Event, ServerMessage};
use common::{checkout_room, Client, TestServer, EPOCH, WAIT};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Longest the flooding writer goes on (it stops earlier when the connection ends).
const FLOOD_FOR: Duration = Duration::from_secs(20);

/// Most frames the flooding writer sends.
const FLOOD_FRAMES: usize = 100_000;

/// The answer a flooding client got for one of its frames.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Ack,
    Refused(ErrorCode),
}

/// Everything the flooding client read.
#[derive(Default, Debug)]
struct Heard {
    /// Answers by frame number (the `n` in id `fn`), each as often as it came.
    answers: BTreeMap<usize, Vec<Answer>>,
    /// Errors that named no frame.
    without_id: Vec<String>,
    /// The close frame: code and reason.
    close: Option<(u16, String)>,
    /// Frames after the close frame.
    after_close: usize,
}

/// The number in a flood frame's id.
fn frame_number(id: &str) -> usize {
    id.strip_prefix('f')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("an answer to a frame never sent: {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_stops_writing_hears_every_answer_then_4029() {
    flood(Reader::AlongsideTheWriter).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_only_after_its_flood_still_hears_every_answer_then_4029() {
    flood(Reader::AfterTheWriter).await;
}

/// When the flooding client reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reader {
    /// All along: it reads the close frame while still writing.
    AlongsideTheWriter,
    /// Only once it has written all its frames, through a small receive buffer: the server's
    /// answers wait in the server's socket when it decides to close (a reset would lose them).
    AfterTheWriter,
}

/// Ada floods raise_hand/lower_hand frames from a socket the test drives itself (one task
/// writes, the test reads); everything she hears is checked.
async fn flood(reader: Reader) {
    let server = TestServer::start().await;
    let room = server.create_room(checkout_room("Flood")).await;
    let mut host = server.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut ada = server.join(&room, "Ada").await;
    ada.ok(Command::AcceptGroundRules).await;
    host.ok(Command::Start).await;
    let token = ada.token.clone();
    ada.disconnect().await;
    host.sync().await;
    let seen = host.log.len();
    let receive_buffer = (reader == Reader::AfterTheWriter).then_some(4096);
    let ws = server
        .socket_from(Ipv4Addr::LOCALHOST, receive_buffer)
        .await;
    let (mut write, mut read) = ws.split();
    let resume =
        serde_json::json!({"id": "r", "type": "resume", "room": room.room_id, "token": token});
    write
        .send(Message::text(resume.to_string()))
        .await
        .expect("resume sent");
    loop {
        let frame = tokio::time::timeout(WAIT, read.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = frame else {
            panic!("no welcome: {frame:?}");
        };
        if text.contains(r#""type":"welcome""#) {
            break;
        }
    }

    // The writer never waits for an answer: raise and lower a hand, as fast as it can, until
    // the connection refuses more (or, reading only afterwards, a few thousand frames).
    let most = match reader {
        Reader::AlongsideTheWriter => FLOOD_FRAMES,
        Reader::AfterTheWriter => 3_000,
    };
    let writer = tokio::spawn(async move {
        let began = Instant::now();
        let mut sent = 0;
        while sent < most && began.elapsed() < FLOOD_FOR {
            let kind = if sent % 2 == 0 {
                "raise_hand"
            } else {
                "lower_hand"
            };
            let frame = Message::text(format!(r#"{{"id":"f{sent}","type":"{kind}"}}"#));
            match tokio::time::timeout(WAIT, write.send(frame)).await {
                Ok(Ok(())) => sent += 1,
                _ => break,
            }
        }
        (sent, write)
    });
    let mut writer = Some(writer);
    let mut sent = None;
    if reader == Reader::AfterTheWriter {
        if let Some(w) = writer.take() {
            sent = Some(w.await.expect("the writer ends"));
        }
    }
    let mut heard = Heard::default();
    let reading = async {
        loop {
            match read.next().await {
                Some(Ok(Message::Text(text))) => {
                    if heard.close.is_some() {
                        heard.after_close += 1;
                        continue;
                    }
                    match serde_json::from_str::<ServerMessage>(text.as_str()) {
                        Ok(ServerMessage::Ack { id, .. }) => heard
                            .answers
                            .entry(frame_number(&id))
                            .or_default()
                            .push(Answer::Ack),
                        Ok(ServerMessage::Error {
                            id: Some(id), code, ..
                        }) => heard
                            .answers
                            .entry(frame_number(&id))
                            .or_default()
                            .push(Answer::Refused(code)),
                        Ok(ServerMessage::Error { message, .. }) => heard.without_id.push(message),
                        Ok(_) => {}
                        Err(e) => panic!("a frame we cannot read ({e}): {text}"),
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let frame = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    heard.close = Some(frame.unwrap_or_default());
                }
                Some(Ok(_)) => {}
                // The end, after the close handshake (or a reset, which the close tells apart).
                Some(Err(_)) | None => return,
            }
        }
    };
    tokio::time::timeout(FLOOD_FOR + WAIT, reading)
        .await
        .expect("the connection ends");
    if let Some(w) = writer.take() {
        sent = Some(w.await.expect("the writer ends"));
    }
    let (sent, _write) = sent.expect("the writer ended");

    assert_eq!(
        heard.close,
        Some((
            close::RATE_LIMITED,
            "too many commands: wait, then reconnect".to_string()
        )),
        "the close frame arrives: the connection was not reset"
    );
    assert_eq!(heard.after_close, 0, "nothing follows the close frame");
    assert!(heard.without_id.is_empty(), "{:?}", heard.without_id);
    // The server stopped reading after the frame that made the last strike: every frame up to
    // it is answered exactly once, none after it.
    let last = *heard.answers.keys().last().expect("answers");
    for n in 0..=last {
        let answers = heard.answers.get(&n).map_or(&[][..], Vec::as_slice);
        assert_eq!(answers.len(), 1, "frame f{n} was answered {answers:?}");
    }
    assert!(
        sent > last + 1,
        "the client went on writing after its last answered frame ({sent} sent, f{last} last answered)"
    );
    let refused: Vec<usize> = heard
        .answers
        .iter()
        .filter(|(_, a)| a[0] == Answer::Refused(ErrorCode::RateLimited))
        .map(|(&n, _)| n)
        .collect();
    assert_eq!(
        refused.len(),
        RATE_STRIKES as usize,
        "every refusal is heard"
    );
    assert_eq!(
        refused.last(),
        Some(&last),
        "the last strike is the last answer"
    );
    let acked = heard
        .answers
        .values()
        .filter(|a| a[0] == Answer::Ack)
        .count();
    // Her allowance is what her first connection left of the burst (two frames spent).
    let burst = server.state.settings().rate_burst;
    assert!(
        acked as f64 >= burst - 4.0,
        "the burst is applied and acknowledged ({acked} acks)"
    );
    for (n, a) in &heard.answers {
        assert!(
            matches!(
                a[0],
                Answer::Ack | Answer::Refused(ErrorCode::RateLimited | ErrorCode::InvalidState)
            ),
            "f{n}: {a:?}"
        );
    }
    // The room applied what was acknowledged, and nothing else: one hand event per ack.
    host.sync().await;
    let hands = host.log[seen..]
        .iter()
        .filter(|s| matches!(s.event, Event::TurnChanged { .. }))
        .count();
    assert_eq!(hands, acked, "hand events for {acked} acks");
    let m = "circlekeeper_disconnects_total{reason=\"rate_limited\"}";
    assert_eq!(server.metric(m), 1);
}

/// A server with the documented frame limits, per connection and per address.
async fn documented_limits() -> TestServer {
    let store = SledStore::temporary().expect("temporary sled store");
    TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        let documented = Settings::new("http://127.0.0.1");
        s.rate_burst = documented.rate_burst;
        s.rate_per_second = documented.rate_per_second;
        s.address_rate_burst = documented.address_rate_burst;
        s.address_rate_per_second = documented.address_rate_per_second;
    })
    .await
}

/// What one connection of a flooder got before the server closed it.
#[derive(Default)]
struct Round {
    /// Frames applied: a welcome, and acks.
    applied: usize,
    /// The token of a welcome.
    token: Option<String>,
    /// The close code.
    close: Option<u16>,
}

/// Enter with `entry`, then send `sync` frames one at a time until the server closes.
async fn flood_until_closed(c: &mut Client, entry: serde_json::Value) -> Round {
    let mut round = Round::default();
    c.raw_send(&entry.to_string()).await;
    for n in 0..1_000 {
        let Some(frame) = c.next_frame().await else {
            break;
        };
        match frame {
            Message::Text(text) => match serde_json::from_str(text.as_str()) {
                Ok(ServerMessage::Welcome { token, .. }) => {
                    round.applied += 1;
                    round.token = token;
                }
                Ok(ServerMessage::Ack { .. }) => round.applied += 1,
                Ok(ServerMessage::Resumed { .. } | ServerMessage::Snapshot { .. }) => {
                    round.applied += 1;
                }
                Ok(ServerMessage::Event { .. }) => continue,
                Ok(ServerMessage::Error { .. }) => {}
                Err(e) => panic!("a frame we cannot read ({e}): {text}"),
            },
            Message::Close(frame) => {
                round.close = frame.map(|f| u16::from(f.code));
                break;
            }
            _ => continue,
        }
        c.raw_send(&format!(r#"{{"id":"s{n}","type":"sync"}}"#))
            .await;
    }
    round
}

#[tokio::test]
async fn coming_back_after_each_4029_gets_no_more_than_the_address_allowance() {
    let server = documented_limits().await;
    let settings = server.state.settings().clone();
    let room = server.create_builtin_room("action_learning_set").await;
    // Someone at another address is in the room throughout.
    let other = server.socket_from(Ipv4Addr::new(127, 0, 0, 2), None).await;
    let mut ben = Client::new("Ben", other);
    ben.enter(Command::Join {
        room: room.room_id.clone(),
        key: room.join_key.clone(),
        name: "Ben".into(),
        guest: None,
    })
    .await;
    // From 127.0.0.1: a new name each time, or back with the last token, after each 4029.
    let rounds = 4 * (settings.address_rate_burst / settings.rate_burst) as usize + 4;
    let began = Instant::now();
    let mut applied = 0;
    let mut token: Option<String> = None;
    for r in 0..rounds {
        let mut eve = server.connect(&format!("Eve {r}")).await;
        let entry = match token.take() {
            Some(token) if r % 2 == 1 => serde_json::json!({
                "id": format!("e{r}"), "type": "resume", "room": room.room_id, "token": token
            }),
            _ => serde_json::json!({
                "id": format!("e{r}"), "type": "join", "room": room.room_id,
                "key": room.join_key, "name": format!("Eve {r}")
            }),
        };
        let round = flood_until_closed(&mut eve, entry).await;
        assert_eq!(round.close, Some(close::RATE_LIMITED), "round {r}");
        applied += round.applied;
        token = round.token;
    }
    let window = began.elapsed().as_secs_f64();
    let most = settings.address_rate_burst + settings.address_rate_per_second * window;
    assert!(
        applied as f64 <= most + 1.0,
        "{applied} frames applied in {window:.2} s from one address (at most {most:.0})"
    );
    // Without the address's allowance each new name would have had a whole burst.
    let fresh = (rounds / 2) as f64 * settings.rate_burst;
    assert!(
        fresh > most + 1.0,
        "the test is too slow to tell: {window:.2} s"
    );
    assert!(
        applied as f64 >= settings.address_rate_burst,
        "the address's burst was there to use ({applied} applied)"
    );
    // The other address is not affected.
    ben.sync().await;
}

#[tokio::test]
async fn a_whole_room_behind_one_address_is_not_limited() {
    let server = documented_limits().await;
    let room = server.create_room(checkout_room("One Wi-Fi")).await;
    let mut host = server.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    host.ok(Command::Start).await;
    // 64 people in all, every one from 127.0.0.1, entering and acting at once.
    let mut people = Vec::new();
    for i in 1..64 {
        let mut c = server.join(&room, &format!("P{i}")).await;
        c.ok(Command::AcceptGroundRules).await;
        people.push(c);
    }
    for c in &mut people {
        c.ok(Command::RaiseHand).await;
        c.sync().await;
    }
    host.sync().await;
    let limited = server.metric("circlekeeper_rate_limited_total");
    assert_eq!(limited, 0, "a room of 64 behind one address was limited");
}
