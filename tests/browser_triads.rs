//! The facilitator's pairing view in a real headless Chromium shows what a proposal repeats:
//! in a five-member series' second session, the proposal's repeat count, the triad member who
//! repeats (with why) and who was in the triad last time, as the server reported them.
//!
//! Without Chromium the test says plainly that it was skipped, and why; under CI (`CI` set) a
//! missing browser fails it instead.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{chromium, Browser};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, RoomCreated, SeriesCreated};
use common::{Client, TestServer};
use serde_json::json;

/// Open the series' next room: its answer, the host on a websocket, and every member in.
async fn session(
    server: &TestServer,
    series: &SeriesCreated,
) -> (RoomCreated, Client, Vec<Client>) {
    let path = format!("/api/series/{}/rooms", series.series_id);
    let answer = server
        .http(
            "POST",
            &path,
            json!({ "key": series.host_key }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let room: RoomCreated = serde_json::from_value(answer.json).expect("a room");
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut members = Vec::new();
    for m in &series.members {
        let mut c = server.connect(&m.name).await;
        c.enter(Command::Member {
            room: room.room_id.clone(),
            series: series.series_id.clone(),
            key: m.key.clone(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        members.push(c);
    }
    (room, fran, members)
}

#[tokio::test]
async fn the_pairing_view_shows_a_proposals_repeats_and_last_triad() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let names = ["Ada", "Ben", "Chen", "Dee", "Eli"];
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

    // The first session: a triad and a pair, confirmed.
    let (_, mut fran, members) = session(&server, &series).await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(3) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::EndSession).await;
    for mut c in members {
        c.sync().await;
        c.close().await;
    }
    fran.close().await;

    // The second: the facilitator's console in the browser, the others on websockets.
    let (room, mut fran, _members) = session(&server, &series).await;
    let browser = Browser::launch(&path).await;
    let lead = browser.page("Lead", 1280, 900, false).await;
    lead.enter_room(&room.host_url, "Lead").await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(4) }).await;
    let proposal = fran.view.pairs.proposal.clone().expect("a proposal");
    let count = proposal.repeats.count();
    // Five people twice: some two of them meet again, and someone is in a triad again.
    assert!(count > 0, "{:?}", proposal.repeats);
    assert_eq!(proposal.repeats.triad.len(), 1, "{:?}", proposal.repeats);
    lead.wait_for(
        &format!(
            "visible($('proposal-repeats')) && $('proposal-repeats').dataset.count === '{count}'"
        ),
        "the proposal's repeat count",
    )
    .await;
    let shown = lead.text("proposal-repeats").await;
    assert!(
        shown.contains(&count.to_string()) && shown.contains("repeat"),
        "{shown}"
    );
    let repeat = &proposal.repeats.triad[0];
    let name = fran.participant(repeat.participant).name.clone();
    let line = lead.text("triad-repeat").await;
    assert!(
        line.contains(&name) && line.contains("everyone else here has been in one as often"),
        "{line}"
    );
    let last = lead.text("last-triad").await;
    let last_triad = proposal.last_triad.expect("last time's triad");
    assert_eq!(last_triad.members.len(), 3);
    for id in last_triad.members {
        let who = fran.participant(id).name.clone();
        assert!(last.contains(&who), "{last} lacks {who}");
    }
    assert!(last.contains("session 1"), "{last}");
}
