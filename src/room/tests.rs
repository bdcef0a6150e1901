//! Unit tests of the room state machine, with time passed in.

use circlekeeper_protocol::{
    AckResult, Command, ErrorCode, Event, Format, GroupPhase, Outcome, PairsReason, ParticipantId,
    Role, SessionStatus, SpeakingMode, StageKind, StageSpec, Standing, TimerKind, Visibility,
};

use super::state::{Applied, Recorded, Rejection, Room, RoomSetup, DEFAULT_GROUND_RULES};
use crate::formats;

const T0: u64 = 1_800_000_000_000;
const MIN: u64 = 60_000;

struct Circle {
    room: Room,
    host: ParticipantId,
    people: Vec<ParticipantId>,
    log: Vec<Recorded>,
}

fn setup(format: Format) -> RoomSetup {
    RoomSetup {
        id: "room".into(),
        title: "Tuesday set".into(),
        format,
        ground_rules: DEFAULT_GROUND_RULES.into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        earlier: Vec::new(),
    }
}

impl Circle {
    /// A room with a facilitator and `n` consenting participants.
    fn new(format: Format, n: usize) -> Circle {
        let mut c = Circle {
            room: Room::new(setup(format)),
            host: 0,
            people: Vec::new(),
            log: Vec::new(),
        };
        let (host, events) = c
            .room
            .join(T0, "Fran", Standing::Facilitator)
            .expect("host joins");
        c.log.extend(events);
        c.host = host;
        c.ok(host, Command::AcceptGroundRules);
        for name in ["Ada", "Ben", "Chen", "Dee", "Eli", "Fay"].iter().take(n) {
            let (id, events) = c.room.join(T0, name, Standing::Participant).expect("joins");
            c.log.extend(events);
            c.people.push(id);
            c.ok(id, Command::AcceptGroundRules);
        }
        c
    }

    fn als(n: usize) -> Circle {
        Circle::new(
            formats::builtin("action_learning_set").expect("built-in"),
            n,
        )
    }

    fn try_at(&mut self, now: u64, who: ParticipantId, cmd: Command) -> Result<Applied, Rejection> {
        let before = self.room.clone();
        let result = self.room.apply(now, who, &cmd);
        match &result {
            Ok(applied) => self.log.extend(applied.events.iter().cloned()),
            Err(_) => assert_eq!(self.room, before, "a rejected command changed the room"),
        }
        result
    }

    fn ok(&mut self, who: ParticipantId, cmd: Command) -> Applied {
        self.ok_at(T0, who, cmd)
    }

    fn ok_at(&mut self, now: u64, who: ParticipantId, cmd: Command) -> Applied {
        let name = cmd.name();
        self.try_at(now, who, cmd)
            .unwrap_or_else(|r| panic!("{name} was refused: {r}"))
    }

    fn refused(&mut self, who: ParticipantId, cmd: Command) -> ErrorCode {
        self.try_at(T0, who, cmd)
            .expect_err("should be refused")
            .code
    }

    fn tick(&mut self, now: u64) -> Vec<Event> {
        let events = self.room.tick(now);
        self.log.extend(events.iter().cloned());
        events.into_iter().map(|r| r.event).collect()
    }

    fn floor(&self) -> Option<ParticipantId> {
        self.room.view().turn.floor.as_ref().map(|f| f.participant)
    }

    fn stage_kind(&self) -> StageKind {
        self.room.current_stage().expect("a stage").kind
    }
}

#[test]
fn a_participant_must_accept_the_ground_rules_before_taking_a_turn() {
    let mut c = Circle::als(2);
    let (newcomer, _) = c
        .room
        .join(T0, "Gus", Standing::Participant)
        .expect("joins");
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 2 }); // clarifying questions: hand queue
    assert_eq!(
        c.refused(newcomer, Command::RaiseHand),
        ErrorCode::ConsentRequired
    );
    assert_eq!(
        c.refused(
            c.host,
            Command::GiveFloor {
                participant: Some(newcomer)
            }
        ),
        ErrorCode::ConsentRequired
    );
    c.ok(newcomer, Command::AcceptGroundRules);
    c.ok(newcomer, Command::RaiseHand);
    assert!(c.room.participant(newcomer).expect("there").consented);
}

