//! Resume, restart, liveness and retention, against a real server over real websockets, with
//! the server's clock under the test's control.

mod common;

use std::sync::Arc;
use std::time::Duration;

use circlekeeper::store::{SledStore, Store};
use circlekeeper::Clock;
use circlekeeper_protocol::{
    close, Command, ErrorCode, Event, Presence, RoomCreated, SessionStatus, TimerKind,
};
use common::{release_store, Client, Entry, TestServer, EPOCH};
use serde_json::json;

const MIN: Duration = Duration::from_secs(60);

/// A room in its clarifying questions, with a host, Ada and Ben who have all consented.
async fn running(server: &TestServer) -> (RoomCreated, Client, Client, Client) {
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    for c in [&mut fran, &mut ada, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    ada.catch_up(fran.seq).await;
    ben.catch_up(fran.seq).await;
    (room, fran, ada, ben)
}

/// Views as equal as two clients' can be: presence aside (it differs by who is looking when).
fn without_presence(view: &circlekeeper_protocol::RoomView) -> circlekeeper_protocol::RoomView {
    let mut v = view.clone();
    for p in &mut v.participants {
        p.presence = Presence::Away;
    }
    v
}

#[tokio::test]
async fn a_dropped_client_sees_every_missed_event_exactly_once() {
    let server = TestServer::start().await;
    let (_room, mut fran, mut ada, mut ben) = running(&server).await;
    ada.disconnect().await;
    fran.expect_event(|e| matches!(e, Event::ParticipantUpdated { participant, .. } if participant.presence == Presence::Away))
        .await;
    // Life goes on without Ada.
    ben.ok(Command::RaiseHand).await;
    fran.ok(Command::GiveFloor { participant: None }).await;
    fran.ok(Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds: 120,
    })
    .await;
    ben.ok(Command::Done).await;
    fran.catch_up(ben.seq).await;
    let before = ada.seq;
    let missed = fran.seq - before;

    let entry = ada.reconnect(&server).await;
    // Her own return (presence) is one more event.
    assert_eq!(entry.kind, Entry::Resumed(missed + 1));
    ada.catch_up(entry.seq).await;
    let seqs: Vec<u64> = ada
        .log
        .iter()
        .map(|s| s.seq)
        .filter(|&s| s > before)
        .collect();
    let expected: Vec<u64> = (before + 1..=entry.seq).collect();
    assert_eq!(seqs, expected, "every missed event, in order, once");
    fran.catch_up(entry.seq).await;
    assert_eq!(ada.view, fran.view);
    // Nothing more arrives twice afterwards: the next event follows on.
    fran.ok(Command::NextStage).await;
    ada.catch_up(fran.seq).await;
    assert_eq!(ada.view, fran.view);
}

#[tokio::test]
async fn a_gap_beyond_the_window_gets_a_snapshot_marked_not_recovered() {
    let server = TestServer::start().await;
    let (_room, mut fran, mut ada, _ben) = running(&server).await;
    ada.disconnect().await;
    fran.ok(Command::PushPrompt {
        prompt: Some("tq_what_else_could_this_mean".into()),
        text: None,
        to: None,
    })
    .await;
    // Eleven minutes later (the window is ten), more happens: the old events leave the window.
    server.advance(11 * MIN);
    fran.ok(Command::ClearPrompt).await;
    let entry = ada.reconnect(&server).await;
    assert_eq!(entry.kind, Entry::Snapshot(false));
    fran.catch_up(entry.seq).await;
    assert_eq!(without_presence(&ada.view), without_presence(&fran.view));
    assert_eq!(ada.seq, fran.seq);
}

#[tokio::test]
async fn a_last_seq_ahead_of_the_room_gets_a_snapshot() {
    let server = TestServer::start().await;
    let (_room, fran, mut ada, _ben) = running(&server).await;
    ada.seq += 1000; // as if the room's history had been reset under us
    ada.disconnect().await;
    let entry = ada.reconnect(&server).await;
    assert_eq!(entry.kind, Entry::Snapshot(false));
    assert_eq!(without_presence(&ada.view), without_presence(&fran.view));
}

