//! The PostgreSQL backend of [`Store`](super::Store): the same records as the sled store, in
//! tables, sealed with the same per-room and per-series keys (see [`super::seal`]).
//!
//! This module owns the connection: one thread holds a synchronous `postgres::Client` and runs
//! every call of the store on it, one after another. The trait is synchronous and is called from
//! the commit thread, from `spawn_blocking` and, at start and shutdown, from async code; the
//! `postgres` client drives its own small runtime and may not be used from a thread that is
//! inside one, so no caller uses it directly. A closed connection is opened again by the next
//! call, so the store recovers by itself when the database comes back; until then every call
//! fails with [`StoreError::Backend`].
//!
//! Writes and flushes ([`writes`]): `write` applies all its writes in one transaction and
//! commits it before it returns, so `flush` has nothing left to do; the committer acknowledges
//! a batch only after both. Reads ([`reads`]) look up what they need by key. Migrations
//! ([`schema`]) run when the store is opened.
//!
//! ## Tables
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `rooms` | `id` | `record`: sealed JSON [`RoomRecord`](super::RoomRecord) (room key) |
//! | `events` | `room`, `seq` | `event`: sealed JSON [`StoredEvent`](super::StoredEvent) (room key) |
//! | `snapshots` | `room` | `seq` (plain), `snapshot`: sealed JSON snapshot (room key) |
//! | `notes` | `room` | `notes`: sealed JSON notes (room key) |
//! | `tokens` | `room`, `hash` | `participant`; SHA-256 of the token, never the token; not sealed |
//! | `series` | `id` | `record`: sealed JSON series record (series key) |
//! | `room_keys`, `series_keys` | `room`, `series` | `key`: the owner's 256-bit data key |
//! | `leases` | `owner` | `node`, `fence`, `expires_at`, `wanted`: who runs the room or series (see [`leases`]) |
//! | `schema_version` | `version` | `applied_at` |
//!
//! A value is sealed with associated data `table ‖ 0x00 ‖ room or series id` (and, for an
//! event, `‖ 0x00 ‖ seq` big-endian), so a value moved to another row does not open. Deleting a
//! room removes its rows from every table and its key row in the same transaction.

mod leases;
mod reads;
mod schema;
mod writes;

use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::{Client, NoTls};
use tracing::warn;

use super::{Claim, Leases, Loaded, Owner, RoomRecord, Store, StoreError, Write};
use crate::series::SeriesRecord;

/// How long opening a connection may take before the call fails.
const CONNECT_TIMEOUT_SECS: u64 = 10;

/// Longest any one statement may run (or data sent may wait for the database to acknowledge
/// it) before the call fails: a database that hangs makes commands fail with `unavailable`
/// rather than wait for ever.
pub const STATEMENT_TIMEOUT_SECS: u64 = 15;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The connection the store's thread holds, opened again when it was lost.
struct Connection {
    config: postgres::Config,
    client: Option<Client>,
}

impl Connection {
    /// The open client, connecting first if there is none or it was closed.
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            let mut client = self.config.connect(NoTls).map_err(backend)?;
            schema::session(&mut client)?;
            self.client = Some(client);
        }
        self.client.as_mut().ok_or_else(|| StoreError::Backend {
            reason: "no connection to PostgreSQL".into(),
        })
    }
}

/// The error of a failed database call. PostgreSQL's messages name the statement or the
/// connection problem, never the values bound to it.
pub(crate) fn backend(e: postgres::Error) -> StoreError {
    StoreError::Backend {
        reason: format!("PostgreSQL: {e}"),
    }
}

