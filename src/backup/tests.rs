//! Backups written from and restored into in-memory sled stores: what goes in comes out, and
//! a file that is cut, changed or inconsistent is refused before anything is written.

use super::*;
use crate::store::conformance::{events, notes, record, series, snapshot};
use crate::store::SledStore;

/// Two rooms (one with a long log, a snapshot, notes and tokens) and a series.
fn filled() -> SledStore {
    let store = SledStore::temporary().expect("a store");
    let mut writes = vec![
        Write::Room {
            record: Box::new(record("long", "Long room")),
        },
        events("long", 1..=300),
        Write::Snapshot {
            room: "long".into(),
            snapshot: Box::new(snapshot("long", "Long room")),
        },
        Write::Notes {
            room: "long".into(),
            notes: Box::new(notes("a promise")),
        },
        Write::Room {
            record: Box::new(record("short", "Short room")),
        },
        events("short", 1..=3),
        Write::Series {
            record: Box::new(series("s1", "Mo")),
        },
    ];
    for p in 1..=3u32 {
        writes.push(Write::Token {
            room: "long".into(),
            hash: crate::secret::hash(&format!("token {p}")),
            participant: p,
        });
    }
    store.write(&writes).expect("write");
    store.flush().expect("flush");
    store
}

/// Everything a store holds, as JSON text, in a stable order.
fn everything(store: &dyn Store) -> String {
    let mut out = Vec::new();
    write(store, &mut out, 7, true).expect("a backup");
    // The same store read twice writes the same bytes: compare those.
    String::from_utf8(out).expect("UTF-8")
}

fn backup_of(store: &dyn Store) -> Vec<u8> {
    let mut out = Vec::new();
    let counts = write(store, &mut out, 7, false).expect("a backup");
    assert_eq!(counts.rooms, 2);
    assert_eq!(counts.series, 1);
    assert_eq!(counts.events, 303);
    assert_eq!(counts.tokens, 3);
    out
}

#[test]
fn a_restored_store_holds_what_was_backed_up() {
    let original = filled();
    let bytes = backup_of(&original);
    assert_eq!(verify(&bytes[..]).expect("verifies").rooms, 2);
    let target = SledStore::temporary().expect("a store");
    let counts = restore(&target, || Ok(&bytes[..])).expect("restores");
    assert_eq!(counts.events, 303);
    assert_eq!(everything(&target), everything(&original));
    let loaded = target.load("long").expect("loads");
    assert_eq!(loaded.tokens.len(), 3);
    assert_eq!(loaded.notes, Some(notes("a promise")));
}

#[test]
fn a_store_that_holds_anything_is_not_restored_into() {
    let bytes = backup_of(&filled());
    let target = filled();
    let e = restore(&target, || Ok(&bytes[..])).expect_err("not empty");
    assert!(
        matches!(
            e,
            BackupError::NotEmpty {
                rooms: 2,
                series: 1
            }
        ),
        "{e}"
    );
}

#[test]
fn a_backup_cut_anywhere_is_refused_as_truncated() {
    let bytes = backup_of(&filled());
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    let mut cuts: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).collect();
    cuts.pop(); // the whole file
    cuts.extend([1, bytes.len() / 2, bytes.len() - 1]);
    for cut in cuts {
        let e = verify(&bytes[..cut]).expect_err("cut short");
        assert!(
            matches!(e, BackupError::Truncated { .. }),
            "cut at {cut} of {}: {e}",
            bytes.len()
        );
    }
    assert!(matches!(verify(&b""[..]), Err(BackupError::NotABackup)));
}

#[test]
fn a_changed_byte_a_newer_version_or_a_gap_is_refused() {
    let bytes = backup_of(&filled());
    let text = String::from_utf8(bytes).expect("UTF-8");

    let changed = text.replacen("Short room", "Short roon", 1);
    let e = verify(changed.as_bytes()).expect_err("changed");
    assert!(e.to_string().contains("checksum"), "{e}");

    let newer = text.replacen("\"version\":1", "\"version\":9", 1);
    assert!(matches!(
        verify(newer.as_bytes()),
        Err(BackupError::Newer { found: 9 })
    ));

    // Event 2 of the short room taken out (and the checksum made to match): not rebuildable.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let short = lines
        .iter()
        .position(|l| l.contains("\"id\":\"short\""))
        .expect("the short room's line");
    let mut entry: serde_json::Value = serde_json::from_str(&lines[short]).expect("JSON");
    let events = entry["room"]["events"].as_array_mut().expect("events");
    events.remove(1);
    lines[short] = entry.to_string();
    let mut digest = Digest256::default();
    for l in &lines[..lines.len() - 1] {
        digest.update(format!("{l}\n").as_bytes());
    }
    let mut trailer: serde_json::Value =
        serde_json::from_str(&lines[lines.len() - 1]).expect("JSON");
    trailer["end"]["events"] = serde_json::json!(302);
    trailer["end"]["sha256"] = serde_json::json!(digest.hex());
    let last = lines.len() - 1;
    lines[last] = trailer.to_string();
    let gap = lines.join("\n") + "\n";
    let e = verify(gap.as_bytes()).expect_err("a gap");
    assert!(
        matches!(&e, BackupError::Inconsistent { room, .. } if room == "short"),
        "{e}"
    );
}

