//! Wire types of the circlekeeper websocket protocol.
//!
//! This crate is data only: it depends on serde and nothing else (JSON Schema derives are behind
//! the optional `schema` feature). `protocol/README.md` is the specification a client author
//! reads; `protocol/schema.json` is generated from these types and kept in sync by a test.
//!
//! The shape in brief:
//! - the client sends [`ClientMessage`] frames: a client-chosen `id` plus a [`Command`];
//! - the server answers every command with [`ServerMessage::Ack`] or [`ServerMessage::Error`]
//!   naming that `id`, and broadcasts room changes as [`ServerMessage::Event`] frames, each with
//!   the room's sequence number;
//! - events carry the *new value* of the part of the room they change, so a client keeps its
//!   [`RoomView`] current by assignment, never by recomputing rules; `notes_changed` carries
//!   only the shared items that changed, each put in place by its id, so that no event grows
//!   with what a room holds.
//!
//! Times are integers: epoch milliseconds for instants ([`Millis`]), milliseconds for durations.

use serde::{Deserialize, Serialize};

mod calendar;
mod calls;
mod format;
#[cfg(feature = "schema")]
mod schema;
mod view;

pub use calendar::*;
pub use calls::*;
pub use format::*;
pub use view::*;
pub use view::{
    Commitment, Feedback, FeedbackKey, GroupPhase, GroupState, Mine, Outcome, PairsState, Proposal,
    SurveyAnswer, Visibility,
};

/// The protocol version a client names in the websocket URL (`/ws?v=1`) and the server names in
/// its welcome. A mismatch is refused with close code [`close::PROTOCOL_MISMATCH`].
pub const PROTOCOL_VERSION: u32 = 1;

/// An instant, in milliseconds since the Unix epoch (server clock).
pub type Millis = u64;

/// A client-chosen command id (at most [`limits::MAX_COMMAND_ID_CHARS`] characters), echoed in
/// the `ack` or `error` that answers the command.
pub type CommandId = String;

/// A participant's id within one room: small, stable, never reused in that room.
pub type ParticipantId = u32;

/// Size and length limits every client must respect. The server refuses anything larger.
pub mod limits {
    /// Largest text frame the server reads, in bytes. A larger frame closes the connection with
    /// close code 1009 (message too big). Commands are small; 16 KiB leaves room for a custom
    /// format sent over HTTP, which has its own limit.
    pub const MAX_FRAME_BYTES: usize = 16 * 1024;
    /// Most commitments one person records in one room (`too_many_items` after that): what a
    /// room holds, and so its welcome, stays bounded whatever people write. Also the most of a
    /// series member's earlier commitments a room carries (the most recent ones).
    pub const MAX_COMMITMENTS_PER_PERSON: usize = 20;
    /// Most commitments one room holds, all visibilities and authors together
    /// (`too_many_items` after that): a full room where everyone records their 20. People who
    /// join after others left share what remains. Also the most earlier commitments of a series
    /// a room carries (the most recent ones).
    pub const MAX_COMMITMENTS_PER_ROOM: usize = MAX_PARTICIPANTS * MAX_COMMITMENTS_PER_PERSON;
    /// Most feedback one person gives in one room, one per group and round they were the client
    /// in (`too_many_items` after that; giving it again in the same group and round replaces
    /// it and always works). A pair or triad makes each person the client once; the rest is for
    /// people placed in a new group after theirs broke up.
    pub const MAX_FEEDBACK_PER_PERSON: usize = 4;
    /// Most feedback one room holds (`too_many_items` after that): a full room where everyone
    /// gives their 4.
    pub const MAX_FEEDBACK_PER_ROOM: usize = MAX_PARTICIPANTS * MAX_FEEDBACK_PER_PERSON;
    /// Most stages a plan holds once per-presenter stages are expanded (`too_many_items` for a
    /// presenter order that would make it longer): a block of 8 per-presenter stages for each
    /// of 64 presenters. The plan is in every welcome and every `plan_changed`.
    pub const MAX_PLAN_STAGES: usize = 512;
    /// Largest frame the server sends, in bytes. Clients must accept frames this large. Within
    /// the other limits a room's largest frame (the welcome of the fullest possible room) stays
    /// far below it; a frame that would still be larger is logged by the server and replaced by
    /// an `internal` error rather than sent.
    pub const MAX_SERVER_FRAME_BYTES: usize = 16 * 1024 * 1024;
    /// Longest display name, in characters.
    pub const MAX_NAME_CHARS: usize = 60;
    /// Longest command id, in characters.
    pub const MAX_COMMAND_ID_CHARS: usize = 64;
    /// Longest free text (a pushed custom prompt, a room title), in characters.
    pub const MAX_TEXT_CHARS: usize = 500;
    /// What every sealed private text (an envelope) starts with: the envelope's version.
    pub const SEALED_PREFIX: &str = "ck1:";
    /// The additional authenticated data every envelope is sealed with (AES-256-GCM).
    pub const SEALED_AAD: &str = "circlekeeper private v1";
    /// Longest sealed private text (an envelope), in characters: `ck1:`, 16 characters of IV,
    /// `:`, and the base64url (unpadded) of the ciphertext and its 16-byte tag, for a plaintext
    /// of at most [`MAX_TEXT_CHARS`] characters of up to 4 UTF-8 bytes each (2000 + 16 bytes:
    /// 2688 characters).
    pub const MAX_SEALED_CHARS: usize = 4 + 16 + 1 + 2688;
    /// Longest ground-rules text, in characters.
    pub const MAX_GROUND_RULES_CHARS: usize = 4000;
    /// Most stages a format may have before expansion per presenter.
    pub const MAX_FORMAT_STAGES: usize = 40;
    /// Most participants one room holds (facilitators included).
    pub const MAX_PARTICIPANTS: usize = 64;
    /// Largest HTTP request body any route accepts, in bytes (413 `invalid_message` over it).
    pub const MAX_CREATE_BODY_BYTES: usize = 64 * 1024;
    /// Longest call link or group call template, in characters (`invalid_url` over it).
    pub const MAX_URL_CHARS: usize = 500;
    /// Most group call links in a list (`invalid_url` over it): the most groups a full room
    /// makes. A `set_call_links` frame must still fit in [`MAX_FRAME_BYTES`].
    pub const MAX_GROUP_CALL_URLS: usize = MAX_PARTICIPANTS / 2;
}

