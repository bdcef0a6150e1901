//! What a client sees of a room: the view sent in the welcome and the parts events replace.

use serde::{Deserialize, Serialize};

use crate::{Event, Millis, ParticipantId, PlannedStage, TimerKind};

/// The whole room as a client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomView {
    /// Room id.
    pub id: String,
    /// Title the facilitator gave the room.
    pub title: String,
    /// Name of the format the room runs.
    pub format: String,
    /// The ground rules everyone accepts before taking a turn.
    pub ground_rules: String,
    /// Warning point for timers, in milliseconds before the end.
    pub warn_before_ms: u64,
    /// Everyone who has joined, in join order (removed people stay, marked `removed`).
    pub participants: Vec<ParticipantView>,
    /// Lobby, running, paused or ended.
    pub session: SessionState,
    /// Presenters in order.
    pub presenter_order: Vec<ParticipantId>,
    /// The stages, expanded per presenter.
    pub plan: Vec<PlannedStage>,
    /// The current stage, once the session has started.
    pub stage: Option<StageState>,
    /// Floor, hand queue and round.
    pub turn: TurnState,
    /// Floor time per participant and per role.
    pub floor_time: FloorTime,
    /// The prompt card, if one is shown.
    pub prompt: Option<PushedPrompt>,
    /// Pairs and triads, in coaching swaps (left out while there are none).
    #[serde(default, skip_serializing_if = "PairsState::is_empty")]
    pub pairs: PairsState,
    /// Commitments shared with this circle (`circle` or `exportable`), made in this session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commitments: Vec<Commitment>,
    /// Shared commitments from the series' earlier sessions, with how they went: what the
    /// check-in looks back on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<Commitment>,
    /// Feedback shared with this circle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<Feedback>,
    /// The room's call link, shown to everyone in the room (left out while there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
    /// The template groups' call links are made from (left out while there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_call_template: Option<String>,
    /// Call links for the groups in order: group 1 gets the first (left out while empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_call_urls: Vec<String>,
}

impl RoomView {
    /// Apply one event to this view, by assignment only: each event carries the new value of
    /// the part of the room it changes, and this copies it in (see `protocol/README.md`,
    /// "Keeping the view current"). No room rule is re-checked or recomputed here.
    ///
    /// This is the one reducer: the server's room applies its own events with it, and a client
    /// that starts from a welcome's `room` and applies every event after it, in order, holds
    /// the same view as a fresh welcome at that sequence number. The web client's
    /// `applyEvent` (`web/connection.js`) is checked against it by `tests/reducer.rs`.
    ///
    /// - `participant_joined` and `participant_updated` replace the participant with the same
    ///   id, or append one not yet seen;
    /// - a stage timer event for a view with no current stage changes nothing;
    /// - `plan_changed` moves the current stage's index only when it names one;
    /// - `notes_changed` first removes the feedback it names in `feedback_removed`, then puts
    ///   each item it carries in place of the one with the same id (for feedback: the same
    ///   `from`, `group` and `round`) or appends it;
    /// - `link_changed` changes nothing: the room's keys are not part of the view;
    /// - `call_links_changed` sets the room's three call link fields, and the `call_url` of
    ///   each group it names (by id; a group it does not name keeps its link).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::ParticipantJoined { participant }
            | Event::ParticipantUpdated { participant, .. } => {
                put(&mut self.participants, participant, |p| {
                    p.id == participant.id
                });
            }
            Event::SessionChanged {
                session,
                stage,
                turn,
            } => {
                self.session = session.clone();
                self.stage = stage.clone();
                self.turn = turn.clone();
            }
            Event::StageEntered { stage, turn } => {
                self.stage = Some(stage.clone());
                self.turn = turn.clone();
            }
            Event::TurnChanged { turn, .. } => self.turn = turn.clone(),
            Event::FloorTimeCredited { floor_time } => self.floor_time = floor_time.clone(),
            Event::TimerChanged { timer, state }
            | Event::TimerWarning { timer, state }
            | Event::TimerExpired { timer, state } => match timer {
                TimerKind::Stage => {
                    if let Some(stage) = self.stage.as_mut() {
                        stage.timer = state.clone();
                    }
                }
                TimerKind::Speaker => self.turn.speaker_timer = Some(state.clone()),
            },
            Event::PlanChanged {
                presenter_order,
                plan,
                stage_index,
                ..
            } => {
                self.presenter_order = presenter_order.clone();
                self.plan = plan.clone();
                if let (Some(stage), Some(index)) = (self.stage.as_mut(), stage_index) {
                    stage.index = *index;
                }
            }
            Event::PairsChanged { pairs, .. } => self.pairs = pairs.clone(),
            Event::NotesChanged {
                commitments,
                carried,
                feedback,
                feedback_removed,
            } => {
                self.feedback
                    .retain(|f| !feedback_removed.contains(&f.key()));
                for c in commitments {
                    put(&mut self.commitments, c, |k| k.id == c.id);
                }
                for c in carried {
                    put(&mut self.carried, c, |k| k.id == c.id);
                }
                for f in feedback {
                    put(&mut self.feedback, f, |k| k.key() == f.key());
                }
            }
            Event::PromptChanged { prompt } => self.prompt = prompt.clone(),
            Event::LinkChanged { .. } => {}
            Event::CallLinksChanged {
                call_url,
                group_call_template,
                group_call_urls,
                groups,
            } => {
                self.call_url = call_url.clone();
                self.group_call_template = group_call_template.clone();
                self.group_call_urls = group_call_urls.clone();
                for call in groups {
                    if let Some(g) = self.pairs.groups.iter_mut().find(|g| g.id == call.group) {
                        g.call_url = call.call_url.clone();
                    }
                }
            }
        }
    }
}

