//! Seeing what happens to a series' sessions without touching the rooms: [`Observed`] is a
//! [`Store`] that hands every call to the real store and, from the writes passing through,
//! notes the openings, starts and ends of sessions ([`Sighting`]s). They are reported only
//! once the write's flush succeeded (what a webhook tells has happened, durably), and reported
//! with `try_send`: the commit thread never waits for the webhooks' worker; when its queue is
//! full the sighting is dropped, counted and logged.
//!
//! Every method of [`Store`] is handed on, the defaulted ones included (a method added to the
//! trait later must be added here too, or the wrapper hides the backend's own).
//!
//! What is seen, and where:
//! - opened: a [`Write::Room`] whose record names a series;
//! - started: a `session_changed` event that starts the session (running, started at that
//!   event's own time — a resume after a pause keeps the earlier start);
//! - ended: a [`Write::Ended`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use circlekeeper_protocol::{Event, Millis, SessionStatus};
use tokio::sync::mpsc;
use tracing::warn;

use super::payload::SessionKind;
use crate::store::{Leases, Loaded, RoomRecord, Store, StoreError, Write};

/// Sightings that may wait for the webhooks' worker; more are dropped. A session makes three,
/// and the worker only reads the series before handing each to its own delivery task.
pub const QUEUE: usize = 1024;

/// Something that happened to a session, durably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// Opened, started or ended.
    pub kind: SessionKind,
    /// The session's room.
    pub room: String,
    /// Its series, when the write said so (an opening); otherwise looked up.
    pub series: Option<String>,
    /// When it happened.
    pub at: Millis,
}

/// A store that reports sessions' openings, starts and ends to the webhooks' worker.
pub struct Observed {
    inner: Arc<dyn Store>,
    /// Seen in writes not yet flushed (the commit thread writes, then flushes).
    pending: Mutex<Vec<Sighting>>,
    tx: mpsc::Sender<Sighting>,
    /// Sightings dropped because the queue was full.
    dropped: AtomicU64,
}

impl Observed {
    /// `inner`, observed; the sightings go to the returned receiver.
    pub fn wrap(inner: Arc<dyn Store>) -> (Arc<Observed>, mpsc::Receiver<Sighting>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let observed = Observed {
            inner,
            pending: Mutex::new(Vec::new()),
            tx,
            dropped: AtomicU64::new(0),
        };
        (Arc::new(observed), rx)
    }

    /// How many sightings were dropped because the worker's queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn note(&self, writes: &[Write]) {
        let mut seen = Vec::new();
        for w in writes {
            match w {
                Write::Room { record } => {
                    if let Some(series) = &record.series {
                        seen.push(Sighting {
                            kind: SessionKind::SessionOpened,
                            room: record.setup.id.clone(),
                            series: Some(series.clone()),
                            at: record.created_at,
                        });
                    }
                }
                Write::Events { room, events } => {
                    for e in events {
                        if let Event::SessionChanged { session, .. } = &e.event {
                            if session.status == SessionStatus::Running
                                && session.started_at == Some(e.at)
                            {
                                seen.push(Sighting {
                                    kind: SessionKind::SessionStarted,
                                    room: room.clone(),
                                    series: None,
                                    at: e.at,
                                });
                            }
                        }
                    }
                }
                Write::Ended { room, at } => seen.push(Sighting {
                    kind: SessionKind::SessionEnded,
                    room: room.clone(),
                    series: None,
                    at: *at,
                }),
                _ => {}
            }
        }
        if !seen.is_empty() {
            if let Ok(mut pending) = self.pending.lock() {
                pending.extend(seen);
            }
        }
    }

    fn report(&self, flushed: bool) {
        let seen = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return,
        };
        if !flushed {
            return;
        }
        for s in seen {
            if self.tx.try_send(s).is_err() {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                warn!(
                    dropped = n,
                    "a webhook notice was dropped: the webhooks' queue is full"
                );
            }
        }
    }
}

