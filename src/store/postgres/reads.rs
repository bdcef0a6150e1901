//! Reading from PostgreSQL: every read looks up its rows by key (a room's rows by its id, its
//! events by id and sequence number) and opens them with the owner's key, read in the same
//! query or the same transaction.

use postgres::Client;

use super::backend;
use super::writes::{data_key, place, seq_column};
use crate::series::SeriesRecord;
use crate::store::keyring::DataKey;
use crate::store::seal;
use crate::store::{Loaded, RoomRecord, Snapshot, StoreError, StoredEvent};

/// Open and decode the value stored in `table` for `owner` (and event `seq`).
pub fn open<T: serde::de::DeserializeOwned>(
    key: Option<&DataKey>,
    table: &str,
    owner: &str,
    seq: Option<u64>,
    value: Vec<u8>,
) -> Result<T, StoreError> {
    let name = || match seq {
        Some(seq) => format!("{owner}/{seq}"),
        None => owner.to_string(),
    };
    let plain = seal::open(key, table, &place(owner, seq), value, name)?;
    // serde_json's message names a position and what it expected, not the value.
    serde_json::from_slice(&plain).map_err(|e| StoreError::Record {
        key: format!("{table}:{}", name()),
        reason: e.to_string(),
    })
}

/// A key column that may be NULL (a row without a key does not open).
fn key_of(bytes: Option<&[u8]>, owner: &str) -> Result<Option<DataKey>, StoreError> {
    bytes.map(|b| data_key(b, owner)).transpose()
}

/// Every record of `query` (columns: id, sealed value, key or NULL; `$1` the one id or NULL)
/// opened as stored in `table`, in id order.
fn records<T: serde::de::DeserializeOwned>(
    client: &mut Client,
    query: &str,
    table: &str,
    only: Option<&str>,
) -> Result<Vec<(String, T)>, StoreError> {
    let rows = client.query(query, &[&only]).map_err(backend)?;
    rows.into_iter()
        .map(|row| {
            let id: String = row.get(0);
            let key = key_of(row.get(2), &id)?;
            let record = open(key.as_ref(), table, &id, None, row.get(1))?;
            Ok((id, record))
        })
        .collect()
}

/// Every room record in id order, or the one with id `only`.
pub fn rooms(
    client: &mut Client,
    only: Option<&str>,
) -> Result<Vec<(String, RoomRecord)>, StoreError> {
    records(
        client,
        "SELECT r.id, r.record, k.key FROM rooms r LEFT JOIN room_keys k ON k.room = r.id
         WHERE $1::text IS NULL OR r.id = $1 ORDER BY r.id",
        "rooms",
        only,
    )
}

/// Every series record in id order, or the one with id `only`.
pub fn series(client: &mut Client, only: Option<&str>) -> Result<Vec<SeriesRecord>, StoreError> {
    let found = records(
        client,
        "SELECT s.id, s.record, k.key FROM series s LEFT JOIN series_keys k ON k.series = s.id
         WHERE $1::text IS NULL OR s.id = $1 ORDER BY s.id",
        "series",
        only,
    )?;
    Ok(found.into_iter().map(|(_, r)| r).collect())
}

/// How many room records there are.
pub fn room_count(client: &mut Client) -> Result<usize, StoreError> {
    let n: i64 = client
        .query_one("SELECT count(*) FROM rooms", &[])
        .map_err(backend)?
        .get(0);
    usize::try_from(n).map_err(|_| StoreError::Backend {
        reason: format!("PostgreSQL counted {n} rooms"),
    })
}

/// A read-only, repeatable-read transaction for reading one room, and the room's data key
/// (`None` for a room with none: its records are legacy, unsealed).
fn room_read<'a>(
    client: &'a mut Client,
    id: &str,
) -> Result<(postgres::Transaction<'a>, Option<DataKey>), StoreError> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(backend)?;
    let key = match tx
        .query_opt("SELECT key FROM room_keys WHERE room = $1", &[&id])
        .map_err(backend)?
    {
        Some(row) => Some(data_key(row.get::<_, &[u8]>(0), id)?),
        None => None,
    };
    Ok((tx, key))
}

