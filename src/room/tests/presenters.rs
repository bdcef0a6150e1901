//! Presenters: the order, who keeps their place, seeded shuffles.

use super::*;

#[test]
fn presenters_who_have_begun_keep_their_place() {
    let mut c = Circle::als(3);
    let [a, b, d] = [c.people[0], c.people[1], c.people[2]];
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![a, b, d],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 }); // Ada's coaching questions
    assert_eq!(
        c.refused(
            c.host,
            Command::SetPresenterOrder {
                order: vec![b, a, d]
            }
        ),
        ErrorCode::InvalidState
    );
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![a, d, b],
        },
    );
    let view = c.room.view();
    assert_eq!(view.stage.as_ref().expect("stage").index, 3);
    assert_eq!(view.plan[6].presenter, Some(d));
}

#[test]
fn shuffling_presenters_is_deterministic_for_a_seed() {
    let mut one = Circle::als(5);
    let mut two = Circle::als(5);
    one.ok(one.host, Command::ShufflePresenters { seed: Some(42) });
    two.ok(two.host, Command::ShufflePresenters { seed: Some(42) });
    let order = one.room.view().presenter_order.clone();
    assert_eq!(order, two.room.view().presenter_order);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, one.people);
}
