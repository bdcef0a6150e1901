//! Writing to PostgreSQL: one `write` is one transaction, committed before it returns.
//!
//! Values that can hold text people wrote are sealed under their owner's data key; a key is
//! made, in the same transaction, by the first write that needs it. A room's delete removes its
//! rows from every table and its key row in one statement per table, in the transaction of the
//! batch that holds it; a series' delete removes its record and its key row. Writes of a batch
//! apply in order, so what a room gets after its delete in the same batch is kept.

use std::collections::HashMap;

use postgres::{Client, Transaction};

use super::backend;
use crate::store::keyring::DataKey;
use crate::store::seal;
use crate::store::{RoomRecord, StoreError, Write};

/// Which keys table an owner's key is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `room_keys`.
    Room,
    /// `series_keys`.
    Series,
}

impl Kind {
    fn select(self) -> &'static str {
        match self {
            Kind::Room => "SELECT key FROM room_keys WHERE room = $1",
            Kind::Series => "SELECT key FROM series_keys WHERE series = $1",
        }
    }

    fn insert(self) -> &'static str {
        match self {
            Kind::Room => "INSERT INTO room_keys (room, key) VALUES ($1, $2)",
            Kind::Series => "INSERT INTO series_keys (series, key) VALUES ($1, $2)",
        }
    }
}

/// A data key as stored: exactly 32 bytes.
pub fn data_key(bytes: &[u8], owner: &str) -> Result<DataKey, StoreError> {
    let key: [u8; 32] = bytes.try_into().map_err(|_| StoreError::Record {
        key: format!("key:{owner}"),
        reason: "is not 32 bytes long".into(),
    })?;
    Ok(zeroize::Zeroizing::new(key))
}

/// The keys one transaction has read or made.
#[derive(Default)]
struct Keys(HashMap<(Kind, String), DataKey>);

impl Keys {
    /// The owner's key, made and stored if it has none.
    fn get_or_create(
        &mut self,
        tx: &mut Transaction<'_>,
        kind: Kind,
        owner: &str,
    ) -> Result<DataKey, StoreError> {
        let slot = (kind, owner.to_string());
        if let Some(key) = self.0.get(&slot) {
            return Ok(key.clone());
        }
        let key = match tx.query_opt(kind.select(), &[&owner]).map_err(backend)? {
            Some(row) => data_key(row.get::<_, &[u8]>(0), owner)?,
            None => {
                let mut fresh = zeroize::Zeroizing::new([0u8; 32]);
                getrandom::fill(fresh.as_mut_slice()).map_err(|e| StoreError::Backend {
                    reason: format!("no randomness for a data key: {e}"),
                })?;
                tx.execute(kind.insert(), &[&owner, &fresh.as_slice()])
                    .map_err(backend)?;
                fresh
            }
        };
        self.0.insert(slot, key.clone());
        Ok(key)
    }

    fn forget(&mut self, kind: Kind, owner: &str) {
        self.0.remove(&(kind, owner.to_string()));
    }
}

/// The associated data of a row: its owner, and for an event its sequence number.
pub fn place(owner: &str, seq: Option<u64>) -> Vec<u8> {
    let mut key = owner.as_bytes().to_vec();
    if let Some(seq) = seq {
        key.push(0);
        key.extend_from_slice(&seq.to_be_bytes());
    }
    key
}

/// A sequence number as PostgreSQL's `bigint`.
pub fn seq_column(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Record {
        key: format!("seq {seq}"),
        reason: "is beyond PostgreSQL's bigint".into(),
    })
}

fn json<T: serde::Serialize>(value: &T, what: &str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Record {
        key: what.to_string(),
        reason: e.to_string(),
    })
}

/// Apply `writes` in one transaction and commit it. With a `node` (several nodes share the
/// database), the transaction first checks that this node holds the lease of every room and
/// series it writes with the fence the batch names ([`super::leases::check`]); if not, it
/// writes nothing and answers [`StoreError::Fenced`].
pub fn commit(client: &mut Client, writes: &[Write], node: Option<&str>) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(backend)?;
    if let Some(node) = node {
        super::leases::check(&mut tx, node, writes)?;
    }
    let mut keys = Keys::default();
    for write in writes {
        apply(&mut tx, &mut keys, write)?;
        if node.is_some() && matches!(write, Write::Delete { .. } | Write::DeleteSeries { .. }) {
            super::leases::forget(&mut tx, &write.owner())?;
        }
    }
    tx.commit().map_err(backend)
}

/// Store one room record under `id`, in a transaction of its own.
pub fn put_room(client: &mut Client, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(backend)?;
    room(&mut tx, &mut Keys::default(), id, record)?;
    tx.commit().map_err(backend)
}

fn room(
    tx: &mut Transaction<'_>,
    keys: &mut Keys,
    id: &str,
    record: &RoomRecord,
) -> Result<(), StoreError> {
    let key = keys.get_or_create(tx, Kind::Room, id)?;
    let sealed = seal::seal(&key, "rooms", &place(id, None), &json(record, id)?)?;
    tx.execute(
        "INSERT INTO rooms (id, record) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
        &[&id, &sealed],
    )
    .map_err(backend)?;
    Ok(())
}

