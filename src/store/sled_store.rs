//! The sled implementation of [`Store`]. See the key layout in the parent module.

use std::path::Path;

use circlekeeper_protocol::ParticipantId;

use super::{Loaded, RoomRecord, Snapshot, Store, StoreError, StoredEvent, Write};

/// Tree of room records.
const ROOMS: &str = "roomid_room";
/// Tree of event logs.
const EVENTS: &str = "roomid_seq_event";
/// Tree of latest snapshots.
const SNAPSHOTS: &str = "roomid_snapshot";
/// Tree of what people wrote, per room.
const NOTES: &str = "roomid_notes";
/// Tree of series records.
const SERIES: &str = "seriesid_series";
/// Tree of token hashes.
const TOKENS: &str = "roomid_tokenhash_participant";

/// A sled database holding every room.
pub struct SledStore {
    /// sled's log file, opened again so a flush can end with `fdatasync`: sled 0.34's own
    /// flush uses `sync_file_range` on Linux, which survives a process crash but neither
    /// flushes the disk's write cache nor the file's new length (a power cut could lose it).
    log: Option<std::fs::File>,
    series: sled::Tree,
    notes: sled::Tree,
    rooms: sled::Tree,
    events: sled::Tree,
    snapshots: sled::Tree,
    tokens: sled::Tree,
    db: sled::Db,
}

/// sled's page cache. Rooms live in memory and the store is mostly written, read back only
/// when a room is restored or exported, so sled's 1 GiB default would be resident memory
/// spent on pages nobody reads: under steady load it grew the server by several KiB per
/// participant.
pub const CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl SledStore {
    /// Open (or create) the store in `dir`. Fails if another process holds it.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let config = sled::Config::new().path(dir).cache_capacity(CACHE_BYTES);
        let mut store = SledStore::from_db(config.open()?)?;
        let log = std::fs::File::open(dir.join("db")).map_err(|e| StoreError::Record {
            key: "db".into(),
            reason: format!("sled's log file cannot be opened for syncing: {e}"),
        })?;
        store.log = Some(log);
        Ok(store)
    }

    /// A throwaway store that lives in memory (for tests and benches).
    pub fn temporary() -> Result<SledStore, StoreError> {
        SledStore::from_db(sled::Config::new().temporary(true).open()?)
    }

    fn from_db(db: sled::Db) -> Result<SledStore, StoreError> {
        Ok(SledStore {
            log: None,
            series: db.open_tree(SERIES)?,
            notes: db.open_tree(NOTES)?,
            rooms: db.open_tree(ROOMS)?,
            events: db.open_tree(EVENTS)?,
            snapshots: db.open_tree(SNAPSHOTS)?,
            tokens: db.open_tree(TOKENS)?,
            db,
        })
    }

    /// Change a stored room record in place; a room no longer stored (deleted) is left alone.
    fn update_room(
        &self,
        room: &str,
        change: impl FnOnce(&mut RoomRecord),
    ) -> Result<(), StoreError> {
        if let Some(raw) = self.rooms.get(room.as_bytes())? {
            let mut record: RoomRecord = decode(ROOMS, room.as_bytes(), &raw)?;
            change(&mut record);
            self.put_room(room, &record)?;
        }
        Ok(())
    }
}

/// `room ‖ 0x00`: the prefix of one room's records.
fn prefix(room: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(room.len() + 41);
    key.extend_from_slice(room.as_bytes());
    key.push(0);
    key
}

/// `room ‖ 0x00 ‖ seq` (big-endian).
fn event_key(room: &str, seq: u64) -> Vec<u8> {
    let mut key = prefix(room);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// A printable form of a key, for error messages.
fn printable(key: &[u8]) -> String {
    match key.iter().position(|&b| b == 0) {
        Some(i) if key.len() == i + 9 => {
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&key[i + 1..]);
            format!(
                "{}/{}",
                String::from_utf8_lossy(&key[..i]),
                u64::from_be_bytes(seq)
            )
        }
        Some(i) => format!("{}/…", String::from_utf8_lossy(&key[..i])),
        None => String::from_utf8_lossy(key).into_owned(),
    }
}

