//! One reducer, checked against the web client: event streams recorded from real sessions over
//! real sockets are replayed with the protocol crate's `RoomView::apply` and with the web
//! client's `applyEvent` (`web/connection.js`, run under Node.js by `tests/replay_view.mjs`);
//! both must build the same view, and the Rust one must be the view a fresh welcome carries.
//!
//! Without `node` on the machine the web half is skipped with a note, unless the `CI`
//! environment variable is set: then a missing `node` fails the test.

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use circlekeeper::room::prompts;
use circlekeeper_protocol::{
    Command, Event, LinkKind, Millis, PairsReason, Role, RoomView, StageKind, TimerKind, Visibility,
};
use common::{is_timer, Client, TestServer};
use serde_json::{json, Value};

const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What one client received, as sent: the room from its last welcome and every event after it.
struct Stream {
    /// Who received it (for failure messages).
    name: String,
    /// The `room` of the last `welcome` (or `snapshot`), as JSON.
    room: Value,
    /// Every `event` after it, as JSON, in order.
    events: Vec<Value>,
    /// The sequence number the stream ends at.
    seq: u64,
}

/// The stream `client` received, from its frames on the wire. A `resumed` keeps the view and
/// its replayed events follow as ordinary event frames; a `welcome` or `snapshot` replaces it.
fn recorded(client: &Client) -> Stream {
    let mut room = None;
    let mut events = Vec::new();
    let mut seq = 0;
    for frame in &client.frames {
        match frame["type"].as_str() {
            Some("welcome") | Some("snapshot") => {
                room = Some(frame["room"].clone());
                events.clear();
                seq = frame["seq"].as_u64().unwrap_or_default();
            }
            Some("event") => {
                events.push(frame["event"].clone());
                seq = frame["seq"].as_u64().unwrap_or_default();
            }
            _ => {}
        }
    }
    Stream {
        name: client.name.clone(),
        room: room.unwrap_or_else(|| panic!("{}: never welcomed", client.name)),
        events,
        seq,
    }
}

/// The stream replayed with the protocol crate's reducer: the view it starts from, then the
/// view after each event.
fn replay_in_rust(stream: &Stream) -> Vec<RoomView> {
    let mut view: RoomView = serde_json::from_value(stream.room.clone())
        .unwrap_or_else(|e| panic!("{}: the welcome's room does not parse: {e}", stream.name));
    let mut steps = vec![view.clone()];
    for event in &stream.events {
        let event: Event = serde_json::from_value(event.clone())
            .unwrap_or_else(|e| panic!("{}: an event does not parse ({e}): {event}", stream.name));
        view.apply(&event);
        steps.push(view.clone());
    }
    steps
}

/// The view the stream ends with, replayed with the protocol crate's reducer.
fn final_view(stream: &Stream) -> RoomView {
    replay_in_rust(stream)
        .pop()
        .expect("a replay starts from the welcome's room")
}

/// Every event kind there is.
const EVERY_KIND: [&str; 15] = [
    "participant_joined",
    "participant_updated",
    "session_changed",
    "stage_entered",
    "turn_changed",
    "floor_time_credited",
    "timer_changed",
    "timer_warning",
    "timer_expired",
    "plan_changed",
    "pairs_changed",
    "notes_changed",
    "prompt_changed",
    "link_changed",
    "call_links_changed",
];

/// A Rust view as the web client holds it: `normalView` fills in what the server leaves out of
/// a view while it is empty (`pairs`, `commitments`, `carried`, `feedback`).
fn as_the_web_client_holds_it(view: &RoomView) -> Value {
    let mut value = serde_json::to_value(view).expect("a view serializes");
    let fields = value.as_object_mut().expect("a view is an object");
    fields
        .entry("pairs")
        .or_insert_with(|| json!({ "proposal": null, "groups": [], "waiting": [] }));
    for list in ["commitments", "carried", "feedback"] {
        fields.entry(list).or_insert_with(|| json!([]));
    }
    value
}

/// A missing `node` skips the web half, unless `CI` is set.
fn node_missing(why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("the web client's reducer cannot be checked: {why} (CI is set, so this fails)");
    }
    eprintln!("SKIPPED: the web client's reducer was not checked: {why}");
}

