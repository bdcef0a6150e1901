//! PostgreSQL goes down under a running binary and comes back ("Database down" in the
//! several-nodes interface): with rooms open and clients connected, the server is stopped
//! (`pg_ctl stop -m fast`). Then a command is answered `unavailable` and never acknowledged,
//! `/readyz` is 503, an entry (`resume`, `join`) gets `unavailable` and the socket closes with
//! 1001, the HTTP room endpoints answer 503 `unavailable` with `Retry-After`, never
//! 404 `room_not_found`, and a room nobody writes to stops (1001) once its lease could not be
//! renewed for a lease's length. PostgreSQL starts again on the same port and data: without a restart
//! of the binary, `/readyz` turns 200 within a bounded wait, clients resume and their commands
//! are acknowledged, and every command acknowledged before the outage is still in the room.
//!
//! Skipped (and said so) without PostgreSQL installed; failed instead with `CI` set.

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/postgres.rs"]
mod postgres_server;

use std::time::{Duration, Instant};

use binary::Binary;
use circlekeeper_protocol::{Command, Presence, RoomCreated, RoomView};
use common::{checkout_room, parse_http, Client, HttpResponse, Remote, Reply, WAIT};
use postgres_server::Postgres;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the server may take to see that PostgreSQL is back (`/readyz` 200 again).
const BACK_WITHIN: Duration = Duration::from_secs(30);

/// The close code of a room closed on this node ("reconnect and resume").
const GOING_AWAY: u16 = 1001;

/// An HTTP answer with its head (status line and headers, lower-cased), which
/// [`Remote::http`] does not keep.
async fn http_with_head(
    remote: &Remote,
    method: &str,
    path: &str,
    body: &str,
) -> (HttpResponse, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(remote.addr)
            .await
            .expect("connect");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            remote.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {WAIT:?}"));
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let head = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string();
    (parse_http(&raw), head)
}

/// `/readyz`'s status.
async fn readyz(remote: &Remote) -> u16 {
    remote.http("GET", "/readyz", b"").await.status
}

