//! Fuzzing the server's decoder over a real websocket: frames made by mutating valid commands
//! (bytes cut, inserted, flipped; values swapped for other JSON; nesting and numbers pushed to
//! extremes) and plain random text. Every frame must get one well-formed answer — an `ack` if
//! the mutation happens to be a valid command, or an `error` with a documented code — and the
//! connection and the room must stay healthy: a `sync` afterwards is acknowledged and the
//! server keeps serving everyone else. Nothing may panic.
//!
//! The cases come from a fixed seed, so CI is repeatable; a longer run explores further:
//! `FUZZ_CASES=20000 FUZZ_SEED=$RANDOM cargo test --release --test fuzz -- --nocapture`
//! (each case is a connection sending up to 8 frames). The state machine's own fuzzing —
//! random command sequences from random people, invariants checked after every step — is
//! `tests/room_props.rs`.

mod common;

use std::sync::Arc;

use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{limits, ClientMessage, Command, ServerMessage, TimerKind};
use common::{TestServer, EPOCH};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tokio_tungstenite::tungstenite::Message;

/// A number from the environment, or a default.
fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Valid frames to start from: commands a participant may send, and a few of every shape.
fn seeds() -> Vec<String> {
    let commands = vec![
        Command::Sync,
        Command::RaiseHand,
        Command::LowerHand { participant: None },
        Command::LowerHand {
            participant: Some(3),
        },
        Command::Pass,
        Command::Done,
        Command::DrawPrompt { seed: Some(7) },
        Command::AdjustTimer {
            timer: TimerKind::Stage,
            seconds: 60,
        },
        Command::GiveFloor {
            participant: Some(2),
        },
        Command::PushPrompt {
            prompt: None,
            text: Some("What matters most here?".into()),
            to: None,
        },
        Command::SetPresenterOrder { order: vec![2, 3] },
        Command::JumpToStage { index: 1 },
        Command::MyItems,
        Command::Join {
            room: "7c1f0e9a4b2d4e8f9a6b3c5d2e1f0a9b".into(),
            key: "k".into(),
            name: "Ada".into(),
            guest: None,
        },
    ];
    commands
        .into_iter()
        .enumerate()
        .map(|(i, command)| {
            serde_json::to_string(&ClientMessage {
                id: format!("s{i}"),
                command,
            })
            .expect("a command serializes")
        })
        .collect()
}

/// One way to spoil a frame.
#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the bytes `at..at+len` (positions taken modulo the length).
    Cut(usize, usize),
    /// Insert these bytes at `at`.
    Insert(usize, Vec<u8>),
    /// Flip bits of the byte at `at`.
    Flip(usize, u8),
    /// Replace the value of one field (the n-th `:`) with this JSON text.
    Value(usize, String),
    /// Wrap the whole frame in this many arrays.
    Nest(usize),
}

fn odd_json() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("-0".to_string()),
        Just("1e400".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-9223372036854775809".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("\"\u{202e}\u{200b}\"".to_string()),
        Just("\"type\"".to_string()),
        Just("{\"type\":\"sync\"}".to_string()),
        (0..200usize).prop_map(|n| format!("\"{}\"", "x".repeat(n * 50))),
        (1..300usize).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[a-z_]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(a, l)| Mutation::Cut(a, l)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..12)
        )
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        (any::<usize>(), 1..=255u8).prop_map(|(a, m)| Mutation::Flip(a, m)),
        (0..8usize, odd_json()).prop_map(|(n, v)| Mutation::Value(n, v)),
        (1..200usize).prop_map(Mutation::Nest),
    ]
}