/// The streams replayed with the web client's `applyEvent` under Node.js, each as the view it
/// starts from and the view after each event; `None` (after saying why) when there is no
/// `node` to run it.
fn replay_in_web_client(streams: &[Stream]) -> Option<Vec<Vec<Value>>> {
    let runner = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/replay_view.mjs");
    let mut child = match Process::new("node")
        .arg(&runner)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            node_missing(&format!("no `node` on the PATH ({e})"));
            return None;
        }
        Err(e) => panic!("node could not be started: {e}"),
    };
    let input = json!({
        "streams": streams
            .iter()
            .map(|s| json!({ "room": s.room, "events": s.events }))
            .collect::<Vec<_>>(),
    });
    {
        let mut stdin = child.stdin.take().expect("node's stdin");
        stdin
            .write_all(input.to_string().as_bytes())
            .expect("write the streams to node");
    }
    let out = child.wait_with_output().expect("node runs");
    assert!(
        out.status.success(),
        "node {} failed: {}",
        runner.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let views: Vec<Vec<Value>> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "node printed no JSON array of replays ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert_eq!(views.len(), streams.len(), "one view per stream");
    Some(views)
}

/// Run a timer that ends at `ends` and warns `warn_before` ms earlier out under the test's
/// clock: to its warning, then past its end, waiting each time until `client` sees the event
/// `is(event, expired)` picks out.
async fn run_out(
    server: &TestServer,
    client: &mut Client,
    ends: Millis,
    warn_before: u64,
    is: impl Fn(&Event, bool) -> bool,
) {
    server.advance_to(ends - warn_before);
    client.expect_event(|e| is(e, false)).await;
    server.advance_to(ends + 10 * SECOND);
    client.expect_event(|e| is(e, true)).await;
}

/// Bring every client up to date: a `sync` round trip each, then all up to the last seq.
async fn settle(clients: &mut [&mut Client]) {
    for c in clients.iter_mut() {
        c.sync().await;
    }
    let last = clients.iter().map(|c| c.seq).max().unwrap_or(0);
    for c in clients.iter_mut() {
        c.catch_up(last).await;
    }
}

/// What a fresh connection is welcomed with: the server's truth about the room.
struct Fresh {
    /// The room, parsed.
    view: RoomView,
    /// The room, as sent.
    room: Value,
    /// The room's sequence number.
    seq: u64,
}

/// The room as a fresh connection is welcomed into it now (as `host`'s participant, on a new
/// connection).
async fn fresh_welcome(server: &TestServer, host: &Client) -> Fresh {
    let fresh = server.resume("Fresh", &host.room_id, &host.token).await;
    let seq = fresh.welcome.as_ref().expect("welcomed").seq;
    Fresh {
        view: fresh.view.clone(),
        room: recorded(&fresh).room,
        seq,
    }
}

