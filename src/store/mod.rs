//! Durable storage behind a small trait: room records, each room's event log, snapshots, and
//! the token index. The sled implementation lives in `sled_store` (writes and deletes in
//! `writes`), the default; the PostgreSQL one (`--store postgres://…`) in [`postgres`], with
//! the same records, sealed the same way, in tables; the group-commit thread that makes writes durable before anything is
//! acknowledged lives in [`committer`]. What every backend must do is stated, as code, in
//! [`conformance`].
//!
//! ## Key layout (sled trees)
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `roomid_room` | room id (UTF-8) | sealed JSON [`RoomRecord`] (room key) |
//! | `roomid_seq_event` | room id ‖ `0x00` ‖ seq (u64, big-endian) | sealed JSON [`StoredEvent`], or a JSON array of the consecutive events from `seq` on that one commit wrote (room key) |
//! | `roomid_snapshot` | room id | sealed JSON [`Snapshot`], the latest only (room key) |
//! | `roomid_notes` | room id (UTF-8) | sealed JSON `Notes`: commitments, feedback, survey answers, private ones included, never in an event (room key) |
//! | `seriesid_series` | series id (UTF-8) | sealed JSON `SeriesRecord`: members with key hashes, sessions, pairing history, commitments (series key) |
//! | `roomid_tokenhash_participant` | room id ‖ `0x00` ‖ SHA-256 of the token (32 bytes) | participant id (u32, big-endian), not sealed |
//! | `owner_tombstone` | `r` or `s` ‖ room or series id | empty: a delete under way |
//!
//! Room ids never contain `0x00`, so a prefix scan of `room id ‖ 0x00` reads one room's records
//! and nothing else; big-endian sequence numbers make that scan replay events in order. Tokens
//! are never stored, only their hashes. Events carry structure (who, roles, stages, timings),
//! prompts, names, and the commitments and feedback their authors chose to share; private
//! notes live only in `roomid_notes` (and in the room's snapshot), never in an event.
//!
//! ## Value formats
//!
//! The first byte of a stored value says what it is:
//!
//! | first byte | format |
//! | --- | --- |
//! | `{` or `[` | plain JSON, written by versions before encryption at rest; still read, never written |
//! | `0x01` | sealed: `0x01 ‖ nonce (24 random bytes) ‖ XChaCha20-Poly1305(JSON) ‖ tag (16 bytes)`, with associated data `tree name ‖ 0x00 ‖ record key`, so a value moved to another record or tree does not open |
//! | `0x02` | chunked: `0x02 ‖ parts (u32, big-endian) ‖ first part`; part `i` (from 1) at `key ‖ 0x00 ‖ i (u32, big-endian)`; the parts put together are a value of the formats above |
//!
//! No record given to sled is longer than 4 KiB: sled 0.34 writes a log message over
//! `segment_size / 4 − 20` bytes (a whole tree node, when it consolidates a page) to an
//! unsynced file under `blobs/`; chunks keep every node under that, so no blob file is ever
//! written and a flush covers everything (see `chunks`).
//!
//! ## Keys
//!
//! Every room and every series has its own random 256-bit data key, made on its first sealed
//! write. Keys are not in sled (which keeps old values in its log segments) but in
//! `<data dir>/keys/shard-00` … `shard-63`, a key's shard chosen by SHA-256 of its owner; a
//! shard that changes is written to a temporary file, synced, renamed over the old one, and
//! the directory synced. All keys are also held in memory. [`SledStore::temporary`] keeps its
//! keys in memory only.
//!
//! ## Deleting
//!
//! [`Write::Delete`] (a room) and [`Write::DeleteSeries`] (a series record; its rooms are
//! deleted one by one by the caller) go in four steps, each durable before the next: a
//! tombstone and a flush; the key destroyed (its shard rewritten and synced); the records
//! removed from every tree; the tombstone removed. The key is gone from disk before `write`
//! returns. [`SledStore::open`] finishes every delete it finds a tombstone for and then (only
//! then: it reads one record of every room) removes the records of any room or series that has
//! sealed records but no key. It refuses to start if `keys/` holds no shard file while sealed
//! records exist (keys lost, or a backup of the database restored without its `keys/`), rather
//! than remove everything. A clean open reads no record: it counts the rooms by their keys.
//!
//! ## What an operator can read in the data directory
//!
//! Without the keys, nothing people wrote: titles, names, ground rules, notes, commitments,
//! feedback, snapshots and series records are sealed. Visible are room and series ids, token
//! hashes with participant numbers, how many records each room has, their sizes, and (in sled's
//! log) roughly when they were written. With `keys/` (same machine, same backup), everything
//! of a room that is not deleted. Of a deleted room or series, nothing: its key is in no file,
//! so the copies sled keeps until it reclaims its segments are unreadable. Beyond files: a
//! destroyed key's bytes may linger in freed disk blocks, filesystem journals, SSD spare
//! blocks, or backups and snapshots of the data directory taken before the delete; encrypt
//! the disk and keep backups short-lived for those. Values written by earlier versions stay
//! plain JSON until their room is deleted, and their old copies in sled's segments until sled
//! reclaims them.

