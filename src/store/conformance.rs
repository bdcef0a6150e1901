//! What every [`Store`] backend must do, written against the trait only: the sled backend runs
//! it in its tests (in memory, and on a directory that is reopened), and any other backend
//! (PostgreSQL) must pass it unchanged. Each property is a function that panics with a message
//! when the backend breaks it; [`run_all`] runs every one on a fresh store.
//!
//! "Written" below means `write` then `flush`, as the commit thread does.

use circlekeeper_protocol::{Cadence, Commitment, Event, Visibility};

use super::{RoomRecord, Snapshot, Store, StoredEvent, Write};
use crate::room::state::Notes;
use crate::room::{Room, RoomSetup};
use crate::series::{Member, SeriesRecord};

/// One property: panics if the store breaks it.
pub type Property = fn(&dyn Store);

/// Run every property, each on a store of its own from `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    let properties: [(&str, Property); 12] = [
        (
            "events_read_back_in_order",
            events_read_back_in_order_across_commits,
        ),
        ("a_batch_is_visible_whole", a_batch_is_visible_whole),
        ("the_latest_snapshot_wins", the_latest_snapshot_wins),
        (
            "a_deleted_room_loads_nothing",
            a_deleted_room_loads_nothing_and_others_stay,
        ),
        ("tokens_round_trip", tokens_round_trip),
        (
            "series_put_replace_delete",
            series_are_put_replaced_and_deleted,
        ),
        (
            "keys_and_ended_update",
            keys_and_ended_update_the_stored_record,
        ),
        (
            "writes_around_a_delete",
            a_write_after_a_delete_stays_one_before_goes,
        ),
        ("one_record_lookups", one_record_lookups),
        ("large_values_round_trip", large_values_round_trip),
        (
            "load_recent_reads_what_a_restore_needs",
            load_recent_reads_the_snapshot_what_follows_and_the_last_few,
        ),
        (
            "events_after_reads_a_resumes_events",
            events_after_reads_the_events_after_a_seq,
        ),
    ];
    for (name, property) in properties {
        let store = make();
        eprintln!("store conformance: {name}");
        property(&store);
    }
}

fn commit(store: &dyn Store, writes: Vec<Write>) {
    store.write(&writes).expect("write");
    store.flush().expect("flush");
}

/// A room record with this id and title.
pub fn record(id: &str, title: &str) -> RoomRecord {
    RoomRecord {
        setup: setup(id, title),
        join_key_hash: [1; 32],
        host_key_hash: [2; 32],
        join_key: crate::secret::KeptKey::Key("first-join-key".into()),
        created_at: 5,
        ended_at: None,
        series: None,
    }
}

/// How a room called `title` opens.
pub fn setup(id: &str, title: &str) -> RoomSetup {
    RoomSetup {
        id: id.into(),
        title: title.into(),
        format: crate::formats::builtin("coaching_circle").expect("the built-in format"),
        ground_rules: "Confidential.".into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        earlier: Vec::new(),
        calls: Default::default(),
    }
}

/// An event with sequence number `seq`.
pub fn event(seq: u64) -> StoredEvent {
    StoredEvent {
        seq,
        at: seq * 10,
        event: Event::PlanChanged {
            presenter_order: vec![1, 2],
            plan: Vec::new(),
            seed: Some(seq),
            stage_index: None,
        },
        origin: None,
        json: Default::default(),
    }
}

/// Events `seqs` of `room`.
pub fn events(room: &str, seqs: std::ops::RangeInclusive<u64>) -> Write {
    Write::Events {
        room: room.into(),
        events: seqs.map(event).collect(),
    }
}

/// A snapshot of a fresh room titled `title`.
pub fn snapshot(id: &str, title: &str) -> Snapshot {
    Snapshot {
        room: Room::new(setup(id, title)),
    }
}

/// A commitment whose text is `text`.
pub fn commitment(text: &str) -> Commitment {
    Commitment {
        id: format!("c-{}", text.len()),
        author: 1,
        name: "Ada".into(),
        member: Some("m1".into()),
        text: text.into(),
        due: None,
        visibility: Visibility::Private,
        made_at: 0,
        outcome: None,
    }
}

/// Notes holding one commitment.
pub fn notes(text: &str) -> Notes {
    Notes {
        commitments: vec![commitment(text)],
        ..Notes::default()
    }
}

/// A series with one member named `member`.
pub fn series(id: &str, member: &str) -> SeriesRecord {
    SeriesRecord {
        id: id.into(),
        title: "Alumni swap".into(),
        cadence: Cadence::Monthly,
        cycle_months: 6,
        host_key_hash: [0; 32],
        members: vec![Member {
            id: "m1".into(),
            name: member.into(),
            key_hash: [3; 32],
            choice: None,
            avoid: Vec::new(),
        }],
        sessions: Vec::new(),
        history: Default::default(),
        planned: Vec::new(),
        commitments: Vec::new(),
        created_at: 0,
        calendar: Default::default(),
        roster: Default::default(),
        calls: Default::default(),
        webhooks: Vec::new(),
    }
}

