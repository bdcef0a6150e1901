//! Criterion micro-benchmarks of the server's hot paths, each measured in isolation:
//!
//! - `state/…`: the room state machine applying commands (`Room::apply`), without
//!   serializing anything: a hand cycle (raise hand, give floor, done: three commands) in a
//!   hand-queue stage, and one step of a round (`next_turn`) in the check-in round.
//! - `fanout/…`: one event frame delivered to 8 and 64 recipients' bounded outboxes, the way
//!   the room actor does it (`encode_once`: serialize once, clone the shared buffer per peer)
//!   against serializing it again for every recipient (`encode_each`).
//! - `replay/…`: bringing a room back from an on-disk sled store: `Store::load` and
//!   `server::rebuild` over a log of 256 and 4096 events, with no snapshot (every event
//!   replayed) and with a snapshot every 256 events as the room actor writes them (the last
//!   one lands on the last event, so nothing is left to replay after it); for 4096 events
//!   without snapshots also `load_only` (reading and decoding) and `rebuild_only` (replaying
//!   the decoded events in memory).
//! - `pairing/…`: pairing 60 people for a coaching swap with a year (12 monthly sessions) of
//!   history, each earlier session paired by the algorithm itself.
//!
//! Run: `cargo bench --bench micro` (about a minute on two cores), or one part of it with a
//! filter: `cargo bench --bench micro -- fanout`. Criterion keeps the last run's figures in
//! `target/criterion` and reports the change against them on the next run.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use circlekeeper::formats;
use circlekeeper::live::room::{frame, outbox, Outbound, PEER_OUTBOX, SNAPSHOT_EVERY};
use circlekeeper::pairing::{pair, History, PersonId, Request};
use circlekeeper::room::state::DEFAULT_GROUND_RULES;
use circlekeeper::room::{Recorded, Room, RoomSetup};
use circlekeeper::server::rebuild;
use circlekeeper::store::{RoomRecord, SledStore, Snapshot, Store, StoredEvent, Write};
use circlekeeper_protocol::{Command, ParticipantId, ServerMessage, Standing};
use criterion::{BenchmarkId, Criterion, Throughput};

/// The rooms' clock at the start, in milliseconds.
const T0: u64 = 1_800_000_000_000;
/// Stage index of the clarifying questions (a hand-queue stage) in the action learning set.
const CLARIFYING_QUESTIONS: usize = 2;
/// Participants besides the facilitator in every room here.
const PARTICIPANTS: usize = 7;
/// The id of every room here.
const ROOM: &str = "bench";

/// How every room here is opened: an action learning set.
fn setup() -> RoomSetup {
    RoomSetup {
        id: ROOM.into(),
        title: "Bench".into(),
        format: formats::builtin("action_learning_set").expect("a built-in format"),
        ground_rules: DEFAULT_GROUND_RULES.into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        earlier: Vec::new(),
        calls: Default::default(),
    }
}

/// A room of a facilitator and seven consenting participants, started (so in the check-in
/// round), and every event that made it so.
fn started_room() -> (Room, ParticipantId, Vec<ParticipantId>, Vec<Recorded>) {
    let mut room = Room::new(setup());
    let mut log = Vec::new();
    let (host, events) = room
        .join(T0, "Fran", Standing::Facilitator)
        .expect("the host joins");
    log.extend(events);
    let mut people = Vec::new();
    for i in 0..PARTICIPANTS {
        let (id, events) = room
            .join(T0, &format!("P{i}"), Standing::Participant)
            .expect("a participant joins");
        log.extend(events);
        let applied = room
            .apply(T0, id, &Command::AcceptGroundRules)
            .expect("consent");
        log.extend(applied.events);
        people.push(id);
    }
    let applied = room.apply(T0, host, &Command::Start).expect("start");
    log.extend(applied.events);
    (room, host, people, log)
}

/// [`started_room`], moved on to the clarifying questions, where people raise hands.
fn hand_queue_room() -> (Room, ParticipantId, Vec<ParticipantId>, Vec<Recorded>) {
    let (mut room, host, people, mut log) = started_room();
    let applied = room
        .apply(
            T0,
            host,
            &Command::JumpToStage {
                index: CLARIFYING_QUESTIONS,
            },
        )
        .expect("jump to the clarifying questions");
    log.extend(applied.events);
    (room, host, people, log)
}

/// The three commands of a hand cycle: `who` raises a hand, the facilitator gives the floor to
/// the first hand, `who` is done.
fn hand_cycle(
    room: &mut Room,
    now: u64,
    host: ParticipantId,
    who: ParticipantId,
    log: &mut Vec<Recorded>,
) {
    for (sender, cmd) in [
        (who, Command::RaiseHand),
        (host, Command::GiveFloor { participant: None }),
        (who, Command::Done),
    ] {
        let applied = room.apply(now, sender, &cmd).expect("accepted");
        log.extend(applied.events);
    }
}

