//! The room as a pure state machine: `handle(now, input) -> (events, answer, effects)`.
//!
//! No I/O, no clock reads, no randomness: time and seeds come in as arguments. Every change goes
//! through `Room::emit`, which records an [`Event`] and applies it with `Room::evolve` —
//! plain assignment of the state the event carries — or, for what people write, through its
//! sibling `write_notes`. Replaying a room's events on a fresh room therefore rebuilds exactly
//! the same state (a property test checks this after every step). What the world must do
//! besides (store notes, replace a key, delete the room…) comes back as [`Effect`]s, owed where
//! the change is made.
//!
//! The runtime (the live layer's room actor) uses [`Room::handle`] only. `apply`, `join`,
//! `set_presence` and `tick` are the older entry points, with the same rules but without the
//! effects; they stay public only for the tests and benches that drive a room directly.
//!
//! This module holds the [`Room`] itself, `apply` (which checks who may send a command and hands
//! it to the feature that owns it), `emit`, `evolve` and `replay`. Each feature owns its rules
//! and its command handler in a module of its own:
//!
//! - `handle` — the single entry point, [`Room::handle`]: an [`Input`] in, an [`Outcome`]
//!   (events, answer, [`Effect`]s for the runtime) out;
//! - `admission` — who may enter, and as whom;
//! - `participants` — joining, presence, consent, leaving and removal;
//! - `turns` — rounds, pass and done, the hand queue, the floor and floor time;
//! - `session` — start, pause, resume, end, and moving between stages;
//! - `presenters` — the presenter order and the plan it expands into;
//! - `roles` — the role each person plays in a stage, and the roles a facilitator assigns;
//! - `timers` — adjusting and restarting timers, deadlines and ticks;
//! - `prompting` — drawing and pushing prompts;
//! - `calls` — the room's call link and each group's, and `set_call_links`;
//! - `links` — rotating and revoking the room's links, and its deletion;
//! - `notes` — commitments, feedback and the survey, private items included;
//! - `envelope` — the shape of a private text sealed on its author's device;
//! - `pairs` — coaching swaps: proposing, confirming and running pairs;
//! - `permissions` — the authorization table: who may send what;
//! - `text` — how typed text is cleaned and limited.

use circlekeeper_protocol::{
    AckResult, Command, ErrorCode, Event, FloorTime, Format, Millis, PairsState, ParticipantId,
    ParticipantView, PlannedStage, RoomView, SessionState, SessionStatus, TurnState,
};

mod admission;
mod calls;
mod envelope;
mod handle;
mod links;
mod notes;
mod pairs;
mod participants;
mod permissions;
mod presenters;
mod prompting;
mod roles;
mod session;
mod text;
mod timers;
mod turns;

pub use crate::random::{mix, shuffle};
pub use admission::MemberEntry;
pub use calls::check_call_links;
pub use envelope::is_envelope;
pub use handle::{Effect, Input, Outcome};
pub use notes::Notes;
pub use pairs::{PairingSetup, DEFAULT_FEEDBACK_MS, DEFAULT_HALF_MS};
pub use participants::MAX_TURNOVER;
pub use permissions::{permission, Permission};
pub use presenters::expand;
pub use text::{clean_name, clean_paragraphs, clean_text, name_key, HIDDEN_IN_NAMES, NAME_TAKEN};
pub use timers::{DEFAULT_WARN_BEFORE_MS, MAX_ADJUST_SECONDS};

/// The ground rules a room gets unless its facilitator writes their own.
pub const DEFAULT_GROUND_RULES: &str = "What is said in this circle stays in this circle: \
we do not repeat anyone's story or name outside it, and nothing said here is recorded. \
We listen fully and do not interrupt. We ask questions rather than give advice, unless \
advice is asked for. Each of us takes part by choice and may pass at any time. \
A commitment or feedback leaves the room only if its author marks it shareable.";

/// Why a command was refused. The room did not change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Rejection {
    /// The stable code the client sees.
    pub code: ErrorCode,
    /// A human-readable explanation.
    pub message: String,
}

impl Rejection {
    /// A rejection with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
        }
    }
}