/// Websocket close codes the server uses, with what the client should do.
pub mod close {
    /// The `v` query parameter is missing or names another protocol version: upgrade the client.
    pub const PROTOCOL_MISMATCH: u16 = 4001;
    /// The room does not exist or cannot be served (`room_unavailable`), or the key or token of
    /// `join`, `host` or `resume` was refused: do not retry at once with the same credentials.
    /// Also the close of a first frame naming another room than the websocket URL's `room`.
    pub const AUTH_FAILED: u16 = 4003;
    /// This participant was removed by a facilitator, or left: do not reconnect.
    pub const REMOVED: u16 = 4004;
    /// A facilitator deleted the room (or it reached the end of its retention): forget it.
    pub const ROOM_DELETED: u16 = 4010;
    /// The client did not read its messages fast enough: reconnect and resume.
    pub const TOO_SLOW: u16 = 4008;
    /// The client sent commands too fast for too long: wait a few seconds, then reconnect.
    pub const RATE_LIMITED: u16 = 4029;
    /// No frame (not even a pong) arrived for too long: reconnect and resume.
    pub const IDLE: u16 = 4000;
    /// No `join`, `host`, `member` or `resume` arrived within the handshake timeout after the
    /// upgrade: connect again when there is something to send.
    pub const HANDSHAKE_TIMEOUT: u16 = 4408;
    /// The server is shutting down or restarting, or the room stopped serving: reconnect and
    /// resume after a short delay.
    pub const GOING_AWAY: u16 = 1001;
    /// The room now runs on another node (several nodes on PostgreSQL): reconnect through the
    /// proxy at once (after a short random delay) and resume.
    pub const ROOM_MOVED: u16 = 4012;
    /// A frame was larger than [`crate::limits::MAX_FRAME_BYTES`].
    pub const TOO_BIG: u16 = 1009;
    /// The frame was binary; the protocol is JSON text frames.
    pub const UNSUPPORTED: u16 = 1003;
    /// A text frame was not valid UTF-8 (RFC 6455 "invalid frame payload data"): a client bug,
    /// do not resend the same bytes.
    pub const INVALID_PAYLOAD: u16 = 1007;
}

/// One frame from client to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(transform = schema::id_in_every_variant))]
pub struct ClientMessage {
    /// Client-chosen id (1–64 characters), echoed in the answer.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_COMMAND_ID_CHARS)))]
    pub id: CommandId,
    /// What the client asks for.
    #[serde(flatten)]
    pub command: Command,
}

