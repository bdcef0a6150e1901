//! No room a big frame can break: a real room on a real server, filled to every limit 64 people
//! can reach in one session (longest names, titles and ground rules; a plan of
//! [`limits::MAX_PLAN_STAGES`] stages; 20 commitments of 500 characters each, shared and
//! private; feedback; survey answers; a pushed prompt), in which a newcomer is welcomed,
//! someone resumes from a snapshot and the host exports, while nobody is disconnected and
//! every frame stays below the limits — and below the fullest room the limits allow, which
//! `fullest.rs` computes and bounds.

mod common;
#[path = "common/envelope.rs"]
mod envelope;
#[path = "full_room/fullest.rs"]
mod fullest;

use std::collections::BTreeMap;
use std::future::Future;

use circlekeeper::export::RoomSummary;
use circlekeeper_protocol::{limits, Command, GroupPhase, RoomCreated, ServerMessage, Visibility};
use common::{Client, Entry, Remote, TestServer};
use fullest::{
    bytes, filled, fullest_room, text, FORMAT_NAME_CHARS, STAGE_PURPOSE_CHARS, STAGE_TITLE_CHARS,
    WIDE,
};
use serde_json::{json, Value};

/// People in the filled room before the last one arrives.
const WRITERS: usize = limits::MAX_PARTICIPANTS - 1;

/// The room's format: a pairing stage, the pairs, a check-out, and a plan of exactly
/// [`limits::MAX_PLAN_STAGES`] stages once everyone but the host presents (every title and
/// purpose as long as a format allows).
fn filled_format() -> Value {
    let presenters = WRITERS - 1;
    let per_presenter = limits::MAX_PLAN_STAGES / presenters;
    let fixed = limits::MAX_PLAN_STAGES - per_presenter * presenters;
    let stage = |kind: &str, speaking: &str, k: usize| {
        json!({
            "kind": kind,
            "title": filled(&format!("{kind} {k} "), 'é', STAGE_TITLE_CHARS),
            "purpose": filled("", 'é', STAGE_PURPOSE_CHARS),
            "timebox_ms": 14_400_000,
            "speaking": speaking,
        })
    };
    let mut stages = vec![
        stage("pairing", "open", 0),
        json!({
            "kind": "pairs", "title": filled("Pairs ", 'é', STAGE_TITLE_CHARS),
            "timebox_ms": 14_400_000, "speaking": "pairs",
            "half_ms": 3_600_000, "feedback_ms": 600_000
        }),
        stage("check_out", "open", 2),
    ];
    for k in stages.len()..fixed {
        stages.push(stage("discussion", "open", k));
    }
    for k in 0..per_presenter {
        let mut s = stage("reflection", "open", k);
        s["per_presenter"] = json!(true);
        stages.push(s);
    }
    json!({
        "title": filled("The fullest room ", WIDE, limits::MAX_TEXT_CHARS),
        "format": {"name": filled("Everything ", 'é', FORMAT_NAME_CHARS), "stages": stages},
        "options": {"ground_rules": filled("Rules ", WIDE, limits::MAX_GROUND_RULES_CHARS)}
    })
}

/// The `i`th person's name: as long as a name may be.
fn name(i: usize) -> String {
    filled(&format!("P{i:02} "), WIDE, limits::MAX_NAME_CHARS)
}

/// The `i`th person enters (the first from the host link) under the longest name; the client
/// itself goes by a short name (its command ids start with it, and ids are short).
async fn enter(remote: Remote, room: &RoomCreated, i: usize) -> Client {
    let mut c = remote.connect(&format!("P{i}")).await;
    let (room_id, name) = (room.room_id.clone(), name(i));
    c.enter(match i {
        0 => Command::Host {
            room: room_id,
            key: room.host_key.clone(),
            name,
        },
        _ => Command::Join {
            room: room_id,
            key: room.join_key.clone(),
            name,
            guest: None,
        },
    })
    .await;
    c
}

/// The largest frame seen of each kind (an event by its own type).
#[derive(Default)]
struct Largest(BTreeMap<String, usize>);

impl Largest {
    /// Take in a client's frames, and forget them and its events (the room sends each of 64
    /// people thousands of large frames; nobody needs them kept). Unless `every` says so, only
    /// the frames that admitted the client are measured: every connection gets the same
    /// events, and acks as large as everyone else's (measuring takes time).
    fn take(&mut self, c: &mut Client, every: bool) {
        for f in c.frames.drain(..) {
            let kind = match f["type"].as_str().unwrap_or("?") {
                "event" => f["event"]["type"].as_str().unwrap_or("event"),
                kind => kind,
            };
            if !every && !matches!(kind, "welcome" | "snapshot" | "resumed") {
                continue;
            }
            let size = f.to_string().len();
            let seen = self.0.entry(kind.to_string()).or_default();
            *seen = (*seen).max(size);
        }
        // (This test never waits for an event by its kind, which would look through the log.)
        c.log.clear();
    }

