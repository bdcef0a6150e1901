//! Who is in the room: joining (by link or as a series member), presence, accepting the ground
//! rules, leaving and being removed. Those who leave stay in the participant list, marked
//! removed, for attendance.

use circlekeeper_protocol::{
    limits, Command, ErrorCode, Event, Millis, ParticipantChange, ParticipantId, ParticipantView,
    Presence, Role, SessionStatus, SpeakingMode, Standing, TurnReason,
};

use super::{clean_name, name_key, reject, Changes, Effect, Recorded, Rejection, Room, NAME_TAKEN};

/// How many times over a room's seats may be filled as people leave and others arrive, so the
/// participant list (which keeps those who left, for attendance) stays bounded.
pub const MAX_TURNOVER: usize = 4;

impl Room {
    /// A new participant joins with a display name. Returns their id and the events. An older
    /// entry point kept for tests and benches that build rooms directly: the runtime enters
    /// people through [`Room::handle`] (which also owes their token and admission).
    pub fn join(
        &mut self,
        now: Millis,
        name: &str,
        standing: Standing,
    ) -> Result<(ParticipantId, Vec<Recorded>), Rejection> {
        self.join_as(now, name, standing, None, None)
    }

    /// A new participant joins, as a series member when `member` is given, as a guest the
    /// series knows when `guest` is.
    ///
    /// A name that reads the same as ([`name_key`]) the name of someone in the room — present
    /// or away, not removed — is refused with `name_taken`, unless the newcomer is a series
    /// member: a member's name is fixed by the series (whose members' names differ), so
    /// refusing it would keep them out of their own session for good; they enter, and the
    /// guest who took their name first keeps it. Someone who left or was removed frees their
    /// name. Someone coming back (`resume`, or a member on another device) is not a new
    /// participant and never reaches this check.
    pub(super) fn join_as(
        &mut self,
        now: Millis,
        name: &str,
        standing: Standing,
        member: Option<String>,
        guest: Option<String>,
    ) -> Result<(ParticipantId, Vec<Recorded>), Rejection> {
        let name = clean_name("name", name)?;
        if self.view.session.status == SessionStatus::Ended {
            return reject(ErrorCode::SessionEnded, "this session has ended");
        }
        let present = self.view.participants.iter().filter(|p| !p.removed).count();
        if present >= limits::MAX_PARTICIPANTS
            || self.view.participants.len() >= limits::MAX_PARTICIPANTS * MAX_TURNOVER
        {
            return reject(
                ErrorCode::RoomFull,
                format!("a room holds at most {} people", limits::MAX_PARTICIPANTS),
            );
        }
        if member.is_none() {
            let key = name_key(&name);
            let taken = self
                .view
                .participants
                .iter()
                .any(|p| !p.removed && name_key(&p.name) == key);
            if taken {
                return reject(ErrorCode::NameTaken, NAME_TAKEN);
            }
        }
        let id = self.view.participants.len() as ParticipantId + 1;
        let participant = ParticipantView {
            id,
            name,
            standing,
            roles: Vec::new(),
            consented: false,
            presence: Presence::Connected,
            joined_at: now,
            removed: false,
            member,
            guest,
        };
        let mut out = Changes::default();
        self.emit(now, &mut out, Event::ParticipantJoined { participant });
        Ok((id, out.events))
    }

    /// Mark a participant connected or away. No event if nothing changed. Kept public for
    /// tests that drive the room directly; the runtime sends [`Input::Presence`](super::Input).
    pub fn set_presence(
        &mut self,
        now: Millis,
        who: ParticipantId,
        presence: Presence,
    ) -> Vec<Recorded> {
        let mut out = Changes::default();
        if let Some(p) = self.participant(who) {
            if p.presence != presence && !p.removed {
                let participant = ParticipantView {
                    presence,
                    ..p.clone()
                };
                self.emit(
                    now,
                    &mut out,
                    Event::ParticipantUpdated {
                        participant,
                        change: ParticipantChange::Presence,
                    },
                );
            }
        }
        out.events
    }

    /// Apply `accept_ground_rules`, `remove_participant` or `leave`.
    pub(super) fn participants_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::AcceptGroundRules => self.accept_ground_rules(now, me, out),
            Command::RemoveParticipant { participant } => {
                let target = self.known(*participant)?;
                if target.standing == Standing::Facilitator {
                    return reject(
                        ErrorCode::Forbidden,
                        "the facilitator who opened the room cannot be removed",
                    );
                }
                self.remove(now, &target, out);
            }
            Command::Leave if self.view.session.status != SessionStatus::Ended => {
                self.remove(now, me, out);
            }
            // After the end, leaving changes nothing: attendance stays as it was.
            _ => {}
        }
        Ok(())
    }

    /// A participant who is in the room (not removed).
    pub(super) fn known(&self, id: ParticipantId) -> Result<ParticipantView, Rejection> {
        match self.participant(id) {
            Some(p) if !p.removed => Ok(p.clone()),
            _ => reject(
                ErrorCode::UnknownParticipant,
                format!("no participant {id} in this room"),
            ),
        }
    }

    fn accept_ground_rules(&mut self, now: Millis, me: &ParticipantView, out: &mut Changes) {
        if me.consented {
            return;
        }
        let participant = ParticipantView {
            consented: true,
            ..me.clone()
        };
        self.emit(
            now,
            out,
            Event::ParticipantUpdated {
                participant,
                change: ParticipantChange::Consented,
            },
        );
        // Someone who consents during a round joins its end.
        let in_round = self
            .current_stage()
            .is_some_and(|s| s.speaking == SpeakingMode::Round);
        if in_round && self.stage_role(me.id) != Role::Observer {
            let mut turn = self.view.turn.clone();
            if let Some(round) = turn.round.as_mut() {
                if !round.order.contains(&me.id) {
                    round.order.push(me.id);
                    let starts = round.position + 1 == round.order.len() && turn.floor.is_none();
                    if starts {
                        self.floor_for(now, me.id, &mut turn);
                    }
                    self.emit(
                        now,
                        out,
                        Event::TurnChanged {
                            turn,
                            reason: TurnReason::Joined,
                            participant: Some(me.id),
                        },
                    );
                }
            }
        }
    }

    /// Take someone out of the room (removed, or they left): out of turns, presenters and pairs,
    /// kept in the list for attendance, and their connections owed a disconnect.
    fn remove(&mut self, now: Millis, target: &ParticipantView, out: &mut Changes) {
        self.drop_from_turn(now, target.id, out);
        let participant = ParticipantView {
            removed: true,
            presence: Presence::Away,
            ..target.clone()
        };
        self.emit(
            now,
            out,
            Event::ParticipantUpdated {
                participant,
                change: ParticipantChange::Removed,
            },
        );
        self.drop_from_presenters(now, target.id, out);
        self.drop_from_pairs(now, target.id, out);
        out.owe(Effect::Disconnect {
            participant: target.id,
        });
    }
}
