//! Pairs and groups in the view: the pairing proposal, repeats of earlier partners, and the
//! state of a room split into groups.

use serde::{Deserialize, Serialize};

use crate::*;

/// Pairing and breakouts: the facilitator's proposal, then the groups running on their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PairsState {
    /// The proposed groups, before the facilitator confirms them.
    pub proposal: Option<Proposal>,
    /// The confirmed groups.
    pub groups: Vec<GroupState>,
    /// People present but in no group (a late joiner waiting with the facilitator).
    pub waiting: Vec<ParticipantId>,
}

impl PairsState {
    /// No proposal, no groups, nobody waiting.
    pub fn is_empty(&self) -> bool {
        self.proposal.is_none() && self.groups.is_empty() && self.waiting.is_empty()
    }
}

/// Proposed groups, with the ones the facilitator locked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Proposal {
    /// Each group's members, in order (the first is the first client).
    pub groups: Vec<Vec<ParticipantId>>,
    /// Whether each group is locked (kept when the facilitator proposes again).
    pub locked: Vec<bool>,
    /// The seed the proposal was made with.
    pub seed: u64,
    /// Who here was in a triad in the last earlier session of the series that had one, and
    /// which session that was (left out in a first session or a room outside a series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_triad: Option<LastTriad>,
    /// What the proposal repeats from earlier sessions, recomputed whenever it changes (left
    /// out when it repeats nothing).
    #[serde(default, skip_serializing_if = "Repeats::is_empty")]
    pub repeats: Repeats,
}

/// Who was in a triad last time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LastTriad {
    /// The session's index in the series (`0` = its first session).
    pub session: u32,
    /// Its triad members who are here now.
    pub members: Vec<ParticipantId>,
}

/// What a proposal repeats from the series' earlier sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Repeats {
    /// Two people of one proposed group who met before, group by group.
    pub partners: Vec<RepeatedPartners>,
    /// Members of a proposed triad who were in a triad before, with why.
    pub triad: Vec<TriadRepeat>,
}

impl Repeats {
    /// Nothing repeats.
    pub fn is_empty(&self) -> bool {
        self.partners.is_empty() && self.triad.is_empty()
    }

    /// How many repeats: repeated partners plus repeated triad members.
    pub fn count(&self) -> usize {
        self.partners.len() + self.triad.len()
    }
}

/// Two people of one proposed group who met in an earlier session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RepeatedPartners {
    /// The two, in the group's order.
    pub members: [ParticipantId; 2],
    /// How many earlier sessions they met in.
    pub times: u32,
    /// The last session they met in (`0` = the series' first).
    pub last_session: u32,
}

/// A member of a proposed triad who was in a triad before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TriadRepeat {
    /// Who.
    pub participant: ParticipantId,
    /// How many earlier sessions they were in a triad in.
    pub triads: u32,
    /// Why they are in one again.
    pub why: TriadWhy,
}

/// Why someone is in a triad again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TriadWhy {
    /// Everyone else here has been in a triad at least as often: their turn came round again.
    EveryoneHasBeen,
    /// The facilitator locked the group.
    Locked,
    /// Their continuing partner is in the triad with them.
    ContinuingPair,
    /// Someone who has been in fewer triads could take their place: people were moved by hand.
    Adjusted,
    /// Everyone who has been in fewer triads is in a locked group or a continuing pair, or
    /// asked not to be paired with someone in the triad.
    NoOneElse,
}

/// One pair or triad at work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupState {
    /// Group number, from 1.
    pub id: u32,
    /// Members in order: a pair has two rounds (halves), a triad three.
    pub members: Vec<ParticipantId>,
    /// The current round, from 0.
    pub round: u32,
    /// How many rounds: 2 for a pair, 3 for a triad.
    pub rounds: u32,
    /// Who coaches in this round.
    pub coach: ParticipantId,
    /// Who is coached in this round.
    pub client: ParticipantId,
    /// Who observes in this round (triads).
    pub observer: Option<ParticipantId>,
    /// Coaching, feedback, or done.
    pub phase: GroupPhase,
    /// Who has confirmed the switch to the next round (during feedback).
    pub ready: Vec<ParticipantId>,
    /// The round's timer (coaching or feedback), once the pairs stage runs.
    pub timer: Option<TimerState>,
    /// The group's own call link, from the room's group call links (left out while none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
}

/// Where a group is in its round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupPhase {
    /// The coach coaches the client.
    Coaching,
    /// The client tells the coach what helped; then everyone confirms the switch.
    Feedback,
    /// Every round is over.
    Done,
}