/// Change a stored room record, if there is one.
fn change_room(
    tx: &mut Transaction<'_>,
    keys: &mut Keys,
    id: &str,
    change: impl FnOnce(&mut RoomRecord),
) -> Result<(), StoreError> {
    let Some(row) = tx
        .query_opt("SELECT record FROM rooms WHERE id = $1", &[&id])
        .map_err(backend)?
    else {
        return Ok(());
    };
    let key = keys.get_or_create(tx, Kind::Room, id)?;
    let mut record: RoomRecord = super::reads::open(Some(&key), "rooms", id, None, row.get(0))?;
    change(&mut record);
    room(tx, keys, id, &record)
}

/// Seal `value` under `owner`'s key for `table` and store it with `statement` (`$1` the owner,
/// `$2` the sealed value).
fn upsert<T: serde::Serialize>(
    tx: &mut Transaction<'_>,
    keys: &mut Keys,
    (kind, owner): (Kind, &str),
    table: &str,
    statement: &str,
    value: &T,
) -> Result<(), StoreError> {
    let key = keys.get_or_create(tx, kind, owner)?;
    let sealed = seal::seal(&key, table, &place(owner, None), &json(value, owner)?)?;
    tx.execute(statement, &[&owner, &sealed]).map_err(backend)?;
    Ok(())
}

/// The statements that delete every row of a room, its key included.
const DELETE_ROOM: [&str; 6] = [
    "DELETE FROM events WHERE room = $1",
    "DELETE FROM tokens WHERE room = $1",
    "DELETE FROM snapshots WHERE room = $1",
    "DELETE FROM notes WHERE room = $1",
    "DELETE FROM rooms WHERE id = $1",
    "DELETE FROM room_keys WHERE room = $1",
];

fn apply(tx: &mut Transaction<'_>, keys: &mut Keys, write: &Write) -> Result<(), StoreError> {
    match write {
        Write::Room { record } => room(tx, keys, &record.setup.id, record),
        Write::Events { room, events } => {
            let key = keys.get_or_create(tx, Kind::Room, room)?;
            let mut seqs = Vec::with_capacity(events.len());
            let mut values = Vec::with_capacity(events.len());
            for event in events {
                let at = place(room, Some(event.seq));
                values.push(seal::seal(&key, "events", &at, &json(event, room)?)?);
                seqs.push(seq_column(event.seq)?);
            }
            tx.execute(
                "INSERT INTO events (room, seq, event)
                 SELECT $1, s, e FROM unnest($2::bigint[], $3::bytea[]) AS t(s, e)
                 ON CONFLICT (room, seq) DO UPDATE SET event = EXCLUDED.event",
                &[room, &seqs, &values],
            )
            .map_err(backend)?;
            Ok(())
        }
        Write::Token {
            room,
            hash,
            participant,
        } => {
            tx.execute(
                "INSERT INTO tokens (room, hash, participant) VALUES ($1, $2, $3)
                 ON CONFLICT (room, hash) DO UPDATE SET participant = EXCLUDED.participant",
                &[room, &hash.as_slice(), &i64::from(*participant)],
            )
            .map_err(backend)?;
            Ok(())
        }
        Write::Snapshot { room, snapshot } => {
            let key = keys.get_or_create(tx, Kind::Room, room)?;
            let sealed = seal::seal(
                &key,
                "snapshots",
                &place(room, None),
                &json(snapshot, room)?,
            )?;
            tx.execute(
                "INSERT INTO snapshots (room, seq, snapshot) VALUES ($1, $2, $3)
                 ON CONFLICT (room) DO UPDATE SET seq = EXCLUDED.seq, snapshot = EXCLUDED.snapshot",
                &[room, &seq_column(snapshot.room.seq())?, &sealed],
            )
            .map_err(backend)?;
            Ok(())
        }
        Write::Notes { room, notes } => upsert(
            tx,
            keys,
            (Kind::Room, room),
            "notes",
            "INSERT INTO notes (room, notes) VALUES ($1, $2)
             ON CONFLICT (room) DO UPDATE SET notes = EXCLUDED.notes",
            notes,
        ),
        Write::Series { record } => upsert(
            tx,
            keys,
            (Kind::Series, &record.id),
            "series",
            "INSERT INTO series (id, record) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
            record,
        ),
        Write::Delete { room } => {
            for statement in DELETE_ROOM {
                tx.execute(statement, &[room]).map_err(backend)?;
            }
            keys.forget(Kind::Room, room);
            Ok(())
        }
        Write::DeleteSeries { series } => {
            for statement in [
                "DELETE FROM series WHERE id = $1",
                "DELETE FROM series_keys WHERE series = $1",
            ] {
                tx.execute(statement, &[series]).map_err(backend)?;
            }
            keys.forget(Kind::Series, series);
            Ok(())
        }
        Write::Keys {
            room,
            join,
            host,
            join_key,
        } => change_room(tx, keys, room, |r| {
            r.join_key_hash = *join;
            r.host_key_hash = *host;
            r.join_key = join_key.clone();
        }),
        Write::Ended { room, at } => change_room(tx, keys, room, |r| r.ended_at = Some(*at)),
        // Checked before any write of the batch (`commit`).
        Write::Fence { .. } => Ok(()),
    }
}