// ----- the state machine ----------------------------------------------------------------------

fn state(c: &mut Criterion) {
    let mut group = c.benchmark_group("state");

    let (mut room, host, people, _) = hand_queue_room();
    let mut now = T0;
    let mut i = 0usize;
    group.bench_function("apply_hand_cycle", |b| {
        b.iter(|| {
            now += 1;
            let who = people[i % people.len()];
            i += 1;
            for (sender, cmd) in [
                (who, Command::RaiseHand),
                (host, Command::GiveFloor { participant: None }),
                (who, Command::Done),
            ] {
                black_box(room.apply(now, sender, black_box(&cmd)).expect("accepted"));
            }
        })
    });

    // A round ends after its last speaker: time its steps, then restart it (untimed) by
    // entering the check-in stage again, on one room that stays warm in the cache.
    let (mut room, host, _, _) = started_room();
    let speakers = room
        .view()
        .turn
        .round
        .as_ref()
        .map_or(0, |r| r.order.len() as u64);
    assert!(speakers > 1, "the check-in is a round");
    let mut now = T0;
    group.bench_function("apply_round_step", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let steps = left.min(speakers);
                now += 1;
                let start = Instant::now();
                for _ in 0..steps {
                    black_box(
                        room.apply(now, host, black_box(&Command::NextTurn))
                            .expect("next turn"),
                    );
                }
                timed += start.elapsed();
                left -= steps;
                room.apply(now, host, &Command::JumpToStage { index: 0 })
                    .expect("the round restarts");
            }
            timed
        })
    });
    group.finish();
}

// ----- fan-out --------------------------------------------------------------------------------

/// Deliveries into each outbox between drains: well within `PEER_OUTBOX`.
const DRAIN_EVERY: u64 = 512;

/// Run `send_to_all` over the senders `iters` times, timing only that: the outboxes are
/// drained (untimed) every [`DRAIN_EVERY`] deliveries, as their connection tasks would.
fn fanout_loop(
    iters: u64,
    senders: &[outbox::Sender<Outbound>],
    receivers: &mut [outbox::Receiver<Outbound>],
    mut send_to_all: impl FnMut(&[outbox::Sender<Outbound>]),
) -> Duration {
    let mut timed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(DRAIN_EVERY);
        let start = Instant::now();
        for _ in 0..chunk {
            send_to_all(senders);
        }
        timed += start.elapsed();
        left -= chunk;
        for rx in receivers.iter_mut() {
            while rx.try_recv().is_some() {}
        }
    }
    timed
}

fn fanout(c: &mut Criterion) {
    // The event a facilitator's "give floor" broadcasts: the whole turn state.
    let (mut room, host, people, _) = hand_queue_room();
    room.apply(T0, people[0], &Command::RaiseHand)
        .expect("raise hand");
    let applied = room
        .apply(T0, host, &Command::GiveFloor { participant: None })
        .expect("give floor");
    let recorded = applied.events.last().expect("an event").clone();
    let message = ServerMessage::Event {
        seq: recorded.seq,
        at: recorded.at,
        event: recorded.event.clone(),
    };
    eprintln!(
        "fanout: one `turn_changed` event frame of {} bytes",
        frame(&message).len()
    );

    let mut group = c.benchmark_group("fanout");
    for recipients in [8usize, 64] {
        let (senders, mut receivers): (Vec<_>, Vec<_>) = (0..recipients)
            .map(|_| outbox::channel::<Outbound>(PEER_OUTBOX))
            .unzip();
        // Criterion also reports recipients per second.
        group.throughput(Throughput::Elements(recipients as u64));
        group.bench_function(BenchmarkId::new("encode_once", recipients), |b| {
            b.iter_custom(|iters| {
                fanout_loop(iters, &senders, &mut receivers, |senders| {
                    // What the actor does: build the frame once (`event_frame`), then hand
                    // every peer a clone of the same shared bytes.
                    let f = frame(&ServerMessage::Event {
                        seq: recorded.seq,
                        at: recorded.at,
                        event: black_box(&recorded.event).clone(),
                    });
                    for tx in senders {
                        tx.try_send(Outbound::Frame(f.clone()))
                            .expect("room in the outbox");
                    }
                })
            })
        });
        group.bench_function(BenchmarkId::new("encode_each", recipients), |b| {
            b.iter_custom(|iters| {
                fanout_loop(iters, &senders, &mut receivers, |senders| {
                    for tx in senders {
                        tx.try_send(Outbound::Frame(frame(black_box(&message))))
                            .expect("room in the outbox");
                    }
                })
            })
        });
    }
    group.finish();
}

// ----- replay from the store ------------------------------------------------------------------

