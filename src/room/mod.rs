//! The pure core of a room: the state machine ([`state`]) with its single entry point
//! [`Room::handle`], its timers as deadlines ([`timer`]) and the prompt bank ([`prompts`]). No
//! I/O, no clock, no async runtime: the live layer above (its room actor) runs a room and carries out
//! what it decides.

pub mod prompts;
pub mod state;
pub mod timer;

pub use state::{
    Applied, Effect, Input, MemberEntry, Outcome, Permission, Recorded, Rejection, Room, RoomSetup,
};

#[cfg(test)]
mod tests;