/// What a client asks for. The first command on a connection must be `join`, `host` or
/// `resume`; every other command acts on the room the connection joined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Join a room as a participant, with the key from its join link and a display name.
    Join {
        /// The room id.
        room: String,
        /// The join key from the join link.
        key: String,
        /// Display name (1–60 characters).
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_NAME_CHARS), regex(pattern = schema::ONE_LINE_TEXT)))]
        name: String,
        /// In a room of a series: the series guest key an earlier welcome of this series gave
        /// this device, so the series knows the guest again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        guest: Option<String>,
    },
    /// Join a room as a facilitator, with the key from its host link.
    Host {
        /// The room id.
        room: String,
        /// The host key from the host link.
        key: String,
        /// Display name (1–60 characters).
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_NAME_CHARS), regex(pattern = schema::ONE_LINE_TEXT)))]
        name: String,
    },
    /// Enter a room of a series with my personal series link: the first time as a new
    /// participant under my member name, afterwards (any device) as the same participant.
    Member {
        /// The room id.
        room: String,
        /// The series id.
        series: String,
        /// The member key from the personal link.
        key: String,
    },
    /// Come back as the same participant, with the personal token from an earlier welcome.
    Resume {
        /// The room id.
        room: String,
        /// The personal token.
        token: String,
        /// The last event sequence number this client saw, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seq: Option<u64>,
    },
    /// Ask for the server's clock; the ack carries `server_time`.
    Sync,
    /// Accept the room's ground rules. Needed before taking any turn.
    AcceptGroundRules,
    /// Raise my hand: join the end of the queue.
    RaiseHand,
    /// Lower a hand: my own, or (facilitator) anyone's.
    LowerHand {
        /// Whose hand; omitted means mine.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
    },
    /// Pass my turn in a round (or, facilitator, pass for the current speaker).
    Pass,
    /// I have finished speaking: end my turn or give back the floor.
    Done,
    /// Draw a prompt suited to the current stage (coaching or questioning roles). The ack's
    /// `result` carries the prompt; nobody else sees it.
    DrawPrompt {
        /// Optional seed, for reproducible draws; the server picks one if omitted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    /// Start the session: enter the first stage.
    Start,
    /// Move to the next stage.
    NextStage,
    /// Move back to the previous stage (its timer restarts).
    PreviousStage,
    /// Jump to the stage at `index` in the room's plan.
    JumpToStage {
        /// Index in `room.plan`.
        index: usize,
    },
    /// Pause the session: every timer stops and floor time stops counting.
    Pause,
    /// Resume a paused session.
    ResumeSession,
    /// End the session.
    EndSession,
    /// Extend (positive) or shorten (negative) a running timer by a number of seconds.
    AdjustTimer {
        /// Which timer.
        timer: TimerKind,
        /// Seconds to add; negative to shorten (−3600 to 3600, not 0).
        #[cfg_attr(feature = "schema", schemars(range(min = -3600, max = 3600), extend("not" = {"const": 0})))]
        seconds: i32,
    },
    /// Restart a timer from its full duration.
    RestartTimer {
        /// Which timer.
        timer: TimerKind,
    },
    /// Give the floor to a participant, or (omitted) to the first raised hand.
    GiveFloor {
        /// Who gets the floor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
    },
    /// Take the floor back from whoever holds it.
    TakeFloor,
    /// In a round: move to the next speaker.
    NextTurn,
    /// Set the presenter order (the participants who will present, in order).
    SetPresenterOrder {
        /// Participant ids, in presenting order (at most 64, each once).
        #[cfg_attr(feature = "schema", schemars(length(max = limits::MAX_PARTICIPANTS), extend("uniqueItems" = true)))]
        order: Vec<ParticipantId>,
    },
    /// Shuffle the presenter order (everyone who accepted the ground rules, facilitators
    /// excepted), deterministically for a given seed.
    ShufflePresenters {
        /// Optional seed; the server picks one if omitted and reports it in the event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    /// Give a participant a standing role (`timekeeper`, `observer`, `co_facilitator`).
    AssignRole {
        /// Who.
        participant: ParticipantId,
        /// Which role: `timekeeper`, `observer` or `co_facilitator`.
        #[cfg_attr(feature = "schema", schemars(schema_with = "schema::assignable_role"))]
        role: Role,
    },
    /// Take a standing role away from a participant.
    UnassignRole {
        /// Who.
        participant: ParticipantId,
        /// Which role: `timekeeper`, `observer` or `co_facilitator`.
        #[cfg_attr(feature = "schema", schemars(schema_with = "schema::assignable_role"))]
        role: Role,
    },
    /// Move a standing role (`timekeeper` or `observer`) to the next participant in join order.
    RotateRole {
        /// Which role: `timekeeper` or `observer`.
        #[cfg_attr(feature = "schema", schemars(schema_with = "schema::rotating_role"))]
        role: Role,
    },
    /// Remove a participant from the room; their connection is closed with code 4004.
    RemoveParticipant {
        /// Who.
        participant: ParticipantId,
    },
    /// Push a prompt to everyone or to one role: a prompt from the bank by id, or own text
    /// (exactly one of the two).
    #[cfg_attr(feature = "schema", schemars(transform = schema::prompt_or_text))]
    PushPrompt {
        /// A prompt id from the bank (see `GET /api/prompts`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
        /// Or a custom text (1–500 characters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_TEXT_CHARS), regex(pattern = schema::PARAGRAPHS)))]
        text: Option<String>,
        /// Who should see it; omitted means everyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Role>,
    },
    /// Clear the prompt card.
    ClearPrompt,
    /// Leave the room for good (a facilitator can still see you in the attendance).
    Leave,
    /// Delete the room at once: everyone is disconnected (close code 4010) and everything the
    /// server kept of it is removed from disk.
    DeleteRoom,
    /// Replace the room's join or host link with a new one: the old key stops working at once
    /// (people already in the room stay). The ack's `result` carries the new key, for the
    /// sender only.
    RotateLink {
        /// Which link.
        link: LinkKind,
    },
    /// Turn the room's join or host link off: its key stops working at once and no new one is
    /// issued until `rotate_link`.
    RevokeLink {
        /// Which link.
        link: LinkKind,
    },
    /// Show the room's current join key again (a co-facilitator, or the facilitator on a
    /// second device), without replacing it: the ack's `result` is `{"type": "join_key",
    /// "join_key": KEY}`, or `"join_key": null` when the join link is turned off. Refused with
    /// `link_unknown` in a room whose join key was made before keys were kept.
    ShowLink,
    /// Propose pairs (a triad when the count is odd) from the people present, avoiding recent
    /// partners; locked groups are kept.
    ProposePairs {
        /// Optional seed; the server picks one if omitted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    /// Swap two people between proposed groups.
    SwapPeople {
        /// One person.
        a: ParticipantId,
        /// The other.
        b: ParticipantId,
    },
    /// Lock or unlock a proposed group (index in the proposal).
    LockGroup {
        /// Index in `pairs.proposal.groups`.
        index: usize,
        /// Lock (true) or unlock (false).
        locked: bool,
    },
    /// Confirm the proposal: the groups are made.
    ConfirmPairs,
    /// End my group's coaching half now: feedback begins.
    EndHalf {
        /// Which group (facilitator); omitted means mine.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<u32>,
    },
    /// Confirm the role switch in my group (after feedback): when every member has, the next
    /// round begins with the roles switched.
    ConfirmSwitch,
    /// Move every group one step on: coaching to feedback, feedback to the switched round.
    MoveEveryone,
    /// Place a late joiner: into a triad, or waiting with the facilitator.
    PlaceLate {
        /// Who.
        participant: ParticipantId,
    },
    /// Record a commitment (in a reflection, commitment, pairs, feedback or check-out stage).
    /// A `private` one is seen by its author only.
    RecordCommitment {
        /// What I will do (1–500 characters; a `private` one sealed on the author's device, an
        /// envelope of at most [`limits::MAX_SEALED_CHARS`]).
        #[cfg_attr(feature = "schema", schemars(transform = schema::sealable_text))]
        text: String,
        /// By when, `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "schema", schemars(regex(pattern = schema::DUE_DATE), example = &"2030-06-30"))]
        due: Option<String>,
        /// Who may see it.
        visibility: Visibility,
    },
    /// Say how one of my commitments went (this session's or an earlier one of the series).
    ReviewCommitment {
        /// The commitment's id.
        commitment: String,
        /// How it went.
        outcome: Outcome,
    },
    /// As the client, after a half: tell my coach what helped and what helped less.
    GiveFeedback {
        /// 1 (not helpful) to 5 (very helpful).
        #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 5)))]
        rating: u8,
        /// What helped (up to 500 characters; may be empty; sealed when `private`).
        #[cfg_attr(feature = "schema", schemars(transform = schema::sealable_optional_text))]
        helped: String,
        /// What helped less (up to 500 characters; may be empty; sealed when `private`).
        #[cfg_attr(feature = "schema", schemars(transform = schema::sealable_optional_text))]
        helped_less: String,
        /// Who may see it.
        visibility: Visibility,
    },
    /// Answer the short session survey (in the check-out, or after the end).
    AnswerSurvey {
        /// How the session was, 1 to 5.
        #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 5)))]
        rating: u8,
        /// A comment (up to 500 characters; sealed when `private`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "schema", schemars(transform = schema::sealable_optional_text))]
        comment: Option<String>,
        /// Who may see the comment.
        visibility: Visibility,
    },
    /// Ask for everything I wrote here, and my commitments from the series' earlier sessions;
    /// the ack's `result` carries them.
    MyItems,
    /// Set the room's call links (facilitator), replacing all three: a field left out is
    /// cleared. Every group at work gets its link again; `call_links_changed` tells everyone.
    SetCallLinks {
        /// The room's call link, shown to everyone (`https://`, or `http://` to localhost or
        /// 127.0.0.1; at most 500 characters).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_URL_CHARS), regex(pattern = calls::CALL_URL), example = &"https://meet.example.org/circle"))]
        call_url: Option<String>,
        /// The template of each group's link: `{room}`, `{group}` and `{session}` are filled
        /// in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_URL_CHARS), regex(pattern = calls::CALL_TEMPLATE), example = &"https://meet.example.org/{room}-{group}"))]
        group_call_template: Option<String>,
        /// Links for the groups in order (at most 32): group 1 gets the first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[cfg_attr(feature = "schema", schemars(schema_with = "calls::call_url_list"))]
        group_call_urls: Vec<String>,
    },
}

impl Command {
    /// The snake_case name of this command, as in its `type` field.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Join { .. } => "join",
            Command::Host { .. } => "host",
            Command::Member { .. } => "member",
            Command::Resume { .. } => "resume",
            Command::Sync => "sync",
            Command::AcceptGroundRules => "accept_ground_rules",
            Command::RaiseHand => "raise_hand",
            Command::LowerHand { .. } => "lower_hand",
            Command::Pass => "pass",
            Command::Done => "done",
            Command::DrawPrompt { .. } => "draw_prompt",
            Command::Start => "start",
            Command::NextStage => "next_stage",
            Command::PreviousStage => "previous_stage",
            Command::JumpToStage { .. } => "jump_to_stage",
            Command::Pause => "pause",
            Command::ResumeSession => "resume_session",
            Command::EndSession => "end_session",
            Command::AdjustTimer { .. } => "adjust_timer",
            Command::RestartTimer { .. } => "restart_timer",
            Command::GiveFloor { .. } => "give_floor",
            Command::TakeFloor => "take_floor",
            Command::NextTurn => "next_turn",
            Command::SetPresenterOrder { .. } => "set_presenter_order",
            Command::ShufflePresenters { .. } => "shuffle_presenters",
            Command::AssignRole { .. } => "assign_role",
            Command::UnassignRole { .. } => "unassign_role",
            Command::RotateRole { .. } => "rotate_role",
            Command::RemoveParticipant { .. } => "remove_participant",
            Command::PushPrompt { .. } => "push_prompt",
            Command::ClearPrompt => "clear_prompt",
            Command::Leave => "leave",
            Command::DeleteRoom => "delete_room",
            Command::RotateLink { .. } => "rotate_link",
            Command::RevokeLink { .. } => "revoke_link",
            Command::ShowLink => "show_link",
            Command::ProposePairs { .. } => "propose_pairs",
            Command::SwapPeople { .. } => "swap_people",
            Command::LockGroup { .. } => "lock_group",
            Command::ConfirmPairs => "confirm_pairs",
            Command::EndHalf { .. } => "end_half",
            Command::ConfirmSwitch => "confirm_switch",
            Command::MoveEveryone => "move_everyone",
            Command::PlaceLate { .. } => "place_late",
            Command::RecordCommitment { .. } => "record_commitment",
            Command::ReviewCommitment { .. } => "review_commitment",
            Command::GiveFeedback { .. } => "give_feedback",
            Command::AnswerSurvey { .. } => "answer_survey",
            Command::MyItems => "my_items",
            Command::SetCallLinks { .. } => "set_call_links",
        }
    }

    /// Every command `type`, in declaration order (used to tell an unknown type from a
    /// malformed known one).
    pub const NAMES: &'static [&'static str] = &[
        "join",
        "host",
        "member",
        "resume",
        "sync",
        "accept_ground_rules",
        "raise_hand",
        "lower_hand",
        "pass",
        "done",
        "draw_prompt",
        "start",
        "next_stage",
        "previous_stage",
        "jump_to_stage",
        "pause",
        "resume_session",
        "end_session",
        "adjust_timer",
        "restart_timer",
        "give_floor",
        "take_floor",
        "next_turn",
        "set_presenter_order",
        "shuffle_presenters",
        "assign_role",
        "unassign_role",
        "rotate_role",
        "remove_participant",
        "push_prompt",
        "clear_prompt",
        "leave",
        "delete_room",
        "rotate_link",
        "revoke_link",
        "show_link",
        "propose_pairs",
        "swap_people",
        "lock_group",
        "confirm_pairs",
        "end_half",
        "confirm_switch",
        "move_everyone",
        "place_late",
        "record_commitment",
        "review_commitment",
        "give_feedback",
        "answer_survey",
        "my_items",
        "set_call_links",
    ];
}