    fn of(&self, kind: &str) -> usize {
        self.0.get(kind).copied().unwrap_or_default()
    }
}

/// Run `act` for every client at once, each on its own task; the clients come back in order.
async fn all<F, Fut>(clients: Vec<Client>, act: F) -> Vec<Client>
where
    F: Fn(usize, Client) -> Fut,
    Fut: Future<Output = Client> + Send + 'static,
{
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(act(i, c)))
        .collect();
    let mut back = Vec::with_capacity(tasks.len());
    for task in tasks {
        back.push(task.await.expect("a client's task"));
    }
    back
}

/// Everyone catches up with the room (whose last event is the latest any of them saw, as every
/// command sent so far was acked), and their frames are measured and forgotten.
async fn settle(clients: Vec<Client>, largest: &mut Largest) -> Vec<Client> {
    let seq = clients.iter().map(|c| c.seq).max().unwrap_or_default();
    let mut clients = all(clients, move |_, mut c| async move {
        c.catch_up(seq).await;
        c
    })
    .await;
    for (i, c) in clients.iter_mut().enumerate() {
        largest.take(c, i == 0);
    }
    clients
}

/// Everyone sends the commands `commands` picks for them, each on their own connection, all
/// at once (without waiting for the acks in between), and waits for them to be accepted; then
/// everyone settles.
async fn everyone(
    clients: Vec<Client>,
    largest: &mut Largest,
    commands: impl Fn(usize, &Client) -> Vec<Command>,
) -> Vec<Client> {
    let commands: Vec<Vec<Command>> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| commands(i, c))
        .collect();
    let clients = all(clients, |i, mut c| {
        let commands = commands[i].clone();
        async move {
            let mut ids = Vec::new();
            for command in commands {
                ids.push(c.send(command).await);
            }
            for id in ids {
                if let Err(refused) = c.answer(&id).await {
                    panic!("{}: {id} was refused: {refused:?}", c.name);
                }
            }
            c
        }
    })
    .await;
    settle(clients, largest).await
}

/// How many of each person's 20 commitments are shared (the first ones): every shared one is
/// an event that each of 64 people receives, which makes this test slow in a debug build.
/// The fullest room computed above has every one shared.
const SHARED_EACH: usize = 5;

