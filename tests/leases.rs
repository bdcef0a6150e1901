//! One owner per room among several nodes, against a real PostgreSQL 15
//! (tests/common/postgres.rs): leases are claimed once and asked for, a write under a lost
//! lease is refused and writes nothing, the committer keeps what is still held, renewal tells
//! a node what it lost; and two in-process nodes on one database hand a room over with its
//! clients told to reconnect (`4012`), and refuse the writes of a node whose lease was taken.
//! Skipped (and said so) without PostgreSQL installed; failed instead with `CI` set.
//!
//! The real binaries, killed, stopped and terminated behind HAProxy, are in `cluster.rs`.

mod common;
#[path = "common/postgres.rs"]
mod postgres_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use circlekeeper::store::conformance::{event, events, record};
use circlekeeper::store::{Claim, Committer, Leases, Owner, PgStore, Store, StoreError, Write};
use circlekeeper::Clock;
use circlekeeper_protocol::{close, Command, RoomCreated, SeriesCreated};
use common::{checkout_room, TestServer, EPOCH};
use postgres_server::Postgres;
use serde_json::json;

/// A lease long enough never to expire during a test.
const LONG: Duration = Duration::from_secs(60);

fn node(url: &str, name: &str, lease: Duration) -> PgStore {
    PgStore::open_node(url, name, lease).expect("the store opens")
}

fn leases(store: &PgStore) -> &dyn Leases {
    store.leases().expect("a node's store has leases")
}

fn held(claim: Claim) -> u64 {
    match claim {
        Claim::Held(fence) => fence,
        other => panic!("the lease was not given: {other:?}"),
    }
}

fn fence(owner: &Owner, fence: u64) -> Write {
    Write::Fence {
        owner: owner.clone(),
        fence,
    }
}

/// A room `id` written under `f`, with events 1..=2.
fn open_room(store: &PgStore, id: &str, f: u64) {
    let owner = Owner::room(id);
    let writes = vec![
        fence(&owner, f),
        Write::Room {
            record: Box::new(record(id, "Leased")),
        },
        events(id, 1..=2),
    ];
    store.write(&writes).expect("the holder writes");
}

fn seqs(store: &PgStore, id: &str) -> Vec<u64> {
    let loaded = store.load(id).expect("load");
    loaded.events.iter().map(|e| e.seq).collect()
}

fn fenced_owners(result: Result<(), StoreError>) -> Vec<Owner> {
    match result {
        Err(StoreError::Fenced { owners }) => owners,
        other => panic!("the write was not refused as fenced: {other:?}"),
    }
}

#[test]
fn a_lease_is_held_by_one_node_and_asked_for_by_another() {
    let Some(pg) = Postgres::start("a_lease_is_held_by_one_node_and_asked_for_by_another") else {
        return;
    };
    let url = pg.fresh_database();
    let (a, b) = (node(&url, "a", LONG), node(&url, "b", LONG));
    let room = Owner::room("r1");
    let first = held(leases(&a).claim(&room).expect("claim"));
    match leases(&b).claim(&room).expect("claim") {
        Claim::Elsewhere { node, expires_in } => {
            assert_eq!(node, "a");
            assert!(expires_in > Duration::ZERO && expires_in <= LONG);
        }
        other => panic!("a held lease was given to another node: {other:?}"),
    }
    assert_eq!(leases(&a).wanted().expect("wanted"), vec![room.clone()]);
    assert!(leases(&b).wanted().expect("wanted").is_empty());
    // Claimed again by its holder: a new fence (its old writes are refused from now on).
    let again = held(leases(&a).claim(&room).expect("claim"));
    assert!(again > first);
    assert!(
        leases(&a).wanted().expect("wanted").is_empty(),
        "a claim clears the wish"
    );
    leases(&a).release(&room, again).expect("release");
    let taken = held(leases(&b).claim(&room).expect("claim"));
    assert!(taken > again, "a new holder always has a larger fence");
    // A release with a fence no longer held changes nothing.
    leases(&a).release(&room, again).expect("release");
    assert!(matches!(
        leases(&a).claim(&room).expect("claim"),
        Claim::Elsewhere { node, .. } if node == "b"
    ));
}

