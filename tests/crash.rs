//! Crash and restart tests against the real `circlekeeper` binary: `kill -9` at random moments
//! while commands are in flight, timers across a crash, a clean SIGTERM, and a data directory
//! that only one server may hold.
//!
//! Each test runs the binary Cargo built (`CARGO_BIN_EXE_circlekeeper`) on a fresh temporary
//! data directory, on `127.0.0.1:0`, and reads the address it listens on from its log. A
//! [`Binary`] kills and reaps its process when dropped, so no server outlives its test, even
//! when the test panics (and then the server's log is printed to help). Every wait is bounded.

#[path = "common/binary.rs"]
mod binary;
mod common;

use std::time::{Duration, Instant};

use binary::{Binary, BOOT};
use circlekeeper::live::room::MAX_REPLAY;
use circlekeeper_protocol::{
    Command, Event, ParticipantChange, Presence, RoomView, SessionStatus, TimerKind,
};
use common::{checkout_room, Acked, Client, Entry, Refused, Remote};
use serde_json::json;

/// How long a SIGTERM'd server may take to exit: its shutdown grace is 10 s per phase, and a
/// clean shutdown with nothing stuck takes a fraction of that.
const EXIT: Duration = Duration::from_secs(25);

/// Crash rounds in the kill -9 test.
const ROUNDS: u64 = 60;

/// Most commands pipelined in one round (a fresh connection may burst 30).
const MAX_PIPELINED: u64 = 16;

/// A stage timebox that no test can run out of (three hours).
const LONG_TIMEBOX_MS: u64 = 3 * 60 * 60 * 1000;

// ----- helpers ---------------------------------------------------------------------------

/// A small deterministic PRNG (splitmix64), seeded per round so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x9E37_79B9_7F4A_7C15)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The room with everyone's presence set alike: presence is not what a crash test compares.
fn without_presence(view: &RoomView) -> RoomView {
    let mut view = view.clone();
    for p in &mut view.participants {
        p.presence = Presence::Connected;
    }
    view
}

/// A custom format of open and hand-queue stages whose timers never run out in a test.
fn long_format() -> serde_json::Value {
    json!({
        "name": "Crash circle",
        "description": "Stages too long to end during a test.",
        "stages": [
            { "kind": "check_in", "title": "Arrive", "timebox_ms": LONG_TIMEBOX_MS, "speaking": "open" },
            { "kind": "discussion", "title": "Discuss", "timebox_ms": LONG_TIMEBOX_MS, "speaking": "hand_queue" },
            { "kind": "coaching_questions", "title": "Questions", "timebox_ms": LONG_TIMEBOX_MS,
              "speaking": "hand_queue" },
            { "kind": "check_out", "title": "Out", "timebox_ms": LONG_TIMEBOX_MS, "speaking": "open" }
        ]
    })
}

/// A room with a facilitator and `names` participants who all accepted the ground rules, its
/// session started; everyone has seen every event.
async fn running_circle(remote: &Remote, format: serde_json::Value, names: &[&str]) -> Vec<Client> {
    let room = remote
        .create_room(json!({
            "title": "Crash circle",
            "format": format,
            "options": { "warn_before_ms": 1_000 }
        }))
        .await;
    let mut clients = vec![remote.host(&room, "Fran").await];
    for name in names {
        clients.push(remote.join(&room, name).await);
    }
    for c in clients.iter_mut() {
        c.ok(Command::AcceptGroundRules).await;
    }
    let start = clients[0].ok(Command::Start).await;
    settle(&mut clients, start.seq).await;
    clients
}

/// Everyone catches up to the room's sequence number (asked with a `sync` by the first client);
/// returns it.
async fn settle(clients: &mut [Client], at_least: u64) -> u64 {
    let seq = clients[0].sync().await.seq.max(at_least);
    for c in clients.iter_mut() {
        c.catch_up(seq).await;
    }
    seq
}

