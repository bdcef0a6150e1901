//! The backup file: JSON lines, one value per line.
//!
//! 1. A header: `{"format":"circlekeeper-backup","version":1,"created_at":…,"generator":"circlekeeper 0.x"}`.
//! 2. One line per room, `{"room":{…}}`: its record, latest snapshot, every event, token
//!    hashes (hex) and notes, as read together (see [`super::write`]).
//! 3. One line per series, `{"series":{…}}`: its record.
//! 4. A trailer, `{"end":{"rooms":…,"series":…,"events":…,"tokens":…,"sha256":"…"}}`: the
//!    counts of what came before it and the SHA-256 of every byte before it, so a truncated
//!    or damaged file is found before anything is restored.
//!
//! Records are in plaintext here (the store seals them with keys the backup does not carry;
//! a restore seals them again with new keys).

use circlekeeper_protocol::{Millis, ParticipantId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::room::state::Notes;
use crate::series::SeriesRecord;
use crate::store::{RoomRecord, Snapshot, StoredEvent};

/// The `format` of the header line.
pub const FORMAT: &str = "circlekeeper-backup";

/// The version this build writes and the newest it reads.
pub const VERSION: u32 = 1;

/// The first line of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`]: tells a backup from any other JSON file.
    pub format: String,
    /// The format's version: a restore refuses a newer one rather than misread it.
    pub version: u32,
    /// When the backup began (epoch ms).
    pub created_at: Millis,
    /// `circlekeeper` and the version of the build that wrote it (for people reading it).
    pub generator: String,
}

impl Header {
    /// The header this build writes.
    pub fn new(created_at: Millis) -> Header {
        Header {
            format: FORMAT.into(),
            version: VERSION,
            created_at,
            generator: format!("circlekeeper {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// One line after the header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    /// A room and everything kept of it.
    Room(Box<RoomEntry>),
    /// A series record.
    Series(Box<SeriesRecord>),
    /// The trailer: the last line.
    End(Trailer),
}

/// A room as read from the store, all at one moment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomEntry {
    /// The room id.
    pub id: String,
    /// Its record (setup, link key hashes, join key, series, when it ended).
    pub record: RoomRecord,
    /// Its latest snapshot, if one was taken.
    #[serde(default)]
    pub snapshot: Option<Snapshot>,
    /// Every stored event, in order.
    #[serde(default)]
    pub events: Vec<StoredEvent>,
    /// Token hashes (SHA-256, hex) and the participant each belongs to: tokens keep working
    /// after a restore, though no token is in the backup.
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
    /// What people wrote there, private items included.
    #[serde(default)]
    pub notes: Option<Notes>,
}

/// One participant token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// SHA-256 of the token, 64 lowercase hex digits.
    pub hash: String,
    /// Whose token it is.
    pub participant: ParticipantId,
}

/// What a backup holds, counted: the trailer, and what `restore` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Room lines.
    pub rooms: u64,
    /// Series lines.
    pub series: u64,
    /// Events over all rooms.
    pub events: u64,
    /// Token hashes over all rooms.
    pub tokens: u64,
}

impl Counts {
    /// Count one line.
    pub fn add(&mut self, line: &Line) {
        match line {
            Line::Room(r) => {
                self.rooms += 1;
                self.events += r.events.len() as u64;
                self.tokens += r.tokens.len() as u64;
            }
            Line::Series(_) => self.series += 1,
            Line::End(_) => {}
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rooms ({} events, {} participant tokens), {} series",
            self.rooms, self.events, self.tokens, self.series
        )
    }
}

/// The last line: counts and a checksum of everything before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// What the lines before it hold.
    #[serde(flatten)]
    pub counts: Counts,
    /// SHA-256 of every byte before this line (header and newlines included), hex.
    pub sha256: String,
}

/// A running SHA-256 of the lines written or read so far.
#[derive(Default, Clone)]
pub struct Digest256(Sha256);

impl Digest256 {
    /// Add bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest so far, hex.
    pub fn hex(&self) -> String {
        hex(&self.0.clone().finalize())
    }
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// A token hash from 64 hex digits.
pub fn token_hash(s: &str) -> Option<[u8; 32]> {
    let digits = s.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hashes_go_to_hex_and_back() {
        let hash = crate::secret::hash("a token");
        assert_eq!(token_hash(&hex(&hash)), Some(hash));
        assert_eq!(token_hash("12"), None);
        assert_eq!(token_hash(&"g".repeat(64)), None);
    }

    #[test]
    fn the_trailer_is_one_flat_object() {
        let line = Line::End(Trailer {
            counts: Counts {
                rooms: 2,
                series: 1,
                events: 9,
                tokens: 3,
            },
            sha256: "00".into(),
        });
        let text = serde_json::to_string(&line).expect("json");
        assert_eq!(
            text,
            r#"{"end":{"rooms":2,"series":1,"events":9,"tokens":3,"sha256":"00"}}"#
        );
        let back: Line = serde_json::from_str(&text).expect("reads back");
        assert!(matches!(back, Line::End(t) if t.counts.events == 9));
    }
}