#[test]
fn the_check_in_round_goes_in_order_with_pass_and_done() {
    let mut c = Circle::als(3);
    c.ok(c.host, Command::Start);
    assert_eq!(c.stage_kind(), StageKind::CheckIn);
    let round = c.room.view().turn.round.clone().expect("a round");
    assert_eq!(
        round.order,
        vec![c.host, c.people[0], c.people[1], c.people[2]]
    );
    assert_eq!(c.floor(), Some(c.host));
    // Only the speaker (or a facilitator) ends a turn.
    assert_eq!(
        c.refused(c.people[1], Command::Done),
        ErrorCode::NotYourTurn
    );
    c.ok(c.host, Command::Done);
    assert_eq!(c.floor(), Some(c.people[0]));
    c.ok(c.people[0], Command::Pass);
    assert_eq!(c.floor(), Some(c.people[1]));
    c.ok(c.host, Command::NextTurn);
    c.ok(c.people[2], Command::Done);
    let round = c.room.view().turn.round.clone().expect("a round");
    assert_eq!(round.position, round.order.len());
    assert_eq!(round.passed, vec![c.people[0]]);
    assert_eq!(c.floor(), None);
    assert_eq!(
        c.refused(c.host, Command::NextTurn),
        ErrorCode::InvalidState
    );
}

#[test]
fn raised_hands_are_served_in_order() {
    let mut c = Circle::als(4);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 2 });
    assert_eq!(c.stage_kind(), StageKind::ClarifyingQuestions);
    let [a, b, d, e] = [c.people[0], c.people[1], c.people[2], c.people[3]];
    for p in [d, b, e] {
        c.ok(p, Command::RaiseHand);
    }
    assert_eq!(c.refused(d, Command::RaiseHand), ErrorCode::InvalidState);
    assert_eq!(c.room.view().turn.queue, vec![d, b, e]);
    c.ok(b, Command::LowerHand { participant: None });
    assert_eq!(
        c.refused(
            a,
            Command::LowerHand {
                participant: Some(e)
            }
        ),
        ErrorCode::Forbidden
    );
    c.ok(c.host, Command::GiveFloor { participant: None });
    assert_eq!(c.floor(), Some(d));
    assert_eq!(c.room.view().turn.queue, vec![e]);
    c.ok(c.host, Command::GiveFloor { participant: None });
    assert_eq!(c.floor(), Some(e));
    c.ok(c.host, Command::TakeFloor);
    assert_eq!(c.floor(), None);
    assert_eq!(
        c.refused(c.host, Command::TakeFloor),
        ErrorCode::InvalidState
    );
}

#[test]
fn the_presenter_holds_the_floor_in_their_presentation() {
    let mut c = Circle::als(3);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[2], c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::NextStage);
    let stage = c.room.current_stage().expect("stage").clone();
    assert_eq!(stage.kind, StageKind::Presentation);
    assert_eq!(stage.presenter, Some(c.people[2]));
    assert_eq!(c.floor(), Some(c.people[2]));
    assert_eq!(c.room.stage_role(c.people[2]), Role::Presenter);
    // Two presenters: 1 check-in + 2 × 5 + 1 check-out.
    assert_eq!(c.room.view().plan.len(), 12);
    c.ok(c.host, Command::NextStage);
    assert_eq!(c.room.stage_role(c.people[0]), Role::Coach);
    assert_eq!(c.room.stage_role(c.host), Role::Facilitator);
}

#[test]
fn presenters_who_have_begun_keep_their_place() {
    let mut c = Circle::als(3);
    let [a, b, d] = [c.people[0], c.people[1], c.people[2]];
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![a, b, d],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 }); // Ada's coaching questions
    assert_eq!(
        c.refused(
            c.host,
            Command::SetPresenterOrder {
                order: vec![b, a, d]
            }
        ),
        ErrorCode::InvalidState
    );
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![a, d, b],
        },
    );
    let view = c.room.view();
    assert_eq!(view.stage.as_ref().expect("stage").index, 3);
    assert_eq!(view.plan[6].presenter, Some(d));
}

#[test]
fn shuffling_presenters_is_deterministic_for_a_seed() {
    let mut one = Circle::als(5);
    let mut two = Circle::als(5);
    one.ok(one.host, Command::ShufflePresenters { seed: Some(42) });
    two.ok(two.host, Command::ShufflePresenters { seed: Some(42) });
    let order = one.room.view().presenter_order.clone();
    assert_eq!(order, two.room.view().presenter_order);
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, one.people);
}