/// A command a facilitator might send at any moment of a circle.
fn facilitator_command(rng: &mut Rng, tag: &str) -> Command {
    match rng.below(13) {
        0 => Command::RaiseHand,
        1 => Command::LowerHand {
            participant: Some(1 + rng.below(4) as u32),
        },
        2 => Command::GiveFloor { participant: None },
        3 => Command::GiveFloor {
            participant: Some(2 + rng.below(3) as u32),
        },
        4 => Command::TakeFloor,
        5 => Command::PushPrompt {
            prompt: None,
            text: Some(format!("What would help you most right now? ({tag})")),
            to: None,
        },
        6 => Command::ClearPrompt,
        7 => {
            let magnitude = 10 + rng.below(51) as i32;
            let seconds = if rng.below(2) == 0 {
                magnitude
            } else {
                -magnitude
            };
            Command::AdjustTimer {
                timer: TimerKind::Stage,
                seconds,
            }
        }
        8 => Command::NextStage,
        9 => Command::PreviousStage,
        10 => Command::Pause,
        11 => Command::ResumeSession,
        _ => Command::Done,
    }
}

/// A command a participant might send at any moment of a circle.
fn participant_command(rng: &mut Rng) -> Command {
    match rng.below(4) {
        0 => Command::RaiseHand,
        1 => Command::LowerHand { participant: None },
        2 => Command::Done,
        _ => Command::DrawPrompt {
            seed: Some(rng.next()),
        },
    }
}

/// Whether an accepted command of this kind always changes the room (so the server remembers
/// its id and a retry is answered with the same ack).
fn always_changes_the_room(command: &Command) -> bool {
    matches!(
        command,
        Command::RaiseHand
            | Command::LowerHand { .. }
            | Command::GiveFloor { .. }
            | Command::TakeFloor
            | Command::PushPrompt { .. }
            | Command::AdjustTimer { .. }
            | Command::NextStage
            | Command::PreviousStage
            | Command::Pause
            | Command::ResumeSession
            | Command::Done
    )
}

/// A pipelined command and, if it came before the kill, its answer.
struct Sent {
    who: usize,
    id: String,
    command: Command,
    answer: Option<Result<Acked, Refused>>,
}

/// What a round knew when it killed the server.
struct Crashed {
    round: u64,
    /// The room's sequence number before the round's commands (every client had seen it).
    base: u64,
    /// The highest sequence number named by an ack.
    max_acked: u64,
    /// Every command, answered or in flight.
    sent: Vec<Sent>,
    /// When every command was answered: the room as the facilitator saw it at the end.
    settled_view: Option<RoomView>,
}

/// Pipeline a random number of commands from random members without waiting, read a random
/// number of the answers, and stop there (the caller kills the server).
async fn pipeline(clients: &mut [Client], round: u64, rng: &mut Rng) -> Crashed {
    let base = clients[0].seq;
    let n = 1 + rng.below(MAX_PIPELINED) as usize;
    let mut sent = Vec::with_capacity(n);
    for i in 0..n {
        let who = if rng.below(3) == 0 {
            1 + rng.below(clients.len() as u64 - 1) as usize
        } else {
            0
        };
        let command = if who == 0 {
            facilitator_command(rng, &format!("round {round}, command {i}"))
        } else {
            participant_command(rng)
        };
        let id = clients[who].send(command.clone()).await;
        sent.push(Sent {
            who,
            id,
            command,
            answer: None,
        });
    }
    // Every fourth round waits for every answer, so the room at the kill is exactly known.
    let answered = if round % 4 == 3 {
        n
    } else {
        rng.below(n as u64 + 1) as usize
    };
    for s in sent.iter_mut().take(answered) {
        s.answer = Some(clients[s.who].answer(&s.id).await);
    }
    let max_acked = sent
        .iter()
        .filter_map(|s| match &s.answer {
            Some(Ok(ack)) => Some(ack.seq),
            _ => None,
        })
        .max()
        .unwrap_or(base);
    let settled_view = if answered == n {
        // Nothing is in flight and nothing else happens in the room: its last event is the
        // one the last applied command acknowledged.
        let last = max_acked.max(base);
        clients[0].catch_up(last).await;
        Some(clients[0].view.clone())
    } else {
        None
    };
    Crashed {
        round,
        base,
        max_acked,
        sent,
        settled_view,
    }
}

