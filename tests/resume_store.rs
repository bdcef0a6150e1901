//! A resume that reaches further back than the room's in-memory tail of events is served from
//! the store: exactly the missed events, in order, once, the very frames the others got —
//! against a real server over real websockets.

mod common;

use std::sync::Arc;

use circlekeeper::live::room::MAX_RECENT_EVENTS;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, Event, Presence};
use common::{Client, Entry, TestServer, EPOCH};
use serde_json::Value;

/// A server whose rate limits let a client send a few hundred commands at once.
async fn server() -> TestServer {
    let store = SledStore::temporary().expect("temporary sled store");
    TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        s.rate_burst = 1e6;
        s.rate_per_second = 1e6;
        s.address_rate_burst = 1e6;
        s.address_rate_per_second = 1e6;
    })
    .await
}

/// The event frames a client read, by seq, as JSON.
fn event_frames(c: &Client, after: u64) -> Vec<Value> {
    c.frames
        .iter()
        .filter(|f| f["type"] == "event" && f["seq"].as_u64().is_some_and(|s| s > after))
        .cloned()
        .collect()
}

/// Whether an event shows someone turning away.
fn away(e: &Event) -> bool {
    matches!(e, Event::ParticipantUpdated { participant, .. } if participant.presence == Presence::Away)
}

#[tokio::test]
async fn a_resume_further_back_than_the_tail_gets_every_missed_event_from_the_store() {
    let server = server().await;
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
    ada.disconnect().await;
    fran.expect_event(away).await;
    let before = ada.seq;
    // Well past the tail: each raise and each lower is one event.
    for _ in 0..MAX_RECENT_EVENTS {
        ben.ok(Command::RaiseHand).await;
        ben.ok(Command::LowerHand { participant: None }).await;
    }
    fran.catch_up(ben.seq).await;
    let missed = fran.seq - before;
    assert!(
        missed as usize > MAX_RECENT_EVENTS + 16,
        "the test reaches beyond the tail ({missed} events)"
    );

    let entry = ada.reconnect(&server).await;
    // Her own return (presence) is one more event.
    assert_eq!(entry.kind, Entry::Resumed(missed + 1));
    ada.catch_up(entry.seq).await;
    fran.catch_up(entry.seq).await;
    ben.catch_up(entry.seq).await;
    let seqs: Vec<u64> = ada
        .log
        .iter()
        .map(|s| s.seq)
        .filter(|&s| s > before)
        .collect();
    let expected: Vec<u64> = (before + 1..=entry.seq).collect();
    assert_eq!(seqs, expected, "every missed event, in order, once");
    assert_eq!(
        event_frames(&ada, before),
        event_frames(&ben, before),
        "the same frames the others got"
    );
    assert_eq!(ada.view, fran.view);
    // Nothing arrives twice afterwards: the next event follows on.
    ben.ok(Command::RaiseHand).await;
    ada.catch_up(ben.seq).await;
    assert_eq!(ada.log.last().map(|s| s.seq), Some(ben.seq));
    assert_eq!(ada.view, ben.view);
}

#[tokio::test]
async fn a_resume_within_the_tail_and_one_just_beyond_it_are_both_exact() {
    let server = server().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    for c in [&mut fran, &mut ada] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    ada.catch_up(fran.seq).await;
    // Away for a few events (all in the tail), then for just more than the tail holds.
    for rounds in [3, MAX_RECENT_EVENTS / 2 + 1] {
        ada.disconnect().await;
        fran.expect_event(away).await;
        let before = ada.seq;
        for _ in 0..rounds {
            fran.ok(Command::RaiseHand).await;
            fran.ok(Command::LowerHand { participant: None }).await;
        }
        let missed = fran.seq - before;
        let entry = ada.reconnect(&server).await;
        assert_eq!(entry.kind, Entry::Resumed(missed + 1), "away for {rounds}");
        ada.catch_up(entry.seq).await;
        let seqs: Vec<u64> = ada
            .log
            .iter()
            .map(|s| s.seq)
            .filter(|&s| s > before)
            .collect();
        assert_eq!(seqs, (before + 1..=entry.seq).collect::<Vec<u64>>());
        fran.catch_up(entry.seq).await;
        assert_eq!(ada.view, fran.view);
    }
}