mod chunks;
pub mod committer;
#[doc(hidden)]
pub mod conformance;
pub mod damage;
mod event_json;
mod keyring;
pub mod leases;
mod manifest;
pub mod postgres;
pub mod reopen;
mod seal;
mod size;
mod sled_store;
#[cfg(test)]
mod tests;
mod writes;

use circlekeeper_protocol::{CommandId, Event, Millis, ParticipantId};
use serde::{Deserialize, Serialize};

use crate::room::{Recorded, Room, RoomSetup};
use crate::secret::KeptKey;
pub use committer::{Chain, Committer, Durable};
pub use damage::{Damage, Mode as OpenMode, OpenError};
pub use event_json::EventJson;
pub use keyring::{Kind as OwnerKind, Owner};
pub use leases::{Claim, Leases};
pub use postgres::PgStore;
pub use reopen::Reopening;
pub use sled_store::SledStore;

/// A room as stored: how it was opened and the hashes of its link keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    /// How the room was opened.
    pub setup: RoomSetup,
    /// SHA-256 of the join key.
    pub join_key_hash: [u8; 32],
    /// SHA-256 of the host key.
    pub host_key_hash: [u8; 32],
    /// The current join key itself (the record is sealed with the room's key), for
    /// `show_link`; [`KeptKey::Unknown`] in rooms opened before keys were kept.
    #[serde(default)]
    pub join_key: KeptKey,
    /// When the room was opened.
    pub created_at: Millis,
    /// When the session ended, once it has.
    #[serde(default)]
    pub ended_at: Option<Millis>,
    /// The series the room belongs to, if any.
    #[serde(default)]
    pub series: Option<String>,
}

/// The command an event answered, kept so that a retried command is applied once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// Who sent it.
    pub participant: ParticipantId,
    /// The command id they chose.
    pub id: CommandId,
}

/// A stored event: the same fields as [`Recorded`], plus the command it answered (on the last
/// event of that command only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Sequence number.
    pub seq: u64,
    /// When.
    pub at: Millis,
    /// What.
    pub event: Event,
    /// The command this event completed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// `event`'s JSON when the room already made it (its frame): written as it is.
    #[serde(skip)]
    pub json: EventJson,
}

impl StoredEvent {
    /// The stored form of an event.
    pub fn new(r: &Recorded, origin: Option<Origin>) -> StoredEvent {
        StoredEvent {
            seq: r.seq,
            at: r.at,
            event: r.event.clone(),
            origin,
            json: EventJson::default(),
        }
    }

    /// The in-memory form.
    pub fn recorded(&self) -> Recorded {
        Recorded {
            seq: self.seq,
            at: self.at,
            event: self.event.clone(),
        }
    }
}

