//! Writing to the sled store, and deleting from it so that nothing readable is left.
//!
//! One `write` gathers its writes per tree, seals what can hold text, creates the keys it
//! needs, and applies one batch per tree (a small one key by key, see `chunks::Batch`). A
//! delete takes four steps, each durable before the next, so that a crash at any point is
//! finished by the next `open`:
//!
//! 1. a tombstone for the room or series, and a flush;
//! 2. its key destroyed: the keyring shard rewritten and synced (the records are unreadable
//!    from here on, wherever sled still keeps old copies of them);
//! 3. its records removed from every tree;
//! 4. the tombstone removed.
//!
//! Keys created and destroyed by one `write` are persisted together, each touched shard
//! rewritten once, before any record sealed with a new key reaches sled.

use std::collections::{BTreeMap, HashMap};

use tracing::warn;

use super::chunks::{self, db, Batch, CHUNKED};
use super::event_json;
use super::keyring::{Keyring, Kind, Owner};
use super::manifest::Entry;
use super::seal::{self, SEALED};
use super::sled_store::{
    encode, event_key, get_with, prefix, SledStore, Trees, EVENTS, NOTES, ROOMS, SERIES, SNAPSHOTS,
};
use super::{RoomRecord, Snapshot, StoreError, StoredEvent, Write};
use crate::room::state::Notes;
use crate::series::SeriesRecord;

/// One batch per tree (see [`chunks::Batch`]: each is applied key by key unless it holds a
/// record of several keys or a delete's removals).
#[derive(Default)]
struct Batches {
    rooms: Batch,
    events: Batch,
    snapshots: Batch,
    notes: Batch,
    series: Batch,
    tokens: Batch,
}

impl Batches {
    /// Apply each batch to its tree (an empty one costs nothing).
    fn apply(self, trees: &Trees) -> Result<(), StoreError> {
        for (batch, tree) in [
            (self.rooms, &trees.rooms),
            (self.events, &trees.events),
            (self.snapshots, &trees.snapshots),
            (self.notes, &trees.notes),
            (self.series, &trees.series),
            (self.tokens, &trees.tokens),
        ] {
            batch.apply(tree)?;
        }
        Ok(())
    }
}

/// The events of one `write`, gathered per room into runs of consecutive sequence numbers:
/// each run is one record (a lone event is stored alone, a longer run as a JSON array under
/// the key of its first event), so a busy room costs the tree one insert per commit rather
/// than one per event.
#[derive(Default)]
struct Runs<'a> {
    runs: Vec<(&'a str, Vec<&'a StoredEvent>)>,
    /// The run each room's next event may extend.
    open: HashMap<&'a str, usize>,
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
}

/// What one `write` changes, the latest value per record.
#[derive(Default)]
struct Staged<'a> {
    runs: Runs<'a>,
    snapshots: BTreeMap<&'a str, &'a Snapshot>,
    notes: BTreeMap<&'a str, &'a Notes>,
    series: BTreeMap<&'a str, &'a SeriesRecord>,
    /// Room records as they will be; `None`: none is stored.
    rooms: BTreeMap<String, Option<RoomRecord>>,
    batches: Batches,
}

/// `value` as JSON, sealed with `owner`'s key (made now if it has none) for its place.
fn seal_json<T: serde::Serialize>(
    ring: &mut Keyring,
    owner: &Owner,
    tree: &str,
    key: &[u8],
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    let plain = zeroize::Zeroizing::new(encode(|| format!("{tree}:{}", owner.id), value)?);
    seal::seal(&ring.get_or_create(owner)?, tree, key, &plain)
}

impl<'a> Staged<'a> {
    /// The record of `room` as this write leaves it so far.
    fn room(
        &mut self,
        store: &SledStore,
        ring: &Keyring,
        room: &str,
    ) -> Result<&mut Option<RoomRecord>, StoreError> {
        if !self.rooms.contains_key(room) {
            let owner = Owner::room(room);
            let stored = get_with(ring, &owner, &store.trees.rooms, ROOMS)?;
            self.rooms.insert(room.to_string(), stored);
        }
        Ok(self.rooms.entry(room.to_string()).or_default())
    }

