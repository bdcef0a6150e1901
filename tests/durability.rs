//! What is acknowledged is on disk, against the real binary and `kill -9`: many concurrent
//! writers on one series (sessions opened, members' choices, commitments written in its rooms).

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use binary::Binary;
use circlekeeper_protocol::{
    Command, CycleChoice, MemberView, RoomCreated, SeriesCreated, Visibility,
};
use common::{checkout_room, Remote};
use serde_json::json;

/// Members of the series.
const MEMBERS: usize = 8;

/// Sessions the host opens at once.
const SESSIONS: usize = 6;

/// Commitments each member writes in the first session, while the rest goes on.
const COMMITMENTS_EACH: usize = 3;

async fn create_series(remote: &Remote) -> SeriesCreated {
    let names: Vec<String> = (1..=MEMBERS).map(|i| format!("Member {i}")).collect();
    let body = json!({
        "title": "Alumni swap", "cadence": "monthly", "cycle_months": 6, "members": names,
    });
    let answer = remote
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a series")
}

async fn open_session(remote: &Remote, series: &SeriesCreated) -> RoomCreated {
    let path = format!("/api/series/{}/rooms", series.series_id);
    let body = json!({ "key": series.host_key }).to_string();
    let answer = remote.http("POST", &path, body.as_bytes()).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a room")
}

