//! Who may do what, over real websockets: every command that steers the session or keeps time
//! is refused to a plain participant with `forbidden`, and a refused command changes nothing.
//! And the whole matrix on the state machine: every command from every kind of person, in the
//! lobby and in every stage of every built-in format, against the one table
//! (`state::permission`).

mod common;
#[path = "common/envelope.rs"]
mod envelope;
#[path = "common/spec.rs"]
mod spec;

use circlekeeper::formats;
use circlekeeper::room::state::{permission, Permission, DEFAULT_GROUND_RULES};
use circlekeeper::room::{Room, RoomSetup};
use circlekeeper_protocol::{
    Command, ErrorCode, ParticipantId, Role, SessionStatus, Standing, TimerKind,
};
use common::{Client, TestServer};

/// One command of every type, aimed at `target` where a command names someone. The one list
/// the tests below draw from; a test checks it covers every command type.
fn one_of_each(target: ParticipantId) -> Vec<Command> {
    vec![
        Command::Join {
            room: "r".into(),
            key: "k".into(),
            name: "n".into(),
            guest: None,
        },
        Command::Host {
            room: "r".into(),
            key: "k".into(),
            name: "n".into(),
        },
        Command::Member {
            room: "r".into(),
            series: "s".into(),
            key: "k".into(),
        },
        Command::Resume {
            room: "r".into(),
            token: "t".into(),
            last_seq: None,
        },
        Command::Sync,
        Command::AcceptGroundRules,
        Command::RaiseHand,
        Command::LowerHand { participant: None },
        Command::Pass,
        Command::Done,
        Command::DrawPrompt { seed: Some(1) },
        Command::Start,
        Command::NextStage,
        Command::PreviousStage,
        Command::JumpToStage { index: 1 },
        Command::Pause,
        Command::ResumeSession,
        Command::EndSession,
        Command::AdjustTimer {
            timer: TimerKind::Stage,
            seconds: 60,
        },
        Command::RestartTimer {
            timer: TimerKind::Stage,
        },
        Command::GiveFloor {
            participant: Some(target),
        },
        Command::TakeFloor,
        Command::NextTurn,
        Command::SetPresenterOrder {
            order: vec![target],
        },
        Command::ShufflePresenters { seed: Some(3) },
        Command::AssignRole {
            participant: target,
            role: Role::Timekeeper,
        },
        Command::UnassignRole {
            participant: target,
            role: Role::Timekeeper,
        },
        Command::RotateRole {
            role: Role::Observer,
        },
        Command::RemoveParticipant {
            participant: target,
        },
        Command::PushPrompt {
            prompt: None,
            text: Some("Who owns this?".into()),
            to: None,
        },
        Command::ClearPrompt,
        Command::Leave,
        Command::DeleteRoom,
        Command::RotateLink {
            link: circlekeeper_protocol::LinkKind::Join,
        },
        Command::RevokeLink {
            link: circlekeeper_protocol::LinkKind::Host,
        },
        Command::ShowLink,
        Command::ProposePairs { seed: Some(5) },
        Command::SwapPeople {
            a: target,
            b: target + 1,
        },
        Command::LockGroup {
            index: 0,
            locked: true,
        },
        Command::ConfirmPairs,
        Command::EndHalf { group: None },
        Command::ConfirmSwitch,
        Command::MoveEveryone,
        Command::PlaceLate {
            participant: target,
        },
        Command::RecordCommitment {
            text: envelope::sealed("Call the funder"),
            due: None,
            visibility: circlekeeper_protocol::Visibility::Private,
        },
        Command::ReviewCommitment {
            commitment: "x-1".into(),
            outcome: circlekeeper_protocol::Outcome::Kept,
        },
        Command::GiveFeedback {
            rating: 4,
            helped: String::new(),
            helped_less: String::new(),
            visibility: circlekeeper_protocol::Visibility::Private,
        },
        Command::AnswerSurvey {
            rating: 5,
            comment: None,
            visibility: circlekeeper_protocol::Visibility::Private,
        },
        Command::MyItems,
        Command::SetCallLinks {
            call_url: Some("https://meet.example.org/circle".into()),
            group_call_template: None,
            group_call_urls: Vec::new(),
        },
    ]
}

/// The commands `permission()` reserves for facilitators or the timekeeper.
fn restricted(target: ParticipantId, keep: impl Fn(Permission) -> bool) -> Vec<Command> {
    one_of_each(target)
        .into_iter()
        .filter(|c| keep(permission(c)))
        .collect()
}

