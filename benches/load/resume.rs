//! Resilient connections, for the failover scenario: a connection the server closes (its node
//! died, or the room moved: 4012) is reconnected as the protocol says — a random delay by close
//! code, doubling on each failed attempt up to 30 s — and resumed from the last seq it read (the
//! new reader checks the replayed events follow on exactly); a command it sent and never had
//! answered is then sent again with the same id. What the failover controller reads of each
//! participant's connection is its [`Slot`].

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use circlekeeper_protocol::Command;
use futures_util::future::join_all;

use crate::client::{lock, micros, record, Conn, Entry, Pending, Room, Target};
use crate::scenario::LoadRoom;

/// One participant's connection across its resumes, shared with the failover scenario's
/// controller: open or not, when it last resumed, how often the server closed it.
#[derive(Debug, Default)]
pub struct Slot {
    /// The connection is open (entered, its reader running).
    pub open: AtomicBool,
    /// When its last `resume` was answered (after any drop, the bench's own too).
    pub resumed_at: Mutex<Option<Instant>>,
    /// When it last resumed after the server closed it.
    pub recovered_at: Mutex<Option<Instant>>,
    /// When the server last closed it.
    pub closed_at: Mutex<Option<Instant>>,
    /// How often the server closed it.
    pub closes: AtomicU64,
    /// The close code of the last close (0: none, the connection just ended).
    pub last_code: AtomicU64,
}

