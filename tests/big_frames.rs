//! A room whose people wrote a lot, within the documented limits, stays whole: everyone keeps
//! getting its events, and newcomers and returning people are welcomed, however large its
//! welcome grows; its `notes_changed` events carry one commitment each and stay small.

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use circlekeeper_protocol::{Command, Visibility};
use common::{checkout_room, TestServer};

/// People writing.
const WRITERS: usize = 8;

/// Shared commitments each writes (480 characters each), the most one person may: together
/// they take the room's welcome past 64 KiB, the websocket library's default limit (and took
/// `notes_changed` past it too, when it carried every shared commitment).
const EACH: usize = circlekeeper_protocol::limits::MAX_COMMITMENTS_PER_PERSON;

#[tokio::test]
async fn a_room_whose_notes_outgrow_64_kib_still_welcomes_everyone() {
    let server = TestServer::start().await;
    let room = server.create_room(checkout_room("Big")).await;
    let mut host = server.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let mut c = server.join(&room, &format!("Writer {i}")).await;
        c.ok(Command::AcceptGroundRules).await;
        writers.push(c);
    }
    host.ok(Command::Start).await;
    for (i, c) in writers.iter_mut().enumerate() {
        for k in 0..EACH {
            c.ok(Command::RecordCommitment {
                text: format!("{i:02}-{k:02} {}", "y".repeat(474)),
                due: None,
                visibility: Visibility::Circle,
            })
            .await;
        }
    }
    // Everyone saw every commitment, over frames far larger than 64 KiB.
    host.sync().await;
    assert_eq!(host.view.commitments.len(), WRITERS * EACH);
    let welcome_bytes = serde_json::to_vec(&host.view).expect("a view").len();
    assert!(
        welcome_bytes > 64 * 1024,
        "the room is big: {welcome_bytes} bytes"
    );
    for c in writers.iter_mut() {
        c.sync().await;
        assert_eq!(c.view.commitments.len(), WRITERS * EACH, "{}", c.name);
    }
    // Each of those events carried the one commitment it was about.
    let notes: Vec<usize> = host
        .frames
        .iter()
        .filter(|f| f["event"]["type"] == "notes_changed")
        .map(|f| f.to_string().len())
        .collect();
    assert_eq!(notes.len(), WRITERS * EACH);
    let largest = notes.iter().copied().max().unwrap_or_default();
    assert!(largest < 2 * 1024, "a notes_changed of {largest} bytes");
    // A newcomer is welcomed with the whole room; someone returning resumes.
    let newcomer = server.join(&room, "Newcomer").await;
    assert_eq!(newcomer.view.commitments.len(), WRITERS * EACH);
    let token = writers[0].token.clone();
    writers[0].disconnect().await;
    let back = server.resume("Back", &room.room_id, &token).await;
    assert_eq!(back.view.commitments.len(), WRITERS * EACH);
}

#[tokio::test]
async fn one_person_records_at_most_twenty_commitments_in_a_room_and_the_room_goes_on() {
    use circlekeeper_protocol::{limits::MAX_COMMITMENTS_PER_PERSON, ErrorCode};
    let server = TestServer::start().await;
    let room = server.create_room(checkout_room("Capped")).await;
    let mut host = server.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut ada = server.join(&room, "Ada").await;
    ada.ok(Command::AcceptGroundRules).await;
    host.ok(Command::Start).await;
    let record = |k: usize, visibility| Command::RecordCommitment {
        text: envelope::as_sent(&format!("Commitment {k}"), visibility),
        due: None,
        visibility,
    };
    for k in 0..MAX_COMMITMENTS_PER_PERSON {
        let visibility = if k % 2 == 0 {
            Visibility::Private
        } else {
            Visibility::Circle
        };
        ada.ok(record(k, visibility)).await;
    }
    let seq = ada.sync().await.seq;
    assert_eq!(
        ada.refused(record(99, Visibility::Circle)).await,
        ErrorCode::TooManyItems
    );
    assert_eq!(
        ada.refused(record(100, Visibility::Private)).await,
        ErrorCode::TooManyItems
    );
    ada.assert_quiet_since(seq).await;
    // Nothing else is refused: another person records, and Ada reviews hers.
    host.ok(record(0, Visibility::Circle)).await;
    let acked = ada.ok(Command::MyItems).await;
    let Some(circlekeeper_protocol::AckResult::Mine { mine }) = acked.result else {
        panic!("my items: {acked:?}");
    };
    assert_eq!(mine.commitments.len(), MAX_COMMITMENTS_PER_PERSON);
}