/// Put `item` in place of the first element `same` picks out, or append it.
fn put<T: Clone>(list: &mut Vec<T>, item: &T, same: impl Fn(&T) -> bool) {
    match list.iter_mut().find(|k| same(k)) {
        Some(k) => *k = item.clone(),
        None => list.push(item.clone()),
    }
}

/// Who may see a text someone wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only its author: never broadcast, never exported.
    Private,
    /// This circle: shown in the room, never exported.
    Circle,
    /// This circle, and exports of the session (for the program's host).
    Exportable,
}

/// How a commitment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Kept,
    /// Partly done.
    Partly,
    /// Not done.
    Not,
    /// The commitment changed.
    Changed,
}

/// A commitment: what someone will do, by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Commitment {
    /// Stable id (room id and a number).
    pub id: String,
    /// Who made it (in the room it was made in).
    pub author: ParticipantId,
    /// Their display name.
    pub name: String,
    /// Their member id, in a series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// What they will do.
    pub text: String,
    /// By when (`YYYY-MM-DD`), if they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Who may see it.
    pub visibility: Visibility,
    /// When it was made.
    pub made_at: Millis,
    /// How it went, once reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A client's feedback to their coach after a half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Feedback {
    /// Who gave it (the client).
    pub from: ParticipantId,
    /// To whom (the coach).
    pub to: ParticipantId,
    /// Which group and round.
    pub group: u32,
    /// The round, from 0.
    pub round: u32,
    /// 1 (not helpful) to 5 (very helpful).
    pub rating: u8,
    /// What helped.
    pub helped: String,
    /// What helped less.
    pub helped_less: String,
    /// Who may see it.
    pub visibility: Visibility,
}

impl Feedback {
    /// What tells this feedback from the rest: one client's, for one group and round.
    pub fn key(&self) -> FeedbackKey {
        FeedbackKey {
            from: self.from,
            group: self.group,
            round: self.round,
        }
    }
}

/// Which feedback an event names: the client who gave it, for which group and round (there is
/// at most one per client, group and round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FeedbackKey {
    /// Who gave it (the client).
    pub from: ParticipantId,
    /// Which group.
    pub group: u32,
    /// The round, from 0.
    pub round: u32,
}

/// A participant's answer to the short end-of-session survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SurveyAnswer {
    /// Who answered.
    pub from: ParticipantId,
    /// How the session was, 1 to 5.
    pub rating: u8,
    /// A comment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who may see the comment.
    pub visibility: Visibility,
}

/// Everything I wrote in this room, and my commitments from the series' earlier sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Mine {
    /// My commitments (all visibilities), earlier sessions first.
    pub commitments: Vec<Commitment>,
    /// Feedback I gave.
    pub feedback: Vec<Feedback>,
    /// My survey answer.
    pub survey: Option<SurveyAnswer>,
}

