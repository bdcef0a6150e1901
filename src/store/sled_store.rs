//! The sled implementation of [`Store`]. See the key layout and the formats in the parent
//! module; writing and deleting live in `writes`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use circlekeeper_protocol::ParticipantId;

use super::chunks::{self, db, printable, Records};
use super::damage::{Damage, Mode, OpenError};
use super::keyring::{Keyring, Owner};
use super::manifest::Manifest;
use super::{seal, Loaded, RoomRecord, Snapshot, Store, StoreError, StoredEvent, Write};
use crate::series::SeriesRecord;

/// Tree of room records.
pub(super) const ROOMS: &str = "roomid_room";
/// Tree of event logs.
pub(super) const EVENTS: &str = "roomid_seq_event";
/// Tree of latest snapshots.
pub(super) const SNAPSHOTS: &str = "roomid_snapshot";
/// Tree of what people wrote, per room.
pub(super) const NOTES: &str = "roomid_notes";
/// Tree of series records.
pub(super) const SERIES: &str = "seriesid_series";
/// Tree of token hashes.
pub(super) const TOKENS: &str = "roomid_tokenhash_participant";
/// Tree of deletions under way.
pub(super) const TOMBSTONES: &str = "owner_tombstone";

/// The trees of the store.
pub(super) struct Trees {
    pub(super) rooms: sled::Tree,
    pub(super) events: sled::Tree,
    pub(super) snapshots: sled::Tree,
    pub(super) notes: sled::Tree,
    pub(super) series: sled::Tree,
    pub(super) tokens: sled::Tree,
    pub(super) tombstones: sled::Tree,
}

/// A sled database holding every room, and the keyring its values are sealed with.
pub struct SledStore {
    /// sled's log file, opened again so a flush can end with `fdatasync`: sled 0.34's own
    /// flush uses `sync_file_range` on Linux, which survives a process crash but neither
    /// flushes the disk's write cache nor the file's new length (a power cut could lose it).
    log: Option<std::fs::File>,
    pub(super) trees: Trees,
    /// Every data key. `write` holds it for its whole run, so writes are serialized; reads
    /// hold it only to copy a key.
    keyring: Mutex<Keyring>,
    pub(super) db: sled::Db,
    /// The manifest (see `manifest`): held for a whole `flush`, so flushes are serialized.
    pub(super) manifest: Mutex<Manifest>,
    /// Rooms found damaged at open (served with `--serve-intact`): every read and write of
    /// them is refused, and why.
    pub(super) damaged: BTreeMap<String, String>,
    /// Series found missing at open.
    pub(super) damaged_series: BTreeSet<String>,
}

/// sled's page cache. Rooms live in memory and the store is mostly written, read back only
/// when a room is restored or exported, so sled's 1 GiB default would be resident memory
/// spent on pages nobody reads: under steady load it grew the server by several KiB per
/// participant. 8 MiB (was 64, then 16) since resumes are served from a short tail in memory
/// and the store: at 64 MiB the cache was 2.6 KiB of each idle participant's memory at 2,250
/// rooms × 8, and it fills to its cap under load.
pub const CACHE_BYTES: u64 = 8 * 1024 * 1024;

