//! Unit tests of the room state machine, with time passed in: the harness here ([`Circle`]),
//! the tests in one module per feature, as the state machine is split.

use circlekeeper_protocol::{
    AckResult, Command, ErrorCode, Event, Format, GroupPhase, Outcome, PairsReason, ParticipantId,
    Role, SessionStatus, SpeakingMode, StageKind, StageSpec, Standing, TimerKind, Visibility,
};

use super::state::{Applied, Recorded, Rejection, Room, RoomSetup, DEFAULT_GROUND_RULES};
use crate::formats;

/// A text as its author's device sends it: sealed (shaped as an envelope, with the text's bytes
/// standing in for the ciphertext: the room checks the shape only) when `private`.
fn note(text: &str, visibility: Visibility) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    if visibility != Visibility::Private {
        return text.to_string();
    }
    let mut sealed = text.as_bytes().to_vec();
    sealed.extend([0; 16]);
    format!(
        "ck1:{}:{}",
        URL_SAFE_NO_PAD.encode([0; 12]),
        URL_SAFE_NO_PAD.encode(sealed)
    )
}

mod bounds;
mod handle;
mod links;
mod notes;
mod pairs;
mod participants;
mod presenters;
mod prompting;
mod roles;
mod session;
mod timers;
mod turns;

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
        calls: Default::default(),
    }
}

impl Circle {
    /// A room with a facilitator and `n` consenting participants.
    fn new(format: Format, n: usize) -> Circle {
        Circle::from_setup(setup(format), n)
    }

    /// A room opened with `setup`, with a facilitator and `n` consenting participants.
    fn from_setup(setup: RoomSetup, n: usize) -> Circle {
        let mut c = Circle {
            room: Room::new(setup),
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

/// A one-minute open discussion that moves on by itself when its time runs out.
fn quick_stage(title: &str) -> StageSpec {
    StageSpec {
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
    }
}