#[test]
fn timers_warn_expire_and_show_overtime() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 }); // coaching questions, 15 min
    let timebox = c.room.current_stage().expect("stage").timebox_ms;
    let deadline = c.room.next_deadline().expect("a deadline");
    assert_eq!(deadline, T0 + timebox - MIN);
    assert!(c.tick(deadline - 1).is_empty());
    let events = c.tick(deadline);
    assert!(matches!(
        events.as_slice(),
        [Event::TimerWarning {
            timer: TimerKind::Stage,
            ..
        }]
    ));
    let events = c.tick(T0 + timebox + 5_000);
    assert!(matches!(
        events.as_slice(),
        [Event::TimerExpired {
            timer: TimerKind::Stage,
            ..
        }]
    ));
    let timer = &c.room.view().stage.as_ref().expect("stage").timer;
    assert_eq!(timer.remaining_ms(T0 + timebox + 35_000), -35_000);
    assert_eq!(c.room.next_deadline(), None);
    assert!(
        c.tick(T0 + timebox + 99_000).is_empty(),
        "expiry fires once"
    );
}

#[test]
fn pausing_keeps_the_remaining_time() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 });
    let timebox = c.room.current_stage().expect("stage").timebox_ms;
    c.ok_at(T0 + MIN, c.host, Command::Pause);
    assert_eq!(c.room.view().session.status, SessionStatus::Paused);
    assert_eq!(c.room.next_deadline(), None);
    assert!(c.tick(T0 + 100 * MIN).is_empty());
    c.ok_at(T0 + 10 * MIN, c.host, Command::ResumeSession);
    let timer = c.room.view().stage.as_ref().expect("stage").timer.clone();
    assert_eq!(timer.remaining_ms(T0 + 10 * MIN), (timebox - MIN) as i64);
}

#[test]
fn a_timer_can_be_extended_and_shortened() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    let before = c
        .room
        .view()
        .stage
        .as_ref()
        .expect("stage")
        .timer
        .remaining_ms(T0);
    c.ok(
        c.host,
        Command::AdjustTimer {
            timer: TimerKind::Stage,
            seconds: 300,
        },
    );
    c.ok(
        c.host,
        Command::AdjustTimer {
            timer: TimerKind::Stage,
            seconds: -60,
        },
    );
    let after = c
        .room
        .view()
        .stage
        .as_ref()
        .expect("stage")
        .timer
        .remaining_ms(T0);
    assert_eq!(after - before, 240_000);
    assert_eq!(
        c.refused(
            c.host,
            Command::AdjustTimer {
                timer: TimerKind::Stage,
                seconds: 0
            }
        ),
        ErrorCode::InvalidMessage
    );
    // The check-in round has a speaker timer too.
    c.ok(
        c.host,
        Command::AdjustTimer {
            timer: TimerKind::Speaker,
            seconds: 30,
        },
    );
}

#[test]
fn auto_advance_moves_on_when_time_runs_out_and_ends_after_the_last_stage() {
    let stage = |title: &str| StageSpec {
        kind: StageKind::Discussion,
        title: title.into(),
        purpose: String::new(),
        timebox_ms: MIN,
        speaking: SpeakingMode::Open,
        per_speaker_ms: None,
        roles: vec![],
        auto_advance: true,
        per_presenter: false,
        half_ms: None,
        feedback_ms: None,
    };
    let format = Format {
        name: "Two quick stages".into(),
        description: String::new(),
        stages: vec![stage("one"), stage("two")],
    };
    let mut c = Circle::new(format, 1);
    c.ok(c.host, Command::Start);
    c.tick(T0 + MIN);
    assert_eq!(c.room.view().stage.as_ref().expect("stage").index, 1);
    c.tick(T0 + 2 * MIN);
    assert_eq!(c.room.view().session.status, SessionStatus::Ended);
}

#[test]
fn floor_time_is_counted_per_participant_and_role_without_paused_time() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::NextStage); // Ada presents
    c.ok_at(T0 + 2 * MIN, c.host, Command::Pause);
    c.ok_at(T0 + 7 * MIN, c.host, Command::ResumeSession);
    c.ok_at(T0 + 8 * MIN, c.host, Command::NextStage);
    let ft = &c.room.view().floor_time;
    assert!(ft.by_participant.contains(&(c.people[0], 3 * MIN)));
    assert!(ft.by_role.contains(&(Role::Presenter, 3 * MIN)));
}