impl SledStore {
    /// Open (or create) the store in `dir` (the database, and its keyring in `dir/keys`).
    /// Fails if another process holds it. Before it returns, every delete a crash
    /// interrupted is finished and records sealed with a key that no longer exists are
    /// removed; it refuses to start if `keys/` holds no shard while sealed records exist.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        Ok(SledStore::open_with(dir, Mode::Serve)?.0)
    }

    /// [`SledStore::open`], its integrity checked first (see `damage`): a store written by a
    /// newer format is refused; one that lost records the manifest names is refused with
    /// [`Mode::Serve`], opened with its damaged rooms refused with [`Mode::ServeIntact`], and
    /// only reported, nothing changed by this code, with [`Mode::Check`].
    pub fn open_with(dir: &Path, mode: Mode) -> Result<(SledStore, Damage), OpenError> {
        let config = sled::Config::new().path(dir).cache_capacity(CACHE_BYTES);
        // sled first: it takes the directory's lock, so the keyring is never touched while
        // another process holds the store.
        let sled = config.open().map_err(super::damage::engine_failed)?;
        let (keyring, fresh) = Keyring::open(&dir.join("keys"))?;
        let mut store = SledStore::from_db(sled, keyring)?;
        let log = std::fs::File::open(dir.join("db")).map_err(|e| StoreError::Backend {
            reason: format!("sled's log file cannot be opened for syncing: {e}"),
        })?;
        store.log = Some(log);
        if fresh && mode != Mode::Check {
            // A keyring lost or not restored with the database is refused as such (before the
            // manifest check would report every room unreadable); an empty store is untouched.
            store.remove_keyless(true)?;
        }
        let (claimed, damage) = store.examine(dir, mode)?;
        if mode == Mode::Check {
            return Ok((store, damage));
        }
        // Looking for keyless records reads one record of every room: only worth it when a
        // crash cut a delete short, or when the keyring is new (a backup restored without
        // `keys/` must be refused, not read as empty).
        let interrupted = store.finish_deletes()?;
        if interrupted {
            store.remove_keyless(fresh)?;
        }
        store.settle(dir, claimed, &damage)?;
        Ok((store, damage))
    }

    /// Refuse `room` if it was found damaged at open.
    pub(super) fn intact(&self, room: &str) -> Result<(), StoreError> {
        match self.damaged.get(room) {
            None => Ok(()),
            Some(why) => Err(StoreError::Record {
                key: format!("room {room}"),
                reason: format!("damaged, not served: {why}"),
            }),
        }
    }

    /// A throwaway store that lives in memory, keyring included (for tests and benches).
    pub fn temporary() -> Result<SledStore, StoreError> {
        let db = sled::Config::new().temporary(true).open().map_err(db)?;
        SledStore::from_db(db, Keyring::memory())
    }

    fn from_db(db: sled::Db, keyring: Keyring) -> Result<SledStore, StoreError> {
        let tree = |name: &str| db.open_tree(name).map_err(chunks::db);
        Ok(SledStore {
            log: None,
            trees: Trees {
                rooms: tree(ROOMS)?,
                events: tree(EVENTS)?,
                snapshots: tree(SNAPSHOTS)?,
                notes: tree(NOTES)?,
                series: tree(SERIES)?,
                tokens: tree(TOKENS)?,
                tombstones: tree(TOMBSTONES)?,
            },
            keyring: Mutex::new(keyring),
            db,
            manifest: Mutex::new(Manifest::none()),
            damaged: BTreeMap::new(),
            damaged_series: BTreeSet::new(),
        })
    }

    /// The manifest, for as long as the guard lives.
    pub(super) fn manifest(&self) -> Result<MutexGuard<'_, Manifest>, StoreError> {
        self.manifest.lock().map_err(|_| StoreError::Backend {
            reason: "the manifest lock is poisoned (a flush panicked)".into(),
        })
    }

    /// The keyring, for as long as the guard lives.
    pub(super) fn ring(&self) -> Result<MutexGuard<'_, Keyring>, StoreError> {
        self.keyring.lock().map_err(|_| StoreError::Backend {
            reason: "the keyring lock is poisoned (a write panicked)".into(),
        })
    }

    /// The value stored at `key` of `tree`, opened with `owner`'s key and decoded.
    fn open_value<T: serde::de::DeserializeOwned>(
        &self,
        owner: &Owner,
        tree: &str,
        key: &[u8],
        value: Vec<u8>,
    ) -> Result<T, StoreError> {
        let data_key = self.ring()?.get(owner);
        let plain = seal::open(data_key.as_ref(), tree, key, value, || printable(key))?;
        decode(tree, key, &plain)
    }

    /// One record of a tree keyed by the owner's id, opened and decoded.
    fn get_value<T: serde::de::DeserializeOwned>(
        &self,
        owner: &Owner,
        tree: &sled::Tree,
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        get_with(&*self.ring()?, owner, tree, name)
    }
}

