//! Timers: warnings, expiry and overtime, pausing, adjusting, auto-advance.

use circlekeeper_protocol::TimerState;

use super::*;

#[test]
fn timers_warn_expire_and_show_overtime() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 }); // coaching questions, 15 min
    let timebox = c.room.current_stage().expect("stage").timebox_ms;
    let deadline = c.room.next_deadline().expect("a deadline");
    assert_eq!(deadline, T0 + timebox - MIN);
    assert!(c.tick(deadline - 1).is_empty());
    let events = c.tick(deadline);
    assert!(matches!(
        events.as_slice(),
        [Event::TimerWarning {
            timer: TimerKind::Stage,
            ..
        }]
    ));
    let events = c.tick(T0 + timebox + 5_000);
    assert!(matches!(
        events.as_slice(),
        [Event::TimerExpired {
            timer: TimerKind::Stage,
            ..
        }]
    ));
    let timer = &c.room.view().stage.as_ref().expect("stage").timer;
    assert_eq!(timer.remaining_ms(T0 + timebox + 35_000), -35_000);
    assert_eq!(c.room.next_deadline(), None);
    assert!(
        c.tick(T0 + timebox + 99_000).is_empty(),
        "expiry fires once"
    );
}

#[test]
fn pausing_keeps_the_remaining_time() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 });
    let timebox = c.room.current_stage().expect("stage").timebox_ms;
    c.ok_at(T0 + MIN, c.host, Command::Pause);
    assert_eq!(c.room.view().session.status, SessionStatus::Paused);
    assert_eq!(c.room.next_deadline(), None);
    assert!(c.tick(T0 + 100 * MIN).is_empty());
    c.ok_at(T0 + 10 * MIN, c.host, Command::ResumeSession);
    let timer = c.room.view().stage.as_ref().expect("stage").timer.clone();
    assert_eq!(timer.remaining_ms(T0 + 10 * MIN), (timebox - MIN) as i64);
}

#[test]
fn a_timer_can_be_extended_and_shortened() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    let before = c
        .room
        .view()
        .stage
        .as_ref()
        .expect("stage")
        .timer
        .remaining_ms(T0);
    c.ok(
        c.host,
        Command::AdjustTimer {
            timer: TimerKind::Stage,
            seconds: 300,
        },
    );
    c.ok(
        c.host,
        Command::AdjustTimer {
            timer: TimerKind::Stage,
            seconds: -60,
        },
    );
    let after = c
        .room
        .view()
        .stage
        .as_ref()
        .expect("stage")
        .timer
        .remaining_ms(T0);
    assert_eq!(after - before, 240_000);
    assert_eq!(
        c.refused(
            c.host,
            Command::AdjustTimer {
                timer: TimerKind::Stage,
                seconds: 0
            }
        ),
        ErrorCode::InvalidMessage
    );
    // The check-in round has a speaker timer too.
    c.ok(
        c.host,
        Command::AdjustTimer {
            timer: TimerKind::Speaker,
            seconds: 30,
        },
    );
}

#[test]
fn auto_advance_moves_on_when_time_runs_out_and_ends_after_the_last_stage() {
    let format = Format {
        name: "Two quick stages".into(),
        description: String::new(),
        stages: vec![quick_stage("one"), quick_stage("two")],
    };
    let mut c = Circle::new(format, 1);
    c.ok(c.host, Command::Start);
    c.tick(T0 + MIN);
    assert_eq!(c.room.view().stage.as_ref().expect("stage").index, 1);
    c.tick(T0 + 2 * MIN);
    assert_eq!(c.room.view().session.status, SessionStatus::Ended);
}

// ----- the warning rule: once until re-armed, whoever brings the timer there ----------------
//
// One ten-minute stage, warning a minute before its end (the room's `warn_before_ms`), started
// at T0: its timer ends at T0 + 10 min and warns at T0 + 9 min unless someone changes it.

const STAGE: u64 = 10 * MIN;
const SEC: u64 = 1_000;

