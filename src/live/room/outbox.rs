//! A connection's outbox: the bounded queue its room actor (and its own task) put frames on
//! and its connection task takes them from.
//!
//! Its memory follows what it holds: an idle outbox is a few dozen bytes and a queue that
//! has never held anything, where tokio's bounded channel allocates a block of 32 slots and
//! cache-padded halves when it is made (some 1.7 KiB for every connection, most of an idle
//! participant's channel cost). A queue that grew in a burst gives its room back once it is
//! empty again. There is one receiver; senders are the room actor and the connection's own
//! task, so the lock around the queue is rarely contended and held for a push or a pop.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// Capacity a queue may keep while empty; one that grew beyond it in a burst is freed.
const KEEP_EMPTY: usize = 8;

struct State<T> {
    queue: VecDeque<T>,
    /// Senders alive: when the last one goes, the receiver sees the end.
    senders: usize,
    /// Whether the receiver is alive: once it is gone, sends are refused.
    open: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Wakes the receiver: a permit is kept if it is not waiting yet, so no wake-up is lost.
    wake: Notify,
    /// Most items the queue holds.
    capacity: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves the queue itself consistent (every operation
        // on it is a single push, pop or clear), so a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending half; clone it for another sender.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

/// A queue of at most `capacity` items, and its two halves.
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            senders: 1,
            open: true,
        }),
        wake: Notify::new(),
        capacity,
    });
    let tx = Sender {
        shared: Arc::clone(&shared),
    };
    (tx, Receiver { shared })
}

impl<T> Sender<T> {
    /// Queue `item` without waiting; it is given back if the queue is full or the receiver is
    /// gone.
    pub fn try_send(&self, item: T) -> Result<(), T> {
        {
            let mut state = self.shared.lock();
            if !state.open || state.queue.len() >= self.shared.capacity {
                return Err(item);
            }
            state.queue.push_back(item);
        }
        self.shared.wake.notify_one();
        Ok(())
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("outbox::Sender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.lock().senders += 1;
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.lock();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.shared.wake.notify_one();
        }
    }
}

impl<T> Receiver<T> {
    /// The next item, or `None` once it is empty and every sender is gone. Cancel-safe: an
    /// item is taken only when this returns it.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            {
                let mut state = self.shared.lock();
                if let Some(item) = take(&mut state) {
                    return Some(item);
                }
                if state.senders == 0 {
                    return None;
                }
            }
            self.shared.wake.notified().await;
        }
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        take(&mut self.shared.lock())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let dropped = {
            let mut state = self.shared.lock();
            state.open = false;
            std::mem::take(&mut state.queue)
        };
        // What was queued is dropped outside the lock.
        drop(dropped);
    }
}

/// Pop the front item; an emptied queue that grew in a burst gives its memory back.
fn take<T>(state: &mut State<T>) -> Option<T> {
    let item = state.queue.pop_front();
    if state.queue.is_empty() && state.queue.capacity() > KEEP_EMPTY {
        state.queue = VecDeque::new();
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_order_up_to_the_capacity() {
        let (tx, mut rx) = channel(3);
        for i in 0..3 {
            assert!(tx.try_send(i).is_ok());
        }
        assert_eq!(tx.try_send(3), Err(3));
        assert_eq!(rx.try_recv(), Some(0));
        assert!(tx.try_send(4).is_ok());
        let rest: Vec<i32> = std::iter::from_fn(|| rx.try_recv()).collect();
        assert_eq!(rest, [1, 2, 4]);
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_burst_gives_its_memory_back_once_taken() {
        let (tx, mut rx) = channel(1024);
        for i in 0..500 {
            assert!(tx.try_send(i).is_ok());
        }
        assert!(tx.shared.lock().queue.capacity() >= 500);
        while rx.try_recv().is_some() {}
        assert_eq!(tx.shared.lock().queue.capacity(), 0);
    }

    #[test]
    fn sends_are_refused_once_the_receiver_is_gone() {
        let (tx, rx) = channel(4);
        assert!(tx.shared.lock().open);
        drop(rx);
        assert!(!tx.shared.lock().open);
        assert_eq!(tx.try_send(1), Err(1));
    }

    #[tokio::test]
    async fn the_receiver_sees_the_end_after_what_was_queued() {
        let (tx, mut rx) = channel(4);
        let other = tx.clone();
        assert!(tx.try_send(1).is_ok());
        drop(tx);
        assert!(other.try_send(2).is_ok());
        drop(other);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_send_from_another_task() {
        let (tx, mut rx) = channel(4);
        let sender = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.try_send(7).is_ok()
        });
        assert_eq!(rx.recv().await, Some(7));
        assert!(sender.await.unwrap_or(false));
    }

    #[tokio::test]
    async fn a_cancelled_wait_loses_nothing() {
        let (tx, mut rx) = channel(4);
        // Poll recv once with nothing queued, then drop it: the item sent after still arrives.
        let polled = tokio::time::timeout(std::time::Duration::ZERO, rx.recv()).await;
        assert!(polled.is_err());
        assert!(tx.try_send(9).is_ok());
        assert_eq!(rx.recv().await, Some(9));
    }
}