#[test]
fn the_timekeeper_may_pause_but_not_steer() {
    let mut c = Circle::als(2);
    let tk = c.people[1];
    c.ok(
        c.host,
        Command::AssignRole {
            participant: tk,
            role: Role::Timekeeper,
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(tk, Command::Pause);
    c.ok(tk, Command::ResumeSession);
    assert_eq!(c.refused(tk, Command::NextStage), ErrorCode::Forbidden);
    c.ok(
        c.host,
        Command::RotateRole {
            role: Role::Timekeeper,
        },
    );
    let holders: Vec<_> = c
        .room
        .view()
        .participants
        .iter()
        .filter(|p| p.roles.contains(&Role::Timekeeper))
        .map(|p| p.id)
        .collect();
    assert_eq!(holders, vec![c.people[0]]);
    assert_eq!(c.refused(tk, Command::Pause), ErrorCode::Forbidden);
}

#[test]
fn a_co_facilitator_steers_but_cannot_remove_the_host() {
    let mut c = Circle::als(2);
    let co = c.people[0];
    assert_eq!(c.refused(co, Command::Start), ErrorCode::Forbidden);
    c.ok(
        c.host,
        Command::AssignRole {
            participant: co,
            role: Role::CoFacilitator,
        },
    );
    c.ok(co, Command::Start);
    assert_eq!(
        c.refused(
            co,
            Command::RemoveParticipant {
                participant: c.host
            }
        ),
        ErrorCode::Forbidden
    );
}

#[test]
fn a_removed_participant_leaves_the_queue_the_round_and_the_plan() {
    let mut c = Circle::als(3);
    let [a, b, d] = [c.people[0], c.people[1], c.people[2]];
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![a, b, d],
        },
    );
    c.ok(c.host, Command::Start);
    // In the check-in round: remove the one who is next.
    c.ok(c.host, Command::Done); // host done → Ada speaks
    c.ok(c.host, Command::RemoveParticipant { participant: b });
    let round = c.room.view().turn.round.clone().expect("round");
    assert!(!round.order[round.position..].contains(&b));
    assert!(!c.room.view().presenter_order.contains(&b));
    assert!(c.room.participant(b).expect("kept").removed);
    assert_eq!(c.refused(b, Command::RaiseHand), ErrorCode::Forbidden);
    c.ok(a, Command::Done);
    assert_eq!(c.floor(), Some(d));
}

#[test]
fn observers_take_no_turn() {
    let mut c = Circle::als(2);
    let o = c.people[1];
    c.ok(
        c.host,
        Command::AssignRole {
            participant: o,
            role: Role::Observer,
        },
    );
    c.ok(c.host, Command::Start);
    let round = c.room.view().turn.round.clone().expect("round");
    assert!(!round.order.contains(&o));
    c.ok(c.host, Command::JumpToStage { index: 2 });
    assert_eq!(c.refused(o, Command::RaiseHand), ErrorCode::Forbidden);
    assert_eq!(c.room.stage_role(o), Role::Observer);
}

#[test]
fn coaches_draw_prompts_suited_to_the_stage_and_presenters_do_not() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 });
    assert_eq!(c.stage_kind(), StageKind::CoachingQuestions);
    let applied = c.ok(c.people[1], Command::DrawPrompt { seed: Some(7) });
    assert!(applied.events.is_empty(), "a drawn prompt is private");
    let Some(AckResult::Prompt { prompt }) = applied.result else {
        panic!("no prompt in the ack");
    };
    let suited = super::prompts::for_stage(StageKind::CoachingQuestions);
    assert!(suited.contains(&prompt));
    assert_eq!(
        c.refused(c.people[0], Command::DrawPrompt { seed: Some(7) }),
        ErrorCode::Forbidden
    );
}

#[test]
fn a_pushed_prompt_reaches_everyone_or_one_role() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::PushPrompt {
            prompt: Some("tq_what_else_could_this_mean".into()),
            text: None,
            to: Some(Role::Coach),
        },
    );
    let card = c.room.view().prompt.clone().expect("a card");
    assert_eq!(card.to, Some(Role::Coach));
    assert_eq!(card.prompt.text, "What else could this mean?");
    assert_eq!(
        c.refused(
            c.host,
            Command::PushPrompt {
                prompt: Some("nope".into()),
                text: None,
                to: None
            }
        ),
        ErrorCode::UnknownPrompt
    );
    assert_eq!(
        c.refused(
            c.host,
            Command::PushPrompt {
                prompt: None,
                text: Some("x".repeat(501)),
                to: None
            }
        ),
        ErrorCode::InvalidText
    );
    c.ok(c.host, Command::ClearPrompt);
    assert!(c.room.view().prompt.is_none());
}