fn encode<T: serde::Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    encode_named(|| key.to_string(), value)
}

/// [`encode`], naming the record only if it fails (the name costs an allocation).
fn encode_named<T: serde::Serialize>(
    key: impl FnOnce() -> String,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Record {
        key: key(),
        reason: e.to_string(),
    })
}

fn decode<T: serde::de::DeserializeOwned>(
    tree: &str,
    key: &[u8],
    value: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Record {
        key: format!("{tree}:{}", printable(key)),
        reason: e.to_string(),
    })
}

/// The events of one `write`, gathered per room into runs of consecutive sequence numbers:
/// each run is one record (a lone event is stored as before, a longer run as a JSON array
/// under the key of its first event), so a busy room costs the tree one insert per commit
/// rather than one per event.
#[derive(Default)]
struct Runs<'a> {
    runs: Vec<(&'a str, Vec<&'a StoredEvent>)>,
    /// The run each room's next event may extend.
    open: std::collections::HashMap<&'a str, usize>,
}

impl<'a> Runs<'a> {
    fn add(&mut self, room: &'a str, event: &'a StoredEvent) {
        if let Some(&i) = self.open.get(room) {
            if let Some((_, run)) = self.runs.get_mut(i) {
                if run.last().is_some_and(|last| last.seq + 1 == event.seq) {
                    run.push(event);
                    return;
                }
            }
        }
        self.open.insert(room, self.runs.len());
        self.runs.push((room, vec![event]));
    }

    /// Put every run into `batch` and start again.
    fn put(&mut self, batch: &mut sled::Batch) -> Result<(), StoreError> {
        self.open.clear();
        for (room, run) in self.runs.drain(..) {
            let (first, value) = match run.as_slice() {
                [] => continue,
                [one] => (
                    one.seq,
                    encode_named(|| format!("{room}/{}", one.seq), one)?,
                ),
                [head, ..] => (
                    head.seq,
                    encode_named(|| format!("{room}/{}", head.seq), &run)?,
                ),
            };
            batch.insert(event_key(room, first), value);
        }
        Ok(())
    }
}

impl SledStore {
    /// Remove every record of a room from every tree.
    fn delete(&self, room: &str) -> Result<(), StoreError> {
        self.rooms.remove(room.as_bytes())?;
        self.snapshots.remove(room.as_bytes())?;
        self.notes.remove(room.as_bytes())?;
        for tree in [&self.events, &self.tokens] {
            let mut batch = sled::Batch::default();
            for key in tree.scan_prefix(prefix(room)).keys() {
                batch.remove(key?);
            }
            tree.apply_batch(batch)?;
        }
        Ok(())
    }
}

