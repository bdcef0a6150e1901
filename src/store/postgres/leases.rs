//! Leases in PostgreSQL (see [`crate::store::leases`]): the `leases` table, one row per room or
//! series ever claimed, and the `lease_fence` sequence that numbers claims.
//!
//! | column | meaning |
//! | --- | --- |
//! | `owner` | `room:ID` or `series:ID` |
//! | `node` | the holder's `--node-id`; `''` once released |
//! | `fence` | `nextval('lease_fence')` at the claim: a new holder always has a larger one |
//! | `expires_at` | the database's clock: a claim or renewal sets it `lease` ahead |
//! | `wanted` | another node asked for it; cleared by the next claim |
//!
//! Times are the database's (`now()`), so the nodes' clocks need not agree. A write checks its
//! fences with `SELECT … FOR KEY SHARE` in its own transaction ([`check`]); a claim locks the
//! row `FOR UPDATE` first, so it waits for every write that checked it to commit, and then loads
//! what they wrote. Renewals and releases update other columns than the key (`FOR NO KEY
//! UPDATE`), which a write's lock does not conflict with: a node's writes and its renewals never
//! wait for each other, so they cannot deadlock.

use std::collections::HashMap;
use std::time::Duration;

use postgres::{Client, Transaction};

use super::backend;
use crate::store::{Claim, Owner, StoreError, Write};

/// The migration that makes the table and the sequence.
pub const MIGRATION: &str = r#"
    CREATE SEQUENCE lease_fence;
    CREATE TABLE leases (
        owner text COLLATE "C" PRIMARY KEY,
        node text NOT NULL,
        fence bigint NOT NULL,
        expires_at timestamptz NOT NULL,
        wanted boolean NOT NULL DEFAULT false
    );
    CREATE INDEX leases_node ON leases (node);
"#;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn fence_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Claim `owner` for `node` for `lease` (see [`crate::store::Leases::claim`]).
pub fn claim(
    client: &mut Client,
    node: &str,
    lease: Duration,
    owner: &Owner,
) -> Result<Claim, StoreError> {
    let key = owner.lease_key();
    let mut tx = client.transaction().map_err(backend)?;
    // FOR UPDATE waits for every write that checked this lease (they hold FOR KEY SHARE) to
    // commit, so the new holder loads what they wrote; renewals (FOR NO KEY UPDATE) never wait
    // for writes, nor writes for them.
    tx.query_opt("SELECT 1 FROM leases WHERE owner = $1 FOR UPDATE", &[&key])
        .map_err(backend)?;
    let taken = tx
        .query_opt(
            "INSERT INTO leases (owner, node, fence, expires_at)
             VALUES ($1, $2, nextval('lease_fence'), now() + $3::bigint * interval '1 millisecond')
             ON CONFLICT (owner) DO UPDATE
               SET node = EXCLUDED.node, fence = EXCLUDED.fence,
                   expires_at = EXCLUDED.expires_at, wanted = false
               WHERE leases.expires_at <= now() OR leases.node = '' OR leases.node = EXCLUDED.node
             RETURNING fence",
            &[&key, &node, &millis(lease)],
        )
        .map_err(backend)?;
    let claim = match taken {
        Some(row) => Claim::Held(fence_of(row.get(0))),
        None => {
            let row = tx
                .query_one(
                    "UPDATE leases SET wanted = true WHERE owner = $1
                     RETURNING node,
                       greatest(0, (extract(epoch FROM expires_at - now()) * 1000))::bigint",
                    &[&key],
                )
                .map_err(backend)?;
            Claim::Elsewhere {
                node: row.get(0),
                expires_in: Duration::from_millis(fence_of(row.get(1))),
            }
        }
    };
    tx.commit().map_err(backend)?;
    Ok(claim)
}