/// After a restart: the room is served, holds everything acknowledged and the same history the
/// clients saw, everyone resumes with contiguous events, and a retried command is not applied
/// twice. Leaves everyone connected and caught up.
/// Returns how many events past the last ack the restarted room held (other than presence):
/// commands that were durable but whose answers the test had not read when it killed.
async fn check_after_crash(remote: &Remote, clients: &mut [Client], crashed: &Crashed) -> usize {
    let round = crashed.round;
    let room_id = clients[0].room_id.clone();
    let token = clients[0].token.clone();

    // The first look at the room after the restart, before anyone resumes.
    let first = remote.resume("First", &room_id, &token).await;
    let welcome = first.welcome.clone().expect("welcomed");
    assert_eq!(welcome.kind, Entry::Welcome, "round {round}");
    assert!(
        welcome.seq >= crashed.max_acked,
        "round {round}: event {} was acknowledged before kill -9, but the restarted room ends at {}",
        crashed.max_acked,
        welcome.seq
    );
    if let Some(before) = &crashed.settled_view {
        assert_eq!(
            without_presence(&first.view),
            without_presence(before),
            "round {round}: every command was acknowledged before kill -9, yet the restarted room \
             differs from the room the clients saw"
        );
    }

    // Everyone resumes from the last event they saw and gets exactly the ones they missed (the
    // harness checks that sequence numbers are contiguous).
    for c in clients.iter_mut() {
        let before = c.seq;
        let entry = c.reconnect(remote).await;
        assert!(
            matches!(entry.kind, Entry::Resumed(_)),
            "round {round}: {} resumed from {before} but got {:?} (seq {}): events it saw are missing",
            c.name,
            entry.kind,
            entry.seq
        );
    }
    let seq = settle(clients, crashed.max_acked).await;

    // The history since the round began, read back from disk, is the one the clients saw.
    let mut auditor = remote.connect("Auditor").await;
    auditor.you = clients[0].you;
    auditor.seq = crashed.base;
    let entry = auditor
        .enter(Command::Resume {
            room: room_id.clone(),
            token: token.clone(),
            last_seq: Some(crashed.base),
        })
        .await;
    assert_eq!(
        entry.kind,
        Entry::Resumed(seq - crashed.base),
        "round {round}"
    );
    auditor.catch_up(seq).await;
    for c in clients.iter() {
        for seen in c.log.iter().filter(|s| s.seq > crashed.base) {
            let stored = &auditor.log[(seen.seq - crashed.base - 1) as usize];
            assert_eq!(
                stored, seen,
                "round {round}: {} saw event {} before kill -9, but the restarted server holds another \
                 event under that sequence number: acknowledged history was lost or rewritten",
                c.name, seen.seq
            );
        }
    }
    let unanswered = auditor
        .log
        .iter()
        .filter(|s| s.seq > crashed.max_acked)
        .filter(|s| {
            !matches!(
                s.event,
                Event::ParticipantUpdated {
                    change: ParticipantChange::Presence,
                    ..
                }
            )
        })
        .count();

    // A fresh welcome shows the room the resumed clients built from their events.
    let look = remote.resume("Look", &room_id, &token).await;
    assert_eq!(look.seq, seq, "round {round}: the room moved on");
    assert_eq!(
        without_presence(&look.view),
        without_presence(&clients[0].view),
        "round {round}: the room the facilitator built from events differs from the room served"
    );

    // Retrying an acknowledged command after the restart is answered again, not applied again.
    let retry = crashed.sent.iter().rev().find_map(|s| match &s.answer {
        Some(Ok(ack)) if always_changes_the_room(&s.command) => Some((s, ack.clone())),
        _ => None,
    });
    if let Some((s, ack)) = retry {
        let c = &mut clients[s.who];
        c.send_with_id(&s.id, s.command.clone()).await;
        let again = c.answer(&s.id).await.unwrap_or_else(|r| {
            panic!(
                "round {round}: retrying acknowledged {} ({:?}) after the restart was refused: {r:?}",
                s.id, s.command
            )
        });
        assert_eq!(
            again, ack,
            "round {round}: the retried {} got another ack",
            s.id
        );
        let synced = c.sync().await;
        assert_eq!(
            synced.seq, seq,
            "round {round}: retrying {} ({:?}) changed the room again",
            s.id, s.command
        );
    }

    for extra in [first, auditor, look] {
        extra.close().await;
    }
    unanswered
}

