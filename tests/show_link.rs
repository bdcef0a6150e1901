//! Showing the room's current join link again (`show_link`), over real websockets: a
//! facilitator on a second device, or a co-facilitator, gets the same key the room was opened
//! with, and the link is not replaced (the key keeps admitting); a participant is refused; the
//! answer follows `rotate_link` and `revoke_link`; the key survives a restart; it is kept
//! sealed (its bytes are nowhere in the data directory) and goes with the room; and a room
//! stored before keys were kept answers `link_unknown` until its link is replaced.

mod common;

use std::sync::Arc;

use circlekeeper::store::{SledStore, Store as _};
use circlekeeper::Clock;
use circlekeeper_protocol::{
    close, AckResult, Command, ErrorCode, LinkKind, Role, RoomCreated, Standing,
};
use common::{release_store, Client, Remote, TestServer, EPOCH};

/// Send `show_link` and return the key in its ack (`None`: the join link is off).
async fn shown(client: &mut Client) -> Option<String> {
    let seq = client.seq;
    let ack = client.ok(Command::ShowLink).await;
    assert_eq!(ack.seq, seq, "{}: show_link changes nothing", client.name);
    match ack.result {
        Some(AckResult::JoinKey { join_key }) => join_key,
        other => panic!("{}: show_link answered {other:?}", client.name),
    }
}

/// Send `rotate_link` for the join link and return the new key.
async fn rotate_join(client: &mut Client) -> String {
    match client
        .ok(Command::RotateLink {
            link: LinkKind::Join,
        })
        .await
        .result
    {
        Some(AckResult::Link { key, .. }) => key,
        other => panic!("rotate_link answered {other:?}"),
    }
}

/// Someone new joins with `key` (must be admitted as a participant).
async fn admitted_with(server: &Remote, room: &RoomCreated, key: &str) {
    let mut c = server.connect("Newcomer").await;
    c.enter(Command::Join {
        room: room.room_id.clone(),
        key: key.into(),
        name: common::unique_name("Newcomer"),
        guest: None,
    })
    .await;
    assert_eq!(c.participant(c.you).standing, Standing::Participant);
}

#[tokio::test]
async fn a_second_device_and_a_co_facilitator_are_shown_the_same_link_which_still_works() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    // Fran's second device (the host link again), and Hana, made co-facilitator.
    let mut phone = server.host(&room, "Fran on her phone").await;
    let mut hana = server.join(&room, "Hana").await;
    let mut ada = server.join(&room, "Ada").await;
    fran.ok(Command::AssignRole {
        participant: hana.you,
        role: Role::CoFacilitator,
    })
    .await;
    hana.catch_up(fran.seq).await;
    assert_eq!(hana.participant(hana.you).standing, Standing::CoFacilitator);
    let seq = fran.seq;
    for c in [&mut fran, &mut phone, &mut hana] {
        c.catch_up(seq).await;
        assert_eq!(shown(c).await.as_deref(), Some(room.join_key.as_str()));
    }
    // Nothing was replaced: no link_changed, and the key still admits.
    fran.assert_quiet_since(seq).await;
    admitted_with(&server, &room, &room.join_key).await;

    // A participant may not see it.
    let seq = fran.sync().await.seq;
    assert_eq!(ada.refused(Command::ShowLink).await, ErrorCode::Forbidden);
    fran.assert_quiet_since(seq).await;
}

#[tokio::test]
async fn the_shown_link_follows_rotate_and_revoke_and_is_kept_after_the_end() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut hana = server.host(&room, "Hana").await;

    let rotated = rotate_join(&mut fran).await;
    assert_ne!(rotated, room.join_key);
    hana.catch_up(fran.seq).await;
    assert_eq!(shown(&mut hana).await, Some(rotated.clone()));

    // Replacing the host link leaves the join key as it is.
    fran.ok(Command::RotateLink {
        link: LinkKind::Host,
    })
    .await;
    assert_eq!(shown(&mut fran).await, Some(rotated.clone()));

    fran.ok(Command::RevokeLink {
        link: LinkKind::Join,
    })
    .await;
    hana.catch_up(fran.seq).await;
    assert_eq!(shown(&mut hana).await, None, "the join link is off");

    let again = rotate_join(&mut fran).await;
    admitted_with(&server, &room, &again).await;
    // After the end the link can still be shown (nobody new can join by then).
    fran.ok(Command::EndSession).await;
    hana.catch_up(fran.seq).await;
    assert_eq!(shown(&mut hana).await, Some(again));
}

/// Every file under `dir` holds no copy of `needle`.
fn nowhere_in(dir: &std::path::Path, needle: &[u8]) -> bool {
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        seen += 1;
        assert!(seen < 10_000, "a bounded walk");
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read dir") {
                pending.push(entry.expect("entry").path());
            }
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                return false;
            }
        }
    }
    true
}

#[tokio::test]
async fn the_kept_key_is_sealed_survives_a_restart_and_goes_with_the_room() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Clock::manual(EPOCH);
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    let rotated = rotate_join(&mut fran).await;
    server.stop().await;
    assert_eq!(fran.expect_close().await, Some(close::GOING_AWAY));
    release_store(store).await;
    assert!(
        nowhere_in(dir.path(), rotated.as_bytes()),
        "the key is stored sealed"
    );

    let store = Arc::new(SledStore::open(dir.path()).expect("the store reopens"));
    let server = TestServer::start_with(store.clone(), clock.clone(), |_| {}).await;
    let mut hana = server.host(&room, "Hana").await;
    assert_eq!(shown(&mut hana).await, Some(rotated));

    hana.ok(Command::DeleteRoom).await;
    assert_eq!(hana.expect_close().await, Some(close::ROOM_DELETED));
    assert_eq!(store.room(&room.room_id).expect("read"), None);
    server.stop().await;
    release_store(store).await;
}

#[tokio::test]
async fn a_room_stored_before_keys_were_kept_answers_link_unknown_until_the_link_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let room = common::legacy_room(store.as_ref());
    let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |_| {}).await;
    let mut fran = server.host(&room, "Fran").await;
    let seq = fran.seq;
    let refused = fran.command(Command::ShowLink).await.expect_err("refused");
    assert_eq!(refused.code, ErrorCode::LinkUnknown);
    assert!(refused.message.contains("replace it"), "{refused:?}");
    fran.assert_quiet_since(seq).await;
    // The old link still works; once replaced, the new one can be shown.
    admitted_with(&server, &room, &room.join_key).await;
    let rotated = rotate_join(&mut fran).await;
    assert_eq!(shown(&mut fran).await, Some(rotated));
    server.stop().await;
    release_store(store).await;
}