#[test]
fn a_new_stage_starts_with_a_clear_prompt_card() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(
        c.host,
        Command::PushPrompt {
            prompt: Some("tq_what_else_could_this_mean".into()),
            text: None,
            to: None,
        },
    );
    assert!(c.room.view().prompt.is_some());
    c.ok(c.host, Command::NextStage);
    assert!(c.room.view().prompt.is_none());
}

#[test]
fn nothing_but_sync_and_leave_works_after_the_end() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::EndSession);
    assert_eq!(
        c.refused(c.host, Command::NextStage),
        ErrorCode::SessionEnded
    );
    assert_eq!(
        c.refused(c.people[0], Command::RaiseHand),
        ErrorCode::SessionEnded
    );
    c.ok(c.people[0], Command::Sync);
    assert!(c.room.join(T0, "Late", Standing::Participant).is_err());
}

#[test]
fn names_are_trimmed_and_limited() {
    let mut room = Room::new(setup(
        formats::builtin("coaching_circle").expect("built-in"),
    ));
    assert_eq!(
        room.join(T0, "   ", Standing::Participant)
            .map(|_| ())
            .expect_err("empty")
            .code,
        ErrorCode::InvalidText
    );
    assert_eq!(
        room.join(T0, &"n".repeat(61), Standing::Participant)
            .map(|_| ())
            .expect_err("long")
            .code,
        ErrorCode::InvalidText
    );
    let (id, _) = room
        .join(T0, "  Ada  ", Standing::Participant)
        .expect("joins");
    assert_eq!(room.participant(id).expect("there").name, "Ada");
}

#[test]
fn replaying_the_events_rebuilds_the_same_room() {
    let mut c = Circle::als(3);
    c.ok(c.host, Command::ShufflePresenters { seed: Some(3) });
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::Done);
    c.ok_at(T0 + MIN, c.host, Command::NextStage);
    c.tick(T0 + 20 * MIN);
    c.ok_at(T0 + 21 * MIN, c.host, Command::JumpToStage { index: 3 });
    let mut fresh = Room::new(setup(
        formats::builtin("action_learning_set").expect("built-in"),
    ));
    for (i, r) in c.log.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "sequence numbers are contiguous");
        fresh.replay(r);
    }
    assert_eq!(fresh, c.room);
}

/// A coaching swap with a facilitator and `n` consenting participants, in its pairing stage.
fn swap(n: usize) -> Circle {
    let mut c = Circle::new(formats::builtin("coaching_swap").expect("built-in"), n);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 2 });
    assert_eq!(c.stage_kind(), StageKind::Pairing);
    c
}

fn group_of(c: &Circle, who: ParticipantId) -> circlekeeper_protocol::GroupState {
    c.room.group_of(who).cloned().expect("in a group")
}

#[test]
fn an_even_count_makes_pairs_and_an_odd_count_one_triad() {
    let mut even = swap(6);
    even.ok(even.host, Command::ProposePairs { seed: Some(1) });
    let proposal = even.room.view().pairs.proposal.clone().expect("a proposal");
    assert!(proposal.groups.iter().all(|g| g.len() == 2));
    assert_eq!(proposal.groups.len(), 3);
    let mut odd = swap(5);
    odd.ok(odd.host, Command::ProposePairs { seed: Some(1) });
    let proposal = odd.room.view().pairs.proposal.clone().expect("a proposal");
    assert_eq!(proposal.groups.iter().filter(|g| g.len() == 3).count(), 1);
    let placed: usize = proposal.groups.iter().map(Vec::len).sum();
    assert_eq!(placed, 5, "everyone placed, the facilitator not");
}

#[test]
fn the_facilitator_swaps_locks_and_confirms_pairs() {
    let mut c = swap(4);
    c.ok(c.host, Command::ProposePairs { seed: Some(9) });
    let before = c.room.view().pairs.proposal.clone().expect("proposal");
    let (a, b) = (before.groups[0][0], before.groups[1][0]);
    c.ok(c.host, Command::SwapPeople { a, b });
    let after = c.room.view().pairs.proposal.clone().expect("proposal");
    assert_eq!(after.groups[0][0], b);
    assert_eq!(after.groups[1][0], a);
    c.ok(
        c.host,
        Command::LockGroup {
            index: 0,
            locked: true,
        },
    );
    assert_eq!(
        c.refused(c.host, Command::SwapPeople { a, b }),
        ErrorCode::InvalidState
    );
    // A new proposal keeps the locked group.
    c.ok(c.host, Command::ProposePairs { seed: Some(10) });
    let again = c.room.view().pairs.proposal.clone().expect("proposal");
    let kept = after.groups[0].clone();
    assert!(again.groups.iter().any(|g| {
        let mut g = g.clone();
        let mut k = kept.clone();
        g.sort();
        k.sort();
        g == k
    }));
    c.ok(c.host, Command::ConfirmPairs);
    assert_eq!(c.room.view().pairs.groups.len(), 2);
    assert!(c.room.view().pairs.proposal.is_none());
    assert_eq!(
        c.refused(c.people[0], Command::ProposePairs { seed: None }),
        ErrorCode::Forbidden
    );
}