/// Which timer a command or event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// The current stage's timebox.
    Stage,
    /// The current speaker's timebox (rounds, or a floor with a per-speaker limit).
    Speaker,
}

/// Which of a room's two capability links a command or event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// The join link (`#join=KEY`): enters as a participant.
    Join,
    /// The host link (`#host=KEY`): enters as a facilitator, previews and exports.
    Host,
}

/// One frame from server to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The answer to `join`, `host` or `resume`: who you are and the whole room.
    Welcome {
        /// The id of the command this answers.
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_COMMAND_ID_CHARS)))]
        id: CommandId,
        /// The protocol version the server speaks.
        #[cfg_attr(feature = "schema", schemars(extend("const" = PROTOCOL_VERSION)))]
        protocol: u32,
        /// The server's clock when this frame was made.
        server_time: Millis,
        /// The room's current sequence number: the next event has `seq + 1`.
        seq: u64,
        /// Your participant id in this room.
        you: ParticipantId,
        /// Your personal token, only on `join` and `host`: keep it to `resume` later.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// A guest's new series guest key, on the first `join` of this device in a room of a
        /// series: keep it (per series) and send it with `join` in the series' later rooms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        guest_key: Option<String>,
        /// The whole room.
        room: Box<RoomView>,
    },
    /// The answer to `resume` with a `last_seq` the server still holds: the events after
    /// `last_seq` up to `seq` follow at once, in order, each exactly once.
    Resumed {
        /// The id of the command this answers.
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_COMMAND_ID_CHARS)))]
        id: CommandId,
        /// The protocol version the server speaks.
        #[cfg_attr(feature = "schema", schemars(extend("const" = PROTOCOL_VERSION)))]
        protocol: u32,
        /// The server's clock when this frame was made.
        server_time: Millis,
        /// The sequence number of the last event that follows.
        seq: u64,
        /// How many events follow (`seq − last_seq`).
        replayed: u64,
        /// Your participant id in this room.
        you: ParticipantId,
    },
    /// The answer to `resume` when the missed events cannot be replayed (too old, too many, or
    /// the room's history was reset): the whole room, to replace what the client had.
    Snapshot {
        /// The id of the command this answers.
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_COMMAND_ID_CHARS)))]
        id: CommandId,
        /// The protocol version the server speaks.
        #[cfg_attr(feature = "schema", schemars(extend("const" = PROTOCOL_VERSION)))]
        protocol: u32,
        /// The server's clock when this frame was made.
        server_time: Millis,
        /// The room's current sequence number.
        seq: u64,
        /// Always `false`: the missed events were not recovered one by one.
        #[cfg_attr(feature = "schema", schemars(extend("const" = false)))]
        recovered: bool,
        /// Your participant id in this room.
        you: ParticipantId,
        /// The whole room.
        room: Box<RoomView>,
    },
    /// A command was accepted.
    Ack {
        /// The id of the command.
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_COMMAND_ID_CHARS)))]
        id: CommandId,
        /// The room's sequence number after the command's events (if it changed the room).
        seq: u64,
        /// The server's clock when the command was applied.
        server_time: Millis,
        /// A command's answer, where it has one (`draw_prompt`, `rotate_link`, the items
        /// commands).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<AckResult>,
    },
    /// A command was refused; nothing changed.
    Error {
        /// The id of the command, when the frame could be read far enough to find it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "schema", schemars(length(min = 1, max = limits::MAX_COMMAND_ID_CHARS)))]
        id: Option<CommandId>,
        /// A stable code.
        code: ErrorCode,
        /// A human-readable explanation.
        message: String,
    },
    /// Something happened in the room.
    Event {
        /// The room's sequence number of this event: contiguous, starting at 1.
        seq: u64,
        /// When it happened (server clock).
        at: Millis,
        /// What happened.
        event: Event,
    },
}