/// A ten-minute stage (moving on by itself when `auto_advance`), then a second one.
fn ten_minute_stages(auto_advance: bool) -> Format {
    let stage = |title: &str| StageSpec {
        timebox_ms: STAGE,
        auto_advance,
        ..quick_stage(title)
    };
    Format {
        name: "Two ten-minute stages".into(),
        description: String::new(),
        stages: vec![stage("one"), stage("two")],
    }
}

/// The first of two ten-minute stages, started at T0.
fn started(auto_advance: bool) -> Circle {
    let mut c = Circle::new(ten_minute_stages(auto_advance), 1);
    c.ok(c.host, Command::Start);
    assert_eq!(c.stage_timer().ends_at, Some(T0 + STAGE));
    c
}

impl Circle {
    fn stage_timer(&self) -> TimerState {
        self.room
            .view()
            .stage
            .as_ref()
            .expect("stage")
            .timer
            .clone()
    }

    fn speaker_timer(&self) -> TimerState {
        let timer = self.room.view().turn.speaker_timer.as_ref();
        timer.expect("a speaker timer").clone()
    }

    fn adjust_at(&mut self, now: u64, seconds: i32) -> Vec<Event> {
        let timer = TimerKind::Stage;
        let applied = self.ok_at(now, self.host, Command::AdjustTimer { timer, seconds });
        applied.events.into_iter().map(|r| r.event).collect()
    }

    fn restart_at(&mut self, now: u64) -> Vec<Event> {
        let timer = TimerKind::Stage;
        let applied = self.ok_at(now, self.host, Command::RestartTimer { timer });
        applied.events.into_iter().map(|r| r.event).collect()
    }
}

/// `duration_ms` is always the time the timer has run plus the time it has left.
fn assert_consistent(t: &TimerState, now: u64, ran: u64) {
    assert_eq!(
        t.duration_ms as i64,
        ran as i64 + t.remaining_ms(now),
        "duration_ms is what ran ({ran}) plus what is left: {t:?}"
    );
}

fn changed(events: &[Event]) -> TimerState {
    match events.first() {
        Some(Event::TimerChanged {
            timer: TimerKind::Stage,
            state,
        }) => state.clone(),
        other => panic!("expected timer_changed first, got {other:?}"),
    }
}

fn names(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            Event::TimerChanged { .. } => "timer_changed",
            Event::TimerWarning { .. } => "timer_warning",
            Event::TimerExpired { .. } => "timer_expired",
            Event::StageEntered { .. } => "stage_entered",
            Event::SessionChanged { .. } => "session_changed",
            _ => "other",
        })
        .collect()
}

#[test]
fn the_clock_warns_at_the_warning_point_and_expires_at_zero_once_each() {
    let mut c = started(false);
    assert_eq!(c.room.next_deadline(), Some(T0 + STAGE - MIN));
    assert!(c.tick(T0 + STAGE - MIN - 1).is_empty());
    assert_eq!(names(&c.tick(T0 + STAGE - MIN)), ["timer_warning"]);
    let t = c.stage_timer();
    assert!(t.warned && !t.expired);
    assert_eq!((t.duration_ms, t.ends_at), (STAGE, Some(T0 + STAGE)));
    assert!(c.tick(T0 + STAGE - 1).is_empty(), "the warning comes once");
    assert_eq!(names(&c.tick(T0 + STAGE)), ["timer_expired"]);
    let t = c.stage_timer();
    assert!(t.warned && t.expired);
    assert_eq!((t.duration_ms, t.ends_at), (STAGE, Some(T0 + STAGE)));
    assert_eq!(c.room.next_deadline(), None);
    assert!(c.tick(T0 + 2 * STAGE).is_empty(), "the expiry comes once");
}

