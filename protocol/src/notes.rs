//! What people write and record in a room, as the view holds it: commitments, feedback,
//! survey answers, each with who may see it.

use serde::{Deserialize, Serialize};

use crate::*;

/// Who may see a text someone wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only its author: never broadcast, never exported.
    Private,
    /// This circle: shown in the room, never exported.
    Circle,
    /// This circle, and exports of the session (for the program's host).
    Exportable,
}

/// How a commitment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Kept,
    /// Partly done.
    Partly,
    /// Not done.
    Not,
    /// The commitment changed.
    Changed,
}

/// A commitment: what someone will do, by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Commitment {
    /// Stable id (room id and a number).
    pub id: String,
    /// Who made it (in the room it was made in).
    pub author: ParticipantId,
    /// Their display name.
    pub name: String,
    /// Their member id, in a series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// What they will do.
    pub text: String,
    /// By when (`YYYY-MM-DD`), if they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// Who may see it.
    pub visibility: Visibility,
    /// When it was made.
    pub made_at: Millis,
    /// How it went, once reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A client's feedback to their coach after a half.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Feedback {
    /// Who gave it (the client).
    pub from: ParticipantId,
    /// To whom (the coach).
    pub to: ParticipantId,
    /// Which group and round.
    pub group: u32,
    /// The round, from 0.
    pub round: u32,
    /// 1 (not helpful) to 5 (very helpful).
    pub rating: u8,
    /// What helped.
    pub helped: String,
    /// What helped less.
    pub helped_less: String,
    /// Who may see it.
    pub visibility: Visibility,
}

impl Feedback {
    /// What tells this feedback from the rest: one client's, for one group and round.
    pub fn key(&self) -> FeedbackKey {
        FeedbackKey {
            from: self.from,
            group: self.group,
            round: self.round,
        }
    }
}

/// Which feedback an event names: the client who gave it, for which group and round (there is
/// at most one per client, group and round).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FeedbackKey {
    /// Who gave it (the client).
    pub from: ParticipantId,
    /// Which group.
    pub group: u32,
    /// The round, from 0.
    pub round: u32,
}

/// A participant's answer to the short end-of-session survey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SurveyAnswer {
    /// Who answered.
    pub from: ParticipantId,
    /// How the session was, 1 to 5.
    pub rating: u8,
    /// A comment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who may see the comment.
    pub visibility: Visibility,
}

/// Everything I wrote in this room, and my commitments from the series' earlier sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Mine {
    /// My commitments (all visibilities), earlier sessions first.
    pub commitments: Vec<Commitment>,
    /// Feedback I gave.
    pub feedback: Vec<Feedback>,
    /// My survey answer.
    pub survey: Option<SurveyAnswer>,
}
