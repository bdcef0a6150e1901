//! A room opened on one node and not entered yet holds only what it was opened with; its
//! actor starts at its first request. Over real sockets: such a room counts as live, answers
//! its preview, starts exactly as it was opened, and goes with its series when the series is
//! deleted before anyone entered it.

mod common;

use circlekeeper_protocol::{Command, ErrorCode};
use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn a_room_nobody_entered_yet_is_live_and_starts_as_it_was_opened() {
    let server = TestServer::start().await;
    let room = server
        .create_room(json!({
            "title": "Thursday set",
            "format": "coaching_circle",
            "options": { "ground_rules": "What is said here stays here." },
        }))
        .await;
    assert_eq!(
        server.state.room_count(),
        1,
        "counted as live before any entry"
    );

    let path = format!("/api/rooms/{}/preview", room.room_id);
    let body = json!({ "key": room.join_key }).to_string();
    let preview = server.http("POST", &path, body.as_bytes()).await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.json["title"], "Thursday set");

    let mut fran = server.host(&room, "Fran").await;
    assert_eq!(fran.view.title, "Thursday set");
    assert_eq!(fran.view.ground_rules, "What is said here stays here.");
    assert_eq!(fran.view.format, "Coaching circle");
    assert_eq!(server.state.room_count(), 1, "one actor, not a second room");
    fran.ok(Command::AcceptGroundRules).await;

    // Everyone who comes next reaches the same actor.
    let ada = server.join(&room, "Ada").await;
    assert_eq!(ada.view.participants.len(), 2);
    fran.drain().await;
    assert_eq!(fran.view.participants.len(), 2, "Fran saw Ada arrive");
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_series_takes_the_session_room_nobody_entered() {
    let server = TestServer::start().await;
    let series = server.create_series("Alumni circle", &["Ada", "Ben"]).await;
    let path = format!("/api/series/{}/rooms", series.series_id);
    let body = json!({ "key": series.host_key }).to_string();
    let opened = server.http("POST", &path, body.as_bytes()).await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let room_id = opened.json["room_id"]
        .as_str()
        .expect("a room id")
        .to_string();
    let host_key = opened.json["host_key"].as_str().expect("a key").to_string();
    assert_eq!(server.state.room_count(), 1);

    let path = format!("/api/series/{}/delete", series.series_id);
    let deleted = server.http("POST", &path, body.as_bytes()).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(
        server.state.room_count(),
        0,
        "the room went with its series"
    );

    let mut fran = server.connect("Fran").await;
    let refused = fran
        .enter_refused(Command::Host {
            room: room_id,
            key: host_key,
            name: "Fran".into(),
        })
        .await;
    assert_eq!(refused.code, ErrorCode::RoomNotFound, "{}", refused.message);
    server.stop().await;
}
