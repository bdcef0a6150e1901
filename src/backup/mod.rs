//! Backups of a whole store and their restore: `circlekeeper backup` and `circlekeeper restore`.
//!
//! This module owns the backup file ([`format`]: JSON lines, a versioned header, a trailer of
//! counts and a checksum), writing one from any [`Store`] ([`write`]) while the server runs,
//! checking one ([`verify`]) and loading one into an empty store of either backend
//! ([`restore`]), which is also how a store moves between sled and PostgreSQL. The operator's
//! way in to a running sled server (its `admin.json` and the HTTP client that streams
//! `GET /api/admin/backup`) is in [`admin`]; the endpoint itself in `server::api::backup`.
//!
//! A room is read whole, several times if need be, until two reads in a row agree: sled reads
//! the snapshot, events, tokens and notes one after another while the server may be writing,
//! and a room whose parts come from different moments could not be rebuilt as it was.
//! PostgreSQL reads a room in one repeatable-read transaction, so one read is enough.

pub mod admin;
pub mod format;
#[cfg(test)]
mod tests;
pub mod tool;

use std::io::{BufRead, Write as _};

use circlekeeper_protocol::Millis;

use crate::store::{Loaded, Store, StoreError, Write};
use format::{Counts, Digest256, Header, Line, RoomEntry, TokenEntry, Trailer};

/// How many times a room is read before the backup gives up on it changing under every read
/// (a room gets a few commands a second at most: two reads in a row agree long before this).
const MAX_READS: usize = 50;

/// The pause before a room that failed to read is read again (a delete under way takes a few
/// milliseconds).
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// Events per [`Write::Events`] at restore: one record of sled per run, so a long log is cut
/// into runs a write can hold without a huge batch.
const EVENTS_PER_WRITE: usize = 256;

/// Rooms restored between two flushes: bounds what is held in the engine's buffers.
const ROOMS_PER_FLUSH: u64 = 64;

/// Longest line a restore reads (a room with every event and note): far above any real room,
/// low enough that a file of garbage without newlines is refused rather than read whole.
const MAX_LINE_BYTES: usize = 512 * 1024 * 1024;

/// What went wrong making, reading or restoring a backup. Messages name rooms and lines,
/// never what people wrote.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    /// Reading or writing the file (or the connection) failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A record could not be written as JSON.
    #[error("a record could not be encoded: {0}")]
    Encode(serde_json::Error),
    /// A room changed under every one of [`MAX_READS`] reads.
    #[error("room {room} changed during each of {MAX_READS} reads; try again")]
    Unsettled {
        /// The room.
        room: String,
    },
    /// Not a backup of circlekeeper.
    #[error("not a circlekeeper backup (its first line is not a circlekeeper-backup header)")]
    NotABackup,
    /// Written by a newer circlekeeper.
    #[error(
        "the backup has format version {found}, newer than this circlekeeper reads ({}): restore it with a newer circlekeeper",
        format::VERSION
    )]
    Newer {
        /// Its version.
        found: u64,
    },
    /// A line is damaged.
    #[error("the backup is damaged at line {line}: {reason}")]
    Damaged {
        /// The line number, from 1.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The file ends before its trailer.
    #[error("the backup is truncated: it ends after line {lines} without its trailer (it was cut short while being written or copied)")]
    Truncated {
        /// Lines read.
        lines: u64,
    },
    /// A room in the backup cannot be rebuilt.
    #[error("room {room} in the backup cannot be rebuilt: {reason}")]
    Inconsistent {
        /// The room.
        room: String,
        /// Why.
        reason: String,
    },
    /// The target store already holds rooms or series.
    #[error("the target store is not empty ({rooms} rooms, {series} series): restore only into an empty store")]
    NotEmpty {
        /// Rooms in it.
        rooms: usize,
        /// Series in it.
        series: usize,
    },
    /// The store could not be opened.
    #[error("cannot open the store {place}: {source}")]
    Open {
        /// The data directory or the URL (without its password).
        place: String,
        /// Why.
        source: StoreError,
    },
    /// There is no store where one was to be backed up.
    #[error("there is no store in {0} (no sled database there): check --data-dir")]
    NoStore(String),
    /// The server answered the backup request with an error.
    #[error("the server refused the backup: {0}")]
    Refused(String),
}

