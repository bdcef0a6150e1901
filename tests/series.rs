//! A series of coaching swaps over real websockets: members enter every session with their
//! personal link, and the second session's pairing avoids the first session's partners.

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::collections::HashSet;

use circlekeeper_protocol::{close, Command, ErrorCode, RoomCreated, SeriesCreated};
use common::{Client, TestServer};
use serde_json::json;

/// Pair the room and return who met whom, by member id.
async fn pair(fran: &mut Client, seed: u64) -> HashSet<(String, String)> {
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(seed) }).await;
    fran.ok(Command::ConfirmPairs).await;
    let member = |id: u32| {
        fran.view
            .participants
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.member.clone())
            .expect("a member")
    };
    let mut met = HashSet::new();
    for g in &fran.view.pairs.groups {
        for (i, &a) in g.members.iter().enumerate() {
            for &b in &g.members[i + 1..] {
                let (a, b) = (member(a), member(b));
                met.insert(if a < b { (a, b) } else { (b, a) });
            }
        }
    }
    met
}

#[tokio::test]
async fn a_nine_person_swap_series_avoids_partners_switches_on_confirm_and_carries_commitments() {
    let server = TestServer::start().await;
    let names = [
        "Ada", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy",
    ];
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni swap", "cadence": "monthly", "cycle_months": 6, "members": names })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    assert_eq!(series.members.len(), 9);
    assert!(series.members[0]
        .url
        .contains(&format!("/s/{}#member=", series.series_id)));

    let (room1, mut fran, mut members) = server.series_session(&series).await;
    // The same member on a second device is the same participant, never a duplicate.
    let mut again = server.connect("Ada again").await;
    let welcome = again
        .enter(Command::Member {
            room: room1.room_id.clone(),
            series: series.series_id.clone(),
            key: series.members[0].key.clone(),
        })
        .await;
    assert_eq!(again.you, members[0].you, "{welcome:?}");
    fran.sync().await;
    assert_eq!(fran.view.participants.len(), 10);
    // A wrong key does not open it.
    let mut stranger = server.connect("Stranger").await;
    let refused = stranger
        .enter_refused(Command::Member {
            room: room1.room_id.clone(),
            series: series.series_id.clone(),
            key: "not-a-member-key".into(),
        })
        .await;
    assert_eq!(refused.code, ErrorCode::InvalidKey);
    assert_eq!(stranger.expect_close().await, Some(close::AUTH_FAILED));

    let first = pair(&mut fran, 1).await;
    assert_eq!(first.len(), 3 + 3, "three pairs and a triad");

    // In the pairs stage, a pair switches roles only when both confirm.
    fran.ok(Command::NextStage).await;
    for c in members.iter_mut() {
        c.catch_up(fran.seq).await;
    }
    let pair_group = fran
        .view
        .pairs
        .groups
        .iter()
        .find(|g| g.members.len() == 2)
        .cloned()
        .expect("a pair");
    let at = |id: u32| members.iter().position(|c| c.you == id).expect("member");
    let (coach, client) = (at(pair_group.coach), at(pair_group.client));
    members[coach].ok(Command::EndHalf { group: None }).await;
    members[client].ok(Command::ConfirmSwitch).await;
    fran.sync().await;
    let g = fran
        .view
        .pairs
        .groups
        .iter()
        .find(|g| g.id == pair_group.id)
        .expect("pair");
    assert_eq!(
        g.coach, pair_group.coach,
        "one confirmation does not switch"
    );
    members[coach].ok(Command::ConfirmSwitch).await;
    fran.sync().await;
    let g = fran
        .view
        .pairs
        .groups
        .iter()
        .find(|g| g.id == pair_group.id)
        .expect("pair");
    assert_eq!(
        (g.coach, g.client),
        (pair_group.client, pair_group.coach),
        "switched on both"
    );

    // Each member leaves with a commitment; the shared ones follow them to the next session.
    members[client]
        .ok(Command::RecordCommitment {
            text: "Book the first mentoring call".into(),
            due: None,
            visibility: circlekeeper_protocol::Visibility::Circle,
        })
        .await;
    fran.ok(Command::EndSession).await;
    for c in members.iter_mut() {
        c.sync().await;
    }

    // Next month: everyone is paired with someone new.
    let (_room2, mut fran2, _members2) = server.series_session(&series).await;
    let second = pair(&mut fran2, 1).await;
    let repeats: Vec<_> = second.intersection(&first).collect();
    assert!(repeats.is_empty(), "partners met again: {repeats:?}");
    let carried: Vec<&str> = fran2.view.carried.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        carried,
        ["Book the first mentoring call"],
        "session one's commitment is here"
    );

    // Only the host key opens a series room.
    let path = format!("/api/series/{}/rooms", series.series_id);
    let wrong = server.http("POST", &path, br#"{"key":"nope"}"#).await;
    assert_eq!(wrong.status, 403);
    let missing = server
        .http("POST", "/api/series/none/rooms", br#"{"key":"nope"}"#)
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn commitments_follow_members_to_the_next_session_and_private_ones_stay_private() {
    use circlekeeper_protocol::{AckResult, Outcome, Visibility};
    let server = TestServer::start().await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Pairs", "cadence": "biweekly", "cycle_months": 4, "members": ["Ada", "Ben", "Chen", "Dee"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    let (_room1, mut fran, mut m) = server.series_session(&series).await;
    pair(&mut fran, 2).await;
    fran.ok(Command::NextStage).await; // coaching in pairs
    for c in m.iter_mut() {
        c.catch_up(fran.seq).await;
    }
    let secret_text = "Leave the job by spring";
    let record = |text: &str, visibility| Command::RecordCommitment {
        text: envelope::as_sent(text, visibility),
        due: Some("2027-03-01".into()),
        visibility,
    };
    m[0].ok(record(secret_text, Visibility::Private)).await;
    m[1].ok(record("Ask the board for a mentor", Visibility::Circle))
        .await;
    m[2].ok(record("Write the grant draft", Visibility::Exportable))
        .await;
    fran.sync().await;
    assert_eq!(fran.view.commitments.len(), 2, "the shared two");
    for c in m.iter_mut().skip(1) {
        c.sync().await;
        let seen = serde_json::to_string(&c.log.iter().map(|s| &s.event).collect::<Vec<_>>())
            .expect("json");
        assert!(
            !seen.contains(secret_text),
            "{} saw a private commitment",
            c.name
        );
    }
    fran.ok(Command::EndSession).await;

    // The next session: shared commitments are carried into the check-in; Ada finds her
    // private one in her own items and says how it went, without anyone seeing it.
    let (_room2, mut fran2, mut m2) = server.series_session(&series).await;
    let carried: Vec<&str> = fran2.view.carried.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        carried,
        ["Ask the board for a mentor", "Write the grant draft"]
    );
    let mine = m2[0].ok(Command::MyItems).await;
    let Some(AckResult::Mine { mine }) = mine.result else {
        panic!("my items")
    };
    let private = mine
        .commitments
        .iter()
        .find(|c| envelope::opened(&c.text).as_deref() == Some(secret_text))
        .expect("Ada's own")
        .clone();
    fran2.sync().await;
    let seq = fran2.seq;
    m2[0]
        .ok(Command::ReviewCommitment {
            commitment: private.id,
            outcome: Outcome::Partly,
        })
        .await;
    fran2.assert_quiet_since(seq).await;
    let bens = fran2.view.carried[0].id.clone();
    m2[1]
        .ok(Command::ReviewCommitment {
            commitment: bens,
            outcome: Outcome::Kept,
        })
        .await;
    fran2.sync().await;
    assert_eq!(fran2.view.carried[0].outcome, Some(Outcome::Kept));
}

#[tokio::test]
async fn at_the_end_of_a_cycle_members_continue_together_are_rematched_or_leave() {
    let server = TestServer::start().await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Cycle", "cadence": "monthly", "cycle_months": 4, "members": ["Ada", "Ben", "Chen", "Dee", "Eli", "Fay", "Gus"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    let (room1, mut fran, _m) = server.series_session(&series).await;
    let first = pair(&mut fran, 3).await;
    fran.ok(Command::EndSession).await;

    // A member's link shows the series and its sessions.
    let me = |key: &str, choice: Option<&str>| {
        let mut body = json!({ "key": key });
        if let Some(c) = choice {
            body["choice"] = json!(c);
        }
        body.to_string()
    };
    let path = format!("/api/series/{}/me", series.series_id);
    let view = server
        .http("POST", &path, me(&series.members[0].key, None).as_bytes())
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.json["name"], "Ada");
    assert_eq!(view.json["rooms"], json!([room1.room_id]));
    let wrong = server
        .http("POST", &path, me("nope", None).as_bytes())
        .await;
    assert_eq!(wrong.status, 403);

    // A pair who both choose to continue stays together; someone who ends cannot enter.
    let (a, b) = first.iter().next().cloned().expect("a pair");
    let key_of = |id: &str| {
        series
            .members
            .iter()
            .find(|m| m.member_id == id)
            .expect("member")
            .key
            .clone()
    };
    for id in [&a, &b] {
        let answer = server
            .http("POST", &path, me(&key_of(id), Some("continue")).as_bytes())
            .await;
        assert_eq!(answer.json["choice"], "continue");
    }
    let leaver = series
        .members
        .iter()
        .find(|m| m.member_id != a && m.member_id != b)
        .expect("someone else")
        .clone();
    server
        .http("POST", &path, me(&leaver.key, Some("end")).as_bytes())
        .await;

    let answer = server
        .http(
            "POST",
            &format!("/api/series/{}/rooms", series.series_id),
            json!({ "key": series.host_key }).to_string().as_bytes(),
        )
        .await;
    let room2: RoomCreated = serde_json::from_value(answer.json).expect("a room");
    let mut gone = server.connect("Leaver").await;
    let refused = gone
        .enter_refused(Command::Member {
            room: room2.room_id.clone(),
            series: series.series_id.clone(),
            key: leaver.key.clone(),
        })
        .await;
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let mut fran2 = server.host(&room2, "Fran").await;
    fran2.ok(Command::AcceptGroundRules).await;
    let mut present = Vec::new();
    for m in series
        .members
        .iter()
        .filter(|m| m.member_id != leaver.member_id)
    {
        let mut c = server.connect(&m.name).await;
        c.enter(Command::Member {
            room: room2.room_id.clone(),
            series: series.series_id.clone(),
            key: m.key.clone(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        present.push(c);
    }
    fran2.sync().await;
    let second = pair(&mut fran2, 3).await;
    assert!(
        second.contains(&(a.clone(), b.clone())),
        "the continuing pair is kept: {second:?}"
    );
}

#[tokio::test]
async fn prefer_not_to_be_paired_with_is_respected_and_planned_dates_are_kept() {
    let server = TestServer::start().await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Avoid", "cadence": "custom", "cycle_months": 6, "members": ["Ada", "Ben", "Chen", "Dee"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    let path = format!("/api/series/{}/me", series.series_id);
    let (ada, ben) = (&series.members[0], &series.members[1]);
    let body = json!({ "key": ada.key, "avoid": [ben.member_id], "planned": ["2027-02-03", "2027-03-03"] });
    let answer = server
        .http("POST", &path, body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["avoid"], json!([ben.member_id]));
    assert_eq!(answer.json["planned"], json!(["2027-02-03", "2027-03-03"]));
    let bad = json!({ "key": ada.key, "planned": ["next week"] });
    assert_eq!(
        server
            .http("POST", &path, bad.to_string().as_bytes())
            .await
            .status,
        400
    );

    let (_room, mut fran, _m) = server.series_session(&series).await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    let member_of = |fran: &Client, id: u32| {
        fran.view
            .participants
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.member.clone())
            .expect("member")
    };
    for seed in 0..8 {
        fran.ok(Command::ProposePairs { seed: Some(seed) }).await;
        let proposal = fran.view.pairs.proposal.clone().expect("proposal");
        for g in &proposal.groups {
            let members: Vec<String> = g.iter().map(|&id| member_of(&fran, id)).collect();
            assert!(
                !(members.contains(&ada.member_id) && members.contains(&ben.member_id)),
                "seed {seed}: Ada was paired with Ben whom she prefers not to be paired with"
            );
        }
    }
}

#[tokio::test]
async fn a_member_who_chose_to_end_is_refused_at_once_in_a_room_opened_before() {
    let server = TestServer::start().await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Swap", "cadence": "monthly", "cycle_months": 6, "members": ["Ada", "Ben"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    let path = format!("/api/series/{}/rooms", series.series_id);
    let body = json!({ "key": series.host_key }).to_string();
    let opened = server.http("POST", &path, body.as_bytes()).await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let room: RoomCreated = serde_json::from_value(opened.json).expect("a room");
    // Ada leaves the series after the room was opened.
    let me = format!("/api/series/{}/me", series.series_id);
    let body = json!({ "key": series.members[0].key, "choice": "end" }).to_string();
    let chose = server.http("POST", &me, body.as_bytes()).await;
    assert_eq!(chose.status, 200, "{}", chose.text);
    let mut ada = server.connect("Ada").await;
    let refused = ada
        .enter_refused(Command::Member {
            room: room.room_id.clone(),
            series: series.series_id.clone(),
            key: series.members[0].key.clone(),
        })
        .await;
    assert_eq!(refused.code, ErrorCode::Forbidden);
    // Ben has not left: he enters.
    let mut ben = server.connect("Ben").await;
    ben.enter(Command::Member {
        room: room.room_id.clone(),
        series: series.series_id.clone(),
        key: series.members[1].key.clone(),
    })
    .await;
}

#[tokio::test]
async fn a_member_name_that_would_turn_the_text_around_is_refused() {
    let server = TestServer::start().await;
    let body = json!({ "title": "Swap", "cadence": "monthly", "cycle_months": 6,
                       "members": ["Ada", "Ben\u{202E}nimda"] });
    let answer = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json["code"], "invalid_text");
    assert!(answer.text.contains("members[1]"), "{}", answer.text);
}