/// The answer to a command that returns something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AckResult {
    /// A prompt drawn for the current stage.
    Prompt {
        /// The prompt.
        prompt: Prompt,
    },
    /// My items (`my_items`, and after `record_commitment`, `review_commitment`,
    /// `give_feedback`, `answer_survey`).
    Mine {
        /// Everything I wrote.
        mine: Mine,
    },
    /// The new key of a link replaced with `rotate_link`: the link is
    /// `{base}/r/{room}#join=KEY` (or `#host=KEY`), built by the client.
    Link {
        /// Which link.
        link: LinkKind,
        /// The new key (a secret: show it to the facilitator, never log it).
        key: String,
    },
    /// The current join key (`show_link`): the join link is `{base}/r/{room}#join=KEY`, built
    /// by the client; `null` when the join link is turned off.
    JoinKey {
        /// The key (a secret: show it to the facilitator, never log it), or `null`.
        join_key: Option<String>,
    },
}

/// Stable error codes. The human message may change; the code does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    MalformedJson,
    /// The frame is JSON but its `type` is missing or unknown.
    UnknownType,
    /// A known `type` with missing or wrongly typed fields.
    InvalidMessage,
    /// A name, id or text is empty or longer than its limit.
    InvalidText,
    /// `join` or `host` (or a series with two members) with a display name that, normalised (NFKC, case folded,
    /// whitespace collapsed), is the name of someone else in the room: add an initial or a
    /// surname. Nothing changed.
    NameTaken,
    /// A room command before `join`, `host` or `resume`.
    NotAuthenticated,
    /// `join`, `host` or `resume` on a connection that is already in a room.
    AlreadyAuthenticated,
    /// No room with that id (or it has ended and been closed).
    RoomNotFound,
    /// The room exists but the server cannot serve it safely (a stored record is damaged, or
    /// its changes could not be written to disk); the operator has been told.
    RoomUnavailable,
    /// The join or host key does not open this room.
    InvalidKey,
    /// `show_link` in a room whose join link was made before links could be shown again:
    /// the server kept only its hash. Replace it (`rotate_link`) to get one that can be shown.
    LinkUnknown,
    /// The token does not belong to a participant of this room.
    InvalidToken,
    /// Your role may not do this.
    Forbidden,
    /// Accept the ground rules first.
    ConsentRequired,
    /// This cannot be done in the current stage or speaking mode.
    NotInStage,
    /// It is not your turn.
    NotYourTurn,
    /// The session has not started yet.
    NotStarted,
    /// The session has ended.
    SessionEnded,
    /// The request does not fit the room's state (e.g. start twice, resume when not paused).
    InvalidState,
    /// No participant with that id in this room.
    UnknownParticipant,
    /// No stage with that index.
    UnknownStage,
    /// No prompt with that id.
    UnknownPrompt,
    /// No built-in texts in that language (`GET /api/texts/{lang}`, HTTP 404): the server ships
    /// `en`, `es` and `de`.
    UnknownLanguage,
    /// The room holds as many participants as it may.
    RoomFull,
    /// Too many commands too fast.
    RateLimited,
    /// A call link or group call template was refused: not `https://` (or `http://` to
    /// localhost or 127.0.0.1), spaces or control characters in it, too long, too many, or an
    /// unknown placeholder. Nothing changed.
    InvalidUrl,
    /// A custom format was refused (the message names the field).
    InvalidFormat,
    /// The websocket upgrade came from a page the server does not serve (HTTP 403): its
    /// `Origin` header is missing or not on the server's allowlist.
    OriginNotAllowed,
    /// This address holds as many connections as the server allows one address (HTTP 429).
    TooManyConnections,
    /// The server holds as many rooms as it may (HTTP 503): try later or another server.
    ServerFull,
    /// This address opened as many rooms as it may in an hour (HTTP 429).
    TooManyRooms,
    /// This address gave too many wrong links, keys or tokens lately; entering is refused
    /// for a while without checking (HTTP 429, or an error frame and close 4029).
    TooManyAttempts,
    /// There are already as many items of this kind as the limits allow: commitments or
    /// feedback of the sender ([`limits::MAX_COMMITMENTS_PER_PERSON`],
    /// [`limits::MAX_FEEDBACK_PER_PERSON`]) or of the whole room
    /// ([`limits::MAX_COMMITMENTS_PER_ROOM`], [`limits::MAX_FEEDBACK_PER_ROOM`]), or stages in
    /// the plan a presenter order would make ([`limits::MAX_PLAN_STAGES`]); nothing changed.
    TooManyItems,
    /// The server cannot reach its store (the database is down, or the disk refuses writes):
    /// the command was not applied, or the room not entered; retry after a few seconds (HTTP
    /// 503 with `Retry-After`).
    Unavailable,
    /// Something went wrong on the server; the command was not applied.
    Internal,
}

