//! Every error code and every close code the spec documents, provoked against a real server over
//! real sockets (or HTTP, for the codes only HTTP answers with), as a client would meet it.
//!
//! The codes are read from the spec itself (`spec`): the tables under the headings "Error
//! codes" and "Close codes" in whichever `protocol/**/*.md` file holds them (the spec is written
//! in chapters). A documented code without a provocation (`errors`, `closes`) fails the test, so a
//! new code in the spec needs a new case; so does a provocation answered with any other code.
//! The few codes that cannot be provoked are listed in [`NOT_PROVOKED`], each with why and the
//! test that covers it.
//!
//! Rate limits (`rate_limited`, 4029) and slow readers (4008) are checked only for the code
//! arriving: how many frames it takes is the business of the tests of those limits.

#[path = "every_code/closes.rs"]
mod closes;
mod common;
#[path = "every_code/errors.rs"]
mod errors;
#[path = "every_code/faulty.rs"]
mod faulty;
#[path = "every_code/spec.rs"]
mod spec;
#[path = "common/spec.rs"]
mod spec_pages;

use std::sync::Arc;

use circlekeeper::server::Settings;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, ErrorCode, RoomCreated};
use common::{checkout_room, Client, TestServer, EPOCH};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// A documented code this file does not provoke, why, and the test that covers it instead.
struct NotProvoked {
    /// The table it is in: "Error codes" or "Close codes".
    table: &'static str,
    /// The code, as the table writes it.
    code: &'static str,
    /// Why it cannot be provoked here.
    why: &'static str,
    /// The test (`file::name`) that covers what the spec says about it.
    covered_by: &'static str,
}

/// Keep this list as short as it can be: every code that can be provoked, is.
const NOT_PROVOKED: &[NotProvoked] = &[NotProvoked {
    table: "Close codes",
    code: "1003",
    // The table documents it as reserved: in version 1 the server never closes with it.
    why: "reserved for binary frames; version 1 answers a binary frame with `invalid_message` \
          and keeps the connection, so no provocation can (or should) get 1003",
    covered_by: "bad_input::a_binary_frame_gets_an_error_and_the_connection_stays",
}];

// ----- rooms and servers to provoke in ---------------------------------------------------

/// A room of one long check-out stage (hand queue), still in its lobby: its facilitator Fran,
/// who accepted the ground rules, and Ada, who has not.
struct Lobby {
    server: TestServer,
    room: RoomCreated,
    fran: Client,
    ada: Client,
}

/// A fresh server and [`Lobby`].
async fn lobby() -> Lobby {
    let server = TestServer::start().await;
    let room = server.create_room(checkout_room("Codes")).await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let ada = server.join(&room, "Ada").await;
    Lobby {
        server,
        room,
        fran,
        ada,
    }
}

/// [`lobby`], started.
async fn started() -> Lobby {
    let mut l = lobby().await;
    l.fran.ok(Command::Start).await;
    l
}

/// `join` of `room` with `key`, as Mallory.
fn join(room: &RoomCreated, key: &str) -> Command {
    Command::Join {
        room: room.room_id.clone(),
        key: key.into(),
        name: "Mallory".into(),
        guest: None,
    }
}

/// A server over a temporary store, with `tune` applied to its settings.
async fn tuned(tune: impl FnOnce(&mut Settings)) -> TestServer {
    let store = SledStore::temporary().expect("temporary sled store");
    TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), tune).await
}

/// Send `sync` frames one at a time, reading each answer, until `stop` says so with what it
/// saw (an error's code or a close code), or 1000 frames. Far faster than any refill rate.
async fn flood<T>(c: &mut Client, stop: impl Fn(&Message) -> Option<T>) -> Option<T> {
    for n in 0..1_000 {
        c.raw_send(&format!(r#"{{"id":"flood-{n}","type":"sync"}}"#))
            .await;
        let frame = c.next_frame().await?;
        if let Some(seen) = stop(&frame) {
            return Some(seen);
        }
        if matches!(frame, Message::Close(_)) {
            return None;
        }
    }
    None
}

// ----- the tests ------------------------------------------------------------------------------

/// The codes of the table under `title`, less those [`NOT_PROVOKED`] (each of which must still be
/// in the table, and say why and which test covers it); stale exemptions go to `wrong`.
fn to_provoke(title: &str, wrong: &mut Vec<String>) -> Vec<String> {
    let mut codes = spec::documented(title);
    for n in NOT_PROVOKED.iter().filter(|n| n.table == title) {
        assert!(!n.why.is_empty() && n.covered_by.contains("::"));
        if codes.iter().any(|c| c == n.code) {
            eprintln!("{} not provoked: {} (see {})", n.code, n.why, n.covered_by);
        } else {
            wrong.push(format!(
                "{}: in NOT_PROVOKED but no longer in the spec: drop the exemption",
                n.code
            ));
        }
    }
    codes.retain(|c| !NOT_PROVOKED.iter().any(|n| n.table == title && n.code == c));
    codes
}

#[tokio::test]
async fn every_error_code_in_the_spec_is_provoked_and_answered_with_exactly_that_code() {
    let mut wrong = Vec::new();
    for code in to_provoke("Error codes", &mut wrong) {
        if serde_json::from_value::<ErrorCode>(json!(code)).is_err() {
            wrong.push(format!("{code}: documented, but not an ErrorCode"));
        }
        match errors::provoke_error(&code).await {
            None => wrong.push(format!("{code}: no provocation: add one to provoke_error")),
            Some(got) if got != code => {
                wrong.push(format!("{code}: the provocation was answered with {got}"))
            }
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn every_close_code_in_the_spec_is_provoked_and_closed_with_exactly_that_code() {
    let mut wrong = Vec::new();
    for text in to_provoke("Close codes", &mut wrong) {
        let Ok(code) = text.parse::<u16>() else {
            wrong.push(format!("{text}: a close code is a number"));
            continue;
        };
        match closes::provoke_close(code).await {
            None => wrong.push(format!("{code}: no provocation: add one to provoke_close")),
            Some(got) if got != Some(code) => {
                wrong.push(format!("{code}: the provocation was closed with {got:?}"))
            }
            Some(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