/// Write a backup of every room and series in `store` to `out`, streaming: one room in memory
/// at a time (and the series records). `reads_are_consistent`: the store reads a room in one
/// transaction (PostgreSQL), so it need not be read twice. Rooms opened after the backup
/// began are not in it; rooms deleted meanwhile are left out.
pub fn write(
    store: &dyn Store,
    out: &mut dyn std::io::Write,
    now: Millis,
    reads_are_consistent: bool,
) -> Result<Counts, BackupError> {
    let mut digest = Digest256::default();
    let mut counts = Counts::default();
    let mut emit = |bytes: &mut Vec<u8>, out: &mut dyn std::io::Write| {
        bytes.push(b'\n');
        digest.update(bytes);
        out.write_all(bytes)
    };
    let mut header = serde_json::to_vec(&Header::new(now)).map_err(BackupError::Encode)?;
    emit(&mut header, out)?;
    // Series first: a session a series names was opened before the series was read, so the
    // rooms listed next include it (unless it was deleted meanwhile).
    let series = store.series()?;
    let rooms: Vec<String> = store.rooms()?.into_iter().map(|(id, _)| id).collect();
    for id in rooms {
        let Some((mut line, entry)) = read_room(store, &id, reads_are_consistent)? else {
            continue;
        };
        counts.add(&Line::Room(Box::new(entry)));
        emit(&mut line, out)?;
    }
    for record in series {
        let line = Line::Series(Box::new(record));
        counts.add(&line);
        let mut bytes = serde_json::to_vec(&line).map_err(BackupError::Encode)?;
        emit(&mut bytes, out)?;
    }
    let trailer = Line::End(Trailer {
        counts: counts.clone(),
        sha256: digest.hex(),
    });
    let mut bytes = serde_json::to_vec(&trailer).map_err(BackupError::Encode)?;
    bytes.push(b'\n');
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(counts)
}

/// One room's line (without its newline) and entry, read until two reads in a row agree;
/// `None` if the room is gone.
fn read_room(
    store: &dyn Store,
    id: &str,
    once: bool,
) -> Result<Option<(Vec<u8>, RoomEntry)>, BackupError> {
    let read = || -> Result<Option<(Vec<u8>, RoomEntry)>, BackupError> {
        let Some(record) = store.room(id)? else {
            return Ok(None);
        };
        let Loaded {
            snapshot,
            events,
            tokens,
            notes,
        } = store.load(id)?;
        let entry = RoomEntry {
            id: id.to_string(),
            record,
            snapshot,
            events,
            tokens: tokens
                .iter()
                .map(|(hash, participant)| TokenEntry {
                    hash: format::hex(hash),
                    participant: *participant,
                })
                .collect(),
            notes,
        };
        // `Line::Room` as serde writes it, without moving the entry into a line.
        let mut bytes = b"{\"room\":".to_vec();
        serde_json::to_writer(&mut bytes, &entry).map_err(BackupError::Encode)?;
        bytes.push(b'}');
        Ok(Some((bytes, entry)))
    };
    if once {
        return read();
    }
    let mut previous = None;
    let mut failure = None;
    for _ in 0..MAX_READS {
        match read() {
            Ok(now) => {
                let agree = match (&previous, &now) {
                    (Some(None), None) => true,
                    (Some(Some((a, _))), Some((b, _))) => a == b,
                    _ => false,
                };
                if agree {
                    return Ok(now);
                }
                previous = Some(now);
                failure = None;
            }
            // A room being deleted is unreadable for a moment (its key destroyed before its
            // records are removed): read it again once the delete is through.
            Err(e) => {
                previous = None;
                failure = Some(e);
                std::thread::sleep(RETRY_PAUSE);
            }
        }
    }
    Err(failure.unwrap_or(BackupError::Unsettled { room: id.into() }))
}

