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

/// The timer extended (positive) or shortened (negative) by `delta_ms`, as far as it goes: its
/// end moves by `delta_ms` (even into overtime) and `duration_ms` by the same amount. Warning
/// and expiry are re-armed when the new remaining time is before them again (the warning point
/// is that of the new duration; see [`warn_point`]). A late joiner's triad shortens its round
/// this way (a coaching swap's round may go straight into overtime); `adjust_timer` uses
/// [`adjusted_by_timekeeper`].
pub fn adjusted(
    t: &TimerState,
    now: Millis,
    delta_ms: i64,
    warn_before_ms: u64,
    is_speaker: bool,
) -> TimerState {
    moved(t, now, delta_ms, |d| {
        warn_point(d, warn_before_ms, is_speaker)
    })
}

/// A timer with no time left to cut: `adjust_timer` cannot shorten it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NothingLeft;

/// The timer as `adjust_timer` leaves it. Adding moves the end later by `delta_ms`; cutting
/// moves it earlier, but never past `now`: a cut larger than what is left ends the timer now,
/// with nothing left. Either way `duration_ms` changes by exactly as much as the time left did,
/// so that `duration_ms` is always the time the timer has run plus the time it has left. A cut
/// on a timer with nothing left (at zero or in overtime) is [`NothingLeft`].
///
/// `warn_at` gives the warning point of a timer of a given duration (see [`warn_point`]); the
/// warning is re-armed when the time left is above the new warning point, and the expiry when
/// any time is left. Whatever the new timer owes at once ([`owed`]) the caller fires.
pub fn adjusted_by_timekeeper(
    t: &TimerState,
    now: Millis,
    delta_ms: i64,
    warn_at: impl FnOnce(u64) -> Option<u64>,
) -> Result<TimerState, NothingLeft> {
    let left = t.remaining_ms(now);
    let change = if delta_ms < 0 {
        if left <= 0 {
            return Err(NothingLeft);
        }
        delta_ms.max(-left)
    } else {
        delta_ms
    };
    Ok(moved(t, now, change, warn_at))
}

/// The timer's end and duration both moved by `change_ms`, re-arming the warning and the expiry
/// that are ahead again.
fn moved(
    t: &TimerState,
    now: Millis,
    change_ms: i64,
    warn_at: impl FnOnce(u64) -> Option<u64>,
) -> TimerState {
    let remaining = t.remaining_ms(now).saturating_add(change_ms);
    let mut next = t.clone();
    next.duration_ms = (t.duration_ms as i64).saturating_add(change_ms).max(0) as u64;
    let warn_at_ms = warn_at(next.duration_ms).unwrap_or(0);
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

/// The next thing this timer owes at `now`, if any. Only running timers owe anything to the
/// clock: see [`owed`] for what a timer owes whether or not it runs.
pub fn due(t: &TimerState, now: Millis, warn_at: Option<u64>) -> Option<Due> {
    t.ends_at?;
    owed(t, now, warn_at)
}

/// What this timer owes at `now`, running or paused: the warning once its time left is at most
/// its warning point (and above zero), the expiry once nothing is left. A timer that reaches
/// zero before it warned owes only the expiry.
pub fn owed(t: &TimerState, now: Millis, warn_at: Option<u64>) -> Option<Due> {
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
    fn a_timekeepers_cut_stops_at_zero_and_takes_only_what_was_left_from_the_duration() {
        let t = new(60_000, 0, true);
        let warn = |d| warn_point(d, 10_000, false);
        let s = adjusted_by_timekeeper(&t, 30_000, -3_600_000, warn).expect("time was left");
        assert_eq!(s.remaining_ms(30_000), 0);
        assert_eq!(s.ends_at, Some(30_000));
        assert_eq!(s.duration_ms, 30_000, "it ran 30 s of its 60 s");
        assert_eq!(owed(&s, 30_000, warn(s.duration_ms)), Some(Due::Expiry));
        assert_eq!(
            adjusted_by_timekeeper(&s, 30_000, -1_000, warn),
            Err(NothingLeft)
        );
        // Adding moves the end, and the duration, by as much.
        let more = adjusted_by_timekeeper(&s, 40_000, 20_000, warn).expect("adding works");
        assert_eq!(more.ends_at, Some(50_000));
        assert_eq!(more.duration_ms, 50_000);
    }

    #[test]
    fn a_timekeepers_cut_on_a_stopped_timer_changes_what_is_left() {
        let t = paused(&new(60_000, 0, true), 20_000);
        let s = adjusted_by_timekeeper(&t, 90_000, -30_000, |_| None).expect("time was left");
        assert_eq!((s.ends_at, s.paused_remaining_ms), (None, Some(10_000)));
        assert_eq!(s.duration_ms, 30_000);
        assert_eq!(
            due(&s, 90_000, None),
            None,
            "a stopped timer owes the clock nothing"
        );
        let s = adjusted_by_timekeeper(&s, 90_000, -30_000, |_| None).expect("time was left");
        assert_eq!((s.paused_remaining_ms, s.duration_ms), (Some(0), 20_000));
        assert_eq!(owed(&s, 90_000, None), Some(Due::Expiry));
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
