//! The sled store's manifest: an append-only file beside sled (`<data dir>/manifest`) that says
//! which rooms and series exist and, for each room, the last event sequence number made
//! durable. sled treats a damaged record as the end of its log and silently drops everything
//! after it; the manifest is how [`super::SledStore::open`] finds out.
//!
//! Each line is `crc32 (8 hex digits) ‖ ' ' ‖ JSON entry ‖ '\n'`, the CRC-32 taken over the JSON
//! bytes, so a damaged line is itself detected. A last line without its newline is a write a
//! crash cut short and is ignored; any other bad line is damage. Entries: `format` (the records'
//! format of the store), `room` (exists, with its last durable seq; the highest seen wins),
//! `room_gone`, `series`, `series_gone`.
//!
//! The store appends the entries of its writes in `flush`, after sled's own sync, then syncs
//! the manifest: after a crash the manifest may lag behind sled, never claim more than it. A
//! delete's `*_gone` entry is appended once its tombstone is durable (and a tombstone found at
//! open counts as a delete). At open the file is rewritten compactly (temporary file, sync,
//! rename, directory sync).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StoreError;

/// The manifest's file name in the data directory.
pub const FILE: &str = "manifest";

/// The records' format this binary writes, and the newest it reads. Stores written before
/// format versions existed (no marker, no manifest) are format 1; format 2 adds the manifest
/// and the marker. The record formats themselves are unchanged from 1 to 2.
pub const FORMAT: u32 = 2;

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Entry {
    /// The store's records' format.
    Format {
        /// The version.
        v: u32,
    },
    /// A room exists; its last durable event seq is at least `seq`.
    Room {
        /// The room id.
        id: String,
        /// Last durable event sequence number (0: none yet).
        seq: u64,
    },
    /// A room was deleted.
    RoomGone {
        /// The room id.
        id: String,
    },
    /// A series exists.
    Series {
        /// The series id.
        id: String,
    },
    /// A series was deleted.
    SeriesGone {
        /// The series id.
        id: String,
    },
}

/// What the manifest says exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Rooms and their last durable seq.
    pub rooms: BTreeMap<String, u64>,
    /// Series.
    pub series: BTreeSet<String>,
    /// The highest format named.
    pub format: u32,
}

impl State {
    /// Apply one entry.
    pub fn apply(&mut self, e: &Entry) {
        match e {
            Entry::Format { v } => self.format = self.format.max(*v),
            Entry::Room { id, seq } => {
                let at = self.rooms.entry(id.clone()).or_insert(0);
                *at = (*at).max(*seq);
            }
            Entry::RoomGone { id } => {
                self.rooms.remove(id);
            }
            Entry::Series { id } => {
                self.series.insert(id.clone());
            }
            Entry::SeriesGone { id } => {
                self.series.remove(id);
            }
        }
    }
}

/// The manifest as read at open.
#[derive(Debug, Default)]
pub struct Read {
    /// Whether the file exists.
    pub exists: bool,
    /// The state its intact lines describe.
    pub state: State,
    /// Line numbers (from 1) of damaged lines.
    pub damaged: Vec<usize>,
}

/// A line for `e`.
fn line(e: &Entry) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(e).map_err(|err| StoreError::Record {
        key: FILE.into(),
        reason: err.to_string(),
    })?;
    let mut out = format!("{:08x} ", crc32fast::hash(&json)).into_bytes();
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(out)
}

/// The entry of one line, if it is intact.
fn parse(line: &[u8]) -> Option<Entry> {
    let (crc, json) = (line.get(..8)?, line.get(9..)?);
    if line.get(8) != Some(&b' ') {
        return None;
    }
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if crc32fast::hash(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// Read the manifest at `path` (absent: `exists` is false).
pub fn read(path: &Path) -> Result<Read, StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::default()),
        Err(e) => return Err(io("cannot be read", e)),
    };
    let mut out = Read {
        exists: true,
        ..Read::default()
    };
    // The zeros kept ahead of the end (see `AHEAD`) are not lines.
    let used = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let bytes = &bytes[..used];
    let complete = bytes.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let count = lines.len();
    for (i, l) in lines.into_iter().enumerate() {
        let last = i + 1 == count;
        if last && (complete || l.is_empty()) {
            continue;
        }
        match parse(l) {
            Some(e) => out.state.apply(&e),
            // A torn last line: the write a crash cut short (its sled writes are durable, the
            // manifest merely lags).
            None if last && !complete && !l.contains(&0) => {}
            None => out.damaged.push(i + 1),
        }
    }
    Ok(out)
}