fn seqs(store: &dyn Store, room: &str) -> Vec<u64> {
    let loaded = store.load(room).expect("load");
    loaded.events.iter().map(|e| e.seq).collect()
}

/// Events come back in sequence order, across commits and rooms interleaved in a batch.
pub fn events_read_back_in_order_across_commits(store: &dyn Store) {
    commit(
        store,
        vec![events("a", 1..=3), events("b", 1..=1), events("a", 4..=4)],
    );
    commit(store, vec![events("b", 2..=5), events("a", 5..=5)]);
    commit(store, vec![events("a", 6..=6)]);
    assert_eq!(seqs(store, "a"), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(seqs(store, "b"), vec![1, 2, 3, 4, 5]);
    assert_eq!(store.load("a").expect("load").events[3], event(4));
    assert!(
        seqs(store, "c").is_empty(),
        "a room never written has no events"
    );
}

/// `load_recent` gives the snapshot, every event after it and at least the last `keep`, in
/// order and without a gap up to the last; without a snapshot, every event.
pub fn load_recent_reads_the_snapshot_what_follows_and_the_last_few(store: &dyn Store) {
    let room = |id: &str| Write::Room {
        record: Box::new(record(id, "Recent")),
    };
    // A run of 40, then lone events: a restore must find the run that holds what it needs.
    commit(
        store,
        vec![
            room("r"),
            events("r", 1..=40),
            room("s"),
            events("s", 1..=40),
        ],
    );
    for seq in 41..=100 {
        commit(store, vec![events("r", seq..=seq)]);
    }
    let mut at_90 = Room::new(setup("r", "Recent"));
    for seq in 1..=90 {
        at_90.replay(&event(seq).recorded());
    }
    commit(
        store,
        vec![Write::Snapshot {
            room: "r".into(),
            snapshot: Box::new(Snapshot { room: at_90 }),
        }],
    );
    let recent = |id: &str, keep: usize| -> Vec<u64> {
        let loaded = store.load_recent(id, keep).expect("load_recent");
        loaded.events.iter().map(|e| e.seq).collect()
    };
    for (keep, at_most) in [(0, 91), (5, 91), (30, 71), (100, 1), (5000, 1)] {
        let got = recent("r", keep);
        let first = *got.first().expect("events");
        assert!(
            first <= at_most,
            "keep {keep}: starts at {first}, after {at_most}"
        );
        let expected: Vec<u64> = (first..=100).collect();
        assert_eq!(
            got, expected,
            "keep {keep}: in order, without a gap, to the last"
        );
    }
    let loaded = store.load_recent("r", 5).expect("load_recent");
    assert_eq!(loaded.snapshot.map(|s| s.room.seq()), Some(90));
    assert_eq!(
        recent("s", 3),
        (1..=40).collect::<Vec<u64>>(),
        "no snapshot: all"
    );
    assert!(recent("never", 3).is_empty());
}

/// `events_after` gives exactly the events after a seq, in order, at most as many as asked:
/// from inside a run, at a run's edge, past the end, and of a room never written.
pub fn events_after_reads_the_events_after_a_seq(store: &dyn Store) {
    let room = |id: &str| Write::Room {
        record: Box::new(record(id, "After")),
    };
    commit(
        store,
        vec![
            room("r"),
            events("r", 1..=40),
            room("s"),
            events("s", 1..=3),
        ],
    );
    for seq in 41..=60 {
        commit(store, vec![events("r", seq..=seq)]);
    }
    commit(store, vec![events("r", 61..=70)]);
    let after = |id: &str, after: u64, max: usize| -> Vec<u64> {
        let got = store.events_after(id, after, max).expect("events_after");
        got.iter().map(|e| e.seq).collect()
    };
    assert_eq!(after("r", 0, 1000), (1..=70).collect::<Vec<u64>>());
    assert_eq!(
        after("r", 10, 5),
        (11..=15).collect::<Vec<u64>>(),
        "inside a run"
    );
    assert_eq!(
        after("r", 39, 4),
        (40..=43).collect::<Vec<u64>>(),
        "across runs"
    );
    assert_eq!(
        after("r", 40, 3),
        (41..=43).collect::<Vec<u64>>(),
        "at a run's edge"
    );
    assert_eq!(
        after("r", 59, 100),
        (60..=70).collect::<Vec<u64>>(),
        "to the last"
    );
    assert_eq!(after("r", 65, 2), vec![66, 67], "inside the last run");
    assert!(after("r", 70, 10).is_empty(), "nothing after the last");
    assert!(after("r", 5, 0).is_empty(), "none asked");
    assert_eq!(after("s", 1, 10), vec![2, 3], "another room's own");
    assert!(after("never", 0, 10).is_empty());
    let got = store.events_after("r", 44, 1).expect("events_after");
    assert_eq!(got, vec![event(45)], "the event as written");
}

/// Every write of a batch is there once it is written.
pub fn a_batch_is_visible_whole(store: &dyn Store) {
    commit(
        store,
        vec![
            Write::Room {
                record: Box::new(record("r", "Tuesday")),
            },
            events("r", 1..=2),
            Write::Token {
                room: "r".into(),
                hash: [7; 32],
                participant: 3,
            },
            Write::Snapshot {
                room: "r".into(),
                snapshot: Box::new(snapshot("r", "Tuesday")),
            },
            Write::Notes {
                room: "r".into(),
                notes: Box::new(notes("call mum")),
            },
        ],
    );
    let loaded = store.load("r").expect("load");
    assert_eq!(
        store.rooms().expect("rooms"),
        vec![("r".into(), record("r", "Tuesday"))]
    );
    assert_eq!(loaded.events, vec![event(1), event(2)]);
    assert_eq!(loaded.tokens, vec![([7; 32], 3)]);
    assert_eq!(loaded.snapshot, Some(snapshot("r", "Tuesday")));
    assert_eq!(loaded.notes, Some(notes("call mum")));
}

/// Only the latest snapshot and notes are kept, across commits and within one.
pub fn the_latest_snapshot_wins(store: &dyn Store) {
    let put = |title: &str| Write::Snapshot {
        room: "r".into(),
        snapshot: Box::new(snapshot("r", title)),
    };
    commit(store, vec![put("one")]);
    commit(store, vec![put("two"), put("three")]);
    assert_eq!(
        store.load("r").expect("load").snapshot,
        Some(snapshot("r", "three"))
    );
    commit(store, vec![put("four")]);
    assert_eq!(
        store.load("r").expect("load").snapshot,
        Some(snapshot("r", "four"))
    );
}

/// Every kind of record of room `id`.
pub fn whole_room(id: &str) -> Vec<Write> {
    vec![
        Write::Room {
            record: Box::new(record(id, "Title")),
        },
        events(id, 1..=3),
        Write::Token {
            room: id.into(),
            hash: [9; 32],
            participant: 1,
        },
        Write::Snapshot {
            room: id.into(),
            snapshot: Box::new(snapshot(id, "Title")),
        },
        Write::Notes {
            room: id.into(),
            notes: Box::new(notes("text")),
        },
    ]
}

/// Panics unless nothing of room `id` is stored.
pub fn assert_gone(store: &dyn Store, id: &str) {
    let loaded = store.load(id).expect("load");
    assert!(loaded.snapshot.is_none(), "{id}: snapshot left");
    assert!(loaded.events.is_empty(), "{id}: events left");
    assert!(loaded.tokens.is_empty(), "{id}: tokens left");
    assert!(loaded.notes.is_none(), "{id}: notes left");
    assert!(store.room(id).expect("room").is_none(), "{id}: record left");
}

/// After a delete the room loads nothing, and rooms whose ids share a prefix are untouched.
pub fn a_deleted_room_loads_nothing_and_others_stay(store: &dyn Store) {
    for id in ["a", "ab", "b"] {
        commit(store, whole_room(id));
    }
    commit(store, vec![Write::Delete { room: "a".into() }]);
    assert_gone(store, "a");
    let ids: Vec<String> = store
        .rooms()
        .expect("rooms")
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids, vec!["ab".to_string(), "b".into()]);
    for id in ["ab", "b"] {
        let loaded = store.load(id).expect("load");
        assert_eq!(loaded.events.len(), 3);
        assert_eq!(loaded.tokens.len(), 1);
        assert!(loaded.snapshot.is_some() && loaded.notes.is_some());
    }
    // Deleting what is not stored is no error.
    commit(store, vec![Write::Delete { room: "zz".into() }]);
}

