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

fn triad_of(a: &str, b: &str, c: &str) -> Group {
    Group::Triad([a.into(), b.into(), c.into()])
}

fn the_triad(groups: &[Group]) -> Vec<PersonId> {
    let mut m: Vec<PersonId> = groups
        .iter()
        .filter(|g| g.is_triad())
        .flat_map(|g| g.members().to_vec())
        .collect();
    m.sort();
    m
}

#[test]
fn nobody_is_in_a_triad_again_before_everyone_has_been() {
    // Nine people, three sessions: each session's triad is three new people.
    let people = ids(&["a", "b", "c", "d", "e", "f", "g", "h", "i"]);
    for seed in 0..10 {
        let mut history = History::new();
        let mut seen: Vec<PersonId> = Vec::new();
        for session in 0..3 {
            let groups = pair(&Request::new(&people, &history, session, seed)).expect("pairs");
            let triad = the_triad(&groups);
            assert_eq!(triad.len(), 3);
            assert!(
                triad.iter().all(|p| !seen.contains(p)),
                "{triad:?} {seen:?}"
            );
            seen.extend(triad);
            history.record(session, &groups);
        }
        // Everyone has been: the next triad is whoever's triad was longest ago.
        let groups = pair(&Request::new(&people, &history, 3, seed)).expect("pairs");
        let first = the_triad(&pair(&Request::new(&people, &History::new(), 0, seed)).expect("p"));
        assert_eq!(the_triad(&groups), first, "seed {seed}");
    }
}

#[test]
fn a_fair_triad_outweighs_a_fresh_partner_but_not_an_avoid_pair() {
    let people = ids(&["a", "b", "c", "d", "e"]);
    let mut history = History::new();
    history.record(0, &[triad_of("a", "b", "c"), pair_of("d", "e")]);
    let groups = pair(&Request::new(&people, &history, 1, 0)).expect("pairs");
    // d and e must both be in the triad, though they met last session.
    let triad = the_triad(&groups);
    assert!(triad.contains(&"d".into()) && triad.contains(&"e".into()));
    let avoid = [("d".to_string(), "e".to_string())];
    let req = Request {
        avoid: &avoid,
        ..Request::new(&people, &history, 1, 0)
    };
    let groups = pair(&req).expect("pairs");
    assert_eq!(req.cost(&groups).avoided, 0);
    let repeats = triad_repeats(&req, &groups, &[]);
    assert_eq!(repeats.len(), 2, "{groups:?} {repeats:?}");
    assert!(repeats
        .iter()
        .all(|r| r.why == TriadWhy::NoOneElse && r.triads == 1));
}

#[test]
fn a_fixed_pair_due_a_triad_takes_it() {
    let people = ids(&["a", "b", "c", "d", "e", "f", "g"]);
    let fixed = [("f".to_string(), "g".to_string())];
    let mut history = History::new();
    history.record(
        0,
        &[
            triad_of("a", "b", "c"),
            pair_of("d", "e"),
            pair_of("f", "g"),
        ],
    );
    history.record(
        1,
        &[
            triad_of("a", "d", "e"),
            pair_of("b", "c"),
            pair_of("f", "g"),
        ],
    );
    let req = Request {
        fixed: &fixed,
        ..Request::new(&people, &history, 2, 5)
    };
    let groups = pair(&req).expect("pairs");
    let triad = the_triad(&groups);
    assert!(
        triad.contains(&"f".into()) && triad.contains(&"g".into()),
        "{groups:?}"
    );
    assert!(together(&groups, "f", "g"));
}

#[test]
fn repeats_say_who_and_why() {
    let people = ids(&["a", "b", "c", "d", "e"]);
    let mut history = History::new();
    history.record(0, &[triad_of("a", "b", "c"), pair_of("d", "e")]);
    let req = Request::new(&people, &history, 1, 0);
    // By hand: a, b and d in the triad, though e has never been in one.
    let groups = vec![triad_of("a", "b", "d"), pair_of("c", "e")];
    let repeats = triad_repeats(&req, &groups, &[]);
    assert_eq!(
        repeats,
        vec![
            TriadRepeat {
                person: "a".into(),
                triads: 1,
                why: TriadWhy::Adjusted
            },
            TriadRepeat {
                person: "b".into(),
                triads: 1,
                why: TriadWhy::Adjusted
            },
        ]
    );
    assert!(triad_repeats(&req, &groups, &[true, false])
        .iter()
        .all(|r| r.why == TriadWhy::Locked));
    let partners = repeated_partners(&req, &groups);
    assert_eq!(partners.len(), 1);
    assert_eq!((partners[0].a.as_str(), partners[0].b.as_str()), ("a", "b"));
    assert_eq!((partners[0].times, partners[0].last), (1, 0));
}

#[test]
fn a_late_joiner_prefers_the_pair_least_due_a_triad() {
    let people = ids(&["a", "b", "c", "d"]);
    let mut history = History::new();
    history.record(0, &[triad_of("a", "b", "x")]);
    history.record(0, &[pair_of("c", "d")]);
    let req = Request::new(&people, &history, 1, 0);
    let mut groups = vec![pair_of("a", "c"), pair_of("b", "d"), pair_of("y", "w")];
    // Every pair is new to z; y and w have no triad either.
    let mut who = ids(&["a", "b", "c", "d", "y", "w"]);
    who.sort();
    let req = Request {
        present: &who,
        ..req
    };
    assert_eq!(
        place_late(&mut groups, "z".into(), &req),
        Placement::Joined { group: 2 }
    );
    let _ = people;
}
