//! Coaching swaps: proposing, adjusting and confirming pairs, switching roles, triads, group timers, late joiners and leavers.

use super::*;

#[test]
fn an_even_count_makes_pairs_and_an_odd_count_one_triad() {
    let mut even = swap(6);
    even.ok(even.host, Command::ProposePairs { seed: Some(1) });
    let proposal = even.room.view().pairs.proposal.clone().expect("a proposal");
    assert!(proposal.groups.iter().all(|g| g.len() == 2));
    assert_eq!(proposal.groups.len(), 3);
    let mut odd = swap(5);
    odd.ok(odd.host, Command::ProposePairs { seed: Some(1) });
    let proposal = odd.room.view().pairs.proposal.clone().expect("a proposal");
    assert_eq!(proposal.groups.iter().filter(|g| g.len() == 3).count(), 1);
    let placed: usize = proposal.groups.iter().map(Vec::len).sum();
    assert_eq!(placed, 5, "everyone placed, the facilitator not");
}

#[test]
fn the_facilitator_swaps_locks_and_confirms_pairs() {
    let mut c = swap(4);
    c.ok(c.host, Command::ProposePairs { seed: Some(9) });
    let before = c.room.view().pairs.proposal.clone().expect("proposal");
    let (a, b) = (before.groups[0][0], before.groups[1][0]);
    c.ok(c.host, Command::SwapPeople { a, b });
    let after = c.room.view().pairs.proposal.clone().expect("proposal");
    assert_eq!(after.groups[0][0], b);
    assert_eq!(after.groups[1][0], a);
    c.ok(
        c.host,
        Command::LockGroup {
            index: 0,
            locked: true,
        },
    );
    assert_eq!(
        c.refused(c.host, Command::SwapPeople { a, b }),
        ErrorCode::InvalidState
    );
    // A new proposal keeps the locked group.
    c.ok(c.host, Command::ProposePairs { seed: Some(10) });
    let again = c.room.view().pairs.proposal.clone().expect("proposal");
    let kept = after.groups[0].clone();
    assert!(again.groups.iter().any(|g| {
        let mut g = g.clone();
        let mut k = kept.clone();
        g.sort();
        k.sort();
        g == k
    }));
    c.ok(c.host, Command::ConfirmPairs);
    assert_eq!(c.room.view().pairs.groups.len(), 2);
    assert!(c.room.view().pairs.proposal.is_none());
    assert_eq!(
        c.refused(c.people[0], Command::ProposePairs { seed: None }),
        ErrorCode::Forbidden
    );
}

#[test]
fn roles_switch_only_when_both_confirm_and_never_silently() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage); // coaching in pairs
    let g = group_of(&c, c.people[0]);
    let (coach, client) = (g.coach, g.client);
    assert_ne!(coach, client);
    assert_eq!(c.room.stage_role(coach), Role::Coach);
    assert_eq!(c.room.stage_role(client), Role::Client);
    let half = g.timer.clone().expect("the half's timer runs");
    assert_eq!(half.duration_ms, 45 * MIN);
    // No switch during the half.
    assert_eq!(
        c.refused(client, Command::ConfirmSwitch),
        ErrorCode::InvalidState
    );
    c.ok(coach, Command::EndHalf { group: None });
    assert_eq!(group_of(&c, coach).phase, GroupPhase::Feedback);
    c.ok(client, Command::ConfirmSwitch);
    let waiting = group_of(&c, coach);
    assert_eq!(waiting.ready, vec![client]);
    assert_eq!(
        waiting.coach, coach,
        "one confirmation does not switch the roles"
    );
    assert_eq!(
        c.refused(client, Command::ConfirmSwitch),
        ErrorCode::InvalidState
    );
    c.ok(coach, Command::ConfirmSwitch);
    let switched = group_of(&c, coach);
    assert_eq!((switched.coach, switched.client), (client, coach));
    assert_eq!(switched.round, 1);
    assert_eq!(switched.phase, GroupPhase::Coaching);
    let switch_events = c
        .log
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                Event::PairsChanged {
                    reason: PairsReason::Switched,
                    ..
                }
            )
        })
        .count();
    assert_eq!(switch_events, 1, "the switch is one event everyone sees");
    // The second half, then done.
    c.ok(client, Command::EndHalf { group: None });
    c.ok(client, Command::ConfirmSwitch);
    c.ok(coach, Command::ConfirmSwitch);
    let done = group_of(&c, coach);
    assert_eq!(done.phase, GroupPhase::Done);
    assert!(done.timer.is_none());
}

