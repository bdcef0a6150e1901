//! Admission: who may enter the room, and as whom. A room link admits a new participant (the
//! join link) or facilitator (the host link) — each link only its own entry; a series member's
//! personal link admits them as the same participant on every device, unless they chose to
//! leave the series or were removed; a personal token brings back its participant unless they
//! were removed. Comparing keys and tokens with their hashes is the runtime's (it holds the
//! hashes, and compares in constant time); the runtime passes in what they matched.

use circlekeeper_protocol::{
    CycleChoice, ErrorCode, LinkKind, Millis, ParticipantId, Presence, Standing,
};

use super::{reject, Changes, Effect, Rejection, Room};

/// A series member entering by their personal link, as the runtime found them by their key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEntry {
    /// The member's id in the series, stable across sessions.
    pub id: String,
    /// Their display name in the series.
    pub name: String,
    /// Their end-of-cycle choice, if they made one: [`CycleChoice::End`] means they left the
    /// series, and their link opens no new session.
    pub choice: Option<CycleChoice>,
}

impl Room {
    /// `join` (`wanted` is the join link) or `host` (the host link): a new participant, if the
    /// presented key matched that very link.
    pub(super) fn enter_by_link(
        &mut self,
        now: Millis,
        name: &str,
        wanted: LinkKind,
        matched: Option<LinkKind>,
    ) -> Result<Changes, Rejection> {
        if matched != Some(wanted) {
            return reject(ErrorCode::InvalidKey, "this link does not open this room");
        }
        let standing = match wanted {
            LinkKind::Host => Standing::Facilitator,
            LinkKind::Join => Standing::Participant,
        };
        let (who, events) = self.join(now, name, standing)?;
        Ok(admitted(who, events.into(), true))
    }

    /// `join` in a room of a series by a guest the series knows as `guest`: the participant
    /// who already is that guest here, if there is one (another device, or a lost token), as
    /// for a member; a new participant otherwise.
    pub(super) fn enter_as_guest(
        &mut self,
        now: Millis,
        name: &str,
        matched: Option<LinkKind>,
        guest: Option<String>,
    ) -> Result<Changes, Rejection> {
        let Some(guest) = guest else {
            return self.enter_by_link(now, name, LinkKind::Join, matched);
        };
        if matched != Some(LinkKind::Join) {
            return reject(ErrorCode::InvalidKey, "this link does not open this room");
        }
        let theirs = |removed: bool| {
            self.view
                .participants
                .iter()
                .find(|p| p.guest.as_deref() == Some(guest.as_str()) && p.removed == removed)
                .map(|p| p.id)
        };
        if theirs(true).is_some() && theirs(false).is_none() {
            return reject(ErrorCode::Forbidden, "you are no longer in this room");
        }
        let (who, events) = match theirs(false) {
            Some(who) => (who, self.set_presence(now, who, Presence::Connected)),
            None => self.join_as(now, name, Standing::Participant, None, Some(guest))?,
        };
        Ok(admitted(who, events.into(), true))
    }

    /// `member`: a series member by their personal link — the same participant on every
    /// device, a new one the first time.
    pub(super) fn enter_as_member(
        &mut self,
        now: Millis,
        member: Option<&MemberEntry>,
    ) -> Result<Changes, Rejection> {
        let Some(member) = member else {
            return reject(
                ErrorCode::InvalidKey,
                "this personal link does not open this room",
            );
        };
        if member.choice == Some(CycleChoice::End) {
            return reject(ErrorCode::Forbidden, "you have left this series");
        }
        let theirs = |removed: bool| {
            self.view
                .participants
                .iter()
                .find(|p| p.member.as_deref() == Some(member.id.as_str()) && p.removed == removed)
                .map(|p| p.id)
        };
        if theirs(true).is_some() {
            return reject(ErrorCode::Forbidden, "you are no longer in this room");
        }
        let (who, events) = match theirs(false) {
            Some(who) => (who, self.set_presence(now, who, Presence::Connected)),
            None => self.join_as(
                now,
                &member.name,
                Standing::Participant,
                Some(member.id.clone()),
                None,
            )?,
        };
        Ok(admitted(who, events.into(), true))
    }

    /// `resume`: a participant comes back with their token, unless they were removed.
    pub(super) fn resume_participant(
        &mut self,
        now: Millis,
        participant: Option<ParticipantId>,
    ) -> Result<Changes, Rejection> {
        let Some(who) = participant else {
            return reject(
                ErrorCode::InvalidToken,
                "this token does not belong to this room",
            );
        };
        if self.participant(who).is_none_or(|p| p.removed) {
            return reject(ErrorCode::Forbidden, "you are no longer in this room");
        }
        let events = self.set_presence(now, who, Presence::Connected);
        Ok(admitted(who, events.into(), false))
    }
}

/// The changes of an entry, owing the admission of `who` (after a new token for this device,
/// when `token`).
fn admitted(who: ParticipantId, mut out: Changes, token: bool) -> Changes {
    if token {
        out.owe(Effect::IssueToken { participant: who });
    }
    out.owe(Effect::Admit { participant: who });
    out
}