/// One record of a tree keyed by the owner's id, opened with a key from `ring` and decoded.
pub(super) fn get_with<T: serde::de::DeserializeOwned>(
    ring: &Keyring,
    owner: &Owner,
    tree: &sled::Tree,
    name: &str,
) -> Result<Option<T>, StoreError> {
    let key = owner.id.as_bytes();
    let Some(raw) = chunks::get(tree, name, key)? else {
        return Ok(None);
    };
    let data_key = ring.get(owner);
    let plain = seal::open(data_key.as_ref(), name, key, raw, || printable(key))?;
    decode(name, key, &plain).map(Some)
}

/// `room ‖ 0x00`: the prefix of one room's records.
pub(super) fn prefix(room: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(room.len() + 41);
    key.extend_from_slice(room.as_bytes());
    key.push(0);
    key
}

/// `room ‖ 0x00 ‖ seq` (big-endian).
pub(super) fn event_key(room: &str, seq: u64) -> Vec<u8> {
    let mut key = prefix(room);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// JSON, naming the record only if it fails (the name costs an allocation).
pub(super) fn encode<T: serde::Serialize>(
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
        // serde_json's message names a position and what it expected, not the value.
        reason: e.to_string(),
    })
}

impl Store for SledStore {
    fn size_on_disk(&self) -> Option<u64> {
        super::size::sled_bytes(&self.db)
    }

    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.write_room(id, record)
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.write_all(writes)
    }

    fn flush(&self) -> Result<(), StoreError> {
        let mut manifest = self.manifest()?;
        // Taken before sled's sync, appended after it: the manifest never claims more than
        // sled holds. Appended without waiting for the disk (its own thread syncs it): the
        // acknowledgements wait for sled's sync only.
        let entries = manifest.take();
        let synced = self.db.flush().map_err(db).and_then(|_| match &self.log {
            Some(log) => log.sync_data().map_err(|e| StoreError::Backend {
                reason: format!("fdatasync of sled's log failed: {e}"),
            }),
            None => Ok(()),
        });
        match synced.and_then(|()| manifest.append(&entries)) {
            Ok(()) => Ok(()),
            Err(e) => {
                manifest.put_back(entries);
                Err(e)
            }
        }
    }

    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in Records::new(ROOMS, self.trees.rooms.iter()) {
            let (key, value) = item?;
            let id = String::from_utf8_lossy(&key).into_owned();
            let record = self.open_value(&Owner::room(&id), ROOMS, &key, value)?;
            out.push((id, record));
        }
        Ok(out)
    }

    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        self.intact(id)?;
        self.get_value(&Owner::room(id), &self.trees.rooms, ROOMS)
    }

    fn room_count(&self) -> Result<usize, StoreError> {
        // Every stored room has a key, held in memory: no record is read.
        Ok(self.ring()?.count(super::keyring::Kind::Room))
    }

    fn series(&self) -> Result<Vec<SeriesRecord>, StoreError> {
        let mut out = Vec::new();
        for item in Records::new(SERIES, self.trees.series.iter()) {
            let (key, value) = item?;
            let id = String::from_utf8_lossy(&key).into_owned();
            if self.damaged_series.contains(&id) {
                continue;
            }
            out.push(self.open_value(&Owner::series(&id), SERIES, &key, value)?);
        }
        Ok(out)
    }

    fn series_record(&self, id: &str) -> Result<Option<SeriesRecord>, StoreError> {
        if self.damaged_series.contains(id) {
            return Err(StoreError::Record {
                key: format!("series {id}"),
                reason: "damaged, not served: missing".into(),
            });
        }
        self.get_value(&Owner::series(id), &self.trees.series, SERIES)
    }

    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        self.load_from(id, None)
    }

    fn load_recent(&self, id: &str, keep: usize) -> Result<Loaded, StoreError> {
        self.load_from(id, Some(keep))
    }

    fn events_after(
        &self,
        id: &str,
        after: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.intact(id)?;
        let data_key = self.ring()?.get(&Owner::room(id));
        let p = prefix(id);
        // From the run that holds event `after + 1` (found from the keys alone), to the end.
        let start = match self.run_start(id, Some(after.saturating_add(2)))? {
            Some(seq) => event_key(id, seq),
            None => p.clone(),
        };
        let mut end = p;
        end.push(0xff);
        let mut events: Vec<StoredEvent> = Vec::new();
        for item in Records::new(EVENTS, self.trees.events.range(start..end)) {
            if events.len() >= max {
                break;
            }
            let (key, value) = item?;
            let run = read_run(data_key.as_ref(), id, &key, value)?;
            let room_left = max - events.len();
            events.extend(run.into_iter().filter(|e| e.seq > after).take(room_left));
        }
        Ok(events)
    }
}

