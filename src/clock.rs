//! The server's clock: the system clock in production, a manual clock in tests.
//!
//! Rooms never read the clock themselves; their actors ask this clock for `now` and sleep on it
//! until the next deadline. A manual clock only moves when a test advances it, so timer tests
//! need no sleeps.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use circlekeeper_protocol::Millis;
use tokio::sync::watch;

/// Where time comes from.
#[derive(Clone, Debug)]
pub enum Clock {
    /// Wall-clock time.
    System,
    /// Time that moves only when [`Clock::advance`] is called.
    Manual(Arc<watch::Sender<Millis>>),
}

impl Clock {
    /// A manual clock starting at `start` (epoch milliseconds).
    pub fn manual(start: Millis) -> Clock {
        Clock::Manual(Arc::new(watch::Sender::new(start)))
    }

    /// The current time in epoch milliseconds.
    pub fn now(&self) -> Millis {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as Millis),
            Clock::Manual(tx) => *tx.borrow(),
        }
    }

    /// Move a manual clock forward (no effect on the system clock).
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(tx) = self {
            tx.send_modify(|t| *t = t.saturating_add(by.as_millis() as Millis));
        }
    }

    /// Wait until the clock reads at least `deadline`.
    pub async fn sleep_until(&self, deadline: Millis) {
        match self {
            Clock::System => {
                let wait = deadline.saturating_sub(self.now());
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Clock::Manual(tx) => {
                let mut rx = tx.subscribe();
                loop {
                    if *rx.borrow_and_update() >= deadline {
                        return;
                    }
                    if rx.changed().await.is_err() {
                        // The clock is gone: nothing will ever move it again.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}