#[test]
fn the_command_list_covers_every_command_type() {
    let names: Vec<&str> = one_of_each(1).iter().map(Command::name).collect();
    assert_eq!(names, Command::NAMES);
    let facilitating = restricted(1, |p| p == Permission::Facilitating);
    let timekeeping = restricted(1, |p| p == Permission::Timekeeping);
    assert_eq!(facilitating.len(), 27);
    assert_eq!(timekeeping.len(), 4);
}

/// A room under way: Fran facilitates, Ada and Ben take part, all consented, a prompt shown
/// and a hand raised so there is something to change.
async fn running_room(server: &TestServer) -> (Client, Client, Client) {
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    for c in [&mut fran, &mut ada, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    fran.ok(Command::NextStage).await;
    fran.ok(Command::NextStage).await;
    fran.ok(Command::PushPrompt {
        prompt: None,
        text: Some("What do you notice?".into()),
        to: None,
    })
    .await;
    ben.catch_up(fran.seq).await;
    ben.ok(Command::RaiseHand).await;
    for c in [&mut fran, &mut ada] {
        c.catch_up(ben.seq).await;
    }
    assert_eq!(
        fran.view.plan[fran.stage_index()].title,
        "Clarifying questions"
    );
    (fran, ada, ben)
}

/// Send each command from `who`; each must be refused with `forbidden`, and the room must not
/// move: the host sees no event, the same sequence number and the same room.
async fn assert_all_forbidden(who: &mut Client, host: &mut Client, commands: Vec<Command>) {
    let before_seq = host.sync().await.seq;
    let before_view = host.view.clone();
    who.catch_up(before_seq).await;
    let before_log = who.log.len();
    for command in commands {
        let what = format!("{command:?}");
        match who.command(command).await {
            Err(r) => {
                assert_eq!(r.code, ErrorCode::Forbidden, "{}: {what}: {r:?}", who.name);
                assert!(r.message.starts_with("only a facilitator"), "{r:?}");
            }
            Ok(ack) => panic!(
                "{}: {what} should be forbidden; it was acked: {ack:?}",
                who.name
            ),
        }
    }
    assert_eq!(
        who.log.len(),
        before_log,
        "{}: no event came back",
        who.name
    );
    host.assert_quiet_since(before_seq).await;
    assert_eq!(host.view, before_view, "the room did not change");
}

#[tokio::test]
async fn a_participant_is_forbidden_every_facilitator_command_and_the_room_does_not_change() {
    let server = TestServer::start().await;
    let (mut fran, mut ada, mut ben) = running_room(&server).await;
    let commands = restricted(ben.you, |p| p != Permission::Anyone);
    assert_eq!(commands.len(), 31);
    assert_all_forbidden(&mut ada, &mut fran, commands).await;
    ben.assert_quiet_since(fran.seq).await;

    // A fresh welcome shows the same room the host saw before.
    let fresh = server
        .resume("Fran again", &fran.room_id, &fran.token)
        .await;
    assert_eq!(fresh.view, fran.view);

    // The same commands are the facilitator's to give: a few of them, to show the room was
    // in a state where they would have worked.
    fran.ok(Command::GiveFloor {
        participant: Some(ben.you),
    })
    .await;
    fran.ok(Command::Pause).await;
    fran.ok(Command::ResumeSession).await;
    fran.ok(Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds: 60,
    })
    .await;
    fran.ok(Command::RemoveParticipant {
        participant: ben.you,
    })
    .await;
    assert_eq!(ben.expect_close().await, Some(4004));
}

#[tokio::test]
async fn a_participant_is_forbidden_every_facilitator_command_in_the_lobby_too() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let ben = server.join(&room, "Ben").await;
    fran.catch_up(ben.seq).await;
    let commands = restricted(ben.you, |p| p != Permission::Anyone);
    assert_all_forbidden(&mut ada, &mut fran, commands).await;
    assert_eq!(fran.view.session.status, SessionStatus::Lobby);
    fran.ok(Command::Start).await;
}

#[tokio::test]
async fn the_timekeeper_keeps_time_but_is_forbidden_to_facilitate() {
    let server = TestServer::start().await;
    let (mut fran, mut ada, mut ben) = running_room(&server).await;
    fran.ok(Command::AssignRole {
        participant: ada.you,
        role: Role::Timekeeper,
    })
    .await;
    ada.catch_up(fran.seq).await;
    ben.catch_up(fran.seq).await;

    let commands = restricted(ben.you, |p| p == Permission::Facilitating);
    assert_all_forbidden(&mut ada, &mut fran, commands).await;

    for command in restricted(ben.you, |p| p == Permission::Timekeeping) {
        ada.ok(command).await;
    }
    assert_eq!(ada.view.session.status, SessionStatus::Running);
    fran.catch_up(ada.seq).await;
    assert_eq!(fran.view, ada.view);

    // The role taken away, so is the permission.
    fran.ok(Command::UnassignRole {
        participant: ada.you,
        role: Role::Timekeeper,
    })
    .await;
    ada.catch_up(fran.seq).await;
    assert_eq!(ada.refused(Command::Pause).await, ErrorCode::Forbidden);
}

