//! A store that fails on purpose, for the codes only a failing store can provoke: in front of a
//! temporary sled store, it writes as that store does until told to fail every write as a store
//! out of reach (`unavailable`) or as a store where another node holds the rooms' leases
//! (close 4012). What several real nodes on PostgreSQL do is tested in `leases.rs` and
//! `cluster.rs`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use circlekeeper::store::{Loaded, RoomRecord, SledStore, Store, StoreError, Write};
use circlekeeper::Clock;

use super::common::{TestServer, EPOCH};

/// How the store answers writes.
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Mode {
    /// As the store under it.
    Writes = 0,
    /// Every write fails as if the store could not be reached.
    Down = 1,
    /// Every write is refused as if another node held the leases of its rooms.
    Fenced = 2,
}

/// The failing store.
pub struct Faulty {
    inner: SledStore,
    mode: AtomicU8,
}

impl Faulty {
    /// Answer writes as `mode` says from now on.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }
}

/// A server over a [`Faulty`] store, and the store.
pub async fn server() -> (TestServer, Arc<Faulty>) {
    let faulty = Arc::new(Faulty {
        inner: SledStore::temporary().expect("temporary sled store"),
        mode: AtomicU8::new(Mode::Writes as u8),
    });
    let store: Arc<dyn Store> = faulty.clone();
    let server = TestServer::start_with(store, Clock::manual(EPOCH), |_| {}).await;
    (server, faulty)
}

impl Store for Faulty {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.inner.put_room(id, record)
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return self.inner.write(writes);
        }
        match self.mode.load(Ordering::SeqCst) {
            1 => Err(StoreError::Backend {
                reason: "the test cut the store off".into(),
            }),
            2 => Err(StoreError::Fenced {
                owners: writes.iter().map(Write::owner).collect(),
            }),
            _ => self.inner.write(writes),
        }
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

    fn series(&self) -> Result<Vec<circlekeeper::series::SeriesRecord>, StoreError> {
        self.inner.series()
    }
}
