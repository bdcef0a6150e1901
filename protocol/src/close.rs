//! Websocket close codes the server uses, with what the client should do.

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