/// The `k`th of someone's 20 commitments: the first [`SHARED_EACH`] shared, with the circle or
/// exportable, the rest private.
fn visibility(k: usize) -> Visibility {
    match k {
        k if k >= SHARED_EACH => Visibility::Private,
        k if k % 2 == 0 => Visibility::Exportable,
        _ => Visibility::Circle,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_filled_to_every_limit_welcomes_resumes_exports_and_keeps_everyone() {
    let server = TestServer::start().await;
    let remote: Remote = *server;
    let body = filled_format();
    assert!(body.to_string().len() <= limits::MAX_CREATE_BODY_BYTES);
    let room = server.create_room(body).await;
    let mut largest = Largest::default();

    // 63 people enter at once and accept the ground rules.
    let mut clients = Vec::new();
    let entering: Vec<_> = (0..WRITERS)
        .map(|i| {
            let room = room.clone();
            tokio::spawn(async move {
                let mut c = enter(remote, &room, i).await;
                c.ok(Command::AcceptGroundRules).await;
                c
            })
        })
        .collect();
    for task in entering {
        clients.push(task.await.expect("someone enters"));
    }
    let mut clients = settle(clients, &mut largest).await;

    // The session starts with everyone but the host presenting: the longest plan there is.
    clients[0].ok(Command::Start).await;
    assert_eq!(clients[0].view.plan.len(), limits::MAX_PLAN_STAGES);
    clients[0].ok(Command::ProposePairs { seed: Some(1) }).await;
    clients[0].ok(Command::ConfirmPairs).await;
    clients[0].ok(Command::NextStage).await;
    let mut clients = settle(clients, &mut largest).await;

    // Twenty commitments each, of 500 characters: everyone sends their five shared ones at once,
    // then their private ones one at a time (each of which makes the server write the room's
    // notes whole, and sealed a private text is a third longer than its 2000 bytes: more at once
    // would keep some people waiting for their acks too long).
    let rounds = std::iter::once(0..SHARED_EACH)
        .chain((SHARED_EACH..limits::MAX_COMMITMENTS_PER_PERSON).map(|k| k..k + 1));
    for ks in rounds {
        clients = everyone(clients, &mut largest, |i, _| {
            ks.clone()
                .map(|k| Command::RecordCommitment {
                    text: envelope::as_sent(
                        &filled(&format!("{i:02}-{k:02} "), WIDE, limits::MAX_TEXT_CHARS),
                        visibility(k),
                    ),
                    due: Some("2027-02-01".into()),
                    visibility: visibility(k),
                })
                .collect()
        })
        .await;
    }
    assert_eq!(clients[0].view.commitments.len(), WRITERS * SHARED_EACH);

    // Every client of every pair tells their coach what helped, at the longest, shared: both
    // halves of every pair.
    let feedback = |_: usize, c: &Client| {
        let Some(g) = c.view.pairs.groups.iter().find(|g| g.client == c.you) else {
            return Vec::new();
        };
        let given = (g.phase == GroupPhase::Feedback).then(|| Command::GiveFeedback {
            rating: 4,
            helped: filled(&format!("{} ", c.you), WIDE, limits::MAX_TEXT_CHARS),
            helped_less: text(WIDE, limits::MAX_TEXT_CHARS),
            visibility: Visibility::Exportable,
        });
        given.into_iter().collect()
    };
    for moves in [1, 2] {
        for _ in 0..moves {
            clients[0].ok(Command::MoveEveryone).await;
        }
        clients = settle(clients, &mut largest).await;
        clients = everyone(clients, &mut largest, feedback).await;
    }
    assert_eq!(clients[0].view.feedback.len(), WRITERS - 1);

    // The check-out: everyone answers the survey at the longest; the host pushes a prompt.
    clients[0].ok(Command::JumpToStage { index: 2 }).await;
    clients = settle(clients, &mut largest).await;
    clients = everyone(clients, &mut largest, |i, _| {
        vec![Command::AnswerSurvey {
            rating: 5,
            comment: Some(envelope::as_sent(
                &filled(&format!("{i} "), WIDE, limits::MAX_TEXT_CHARS),
                visibility(i),
            )),
            visibility: visibility(i),
        }]
    })
    .await;
    clients[0]
        .ok(Command::PushPrompt {
            prompt: None,
            text: Some(text(WIDE, limits::MAX_TEXT_CHARS)),
            to: None,
        })
        .await;
    clients = settle(clients, &mut largest).await;

    // The 64th person is welcomed with the whole room.
    let mut newcomer = enter(remote, &room, WRITERS).await;
    largest.take(&mut newcomer, false);
    clients[0].catch_up(newcomer.seq).await;
    assert_eq!(newcomer.view, clients[0].view, "the welcome is the room");
    assert_eq!(newcomer.view.participants.len(), limits::MAX_PARTICIPANTS);
    clients.push(newcomer);
    clients = settle(clients, &mut largest).await;

    // Someone comes back naming a sequence number the room has not reached (as after the
    // server lost its last moments): a snapshot of the whole room.
    let mut leaving = clients.remove(7);
    leaving.disconnect().await;
    let mut back = remote.connect(&leaving.name).await;
    let entry = back
        .enter(Command::Resume {
            room: leaving.room_id.clone(),
            token: leaving.token.clone(),
            last_seq: Some(leaving.seq + 1000),
        })
        .await;
    assert_eq!(entry.kind, Entry::Snapshot(false));
    clients.push(back);
    clients = settle(clients, &mut largest).await;

    // The host exports the session, and it reads back.
    let export = remote
        .http(
            "POST",
            &format!("/api/rooms/{}/export", room.room_id),
            json!({ "key": room.host_key }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.text);
    let summary: RoomSummary = serde_json::from_str(&export.text).expect("the export parses");
    let exportable = (0..limits::MAX_COMMITMENTS_PER_PERSON)
        .filter(|&k| visibility(k) == Visibility::Exportable)
        .count();
    assert_eq!(summary.commitments.len(), WRITERS * exportable);
    assert_eq!(summary.feedback.len(), WRITERS - 1);
    assert_eq!(summary.survey.len(), WRITERS);
    assert_eq!(summary.attendance.len(), limits::MAX_PARTICIPANTS);

    // Nobody was disconnected: everyone answers, and sees the room as the host does.
    clients = all(clients, |_, mut c| async move {
        c.sync().await;
        c
    })
    .await;
    for (i, c) in clients.iter_mut().enumerate() {
        assert!(c.closed.is_none(), "{} was disconnected", c.name);
        largest.take(c, i == 0);
    }
    for c in &clients[1..] {
        assert!(c.view == clients[0].view, "{} sees another room", c.name);
    }

    // Every frame stayed below the limit, and below the fullest room's; the room was large
    // (its welcome far above the 64 KiB that used to break rooms); its notes events small.
    for (kind, size) in &largest.0 {
        eprintln!("filled room: largest {kind}: {size} bytes");
        assert!(
            *size < limits::MAX_SERVER_FRAME_BYTES,
            "{kind}: {size} bytes"
        );
    }
    let fullest = bytes(&ServerMessage::Welcome {
        id: String::new(),
        protocol: 1,
        server_time: 0,
        seq: 0,
        you: 0,
        token: None,
        room: Box::new(fullest_room()),
        guest_key: None,
    });
    for kind in ["welcome", "snapshot"] {
        let size = largest.of(kind);
        assert!(size > 1024 * 1024, "a full room's {kind}: {size} bytes");
        assert!(
            size < fullest,
            "{kind}: {size} bytes, over the fullest room's {fullest}"
        );
    }
    assert!(largest.of("notes_changed") < 16 * 1024);
}
