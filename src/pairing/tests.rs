//! Tests of pairing: constraints, costs, determinism and the search.

use super::*;

fn ids(names: &[&str]) -> Vec<PersonId> {
    names.iter().map(|s| s.to_string()).collect()
}

fn pair_of(a: &str, b: &str) -> Group {
    Group::Pair([a.into(), b.into()])
}

fn together(groups: &[Group], a: &str, b: &str) -> bool {
    groups.iter().any(|g| g.contains(a) && g.contains(b))
}

#[test]
fn last_months_partners_are_not_met_again() {
    let people = ids(&["ana", "ben", "cy", "dee"]);
    let mut history = History::new();
    history.record(0, &[pair_of("ana", "ben"), pair_of("cy", "dee")]);
    history.record(1, &[pair_of("ana", "cy"), pair_of("ben", "dee")]);
    for seed in 0..20 {
        let groups = pair(&Request::new(&people, &history, 2, seed)).expect("pairs");
        assert!(together(&groups, "ana", "dee"), "{groups:?}");
        assert!(together(&groups, "ben", "cy"), "{groups:?}");
    }
}

#[test]
fn when_everyone_was_met_recently_the_oldest_meeting_repeats() {
    let people = ids(&["ana", "ben", "cy", "dee"]);
    let mut history = History::new();
    history.record(0, &[pair_of("ana", "ben"), pair_of("cy", "dee")]);
    history.record(1, &[pair_of("ana", "cy"), pair_of("ben", "dee")]);
    history.record(2, &[pair_of("ana", "dee"), pair_of("ben", "cy")]);
    let groups = pair(&Request::new(&people, &history, 3, 7)).expect("pairs");
    assert!(together(&groups, "ana", "ben"), "{groups:?}");
}

#[test]
fn an_odd_count_makes_exactly_one_triad() {
    let people = ids(&["a", "b", "c", "d", "e"]);
    let groups = pair(&Request::new(&people, &History::new(), 0, 1)).expect("pairs");
    assert_eq!(groups.iter().filter(|g| g.is_triad()).count(), 1);
    assert_eq!(groups.len(), 2);
}

#[test]
fn fixed_and_locked_groups_come_first_and_stay() {
    let people = ids(&["a", "b", "c", "d", "e", "f", "g"]);
    let fixed = [("a".to_string(), "b".to_string())];
    let locked = [Group::Triad(["e".into(), "c".into(), "g".into()])];
    let mut history = History::new();
    history.record(0, &[pair_of("a", "b")]);
    let req = Request {
        fixed: &fixed,
        locked: &locked,
        ..Request::new(&people, &history, 1, 3)
    };
    let groups = pair(&req).expect("pairs");
    assert_eq!(groups[0], locked[0]);
    assert_eq!(groups[1], pair_of("a", "b"));
    assert!(together(&groups, "d", "f"));
}

#[test]
fn an_avoid_pair_is_respected_over_a_recent_repeat() {
    let people = ids(&["a", "b", "c", "d"]);
    let mut history = History::new();
    history.record(0, &[pair_of("a", "c"), pair_of("b", "d")]);
    let avoid = [("a".to_string(), "b".to_string())];
    let req = Request {
        avoid: &avoid,
        ..Request::new(&people, &history, 1, 0)
    };
    // {a,b}{c,d} breaks the avoid-pair; {a,c}{b,d} repeats twice; {a,d}{b,c} is free.
    let groups = pair(&req).expect("pairs");
    assert!(together(&groups, "a", "d"), "{groups:?}");
    assert_eq!(req.cost(&groups).avoided, 0);
}

#[test]
fn too_few_and_duplicates_are_errors() {
    let one = ids(&["a"]);
    assert_eq!(
        pair(&Request::new(&one, &History::new(), 0, 0)),
        Err(PairingError::TooFew(1))
    );
    let twice = ids(&["a", "b", "a"]);
    assert_eq!(
        pair(&Request::new(&twice, &History::new(), 0, 0)),
        Err(PairingError::Duplicate("a".into()))
    );
}

#[test]
fn a_late_joiner_joins_the_pair_met_least() {
    let people = ids(&["a", "b", "c", "d"]);
    let mut history = History::new();
    history.record(0, &[pair_of("a", "z"), pair_of("c", "d")]);
    let req = Request::new(&people, &history, 1, 0);
    let mut groups = vec![pair_of("a", "b"), pair_of("c", "d")];
    // z met a last month, and has never met c or d.
    assert_eq!(
        place_late(&mut groups, "z".into(), &req),
        Placement::Joined { group: 1 }
    );
    assert_eq!(
        groups[1],
        Group::Triad(["c".into(), "d".into(), "z".into()])
    );
    // Y: the only pair left is [a, b].
    assert_eq!(
        place_late(&mut groups, "y".into(), &req),
        Placement::Joined { group: 0 }
    );
    assert_eq!(
        place_late(&mut groups, "x".into(), &req),
        Placement::Waiting
    );
    assert_eq!(
        place_late(&mut groups, "a".into(), &req),
        Placement::AlreadyPlaced { group: 0 }
    );
}

#[test]
fn swap_exchanges_places() {
    let mut groups = vec![pair_of("a", "b"), pair_of("c", "d")];
    swap(&mut groups, "a", "d").expect("both placed");
    assert_eq!(groups, vec![pair_of("d", "b"), pair_of("c", "a")]);
    assert_eq!(
        swap(&mut groups, "a", "q"),
        Err(PairingError::NotPlaced("q".into()))
    );
}

#[test]
fn triad_rounds_give_each_role_once() {
    let t: [PersonId; 3] = ["a".into(), "b".into(), "c".into()];
    let rounds = triad_rounds(&t);
    assert_eq!(rounds[0], (&t[1], &t[0], &t[2]));
    for p in &t {
        assert_eq!(rounds.iter().filter(|r| r.0 == p).count(), 1);
        assert_eq!(rounds.iter().filter(|r| r.1 == p).count(), 1);
        assert_eq!(rounds.iter().filter(|r| r.2 == p).count(), 1);
    }
}

#[test]
fn history_decays_but_never_forgets() {
    let mut history = History::new();
    history.record(0, &[pair_of("a", "b")]);
    history.record(5, &[Group::Triad(["a".into(), "b".into(), "c".into()])]);
    assert_eq!(history.times_met("b", "a"), 2);
    assert_eq!(history.last_met("c", "a"), Some(5));
    assert_eq!(history.last_met("c", "d"), None);
    let people = ids(&["a", "b", "c"]);
    let req = Request::new(&people, &history, 12, 0);
    let ab = req.pair_cost("a", "b");
    let ac = req.pair_cost("a", "c");
    assert_eq!(ab.recent, 0);
    assert!(ab > ac && ac > Cost::default(), "{ab:?} {ac:?}");
    history.forget_before(5);
    assert_eq!(history.times_met("a", "b"), 1);
    history.forget_before(6);
    assert!(history.is_empty());
}