#[test]
fn roles_switch_only_when_both_confirm_and_never_silently() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage); // coaching in pairs
    let g = group_of(&c, c.people[0]);
    let (coach, client) = (g.coach, g.client);
    assert_ne!(coach, client);
    assert_eq!(c.room.stage_role(coach), Role::Coach);
    assert_eq!(c.room.stage_role(client), Role::Client);
    let half = g.timer.clone().expect("the half's timer runs");
    assert_eq!(half.duration_ms, 45 * MIN);
    // No switch during the half.
    assert_eq!(
        c.refused(client, Command::ConfirmSwitch),
        ErrorCode::InvalidState
    );
    c.ok(coach, Command::EndHalf { group: None });
    assert_eq!(group_of(&c, coach).phase, GroupPhase::Feedback);
    c.ok(client, Command::ConfirmSwitch);
    let waiting = group_of(&c, coach);
    assert_eq!(waiting.ready, vec![client]);
    assert_eq!(
        waiting.coach, coach,
        "one confirmation does not switch the roles"
    );
    assert_eq!(
        c.refused(client, Command::ConfirmSwitch),
        ErrorCode::InvalidState
    );
    c.ok(coach, Command::ConfirmSwitch);
    let switched = group_of(&c, coach);
    assert_eq!((switched.coach, switched.client), (client, coach));
    assert_eq!(switched.round, 1);
    assert_eq!(switched.phase, GroupPhase::Coaching);
    let switch_events = c
        .log
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                Event::PairsChanged {
                    reason: PairsReason::Switched,
                    ..
                }
            )
        })
        .count();
    assert_eq!(switch_events, 1, "the switch is one event everyone sees");
    // The second half, then done.
    c.ok(client, Command::EndHalf { group: None });
    c.ok(client, Command::ConfirmSwitch);
    c.ok(coach, Command::ConfirmSwitch);
    let done = group_of(&c, coach);
    assert_eq!(done.phase, GroupPhase::Done);
    assert!(done.timer.is_none());
}

#[test]
fn a_triad_gives_each_member_each_role_once_in_the_same_total_time() {
    let mut c = swap(3);
    c.ok(c.host, Command::ProposePairs { seed: Some(4) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let mut roles: std::collections::HashMap<ParticipantId, Vec<Role>> = Default::default();
    for round in 0..3 {
        let g = group_of(&c, c.people[0]);
        assert_eq!(g.round, round);
        assert_eq!(
            g.timer.as_ref().expect("timer").duration_ms,
            30 * MIN,
            "45 × 2 / 3"
        );
        for &m in &g.members {
            roles.entry(m).or_default().push(c.room.stage_role(m));
        }
        c.ok(c.host, Command::MoveEveryone); // coaching → feedback
        c.ok(c.host, Command::MoveEveryone); // feedback → switched (or done)
    }
    for (who, mut r) in roles {
        r.sort();
        assert_eq!(
            r,
            vec![Role::Coach, Role::Client, Role::Observer],
            "participant {who}"
        );
    }
    assert_eq!(group_of(&c, c.people[0]).phase, GroupPhase::Done);
}

#[test]
fn group_timers_warn_expire_pause_and_stop_when_everyone_is_called_back() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let deadline = c.room.next_deadline().expect("deadlines");
    assert_eq!(
        deadline,
        T0 + 44 * MIN,
        "the half warns a minute before its end"
    );
    let events = c.tick(T0 + 44 * MIN);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PairsChanged {
            reason: PairsReason::TimerWarning,
            ..
        }
    )));
    let events = c.tick(T0 + 46 * MIN);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PairsChanged {
            reason: PairsReason::TimerExpired,
            ..
        }
    )));
    c.ok_at(T0 + 50 * MIN, c.host, Command::Pause);
    assert!(group_of(&c, c.people[0])
        .timer
        .expect("timer")
        .ends_at
        .is_none());
    c.ok_at(T0 + 60 * MIN, c.host, Command::ResumeSession);
    c.ok_at(T0 + 61 * MIN, c.host, Command::NextStage); // back to plenary
    assert_eq!(c.stage_kind(), StageKind::CheckOut);
    let t = group_of(&c, c.people[0]).timer.expect("timer kept");
    assert!(t.ends_at.is_none(), "stopped outside the pairs stage");
}

