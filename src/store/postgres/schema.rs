//! The PostgreSQL schema and its migrations, and the settings of each session.
//!
//! Migrations are numbered from 1 and listed in [`MIGRATIONS`]; `schema_version` holds one row
//! per migration applied. Each runs once, in a transaction of its own that also records it,
//! under a lock of `schema_version`, so two processes starting at once apply it once. A
//! database whose schema is newer than this build is refused rather than written.

use postgres::Client;
use tracing::{info, warn};

use super::backend;
use crate::store::StoreError;

/// Every migration, in order: migration `i + 1` is `MIGRATIONS[i]`. Never change one that has
/// shipped; add another.
pub const MIGRATIONS: &[&str] = &[
    // 1: the records of the sled store, one table per tree; keys in tables of their own.
    r#"
    CREATE TABLE rooms (
        id text COLLATE "C" PRIMARY KEY,
        record bytea NOT NULL
    );
    CREATE TABLE room_keys (
        room text COLLATE "C" PRIMARY KEY,
        key bytea NOT NULL
    );
    CREATE TABLE events (
        room text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        event bytea NOT NULL,
        PRIMARY KEY (room, seq)
    );
    CREATE TABLE snapshots (
        room text COLLATE "C" PRIMARY KEY,
        seq bigint NOT NULL,
        snapshot bytea NOT NULL
    );
    CREATE TABLE notes (
        room text COLLATE "C" PRIMARY KEY,
        notes bytea NOT NULL
    );
    CREATE TABLE tokens (
        room text COLLATE "C" NOT NULL,
        hash bytea NOT NULL,
        participant bigint NOT NULL,
        PRIMARY KEY (room, hash)
    );
    CREATE TABLE series (
        id text COLLATE "C" PRIMARY KEY,
        record bytea NOT NULL
    );
    CREATE TABLE series_keys (
        series text COLLATE "C" PRIMARY KEY,
        key bytea NOT NULL
    );
    "#,
    // 2: leases of rooms and series, for several nodes (see `leases`).
    super::leases::MIGRATION,
];

/// Bring the schema up to date: apply, in order, each migration not yet recorded.
pub fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (
                version integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .map_err(backend)?;
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i32::try_from(i + 1).map_err(|_| StoreError::Backend {
            reason: "too many migrations".into(),
        })?;
        let mut tx = client.transaction().map_err(backend)?;
        tx.batch_execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
            .map_err(backend)?;
        let newest: Option<i32> = tx
            .query_one("SELECT max(version) FROM schema_version", &[])
            .map_err(backend)?
            .get(0);
        let known = MIGRATIONS.len();
        if newest.is_some_and(|n| usize::try_from(n).map_or(true, |n| n > known)) {
            return Err(StoreError::Backend {
                reason: format!(
                    "this database was written by a newer circlekeeper (schema version {}); \
                     this one reads up to version {known}: upgrade circlekeeper",
                    newest.unwrap_or_default()
                ),
            });
        }
        if newest.is_some_and(|n| n >= version) {
            continue;
        }
        tx.batch_execute(sql).map_err(backend)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        info!(version, "PostgreSQL schema migrated");
    }
    Ok(())
}

/// Settings of a new session: a commit must reach the disk (and the synchronous standbys the
/// server names) before it returns, so `synchronous_commit = off` is overridden; no statement
/// may run longer than [`super::STATEMENT_TIMEOUT_SECS`].
pub fn session(client: &mut Client) -> Result<(), StoreError> {
    client
        .batch_execute(&format!(
            "SET statement_timeout = '{}s'",
            super::STATEMENT_TIMEOUT_SECS
        ))
        .map_err(backend)?;
    let row = client
        .query_one("SHOW synchronous_commit", &[])
        .map_err(backend)?;
    let mode: String = row.get(0);
    if mode == "off" {
        warn!(
            "synchronous_commit is off on the server; circlekeeper sets it to on for its sessions"
        );
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(backend)?;
    }
    Ok(())
}