/// After every crash: the whole history, replayed from disk from the first event, is the one
/// the clients saw live or were replayed, event for event.
async fn assert_whole_history(remote: &Remote, clients: &mut [Client]) {
    let seq = settle(clients, 0).await;
    assert!(
        seq as usize <= MAX_REPLAY,
        "{seq} events: too many to replay one by one; lower ROUNDS"
    );
    let mut auditor = remote.connect("Auditor").await;
    auditor.you = clients[0].you;
    let entry = auditor
        .enter(Command::Resume {
            room: clients[0].room_id.clone(),
            token: clients[0].token.clone(),
            last_seq: Some(0),
        })
        .await;
    assert_eq!(entry.kind, Entry::Resumed(seq));
    auditor.catch_up(seq).await;
    for c in clients.iter() {
        for seen in &c.log {
            assert_eq!(
                &auditor.log[(seen.seq - 1) as usize],
                seen,
                "{} saw event {} differently from the history on disk",
                c.name,
                seen.seq
            );
        }
    }
    auditor.close().await;
}

// ----- tests -----------------------------------------------------------------------------

#[tokio::test]
async fn acknowledged_commands_survive_kill_9_at_random_moments() {
    let began = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut clients: Vec<Client> = Vec::new();
    let mut crashed: Option<Crashed> = None;
    let mut in_flight_rounds = 0;
    let mut durable_unanswered_rounds = 0;
    for round in 0..=ROUNDS {
        let server = Binary::start(dir.path());
        let remote = server.remote();
        match crashed.take() {
            Some(last) => {
                let unanswered = check_after_crash(&remote, &mut clients, &last).await;
                if unanswered > 0 {
                    durable_unanswered_rounds += 1;
                }
                let complaints = server.complaints();
                assert!(
                    complaints.is_empty(),
                    "round {round}: the restarted server complained:\n{}",
                    complaints.join("\n")
                );
            }
            None => {
                clients = running_circle(&remote, long_format(), &["Ada", "Ben", "Cy"]).await;
            }
        }
        if round == ROUNDS {
            assert_whole_history(&remote, &mut clients).await;
            break;
        }
        let mut rng = Rng::new(round);
        let last = pipeline(&mut clients, round, &mut rng).await;
        if last.sent.iter().any(|s| s.answer.is_none()) {
            in_flight_rounds += 1;
        }
        server.kill9();
        crashed = Some(last);
    }
    assert!(
        in_flight_rounds >= ROUNDS / 3,
        "only {in_flight_rounds} of {ROUNDS} rounds killed the server with commands in flight"
    );
    eprintln!(
        "{ROUNDS} kill -9 rounds ({in_flight_rounds} with answers unread, {durable_unanswered_rounds} \
         of them with unanswered commands durable), {} events, in {:?}",
        clients[0].seq,
        began.elapsed()
    );
}