/// Token hashes come back with their participants.
pub fn tokens_round_trip(store: &dyn Store) {
    let token = |hash: u8, participant: u32| Write::Token {
        room: "r".into(),
        hash: [hash; 32],
        participant,
    };
    commit(store, vec![token(1, 10), token(2, 20)]);
    commit(store, vec![token(3, 10)]);
    let mut tokens = store.load("r").expect("load").tokens;
    tokens.sort();
    assert_eq!(tokens, vec![([1; 32], 10), ([2; 32], 20), ([3; 32], 10)]);
    assert!(store.load("s").expect("load").tokens.is_empty());
}

/// A series record is stored, replaced whole, and deleted.
pub fn series_are_put_replaced_and_deleted(store: &dyn Store) {
    let put = |r: SeriesRecord| Write::Series {
        record: Box::new(r),
    };
    commit(store, vec![put(series("s", "Ada")), put(series("t", "Bo"))]);
    let mut changed = series("s", "Ada");
    changed.commitments.push(commitment("run"));
    commit(store, vec![put(changed.clone())]);
    assert_eq!(
        store.series().expect("series"),
        vec![changed.clone(), series("t", "Bo")]
    );
    assert_eq!(store.series_record("s").expect("one"), Some(changed));
    commit(store, vec![Write::DeleteSeries { series: "s".into() }]);
    assert_eq!(store.series().expect("series"), vec![series("t", "Bo")]);
    assert_eq!(store.series_record("s").expect("one"), None);
}

