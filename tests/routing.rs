//! The room in the websocket URL (`/ws?v=1&room=ID`), which a proxy in front of several nodes
//! routes by: a first frame for that room is served, one for another room is refused with
//! `invalid_message` and close 4003, and a URL without a room still works (protocol v1).

mod common;

use circlekeeper_protocol::{close, Command, ErrorCode, Event, RoomCreated, PROTOCOL_VERSION};
use std::sync::Arc;

use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use common::{join_with, TestServer, EPOCH};

/// The websocket path for `room`.
fn for_room(room: &RoomCreated) -> String {
    format!("/ws?v={PROTOCOL_VERSION}&room={}", room.room_id)
}

fn join(room: &RoomCreated, name: &str) -> Command {
    Command::Join {
        room: room.room_id.clone(),
        key: room.join_key.clone(),
        name: name.into(),
        guest: None,
    }
}

#[tokio::test]
async fn a_first_frame_for_the_urls_room_is_welcomed() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut host = server.connect_to("Fatima", &for_room(&room)).await;
    host.enter(Command::Host {
        room: room.room_id.clone(),
        key: room.host_key.clone(),
        name: "Fatima".into(),
    })
    .await;
    let ada = server.connect_to("Ada", &for_room(&room)).await;
    let mut ada = join_with(ada, &room).await;
    let ada_id = ada.you;
    host.expect_event(|e| matches!(e, Event::ParticipantJoined { .. }))
        .await;
    // A resume on a URL naming the room is welcomed too.
    let token = ada.token.clone();
    ada.disconnect().await;
    let mut again = server.connect_to("Ada", &for_room(&room)).await;
    again
        .enter(Command::Resume {
            room: room.room_id.clone(),
            token,
            last_seq: None,
        })
        .await;
    assert_eq!(again.you, ada_id, "Ada came back as herself");
    server.stop().await;
}

#[tokio::test]
async fn a_first_frame_for_another_room_is_refused_and_closed() {
    // Two wrong keys or tokens would lock the address out: mismatches must not count.
    let store = SledStore::temporary().expect("temporary sled store");
    let server = TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        s.max_failed_entries = 2
    })
    .await;
    let routed = server.create_builtin_room("coaching_circle").await;
    let other = server.create_builtin_room("coaching_circle").await;
    let mut host = server.host(&other, "Fatima").await;
    let seq = host.seq;
    let mut ada = server.connect_to("Ada", &for_room(&routed)).await;
    let refused = ada.enter_refused(join(&other, "Ada")).await;
    assert_eq!(refused.code, ErrorCode::InvalidMessage);
    assert!(
        refused.id.is_some(),
        "the refusal names the frame: {refused:?}"
    );
    assert!(
        refused.message.contains("room"),
        "the message says why: {}",
        refused.message
    );
    assert_eq!(ada.expect_close().await, Some(close::AUTH_FAILED));
    // Nobody entered the other room.
    host.assert_quiet_since(seq).await;
    // The mismatch cost no attempt: the same address still gets in after more mismatches than
    // the wrong links it may try.
    for n in 0..4 {
        let mut c = server.connect_to("Ada", &for_room(&routed)).await;
        assert_eq!(
            c.enter_refused(join(&other, "Ada")).await.code,
            ErrorCode::InvalidMessage,
            "mismatch {n}"
        );
    }
    let ada = server.connect_to("Ada", &for_room(&other)).await;
    join_with(ada, &other).await;
    server.stop().await;
}

#[tokio::test]
async fn a_url_without_a_room_still_enters_any_room() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut host = server.host(&room, "Fatima").await;
    let ada = server
        .connect_to("Ada", &format!("/ws?v={PROTOCOL_VERSION}"))
        .await;
    join_with(ada, &room).await;
    host.expect_event(|e| matches!(e, Event::ParticipantJoined { .. }))
        .await;
    server.stop().await;
}

#[tokio::test]
async fn frames_before_entering_do_not_spend_the_check() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut ada = server.connect_to("Ada", &for_room(&room)).await;
    assert_eq!(
        ada.refused(Command::Sync).await,
        ErrorCode::NotAuthenticated
    );
    join_with(ada, &room).await;
    server.stop().await;
}
