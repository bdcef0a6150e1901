//! The sled implementation of [`Store`]. See the key layout in the parent module.

use std::path::Path;

use circlekeeper_protocol::ParticipantId;

use super::{RoomRecord, Store, StoreError, StoredEvent};
use crate::room::Recorded;

/// Tree of room records.
const ROOMS: &str = "roomid_room";
/// Tree of event logs.
const EVENTS: &str = "roomid_seq_event";
/// Tree of token hashes.
const TOKENS: &str = "tokenhash_participant";

/// A sled database holding every room.
pub struct SledStore {
    rooms: sled::Tree,
    events: sled::Tree,
    tokens: sled::Tree,
    db: sled::Db,
}

impl SledStore {
    /// Open (or create) the store in `dir`. Fails if another process holds it.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new().path(dir).open()?;
        Ok(SledStore {
            rooms: db.open_tree(ROOMS)?,
            events: db.open_tree(EVENTS)?,
            tokens: db.open_tree(TOKENS)?,
            db,
        })
    }

    /// A throwaway store that lives in memory (for tests and benches).
    pub fn temporary() -> Result<SledStore, StoreError> {
        let db = sled::Config::new().temporary(true).open()?;
        Ok(SledStore {
            rooms: db.open_tree(ROOMS)?,
            events: db.open_tree(EVENTS)?,
            tokens: db.open_tree(TOKENS)?,
            db,
        })
    }
}

/// `room ‖ 0x00 ‖ seq` (big-endian).
fn event_key(room: &str, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(room.len() + 9);
    key.extend_from_slice(room.as_bytes());
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn encode<T: serde::Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Record {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

impl Store for SledStore {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.rooms.insert(id.as_bytes(), encode(id, record)?)?;
        Ok(())
    }

    fn append(&self, room: &str, events: &[Recorded]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for r in events {
            let value = encode(&format!("{room}/{}", r.seq), &StoredEvent::from(r))?;
            batch.insert(event_key(room, r.seq), value);
        }
        self.events.apply_batch(batch)?;
        Ok(())
    }

    fn put_token(&self, hash: &[u8; 32], room: &str, who: ParticipantId) -> Result<(), StoreError> {
        let mut value = Vec::with_capacity(room.len() + 5);
        value.extend_from_slice(room.as_bytes());
        value.push(0);
        value.extend_from_slice(&who.to_be_bytes());
        self.tokens.insert(hash, value)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
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
    }
}