#[tokio::test]
async fn a_retried_command_id_is_applied_once_and_acknowledged_again() {
    let server = TestServer::start().await;
    let (_room, mut fran, mut ada, _ben) = running(&server).await;
    ada.send_with_id("hand-1", Command::RaiseHand).await;
    let first = ada.answer("hand-1").await.expect("acked");
    fran.catch_up(ada.seq).await;
    // The ack was lost with the connection; the client retries after reconnecting.
    let entry = ada.reconnect(&server).await;
    ada.catch_up(entry.seq).await;
    let seq = ada.seq;
    ada.send_with_id("hand-1", Command::RaiseHand).await;
    let again = ada
        .answer("hand-1")
        .await
        .expect("acked again, not refused");
    assert_eq!(again, first, "the same ack: same seq");
    ada.ok(Command::Sync).await;
    assert_eq!(ada.seq, seq, "no new event");
    assert_eq!(fran.view.turn.queue.len(), 1);
}

#[tokio::test]
async fn a_participant_who_comes_back_keeps_role_queue_place_and_floor() {
    let server = TestServer::start().await;
    let (_room, mut fran, mut ada, mut ben) = running(&server).await;
    fran.ok(Command::AssignRole {
        participant: ada.you,
        role: circlekeeper_protocol::Role::Timekeeper,
    })
    .await;
    ben.ok(Command::RaiseHand).await;
    ada.catch_up(ben.seq).await;
    ada.ok(Command::RaiseHand).await;
    fran.ok(Command::GiveFloor {
        participant: Some(ben.you),
    })
    .await;
    ben.disconnect().await;
    ada.disconnect().await;
    fran.expect_event(|e| matches!(e, Event::ParticipantUpdated { participant, .. } if participant.id == ada.you && participant.presence == Presence::Away))
        .await;
    ben.reconnect(&server).await;
    let entry = ada.reconnect(&server).await;
    fran.catch_up(entry.seq).await;
    let turn = &fran.view.turn;
    assert_eq!(turn.floor.as_ref().map(|f| f.participant), Some(ben.you));
    assert_eq!(turn.queue, vec![ada.you]);
    let me = fran
        .view
        .participants
        .iter()
        .find(|p| p.id == ada.you)
        .expect("Ada");
    assert!(me.roles.contains(&circlekeeper_protocol::Role::Timekeeper));
    assert_eq!(me.presence, Presence::Connected);
    ada.ok(Command::Pause).await; // still the timekeeper
}

#[tokio::test]
async fn a_quick_reconnect_shows_nothing_and_a_longer_absence_shows_away() {
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        s.rate_burst = 60.0;
        s.presence_grace = Duration::from_secs(3);
    })
    .await;
    let (_room, mut fran, mut ada, _ben) = running(&server).await;
    fran.catch_up(ada.seq).await;
    let before = fran.seq;
    // A blip: Ada's connection drops and she is back before the clock moves.
    ada.disconnect().await;
    let entry = ada.reconnect(&server).await;
    assert_eq!(entry.kind, Entry::Resumed(0), "nothing to replay");
    fran.assert_quiet_since(before).await;
    assert_eq!(fran.participant(ada.you).presence, Presence::Connected);
    // Gone for longer: once the grace passes with no connection of hers, Ada is away. The
    // clock moves a second at a time until the server has seen her go (bounded).
    ada.disconnect().await;
    let mut away = false;
    for _ in 0..30 {
        server.advance(Duration::from_secs(1));
        let ack = fran.sync().await;
        fran.catch_up(ack.seq).await;
        if fran.participant(ada.you).presence == Presence::Away {
            away = true;
            break;
        }
    }
    assert!(away, "Ada never turned away");
    let entry = ada.reconnect(&server).await;
    ada.catch_up(entry.seq).await;
    fran.catch_up(entry.seq).await;
    assert!(
        matches!(entry.kind, Entry::Resumed(n) if n >= 2),
        "{:?}",
        entry.kind
    );
    assert_eq!(fran.participant(ada.you).presence, Presence::Connected);
    assert_eq!(without_presence(&ada.view), without_presence(&fran.view));
}