/// A sled store in a temporary directory holding one room whose log has `events` events (a
/// room filling up, then hand cycles), with a snapshot every [`SNAPSHOT_EVERY`] events when
/// `snapshots` is set, as the room actor writes them. Everything is flushed before it returns.
fn stored_room(events: usize, snapshots: bool) -> (tempfile::TempDir, SledStore, RoomRecord) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SledStore::open(dir.path()).expect("the store opens");
    let (mut room, host, people, mut log) = hand_queue_room();
    let mut now = T0;
    let mut i = 0;
    while log.len() < events {
        now += 1_000;
        hand_cycle(&mut room, now, host, people[i % people.len()], &mut log);
        i += 1;
    }
    log.truncate(events);
    let record = RoomRecord {
        setup: setup(),
        join_key_hash: [1; 32],
        host_key_hash: [2; 32],
        join_key: circlekeeper::secret::KeptKey::Unknown,
        created_at: T0,
        ended_at: None,
        series: None,
    };
    store
        .write(&[Write::Room {
            record: Box::new(record.clone()),
        }])
        .expect("the room record is written");
    // Write the log in batches as the actor would, following it with a replica of the room
    // to take the snapshots from.
    let mut replica = Room::new(setup());
    let mut snapshot_seq = 0;
    for chunk in log.chunks(64) {
        let mut writes = vec![Write::Events {
            room: ROOM.into(),
            events: chunk.iter().map(|r| StoredEvent::new(r, None)).collect(),
        }];
        for r in chunk {
            replica.replay(r);
            if snapshots && replica.seq() >= snapshot_seq + SNAPSHOT_EVERY {
                snapshot_seq = replica.seq();
                writes.push(Write::Snapshot {
                    room: ROOM.into(),
                    snapshot: Box::new(Snapshot {
                        room: replica.clone(),
                    }),
                });
            }
        }
        store.write(&writes).expect("the events are written");
    }
    store.flush().expect("the store flushes");
    (dir, store, record)
}

fn replay(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay");
    for (name, events, snapshots) in [
        ("no_snapshot", 256, false),
        ("no_snapshot", 4096, false),
        ("snapshot_every_256", 4096, true),
    ] {
        let (_dir, store, record) = stored_room(events, snapshots);
        // Check once, untimed, that the room comes back whole.
        let loaded = store.load(ROOM).expect("the room loads");
        assert_eq!(loaded.events.len(), events, "every event is stored");
        assert_eq!(
            loaded.snapshot.is_some(),
            snapshots,
            "a snapshot when asked"
        );
        let room = rebuild(&record, &loaded).expect("the room rebuilds");
        assert_eq!(room.seq(), events as u64, "every event is replayed");
        group.bench_function(BenchmarkId::new(name, events), |b| {
            b.iter(|| {
                let loaded = store.load(black_box(ROOM)).expect("the room loads");
                rebuild(&record, &loaded).expect("the room rebuilds")
            })
        });
        // Where the time goes, for the largest log without snapshots: reading and decoding
        // the records, against replaying the decoded events in memory.
        if events == 4096 && !snapshots {
            group.bench_function(BenchmarkId::new("load_only", events), |b| {
                b.iter(|| store.load(black_box(ROOM)).expect("the room loads"))
            });
            group.bench_function(BenchmarkId::new("rebuild_only", events), |b| {
                b.iter(|| rebuild(&record, black_box(&loaded)).expect("the room rebuilds"))
            });
        }
    }
    group.finish();
}

// ----- pairing --------------------------------------------------------------------------------

/// Sessions of history: a year of monthly coaching swaps.
const YEAR: u32 = 12;
/// The window for "met recently", as `benches/pairing.rs` uses it.
const RECENT: u32 = 3;

fn pairing(c: &mut Criterion) {
    let present: Vec<PersonId> = (0..60).map(|i| format!("member-{i:03}")).collect();
    let mut history = History::new();
    for session in 0..YEAR {
        let req = Request {
            recent: RECENT,
            ..Request::new(&present, &history, session, u64::from(session))
        };
        let groups = pair(&req).expect("a year of sessions pairs");
        history.record(session, &groups);
    }
    let mut group = c.benchmark_group("pairing");
    // Each pairing with another seed, as a facilitator asking for another arrangement would.
    let mut seed = 1000;
    group.bench_function("60_people_year_of_history", |b| {
        b.iter(|| {
            seed += 1;
            let req = Request {
                recent: RECENT,
                ..Request::new(&present, &history, YEAR, seed)
            };
            pair(black_box(&req)).expect("pairs")
        })
    });
    group.finish();
}

// ----- the harness ----------------------------------------------------------------------------

/// Short runs, so the whole bench takes about a minute; `--measurement-time` and friends on
/// the command line still override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .without_plots()
}

/// What `criterion_group!` and `criterion_main!` would generate, written out so that the
/// machine is named first (and no undocumented public function is generated).
fn main() {
    eprintln!("micro benches on {}", common::machine_line());
    let mut c = config().configure_from_args();
    state(&mut c);
    fanout(&mut c);
    replay(&mut c);
    pairing(&mut c);
    c.final_summary();
}
