//! Timers over real websockets, with the server's manual clock: what `adjust_timer` and the clock
//! send, and the `duration_ms` and `ends_at` every client is left with. The rule (see
//! `timer_warning` in protocol/README.md): a timer warns at the first moment its time left is at
//! most its warning point, whether the clock or a cut brought it there, and not again until it
//! restarts or added time lifts it above that point; a cut that leaves nothing ends it now with
//! `timer_expired` alone.

mod common;

use std::time::Duration;

use circlekeeper_protocol::{Command, ErrorCode, Event, TimerKind, TimerState};
use common::{Acked, Client, Seen, TestServer, EPOCH};
use serde_json::json;

const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;
/// The stage's timebox; the room warns a minute before the end (the default).
const STAGE: u64 = 10 * MINUTE;

/// A running ten-minute discussion started at [`EPOCH`], its facilitator (Fran) and a
/// participant who only watches (Ada).
async fn running() -> (TestServer, Client, Client) {
    let server = TestServer::start().await;
    let room = server
        .create_room(json!({
            "title": "Timers",
            "format": {"name": "One stage", "stages": [
                {"kind": "discussion", "title": "Talk", "timebox_ms": STAGE, "speaking": "open"}
            ]}
        }))
        .await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let ack = fran.ok(Command::Start).await;
    ada.catch_up(ack.seq).await;
    assert_eq!(ada.stage_timer().ends_at, Some(EPOCH + STAGE));
    assert_eq!(ada.stage_timer().duration_ms, STAGE);
    (server, fran, ada)
}

fn adjust(seconds: i32) -> Command {
    Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds,
    }
}

/// Two minutes into the stage, Fran adjusts its timer by `seconds`: when, the room's seq before,
/// and the ack.
async fn adjust_two_minutes_in(
    server: &TestServer,
    fran: &mut Client,
    seconds: i32,
) -> (u64, u64, Acked) {
    server.advance(Duration::from_millis(2 * MINUTE));
    let before = fran.seq;
    let ack = fran.ok(adjust(seconds)).await;
    (server.now(), before, ack)
}

/// The stage timer's events in `seen`, by name, with the state each carries and when.
fn timer_events(seen: &[Seen]) -> Vec<(&'static str, TimerState, u64)> {
    seen.iter()
        .filter_map(|s| match &s.event {
            Event::TimerChanged {
                timer: TimerKind::Stage,
                state,
            } => Some(("timer_changed", state.clone(), s.at)),
            Event::TimerWarning {
                timer: TimerKind::Stage,
                state,
            } => Some(("timer_warning", state.clone(), s.at)),
            Event::TimerExpired {
                timer: TimerKind::Stage,
                state,
            } => Some(("timer_expired", state.clone(), s.at)),
            _ => None,
        })
        .collect()
}

/// The events `client` has seen after `seq`, up to the room's `to`.
async fn seen_after(client: &mut Client, seq: u64, to: u64) -> Vec<Seen> {
    client.catch_up(to).await;
    client.log.iter().filter(|s| s.seq > seq).cloned().collect()
}

