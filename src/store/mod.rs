//! Durable storage behind a small trait: room records, each room's event log, and the token
//! index. The sled implementation lives in [`sled_store`].
//!
//! ## Key layout (sled trees)
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `roomid_room` | room id (UTF-8) | JSON [`RoomRecord`] |
//! | `roomid_seq_event` | room id (UTF-8) ‖ `0x00` ‖ seq (u64, big-endian) | JSON [`Recorded`] |
//! | `tokenhash_participant` | SHA-256 of the token (32 bytes) | room id (UTF-8) ‖ `0x00` ‖ participant id (u32, big-endian) |
//!
//! Big-endian sequence numbers make a prefix scan of one room replay its events in order.
//! Tokens are never stored, only their hashes.

mod sled_store;

use circlekeeper_protocol::{Event, Millis, ParticipantId};
use serde::{Deserialize, Serialize};

use crate::room::{Recorded, RoomSetup};
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
    /// When the room was opened.
    pub created_at: Millis,
}

/// A stored event (the same fields as [`Recorded`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Sequence number.
    pub seq: u64,
    /// When.
    pub at: Millis,
    /// What.
    pub event: Event,
}

impl From<&Recorded> for StoredEvent {
    fn from(r: &Recorded) -> Self {
        StoredEvent {
            seq: r.seq,
            at: r.at,
            event: r.event.clone(),
        }
    }
}

/// What can go wrong in the store. The message names the record, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("storage failed: {0}")]
    Db(#[from] sled::Error),
    /// A record could not be encoded or decoded.
    #[error("record {key} could not be read or written: {reason}")]
    Record {
        /// The record's key, printable.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Durable storage for rooms.
pub trait Store: Send + Sync + 'static {
    /// Save a new room.
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError>;
    /// Append events to a room's log.
    fn append(&self, room: &str, events: &[Recorded]) -> Result<(), StoreError>;
    /// Index a participant token by its hash.
    fn put_token(&self, hash: &[u8; 32], room: &str, who: ParticipantId) -> Result<(), StoreError>;
    /// Make everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;
}