#[test]
fn a_cut_past_the_warning_point_warns_at_once() {
    let mut c = started(false);
    // Eight minutes left; seven and a half cut: thirty seconds left.
    let events = c.adjust_at(T0 + 2 * MIN, -450);
    assert_eq!(names(&events), ["timer_changed", "timer_warning"]);
    let t = changed(&events);
    assert_eq!(t.ends_at, Some(T0 + 2 * MIN + 30 * SEC));
    assert_eq!(t.duration_ms, 2 * MIN + 30 * SEC);
    assert!(!t.warned && !t.expired);
    let t = c.stage_timer();
    assert!(t.warned && !t.expired);
    assert_consistent(&t, T0 + 2 * MIN, 2 * MIN);
    // The clock owes only the expiry now, at the new end.
    assert_eq!(c.room.next_deadline(), Some(T0 + 2 * MIN + 30 * SEC));
    assert_eq!(names(&c.tick(T0 + 2 * MIN + 30 * SEC)), ["timer_expired"]);
}

#[test]
fn a_cut_within_the_warning_point_after_the_warning_sends_no_second_warning() {
    let mut c = started(false);
    c.tick(T0 + STAGE - MIN);
    let events = c.adjust_at(T0 + STAGE - MIN, -30);
    assert_eq!(names(&events), ["timer_changed"]);
    assert!(changed(&events).warned);
}

#[test]
fn a_cut_past_zero_ends_the_timer_now_with_no_warning() {
    let mut c = started(false);
    // Eight minutes left; an hour cut: the timer ends now, not 52 minutes ago.
    let now = T0 + 2 * MIN;
    let events = c.adjust_at(now, -3600);
    assert_eq!(names(&events), ["timer_changed", "timer_expired"]);
    let t = changed(&events);
    assert_eq!(t.ends_at, Some(now), "it ends now");
    assert_eq!(
        t.duration_ms,
        2 * MIN,
        "it ran two minutes, and that is all it ran"
    );
    let t = c.stage_timer();
    assert!(t.expired && t.warned, "expired, its warning skipped: {t:?}");
    assert_eq!(t.remaining_ms(now), 0);
    assert_consistent(&t, now, 2 * MIN);
    // From now on it counts overtime from the cut, and the clock owes it nothing.
    assert_eq!(t.remaining_ms(now + MIN), -(MIN as i64));
    assert_eq!(c.room.next_deadline(), None);
    assert!(c.tick(T0 + STAGE).is_empty());
    // Nothing is left to cut.
    let cut = Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds: -10,
    };
    let refused = c
        .try_at(now + MIN, c.host, cut)
        .expect_err("nothing to cut");
    assert_eq!(refused.code, ErrorCode::InvalidState);
}

#[test]
fn a_cut_of_exactly_what_is_left_ends_the_timer_as_a_larger_cut_does() {
    let mut c = started(false);
    let now = T0 + 2 * MIN;
    let events = c.adjust_at(now, -480);
    assert_eq!(names(&events), ["timer_changed", "timer_expired"]);
    let t = c.stage_timer();
    assert_eq!((t.ends_at, t.duration_ms), (Some(now), 2 * MIN));
    assert!(t.expired && t.warned);
    // One second less leaves one second: a warning, not an expiry.
    let mut c = started(false);
    let events = c.adjust_at(now, -479);
    assert_eq!(names(&events), ["timer_changed", "timer_warning"]);
    assert_eq!(c.stage_timer().remaining_ms(now), 1_000);
}

#[test]
fn a_cut_that_ends_an_auto_advancing_stage_moves_the_room_on() {
    let mut c = started(true);
    let events = c.adjust_at(T0 + MIN, -3600);
    assert_eq!(
        names(&events),
        ["timer_changed", "timer_expired", "stage_entered"]
    );
    assert_eq!(c.room.view().stage.as_ref().expect("stage").index, 1);
    assert_eq!(c.stage_timer().ends_at, Some(T0 + MIN + STAGE));
}