/// Extend `node`'s leases in `held`; the owners of `held` it no longer holds.
pub fn renew(
    client: &mut Client,
    node: &str,
    lease: Duration,
    held: &[(Owner, u64)],
) -> Result<Vec<Owner>, StoreError> {
    if held.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = held.iter().map(|(o, _)| o.lease_key()).collect();
    let rows = client
        .query(
            "UPDATE leases SET expires_at = now() + $3::bigint * interval '1 millisecond'
             WHERE node = $1 AND owner = ANY($2)
             RETURNING owner, fence",
            &[&node, &keys, &millis(lease)],
        )
        .map_err(backend)?;
    let kept: HashMap<String, u64> = rows
        .into_iter()
        .map(|r| (r.get::<_, String>(0), fence_of(r.get(1))))
        .collect();
    Ok(held
        .iter()
        .filter(|(owner, fence)| kept.get(&owner.lease_key()) != Some(fence))
        .map(|(owner, _)| owner.clone())
        .collect())
}

/// `node`'s leases that another node asked for.
pub fn wanted(client: &mut Client, node: &str) -> Result<Vec<Owner>, StoreError> {
    let rows = client
        .query(
            "SELECT owner FROM leases WHERE node = $1 AND wanted",
            &[&node],
        )
        .map_err(backend)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Owner::from_lease_key(r.get(0)))
        .collect())
}

/// Release `owner` if `node` holds it with `fence`.
pub fn release(
    client: &mut Client,
    node: &str,
    owner: &Owner,
    fence: u64,
) -> Result<(), StoreError> {
    let fence = i64::try_from(fence).unwrap_or(i64::MAX);
    client
        .execute(
            "UPDATE leases SET node = '', expires_at = now(), wanted = false
             WHERE owner = $1 AND node = $2 AND fence = $3",
            &[&owner.lease_key(), &node, &fence],
        )
        .map_err(backend)?;
    Ok(())
}

/// Release every lease of `node`.
pub fn release_all(client: &mut Client, node: &str) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE leases SET node = '', expires_at = now(), wanted = false WHERE node = $1",
            &[&node],
        )
        .map_err(backend)?;
    Ok(())
}

/// In a write's transaction: lock the lease of every room and series the batch writes and
/// check that `node` holds each with the fence its [`Write::Fence`] names. A write of an owner
/// with no fence in the batch is refused too. Deleted owners' lease rows go with them
/// ([`forget`]).
pub fn check(tx: &mut Transaction<'_>, node: &str, writes: &[Write]) -> Result<(), StoreError> {
    let mut fences: HashMap<Owner, u64> = HashMap::new();
    let mut owners: Vec<Owner> = Vec::new();
    for write in writes {
        match write {
            Write::Fence { owner, fence } => {
                fences.insert(owner.clone(), *fence);
            }
            other => owners.push(other.owner()),
        }
    }
    owners.extend(fences.keys().cloned());
    owners.sort();
    owners.dedup();
    if owners.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = owners.iter().map(Owner::lease_key).collect();
    // FOR KEY SHARE: a claim (FOR UPDATE) waits for this write to commit, a renewal or a
    // release (an update of other columns) does not, and this write does not wait for them: a
    // node's writes and its own renewals never deadlock.
    let rows = tx
        .query(
            "SELECT owner, node, fence FROM leases WHERE owner = ANY($1)
             ORDER BY owner FOR KEY SHARE",
            &[&keys],
        )
        .map_err(backend)?;
    let held: HashMap<String, (String, u64)> = rows
        .into_iter()
        .map(|r| (r.get::<_, String>(0), (r.get(1), fence_of(r.get(2)))))
        .collect();
    let fenced: Vec<Owner> = owners
        .into_iter()
        .filter(|owner| {
            let lease = held.get(&owner.lease_key());
            let fence = fences.get(owner);
            !matches!((lease, fence), (Some((n, f)), Some(mine)) if n == node && f == mine)
        })
        .collect();
    if fenced.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Fenced { owners: fenced })
    }
}

/// A deleted room's or series' lease row, removed with its records.
pub fn forget(tx: &mut Transaction<'_>, owner: &Owner) -> Result<(), StoreError> {
    tx.execute("DELETE FROM leases WHERE owner = $1", &[&owner.lease_key()])
        .map_err(backend)?;
    Ok(())
}