/// A room's whole state at a sequence number, so a restart replays only what came after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The room, as of its own `seq`.
    pub room: Room,
}

/// One durable write.
#[derive(Debug, Clone)]
pub enum Write {
    /// A new room's record.
    Room {
        /// The record (its id is `record.setup.id`).
        record: Box<RoomRecord>,
    },
    /// Events appended to a room's log.
    Events {
        /// The room.
        room: String,
        /// The events, in order.
        events: Vec<StoredEvent>,
    },
    /// A participant's token hash.
    Token {
        /// The room.
        room: String,
        /// SHA-256 of the token.
        hash: [u8; 32],
        /// Who it belongs to.
        participant: ParticipantId,
    },
    /// The latest snapshot of a room.
    Snapshot {
        /// The room.
        room: String,
        /// The snapshot.
        snapshot: Box<Snapshot>,
    },
    /// A series record (created or changed).
    Series {
        /// The record.
        record: Box<crate::series::SeriesRecord>,
    },
    /// What people wrote in a room (kept beside its event log, never in it).
    Notes {
        /// The room.
        room: String,
        /// Everything written there.
        notes: Box<crate::room::state::Notes>,
    },
    /// Everything kept of a room is removed.
    Delete {
        /// The room.
        room: String,
    },
    /// A room's link keys changed (`rotate_link`, `revoke_link`): its record's hashes are
    /// replaced, so a restart restores the new ones.
    Keys {
        /// The room.
        room: String,
        /// SHA-256 of the join key.
        join: [u8; 32],
        /// SHA-256 of the host key.
        host: [u8; 32],
        /// The join key now (sealed with the record).
        join_key: KeptKey,
    },
    /// The room's session ended.
    Ended {
        /// The room.
        room: String,
        /// When.
        at: Millis,
    },
    /// A series' record is removed and its key destroyed. Its rooms are not touched: delete
    /// each of them with [`Write::Delete`] (in the same batch or before).
    DeleteSeries {
        /// The series id.
        series: String,
    },
    /// The writes of `owner` in this batch are made under its lease with this fence (several
    /// nodes): a store with leases commits them only if the lease still has this node and
    /// fence, in the same transaction, and otherwise refuses them with
    /// [`StoreError::Fenced`]. A store without leases ignores it.
    Fence {
        /// The room or series.
        owner: Owner,
        /// The fence its lease was claimed with.
        fence: u64,
    },
}

impl Write {
    /// The room or series this write belongs to.
    pub fn owner(&self) -> Owner {
        match self {
            Write::Room { record } => Owner::room(&record.setup.id),
            Write::Series { record } => Owner::series(&record.id),
            Write::DeleteSeries { series } => Owner::series(series),
            Write::Events { room, .. }
            | Write::Token { room, .. }
            | Write::Snapshot { room, .. }
            | Write::Notes { room, .. }
            | Write::Delete { room }
            | Write::Keys { room, .. }
            | Write::Ended { room, .. } => Owner::room(room),
            Write::Fence { owner, .. } => owner.clone(),
        }
    }
}

/// Everything needed to bring one room back.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The latest snapshot, if one was taken.
    pub snapshot: Option<Snapshot>,
    /// Every stored event, in order (restore replays those after the snapshot and keeps the
    /// recent ones for resume).
    pub events: Vec<StoredEvent>,
    /// Token hashes and their participants.
    pub tokens: Vec<([u8; 32], ParticipantId)>,
    /// What people wrote, if anything.
    pub notes: Option<crate::room::state::Notes>,
}

/// What can go wrong in the store. The message names the record, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine or the disk failed.
    #[error("storage failed: {reason}")]
    Backend {
        /// What failed, as the engine put it (never a record's contents).
        reason: String,
    },
    /// A record could not be encoded or decoded.
    #[error("record {key} could not be read or written: {reason}")]
    Record {
        /// The record's key, printable.
        key: String,
        /// Why.
        reason: String,
    },
    /// The commit thread has stopped (the server is shutting down).
    #[error("the store is closed")]
    Closed,
    /// Another node holds the lease of these rooms or series now (several nodes): nothing of
    /// the batch was written; the caller drops their writes and may write the rest again.
    #[error("the lease of {} is held by another node", owners.iter().map(Owner::lease_key).collect::<Vec<_>>().join(", "))]
    Fenced {
        /// Whose writes were refused.
        owners: Vec<Owner>,
    },
}

