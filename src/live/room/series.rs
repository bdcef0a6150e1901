//! The room's side of its series: what the room records in the series' record — the
//! confirmed pairs, the commitments written in it — through the series' actor, the record's
//! only writer, durably and before the input that owes it is acknowledged. A room brought back
//! after a crash repairs what its series may have missed.

use circlekeeper_protocol::Commitment;
use tracing::warn;

use super::Actor;
use crate::live::{Change, SeriesError};
use crate::pairing::Group;
use crate::store::StoreError;

/// A series change's outcome as the store's: a series that is gone records nothing (its rooms
/// are being deleted with it).
fn series_result<R>(result: Result<R, SeriesError>) -> Result<(), StoreError> {
    match result {
        Ok(_) | Err(SeriesError::Gone) => Ok(()),
        Err(SeriesError::Store(e)) => Err(e),
    }
}

impl Actor {
    /// In a series room: write these groups into the series' history as this session's (the
    /// next session's pairing reads it), through the series' actor, durably.
    pub(super) async fn record_pairs(&self, groups: Vec<Group>) -> Result<(), StoreError> {
        let Some(link) = &self.series else {
            return Ok(());
        };
        let room = self.room.view().id.clone();
        series_result(
            link.handle
                .update(move |record| match record.session_of(&room) {
                    Some(session) => {
                        record.record_pairs(session, &groups);
                        ((), Change::Save(Vec::new()))
                    }
                    None => ((), Change::None),
                })
                .await,
        )
    }

    /// In a series room: keep this room's commitments (and reviews of earlier ones) in the
    /// series record, for the members' next session, through the series' actor, durably. With
    /// `missing_only`, only commitments the series does not hold yet are added (a room brought
    /// back after a crash repairs what its series may have missed, and never undoes a later
    /// session's review).
    pub(super) async fn record_commitments(&self, missing_only: bool) -> Result<(), StoreError> {
        let Some(link) = &self.series else {
            return Ok(());
        };
        let notes = self.room.notes();
        let mut mine: Vec<Commitment> = notes.commitments.clone();
        if !missing_only {
            mine.extend(notes.earlier.iter().cloned());
        }
        if mine.is_empty() {
            return Ok(());
        }
        series_result(
            link.handle
                .update(move |record| {
                    if missing_only {
                        mine.retain(|c| !record.commitments.iter().any(|k| k.id == c.id));
                    }
                    let before = record.commitments.clone();
                    record.merge_commitments(&mine);
                    if record.commitments == before {
                        ((), Change::None)
                    } else {
                        ((), Change::Save(Vec::new()))
                    }
                })
                .await,
        )
    }

    /// A room brought back from the store gives its series what a crash between the room's
    /// commit and the series' may have lost: its pairs, if the series has none for this
    /// session, and commitments the series does not hold. Both are no-ops when nothing was lost.
    pub(super) async fn repair_series(&mut self) {
        let Some(link) = &self.series else { return };
        let room = self.room.view().id.clone();
        let groups = self.room.groups_as_people();
        let pairs = if groups.is_empty() {
            Ok(())
        } else {
            series_result(
                link.handle
                    .update(move |record| {
                        let Some(session) = record.session_of(&room) else {
                            return ((), Change::None);
                        };
                        let recorded = record
                            .history
                            .pairs()
                            .any(|(_, _, sessions)| sessions.contains(&session));
                        if recorded {
                            return ((), Change::None);
                        }
                        record.record_pairs(session, &groups);
                        ((), Change::Save(Vec::new()))
                    })
                    .await,
            )
        };
        let result = match pairs {
            Ok(()) => self.record_commitments(true).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            warn!(error = %e, "a restored room could not repair its series record");
        }
    }
}
