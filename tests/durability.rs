//! What is acknowledged is on disk, against the real binary and `kill -9`: many concurrent
//! writers on one series (sessions opened, members' choices, commitments written in its rooms).

#[path = "common/binary.rs"]
mod binary;
mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use binary::Binary;
use circlekeeper_protocol::{
    Command, CycleChoice, MemberView, RoomCreated, SeriesCreated, Visibility,
};
use common::Remote;
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