/// An action learning set: joins, consent, presenters set and shuffled, a check-in round with
/// a pass and a speaker running into overtime, a late joiner, hands raised and lowered, the
/// floor given and taken, a stage timer's warning and expiry, roles, pause and resume, timer
/// adjustments, prompts, jumps, a removal, links replaced and turned off, a reconnect, the end.
/// Returns the streams and the room's fresh welcome.
async fn action_learning_set(server: &TestServer) -> (Vec<Stream>, Fresh) {
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    let mut cy = server.join(&room, "Cy").await;
    for c in [&mut fran, &mut ada, &mut ben, &mut cy] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::SetPresenterOrder {
        order: vec![2, 3, 4],
    })
    .await;
    fran.ok(Command::ShufflePresenters { seed: Some(42) }).await;
    fran.ok(Command::SetPresenterOrder {
        order: vec![2, 3, 4],
    })
    .await;

    // The check-in round: Fran is done, Ada passes, Ben speaks, Cy runs over.
    fran.ok(Command::Start).await;
    fran.ok(Command::Done).await;
    ada.catch_up(fran.seq).await;
    ada.ok(Command::Pass).await;
    ben.catch_up(ada.seq).await;
    server.advance(ms(30 * SECOND));
    ben.ok(Command::Done).await;
    cy.catch_up(ben.seq).await;
    let ends = cy
        .view
        .turn
        .speaker_timer
        .as_ref()
        .and_then(|t| t.ends_at)
        .expect("Cy's speaker timer runs");
    run_out(server, &mut fran, ends, 22_500, |e, expired| {
        is_timer(TimerKind::Speaker, e, expired)
    })
    .await;
    fran.ok(Command::RestartTimer {
        timer: TimerKind::Speaker,
    })
    .await;
    cy.catch_up(fran.seq).await;
    cy.ok(Command::Done).await;

    // Dee arrives late: her welcome is mid-session.
    let mut dee = server.join(&room, "Dee").await;
    dee.ok(Command::AcceptGroundRules).await;
    fran.catch_up(dee.seq).await;

    // Ada presents; then clarifying questions with a hand queue.
    fran.ok(Command::NextStage).await;
    server.advance(ms(2 * MINUTE));
    fran.ok(Command::NextStage).await;
    for c in [&mut ben, &mut cy, &mut dee] {
        c.catch_up(fran.seq).await;
        c.ok(Command::RaiseHand).await;
    }
    ben.ok(Command::LowerHand { participant: None }).await;
    fran.catch_up(ben.seq).await;
    fran.ok(Command::GiveFloor { participant: None }).await;
    server.advance(ms(20 * SECOND));
    fran.ok(Command::TakeFloor).await;
    fran.ok(Command::GiveFloor { participant: None }).await;
    dee.catch_up(fran.seq).await;
    dee.ok(Command::Done).await;
    fran.catch_up(dee.seq).await;

    // The stage timer warns, then runs into overtime.
    let ends = fran.stage_timer().ends_at.expect("the stage timer runs");
    run_out(server, &mut fran, ends, MINUTE, |e, expired| {
        is_timer(TimerKind::Stage, e, expired)
    })
    .await;

    // A timekeeper, rotated; they pause, resume and adjust.
    fran.ok(Command::AssignRole {
        participant: 3,
        role: Role::Timekeeper,
    })
    .await;
    fran.ok(Command::RotateRole {
        role: Role::Timekeeper,
    })
    .await;
    fran.ok(Command::NextStage).await;
    server.advance(ms(5 * MINUTE));
    cy.catch_up(fran.seq).await;
    cy.ok(Command::Pause).await;
    server.advance(ms(7 * MINUTE));
    cy.ok(Command::ResumeSession).await;
    cy.ok(Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds: 60,
    })
    .await;
    cy.ok(Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds: -30,
    })
    .await;
    cy.ok(Command::RestartTimer {
        timer: TimerKind::Stage,
    })
    .await;

    // Dee steers as co-facilitator: prompts, jumps.
    fran.ok(Command::AssignRole {
        participant: 5,
        role: Role::CoFacilitator,
    })
    .await;
    dee.catch_up(fran.seq).await;
    let bank = prompts::for_stage(StageKind::CoachingQuestions);
    dee.ok(Command::PushPrompt {
        prompt: Some(bank[0].id.clone()),
        text: None,
        to: None,
    })
    .await;
    dee.ok(Command::ClearPrompt).await;
    dee.ok(Command::PushPrompt {
        prompt: None,
        text: Some("What would you try first?".into()),
        to: Some(Role::Coach),
    })
    .await;
    dee.ok(Command::JumpToStage { index: 6 }).await;
    dee.ok(Command::PreviousStage).await;
    dee.ok(Command::NextStage).await;

    // From the check-out, Dee joins the presenters: her stages go in before the current one,
    // so the plan change moves the current stage's index.
    let last = dee.view.plan.len() - 1;
    dee.ok(Command::JumpToStage { index: last }).await;
    dee.ok(Command::SetPresenterOrder {
        order: vec![2, 3, 4, 5],
    })
    .await;
    assert_eq!(
        dee.stage_index(),
        dee.view.plan.len() - 1,
        "still in the check-out, further down"
    );
    assert!(dee.stage_index() > last);
    dee.ok(Command::JumpToStage { index: 6 }).await;

    // Cy is removed (the plan loses their presentation); the links change.
    fran.catch_up(dee.seq).await;
    fran.ok(Command::RemoveParticipant { participant: 4 }).await;
    assert_eq!(cy.expect_close().await, Some(4004));
    fran.ok(Command::RotateLink {
        link: LinkKind::Join,
    })
    .await;
    fran.ok(Command::RevokeLink {
        link: LinkKind::Join,
    })
    .await;

    // Ada's connection drops; she comes back with the events she missed.
    ada.disconnect().await;
    fran.expect_event(
        |e| matches!(e, Event::ParticipantUpdated { participant, .. } if participant.id == 2),
    )
    .await;
    ada.reconnect(server).await;

    fran.ok(Command::EndSession).await;
    settle(&mut [&mut fran, &mut ada, &mut ben, &mut dee]).await;
    let fresh = fresh_welcome(server, &fran).await;
    let streams = [&fran, &ada, &ben, &cy, &dee]
        .into_iter()
        .map(recorded)
        .collect();
    (streams, fresh)
}

