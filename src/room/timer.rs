//! Timers as deadlines: pure functions over [`TimerState`], with time passed in.
//!
//! A running timer is a deadline (`ends_at`); a paused one is a remainder. Nothing ticks: the
//! room actor sleeps until [`next_deadline`](crate::room::Room::next_deadline) and feeds a tick.

use circlekeeper_protocol::{Millis, TimerState};

/// A fresh timer of `duration_ms`, running from `now` or paused at its full length.
pub fn new(duration_ms: u64, now: Millis, running: bool) -> TimerState {
    TimerState {
        duration_ms,
        ends_at: running.then(|| now.saturating_add(duration_ms)),
        paused_remaining_ms: (!running).then_some(duration_ms as i64),
        warned: false,
        expired: false,
    }
}

/// The deadline for a remaining time, never before the epoch.
fn deadline(now: Millis, remaining_ms: i64) -> Millis {
    (now as i64).saturating_add(remaining_ms).max(0) as Millis
}

/// The timer stopped at `now`, keeping what was left.
pub fn paused(t: &TimerState, now: Millis) -> TimerState {
    TimerState {
        ends_at: None,
        paused_remaining_ms: Some(t.remaining_ms(now)),
        ..t.clone()
    }
}

/// The timer running again from `now` with what was left.
pub fn resumed(t: &TimerState, now: Millis) -> TimerState {
    TimerState {
        ends_at: Some(deadline(now, t.remaining_ms(now))),
        paused_remaining_ms: None,
        ..t.clone()
    }
}

/// The timer extended (positive) or shortened (negative) by `delta_ms`. Warning and expiry are
/// re-armed when the new remaining time is before them again (the warning point is that of the
/// new duration; see [`warn_point`]).
pub fn adjusted(
    t: &TimerState,
    now: Millis,
    delta_ms: i64,
    warn_before_ms: u64,
    is_speaker: bool,
) -> TimerState {
    let remaining = t.remaining_ms(now).saturating_add(delta_ms);
    let mut next = t.clone();
    next.duration_ms = (t.duration_ms as i64).saturating_add(delta_ms).max(0) as u64;
    let warn_at_ms = warn_point(next.duration_ms, warn_before_ms, is_speaker).unwrap_or(0);
    match t.ends_at {
        Some(_) => next.ends_at = Some(deadline(now, remaining)),
        None => next.paused_remaining_ms = Some(remaining),
    }
    if remaining > warn_at_ms as i64 {
        next.warned = false;
    }
    if remaining > 0 {
        next.expired = false;
    }
    next
}

/// The point before the end at which a timer of this length warns, if it warns at all: the
/// room's warning point, but never more than a quarter of a speaker's timebox.
pub fn warn_point(duration_ms: u64, warn_before_ms: u64, is_speaker: bool) -> Option<u64> {
    let at = if is_speaker {
        warn_before_ms.min(duration_ms / 4)
    } else {
        warn_before_ms
    };
    (at > 0 && duration_ms > at).then_some(at)
}

/// What a timer owes at `now`: a warning, an expiry, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The warning point has passed and the warning has not fired.
    Warning,
    /// Zero has passed and the expiry has not fired.
    Expiry,
}

/// The next thing this timer owes at `now`, if any. Only running timers owe anything.
pub fn due(t: &TimerState, now: Millis, warn_at: Option<u64>) -> Option<Due> {
    t.ends_at?;
    let remaining = t.remaining_ms(now);
    if let Some(w) = warn_at {
        if !t.warned && !t.expired && remaining <= w as i64 && remaining > 0 {
            return Some(Due::Warning);
        }
    }
    (!t.expired && remaining <= 0).then_some(Due::Expiry)
}

/// When this timer next owes something, if it is running.
pub fn next_deadline(t: &TimerState, warn_at: Option<u64>) -> Option<Millis> {
    let end = t.ends_at?;
    if t.expired {
        return None;
    }
    match warn_at {
        Some(w) if !t.warned => Some(end.saturating_sub(w)),
        _ => Some(end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paused_timer_keeps_its_remaining_time_and_resumes_from_it() {
        let t = new(60_000, 1_000, true);
        let p = paused(&t, 21_000);
        assert_eq!(p.remaining_ms(999_999), 40_000);
        let r = resumed(&p, 100_000);
        assert_eq!(r.ends_at, Some(140_000));
    }

    #[test]
    fn shortening_past_zero_shows_overtime() {
        let t = new(60_000, 0, true);
        let s = adjusted(&t, 30_000, -45_000, 10_000, false);
        assert_eq!(s.remaining_ms(30_000), -15_000);
        assert_eq!(due(&s, 30_000, Some(10_000)), Some(Due::Expiry));
    }

    #[test]
    fn extending_rearms_the_warning() {
        let mut t = new(60_000, 0, true);
        t.warned = true;
        let e = adjusted(&t, 55_000, 60_000, 10_000, false);
        assert!(!e.warned);
        assert_eq!(next_deadline(&e, Some(10_000)), Some(110_000));
    }

    #[test]
    fn a_speaker_timer_warns_at_a_quarter_at_most() {
        assert_eq!(warn_point(90_000, 60_000, true), Some(22_500));
        assert_eq!(warn_point(600_000, 60_000, false), Some(60_000));
        assert_eq!(warn_point(30_000, 60_000, false), None);
    }
}