#[tokio::test]
async fn timers_keep_their_remaining_time_across_a_crash() {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let format = json!({
        "name": "Timed circle",
        "stages": [
            { "kind": "discussion", "title": "Discuss", "timebox_ms": 600_000, "speaking": "hand_queue" },
            { "kind": "check_out", "title": "Out", "timebox_ms": 600_000, "speaking": "open" }
        ]
    });
    let server = Binary::start(dir.path());
    let mut clients = running_circle(&server.remote(), format, &["Ada"]).await;
    let running = clients[0].stage_timer();
    let ends_at = running.ends_at.expect("the stage timer runs");
    let entered = clients[0].view.stage.as_ref().expect("a stage").entered_at;
    assert_eq!(ends_at, entered + 600_000);
    server.kill9();

    // A running timer comes back with the same deadline: the remaining time is still right.
    let server = Binary::start(dir.path());
    let remote = server.remote();
    let room_id = clients[0].room_id.clone();
    let token = clients[0].token.clone();
    let look = remote.resume("Look", &room_id, &token).await;
    assert_eq!(look.stage_timer(), running, "the restored stage timer");
    assert_eq!(look.view.session.status, SessionStatus::Running);
    look.close().await;
    clients[0].reconnect(&remote).await;
    assert_eq!(clients[0].stage_timer(), running);

    // A paused session keeps what was left of its timer, to the millisecond.
    let pause = clients[0].ok(Command::Pause).await;
    let paused = clients[0].stage_timer();
    let remaining = paused.paused_remaining_ms.expect("a paused remainder");
    assert_eq!(remaining, ends_at as i64 - pause.server_time as i64);
    assert_eq!(paused.ends_at, None);
    server.kill9();

    let server = Binary::start(dir.path());
    let remote = server.remote();
    let look = remote.resume("Look", &room_id, &token).await;
    assert_eq!(look.view.session.status, SessionStatus::Paused);
    assert_eq!(look.stage_timer(), paused, "the restored paused timer");
    look.close().await;
    clients[0].reconnect(&remote).await;
    let resumed = clients[0].ok(Command::ResumeSession).await;
    assert_eq!(
        clients[0].stage_timer().ends_at,
        Some(resumed.server_time + remaining as u64),
        "resuming after the crash runs on from what was left"
    );

    // A deadline due just after the crash fires at that deadline, not a timebox later.
    let left_seconds = (remaining / 1000) as i32 - 3;
    clients[0]
        .ok(Command::AdjustTimer {
            timer: TimerKind::Stage,
            seconds: -left_seconds,
        })
        .await;
    let soon = clients[0]
        .stage_timer()
        .ends_at
        .expect("the stage timer runs");
    server.kill9();

    let server = Binary::start(dir.path());
    let remote = server.remote();
    clients[0].reconnect(&remote).await;
    let expired = clients[0]
        .expect_event(|e| {
            matches!(
                e,
                Event::TimerExpired {
                    timer: TimerKind::Stage,
                    ..
                }
            )
        })
        .await;
    let Event::TimerExpired { state, .. } = expired else {
        unreachable!("expect_event returns a matching event");
    };
    assert_eq!(state.ends_at, Some(soon), "the deadline survived the crash");
    let at = clients[0]
        .log
        .iter()
        .rev()
        .find(|s| matches!(s.event, Event::TimerExpired { .. }))
        .map(|s| s.at)
        .expect("the expiry is in the log");
    assert!(at >= soon, "expired at {at}, before its deadline {soon}");
    drop(server);
}

