//! Timers: warnings, expiry and overtime, pausing, adjusting, auto-advance.

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