/// Poll `/readyz` until it answers `status`, at most `within`; how long it took.
async fn readyz_turns(remote: &Remote, status: u16, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let now = readyz(remote).await;
        if now == status {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "/readyz still answers {now}, not {status}, after {within:?}"
        );
        // /readyz has no way to announce a change: ask again shortly.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What an HTTP room endpoint must answer while the database is down: 503 with the error body
/// of every HTTP error (`{"code": "unavailable", "message": …}`) and `Retry-After`, never
/// 404 `room_not_found` (the room exists, the server cannot read it now).
fn assert_unavailable(what: &str, answer: &HttpResponse, head: &str) {
    assert_ne!(
        answer.status, 404,
        "{what}: a room that exists is called not found while the database is down: {}",
        answer.text
    );
    assert_eq!(answer.status, 503, "{what}: {}", answer.text);
    assert_eq!(
        answer.json["code"], "unavailable",
        "{what}: the error code: {}",
        answer.text
    );
    assert!(
        head.lines().any(|l| l.starts_with("retry-after:")),
        "{what}: no Retry-After header in {head:?}"
    );
}

/// The answer to `id` on `client` while the database is down: an `unavailable` error followed
/// by a close with 1001; never an ack, nor a close without saying why. Returns what came, for
/// the report.
async fn expect_unavailable(client: &mut Client, id: &str, what: &str) -> String {
    match client.reply(id).await {
        Reply::Answered(Err(refused)) => {
            assert_eq!(
                refused.code.as_str(),
                "unavailable",
                "{what}: refused with another code: {refused:?}"
            );
            assert!(!refused.message.is_empty(), "{what}: an empty message");
            let code = client.expect_close().await;
            assert_eq!(
                code,
                Some(GOING_AWAY),
                "{what}: after `unavailable` the socket closes with 1001"
            );
            format!("error unavailable ({:?}), then close 1001", refused.message)
        }
        Reply::Answered(Ok(ack)) => panic!(
            "{what}: acknowledged while the database is down (seq {}): nothing was committed",
            ack.seq
        ),
        other => panic!("{what}: expected `unavailable`, then a close with 1001; got {other:?}"),
    }
}

/// Enter with `command` on a new connection while the database is down: `unavailable`, then
/// a close with 1001 (see [`expect_unavailable`]).
async fn entry_refused(remote: &Remote, name: &str, command: Command) -> String {
    let mut client = remote.connect(name).await;
    let id = client.send(command).await;
    expect_unavailable(&mut client, &id, &format!("{name}'s entry")).await
}

fn without_presence(view: &RoomView) -> RoomView {
    let mut view = view.clone();
    for p in &mut view.participants {
        p.presence = Presence::Connected;
    }
    view
}

fn preview_body(room: &RoomCreated) -> String {
    serde_json::json!({ "key": room.join_key }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_goes_down_and_comes_back_under_a_running_binary() {
    let test = "the_database_goes_down_and_comes_back_under_a_running_binary";
    let Some(pg) = Postgres::start(test) else {
        return;
    };
    let url = pg.fresh_database();
    let dir = tempfile::tempdir().expect("a data directory");
    // A short lease, so that the outage outlasts it (the default, 6 s, works the same way).
    let server = Binary::start_with(dir.path(), &["--store", &url, "--lease-secs", "1"]);
    let remote = server.remote();
    assert_eq!(readyz(&remote).await, 200, "ready before the outage");

    // Room A: a host and Ada, with commands acknowledged before the outage.
    let a = remote.create_room(checkout_room("Outage A")).await;
    let mut host_a = remote.host(&a, "HostA").await;
    host_a.ok(Command::AcceptGroundRules).await;
    let mut ada = remote.join(&a, "Ada").await;
    ada.ok(Command::AcceptGroundRules).await;
    host_a.ok(Command::Start).await;
    ada.ok(Command::RaiseHand).await;
    ada.ok(Command::LowerHand { participant: None }).await;
    let last = ada.ok(Command::RaiseHand).await;
    host_a.catch_up(last.seq).await;
    let before = without_presence(&ada.view);
    // Room B: its host only, nothing written during the outage; Bob joins it afterwards.
    let b = remote.create_room(checkout_room("Outage B")).await;
    let mut host_b = remote.host(&b, "HostB").await;
    host_b.ok(Command::AcceptGroundRules).await;

    tokio::task::block_in_place(|| pg.stop());

    // A command: `unavailable` (then 1001), never an ack.
    let id = ada.send(Command::LowerHand { participant: None }).await;
    let command = expect_unavailable(&mut ada, &id, "Ada's lower_hand").await;
    println!("a command while the database is down: {command}");
    let waited = readyz_turns(&remote, 503, Duration::from_secs(10)).await;
    println!("/readyz answered 503 after {waited:?}");
    let ready = remote.http("GET", "/readyz", b"").await;
    assert_eq!(
        (ready.status, &ready.json["status"]),
        (503, &serde_json::json!("store_unavailable")),
        "/readyz while the database is down: {}",
        ready.text
    );

    // Entries into room A, closed here with its failed command: a resume, a join.
    let resume = Command::Resume {
        room: a.room_id.clone(),
        token: ada.token.clone(),
        last_seq: Some(ada.seq),
    };
    let resume = entry_refused(&remote, "AdaAgain", resume).await;
    println!("a resume while the database is down: {resume}");
    let join = Command::Join {
        room: a.room_id.clone(),
        key: a.join_key.clone(),
        name: "Cy".into(),
        guest: None,
    };
    let join = entry_refused(&remote, "Cy", join).await;
    println!("a join while the database is down: {join}");

    // HTTP room endpoints: 503, never 404. Room A closed on this node with its failed
    // command, so reading it needs the database; room B may still be live here and may be
    // previewed from memory, but is never called not found.
    let path = format!("/api/rooms/{}/preview", a.room_id);
    let (answer, head) = http_with_head(&remote, "POST", &path, &preview_body(&a)).await;
    assert_unavailable(&path, &answer, &head);
    let path = format!("/api/rooms/{}/preview", b.room_id);
    let (answer, head) = http_with_head(&remote, "POST", &path, &preview_body(&b)).await;
    if answer.status != 200 {
        assert_unavailable(&path, &answer, &head);
    }
    println!("{path} while the database is down: {}", answer.status);
    // Room B's lease cannot be renewed: once that has lasted a lease, the room stops here and
    // its host is told to reconnect; from then on reading it needs the database too.
    assert_eq!(
        host_b.expect_close().await,
        Some(GOING_AWAY),
        "room B stops when its lease could not be renewed for a lease's length"
    );
    let (answer, head) = http_with_head(&remote, "POST", &path, &preview_body(&b)).await;
    assert_unavailable(&path, &answer, &head);
    let export = serde_json::json!({ "key": a.host_key }).to_string();
    let path = format!("/api/rooms/{}/export", a.room_id);
    let (answer, head) = http_with_head(&remote, "POST", &path, &export).await;
    assert_unavailable(&path, &answer, &head);
    let (answer, head) = http_with_head(
        &remote,
        "POST",
        "/api/rooms",
        &checkout_room("During the outage").to_string(),
    )
    .await;
    assert_unavailable("POST /api/rooms", &answer, &head);

    tokio::task::block_in_place(|| pg.start_again());
    let waited = readyz_turns(&remote, 200, BACK_WITHIN).await;
    println!("/readyz answered 200 {waited:?} after PostgreSQL was back");

    // The same process serves the rooms again: resumes, commands, a join.
    let welcomed = ada.reconnect(&remote).await;
    assert!(
        welcomed.seq >= last.seq,
        "room A is at {} after the outage; {} was acknowledged before it",
        welcomed.seq,
        last.seq
    );
    assert_eq!(
        without_presence(&ada.view),
        before,
        "room A after the outage: every command acknowledged before it, and nothing refused"
    );
    let lowered = ada.ok(Command::LowerHand { participant: None }).await;
    host_a.reconnect(&remote).await;
    host_a.catch_up(lowered.seq).await;
    host_a.ok(Command::Pause).await;
    host_b.reconnect(&remote).await;
    let mut bob = remote.join(&b, "Bob").await;
    bob.ok(Command::AcceptGroundRules).await;
    host_b.ok(Command::Start).await;
    for room in [&a, &b] {
        let path = format!("/api/rooms/{}/preview", room.room_id);
        let answer = remote
            .http("POST", &path, preview_body(room).as_bytes())
            .await;
        assert_eq!(
            answer.status, 200,
            "{path} after the outage: {}",
            answer.text
        );
    }
    let log = server.output_text();
    for line in log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
    {
        println!("server: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_into_a_live_room_whose_commit_fails_is_answered_unavailable_then_1001() {
    let test = "a_join_into_a_live_room_whose_commit_fails_is_answered_unavailable_then_1001";
    let Some(pg) = Postgres::start(test) else {
        return;
    };
    let url = pg.fresh_database();
    let dir = tempfile::tempdir().expect("a data directory");
    let server = Binary::start_with(dir.path(), &["--store", &url]);
    let remote = server.remote();
    let room = remote.create_room(checkout_room("Live through it")).await;
    let mut host = remote.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;

    tokio::task::block_in_place(|| pg.stop());
    // The room is live here: the join is admitted by the room, whose commit then fails.
    let join = Command::Join {
        room: room.room_id.clone(),
        key: room.join_key.clone(),
        name: "Bob".into(),
        guest: None,
    };
    let join = entry_refused(&remote, "Bob", join).await;
    println!("a join into a live room while the database is down: {join}");
    assert_eq!(
        host.expect_close().await,
        Some(GOING_AWAY),
        "the room stops here: its host is told to reconnect and resume"
    );
}