impl Store for SledStore {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.rooms.insert(id.as_bytes(), encode(id, record)?)?;
        Ok(())
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        let mut events = sled::Batch::default();
        let mut tokens = sled::Batch::default();
        let mut runs = Runs::default();
        for w in writes {
            if let Write::Delete { .. } = w {
                // Everything written before the delete goes first, so nothing outlives it.
                runs.put(&mut events)?;
                self.events.apply_batch(std::mem::take(&mut events))?;
                self.tokens.apply_batch(std::mem::take(&mut tokens))?;
            }
            match w {
                Write::Events { room, events: list } => {
                    for e in list {
                        runs.add(room, e);
                    }
                }
                Write::Token {
                    room,
                    hash,
                    participant,
                } => {
                    let mut key = prefix(room);
                    key.extend_from_slice(hash);
                    tokens.insert(key, &participant.to_be_bytes());
                }
                Write::Snapshot { room, snapshot } => {
                    self.snapshots
                        .insert(room.as_bytes(), encode(room, snapshot)?)?;
                }
                Write::Room { record } => self.put_room(&record.setup.id, record)?,
                Write::Notes { room, notes } => {
                    self.notes.insert(room.as_bytes(), encode(room, notes)?)?;
                }
                Write::Series { record } => {
                    self.series
                        .insert(record.id.as_bytes(), encode(&record.id, record)?)?;
                }
                Write::Delete { room } => self.delete(room)?,
                Write::DeleteSeries { series } => {
                    self.series.remove(series.as_bytes())?;
                }
                Write::Keys { room, join, host } => self.update_room(room, |record| {
                    record.join_key_hash = *join;
                    record.host_key_hash = *host;
                })?,
                Write::Ended { room, at } => {
                    self.update_room(room, |record| record.ended_at = Some(*at))?
                }
            }
        }
        runs.put(&mut events)?;
        self.events.apply_batch(events)?;
        self.tokens.apply_batch(tokens)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        if let Some(log) = &self.log {
            log.sync_data().map_err(|e| StoreError::Record {
                key: "db".into(),
                reason: format!("fdatasync failed: {e}"),
            })?;
        }
        Ok(())
    }

    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.rooms.iter() {
            let (key, value) = item?;
            let id = String::from_utf8_lossy(&key).into_owned();
            out.push((id, decode(ROOMS, &key, &value)?));
        }
        Ok(out)
    }

    fn series(&self) -> Result<Vec<crate::series::SeriesRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.series.iter() {
            let (key, value) = item?;
            out.push(decode(SERIES, &key, &value)?);
        }
        Ok(out)
    }

    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        match self.rooms.get(id.as_bytes())? {
            Some(raw) => Ok(Some(decode(ROOMS, id.as_bytes(), &raw)?)),
            None => Ok(None),
        }
    }

    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        let snapshot = match self.snapshots.get(id.as_bytes())? {
            Some(raw) => Some(decode::<Snapshot>(SNAPSHOTS, id.as_bytes(), &raw)?),
            None => None,
        };
        let mut events: Vec<StoredEvent> = Vec::new();
        for item in self.events.scan_prefix(prefix(id)) {
            let (key, value) = item?;
            let first = value.iter().find(|b| !b.is_ascii_whitespace());
            let run: Vec<StoredEvent> = if first == Some(&b'[') {
                decode(EVENTS, &key, &value)?
            } else {
                vec![decode(EVENTS, &key, &value)?]
            };
            let bad = |reason: String| StoreError::Record {
                key: format!("{EVENTS}:{}", printable(&key)),
                reason,
            };
            let Some(head) = run.first() else {
                return Err(bad("holds no event".into()));
            };
            if key.as_ref() != event_key(id, head.seq).as_slice() {
                return Err(bad(format!(
                    "holds event {} under another sequence number",
                    head.seq
                )));
            }
            if let Some(w) = run.windows(2).find(|w| w[1].seq != w[0].seq + 1) {
                return Err(bad(format!(
                    "holds event {} after event {}",
                    w[1].seq, w[0].seq
                )));
            }
            events.extend(run);
        }
        let mut tokens = Vec::new();
        let p = prefix(id);
        for item in self.tokens.scan_prefix(&p) {
            let (key, value) = item?;
            let (Ok(hash), Ok(pid)) = (
                <[u8; 32]>::try_from(&key[p.len()..]),
                <[u8; 4]>::try_from(value.as_ref()),
            ) else {
                return Err(StoreError::Record {
                    key: format!("{TOKENS}:{}", printable(&key)),
                    reason: "malformed token record".into(),
                });
            };
            tokens.push((hash, ParticipantId::from_be_bytes(pid)));
        }
        let notes = match self.notes.get(id.as_bytes())? {
            Some(raw) => Some(decode(NOTES, id.as_bytes(), &raw)?),
            None => None,
        };
        Ok(Loaded {
            snapshot,
            events,
            tokens,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_sort_by_sequence_within_a_room() {
        let a = event_key("r", 2);
        let b = event_key("r", 10);
        let c = event_key("r", 256);
        assert!(a < b && b < c);
        assert!(event_key("r", u64::MAX) < event_key("r\u{1}", 0));
        assert_eq!(printable(&event_key("room", 258)), "room/258");
    }

    fn event(seq: u64) -> StoredEvent {
        StoredEvent {
            seq,
            at: seq * 10,
            event: circlekeeper_protocol::Event::PlanChanged {
                presenter_order: vec![1, 2],
                plan: Vec::new(),
                seed: Some(seq),
                stage_index: None,
            },
            origin: None,
        }
    }

    fn events(room: &str, seqs: std::ops::RangeInclusive<u64>) -> Write {
        Write::Events {
            room: room.into(),
            events: seqs.map(event).collect(),
        }
    }

    #[test]
    fn runs_of_events_are_stored_together_and_read_back_in_order() {
        let store = SledStore::temporary().expect("store");
        // An older store kept one record per event: those still read.
        store
            .events
            .insert(event_key("a", 1), encode("a", &event(1)).expect("encode"))
            .expect("insert");
        store
            .write(&[
                events("a", 2..=3),
                events("b", 1..=1),
                events("a", 4..=4),
                events("b", 2..=5),
            ])
            .expect("write");
        store.write(&[events("a", 5..=5)]).expect("write");
        // a: 1 (old), 2..=4 (one run across two writes of one commit), 5 (alone).
        assert_eq!(store.events.scan_prefix(prefix("a")).count(), 3);
        let seqs = |room| -> Vec<u64> {
            let loaded = store.load(room).expect("load");
            loaded.events.iter().map(|e| e.seq).collect()
        };
        assert_eq!(seqs("a"), vec![1, 2, 3, 4, 5]);
        assert_eq!(seqs("b"), vec![1, 2, 3, 4, 5]);
        assert_eq!(store.load("a").expect("load").events[3], event(4));
        store
            .write(&[Write::Delete { room: "a".into() }])
            .expect("delete");
        assert!(store.load("a").expect("load").events.is_empty());
    }

    #[test]
    fn new_link_hashes_replace_the_stored_ones_and_leave_the_rest_of_the_record() {
        let store = SledStore::temporary().expect("store");
        let setup = crate::room::RoomSetup {
            id: "abc".into(),
            title: "Tuesday set".into(),
            format: crate::formats::builtin("coaching_circle").expect("built-in"),
            ground_rules: "Confidential.".into(),
            warn_before_ms: 60_000,
            pairing: Default::default(),
            earlier: Vec::new(),
        };
        let record = RoomRecord {
            setup,
            join_key_hash: [1; 32],
            host_key_hash: [2; 32],
            created_at: 5,
            ended_at: None,
            series: Some("s".into()),
        };
        store.put_room("abc", &record).expect("put");
        store
            .write(&[
                Write::Keys {
                    room: "abc".into(),
                    join: [3; 32],
                    host: [4; 32],
                },
                Write::Ended {
                    room: "abc".into(),
                    at: 9,
                },
                // A room no longer stored is left alone, not recreated.
                Write::Keys {
                    room: "gone".into(),
                    join: [5; 32],
                    host: [6; 32],
                },
            ])
            .expect("write");
        let rooms = store.rooms().expect("rooms");
        let expected = RoomRecord {
            join_key_hash: [3; 32],
            host_key_hash: [4; 32],
            ended_at: Some(9),
            ..record
        };
        assert_eq!(rooms, vec![("abc".to_string(), expected)]);
    }

    #[test]
    fn a_run_out_of_order_is_reported_with_its_key() {
        let store = SledStore::temporary().expect("store");
        let run = vec![event(7), event(9)];
        store
            .events
            .insert(
                event_key("abc", 7),
                serde_json::to_vec(&run).expect("encode"),
            )
            .expect("insert");
        let err = store.load("abc").expect_err("out of order");
        assert!(err.to_string().contains("roomid_seq_event:abc/7"), "{err}");
    }

    #[test]
    fn a_record_that_fails_to_decode_is_reported_with_its_key() {
        let store = SledStore::temporary().expect("store");
        store
            .events
            .insert(event_key("abc", 7), b"{not json".to_vec())
            .expect("insert");
        let err = store.load("abc").expect_err("corrupt");
        assert!(err.to_string().contains("roomid_seq_event:abc/7"), "{err}");
    }
}
