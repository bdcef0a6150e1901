//! A store that is opened again, in place, after a write fails: what lets the embedded store
//! come back by itself once a full disk has room again.
//!
//! sled 0.34 keeps the first I/O error it meets (a full disk, a failed write) as a global error
//! and refuses every later write until the database is opened again, and its memory may then
//! hold writes that never reached the disk (they were refused to whoever asked). So
//! [`Reopening`] owns the store behind a lock: once a write or a flush fails it is *broken*,
//! and every call (reads too) is refused as transient ([`StoreError::Backend`]) — nothing is
//! served from the old instance's memory. [`Store::recover`] (called by the commit thread, with
//! backoff) first checks that the disk takes a test write of [`PROBE_BYTES`], then drops the old
//! instance (releasing sled's lock) and opens the store again from disk: everything acknowledged
//! is there, nothing refused is claimed.
//!
//! Every method of [`Store`] is passed on to the store inside: a method added to the trait
//! with a default must be passed on here too, or the wrapped store's own answer is never asked.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use super::{Loaded, OpenMode, RoomRecord, SledStore, Store, StoreError, StoredEvent, Write};
use crate::series::SeriesRecord;

/// The size of the test write made before the store is opened again: about two of sled's log
/// segments (512 KiB each), so a disk with a few bytes free is not taken for one that has room.
pub const PROBE_BYTES: usize = 1024 * 1024;

/// The name of the test file, in the data directory (removed right after it is written).
const PROBE_FILE: &str = ".write-probe";

/// How the store is opened (again), for [`Reopening::new`].
pub type Opener = Box<dyn Fn() -> Result<Box<dyn Store>, StoreError> + Send + Sync>;

/// A store opened again from disk after a failed write (see the module docs).
pub struct Reopening {
    /// The open store; `None` between dropping a broken one and opening it again (if that
    /// failed).
    current: RwLock<Option<Box<dyn Store>>>,
    /// A write or a flush failed and the store has not been opened again since.
    broken: AtomicBool,
    /// Opens the store from disk.
    open: Opener,
    /// Where the test write goes (the data directory).
    dir: PathBuf,
}

impl Reopening {
    /// The sled store in `dir`, already opened as `store`, opened again there after a failure
    /// in the same `mode` (its integrity checked again: a store found damaged then stays
    /// unavailable under [`OpenMode::Serve`]).
    pub fn sled(store: SledStore, dir: &Path, mode: OpenMode) -> Reopening {
        let at = dir.to_path_buf();
        let open: Opener = Box::new(move || {
            let (store, _) = SledStore::open_with(&at, mode)?;
            Ok(Box::new(store) as Box<dyn Store>)
        });
        Reopening::new(Box::new(store), dir, open)
    }

    /// `store`, opened again with `open` after a failure; test writes go to `dir`.
    pub fn new(store: Box<dyn Store>, dir: &Path, open: Opener) -> Reopening {
        Reopening {
            current: RwLock::new(Some(store)),
            broken: AtomicBool::new(false),
            open,
            dir: dir.to_path_buf(),
        }
    }

    /// Whether a write failed and the store has not been opened again yet.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// Call `f` on the open store; refused while it is broken.
    fn with<T>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.is_broken() {
            return Err(recovering());
        }
        let guard = self.current.read().map_err(|_| recovering())?;
        match guard.as_deref() {
            Some(store) => f(store),
            None => Err(recovering()),
        }
    }

    /// [`Reopening::with`] for a call that writes: a transient failure breaks the store.
    fn writing(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let result = self.with(f);
        if let Err(e) = &result {
            if e.is_transient() {
                self.broken.store(true, Ordering::Release);
            }
        }
        result
    }
}

/// The refusal of every call while the store is being opened again.
fn recovering() -> StoreError {
    StoreError::Backend {
        reason: "the store is recovering from a failed write".into(),
    }
}

/// Write [`PROBE_BYTES`] to a file in `dir`, sync it, and remove it: `Ok` if the disk took it.
fn probe(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(PROBE_FILE);
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    });
    let removed = std::fs::remove_file(&path);
    written.and(removed).map_err(|e| StoreError::Backend {
        reason: format!("the data directory does not take writes yet: {e}"),
    })
}