/// Pairing and breakouts: the facilitator's proposal, then the groups running on their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PairsState {
    /// The proposed groups, before the facilitator confirms them.
    pub proposal: Option<Proposal>,
    /// The confirmed groups.
    pub groups: Vec<GroupState>,
    /// People present but in no group (a late joiner waiting with the facilitator).
    pub waiting: Vec<ParticipantId>,
}

impl PairsState {
    /// No proposal, no groups, nobody waiting.
    pub fn is_empty(&self) -> bool {
        self.proposal.is_none() && self.groups.is_empty() && self.waiting.is_empty()
    }
}

/// Proposed groups, with the ones the facilitator locked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Proposal {
    /// Each group's members, in order (the first is the first client).
    pub groups: Vec<Vec<ParticipantId>>,
    /// Whether each group is locked (kept when the facilitator proposes again).
    pub locked: Vec<bool>,
    /// The seed the proposal was made with.
    pub seed: u64,
    /// Who here was in a triad in the last earlier session of the series that had one, and
    /// which session that was (left out in a first session or a room outside a series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_triad: Option<LastTriad>,
    /// What the proposal repeats from earlier sessions, recomputed whenever it changes (left
    /// out when it repeats nothing).
    #[serde(default, skip_serializing_if = "Repeats::is_empty")]
    pub repeats: Repeats,
}

/// Who was in a triad last time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LastTriad {
    /// The session's index in the series (`0` = its first session).
    pub session: u32,
    /// Its triad members who are here now.
    pub members: Vec<ParticipantId>,
}

/// What a proposal repeats from the series' earlier sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Repeats {
    /// Two people of one proposed group who met before, group by group.
    pub partners: Vec<RepeatedPartners>,
    /// Members of a proposed triad who were in a triad before, with why.
    pub triad: Vec<TriadRepeat>,
}

impl Repeats {
    /// Nothing repeats.
    pub fn is_empty(&self) -> bool {
        self.partners.is_empty() && self.triad.is_empty()
    }

    /// How many repeats: repeated partners plus repeated triad members.
    pub fn count(&self) -> usize {
        self.partners.len() + self.triad.len()
    }
}

/// Two people of one proposed group who met in an earlier session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RepeatedPartners {
    /// The two, in the group's order.
    pub members: [ParticipantId; 2],
    /// How many earlier sessions they met in.
    pub times: u32,
    /// The last session they met in (`0` = the series' first).
    pub last_session: u32,
}

/// A member of a proposed triad who was in a triad before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TriadRepeat {
    /// Who.
    pub participant: ParticipantId,
    /// How many earlier sessions they were in a triad in.
    pub triads: u32,
    /// Why they are in one again.
    pub why: TriadWhy,
}

/// Why someone is in a triad again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TriadWhy {
    /// Everyone else here has been in a triad at least as often: their turn came round again.
    EveryoneHasBeen,
    /// The facilitator locked the group.
    Locked,
    /// Their continuing partner is in the triad with them.
    ContinuingPair,
    /// Someone who has been in fewer triads could take their place: people were moved by hand.
    Adjusted,
    /// Everyone who has been in fewer triads is in a locked group or a continuing pair, or
    /// asked not to be paired with someone in the triad.
    NoOneElse,
}

/// One pair or triad at work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupState {
    /// Group number, from 1.
    pub id: u32,
    /// Members in order: a pair has two rounds (halves), a triad three.
    pub members: Vec<ParticipantId>,
    /// The current round, from 0.
    pub round: u32,
    /// How many rounds: 2 for a pair, 3 for a triad.
    pub rounds: u32,
    /// Who coaches in this round.
    pub coach: ParticipantId,
    /// Who is coached in this round.
    pub client: ParticipantId,
    /// Who observes in this round (triads).
    pub observer: Option<ParticipantId>,
    /// Coaching, feedback, or done.
    pub phase: GroupPhase,
    /// Who has confirmed the switch to the next round (during feedback).
    pub ready: Vec<ParticipantId>,
    /// The round's timer (coaching or feedback), once the pairs stage runs.
    pub timer: Option<TimerState>,
    /// The group's own call link, from the room's group call links (left out while none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
}

