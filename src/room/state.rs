//! The room as a pure state machine: `apply(now, who, command) -> events`.
//!
//! No I/O, no clock reads, no randomness: time and seeds come in as arguments. Every change goes
//! through `Room::emit`, which records an [`Event`] and applies it with `Room::evolve` —
//! plain assignment of the state the event carries. Replaying a room's events on a fresh room
//! therefore rebuilds exactly the same state (a property test checks this after every step).

use circlekeeper_protocol::{
    limits, AckResult, Command, ErrorCode, Event, Floor, FloorTime, Format, Millis, PairsState,
    ParticipantChange, ParticipantId, ParticipantView, PlannedStage, Presence, Prompt,
    PushedPrompt, Role, RoomView, Round, SessionState, SessionStatus, SpeakingMode, StageState,
    Standing, TimerKind, TimerState, TurnReason, TurnState,
};

use super::{prompts, timer};

mod notes;
mod pairs;
pub use notes::Notes;
pub use pairs::{PairingSetup, DEFAULT_FEEDBACK_MS, DEFAULT_HALF_MS};

/// The ground rules a room gets unless its facilitator writes their own.
pub const DEFAULT_GROUND_RULES: &str = "What is said in this circle stays in this circle: \
we do not repeat anyone's story or name outside it, and nothing said here is recorded. \
We listen fully and do not interrupt. We ask questions rather than give advice, unless \
advice is asked for. Each of us takes part by choice and may pass at any time. \
A commitment or feedback leaves the room only if its author marks it shareable.";

/// The warning point used when a room does not set one: one minute before the end.
pub const DEFAULT_WARN_BEFORE_MS: u64 = 60_000;

/// How many times over a room's seats may be filled as people leave and others arrive, so the
/// participant list (which keeps those who left, for attendance) stays bounded.
pub const MAX_TURNOVER: usize = 4;

/// Largest timer adjustment in one command, in seconds: an hour either way.
pub const MAX_ADJUST_SECONDS: i32 = 3600;

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

/// Who may send a command. The one table of authorization; `protocol/README.md` documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Anyone in the room (further checks by stage and turn apply).
    Anyone,
    /// Facilitators, co-facilitators and the timekeeper.
    Timekeeping,
    /// Facilitators and co-facilitators.
    Facilitating,
}

/// Who may send `cmd`.
pub fn permission(cmd: &Command) -> Permission {
    use Command::*;
    match cmd {
        Join { .. }
        | Host { .. }
        | Member { .. }
        | Resume { .. }
        | Sync
        | AcceptGroundRules
        | RaiseHand
        | LowerHand { .. }
        | Pass
        | Done
        | DrawPrompt { .. }
        | EndHalf { .. }
        | ConfirmSwitch
        | RecordCommitment { .. }
        | ReviewCommitment { .. }
        | GiveFeedback { .. }
        | AnswerSurvey { .. }
        | MyItems
        | Leave => Permission::Anyone,
        Pause | ResumeSession | AdjustTimer { .. } | RestartTimer { .. } => Permission::Timekeeping,
        Start
        | NextStage
        | PreviousStage
        | JumpToStage { .. }
        | EndSession
        | GiveFloor { .. }
        | TakeFloor
        | NextTurn
        | SetPresenterOrder { .. }
        | ShufflePresenters { .. }
        | AssignRole { .. }
        | UnassignRole { .. }
        | RotateRole { .. }
        | RemoveParticipant { .. }
        | PushPrompt { .. }
        | ClearPrompt
        | DeleteRoom
        | RotateLink { .. }
        | RevokeLink { .. }
        | ProposePairs { .. }
        | SwapPeople { .. }
        | LockGroup { .. }
        | ConfirmPairs
        | MoveEveryone
        | PlaceLate { .. } => Permission::Facilitating,
    }
}

/// Check a display name or other one-line text: trimmed, non-empty, at most `max` characters,
/// no control characters (no line breaks). Returns the trimmed text.
pub fn clean_text(what: &str, text: &str, max: usize) -> Result<String, Rejection> {
    check_text(what, text, max, false)
}

/// Like [`clean_text`], but line breaks are allowed (ground rules, prompts).
pub fn clean_paragraphs(what: &str, text: &str, max: usize) -> Result<String, Rejection> {
    check_text(what, text, max, true)
}

fn check_text(what: &str, text: &str, max: usize, lines: bool) -> Result<String, Rejection> {
    let t = text.trim();
    if t.is_empty() {
        return reject(ErrorCode::InvalidText, format!("{what} must not be empty"));
    }
    if t.chars().count() > max {
        return reject(
            ErrorCode::InvalidText,
            format!("{what} is longer than {max} characters"),
        );
    }
    if t.chars().any(|c| c.is_control() && !(lines && c == '\n')) {
        return reject(
            ErrorCode::InvalidText,
            format!("{what} must not contain control characters"),
        );
    }
    Ok(t.to_string())
}

