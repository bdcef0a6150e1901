//! Membership over time, over real websockets: the series host adds members to a running
//! series, removes and pauses them, and makes a returning guest a member keeping their history;
//! a guest whose device kept the series guest key is the same person to pairing next month.

mod common;

use std::collections::HashSet;

use circlekeeper_protocol::{Command, ErrorCode, RoomCreated, SeriesCreated, Visibility};
use common::{Client, HttpResponse, TestServer};
use serde_json::{json, Value};

/// A monthly series of `names`.
async fn open_series(server: &TestServer, names: &[&str], cycle_months: u8) -> SeriesCreated {
    let body = json!({ "title": "Peer circle", "cadence": "monthly", "cycle_months": cycle_months, "members": names });
    let answer = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a series")
}

/// The series' next session, with its facilitator in and ready.
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

/// A member enters with their personal key and accepts the ground rules.
async fn member(server: &TestServer, room: &RoomCreated, series: &str, key: &str) -> Client {
    let mut c = server.connect("Member").await;
    c.enter(Command::Member {
        room: room.room_id.clone(),
        series: series.into(),
        key: key.into(),
    })
    .await;
    c.ok(Command::AcceptGroundRules).await;
    c
}

/// A guest joins with the room's join link (and the series guest key their device kept).
async fn guest(server: &TestServer, room: &RoomCreated, name: &str, key: Option<&str>) -> Client {
    let mut c = server.connect(name).await;
    c.enter(Command::Join {
        room: room.room_id.clone(),
        key: room.join_key.clone(),
        name: name.into(),
        guest: key.map(str::to_string),
    })
    .await;
    c.ok(Command::AcceptGroundRules).await;
    c
}

/// Start, go to the pairs stage, propose and confirm: the groups, each as the ids pairing knows
/// its people by (member id, or guest id).
async fn pair(fran: &mut Client) -> Vec<Vec<String>> {
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(3) }).await;
    fran.ok(Command::ConfirmPairs).await;
    let person = |id: u32| {
        let p = fran.participant(id);
        p.member
            .clone()
            .or(p.guest.clone())
            .expect("a known person")
    };
    fran.view
        .pairs
        .groups
        .iter()
        .map(|g| g.members.iter().map(|&m| person(m)).collect())
        .collect()
}

/// Every two people who were in a group together.
fn met(groups: &[Vec<String>]) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for g in groups {
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                out.insert(if a < b {
                    (a.clone(), b.clone())
                } else {
                    (b.clone(), a.clone())
                });
            }
        }
    }
    out
}

/// `POST /api/series/{id}/members` with `body`.
async fn members(server: &TestServer, series: &SeriesCreated, body: Value) -> HttpResponse {
    let path = format!("/api/series/{}/members", series.series_id);
    server
        .http("POST", &path, body.to_string().as_bytes())
        .await
}

/// `POST /api/series/{id}/me` with `key`.
async fn me(server: &TestServer, series: &SeriesCreated, key: &str) -> HttpResponse {
    let path = format!("/api/series/{}/me", series.series_id);
    let body = json!({ "key": key }).to_string();
    server.http("POST", &path, body.as_bytes()).await
}