/// Apply mutations to a frame; the result may not be UTF-8, then it is made lossy.
fn spoil(frame: &str, mutations: &[Mutation]) -> String {
    let mut b = frame.as_bytes().to_vec();
    for m in mutations {
        let len = b.len().max(1);
        match m {
            Mutation::Cut(at, l) => {
                let at = at % len;
                let end = (at + l).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Mutation::Insert(at, bytes) => {
                let at = at % (b.len() + 1);
                b.splice(at..at, bytes.iter().copied());
            }
            Mutation::Flip(at, mask) => {
                if !b.is_empty() {
                    let i = at % b.len();
                    b[i] ^= mask;
                }
            }
            Mutation::Value(n, v) => {
                let text = String::from_utf8_lossy(&b).into_owned();
                let colons: Vec<usize> = text.match_indices(':').map(|(i, _)| i).collect();
                if let Some(&c) = colons.get(n % colons.len().max(1)) {
                    let rest = &text[c + 1..];
                    let end = rest.find([',', '}']).map_or(text.len(), |e| c + 1 + e);
                    b = format!("{}{}{}", &text[..=c], v, &text[end..]).into_bytes();
                }
            }
            Mutation::Nest(n) => {
                let text = String::from_utf8_lossy(&b).into_owned();
                b = format!("{}{}{}", "[".repeat(*n), text, "]".repeat(*n)).into_bytes();
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// A frame to send: a spoiled seed, or random text.
fn frame(seeds: Vec<String>) -> impl Strategy<Value = String> {
    let n = seeds.len();
    prop_oneof![
        4 => (0..n, proptest::collection::vec(mutation(), 1..4))
            .prop_map(move |(i, ms)| spoil(&seeds[i], &ms)),
        1 => "\\PC{0,80}",
        1 => "[{}\\[\\]\":,0-9a-z ]{0,60}",
    ]
}

/// A frame that would take the fuzzing participant out of the room (a valid `leave`):
/// skipped, as it is meant to work. Frames over the size limit are skipped too.
fn leaves(text: &str) -> bool {
    matches!(
        serde_json::from_str::<ClientMessage>(text),
        Ok(ClientMessage {
            command: Command::Leave | Command::DeleteRoom,
            ..
        })
    )
}

/// Read frames until the answer to one sent frame (an ack or an error); events on the way
/// are skipped. Panics on anything the protocol does not describe, or a close.
async fn answer(ws: &mut common::Client, sent: &str) -> &'static str {
    for _ in 0..64 {
        match ws.next_frame().await {
            Some(Message::Text(t)) => {
                let msg: ServerMessage = serde_json::from_str(t.as_str()).unwrap_or_else(|e| {
                    panic!("a frame outside the protocol ({e}) answering {sent:?}: {t}")
                });
                match msg {
                    ServerMessage::Ack { .. } => return "ack",
                    ServerMessage::Error { .. } => return "error",
                    _ => continue,
                }
            }
            Some(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("the connection ended ({other:?}) after {sent:?}"),
        }
    }
    panic!("no answer to {sent:?} within 64 frames")
}

#[tokio::test]
async fn random_frames_get_one_clear_answer_and_hurt_no_connection() {
    let cases = env_or("FUZZ_CASES", 250);
    let seed = env_or("FUZZ_SEED", 2026);
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        s.rate_burst = 1e9;
        s.rate_per_second = 1e9;
    })
    .await;
    let mut room = server.create_builtin_room("coaching_circle").await;
    let mut host = server.host(&room, "Fran").await;
    host.ok(Command::AcceptGroundRules).await;
    host.ok(Command::Start).await;

    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = proptest::collection::vec(frame(seeds()), 1..=8);
    let (mut sent, mut acked, mut refused, mut skipped) = (0u64, 0u64, 0u64, 0u64);
    for case in 0..cases {
        let frames = strategy.new_tree(&mut runner).expect("a case").current();
        if case % 50 == 49 {
            // The room is healthy after fifty fuzzing participants; a fresh one for the next
            // fifty (a room holds at most 256 people over its life).
            host.sync().await;
            room = server.create_builtin_room("coaching_circle").await;
            host = server.host(&room, "Fran").await;
            host.ok(Command::AcceptGroundRules).await;
            host.ok(Command::Start).await;
        }
        let mut ada = server.join(&room, &format!("Ada {case}")).await;
        for text in &frames {
            // Oversized frames close the connection (1009): `bad_input.rs` tests that.
            if leaves(text) || text.len() > limits::MAX_FRAME_BYTES {
                skipped += 1;
                continue;
            }
            ada.raw_send(text).await;
            sent += 1;
            match answer(&mut ada, text).await {
                "ack" => acked += 1,
                _ => refused += 1,
            }
        }
        // The connection is healthy, and so is the room.
        ada.sync().await;
        ada.disconnect().await;
    }
    host.sync().await;
    eprintln!(
        "fuzz: {cases} connections, {sent} frames sent ({acked} acknowledged, {refused} \
         refused with an error), {skipped} skipped (valid leaves, oversized); seed {seed}; no panic, no \
         connection lost"
    );
    assert!(refused > sent / 2, "most spoiled frames are refused");
    server.stop().await;
}
