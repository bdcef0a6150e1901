//! Rebuilding a room from what its store holds: the latest snapshot (or a fresh room), the
//! notes, and every event after the snapshot replayed. The server restores live rooms with it
//! at start; exports read stored rooms with it. It knows rooms and stored records, nothing of
//! sockets or HTTP.

use crate::room::Room;
use crate::store::{Loaded, RoomRecord};

/// An event log that skips a sequence number: the room cannot be rebuilt from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("its event log has a gap: event {found} where {expected} was due")]
pub struct Gap {
    /// The sequence number found.
    pub found: u64,
    /// The sequence number that was due.
    pub expected: u64,
}

/// A room as its store holds it: the latest snapshot (or a fresh room), the notes, and every
/// event after the snapshot replayed. Fails, naming the gap, when the log skips a number.
pub fn rebuild(record: &RoomRecord, loaded: &Loaded) -> Result<Room, Gap> {
    let mut room = match &loaded.snapshot {
        Some(s) => s.room.clone(),
        None => Room::new(record.setup.clone()),
    };
    if let Some(notes) = &loaded.notes {
        room.restore_notes(notes.clone());
    }
    let base = room.seq();
    for (expected, e) in (base + 1..).zip(loaded.events.iter().filter(|e| e.seq > base)) {
        if e.seq != expected {
            return Err(Gap {
                found: e.seq,
                expected,
            });
        }
        room.replay(&e.recorded());
    }
    Ok(room)
}
