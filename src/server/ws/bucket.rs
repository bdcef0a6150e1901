//! A connection's own frame allowance: a token bucket, `burst` deep, refilled at `per_second`
//! (from [`Settings`](crate::server::Settings)), with the count of frames it refused since it
//! was last whole (the strikes that close the connection with 4029).

use tokio::time::Instant;

use crate::server::guard::FrameAllowance;

/// A connection's frame allowance.
pub(super) struct Bucket {
    /// Most frames it holds.
    burst: f64,
    /// Frames it gains back per second.
    per_second: f64,
    /// Frames it holds now (as of `at`).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// Frames refused since the allowance was last whole.
    pub(super) strikes: u32,
}

impl Bucket {
    /// A full allowance.
    pub(super) fn full(burst: f64, per_second: f64) -> Bucket {
        Bucket {
            burst,
            per_second,
            tokens: burst,
            at: Instant::now(),
            strikes: 0,
        }
    }

    /// Refill for the time passed.
    fn refill(&mut self, now: Instant) {
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
    }

    /// Whether a frame may go now (nothing is taken).
    pub(super) fn ready(&mut self) -> bool {
        self.refill(Instant::now());
        self.tokens >= 1.0
    }

    /// Take a frame's token (after [`Bucket::ready`]).
    pub(super) fn spend(&mut self) {
        // A client that let its bucket fill up again has calmed down: forgive it.
        if self.tokens >= self.burst {
            self.strikes = 0;
        }
        self.tokens = (self.tokens - 1.0).max(0.0);
    }

    /// Count a refused frame.
    pub(super) fn strike(&mut self) {
        self.strikes += 1;
    }

    /// What is left, to keep for the person's next connection.
    pub(super) fn left(&mut self) -> FrameAllowance {
        self.refill(Instant::now());
        FrameAllowance {
            tokens: self.tokens,
            at: self.at.into_std(),
            strikes: self.strikes,
        }
    }

    /// Start from what the person's last connection left (refilled since), if that is less.
    pub(super) fn resume(&mut self, left: FrameAllowance) {
        let now = Instant::now();
        self.refill(now);
        let since = now.into_std().duration_since(left.at).as_secs_f64() * self.per_second;
        let then = (left.tokens + since).min(self.burst);
        if then < self.burst {
            self.tokens = self.tokens.min(then);
            self.strikes = self.strikes.max(left.strikes);
        }
    }
}
