//! What a link shows before anyone enters (`POST /api/rooms/{id}/preview`), over real HTTP:
//! besides the title, format, ground rules and status, the facilitator's name while one is
//! connected, and when the session started.

mod common;

use circlekeeper_protocol::{Command, Event, ParticipantChange, Presence, RoomCreated};
use common::{Remote, TestServer};
use serde_json::{json, Value};

/// The preview `key` opens, as JSON (must answer 200).
async fn preview(server: &Remote, room: &RoomCreated, key: &str) -> Value {
    let path = format!("/api/rooms/{}/preview", room.room_id);
    let body = json!({ "key": key }).to_string();
    let answer = server.http("POST", &path, body.as_bytes()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json
}

#[tokio::test]
async fn the_preview_names_the_connected_facilitator_and_the_start() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let before = preview(&server, &room, &room.join_key).await;
    assert_eq!(before["title"], "Tuesday set");
    assert_eq!(before["format"], "Coaching circle");
    assert_eq!(before["status"], "lobby");
    assert_eq!(before["facilitator"], Value::Null, "nobody is in yet");
    assert_eq!(before["started_at"], Value::Null);

    // A participant is no facilitator; Fran, from the host link, is.
    let mut ada = server.join(&room, "Ada").await;
    assert_eq!(
        preview(&server, &room, &room.join_key).await["facilitator"],
        Value::Null
    );
    let mut fran = server.host(&room, "Fran").await;
    assert_eq!(
        preview(&server, &room, &room.join_key).await["facilitator"],
        "Fran"
    );

    for c in [&mut fran, &mut ada] {
        c.ok(Command::AcceptGroundRules).await;
    }
    let started = fran.ok(Command::Start).await.server_time;
    let running = preview(&server, &room, &room.host_key).await;
    assert_eq!(running["status"], "running");
    assert_eq!(running["started_at"], json!(started));
    // The old fields are all still there.
    for field in ["title", "format", "ground_rules", "status"] {
        assert!(running.get(field).is_some(), "{field}");
    }

    // Once Fran's connection is gone, no facilitator is in the room.
    let fran_id = fran.you;
    fran.close().await;
    ada.expect_event(|e| {
        matches!(
            e,
            Event::ParticipantUpdated {
                participant,
                change: ParticipantChange::Presence,
            } if participant.id == fran_id && participant.presence == Presence::Away
        )
    })
    .await;
    assert_eq!(
        preview(&server, &room, &room.join_key).await["facilitator"],
        Value::Null
    );
}