    fn add(&mut self, store: &SledStore, ring: &Keyring, w: &'a Write) -> Result<(), StoreError> {
        match w {
            Write::Events { room, events } => {
                for e in events {
                    self.runs.add(room, e);
                }
            }
            Write::Token {
                room,
                hash,
                participant,
            } => {
                let mut key = prefix(room);
                key.extend_from_slice(hash);
                self.batches.tokens.insert(key, &participant.to_be_bytes());
            }
            Write::Snapshot { room, snapshot } => {
                self.snapshots.insert(room, snapshot);
            }
            Write::Notes { room, notes } => {
                self.notes.insert(room, notes);
            }
            Write::Series { record } => {
                self.series.insert(&record.id, record);
            }
            Write::Room { record } => {
                self.rooms
                    .insert(record.setup.id.clone(), Some((**record).clone()));
            }
            Write::Keys {
                room,
                join,
                host,
                join_key,
            } => {
                if let Some(record) = self.room(store, ring, room)? {
                    record.join_key_hash = *join;
                    record.host_key_hash = *host;
                    record.join_key = join_key.clone();
                }
            }
            Write::Ended { room, at } => {
                if let Some(record) = self.room(store, ring, room)? {
                    record.ended_at = Some(*at);
                }
            }
            // Done before any other write (see `write_all`); one process owns a sled store, so
            // there is no lease to check.
            Write::Delete { .. } | Write::DeleteSeries { .. } | Write::Fence { .. } => {}
        }
        Ok(())
    }

    /// Seal every staged value into the batches, persist the keyring, apply the batches.
    fn commit(mut self, store: &SledStore, ring: &mut Keyring) -> Result<(), StoreError> {
        let trees = &store.trees;
        let b = &mut self.batches;
        // One buffer for every run's JSON (zeroed when dropped).
        let mut plain = zeroize::Zeroizing::new(Vec::new());
        for (room, run) in self.runs.runs.drain(..) {
            let Some(first) = run.first().map(|e| e.seq) else {
                continue;
            };
            let owner = Owner::room(room);
            let key = event_key(room, first);
            plain.clear();
            event_json::encode(&run, &mut plain)?;
            let value = seal::seal(&ring.get_or_create(&owner)?, EVENTS, &key, &plain)?;
            chunks::put(&mut b.events, &key, &value)?;
        }
        for (room, snapshot) in self.snapshots {
            let sealed = seal_json(
                ring,
                &Owner::room(room),
                SNAPSHOTS,
                room.as_bytes(),
                snapshot,
            )?;
            chunks::replace(&trees.snapshots, &mut b.snapshots, room.as_bytes(), &sealed)?;
        }
        for (room, notes) in self.notes {
            let sealed = seal_json(ring, &Owner::room(room), NOTES, room.as_bytes(), notes)?;
            chunks::replace(&trees.notes, &mut b.notes, room.as_bytes(), &sealed)?;
        }
        for (id, record) in self.series {
            let sealed = seal_json(ring, &Owner::series(id), SERIES, id.as_bytes(), record)?;
            chunks::replace(&trees.series, &mut b.series, id.as_bytes(), &sealed)?;
        }
        for (id, record) in &self.rooms {
            if let Some(record) = record {
                let sealed = seal_json(ring, &Owner::room(id), ROOMS, id.as_bytes(), record)?;
                chunks::replace(&trees.rooms, &mut b.rooms, id.as_bytes(), &sealed)?;
            }
        }
        ring.persist()?;
        self.batches.apply(trees)
    }
}

