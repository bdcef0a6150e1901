//! Opening the sled store with its integrity checked: the store-wide format version (refused
//! when newer than this binary reads), and sled's contents against the manifest (see
//! `manifest`): every room and series the manifest names must exist, and every room's log
//! must reach the last sequence number the manifest says was made durable. What is missing is
//! a [`Damage`] report; how it is handled is the caller's [`Mode`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::chunks::{self, db, printable};
use super::keyring::{Kind, Owner};
use super::manifest::{self, Manifest, State, FORMAT};
use super::sled_store::{event_key, SledStore, EVENTS};
use super::{seal, StoreError};

/// sled tree of store-wide facts.
pub(super) const META: &str = "meta";
/// Key of the records' format version in [`META`] (u32, big-endian). Absent: format 1.
const FORMAT_KEY: &[u8] = b"format";

/// What to do when the store is found damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse to open ([`OpenError::Damaged`]).
    Serve,
    /// Open, and refuse every read and write of the damaged rooms and series (they are never
    /// served, so a sequence number once acknowledged is never used again).
    ServeIntact,
    /// Open to verify only: the report is returned, nothing is repaired, finished, compacted
    /// or marked (`circlekeeper check`, on a copy of the data directory).
    Check,
}

/// Why the store was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// It could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// It lost records.
    #[error("{0}")]
    Damaged(Box<Damage>),
    /// A newer circlekeeper wrote it.
    #[error(
        "this store was written by a newer circlekeeper (format {found}); this one reads up to \
         format {known}: upgrade circlekeeper"
    )]
    Newer {
        /// The store's format.
        found: u32,
        /// The newest this binary reads.
        known: u32,
    },
}

impl From<OpenError> for StoreError {
    fn from(e: OpenError) -> StoreError {
        match e {
            OpenError::Store(e) => e,
            other => StoreError::Backend {
                reason: other.to_string(),
            },
        }
    }
}

/// What the store lost, compared with its manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damage {
    /// Rooms the manifest names that sled no longer holds, with their last durable seq.
    pub missing_rooms: Vec<(String, u64)>,
    /// Rooms whose log ends early: (id, last seq held, last seq made durable).
    pub short_rooms: Vec<(String, u64, u64)>,
    /// Rooms whose last events cannot be read: (id, why).
    pub unreadable_rooms: Vec<(String, String)>,
    /// Series the manifest names that sled no longer holds.
    pub missing_series: Vec<String>,
    /// Problems of the manifest itself.
    pub manifest: Vec<String>,
    /// Why sled cannot open its files at all (then nothing else was compared).
    pub engine: Option<String>,
}

impl Damage {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.missing_rooms.is_empty()
            && self.short_rooms.is_empty()
            && self.unreadable_rooms.is_empty()
            && self.missing_series.is_empty()
            && self.manifest.is_empty()
            && self.engine.is_none()
    }

    /// Whether records that were made durable are gone (rooms or series missing, logs cut
    /// short, the manifest damaged): the server refuses to start. A room whose last record
    /// is there but cannot be read is refused when it is loaded, so it alone does not stop
    /// the server.
    pub fn loses_records(&self) -> bool {
        !(self.missing_rooms.is_empty()
            && self.short_rooms.is_empty()
            && self.missing_series.is_empty()
            && self.manifest.is_empty()
            && self.engine.is_none())
    }

    /// Every problem, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(why) = &self.engine {
            out.push(format!("sled cannot read its files: {why}"));
        }
        for (id, seq) in &self.missing_rooms {
            out.push(format!(
                "room {id} is missing (it had events up to seq {seq})"
            ));
        }
        for (id, have, want) in &self.short_rooms {
            out.push(format!(
                "room {id} lost events: its log ends at seq {have}, seq {want} was acknowledged"
            ));
        }
        for (id, why) in &self.unreadable_rooms {
            out.push(format!("room {id} cannot be read: {why}"));
        }
        for id in &self.missing_series {
            out.push(format!("series {id} is missing"));
        }
        out.extend(self.manifest.iter().cloned());
        out
    }

    /// The rooms not to serve, and why.
    fn rooms(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (id, seq) in &self.missing_rooms {
            out.insert(id.clone(), format!("missing (seq {seq} was acknowledged)"));
        }
        for (id, have, want) in &self.short_rooms {
            out.insert(
                id.clone(),
                format!("log ends at seq {have}, {want} acknowledged"),
            );
        }
        for (id, why) in &self.unreadable_rooms {
            out.insert(id.clone(), why.clone());
        }
        out
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "the store is damaged: {} rooms missing, {} rooms with lost events, {} rooms \
             unreadable, {} series missing, {} manifest problems{}:",
            self.missing_rooms.len(),
            self.short_rooms.len(),
            self.unreadable_rooms.len(),
            self.missing_series.len(),
            self.manifest.len(),
            if self.engine.is_some() {
                ", and sled cannot open it"
            } else {
                ""
            }
        )?;
        for p in self.problems() {
            writeln!(f, "  - {p}")?;
        }
        if self.engine.is_some() {
            return write!(
                f,
                "Restore the data directory from a backup (`circlekeeper restore`): sled cannot \
                 open these files, so --serve-intact cannot serve any of it."
            );
        }
        write!(
            f,
            "Restore the data directory from a backup (`circlekeeper restore`), or start with \
             --serve-intact (CIRCLEKEEPER_SERVE_INTACT=true) to serve only the intact rooms \
             (the others answer room_unavailable). `circlekeeper check` lists the damage \
             without changing anything."
        )
    }
}