#[test]
fn a_cut_on_a_paused_timer_changes_what_is_left_and_it_stays_paused() {
    let mut c = started(false);
    c.ok_at(T0 + 2 * MIN, c.host, Command::Pause);
    // Eight minutes left, paused; a minute cut.
    let events = c.adjust_at(T0 + 5 * MIN, -60);
    assert_eq!(names(&events), ["timer_changed"]);
    let t = c.stage_timer();
    assert_eq!(
        (t.ends_at, t.paused_remaining_ms),
        (None, Some(7 * MIN as i64))
    );
    assert_eq!(t.duration_ms, 9 * MIN);
    assert_consistent(&t, T0 + 5 * MIN, 2 * MIN);
    assert_eq!(c.room.view().session.status, SessionStatus::Paused);
    assert_eq!(c.room.next_deadline(), None);
    // Cut to thirty seconds: it warns at once, paused as it is.
    let events = c.adjust_at(T0 + 6 * MIN, -390);
    assert_eq!(names(&events), ["timer_changed", "timer_warning"]);
    let t = c.stage_timer();
    assert_eq!((t.ends_at, t.paused_remaining_ms), (None, Some(30_000)));
    assert!(t.warned);
    // Resumed, it runs from what was left, with no second warning, and expires at zero.
    c.ok_at(T0 + 20 * MIN, c.host, Command::ResumeSession);
    assert_eq!(c.stage_timer().ends_at, Some(T0 + 20 * MIN + 30 * SEC));
    assert!(c.tick(T0 + 20 * MIN).is_empty());
    assert_eq!(names(&c.tick(T0 + 20 * MIN + 30 * SEC)), ["timer_expired"]);
}

#[test]
fn a_cut_past_zero_on_a_paused_timer_ends_it_and_it_stays_paused() {
    let mut c = started(false);
    c.ok_at(T0 + 2 * MIN, c.host, Command::Pause);
    let events = c.adjust_at(T0 + 5 * MIN, -3600);
    assert_eq!(names(&events), ["timer_changed", "timer_expired"]);
    let t = c.stage_timer();
    assert_eq!((t.ends_at, t.paused_remaining_ms), (None, Some(0)));
    assert_eq!(t.duration_ms, 2 * MIN);
    assert!(t.expired && t.warned);
    assert_eq!(c.room.view().session.status, SessionStatus::Paused);
    c.ok_at(T0 + 6 * MIN, c.host, Command::ResumeSession);
    assert_eq!(c.stage_timer().ends_at, Some(T0 + 6 * MIN));
    assert_eq!(c.room.next_deadline(), None);
    assert!(c.tick(T0 + 7 * MIN).is_empty(), "it expired once");
}

#[test]
fn adding_after_the_warning_arms_it_again_only_above_the_warning_point() {
    let mut c = started(false);
    assert_eq!(names(&c.tick(T0 + STAGE - MIN)), ["timer_warning"]);
    // Ten seconds more: seventy seconds left, above the warning point: armed again.
    let events = c.adjust_at(T0 + STAGE - MIN, 10);
    assert_eq!(names(&events), ["timer_changed"]);
    let t = c.stage_timer();
    assert!(!t.warned);
    assert_eq!(
        (t.duration_ms, t.ends_at),
        (STAGE + 10 * SEC, Some(T0 + STAGE + 10 * SEC))
    );
    assert_eq!(c.room.next_deadline(), Some(T0 + STAGE + 10 * SEC - MIN));
    assert_eq!(
        names(&c.tick(T0 + STAGE + 10 * SEC - MIN)),
        ["timer_warning"]
    );
    // Five seconds more with fifty left: still within the warning point, so no second warning.
    let now = T0 + STAGE - 40 * SEC;
    let events = c.adjust_at(now, 5);
    assert_eq!(names(&events), ["timer_changed"]);
    assert!(c.stage_timer().warned);
    assert_eq!(c.room.next_deadline(), Some(T0 + STAGE + 15 * SEC));
}

#[test]
fn adding_to_an_expired_timer_moves_its_end_and_arms_the_expiry_only_past_zero() {
    let mut c = started(false);
    c.tick(T0 + STAGE - MIN);
    c.tick(T0 + STAGE);
    // Ninety seconds into overtime, a minute more: still thirty seconds over.
    let now = T0 + STAGE + 90 * SEC;
    let events = c.adjust_at(now, 60);
    assert_eq!(names(&events), ["timer_changed"]);
    let t = c.stage_timer();
    assert_eq!(
        (t.duration_ms, t.ends_at),
        (STAGE + MIN, Some(T0 + STAGE + MIN))
    );
    assert!(t.expired);
    assert_consistent(&t, now, 11 * MIN + 30 * SEC);
    // Two minutes more: ninety seconds left, above the warning point: both armed again.
    let events = c.adjust_at(now, 120);
    assert_eq!(names(&events), ["timer_changed"]);
    let t = c.stage_timer();
    assert!(!t.expired && !t.warned);
    assert_eq!(t.remaining_ms(now), 90_000);
    assert_eq!(names(&c.tick(now + 30 * SEC)), ["timer_warning"]);
    assert_eq!(names(&c.tick(now + 90 * SEC)), ["timer_expired"]);
}

