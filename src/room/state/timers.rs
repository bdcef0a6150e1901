//! Timers: adjusting and restarting the stage and speaker timers, when the room next needs a
//! tick, and what a tick fires — warnings, expiries, and the auto-advance of a stage whose time
//! ran out. A timer is a deadline plus an optional paused remainder (see [`crate::room::timer`]).

use circlekeeper_protocol::{
    Command, ErrorCode, Event, Millis, SessionStatus, TimerKind, TimerState,
};

use super::{reject, Changes, Recorded, Rejection, Room};
use crate::room::timer;

/// The warning point used when a room does not set one: one minute before the end.
pub const DEFAULT_WARN_BEFORE_MS: u64 = 60_000;

/// Largest timer adjustment in one command, in seconds: an hour either way.
pub const MAX_ADJUST_SECONDS: i32 = 3600;

impl Room {
    /// Apply `adjust_timer` or `restart_timer`: `timer_changed` with the new state, then
    /// whatever the timer owes at once — `timer_warning` when the change left no more than its
    /// warning point, or `timer_expired` (and a stage's auto-advance) when it left nothing. The
    /// rule is the same whether the clock or a timekeeper brings a timer there, and whether the
    /// session runs or is paused: see [`Room::fire_owed`].
    pub(super) fn timers_command(
        &mut self,
        now: Millis,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let (kind, state) = match cmd {
            Command::AdjustTimer { timer, seconds } => {
                if *seconds == 0 || seconds.abs() > MAX_ADJUST_SECONDS {
                    return reject(
                        ErrorCode::InvalidMessage,
                        format!("seconds must be between -{MAX_ADJUST_SECONDS} and {MAX_ADJUST_SECONDS}, and not 0"),
                    );
                }
                let t = self.timer(*timer)?;
                let delta = i64::from(*seconds) * 1000;
                let warn_before = self.view.warn_before_ms;
                let is_speaker = *timer == TimerKind::Speaker;
                let state = timer::adjusted_by_timekeeper(&t, now, delta, |d| {
                    timer::warn_point(d, warn_before, is_speaker)
                })
                .map_err(|timer::NothingLeft| {
                    Rejection::new(
                        ErrorCode::InvalidState,
                        "that timer has no time left to cut",
                    )
                })?;
                (*timer, state)
            }
            Command::RestartTimer { timer } => {
                let t = self.timer(*timer)?;
                let running = self.view.session.status == SessionStatus::Running;
                (*timer, timer::new(t.duration_ms, now, running))
            }
            _ => return Ok(()),
        };
        self.emit(now, out, Event::TimerChanged { timer: kind, state });
        self.fire_owed(now, kind, out);
        Ok(())
    }

    /// The stage or speaker timer, if the session has started and it exists now.
    fn timer(&self, kind: TimerKind) -> Result<TimerState, Rejection> {
        self.running_stage_index()?;
        self.current_timer(kind)
            .ok_or_else(|| Rejection::new(ErrorCode::InvalidState, "that timer is not running"))
    }

    /// The stage or speaker timer as it is now, if there is one.
    fn current_timer(&self, kind: TimerKind) -> Option<TimerState> {
        match kind {
            TimerKind::Stage => self.view.stage.as_ref().map(|s| s.timer.clone()),
            TimerKind::Speaker => self.view.turn.speaker_timer.clone(),
        }
    }

    fn warn_at(&self, kind: TimerKind, t: &TimerState) -> Option<u64> {
        timer::warn_point(
            t.duration_ms,
            self.view.warn_before_ms,
            kind == TimerKind::Speaker,
        )
    }

    /// When the room next needs a [`tick`](Room::tick), if ever.
    pub fn next_deadline(&self) -> Option<Millis> {
        if self.view.session.status != SessionStatus::Running {
            return None;
        }
        let stage =
            self.view.stage.as_ref().and_then(|s| {
                timer::next_deadline(&s.timer, self.warn_at(TimerKind::Stage, &s.timer))
            });
        let speaker = self
            .view
            .turn
            .speaker_timer
            .as_ref()
            .and_then(|t| timer::next_deadline(t, self.warn_at(TimerKind::Speaker, t)));
        stage
            .into_iter()
            .chain(speaker)
            .chain(self.pairs_deadline())
            .min()
    }

    /// Let time pass to `now`: fire due warnings and expiries, and auto-advance a stage whose
    /// time ran out when its format says so (ending the session after the last stage). Kept
    /// public for tests and benches; the runtime sends [`Input::Tick`](super::Input), which
    /// also owes the effects of a session that ends.
    pub fn tick(&mut self, now: Millis) -> Vec<Recorded> {
        self.pass_time(now).events
    }

    /// [`tick`](Room::tick), with the effects it owes (a session that ends).
    pub(super) fn pass_time(&mut self, now: Millis) -> Changes {
        let mut out = Changes::default();
        if self.view.session.status != SessionStatus::Running {
            return out;
        }
        for kind in [TimerKind::Speaker, TimerKind::Stage] {
            self.fire_owed(now, kind, &mut out);
        }
        if self.view.session.status == SessionStatus::Running {
            self.pairs_tick(now, &mut out);
        }
        out
    }

    /// Fire what the stage or speaker timer owes at `now` (see [`timer::owed`]) — the warning
    /// rule of the spec (`timer_warning`): the warning at the first moment its time left is at
    /// most its warning point, and not again until it restarts or added time lifts it above
    /// that point; or, once nothing is left, the expiry (alone if it had not warned, `warned`
    /// then set too when it has a warning point), and the auto-advance of a stage whose format
    /// says so. The clock brings a running timer there ([`Room::pass_time`]); `adjust_timer`
    /// and `restart_timer` may bring a running or a paused one there at once.
    fn fire_owed(&mut self, now: Millis, kind: TimerKind, out: &mut Changes) {
        let Some(mut t) = self.current_timer(kind) else {
            return;
        };
        let warn = self.warn_at(kind, &t);
        while let Some(owed) = timer::owed(&t, now, warn) {
            match owed {
                timer::Due::Warning => {
                    t.warned = true;
                    let state = t.clone();
                    self.emit(now, out, Event::TimerWarning { timer: kind, state });
                }
                timer::Due::Expiry => {
                    t.warned = t.warned || warn.is_some();
                    t.expired = true;
                    let state = t.clone();
                    self.emit(now, out, Event::TimerExpired { timer: kind, state });
                    if kind == TimerKind::Stage
                        && self.current_stage().is_some_and(|s| s.auto_advance)
                    {
                        let i = self.view.stage.as_ref().map_or(0, |s| s.index);
                        if i + 1 < self.view.plan.len() {
                            self.enter_stage(now, i + 1, out);
                        } else {
                            self.end(now, out);
                        }
                    }
                }
            }
        }
    }
}