/// Read a backup through to its trailer without writing anything: every line parses, every
/// room rebuilds, the counts and checksum match. What it holds.
pub fn verify(input: impl BufRead) -> Result<Counts, BackupError> {
    read_lines(input, true, |_| Ok(()))
}

/// Load a backup into `store`, which must be empty: first the whole file is checked
/// ([`verify`], from `open` once), then it is read again (`open` a second time) and written
/// through [`Store::write`], so the store seals every record with keys of its own. What was
/// restored.
pub fn restore<R: BufRead>(
    store: &dyn Store,
    mut open: impl FnMut() -> std::io::Result<R>,
) -> Result<Counts, BackupError> {
    refuse_non_empty(store)?;
    let expected = verify(open()?)?;
    restore_verified(store, &expected, open()?)
}

/// Refuse a store that holds any room or series.
fn refuse_non_empty(store: &dyn Store) -> Result<(), BackupError> {
    let rooms = store.room_count()?;
    let series = store.series()?.len();
    if rooms > 0 || series > 0 {
        return Err(BackupError::NotEmpty { rooms, series });
    }
    Ok(())
}

/// [`restore`] of a file [`verify`] found to hold `expected`, into an empty `store`: its
/// lines are parsed again (a file changed since is refused by its checksum or counts) but its
/// rooms are not rebuilt again.
pub fn restore_verified(
    store: &dyn Store,
    expected: &Counts,
    input: impl BufRead,
) -> Result<Counts, BackupError> {
    refuse_non_empty(store)?;
    let mut since_flush = 0u64;
    let counts = read_lines(input, false, |line| {
        match line {
            Line::Room(entry) => {
                store.write(&room_writes(*entry)?)?;
                since_flush += 1;
                if since_flush >= ROOMS_PER_FLUSH {
                    store.flush()?;
                    since_flush = 0;
                }
            }
            Line::Series(record) => store.write(&[Write::Series { record }])?,
            Line::End(_) => {}
        }
        Ok(())
    })?;
    store.flush()?;
    if counts != *expected {
        // The file changed between the two reads.
        return Err(BackupError::Damaged {
            line: 0,
            reason: "the file changed while it was being restored".into(),
        });
    }
    Ok(counts)
}

/// The writes that store one room as the backup has it.
fn room_writes(entry: RoomEntry) -> Result<Vec<Write>, BackupError> {
    let RoomEntry {
        id,
        record,
        snapshot,
        events,
        tokens,
        notes,
    } = entry;
    let mut writes = vec![Write::Room {
        record: Box::new(record),
    }];
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        writes.push(Write::Events {
            room: id.clone(),
            events: events.by_ref().take(EVENTS_PER_WRITE).collect(),
        });
    }
    for t in tokens {
        let hash = format::token_hash(&t.hash).ok_or_else(|| BackupError::Inconsistent {
            room: id.clone(),
            reason: "a token hash is not 64 hex digits".into(),
        })?;
        writes.push(Write::Token {
            room: id.clone(),
            hash,
            participant: t.participant,
        });
    }
    if let Some(snapshot) = snapshot {
        writes.push(Write::Snapshot {
            room: id.clone(),
            snapshot: Box::new(snapshot),
        });
    }
    if let Some(notes) = notes {
        writes.push(Write::Notes {
            room: id,
            notes: Box::new(notes),
        });
    }
    Ok(writes)
}

