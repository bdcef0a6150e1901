//! The series this node runs: each series' actor, the only writer of its record, started at
//! start-up (one node) or claimed and loaded on first use (several nodes), and the directory
//! through which the rooms of this node reach it wherever it runs.

use std::sync::Arc;

use tracing::{info, warn};

use super::rooms::{fenced, unserved};
use super::{AppState, Inner, Unserved, MAX_ROOM_ID};
use crate::live::room::SeriesLink;
use crate::live::{spawn_series, SeriesError, SeriesHandle};
use crate::series::SeriesRecord;
use crate::store::{StoreError, Write};

impl AppState {
    /// Every series record, as each series' actor holds it (with several nodes: as stored, which
    /// is what every acknowledged change left).
    pub async fn all_series(&self) -> Vec<SeriesRecord> {
        if self.clustered() {
            let store = Arc::clone(&self.inner.store);
            let mut out = match tokio::task::spawn_blocking(move || store.series()).await {
                Ok(Ok(all)) => all,
                _ => {
                    warn!("the series could not be listed");
                    Vec::new()
                }
            };
            out.sort_by_key(|s| s.created_at);
            return out;
        }
        let handles: Vec<SeriesHandle> = self
            .inner
            .series
            .iter()
            .map(|e| e.value().clone())
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            if let Ok(record) = handle.read(SeriesRecord::clone).await {
                out.push(record);
            }
        }
        out.sort_by_key(|s| s.created_at);
        out
    }

    /// A series' id and the way to its actor, for the actor of one of its rooms.
    pub(super) fn series_link(&self, id: &str) -> SeriesLink {
        let directory: Arc<dyn crate::live::SeriesDirectory> =
            Arc::new(Directory(Arc::downgrade(&self.inner)));
        SeriesLink {
            id: id.to_string(),
            handle: crate::live::SeriesRef::new(id, directory),
        }
    }

    /// A series' actor, by id (a clone: no map guard escapes). With several nodes the series
    /// is claimed and loaded on first use, like a room.
    pub async fn series(&self, id: &str) -> Result<SeriesHandle, Unserved> {
        if let Some(handle) = self.live_series(id) {
            return Ok(handle);
        }
        if id.is_empty() || id.len() > MAX_ROOM_ID {
            return Err(Unserved::NotFound);
        }
        if !self.clustered() {
            // One node runs every series it has; one it lacks is either unknown or, in a
            // store served with `--serve-intact`, damaged: that answers `room_unavailable`,
            // never `room_not_found` (which would tell a client to forget its key).
            return Err(self.unserved_series(id).await);
        }
        let owner = crate::store::Owner::series(id);
        let gate = self.gate(&owner.lease_key());
        let held = gate.lock().await;
        let handle = match self.live_series(id) {
            Some(handle) => Ok(handle),
            None => self.load_series(&owner).await,
        };
        drop(held);
        self.ungate(&owner.lease_key(), gate);
        handle
    }

    /// Why one node does not run series `id`: not stored, stored but damaged, or the store
    /// cannot say now.
    async fn unserved_series(&self, id: &str) -> Unserved {
        let store = Arc::clone(&self.inner.store);
        let key = id.to_string();
        match tokio::task::spawn_blocking(move || store.series_record(&key)).await {
            Ok(Ok(None)) => Unserved::NotFound,
            Ok(Err(e)) if !e.is_transient() => Unserved::Damaged,
            // Stored but not running here (it failed to start), or unreadable for now.
            _ => Unserved::Unavailable,
        }
    }

    /// A series' actor, if it runs here.
    pub(super) fn live_series(&self, id: &str) -> Option<SeriesHandle> {
        self.inner
            .series
            .get(id)
            .map(|h| h.value().clone())
            .filter(|h| !h.is_closed())
    }

    /// Claim a series, read it from the store and start its actor (under its gate).
    pub(super) async fn load_series(
        &self,
        owner: &crate::store::Owner,
    ) -> Result<SeriesHandle, Unserved> {
        let store = Arc::clone(&self.inner.store);
        let key = owner.id.clone();
        let exists = tokio::task::spawn_blocking(move || store.series_record(&key)).await;
        match exists {
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => return Err(Unserved::NotFound),
            _ => return Err(Unserved::Unavailable),
        }
        let fence = self.claim(owner, true).await?;
        // Read again under the lease: the last holder may have written since.
        let store = Arc::clone(&self.inner.store);
        let key = owner.id.clone();
        let record = tokio::task::spawn_blocking(move || store.series_record(&key)).await;
        let launched = match record {
            Ok(Ok(Some(record))) => self.launch_series(record, fence),
            Ok(Ok(None)) => None,
            _ => {
                self.release(owner).await;
                return Err(Unserved::Unavailable);
            }
        };
        match launched {
            Some(handle) => Ok(handle),
            None => {
                self.release(owner).await;
                Err(Unserved::NotFound)
            }
        }
    }

    /// Start the actor of a series from its stored record and register it.
    pub(super) fn launch_series(
        &self,
        record: SeriesRecord,
        fence: Option<u64>,
    ) -> Option<SeriesHandle> {
        let committer = self.inner.committer.lock().ok().and_then(|c| c.clone())?;
        let id = record.id.clone();
        let (handle, task) = spawn_series(record, committer, fence);
        self.inner.series.insert(id, handle.clone());
        if let Ok(mut actors) = self.inner.series_actors.lock() {
            actors.retain(|t| !t.is_finished());
            actors.push(task);
        }
        Some(handle)
    }

    /// Create a series: its record is durable before its actor exists (with several nodes,
    /// under its new lease).
    pub(crate) async fn create_series(&self, record: SeriesRecord) -> Result<(), StoreError> {
        let owner = crate::store::Owner::series(&record.id);
        let fence = self.claim(&owner, false).await.map_err(unserved)?;
        let mut writes = fenced(&owner, fence);
        writes.push(Write::Series {
            record: Box::new(record.clone()),
        });
        if let Err(e) = self.commit(writes).await {
            self.release(&owner).await;
            return Err(e);
        }
        if fence.is_some() {
            // As a new room: the node the proxy sends the series' first request to claims it.
            self.release(&owner).await;
            return Ok(());
        }
        if self.launch_series(record, fence).is_some() {
            Ok(())
        } else {
            Err(StoreError::Closed)
        }
    }

    /// Delete a series and every room opened for it: each room is gone from disk (and its
    /// people disconnected) before the series record is. Returns `false` if there was no such
    /// series.
    pub(crate) async fn delete_series(&self, id: &str) -> Result<bool, StoreError> {
        let handle = match self.series(id).await {
            Ok(handle) => handle,
            Err(Unserved::NotFound) => return Ok(false),
            Err(other) => return Err(unserved(other)),
        };
        let rooms = match handle
            .read(|s| {
                s.sessions
                    .iter()
                    .map(|x| x.room_id.clone())
                    .collect::<Vec<_>>()
            })
            .await
        {
            Ok(rooms) => rooms,
            Err(SeriesError::Gone) => return Ok(false),
            Err(SeriesError::Store(e)) => return Err(e),
        };
        for room in &rooms {
            self.delete_room(room).await?;
        }
        let last = match handle.delete().await {
            Ok(last) => last,
            Err(SeriesError::Gone) => Vec::new(),
            Err(SeriesError::Store(e)) => return Err(e),
        };
        // A session opened while the others were being deleted goes too.
        for room in last.iter().filter(|r| !rooms.contains(r)) {
            self.delete_room(room).await?;
        }
        self.inner.series.remove(id);
        self.lost(&crate::store::Owner::series(id));
        info!(series_id = %id, "series deleted");
        Ok(true)
    }
}

/// How the rooms of this node find their series' actors: through the server's state (held
/// weakly: the rooms do not keep the server alive).
struct Directory(std::sync::Weak<Inner>);

impl crate::live::SeriesDirectory for Directory {
    fn find<'a>(
        &'a self,
        id: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<SeriesHandle>> + Send + 'a>>
    {
        Box::pin(async move {
            let inner = self.0.upgrade()?;
            AppState { inner }.series(id).await.ok()
        })
    }
}