impl ErrorCode {
    /// The snake_case code, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::InvalidText => "invalid_text",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::AlreadyAuthenticated => "already_authenticated",
            ErrorCode::RoomNotFound => "room_not_found",
            ErrorCode::RoomUnavailable => "room_unavailable",
            ErrorCode::InvalidKey => "invalid_key",
            ErrorCode::LinkUnknown => "link_unknown",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::NotInStage => "not_in_stage",
            ErrorCode::NotYourTurn => "not_your_turn",
            ErrorCode::NotStarted => "not_started",
            ErrorCode::SessionEnded => "session_ended",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::UnknownParticipant => "unknown_participant",
            ErrorCode::UnknownStage => "unknown_stage",
            ErrorCode::UnknownPrompt => "unknown_prompt",
            ErrorCode::UnknownLanguage => "unknown_language",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::InvalidUrl => "invalid_url",
            ErrorCode::InvalidFormat => "invalid_format",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::ServerFull => "server_full",
            ErrorCode::TooManyRooms => "too_many_rooms",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::TooManyItems => "too_many_items",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Something that happened in a room. Each event carries the new value of what it changed, so
/// a client applies it by assignment (see `protocol/README.md`, "Keeping the view current");
/// `notes_changed` carries the changed items only, put in place by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Someone joined (replace or append in `room.participants` by id).
    ParticipantJoined {
        /// The new participant.
        participant: ParticipantView,
    },
    /// A participant changed: consent, standing, roles, presence or removal (replace by id).
    ParticipantUpdated {
        /// The participant as they are now.
        participant: ParticipantView,
        /// What changed.
        change: ParticipantChange,
    },
    /// The session moved: started, paused, resumed or ended (`room.session`).
    SessionChanged {
        /// The session as it is now.
        session: SessionState,
        /// The timers as they are now (paused or resumed with the session).
        stage: Option<StageState>,
        /// The turn as it is now.
        turn: TurnState,
    },
    /// A stage began (`room.stage`, `room.turn`).
    StageEntered {
        /// The stage that began.
        stage: StageState,
        /// The turn state in the new stage.
        turn: TurnState,
    },
    /// The turn changed: floor, queue or round (`room.turn`).
    TurnChanged {
        /// The turn as it is now.
        turn: TurnState,
        /// Why.
        reason: TurnReason,
        /// Who the change is about (who raised a hand, passed, got the floor…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
    },
    /// Floor time credited to someone when they stopped holding the floor (`room.floor_time`).
    FloorTimeCredited {
        /// Totals as they are now.
        floor_time: FloorTime,
    },
    /// A timer changed: adjusted or restarted (`room.stage.timer` or `room.turn.speaker_timer`).
    TimerChanged {
        /// Which timer.
        timer: TimerKind,
        /// Its new state.
        state: TimerState,
    },
    /// A timer reached its warning point.
    TimerWarning {
        /// Which timer.
        timer: TimerKind,
        /// Its new state (`warned: true`).
        state: TimerState,
    },
    /// A timer reached zero; it keeps counting into overtime (negative remaining time).
    TimerExpired {
        /// Which timer.
        timer: TimerKind,
        /// Its new state (`expired: true`).
        state: TimerState,
    },
    /// The presenter order (and so the plan of stages) changed (`room.presenter_order`,
    /// `room.plan`).
    PlanChanged {
        /// Presenters in order.
        presenter_order: Vec<ParticipantId>,
        /// The stage plan.
        plan: Vec<PlannedStage>,
        /// The seed, when the order was shuffled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
        /// Where the current stage now sits in the plan, if the session has started.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage_index: Option<usize>,
    },
    /// Pairs changed (`room.pairs`): proposed, adjusted, confirmed, a half ended, a switch was
    /// confirmed or made, a timer warned or ran out, someone was placed.
    PairsChanged {
        /// The pairs as they are now.
        pairs: PairsState,
        /// Why.
        reason: PairsReason,
        /// The group it is about, if one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<u32>,
    },
    /// What the room shares of what people wrote changed (`room.commitments`, `room.carried`,
    /// `room.feedback`): a commitment was shared or reviewed, feedback was shared, replaced or
    /// made private. Carries only the items that changed, never the whole lists, so its size
    /// does not grow with the room (one command changes one item).
    NotesChanged {
        /// This session's shared commitments, new or changed: each replaces the one with the
        /// same `id` in `room.commitments`, or is appended.
        #[serde(default)]
        commitments: Vec<Commitment>,
        /// Earlier sessions' shared commitments that changed (reviewed): each replaces the one
        /// with the same `id` in `room.carried`, or is appended.
        #[serde(default)]
        carried: Vec<Commitment>,
        /// Shared feedback, new or changed: each replaces the one with the same `from`,
        /// `group` and `round` in `room.feedback`, or is appended.
        #[serde(default)]
        feedback: Vec<Feedback>,
        /// Feedback no longer shared (replaced by a private one): remove the one with this
        /// `from`, `group` and `round` from `room.feedback`. Left out while empty (it mostly
        /// is).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        feedback_removed: Vec<FeedbackKey>,
    },
    /// The prompt card changed (`room.prompt`): pushed, or cleared when `prompt` is null.
    PromptChanged {
        /// The card, or null when cleared.
        prompt: Option<PushedPrompt>,
    },
    /// A facilitator replaced (`rotate_link`) or turned off (`revoke_link`) one of the room's
    /// links. Carries no key; changes nothing in the view.
    LinkChanged {
        /// Which link.
        link: LinkKind,
        /// True when the link was turned off, false when it was replaced by a new one.
        revoked: bool,
        /// Who did it.
        by: ParticipantId,
    },
    /// A facilitator set the room's call links (`room.call_url`, `room.group_call_template`,
    /// `room.group_call_urls`), and so each group's link (`call_url` of the group in
    /// `room.pairs.groups` with that id). Every field is written, `null` or `[]` when unset.
    CallLinksChanged {
        /// The room's call link.
        #[serde(default)]
        call_url: Option<String>,
        /// The template of each group's link.
        #[serde(default)]
        group_call_template: Option<String>,
        /// Links for the groups in order.
        #[serde(default)]
        group_call_urls: Vec<String>,
        /// Each group at work, with its link now.
        #[serde(default)]
        groups: Vec<GroupCall>,
    },
}