fn reject<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(code, message))
}

/// An event with its place in the room's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The room's sequence number of this event.
    pub seq: u64,
    /// When it happened.
    pub at: Millis,
    /// What happened.
    pub event: Event,
}

/// What an accepted command produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// The events, in order.
    pub events: Vec<Recorded>,
    /// The command's answer, where it has one.
    pub result: Option<AckResult>,
}

/// What one input changed: the events it recorded and the effects it owes the world, in order.
/// Every feature writes into one of these; `emit` is the only way to add an event, and an
/// effect is added where the change that owes it is made.
#[derive(Debug, Default)]
struct Changes {
    /// The events, in order.
    events: Vec<Recorded>,
    /// The effects, in order, each once.
    effects: Vec<Effect>,
}

impl Changes {
    /// Owe `effect`, once however many changes owe it.
    fn owe(&mut self, effect: Effect) {
        if !self.effects.contains(&effect) {
            self.effects.push(effect);
        }
    }
}

/// How a room was opened: everything needed to build its initial state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoomSetup {
    /// Room id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The format, validated.
    pub format: Format,
    /// Ground rules.
    pub ground_rules: String,
    /// Warning point for timers.
    pub warn_before_ms: u64,
    /// Pairing history and this session's place in its series (coaching swaps).
    #[serde(default)]
    pub pairing: PairingSetup,
    /// Commitments from the series' earlier sessions (any visibility: each author reviews
    /// their own; the room sees the shared ones). The room keeps the most recent ones only,
    /// up to the limits on commitments per person and per room.
    #[serde(default)]
    pub earlier: Vec<circlekeeper_protocol::Commitment>,
    /// The room's call links, checked (`check_call_links`): the room's own and the groups'.
    #[serde(default)]
    pub calls: circlekeeper_protocol::CallLinks,
}

/// One room's state. Serializable whole, for snapshots.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Room {
    format: Format,
    view: RoomView,
    seq: u64,
    /// Pairing history for this room's swaps.
    #[serde(default)]
    pairing: PairingSetup,
    /// What people wrote, private items included (never in an event).
    #[serde(default)]
    notes: Notes,
}

impl Room {
    /// A room in the lobby, with nobody in it yet.
    pub fn new(setup: RoomSetup) -> Room {
        let plan = expand(&setup.format, &[]);
        let mut room = Room {
            view: RoomView {
                id: setup.id,
                title: setup.title,
                format: setup.format.name.clone(),
                ground_rules: setup.ground_rules,
                warn_before_ms: setup.warn_before_ms,
                participants: Vec::new(),
                session: SessionState {
                    status: SessionStatus::Lobby,
                    started_at: None,
                    paused_at: None,
                    ended_at: None,
                },
                presenter_order: Vec::new(),
                plan,
                stage: None,
                turn: TurnState::default(),
                floor_time: FloorTime::default(),
                prompt: None,
                pairs: PairsState::default(),
                commitments: Vec::new(),
                carried: Vec::new(),
                feedback: Vec::new(),
                call_url: setup.calls.call_url,
                group_call_template: setup.calls.group_call_template,
                group_call_urls: setup.calls.group_call_urls,
            },
            format: setup.format,
            seq: 0,
            pairing: setup.pairing,
            notes: Notes {
                earlier: notes::carried(setup.earlier),
                ..Notes::default()
            },
        };
        room.sync_shared_on_setup();
        room
    }

    /// The room as clients see it.
    pub fn view(&self) -> &RoomView {
        &self.view
    }

    /// The sequence number of the last event.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// A participant by id.
    pub fn participant(&self, id: ParticipantId) -> Option<&ParticipantView> {
        self.view.participants.iter().find(|p| p.id == id)
    }

    /// The planned stage the session is in.
    pub fn current_stage(&self) -> Option<&PlannedStage> {
        self.view
            .stage
            .as_ref()
            .and_then(|s| self.view.plan.get(s.index))
    }

    /// Apply one recorded event (replay after a restart, or a check that events rebuild state).
    pub fn replay(&mut self, recorded: &Recorded) {
        self.evolve(&recorded.event);
        self.seq = recorded.seq;
    }

