//! What a session's summary counts of commitments: how many were made, the reviews made in the
//! session by outcome, and the follow-up of earlier sessions' commitments. Counts include every
//! item whatever its visibility; only exportable text is listed.

use circlekeeper_protocol::Millis;
use serde::{Deserialize, Serialize};

/// How many commitments a session made, and the reviews made in it by outcome (of its own
/// commitments and of earlier sessions'), counted whatever their visibility.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentCounts {
    /// Commitments made in this session.
    pub made: u32,
    /// Reviews made in this session, by outcome.
    pub reviewed: OutcomeCounts,
}

/// Reviews by outcome.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Kept.
    pub kept: u32,
    /// Partly kept.
    pub partly: u32,
    /// Not kept.
    pub not: u32,
    /// Changed.
    pub changed: u32,
}

impl OutcomeCounts {
    /// All reviews counted.
    pub fn total(&self) -> u32 {
        self.kept + self.partly + self.not + self.changed
    }

    /// Count one review.
    pub fn add(&mut self, outcome: circlekeeper_protocol::Outcome) {
        use circlekeeper_protocol::Outcome;
        match outcome {
            Outcome::Kept => self.kept += 1,
            Outcome::Partly => self.partly += 1,
            Outcome::Not => self.not += 1,
            Outcome::Changed => self.changed += 1,
        }
    }

    /// These counts and `other`'s, added.
    pub fn plus(&self, other: &OutcomeCounts) -> OutcomeCounts {
        OutcomeCounts {
            kept: self.kept + other.kept,
            partly: self.partly + other.partly,
            not: self.not + other.not,
            changed: self.changed + other.changed,
        }
    }
}

/// The follow-up of earlier sessions' commitments in this session: every review of one made
/// here counted by outcome (any visibility), and the exportable ones listed with their text.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowUps {
    /// Reviews of earlier commitments made in this session, by outcome (any visibility).
    pub counts: OutcomeCounts,
    /// The reviewed commitments their authors marked exportable.
    pub reviewed: Vec<FollowUp>,
}

/// An earlier session's exportable commitment, reviewed in this session.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Author (name or pseudonym, as in this session).
    pub author: String,
    /// Text.
    pub text: String,
    /// Due date, if given.
    pub due: Option<String>,
    /// How it went.
    pub outcome: circlekeeper_protocol::Outcome,
    /// When it was made (epoch ms) and in ISO 8601.
    pub made_at: Millis,
    /// `made_at` in ISO 8601 (UTC).
    pub made_at_iso: String,
}