impl Store for Reopening {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.writing(|s| s.put_room(id, record))
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.writing(|s| s.write(writes))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.writing(|s| s.flush())
    }

    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
        self.with(|s| s.rooms())
    }

    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        self.with(|s| s.load(id))
    }

    fn load_recent(&self, id: &str, keep: usize) -> Result<Loaded, StoreError> {
        self.with(|s| s.load_recent(id, keep))
    }

    fn events_after(
        &self,
        id: &str,
        after: u64,
        max: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.with(|s| s.events_after(id, after, max))
    }

    fn series(&self) -> Result<Vec<SeriesRecord>, StoreError> {
        self.with(|s| s.series())
    }

    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        self.with(|s| s.room(id))
    }

    fn room_count(&self) -> Result<usize, StoreError> {
        self.with(|s| s.room_count())
    }

    fn series_record(&self, id: &str) -> Result<Option<SeriesRecord>, StoreError> {
        self.with(|s| s.series_record(id))
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.with(|s| Ok(s.size_on_disk())).ok().flatten()
    }

    // `leases`: the default `None`. Only a store one process owns is reopened in place; a
    // store with leases (PostgreSQL) reconnects by itself.

    /// While broken: the test write, then the store dropped and opened again from disk. Else:
    /// the store's own check.
    fn recover(&self) -> Result<(), StoreError> {
        if !self.is_broken() {
            return self.with(|s| s.recover());
        }
        probe(&self.dir)?;
        let mut current = self.current.write().map_err(|_| recovering())?;
        // The old instance first: it holds the directory's lock.
        drop(current.take());
        let store = (self.open)()?;
        *current = Some(store);
        self.broken.store(false, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    use super::*;
    use crate::store::conformance::events;

    /// A store whose writes fail while `failing` is set, counting how often it was opened.
    struct Flaky {
        inner: Arc<SledStore>,
        failing: Arc<AtomicBool>,
    }

    impl Store for Flaky {
        fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
            self.inner.put_room(id, record)
        }
        fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Backend {
                    reason: "no space left on device".into(),
                });
            }
            self.inner.write(writes)
        }
        fn flush(&self) -> Result<(), StoreError> {
            self.inner.flush()
        }
        fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
            self.inner.rooms()
        }
        fn load(&self, id: &str) -> Result<Loaded, StoreError> {
            self.inner.load(id)
        }
        fn series(&self) -> Result<Vec<SeriesRecord>, StoreError> {
            self.inner.series()
        }
        fn size_on_disk(&self) -> Option<u64> {
            self.inner.size_on_disk()
        }
    }

    #[test]
    fn a_failed_write_refuses_everything_until_the_store_is_opened_again() {
        let dir = tempfile::tempdir().expect("a directory");
        let inner = Arc::new(SledStore::temporary().expect("a store"));
        let failing = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicUsize::new(0));
        let flaky = |inner: &Arc<SledStore>, failing: &Arc<AtomicBool>| Flaky {
            inner: Arc::clone(inner),
            failing: Arc::clone(failing),
        };
        let open: Opener = {
            let (inner, failing, opened) = (inner.clone(), failing.clone(), opened.clone());
            Box::new(move || {
                opened.fetch_add(1, Ordering::SeqCst);
                Ok(Box::new(flaky(&inner, &failing)) as Box<dyn Store>)
            })
        };
        let store = Reopening::new(Box::new(flaky(&inner, &failing)), dir.path(), open);
        store.write(&[events("r", 1..=1)]).expect("a write");
        store.recover().expect("a healthy store recovers at once");
        assert_eq!(opened.load(Ordering::SeqCst), 0, "nothing to reopen");

        failing.store(true, Ordering::SeqCst);
        assert!(store.write(&[events("r", 2..=2)]).is_err());
        assert!(store.is_broken());
        // Reads are refused too, as transient: nothing is served from a broken instance.
        let read = store.load("r").expect_err("refused while broken");
        assert!(read.is_transient(), "{read:?}");

        failing.store(false, Ordering::SeqCst);
        store
            .recover()
            .expect("the disk takes writes: opened again");
        assert_eq!(opened.load(Ordering::SeqCst), 1);
        assert!(!store.is_broken());
        assert_eq!(store.load("r").expect("a read").events.len(), 1);
        store.write(&[events("r", 2..=2)]).expect("writes again");
        // Flushed first: sled writes its log buffer out in the background until then.
        store.flush().expect("flushed");
        assert_eq!(
            store.size_on_disk(),
            inner.size_on_disk(),
            "asked of the store inside"
        );
        assert!(
            std::fs::read_dir(dir.path())
                .expect("the dir")
                .next()
                .is_none(),
            "the test write leaves no file behind"
        );
    }

    #[test]
    fn a_directory_that_refuses_the_test_write_is_not_reopened() {
        let dir = tempfile::tempdir().expect("a directory");
        let missing = dir.path().join("gone");
        let called = Arc::new(AtomicBool::new(false));
        let open: Opener = {
            let called = Arc::clone(&called);
            Box::new(move || {
                called.store(true, Ordering::SeqCst);
                Err(StoreError::Backend {
                    reason: "must not be called".into(),
                })
            })
        };
        let failing = Flaky {
            inner: Arc::new(SledStore::temporary().expect("a store")),
            failing: Arc::new(AtomicBool::new(true)),
        };
        let store = Reopening::new(Box::new(failing), &missing, open);
        assert!(store.write(&[events("r", 1..=1)]).is_err());
        let refused = store.recover().expect_err("no room on the disk");
        assert!(refused.is_transient());
        assert!(store.is_broken());
        assert!(
            !called.load(Ordering::SeqCst),
            "not opened while the disk refuses"
        );
    }
}
