//! What a client sends: [`ClientMessage`] frames, each a client-chosen id and a [`Command`].

use serde::{Deserialize, Serialize};

use crate::*;

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
