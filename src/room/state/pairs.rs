//! Coaching swaps inside the room state machine: proposing pairs (a triad when the count is
//! odd), the facilitator's adjustments, and the groups running their rounds — coaching, the
//! client's feedback, and an explicit role switch that every member confirms (or the
//! facilitator makes for everyone). A coach never silently becomes the client.
//!
//! Roles rotate by one rule: the coach becomes the client, the observer (in a triad) the coach,
//! and the client the observer (in a pair: coach and client swap). Starting from the pairing's
//! order `[a, b(, c)]` — `a` client, `b` coach, `c` observer — each member of a triad is client,
//! coach and observer once, and each member of a pair coaches once and is coached once.

use circlekeeper_protocol::{
    Command, ErrorCode, Event, GroupState, Millis, PairsReason, PairsState, ParticipantId,
    ParticipantView, Role, SessionStatus, SpeakingMode, StageKind, TimerState,
};

use super::{reject, Changes, Effect, Rejection, Room};
use crate::pairing::{Group, History, PersonId};
use crate::room::timer;

mod continuing;
mod making;
mod repeats;
mod running;

/// A half's coaching time when the format does not say: the seeds' minimum.
pub const DEFAULT_HALF_MS: u64 = 45 * 60_000;

/// The client's feedback time after a half when the format does not say.
pub const DEFAULT_FEEDBACK_MS: u64 = 5 * 60_000;

/// What pairing remembers across a series, handed to a room when it opens.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PairingSetup {
    /// Who met whom in earlier sessions (people by participant id in a lone room, by member id
    /// in a series).
    pub history: History,
    /// This session's index in the series (0 for a lone room).
    pub session: u32,
    /// Ongoing partnerships kept together (both chose to continue at the end of a cycle).
    #[serde(default)]
    pub fixed: Vec<(PersonId, PersonId)>,
    /// "Prefer not to be paired with" choices, respected whenever any arrangement allows.
    #[serde(default)]
    pub avoid: Vec<(PersonId, PersonId)>,
    /// Whether the room belongs to a series (its pairs enter the series' history).
    #[serde(default)]
    pub in_series: bool,
}

/// The next round's roles: the coach becomes the client, the observer the coach, the client
/// the observer (a pair simply swaps).
fn rotate(g: &mut GroupState) {
    let (coach, client, observer) = (g.coach, g.client, g.observer);
    g.client = coach;
    match observer {
        Some(o) => {
            g.coach = o;
            g.observer = Some(client);
        }
        None => g.coach = client,
    }
}

impl Room {
    /// The person pairing knows: the series member; anyone else by their participant id, tied
    /// to this room when it belongs to a series (a guest's history must not pass to another
    /// guest with the same id in a later session).
    fn person(&self, id: ParticipantId) -> PersonId {
        let known = self
            .participant(id)
            .and_then(|p| p.member.clone().or_else(|| p.guest.clone()));
        match known {
            Some(member) => member,
            None if self.pairing.in_series => {
                format!("{}#{id}", self.view.id)
            }
            None => id.to_string(),
        }
    }

    /// The participant a pairing person is in this room (the live one, if a member has left
    /// and come back).
    fn participant_of(&self, person: &str) -> Option<ParticipantId> {
        self.view
            .participants
            .iter()
            .rev()
            .find(|p| {
                !p.removed
                    && (p.member.as_deref() == Some(person) || p.guest.as_deref() == Some(person))
            })
            .map(|p| p.id)
            .or_else(|| person.rsplit('#').next().and_then(|id| id.parse().ok()))
    }

    fn group_of_members(&self, members: &[ParticipantId]) -> Option<Group> {
        match members {
            [a, b] => Some(Group::Pair([self.person(*a), self.person(*b)])),
            [a, b, c] => Some(Group::Triad([
                self.person(*a),
                self.person(*b),
                self.person(*c),
            ])),
            _ => None,
        }
    }

    fn members_of(&self, g: &Group) -> Vec<ParticipantId> {
        g.members()
            .iter()
            .filter_map(|p| self.participant_of(p))
            .collect()
    }

    /// The groups as pairing persons (series members where there are), for the series' history.
    pub fn groups_as_people(&self) -> Vec<Group> {
        self.view
            .pairs
            .groups
            .iter()
            .filter_map(|g| self.group_of_members(&g.members))
            .collect()
    }

