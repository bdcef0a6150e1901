//! Formats as data: the stages a room runs, and the HTTP bodies that open a room.

use serde::{Deserialize, Serialize};

use crate::{ParticipantId, Role};

/// A circle format: an ordered list of stages. Consecutive stages marked `per_presenter` form a
/// block that runs once per presenter, in presenter order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Format {
    /// Short name, e.g. "Action learning set".
    pub name: String,
    /// What the format is for, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// The stages, in order.
    pub stages: Vec<StageSpec>,
}

/// One stage of a format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// What kind of stage: decides the prompt bank and the default roles.
    pub kind: StageKind,
    /// Title shown to everyone, e.g. "Clarifying questions".
    pub title: String,
    /// One line on what the stage is for.
    #[serde(default)]
    pub purpose: String,
    /// The stage's timebox in milliseconds (1 second to 4 hours).
    pub timebox_ms: u64,
    /// How people take turns.
    pub speaking: SpeakingMode,
    /// A timebox per speaker, in rounds or when the floor is given (1 second to 1 hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_speaker_ms: Option<u64>,
    /// Roles the stage needs (e.g. `presenter` and `coach`); the others take part as `member`.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Move to the next stage by itself when the timebox runs out.
    #[serde(default)]
    pub auto_advance: bool,
    /// Repeat this stage (with its neighbours marked the same) once per presenter.
    #[serde(default)]
    pub per_presenter: bool,
    /// In a `pairs` stage: each half's coaching time in milliseconds (default 45 minutes; a
    /// triad's three rounds share the same total, so each is two thirds of this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_ms: Option<u64>,
    /// In a `pairs` stage: the client's feedback time after each half (default 5 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_ms: Option<u64>,
}

/// What a stage is for. Decides which prompts fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// Welcome and ground rules.
    Welcome,
    /// Everyone says how they arrive.
    CheckIn,
    /// The presenter describes a real challenge, uninterrupted.
    Presentation,
    /// Questions of fact only.
    ClarifyingQuestions,
    /// Open, transformational questions; no advice.
    CoachingQuestions,
    /// The presenter reflects on what they heard.
    Reflection,
    /// The presenter states an action they commit to.
    Commitment,
    /// Open conversation with raised hands.
    Discussion,
    /// Feedback on the coaching: what helped, what did not.
    Feedback,
    /// Everyone names one learning.
    CheckOut,
    /// A pause.
    Break,
    /// People are paired (a triad when the count is odd): the facilitator proposes, adjusts
    /// and confirms.
    Pairing,
    /// Coaching in pairs or triads, each at its own pace: halves, feedback and an explicit
    /// role switch.
    Pairs,
}

/// How people take turns in a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SpeakingMode {
    /// Everyone in order, each with a per-speaker timebox, with pass.
    Round,
    /// Raised hands, served in order; the facilitator gives the floor.
    HandQueue,
    /// Only the presenter speaks; the floor is theirs.
    PresenterOnly,
    /// No floor: anyone may speak; hands may still be raised.
    Open,
    /// Each pair or triad runs its own conversation, roles and timer (see `room.pairs`).
    Pairs,
}

/// A stage of the room's plan: a format stage, expanded per presenter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlannedStage {
    /// Index of the format stage this comes from.
    pub spec: usize,
    /// What kind of stage.
    pub kind: StageKind,
    /// Title.
    pub title: String,
    /// What it is for.
    pub purpose: String,
    /// Timebox in milliseconds.
    pub timebox_ms: u64,
    /// How people take turns.
    pub speaking: SpeakingMode,
    /// Per-speaker timebox in milliseconds.
    pub per_speaker_ms: Option<u64>,
    /// Roles the stage needs.
    pub roles: Vec<Role>,
    /// Moves on by itself when time is up.
    pub auto_advance: bool,
    /// The presenter of this slot, in per-presenter stages.
    pub presenter: Option<ParticipantId>,
    /// In a `pairs` stage: each half's coaching time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_ms: Option<u64>,
    /// In a `pairs` stage: the feedback time after each half.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_ms: Option<u64>,
}

