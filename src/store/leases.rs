//! Ownership across nodes: a lease per room and per series, kept in the store that several
//! nodes share, so that exactly one node runs each at a time.
//!
//! A node *claims* an owner's lease before it loads the room or series: it gets the lease if it
//! is free, expired, released or already its own, with a new *fence* (a number that only
//! grows, never given twice). Every batch a node writes carries, for each room or series in it,
//! a [`Write::Fence`](super::Write::Fence) with the fence it holds; the store commits the batch
//! only if each lease still names this node and that fence, checked in the same transaction
//! (the lease rows are locked until it commits, so a claim by another node waits for it and then
//! reads what it wrote). A node that lost a lease — paused, partitioned or slow past its expiry
//! while another claimed it — can therefore never write that owner again.
//!
//! A node that finds a lease held elsewhere marks it *wanted*; the holder sees that within
//! [`WANTED_POLL`] and hands the owner over: it stops serving it (its websockets close with
//! `4012`) and releases the lease, which the asking node then claims. The proxy's choice of node
//! wins, and clients never need to know the topology. Renewal extends every lease a node holds
//! each third of the lease time; the owners it no longer holds come back as lost.
//!
//! Only the PostgreSQL store has leases; the sled store belongs to one process
//! ([`Store::leases`](super::Store::leases) is `None`).

use std::time::Duration;

use super::{Owner, StoreError};

/// How often a node asks which of its leases another node wants.
pub const WANTED_POLL: Duration = Duration::from_millis(500);

/// The default lease time (`--lease-secs`).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(6);

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This node holds the lease now, with this fence.
    Held(u64),
    /// Another node holds it (now marked wanted) for at most this much longer unless renewed.
    Elsewhere {
        /// The holder's node id.
        node: String,
        /// Until its lease expires, if the holder does not renew it.
        expires_in: Duration,
    },
}

/// Leases of rooms and series in a store several nodes share.
pub trait Leases: Send + Sync {
    /// This node's id, as the leases name it.
    fn node(&self) -> &str;
    /// How long a lease lasts without renewal.
    fn lease_time(&self) -> Duration;
    /// Take `owner`'s lease if it is free, expired, released or this node's (with a new
    /// fence); otherwise mark it wanted and say who holds it.
    fn claim(&self, owner: &Owner) -> Result<Claim, StoreError>;
    /// Extend the leases this node holds (`held`, with their fences); answers those of them it
    /// holds no longer (another node claimed them).
    fn renew(&self, held: &[(Owner, u64)]) -> Result<Vec<Owner>, StoreError>;
    /// The leases of this node another node has asked for.
    fn wanted(&self) -> Result<Vec<Owner>, StoreError>;
    /// Give up `owner`'s lease, if this node still holds it with `fence`: any node may claim it
    /// at once.
    fn release(&self, owner: &Owner, fence: u64) -> Result<(), StoreError>;
    /// Give up every lease this node holds (at shutdown, and at start: a node that starts
    /// holds nothing, whatever a process with its id held before).
    fn release_all(&self) -> Result<(), StoreError>;
}