#[tokio::test]
async fn a_co_facilitator_steers_but_cannot_remove_the_facilitator_who_opened_the_room() {
    let server = TestServer::start().await;
    let (mut fran, mut ada, mut ben) = running_room(&server).await;
    fran.ok(Command::AssignRole {
        participant: ada.you,
        role: Role::CoFacilitator,
    })
    .await;
    ada.catch_up(fran.seq).await;
    ada.ok(Command::GiveFloor { participant: None }).await;
    assert_eq!(ada.floor(), Some(ben.you));
    ada.ok(Command::Pause).await;
    assert_eq!(
        ada.refused(Command::RemoveParticipant {
            participant: fran.you
        })
        .await,
        ErrorCode::Forbidden
    );
    assert_eq!(
        ada.refused(Command::UnassignRole {
            participant: fran.you,
            role: Role::CoFacilitator
        })
        .await,
        ErrorCode::InvalidState
    );

    // Demoted, Ada is a participant again.
    fran.ok(Command::UnassignRole {
        participant: ada.you,
        role: Role::CoFacilitator,
    })
    .await;
    ada.catch_up(fran.seq).await;
    let commands = restricted(ben.you, |p| p != Permission::Anyone);
    assert_all_forbidden(&mut ada, &mut fran, commands).await;
    ben.sync().await;
}

#[tokio::test]
async fn a_participant_may_lower_only_their_own_hand() {
    let server = TestServer::start().await;
    let (mut fran, mut ada, mut ben) = running_room(&server).await;
    let seq = fran.seq;
    assert_eq!(
        ada.refused(Command::LowerHand {
            participant: Some(ben.you)
        })
        .await,
        ErrorCode::Forbidden
    );
    fran.assert_quiet_since(seq).await;
    assert_eq!(fran.view.turn.queue, vec![ben.you]);
    ben.ok(Command::LowerHand { participant: None }).await;
    ben.ok(Command::RaiseHand).await;
    fran.ok(Command::LowerHand {
        participant: Some(ben.you),
    })
    .await;
    assert!(fran.view.turn.queue.is_empty());
}

#[tokio::test]
async fn a_participant_may_not_take_a_turn_that_is_not_theirs() {
    let server = TestServer::start().await;
    let (mut fran, mut ada, mut ben) = running_room(&server).await;
    fran.ok(Command::GiveFloor {
        participant: Some(ben.you),
    })
    .await;
    let seq = fran.seq;
    assert_eq!(ada.refused(Command::Done).await, ErrorCode::NotYourTurn);
    fran.assert_quiet_since(seq).await;
    ben.catch_up(seq).await;
    ben.ok(Command::Done).await;
}

// ----- the whole matrix, on the state machine ------------------------------------------------

/// Who sends a command in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Facilitator,
    CoFacilitator,
    Timekeeper,
    Participant,
    Observer,
}

/// The table: who may send a command of each [`Permission`] (the table itself is
/// `state::permission`, documented under "Roles" in `protocol/commands.md`).
fn may(p: Permission, who: Who) -> bool {
    match p {
        Permission::Anyone => true,
        Permission::Timekeeping => {
            matches!(who, Who::Facilitator | Who::CoFacilitator | Who::Timekeeper)
        }
        Permission::Facilitating => matches!(who, Who::Facilitator | Who::CoFacilitator),
    }
}

/// Commands open to anyone that a second rule may still refuse with `forbidden` (each is
/// documented with its command in `protocol/commands.md`): a prompt is drawn only by whoever's
/// stage role is coach or facilitator, and observers take no turn, so raise no hand.
fn refused_by_second_rule(cmd: &Command, who: Who) -> bool {
    match cmd {
        Command::DrawPrompt { .. } => true,
        Command::RaiseHand => who == Who::Observer,
        _ => false,
    }
}