    /// The pairs stage's round and feedback lengths (a triad's three rounds share the total
    /// time of a pair's two halves).
    fn round_ms(&self, members: usize) -> (u64, u64) {
        let stage = self
            .view
            .plan
            .iter()
            .find(|s| s.speaking == SpeakingMode::Pairs);
        let half = stage.and_then(|s| s.half_ms).unwrap_or(DEFAULT_HALF_MS);
        let feedback = stage
            .and_then(|s| s.feedback_ms)
            .unwrap_or(DEFAULT_FEEDBACK_MS);
        if members == 3 {
            (half * 2 / 3, feedback * 2 / 3)
        } else {
            (half, feedback)
        }
    }

    /// Whether the pairs stage is the current one.
    fn in_pairs_stage(&self) -> bool {
        self.current_stage()
            .is_some_and(|s| s.speaking == SpeakingMode::Pairs)
    }

    /// The group a participant is in.
    pub fn group_of(&self, who: ParticipantId) -> Option<&GroupState> {
        self.view
            .pairs
            .groups
            .iter()
            .find(|g| g.members.contains(&who))
    }

    /// The role someone plays in their group, in the pairs stage.
    pub(super) fn pair_role(&self, who: ParticipantId) -> Option<Role> {
        if !self.in_pairs_stage() {
            return None;
        }
        let Some(g) = self.group_of(who) else {
            // Someone waiting for a group takes part as a member, not as anyone's coach.
            let facilitating = self
                .participant(who)
                .is_some_and(|p| p.standing.is_facilitating());
            return (!facilitating).then_some(Role::Member);
        };
        Some(if g.coach == who {
            Role::Coach
        } else if g.client == who {
            Role::Client
        } else {
            Role::Observer
        })
    }

    /// People who can be paired now: present, consented, neither steering nor observing.
    fn pairable(&self) -> Vec<ParticipantId> {
        self.view
            .participants
            .iter()
            .filter(|p| {
                !p.removed
                    && p.consented
                    && p.presence == circlekeeper_protocol::Presence::Connected
                    && !p.standing.is_facilitating()
                    && !p.roles.contains(&Role::Observer)
            })
            .map(|p| p.id)
            .collect()
    }

    fn emit_pairs(
        &mut self,
        now: Millis,
        out: &mut Changes,
        pairs: PairsState,
        reason: PairsReason,
        group: Option<u32>,
    ) {
        self.emit(
            now,
            out,
            Event::PairsChanged {
                pairs,
                reason,
                group,
            },
        );
    }

    fn pairing_stage(&self) -> Result<(), Rejection> {
        self.running_stage_index()?;
        match self.current_stage().map(|s| s.kind) {
            Some(StageKind::Pairing | StageKind::Pairs) => Ok(()),
            _ => reject(ErrorCode::NotInStage, "pairs are made in the pairing stage"),
        }
    }

    /// A running or paused timer of `ms`, as the session is.
    fn group_timer(&self, ms: u64, now: Millis) -> TimerState {
        timer::new(ms, now, self.view.session.status == SessionStatus::Running)
    }
    /// In a series room, owe the series this session's groups (after they were confirmed or a
    /// late joiner joined one).
    fn record_pairs(&self, out: &mut Changes) {
        if self.pairing.in_series {
            out.owe(Effect::RecordPairs {
                groups: self.groups_as_people(),
            });
        }
    }

    /// Apply a swap command: making pairs (`making`) or running them (`running`).
    pub(super) fn pairs_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::ProposePairs { seed } => self.propose(now, seed.unwrap_or(0), out),
            Command::SwapPeople { a, b } => self.swap_people(now, *a, *b, out),
            Command::LockGroup { index, locked } => self.lock_group(now, *index, *locked, out),
            Command::ConfirmPairs => self.confirm(now, out),
            Command::EndHalf { group } => self.end_half(now, me, *group, out),
            Command::ConfirmSwitch => self.confirm_switch(now, me, out),
            Command::MoveEveryone => self.move_everyone(now, out),
            Command::PlaceLate { participant } => self.place(now, *participant, out),
            _ => Ok(()),
        }
    }
}
