//! Group commit: one thread writes what every room submits and makes it durable with one disk
//! flush per batch, however many rooms and commands the batch holds.
//!
//! A room actor submits its writes and gets a [`Durable`] receipt; it acknowledges and
//! broadcasts the command only when the receipt says the writes are on disk. While one flush
//! runs, new submissions queue up and go together in the next, so under load the cost of a
//! flush is shared by many commands and at rest a command waits for one flush only.
//!
//! While flushes follow each other closely and the recent submissions come from several room
//! actors (many rooms at a low rate each: without a wait, nearly every command would get a
//! flush of its own), a batch waits until its first submission is [`GATHER`] old before it
//! is flushed, so that the next few join it. A lone room's commands never wait (each follows
//! the ack of the one before, so waiting gathers nothing); nor does a command at rest.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::{Store, StoreError, Write};
use crate::metrics::{Histogram, StoreHealth};

/// Most submissions one flush covers. Bounds the batch's memory and the latency of its first
/// member; at 2,048 commands a batch is still a few hundred kilobytes.
pub const MAX_BATCH: usize = 2048;

/// Submissions that may wait for the commit thread before room actors wait too.
pub const QUEUE: usize = 8192;

/// The first wait before the store is tried again after a write failed.
pub const RETRY_FIRST: Duration = Duration::from_millis(100);

/// The longest wait between two tries: each wait doubles up to this. A try of the embedded
/// store costs a test write of a megabyte, so every few seconds is cheap, and a freed disk is
/// used again within this (plus jitter) of being freed.
pub const RETRY_MAX: Duration = Duration::from_secs(4);

/// How often submissions are refused while the store is down (each is answered within this).
const DOWN_POLL: Duration = Duration::from_millis(20);

/// How long the first submission of a batch may wait for others to join it (see the module
/// docs): the most latency the group commit adds to an acknowledgement.
pub const GATHER: Duration = Duration::from_millis(1);

/// Flushes are "frequent" (worth gathering for) when the last one started less than this
/// before the current batch's first submission came.
const BUSY: Duration = Duration::from_millis(5);

/// How many recent submissions' sources are remembered, and how many of them must differ
/// for a batch to wait.
const SOURCES: usize = 8;
const SEVERAL: usize = 3;

/// The answer to a submission: `Ok` once its writes are durable.
pub type Durable = oneshot::Receiver<Result<(), StoreError>>;

struct Submission {
    writes: Vec<Write>,
    /// Taken when the submission is answered.
    done: Option<oneshot::Sender<Result<(), StoreError>>>,
    /// The chain it belongs to, if any.
    chain: Option<Chain>,
    /// When it was sent.
    at: Instant,
}

impl Submission {
    /// Who sent it: its chain (a room actor), or 0 (no chain: each counts as a source).
    fn source(&self) -> usize {
        self.chain
            .as_ref()
            .map_or(0, |c| Arc::as_ptr(&c.0) as usize)
    }
}

/// The sources of the last [`SOURCES`] submissions, to tell many room actors from one.
#[derive(Default)]
struct Sources {
    last: [usize; SOURCES],
    next: usize,
}

impl Sources {
    fn note(&mut self, s: &Submission) {
        self.last[self.next % SOURCES] = s.source();
        self.next = self.next.wrapping_add(1);
    }

    /// Whether at least [`SEVERAL`] of the remembered submissions came from different
    /// sources (each chainless one counts as its own).
    fn several(&self) -> bool {
        let seen = &self.last[..self.next.min(SOURCES)];
        let distinct = seen
            .iter()
            .enumerate()
            .filter(|&(i, &s)| s == 0 || !seen[..i].contains(&s))
            .count();
        distinct >= SEVERAL
    }
}

/// Submissions that each build on the ones before (a room actor's, which it submits without
/// waiting for the earlier ones to be durable): once one fails, every later one fails too,
/// unwritten, so that a store that fails one commit and takes the next never holds a room's
/// later events without its earlier ones. A new chain for each new actor.
#[derive(Clone, Debug, Default)]
pub struct Chain(Arc<std::sync::atomic::AtomicBool>);

