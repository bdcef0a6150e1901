//! Tests of the sled store: the conformance suite, and what only a real directory shows
//! (encryption at rest, crash-safe deletion, no blob files).

use std::path::Path;

use circlekeeper_protocol::{Event, ParticipantView, Presence, Standing};

use super::conformance::{self, event, events, notes, record, series, snapshot};
use super::keyring::Owner;
use super::sled_store::{event_key, prefix};
use super::{SledStore, Store, StoredEvent, Write};

/// Open the store in `dir` again. sled's background threads may hold the directory's lock a
/// moment after the last handle is dropped (after large writes), so this waits for it.
fn reopen(dir: &Path) -> SledStore {
    let mut tries = 0;
    loop {
        match SledStore::open(dir) {
            Ok(store) => return store,
            Err(e) if tries < 50 => {
                tries += 1;
                eprintln!("reopen: {e}; trying again");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("the store does not reopen: {e}"),
        }
    }
}

fn commit(store: &SledStore, writes: Vec<Write>) {
    store.write(&writes).expect("write");
    store.flush().expect("flush");
}

#[test]
fn the_temporary_store_conforms() {
    conformance::run_all(|| SledStore::temporary().expect("store"));
}

#[test]
fn the_store_on_disk_conforms_and_keeps_everything_across_a_reopen() {
    let root = tempfile::tempdir().expect("tempdir");
    let n = std::cell::Cell::new(0);
    conformance::run_all(|| {
        n.set(n.get() + 1);
        SledStore::open(&root.path().join(n.get().to_string())).expect("store")
    });
    let dir = root.path().join("reopened");
    let before = {
        let store = SledStore::open(&dir).expect("store");
        conformance::a_batch_is_visible_whole(&store);
        conformance::series_are_put_replaced_and_deleted(&store);
        conformance::large_values_round_trip(&store);
        (
            store.rooms().expect("rooms"),
            store.series().expect("series"),
            store.load("r"),
        )
    };
    let store = reopen(&dir);
    assert_eq!(store.rooms().expect("rooms"), before.0);
    assert_eq!(store.series().expect("series"), before.1);
    let (loaded, was) = (store.load("r").expect("load"), before.2.expect("load"));
    assert_eq!((loaded.events, loaded.notes), (was.events, was.notes));
    assert_eq!((loaded.tokens, loaded.snapshot), (was.tokens, was.snapshot));
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if std::fs::read(&path)
                .expect("read")
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

const TITLE: &str = "TITLE-Zebra-Quartz-7731";
const NAME: &str = "NAME-Okapi-Fjord-9913";
const NOTE: &str = "NOTE-Narwhal-Cedar-4410";
const SNAPSHOT: &str = "SNAP-Axolotl-Birch-2291";
const MEMBER: &str = "MEMBER-Quokka-Delta-5521";
const PROMISE: &str = "COMMIT-Pangolin-Ember-8830";

fn joined(seq: u64, name: &str) -> StoredEvent {
    StoredEvent {
        event: Event::ParticipantJoined {
            participant: ParticipantView {
                id: 2,
                name: name.into(),
                standing: Standing::Participant,
                roles: Vec::new(),
                consented: true,
                presence: Presence::Connected,
                joined_at: 1,
                removed: false,
                member: None,
                guest: None,
            },
        },
        ..event(seq)
    }
}

fn written_texts() -> Vec<Write> {
    let mut s = series("s", MEMBER);
    s.commitments.push(conformance::commitment(PROMISE));
    vec![
        Write::Room {
            record: Box::new(record("r", TITLE)),
        },
        Write::Events {
            room: "r".into(),
            events: vec![joined(1, NAME)],
        },
        Write::Notes {
            room: "r".into(),
            notes: Box::new(notes(NOTE)),
        },
        Write::Snapshot {
            room: "r".into(),
            snapshot: Box::new(snapshot("r", SNAPSHOT)),
        },
        Write::Series {
            record: Box::new(s),
        },
    ]
}

#[test]
fn texts_are_sealed_at_rest_and_deleting_destroys_their_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let texts = [TITLE, NAME, NOTE, SNAPSHOT, MEMBER, PROMISE];
    let store = SledStore::open(dir.path()).expect("store");
    commit(&store, written_texts());
    // Readable through the store...
    assert_eq!(
        store.room("r").expect("room").expect("stored").setup.title,
        TITLE
    );
    let loaded = store.load("r").expect("load");
    assert_eq!(loaded.events, vec![joined(1, NAME)]);
    assert_eq!(loaded.notes, Some(notes(NOTE)));
    assert_eq!(loaded.snapshot, Some(snapshot("r", SNAPSHOT)));
    let s = store.series_record("s").expect("series").expect("stored");
    assert_eq!(
        (s.members[0].name.as_str(), s.commitments[0].text.as_str()),
        (MEMBER, PROMISE)
    );
    // ...and in no file under the data directory.
    for text in texts {
        assert_eq!(
            files_containing(dir.path(), text.as_bytes()),
            Vec::<String>::new()
        );
    }
    let keys: Vec<_> = {
        let ring = store.ring().expect("ring");
        [Owner::room("r"), Owner::series("s")]
            .iter()
            .map(|o| ring.get(o).expect("a key"))
            .collect()
    };
    for key in &keys {
        assert!(
            !files_containing(dir.path(), key.as_slice()).is_empty(),
            "the key is on disk"
        );
    }
    commit(
        &store,
        vec![
            Write::Delete { room: "r".into() },
            Write::DeleteSeries { series: "s".into() },
        ],
    );
    // Durable when the commit returns: the keys are in no file already.
    for key in &keys {
        assert_eq!(
            files_containing(dir.path(), key.as_slice()),
            Vec::<String>::new()
        );
    }
    drop(store);
    let store = reopen(dir.path());
    conformance::assert_gone(&store, "r");
    assert!(store.series().expect("series").is_empty());
    for key in &keys {
        assert_eq!(
            files_containing(dir.path(), key.as_slice()),
            Vec::<String>::new()
        );
    }
    for text in texts {
        assert_eq!(
            files_containing(dir.path(), text.as_bytes()),
            Vec::<String>::new()
        );
    }
}

fn cut_delete(after_keys: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("store");
    commit(&store, written_texts());
    commit(&store, conformance::whole_room("other"));
    let owners = [Owner::room("r"), Owner::series("s")];
    store.begin_delete(&owners).expect("step 1");
    if after_keys {
        store.destroy_keys(&owners).expect("step 2");
    }
    drop(store);
    let store = reopen(dir.path());
    conformance::assert_gone(&store, "r");
    assert!(store.series().expect("series").is_empty());
    assert!(store.trees.tombstones.is_empty());
    let ring = store.ring().expect("ring");
    assert!(owners.iter().all(|o| !ring.has(o)));
    drop(ring);
    assert_eq!(store.load("other").expect("untouched").events.len(), 3);
}

#[test]
fn open_finishes_a_delete_cut_after_its_tombstone() {
    cut_delete(false);
}

#[test]
fn open_finishes_a_delete_cut_after_its_key_is_destroyed() {
    cut_delete(true);
}

#[test]
fn open_refuses_a_missing_keyring_and_a_lost_key_is_reported_not_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("store");
    commit(&store, conformance::whole_room("lost"));
    commit(&store, conformance::whole_room("kept"));
    drop(store);
    let moved = dir.path().join("keys-elsewhere");
    std::fs::rename(dir.path().join("keys"), &moved).expect("move keys");
    // (Retried while sled still holds the lock from the handle just dropped.)
    let refused = (0..50)
        .find_map(|_| match SledStore::open(dir.path()) {
            Err(e) if e.to_string().contains("keys/") => Some(e),
            _ => {
                std::thread::sleep(std::time::Duration::from_millis(100));
                None
            }
        })
        .expect("refused without keys");
    assert!(refused.to_string().contains("keys/"), "{refused}");
    std::fs::remove_dir_all(dir.path().join("keys")).expect("remove new keys");
    std::fs::rename(&moved, dir.path().join("keys")).expect("restore keys");
    let store = reopen(dir.path());
    store
        .destroy_keys(&[Owner::room("lost")])
        .expect("lose a key");
    drop(store);
    // A key gone with no delete under way (no tombstone) is damage, not a delete: a clean
    // open does not look for it (that would read every room), and reading the room reports
    // it, naming the record, rather than serving it.
    let store = reopen(dir.path());
    let damaged = store.load("lost").expect_err("refused");
    assert!(
        damaged.to_string().contains("no longer exists"),
        "{damaged}"
    );
    assert_eq!(store.load("kept").expect("kept").events.len(), 3);
}