async fn member_page(remote: &Remote, series: &str, body: serde_json::Value) -> MemberView {
    let path = format!("/api/series/{series}/me");
    let answer = remote
        .http("POST", &path, body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a member view")
}

fn choice_of(i: usize) -> CycleChoice {
    match i % 3 {
        0 => CycleChoice::Continue,
        1 => CycleChoice::Rematch,
        _ => CycleChoice::End,
    }
}

#[tokio::test]
async fn concurrent_series_writers_lose_nothing_acknowledged_across_kill_9() {
    let dir = tempfile::tempdir().expect("a data directory");
    let server = Binary::start(dir.path());
    let remote = server.remote();
    let series = Arc::new(create_series(&remote).await);
    let first = open_session(&remote, &series).await;
    let mut host = remote.host(&first, "Fran").await;
    host.ok(Command::AcceptGroundRules).await;
    host.ok(Command::Start).await;
    // The check-out, where commitments are recorded.
    host.ok(Command::JumpToStage { index: 4 }).await;

    // Every member enters the first session by their personal link.
    let mut members = Vec::new();
    for m in &series.members {
        let mut c = remote.connect(&m.name).await;
        c.enter(Command::Member {
            room: first.room_id.clone(),
            series: series.series_id.clone(),
            key: m.key.clone(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        members.push(c);
    }

    // All at once: the host opens the next sessions, every member records a choice, and every
    // member writes commitments in the first session (each one a change of the series too).
    let opened: Arc<Mutex<Vec<String>>> = Arc::default();
    let chosen: Arc<Mutex<BTreeMap<String, CycleChoice>>> = Arc::default();
    let committed: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..SESSIONS {
        let (series, opened) = (Arc::clone(&series), Arc::clone(&opened));
        tasks.spawn(async move {
            let room = open_session(&remote, &series).await;
            opened.lock().expect("opened").push(room.room_id);
        });
    }
    for (i, m) in series.members.iter().enumerate() {
        let (key, id, chosen) = (m.key.clone(), series.series_id.clone(), Arc::clone(&chosen));
        let member_id = m.member_id.clone();
        tasks.spawn(async move {
            let choice = choice_of(i);
            let view = member_page(&remote, &id, json!({ "key": key, "choice": choice })).await;
            assert_eq!(view.choice, Some(choice));
            chosen.lock().expect("chosen").insert(member_id, choice);
        });
    }
    for (i, mut c) in members.into_iter().enumerate() {
        let committed = Arc::clone(&committed);
        tasks.spawn(async move {
            for k in 0..COMMITMENTS_EACH {
                let text = format!("Commitment {k} of member {}", i + 1);
                c.ok(Command::RecordCommitment {
                    text: text.clone(),
                    due: None,
                    visibility: Visibility::Circle,
                })
                .await;
                committed.lock().expect("committed").push(text);
            }
            c.disconnect().await;
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a writer finished");
    }

    // Everything above was acknowledged. Crash at once, then start again on the same disk.
    server.kill9();
    let server = Binary::start(dir.path());
    let remote = server.remote();

    let opened = opened.lock().expect("opened").clone();
    let chosen = chosen.lock().expect("chosen").clone();
    let mut committed = committed.lock().expect("committed").clone();
    assert_eq!(opened.len(), SESSIONS);
    assert_eq!(chosen.len(), MEMBERS);
    assert_eq!(committed.len(), MEMBERS * COMMITMENTS_EACH);
    for m in &series.members {
        let view = member_page(&remote, &series.series_id, json!({ "key": m.key })).await;
        assert_eq!(view.rooms.len(), SESSIONS + 1, "{view:?}");
        assert_eq!(
            view.rooms[0], first.room_id,
            "the first session stays first"
        );
        for room in &opened {
            assert!(view.rooms.contains(room), "session {room} was lost");
        }
        assert_eq!(
            view.choice,
            chosen.get(&m.member_id).copied(),
            "{}'s choice",
            m.name
        );
    }
    // The next session carries every shared commitment made in the first.
    let next = open_session(&remote, &series).await;
    let fran = remote.host(&next, "Fran").await;
    let mut carried: Vec<String> = fran.view.carried.iter().map(|c| c.text.clone()).collect();
    carried.sort();
    committed.sort();
    assert_eq!(
        carried, committed,
        "commitments carried to the next session"
    );
}

// ----- deletion and large records ------------------------------------------------------------

/// Every file under `dir`, recursively.
fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("a readable directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The texts of `texts` that appear, as bytes, in some file under `dir`.
fn found_in_raw_bytes(dir: &std::path::Path, texts: &[String]) -> Vec<String> {
    let all: Vec<Vec<u8>> = files(dir)
        .iter()
        .map(|f| std::fs::read(f).expect("a readable file"))
        .collect();
    texts
        .iter()
        .filter(|t| {
            let needle = t.as_bytes();
            all.iter()
                .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
        .cloned()
        .collect()
}

/// Open a room, host it and let `names` in; the session runs.
async fn running_room(
    remote: &Remote,
    title: &str,
    names: &[String],
) -> (RoomCreated, common::Client, Vec<common::Client>) {
    let room = remote.create_room(checkout_room(title)).await;
    let mut host = remote.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut people = Vec::new();
    for name in names {
        let mut c = remote.join(&room, name).await;
        c.ok(Command::AcceptGroundRules).await;
        people.push(c);
    }
    host.ok(Command::Start).await;
    (room, host, people)
}

/// Distinctive texts, unlikely to appear in any file by chance.
fn marker(what: &str) -> String {
    format!("{what}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}", nanos ^ 0x5eed_cafe_f00d)
}

#[tokio::test]
async fn deleted_rooms_and_series_leave_no_readable_text_in_the_data_directory() {
    let dir = tempfile::tempdir().expect("a data directory");
    let server = Binary::start(dir.path());
    let remote = server.remote();

    // A lone room: its title, names, a shared and a private commitment.
    let title = marker("Zebrafish title");
    let names = vec![marker("Quokka name"), marker("Narwhal name")];
    let (room, mut host, mut people) = running_room(&remote, &title, &names).await;
    let shared = marker("Axolotl commitment");
    let private = marker("Pangolin private");
    people[0]
        .ok(Command::RecordCommitment {
            text: shared.clone(),
            due: None,
            visibility: Visibility::Circle,
        })
        .await;
    people[1]
        .ok(Command::RecordCommitment {
            text: envelope::sealed(&private),
            due: None,
            visibility: Visibility::Private,
        })
        .await;

    // A series: a member's name, and a commitment in its session.
    let member = marker("Capybara member");
    let body = json!({
        "title": marker("Tapir series"), "cadence": "monthly", "cycle_months": 6,
        "members": [member.clone(), marker("Second member")],
    });
    let answer = remote
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    let session = open_session(&remote, &series).await;
    let mut fran = remote.host(&session, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 4 }).await;
    let mut m = remote.connect(&member).await;
    m.enter(Command::Member {
        room: session.room_id.clone(),
        series: series.series_id.clone(),
        key: series.members[0].key.clone(),
    })
    .await;
    m.ok(Command::AcceptGroundRules).await;
    let series_commitment = marker("Okapi series commitment");
    m.ok(Command::RecordCommitment {
        text: envelope::sealed(&series_commitment),
        due: None,
        visibility: Visibility::Private,
    })
    .await;
    let mut texts = vec![title, shared, private, member, series_commitment];
    texts.extend(names);

    // At rest, nothing is stored in the clear.
    let found = found_in_raw_bytes(dir.path(), &texts);
    assert!(found.is_empty(), "stored in the clear: {found:?}");

    // The facilitator deletes the room; the host deletes the series.
    host.ok(Command::DeleteRoom).await;
    let path = format!("/api/series/{}/delete", series.series_id);
    let wrong = remote
        .http("POST", &path, br#"{"key":"not-the-key"}"#)
        .await;
    assert_eq!(wrong.status, 403, "{}", wrong.text);
    let body = json!({ "key": series.host_key }).to_string();
    let deleted = remote.http("POST", &path, body.as_bytes()).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(
        fran.expect_close().await,
        Some(circlekeeper_protocol::close::ROOM_DELETED),
        "the series' room is deleted with it"
    );
    for p in people.iter_mut() {
        p.disconnect().await;
    }
    m.disconnect().await;
    server.kill9();

    // Whatever the data directory holds, the deleted rooms and series are not in it: not in
    // the clear, and not readable through the store with the keys it keeps.
    let found = found_in_raw_bytes(dir.path(), &texts);
    assert!(found.is_empty(), "still on disk: {found:?}");
    {
        use circlekeeper::store::{SledStore, Store};
        let store = SledStore::open(dir.path()).expect("the store opens");
        for id in [&room.room_id, &session.room_id] {
            assert!(store.room(id).expect("read").is_none(), "room {id} is gone");
            let loaded = store.load(id).expect("load");
            assert!(
                loaded.events.is_empty() && loaded.snapshot.is_none() && loaded.notes.is_none()
            );
            assert!(loaded.tokens.is_empty(), "tokens of {id} are gone");
        }
        let series_left = store.series().expect("series");
        assert!(
            series_left.iter().all(|s| s.id != series.series_id),
            "the series is gone"
        );
    }
    let server = Binary::start(dir.path());
    let remote = server.remote();
    let mut late = remote.connect("Late").await;
    let refused = late
        .enter_refused(Command::Join {
            room: room.room_id.clone(),
            key: room.join_key.clone(),
            name: "Late".into(),
            guest: None,
        })
        .await;
    assert_eq!(refused.code, circlekeeper_protocol::ErrorCode::RoomNotFound);
    let page = remote
        .http(
            "POST",
            &format!("/api/series/{}/me", series.series_id),
            json!({ "key": series.members[0].key })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(page.status, 404, "{}", page.text);
}

#[tokio::test]
async fn a_delete_cut_by_kill_9_is_whole_or_not_at_all() {
    let dir = tempfile::tempdir().expect("a data directory");
    let server = Binary::start(dir.path());
    let remote = server.remote();
    let title = marker("Ibis title");
    let names = vec![marker("Heron name")];
    let (room, mut host, mut people) = running_room(&remote, &title, &names).await;
    let text = marker("Egret commitment");
    people[0]
        .ok(Command::RecordCommitment {
            text: envelope::sealed(&text),
            due: None,
            visibility: Visibility::Private,
        })
        .await;
    // The delete goes out; the server is killed without waiting for its answer.
    host.send(Command::DeleteRoom).await;
    server.kill9();
    let server = Binary::start(dir.path());
    let remote = server.remote();
    let mut again = remote.connect("Host again").await;
    match again
        .enter_or_refused(Command::Resume {
            room: room.room_id.clone(),
            token: people[0].token.clone(),
            last_seq: None,
        })
        .await
    {
        // Not deleted: then whole, with what was written.
        Ok(_) => {
            let acked = again.ok(Command::MyItems).await;
            let Some(circlekeeper_protocol::AckResult::Mine { mine }) = acked.result else {
                panic!("my items: {acked:?}");
            };
            assert_eq!(mine.commitments.len(), 1, "the room is whole");
            assert_eq!(envelope::opened(&mine.commitments[0].text), Some(text));
        }
        // Deleted: then nothing of it is left.
        Err(code) => {
            assert_eq!(code, circlekeeper_protocol::ErrorCode::RoomNotFound);
            drop(server);
            use circlekeeper::store::{SledStore, Store};
            let store = SledStore::open(dir.path()).expect("the store opens");
            let loaded = store.load(&room.room_id).expect("load");
            assert!(
                loaded.events.is_empty() && loaded.snapshot.is_none() && loaded.notes.is_none()
            );
            assert!(loaded.tokens.is_empty());
            assert!(store.room(&room.room_id).expect("read").is_none());
        }
    }
}

/// Private commitments each person writes (500 characters each): together far over sled's
/// blob threshold (about 128 KiB), in the notes record and in the snapshot.
const BIG_COMMITMENTS_EACH: usize = 12;

/// People in the big room: each sends fewer frames than a connection's burst allowance (30),
/// so that no frame is rate-limited.
const BIG_PEOPLE: usize = 24;

/// Hands each person raises and lowers after writing: events enough for a snapshot.
const BIG_HANDS_EACH: usize = 6;

#[tokio::test]
async fn a_record_larger_than_sleds_blob_threshold_survives_kill_9_whole() {
    let dir = tempfile::tempdir().expect("a data directory");
    let server = Binary::start(dir.path());
    let remote = server.remote();
    let names: Vec<String> = (1..=BIG_PEOPLE).map(|i| format!("Person {i}")).collect();
    let (room, _host, people) = running_room(&remote, "Big notes", &names).await;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut c) in people.into_iter().enumerate() {
        tasks.spawn(async move {
            for k in 0..BIG_COMMITMENTS_EACH {
                let text = format!("{i:02}-{k:02} {}", "x".repeat(480));
                c.ok(Command::RecordCommitment {
                    text: envelope::sealed(&text),
                    due: None,
                    visibility: Visibility::Private,
                })
                .await;
            }
            // Enough events after the notes for a snapshot (every 256 events) to hold them.
            for _ in 0..BIG_HANDS_EACH {
                c.ok(Command::RaiseHand).await;
                c.ok(Command::LowerHand { participant: None }).await;
            }
            (c.token.clone(), c.seq)
        });
    }
    let mut tokens = Vec::new();
    let mut last = 0;
    while let Some(done) = tasks.join_next().await {
        let (token, seq) = done.expect("a writer finished");
        last = last.max(seq);
        tokens.push(token);
    }
    assert!(last > 256, "a snapshot was due (seq {last})");
    server.kill9();
    // sled writes a value over about a quarter of its segment to a file of its own under
    // `blobs/`, and never syncs it: no record may take that path.
    let blobs: Vec<_> = files(dir.path())
        .into_iter()
        .filter(|f| f.components().any(|c| c.as_os_str() == "blobs"))
        .collect();
    assert!(blobs.is_empty(), "unsynced blob files: {blobs:?}");

    let server = Binary::start(dir.path());
    let remote = server.remote();
    for token in tokens {
        let mut c = remote.resume("Back", &room.room_id, &token).await;
        let acked = c.ok(Command::MyItems).await;
        let Some(circlekeeper_protocol::AckResult::Mine { mine }) = acked.result else {
            panic!("my items: {acked:?}");
        };
        assert_eq!(
            mine.commitments.len(),
            BIG_COMMITMENTS_EACH,
            "every commitment is back"
        );
        assert!(
            c.seq >= last,
            "every event is back (seq {} < {last})",
            c.seq
        );
    }
}