impl Store for Observed {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.inner.put_room(id, record)
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        let result = self.inner.write(writes);
        match &result {
            Ok(()) => self.note(writes),
            // Nothing of a refused batch is reported (it may be written again without some).
            Err(_) => self.report(false),
        }
        result
    }

    fn flush(&self) -> Result<(), StoreError> {
        let result = self.inner.flush();
        self.report(result.is_ok());
        result
    }

    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
        self.inner.rooms()
    }

    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        self.inner.load(id)
    }

    fn load_recent(&self, id: &str, keep: usize) -> Result<Loaded, StoreError> {
        self.inner.load_recent(id, keep)
    }

    fn events_after(
        &self,
        id: &str,
        after: u64,
        max: usize,
    ) -> Result<Vec<crate::store::StoredEvent>, StoreError> {
        self.inner.events_after(id, after, max)
    }

    fn series(&self) -> Result<Vec<crate::series::SeriesRecord>, StoreError> {
        self.inner.series()
    }

    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        self.inner.room(id)
    }

    fn room_count(&self) -> Result<usize, StoreError> {
        self.inner.room_count()
    }

    fn leases(&self) -> Option<&dyn Leases> {
        self.inner.leases()
    }

    fn series_record(&self, id: &str) -> Result<Option<crate::series::SeriesRecord>, StoreError> {
        self.inner.series_record(id)
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.inner.size_on_disk()
    }

    fn recover(&self) -> Result<(), StoreError> {
        self.inner.recover()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backend whose every defaulted method answers something the default would not, so a
    /// wrapper that forgets to hand one on is caught.
    struct Distinct;

    fn refused(what: &str) -> StoreError {
        StoreError::Record {
            key: what.into(),
            reason: "distinct".into(),
        }
    }

    impl Store for Distinct {
        fn put_room(&self, _: &str, _: &RoomRecord) -> Result<(), StoreError> {
            Ok(())
        }
        fn write(&self, _: &[Write]) -> Result<(), StoreError> {
            Ok(())
        }
        fn flush(&self) -> Result<(), StoreError> {
            Ok(())
        }
        fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
            Ok(Vec::new())
        }
        fn load(&self, _: &str) -> Result<Loaded, StoreError> {
            Err(refused("load"))
        }
        fn load_recent(&self, _: &str, _: usize) -> Result<Loaded, StoreError> {
            Err(refused("load_recent"))
        }
        fn events_after(
            &self,
            _: &str,
            _: u64,
            _: usize,
        ) -> Result<Vec<crate::store::StoredEvent>, StoreError> {
            Err(refused("events_after"))
        }
        fn series(&self) -> Result<Vec<crate::series::SeriesRecord>, StoreError> {
            Ok(Vec::new())
        }
        fn room(&self, _: &str) -> Result<Option<RoomRecord>, StoreError> {
            Err(refused("room"))
        }
        fn room_count(&self) -> Result<usize, StoreError> {
            Ok(42)
        }
        fn series_record(
            &self,
            _: &str,
        ) -> Result<Option<crate::series::SeriesRecord>, StoreError> {
            Err(refused("series_record"))
        }
        fn recover(&self) -> Result<(), StoreError> {
            Err(refused("recover"))
        }
        fn size_on_disk(&self) -> Option<u64> {
            Some(7)
        }
    }

    fn key(e: StoreError) -> String {
        match e {
            StoreError::Record { key, .. } => key,
            other => other.to_string(),
        }
    }

    #[test]
    fn every_defaulted_method_reaches_the_backend() {
        let (observed, _rx) = Observed::wrap(Arc::new(Distinct));
        assert_eq!(observed.room_count().ok(), Some(42));
        assert_eq!(observed.size_on_disk(), Some(7));
        assert_eq!(observed.recover().map_err(key), Err("recover".into()));
        assert_eq!(
            observed.load_recent("r", 1).map(|_| ()).map_err(key),
            Err("load_recent".into())
        );
        assert_eq!(
            observed.events_after("r", 0, 1).map(|_| ()).map_err(key),
            Err("events_after".into())
        );
        assert_eq!(
            observed.room("r").map(|_| ()).map_err(key),
            Err("room".into())
        );
        assert_eq!(
            observed.series_record("s").map(|_| ()).map_err(key),
            Err("series_record".into())
        );
    }
}
