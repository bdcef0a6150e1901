//! The fullest room the limits allow, computed: every list at its documented bound, every text
//! at its longest in the characters that take the most bytes on the wire. Its welcome, snapshot
//! and largest events must stay far below [`limits::MAX_SERVER_FRAME_BYTES`]; the real room of
//! `full_room.rs` must stay below it.

use circlekeeper::room::state::{expand, MAX_TURNOVER};
use circlekeeper::server::ws::MAX_OUTGOING_FRAME_BYTES;
use circlekeeper_protocol::{
    limits, AckResult, ClientMessage, Command, Commitment, Event, Feedback, FeedbackKey, Floor,
    FloorTime, Format, GroupPhase, GroupState, LastTriad, Mine, Outcome, PairsReason, PairsState,
    ParticipantView, Presence, Prompt, Proposal, PushedPrompt, RepeatedPartners, Repeats, Role,
    RoomView, Round, ServerMessage, SessionState, SessionStatus, SpeakingMode, StageKind,
    StageSpec, StageState, Standing, SurveyAnswer, TimerState, TriadRepeat, TriadWhy, TurnState,
    Visibility,
};

/// What takes the most bytes in a JSON string among the characters people may type, in a
/// room or in a format: four bytes in UTF-8 and never escaped (control characters, which JSON
/// writes in six, are refused everywhere; a line break, where allowed, takes two).
pub const WIDE: char = '😀';

/// Longest format name, in characters ("Validation" in the spec; like the two below, checked
/// against the server's own validation by `the_format_limits_are_the_servers`).
pub const FORMAT_NAME_CHARS: usize = 100;
/// Longest stage title, in characters.
pub const STAGE_TITLE_CHARS: usize = 100;
/// Longest stage purpose, in characters.
pub const STAGE_PURPOSE_CHARS: usize = 300;

