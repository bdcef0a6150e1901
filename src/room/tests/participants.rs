//! Participants: removal, and how names are cleaned.

use super::*;

#[test]
fn a_removed_participant_leaves_the_queue_the_round_and_the_plan() {
    let mut c = Circle::als(3);
    let [a, b, d] = [c.people[0], c.people[1], c.people[2]];
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![a, b, d],
        },
    );
    c.ok(c.host, Command::Start);
    // In the check-in round: remove the one who is next.
    c.ok(c.host, Command::Done); // host done → Ada speaks
    c.ok(c.host, Command::RemoveParticipant { participant: b });
    let round = c.room.view().turn.round.clone().expect("round");
    assert!(!round.order[round.position..].contains(&b));
    assert!(!c.room.view().presenter_order.contains(&b));
    assert!(c.room.participant(b).expect("kept").removed);
    assert_eq!(c.refused(b, Command::RaiseHand), ErrorCode::Forbidden);
    c.ok(a, Command::Done);
    assert_eq!(c.floor(), Some(d));
}

#[test]
fn names_are_trimmed_and_limited() {
    let mut room = Room::new(setup(
        formats::builtin("coaching_circle").expect("built-in"),
    ));
    assert_eq!(
        room.join(T0, "   ", Standing::Participant)
            .map(|_| ())
            .expect_err("empty")
            .code,
        ErrorCode::InvalidText
    );
    assert_eq!(
        room.join(T0, &"n".repeat(61), Standing::Participant)
            .map(|_| ())
            .expect_err("long")
            .code,
        ErrorCode::InvalidText
    );
    let (id, _) = room
        .join(T0, "  Ada  ", Standing::Participant)
        .expect("joins");
    assert_eq!(room.participant(id).expect("there").name, "Ada");
}