#[tokio::test]
async fn a_cut_past_zero_ends_the_timer_now_for_everyone_and_adding_time_back_moves_its_end() {
    let (server, mut fran, mut ada) = running().await;
    // Eight minutes left, an hour cut: the timer ends now, having run two minutes.
    let (now, before, ack) = adjust_two_minutes_in(&server, &mut fran, -3600).await;
    assert_eq!(
        ack.seq,
        before + 2,
        "timer_changed and timer_expired, nothing else"
    );
    for client in [&mut fran, &mut ada] {
        let seen = seen_after(client, before, ack.seq).await;
        let events = timer_events(&seen);
        let names: Vec<_> = events.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, ["timer_changed", "timer_expired"], "{}", client.name);
        for (name, state, at) in &events {
            assert_eq!(*at, now, "{name} at the moment of the cut");
            assert_eq!(state.ends_at, Some(now), "{name}: it ends now");
            assert_eq!(state.duration_ms, 2 * MINUTE, "{name}: it ran two minutes");
            assert_eq!(state.paused_remaining_ms, None);
        }
        assert!(!events[0].1.expired);
        assert!(events[1].1.expired && events[1].1.warned);
        assert_eq!(client.stage_timer(), events[1].1, "{}", client.name);
    }

    // The old end passes quietly: nothing more is owed.
    server.advance(Duration::from_millis(STAGE));
    fran.assert_quiet_since(ack.seq).await;
    assert_eq!(
        ada.stage_timer().remaining_ms(server.now()),
        -(STAGE as i64),
        "overtime counts from the cut"
    );

    // Nothing is left to cut.
    assert_eq!(fran.refused(adjust(-10)).await, ErrorCode::InvalidState);

    // Adding time moves the end by as much; the timer is armed again once time is left.
    let before = fran.seq;
    let ack = fran.ok(adjust(3600)).await;
    let seen = seen_after(&mut ada, before, ack.seq).await;
    let events = timer_events(&seen);
    assert_eq!(events.len(), 1, "{events:?}");
    let (name, state, _) = &events[0];
    assert_eq!(*name, "timer_changed");
    assert_eq!(state.ends_at, Some(now + 60 * MINUTE));
    assert_eq!(state.duration_ms, 62 * MINUTE);
    assert!(!state.expired && !state.warned);
    let left = state.remaining_ms(server.now());
    assert_eq!(left, (50 * MINUTE) as i64);
    // The clock warns and expires it again at the new points.
    server.advance(Duration::from_millis(49 * MINUTE));
    let warned = ada
        .expect_event(|e| matches!(e, Event::TimerWarning { .. }))
        .await;
    assert!(matches!(warned, Event::TimerWarning { state, .. } if state.warned));
    server.advance(Duration::from_millis(MINUTE));
    let expired = ada
        .expect_event(|e| matches!(e, Event::TimerExpired { .. }))
        .await;
    assert!(
        matches!(expired, Event::TimerExpired { state, .. } if state.ends_at == Some(now + 60 * MINUTE))
    );
}

#[tokio::test]
async fn a_cut_past_the_warning_point_warns_at_once_and_the_clock_expires_it_at_the_new_end() {
    let (server, mut fran, mut ada) = running().await;
    // Eight minutes left, seven and a half cut: thirty seconds left, within the warning point.
    let (now, before, ack) = adjust_two_minutes_in(&server, &mut fran, -450).await;
    let seen = seen_after(&mut ada, before, ack.seq).await;
    let events = timer_events(&seen);
    let names: Vec<_> = events.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(names, ["timer_changed", "timer_warning"]);
    for (name, state, at) in &events {
        assert_eq!(*at, now, "{name}");
        assert_eq!(state.ends_at, Some(now + 30 * SECOND), "{name}");
        assert_eq!(state.duration_ms, 2 * MINUTE + 30 * SECOND, "{name}");
        assert!(!state.expired, "{name}");
    }
    assert!(events[1].1.warned);
    // At the new end the clock expires it, with no second warning.
    server.advance(Duration::from_millis(30 * SECOND));
    let expired = ada
        .expect_event(|e| matches!(e, Event::TimerExpired { .. }))
        .await;
    assert!(
        matches!(expired, Event::TimerExpired { state, .. } if state.ends_at == Some(now + 30 * SECOND))
    );
    let to = ada.seq;
    let seen = seen_after(&mut ada, ack.seq, to).await;
    let names: Vec<_> = timer_events(&seen).iter().map(|(n, _, _)| *n).collect();
    assert_eq!(names, ["timer_expired"]);
}

#[tokio::test]
async fn the_clock_alone_warns_at_the_warning_point_and_expires_at_zero() {
    let (server, mut fran, mut ada) = running().await;
    let before = fran.seq;
    server.advance(Duration::from_millis(STAGE - MINUTE));
    let warned = ada
        .expect_event(|e| matches!(e, Event::TimerWarning { .. }))
        .await;
    assert!(matches!(warned, Event::TimerWarning { state, .. }
        if state.warned && !state.expired && state.ends_at == Some(EPOCH + STAGE) && state.duration_ms == STAGE));
    server.advance(Duration::from_millis(MINUTE));
    ada.expect_event(|e| matches!(e, Event::TimerExpired { .. }))
        .await;
    let to = ada.seq;
    let seen = seen_after(&mut fran, before, to).await;
    let events = timer_events(&seen);
    let names: Vec<_> = events.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(names, ["timer_warning", "timer_expired"]);
    assert_eq!(events[0].2, EPOCH + STAGE - MINUTE);
    assert_eq!(events[1].2, EPOCH + STAGE);
    assert!(events[1].1.warned && events[1].1.expired);
}