/// `n` times `c`.
pub fn text(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

/// `prefix`, then `c` up to `n` characters in all.
pub fn filled(prefix: &str, c: char, n: usize) -> String {
    let mut s = prefix.to_string();
    s.extend(std::iter::repeat_n(c, n - prefix.chars().count()));
    s
}

pub fn bytes(msg: &ServerMessage) -> usize {
    serde_json::to_vec(msg).expect("a server message").len()
}

/// A stage of the longest title and purpose, with every role a stage may have.
fn widest_stage(kind: StageKind, per_presenter: bool) -> StageSpec {
    StageSpec {
        kind,
        title: text(WIDE, STAGE_TITLE_CHARS),
        purpose: text(WIDE, STAGE_PURPOSE_CHARS),
        timebox_ms: 14_400_000,
        speaking: SpeakingMode::HandQueue,
        per_speaker_ms: Some(3_600_000),
        roles: vec![
            Role::Presenter,
            Role::Coach,
            Role::Client,
            Role::Observer,
            Role::Member,
        ],
        auto_advance: false,
        per_presenter,
        half_ms: None,
        feedback_ms: None,
    }
}

/// A format whose plan, with 64 presenters, is as long as a plan may be and whose texts are
/// the widest a format may have.
fn widest_format() -> Format {
    let per_presenter = limits::MAX_PLAN_STAGES / limits::MAX_PARTICIPANTS;
    Format {
        name: text(WIDE, FORMAT_NAME_CHARS),
        description: String::new(),
        stages: (0..per_presenter)
            .map(|_| widest_stage(StageKind::CoachingQuestions, true))
            .collect(),
    }
}

#[test]
fn the_format_limits_are_the_servers() {
    let format = widest_format();
    circlekeeper::formats::validate(&format).expect("the widest format is accepted");
    let mut longer = format.clone();
    longer.name.push('x');
    assert!(circlekeeper::formats::validate(&longer).is_err());
    let mut longer = format.clone();
    longer.stages[0].title.push('x');
    assert!(circlekeeper::formats::validate(&longer).is_err());
    let mut longer = format;
    longer.stages[0].purpose.push('x');
    assert!(circlekeeper::formats::validate(&longer).is_err());
}

/// A commitment of the longest text, by someone of the longest name.
fn widest_commitment(n: usize) -> Commitment {
    Commitment {
        id: format!("{}-{n}", "f".repeat(32)),
        author: 256,
        name: text(WIDE, limits::MAX_NAME_CHARS),
        member: Some("m200".into()),
        text: text(WIDE, limits::MAX_TEXT_CHARS),
        due: Some("2199-12-31".into()),
        visibility: Visibility::Exportable,
        made_at: u64::MAX,
        outcome: Some(Outcome::Changed),
    }
}

fn widest_feedback(from: u32) -> Feedback {
    Feedback {
        from,
        to: u32::MAX,
        group: u32::MAX,
        round: u32::MAX,
        rating: 5,
        helped: text(WIDE, limits::MAX_TEXT_CHARS),
        helped_less: text(WIDE, limits::MAX_TEXT_CHARS),
        visibility: Visibility::Exportable,
    }
}

fn widest_timer() -> TimerState {
    TimerState {
        duration_ms: u64::MAX,
        ends_at: Some(u64::MAX),
        paused_remaining_ms: Some(i64::MIN),
        warned: true,
        expired: true,
    }
}

/// Everyone present in groups of three with their timers, and everyone waiting, and a
/// proposal of everyone: more than a room ever holds at once.
fn widest_pairs() -> PairsState {
    let everyone: Vec<u32> = (1..=limits::MAX_PARTICIPANTS as u32).collect();
    let triads: Vec<Vec<u32>> = everyone.chunks(3).map(<[u32]>::to_vec).collect();
    PairsState {
        proposal: Some(Proposal {
            locked: vec![true; triads.len()],
            groups: triads.clone(),
            seed: u64::MAX,
            last_triad: Some(LastTriad {
                session: u32::MAX,
                members: everyone.clone(),
            }),
            // Every two people of every group met before; everyone was in a triad before.
            repeats: Repeats {
                partners: triads
                    .iter()
                    .flat_map(|m| {
                        (0..m.len()).flat_map(move |i| {
                            (i + 1..m.len()).map(move |j| RepeatedPartners {
                                members: [m[i], m[j]],
                                times: u32::MAX,
                                last_session: u32::MAX,
                            })
                        })
                    })
                    .collect(),
                triad: everyone
                    .iter()
                    .map(|&p| TriadRepeat {
                        participant: p,
                        triads: u32::MAX,
                        why: TriadWhy::EveryoneHasBeen,
                    })
                    .collect(),
            },
        }),
        groups: triads
            .iter()
            .enumerate()
            .map(|(i, members)| GroupState {
                id: i as u32 + 1,
                members: members.clone(),
                round: 2,
                rounds: 3,
                coach: members[0],
                client: members[0],
                observer: Some(members[0]),
                phase: GroupPhase::Feedback,
                ready: members.clone(),
                timer: Some(widest_timer()),
                call_url: Some(widest_url()),
            })
            .collect(),
        waiting: everyone,
    }
}

fn widest_turn() -> TurnState {
    let everyone: Vec<u32> = (1..=limits::MAX_PARTICIPANTS as u32).collect();
    TurnState {
        floor: Some(Floor {
            participant: u32::MAX,
            role: Role::CoFacilitator,
            since: u64::MAX,
        }),
        queue: everyone.clone(),
        round: Some(Round {
            order: everyone.clone(),
            position: limits::MAX_PARTICIPANTS,
            passed: everyone,
        }),
        speaker_timer: Some(widest_timer()),
    }
}

/// The fullest room the limits allow: 64 seats filled four times over (those who left stay
/// listed), 20 commitments for each of 64 people and as many carried from earlier sessions,
/// four feedback items for each of 64 people, the longest plan, every text at its longest.
pub fn fullest_room() -> RoomView {
    let ever = limits::MAX_PARTICIPANTS * MAX_TURNOVER;
    let presenters: Vec<u32> = (1..=limits::MAX_PARTICIPANTS as u32).collect();
    let format = widest_format();
    RoomView {
        id: "f".repeat(32),
        title: text(WIDE, limits::MAX_TEXT_CHARS),
        format: format.name.clone(),
        ground_rules: text(WIDE, limits::MAX_GROUND_RULES_CHARS),
        warn_before_ms: 3_600_000,
        participants: (1..=ever as u32)
            .map(|id| ParticipantView {
                id,
                name: text(WIDE, limits::MAX_NAME_CHARS),
                standing: Standing::CoFacilitator,
                roles: vec![Role::Timekeeper, Role::Observer],
                consented: true,
                presence: Presence::Connected,
                joined_at: u64::MAX,
                removed: id as usize > limits::MAX_PARTICIPANTS,
                member: Some("m200".into()),
                guest: None,
            })
            .collect(),
        session: SessionState {
            status: SessionStatus::Paused,
            started_at: Some(u64::MAX),
            paused_at: Some(u64::MAX),
            ended_at: Some(u64::MAX),
        },
        plan: expand(&format, &presenters),
        presenter_order: presenters,
        stage: Some(StageState {
            index: limits::MAX_PLAN_STAGES - 1,
            entered_at: u64::MAX,
            timer: widest_timer(),
        }),
        turn: widest_turn(),
        floor_time: FloorTime {
            by_participant: (1..=ever as u32).map(|id| (id, u64::MAX)).collect(),
            by_role: vec![(Role::CoFacilitator, u64::MAX); 8],
        },
        prompt: Some(PushedPrompt {
            prompt: Prompt {
                id: "custom".into(),
                text: text(WIDE, limits::MAX_TEXT_CHARS),
                source: "facilitator".into(),
            },
            to: Some(Role::CoFacilitator),
            by: u32::MAX,
            at: u64::MAX,
        }),
        pairs: widest_pairs(),
        commitments: (1..=limits::MAX_COMMITMENTS_PER_ROOM)
            .map(widest_commitment)
            .collect(),
        carried: (1..=limits::MAX_COMMITMENTS_PER_ROOM)
            .map(widest_commitment)
            .collect(),
        feedback: (1..=limits::MAX_FEEDBACK_PER_ROOM as u32)
            .map(widest_feedback)
            .collect(),
        call_url: Some(widest_url()),
        group_call_template: Some(widest_url()),
        group_call_urls: vec![widest_url(); limits::MAX_GROUP_CALL_URLS],
    }
}

/// A call link at its longest.
fn widest_url() -> String {
    let head = "https://meet.example.org/";
    format!("{head}{}", "a".repeat(limits::MAX_URL_CHARS - head.len()))
}

#[test]
fn the_welcome_of_the_fullest_room_and_its_largest_events_stay_far_below_the_frame_limit() {
    assert_eq!(
        MAX_OUTGOING_FRAME_BYTES,
        limits::MAX_SERVER_FRAME_BYTES,
        "the websocket layer sends what the protocol promises clients"
    );
    let room = fullest_room();
    assert_eq!(room.plan.len(), limits::MAX_PLAN_STAGES);
    let welcome = ServerMessage::Welcome {
        id: "i".repeat(limits::MAX_COMMAND_ID_CHARS),
        protocol: 1,
        server_time: u64::MAX,
        seq: u64::MAX,
        you: u32::MAX,
        token: Some("t".repeat(43)),
        room: Box::new(room.clone()),
        guest_key: None,
    };
    let snapshot = ServerMessage::Snapshot {
        id: "i".repeat(limits::MAX_COMMAND_ID_CHARS),
        protocol: 1,
        server_time: u64::MAX,
        seq: u64::MAX,
        recovered: false,
        you: u32::MAX,
        room: Box::new(room.clone()),
    };
    let event = |event: Event| ServerMessage::Event {
        seq: u64::MAX,
        at: u64::MAX,
        event,
    };
    let mine = Mine {
        commitments: (1..=2 * limits::MAX_COMMITMENTS_PER_PERSON)
            .map(widest_commitment)
            .collect(),
        feedback: (1..=limits::MAX_FEEDBACK_PER_PERSON as u32)
            .map(widest_feedback)
            .collect(),
        survey: Some(SurveyAnswer {
            from: u32::MAX,
            rating: 5,
            comment: Some(text(WIDE, limits::MAX_TEXT_CHARS)),
            visibility: Visibility::Exportable,
        }),
    };
    let largest = [
        ("welcome", bytes(&welcome)),
        ("snapshot", bytes(&snapshot)),
        (
            "plan_changed",
            bytes(&event(Event::PlanChanged {
                presenter_order: room.presenter_order.clone(),
                plan: room.plan.clone(),
                seed: Some(u64::MAX),
                stage_index: Some(limits::MAX_PLAN_STAGES - 1),
            })),
        ),
        (
            "ack with my items",
            bytes(&ServerMessage::Ack {
                id: "i".repeat(limits::MAX_COMMAND_ID_CHARS),
                seq: u64::MAX,
                server_time: u64::MAX,
                result: Some(AckResult::Mine { mine }),
            }),
        ),
        (
            "floor_time_credited",
            bytes(&event(Event::FloorTimeCredited {
                floor_time: room.floor_time.clone(),
            })),
        ),
        (
            "pairs_changed",
            bytes(&event(Event::PairsChanged {
                pairs: room.pairs.clone(),
                reason: PairsReason::Switched,
                group: Some(u32::MAX),
            })),
        ),
        (
            "session_changed",
            bytes(&event(Event::SessionChanged {
                session: room.session.clone(),
                stage: room.stage.clone(),
                turn: room.turn.clone(),
            })),
        ),
        (
            "notes_changed",
            bytes(&event(Event::NotesChanged {
                commitments: vec![widest_commitment(1)],
                carried: vec![widest_commitment(2)],
                feedback: vec![widest_feedback(1)],
                feedback_removed: vec![FeedbackKey {
                    from: u32::MAX,
                    group: u32::MAX,
                    round: u32::MAX,
                }],
            })),
        ),
    ];
    for (what, size) in &largest {
        eprintln!("fullest room: {what}: {size} bytes");
    }
    let limit = limits::MAX_SERVER_FRAME_BYTES;
    for (what, size) in &largest {
        // A third of the limit to spare, whatever the frame.
        assert!(
            size * 3 <= limit * 2,
            "{what}: {size} bytes leaves less than a third of the {limit} bytes spare"
        );
    }
    // Only what the welcome carries whole grows with the room: every event but the plan's,
    // and every answer, stays small.
    for (what, size) in &largest[3..] {
        assert!(*size <= 256 * 1024, "{what}: {size} bytes");
    }
    assert!(largest[7].1 <= 16 * 1024, "notes_changed carries one item");
    // And what people send at its longest fits a client frame.
    let feedback = ClientMessage {
        id: "i".repeat(limits::MAX_COMMAND_ID_CHARS),
        command: Command::GiveFeedback {
            rating: 5,
            helped: text(WIDE, limits::MAX_TEXT_CHARS),
            helped_less: text(WIDE, limits::MAX_TEXT_CHARS),
            visibility: Visibility::Exportable,
        },
    };
    let sent = serde_json::to_vec(&feedback).expect("a command").len();
    assert!(sent <= limits::MAX_FRAME_BYTES, "{sent} bytes");
}