/// A coaching swap: proposals adjusted and confirmed, a late joiner placed, a half ended,
/// feedback shared, made private and shared again, commitments shared and reviewed, roles
/// switched, group timers warning and
/// running out, everyone moved on, someone leaving, the check-out, the end.
/// Returns the streams and the room's fresh welcome.
async fn coaching_swap(server: &TestServer) -> (Vec<Stream>, Fresh) {
    let room = server.create_builtin_room("coaching_swap").await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Chen", "Dee", "Eli"] {
        let mut p = server.join(&room, name).await;
        p.ok(Command::AcceptGroundRules).await;
        people.push(p);
    }
    fran.sync().await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(7) }).await;
    let proposal = fran.view.pairs.proposal.clone().expect("a proposal");
    fran.ok(Command::SwapPeople {
        a: proposal.groups[0][0],
        b: proposal.groups[1][0],
    })
    .await;
    fran.ok(Command::LockGroup {
        index: 0,
        locked: true,
    })
    .await;
    fran.ok(Command::ProposePairs { seed: Some(8) }).await;
    fran.ok(Command::ConfirmPairs).await;
    // Call links for the groups at work: the first from the list, the rest from the template.
    fran.ok(Command::SetCallLinks {
        call_url: None,
        group_call_template: Some("https://meet.example.org/{room}-{group}".into()),
        group_call_urls: vec!["https://meet.example.org/first".into()],
    })
    .await;
    fran.ok(Command::NextStage).await;

    // Gil comes late and is placed; his welcome carries the groups.
    let mut gil = server.join(&room, "Gil").await;
    gil.ok(Command::AcceptGroundRules).await;
    fran.catch_up(gil.seq).await;
    fran.ok(Command::PlaceLate {
        participant: gil.you,
    })
    .await;
    people.push(gil);
    for p in people.iter_mut() {
        p.catch_up(fran.seq).await;
    }

    // One group: the half ends, the client gives feedback, both commit, roles switch.
    let group = fran.view.pairs.groups[0].clone();
    let at = |id| people.iter().position(|p| p.you == id).expect("a member");
    let (coach, client) = (at(group.coach), at(group.client));
    let members: Vec<usize> = group.members.iter().map(|&id| at(id)).collect();
    people[coach].ok(Command::EndHalf { group: None }).await;
    let seq = people[coach].seq;
    people[client].catch_up(seq).await;
    // Shared, then made private (it leaves the room's list), then shared again (it comes back
    // last).
    for (rating, visibility) in [
        (4, Visibility::Circle),
        (3, Visibility::Private),
        (5, Visibility::Exportable),
    ] {
        people[client]
            .ok(Command::GiveFeedback {
                rating,
                helped: envelope::as_sent("The question about next steps", visibility),
                helped_less: envelope::as_sent("Advice", visibility),
                visibility,
            })
            .await;
    }
    people[client]
        .ok(Command::RecordCommitment {
            text: "Ask for a mentor".into(),
            due: Some("2027-02-01".into()),
            visibility: Visibility::Exportable,
        })
        .await;
    people[coach]
        .ok(Command::RecordCommitment {
            text: "Listen more".into(),
            due: None,
            visibility: Visibility::Circle,
        })
        .await;
    people[coach]
        .ok(Command::RecordCommitment {
            text: envelope::sealed("Only for me"),
            due: None,
            visibility: Visibility::Private,
        })
        .await;
    let coach_id = people[coach].you;
    let mine = people[coach]
        .view
        .commitments
        .iter()
        .find(|c| c.author == coach_id)
        .expect("the coach's shared commitment")
        .id
        .clone();
    people[coach]
        .ok(Command::ReviewCommitment {
            commitment: mine,
            outcome: circlekeeper_protocol::Outcome::Partly,
        })
        .await;
    for who in members {
        let seq = fran.sync().await.seq;
        people[who].catch_up(seq).await;
        people[who].ok(Command::ConfirmSwitch).await;
    }

    // Group timers warn and run out under the test's clock.
    fran.sync().await;
    let ends = fran.view.pairs.groups[0]
        .timer
        .as_ref()
        .and_then(|t| t.ends_at)
        .expect("the group's timer runs");
    run_out(server, &mut fran, ends, MINUTE, |e, expired| {
        let reason = if expired {
            PairsReason::TimerExpired
        } else {
            PairsReason::TimerWarning
        };
        matches!(e, Event::PairsChanged { reason: r, .. } if *r == reason)
    })
    .await;
    fran.ok(Command::MoveEveryone).await;
    fran.ok(Command::MoveEveryone).await;

    // Eli leaves; everyone is called back for the check-out; the end.
    let eli = people.iter().position(|p| p.name == "Eli").expect("Eli");
    people[eli].catch_up(fran.seq).await;
    people[eli].ok(Command::Leave).await;
    people[eli].expect_close().await;
    fran.ok(Command::NextStage).await;
    fran.ok(Command::EndSession).await;
    let mut present: Vec<&mut Client> = std::iter::once(&mut fran)
        .chain(people.iter_mut().filter(|p| p.name != "Eli"))
        .collect();
    settle(&mut present).await;
    let fresh = fresh_welcome(server, &fran).await;
    let streams = std::iter::once(&fran)
        .chain(people.iter())
        .map(recorded)
        .collect();
    (streams, fresh)
}

