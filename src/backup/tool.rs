//! `circlekeeper backup` and `circlekeeper restore`: which store, and how to reach it. A
//! PostgreSQL store is read and written directly. A sled store held by a running server is
//! backed up through that server (its `admin.json`, see [`super::admin`]); one no server holds
//! is opened directly. A restore opens its target itself, so no server may hold it.

use std::io::BufReader;
use std::path::Path;

use circlekeeper_protocol::Millis;

use super::format::Counts;
use super::{admin, BackupError};
use crate::store::{PgStore, SledStore, Store};

/// Where a store is.
#[derive(Debug, Clone, Copy)]
pub enum Place<'a> {
    /// The embedded sled store in this data directory.
    Sled(&'a Path),
    /// PostgreSQL: the URL to connect with, and how to print it (without its password).
    Postgres {
        /// The whole URL.
        url: &'a str,
        /// The URL with its password hidden.
        shown: &'a str,
    },
}

/// How a backup was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Streamed from the server running on the store, at this address.
    Server(std::net::SocketAddr),
    /// Read from the store directly.
    Store,
}

/// Back up the store at `place` into the file `out` (mode 0600, written whole or not at all).
pub fn backup(place: Place<'_>, out: &Path, now: Millis) -> Result<(Counts, Via), BackupError> {
    match place {
        Place::Postgres { url, shown } => {
            let store = PgStore::open(url).map_err(|source| BackupError::Open {
                place: format!("at {shown}"),
                source,
            })?;
            let counts = super::write_file_atomically(out, |w| {
                super::write(&store, w, now, true).map(drop)
            })?;
            Ok((counts, Via::Store))
        }
        Place::Sled(dir) => {
            let mut refused = None;
            if let Some(info) = admin::read(dir)? {
                // A file a killed server left names an address nobody answers on.
                if let Ok(stream) = admin::connect(&info) {
                    let streamed =
                        super::write_file_atomically(out, |w| admin::fetch(stream, &info.token, w));
                    match streamed {
                        Ok(counts) => {
                            return Ok((counts, Via::Server(admin::reachable(info.addr))))
                        }
                        // Another server may listen there now: the store itself may be free.
                        Err(e @ BackupError::Refused(_)) => refused = Some(e),
                        Err(e) => return Err(e),
                    }
                }
            }
            if !dir.join("db").is_file() {
                return Err(BackupError::NoStore(dir.display().to_string()));
            }
            let store = match (open_sled(dir), refused) {
                (Ok(store), _) => store,
                // The server holding the store refused: its answer says why.
                (Err(_), Some(refused)) => return Err(refused),
                (Err(e), None) => return Err(e),
            };
            // No server writes meanwhile: one read of each room is enough.
            let counts = super::write_file_atomically(out, |w| {
                super::write(&store, w, now, true).map(drop)
            })?;
            Ok((counts, Via::Store))
        }
    }
}

/// Restore the backup file `from` into the empty store at `place` (a sled data directory is
/// created if missing).
pub fn restore(place: Place<'_>, from: &Path) -> Result<Counts, BackupError> {
    let open = || std::fs::File::open(from).map(BufReader::new);
    // The file first: a damaged backup is refused before any store is created.
    let expected = super::verify(open()?)?;
    let store: Box<dyn Store> = match place {
        Place::Postgres { url, shown } => {
            Box::new(PgStore::open(url).map_err(|source| BackupError::Open {
                place: format!("at {shown}"),
                source,
            })?)
        }
        Place::Sled(dir) => {
            std::fs::create_dir_all(dir)?;
            Box::new(open_sled(dir)?)
        }
    };
    super::restore_verified(store.as_ref(), &expected, open()?)
}

fn open_sled(dir: &Path) -> Result<SledStore, BackupError> {
    SledStore::open(dir).map_err(|source| BackupError::Open {
        place: format!(
            "in {} (is a circlekeeper server running on it? stop it first)",
            dir.display()
        ),
        source,
    })
}