/// A room of `format` with one person of each kind, everyone consented; returns the room,
/// the people and the plain participant (the target of commands that name someone).
fn matrix_room(format: &str) -> (Room, Vec<(Who, ParticipantId)>, ParticipantId) {
    let now = common::EPOCH;
    let mut room = Room::new(RoomSetup {
        id: "matrix".into(),
        title: "Matrix".into(),
        format: formats::builtin(format).expect("built-in"),
        ground_rules: DEFAULT_GROUND_RULES.into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        earlier: Vec::new(),
        calls: Default::default(),
    });
    let (host, _) = room
        .join(now, "Fran", Standing::Facilitator)
        .expect("host joins");
    let mut people = vec![(Who::Facilitator, host)];
    for (who, name) in [
        (Who::CoFacilitator, "Cy"),
        (Who::Timekeeper, "Tia"),
        (Who::Participant, "Ada"),
        (Who::Participant, "Ben"),
        (Who::Observer, "Obi"),
    ] {
        let (id, _) = room.join(now, name, Standing::Participant).expect("joins");
        people.push((who, id));
    }
    for &(_, id) in &people {
        room.apply(now, id, &Command::AcceptGroundRules)
            .expect("consents");
    }
    for &(who, id) in &people {
        let role = match who {
            Who::CoFacilitator => Role::CoFacilitator,
            Who::Timekeeper => Role::Timekeeper,
            Who::Observer => Role::Observer,
            _ => continue,
        };
        room.apply(
            now,
            host,
            &Command::AssignRole {
                participant: id,
                role,
            },
        )
        .expect("role assigned");
    }
    let target = people
        .iter()
        .find(|(w, _)| *w == Who::Participant)
        .map(|&(_, id)| id)
        .expect("a participant");
    // Ben is the second participant: keep him out of the targets, Ada is the target.
    people.retain(|&(w, id)| w != Who::Participant || id != target);
    (room, people, target)
}

#[test]
fn every_command_from_every_role_in_every_stage_kind_follows_the_table() {
    let now = common::EPOCH;
    let mut kinds = std::collections::BTreeSet::new();
    let mut checked = 0usize;
    let mut wrong = Vec::new();
    for format in formats::BUILTIN_IDS {
        let (lobby, people, target) = matrix_room(format);
        let host = people[0].1;
        let mut started = lobby.clone();
        started.apply(now, host, &Command::Start).expect("starts");
        let stages = started.view().plan.len();
        // The lobby, then every stage of the plan.
        let mut places = vec![("lobby".to_string(), lobby)];
        for index in 0..stages {
            let mut at = started.clone();
            if index > 0 {
                at.apply(now, host, &Command::JumpToStage { index })
                    .expect("jumps");
            }
            let kind = at.view().plan[index].kind;
            kinds.insert(format!("{kind:?}"));
            places.push((format!("{format} stage {index} ({kind:?})"), at));
        }
        for (place, room) in &places {
            for &(who, id) in &people {
                for cmd in one_of_each(target) {
                    if matches!(
                        cmd,
                        Command::Join { .. }
                            | Command::Host { .. }
                            | Command::Member { .. }
                            | Command::Resume { .. }
                    ) {
                        continue; // entry commands: answered before a room command
                    }
                    let allowed = may(permission(&cmd), who);
                    let mut r = room.clone();
                    let forbidden = matches!(
                        r.apply(now, id, &cmd),
                        Err(ref e) if e.code == ErrorCode::Forbidden
                    );
                    checked += 1;
                    if !allowed && !forbidden {
                        wrong.push(format!("{place}: {who:?} was not refused {}", cmd.name()));
                    }
                    if allowed && forbidden && !refused_by_second_rule(&cmd, who) {
                        wrong.push(format!("{place}: {who:?} was refused {}", cmd.name()));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} cases disagree with the table:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 5_000, "only {checked} cases");
    assert!(kinds.len() >= 8, "stage kinds covered: {kinds:?}");
}

#[test]
fn the_table_in_the_protocol_readme_is_the_table_the_server_uses() {
    let readme = spec::whole();
    let mut documented = std::collections::BTreeMap::new();
    for line in readme.lines() {
        let permission = if line.starts_with("| **Anyone**") {
            Permission::Anyone
        } else if line.starts_with("| **Timekeeping**") {
            Permission::Timekeeping
        } else if line.starts_with("| **Facilitating**") {
            Permission::Facilitating
        } else {
            continue;
        };
        let commands = line.rsplit('|').nth(1).expect("a commands column");
        for name in commands.split('`').skip(1).step_by(2) {
            assert!(
                documented.insert(name.to_string(), permission).is_none(),
                "{name} is listed twice"
            );
        }
    }
    for cmd in one_of_each(1) {
        assert_eq!(
            documented.remove(cmd.name()),
            Some(permission(&cmd)),
            "the spec's table (protocol/commands.md) and state::permission disagree on {}",
            cmd.name()
        );
    }
    assert!(
        documented.is_empty(),
        "documented but no command: {documented:?}"
    );
}
