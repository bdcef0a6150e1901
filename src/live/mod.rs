//! The live layer: the actors that own what is running — one per series (and, as the layers
//! settle, one per room) — and carry out their changes through the group-commit journal, so
//! that every change is durable before it is acknowledged. Nothing here knows HTTP or
//! websockets; the server hands requests to these actors and sends back their answers.

pub mod series;

pub use series::{spawn_series, Change, SeriesError, SeriesHandle};