/// One connection and the thread that holds it, running the calls given to it one after
/// another.
struct Lane {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Lane {
    fn spawn(config: postgres::Config, name: &str) -> Result<Lane, StoreError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut connection = Connection {
                    config,
                    client: None,
                };
                while let Ok(job) = rx.recv() {
                    job(&mut connection);
                }
            })
            .map_err(|e| StoreError::Backend {
                reason: format!("cannot start the PostgreSQL thread: {e}"),
            })?;
        Ok(Lane {
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Run `f` on the lane's thread with an open client and wait for its answer.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, receipt) = mpsc::channel();
        let job: Job = Box::new(move |connection: &mut Connection| {
            let result = connection.client().and_then(f);
            if result.is_err() && connection.client.as_ref().is_some_and(Client::is_closed) {
                warn!("the connection to PostgreSQL was lost; the next call opens a new one");
            }
            let _ = answer.send(result);
        });
        let sent = self
            .jobs
            .lock()
            .ok()
            .and_then(|jobs| jobs.as_ref().map(|tx| tx.send(job).is_ok()));
        if sent != Some(true) {
            return Err(StoreError::Closed);
        }
        receipt.recv().unwrap_or(Err(StoreError::Closed))
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

/// A [`Store`] on PostgreSQL.
pub struct PgStore {
    /// Records: every read and write.
    data: Lane,
    /// Leases, on a connection of their own so that renewing them never waits behind a
    /// large write (only with a node).
    leases: Option<Lane>,
    /// This node's id and lease time, when it is one of several nodes
    /// ([`PgStore::open_node`]): then it has leases and every write is fenced.
    node: Option<(String, Duration)>,
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://user:password@host:port/db`) and bring its
    /// schema up to date. Fails if the URL is not valid, the database cannot be reached, or its
    /// schema is newer than this build knows. Errors never contain the password.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::connect(url, None)
    }

    /// [`PgStore::open`] for one of several nodes sharing the database: the store has
    /// [`Leases`] under the name `node`, each lasting `lease` unless renewed, and every write
    /// of a room or series must carry the fence of this node's lease on it.
    pub fn open_node(url: &str, node: &str, lease: Duration) -> Result<PgStore, StoreError> {
        PgStore::connect(url, Some((node.to_string(), lease)))
    }

    fn connect(url: &str, node: Option<(String, Duration)>) -> Result<PgStore, StoreError> {
        let mut config: postgres::Config = url.parse().map_err(|e| StoreError::Backend {
            reason: format!("not a PostgreSQL URL: {e}"),
        })?;
        config
            .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
            .application_name("circlekeeper")
            // A database that vanished (its machine gone, a cable cut) is noticed within
            // seconds, not when the kernel gives up on the connection.
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(5))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_secs(STATEMENT_TIMEOUT_SECS));
        let leases = match node {
            Some(_) => Some(Lane::spawn(config.clone(), "circlekeeper-leases")?),
            None => None,
        };
        let store = PgStore {
            data: Lane::spawn(config, "circlekeeper-postgres")?,
            leases,
            node,
        };
        store.call(schema::migrate)?;
        Ok(store)
    }

    /// Run `f` on the records' connection and wait for its answer.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.data.call(f)
    }

    /// Run `f` on the leases' connection and wait for its answer.
    fn call_leases<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        match &self.leases {
            Some(lane) => lane.call(f),
            None => Err(StoreError::Closed),
        }
    }
}

impl Store for PgStore {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        let (id, record) = (id.to_string(), record.clone());
        self.call(move |client| writes::put_room(client, &id, &record))
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        let writes = writes.to_vec();
        let node = self.node.as_ref().map(|(n, _)| n.clone());
        self.call(move |client| writes::commit(client, &writes, node.as_deref()))
    }

    fn leases(&self) -> Option<&dyn Leases> {
        self.node.is_some().then_some(self as &dyn Leases)
    }

    fn flush(&self) -> Result<(), StoreError> {
        // `write` committed its transaction before it returned.
        Ok(())
    }

    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
        self.call(|client| reads::rooms(client, None))
    }

    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        let id = id.to_string();
        self.call(move |client| reads::load(client, &id, None))
    }

    fn load_recent(&self, id: &str, keep: usize) -> Result<Loaded, StoreError> {
        let id = id.to_string();
        self.call(move |client| reads::load(client, &id, Some(keep)))
    }

    fn events_after(
        &self,
        id: &str,
        after: u64,
        max: usize,
    ) -> Result<Vec<crate::store::StoredEvent>, StoreError> {
        let id = id.to_string();
        self.call(move |client| reads::events_after(client, &id, after, max))
    }

    fn series(&self) -> Result<Vec<SeriesRecord>, StoreError> {
        self.call(|client| reads::series(client, None))
    }

    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        let id = id.to_string();
        self.call(move |client| Ok(reads::rooms(client, Some(&id))?.pop().map(|(_, r)| r)))
    }

    fn room_count(&self) -> Result<usize, StoreError> {
        self.call(reads::room_count)
    }

    fn series_record(&self, id: &str) -> Result<Option<SeriesRecord>, StoreError> {
        let id = id.to_string();
        self.call(move |client| Ok(reads::series(client, Some(&id))?.pop()))
    }
}

impl PgStore {
    /// This node's id and lease time (only a store opened with [`PgStore::open_node`] has
    /// [`Leases`], so these are there whenever they are asked for).
    fn this_node(&self) -> (String, Duration) {
        self.node.clone().unwrap_or_default()
    }
}

impl Leases for PgStore {
    fn node(&self) -> &str {
        self.node.as_ref().map_or("", |(n, _)| n.as_str())
    }

    fn lease_time(&self) -> Duration {
        self.this_node().1
    }

    fn claim(&self, owner: &Owner) -> Result<Claim, StoreError> {
        let ((node, lease), owner) = (self.this_node(), owner.clone());
        self.call_leases(move |client| leases::claim(client, &node, lease, &owner))
    }

    fn renew(&self, held: &[(Owner, u64)]) -> Result<Vec<Owner>, StoreError> {
        let ((node, lease), held) = (self.this_node(), held.to_vec());
        self.call_leases(move |client| leases::renew(client, &node, lease, &held))
    }

    fn wanted(&self) -> Result<Vec<Owner>, StoreError> {
        let node = self.this_node().0;
        self.call_leases(move |client| leases::wanted(client, &node))
    }

    fn release(&self, owner: &Owner, fence: u64) -> Result<(), StoreError> {
        let (node, owner) = (self.this_node().0, owner.clone());
        self.call_leases(move |client| leases::release(client, &node, &owner, fence))
    }

    fn release_all(&self) -> Result<(), StoreError> {
        let node = self.this_node().0;
        self.call_leases(move |client| leases::release_all(client, &node))
    }
}