#[test]
fn a_value_over_sleds_blob_threshold_is_stored_in_chunks_and_no_blob_file_is_written() {
    // The premise: sled 0.34 puts a value this long in a file of its own under blobs/.
    let plain = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new().path(plain.path()).open().expect("sled");
    db.insert(b"k", vec![7u8; 200_000]).expect("insert");
    db.flush().expect("flush");
    assert!(
        std::fs::read_dir(plain.path().join("blobs"))
            .expect("blobs")
            .count()
            > 0
    );
    drop(db);

    let dir = tempfile::tempdir().expect("tempdir");
    let big = |i: usize| snapshot(&format!("room{i}"), &"long title ".repeat(20_000 + i));
    let store = SledStore::open(dir.path()).expect("store");
    for round in 0..3 {
        let writes = (0..12)
            .map(|i| Write::Snapshot {
                room: format!("room{i}"),
                snapshot: Box::new(big(i + round)),
            })
            .collect();
        commit(&store, writes);
    }
    drop(store);
    let store = reopen(dir.path());
    for i in 0..12 {
        let loaded = store.load(&format!("room{i}")).expect("load");
        assert_eq!(loaded.snapshot, Some(big(i + 2)));
    }
    let blobs = std::fs::read_dir(dir.path().join("blobs")).map_or(0, |d| d.count());
    assert_eq!(blobs, 0, "sled wrote blob files");
}

