//! What the server sends: [`ServerMessage`] frames (the welcome, acks, errors and their
//! [`ErrorCode`]s, events).

use serde::{Deserialize, Serialize};

use crate::*;

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
