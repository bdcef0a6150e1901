//! Triads rotate across a series, over real websockets: a nine-member series meets four times,
//! each session's triad is three people who have not been in one until everyone has, and the
//! proposal tells the facilitator who was in the triad last time and what it repeats (with
//! why), also after the facilitator moves people by hand.

mod common;

use std::collections::BTreeSet;

use circlekeeper_protocol::{Command, Proposal, RoomCreated, SeriesCreated, TriadWhy};
use common::{Client, TestServer};
use serde_json::json;

/// Open the series' next room, host it, let every member in with their personal link, and
/// move to the pairing stage.
async fn session(
    server: &TestServer,
    series: &SeriesCreated,
) -> (RoomCreated, Client, Vec<Client>) {
    let (room, mut fran, members) = server.series_session(series).await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    (room, fran, members)
}

/// The member id of a participant of the facilitator's room.
fn member(fran: &Client, id: u32) -> String {
    fran.view
        .participants
        .iter()
        .find(|p| p.id == id)
        .and_then(|p| p.member.clone())
        .expect("a member")
}

/// The current proposal.
fn proposal(fran: &Client) -> Proposal {
    fran.view.pairs.proposal.clone().expect("a proposal")
}

/// The proposal's triad, by member id.
fn triad_of(fran: &Client, p: &Proposal) -> BTreeSet<String> {
    p.groups
        .iter()
        .find(|g| g.len() == 3)
        .expect("nine people make a triad")
        .iter()
        .map(|&id| member(fran, id))
        .collect()
}

/// Confirm the proposal and end the session, so that the series has recorded it.
async fn finish(mut fran: Client, members: Vec<Client>) {
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::EndSession).await;
    for mut c in members {
        c.sync().await;
        c.close().await;
    }
    fran.close().await;
}

#[tokio::test]
async fn triads_rotate_through_a_series_and_the_proposal_reports_repeats() {
    let server = TestServer::start().await;
    let names = [
        "Ada", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy",
    ];
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Triad swap", "cadence": "monthly", "cycle_months": 6, "members": names })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");

    let mut earlier: Vec<BTreeSet<String>> = Vec::new();
    for n in 0..3u32 {
        let (_room, mut fran, members) = session(&server, &series).await;
        fran.ok(Command::ProposePairs {
            seed: Some(u64::from(n) + 11),
        })
        .await;
        let p = proposal(&fran);
        let mut triad = triad_of(&fran, &p);
        for before in &earlier {
            assert!(
                triad.is_disjoint(before),
                "session {n}: {triad:?} again before everyone was in a triad ({earlier:?})"
            );
        }
        // Nobody was in a triad before, so no triad member repeats; nine people over three
        // sessions need no partner again either.
        assert!(p.repeats.triad.is_empty(), "{:?}", p.repeats);
        assert!(p.repeats.partners.is_empty(), "{:?}", p.repeats);
        match earlier.last() {
            None => assert_eq!(p.last_triad, None),
            Some(last) => {
                let shown = p.last_triad.clone().expect("last time's triad");
                assert_eq!(shown.session, n - 1);
                let named: BTreeSet<String> =
                    shown.members.iter().map(|&id| member(&fran, id)).collect();
                assert_eq!(&named, last);
            }
        }
        if n == 1 {
            // The facilitator moves a member of last time's triad into this one by hand: the
            // proposal names them as a repeat, moved by hand, and the partner counts follow.
            let from_last = shown_id(&fran, earlier[0].iter().next().expect("someone"));
            let into = p
                .groups
                .iter()
                .find(|g| g.len() == 3)
                .map(|g| g[0])
                .expect("triad");
            fran.ok(Command::SwapPeople {
                a: from_last,
                b: into,
            })
            .await;
            let adjusted = proposal(&fran);
            let repeat = adjusted
                .repeats
                .triad
                .iter()
                .find(|r| r.participant == from_last)
                .expect("the moved member repeats a triad");
            assert_eq!((repeat.triads, repeat.why), (1, TriadWhy::Adjusted));
            assert!(
                adjusted
                    .repeats
                    .partners
                    .iter()
                    .all(|r| r.times == 1 && r.last_session == 0),
                "{:?}",
                adjusted.repeats.partners
            );
            // Proposing again puts it right.
            fran.ok(Command::ProposePairs { seed: Some(12) }).await;
            let again = proposal(&fran);
            assert!(again.repeats.triad.is_empty(), "{:?}", again.repeats);
            triad = triad_of(&fran, &again);
            assert!(triad.is_disjoint(&earlier[0]), "{triad:?}");
        }
        earlier.push(triad);
        finish(fran, members).await;
    }

    // Everyone has been in a triad: the fourth session's triad members repeat, and the proposal
    // says it is because everyone else has been in one as often.
    let (_room, mut fran, members) = session(&server, &series).await;
    fran.ok(Command::ProposePairs { seed: Some(40) }).await;
    let p = proposal(&fran);
    assert_eq!(
        triad_of(&fran, &p),
        earlier[0],
        "the longest ago goes first"
    );
    assert_eq!(p.repeats.triad.len(), 3, "{:?}", p.repeats);
    assert!(p
        .repeats
        .triad
        .iter()
        .all(|r| r.triads == 1 && r.why == TriadWhy::EveryoneHasBeen));
    let last = p.last_triad.clone().expect("last time's triad");
    assert_eq!(last.session, 2);
    assert_eq!(last.members.len(), 3);
    finish(fran, members).await;
    server.stop().await;
}

/// The participant id, in the facilitator's room, of the member `id`.
fn shown_id(fran: &Client, id: &str) -> u32 {
    fran.view
        .participants
        .iter()
        .find(|p| p.member.as_deref() == Some(id) && !p.removed)
        .map(|p| p.id)
        .expect("the member is here")
}