#[test]
fn an_expired_lease_is_taken_over_without_its_holder() {
    let Some(pg) = Postgres::start("an_expired_lease_is_taken_over_without_its_holder") else {
        return;
    };
    let url = pg.fresh_database();
    let a = node(&url, "a", Duration::from_millis(1));
    let b = node(&url, "b", LONG);
    let room = Owner::room("r1");
    held(leases(&a).claim(&room).expect("claim"));
    // The database's clock moves on by itself: bounded polling, no sleep for a timer.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match leases(&b).claim(&room).expect("claim") {
            Claim::Held(_) => break,
            Claim::Elsewhere { .. } => {
                assert!(
                    Instant::now() < deadline,
                    "an expired lease was never given"
                )
            }
        }
    }
}

#[test]
fn a_write_under_a_lost_lease_is_refused_and_writes_nothing() {
    let Some(pg) = Postgres::start("a_write_under_a_lost_lease_is_refused_and_writes_nothing")
    else {
        return;
    };
    let url = pg.fresh_database();
    let (a, b) = (node(&url, "a", LONG), node(&url, "b", LONG));
    let room = Owner::room("r1");
    let old = held(leases(&a).claim(&room).expect("claim"));
    open_room(&a, "r1", old);
    // `a` pauses; its lease goes to `b` (released here, as an expiry would let it).
    leases(&a).release(&room, old).expect("release");
    let new = held(leases(&b).claim(&room).expect("claim"));

    let stale = vec![fence(&room, old), events("r1", 3..=3)];
    assert_eq!(fenced_owners(a.write(&stale)), vec![room.clone()]);
    assert_eq!(seqs(&a, "r1"), vec![1, 2], "a refused write left nothing");
    // The same fence from another node, or no fence at all, is refused as well.
    assert_eq!(fenced_owners(b.write(&stale)), vec![room.clone()]);
    let unfenced = vec![events("r1", 3..=3)];
    assert_eq!(fenced_owners(b.write(&unfenced)), vec![room.clone()]);
    // The holder writes seq 3 once.
    b.write(&[fence(&room, new), events("r1", 3..=3)])
        .expect("the holder writes");
    assert_eq!(seqs(&b, "r1"), vec![1, 2, 3]);

    // A delete takes the lease row with it: the old fence opens nothing afterwards.
    b.write(&[fence(&room, new), Write::Delete { room: "r1".into() }])
        .expect("delete");
    assert!(b.load("r1").expect("load").events.is_empty());
    let after = vec![fence(&room, new), events("r1", 4..=4)];
    assert_eq!(fenced_owners(b.write(&after)), vec![room]);
}