impl SledStore {
    /// [`Store::load`] (`keep: None`) or [`Store::load_recent`]: with `keep`, the event scan
    /// starts at the run holding the first event needed, read from the keys alone.
    fn load_from(&self, id: &str, keep: Option<usize>) -> Result<Loaded, StoreError> {
        self.intact(id)?;
        let owner = Owner::room(id);
        let snapshot: Option<Snapshot> =
            self.get_value(&owner, &self.trees.snapshots, SNAPSHOTS)?;
        let mut events: Vec<StoredEvent> = Vec::new();
        let data_key = self.ring()?.get(&owner);
        let p = prefix(id);
        let start = match keep {
            None => p.clone(),
            Some(keep) => {
                let after = snapshot.as_ref().map_or(0, |s| s.room.seq());
                let last = self.run_start(id, None)?.unwrap_or(0);
                let needed = (after + 1).min(last.saturating_sub(keep as u64));
                match self.run_start(id, Some(needed + 1))? {
                    Some(seq) => event_key(id, seq),
                    None => p.clone(),
                }
            }
        };
        let mut end = p.clone();
        end.push(0xff);
        for item in Records::new(EVENTS, self.trees.events.range(start..end)) {
            let (key, value) = item?;
            events.extend(read_run(data_key.as_ref(), id, &key, value)?);
        }
        let mut tokens = Vec::new();
        let p = prefix(id);
        for item in self.trees.tokens.scan_prefix(&p) {
            let (key, value) = item.map_err(db)?;
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
        let notes = self.get_value(&owner, &self.trees.notes, NOTES)?;
        Ok(Loaded {
            snapshot,
            events,
            tokens,
            notes,
        })
    }

    /// The first sequence number of the last run of `room`'s events stored before event
    /// `before` (or of its last run, with `None`), read from keys alone: a run is stored under
    /// its first event's key, and its chunks (if any) under that key and more bytes.
    pub(super) fn run_start(
        &self,
        room: &str,
        before: Option<u64>,
    ) -> Result<Option<u64>, StoreError> {
        let p = prefix(room);
        let mut end = p.clone();
        match before {
            Some(seq) => end = event_key(room, seq),
            None => end.push(0xff),
        }
        let Some(last) = self.trees.events.range(p.clone()..end).keys().next_back() else {
            return Ok(None);
        };
        let key = last.map_err(db)?;
        Ok(key
            .get(p.len()..p.len() + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes))
    }
}

/// One record of the events tree, opened with the room's `data_key`: a run of events (a JSON
/// array) or a single event, checked to be stored under its first event's key, in order.
fn read_run(
    data_key: Option<&super::keyring::DataKey>,
    room: &str,
    key: &[u8],
    value: Vec<u8>,
) -> Result<Vec<StoredEvent>, StoreError> {
    let plain = seal::open(data_key, EVENTS, key, value, || printable(key))?;
    let first = plain.iter().find(|b| !b.is_ascii_whitespace());
    let run: Vec<StoredEvent> = if first == Some(&b'[') {
        decode(EVENTS, key, &plain)?
    } else {
        vec![decode(EVENTS, key, &plain)?]
    };
    check_run(room, key, &run)?;
    Ok(run)
}

/// A run of events must be stored under its first event's key, in consecutive order.
fn check_run(room: &str, key: &[u8], run: &[StoredEvent]) -> Result<(), StoreError> {
    let bad = |reason: String| StoreError::Record {
        key: format!("{EVENTS}:{}", printable(key)),
        reason,
    };
    let Some(head) = run.first() else {
        return Err(bad("holds no event".into()));
    };
    if key != event_key(room, head.seq).as_slice() {
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
    Ok(())
}
