//! Micro-benchmark of the room state machine alone: how many commands per second one core
//! applies, and the cost of one command (p50/p99), including serializing its events once.
//!
//! Run: `cargo bench --bench room` (about five seconds).

mod common;

use std::time::{Duration, Instant};

use circlekeeper::formats;
use circlekeeper::room::state::DEFAULT_GROUND_RULES;
use circlekeeper::room::{Room, RoomSetup};
use circlekeeper_protocol::{Command, ServerMessage, Standing};

const T0: u64 = 1_800_000_000_000;
/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(2);
/// Most commands one measurement applies.
const MAX_COMMANDS: usize = 5_000_000;

/// A room of a facilitator and seven consenting participants, in the clarifying questions.
fn room() -> (Room, u32, Vec<u32>) {
    let setup = RoomSetup {
        id: "bench".into(),
        title: "Bench".into(),
        format: formats::builtin("action_learning_set").expect("built-in"),
        ground_rules: DEFAULT_GROUND_RULES.into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        earlier: Vec::new(),
        calls: Default::default(),
    };
    let mut room = Room::new(setup);
    let (host, _) = room.join(T0, "Fran", Standing::Facilitator).expect("host");
    let mut people = Vec::new();
    for i in 0..7 {
        let (id, _) = room
            .join(T0, &format!("P{i}"), Standing::Participant)
            .expect("join");
        room.apply(T0, id, &Command::AcceptGroundRules)
            .expect("consent");
        people.push(id);
    }
    room.apply(T0, host, &Command::Start).expect("start");
    room.apply(T0, host, &Command::JumpToStage { index: 2 })
        .expect("jump");
    (room, host, people)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let (mut room, host, people) = room();
    let mut samples = Vec::with_capacity(1 << 20);
    let mut bytes = 0usize;
    let mut events = 0usize;
    let start = Instant::now();
    let mut now = T0;
    let mut i = 0usize;
    // A cycle: someone raises a hand, the facilitator gives the floor, they finish.
    while start.elapsed() < RUN && i < MAX_COMMANDS {
        let who = people[i / 3 % people.len()];
        let (sender, cmd) = match i % 3 {
            0 => (who, Command::RaiseHand),
            1 => (host, Command::GiveFloor { participant: None }),
            _ => (who, Command::Done),
        };
        now += 1;
        let t = Instant::now();
        let applied = room.apply(now, sender, &cmd).expect("accepted");
        for r in &applied.events {
            let frame = ServerMessage::Event {
                seq: r.seq,
                at: r.at,
                event: r.event.clone(),
            };
            bytes += serde_json::to_string(&frame).expect("serializes").len();
        }
        samples.push(t.elapsed().as_nanos() as u64);
        events += applied.events.len();
        i += 1;
    }
    let elapsed = start.elapsed();
    samples.sort_unstable();
    println!(
        "room state machine — {} — {} commands in {:.2} s",
        common::machine_line(),
        i,
        elapsed.as_secs_f64()
    );
    println!("| figure | value |");
    println!("| --- | --- |");
    println!(
        "| commands applied per second (one core) | {:.0} |",
        i as f64 / elapsed.as_secs_f64()
    );
    println!("| events per command | {:.2} |", events as f64 / i as f64);
    println!("| mean event frame | {} bytes |", bytes / events.max(1));
    println!(
        "| p50 per command (apply + serialize) | {} ns |",
        percentile(&samples, 0.50)
    );
    println!("| p99 per command | {} ns |", percentile(&samples, 0.99));
    println!(
        "| max per command | {} ns |",
        samples.last().copied().unwrap_or(0)
    );
}
