//! Who is in a room, as the view holds them: participants, their standing, roles and
//! presence.

use serde::{Deserialize, Serialize};

use crate::*;

/// One participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ParticipantView {
    /// Id within the room.
    pub id: ParticipantId,
    /// Display name.
    pub name: String,
    /// Facilitator, co-facilitator or participant.
    pub standing: Standing,
    /// Standing roles held across stages (`timekeeper`, `observer`).
    pub roles: Vec<Role>,
    /// Whether they accepted the ground rules.
    pub consented: bool,
    /// Connected or away.
    pub presence: Presence,
    /// When they joined.
    pub joined_at: Millis,
    /// Whether they left or were removed.
    pub removed: bool,
    /// Their member id, in a room of a series (pairing history follows the member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// In a room of a series, for someone who came with the join link: the id the series knows
    /// this guest by (`g1`, …; the member id they were made, once converted), the same in every
    /// session their device brings the series guest key to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<String>,
}

/// How a participant relates to the room as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Joined from the host link: steers the session.
    Facilitator,
    /// Promoted by a facilitator: steers the session too.
    CoFacilitator,
    /// Joined from the join link.
    Participant,
}

impl Standing {
    /// Whether this standing may steer the session.
    pub fn is_facilitating(self) -> bool {
        matches!(self, Standing::Facilitator | Standing::CoFacilitator)
    }
}

/// Roles in a circle. Some are standing (`timekeeper`, `observer`, `co_facilitator`), assigned by
/// a facilitator; others (`presenter`, `coach`, `client`, `member`) follow from the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Steers the session.
    Facilitator,
    /// Steers the session beside the facilitator.
    CoFacilitator,
    /// Brings a challenge; the circle works on it.
    Presenter,
    /// Asks questions and helps the presenter or client think.
    Coach,
    /// Is being coached.
    Client,
    /// Watches and gives feedback on the coaching; takes no turn.
    Observer,
    /// Keeps time: may pause, extend and shorten timers.
    Timekeeper,
    /// Takes part in a round or an open stage.
    Member,
}

/// Connected or away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// At least one live connection.
    Connected,
    /// No live connection.
    Away,
}