impl SledStore {
    /// Save one room record (`put_room`).
    pub(super) fn write_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        let mut ring = self.ring()?;
        self.intact(id)?;
        let mut staged = Staged::default();
        staged.rooms.insert(id.to_string(), Some(record.clone()));
        staged.commit(self, &mut ring)?;
        self.manifest()?.room(id, 0);
        Ok(())
    }

    /// `write`: deletes first (a write before a delete of the same room or series in the
    /// batch would be removed by it, so it is dropped; one after it starts afresh under a new
    /// key), then everything else.
    pub(super) fn write_all(&self, writes: &[Write]) -> Result<(), StoreError> {
        let mut ring = self.ring()?;
        let mut doomed: HashMap<Owner, usize> = HashMap::new();
        for (i, w) in writes.iter().enumerate() {
            if matches!(w, Write::Delete { .. } | Write::DeleteSeries { .. }) {
                doomed.insert(w.owner(), i);
            } else if w.owner().kind == Kind::Room {
                // A damaged room is never written to: its acknowledged sequence numbers are
                // never used again.
                self.intact(&w.owner().id)?;
            }
        }
        let owners: Vec<Owner> = doomed.keys().cloned().collect();
        let mut staged = Staged::default();
        if !owners.is_empty() {
            self.begin_delete(&owners)?;
            for owner in &owners {
                ring.destroy(owner);
                self.queue_removal(owner, &mut staged.batches)?;
                if owner.kind == Kind::Room {
                    staged.rooms.insert(owner.id.clone(), None);
                }
            }
        }
        for (i, w) in writes.iter().enumerate() {
            if !doomed.is_empty() && doomed.get(&w.owner()).is_some_and(|&last| i <= last) {
                continue;
            }
            staged.add(self, &ring, w)?;
        }
        staged.commit(self, &mut ring)?;
        self.note(writes, &doomed)?;
        self.end_delete(&owners)
    }

    /// What `writes` made exist, noted in the manifest (appended at the next flush).
    fn note(&self, writes: &[Write], doomed: &HashMap<Owner, usize>) -> Result<(), StoreError> {
        let mut manifest = self.manifest()?;
        for (i, w) in writes.iter().enumerate() {
            if doomed.get(&w.owner()).is_some_and(|&last| i <= last) {
                continue;
            }
            match w {
                Write::Room { record } => manifest.room(&record.setup.id, 0),
                Write::Events { room, events } => {
                    if let Some(last) = events.iter().map(|e| e.seq).max() {
                        manifest.room(room, last);
                    }
                }
                Write::Series { record } => manifest.series(&record.id),
                _ => {}
            }
        }
        Ok(())
    }

    /// Delete step 1: a tombstone for each owner, durable.
    pub(super) fn begin_delete(&self, owners: &[Owner]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for owner in owners {
            batch.insert(owner.to_bytes(), &[]);
        }
        self.trees.tombstones.apply_batch(batch).map_err(db)?;
        super::Store::flush(self)?;
        let gone = owners
            .iter()
            .map(|o| match o.kind {
                Kind::Room => Entry::RoomGone { id: o.id.clone() },
                Kind::Series => Entry::SeriesGone { id: o.id.clone() },
            })
            .collect();
        self.manifest()?.gone(gone)
    }

    /// Delete step 2: each owner's key destroyed, on disk too.
    pub(super) fn destroy_keys(&self, owners: &[Owner]) -> Result<(), StoreError> {
        let mut ring = self.ring()?;
        for owner in owners {
            ring.destroy(owner);
        }
        ring.persist()
    }

    /// Delete step 4: the tombstones removed.
    fn end_delete(&self, owners: &[Owner]) -> Result<(), StoreError> {
        if owners.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for owner in owners {
            batch.remove(owner.to_bytes());
        }
        self.trees.tombstones.apply_batch(batch).map_err(db)
    }

    /// Delete step 3, into `batches`: every record of `owner`.
    fn queue_removal(&self, owner: &Owner, b: &mut Batches) -> Result<(), StoreError> {
        let t = &self.trees;
        let id = owner.id.as_bytes();
        match owner.kind {
            Kind::Series => {
                b.series.keep_together();
                chunks::remove(&t.series, &mut b.series, id)
            }
            Kind::Room => {
                // A room's records go as one step per tree, however few they are.
                let all = [
                    &mut b.rooms,
                    &mut b.snapshots,
                    &mut b.notes,
                    &mut b.events,
                    &mut b.tokens,
                ];
                for batch in all {
                    batch.keep_together();
                }
                chunks::remove(&t.rooms, &mut b.rooms, id)?;
                chunks::remove(&t.snapshots, &mut b.snapshots, id)?;
                chunks::remove(&t.notes, &mut b.notes, id)?;
                for (tree, batch) in [(&t.events, &mut b.events), (&t.tokens, &mut b.tokens)] {
                    for key in tree.scan_prefix(prefix(&owner.id)).keys() {
                        batch.remove(key.map_err(db)?);
                    }
                }
                Ok(())
            }
        }
    }

    /// Steps 2 to 4 of every delete that has a tombstone (a crash interrupted it). Answers
    /// whether there was any.
    pub(super) fn finish_deletes(&self) -> Result<bool, StoreError> {
        let mut owners = Vec::new();
        for key in self.trees.tombstones.iter().keys() {
            let key = key.map_err(db)?;
            let owner = Owner::from_bytes(&key).ok_or_else(|| StoreError::Record {
                key: format!(
                    "{}:{}",
                    super::sled_store::TOMBSTONES,
                    chunks::printable(&key)
                ),
                reason: "names no room or series".into(),
            })?;
            owners.push(owner);
        }
        if owners.is_empty() {
            return Ok(false);
        }
        warn!(count = owners.len(), "finishing deletes a stop interrupted");
        self.destroy_keys(&owners)?;
        self.remove_records(&owners)?;
        self.end_delete(&owners)?;
        super::Store::flush(self)?;
        Ok(true)
    }

    fn remove_records(&self, owners: &[Owner]) -> Result<(), StoreError> {
        let mut batches = Batches::default();
        for owner in owners {
            self.queue_removal(owner, &mut batches)?;
        }
        batches.apply(&self.trees)
    }

    /// Remove the records of every room and series that has sealed records but no key: they
    /// can never be read again. If the keyring has no shard file at all (its directory was
    /// missing or emptied) and such records exist, refuse instead: the keys were lost or not
    /// restored with the database, and removing would make that final.
    pub(super) fn remove_keyless(&self, fresh_keyring: bool) -> Result<(), StoreError> {
        let t = &self.trees;
        let mut keyless = std::collections::BTreeSet::new();
        {
            let ring = self.ring()?;
            let trees = [
                (Kind::Room, &t.rooms),
                (Kind::Room, &t.events),
                (Kind::Room, &t.snapshots),
                (Kind::Room, &t.notes),
                (Kind::Series, &t.series),
            ];
            for (kind, tree) in trees {
                for (id, sealed) in first_records(tree)? {
                    let owner = Owner { kind, id };
                    if sealed && !ring.has(&owner) {
                        keyless.insert(owner);
                    }
                }
            }
        }
        if keyless.is_empty() {
            return Ok(());
        }
        if fresh_keyring {
            return Err(StoreError::Backend {
                reason: format!(
                    "keys/ holds no key file, yet {} rooms or series have sealed records: \
                     restore keys/ from the same backup as the database",
                    keyless.len()
                ),
            });
        }
        warn!(
            count = keyless.len(),
            "removing records whose key no longer exists"
        );
        let owners: Vec<Owner> = keyless.into_iter().collect();
        self.remove_records(&owners)?;
        super::Store::flush(self)
    }
}

/// The id of every room (or series) with records in `tree`, and whether its first record is
/// sealed. Skips from one id to the next, so it reads one record per id, not all of them.
fn first_records(tree: &sled::Tree) -> Result<Vec<(String, bool)>, StoreError> {
    let mut out = Vec::new();
    let mut from: Vec<u8> = Vec::new();
    while let Some(item) = tree.range(from.as_slice()..).next() {
        let (key, value) = item.map_err(db)?;
        let id = key.split(|&b| b == 0).next().unwrap_or_default();
        let sealed = matches!(value.first(), Some(&SEALED | &CHUNKED));
        out.push((String::from_utf8_lossy(id).into_owned(), sealed));
        from = id.to_vec();
        from.push(1);
    }
    Ok(out)
}