impl Slot {
    /// The server closed it and it has not resumed since.
    pub fn awaiting(&self) -> bool {
        match (*lock(&self.closed_at), *lock(&self.resumed_at)) {
            (Some(closed), Some(resumed)) => closed > resumed,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// A connection taken down (its reader stopped), with what it needs to `resume`.
pub struct Parked {
    pub(crate) index: usize,
    pub(crate) you: u64,
    pub(crate) room_id: String,
    pub(crate) token: String,
    pub(crate) is_host: bool,
    pub(crate) last_seq: u64,
    pub(crate) next_id: u64,
    pub(crate) room: Room,
    pub(crate) slot: Arc<Slot>,
    pub(crate) pending: Option<Pending>,
}

/// Most attempts a resilient connection makes to resume before the bench gives up (with the
/// back-off, about a minute and a half).
const MAX_RESUME_ATTEMPTS: u32 = 8;
/// The longest back-off between two attempts (the protocol: "up to about 30 s").
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A random duration in `lo..hi` seconds.
fn random_secs(lo: f64, hi: f64) -> Duration {
    let r = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    Duration::from_secs_f64(lo + (hi - lo) * (r % 10_000) as f64 / 10_000.0)
}

/// The protocol's wait before the first reconnect, by the close code the server sent
/// (`connecting.md`, Reconnecting): 4012, the room moved: 0.1–0.6 s; 1001, the server is
/// restarting: 1–5 s; 4029: a few seconds; anything else, or no close frame: 0.5–1.5 s.
pub fn reconnect_delay(code: u64) -> Duration {
    match code {
        4012 => random_secs(0.1, 0.6),
        1001 => random_secs(1.0, 5.0),
        4029 => random_secs(2.0, 4.0),
        _ => random_secs(0.5, 1.5),
    }
}

impl Parked {
    /// One attempt: connect and `resume` from the last seq read. The new reader checks that
    /// the replayed events follow on exactly; the unanswered command, if any, stays pending.
    pub async fn open(&self, target: &Target) -> anyhow::Result<(Conn, Duration)> {
        let (mut conn, took) = Conn::open_in(
            target,
            self.index,
            Entry::Resume {
                room: self.room_id.clone(),
                token: self.token.clone(),
                last_seq: self.last_seq,
            },
            "",
            &self.room,
            self.is_host,
            Arc::clone(&self.slot),
        )
        .await?;
        record(&self.room.metrics.resume, micros(took));
        // Command ids stay unique per participant: a reused id would be taken for a retry
        // and answered without being applied.
        conn.next_id = self.next_id;
        conn.you = if conn.you == 0 { self.you } else { conn.you };
        conn.pending = self.pending.clone();
        *lock(&self.slot.resumed_at) = Some(Instant::now());
        Ok((conn, took))
    }

    /// Resume as a client following the protocol does: wait `first`, try; after a failure
    /// double the wait (randomised, up to 30 s) and try again, at most
    /// [`MAX_RESUME_ATTEMPTS`] times.
    pub async fn resume_with_backoff(
        self,
        target: &Target,
        first: Duration,
    ) -> anyhow::Result<Conn> {
        let mut wait = first;
        let mut last_error = None;
        for _ in 0..MAX_RESUME_ATTEMPTS {
            tokio::time::sleep(wait).await;
            match self.open(target).await {
                Ok((conn, _)) => return Ok(conn),
                Err(e) => {
                    self.room
                        .metrics
                        .resume_retries
                        .fetch_add(1, Ordering::Relaxed);
                    last_error = Some(e);
                    wait = (wait * 2).min(MAX_BACKOFF).mul_f64(0.75)
                        + random_secs(0.0, wait.min(MAX_BACKOFF).as_secs_f64() / 2.0);
                }
            }
        }
        Err(last_error
            .unwrap_or_else(|| anyhow::anyhow!("no attempt"))
            .context(format!("no resume in {MAX_RESUME_ATTEMPTS} attempts")))
    }
}

/// Most times a resilient room resumes its connections within one step.
pub(crate) const MAX_RECOVERIES: usize = 20;

impl LoadRoom {
    /// Connection `who` sends `command`; with resilient connections, if the server closes
    /// the room's connections first, they are resumed and the command is sent again with
    /// its id.
    pub(crate) async fn cmd(
        &mut self,
        who: usize,
        command: Command,
        tracked: bool,
        target: &Target,
    ) -> anyhow::Result<u64> {
        let mut result = self.conns[who].command(command, tracked).await;
        if !self.resilient() {
            return result;
        }
        for _ in 0..MAX_RECOVERIES {
            if result.is_err() && self.conns[who].has_pending() {
                // A failed write can come before the reader sees the close: give it a moment.
                for _ in 0..200 {
                    if self.conns[who].is_closed() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            match result {
                Ok(seq) => return Ok(seq),
                Err(e) if !self.conns[who].is_closed() || !self.conns[who].has_pending() => {
                    return Err(e)
                }
                Err(_) => {
                    self.recover(target).await?;
                    self.room
                        .metrics
                        .retried_commands
                        .fetch_add(1, Ordering::Relaxed);
                    result = self.conns[who].send_pending().await;
                }
            }
        }
        result.with_context(|| format!("room {}: closed too often", self.index))
    }

    /// Resume every connection of the room the server closed, each as a client following
    /// the protocol would (a random wait by close code, backing off on failure), until none
    /// is closed (bounded).
    pub(crate) async fn recover(&mut self, target: &Target) -> anyhow::Result<()> {
        for _ in 0..MAX_RECOVERIES {
            let closed: Vec<usize> = (0..self.conns.len())
                .filter(|&j| self.conns[j].is_closed())
                .collect();
            if closed.is_empty() {
                return Ok(());
            }
            let mut taken = Vec::with_capacity(closed.len());
            for &j in closed.iter().rev() {
                taken.push((j, self.conns.remove(j)));
            }
            let back = join_all(taken.into_iter().map(|(j, c)| async move {
                let first = reconnect_delay(c.last_close_code());
                let c = c.park().await.resume_with_backoff(target, first).await?;
                *lock(&c.slot().recovered_at) = Some(Instant::now());
                anyhow::Ok((j, c))
            }))
            .await;
            let mut back = back.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
            back.sort_by_key(|(j, _)| *j);
            for (j, c) in back {
                self.conns.insert(j, c);
            }
        }
        bail!(
            "room {}: closed more than {MAX_RECOVERIES} times in a row",
            self.index
        )
    }
}
