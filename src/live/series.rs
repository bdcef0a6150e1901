//! The series actor: one task per series that owns its [`SeriesRecord`] and is its only writer.
//!
//! Everything that changes a series — a session opened, pairs recorded by one of its rooms,
//! commitments and their reviews, members' choices, the member list — is a job sent to this
//! actor. The actor runs the jobs waiting in its inbox one after another on its record, submits
//! the changed record (with any writes that must land with it, such as the record of a room
//! opened for a session) to the group-commit thread as one submission, and answers every job of
//! the batch only once that submission is durable. If it fails, the record goes back to what it
//! was before the batch and every job of the batch gets the error, so nothing is answered that
//! is not on disk and nothing on disk is missing from memory.
//!
//! Reads are jobs too: they see every change acknowledged before them, never one that is not
//! durable yet.

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error};

use crate::series::SeriesRecord;
use crate::store::{Committer, StoreError, Write};

/// How many jobs may wait in a series' inbox before senders wait too.
pub const SERIES_INBOX: usize = 256;

/// Most jobs one batch of the series actor runs before it commits them together.
pub const MAX_SERIES_BATCH: usize = 64;

/// What a job did to the record.
#[derive(Debug)]
pub enum Change {
    /// Nothing: the record is as it was (a read, or a refused change).
    None,
    /// The record changed: store it, with these writes in the same submission.
    Save(Vec<Write>),
}

/// Answers a job once its batch's fate is known: `Ok` when durable (or nothing to write).
type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// A job: runs on the record in the actor, says what changed, and how to answer.
type Job = Box<dyn FnOnce(&mut SeriesRecord) -> (Change, Reply) + Send>;

enum SeriesMsg {
    Job(Job),
    /// Remove the series from the store, then stop; later jobs get [`SeriesError::Gone`].
    /// Answers with the rooms of its sessions as they were at the end.
    Delete(oneshot::Sender<Result<Vec<String>, StoreError>>),
}

/// Why a job on a series did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    /// The series was deleted (or its actor stopped).
    #[error("the series is gone")]
    Gone,
    /// The change could not be made durable; nothing of it was kept.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sending side of a series actor. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SeriesHandle {
    inbox: mpsc::Sender<SeriesMsg>,
}

impl std::fmt::Debug for SeriesMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SeriesMsg::Job(_) => "Job",
            SeriesMsg::Delete(_) => "Delete",
        })
    }
}

impl SeriesHandle {
    /// Read the record (after every change acknowledged before this call).
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&SeriesRecord) -> R + Send + 'static,
    ) -> Result<R, SeriesError> {
        self.update(move |s| (f(s), Change::None)).await
    }

    /// Change the record. `f` returns its answer and whether (and what) to save; the answer
    /// comes back once the change is durable.
    pub async fn update<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SeriesRecord) -> (R, Change) + Send + 'static,
    ) -> Result<R, SeriesError> {
        let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
        let job: Job = Box::new(move |record| {
            let (answer, change) = f(record);
            let reply: Reply = Box::new(move |durable| {
                let _ = tx.send(durable.map(|()| answer));
            });
            (change, reply)
        });
        if self.inbox.send(SeriesMsg::Job(job)).await.is_err() {
            return Err(SeriesError::Gone);
        }
        match rx.await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(SeriesError::Store(e)),
            Err(_) => Err(SeriesError::Gone),
        }
    }

    /// Delete the series from the store (its rooms are the caller's), durably; the actor
    /// stops and later jobs fail with [`SeriesError::Gone`]. Returns the rooms of its sessions
    /// as they were when it was deleted (a session opened while the caller deleted the others
    /// is among them).
    pub async fn delete(&self) -> Result<Vec<String>, SeriesError> {
        let (tx, rx) = oneshot::channel();
        if self.inbox.send(SeriesMsg::Delete(tx)).await.is_err() {
            return Err(SeriesError::Gone);
        }
        match rx.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(SeriesError::Gone),
        }
    }

    /// Whether the actor has stopped.
    pub fn is_closed(&self) -> bool {
        self.inbox.is_closed()
    }
}

/// Start the actor of a series over its record, as stored.
pub fn spawn_series(
    record: SeriesRecord,
    committer: Committer,
) -> (SeriesHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(SERIES_INBOX);
    let span = tracing::info_span!("series", series_id = %record.id);
    let task = tokio::spawn(tracing::Instrument::instrument(
        run_series(record, committer, rx),
        span,
    ));
    (SeriesHandle { inbox: tx }, task)
}

async fn run_series(
    mut record: SeriesRecord,
    committer: Committer,
    mut inbox: mpsc::Receiver<SeriesMsg>,
) {
    let mut batch: Vec<SeriesMsg> = Vec::with_capacity(8);
    while let Some(first) = inbox.recv().await {
        batch.push(first);
        while batch.len() < MAX_SERIES_BATCH {
            match inbox.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        let before = record.clone();
        let mut writes: Vec<Write> = Vec::new();
        let mut changed = false;
        let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
        let mut delete: Option<oneshot::Sender<Result<Vec<String>, StoreError>>> = None;
        for msg in batch.drain(..) {
            match msg {
                SeriesMsg::Job(job) if delete.is_none() => {
                    let (change, reply) = job(&mut record);
                    if let Change::Save(extra) = change {
                        changed = true;
                        writes.extend(extra);
                    }
                    replies.push(reply);
                }
                // Jobs after a delete in the same batch find the series gone: their reply is
                // dropped, which their sender reads as `Gone`.
                SeriesMsg::Job(_) => {}
                SeriesMsg::Delete(done) => {
                    if delete.is_none() {
                        delete = Some(done);
                    }
                }
            }
        }
        if changed {
            // The record goes first: writes that depend on it (a session's room) land with it.
            writes.insert(
                0,
                Write::Series {
                    record: Box::new(record.clone()),
                },
            );
        }
        if delete.is_some() {
            writes.push(Write::DeleteSeries {
                series: record.id.clone(),
            });
        }
        let result = if writes.is_empty() {
            Ok(())
        } else {
            let receipt = committer.submit(writes).await;
            receipt.await.unwrap_or(Err(StoreError::Closed))
        };
        if let Err(e) = &result {
            error!(error = %e, "a series change could not be made durable; it is undone");
            record = before;
        }
        let failed = |e: &StoreError| StoreError::Record {
            key: "series".into(),
            reason: e.to_string(),
        };
        for reply in replies {
            reply(result.as_ref().map(|_| ()).map_err(failed));
        }
        if let Some(done) = delete {
            let deleted = result.is_ok();
            let rooms = record.sessions.iter().map(|s| s.room_id.clone()).collect();
            let _ = done.send(result.as_ref().map(|_| rooms).map_err(failed));
            if deleted {
                debug!("series deleted");
                return;
            }
        }
    }
    debug!("series actor stopped");
}