#[test]
fn renewal_tells_a_node_which_leases_it_lost() {
    let Some(pg) = Postgres::start("renewal_tells_a_node_which_leases_it_lost") else {
        return;
    };
    let url = pg.fresh_database();
    let (a, b) = (node(&url, "a", LONG), node(&url, "b", LONG));
    let (r1, r2) = (Owner::room("r1"), Owner::room("r2"));
    let f1 = held(leases(&a).claim(&r1).expect("claim"));
    let f2 = held(leases(&a).claim(&r2).expect("claim"));
    let mine = [(r1.clone(), f1), (r2.clone(), f2)];
    assert!(leases(&a).renew(&mine).expect("renew").is_empty());
    leases(&a).release(&r2, f2).expect("release");
    held(leases(&b).claim(&r2).expect("claim"));
    assert_eq!(leases(&a).renew(&mine).expect("renew"), vec![r2]);
    // What `a` held still is renewed, not taken.
    assert!(matches!(
        leases(&b).claim(&r1).expect("claim"),
        Claim::Elsewhere { node, .. } if node == "a"
    ));
    leases(&a).release_all().expect("release all");
    held(leases(&b).claim(&r1).expect("claim"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committer_keeps_what_is_still_held_when_another_room_is_fenced_out() {
    let Some(pg) =
        Postgres::start("the_committer_keeps_what_is_still_held_when_another_room_is_fenced_out")
    else {
        return;
    };
    let url = pg.fresh_database();
    let a: Arc<dyn Store> = Arc::new(node(&url, "a", LONG));
    let b = node(&url, "b", LONG);
    let (r1, r2) = (Owner::room("r1"), Owner::room("r2"));
    let la = a.leases().expect("leases");
    let f1 = held(la.claim(&r1).expect("claim"));
    let f2 = held(la.claim(&r2).expect("claim"));
    la.release(&r2, f2).expect("release");
    held(leases(&b).claim(&r2).expect("claim"));

    let (committer, thread) = Committer::spawn(Arc::clone(&a)).expect("the commit thread");
    // Submitted back to back, so that they usually share a batch; either way each gets its
    // own answer.
    let kept = committer
        .submit(vec![fence(&r1, f1), event_write("r1", 1)])
        .await;
    let lost = committer
        .submit(vec![fence(&r2, f2), event_write("r2", 1)])
        .await;
    let kept = kept.await.expect("an answer");
    let lost = lost.await.expect("an answer");
    assert!(
        kept.is_ok(),
        "the room still held was not written: {kept:?}"
    );
    assert!(
        matches!(lost, Err(StoreError::Fenced { .. })),
        "the fenced room was written: {lost:?}"
    );
    drop(committer);
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .expect("joined")
        .expect("the commit thread ends");
    assert_eq!(a.load("r1").expect("load").events.len(), 1);
    assert!(a.load("r2").expect("load").events.is_empty());
}

fn event_write(room: &str, seq: u64) -> Write {
    Write::Events {
        room: room.into(),
        events: vec![event(seq)],
    }
}

/// A server on `url` as node `name`, with leases that never expire during a test: a room (or
/// series) moves only when its holder hands it over.
async fn server(url: &str, name: &str) -> TestServer {
    let store = PgStore::open_node(url, name, LONG).expect("the store opens");
    TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        s.rate_burst = 60.0
    })
    .await
}

/// The node holding `owner`'s lease, read from the table.
async fn holder(url: &str, owner: &Owner) -> Option<String> {
    let (url, key) = (url.to_string(), owner.lease_key());
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client
            .query_opt("SELECT node FROM leases WHERE owner = $1", &[&key])
            .expect("query")
            .map(|row| row.get::<_, String>(0))
    })
    .await
    .expect("joined")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_asked_of_another_node_is_handed_over_and_its_clients_sent_there() {
    let Some(pg) =
        Postgres::start("a_room_asked_of_another_node_is_handed_over_and_its_clients_sent_there")
    else {
        return;
    };
    let url = pg.fresh_database();
    let a = server(&url, "a").await;
    let b = server(&url, "b").await;
    let room = a.create_room(checkout_room("Moving")).await;
    let owner = Owner::room(&room.room_id);
    let mut host = a.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut ada = a.join(&room, "Ada").await;
    ada.ok(Command::AcceptGroundRules).await;
    let last = host.ok(Command::Start).await;
    ada.catch_up(last.seq).await;
    assert_eq!(holder(&url, &owner).await.as_deref(), Some("a"));

    // Ada's next connection lands on `b` (a proxy that moved the room): `b` asks, `a` hands
    // the room over, and everyone still on `a` is told to reconnect.
    let welcome = ada.reconnect(&b).await;
    assert!(welcome.seq >= last.seq, "the room came over behind");
    assert_eq!(host.expect_close().await, Some(close::ROOM_MOVED));
    assert_eq!(holder(&url, &owner).await.as_deref(), Some("b"));
    host.reconnect(&b).await;
    let next = host.ok(Command::Pause).await;
    ada.catch_up(next.seq).await;
    assert_eq!(ada.view, host.view);
    // Every event once, in order, with no gap: no sequence number was used twice.
    let store = PgStore::open(&url).expect("the store opens");
    let id = room.room_id.clone();
    let stored = tokio::task::spawn_blocking(move || store.load(&id))
        .await
        .expect("joined")
        .expect("load");
    let seqs: Vec<u64> = stored.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=next.seq).collect::<Vec<_>>());
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_lease_was_taken_cannot_write_and_sends_its_clients_on() {
    let Some(pg) =
        Postgres::start("a_node_whose_lease_was_taken_cannot_write_and_sends_its_clients_on")
    else {
        return;
    };
    let url = pg.fresh_database();
    let a = server(&url, "a").await;
    let room = a.create_room(checkout_room("Fenced")).await;
    let mut host = a.host(&room, "Host").await;
    let last = host.ok(Command::AcceptGroundRules).await;
    // As if `a` had been paused past its lease and another node had claimed the room.
    let key = Owner::room(&room.room_id).lease_key();
    let admin = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect");
        client
            .execute(
                "UPDATE leases SET node = 'elsewhere', fence = nextval('lease_fence'),
                 expires_at = now() + interval '1 hour' WHERE owner = $1",
                &[&key],
            )
            .expect("taken over");
    })
    .await
    .expect("joined");
    let id = host.send(Command::Start).await;
    assert_eq!(host.expect_close().await, Some(close::ROOM_MOVED));
    assert!(
        !host.unclaimed_answers().iter().any(|a| {
            matches!(a, circlekeeper_protocol::ServerMessage::Ack { id: acked, .. } if *acked == id)
        }),
        "a command the store refused was acknowledged"
    );
    let store = PgStore::open(&url).expect("the store opens");
    let stored = tokio::task::spawn_blocking(move || store.load(&room.room_id))
        .await
        .expect("joined")
        .expect("load");
    assert_eq!(
        stored.events.last().map(|e| e.seq),
        Some(last.seq),
        "the refused command left an event"
    );
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_series_follows_the_node_that_asks_for_it_and_its_rooms_still_reach_it() {
    let Some(pg) =
        Postgres::start("a_series_follows_the_node_that_asks_for_it_and_its_rooms_still_reach_it")
    else {
        return;
    };
    let url = pg.fresh_database();
    let a = server(&url, "a").await;
    let b = server(&url, "b").await;
    let body = json!({ "title": "Swap", "cadence": "monthly", "cycle_months": 6,
                       "members": ["Ada", "Ben", "Chen"] });
    let answer = a
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    let owner = Owner::series(&series.series_id);
    // Created, not run: the node its first request reaches claims it.
    assert_eq!(holder(&url, &owner).await.as_deref(), Some(""));

    // A session opened on `a`, then a member's page read on `b`: the series moves to `b`.
    let rooms = format!("/api/series/{}/rooms", series.series_id);
    let host_key = json!({ "key": series.host_key }).to_string();
    let first = a.http("POST", &rooms, host_key.as_bytes()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let room: RoomCreated = serde_json::from_value(first.json).expect("a room");
    assert_eq!(holder(&url, &owner).await.as_deref(), Some("a"));
    let me = format!("/api/series/{}/me", series.series_id);
    let ada_key = json!({ "key": series.members[0].key }).to_string();
    let page = b.http("POST", &me, ada_key.as_bytes()).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.json["rooms"], json!([room.room_id]));
    assert_eq!(holder(&url, &owner).await.as_deref(), Some("b"));

    // The session's room (on `a`) still reaches its series: a member enters by their link.
    let mut ada = a.connect("Ada").await;
    ada.enter(Command::Member {
        room: room.room_id.clone(),
        series: series.series_id.clone(),
        key: series.members[0].key.clone(),
    })
    .await;
    assert_eq!(holder(&url, &owner).await.as_deref(), Some("a"));
    // And the next session, opened on `b`, sees the first.
    let second = b.http("POST", &rooms, host_key.as_bytes()).await;
    assert_eq!(second.status, 201, "{}", second.text);
    let page = a.http("POST", &me, ada_key.as_bytes()).await;
    assert_eq!(page.json["rooms"].as_array().map(Vec::len), Some(2));
    a.stop().await;
    b.stop().await;
}