#[tokio::test]
async fn a_silent_connection_is_dropped_and_its_participant_turns_away() {
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        s.ping_every = Duration::from_millis(100);
        s.idle_timeout = Duration::from_millis(300);
    })
    .await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    // Ada's client stops reading (so it answers no ping); Fran keeps reading.
    let away = fran
        .expect_event(|e| matches!(e, Event::ParticipantUpdated { participant, .. } if participant.id == ada.you && participant.presence == Presence::Away))
        .await;
    assert!(matches!(away, Event::ParticipantUpdated { .. }));
    // The server closed the connection: with 4000 when the close frame is read before the
    // socket goes, or plainly when our late pong finds it gone.
    let code = ada.expect_close().await;
    assert!(matches!(code, Some(close::IDLE) | None), "{code:?}");
}

#[tokio::test]
async fn rooms_come_back_after_a_restart_and_missed_deadlines_fire_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::manual(EPOCH);
    let format = json!({
        "name": "Two quick stages",
        "stages": [
            {"kind": "discussion", "title": "One", "timebox_ms": 60_000, "speaking": "hand_queue", "auto_advance": true},
            {"kind": "discussion", "title": "Two", "timebox_ms": 600_000, "speaking": "hand_queue"}
        ]
    });
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    let room = server
        .create_room(json!({"title": "Restart", "format": format}))
        .await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    ada.ok(Command::AcceptGroundRules).await;
    fran.ok(Command::Start).await;
    ada.ok(Command::RaiseHand).await;
    fran.catch_up(ada.seq).await;
    let before = fran.view.clone();
    let stage_ends = before
        .stage
        .as_ref()
        .and_then(|s| s.timer.ends_at)
        .expect("running");

    server.stop().await;
    assert_eq!(fran.expect_close().await, Some(close::GOING_AWAY));
    release_store(store).await;

    // Two minutes pass while the server is down: the first stage's deadline is missed.
    clock.advance(2 * MIN);
    let store = Arc::new(SledStore::open(dir.path()).expect("the store reopens"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    // A room is read from the store when first used, not at start.
    assert_eq!(server.state.room_count(), 0, "no room loaded at start");
    assert_eq!(server.state.held_rooms(), 1, "but the room is counted");
    let entry = fran.reconnect(&server).await;
    assert!(matches!(entry.kind, Entry::Resumed(_)), "{entry:?}");
    assert_eq!(server.state.room_count(), 1, "loaded by the first resume");
    fran.expect_event(|e| {
        matches!(
            e,
            Event::TimerExpired {
                timer: TimerKind::Stage,
                ..
            }
        )
    })
    .await;
    fran.expect_event(|e| matches!(e, Event::StageEntered { stage, .. } if stage.index == 1))
        .await;
    assert_eq!(fran.view.session.status, SessionStatus::Running);
    let expired = fran
        .log
        .iter()
        .filter(|s| matches!(s.event, Event::TimerExpired { .. }))
        .count();
    assert_eq!(expired, 1, "a missed deadline fires once");
    // The first stage's timer was a deadline: it expired exactly when planned.
    assert!(stage_ends < clock.now());
    // Everything else is as it was; Ada shows away until she comes back.
    let ada_now = fran
        .view
        .participants
        .iter()
        .find(|p| p.id == ada.you)
        .expect("Ada");
    assert_eq!(ada_now.presence, Presence::Away);
    let entry = ada.reconnect(&server).await;
    ada.catch_up(entry.seq).await;
    fran.catch_up(ada.seq).await;
    assert_eq!(ada.view, fran.view);
    server.stop().await;
    release_store(store).await;
}

#[tokio::test]
async fn ended_rooms_are_deleted_from_disk_after_their_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::manual(EPOCH);
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |s| {
        s.retention = Duration::from_secs(24 * 3600);
    })
    .await;
    let ended = server.create_builtin_room("coaching_circle").await;
    let kept = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&ended, "Fran").await;
    fran.ok(Command::EndSession).await;
    let mut sweeps = server.state.sweeps();
    sweeps.borrow_and_update();

    // Half a day later the ended room is still there.
    clock.advance(Duration::from_secs(12 * 3600));
    sweeps.changed().await.expect("a sweep");
    assert!(store
        .rooms()
        .expect("rooms")
        .iter()
        .any(|(id, _)| *id == ended.room_id));

    // Two days later it is gone, the running room is not.
    clock.advance(Duration::from_secs(36 * 3600));
    tokio::time::timeout(Duration::from_secs(5), sweeps.changed())
        .await
        .expect("a sweep within 5 s")
        .expect("a sweep");
    assert_eq!(fran.expect_close().await, Some(close::ROOM_DELETED));
    let mut late = server.connect("Late").await;
    let refused = late
        .enter_refused(Command::Join {
            room: ended.room_id.clone(),
            key: ended.join_key.clone(),
            name: "Late".into(),
            guest: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::RoomNotFound);
    server.join(&kept, "Still here").await;
    server.stop().await;
    release_store(store).await;

    // Gone from disk: the reopened store knows nothing of it.
    let store = SledStore::open(dir.path()).expect("reopen");
    let rooms = store.rooms().expect("rooms");
    assert!(rooms.iter().all(|(id, _)| *id != ended.room_id));
    assert!(rooms.iter().any(|(id, _)| *id == kept.room_id));
    let loaded = store.load(&ended.room_id).expect("load");
    assert!(loaded.snapshot.is_none() && loaded.events.is_empty() && loaded.tokens.is_empty());
}