impl StoreError {
    /// Whether the store could not be reached or could not write (the database is down, the
    /// disk refuses writes), rather than a record being damaged: worth trying again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Backend { .. } | StoreError::Closed)
    }
}

/// Durable storage for rooms.
pub trait Store: Send + Sync + 'static {
    /// Save a new room record (or replace one).
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError>;
    /// Apply writes, without waiting for the disk.
    fn write(&self, writes: &[Write]) -> Result<(), StoreError>;
    /// Make everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// Every room record.
    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError>;
    /// One room's snapshot, events and tokens.
    fn load(&self, id: &str) -> Result<Loaded, StoreError>;
    /// What bringing a room back needs: like [`Store::load`], but of the events only those
    /// after the snapshot and at least the last `keep` (for resumes), in order. The default
    /// reads every event and drops the older ones; a backend should not read them.
    fn load_recent(&self, id: &str, keep: usize) -> Result<Loaded, StoreError> {
        let mut loaded = self.load(id)?;
        let after = loaded.snapshot.as_ref().map_or(0, |s| s.room.seq());
        let from = loaded.events.len().saturating_sub(keep);
        let first_needed = loaded
            .events
            .iter()
            .position(|e| e.seq > after)
            .map_or(from, |i| i.min(from));
        loaded.events.drain(..first_needed);
        Ok(loaded)
    }
    /// A room's stored events after sequence number `after`, in order, at most `max` of them:
    /// what a resume that reaches further back than the room's in-memory tail replays. Only
    /// events already durable are asked for. The default reads every event (through
    /// [`Store::load`]) and keeps those; a backend should read from `after` on only.
    fn events_after(
        &self,
        id: &str,
        after: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .load(id)?
            .events
            .into_iter()
            .filter(|e| e.seq > after)
            .take(max)
            .collect())
    }
    /// Every series record.
    fn series(&self) -> Result<Vec<crate::series::SeriesRecord>, StoreError>;
    /// One room record, if stored (to load a room on first use). The default scans
    /// [`Store::rooms`]; a backend should look the one record up.
    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        Ok(self
            .rooms()?
            .into_iter()
            .find(|(k, _)| k == id)
            .map(|(_, r)| r))
    }
    /// How many rooms are stored (for the server's room limit, at start). The default counts
    /// [`Store::rooms`]; a backend should count without reading every record.
    fn room_count(&self) -> Result<usize, StoreError> {
        Ok(self.rooms()?.len())
    }
    /// Leases of rooms and series, when several nodes share this store (PostgreSQL); `None`
    /// for a store one process owns (sled).
    fn leases(&self) -> Option<&dyn Leases> {
        None
    }
    /// One series record, if stored. The default scans [`Store::series`]; a backend should
    /// look the one record up.
    fn series_record(&self, id: &str) -> Result<Option<crate::series::SeriesRecord>, StoreError> {
        Ok(self.series()?.into_iter().find(|r| r.id == id))
    }
    /// Make the store take writes again after one failed (a full disk, a database that went
    /// away): `Ok` once a write can succeed. The commit thread calls it, with backoff, until it
    /// does. The default tries an empty write and a flush; [`Reopening`] opens the store again.
    fn recover(&self) -> Result<(), StoreError> {
        self.write(&[])?;
        self.flush()
    }
    /// The store's size on disk in bytes, for `/metrics` (called at most every few seconds;
    /// should not read records). `None` (the default) when the backend does not tell.
    fn size_on_disk(&self) -> Option<u64> {
        None
    }
}