/// Ids of the records of a tree (continuation keys, which hold `0x00`, left out).
fn ids(tree: &sled::Tree) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for key in tree.iter().keys() {
        let key = key.map_err(db)?;
        if !key.contains(&0) {
            out.push(String::from_utf8_lossy(&key).into_owned());
        }
    }
    Ok(out)
}

/// Only the sequence number of a stored event.
#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// sled's own open failing: damage when it found corrupted data, else the error.
pub(super) fn engine_failed(e: sled::Error) -> OpenError {
    match e {
        e @ sled::Error::Corruption { .. } => OpenError::Damaged(Box::new(Damage {
            engine: Some(e.to_string()),
            ..Damage::default()
        })),
        other => OpenError::Store(db(other)),
    }
}

impl SledStore {
    /// Open the store's integrity: the format marker and the manifest, checked against sled.
    /// Called by `open` before any delete is finished or record removed.
    pub(super) fn examine(&self, dir: &Path, mode: Mode) -> Result<(State, Damage), OpenError> {
        let meta = self.db.open_tree(META).map_err(db)?;
        let marker = match meta.get(FORMAT_KEY).map_err(db)? {
            Some(v) => Some(
                <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Record {
                        key: format!("{META}:format"),
                        reason: "is not a format version".into(),
                    })?,
            ),
            None => None,
        };
        let read = manifest::read(&dir.join(manifest::FILE))?;
        let found = marker.unwrap_or(1).max(read.state.format);
        if found > FORMAT {
            return Err(OpenError::Newer {
                found,
                known: FORMAT,
            });
        }
        let mut claimed = read.state;
        for key in self.trees.tombstones.iter().keys() {
            let key = key.map_err(db)?;
            if let Some(owner) = Owner::from_bytes(&key) {
                match owner.kind {
                    Kind::Room => claimed.rooms.remove(&owner.id),
                    Kind::Series => claimed.series.remove(&owner.id).then_some(0),
                };
            }
        }
        let mut damage = Damage::default();
        for line in &read.damaged {
            damage
                .manifest
                .push(format!("manifest line {line} is damaged (checksum)"));
        }
        if !read.exists && marker.is_some() {
            damage.manifest.push(format!(
                "the manifest ({}) is missing, yet the store was written with one",
                manifest::FILE
            ));
        }
        let sled_rooms: BTreeSet<String> = ids(&self.trees.rooms)?.into_iter().collect();
        let sled_series: BTreeSet<String> = ids(&self.trees.series)?.into_iter().collect();
        for (id, &want) in &claimed.rooms {
            if !sled_rooms.contains(id) {
                damage.missing_rooms.push((id.clone(), want));
                continue;
            }
            match self.last_seq(id) {
                Ok(have) if have < want => damage.short_rooms.push((id.clone(), have, want)),
                Ok(_) => {}
                Err(e) => damage.unreadable_rooms.push((id.clone(), e.to_string())),
            }
        }
        for id in &claimed.series {
            if !sled_series.contains(id) {
                damage.missing_series.push(id.clone());
            }
        }
        if mode == Mode::Check {
            return Ok((claimed, damage));
        }
        if mode == Mode::Serve && damage.loses_records() {
            return Err(OpenError::Damaged(Box::new(damage)));
        }
        Ok((claimed, damage))
    }

    /// After deletes are finished: the manifest rewritten from what sled holds and what the
    /// old manifest claimed (a damaged room keeps its claim, so it stays damaged), the format
    /// marker set, and the damaged rooms and series remembered as never to be served.
    pub(super) fn settle(
        &mut self,
        dir: &Path,
        mut claimed: State,
        damage: &Damage,
    ) -> Result<(), StoreError> {
        for id in ids(&self.trees.rooms)? {
            let seq = self.last_seq(&id).unwrap_or(0);
            let at = claimed.rooms.entry(id).or_insert(0);
            *at = (*at).max(seq);
        }
        for id in ids(&self.trees.series)? {
            claimed.series.insert(id);
        }
        // Rooms and series no longer in sled (deletes just finished, keyless records removed)
        // leave the manifest, unless they are the damage.
        let rooms: BTreeSet<String> = ids(&self.trees.rooms)?.into_iter().collect();
        let series: BTreeSet<String> = ids(&self.trees.series)?.into_iter().collect();
        claimed.rooms.retain(|id, _| {
            rooms.contains(id) || damage.missing_rooms.iter().any(|(r, _)| r == id)
        });
        claimed
            .series
            .retain(|id| series.contains(id) || damage.missing_series.contains(id));
        let meta = self.db.open_tree(META).map_err(db)?;
        meta.insert(FORMAT_KEY, &FORMAT.to_be_bytes()).map_err(db)?;
        self.db.flush().map_err(db)?;
        let manifest = Manifest::rewrite(&dir.join(manifest::FILE), claimed)?;
        self.manifest = std::sync::Mutex::new(manifest);
        self.damaged = damage.rooms();
        self.damaged_series = damage.missing_series.iter().cloned().collect();
        Ok(())
    }

    /// The last event sequence number stored for `room` (0: none), read from its last record.
    pub(super) fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        let Some(first) = self.run_start(room, None)? else {
            return Ok(0);
        };
        let key = event_key(room, first);
        let Some(value) = chunks::get(&self.trees.events, EVENTS, &key)? else {
            return Ok(first);
        };
        let data_key = self.ring()?.get(&Owner::room(room));
        let plain = seal::open(data_key.as_ref(), EVENTS, &key, value, || printable(&key))?;
        let bad = |e: serde_json::Error| StoreError::Record {
            key: format!("{EVENTS}:{}", printable(&key)),
            reason: e.to_string(),
        };
        let first_byte = plain.iter().find(|b| !b.is_ascii_whitespace());
        if first_byte == Some(&b'[') {
            let run: Vec<SeqOnly> = serde_json::from_slice(&plain).map_err(bad)?;
            Ok(run.last().map_or(first, |e| e.seq))
        } else {
            let one: SeqOnly = serde_json::from_slice(&plain).map_err(bad)?;
            Ok(one.seq)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{conformance, Store, Write};

    /// Open `dir` with `mode`, retrying while sled still holds the lock of a dropped handle.
    fn open(dir: &Path, mode: Mode) -> Result<(SledStore, Damage), OpenError> {
        for _ in 0..50 {
            match SledStore::open_with(dir, mode) {
                Err(OpenError::Store(e)) if e.to_string().contains("lock") => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => return other,
            }
        }
        SledStore::open_with(dir, mode)
    }

    fn commit(store: &SledStore, writes: Vec<Write>) {
        store.write(&writes).expect("write");
        store.flush().expect("flush");
    }

    #[test]
    fn records_sled_lost_are_named_and_deletes_are_not_losses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, damage) = open(dir.path(), Mode::Serve).expect("a new store");
        assert!(damage.is_empty());
        for id in ["gone", "short", "kept", "deleted"] {
            commit(&store, conformance::whole_room(id));
        }
        commit(&store, vec![conformance::events("short", 4..=6)]);
        commit(
            &store,
            vec![Write::Delete {
                room: "deleted".into(),
            }],
        );
        // What sled dropping the end of its log looks like: records gone behind the store's
        // back (the manifest is not told).
        store.trees.rooms.remove("gone").expect("remove");
        store
            .trees
            .events
            .remove(event_key("short", 4))
            .expect("remove");
        store.db.flush().expect("flush");
        drop(store);

        let refused = open(dir.path(), Mode::Serve).err().expect("refused");
        let text = refused.to_string();
        assert!(
            text.contains("room gone is missing (it had events up to seq 3)"),
            "{text}"
        );
        assert!(
            text.contains("room short lost events: its log ends at seq 3, seq 6"),
            "{text}"
        );
        assert!(
            !text.contains("deleted") && !text.contains("room kept"),
            "{text}"
        );

        let (checked, damage) = open(dir.path(), Mode::Check).expect("checked");
        assert_eq!(damage.problems().len(), 2, "{damage}");
        drop(checked);

        let (store, damage) = open(dir.path(), Mode::ServeIntact).expect("served intact");
        assert_eq!(damage.problems().len(), 2);
        assert!(
            store.room("gone").is_err(),
            "a missing room is refused, not absent"
        );
        assert!(store.load("short").is_err());
        assert!(store.write(&[conformance::events("short", 4..=4)]).is_err());
        assert_eq!(store.load("kept").expect("kept").events.len(), 3);
        drop(store);
        // The damage stays known across restarts.
        assert!(open(dir.path(), Mode::Serve).is_err());
    }
}