/// A splitmix64 step: the one source of pseudo-randomness, fed by seeds passed in.
pub fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Shuffle deterministically for a seed (Fisher–Yates over splitmix64).
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = mix(state);
        let j = (state % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Expand a format's stages into a plan: each block of `per_presenter` stages once per
/// presenter (once with no presenter while the order is empty).
pub fn expand(format: &Format, presenters: &[ParticipantId]) -> Vec<PlannedStage> {
    let stages = &format.stages;
    let planned = |i: usize, presenter: Option<ParticipantId>| {
        let s = &stages[i];
        PlannedStage {
            spec: i,
            kind: s.kind,
            title: s.title.clone(),
            purpose: s.purpose.clone(),
            timebox_ms: s.timebox_ms,
            speaking: s.speaking,
            per_speaker_ms: s.per_speaker_ms,
            roles: s.roles.clone(),
            auto_advance: s.auto_advance,
            presenter,
            half_ms: s.half_ms,
            feedback_ms: s.feedback_ms,
        }
    };
    let mut plan = Vec::new();
    let mut i = 0;
    while i < stages.len() {
        if !stages[i].per_presenter {
            plan.push(planned(i, None));
            i += 1;
            continue;
        }
        let end = (i..stages.len())
            .find(|&k| !stages[k].per_presenter)
            .unwrap_or(stages.len());
        if presenters.is_empty() {
            plan.extend((i..end).map(|k| planned(k, None)));
        } else {
            for &p in presenters {
                plan.extend((i..end).map(|k| planned(k, Some(p))));
            }
        }
        i = end;
    }
    plan
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
    /// their own; the room sees the shared ones).
    #[serde(default)]
    pub earlier: Vec<circlekeeper_protocol::Commitment>,
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
            },
            format: setup.format,
            seq: 0,
            pairing: setup.pairing,
            notes: Notes {
                earlier: setup.earlier,
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

    /// The role `who` plays in the current stage: observer if they hold that role, presenter if
    /// the stage is theirs, facilitator if they steer, else coach in stages that need coaches and
    /// member otherwise.
    pub fn stage_role(&self, who: ParticipantId) -> Role {
        let Some(p) = self.participant(who) else {
            return Role::Member;
        };
        let stage = self.current_stage();
        if stage.is_some_and(|s| s.presenter == Some(who)) {
            return Role::Presenter;
        }
        if p.roles.contains(&Role::Observer) {
            return Role::Observer;
        }
        if let Some(role) = self.pair_role(who) {
            return role;
        }
        if p.standing.is_facilitating() {
            return Role::Facilitator;
        }
        match stage {
            Some(s) if s.roles.contains(&Role::Coach) => Role::Coach,
            Some(s) if s.roles.contains(&Role::Client) => Role::Client,
            _ => Role::Member,
        }
    }

    /// Apply one recorded event (replay after a restart, or a check that events rebuild state).
    pub fn replay(&mut self, recorded: &Recorded) {
        self.evolve(&recorded.event);
        self.seq = recorded.seq;
    }

    /// Record an event and apply it. The only way state changes.
    fn emit(&mut self, now: Millis, out: &mut Vec<Recorded>, event: Event) {
        self.evolve(&event);
        self.seq += 1;
        out.push(Recorded {
            seq: self.seq,
            at: now,
            event,
        });
    }

    /// Apply an event's carried state: assignment only, no rules.
    fn evolve(&mut self, event: &Event) {
        self.view.apply(event);
    }

    // ----- membership -------------------------------------------------------------------

    /// A new participant joins with a display name. Returns their id and the events.
    pub fn join(
        &mut self,
        now: Millis,
        name: &str,
        standing: Standing,
    ) -> Result<(ParticipantId, Vec<Recorded>), Rejection> {
        self.join_as(now, name, standing, None)
    }

    /// A new participant joins, as a series member when `member` is given.
    pub fn join_as(
        &mut self,
        now: Millis,
        name: &str,
        standing: Standing,
        member: Option<String>,
    ) -> Result<(ParticipantId, Vec<Recorded>), Rejection> {
        let name = clean_text("name", name, limits::MAX_NAME_CHARS)?;
        if self.view.session.status == SessionStatus::Ended {
            return reject(ErrorCode::SessionEnded, "this session has ended");
        }
        let present = self.view.participants.iter().filter(|p| !p.removed).count();
        if present >= limits::MAX_PARTICIPANTS
            || self.view.participants.len() >= limits::MAX_PARTICIPANTS * MAX_TURNOVER
        {
            return reject(
                ErrorCode::RoomFull,
                format!("a room holds at most {} people", limits::MAX_PARTICIPANTS),
            );
        }
        let id = self.view.participants.len() as ParticipantId + 1;
        let participant = ParticipantView {
            id,
            name,
            standing,
            roles: Vec::new(),
            consented: false,
            presence: Presence::Connected,
            joined_at: now,
            removed: false,
            member,
        };
        let mut out = Vec::new();
        self.emit(now, &mut out, Event::ParticipantJoined { participant });
        Ok((id, out))
    }

    /// Mark a participant connected or away. No event if nothing changed.
    pub fn set_presence(
        &mut self,
        now: Millis,
        who: ParticipantId,
        presence: Presence,
    ) -> Vec<Recorded> {
        let mut out = Vec::new();
        if let Some(p) = self.participant(who) {
            if p.presence != presence && !p.removed {
                let participant = ParticipantView {
                    presence,
                    ..p.clone()
                };
                self.emit(
                    now,
                    &mut out,
                    Event::ParticipantUpdated {
                        participant,
                        change: ParticipantChange::Presence,
                    },
                );
            }
        }
        out
    }

    // ----- commands ---------------------------------------------------------------------

    /// Apply a command from participant `who` at `now`. On success the returned events have
    /// already changed the room; on rejection nothing changed.
    pub fn apply(
        &mut self,
        now: Millis,
        who: ParticipantId,
        cmd: &Command,
    ) -> Result<Applied, Rejection> {
        let Some(me) = self.participant(who).cloned() else {
            return reject(ErrorCode::UnknownParticipant, "you are not in this room");
        };
        if me.removed {
            return reject(ErrorCode::Forbidden, "you are no longer in this room");
        }
        let allowed = match permission(cmd) {
            Permission::Anyone => true,
            Permission::Facilitating => me.standing.is_facilitating(),
            Permission::Timekeeping => {
                me.standing.is_facilitating() || me.roles.contains(&Role::Timekeeper)
            }
        };
        if !allowed {
            let who_may = match permission(cmd) {
                Permission::Timekeeping => "a facilitator or the timekeeper",
                _ => "a facilitator",
            };
            return reject(
                ErrorCode::Forbidden,
                format!("only {who_may} may send {}", cmd.name()),
            );
        }
        let status = self.view.session.status;
        let anytime = matches!(
            cmd,
            Command::Sync
                | Command::Leave
                | Command::DeleteRoom
                | Command::RotateLink { .. }
                | Command::RevokeLink { .. }
                | Command::AnswerSurvey { .. }
                | Command::ReviewCommitment { .. }
                | Command::MyItems
        );
        if status == SessionStatus::Ended && !anytime {
            return reject(ErrorCode::SessionEnded, "this session has ended");
        }
        let mut out = Vec::new();
        let mut result = None;
        use Command::*;
        match cmd {
            Join { .. } | Host { .. } | Member { .. } | Resume { .. } => {
                return reject(
                    ErrorCode::AlreadyAuthenticated,
                    "this connection is already in a room",
                )
            }
            Sync => {}
            AcceptGroundRules => self.accept_ground_rules(now, &me, &mut out),
            RaiseHand => self.raise_hand(now, &me, &mut out)?,
            LowerHand { participant } => self.lower_hand(now, &me, *participant, &mut out)?,
            Pass => self.end_turn(now, &me, TurnReason::Passed, &mut out)?,
            Done => self.end_turn(now, &me, TurnReason::Done, &mut out)?,
            DrawPrompt { seed } => {
                result = Some(AckResult::Prompt {
                    prompt: self.draw_prompt(&me, seed.unwrap_or(0))?,
                })
            }
            Start => self.start(now, &mut out)?,
            NextStage => {
                let i = self.running_stage_index()?;
                if i + 1 >= self.view.plan.len() {
                    return reject(
                        ErrorCode::InvalidState,
                        "this is the last stage: end the session instead",
                    );
                }
                self.enter_stage(now, i + 1, &mut out);
            }
            PreviousStage => {
                let i = self.running_stage_index()?;
                if i == 0 {
                    return reject(ErrorCode::InvalidState, "this is the first stage");
                }
                self.enter_stage(now, i - 1, &mut out);
            }
            JumpToStage { index } => {
                self.running_stage_index()?;
                if *index >= self.view.plan.len() {
                    return reject(
                        ErrorCode::UnknownStage,
                        format!(
                            "the plan has {} stages; there is no stage {index}",
                            self.view.plan.len()
                        ),
                    );
                }
                self.enter_stage(now, *index, &mut out);
            }
            Pause => self.pause(now, &mut out)?,
            ResumeSession => self.resume(now, &mut out)?,
            EndSession => self.end(now, &mut out),
            AdjustTimer { timer, seconds } => {
                if *seconds == 0 || seconds.abs() > MAX_ADJUST_SECONDS {
                    return reject(
                        ErrorCode::InvalidMessage,
                        format!("seconds must be between -{MAX_ADJUST_SECONDS} and {MAX_ADJUST_SECONDS}, and not 0"),
                    );
                }
                let (t, is_speaker) = self.timer(*timer)?;
                let delta = i64::from(*seconds) * 1000;
                let state = timer::adjusted(&t, now, delta, self.view.warn_before_ms, is_speaker);
                self.emit(
                    now,
                    &mut out,
                    Event::TimerChanged {
                        timer: *timer,
                        state,
                    },
                );
            }
            RestartTimer { timer } => {
                let (t, _) = self.timer(*timer)?;
                let running = self.view.session.status == SessionStatus::Running;
                let state = timer::new(t.duration_ms, now, running);
                self.emit(
                    now,
                    &mut out,
                    Event::TimerChanged {
                        timer: *timer,
                        state,
                    },
                );
            }
            GiveFloor { participant } => self.give_floor(now, *participant, &mut out)?,
            TakeFloor => {
                let stage = self.turn_stage()?;
                if stage.speaking == SpeakingMode::Round {
                    return reject(ErrorCode::NotInStage, "in a round, use next_turn or pass");
                }
                let Some(holder) = self.view.turn.floor.as_ref().map(|f| f.participant) else {
                    return reject(ErrorCode::InvalidState, "nobody has the floor");
                };
                let mut turn = self.credit_floor(now, &mut out);
                turn.floor = None;
                turn.speaker_timer = None;
                self.emit(
                    now,
                    &mut out,
                    Event::TurnChanged {
                        turn,
                        reason: TurnReason::FloorTaken,
                        participant: Some(holder),
                    },
                );
            }
            NextTurn => {
                let stage = self.turn_stage()?;
                if stage.speaking != SpeakingMode::Round {
                    return reject(ErrorCode::NotInStage, "next_turn is for rounds");
                }
                self.advance_round(now, None, TurnReason::NextTurn, &mut out)?;
            }
            SetPresenterOrder { order } => {
                self.set_presenter_order(now, order.clone(), None, &mut out)?
            }
            ShufflePresenters { seed } => {
                let seed = seed.unwrap_or(0);
                let fixed = self.presented_prefix();
                let mut rest: Vec<ParticipantId> = if self.view.presenter_order.is_empty() {
                    self.default_presenters()
                } else {
                    self.view.presenter_order[fixed.len()..].to_vec()
                };
                shuffle(&mut rest, seed);
                let order = fixed.into_iter().chain(rest).collect();
                self.set_presenter_order(now, order, Some(seed), &mut out)?;
            }
            AssignRole { participant, role } => {
                self.set_role(now, *participant, *role, true, &mut out)?
            }
            UnassignRole { participant, role } => {
                self.set_role(now, *participant, *role, false, &mut out)?
            }
            RotateRole { role } => self.rotate_role(now, *role, &mut out)?,
            RemoveParticipant { participant } => {
                let target = self.known(*participant)?;
                if target.standing == Standing::Facilitator {
                    return reject(
                        ErrorCode::Forbidden,
                        "the facilitator who opened the room cannot be removed",
                    );
                }
                self.remove(now, &target, &mut out);
            }
            PushPrompt { prompt, text, to } => {
                let prompt = match (prompt, text) {
                    (Some(id), None) => prompts::by_id(id).ok_or_else(|| {
                        Rejection::new(
                            ErrorCode::UnknownPrompt,
                            format!("no prompt with id {id:?}"),
                        )
                    })?,
                    (None, Some(text)) => Prompt {
                        id: "custom".into(),
                        text: clean_paragraphs("text", text, limits::MAX_TEXT_CHARS)?,
                        source: "facilitator".into(),
                    },
                    _ => {
                        return reject(
                            ErrorCode::InvalidMessage,
                            "give either a prompt id or a text, not both",
                        )
                    }
                };
                let prompt = Some(PushedPrompt {
                    prompt,
                    to: *to,
                    by: who,
                    at: now,
                });
                self.emit(now, &mut out, Event::PromptChanged { prompt });
            }
            ClearPrompt => {
                if self.view.prompt.is_some() {
                    self.emit(now, &mut out, Event::PromptChanged { prompt: None });
                }
            }
            Leave => {
                if status != SessionStatus::Ended {
                    self.remove(now, &me, &mut out);
                }
            }
            // Authorized here; the actor removes the room and everything stored of it.
            DeleteRoom => {}
            // The event is recorded here; the actor, which holds the keys, replaces the key.
            RotateLink { link } | RevokeLink { link } => self.emit(
                now,
                &mut out,
                Event::LinkChanged {
                    link: *link,
                    revoked: matches!(cmd, RevokeLink { .. }),
                    by: who,
                },
            ),
            RecordCommitment { .. }
            | ReviewCommitment { .. }
            | GiveFeedback { .. }
            | AnswerSurvey { .. }
            | MyItems => result = self.notes_command(now, &me, cmd, &mut out)?,
            ProposePairs { .. }
            | SwapPeople { .. }
            | LockGroup { .. }
            | ConfirmPairs
            | EndHalf { .. }
            | ConfirmSwitch
            | MoveEveryone
            | PlaceLate { .. } => self.pairs_command(now, &me, cmd, &mut out)?,
        }
        Ok(Applied {
            events: out,
            result,
        })
    }

    // ----- checks -----------------------------------------------------------------------

    /// A participant who is in the room (not removed).
    fn known(&self, id: ParticipantId) -> Result<ParticipantView, Rejection> {
        match self.participant(id) {
            Some(p) if !p.removed => Ok(p.clone()),
            _ => reject(
                ErrorCode::UnknownParticipant,
                format!("no participant {id} in this room"),
            ),
        }
    }

    /// The stage index, once the session has started.
    fn running_stage_index(&self) -> Result<usize, Rejection> {
        match (&self.view.stage, self.view.session.status) {
            (_, SessionStatus::Lobby) => {
                reject(ErrorCode::NotStarted, "the session has not started")
            }
            (Some(s), _) => Ok(s.index),
            (None, _) => reject(ErrorCode::NotStarted, "the session has not started"),
        }
    }

    /// The current stage, for commands about turns.
    fn turn_stage(&self) -> Result<PlannedStage, Rejection> {
        self.running_stage_index()?;
        self.current_stage()
            .cloned()
            .ok_or_else(|| Rejection::new(ErrorCode::NotStarted, "the session has not started"))
    }

    /// A participant may take a turn: consented and not observing.
    fn may_take_turn(&self, p: &ParticipantView) -> Result<(), Rejection> {
        if !p.consented {
            return reject(
                ErrorCode::ConsentRequired,
                format!("{} has not accepted the ground rules yet", p.name),
            );
        }
        if p.roles.contains(&Role::Observer) {
            return reject(
                ErrorCode::Forbidden,
                format!("{} is observing and takes no turn", p.name),
            );
        }
        Ok(())
    }

    fn timer(&self, kind: TimerKind) -> Result<(TimerState, bool), Rejection> {
        self.running_stage_index()?;
        match kind {
            TimerKind::Stage => self.view.stage.as_ref().map(|s| (s.timer.clone(), false)),
            TimerKind::Speaker => self.view.turn.speaker_timer.clone().map(|t| (t, true)),
        }
        .ok_or_else(|| Rejection::new(ErrorCode::InvalidState, "that timer is not running"))
    }

    // ----- turns ------------------------------------------------------------------------

    /// The instant floor time counts up to: now, or the pause while paused.
    fn floor_clock(&self, now: Millis) -> Millis {
        self.view.session.paused_at.unwrap_or(now)
    }

    /// Credit the floor holder's time so far (emitting the new totals) and return the turn
    /// with the holder's `since` moved to now, ready to be changed further.
    fn credit_floor(&mut self, now: Millis, out: &mut Vec<Recorded>) -> TurnState {
        let mut turn = self.view.turn.clone();
        if let Some(floor) = turn.floor.as_mut() {
            let spoken = self.floor_clock(now).saturating_sub(floor.since);
            if spoken > 0 {
                let mut totals = self.view.floor_time.clone();
                add_time(&mut totals.by_participant, floor.participant, spoken);
                add_time(&mut totals.by_role, floor.role, spoken);
                self.emit(now, out, Event::FloorTimeCredited { floor_time: totals });
            }
            floor.since = now;
        }
        turn
    }

    /// A floor for `who` from now, with a speaker timer if the stage sets one.
    fn floor_for(&self, now: Millis, who: ParticipantId, turn: &mut TurnState) {
        let running = self.view.session.status == SessionStatus::Running;
        turn.floor = Some(Floor {
            participant: who,
            role: self.stage_role(who),
            since: now,
        });
        turn.speaker_timer = self
            .current_stage()
            .and_then(|s| s.per_speaker_ms)
            .map(|ms| timer::new(ms, now, running));
    }

    fn accept_ground_rules(&mut self, now: Millis, me: &ParticipantView, out: &mut Vec<Recorded>) {
        if me.consented {
            return;
        }
        let participant = ParticipantView {
            consented: true,
            ..me.clone()
        };
        self.emit(
            now,
            out,
            Event::ParticipantUpdated {
                participant,
                change: ParticipantChange::Consented,
            },
        );
        // Someone who consents during a round joins its end.
        let in_round = self
            .current_stage()
            .is_some_and(|s| s.speaking == SpeakingMode::Round);
        if in_round && self.stage_role(me.id) != Role::Observer {
            let mut turn = self.view.turn.clone();
            if let Some(round) = turn.round.as_mut() {
                if !round.order.contains(&me.id) {
                    round.order.push(me.id);
                    let starts = round.position + 1 == round.order.len() && turn.floor.is_none();
                    if starts {
                        self.floor_for(now, me.id, &mut turn);
                    }
                    self.emit(
                        now,
                        out,
                        Event::TurnChanged {
                            turn,
                            reason: TurnReason::Joined,
                            participant: Some(me.id),
                        },
                    );
                }
            }
        }
    }

    fn raise_hand(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        let stage = self.turn_stage()?;
        self.may_take_turn(me)?;
        if !matches!(stage.speaking, SpeakingMode::HandQueue | SpeakingMode::Open) {
            return reject(
                ErrorCode::NotInStage,
                format!("hands are not raised in {}", stage.title),
            );
        }
        let turn = &self.view.turn;
        if turn.queue.contains(&me.id) {
            return reject(ErrorCode::InvalidState, "your hand is already raised");
        }
        if turn.floor.as_ref().is_some_and(|f| f.participant == me.id) {
            return reject(ErrorCode::InvalidState, "you have the floor");
        }
        let mut turn = turn.clone();
        turn.queue.push(me.id);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason: TurnReason::HandRaised,
                participant: Some(me.id),
            },
        );
        Ok(())
    }

    fn lower_hand(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        whose: Option<ParticipantId>,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        let whose = whose.unwrap_or(me.id);
        if whose != me.id && !me.standing.is_facilitating() {
            return reject(
                ErrorCode::Forbidden,
                "only a facilitator may lower someone else's hand",
            );
        }
        if !self.view.turn.queue.contains(&whose) {
            return reject(ErrorCode::InvalidState, "that hand is not raised");
        }
        let mut turn = self.view.turn.clone();
        turn.queue.retain(|&p| p != whose);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason: TurnReason::HandLowered,
                participant: Some(whose),
            },
        );
        Ok(())
    }

    /// `pass` or `done`: the speaker ends their turn (a facilitator may do it for them).
    fn end_turn(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        reason: TurnReason,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        let stage = self.turn_stage()?;
        let holder = self.view.turn.floor.as_ref().map(|f| f.participant);
        let mine = holder == Some(me.id);
        if !mine && !me.standing.is_facilitating() {
            return reject(ErrorCode::NotYourTurn, "it is not your turn");
        }
        if stage.speaking == SpeakingMode::Round {
            return self.advance_round(now, holder, reason, out);
        }
        if reason == TurnReason::Passed {
            return reject(
                ErrorCode::NotInStage,
                "pass is for rounds; use done to give back the floor",
            );
        }
        let Some(holder) = holder else {
            return reject(ErrorCode::InvalidState, "nobody has the floor");
        };
        let mut turn = self.credit_floor(now, out);
        turn.floor = None;
        turn.speaker_timer = None;
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason,
                participant: Some(holder),
            },
        );
        Ok(())
    }

    /// Move a round to its next speaker (skipping anyone who left), marking a pass.
    fn advance_round(
        &mut self,
        now: Millis,
        speaker: Option<ParticipantId>,
        reason: TurnReason,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        let Some(round) = self.view.turn.round.clone() else {
            return reject(ErrorCode::InvalidState, "there is no round");
        };
        if round.position >= round.order.len() {
            return reject(ErrorCode::InvalidState, "the round is complete");
        }
        let mut turn = self.credit_floor(now, out);
        let mut round = round;
        if reason == TurnReason::Passed {
            if let Some(s) = speaker {
                round.passed.push(s);
            }
        }
        round.position += 1;
        while round
            .order
            .get(round.position)
            .is_some_and(|&p| self.participant(p).is_none_or(|p| p.removed))
        {
            round.position += 1;
        }
        turn.floor = None;
        turn.speaker_timer = None;
        if let Some(&next) = round.order.get(round.position) {
            self.floor_for(now, next, &mut turn);
        }
        turn.round = Some(round);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason,
                participant: speaker,
            },
        );
        Ok(())
    }

    fn give_floor(
        &mut self,
        now: Millis,
        to: Option<ParticipantId>,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        let stage = self.turn_stage()?;
        if stage.speaking == SpeakingMode::Round {
            return reject(
                ErrorCode::NotInStage,
                "in a round the floor goes in order: use next_turn",
            );
        }
        let to = match to.or_else(|| self.view.turn.queue.first().copied()) {
            Some(p) => p,
            None => return reject(ErrorCode::InvalidState, "no hand is raised"),
        };
        let target = self.known(to)?;
        self.may_take_turn(&target)?;
        if self
            .view
            .turn
            .floor
            .as_ref()
            .is_some_and(|f| f.participant == to)
        {
            return reject(
                ErrorCode::InvalidState,
                format!("{} already has the floor", target.name),
            );
        }
        let mut turn = self.credit_floor(now, out);
        turn.queue.retain(|&p| p != to);
        self.floor_for(now, to, &mut turn);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason: TurnReason::FloorGiven,
                participant: Some(to),
            },
        );
        Ok(())
    }

    /// Take someone out of the queue, the rest of the round and the floor.
    fn drop_from_turn(&mut self, now: Millis, who: ParticipantId, out: &mut Vec<Recorded>) {
        let turn = &self.view.turn;
        let holds = turn.floor.as_ref().is_some_and(|f| f.participant == who);
        let queued = turn.queue.contains(&who);
        let upcoming = turn
            .round
            .as_ref()
            .is_some_and(|r| r.order.iter().skip(r.position + 1).any(|&p| p == who));
        if holds && turn.round.is_some() {
            let _ = self.advance_round(now, Some(who), TurnReason::ParticipantLeft, out);
        }
        if !(holds || queued || upcoming) {
            return;
        }
        let mut turn = if holds {
            self.credit_floor(now, out)
        } else {
            self.view.turn.clone()
        };
        if turn.floor.as_ref().is_some_and(|f| f.participant == who) {
            turn.floor = None;
            turn.speaker_timer = None;
        }
        turn.queue.retain(|&p| p != who);
        if let Some(r) = turn.round.as_mut() {
            let pos = r.position;
            let mut i = 0;
            r.order.retain(|&p| {
                let keep = i <= pos || p != who;
                i += 1;
                keep
            });
        }
        if turn != self.view.turn {
            self.emit(
                now,
                out,
                Event::TurnChanged {
                    turn,
                    reason: TurnReason::ParticipantLeft,
                    participant: Some(who),
                },
            );
        }
    }

    // ----- stages and session -----------------------------------------------------------

    fn default_presenters(&self) -> Vec<ParticipantId> {
        self.view
            .participants
            .iter()
            .filter(|p| {
                !p.removed
                    && p.consented
                    && !p.standing.is_facilitating()
                    && !p.roles.contains(&Role::Observer)
            })
            .map(|p| p.id)
            .collect()
    }

    fn start(&mut self, now: Millis, out: &mut Vec<Recorded>) -> Result<(), Rejection> {
        if self.view.session.status != SessionStatus::Lobby {
            return reject(ErrorCode::InvalidState, "the session has already started");
        }
        if self.view.presenter_order.is_empty()
            && self.format.stages.iter().any(|s| s.per_presenter)
        {
            let order = self.default_presenters();
            if !order.is_empty() {
                self.set_presenter_order(now, order, None, out)?;
            }
        }
        let session = SessionState {
            status: SessionStatus::Running,
            started_at: Some(now),
            paused_at: None,
            ended_at: None,
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage: None,
                turn: TurnState::default(),
            },
        );
        self.enter_stage(now, 0, out);
        Ok(())
    }

    /// Enter the stage at `index`: fresh timer, fresh turn (round order, presenter's floor).
    fn enter_stage(&mut self, now: Millis, index: usize, out: &mut Vec<Recorded>) {
        self.credit_floor(now, out);
        let Some(planned) = self.view.plan.get(index).cloned() else {
            return;
        };
        // A prompt belongs to its stage: a new stage starts with a clear card.
        if self.view.prompt.is_some() {
            self.emit(now, out, Event::PromptChanged { prompt: None });
        }
        let running = self.view.session.status == SessionStatus::Running;
        let stage = StageState {
            index,
            entered_at: now,
            timer: timer::new(planned.timebox_ms, now, running),
        };
        // Evolve the stage first so roles are those of the new stage.
        let old_stage = self.view.stage.replace(stage.clone());
        let mut turn = TurnState::default();
        match planned.speaking {
            SpeakingMode::Round => {
                let order: Vec<ParticipantId> = self
                    .view
                    .participants
                    .iter()
                    .filter(|p| {
                        !p.removed && p.consented && self.stage_role(p.id) != Role::Observer
                    })
                    .map(|p| p.id)
                    .collect();
                if let Some(&first) = order.first() {
                    self.floor_for(now, first, &mut turn);
                }
                turn.round = Some(Round {
                    order,
                    position: 0,
                    passed: Vec::new(),
                });
            }
            SpeakingMode::PresenterOnly => {
                if let Some(p) = planned.presenter.and_then(|p| self.participant(p)) {
                    if p.consented && !p.removed {
                        self.floor_for(now, p.id, &mut turn);
                    }
                }
            }
            SpeakingMode::HandQueue | SpeakingMode::Open | SpeakingMode::Pairs => {}
        }
        self.view.stage = old_stage;
        self.emit(now, out, Event::StageEntered { stage, turn });
        self.pairs_on_stage(now, out);
    }

    fn pause(&mut self, now: Millis, out: &mut Vec<Recorded>) -> Result<(), Rejection> {
        match self.view.session.status {
            SessionStatus::Running => {}
            SessionStatus::Paused => {
                return reject(ErrorCode::InvalidState, "the session is already paused")
            }
            _ => return reject(ErrorCode::NotStarted, "the session has not started"),
        }
        let mut turn = self.credit_floor(now, out);
        turn.speaker_timer = turn.speaker_timer.map(|t| timer::paused(&t, now));
        let stage = self.view.stage.clone().map(|mut s| {
            s.timer = timer::paused(&s.timer, now);
            s
        });
        let session = SessionState {
            status: SessionStatus::Paused,
            paused_at: Some(now),
            ..self.view.session.clone()
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage,
                turn,
            },
        );
        self.pairs_on_session(now, false, out);
        Ok(())
    }

    fn resume(&mut self, now: Millis, out: &mut Vec<Recorded>) -> Result<(), Rejection> {
        match self.view.session.status {
            SessionStatus::Paused => {}
            SessionStatus::Running => {
                return reject(ErrorCode::InvalidState, "the session is not paused")
            }
            _ => return reject(ErrorCode::NotStarted, "the session has not started"),
        }
        let mut turn = self.view.turn.clone();
        if let Some(f) = turn.floor.as_mut() {
            f.since = now;
        }
        turn.speaker_timer = turn.speaker_timer.map(|t| timer::resumed(&t, now));
        let stage = self.view.stage.clone().map(|mut s| {
            s.timer = timer::resumed(&s.timer, now);
            s
        });
        let session = SessionState {
            status: SessionStatus::Running,
            paused_at: None,
            ..self.view.session.clone()
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage,
                turn,
            },
        );
        self.pairs_on_session(now, true, out);
        Ok(())
    }

    fn end(&mut self, now: Millis, out: &mut Vec<Recorded>) {
        let mut turn = self.credit_floor(now, out);
        turn.floor = None;
        turn.speaker_timer = None;
        turn.queue.clear();
        let stage = self.view.stage.clone().map(|mut s| {
            s.timer = timer::paused(&s.timer, now);
            s
        });
        let session = SessionState {
            status: SessionStatus::Ended,
            paused_at: None,
            ended_at: Some(now),
            ..self.view.session.clone()
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage,
                turn,
            },
        );
        self.pairs_on_session(now, false, out);
    }

    // ----- roles and presenters ---------------------------------------------------------

    /// Presenters whose slots have begun: fixed once the session is under way.
    fn presented_prefix(&self) -> Vec<ParticipantId> {
        let Some(stage) = &self.view.stage else {
            return Vec::new();
        };
        let mut seen = Vec::new();
        for s in self.view.plan.iter().take(stage.index + 1) {
            if let Some(p) = s.presenter {
                if !seen.contains(&p) {
                    seen.push(p);
                }
            }
        }
        seen
    }

    fn set_presenter_order(
        &mut self,
        now: Millis,
        order: Vec<ParticipantId>,
        seed: Option<u64>,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        if order.len() > limits::MAX_PARTICIPANTS {
            return reject(ErrorCode::InvalidMessage, "too many presenters");
        }
        for (i, &p) in order.iter().enumerate() {
            let person = self.known(p)?;
            if person.roles.contains(&Role::Observer) {
                return reject(
                    ErrorCode::InvalidState,
                    format!("{} is observing and does not present", person.name),
                );
            }
            if order[..i].contains(&p) {
                return reject(
                    ErrorCode::InvalidMessage,
                    format!("participant {p} is in the order twice"),
                );
            }
        }
        let fixed = self.presented_prefix();
        if !order.starts_with(&fixed) {
            return reject(
                ErrorCode::InvalidState,
                "presenters who have already begun keep their place; reorder only those still to come",
            );
        }
        let plan = expand(&self.format, &order);
        let stage_index = self.view.stage.as_ref().map(|s| {
            let current = &self.view.plan[s.index.min(self.view.plan.len().saturating_sub(1))];
            plan.iter()
                .position(|p| p.spec == current.spec && p.presenter == current.presenter)
                .unwrap_or(s.index.min(plan.len().saturating_sub(1)))
        });
        self.emit(
            now,
            out,
            Event::PlanChanged {
                presenter_order: order,
                plan,
                seed,
                stage_index,
            },
        );
        Ok(())
    }

    fn set_role(
        &mut self,
        now: Millis,
        who: ParticipantId,
        role: Role,
        on: bool,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        let target = self.known(who)?;
        let mut next = target.clone();
        match role {
            Role::CoFacilitator => {
                if target.standing == Standing::Facilitator {
                    return reject(ErrorCode::InvalidState, format!("{} opened the room and stays its facilitator", target.name));
                }
                next.standing = if on { Standing::CoFacilitator } else { Standing::Participant };
            }
            Role::Observer if on && self.current_stage().is_some_and(|s| s.presenter == Some(who)) => {
                return reject(
                    ErrorCode::InvalidState,
                    format!("{} is presenting now; they can observe once their turn is over", target.name),
                );
            }
            Role::Timekeeper | Role::Observer => {
                next.roles.retain(|&r| r != role);
                if on {
                    next.roles.push(role);
                    next.roles.sort();
                }
            }
            other => {
                return reject(
                    ErrorCode::InvalidMessage,
                    format!("{other:?} follows from the stage; assign timekeeper, observer or co_facilitator").to_lowercase(),
                )
            }
        }
        if next == target {
            return Ok(());
        }
        self.emit(
            now,
            out,
            Event::ParticipantUpdated {
                participant: next,
                change: ParticipantChange::Roles,
            },
        );
        if on && role == Role::Observer {
            self.drop_from_turn(now, who, out);
            self.drop_from_presenters(now, who, out);
            self.drop_from_pairs(now, who, out);
        }
        Ok(())
    }

    fn rotate_role(
        &mut self,
        now: Millis,
        role: Role,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        let presenter = self.current_stage().and_then(|s| s.presenter);
        if !matches!(role, Role::Timekeeper | Role::Observer) {
            return reject(
                ErrorCode::InvalidMessage,
                "only timekeeper and observer rotate",
            );
        }
        let people: Vec<&ParticipantView> = self
            .view
            .participants
            .iter()
            .filter(|p| !p.removed)
            .collect();
        let holder = people.iter().position(|p| p.roles.contains(&role));
        let start = holder.map_or(0, |h| h + 1);
        let next = (0..people.len())
            .map(|k| people[(start + k) % people.len()])
            .find(|p| {
                // The one presenting now cannot start observing mid-turn.
                let presenting = role == Role::Observer && presenter == Some(p.id);
                !p.standing.is_facilitating() && !p.roles.contains(&role) && !presenting
            })
            .map(|p| p.id);
        let Some(next) = next else {
            return reject(ErrorCode::InvalidState, "nobody else can take that role");
        };
        if let Some(h) = holder {
            let id = people[h].id;
            self.set_role(now, id, role, false, out)?;
        }
        self.set_role(now, next, role, true, out)
    }

    fn remove(&mut self, now: Millis, target: &ParticipantView, out: &mut Vec<Recorded>) {
        self.drop_from_turn(now, target.id, out);
        let participant = ParticipantView {
            removed: true,
            presence: Presence::Away,
            ..target.clone()
        };
        self.emit(
            now,
            out,
            Event::ParticipantUpdated {
                participant,
                change: ParticipantChange::Removed,
            },
        );
        self.drop_from_presenters(now, target.id, out);
        self.drop_from_pairs(now, target.id, out);
    }

    /// Take someone out of the presenter order, unless their slot has begun.
    fn drop_from_presenters(&mut self, now: Millis, who: ParticipantId, out: &mut Vec<Recorded>) {
        let fixed = self.presented_prefix();
        if self.view.presenter_order.contains(&who) && !fixed.contains(&who) {
            let order: Vec<ParticipantId> = self
                .view
                .presenter_order
                .iter()
                .copied()
                .filter(|&p| p != who)
                .collect();
            let _ = self.set_presenter_order(now, order, None, out);
        }
    }

    // ----- prompts ----------------------------------------------------------------------

    fn draw_prompt(&self, me: &ParticipantView, seed: u64) -> Result<Prompt, Rejection> {
        let stage = self.turn_stage()?;
        let role = self.stage_role(me.id);
        if !matches!(role, Role::Coach | Role::Facilitator) {
            return reject(
                ErrorCode::Forbidden,
                "prompts are drawn by coaches and facilitators",
            );
        }
        if role == Role::Coach && !me.consented {
            return reject(ErrorCode::ConsentRequired, "accept the ground rules first");
        }
        prompts::draw(stage.kind, seed).ok_or_else(|| {
            Rejection::new(
                ErrorCode::NotInStage,
                format!("no prompts for {}", stage.title),
            )
        })
    }

    // ----- time -------------------------------------------------------------------------

    fn warn_at(&self, kind: TimerKind, t: &TimerState) -> Option<u64> {
        timer::warn_point(
            t.duration_ms,
            self.view.warn_before_ms,
            kind == TimerKind::Speaker,
        )
    }

    /// When the room next needs a [`tick`](Room::tick), if ever.
    pub fn next_deadline(&self) -> Option<Millis> {
        if self.view.session.status != SessionStatus::Running {
            return None;
        }
        let stage =
            self.view.stage.as_ref().and_then(|s| {
                timer::next_deadline(&s.timer, self.warn_at(TimerKind::Stage, &s.timer))
            });
        let speaker = self
            .view
            .turn
            .speaker_timer
            .as_ref()
            .and_then(|t| timer::next_deadline(t, self.warn_at(TimerKind::Speaker, t)));
        stage
            .into_iter()
            .chain(speaker)
            .chain(self.pairs_deadline())
            .min()
    }

    /// Let time pass to `now`: fire due warnings and expiries, and auto-advance a stage whose
    /// time ran out when its format says so (ending the session after the last stage).
    pub fn tick(&mut self, now: Millis) -> Vec<Recorded> {
        let mut out = Vec::new();
        if self.view.session.status != SessionStatus::Running {
            return out;
        }
        for kind in [TimerKind::Speaker, TimerKind::Stage] {
            let t = match kind {
                TimerKind::Stage => self.view.stage.as_ref().map(|s| s.timer.clone()),
                TimerKind::Speaker => self.view.turn.speaker_timer.clone(),
            };
            let Some(mut t) = t else { continue };
            let warn = self.warn_at(kind, &t);
            while let Some(due) = timer::due(&t, now, warn) {
                match due {
                    timer::Due::Warning => {
                        t.warned = true;
                        self.emit(
                            now,
                            &mut out,
                            Event::TimerWarning {
                                timer: kind,
                                state: t.clone(),
                            },
                        );
                    }
                    timer::Due::Expiry => {
                        t.warned = t.warned || warn.is_some();
                        t.expired = true;
                        self.emit(
                            now,
                            &mut out,
                            Event::TimerExpired {
                                timer: kind,
                                state: t.clone(),
                            },
                        );
                        if kind == TimerKind::Stage
                            && self.current_stage().is_some_and(|s| s.auto_advance)
                        {
                            let i = self.view.stage.as_ref().map_or(0, |s| s.index);
                            if i + 1 < self.view.plan.len() {
                                self.enter_stage(now, i + 1, &mut out);
                            } else {
                                self.end(now, &mut out);
                            }
                        }
                    }
                }
            }
        }
        if self.view.session.status == SessionStatus::Running {
            self.pairs_tick(now, &mut out);
        }
        out
    }
}

fn add_time<K: PartialEq + Copy>(totals: &mut Vec<(K, u64)>, key: K, ms: u64) {
    match totals.iter_mut().find(|(k, _)| *k == key) {
        Some((_, t)) => *t += ms,
        None => totals.push((key, ms)),
    }
}
