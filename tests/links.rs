//! Replacing and turning off a room's links (`rotate_link`, `revoke_link`), over real
//! websockets and HTTP: the old key stops opening the room at once for `join`, `host`, preview
//! and export; the new key comes only in the sender's ack; everyone already in stays and hears
//! of it through a `link_changed` event that carries no key; and a restart keeps the new hashes.

mod common;

use std::sync::Arc;

use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{
    close, AckResult, Command, ErrorCode, Event, LinkKind, RoomCreated, SessionStatus, Standing,
};
use common::{release_store, Client, Remote, TestServer, EPOCH};
use serde_json::json;

/// Send `rotate_link` and return the new key from the ack's result.
async fn rotate(client: &mut Client, link: LinkKind) -> String {
    let ack = client.ok(Command::RotateLink { link }).await;
    match ack.result {
        Some(AckResult::Link { link: got, key }) => {
            assert_eq!(got, link, "the result names the link it replaced");
            assert_eq!(key.len(), 43, "a key is 43 characters of base64url");
            key
        }
        other => panic!(
            "{}: rotate_link answered without a key: {other:?}",
            client.name
        ),
    }
}

/// `join` (or, with `host`, `host`) into `room` with `key`, as someone new (under a name no
/// one in the room has).
fn entry(room: &RoomCreated, host: bool, key: &str) -> Command {
    let (room, key, name) = (
        room.room_id.clone(),
        key.to_string(),
        common::unique_name("Newcomer"),
    );
    if host {
        Command::Host { room, key, name }
    } else {
        Command::Join {
            room,
            key,
            name,
            guest: None,
        }
    }
}

/// `join` (or `host`) with `key`: refused with `invalid_key` and closed with 4003.
async fn assert_key_refused(server: &Remote, room: &RoomCreated, host: bool, key: &str) {
    let mut client = server.connect("Stranger").await;
    let refused = client.enter_refused(entry(room, host, key)).await;
    assert_eq!(refused.code, ErrorCode::InvalidKey, "{refused:?}");
    assert_eq!(client.expect_close().await, Some(close::AUTH_FAILED));
}

/// `join` (or `host`) with `key`: admitted as a new participant with that standing.
async fn assert_key_admits(server: &Remote, room: &RoomCreated, host: bool, key: &str) -> Client {
    let mut client = server.connect("Newcomer").await;
    client.enter(entry(room, host, key)).await;
    let expected = if host {
        Standing::Facilitator
    } else {
        Standing::Participant
    };
    assert_eq!(client.participant(client.you).standing, expected);
    client
}

/// The status of `POST /api/rooms/{id}/{what}` with `key` (`preview` or `export`).
async fn status_of(server: &Remote, room: &RoomCreated, what: &str, key: &str) -> u16 {
    let path = format!("/api/rooms/{}/{what}", room.room_id);
    let body = json!({ "key": key }).to_string();
    server.http("POST", &path, body.as_bytes()).await.status
}

/// Everything a client received, as text: the events it logged and the answers nobody claimed.
fn everything_seen(client: &Client) -> String {
    format!("{:?} {:?}", client.log, client.unclaimed_answers())
}

/// Wait for this `link_changed` event (which link, how, who); earlier events are passed over.
async fn expect_link_changed(client: &mut Client, link: LinkKind, revoked: bool, by: u32) {
    let wanted = Event::LinkChanged { link, revoked, by };
    client.expect_event(|e| *e == wanted).await;
}

#[tokio::test]
async fn rotating_the_join_link_refuses_the_old_key_and_gives_the_new_one_to_the_sender_only() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let fran_id = fran.you;
    let mut hana = server.host(&room, "Hana").await;
    let mut ada = server.join(&room, "Ada").await;
    fran.catch_up(ada.seq).await;
    hana.catch_up(ada.seq).await;

    let key = rotate(&mut fran, LinkKind::Join).await;
    assert_ne!(key, room.join_key);
    expect_link_changed(&mut fran, LinkKind::Join, false, fran_id).await;

    // Everyone already in stays and hears of it; nobody else sees the key.
    for c in [&mut hana, &mut ada] {
        expect_link_changed(c, LinkKind::Join, false, fran_id).await;
        c.sync().await;
        assert!(!everything_seen(c).contains(&key), "{} saw the key", c.name);
        assert!(!c.participant(c.you).removed);
    }
    assert!(ada.ok(Command::AcceptGroundRules).await.seq > fran.seq);

    // The old key opens nothing; the new one admits.
    assert_key_refused(&server, &room, false, &room.join_key).await;
    assert_eq!(
        status_of(&server, &room, "preview", &room.join_key).await,
        403
    );
    assert_eq!(status_of(&server, &room, "preview", &key).await, 200);
    let ben = assert_key_admits(&server, &room, false, &key).await;
    // A join key never opens the host door, the new one included.
    assert_key_refused(&server, &room, true, &key).await;
    // The host link is untouched.
    assert_key_admits(&server, &room, true, &room.host_key).await;
    fran.catch_up(ben.seq).await;
    assert!(fran.view.participants.iter().any(|p| p.id == ben.you));
}

