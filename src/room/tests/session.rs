//! The session: what still works after the end, and replay.

use super::*;

#[test]
fn nothing_but_sync_and_leave_works_after_the_end() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::EndSession);
    assert_eq!(
        c.refused(c.host, Command::NextStage),
        ErrorCode::SessionEnded
    );
    assert_eq!(
        c.refused(c.people[0], Command::RaiseHand),
        ErrorCode::SessionEnded
    );
    c.ok(c.people[0], Command::Sync);
    assert!(c.room.join(T0, "Late", Standing::Participant).is_err());
}

#[test]
fn replaying_the_events_rebuilds_the_same_room() {
    let mut c = Circle::als(3);
    c.ok(c.host, Command::ShufflePresenters { seed: Some(3) });
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::Done);
    c.ok_at(T0 + MIN, c.host, Command::NextStage);
    c.tick(T0 + 20 * MIN);
    c.ok_at(T0 + 21 * MIN, c.host, Command::JumpToStage { index: 3 });
    let mut fresh = Room::new(setup(
        formats::builtin("action_learning_set").expect("built-in"),
    ));
    for (i, r) in c.log.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "sequence numbers are contiguous");
        fresh.replay(r);
    }
    assert_eq!(fresh, c.room);
}