#[test]
fn values_written_by_earlier_versions_still_read() {
    let store = SledStore::temporary().expect("store");
    store
        .trees
        .rooms
        .insert("old", legacy(&record("old", "Before")))
        .expect("insert");
    let run = vec![event(1), event(2)];
    store
        .trees
        .events
        .insert(event_key("old", 1), legacy(&run))
        .expect("insert");
    store
        .trees
        .events
        .insert(event_key("old", 3), legacy(&event(3)))
        .expect("insert");
    store
        .trees
        .notes
        .insert("old", legacy(&notes("then")))
        .expect("insert");
    commit(&store, vec![events("old", 4..=5)]);
    assert_eq!(
        store.room("old").expect("room"),
        Some(record("old", "Before"))
    );
    let loaded = store.load("old").expect("load");
    let seqs: Vec<u64> = loaded.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert_eq!(loaded.notes, Some(notes("then")));
    // Runs of one commit are one record: 1..=2 and 3 (old), 4..=5 (new).
    assert_eq!(store.trees.events.scan_prefix(prefix("old")).count(), 3);
}

/// Plain JSON, as earlier versions wrote every value.
fn legacy<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("encode")
}

#[test]
fn a_record_that_fails_to_decode_or_holds_a_run_out_of_order_is_reported_with_its_key() {
    let store = SledStore::temporary().expect("store");
    let run = serde_json::to_vec(&vec![event(7), event(9)]).expect("encode");
    store
        .trees
        .events
        .insert(event_key("abc", 7), run)
        .expect("insert");
    let err = store.load("abc").expect_err("out of order");
    assert!(err.to_string().contains("roomid_seq_event:abc/7"), "{err}");
    store
        .trees
        .events
        .insert(event_key("abc", 7), b"{not json".to_vec())
        .expect("insert");
    let err = store.load("abc").expect_err("corrupt");
    assert!(err.to_string().contains("roomid_seq_event:abc/7"), "{err}");
    // A sealed record moved to another place does not open.
    commit(&store, vec![events("xyz", 1..=1), events("xyz", 3..=3)]);
    let moved = store
        .trees
        .events
        .get(event_key("xyz", 1))
        .expect("get")
        .expect("stored");
    store
        .trees
        .events
        .insert(event_key("xyz", 3), moved)
        .expect("insert");
    let err = store.load("xyz").expect_err("moved");
    assert!(err.to_string().contains("roomid_seq_event:xyz/3"), "{err}");
}
