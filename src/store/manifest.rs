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
//! The store appends the entries of its writes in `flush`, after sled's own sync, and does not
//! wait for them to reach the disk: a thread of the manifest syncs them at most every
//! [`SYNC_EVERY`], and at once when more than a quarter of [`LAG_MAX`] bytes wait. An
//! acknowledgement waits for sled's sync only. After a crash the manifest may lag behind sled,
//! never claim more than it: every line says what sled already held durably when it was
//! written. A power cut may keep some pages of the unsynced tail and not others (the zeros
//! kept ahead of the end show through), so a line cut by zeros within the last [`LAG_MAX`]
//! bytes is lag, not damage; the appender never lets more than that wait unsynced. A
//! delete's `*_gone` entry is appended and synced once its tombstone is durable (and a
//! tombstone found at open counts as a delete). At open the file is rewritten compactly
//! (temporary file, sync, rename, directory sync).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

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
    // Lines starting here or later may have been waiting for their sync (see `LAG_MAX`).
    let lag_from = bytes.len().saturating_sub(LAG_MAX as usize);
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let count = lines.len();
    let mut start = 0;
    for (i, l) in lines.into_iter().enumerate() {
        let last = i + 1 == count;
        let at = start;
        start += l.len() + 1;
        if last && (complete || l.is_empty()) {
            continue;
        }
        match parse(l) {
            Some(e) => out.state.apply(&e),
            // A torn last line: the write a crash cut short (its sled writes are durable, the
            // manifest merely lags).
            None if last && !complete && !l.contains(&0) => {}
            // Lines of the unsynced tail whose pages a power cut did not keep: zeros where
            // they were. Lag too; intact lines after them still count (each says what sled
            // held durably before it was written).
            None if at >= lag_from && l.contains(&0) => {}
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

/// How often appended lines are synced, in the background, when fewer than a quarter of
/// [`LAG_MAX`] bytes wait: how far the manifest may lag behind sled after a power cut.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);

/// Most bytes of appended lines ever waiting for their sync; the reader counts lines cut by
/// zeros within this many bytes of the end as lag. Larger than any flush's lines (a line per
/// room, at most [`crate::store::committer::MAX_BATCH`] rooms of a hundred bytes each).
pub const LAG_MAX: u64 = 1 << 20;

/// How much of the file is written and how much is known synced, shared with the sync thread.
#[derive(Debug, Default)]
struct Marks {
    written: AtomicU64,
    synced: AtomicU64,
}

/// The thread that syncs appended lines in the background. Dropped: it syncs what is
/// written, once more, and ends (the drop waits for it).
struct Syncer {
    marks: Arc<Marks>,
    /// A message asks for a sync now; closing it ends the thread.
    nudge: Option<mpsc::SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    fn spawn(file: &File, written: u64) -> Result<Syncer, StoreError> {
        let own = file.try_clone().map_err(|e| io("cannot be opened", e))?;
        let marks = Arc::new(Marks {
            written: AtomicU64::new(written),
            synced: AtomicU64::new(written),
        });
        let (nudge, asked) = mpsc::sync_channel(1);
        let shared = Arc::clone(&marks);
        let thread = std::thread::Builder::new()
            .name("circlekeeper-manifest".into())
            .spawn(move || loop {
                let last = match asked.recv_timeout(SYNC_EVERY) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => false,
                    Err(mpsc::RecvTimeoutError::Disconnected) => true,
                };
                let written = shared.written.load(Ordering::Acquire);
                if written > shared.synced.load(Ordering::Acquire) {
                    match own.sync_data() {
                        Ok(()) => {
                            shared.synced.fetch_max(written, Ordering::AcqRel);
                        }
                        // Tried again next time; the appender syncs itself before more than
                        // `LAG_MAX` bytes wait, and reports a failure then.
                        Err(e) => tracing::warn!(error = %e, "the manifest cannot be synced"),
                    }
                }
                if last {
                    return;
                }
            })
            .map_err(|e| io("cannot get its sync thread", e))?;
        Ok(Syncer {
            marks,
            nudge: Some(nudge),
            thread: Some(thread),
        })
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.nudge = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

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
    /// Syncs appended lines (`None` with no file).
    syncer: Option<Syncer>,
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
            syncer: None,
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
        let syncer = Syncer::spawn(&file, len)?;
        Ok(Manifest {
            syncer: Some(syncer),
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

    /// Note that these were deleted (their tombstones are durable): appended now, synced (a
    /// delete's next step removes what a lagging manifest would report lost).
    pub fn gone(&mut self, entries: Vec<Entry>) -> Result<(), StoreError> {
        if self.file.is_none() {
            return Ok(());
        }
        for e in &entries {
            self.state.apply(e);
        }
        self.append(&entries)?;
        self.sync()
    }

    /// Sync every line appended so far, now.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        let (Some(file), Some(syncer)) = (&self.file, &self.syncer) else {
            return Ok(());
        };
        if syncer.marks.synced.load(Ordering::Acquire) >= self.len {
            return Ok(());
        }
        file.sync_data().map_err(|e| io("cannot be synced", e))?;
        syncer.marks.synced.fetch_max(self.len, Ordering::AcqRel);
        Ok(())
    }

    /// Bytes appended and not known synced.
    fn unsynced(&self) -> u64 {
        self.syncer.as_ref().map_or(0, |s| {
            self.len
                .saturating_sub(s.marks.synced.load(Ordering::Acquire))
        })
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

    /// Append `entries`, not waiting for them to reach the disk (the sync thread syncs them;
    /// this syncs first whenever more than [`LAG_MAX`] bytes would wait). Now and then the
    /// zeros ahead are extended (a full sync), or the file is rewritten compactly from what
    /// it says.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        if self.file.is_none() || entries.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for e in entries {
            text.extend(line(e)?);
        }
        let end = self.len + text.len() as u64;
        if let Some(file) = &self.file {
            if end > self.capacity {
                let capacity = end + AHEAD;
                file.set_len(capacity)
                    .map_err(|e| io("cannot be extended", e))?;
                file.write_all_at(&vec![0; (capacity - self.capacity) as usize], self.capacity)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io("cannot be extended", e))?;
                self.capacity = capacity;
            }
        }
        // Whole lines at a time, never more than `LAG_MAX` bytes unsynced.
        let mut rest = text.as_slice();
        while !rest.is_empty() {
            let room = LAG_MAX.saturating_sub(self.unsynced()) as usize;
            let cut = if rest.len() <= room {
                rest.len()
            } else {
                match rest[..room].iter().rposition(|&b| b == b'\n') {
                    Some(i) => i + 1,
                    None if self.unsynced() > 0 => {
                        self.sync()?;
                        continue;
                    }
                    // A line longer than `LAG_MAX` (never made): written, then synced.
                    None => rest.len(),
                }
            };
            if let Some(file) = &self.file {
                file.write_all_at(&rest[..cut], self.len)
                    .map_err(|e| io("cannot be appended to", e))?;
            }
            self.len += cut as u64;
            rest = &rest[cut..];
            if self.unsynced() > LAG_MAX {
                self.sync()?;
            }
        }
        if let Some(syncer) = &self.syncer {
            syncer.marks.written.store(self.len, Ordering::Release);
            if self.unsynced() > LAG_MAX / 4 {
                if let Some(nudge) = &syncer.nudge {
                    let _ = nudge.try_send(());
                }
            }
        }
        for e in entries {
            self.durable.apply(e);
        }
        let compact = 64 * (self.durable.rooms.len() + self.durable.series.len()) as u64;
        if self.len > self.compact_at && self.len > 4 * compact {
            let pending = std::mem::take(&mut self.pending);
            let state = std::mem::take(&mut self.state);
            let mut fresh = Manifest::rewrite(&self.path, self.durable.clone())?;
            // The old file's thread syncs it once more and ends (`fresh` holds every line).
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

    /// The lines of `entries`, as `append` writes them.
    fn lines(entries: impl IntoIterator<Item = Entry>) -> Vec<u8> {
        entries
            .into_iter()
            .flat_map(|e| line(&e).expect("a line"))
            .collect()
    }

    fn room(id: &str, seq: u64) -> Entry {
        Entry::Room { id: id.into(), seq }
    }

    #[test]
    fn pages_of_the_unsynced_tail_lost_to_a_power_cut_are_lag_not_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        // What a power cut leaves of lines appended unsynced: the first and the last kept,
        // a page between them still the zeros kept ahead.
        let mut bytes = lines([Entry::Format { v: FORMAT }, room("a", 1)]);
        let kept = bytes.len();
        bytes.extend(lines((1..200).map(|seq| room("b", seq))));
        let lost = kept + 100..kept + 4196;
        bytes[lost.clone()].fill(0);
        bytes.extend(lines([room("c", 9)]));
        bytes.resize(bytes.len() + 4096, 0);
        std::fs::write(&path, &bytes).expect("written");
        let r = read(&path).expect("read");
        assert!(r.damaged.is_empty(), "{:?}", r.damaged);
        assert_eq!(r.state.rooms.get("a"), Some(&1));
        assert_eq!(
            r.state.rooms.get("c"),
            Some(&9),
            "intact lines after the gap count"
        );
        assert_eq!(
            r.state.rooms.get("b"),
            Some(&199),
            "the last b line was kept"
        );

        // The same zeros further back than any unsynced tail reaches: damage.
        let mut old = lines([Entry::Format { v: FORMAT }, room("a", 1)]);
        old.extend(lines((1..200).map(|seq| room("b", seq))));
        old[lost].fill(0);
        let far = lines((0..).map(|seq| room("d", seq)).take_while({
            let mut n = 0;
            move |e| {
                n += line(e).expect("a line").len() as u64;
                n < LAG_MAX + 100
            }
        }));
        old.extend(far);
        std::fs::write(&path, &old).expect("written");
        let r = read(&path).expect("read");
        assert_eq!(r.damaged.len(), 1, "{:?}", r.damaged);

        // Bytes that are not zeros in the tail stay damage.
        let mut flipped = bytes.clone();
        flipped[kept + 20] ^= 0xa5;
        std::fs::write(&path, &flipped).expect("written");
        assert!(!read(&path).expect("read").damaged.is_empty());
    }

    #[test]
    fn appends_wait_for_the_sync_thread_yet_never_leave_more_than_the_lag_unsynced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE);
        let mut m = Manifest::rewrite(&path, State::default()).expect("written");
        // Written, not synced by the append itself (the sync thread's next turn is up to
        // `SYNC_EVERY` away).
        m.room("a", 1);
        let pending = m.take();
        m.append(&pending).expect("appended");
        assert!(m.unsynced() > 0);
        assert_eq!(read(&path).expect("read").state.rooms.get("a"), Some(&1));
        // However much one append holds.
        let many: Vec<Entry> = (0..40_000).map(|i| room(&format!("room-{i}"), 1)).collect();
        m.append(&many).expect("appended");
        assert!(m.unsynced() <= LAG_MAX, "{} bytes unsynced", m.unsynced());
        // The sync thread catches up by itself (polled, bounded).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while m.unsynced() > 0 {
            assert!(std::time::Instant::now() < deadline, "never synced");
            std::thread::sleep(Duration::from_millis(5));
        }
        // A delete's entry is synced before `gone` returns.
        m.gone(vec![Entry::RoomGone { id: "a".into() }])
            .expect("gone");
        assert_eq!(m.unsynced(), 0);
        let r = read(&path).expect("read");
        assert!(r.damaged.is_empty());
        assert_eq!(r.state.rooms.len(), 40_000);
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
