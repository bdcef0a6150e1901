//! Where a session is: its status, stage, timers, turns, the floor, rounds and prompts.

use serde::{Deserialize, Serialize};

use crate::*;

/// The session's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SessionState {
    /// Lobby, running, paused or ended.
    pub status: SessionStatus,
    /// When it started.
    pub started_at: Option<Millis>,
    /// When it was paused, while paused.
    pub paused_at: Option<Millis>,
    /// When it ended.
    pub ended_at: Option<Millis>,
}

/// Lobby, running, paused or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Not started: people gather and accept the ground rules.
    Lobby,
    /// A stage is running.
    Running,
    /// Paused by the facilitator or timekeeper: timers stand still.
    Paused,
    /// Over.
    Ended,
}

/// The current stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StageState {
    /// Index in `room.plan`.
    pub index: usize,
    /// When the stage began.
    pub entered_at: Millis,
    /// The stage's timebox.
    pub timer: TimerState,
}

/// A timer as a deadline. Remaining time is `ends_at − server_now` while running, and
/// `paused_remaining_ms` while paused; negative means overtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TimerState {
    /// Full duration, as planned plus adjustments.
    pub duration_ms: u64,
    /// The deadline while running.
    pub ends_at: Option<Millis>,
    /// Remaining time while paused (negative in overtime).
    pub paused_remaining_ms: Option<i64>,
    /// Whether the warning has fired.
    pub warned: bool,
    /// Whether the timer has reached zero.
    pub expired: bool,
}

impl TimerState {
    /// Remaining milliseconds at `now` (negative in overtime).
    pub fn remaining_ms(&self, now: Millis) -> i64 {
        match (self.ends_at, self.paused_remaining_ms) {
            (Some(end), _) => end as i64 - now as i64,
            (None, Some(left)) => left,
            (None, None) => self.duration_ms as i64,
        }
    }
}

/// Who has the floor, who waits, and where a round stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TurnState {
    /// Whoever is speaking now.
    pub floor: Option<Floor>,
    /// Raised hands, in the order they went up.
    pub queue: Vec<ParticipantId>,
    /// The round, in round stages.
    pub round: Option<Round>,
    /// The speaker's timebox, when the stage has one.
    pub speaker_timer: Option<TimerState>,
}

/// The current floor holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Floor {
    /// Who speaks.
    pub participant: ParticipantId,
    /// In which role.
    pub role: Role,
    /// Since when (floor time counts from here, paused time excepted).
    pub since: Millis,
}

/// A round in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Round {
    /// Speakers in order.
    pub order: Vec<ParticipantId>,
    /// Index in `order` of the current speaker; equal to `order.len()` when the round is over.
    pub position: usize,
    /// Who passed.
    pub passed: Vec<ParticipantId>,
}

/// Floor time totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FloorTime {
    /// Milliseconds per participant.
    pub by_participant: Vec<(ParticipantId, u64)>,
    /// Milliseconds per role.
    pub by_role: Vec<(Role, u64)>,
}

/// A prompt from the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Prompt {
    /// Stable id (custom prompts have `custom`).
    pub id: String,
    /// The question or instruction.
    pub text: String,
    /// Where it comes from (e.g. "transformational questions", "POP model").
    pub source: String,
}

/// A prompt shown on the room's prompt card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PushedPrompt {
    /// The prompt.
    pub prompt: Prompt,
    /// Everyone (null) or only the people in this role.
    pub to: Option<Role>,
    /// Who pushed it.
    pub by: ParticipantId,
    /// When.
    pub at: Millis,
}
