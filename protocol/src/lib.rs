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

mod calendar;
mod calls;
pub mod close;
mod command;
mod event;
mod format;
pub mod limits;
mod notes;
mod pairs;
mod people;
mod reply;
#[cfg(feature = "schema")]
mod schema;
mod session;
mod view;

pub use calendar::*;
pub use calls::*;
pub use command::*;
pub use event::*;
pub use format::*;
pub use notes::*;
pub use pairs::*;
pub use people::*;
pub use reply::*;
pub use session::*;
pub use view::*;

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