/// Which format a new room runs: a built-in one by id, or a custom one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum FormatChoice {
    /// A built-in format id (`action_learning_set`, `coaching_circle`); see `GET /api/formats`.
    Builtin(String),
    /// A custom format.
    Custom(Format),
}

/// The body of `POST /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRoom {
    /// Title shown to everyone (1–500 characters).
    pub title: String,
    /// Built-in format id or a custom format.
    pub format: FormatChoice,
    /// Options.
    #[serde(default)]
    pub options: RoomOptions,
}

/// Options for a new room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RoomOptions {
    /// Ground rules to replace the default confidentiality agreement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground_rules: Option<String>,
    /// When timers warn, in milliseconds before the end (default 60,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_before_ms: Option<u64>,
    /// The room's call link, shown to everyone in the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = crate::limits::MAX_URL_CHARS), regex(pattern = crate::calls::CALL_URL), example = &"https://meet.example.org/circle"))]
    pub call_url: Option<String>,
    /// The template each group's call link is made from (`{room}`, `{group}`, `{session}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = crate::limits::MAX_URL_CHARS), regex(pattern = crate::calls::CALL_TEMPLATE), example = &"https://meet.example.org/{room}-{group}"))]
    pub group_call_template: Option<String>,
    /// Call links for the groups in order: group 1 gets the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(
        feature = "schema",
        schemars(schema_with = "crate::calls::call_url_list")
    )]
    pub group_call_urls: Vec<String>,
}

/// The answer to `POST /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomCreated {
    /// The room id.
    pub room_id: String,
    /// The link to share with participants.
    pub join_url: String,
    /// The link to keep: it makes whoever opens it a facilitator.
    pub host_url: String,
    /// The key in the join link, for websocket clients (`join` command).
    pub join_key: String,
    /// The key in the host link, for websocket clients (`host` command).
    pub host_key: String,
}

/// How often a series meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Every two weeks.
    Biweekly,
    /// Every month.
    Monthly,
    /// As the host schedules it.
    Custom,
}

/// The body of `POST /api/series`: a series of recurring rooms with a member list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSeries {
    /// Title (1–500 characters).
    pub title: String,
    /// How often it meets.
    pub cadence: Cadence,
    /// How many months a cycle lasts (1–24; 4–8 is typical).
    pub cycle_months: u8,
    /// Members' display names (2–200).
    pub members: Vec<String>,
    /// The series' time zone, an IANA name such as `Europe/Berlin` (default `UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// When its sessions usually start, `HH:MM` (default `18:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// How long its sessions usually last, in minutes, 5–720 (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u16>,
    /// Every session room's call link (copied into each room opened for the series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
    /// The default template of each group's call link (copied into each room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_call_template: Option<String>,
    /// The default call links for the groups in order (copied into each room).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_call_urls: Vec<String>,
}

/// One member's personal link: it works for every room of the series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberLink {
    /// The member's id in the series.
    pub member_id: String,
    /// Display name.
    pub name: String,
    /// The member's key (for the `member` command).
    pub key: String,
    /// The personal link to send them.
    pub url: String,
}

/// The answer to `POST /api/series`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SeriesCreated {
    /// The series id.
    pub series_id: String,
    /// The host key: opens rooms in the series.
    pub host_key: String,
    /// Each member's personal link.
    pub members: Vec<MemberLink>,
}

/// The body of `POST /api/series/{id}/rooms`: the next session of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSeriesRoom {
    /// The series' host key.
    pub key: String,
    /// Title (default: the series title and the session number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Format (default: the built-in coaching swap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FormatChoice>,
}

/// What a member chooses at the end of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CycleChoice {
    /// Keep the same partner (kept together when both choose it).
    Continue,
    /// Be matched with someone new.
    Rematch,
    /// Leave the series: the personal link stops opening new sessions.
    End,
}

