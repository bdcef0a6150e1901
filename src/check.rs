//! Store integrity for the binary: opening the sled store for serving with its damage handled
//! (refused, or served intact with `--serve-intact`), and `circlekeeper check`, which verifies a
//! store offline and changes nothing. It owns the exit codes of both; the checks themselves
//! live in the store (`store::damage`) and in [`crate::restore::rebuild`].

use std::path::{Path, PathBuf};

use tracing::{error, warn};

use crate::restore::rebuild;
use crate::store::{OpenError, OpenMode, PgStore, SledStore, Store};

/// Exit status of a damaged store (`EX_DATAERR` of sysexits.h): the server refused to start,
/// or `check` found problems.
pub const DAMAGED: i32 = 65;

/// Exit status of a store written by a newer circlekeeper (`EX_CONFIG`).
pub const NEWER_FORMAT: i32 = 78;

/// Open the sled store in `dir` for the server. A damaged store ends the process with
/// [`DAMAGED`] and a message naming what is missing and how to restore, unless `serve_intact`
/// (then the damage is logged and the damaged rooms are refused); a store of a newer format
/// ends it with [`NEWER_FORMAT`].
pub fn open_for_serving(dir: &Path, serve_intact: bool) -> Result<SledStore, OpenError> {
    let mode = if serve_intact {
        OpenMode::ServeIntact
    } else {
        OpenMode::Serve
    };
    match SledStore::open_with(dir, mode) {
        Ok((store, damage)) => {
            if !damage.is_empty() {
                for problem in damage.problems() {
                    warn!(%problem, "damaged: not served");
                }
                warn!(
                    problems = damage.problems().len(),
                    "the store is damaged: serving only the intact rooms (the others answer room_unavailable)"
                );
            }
            Ok(store)
        }
        Err(e @ OpenError::Damaged(_)) => {
            error!("the store is damaged: refusing to start");
            eprintln!("error: {e}");
            std::process::exit(DAMAGED);
        }
        Err(e @ OpenError::Newer { .. }) => {
            error!("{e}");
            eprintln!("error: {e}");
            std::process::exit(NEWER_FORMAT);
        }
        Err(e) => Err(e),
    }
}

/// What `check` found.
#[derive(Debug, Default)]
pub struct Summary {
    /// Rooms read.
    pub rooms: usize,
    /// Series read.
    pub series: usize,
    /// Events read.
    pub events: usize,
    /// Each problem, one line.
    pub problems: Vec<String>,
}

/// Read every series, every room and its events through `store`, and rebuild every room.
pub fn verify(store: &dyn Store, summary: &mut Summary) {
    match store.series() {
        Ok(list) => summary.series += list.len(),
        Err(e) => summary.problems.push(format!("series records: {e}")),
    }
    let rooms = match store.rooms() {
        Ok(rooms) => rooms,
        Err(e) => {
            summary.problems.push(format!("room records: {e}"));
            return;
        }
    };
    for (id, record) in rooms {
        summary.rooms += 1;
        match store.load(&id) {
            Ok(loaded) => {
                summary.events += loaded.events.len();
                if let Err(gap) = rebuild(&record, &loaded) {
                    summary.problems.push(format!("room {id}: {gap}"));
                }
            }
            Err(e) => summary.problems.push(format!("room {id}: {e}")),
        }
    }
}

/// `circlekeeper check`: verify the store `store_url` names (PostgreSQL) or the sled store in
/// `data_dir` (on a temporary copy: opening sled may rewrite its log). Prints the summary and
/// each problem; answers the exit status: 0 sound, [`DAMAGED`], or [`NEWER_FORMAT`].
pub fn run(data_dir: &Path, store_url: Option<&str>) -> i32 {
    let mut summary = Summary::default();
    if let Some(url) = store_url {
        match PgStore::open(url) {
            Ok(store) => verify(&store, &mut summary),
            Err(e) => {
                eprintln!("error: cannot open the PostgreSQL store: {e}");
                return 69;
            }
        }
        return report(&summary);
    }
    if !data_dir.join("db").exists() {
        eprintln!("error: {} holds no store", data_dir.display());
        return DAMAGED;
    }
    let copy = match Copy::of(data_dir) {
        Ok(copy) => copy,
        Err(e) => {
            eprintln!("error: cannot copy {} to check it: {e}", data_dir.display());
            return DAMAGED;
        }
    };
    match SledStore::open_with(&copy.0, OpenMode::Check) {
        Ok((store, damage)) => {
            summary.problems.extend(damage.problems());
            verify(&store, &mut summary);
        }
        Err(e @ OpenError::Newer { .. }) => {
            eprintln!("error: {e}");
            return NEWER_FORMAT;
        }
        Err(OpenError::Damaged(damage)) => summary.problems.extend(damage.problems()),
        Err(e) => summary
            .problems
            .push(format!("the store cannot be opened: {e}")),
    }
    report(&summary)
}

fn report(summary: &Summary) -> i32 {
    println!(
        "rooms: {}, series: {}, events: {}, problems: {}",
        summary.rooms,
        summary.series,
        summary.events,
        summary.problems.len()
    );
    for p in &summary.problems {
        println!("problem: {p}");
    }
    if summary.problems.is_empty() {
        println!("the store is sound");
        0
    } else {
        println!(
            "the store is damaged: restore it from a backup (`circlekeeper restore`), or serve \
             the intact rooms with --serve-intact"
        );
        DAMAGED
    }
}

/// A temporary copy of a data directory, removed when dropped.
struct Copy(PathBuf);

impl Copy {
    fn of(dir: &Path) -> std::io::Result<Copy> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let to =
            std::env::temp_dir().join(format!("circlekeeper-check-{}-{nanos}", std::process::id()));
        let copy = Copy(to);
        copy_dir(dir, &copy.0)?;
        Ok(copy)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