impl Event {
    /// The snake_case name of this event, as in its `type` field.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ParticipantJoined { .. } => "participant_joined",
            Event::ParticipantUpdated { .. } => "participant_updated",
            Event::SessionChanged { .. } => "session_changed",
            Event::StageEntered { .. } => "stage_entered",
            Event::TurnChanged { .. } => "turn_changed",
            Event::FloorTimeCredited { .. } => "floor_time_credited",
            Event::TimerChanged { .. } => "timer_changed",
            Event::TimerWarning { .. } => "timer_warning",
            Event::TimerExpired { .. } => "timer_expired",
            Event::PlanChanged { .. } => "plan_changed",
            Event::PairsChanged { .. } => "pairs_changed",
            Event::NotesChanged { .. } => "notes_changed",
            Event::PromptChanged { .. } => "prompt_changed",
            Event::LinkChanged { .. } => "link_changed",
            Event::CallLinksChanged { .. } => "call_links_changed",
        }
    }
}

/// What changed about a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParticipantChange {
    /// They accepted the ground rules.
    Consented,
    /// Their standing or roles changed.
    Roles,
    /// They connected or went away.
    Presence,
    /// They left or were removed.
    Removed,
}

/// Why the pairs changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PairsReason {
    /// A proposal was made.
    Proposed,
    /// The facilitator swapped people or locked a group.
    Adjusted,
    /// The groups were made.
    Confirmed,
    /// The groups started their first round (the pairs stage began).
    Started,
    /// A coaching half ended: feedback began.
    HalfEnded,
    /// A member confirmed the switch; others have yet to.
    Ready,
    /// Every member confirmed (or the facilitator moved everyone): roles switched.
    Switched,
    /// A group finished its last round.
    Finished,
    /// A group's timer reached its warning point.
    TimerWarning,
    /// A group's timer ran out (it keeps counting into overtime).
    TimerExpired,
    /// A late joiner was placed in a group, or is waiting.
    Placed,
    /// Someone left a group.
    Left,
}

/// Why the turn changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TurnReason {
    /// A hand went up.
    HandRaised,
    /// A hand came down.
    HandLowered,
    /// The speaker passed.
    Passed,
    /// The speaker finished.
    Done,
    /// The facilitator gave the floor.
    FloorGiven,
    /// The facilitator took the floor back.
    FloorTaken,
    /// The facilitator moved the round on.
    NextTurn,
    /// Someone left, so the queue, round or floor was updated.
    ParticipantLeft,
    /// Someone accepted the ground rules and joined the round.
    Joined,
}