#[test]
fn restarting_after_the_warning_runs_the_full_duration_and_warns_again() {
    let mut c = started(false);
    c.tick(T0 + STAGE - MIN);
    let now = T0 + STAGE - 30 * SEC;
    let events = c.restart_at(now);
    assert_eq!(names(&events), ["timer_changed"]);
    let t = c.stage_timer();
    assert_eq!((t.duration_ms, t.ends_at), (STAGE, Some(now + STAGE)));
    assert!(!t.warned && !t.expired);
    assert_eq!(c.room.next_deadline(), Some(now + STAGE - MIN));
    assert_eq!(names(&c.tick(now + STAGE - MIN)), ["timer_warning"]);
}

#[test]
fn restarting_after_expiry_runs_the_full_duration_and_warns_and_expires_again() {
    let mut c = started(false);
    c.tick(T0 + STAGE - MIN);
    c.tick(T0 + STAGE);
    let now = T0 + STAGE + 5 * MIN;
    let events = c.restart_at(now);
    assert_eq!(names(&events), ["timer_changed"]);
    let t = c.stage_timer();
    assert_eq!((t.duration_ms, t.ends_at), (STAGE, Some(now + STAGE)));
    assert!(!t.warned && !t.expired);
    assert_eq!(names(&c.tick(now + STAGE - MIN)), ["timer_warning"]);
    assert_eq!(names(&c.tick(now + STAGE)), ["timer_expired"]);
}

#[test]
fn restarting_after_a_cut_past_zero_runs_what_the_timer_had_run() {
    let mut c = started(false);
    c.adjust_at(T0 + 3 * MIN, -3600);
    let events = c.restart_at(T0 + 4 * MIN);
    assert_eq!(names(&events), ["timer_changed"]);
    let t = c.stage_timer();
    assert_eq!((t.duration_ms, t.ends_at), (3 * MIN, Some(T0 + 7 * MIN)));
    assert!(!t.warned && !t.expired);
}

#[test]
fn a_speaker_timer_follows_the_same_rule_with_its_own_warning_point() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    let t = c.speaker_timer();
    assert_eq!((t.duration_ms, t.ends_at), (90 * SEC, Some(T0 + 90 * SEC)));
    let floor = c.floor();
    let speaker_events = |c: &mut Circle, now: u64, seconds: i32| -> Vec<Event> {
        let timer = TimerKind::Speaker;
        let applied = c.ok_at(now, c.host, Command::AdjustTimer { timer, seconds });
        applied.events.into_iter().map(|r| r.event).collect()
    };
    // A minute in, thirty seconds left; twenty cut: ten left of a 70-second timebox, whose
    // warning point is a quarter of it (17.5 s): it warns at once.
    let now = T0 + MIN;
    let events = speaker_events(&mut c, now, -20);
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::TimerChanged { timer: TimerKind::Speaker, state: changed },
                Event::TimerWarning { timer: TimerKind::Speaker, .. }
            ] if changed.duration_ms == 70 * SEC && changed.ends_at == Some(now + 10 * SEC)
        ),
        "{events:?}"
    );
    // Past zero: it ends now, having run a minute, and the round does not move on.
    let events = speaker_events(&mut c, now, -3600);
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::TimerChanged { timer: TimerKind::Speaker, .. },
                Event::TimerExpired { timer: TimerKind::Speaker, state }
            ] if state.ends_at == Some(now) && state.duration_ms == MIN && state.warned
        ),
        "{events:?}"
    );
    assert_eq!(c.floor(), floor);
}
