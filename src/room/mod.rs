//! Rooms: the pure state machine ([`state`]), its timers ([`timer`]), the prompt bank
//! ([`prompts`]) and the actor that runs one live room ([`actor`]).

pub mod actor;
pub mod prompts;
pub mod state;
pub mod timer;

pub use actor::{spawn_room, RoomHandle, RoomMsg};
pub use state::{Applied, Permission, Recorded, Rejection, Room, RoomSetup};

#[cfg(test)]
mod tests;