#[test]
fn a_triad_gives_each_member_each_role_once_in_the_same_total_time() {
    let mut c = swap(3);
    c.ok(c.host, Command::ProposePairs { seed: Some(4) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let mut roles: std::collections::HashMap<ParticipantId, Vec<Role>> = Default::default();
    for round in 0..3 {
        let g = group_of(&c, c.people[0]);
        assert_eq!(g.round, round);
        assert_eq!(
            g.timer.as_ref().expect("timer").duration_ms,
            30 * MIN,
            "45 × 2 / 3"
        );
        for &m in &g.members {
            roles.entry(m).or_default().push(c.room.stage_role(m));
        }
        c.ok(c.host, Command::MoveEveryone); // coaching → feedback
        c.ok(c.host, Command::MoveEveryone); // feedback → switched (or done)
    }
    for (who, mut r) in roles {
        r.sort();
        assert_eq!(
            r,
            vec![Role::Coach, Role::Client, Role::Observer],
            "participant {who}"
        );
    }
    assert_eq!(group_of(&c, c.people[0]).phase, GroupPhase::Done);
}

#[test]
fn group_timers_warn_expire_pause_and_stop_when_everyone_is_called_back() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let deadline = c.room.next_deadline().expect("deadlines");
    assert_eq!(
        deadline,
        T0 + 44 * MIN,
        "the half warns a minute before its end"
    );
    let events = c.tick(T0 + 44 * MIN);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PairsChanged {
            reason: PairsReason::TimerWarning,
            ..
        }
    )));
    let events = c.tick(T0 + 46 * MIN);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PairsChanged {
            reason: PairsReason::TimerExpired,
            ..
        }
    )));
    c.ok_at(T0 + 50 * MIN, c.host, Command::Pause);
    assert!(group_of(&c, c.people[0])
        .timer
        .expect("timer")
        .ends_at
        .is_none());
    c.ok_at(T0 + 60 * MIN, c.host, Command::ResumeSession);
    c.ok_at(T0 + 61 * MIN, c.host, Command::NextStage); // back to plenary
    assert_eq!(c.stage_kind(), StageKind::CheckOut);
    let t = group_of(&c, c.people[0]).timer.expect("timer kept");
    assert!(t.ends_at.is_none(), "stopped outside the pairs stage");
}

#[test]
fn a_late_joiner_makes_a_triad_or_waits() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let (late, events) = c
        .room
        .join(T0, "Late", Standing::Participant)
        .expect("joins");
    c.log.extend(events);
    assert_eq!(
        c.refused(c.host, Command::PlaceLate { participant: late }),
        ErrorCode::ConsentRequired
    );
    c.ok(late, Command::AcceptGroundRules);
    c.ok(c.host, Command::PlaceLate { participant: late });
    let g = group_of(&c, late);
    assert_eq!(g.members.len(), 3);
    assert_eq!(g.observer, Some(late), "a late joiner observes first");
    // Another late joiner waits: no pair is left in its first half.
    let (later, events) = c
        .room
        .join(T0, "Later", Standing::Participant)
        .expect("joins");
    c.log.extend(events);
    c.ok(later, Command::AcceptGroundRules);
    c.ok(c.host, Command::PlaceLate { participant: later });
    assert_eq!(c.room.view().pairs.waiting, vec![later]);
    // The triad's first round was shortened to two thirds of a half.
    let t = g.timer.clone().expect("timer");
    assert_eq!(t.ends_at, Some(T0 + 30 * MIN));
    // A third late joiner is paired with the one waiting.
    let (last, events) = c
        .room
        .join(T0, "Last", Standing::Participant)
        .expect("joins");
    c.log.extend(events);
    c.ok(last, Command::AcceptGroundRules);
    c.ok(c.host, Command::PlaceLate { participant: last });
    let new_pair = group_of(&c, last);
    assert_eq!(new_pair.members, vec![later, last]);
    assert!(c.room.view().pairs.waiting.is_empty());
}

#[test]
fn someone_leaving_a_triad_leaves_a_pair_and_a_lone_partner_waits() {
    let mut c = swap(3);
    c.ok(c.host, Command::ProposePairs { seed: Some(4) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let g = group_of(&c, c.people[0]);
    let observer = g.observer.expect("a triad");
    c.ok(observer, Command::Leave);
    let pair = group_of(&c, g.coach);
    assert_eq!(pair.members.len(), 2);
    assert_eq!(
        (pair.coach, pair.client, pair.observer),
        (g.coach, g.client, None)
    );
    c.ok(
        c.host,
        Command::RemoveParticipant {
            participant: pair.coach,
        },
    );
    assert!(c.room.view().pairs.groups.is_empty());
    assert_eq!(c.room.view().pairs.waiting, vec![pair.client]);
    assert!(c.log.iter().any(|r| matches!(
        r.event,
        Event::PairsChanged {
            reason: PairsReason::Left,
            ..
        }
    )));
}