    /// Record an event and apply it. The only way state changes.
    fn emit(&mut self, now: Millis, out: &mut Changes, event: Event) {
        self.evolve(&event);
        self.seq += 1;
        out.events.push(Recorded {
            seq: self.seq,
            at: now,
            event,
        });
    }

    /// Apply an event's carried state: assignment only, no rules.
    fn evolve(&mut self, event: &Event) {
        self.view.apply(event);
    }

    // ----- commands ---------------------------------------------------------------------

    /// Apply a command from participant `who` at `now`. On success the returned events have
    /// already changed the room; on rejection nothing changed. The effects the command owes are
    /// dropped: this is for tests and benches; the runtime uses [`Room::handle`].
    pub fn apply(
        &mut self,
        now: Millis,
        who: ParticipantId,
        cmd: &Command,
    ) -> Result<Applied, Rejection> {
        let (result, changes) = self.command(now, who, cmd)?;
        Ok(Applied {
            events: changes.events,
            result,
        })
    }

    /// Apply a command: its answer, and its events and effects.
    fn command(
        &mut self,
        now: Millis,
        who: ParticipantId,
        cmd: &Command,
    ) -> Result<(Option<AckResult>, Changes), Rejection> {
        let Some(me) = self.participant(who).cloned() else {
            return reject(ErrorCode::UnknownParticipant, "you are not in this room");
        };
        if me.removed {
            return reject(ErrorCode::Forbidden, "you are no longer in this room");
        }
        permissions::authorize(&me, cmd)?;
        if self.view.session.status == SessionStatus::Ended && !permissions::allowed_after_end(cmd)
        {
            return reject(ErrorCode::SessionEnded, "this session has ended");
        }
        let mut out = Changes::default();
        let result = self.dispatch(now, &me, cmd, &mut out)?;
        Ok((result, out))
    }

    /// Hand an authorized command to the feature that owns it.
    fn dispatch(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<Option<AckResult>, Rejection> {
        use Command::*;
        let none = |()| None;
        match cmd {
            Join { .. } | Host { .. } | Member { .. } | Resume { .. } => reject(
                ErrorCode::AlreadyAuthenticated,
                "this connection is already in a room",
            ),
            Sync => Ok(None),
            AcceptGroundRules | RemoveParticipant { .. } | Leave => {
                self.participants_command(now, me, cmd, out).map(none)
            }
            RaiseHand
            | LowerHand { .. }
            | Pass
            | Done
            | GiveFloor { .. }
            | TakeFloor
            | NextTurn => self.turns_command(now, me, cmd, out).map(none),
            Start
            | NextStage
            | PreviousStage
            | JumpToStage { .. }
            | Pause
            | ResumeSession
            | EndSession => self.session_command(now, cmd, out).map(none),
            AdjustTimer { .. } | RestartTimer { .. } => {
                self.timers_command(now, cmd, out).map(none)
            }
            SetPresenterOrder { .. } | ShufflePresenters { .. } => {
                self.presenters_command(now, cmd, out).map(none)
            }
            AssignRole { .. } | UnassignRole { .. } | RotateRole { .. } => {
                self.roles_command(now, cmd, out).map(none)
            }
            DrawPrompt { .. } | PushPrompt { .. } | ClearPrompt => {
                self.prompting_command(now, me, cmd, out)
            }
            DeleteRoom | RotateLink { .. } | RevokeLink { .. } | ShowLink => {
                self.links_command(now, me, cmd, out).map(none)
            }
            RecordCommitment { .. }
            | ReviewCommitment { .. }
            | GiveFeedback { .. }
            | AnswerSurvey { .. }
            | MyItems => self.notes_command(now, me, cmd, out),
            ProposePairs { .. }
            | SwapPeople { .. }
            | LockGroup { .. }
            | ConfirmPairs
            | EndHalf { .. }
            | ConfirmSwitch
            | MoveEveryone
            | PlaceLate { .. } => self.pairs_command(now, me, cmd, out).map(none),
            SetCallLinks { .. } => self.calls_command(now, cmd, out).map(none),
        }
    }
}