/// Where a group is in its round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupPhase {
    /// The coach coaches the client.
    Coaching,
    /// The client tells the coach what helped; then everyone confirms the switch.
    Feedback,
    /// Every round is over.
    Done,
}

/// One participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ParticipantView {
    /// Id within the room.
    pub id: ParticipantId,
    /// Display name.
    pub name: String,
    /// Facilitator, co-facilitator or participant.
    pub standing: Standing,
    /// Standing roles held across stages (`timekeeper`, `observer`).
    pub roles: Vec<Role>,
    /// Whether they accepted the ground rules.
    pub consented: bool,
    /// Connected or away.
    pub presence: Presence,
    /// When they joined.
    pub joined_at: Millis,
    /// Whether they left or were removed.
    pub removed: bool,
    /// Their member id, in a room of a series (pairing history follows the member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// In a room of a series, for someone who came with the join link: the id the series knows
    /// this guest by (`g1`, …; the member id they were made, once converted), the same in every
    /// session their device brings the series guest key to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<String>,
}

/// How a participant relates to the room as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Joined from the host link: steers the session.
    Facilitator,
    /// Promoted by a facilitator: steers the session too.
    CoFacilitator,
    /// Joined from the join link.
    Participant,
}

impl Standing {
    /// Whether this standing may steer the session.
    pub fn is_facilitating(self) -> bool {
        matches!(self, Standing::Facilitator | Standing::CoFacilitator)
    }
}

/// Roles in a circle. Some are standing (`timekeeper`, `observer`, `co_facilitator`), assigned by
/// a facilitator; others (`presenter`, `coach`, `client`, `member`) follow from the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Steers the session.
    Facilitator,
    /// Steers the session beside the facilitator.
    CoFacilitator,
    /// Brings a challenge; the circle works on it.
    Presenter,
    /// Asks questions and helps the presenter or client think.
    Coach,
    /// Is being coached.
    Client,
    /// Watches and gives feedback on the coaching; takes no turn.
    Observer,
    /// Keeps time: may pause, extend and shorten timers.
    Timekeeper,
    /// Takes part in a round or an open stage.
    Member,
}

/// Connected or away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// At least one live connection.
    Connected,
    /// No live connection.
    Away,
}

/// The session's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionState {
    /// Lobby, running, paused or ended.
    pub status: SessionStatus,
    /// When it started.
    pub started_at: Option<Millis>,
    /// When it was paused, while paused.
    pub paused_at: Option<Millis>,
    /// When it ended.
    pub ended_at: Option<Millis>,
}

/// Lobby, running, paused or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Not started: people gather and accept the ground rules.
    Lobby,
    /// A stage is running.
    Running,
    /// Paused by the facilitator or timekeeper: timers stand still.
    Paused,
    /// Over.
    Ended,
}

/// The current stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StageState {
    /// Index in `room.plan`.
    pub index: usize,
    /// When the stage began.
    pub entered_at: Millis,
    /// The stage's timebox.
    pub timer: TimerState,
}

/// A timer as a deadline. Remaining time is `ends_at − server_now` while running, and
/// `paused_remaining_ms` while paused; negative means overtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TimerState {
    /// Full duration, as planned plus adjustments.
    pub duration_ms: u64,
    /// The deadline while running.
    pub ends_at: Option<Millis>,
    /// Remaining time while paused (negative in overtime).
    pub paused_remaining_ms: Option<i64>,
    /// Whether the warning has fired.
    pub warned: bool,
    /// Whether the timer has reached zero.
    pub expired: bool,
}

impl TimerState {
    /// Remaining milliseconds at `now` (negative in overtime).
    pub fn remaining_ms(&self, now: Millis) -> i64 {
        match (self.ends_at, self.paused_remaining_ms) {
            (Some(end), _) => end as i64 - now as i64,
            (None, Some(left)) => left,
            (None, None) => self.duration_ms as i64,
        }
    }
}

/// Who has the floor, who waits, and where a round stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TurnState {
    /// Whoever is speaking now.
    pub floor: Option<Floor>,
    /// Raised hands, in the order they went up.
    pub queue: Vec<ParticipantId>,
    /// The round, in round stages.
    pub round: Option<Round>,
    /// The speaker's timebox, when the stage has one.
    pub speaker_timer: Option<TimerState>,
}

