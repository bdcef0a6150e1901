//! The live layer: the actors that own what is running — one per live room ([`room`]) and one
//! per series ([`series`]) — and carry out their changes through the group-commit journal, so
//! that every change is durable before it is acknowledged. A room's actor is a pump around the
//! pure core (`Room::handle`): it turns what arrives into inputs and carries out the effects
//! that come back, knowing no command by name. Nothing here knows HTTP or websockets; the
//! server hands requests to these actors and sends back their answers.

pub mod room;
pub mod series;

pub use room::{spawn_room, RoomHandle, RoomMsg};
pub use series::{spawn_series, Change, SeriesDirectory, SeriesError, SeriesHandle, SeriesRef};