/// Read a backup line by line, checking each (with `rebuild`, rooms must rebuild) and handing
/// it to `each`; the counts, once the trailer matched them and the checksum.
fn read_lines(
    mut input: impl BufRead,
    rebuild: bool,
    mut each: impl FnMut(Line) -> Result<(), BackupError>,
) -> Result<Counts, BackupError> {
    let mut digest = Digest256::default();
    let mut counts = Counts::default();
    let mut buf = Vec::new();
    let mut number = 0u64;
    let mut next = |buf: &mut Vec<u8>, number: &mut u64| -> Result<bool, BackupError> {
        buf.clear();
        let mut limited = std::io::Read::take(&mut input, MAX_LINE_BYTES as u64 + 1);
        let n = limited.read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(false);
        }
        *number += 1;
        if buf.last() != Some(&b'\n') {
            if buf.len() > MAX_LINE_BYTES {
                return Err(BackupError::Damaged {
                    line: *number,
                    reason: format!("a line longer than {MAX_LINE_BYTES} bytes"),
                });
            }
            // The last line of a file cut short.
            return Err(BackupError::Truncated { lines: *number - 1 });
        }
        Ok(true)
    };
    if !next(&mut buf, &mut number)? {
        return Err(BackupError::NotABackup);
    }
    let header: serde_json::Value =
        serde_json::from_slice(&buf).map_err(|_| BackupError::NotABackup)?;
    if header.get("format").and_then(|f| f.as_str()) != Some(format::FORMAT) {
        return Err(BackupError::NotABackup);
    }
    match header.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v > u64::from(format::VERSION) => return Err(BackupError::Newer { found: v }),
        Some(v) if v >= 1 => {}
        _ => {
            return Err(BackupError::Damaged {
                line: 1,
                reason: "the header has no valid version".into(),
            })
        }
    }
    digest.update(&buf);
    loop {
        if !next(&mut buf, &mut number)? {
            return Err(BackupError::Truncated { lines: number });
        }
        let line: Line = serde_json::from_slice(&buf).map_err(|e| BackupError::Damaged {
            line: number,
            // serde_json names a position and what it expected, never the value.
            reason: e.to_string(),
        })?;
        if let Line::End(trailer) = &line {
            if trailer.counts != counts {
                return Err(BackupError::Damaged {
                    line: number,
                    reason: format!(
                        "the trailer counts {} but the lines hold {}",
                        trailer.counts, counts
                    ),
                });
            }
            if trailer.sha256 != digest.hex() {
                return Err(BackupError::Damaged {
                    line: number,
                    reason: "the checksum does not match: some line was changed".into(),
                });
            }
            if next(&mut buf, &mut number)? {
                return Err(BackupError::Damaged {
                    line: number,
                    reason: "lines after the trailer".into(),
                });
            }
            return Ok(counts);
        }
        digest.update(&buf);
        if let Line::Room(entry) = &line {
            if rebuild {
                check_room(entry)?;
            }
        }
        counts.add(&line);
        each(line)?;
    }
}

/// A room line must rebuild: its events follow its snapshot without a gap.
fn check_room(entry: &RoomEntry) -> Result<(), BackupError> {
    let bad = |reason: String| BackupError::Inconsistent {
        room: entry.id.clone(),
        reason,
    };
    if entry.record.setup.id != entry.id {
        return Err(bad("its record names another room".into()));
    }
    if entry.events.windows(2).any(|w| w[1].seq != w[0].seq + 1) {
        return Err(bad("its events are not consecutive".into()));
    }
    let loaded = Loaded {
        snapshot: entry.snapshot.clone(),
        events: entry.events.clone(),
        tokens: Vec::new(),
        notes: entry.notes.clone(),
    };
    crate::restore::rebuild(&entry.record, &loaded).map_err(|gap| bad(gap.to_string()))?;
    Ok(())
}

/// Write `bytes` to a new file at `path` that only its owner may read (mode 0600): a backup
/// holds everything people wrote. Used for what the client receives.
pub fn create_private(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // An existing file keeps its mode through `open`: narrow it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// A private file at `path` (mode 0600) written through a temporary name beside it: `fill`
/// writes the backup, which is then synced and read back whole ([`verify`]); only a backup
/// that verifies is renamed into place. On failure nothing is left at `path` (an older file
/// there is kept). What it holds.
pub fn write_file_atomically(
    path: &std::path::Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> Result<(), BackupError>,
) -> Result<Counts, BackupError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let partial = path.with_file_name(format!(".{name}.partial"));
    let file = create_private(&partial)?;
    let result = (|| {
        let mut out = std::io::BufWriter::new(&file);
        fill(&mut out)?;
        out.flush()?;
        drop(out);
        file.sync_all()?;
        verify(std::io::BufReader::new(std::fs::File::open(&partial)?))
    })();
    match result {
        Ok(counts) => {
            std::fs::rename(&partial, path)?;
            Ok(counts)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}