fn io(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Backend {
        reason: format!("the manifest {what}: {e}"),
    }
}

/// Bytes of zeros kept ahead of the manifest's end, so that an append overwrites blocks the
/// file already has and its `fdatasync` writes no metadata (a file that grows costs a journal
/// commit per sync on ext4).
const AHEAD: u64 = 1 << 20;

/// A running manifest is rewritten compactly once it is this long and four times its compact
/// size (a busy store adds a line per room per flush).
const COMPACT_AT: u64 = 8 << 20;

/// The manifest being kept: the state noted so far, the state made durable, and the entries
/// of writes not yet flushed.
pub struct Manifest {
    /// Open for writing (`None`: a temporary store keeps no manifest).
    file: Option<File>,
    path: PathBuf,
    /// What has been noted (durable or pending).
    state: State,
    /// What the file says.
    durable: State,
    pending: Vec<Entry>,
    /// Where the next line goes.
    len: u64,
    /// The file's length (zeros from `len` on).
    capacity: u64,
    /// [`COMPACT_AT`] (smaller in tests).
    compact_at: u64,
}

impl Manifest {
    /// A manifest kept nowhere (temporary stores).
    pub fn none() -> Manifest {
        Manifest {
            file: None,
            path: PathBuf::new(),
            state: State::default(),
            durable: State::default(),
            pending: Vec::new(),
            len: 0,
            capacity: 0,
            compact_at: COMPACT_AT,
        }
    }

