//! What happened in a room: [`Event`], each carrying the new value of what it changed.

use serde::{Deserialize, Serialize};

use crate::*;

/// Something that happened in a room. Each event carries the new value of what it changed, so
/// a client applies it by assignment (see `protocol/README.md`, "Keeping the view current");
/// `notes_changed` carries the changed items only, put in place by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Someone joined (replace or append in `room.participants` by id).
    ParticipantJoined {
        /// The new participant.
        participant: ParticipantView,
    },
    /// A participant changed: consent, standing, roles, presence or removal (replace by id).
    ParticipantUpdated {
        /// The participant as they are now.
        participant: ParticipantView,
        /// What changed.
        change: ParticipantChange,
    },
    /// The session moved: started, paused, resumed or ended (`room.session`).
    SessionChanged {
        /// The session as it is now.
        session: SessionState,
        /// The timers as they are now (paused or resumed with the session).
        stage: Option<StageState>,
        /// The turn as it is now.
        turn: TurnState,
    },
    /// A stage began (`room.stage`, `room.turn`).
    StageEntered {
        /// The stage that began.
        stage: StageState,
        /// The turn state in the new stage.
        turn: TurnState,
    },
    /// The turn changed: floor, queue or round (`room.turn`).
    TurnChanged {
        /// The turn as it is now.
        turn: TurnState,
        /// Why.
        reason: TurnReason,
        /// Who the change is about (who raised a hand, passed, got the floor…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        participant: Option<ParticipantId>,
    },
    /// Floor time credited to someone when they stopped holding the floor (`room.floor_time`).
    FloorTimeCredited {
        /// Totals as they are now.
        floor_time: FloorTime,
    },
    /// A timer changed: adjusted or restarted (`room.stage.timer` or `room.turn.speaker_timer`).
    TimerChanged {
        /// Which timer.
        timer: TimerKind,
        /// Its new state.
        state: TimerState,
    },
    /// A timer reached its warning point.
    TimerWarning {
        /// Which timer.
        timer: TimerKind,
        /// Its new state (`warned: true`).
        state: TimerState,
    },
    /// A timer reached zero; it keeps counting into overtime (negative remaining time).
    TimerExpired {
        /// Which timer.
        timer: TimerKind,
        /// Its new state (`expired: true`).
        state: TimerState,
    },
    /// The presenter order (and so the plan of stages) changed (`room.presenter_order`,
    /// `room.plan`).
    PlanChanged {
        /// Presenters in order.
        presenter_order: Vec<ParticipantId>,
        /// The stage plan.
        plan: Vec<PlannedStage>,
        /// The seed, when the order was shuffled.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
        /// Where the current stage now sits in the plan, if the session has started.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage_index: Option<usize>,
    },
    /// Pairs changed (`room.pairs`): proposed, adjusted, confirmed, a half ended, a switch was
    /// confirmed or made, a timer warned or ran out, someone was placed.
    PairsChanged {
        /// The pairs as they are now.
        pairs: PairsState,
        /// Why.
        reason: PairsReason,
        /// The group it is about, if one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<u32>,
    },
    /// What the room shares of what people wrote changed (`room.commitments`, `room.carried`,
    /// `room.feedback`): a commitment was shared or reviewed, feedback was shared, replaced or
    /// made private. Carries only the items that changed, never the whole lists, so its size
    /// does not grow with the room (one command changes one item).
    NotesChanged {
        /// This session's shared commitments, new or changed: each replaces the one with the
        /// same `id` in `room.commitments`, or is appended.
        #[serde(default)]
        commitments: Vec<Commitment>,
        /// Earlier sessions' shared commitments that changed (reviewed): each replaces the one
        /// with the same `id` in `room.carried`, or is appended.
        #[serde(default)]
        carried: Vec<Commitment>,
        /// Shared feedback, new or changed: each replaces the one with the same `from`,
        /// `group` and `round` in `room.feedback`, or is appended.
        #[serde(default)]
        feedback: Vec<Feedback>,
        /// Feedback no longer shared (replaced by a private one): remove the one with this
        /// `from`, `group` and `round` from `room.feedback`. Left out while empty (it mostly
        /// is).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        feedback_removed: Vec<FeedbackKey>,
    },
    /// The prompt card changed (`room.prompt`): pushed, or cleared when `prompt` is null.
    PromptChanged {
        /// The card, or null when cleared.
        prompt: Option<PushedPrompt>,
    },
    /// A facilitator replaced (`rotate_link`) or turned off (`revoke_link`) one of the room's
    /// links. Carries no key; changes nothing in the view.
    LinkChanged {
        /// Which link.
        link: LinkKind,
        /// True when the link was turned off, false when it was replaced by a new one.
        revoked: bool,
        /// Who did it.
        by: ParticipantId,
    },
    /// A facilitator set the room's call links (`room.call_url`, `room.group_call_template`,
    /// `room.group_call_urls`), and so each group's link (`call_url` of the group in
    /// `room.pairs.groups` with that id). Every field is written, `null` or `[]` when unset.
    CallLinksChanged {
        /// The room's call link.
        #[serde(default)]
        call_url: Option<String>,
        /// The template of each group's link.
        #[serde(default)]
        group_call_template: Option<String>,
        /// Links for the groups in order.
        #[serde(default)]
        group_call_urls: Vec<String>,
        /// Each group at work, with its link now.
        #[serde(default)]
        groups: Vec<GroupCall>,
    },
}

