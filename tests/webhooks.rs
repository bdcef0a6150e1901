//! Outgoing webhooks against the real server on 127.0.0.1: a series host adds webhooks, a
//! session is opened, started and ended, and a receiver in this test checks each delivery's
//! signature and payload — counts and links, never names or what people wrote. Retries are
//! driven by the server's manual clock (the log says when the next attempt is due); a dead
//! or silent receiver fills only the log, never a room's path.

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, SeriesCreated, Visibility};
use common::{TestServer, EPOCH};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Words people write in the session: none may reach a receiver.
const WRITTEN: &[&str] = &[
    "Marzipanwhale",
    "Quokkalantern",
    "Snorkelthistle",
    "Velvetanvil",
];

/// Member names: none may reach a receiver.
const NAMES: &[&str] = &["Zephyrine", "Quillon", "Fran"];

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Got {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A webhook receiver on 127.0.0.1: answers each request with the next scripted status
/// (200 once the script is spent), or never answers when `silent`.
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(script: &[u16], silent: bool) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (seen, statuses) = (got.clone(), script.clone());
        let task = tokio::spawn(async move {
            let mut connections = Vec::new();
            while let Ok((mut socket, _)) = listener.accept().await {
                let (seen, statuses) = (seen.clone(), statuses.clone());
                connections.push(tokio::spawn(async move {
                    // Keep-alive: one request after another on the connection.
                    let mut buf = Vec::new();
                    loop {
                        let Some(request) = read_request(&mut socket, &mut buf).await else {
                            return;
                        };
                        seen.lock().expect("requests").push(request);
                        if silent {
                            std::future::pending::<()>().await;
                        }
                        let status = statuses.lock().expect("script").pop_front().unwrap_or(200);
                        let answer =
                            format!("HTTP/1.1 {status} Scripted\r\ncontent-length: 0\r\n\r\n");
                        if socket.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }));
            }
        });
        Receiver { addr, got, task }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().expect("requests").clone()
    }

    /// Wait (bounded) until `n` requests have come.
    async fn wait_for(&self, n: usize) -> Vec<Got> {
        until(&format!("{n} requests"), || {
            let got = self.got();
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

/// One HTTP/1.1 request from `socket` (headers, then `content-length` bytes of body).
async fn read_request(socket: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<Got> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Some(Got { headers, body })
}

/// Poll `f` until it gives a value; fails after ten seconds of real time.
async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Check a delivery's signature as a receiver would: HMAC-SHA256 over `timestamp.body`.
fn assert_signed(got: &Got, secret: &str) {
    let timestamp = got.header("x-circlekeeper-timestamp");
    assert!(timestamp.parse::<u64>().is_ok(), "timestamp {timestamp:?}");
    let mut mac =
        Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&got.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        got.header("x-circlekeeper-signature"),
        format!("sha256={expected}"),
        "signature of {}",
        String::from_utf8_lossy(&got.body)
    );
    // The same body under another timestamp does not verify (a replay cannot move it).
    let mut mac =
        Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{}.", timestamp.parse::<u64>().expect("a number") + 1).as_bytes());
    mac.update(&got.body);
    let moved: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_ne!(
        got.header("x-circlekeeper-signature"),
        format!("sha256={moved}")
    );
}

async fn new_series(server: &TestServer, members: &[&str]) -> SeriesCreated {
    let body = json!({ "title": "Alumni circle", "cadence": "monthly", "cycle_months": 6, "members": members });
    let answer = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a series")
}

/// `POST /api/series/{id}/webhooks` with the host key and `extra` fields.
async fn hooks(server: &TestServer, series: &SeriesCreated, extra: Value) -> common::HttpResponse {
    let mut body = json!({ "key": series.host_key });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    server
        .http(
            "POST",
            &format!("/api/series/{}/webhooks", series.series_id),
            body.to_string().as_bytes(),
        )
        .await
}

/// Add a webhook; its id and secret.
async fn add(
    server: &TestServer,
    series: &SeriesCreated,
    url: &str,
    format: &str,
) -> (String, String) {
    let answer = hooks(
        server,
        series,
        json!({ "action": "add", "url": url, "format": format }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let hook = answer.json["hook"].as_str().expect("hook id").to_string();
    let secret = answer.json["secret"].as_str().expect("secret").to_string();
    assert!(secret.len() >= 22, "a secret of 128 bits or more");
    (hook, secret)
}

/// The series' delivery log.
async fn log(server: &TestServer, series: &SeriesCreated) -> Vec<Value> {
    let answer = hooks(server, series, json!({ "action": "list" })).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json["log"].as_array().expect("a log").clone()
}

/// Wait (bounded) until the log's newest entry satisfies `ok`.
async fn log_until(
    server: &TestServer,
    series: &SeriesCreated,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = log(server, series).await;
        if let Some(e) = log.first().filter(|e| ok(e)) {
            return e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn commit(text: &str, visibility: Visibility) -> Command {
    Command::RecordCommitment {
        text: envelope::as_sent(text, visibility),
        due: None,
        visibility,
    }
}

#[tokio::test]
async fn a_session_opened_started_and_ended_is_told_three_times_signed_with_counts_only() {
    let server = TestServer::start().await;
    let receiver = Receiver::start(&[], false).await;
    let series = new_series(&server, &NAMES[..2]).await;
    let (hook, secret) = add(&server, &series, &receiver.url(), "json").await;
    let listed = hooks(&server, &series, json!({ "action": "list" })).await;
    assert_eq!(listed.json["webhooks"][0]["id"], hook.as_str());
    assert!(
        !listed.text.contains(&secret),
        "the secret is shown once only"
    );

    let (room, mut fran, mut people) = server.series_session(&series).await;
    fran.sync().await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(1) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    for c in people.iter_mut() {
        c.catch_up(fran.seq).await;
    }
    people[0].ok(commit(WRITTEN[0], Visibility::Private)).await;
    people[1]
        .ok(commit(WRITTEN[1], Visibility::Exportable))
        .await;
    let group = fran.view.pairs.groups[0].clone();
    let at = |id: u32| people.iter().position(|c| c.you == id).expect("member");
    let (coach, client) = (at(group.coach), at(group.client));
    people[coach].ok(Command::EndHalf { group: None }).await;
    people[client]
        .ok(Command::GiveFeedback {
            rating: 4,
            helped: envelope::as_sent(WRITTEN[2], Visibility::Circle),
            helped_less: envelope::as_sent(WRITTEN[3], Visibility::Circle),
            visibility: Visibility::Circle,
        })
        .await;
    server.advance(Duration::from_secs(40 * 60));
    fran.ok(Command::EndSession).await;

    let mut got = receiver.wait_for(3).await;
    // Each delivery runs on its own: put them in the order of the session.
    let order = ["session_opened", "session_started", "session_ended"];
    let rank = |g: &Got| order.iter().position(|k| g.json()["type"] == *k);
    got.sort_by_key(rank);
    let kinds: Vec<Option<usize>> = got.iter().map(rank).collect();
    assert_eq!(kinds, [Some(0), Some(1), Some(2)], "{got:?}");
    for g in &got {
        assert_signed(g, &secret);
        assert_eq!(g.header("x-circlekeeper-event"), g.json()["type"]);
        assert_eq!(g.header("content-type"), "application/json");
        let text = String::from_utf8_lossy(&g.body);
        for word in WRITTEN.iter().chain(NAMES) {
            assert!(!text.contains(word), "{word} reached the receiver: {text}");
        }
        let v = g.json();
        assert_eq!(v["series"]["id"], series.series_id.as_str());
        assert_eq!(v["series"]["title"], "Alumni circle");
        assert_eq!(
            v["series"]["url"],
            format!("http://{}/s/{}", server.addr, series.series_id)
        );
        assert_eq!(v["session"]["room_id"], room.room_id.as_str());
        assert_eq!(v["session"]["number"], 1);
    }
    let ended = got[2].json();
    assert_eq!(ended["session"]["participants"], 2, "{ended}");
    assert_eq!(ended["session"]["groups"], 1, "{ended}");
    assert_eq!(ended["session"]["duration_ms"], 40 * 60 * 1000, "{ended}");
    assert_eq!(
        got[1].json()["session"]["started_at"],
        EPOCH,
        "{}",
        got[1].json()
    );

    let log = log(&server, &series).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log.iter()
            .all(|e| e["outcome"] == "delivered" && e["attempts"] == 1 && e["status"] == 200),
        "{log:?}"
    );
    assert_eq!(log[0]["event"], "session_ended", "newest first");
}

#[tokio::test]
async fn slack_and_mattermost_get_one_text_with_a_link() {
    let server = TestServer::start().await;
    let slack = Receiver::start(&[], false).await;
    let mattermost = Receiver::start(&[], false).await;
    let series = new_series(&server, &["Ada", "Ben"]).await;
    let (slack_hook, _) = add(&server, &series, &slack.url(), "slack").await;
    add(&server, &series, &mattermost.url(), "mattermost").await;
    let path = format!(
        "/api/series/{}/webhooks/{slack_hook}/test",
        series.series_id
    );
    let body = json!({ "key": series.host_key }).to_string();
    let tested = server.http("POST", &path, body.as_bytes()).await;
    assert_eq!(tested.status, 200, "{}", tested.text);
    assert!(tested.json["delivery"].is_string(), "{}", tested.text);
    let test = slack.wait_for(1).await[0].json();
    assert_eq!(
        test["text"],
        "Test delivery from circlekeeper for Alumni circle: this webhook works."
    );

    server.series_session(&series).await;
    let link = format!("http://{}/s/{}", server.addr, series.series_id);
    let opened = slack.wait_for(2).await[1].json();
    assert_eq!(opened["text"], "Session 1 of Alumni circle is open.");
    assert_eq!(opened["blocks"][0]["type"], "section");
    assert_eq!(opened["blocks"][0]["text"]["type"], "mrkdwn");
    assert_eq!(
        opened["blocks"][0]["text"]["text"],
        format!("Session 1 of <{link}|Alumni circle> is open.")
    );
    let got = mattermost.wait_for(1).await;
    assert_eq!(got.len(), 1, "the test went to the slack hook only");
    let opened = got[0].json();
    assert_eq!(
        opened,
        json!({ "text": format!("Session 1 of [Alumni circle]({link}) is open.") })
    );
}

#[tokio::test]
async fn a_receiver_failing_twice_is_retried_after_backoff_and_delivered() {
    let server = TestServer::start_with(
        Arc::new(SledStore::temporary().expect("store")),
        Clock::manual(EPOCH),
        |s| s.webhooks.first_backoff_ms = 1_000,
    )
    .await;
    let receiver = Receiver::start(&[500, 503], false).await;
    let series = new_series(&server, &["Ada", "Ben"]).await;
    let (hook, secret) = add(&server, &series, &receiver.url(), "json").await;
    let tested = hooks(&server, &series, json!({ "action": "test", "hook": hook })).await;
    assert_eq!(tested.status, 200, "{}", tested.text);

    let first = log_until(&server, &series, "the first attempt", |e| {
        e["attempts"] == 1
    })
    .await;
    assert_eq!(first["outcome"], "pending", "{first}");
    assert_eq!(first["status"], 500, "{first}");
    let next = first["next_at"].as_u64().expect("a next attempt");
    assert!((1_000..1_500).contains(&(next - server.now())), "{first}");
    // Nothing is tried again before the backoff is over.
    server.advance_to(next - 1);
    tokio::task::yield_now().await;
    assert_eq!(receiver.got().len(), 1);
    server.advance_to(next);
    let second = log_until(&server, &series, "the second attempt", |e| {
        e["attempts"] == 2
    })
    .await;
    assert_eq!(second["status"], 503, "{second}");
    let next = second["next_at"].as_u64().expect("a next attempt");
    assert!(
        (2_000..3_000).contains(&(next - server.now())),
        "doubles: {second}"
    );
    server.advance_to(next);
    let done = log_until(&server, &series, "delivery", |e| {
        e["outcome"] == "delivered"
    })
    .await;
    assert_eq!(done["attempts"], 3, "{done}");
    assert_eq!(done["status"], 200, "{done}");
    assert!(done["next_at"].is_null(), "{done}");
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    let ids: Vec<&str> = got
        .iter()
        .map(|g| g.header("x-circlekeeper-delivery"))
        .collect();
    assert!(
        ids.iter().all(|i| *i == ids[0] && !i.is_empty()),
        "one delivery id: {ids:?}"
    );
    for g in &got {
        assert_signed(g, &secret);
    }
}

#[tokio::test]
async fn a_dead_receiver_is_given_up_after_the_last_attempt_and_rooms_go_on() {
    let server = TestServer::start_with(
        Arc::new(SledStore::temporary().expect("store")),
        Clock::manual(EPOCH),
        |s| {
            s.webhooks.first_backoff_ms = 1_000;
            s.webhooks.max_attempts = 3;
        },
    )
    .await;
    // A port nothing listens on: every connection is refused.
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", dead.local_addr().expect("address"));
    drop(dead);
    // And a receiver that takes the request and never answers.
    let silent = Receiver::start(&[], true).await;
    let series = new_series(&server, &["Ada", "Ben"]).await;
    add(&server, &series, &url, "json").await;
    add(&server, &series, &silent.url(), "slack").await;

    // The session runs at its usual pace while both receivers hold their deliveries.
    let started = Instant::now();
    let (_room, mut fran, _people) = server.series_session(&series).await;
    fran.sync().await;
    fran.ok(Command::Start).await;
    fran.ok(Command::EndSession).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    silent.wait_for(1).await;

    // The dead receiver's deliveries: three attempts each, then given up.
    for attempt in 1..=3u64 {
        let deadline = Instant::now() + Duration::from_secs(10);
        let dead = loop {
            let log = log(&server, &series).await;
            let dead: Vec<Value> = log.into_iter().filter(|e| e["hook"] == "h1").collect();
            let settled =
                |e: &Value| e["attempts"] == attempt && (attempt == 3 || e["next_at"].is_u64());
            if dead.len() == 3 && dead.iter().all(settled) {
                break dead;
            }
            assert!(Instant::now() < deadline, "attempt {attempt}: {dead:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        if attempt < 3 {
            let at = dead
                .iter()
                .filter_map(|e| e["next_at"].as_u64())
                .max()
                .expect("next");
            server.advance_to(at);
            continue;
        }
        for e in &dead {
            assert_eq!(e["outcome"], "failed", "{e}");
            assert!(e["status"].is_null() && e["next_at"].is_null(), "{e}");
            assert_eq!(e["error"], "could not connect to the receiver", "{e}");
        }
    }
    // The silent receiver's deliveries still wait for their answer; the room is long done.
    let log = log(&server, &series).await;
    assert!(
        log.iter()
            .filter(|e| e["hook"] == "h2")
            .all(|e| e["outcome"] == "pending"),
        "{log:?}"
    );
    let (_room2, mut fran2, _) = server.series_session(&series).await;
    fran2.sync().await;
    fran2.ok(Command::Start).await;
}

#[tokio::test]
async fn bad_webhooks_are_refused_with_stable_codes() {
    let server = TestServer::start_with(
        Arc::new(SledStore::temporary().expect("store")),
        Clock::manual(EPOCH),
        |s| s.webhooks.allow = vec!["127.0.0.1".into()],
    )
    .await;
    let series = new_series(&server, &["Ada", "Ben"]).await;
    for (url, code) in [
        ("ftp://127.0.0.1/x", "invalid_url"),
        ("http://user:pw@127.0.0.1/x", "invalid_url"),
        ("http://hooks.example.org/x", "invalid_url"),
        ("not a url", "invalid_url"),
    ] {
        let answer = hooks(&server, &series, json!({ "action": "add", "url": url })).await;
        assert_eq!(answer.status, 400, "{url}: {}", answer.text);
        assert_eq!(answer.json["code"], code, "{url}: {}", answer.text);
    }
    let answer = hooks(&server, &series, json!({ "action": "add" })).await;
    assert_eq!(answer.json["code"], "invalid_message", "{}", answer.text);
    let answer = hooks(
        &server,
        &series,
        json!({ "action": "add", "url": "http://127.0.0.1:9/x", "format": "xml" }),
    )
    .await;
    assert_eq!(answer.json["code"], "invalid_message", "{}", answer.text);
    for _ in 0..5 {
        add(&server, &series, "http://127.0.0.1:9/x", "json").await;
    }
    let answer = hooks(
        &server,
        &series,
        json!({ "action": "add", "url": "http://127.0.0.1:9/x" }),
    )
    .await;
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (409, Some("too_many_items")),
        "{}",
        answer.text
    );
    let answer = hooks(
        &server,
        &series,
        json!({ "action": "remove", "hook": "h9" }),
    )
    .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    let answer = hooks(
        &server,
        &series,
        json!({ "action": "remove", "hook": "h2" }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["webhooks"].as_array().map(Vec::len), Some(4));
    let wrong = json!({ "key": "not-the-host-key", "action": "list" }).to_string();
    let answer = server
        .http(
            "POST",
            &format!("/api/series/{}/webhooks", series.series_id),
            wrong.as_bytes(),
        )
        .await;
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (403, Some("invalid_key"))
    );

    let off = TestServer::start_with(
        Arc::new(SledStore::temporary().expect("store")),
        Clock::manual(EPOCH),
        |s| s.webhooks.enabled = false,
    )
    .await;
    let series = new_series(&off, &["Ada", "Ben"]).await;
    let answer = hooks(
        &off,
        &series,
        json!({ "action": "add", "url": "http://127.0.0.1:9/x" }),
    )
    .await;
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (403, Some("forbidden")),
        "{}",
        answer.text
    );
    let answer = hooks(&off, &series, json!({ "action": "list" })).await;
    assert_eq!(answer.json["enabled"], false, "{}", answer.text);
}