#[test]
fn a_late_joiner_makes_a_triad_or_waits() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let (late, events) = c
        .room
        .join(T0, "Late", Standing::Participant)
        .expect("joins");
    c.log.extend(events);
    assert_eq!(
        c.refused(c.host, Command::PlaceLate { participant: late }),
        ErrorCode::ConsentRequired
    );
    c.ok(late, Command::AcceptGroundRules);
    c.ok(c.host, Command::PlaceLate { participant: late });
    let g = group_of(&c, late);
    assert_eq!(g.members.len(), 3);
    assert_eq!(g.observer, Some(late), "a late joiner observes first");
    // Another late joiner waits: no pair is left in its first half.
    let (later, events) = c
        .room
        .join(T0, "Later", Standing::Participant)
        .expect("joins");
    c.log.extend(events);
    c.ok(later, Command::AcceptGroundRules);
    c.ok(c.host, Command::PlaceLate { participant: later });
    assert_eq!(c.room.view().pairs.waiting, vec![later]);
    // The triad's first round was shortened to two thirds of a half.
    let t = g.timer.clone().expect("timer");
    assert_eq!(t.ends_at, Some(T0 + 30 * MIN));
    // A third late joiner is paired with the one waiting.
    let (last, events) = c
        .room
        .join(T0, "Last", Standing::Participant)
        .expect("joins");
    c.log.extend(events);
    c.ok(last, Command::AcceptGroundRules);
    c.ok(c.host, Command::PlaceLate { participant: last });
    let new_pair = group_of(&c, last);
    assert_eq!(new_pair.members, vec![later, last]);
    assert!(c.room.view().pairs.waiting.is_empty());
}

#[test]
fn a_private_commitment_makes_no_event_and_a_shared_one_does() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    assert_eq!(
        c.refused(
            c.people[0],
            Command::RecordCommitment {
                text: "x".into(),
                due: None,
                visibility: Visibility::Private
            }
        ),
        ErrorCode::NotInStage,
        "not in the check-in"
    );
    c.ok(c.host, Command::JumpToStage { index: 5 }); // Ada's commitment
    let private = c.ok(
        c.people[0],
        Command::RecordCommitment {
            text: "Talk to my manager about the budget".into(),
            due: Some("2027-02-01".into()),
            visibility: Visibility::Private,
        },
    );
    assert!(
        private.events.is_empty(),
        "a private commitment is never broadcast"
    );
    let Some(AckResult::Mine { mine }) = private.result else {
        panic!("my items in the ack")
    };
    assert_eq!(mine.commitments.len(), 1);
    assert!(c.room.view().commitments.is_empty());
    let shared = c.ok(
        c.people[0],
        Command::RecordCommitment {
            text: "Ask for help".into(),
            due: None,
            visibility: Visibility::Circle,
        },
    );
    assert!(
        matches!(shared.events.as_slice(), [r] if matches!(r.event, Event::NotesChanged { .. }))
    );
    assert_eq!(c.room.view().commitments.len(), 1);
    assert_eq!(c.room.view().commitments[0].text, "Ask for help");
    assert_eq!(
        c.refused(
            c.people[0],
            Command::RecordCommitment {
                text: "x".into(),
                due: Some("next week".into()),
                visibility: Visibility::Circle
            }
        ),
        ErrorCode::InvalidText
    );
    // Someone else's items are not mine.
    let other = c.ok(c.people[1], Command::MyItems);
    let Some(AckResult::Mine { mine }) = other.result else {
        panic!("my items")
    };
    assert!(mine.commitments.is_empty());
    // Reviewing my own commitment.
    let id = c.room.view().commitments[0].id.clone();
    assert_eq!(
        c.refused(
            c.people[1],
            Command::ReviewCommitment {
                commitment: id.clone(),
                outcome: Outcome::Kept
            }
        ),
        ErrorCode::InvalidMessage
    );
    c.ok(
        c.people[0],
        Command::ReviewCommitment {
            commitment: id,
            outcome: Outcome::Partly,
        },
    );
    assert_eq!(c.room.view().commitments[0].outcome, Some(Outcome::Partly));
}