/// The current floor holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Floor {
    /// Who speaks.
    pub participant: ParticipantId,
    /// In which role.
    pub role: Role,
    /// Since when (floor time counts from here, paused time excepted).
    pub since: Millis,
}

/// A round in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Round {
    /// Speakers in order.
    pub order: Vec<ParticipantId>,
    /// Index in `order` of the current speaker; equal to `order.len()` when the round is over.
    pub position: usize,
    /// Who passed.
    pub passed: Vec<ParticipantId>,
}

/// Floor time totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FloorTime {
    /// Milliseconds per participant.
    pub by_participant: Vec<(ParticipantId, u64)>,
    /// Milliseconds per role.
    pub by_role: Vec<(Role, u64)>,
}

/// A prompt from the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Prompt {
    /// Stable id (custom prompts have `custom`).
    pub id: String,
    /// The question or instruction.
    pub text: String,
    /// Where it comes from (e.g. "transformational questions", "POP model").
    pub source: String,
}

/// A prompt shown on the room's prompt card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushedPrompt {
    /// The prompt.
    pub prompt: Prompt,
    /// Everyone (null) or only the people in this role.
    pub to: Option<Role>,
    /// Who pushed it.
    pub by: ParticipantId,
    /// When.
    pub at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LinkKind, ParticipantChange, TimerKind};

    fn room() -> RoomView {
        RoomView {
            id: "r".into(),
            title: "t".into(),
            format: "f".into(),
            ground_rules: String::new(),
            warn_before_ms: 60_000,
            participants: Vec::new(),
            session: SessionState {
                status: SessionStatus::Lobby,
                started_at: None,
                paused_at: None,
                ended_at: None,
            },
            presenter_order: Vec::new(),
            plan: Vec::new(),
            stage: None,
            turn: TurnState::default(),
            floor_time: FloorTime::default(),
            prompt: None,
            pairs: PairsState::default(),
            commitments: Vec::new(),
            carried: Vec::new(),
            feedback: Vec::new(),
            call_url: None,
            group_call_template: None,
            group_call_urls: Vec::new(),
        }
    }

    fn person(id: ParticipantId, presence: Presence) -> ParticipantView {
        ParticipantView {
            id,
            name: format!("P{id}"),
            standing: Standing::Participant,
            roles: Vec::new(),
            consented: false,
            presence,
            joined_at: 0,
            removed: false,
            member: None,
            guest: None,
        }
    }

    fn timer(duration_ms: u64) -> TimerState {
        TimerState {
            duration_ms,
            ends_at: Some(duration_ms),
            paused_remaining_ms: None,
            warned: true,
            expired: false,
        }
    }

    #[test]
    fn a_participant_event_replaces_by_id_or_appends() {
        let mut view = room();
        for id in [1, 2] {
            view.apply(&Event::ParticipantJoined {
                participant: person(id, Presence::Connected),
            });
        }
        view.apply(&Event::ParticipantUpdated {
            participant: person(1, Presence::Away),
            change: ParticipantChange::Presence,
        });
        let seen: Vec<(ParticipantId, Presence)> = view
            .participants
            .iter()
            .map(|p| (p.id, p.presence))
            .collect();
        assert_eq!(seen, [(1, Presence::Away), (2, Presence::Connected)]);
    }

    #[test]
    fn a_stage_timer_event_without_a_stage_changes_nothing_and_a_speaker_timer_is_set() {
        let mut view = room();
        view.apply(&Event::TimerWarning {
            timer: TimerKind::Stage,
            state: timer(5),
        });
        assert_eq!(view, room());
        view.apply(&Event::TimerChanged {
            timer: TimerKind::Speaker,
            state: timer(7),
        });
        assert_eq!(view.turn.speaker_timer, Some(timer(7)));
    }

    #[test]
    fn a_plan_change_moves_the_current_stage_only_when_it_names_an_index() {
        let mut view = room();
        view.stage = Some(StageState {
            index: 3,
            entered_at: 0,
            timer: timer(10),
        });
        view.apply(&Event::PlanChanged {
            presenter_order: vec![2],
            plan: Vec::new(),
            seed: None,
            stage_index: None,
        });
        assert_eq!(view.stage.as_ref().map(|s| s.index), Some(3));
        assert_eq!(view.presenter_order, [2]);
        view.apply(&Event::PlanChanged {
            presenter_order: vec![2, 1],
            plan: Vec::new(),
            seed: Some(9),
            stage_index: Some(8),
        });
        assert_eq!(view.stage.as_ref().map(|s| s.index), Some(8));
    }

    fn commitment(id: &str, outcome: Option<Outcome>) -> Commitment {
        Commitment {
            id: id.into(),
            author: 1,
            name: "P1".into(),
            member: None,
            text: format!("text of {id}"),
            due: None,
            visibility: Visibility::Circle,
            made_at: 0,
            outcome,
        }
    }

    fn feedback(from: ParticipantId, round: u32, rating: u8) -> Feedback {
        Feedback {
            from,
            to: 9,
            group: 1,
            round,
            rating,
            helped: String::new(),
            helped_less: String::new(),
            visibility: Visibility::Circle,
        }
    }

    fn notes(
        commitments: Vec<Commitment>,
        carried: Vec<Commitment>,
        feedback: Vec<Feedback>,
        feedback_removed: Vec<FeedbackKey>,
    ) -> Event {
        Event::NotesChanged {
            commitments,
            carried,
            feedback,
            feedback_removed,
        }
    }

    #[test]
    fn a_notes_change_puts_each_item_in_place_by_id_or_appends_it_and_removes_feedback_by_key() {
        let mut view = room();
        view.carried = vec![commitment("old-1", None), commitment("old-2", None)];
        view.apply(&notes(
            vec![commitment("r-1", None)],
            vec![],
            vec![feedback(2, 0, 3)],
            vec![],
        ));
        view.apply(&notes(
            vec![commitment("r-2", None)],
            vec![commitment("old-1", Some(Outcome::Kept))],
            vec![feedback(3, 0, 4)],
            vec![],
        ));
        view.apply(&notes(
            vec![commitment("r-1", Some(Outcome::Partly))],
            vec![],
            vec![feedback(2, 0, 5)],
            vec![],
        ));
        let ids = |list: &[Commitment]| -> Vec<(String, Option<Outcome>)> {
            list.iter().map(|c| (c.id.clone(), c.outcome)).collect()
        };
        assert_eq!(
            ids(&view.commitments),
            [
                ("r-1".to_string(), Some(Outcome::Partly)),
                ("r-2".to_string(), None)
            ]
        );
        assert_eq!(
            ids(&view.carried),
            [
                ("old-1".to_string(), Some(Outcome::Kept)),
                ("old-2".to_string(), None)
            ]
        );
        assert_eq!(view.feedback, [feedback(2, 0, 5), feedback(3, 0, 4)]);
        view.apply(&notes(
            vec![],
            vec![],
            vec![],
            vec![feedback(2, 0, 5).key()],
        ));
        assert_eq!(view.feedback, [feedback(3, 0, 4)]);
        // Removing feedback that is not there changes nothing.
        let before = view.clone();
        view.apply(&notes(
            vec![],
            vec![],
            vec![],
            vec![feedback(7, 1, 1).key()],
        ));
        assert_eq!(view, before);
    }

    #[test]
    fn a_notes_change_writes_its_three_lists_and_feedback_removed_only_when_there_is_some() {
        let fields = |event: &Event| {
            let json = serde_json::to_value(event).expect("an event serializes");
            let back: Event = serde_json::from_value(json.clone()).expect("it reads back");
            assert_eq!(&back, event);
            let mut fields: Vec<String> = json
                .as_object()
                .expect("an object")
                .keys()
                .cloned()
                .collect();
            fields.sort_unstable();
            fields
        };
        let put = notes(vec![], vec![], vec![feedback(2, 0, 3)], vec![]);
        assert_eq!(fields(&put), ["carried", "commitments", "feedback", "type"]);
        let removed = notes(vec![], vec![], vec![], vec![feedback(2, 0, 3).key()]);
        assert_eq!(
            fields(&removed),
            [
                "carried",
                "commitments",
                "feedback",
                "feedback_removed",
                "type"
            ]
        );
    }

    #[test]
    fn a_link_change_leaves_the_view_as_it_was() {
        let mut view = room();
        view.apply(&Event::LinkChanged {
            link: LinkKind::Join,
            revoked: true,
            by: 1,
        });
        assert_eq!(view, room());
    }
}