impl Chain {
    fn broken(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn break_off(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Counters of the commit thread, for benchmarks and metrics.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Disk flushes done.
    pub flushes: AtomicU64,
    /// Submissions made durable.
    pub submissions: AtomicU64,
    /// How long each batch's write and flush took.
    pub flush_seconds: Histogram,
    /// A write failed and the store does not take writes yet: everything submitted is refused
    /// while the store is tried again with backoff.
    pub down: std::sync::atomic::AtomicBool,
    /// Times the store stopped taking writes (each followed by a recovery, or the end).
    pub outages: AtomicU64,
}

impl CommitStats {
    /// Whether the store takes writes now, and its outages so far (for `/metrics`).
    pub fn health(&self) -> StoreHealth {
        StoreHealth {
            up: !self.down.load(Ordering::Acquire),
            outages: self.outages.load(Ordering::Relaxed),
        }
    }
}

/// The sending side of the commit thread. Cheap to clone; the thread stops when every clone
/// is gone, after flushing what it was given.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Submission>,
    stats: Arc<CommitStats>,
}

impl Committer {
    /// Start the commit thread over `store`.
    pub fn spawn(store: Arc<dyn Store>) -> std::io::Result<(Committer, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(CommitStats::default());
        let thread_stats = Arc::clone(&stats);
        let handle = std::thread::Builder::new()
            .name("circlekeeper-commit".into())
            .spawn(move || run(store, rx, &thread_stats))?;
        Ok((Committer { tx, stats }, handle))
    }

    /// Submit writes; the receipt resolves once they are durable (or failed).
    pub async fn submit(&self, writes: Vec<Write>) -> Durable {
        self.send(writes, None).await
    }

    /// Submit writes that build on `chain`'s earlier submissions: refused unwritten if one of
    /// those failed.
    pub async fn submit_in(&self, chain: &Chain, writes: Vec<Write>) -> Durable {
        self.send(writes, Some(chain.clone())).await
    }

    async fn send(&self, writes: Vec<Write>, chain: Option<Chain>) -> Durable {
        let (done, receipt) = oneshot::channel();
        let submission = Submission {
            writes,
            done: Some(done),
            chain,
            at: Instant::now(),
        };
        if let Err(mut refused) = self.tx.send(submission).await {
            answer(&mut refused.0, Err(StoreError::Closed));
        }
        receipt
    }

    /// The commit thread's counters.
    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }

    /// The commit thread's counters, to keep after the committer is gone (for `/metrics`).
    pub fn shared_stats(&self) -> Arc<CommitStats> {
        Arc::clone(&self.stats)
    }
}

fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Submission>, stats: &CommitStats) {
    let mut batch: Vec<Submission> = Vec::with_capacity(64);
    let mut sources = Sources::default();
    // When the last flush started (long ago at first).
    let mut last_flush: Option<Instant> = None;
    while let Some(first) = rx.blocking_recv() {
        let since = first.at;
        sources.note(&first);
        batch.push(first);
        gather(&mut rx, &mut batch, &mut sources);
        let frequent = last_flush.is_some_and(|at| since.saturating_duration_since(at) < BUSY);
        if frequent && batch.len() < MAX_BATCH && sources.several() {
            let until = since + GATHER;
            let now = Instant::now();
            if until > now {
                std::thread::sleep(until - now);
                gather(&mut rx, &mut batch, &mut sources);
            }
        }
        let started = std::time::Instant::now();
        last_flush = Some(started);
        let failed = commit(store.as_ref(), &mut batch, stats);
        stats.flush_seconds.observe(started.elapsed());
        stats.flushes.fetch_add(1, Ordering::Relaxed);
        stats
            .submissions
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
        if let Some(error) = failed {
            if !recover(store.as_ref(), &mut rx, stats, &error) {
                return;
            }
        }
    }
}

/// Add what is queued to `batch`, up to [`MAX_BATCH`].
fn gather(rx: &mut mpsc::Receiver<Submission>, batch: &mut Vec<Submission>, sources: &mut Sources) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(s) => {
                sources.note(&s);
                batch.push(s);
            }
            Err(_) => break,
        }
    }
}