/// The body of `POST /api/series/{id}/me`: a member's key, and optionally their end-of-cycle
/// choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    /// The member key from the personal link.
    pub key: String,
    /// The end-of-cycle choice to record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<CycleChoice>,
    /// Members (by id) I prefer not to be paired with, replacing my earlier list, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avoid: Option<Vec<String>>,
    /// The series' next sessions, as agreed, replacing the series' planned sessions, if given:
    /// each a `YYYY-MM-DD` date or a [`crate::PlannedSessionInput`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<Vec<crate::PlannedInput>>,
    /// My pair's own planned sessions (e.g. agreed in a pair's first session), replacing the
    /// pair's earlier ones, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<crate::PairPlan>,
}

/// What a member's personal link shows: the series, their name, its sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberView {
    /// Series id.
    pub series_id: String,
    /// Series title.
    pub title: String,
    /// How often it meets.
    pub cadence: Cadence,
    /// Months in a cycle.
    pub cycle_months: u8,
    /// The member's id.
    pub member_id: String,
    /// The member's name.
    pub name: String,
    /// Room ids of the sessions, oldest first (the last is the current one).
    pub rooms: Vec<String>,
    /// The member's end-of-cycle choice, if made.
    pub choice: Option<CycleChoice>,
    /// Members (by id) I prefer not to be paired with.
    pub avoid: Vec<String>,
    /// The other members: id and name (to choose whom to avoid).
    pub others: Vec<(String, String)>,
    /// Planned dates of the series' next sessions (`YYYY-MM-DD`, the dates of the whole
    /// series' sessions in `planned_sessions`).
    pub planned: Vec<String>,
    /// Every planned session this member's calendar holds: the whole series' and their pair's,
    /// soonest first.
    #[serde(default)]
    pub planned_sessions: Vec<crate::PlannedSession>,
    /// The series' time zone (IANA name) that planned dates and times are in.
    #[serde(default)]
    pub time_zone: String,
    /// The member's calendar address (made the first time their page is asked for).
    #[serde(default)]
    pub calendar_feed: crate::FeedLink,
    /// Where the series is in its cycles, and whether it asks this member for their
    /// end-of-cycle choice now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<MemberCycle>,
}

/// A member's view of the series' cycles (see `MemberView::cycle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberCycle {
    /// The cycle the series is in, from 1 (the cycle the next session opened belongs to).
    pub current: u32,
    /// Sessions in one cycle.
    pub sessions_per_cycle: u32,
    /// Sessions of the current cycle opened so far.
    pub sessions_done: u32,
    /// The cycle whose end the series asks this member about now (it has ended, or its last
    /// session is open, and they have not answered it), or null.
    #[serde(default)]
    pub asking: Option<u32>,
    /// Their earlier choices, one per cycle answered, oldest first: `[cycle, choice]`.
    pub previous: Vec<(u32, CycleChoice)>,
}

/// The body of `POST /api/rooms/{id}/preview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The join key or host key from the link.
    pub key: String,
}

/// What a link shows before anyone enters: enough to decide whether to consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomPreview {
    /// The room's title.
    pub title: String,
    /// The format's name.
    pub format: String,
    /// The ground rules everyone accepts before taking a turn.
    pub ground_rules: String,
    /// Lobby, running, paused or ended.
    pub status: crate::SessionStatus,
    /// The display name of the facilitator in the room now (the first who came by the host
    /// link and is connected), or `null` when none is.
    #[serde(default)]
    pub facilitator: Option<String>,
    /// When the session started, once it has (server clock, ms since the Unix epoch).
    #[serde(default)]
    pub started_at: Option<crate::Millis>,
    /// The series the room is a session of, if any (a guest's client keeps its series guest
    /// key under it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
}

/// An HTTP error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HttpError {
    /// A stable code (same codes as websocket errors).
    pub code: crate::ErrorCode,
    /// A human-readable explanation.
    pub message: String,
}
