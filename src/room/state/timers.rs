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
    /// Apply `adjust_timer` or `restart_timer`.
    pub(super) fn timers_command(
        &mut self,
        now: Millis,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::AdjustTimer { timer, seconds } => {
                if *seconds == 0 || seconds.abs() > MAX_ADJUST_SECONDS {
                    return reject(
                        ErrorCode::InvalidMessage,
                        format!("seconds must be between -{MAX_ADJUST_SECONDS} and {MAX_ADJUST_SECONDS}, and not 0"),
                    );
                }
                let (t, is_speaker) = self.timer(*timer)?;
                let delta = i64::from(*seconds) * 1000;
                let state = timer::adjusted(&t, now, delta, self.view.warn_before_ms, is_speaker);
                self.emit(
                    now,
                    out,
                    Event::TimerChanged {
                        timer: *timer,
                        state,
                    },
                );
            }
            Command::RestartTimer { timer } => {
                let (t, _) = self.timer(*timer)?;
                let running = self.view.session.status == SessionStatus::Running;
                let state = timer::new(t.duration_ms, now, running);
                self.emit(
                    now,
                    out,
                    Event::TimerChanged {
                        timer: *timer,
                        state,
                    },
                );
            }
            _ => {}
        }
        Ok(())
    }

    fn timer(&self, kind: TimerKind) -> Result<(TimerState, bool), Rejection> {
        self.running_stage_index()?;
        match kind {
            TimerKind::Stage => self.view.stage.as_ref().map(|s| (s.timer.clone(), false)),
            TimerKind::Speaker => self.view.turn.speaker_timer.clone().map(|t| (t, true)),
        }
        .ok_or_else(|| Rejection::new(ErrorCode::InvalidState, "that timer is not running"))
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
            let t = match kind {
                TimerKind::Stage => self.view.stage.as_ref().map(|s| s.timer.clone()),
                TimerKind::Speaker => self.view.turn.speaker_timer.clone(),
            };
            let Some(mut t) = t else { continue };
            let warn = self.warn_at(kind, &t);
            while let Some(due) = timer::due(&t, now, warn) {
                match due {
                    timer::Due::Warning => {
                        t.warned = true;
                        self.emit(
                            now,
                            &mut out,
                            Event::TimerWarning {
                                timer: kind,
                                state: t.clone(),
                            },
                        );
                    }
                    timer::Due::Expiry => {
                        t.warned = t.warned || warn.is_some();
                        t.expired = true;
                        self.emit(
                            now,
                            &mut out,
                            Event::TimerExpired {
                                timer: kind,
                                state: t.clone(),
                            },
                        );
                        if kind == TimerKind::Stage
                            && self.current_stage().is_some_and(|s| s.auto_advance)
                        {
                            let i = self.view.stage.as_ref().map_or(0, |s| s.index);
                            if i + 1 < self.view.plan.len() {
                                self.enter_stage(now, i + 1, &mut out);
                            } else {
                                self.end(now, &mut out);
                            }
                        }
                    }
                }
            }
        }
        if self.view.session.status == SessionStatus::Running {
            self.pairs_tick(now, &mut out);
        }
        out
    }
}