impl Event {
    /// The snake_case name of this event, as in its `type` field.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ParticipantJoined { .. } => "participant_joined",
            Event::ParticipantUpdated { .. } => "participant_updated",
            Event::SessionChanged { .. } => "session_changed",
            Event::StageEntered { .. } => "stage_entered",
            Event::TurnChanged { .. } => "turn_changed",
            Event::FloorTimeCredited { .. } => "floor_time_credited",
            Event::TimerChanged { .. } => "timer_changed",
            Event::TimerWarning { .. } => "timer_warning",
            Event::TimerExpired { .. } => "timer_expired",
            Event::PlanChanged { .. } => "plan_changed",
            Event::PairsChanged { .. } => "pairs_changed",
            Event::NotesChanged { .. } => "notes_changed",
            Event::PromptChanged { .. } => "prompt_changed",
            Event::LinkChanged { .. } => "link_changed",
            Event::CallLinksChanged { .. } => "call_links_changed",
        }
    }
}

/// What changed about a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParticipantChange {
    /// They accepted the ground rules.
    Consented,
    /// Their standing or roles changed.
    Roles,
    /// They connected or went away.
    Presence,
    /// They left or were removed.
    Removed,
}

/// Why the pairs changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PairsReason {
    /// A proposal was made.
    Proposed,
    /// The facilitator swapped people or locked a group.
    Adjusted,
    /// The groups were made.
    Confirmed,
    /// The groups started their first round (the pairs stage began).
    Started,
    /// A coaching half ended: feedback began.
    HalfEnded,
    /// A member confirmed the switch; others have yet to.
    Ready,
    /// Every member confirmed (or the facilitator moved everyone): roles switched.
    Switched,
    /// A group finished its last round.
    Finished,
    /// A group's timer reached its warning point.
    TimerWarning,
    /// A group's timer ran out (it keeps counting into overtime).
    TimerExpired,
    /// A late joiner was placed in a group, or is waiting.
    Placed,
    /// Someone left a group.
    Left,
}

/// Why the turn changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TurnReason {
    /// A hand went up.
    HandRaised,
    /// A hand came down.
    HandLowered,
    /// The speaker passed.
    Passed,
    /// The speaker finished.
    Done,
    /// The facilitator gave the floor.
    FloorGiven,
    /// The facilitator took the floor back.
    FloorTaken,
    /// The facilitator moved the round on.
    NextTurn,
    /// Someone left, so the queue, round or floor was updated.
    ParticipantLeft,
    /// Someone accepted the ground rules and joined the round.
    Joined,
}