/// `Keys` (the hashes and the kept join key) and `Ended` change the stored record and keep the rest; a room not stored is not
/// created by them.
pub fn keys_and_ended_update_the_stored_record(store: &dyn Store) {
    let mut with_series = record("abc", "Tuesday");
    with_series.series = Some("s".into());
    store.put_room("abc", &with_series).expect("put");
    store.flush().expect("flush");
    commit(
        store,
        vec![
            Write::Keys {
                room: "abc".into(),
                join: [3; 32],
                host: [4; 32],
                join_key: crate::secret::KeptKey::Key("second-join-key".into()),
            },
            Write::Ended {
                room: "abc".into(),
                at: 9,
            },
            Write::Keys {
                room: "gone".into(),
                join: [5; 32],
                host: [6; 32],
                join_key: crate::secret::KeptKey::Off,
            },
        ],
    );
    let expected = RoomRecord {
        join_key_hash: [3; 32],
        host_key_hash: [4; 32],
        join_key: crate::secret::KeptKey::Key("second-join-key".into()),
        ended_at: Some(9),
        ..with_series
    };
    assert_eq!(
        store.rooms().expect("rooms"),
        vec![("abc".to_string(), expected)]
    );
}

/// In one batch, what a room gets before its delete is removed with it; what it gets after
/// the delete is kept, as for a new room.
pub fn a_write_after_a_delete_stays_one_before_goes(store: &dyn Store) {
    commit(store, whole_room("r"));
    let mut batch = vec![events("r", 4..=4), Write::Delete { room: "r".into() }];
    batch.push(Write::Room {
        record: Box::new(record("r", "Again")),
    });
    batch.push(events("r", 1..=1));
    batch.push(Write::Ended {
        room: "r".into(),
        at: 3,
    });
    commit(store, batch);
    let loaded = store.load("r").expect("load");
    assert_eq!(loaded.events, vec![event(1)]);
    assert!(loaded.tokens.is_empty() && loaded.snapshot.is_none() && loaded.notes.is_none());
    let mut again = record("r", "Again");
    again.ended_at = Some(3);
    assert_eq!(store.room("r").expect("room"), Some(again));
    // Keys after a delete find no record to change.
    commit(
        store,
        vec![
            Write::Delete { room: "r".into() },
            Write::Ended {
                room: "r".into(),
                at: 4,
            },
        ],
    );
    assert_gone(store, "r");
}

/// `room` and `series_record` read one record, or nothing.
pub fn one_record_lookups(store: &dyn Store) {
    store.put_room("x", &record("x", "One")).expect("put");
    commit(
        store,
        vec![Write::Series {
            record: Box::new(series("x", "Ada")),
        }],
    );
    assert_eq!(store.room("x").expect("room"), Some(record("x", "One")));
    assert_eq!(store.room("y").expect("room"), None);
    assert_eq!(
        store.series_record("x").expect("series"),
        Some(series("x", "Ada"))
    );
    assert_eq!(store.series_record("y").expect("series"), None);
}

/// Values of any size come back whole, and a smaller one replaces a larger one cleanly.
pub fn large_values_round_trip(store: &dyn Store) {
    let big = |n: usize| -> Notes {
        Notes {
            commitments: (0..n)
                .map(|i| commitment(&format!("step {i} ").repeat(50)))
                .collect(),
            ..Notes::default()
        }
    };
    for n in [400, 3, 900] {
        commit(
            store,
            vec![Write::Notes {
                room: "r".into(),
                notes: Box::new(big(n)),
            }],
        );
        assert_eq!(store.load("r").expect("load").notes, Some(big(n)));
    }
    let long: Vec<StoredEvent> = (1..=2000).map(event).collect();
    commit(
        store,
        vec![Write::Events {
            room: "r".into(),
            events: long.clone(),
        }],
    );
    assert_eq!(store.load("r").expect("load").events, long);
}