    /// Rewrite the manifest at `path` to hold exactly `state` (durably), and keep it.
    pub fn rewrite(path: &Path, mut state: State) -> Result<Manifest, StoreError> {
        state.format = FORMAT;
        let tmp: PathBuf = path.with_extension("tmp");
        let mut text = line(&Entry::Format { v: FORMAT })?;
        for (id, seq) in &state.rooms {
            text.extend(line(&Entry::Room {
                id: id.clone(),
                seq: *seq,
            })?);
        }
        for id in &state.series {
            text.extend(line(&Entry::Series { id: id.clone() })?);
        }
        let len = text.len() as u64;
        text.resize(text.len() + AHEAD as usize, 0);
        {
            let mut f = File::create(&tmp).map_err(|e| io("cannot be written", e))?;
            f.write_all(&text).map_err(|e| io("cannot be written", e))?;
            f.sync_all().map_err(|e| io("cannot be synced", e))?;
        }
        std::fs::rename(&tmp, path).map_err(|e| io("cannot be renamed", e))?;
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io("directory cannot be synced", e))?;
        }
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io("cannot be opened", e))?;
        Ok(Manifest {
            file: Some(file),
            path: path.to_path_buf(),
            durable: state.clone(),
            state,
            pending: Vec::new(),
            len,
            capacity: text.len() as u64,
            compact_at: COMPACT_AT,
        })
    }

    /// Note that `room` exists with events up to `seq` (written, not yet durable).
    pub fn room(&mut self, room: &str, seq: u64) {
        if self.file.is_none() {
            return;
        }
        if self.state.rooms.get(room).is_some_and(|&s| s >= seq) {
            return;
        }
        let e = Entry::Room {
            id: room.to_string(),
            seq,
        };
        self.state.apply(&e);
        self.pending.push(e);
    }

    /// Note that `series` exists.
    pub fn series(&mut self, series: &str) {
        if self.file.is_none() || self.state.series.contains(series) {
            return;
        }
        let e = Entry::Series {
            id: series.to_string(),
        };
        self.state.apply(&e);
        self.pending.push(e);
    }

    /// Note that these were deleted (their tombstones are durable): appended now, synced.
    pub fn gone(&mut self, entries: Vec<Entry>) -> Result<(), StoreError> {
        if self.file.is_none() {
            return Ok(());
        }
        for e in &entries {
            self.state.apply(e);
        }
        self.append(&entries)
    }

    /// The entries written since the last flush (taken before sled's own flush, so every one
    /// of them is durable in sled once it returns), one per room (its highest seq): a busy
    /// room adds one line per flush, not one per write. (Pending entries are only `room` and
    /// `series`, whose order does not matter; deletes are appended at once.)
    pub fn take(&mut self) -> Vec<Entry> {
        let mut rooms: BTreeMap<String, u64> = BTreeMap::new();
        let mut out = Vec::new();
        for e in std::mem::take(&mut self.pending) {
            match e {
                Entry::Room { id, seq } => {
                    let at = rooms.entry(id).or_insert(seq);
                    *at = (*at).max(seq);
                }
                other => out.push(other),
            }
        }
        out.extend(rooms.into_iter().map(|(id, seq)| Entry::Room { id, seq }));
        out
    }

    /// Give back entries a failed flush took: the next flush appends them.
    pub fn put_back(&mut self, mut entries: Vec<Entry>) {
        entries.append(&mut self.pending);
        self.pending = entries;
    }

    /// Append `entries` and sync (one `fdatasync`; none when there is nothing to append).
    /// Now and then the zeros ahead are extended (a full sync), or the file is rewritten
    /// compactly from what it says.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        use std::io::{Seek, SeekFrom};
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for e in entries {
            text.extend(line(e)?);
        }
        let end = self.len + text.len() as u64;
        if end > self.capacity {
            let capacity = end + AHEAD;
            file.set_len(capacity)
                .map_err(|e| io("cannot be extended", e))?;
            file.seek(SeekFrom::Start(self.capacity))
                .and_then(|_| file.write_all(&vec![0; (capacity - self.capacity) as usize]))
                .and_then(|()| file.sync_all())
                .map_err(|e| io("cannot be extended", e))?;
            self.capacity = capacity;
        }
        file.seek(SeekFrom::Start(self.len))
            .and_then(|_| file.write_all(&text))
            .map_err(|e| io("cannot be appended to", e))?;
        file.sync_data().map_err(|e| io("cannot be synced", e))?;
        self.len = end;
        for e in entries {
            self.durable.apply(e);
        }
        let compact = 64 * (self.durable.rooms.len() + self.durable.series.len()) as u64;
        if self.len > self.compact_at && self.len > 4 * compact {
            let pending = std::mem::take(&mut self.pending);
            let state = std::mem::take(&mut self.state);
            let mut fresh = Manifest::rewrite(&self.path, self.durable.clone())?;
            fresh.state = state;
            fresh.pending = pending;
            fresh.compact_at = self.compact_at;
            *self = fresh;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_line_is_found_and_a_torn_last_line_is_not_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        let mut state = State::default();
        state.rooms.insert("a".into(), 5);
        state.series.insert("s".into());
        let mut m = Manifest::rewrite(&path, state).expect("written");
        m.room("a", 6);
        m.room("a", 7);
        m.room("b", 0);
        let pending = m.take();
        assert_eq!(pending.len(), 2, "one entry per room: {pending:?}");
        m.append(&pending).expect("appended");
        m.gone(vec![Entry::SeriesGone { id: "s".into() }])
            .expect("gone");
        let r = read(&path).expect("read");
        assert!(r.damaged.is_empty());
        assert_eq!(r.state.rooms.get("a"), Some(&7));
        assert_eq!(r.state.rooms.get("b"), Some(&0));
        assert!(r.state.series.is_empty());
        assert_eq!(r.state.format, FORMAT);

        // A write cut short: part of a line where the zeros were.
        let mut bytes = std::fs::read(&path).expect("bytes");
        let end = bytes.iter().rposition(|&b| b == b'\n').expect("lines") + 1;
        bytes[end..end + 4].copy_from_slice(b"0000");
        std::fs::write(&path, &bytes).expect("torn");
        assert!(read(&path).expect("read").damaged.is_empty());

        bytes[12] ^= 0x20;
        std::fs::write(&path, &bytes).expect("flipped");
        assert_eq!(read(&path).expect("read").damaged, vec![1]);
    }

    #[test]
    fn a_long_running_manifest_is_rewritten_compactly_with_what_it_says() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        let mut m = Manifest::rewrite(&path, State::default()).expect("written");
        m.compact_at = 2_000;
        for seq in 1..=100 {
            m.room("a", seq);
            m.room("b", seq);
            let pending = m.take();
            m.append(&pending).expect("appended");
        }
        m.room("a", 101);
        let r = read(&path).expect("read");
        assert!(r.damaged.is_empty());
        assert_eq!(r.state.rooms.get("a"), Some(&100), "only what was appended");
        assert_eq!(r.state.rooms.get("b"), Some(&100));
        let used = std::fs::read(&path)
            .expect("bytes")
            .iter()
            .rposition(|&b| b != 0)
            .unwrap_or(0);
        assert!(used < 2_000, "compacted: {used} bytes of lines");
        let pending = m.take();
        assert_eq!(pending.len(), 1, "the pending entry survived the rewrite");
    }
}