#[tokio::test]
async fn a_revoked_join_link_admits_nobody_until_it_is_rotated() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    let fran_id = fran.you;
    let mut ada = server.join(&room, "Ada").await;

    let ack = fran
        .ok(Command::RevokeLink {
            link: LinkKind::Join,
        })
        .await;
    assert_eq!(ack.result, None, "revoke_link hands out no key");
    expect_link_changed(&mut ada, LinkKind::Join, true, fran_id).await;
    assert_key_refused(&server, &room, false, &room.join_key).await;
    assert_eq!(
        status_of(&server, &room, "preview", &room.join_key).await,
        403
    );
    // Ada, already in, keeps her place and can come back with her token.
    ada.disconnect().await;
    let ada = server.resume("Ada", &room.room_id, &ada.token).await;
    assert!(!ada.participant(ada.you).removed);

    // Revoking again still changes the stored hash and tells everyone.
    fran.ok(Command::RevokeLink {
        link: LinkKind::Join,
    })
    .await;
    expect_link_changed(&mut fran, LinkKind::Join, true, fran_id).await;
    assert_key_refused(&server, &room, false, &room.join_key).await;

    let key = rotate(&mut fran, LinkKind::Join).await;
    expect_link_changed(&mut fran, LinkKind::Join, false, fran_id).await;
    assert_key_admits(&server, &room, false, &key).await;
    assert_key_refused(&server, &room, false, &room.join_key).await;
}

#[tokio::test]
async fn a_rotated_host_link_refuses_the_old_key_for_host_preview_and_export() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    assert_eq!(
        status_of(&server, &room, "export", &room.host_key).await,
        200
    );

    let key = rotate(&mut fran, LinkKind::Host).await;
    assert_key_refused(&server, &room, true, &room.host_key).await;
    assert_eq!(
        status_of(&server, &room, "preview", &room.host_key).await,
        403
    );
    assert_eq!(
        status_of(&server, &room, "export", &room.host_key).await,
        403
    );
    assert_eq!(status_of(&server, &room, "preview", &key).await, 200);
    assert_eq!(status_of(&server, &room, "export", &key).await, 200);
    let mut hana = assert_key_admits(&server, &room, true, &key).await;
    // The join link is untouched.
    assert_key_admits(&server, &room, false, &room.join_key).await;

    // After the end the host link can still be replaced: export is what it is for then.
    fran.ok(Command::EndSession).await;
    hana.catch_up(fran.seq).await;
    assert_eq!(hana.view.session.status, SessionStatus::Ended);
    let after = rotate(&mut hana, LinkKind::Host).await;
    expect_link_changed(&mut fran, LinkKind::Host, false, hana.you).await;
    assert_eq!(status_of(&server, &room, "export", &key).await, 403);
    assert_eq!(status_of(&server, &room, "export", &after).await, 200);

    // Turned off, the host link exports nothing.
    fran.ok(Command::RevokeLink {
        link: LinkKind::Host,
    })
    .await;
    assert_eq!(status_of(&server, &room, "export", &after).await, 403);
}

#[tokio::test]
async fn a_participant_may_not_replace_or_turn_off_a_link() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    fran.catch_up(ada.seq).await;
    let seq = fran.seq;
    for link in [LinkKind::Join, LinkKind::Host] {
        for command in [Command::RotateLink { link }, Command::RevokeLink { link }] {
            assert_eq!(ada.refused(command).await, ErrorCode::Forbidden);
        }
    }
    fran.assert_quiet_since(seq).await;
    assert_key_admits(&server, &room, false, &room.join_key).await;
    assert_key_admits(&server, &room, true, &room.host_key).await;
}

#[tokio::test]
async fn a_restart_keeps_the_new_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::manual(EPOCH);
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let join = rotate(&mut fran, LinkKind::Join).await;
    fran.ok(Command::RevokeLink {
        link: LinkKind::Host,
    })
    .await;
    ada.catch_up(fran.seq).await;

    server.stop().await;
    assert_eq!(fran.expect_close().await, Some(close::GOING_AWAY));
    release_store(store).await;

    let store = Arc::new(SledStore::open(dir.path()).expect("the store reopens"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    assert_key_refused(&server, &room, false, &room.join_key).await;
    assert_key_refused(&server, &room, true, &room.host_key).await;
    assert_eq!(
        status_of(&server, &room, "export", &room.host_key).await,
        403
    );
    assert_key_admits(&server, &room, false, &join).await;
    // Those already in come back with their tokens, and the events were kept.
    ada.reconnect(&server).await;
    fran.reconnect(&server).await;
    let changes = fran
        .log
        .iter()
        .filter(|s| matches!(s.event, Event::LinkChanged { .. }))
        .count();
    assert_eq!(changes, 2);
    // A facilitator still in the room opens the host link again.
    let host = rotate(&mut fran, LinkKind::Host).await;
    assert_key_admits(&server, &room, true, &host).await;
    server.stop().await;
    release_store(store).await;
}