#[tokio::test]
async fn a_facilitator_deletes_a_room_at_once() {
    let server = TestServer::start().await;
    let (room, mut fran, mut ada, _ben) = running(&server).await;
    assert_eq!(ada.refused(Command::DeleteRoom).await, ErrorCode::Forbidden);
    fran.ok(Command::DeleteRoom).await;
    assert_eq!(fran.expect_close().await, Some(close::ROOM_DELETED));
    assert_eq!(ada.expect_close().await, Some(close::ROOM_DELETED));
    let mut again = server.connect("Ada").await;
    let refused = again
        .enter_refused(Command::Resume {
            room: room.room_id.clone(),
            token: ada.token.clone(),
            last_seq: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::RoomNotFound);
}

#[tokio::test]
async fn a_damaged_room_is_refused_rather_than_served_wrong() {
    // One event record of the first room is overwritten with garbage.
    let (dir, damaged, token, healthy) = common::damaged_data_dir().await;
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |_| {}).await;
    let mut again = server.connect("Fran").await;
    let refused = again
        .enter_refused(Command::Resume {
            room: damaged.room_id.clone(),
            token,
            last_seq: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::RoomUnavailable);
    assert_eq!(again.expect_close().await, Some(close::AUTH_FAILED));
    // The other room is served as usual.
    server.join(&healthy, "Hal").await;
    server.stop().await;
    release_store(store).await;
}

#[tokio::test]
async fn everyone_resuming_at_once_after_a_restart_finds_one_room_loaded_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::manual(EPOCH);
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus"] {
        let mut c = server.join(&room, name).await;
        c.ok(Command::AcceptGroundRules).await;
        people.push(c);
    }
    fran.ok(Command::AcceptGroundRules).await;
    fran.ok(Command::Start).await;
    server.stop().await;
    release_store(store).await;

    let store = Arc::new(SledStore::open(dir.path()).expect("the store reopens"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    assert_eq!(server.state.room_count(), 0);
    people.push(fran);
    // Everyone at the same moment: the room is read from the store once, and one actor runs it.
    let remote = *server;
    let entries = futures_util::future::join_all(
        people
            .iter_mut()
            .map(|c| async move { c.reconnect(&remote).await }),
    )
    .await;
    assert!(
        entries.iter().all(|e| matches!(e.kind, Entry::Resumed(_))),
        "{entries:?}"
    );
    assert_eq!(server.state.room_count(), 1);
    // One writer: every client sees the same sequence of events after a command.
    let fran = people.last_mut().expect("Fran");
    let seq = fran.ok(Command::NextStage).await.seq;
    for c in people.iter_mut() {
        c.catch_up(seq).await;
        assert_eq!(c.seq, seq, "{} is at the room's sequence number", c.name);
    }
    server.stop().await;
    release_store(store).await;
}