/// One room's snapshot, tokens, notes and events: every event, or with `keep`, those after
/// the snapshot and at least the last `keep`. Read in one repeatable-read transaction, so the
/// parts agree with each other.
pub fn load(client: &mut Client, id: &str, keep: Option<usize>) -> Result<Loaded, StoreError> {
    let (mut tx, key) = room_read(client, id)?;
    let key = key.as_ref();
    let mut loaded = Loaded::default();
    // The first sequence number after the snapshot (without one, every event is).
    let mut after = i64::MIN;
    if let Some(row) = tx
        .query_opt(
            "SELECT seq, snapshot FROM snapshots WHERE room = $1",
            &[&id],
        )
        .map_err(backend)?
    {
        after = row.get::<_, i64>(0).saturating_add(1);
        loaded.snapshot = Some(open::<Snapshot>(key, "snapshots", id, None, row.get(1))?);
    }
    if let Some(row) = tx
        .query_opt("SELECT notes FROM notes WHERE room = $1", &[&id])
        .map_err(backend)?
    {
        loaded.notes = Some(open(key, "notes", id, None, row.get(0))?);
    }
    for row in tx
        .query(
            "SELECT hash, participant FROM tokens WHERE room = $1 ORDER BY hash",
            &[&id],
        )
        .map_err(backend)?
    {
        let hash: [u8; 32] = row
            .get::<_, &[u8]>(0)
            .try_into()
            .map_err(|_| StoreError::Record {
                key: format!("tokens:{id}"),
                reason: "a token hash is not 32 bytes long".into(),
            })?;
        let participant = u32::try_from(row.get::<_, i64>(1)).map_err(|_| StoreError::Record {
            key: format!("tokens:{id}"),
            reason: "a participant number is out of range".into(),
        })?;
        loaded.tokens.push((hash, participant));
    }
    // Without `keep`, every event; with it, from the first after the snapshot or the first of
    // the last `keep`, whichever is earlier (both found through the primary key's index).
    let from: i64 = match keep {
        None => i64::MIN,
        Some(keep) => {
            let keep = seq_column(u64::try_from(keep).unwrap_or(u64::MAX).min(i64::MAX as u64))?;
            let row = tx
                .query_one(
                    "SELECT min(seq) FROM (SELECT seq FROM events WHERE room = $1
                     ORDER BY seq DESC LIMIT $2) AS last",
                    &[&id, &keep],
                )
                .map_err(backend)?;
            let first_kept: Option<i64> = row.get(0);
            first_kept.map_or(after, |f| f.min(after))
        }
    };
    for row in tx
        .query(
            "SELECT seq, event FROM events WHERE room = $1 AND seq >= $2 ORDER BY seq",
            &[&id, &from],
        )
        .map_err(backend)?
    {
        let seq = u64::try_from(row.get::<_, i64>(0)).unwrap_or_default();
        loaded.events.push(open::<StoredEvent>(
            key,
            "events",
            id,
            Some(seq),
            row.get(1),
        )?);
    }
    tx.commit().map_err(backend)?;
    Ok(loaded)
}

/// A room's events after `after`, in order, at most `max` ([`crate::store::Store::events_after`]),
/// read through the primary key's index.
pub fn events_after(
    client: &mut Client,
    id: &str,
    after: u64,
    max: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let from = seq_column(after.min(i64::MAX as u64))?;
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let (mut tx, key) = room_read(client, id)?;
    let mut events = Vec::new();
    for row in tx
        .query(
            "SELECT seq, event FROM events WHERE room = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&id, &from, &limit],
        )
        .map_err(backend)?
    {
        let seq = u64::try_from(row.get::<_, i64>(0)).unwrap_or_default();
        events.push(open::<StoredEvent>(
            key.as_ref(),
            "events",
            id,
            Some(seq),
            row.get(1),
        )?);
    }
    tx.commit().map_err(backend)?;
    Ok(events)
}