#[test]
fn the_checked_file_is_renamed_into_place_and_a_failed_one_leaves_nothing() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("b.backup");
    let store = filled();
    let counts =
        write_file_atomically(&path, |w| write(&store, w, 7, true).map(drop)).expect("written");
    assert_eq!(counts.rooms, 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("the file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let failed = dir.path().join("c.backup");
    let e = write_file_atomically(&failed, |w| {
        w.write_all(b"{\"format\":\"circlekeeper-backup\",\"version\":1}\n")?;
        Ok(())
    })
    .expect_err("no trailer");
    assert!(matches!(e, BackupError::Truncated { .. }), "{e}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("b.backup")]);
}

/// A store whose room "short" reads differently (or fails) for its first reads, as when a
/// server writes to it, or deletes it, while the backup reads it.
struct Busy {
    inner: SledStore,
    /// Reads of "short" still to come out torn: one event fewer.
    torn: std::sync::atomic::AtomicUsize,
    /// Reads of "short" still to fail.
    failing: std::sync::atomic::AtomicUsize,
}

impl Busy {
    fn new(torn: usize, failing: usize) -> Busy {
        Busy {
            inner: filled(),
            torn: torn.into(),
            failing: failing.into(),
        }
    }
}

/// Take one from `n` if it is above zero: whether it was.
fn take_one(n: &std::sync::atomic::AtomicUsize) -> bool {
    use std::sync::atomic::Ordering;
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

impl Store for Busy {
    fn put_room(&self, id: &str, record: &crate::store::RoomRecord) -> Result<(), StoreError> {
        self.inner.put_room(id, record)
    }
    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.inner.write(writes)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
    fn rooms(&self) -> Result<Vec<(String, crate::store::RoomRecord)>, StoreError> {
        self.inner.rooms()
    }
    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        let mut loaded = self.inner.load(id)?;
        if id == "short" {
            if take_one(&self.failing) {
                return Err(StoreError::Record {
                    key: "short".into(),
                    reason: "its key is gone (a delete under way)".into(),
                });
            }
            if take_one(&self.torn) {
                // Each torn read differs from the one before it.
                let cut = self.torn.load(std::sync::atomic::Ordering::SeqCst) % 2 + 1;
                loaded.events.truncate(3 - cut);
            }
        }
        Ok(loaded)
    }
    fn series(&self) -> Result<Vec<crate::series::SeriesRecord>, StoreError> {
        self.inner.series()
    }
}

/// The short room's events in a backup.
fn short_events(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let line = text
        .lines()
        .find(|l| l.contains("\"id\":\"short\""))
        .expect("the short room");
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    v["room"]["events"].as_array().expect("events").len()
}

#[test]
fn a_room_read_while_it_changes_is_read_again_until_two_reads_agree() {
    let store = Busy::new(5, 0);
    let mut out = Vec::new();
    write(&store, &mut out, 7, false).expect("a backup");
    assert_eq!(short_events(&out), 3, "the settled room, not a torn read");

    // One read only (the store reads a room in one transaction, or nobody writes).
    let store = Busy::new(1, 0);
    let mut out = Vec::new();
    write(&store, &mut out, 7, true).expect("a backup");
    assert_eq!(short_events(&out), 2);

    // A room that never settles fails the backup, naming it.
    let store = Busy::new(usize::MAX, 0);
    let e = write(&store, &mut Vec::new(), 7, false).expect_err("unsettled");
    assert!(
        matches!(&e, BackupError::Unsettled { room } if room == "short"),
        "{e}"
    );
}

#[test]
fn a_room_that_fails_to_read_for_a_moment_is_read_again() {
    let store = Busy::new(0, 2);
    let mut out = Vec::new();
    write(&store, &mut out, 7, false).expect("a backup");
    assert_eq!(short_events(&out), 3);
    assert!(verify(&out[..]).is_ok());

    // One that keeps failing fails the backup with the store's error.
    let store = Busy::new(0, usize::MAX);
    let e = write(&store, &mut Vec::new(), 7, false).expect_err("unreadable");
    assert!(e.to_string().contains("short"), "{e}");
}
