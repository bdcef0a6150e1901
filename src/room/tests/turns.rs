//! Turns: consent before speaking, rounds with pass and done, the hand queue, the floor, floor time, observers.

use super::*;

#[test]
fn a_participant_must_accept_the_ground_rules_before_taking_a_turn() {
    let mut c = Circle::als(2);
    let (newcomer, _) = c
        .room
        .join(T0, "Gus", Standing::Participant)
        .expect("joins");
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 2 }); // clarifying questions: hand queue
    assert_eq!(
        c.refused(newcomer, Command::RaiseHand),
        ErrorCode::ConsentRequired
    );
    assert_eq!(
        c.refused(
            c.host,
            Command::GiveFloor {
                participant: Some(newcomer)
            }
        ),
        ErrorCode::ConsentRequired
    );
    c.ok(newcomer, Command::AcceptGroundRules);
    c.ok(newcomer, Command::RaiseHand);
    assert!(c.room.participant(newcomer).expect("there").consented);
}

#[test]
fn the_check_in_round_goes_in_order_with_pass_and_done() {
    let mut c = Circle::als(3);
    c.ok(c.host, Command::Start);
    assert_eq!(c.stage_kind(), StageKind::CheckIn);
    let round = c.room.view().turn.round.clone().expect("a round");
    assert_eq!(
        round.order,
        vec![c.host, c.people[0], c.people[1], c.people[2]]
    );
    assert_eq!(c.floor(), Some(c.host));
    // Only the speaker (or a facilitator) ends a turn.
    assert_eq!(
        c.refused(c.people[1], Command::Done),
        ErrorCode::NotYourTurn
    );
    c.ok(c.host, Command::Done);
    assert_eq!(c.floor(), Some(c.people[0]));
    c.ok(c.people[0], Command::Pass);
    assert_eq!(c.floor(), Some(c.people[1]));
    c.ok(c.host, Command::NextTurn);
    c.ok(c.people[2], Command::Done);
    let round = c.room.view().turn.round.clone().expect("a round");
    assert_eq!(round.position, round.order.len());
    assert_eq!(round.passed, vec![c.people[0]]);
    assert_eq!(c.floor(), None);
    assert_eq!(
        c.refused(c.host, Command::NextTurn),
        ErrorCode::InvalidState
    );
}

#[test]
fn raised_hands_are_served_in_order() {
    let mut c = Circle::als(4);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 2 });
    assert_eq!(c.stage_kind(), StageKind::ClarifyingQuestions);
    let [a, b, d, e] = [c.people[0], c.people[1], c.people[2], c.people[3]];
    for p in [d, b, e] {
        c.ok(p, Command::RaiseHand);
    }
    assert_eq!(c.refused(d, Command::RaiseHand), ErrorCode::InvalidState);
    assert_eq!(c.room.view().turn.queue, vec![d, b, e]);
    c.ok(b, Command::LowerHand { participant: None });
    assert_eq!(
        c.refused(
            a,
            Command::LowerHand {
                participant: Some(e)
            }
        ),
        ErrorCode::Forbidden
    );
    c.ok(c.host, Command::GiveFloor { participant: None });
    assert_eq!(c.floor(), Some(d));
    assert_eq!(c.room.view().turn.queue, vec![e]);
    c.ok(c.host, Command::GiveFloor { participant: None });
    assert_eq!(c.floor(), Some(e));
    c.ok(c.host, Command::TakeFloor);
    assert_eq!(c.floor(), None);
    assert_eq!(
        c.refused(c.host, Command::TakeFloor),
        ErrorCode::InvalidState
    );
}

#[test]
fn the_presenter_holds_the_floor_in_their_presentation() {
    let mut c = Circle::als(3);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[2], c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::NextStage);
    let stage = c.room.current_stage().expect("stage").clone();
    assert_eq!(stage.kind, StageKind::Presentation);
    assert_eq!(stage.presenter, Some(c.people[2]));
    assert_eq!(c.floor(), Some(c.people[2]));
    assert_eq!(c.room.stage_role(c.people[2]), Role::Presenter);
    // Two presenters: 1 check-in + 2 × 5 + 1 check-out.
    assert_eq!(c.room.view().plan.len(), 12);
    c.ok(c.host, Command::NextStage);
    assert_eq!(c.room.stage_role(c.people[0]), Role::Coach);
    assert_eq!(c.room.stage_role(c.host), Role::Facilitator);
}

#[test]
fn floor_time_is_counted_per_participant_and_role_without_paused_time() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::NextStage); // Ada presents
    c.ok_at(T0 + 2 * MIN, c.host, Command::Pause);
    c.ok_at(T0 + 7 * MIN, c.host, Command::ResumeSession);
    c.ok_at(T0 + 8 * MIN, c.host, Command::NextStage);
    let ft = &c.room.view().floor_time;
    assert!(ft.by_participant.contains(&(c.people[0], 3 * MIN)));
    assert!(ft.by_role.contains(&(Role::Presenter, 3 * MIN)));
}

#[test]
fn observers_take_no_turn() {
    let mut c = Circle::als(2);
    let o = c.people[1];
    c.ok(
        c.host,
        Command::AssignRole {
            participant: o,
            role: Role::Observer,
        },
    );
    c.ok(c.host, Command::Start);
    let round = c.room.view().turn.round.clone().expect("round");
    assert!(!round.order.contains(&o));
    c.ok(c.host, Command::JumpToStage { index: 2 });
    assert_eq!(c.refused(o, Command::RaiseHand), ErrorCode::Forbidden);
    assert_eq!(c.room.stage_role(o), Role::Observer);
}