#[tokio::test]
async fn sigterm_tells_clients_to_reconnect_and_the_data_directory_reopens_clean() {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut server = Binary::start(dir.path());
    let mut clients = running_circle(&server.remote(), long_format(), &["Ada", "Ben"]).await;
    clients[0]
        .ok(Command::PushPrompt {
            prompt: None,
            text: Some("What are you noticing?".into()),
            to: None,
        })
        .await;
    let ada = clients[1].you;
    clients[1].ok(Command::RaiseHand).await;
    clients[2].ok(Command::RaiseHand).await;
    let last = clients[0]
        .ok(Command::GiveFloor {
            participant: Some(ada),
        })
        .await;
    let seq = settle(&mut clients, last.seq).await;
    let before = clients[0].view.clone();

    let asked = Instant::now();
    server.terminate();
    for c in clients.iter_mut() {
        let code = c.expect_close().await;
        assert_eq!(code, Some(1001), "{}: close code on SIGTERM", c.name);
    }
    let status = server.wait_exit(EXIT);
    let took = asked.elapsed();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let complaints = server.complaints();
    assert!(
        complaints.is_empty(),
        "the shutdown complained:\n{}",
        complaints.join("\n")
    );
    assert!(
        server.output_text().contains("circlekeeper stopped"),
        "no clean stop in the log:\n{}",
        server.output_text()
    );
    drop(server);

    let server = Binary::start(dir.path());
    let remote = server.remote();
    for c in clients.iter_mut() {
        let entry = c.reconnect(&remote).await;
        assert!(
            matches!(entry.kind, Entry::Resumed(_)),
            "{}: resumed from {} but got {entry:?}",
            c.name,
            c.seq
        );
    }
    let now = settle(&mut clients, seq).await;
    assert!(now >= seq);
    assert_eq!(
        without_presence(&clients[0].view),
        without_presence(&before)
    );
    assert_eq!(clients[0].floor(), Some(ada));
    assert_eq!(clients[0].view.turn.queue, vec![clients[2].you]);
    assert!(clients[0].view.prompt.is_some());
    let look = remote
        .resume(
            "Look",
            &clients[0].room_id.clone(),
            &clients[0].token.clone(),
        )
        .await;
    assert_eq!(look.view, clients[0].view);
    look.close().await;
    let complaints = server.complaints();
    assert!(
        complaints.is_empty(),
        "the restarted server complained:\n{}",
        complaints.join("\n")
    );
    eprintln!("SIGTERM to exit: {took:?}");
}

#[tokio::test]
async fn a_second_server_refuses_a_data_directory_in_use() {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let first = Binary::start(dir.path());
    let mut clients = running_circle(&first.remote(), long_format(), &["Ada"]).await;

    let mut second = Binary::spawn(dir.path());
    let status = second.wait_exit(BOOT);
    let said = second.output_text();
    assert!(
        !status.success(),
        "a second server on the same data directory: {status}\n{said}"
    );
    assert!(
        !said.contains("circlekeeper listening"),
        "the second server listened:\n{said}"
    );
    assert!(
        said.contains(&dir.path().display().to_string()),
        "the refusal should name the data directory {}:\n{said}",
        dir.path().display()
    );
    drop(second);

    // The first server is unharmed.
    let health = first.remote().http("GET", "/healthz", b"").await;
    assert_eq!(health.status, 200, "{}", health.text);
    clients[1].ok(Command::RaiseHand).await;
    let seq = clients[1].seq;
    clients[0].catch_up(seq).await;
    assert_eq!(clients[0].view.turn.queue, vec![clients[1].you]);
}

#[tokio::test]
async fn sigterm_does_not_wait_for_a_client_that_stopped_reading() {
    use circlekeeper_protocol::{limits::MAX_COMMITMENTS_PER_PERSON, Visibility};
    let dir = tempfile::tempdir().expect("a temporary data directory");
    let mut server = Binary::start(dir.path());
    let remote = server.remote();
    let room = remote.create_room(checkout_room("Full sockets")).await;
    let mut host = remote.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    // This one joins, then never reads again: its socket fills up.
    let mut sleeper = remote.join(&room, "Sleeper").await;
    sleeper.ok(Command::AcceptGroundRules).await;
    let mut writers = Vec::new();
    for i in 0..8 {
        let mut c = remote.join(&room, &format!("Writer {i}")).await;
        c.ok(Command::AcceptGroundRules).await;
        writers.push(c);
    }
    host.ok(Command::Start).await;
    // Large shared commitments: megabytes of events for the sleeper, who reads none of them.
    for (i, c) in writers.iter_mut().enumerate() {
        for k in 0..MAX_COMMITMENTS_PER_PERSON {
            c.ok(Command::RecordCommitment {
                text: format!("{i}-{k} {}", "z".repeat(470)),
                due: None,
                visibility: Visibility::Circle,
            })
            .await;
        }
    }
    let asked = Instant::now();
    server.terminate();
    let status = server.wait_exit(EXIT);
    let took = asked.elapsed();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // The shutdown grace is 10 s; a client that does not read must not stretch it.
    assert!(
        took < Duration::from_secs(10),
        "SIGTERM took {took:?} with a client that stopped reading"
    );
    drop(sleeper);
}
