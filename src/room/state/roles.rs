//! Roles: the role each person plays in the current stage (presenter, observer, coach, client,
//! facilitator or member), and the roles a facilitator assigns, unassigns or rotates
//! (timekeeper, observer, co-facilitator).

use circlekeeper_protocol::{
    Command, ErrorCode, Event, Millis, ParticipantChange, ParticipantId, ParticipantView, Role,
    Standing,
};

use super::{reject, Changes, Rejection, Room};

impl Room {
    /// Apply `assign_role`, `unassign_role` or `rotate_role`.
    pub(super) fn roles_command(
        &mut self,
        now: Millis,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::AssignRole { participant, role } => {
                self.set_role(now, *participant, *role, true, out)
            }
            Command::UnassignRole { participant, role } => {
                self.set_role(now, *participant, *role, false, out)
            }
            Command::RotateRole { role } => self.rotate_role(now, *role, out),
            _ => Ok(()),
        }
    }

    /// The role `who` plays in the current stage: observer if they hold that role, presenter if
    /// the stage is theirs, facilitator if they steer, else coach in stages that need coaches and
    /// member otherwise.
    pub fn stage_role(&self, who: ParticipantId) -> Role {
        let Some(p) = self.participant(who) else {
            return Role::Member;
        };
        let stage = self.current_stage();
        if stage.is_some_and(|s| s.presenter == Some(who)) {
            return Role::Presenter;
        }
        if p.roles.contains(&Role::Observer) {
            return Role::Observer;
        }
        if let Some(role) = self.pair_role(who) {
            return role;
        }
        if p.standing.is_facilitating() {
            return Role::Facilitator;
        }
        match stage {
            Some(s) if s.roles.contains(&Role::Coach) => Role::Coach,
            Some(s) if s.roles.contains(&Role::Client) => Role::Client,
            _ => Role::Member,
        }
    }

    fn set_role(
        &mut self,
        now: Millis,
        who: ParticipantId,
        role: Role,
        on: bool,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let target = self.known(who)?;
        let mut next = target.clone();
        match role {
            Role::CoFacilitator => {
                if target.standing == Standing::Facilitator {
                    return reject(ErrorCode::InvalidState, format!("{} opened the room and stays its facilitator", target.name));
                }
                next.standing = if on { Standing::CoFacilitator } else { Standing::Participant };
            }
            Role::Observer if on && self.current_stage().is_some_and(|s| s.presenter == Some(who)) => {
                return reject(
                    ErrorCode::InvalidState,
                    format!("{} is presenting now; they can observe once their turn is over", target.name),
                );
            }
            Role::Timekeeper | Role::Observer => {
                next.roles.retain(|&r| r != role);
                if on {
                    next.roles.push(role);
                    next.roles.sort();
                }
            }
            other => {
                return reject(
                    ErrorCode::InvalidMessage,
                    format!("{other:?} follows from the stage; assign timekeeper, observer or co_facilitator").to_lowercase(),
                )
            }
        }
        if next == target {
            return Ok(());
        }
        self.emit(
            now,
            out,
            Event::ParticipantUpdated {
                participant: next,
                change: ParticipantChange::Roles,
            },
        );
        if on && role == Role::Observer {
            self.drop_from_turn(now, who, out);
            self.drop_from_presenters(now, who, out);
            self.drop_from_pairs(now, who, out);
        }
        Ok(())
    }

    fn rotate_role(&mut self, now: Millis, role: Role, out: &mut Changes) -> Result<(), Rejection> {
        let presenter = self.current_stage().and_then(|s| s.presenter);
        if !matches!(role, Role::Timekeeper | Role::Observer) {
            return reject(
                ErrorCode::InvalidMessage,
                "only timekeeper and observer rotate",
            );
        }
        let people: Vec<&ParticipantView> = self
            .view
            .participants
            .iter()
            .filter(|p| !p.removed)
            .collect();
        let holder = people.iter().position(|p| p.roles.contains(&role));
        let start = holder.map_or(0, |h| h + 1);
        let next = (0..people.len())
            .map(|k| people[(start + k) % people.len()])
            .find(|p| {
                // The one presenting now cannot start observing mid-turn.
                let presenting = role == Role::Observer && presenter == Some(p.id);
                !p.standing.is_facilitating() && !p.roles.contains(&role) && !presenting
            })
            .map(|p| p.id);
        let Some(next) = next else {
            return reject(ErrorCode::InvalidState, "nobody else can take that role");
        };
        if let Some(h) = holder {
            let id = people[h].id;
            self.set_role(now, id, role, false, out)?;
        }
        self.set_role(now, next, role, true, out)
    }
}
