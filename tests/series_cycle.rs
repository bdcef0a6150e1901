//! The end of a cycle, over real websockets: the series asks each member (on their page) to
//! continue, rematch or stop once a cycle's last session is open, keeps every answer per cycle,
//! and pairing follows the answers: a triad whose three members continue stays a triad, a pair
//! who continue stays a pair, and a member who stops is kept out.

mod common;

use std::collections::HashSet;

use circlekeeper_protocol::{Command, ErrorCode, RoomCreated, SeriesCreated};
use common::{Client, HttpResponse, TestServer};
use serde_json::{json, Value};

async fn open_series(server: &TestServer, names: &[&str]) -> SeriesCreated {
    let body = json!({ "title": "Monthly peers", "cadence": "monthly", "cycle_months": 1, "members": names });
    let answer = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a series")
}

async fn next_session(server: &TestServer, series: &SeriesCreated) -> (RoomCreated, Client) {
    let path = format!("/api/series/{}/rooms", series.series_id);
    let body = json!({ "key": series.host_key }).to_string();
    let answer = server.http("POST", &path, body.as_bytes()).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let room: RoomCreated = serde_json::from_value(answer.json).expect("a room");
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    (room, fran)
}

/// Every member whose key is in `keys` enters and accepts the ground rules.
async fn enter_all(
    server: &TestServer,
    room: &RoomCreated,
    series: &SeriesCreated,
    keys: &[&str],
) -> Vec<Client> {
    let mut out = Vec::new();
    for key in keys {
        let mut c = server.connect("Member").await;
        c.enter(Command::Member {
            room: room.room_id.clone(),
            series: series.series_id.clone(),
            key: key.to_string(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        out.push(c);
    }
    out
}

/// The confirmed groups, as sorted sets of member ids.
async fn pair(fran: &mut Client, seed: u64) -> HashSet<Vec<String>> {
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(seed) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.view
        .pairs
        .groups
        .iter()
        .map(|g| {
            let mut ids: Vec<String> = g
                .members
                .iter()
                .map(|&m| fran.participant(m).member.clone().expect("a member"))
                .collect();
            ids.sort();
            ids
        })
        .collect()
}

async fn me(server: &TestServer, series: &SeriesCreated, body: Value) -> HttpResponse {
    let path = format!("/api/series/{}/me", series.series_id);
    server
        .http("POST", &path, body.to_string().as_bytes())
        .await
}

#[tokio::test]
async fn the_end_of_a_cycle_asks_each_member_and_pairing_follows_the_answers() {
    let server = TestServer::start().await;
    let series = open_series(&server, &["Ana", "Ben", "Cy", "Dee", "Eve"]).await;
    let keys: Vec<&str> = series.members.iter().map(|m| m.key.as_str()).collect();

    // Before any session: cycle 1, nothing asked.
    let page = me(&server, &series, json!({ "key": keys[0] })).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        page.json["cycle"],
        json!({ "current": 1, "sessions_per_cycle": 1, "sessions_done": 0, "asking": null, "previous": [] })
    );

    // A one-month cycle: its one session is open, so the series asks.
    let (room, mut fran) = next_session(&server, &series).await;
    let _here = enter_all(&server, &room, &series, &keys).await;
    let first = pair(&mut fran, 5).await;
    let triad = first
        .iter()
        .find(|g| g.len() == 3)
        .cloned()
        .expect("five people make a triad");
    let page = me(&server, &series, json!({ "key": keys[0] })).await;
    assert_eq!(page.json["cycle"]["asking"], 1);
    assert_eq!(page.json["cycle"]["current"], 2);

    // Everyone continues: nobody is asked any more, and the answer is kept for cycle 1.
    for key in &keys {
        let answer = me(
            &server,
            &series,
            json!({ "key": key, "choice": "continue" }),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["cycle"]["asking"], Value::Null);
        assert_eq!(answer.json["cycle"]["previous"], json!([[1, "continue"]]));
    }

    // The next session keeps the triad whole and the pair together, whatever the history says.
    let (room2, mut fran2) = next_session(&server, &series).await;
    let _here2 = enter_all(&server, &room2, &series, &keys).await;
    let second = pair(&mut fran2, 9).await;
    assert_eq!(second, first, "a continuing triad stays a triad");
    assert!(second.contains(&triad));

    // Cycle 2 has ended: asked again, reminded of the earlier answer. One of the triad
    // stops, another rematches, and so does one of the pair.
    let page = me(&server, &series, json!({ "key": keys[0] })).await;
    assert_eq!(page.json["cycle"]["asking"], 2);
    assert_eq!(page.json["cycle"]["previous"], json!([[1, "continue"]]));
    let who = |id: &str| {
        series
            .members
            .iter()
            .position(|m| m.member_id == id)
            .expect("a member")
    };
    let stopper = who(&triad[0]);
    let rematcher = who(&triad[1]);
    let stopped = me(
        &server,
        &series,
        json!({ "key": keys[stopper], "choice": "end" }),
    )
    .await;
    assert_eq!(
        stopped.json["cycle"]["previous"],
        json!([[1, "continue"], [2, "end"]])
    );
    me(
        &server,
        &series,
        json!({ "key": keys[rematcher], "choice": "rematch" }),
    )
    .await;
    let pair_before = first.iter().find(|g| g.len() == 2).expect("a pair").clone();
    let pair_rematcher = who(&pair_before[0]);
    me(
        &server,
        &series,
        json!({ "key": keys[pair_rematcher], "choice": "rematch" }),
    )
    .await;

    let (room3, mut fran3) = next_session(&server, &series).await;
    let mut gone = server.connect("Gone").await;
    let refused = gone
        .enter_refused(Command::Member {
            room: room3.room_id.clone(),
            series: series.series_id.clone(),
            key: keys[stopper].to_string(),
        })
        .await;
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let staying: Vec<&str> = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != stopper)
        .map(|(_, k)| *k)
        .collect();
    let _here3 = enter_all(&server, &room3, &series, &staying).await;
    let third = pair(&mut fran3, 2).await;
    let rematch_id = &series.members[rematcher].member_id;
    let last_partner = &triad[2];
    assert!(
        !third
            .iter()
            .any(|g| g.contains(rematch_id) && g.contains(last_partner)),
        "a rematch avoids the last partner: {third:?}"
    );
    assert!(!third.contains(&pair_before), "{third:?}");

    // A bad choice is refused with its code, and changes nothing.
    let bad = me(
        &server,
        &series,
        json!({ "key": keys[0], "choice": "pause" }),
    )
    .await;
    assert_eq!(
        (bad.status, bad.json["code"].as_str()),
        (400, Some("invalid_message"))
    );
}
