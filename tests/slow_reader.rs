//! A client that stops reading, over real sockets on 127.0.0.1: once its outbound queue is full
//! the server gives up on what waits for it, and a client that reads again within the
//! documented time finds the close frame 4008 behind the events already on their way; the
//! connection is counted once, as `too_slow`.

mod common;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Instant;

use circlekeeper::live::room::PEER_OUTBOX;
use circlekeeper::server::ws::SLOW_CLOSE;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{close, Command, Event, Presence};
use common::{checkout_room, join_with, Client, TestServer, EPOCH, WAIT};

/// Commands the facilitator sends before waiting for their answers.
const PIPELINE: usize = 64;

/// Most commands the facilitator sends: far more events than any socket buffers hold.
const MOST_COMMANDS: usize = 40_000;

/// The client's receive buffer: small, so that the events pile up on the server soon.
const RECEIVE_BUFFER: u32 = 4096;

/// Whether `event` shows `who` turning away.
fn turned_away(event: &Event, who: u32) -> bool {
    matches!(event, Event::ParticipantUpdated { participant, .. }
        if participant.id == who && participant.presence == Presence::Away)
}

#[tokio::test]
async fn a_client_that_stops_reading_finds_4008_and_is_counted_once_as_too_slow() {
    let store = SledStore::temporary().expect("temporary sled store");
    let server = TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        // The facilitator makes events as fast as the room takes them.
        s.rate_burst = 1e9;
        s.rate_per_second = 1e9;
    })
    .await;
    let room = server.create_room(checkout_room("Slow")).await;
    let mut fran = server.host(&room, "Fran").await;
    let small = server
        .socket_from(Ipv4Addr::LOCALHOST, Some(RECEIVE_BUFFER))
        .await;
    let mut sleeper = join_with(Client::new("Sleeper", small), &room).await;
    fran.catch_up(sleeper.seq).await;
    let joined_at = sleeper.seq;
    // The sleeper reads nothing from here on. Fran pushes prompt cards, one event each, until
    // she sees the sleeper turn away: the room cut them off.
    let text = "z".repeat(480);
    let mut sent = 0;
    let cut_at = 'pushing: loop {
        assert!(
            sent < MOST_COMMANDS,
            "the sleeper was never cut off after {sent} events"
        );
        let mut ids = Vec::with_capacity(PIPELINE);
        for _ in 0..PIPELINE {
            let id = fran
                .send(Command::PushPrompt {
                    prompt: None,
                    text: Some(format!("{sent} {text}")),
                    to: None,
                })
                .await;
            ids.push(id);
            sent += 1;
        }
        for id in ids {
            fran.answer(&id).await.expect("a prompt is pushed");
        }
        if let Some(away) = fran.log.iter().find(|s| turned_away(&s.event, sleeper.you)) {
            break 'pushing away.seq;
        }
    };
    let cut_seen = Instant::now();

    // The sleeper reads again: the events that were on their way, then the close frame.
    let code = sleeper.expect_close().await;
    let waited = cut_seen.elapsed();
    assert_eq!(code, Some(close::TOO_SLOW), "after {waited:?}");
    assert!(
        waited < SLOW_CLOSE,
        "the close frame came {waited:?} after the cut-off"
    );
    let reason = sleeper
        .closed
        .clone()
        .flatten()
        .map(|f| f.reason.to_string());
    assert_eq!(
        reason.as_deref(),
        Some("too many frames waiting: reconnect and resume")
    );
    let got = sleeper.seq - joined_at;
    assert!(got > 0, "no event arrived before the close");
    // What was queued for the sleeper when the room cut them off was given up, not sent.
    assert!(
        cut_at - sleeper.seq >= PEER_OUTBOX as u64,
        "the sleeper got events up to {} of the {cut_at} before the cut-off",
        sleeper.seq
    );

    // Counted once, as too slow, when the connection is over (the client's side closes).
    drop(sleeper);
    let series = "circlekeeper_disconnects_total{reason=\"too_slow\"}";
    let counted = async {
        while server.metric(series) == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(WAIT, counted)
        .await
        .expect("the disconnect is counted");
    for (reason, n) in [
        ("too_slow", 1),
        ("idle", 0),
        ("reset", 0),
        ("going_away", 0),
    ] {
        let series = format!("circlekeeper_disconnects_total{{reason=\"{reason}\"}}");
        assert_eq!(server.metric(&series), n, "{series}");
    }
    assert_eq!(server.metric("circlekeeper_connections"), 1, "Fran only");
    // The room did not wait for the sleeper.
    fran.sync().await;
}
