//! A coaching swap over real websockets: nine people paired (three pairs and a triad), each
//! group switching roles only when its members confirm, the facilitator moving everyone on,
//! group timers under the test's clock.

mod common;

use std::time::Duration;

use circlekeeper_protocol::{Command, ErrorCode, Event, GroupPhase, PairsReason, Role, StageKind};
use common::{Client, TestServer};

const MIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn nine_people_are_paired_and_switch_roles_only_when_both_confirm() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_swap").await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut people: Vec<Client> = Vec::new();
    for name in [
        "Ada", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy",
    ] {
        let mut p = server.join(&room, name).await;
        p.ok(Command::AcceptGroundRules).await;
        people.push(p);
    }
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    assert_eq!(
        people[0]
            .refused(Command::ProposePairs { seed: None })
            .await,
        ErrorCode::Forbidden
    );
    fran.ok(Command::ProposePairs { seed: Some(7) }).await;
    let proposal = fran.view.pairs.proposal.clone().expect("a proposal");
    let sizes: Vec<usize> = proposal.groups.iter().map(Vec::len).collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        9,
        "everyone is placed: {sizes:?}"
    );
    assert_eq!(
        sizes.iter().filter(|&&s| s == 3).count(),
        1,
        "one triad: {sizes:?}"
    );
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    for p in people.iter_mut() {
        p.catch_up(fran.seq).await;
    }
    let stage = fran.view.stage.as_ref().expect("a stage").index;
    assert_eq!(fran.view.plan[stage].kind, StageKind::Pairs);

    // Every member sees their group, with a running timer, and a role that fits it.
    for p in &people {
        let g = p
            .view
            .pairs
            .groups
            .iter()
            .find(|g| g.members.contains(&p.you))
            .expect("in a group");
        assert!(g.timer.as_ref().and_then(|t| t.ends_at).is_some());
        let expected = if g.coach == p.you {
            Role::Coach
        } else if g.client == p.you {
            Role::Client
        } else {
            Role::Observer
        };
        assert!(g.members.len() == 3 || expected != Role::Observer);
        assert_eq!(p.view.participants.len(), 10);
    }

    // One pair: the coach ends the half; the client confirms; roles do not move until the
    // coach confirms too; then both see the switch.
    let pair = fran
        .view
        .pairs
        .groups
        .iter()
        .find(|g| g.members.len() == 2)
        .cloned()
        .expect("a pair");
    let idx = |id| people.iter().position(|p| p.you == id).expect("a member");
    let (coach, client) = (idx(pair.coach), idx(pair.client));
    people[coach].ok(Command::EndHalf { group: None }).await;
    people[client].ok(Command::ConfirmSwitch).await;
    let seq = people[client].seq;
    people[coach].catch_up(seq).await;
    let waiting = people[coach]
        .view
        .pairs
        .groups
        .iter()
        .find(|g| g.id == pair.id)
        .cloned()
        .expect("the pair");
    assert_eq!(waiting.phase, GroupPhase::Feedback);
    assert_eq!(waiting.ready, vec![pair.client]);
    assert_eq!(waiting.coach, pair.coach, "no silent switch");
    people[coach].ok(Command::ConfirmSwitch).await;
    for who in [coach, client] {
        people[who]
            .expect_event(|e| {
                matches!(e, Event::PairsChanged { reason: PairsReason::Switched, group: Some(g), .. } if *g == pair.id)
            })
            .await;
        let g = people[who]
            .view
            .pairs
            .groups
            .iter()
            .find(|g| g.id == pair.id)
            .cloned()
            .expect("the pair");
        assert_eq!((g.coach, g.client), (pair.client, pair.coach));
        assert_eq!(g.round, 1);
    }

    // Group timers warn a minute before the half's end (the switched pair started later).
    let seq = people[coach].seq;
    fran.catch_up(seq).await;
    server.advance(44 * MIN);
    fran.expect_event(|e| {
        matches!(
            e,
            Event::PairsChanged {
                reason: PairsReason::TimerWarning,
                ..
            }
        )
    })
    .await;

    // The facilitator moves everyone on: the others reach feedback, then switch together.
    fran.ok(Command::MoveEveryone).await;
    fran.ok(Command::MoveEveryone).await;
    for g in &fran.view.pairs.groups {
        assert!(g.round >= 1, "group {} switched", g.id);
    }
    // Call everyone back to plenary.
    fran.ok(Command::NextStage).await;
    let stage = fran.view.stage.as_ref().expect("a stage").index;
    assert_eq!(fran.view.plan[stage].kind, StageKind::CheckOut);
    for p in people.iter_mut() {
        p.catch_up(fran.seq).await;
        assert_eq!(p.view, fran.view);
    }
}
