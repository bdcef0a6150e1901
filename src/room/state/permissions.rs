//! The authorization table: who may send what, and what may still be sent once a session has
//! ended. The one place these rules live; `protocol/README.md` documents the same table (a test
//! checks that they agree). Finer rules that depend on the moment — whose turn it is, which
//! stage the session is in — belong to the feature that handles the command.

use circlekeeper_protocol::{Command, ErrorCode, ParticipantView, Role};

use super::{reject, Rejection};

/// Who may send a command. The one table of authorization; `protocol/README.md` documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Anyone in the room (further checks by stage and turn apply).
    Anyone,
    /// Facilitators, co-facilitators and the timekeeper.
    Timekeeping,
    /// Facilitators and co-facilitators.
    Facilitating,
}

/// Who may send `cmd`.
pub fn permission(cmd: &Command) -> Permission {
    use Command::*;
    match cmd {
        Join { .. }
        | Host { .. }
        | Member { .. }
        | Resume { .. }
        | Sync
        | AcceptGroundRules
        | RaiseHand
        | LowerHand { .. }
        | Pass
        | Done
        | DrawPrompt { .. }
        | EndHalf { .. }
        | ConfirmSwitch
        | RecordCommitment { .. }
        | ReviewCommitment { .. }
        | GiveFeedback { .. }
        | AnswerSurvey { .. }
        | MyItems
        | Leave => Permission::Anyone,
        Pause | ResumeSession | AdjustTimer { .. } | RestartTimer { .. } => Permission::Timekeeping,
        Start
        | NextStage
        | PreviousStage
        | JumpToStage { .. }
        | EndSession
        | GiveFloor { .. }
        | TakeFloor
        | NextTurn
        | SetPresenterOrder { .. }
        | ShufflePresenters { .. }
        | AssignRole { .. }
        | UnassignRole { .. }
        | RotateRole { .. }
        | RemoveParticipant { .. }
        | PushPrompt { .. }
        | ClearPrompt
        | DeleteRoom
        | RotateLink { .. }
        | RevokeLink { .. }
        | ShowLink
        | ProposePairs { .. }
        | SwapPeople { .. }
        | LockGroup { .. }
        | ConfirmPairs
        | MoveEveryone
        | PlaceLate { .. }
        | SetCallLinks { .. } => Permission::Facilitating,
    }
}

/// Whether `me` may send `cmd` by their standing and roles (the table of [`permission`]).
pub(super) fn authorize(me: &ParticipantView, cmd: &Command) -> Result<(), Rejection> {
    let allowed = match permission(cmd) {
        Permission::Anyone => true,
        Permission::Facilitating => me.standing.is_facilitating(),
        Permission::Timekeeping => {
            me.standing.is_facilitating() || me.roles.contains(&Role::Timekeeper)
        }
    };
    if allowed {
        return Ok(());
    }
    let who_may = match permission(cmd) {
        Permission::Timekeeping => "a facilitator or the timekeeper",
        _ => "a facilitator",
    };
    reject(
        ErrorCode::Forbidden,
        format!("only {who_may} may send {}", cmd.name()),
    )
}

/// Whether `cmd` may still be sent after the session has ended: looking back (sync, my items,
/// reviewing a commitment, the survey), leaving, and looking after the room's links and its
/// deletion.
pub(super) fn allowed_after_end(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Sync
            | Command::Leave
            | Command::DeleteRoom
            | Command::RotateLink { .. }
            | Command::RevokeLink { .. }
            | Command::ShowLink
            | Command::AnswerSurvey { .. }
            | Command::ReviewCommitment { .. }
            | Command::MyItems
    )
}
