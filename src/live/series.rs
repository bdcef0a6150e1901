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

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, warn};

use crate::series::SeriesRecord;
use crate::store::{Committer, Owner, StoreError, Write};

/// How many times a job follows a series that moved (its actor handed it over to another node,
/// or stopped here to start again) before it gives up with [`SeriesError::Gone`].
pub const MAX_MOVES: usize = 3;

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
    /// Stop after running every job already waiting (several nodes: another node wants the
    /// series); later jobs find the handle moved and go to wherever the series is next.
    HandOver(oneshot::Sender<()>),
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
    /// Set when the actor stopped to hand the series over (rather than because it was
    /// deleted): a job it refused may go to the series' next actor.
    moved: Arc<AtomicBool>,
}

impl std::fmt::Debug for SeriesMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SeriesMsg::Job(_) => "Job",
            SeriesMsg::Delete(_) => "Delete",
            SeriesMsg::HandOver(_) => "HandOver",
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
        let (job, answer) = job(f);
        if self.inbox.send(job).await.is_err() {
            return Err(SeriesError::Gone);
        }
        answered(answer).await
    }

    /// Stop the actor once the jobs already waiting have run, to hand the series over; answers
    /// when it has stopped (at once if it had).
    pub async fn hand_over(&self) {
        let (done, stopped) = oneshot::channel();
        if self.inbox.send(SeriesMsg::HandOver(done)).await.is_ok() {
            let _ = stopped.await;
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

/// A job for `f` and the receiver of its answer.
fn job<R: Send + 'static>(
    f: impl FnOnce(&mut SeriesRecord) -> (R, Change) + Send + 'static,
) -> (SeriesMsg, oneshot::Receiver<Result<R, StoreError>>) {
    let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
    let job: Job = Box::new(move |record| {
        let (answer, change) = f(record);
        let reply: Reply = Box::new(move |durable| {
            let _ = tx.send(durable.map(|()| answer));
        });
        (change, reply)
    });
    (SeriesMsg::Job(job), rx)
}

/// A job's answer: dropped unanswered means the series is gone.
async fn answered<R>(rx: oneshot::Receiver<Result<R, StoreError>>) -> Result<R, SeriesError> {
    match rx.await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(SeriesError::Store(e)),
        Err(_) => Err(SeriesError::Gone),
    }
}

/// Finds the actor of a series for a job, starting it on this node first if it must (the
/// server implements it: with several nodes a series' actor runs on one node at a time, and
/// moves to the node that needs it).
pub trait SeriesDirectory: Send + Sync + 'static {
    /// The series' actor now, or `None` if there is no such series (or it cannot be reached).
    fn find<'a>(
        &'a self,
        id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Option<SeriesHandle>> + Send + 'a>>;
}

/// A series reached by id: each job goes to the series' actor as the directory finds it at
/// that moment, and follows it if it moved in between.
#[derive(Clone)]
pub struct SeriesRef {
    id: String,
    directory: Arc<dyn SeriesDirectory>,
}

impl std::fmt::Debug for SeriesRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesRef").field("id", &self.id).finish()
    }
}

impl SeriesRef {
    /// The series `id`, found through `directory`.
    pub fn new(id: &str, directory: Arc<dyn SeriesDirectory>) -> SeriesRef {
        SeriesRef {
            id: id.to_string(),
            directory,
        }
    }

    /// Read the record (after every change acknowledged before this call).
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&SeriesRecord) -> R + Send + 'static,
    ) -> Result<R, SeriesError> {
        self.update(move |s| (f(s), Change::None)).await
    }

    /// Change the record (see [`SeriesHandle::update`]), wherever its actor is.
    pub async fn update<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SeriesRecord) -> (R, Change) + Send + 'static,
    ) -> Result<R, SeriesError> {
        let (mut msg, answer) = job(f);
        for _ in 0..MAX_MOVES {
            let Some(handle) = self.directory.find(&self.id).await else {
                return Err(SeriesError::Gone);
            };
            match handle.inbox.send(msg).await {
                Ok(()) => return answered(answer).await,
                Err(mpsc::error::SendError(back)) if handle.moved.load(Ordering::Acquire) => {
                    msg = back;
                }
                Err(_) => return Err(SeriesError::Gone),
            }
        }
        warn!(series_id = %self.id, "a series job gave up: the series kept moving");
        Err(SeriesError::Gone)
    }
}

/// Start the actor of a series over its record, as stored. With several nodes, `fence` is
/// the fence of this node's lease on the series: every submission carries it.
pub fn spawn_series(
    record: SeriesRecord,
    committer: Committer,
    fence: Option<u64>,
) -> (SeriesHandle, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(SERIES_INBOX);
    let moved = Arc::new(AtomicBool::new(false));
    let span = tracing::info_span!("series", series_id = %record.id);
    let task = tokio::spawn(tracing::Instrument::instrument(
        run_series(record, committer, rx, fence, Arc::clone(&moved)),
        span,
    ));
    (SeriesHandle { inbox: tx, moved }, task)
}

async fn run_series(
    mut record: SeriesRecord,
    committer: Committer,
    mut inbox: mpsc::Receiver<SeriesMsg>,
    fence: Option<u64>,
    moved: Arc<AtomicBool>,
) {
    let mut batch: Vec<SeriesMsg> = Vec::with_capacity(8);
    let mut handed_over: Vec<oneshot::Sender<()>> = Vec::new();
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
                SeriesMsg::HandOver(done) => {
                    // Jobs already waiting still run (the inbox gives them up before it
                    // ends); new ones find the handle moved.
                    moved.store(true, Ordering::Release);
                    inbox.close();
                    handed_over.push(done);
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
            if let Some(fence) = fence {
                let owner = Owner::series(&record.id);
                writes.insert(0, Write::Fence { owner, fence });
            }
            let receipt = committer.submit(writes).await;
            receipt.await.unwrap_or(Err(StoreError::Closed))
        };
        if let Err(e) = &result {
            error!(error = %e, "a series change could not be made durable; it is undone");
            record = before;
            if matches!(e, StoreError::Fenced { .. }) {
                // Another node holds the series now: later jobs go there.
                moved.store(true, Ordering::Release);
                inbox.close();
            }
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
    for done in handed_over {
        let _ = done.send(());
    }
    debug!("series actor stopped");
}