fn code(answer: &HttpResponse) -> &str {
    answer.json["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_member_added_mid_series_is_paired_at_the_next_session() {
    let server = TestServer::start().await;
    let series = open_series(&server, &["Ana", "Ben", "Cy", "Dee"], 6).await;
    let (room, mut fran) = next_session(&server, &series).await;
    let mut people = Vec::new();
    for m in &series.members {
        people.push(member(&server, &room, &series.series_id, &m.key).await);
    }
    let first = pair(&mut fran).await;
    assert_eq!(first.len(), 2);

    let added = members(
        &server,
        &series,
        json!({ "key": series.host_key, "action": "add", "names": ["Eve"] }),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text);
    assert_eq!(added.json["links"][0]["member_id"], "m5");
    assert_eq!(added.json["members"][4]["status"], "active");
    let eve_key = added.json["links"][0]["key"]
        .as_str()
        .expect("a key")
        .to_string();
    let url = added.json["links"][0]["url"].as_str().expect("a url");
    assert!(url.ends_with(&format!("/s/{}#member={eve_key}", series.series_id)));
    // Her page opens at once; the room already open does not know her yet.
    assert_eq!(me(&server, &series, &eve_key).await.status, 200);

    let (room2, mut fran2) = next_session(&server, &series).await;
    let mut eve = member(&server, &room2, &series.series_id, &eve_key).await;
    assert_eq!(
        Some(eve.participant(eve.you).member.clone()),
        Some(Some("m5".into()))
    );
    for m in &series.members {
        people.push(member(&server, &room2, &series.series_id, &m.key).await);
    }
    let second = pair(&mut fran2).await;
    assert!(
        second.iter().any(|g| g.contains(&"m5".to_string())),
        "{second:?}"
    );
    assert!(
        met(&second).is_disjoint(&met(&first)),
        "{first:?} {second:?}"
    );
    eve.sync().await;

    // Refusals: the wrong key, a name taken, a missing field, an unknown series.
    let wrong = members(&server, &series, json!({ "key": "nope", "action": "list" })).await;
    assert_eq!((wrong.status, code(&wrong)), (403, "invalid_key"));
    let taken = members(
        &server,
        &series,
        json!({ "key": series.host_key, "action": "add", "names": ["eve"] }),
    )
    .await;
    assert_eq!((taken.status, code(&taken)), (409, "name_taken"));
    let missing = members(
        &server,
        &series,
        json!({ "key": series.host_key, "action": "add" }),
    )
    .await;
    assert_eq!((missing.status, code(&missing)), (400, "invalid_message"));
    let unknown_action = members(
        &server,
        &series,
        json!({ "key": series.host_key, "action": "promote" }),
    )
    .await;
    assert_eq!(
        (unknown_action.status, code(&unknown_action)),
        (400, "invalid_message")
    );
    let nowhere = server
        .http(
            "POST",
            "/api/series/none/members",
            br#"{"key":"k","action":"list"}"#,
        )
        .await;
    assert_eq!((nowhere.status, code(&nowhere)), (404, "room_not_found"));
}

#[tokio::test]
async fn a_removed_member_is_kept_out_and_a_paused_one_keeps_their_link() {
    let server = TestServer::start().await;
    let series = open_series(&server, &["Ana", "Ben", "Cy"], 6).await;
    let host = series.host_key.clone();
    let act =
        |action: &str, member: &str| json!({ "key": host, "action": action, "member": member });

    // Ben's calendar address, from before he is removed.
    let ben_page = me(&server, &series, &series.members[1].key).await;
    let feed = format!(
        "/api/series/{}/calendar/{}.ics",
        series.series_id,
        ben_page.json["calendar_feed"]["feed_key"]
            .as_str()
            .expect("a feed key")
    );
    assert_eq!(server.http("GET", &feed, b"").await.status, 200);

    let removed = members(&server, &series, act("remove", "m2")).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    // His calendar stops with his link.
    let gone = server.http("GET", &feed, b"").await;
    assert_eq!((gone.status, code(&gone)), (403, "invalid_key"));
    assert_eq!(removed.json["members"][1]["status"], "removed");
    let twice = members(&server, &series, act("remove", "m2")).await;
    assert_eq!((twice.status, code(&twice)), (409, "invalid_state"));
    let unknown = members(&server, &series, act("remove", "m9")).await;
    assert_eq!(
        (unknown.status, code(&unknown)),
        (400, "unknown_participant")
    );
    let page = me(&server, &series, &series.members[1].key).await;
    assert_eq!((page.status, code(&page)), (403, "forbidden"));
    // Nobody else sees them among the members to avoid.
    let ana = me(&server, &series, &series.members[0].key).await;
    assert_eq!(ana.json["others"], json!([["m3", "Cy"]]));

    let paused = members(&server, &series, act("pause", "m3")).await;
    assert_eq!(paused.json["members"][2]["status"], "paused");
    let again = members(&server, &series, act("pause", "m3")).await;
    assert_eq!((again.status, code(&again)), (409, "invalid_state"));
    let pause_removed = members(&server, &series, act("pause", "m2")).await;
    assert_eq!(code(&pause_removed), "invalid_state");
    assert_eq!(
        me(&server, &series, &series.members[2].key).await.status,
        200
    );

    let (room, mut fran) = next_session(&server, &series).await;
    let mut ben = server.connect("Ben").await;
    let refused = ben
        .enter_refused(Command::Member {
            room: room.room_id.clone(),
            series: series.series_id.clone(),
            key: series.members[1].key.clone(),
        })
        .await;
    assert_eq!(refused.code, ErrorCode::Forbidden);
    // A paused member who comes anyway is let in.
    let cy = member(&server, &room, &series.series_id, &series.members[2].key).await;
    assert_eq!(cy.participant(cy.you).member.clone().as_deref(), Some("m3"));
    fran.sync().await;

    let unpaused = members(&server, &series, act("unpause", "m3")).await;
    assert_eq!(unpaused.json["members"][2]["status"], "active");
    let not_paused = members(&server, &series, act("unpause", "m3")).await;
    assert_eq!(
        (not_paused.status, code(&not_paused)),
        (409, "invalid_state")
    );
    let no_member = members(&server, &series, json!({ "key": host, "action": "pause" })).await;
    assert_eq!(
        (no_member.status, no_member.json["message"].as_str()),
        (400, Some("member: required for \"pause\""))
    );
    let list = members(&server, &series, json!({ "key": host, "action": "list" })).await;
    assert_eq!(list.json["links"], json!([]));
    assert_eq!(list.json["members"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn a_returning_guest_is_the_same_person_and_keeps_their_history_as_a_member() {
    let store = circlekeeper::store::SledStore::temporary().expect("store");
    let server = TestServer::start_with(
        std::sync::Arc::new(store),
        circlekeeper::Clock::System,
        |s| s.host_key = Some("community-host-key".into()),
    )
    .await;
    let series = open_series(&server, &["Ana", "Ben", "Cy"], 6).await;

    // Month one: three members and a guest.
    let (room, mut fran) = next_session(&server, &series).await;
    let mut here = Vec::new();
    for m in &series.members {
        here.push(member(&server, &room, &series.series_id, &m.key).await);
    }
    let mut gil = guest(&server, &room, "Gil", None).await;
    let gil_key = gil.guest_key.clone().expect("a series guest key");
    assert_eq!(
        gil.participant(gil.you).guest.clone().as_deref(),
        Some("g1")
    );
    let first = pair(&mut fran).await;
    fran.ok(Command::NextStage).await;
    gil.catch_up(fran.seq).await;
    gil.ok(Command::RecordCommitment {
        text: "Write to my mentor".into(),
        due: None,
        visibility: Visibility::Circle,
    })
    .await;
    let commitment = gil.view.commitments[0].clone();
    assert_eq!(commitment.member.as_deref(), Some("g1"));
    fran.ok(Command::EndSession).await;

    // Month two: the guest comes back with the key their device kept.
    let (room2, mut fran2) = next_session(&server, &series).await;
    let mut here = Vec::new();
    for m in &series.members {
        here.push(member(&server, &room2, &series.series_id, &m.key).await);
    }
    let mut gil2 = guest(&server, &room2, "Gil", Some(&gil_key)).await;
    assert_eq!(gil2.guest_key, None, "a known guest keeps their key");
    assert_eq!(
        gil2.participant(gil2.you).guest.clone().as_deref(),
        Some("g1")
    );
    let carried: Vec<&str> = gil2.view.carried.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(carried, ["Write to my mentor"]);
    // The same key on a second device is the same participant.
    let mut gil_phone = server.connect("Gil phone").await;
    gil_phone
        .enter(Command::Join {
            room: room2.room_id.clone(),
            key: room2.join_key.clone(),
            name: "Gil on the phone".into(),
            guest: Some(gil_key.clone()),
        })
        .await;
    assert_eq!(gil_phone.you, gil2.you);
    let second = pair(&mut fran2).await;
    assert!(
        met(&second).is_disjoint(&met(&first)),
        "{first:?} {second:?}"
    );
    gil2.sync().await;
    fran2.ok(Command::EndSession).await;

    // The host makes Gil a member: his meetings and commitments are the member's now.
    let host = series.host_key.clone();
    let list = members(&server, &series, json!({ "key": host, "action": "list" })).await;
    assert_eq!(list.json["guests"][0]["guest_id"], "g1");
    assert_eq!(
        list.json["guests"][0]["name"], "Gil on the phone",
        "as they entered last"
    );
    let converted = members(
        &server,
        &series,
        json!({ "key": host, "action": "convert", "guest": "g1", "name": "Gil Brown" }),
    )
    .await;
    assert_eq!(converted.status, 200, "{}", converted.text);
    assert_eq!(converted.json["links"][0]["member_id"], "m4");
    assert_eq!(converted.json["links"][0]["name"], "Gil Brown");
    assert_eq!(converted.json["guests"][0]["member_id"], "m4");
    let again = members(
        &server,
        &series,
        json!({ "key": host, "action": "convert", "guest": "g1" }),
    )
    .await;
    assert_eq!((again.status, code(&again)), (409, "invalid_state"));
    let unknown = members(
        &server,
        &series,
        json!({ "key": host, "action": "convert", "guest": "g9" }),
    )
    .await;
    assert_eq!(
        (unknown.status, code(&unknown)),
        (400, "unknown_participant")
    );
    // The series report shows one person, who came to both sessions, and his meetings.
    let path = format!("/api/host/series/{}/report", series.series_id);
    let key = json!({ "key": "community-host-key" }).to_string();
    let report = server.http("POST", &path, key.as_bytes()).await;
    assert_eq!(report.status, 200, "{}", report.text);
    let gil_row = report.json["members"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == "Gil Brown"))
        .cloned()
        .expect("Gil's row");
    assert_eq!(gil_row["by_session"], json!([true, true]), "{gil_row}");
    assert_eq!(gil_row["attended"], 2);
    let met_gil: u64 = report.json["pairing_matrix"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| r[0] == "Gil Brown" || r[1] == "Gil Brown")
                .filter_map(|r| r[2].as_u64())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(met_gil, 2, "one partner a month, under his member name");
    let gil_member = converted.json["links"][0]["key"]
        .as_str()
        .expect("a key")
        .to_string();

    // Month three: Gil comes with his member link; his commitment and partners followed him.
    let (room3, mut fran3) = next_session(&server, &series).await;
    let mut here = Vec::new();
    for m in &series.members {
        here.push(member(&server, &room3, &series.series_id, &m.key).await);
    }
    let mut gil3 = member(&server, &room3, &series.series_id, &gil_member).await;
    let mine = gil3.ok(Command::MyItems).await;
    let text = serde_json::to_string(&mine.result).expect("json");
    assert!(text.contains("Write to my mentor"), "{text}");
    assert!(text.contains("\"member\":\"m4\""), "{text}");
    let third = pair(&mut fran3).await;
    let before: HashSet<(String, String)> = met(&first)
        .union(&met(&second))
        .map(|(a, b)| {
            let m = |x: &String| {
                if x == "g1" {
                    "m4".to_string()
                } else {
                    x.clone()
                }
            };
            let (a, b) = (m(a), m(b));
            if a < b {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect();
    assert!(
        third.iter().any(|g| g.contains(&"m4".to_string())),
        "{third:?}"
    );
    // With four people and three possible arrangements, the third month meets nobody again.
    assert!(met(&third).is_disjoint(&before), "{before:?} {third:?}");
    gil3.sync().await;
}