#[test]
fn only_the_client_gives_feedback_after_a_half_and_the_survey_comes_at_the_end() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let g = group_of(&c, c.people[0]);
    let fb = |rating| Command::GiveFeedback {
        rating,
        helped: "Your silence gave me room".into(),
        helped_less: String::new(),
        visibility: Visibility::Private,
    };
    assert_eq!(
        c.refused(g.client, fb(4)),
        ErrorCode::InvalidState,
        "not during the half"
    );
    c.ok(g.coach, Command::EndHalf { group: None });
    assert_eq!(c.refused(g.coach, fb(4)), ErrorCode::Forbidden);
    assert_eq!(c.refused(g.client, fb(9)), ErrorCode::InvalidMessage);
    let given = c.ok(g.client, fb(4));
    assert!(given.events.is_empty(), "private feedback is not broadcast");
    assert_eq!(c.room.notes().feedback[0].to, g.coach);
    let survey = Command::AnswerSurvey {
        rating: 5,
        comment: Some("Calm".into()),
        visibility: Visibility::Exportable,
    };
    assert_eq!(c.refused(g.client, survey.clone()), ErrorCode::NotInStage);
    c.ok(c.host, Command::EndSession);
    let answered = c.ok(g.client, survey);
    let Some(AckResult::Mine { mine }) = answered.result else {
        panic!("my items")
    };
    assert_eq!(mine.survey.map(|s| s.rating), Some(5));
    assert_eq!(mine.feedback.len(), 1);
}

#[test]
fn someone_leaving_a_triad_leaves_a_pair_and_a_lone_partner_waits() {
    let mut c = swap(3);
    c.ok(c.host, Command::ProposePairs { seed: Some(4) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let g = group_of(&c, c.people[0]);
    let observer = g.observer.expect("a triad");
    c.ok(observer, Command::Leave);
    let pair = group_of(&c, g.coach);
    assert_eq!(pair.members.len(), 2);
    assert_eq!(
        (pair.coach, pair.client, pair.observer),
        (g.coach, g.client, None)
    );
    c.ok(
        c.host,
        Command::RemoveParticipant {
            participant: pair.coach,
        },
    );
    assert!(c.room.view().pairs.groups.is_empty());
    assert_eq!(c.room.view().pairs.waiting, vec![pair.client]);
    assert!(c.log.iter().any(|r| matches!(
        r.event,
        Event::PairsChanged {
            reason: PairsReason::Left,
            ..
        }
    )));
}

#[test]
fn a_link_change_is_a_facilitators_event_without_a_key_and_leaves_the_view_alone() {
    use circlekeeper_protocol::LinkKind;
    let mut c = Circle::als(1);
    let ada = c.people[0];
    let before = c.room.view().clone();
    for link in [LinkKind::Join, LinkKind::Host] {
        assert_eq!(
            c.refused(ada, Command::RotateLink { link }),
            ErrorCode::Forbidden
        );
        assert_eq!(
            c.refused(ada, Command::RevokeLink { link }),
            ErrorCode::Forbidden
        );
    }
    let rotated = c.ok(
        c.host,
        Command::RotateLink {
            link: LinkKind::Join,
        },
    );
    // The state machine knows no keys: the actor adds the new one to the ack.
    assert_eq!(rotated.result, None);
    let events: Vec<&Event> = rotated.events.iter().map(|r| &r.event).collect();
    assert_eq!(
        events,
        [&Event::LinkChanged {
            link: LinkKind::Join,
            revoked: false,
            by: c.host
        }]
    );
    assert_eq!(c.room.view(), &before, "the view holds no links");
    // Also after the end: the host link still exports the room.
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::EndSession);
    let revoked = c.ok(
        c.host,
        Command::RevokeLink {
            link: LinkKind::Host,
        },
    );
    assert!(matches!(
        revoked.events.as_slice(),
        [r] if r.event == Event::LinkChanged { link: LinkKind::Host, revoked: true, by: c.host }
    ));
    let mut fresh = Room::new(setup(
        formats::builtin("action_learning_set").expect("built-in"),
    ));
    for r in &c.log {
        fresh.replay(r);
    }
    assert_eq!(fresh.view(), c.room.view());
    assert_eq!(fresh.seq(), c.room.seq());
}