#[tokio::test]
async fn the_web_client_and_the_rust_reducer_build_the_view_a_fresh_welcome_carries() {
    let server = TestServer::start().await;
    let mut streams = Vec::new();
    for (session, (recorded, fresh)) in [
        ("action learning set", action_learning_set(&server).await),
        ("coaching swap", coaching_swap(&server).await),
    ] {
        // The host was there from the first event to the last; whoever else was still in the
        // room at the end caught up with them.
        assert_eq!(
            recorded[0].seq, fresh.seq,
            "{session}: the host saw every event"
        );
        let at_the_end: Vec<&Stream> = recorded.iter().filter(|s| s.seq == fresh.seq).collect();
        assert!(
            at_the_end.len() > 2,
            "{session}: most clients were there to the end"
        );
        for stream in at_the_end {
            let replayed = final_view(stream);
            assert_eq!(
                replayed, fresh.view,
                "{session}: {}'s events replayed in Rust build the room a fresh welcome carries",
                stream.name
            );
            assert_eq!(
                serde_json::to_value(&replayed).expect("a view serializes"),
                fresh.room,
                "{session}: {}'s replayed view serializes to the fresh welcome's room",
                stream.name
            );
        }
        streams.extend(recorded);
    }

    // Every kind of event was recorded.
    let seen: BTreeSet<&str> = streams
        .iter()
        .flat_map(|s| s.events.iter())
        .map(|e| {
            let event: Event = serde_json::from_value(e.clone()).expect("an event");
            event.name()
        })
        .collect();
    let missing: Vec<&&str> = EVERY_KIND.iter().filter(|k| !seen.contains(**k)).collect();
    assert!(missing.is_empty(), "no session recorded {missing:?}");
    assert!(
        streams
            .iter()
            .flat_map(|s| s.events.iter())
            .any(|e| e["type"] == "notes_changed" && e["feedback_removed"].is_array()),
        "a notes_changed removed feedback"
    );

    // The web client's reducer agrees with the Rust one on every stream, event by event.
    let Some(web) = replay_in_web_client(&streams) else {
        return;
    };
    for (stream, web_steps) in streams.iter().zip(web) {
        let rust_steps = replay_in_rust(stream);
        assert_eq!(
            web_steps.len(),
            rust_steps.len(),
            "{}: one view per step",
            stream.name
        );
        for (step, (web_view, rust_view)) in web_steps.iter().zip(&rust_steps).enumerate() {
            let rust_view = as_the_web_client_holds_it(rust_view);
            let after = match step {
                0 => "the welcome".to_string(),
                n => format!(
                    "event {n} of {} ({})",
                    stream.events.len(),
                    stream.events[n - 1]["type"]
                ),
            };
            assert_eq!(
                *web_view, rust_view,
                "{}: after {after}, the web client's applyEvent (left) and RoomView::apply \
                 (right) disagree",
                stream.name
            );
        }
    }
}