/// The store refused a write (`error`): until [`Store::recover`] says it takes writes again,
/// tried after waits that double from [`RETRY_FIRST`] to [`RETRY_MAX`] (each jittered to
/// between half and all of it, so nodes sharing a database do not try in step), every
/// submission is refused at once. Logged once when it goes down and once when it is back, not
/// per try. `false` if every committer was dropped meanwhile (the thread ends).
fn recover(
    store: &dyn Store,
    rx: &mut mpsc::Receiver<Submission>,
    stats: &CommitStats,
    error: &StoreError,
) -> bool {
    stats.down.store(true, Ordering::Release);
    stats.outages.fetch_add(1, Ordering::Relaxed);
    warn!(error = %error, "the store refuses writes: commands are refused until it takes them again; retrying with backoff");
    let since = Instant::now();
    for tries in 1u32.. {
        let spread = getrandom::u32().unwrap_or(u32::MAX / 2);
        let until = Instant::now() + retry_wait(tries, spread);
        loop {
            loop {
                match rx.try_recv() {
                    Ok(mut s) => answer(&mut s, Err(down())),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return false,
                }
            }
            let now = Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep((until - now).min(DOWN_POLL));
        }
        match store.recover() {
            Ok(()) => {
                stats.down.store(false, Ordering::Release);
                info!(
                    tries,
                    down_ms = since.elapsed().as_millis() as u64,
                    "the store takes writes again"
                );
                return true;
            }
            Err(e) => debug!(error = %e, tries, "the store still refuses writes"),
        }
    }
    true
}

/// The wait before try number `tries` (from 1): [`RETRY_FIRST`] doubled per earlier try, at
/// most [`RETRY_MAX`], jittered by `spread` (a random number) to between half and all of it.
fn retry_wait(tries: u32, spread: u32) -> Duration {
    let doubled = RETRY_FIRST.saturating_mul(1u32 << tries.saturating_sub(1).min(16));
    let wait = doubled.min(RETRY_MAX);
    let fraction = 0.5 + f64::from(spread) / f64::from(u32::MAX) / 2.0;
    wait.mul_f64(fraction)
}

/// The refusal of a submission while the store is down.
fn down() -> StoreError {
    StoreError::Backend {
        reason: "the store does not take writes right now".into(),
    }
}

/// Write and flush one batch, and answer each of its submissions. A batch refused because
/// other nodes hold the leases of some of its rooms ([`StoreError::Fenced`]) is written again
/// without their submissions (which get that error), once per refusal: at most as many tries
/// as the batch has submissions. Answers the store's error if it refused the batch for a
/// reason worth trying again later (a full disk, a database out of reach).
fn commit(store: &dyn Store, batch: &mut [Submission], stats: &CommitStats) -> Option<StoreError> {
    // A chain broken by an earlier batch: its later submissions are refused unwritten.
    for s in batch.iter_mut() {
        if s.chain.as_ref().is_some_and(Chain::broken) {
            let refused = StoreError::Backend {
                reason: "an earlier write of the same room failed".into(),
            };
            answer(s, Err(refused));
        }
    }
    // Every submission's writes, moved (not copied) into one batch; `spans[i]` is where
    // submission `open[i]`'s are.
    let mut open: Vec<usize> = (0..batch.len())
        .filter(|&i| batch[i].done.is_some())
        .collect();
    let mut writes: Vec<Write> = Vec::new();
    let mut spans: Vec<std::ops::Range<usize>> = Vec::with_capacity(batch.len());
    for &i in &open {
        let from = writes.len();
        writes.append(&mut batch[i].writes);
        spans.push(from..writes.len());
    }
    if open.is_empty() {
        return None;
    }
    for _ in 0..=batch.len() {
        let result = store.write(&writes).and_then(|()| store.flush());
        if let Err(StoreError::Fenced { owners }) = &result {
            let refused: Vec<bool> = spans
                .iter()
                .map(|span| {
                    writes[span.clone()]
                        .iter()
                        .any(|w| owners.contains(&w.owner()))
                })
                .collect();
            if refused.contains(&true) {
                warn!(
                    submissions = refused.iter().filter(|r| **r).count(),
                    "writes refused: another node holds their lease"
                );
                let mut rest: Vec<Write> = Vec::with_capacity(writes.len());
                let (mut next_open, mut next_spans) = (Vec::new(), Vec::new());
                let mut all = writes.into_iter();
                for ((i, span), refused) in open.into_iter().zip(spans).zip(refused) {
                    let mine: Vec<Write> = all.by_ref().take(span.len()).collect();
                    if refused {
                        let outcome = Err(StoreError::Fenced {
                            owners: owners.clone(),
                        });
                        answer(&mut batch[i], outcome);
                    } else {
                        let from = rest.len();
                        rest.extend(mine);
                        next_open.push(i);
                        next_spans.push(from..rest.len());
                    }
                }
                (writes, open, spans) = (rest, next_open, next_spans);
                if open.is_empty() {
                    return None;
                }
                continue;
            }
        }
        if let Err(e) = result.as_ref() {
            if e.is_transient() {
                // Down before anyone hears of the failure: a readiness check made by whoever
                // was refused already says so.
                stats.down.store(true, Ordering::Release);
            } else {
                warn!(error = %e, "a commit failed; its commands are refused");
            }
        }
        for &i in &open {
            let outcome = match &result {
                Ok(()) => Ok(()),
                Err(e) if e.is_transient() => Err(StoreError::Backend {
                    reason: e.to_string(),
                }),
                Err(e) => Err(StoreError::Record {
                    key: "commit".into(),
                    reason: e.to_string(),
                }),
            };
            answer(&mut batch[i], outcome);
        }
        return result.err().filter(StoreError::is_transient);
    }
    None
}

