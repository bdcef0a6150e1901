//! Display names that read the same as someone else's in the room (`name_taken`), over real
//! sockets: the refusal, a room that stays as it was, and a person coming back under their own
//! name.

mod common;

use circlekeeper_protocol::{Command, ErrorCode, Event};
use common::{checkout_room, TestServer};
use serde_json::json;

#[tokio::test]
async fn a_join_under_a_name_already_in_the_room_is_refused_and_the_room_is_unchanged() {
    let server = TestServer::start().await;
    let room = server.create_room(checkout_room("Names")).await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ana = server.join(&room, "Ana").await;
    fran.sync().await;
    let seq = fran.seq;

    let mut late = server.connect("Late").await;
    for same in ["ANA", " ana ", "Ａｎａ", "fran"] {
        let refused = late
            .enter_refused(Command::Join {
                room: room.room_id.clone(),
                key: room.join_key.clone(),
                name: same.into(),
                guest: None,
            })
            .await;
        assert_eq!(refused.code, ErrorCode::NameTaken, "{same:?}");
        assert!(
            refused.message.contains("already goes by that name"),
            "{}",
            refused.message
        );
    }
    // Nothing happened in the room: Fran hears of no one.
    fran.assert_quiet_since(seq).await;
    assert_eq!(fran.view.participants.len(), 2);

    // The same connection may then join under another name.
    late.enter(Command::Join {
        room: room.room_id.clone(),
        key: room.join_key.clone(),
        name: "Ana B.".into(),
        guest: None,
    })
    .await;
    fran.expect_event(
        |e| matches!(e, Event::ParticipantJoined { participant } if participant.name == "Ana B."),
    )
    .await;

    // Ana comes back with her token: her own name does not stand in her way.
    ana.reconnect(&server).await;
    ana.ok(Command::AcceptGroundRules).await;
    server.stop().await;
}

#[tokio::test]
async fn a_series_whose_members_read_the_same_is_refused() {
    let server = TestServer::start().await;
    let body = json!({
        "title": "Twins", "cadence": "monthly", "cycle_months": 6,
        "members": ["Ana", "Ben", " ANA "],
    });
    let answer = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(answer.json["code"], "name_taken", "{}", answer.text);
    let message = answer.json["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("members[2]") && message.contains("members[0]"),
        "{message}"
    );
    server.stop().await;
}