/// Answer a submission; a failure breaks its chain.
fn answer(submission: &mut Submission, outcome: Result<(), StoreError>) {
    if outcome.is_err() {
        if let Some(chain) = &submission.chain {
            chain.break_off();
        }
    }
    if let Some(done) = submission.done.take() {
        let _ = done.send(outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::store::conformance::events;
    use crate::store::{Loaded, RoomRecord, SledStore};

    /// A store whose first write fails, as a database that drops one transaction does.
    struct FailsOnce {
        inner: SledStore,
        writes: AtomicUsize,
    }

    impl Store for FailsOnce {
        fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
            self.inner.put_room(id, record)
        }
        fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
            if self.writes.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(StoreError::Backend {
                    reason: "dropped".into(),
                });
            }
            self.inner.write(writes)
        }
        fn flush(&self) -> Result<(), StoreError> {
            self.inner.flush()
        }
        fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
            self.inner.rooms()
        }
        fn load(&self, id: &str) -> Result<Loaded, StoreError> {
            self.inner.load(id)
        }
        fn series(&self) -> Result<Vec<crate::series::SeriesRecord>, StoreError> {
            self.inner.series()
        }
    }

    #[tokio::test]
    async fn after_a_failed_write_the_rest_of_its_chain_is_refused_unwritten() {
        let store = Arc::new(FailsOnce {
            inner: SledStore::temporary().expect("a store"),
            writes: AtomicUsize::new(0),
        });
        let (committer, thread) = Committer::spawn(store.clone()).expect("the commit thread");
        let chain = Chain::default();
        let first = committer.submit_in(&chain, vec![events("r", 1..=1)]).await;
        assert!(first.await.expect("an answer").is_err());
        // The store takes writes again, but events 2.. of the same actor would leave a gap.
        let later = committer.submit_in(&chain, vec![events("r", 2..=2)]).await;
        assert!(later.await.expect("an answer").is_err());
        assert!(store.load("r").expect("load").events.is_empty());
        // A new actor (a new chain) starts from what is stored, once the commit thread has
        // found the store taking writes again.
        wait_up(&committer).await;
        let fresh = Chain::default();
        let again = committer.submit_in(&fresh, vec![events("r", 1..=1)]).await;
        assert!(again.await.expect("an answer").is_ok());
        assert_eq!(store.load("r").expect("load").events.len(), 1);
        drop(committer);
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .expect("joined")
            .expect("the thread ends");
    }

    fn submission(chain: Option<&Chain>) -> Submission {
        Submission {
            writes: Vec::new(),
            done: None,
            chain: chain.cloned(),
            at: Instant::now(),
        }
    }

    #[test]
    fn only_submissions_of_several_room_actors_make_a_batch_wait_for_more() {
        let lone = Chain::default();
        let mut sources = Sources::default();
        assert!(!sources.several());
        for _ in 0..3 * SOURCES {
            sources.note(&submission(Some(&lone)));
        }
        assert!(!sources.several(), "a lone room's commands never wait");
        let others: Vec<Chain> = (0..SEVERAL).map(|_| Chain::default()).collect();
        for c in &others[1..] {
            sources.note(&submission(Some(c)));
        }
        assert!(sources.several());
        // The lone room alone again: its commands stop waiting once the others are forgotten.
        for _ in 0..SOURCES {
            sources.note(&submission(Some(&lone)));
        }
        assert!(!sources.several());
        // Submissions without a chain (series, room creation) each count as a source.
        let mut chainless = Sources::default();
        for _ in 0..SEVERAL {
            chainless.note(&submission(None));
        }
        assert!(chainless.several());
    }

    #[test]
    fn retries_back_off_doubling_up_to_a_cap_with_jitter() {
        let (low, high) = (0, u32::MAX);
        assert_eq!(retry_wait(1, high), RETRY_FIRST);
        assert_eq!(retry_wait(1, low), RETRY_FIRST / 2);
        assert_eq!(retry_wait(2, high), RETRY_FIRST * 2);
        assert_eq!(retry_wait(3, high), RETRY_FIRST * 4);
        for tries in [7, 8, 30, u32::MAX] {
            assert_eq!(retry_wait(tries, high), RETRY_MAX, "try {tries}");
            assert_eq!(retry_wait(tries, low), RETRY_MAX / 2, "try {tries}");
        }
        let middle = retry_wait(2, u32::MAX / 2);
        assert!(
            middle > RETRY_FIRST && middle < RETRY_FIRST * 2,
            "{middle:?}"
        );
    }

    /// Poll (bounded) until the commit thread says the store takes writes again.
    async fn wait_up(committer: &Committer) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while committer.stats().down.load(Ordering::Acquire) {
            assert!(Instant::now() < deadline, "the store never came back");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A store whose writes fail while `full` is set (a full disk), counting the recovery tries.
    struct Full {
        inner: SledStore,
        full: std::sync::atomic::AtomicBool,
        tries: AtomicUsize,
    }

    impl Store for Full {
        fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
            self.inner.put_room(id, record)
        }
        fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
            if self.full.load(Ordering::SeqCst) {
                return Err(StoreError::Backend {
                    reason: "no space left on device".into(),
                });
            }
            self.inner.write(writes)
        }
        fn flush(&self) -> Result<(), StoreError> {
            self.inner.flush()
        }
        fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
            self.inner.rooms()
        }
        fn load(&self, id: &str) -> Result<Loaded, StoreError> {
            self.inner.load(id)
        }
        fn series(&self) -> Result<Vec<crate::series::SeriesRecord>, StoreError> {
            self.inner.series()
        }
        fn recover(&self) -> Result<(), StoreError> {
            self.tries.fetch_add(1, Ordering::SeqCst);
            self.write(&[])
        }
    }

    #[tokio::test]
    async fn while_the_store_refuses_writes_everything_is_refused_until_it_takes_them_again() {
        let store = Arc::new(Full {
            inner: SledStore::temporary().expect("a store"),
            full: std::sync::atomic::AtomicBool::new(true),
            tries: AtomicUsize::new(0),
        });
        let (committer, thread) = Committer::spawn(store.clone()).expect("the commit thread");
        let first = committer.submit(vec![events("r", 1..=1)]).await;
        assert!(first.await.expect("an answer").is_err());
        assert!(committer.stats().down.load(Ordering::Acquire));
        // While down, a submission is refused at once (even one that writes nothing, the
        // readiness probe), transient, and never written.
        let probe = committer.submit(Vec::new()).await;
        let refused = probe
            .await
            .expect("an answer")
            .expect_err("refused while down");
        assert!(refused.is_transient(), "{refused:?}");
        assert!(committer.stats().down.load(Ordering::Acquire));
        // The disk has room again: the commit thread finds out by itself.
        store.full.store(false, Ordering::SeqCst);
        wait_up(&committer).await;
        assert!(store.tries.load(Ordering::SeqCst) >= 1);
        let again = committer.submit(vec![events("r", 1..=1)]).await;
        assert!(again.await.expect("an answer").is_ok());
        assert_eq!(store.load("r").expect("load").events.len(), 1);
        assert_eq!(committer.stats().outages.load(Ordering::Relaxed), 1);
        drop(committer);
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .expect("joined")
            .expect("the thread ends");
    }
}
