//! Running pairs: each group's rounds — coaching, then the client's feedback, then a role
//! switch every member confirms (or the facilitator makes for everyone) — their timers with the
//! session and the stage, and what happens to a group when someone leaves.

use circlekeeper_protocol::{
    ErrorCode, GroupPhase, GroupState, Millis, PairsReason, ParticipantId, ParticipantView,
    SessionStatus,
};

use super::super::{reject, Changes, Rejection, Room};
use super::rotate;
use crate::room::timer;

impl Room {
    /// `end_half`: a group's coaching ends and the client's feedback begins (a facilitator may
    /// end any group's half).
    pub(super) fn end_half(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        group: Option<u32>,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        self.running_pairs()?;
        let id = match group {
            Some(id) if me.standing.is_facilitating() => id,
            Some(_) => {
                return reject(
                    ErrorCode::Forbidden,
                    "only a facilitator may end another group's half",
                )
            }
            None => self.my_group(me.id)?,
        };
        let mut pairs = self.view.pairs.clone();
        let Some(g) = pairs.groups.iter_mut().find(|g| g.id == id) else {
            return reject(ErrorCode::InvalidMessage, format!("no group {id}"));
        };
        if g.phase != GroupPhase::Coaching {
            return reject(ErrorCode::InvalidState, "this half is already over");
        }
        let (_, feedback) = self.round_ms(g.members.len());
        g.phase = GroupPhase::Feedback;
        g.ready.clear();
        g.timer = Some(self.group_timer(feedback, now));
        self.emit_pairs(now, out, pairs, PairsReason::HalfEnded, Some(id));
        Ok(())
    }

    /// `confirm_switch`: a member is ready to switch roles; the last one switches the group.
    pub(super) fn confirm_switch(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        self.running_pairs()?;
        let id = self.my_group(me.id)?;
        let mut pairs = self.view.pairs.clone();
        let Some(g) = pairs.groups.iter_mut().find(|g| g.id == id) else {
            return reject(ErrorCode::InvalidState, "you are in no group");
        };
        if g.phase != GroupPhase::Feedback {
            return reject(
                ErrorCode::InvalidState,
                "roles switch after the half and its feedback",
            );
        }
        if g.ready.contains(&me.id) {
            return reject(ErrorCode::InvalidState, "you have already confirmed");
        }
        g.ready.push(me.id);
        let reason = if g.members.iter().all(|m| g.ready.contains(m)) {
            self.advance(g, now)
        } else {
            PairsReason::Ready
        };
        self.emit_pairs(now, out, pairs, reason, Some(id));
        Ok(())
    }

    /// `move_everyone`: every group moves on one phase (coaching to feedback, feedback to the
    /// next round).
    pub(super) fn move_everyone(
        &mut self,
        now: Millis,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        self.running_pairs()?;
        let mut pairs = self.view.pairs.clone();
        let mut moved = false;
        for g in pairs.groups.iter_mut() {
            match g.phase {
                GroupPhase::Coaching => {
                    let (_, feedback) = self.round_ms(g.members.len());
                    g.phase = GroupPhase::Feedback;
                    g.ready.clear();
                    g.timer = Some(self.group_timer(feedback, now));
                    moved = true;
                }
                GroupPhase::Feedback => {
                    self.advance(g, now);
                    moved = true;
                }
                GroupPhase::Done => {}
            }
        }
        if !moved {
            return reject(ErrorCode::InvalidState, "every group has finished");
        }
        self.emit_pairs(now, out, pairs, PairsReason::Switched, None);
        Ok(())
    }

    /// The next round with switched roles, or done after the last: the new phase's reason.
    fn advance(&self, g: &mut GroupState, now: Millis) -> PairsReason {
        g.ready.clear();
        if g.round + 1 >= g.rounds {
            g.phase = GroupPhase::Done;
            g.timer = None;
            return PairsReason::Finished;
        }
        g.round += 1;
        rotate(g);
        g.phase = GroupPhase::Coaching;
        let (round, _) = self.round_ms(g.members.len());
        g.timer = self.in_pairs_stage().then(|| self.group_timer(round, now));
        PairsReason::Switched
    }

    fn running_pairs(&self) -> Result<(), Rejection> {
        self.running_stage_index()?;
        if !self.in_pairs_stage() {
            return reject(ErrorCode::NotInStage, "this is for the pairs stage");
        }
        if self.view.pairs.groups.is_empty() {
            return reject(ErrorCode::InvalidState, "no pairs have been confirmed");
        }
        Ok(())
    }

    fn my_group(&self, who: ParticipantId) -> Result<u32, Rejection> {
        self.group_of(who)
            .map(|g| g.id)
            .ok_or_else(|| Rejection::new(ErrorCode::InvalidState, "you are in no group"))
    }

    /// On entering a stage: the pairs stage starts (or resumes) every group's timer; any other
    /// stage stops them (the groups keep their state for when everyone is called back).
    pub(in crate::room::state) fn pairs_on_stage(&mut self, now: Millis, out: &mut Changes) {
        if self.view.pairs.groups.is_empty() {
            return;
        }
        let entering = self.in_pairs_stage();
        let mut pairs = self.view.pairs.clone();
        for g in pairs.groups.iter_mut() {
            if g.phase == GroupPhase::Done {
                continue;
            }
            g.timer = match (&g.timer, entering) {
                (None, true) => {
                    let (round, feedback) = self.round_ms(g.members.len());
                    let ms = if g.phase == GroupPhase::Coaching {
                        round
                    } else {
                        feedback
                    };
                    Some(self.group_timer(ms, now))
                }
                (Some(t), true) if self.view.session.status == SessionStatus::Running => {
                    Some(timer::resumed(t, now))
                }
                (Some(t), _) => Some(timer::paused(t, now)),
                (None, false) => None,
            };
        }
        if pairs != self.view.pairs {
            let reason = if entering {
                PairsReason::Started
            } else {
                PairsReason::Adjusted
            };
            self.emit_pairs(now, out, pairs, reason, None);
        }
    }

    /// Pause or resume every group's timer with the session.
    pub(in crate::room::state) fn pairs_on_session(
        &mut self,
        now: Millis,
        running: bool,
        out: &mut Changes,
    ) {
        let mut pairs = self.view.pairs.clone();
        let mut changed = false;
        for g in pairs.groups.iter_mut() {
            if let Some(t) = g.timer.as_mut() {
                let next = if running && self.in_pairs_stage() {
                    timer::resumed(t, now)
                } else {
                    timer::paused(t, now)
                };
                changed |= next != *t;
                *t = next;
            }
        }
        if changed {
            self.emit_pairs(now, out, pairs, PairsReason::Adjusted, None);
        }
    }

    /// The earliest deadline among the groups' timers.
    pub(in crate::room::state) fn pairs_deadline(&self) -> Option<Millis> {
        self.view
            .pairs
            .groups
            .iter()
            .filter_map(|g| g.timer.as_ref())
            .filter_map(|t| {
                timer::next_deadline(
                    t,
                    timer::warn_point(t.duration_ms, self.view.warn_before_ms, false),
                )
            })
            .min()
    }

    /// Fire the groups' due warnings and expiries.
    pub(in crate::room::state) fn pairs_tick(&mut self, now: Millis, out: &mut Changes) {
        let warn_before = self.view.warn_before_ms;
        for i in 0..self.view.pairs.groups.len() {
            loop {
                let g = &self.view.pairs.groups[i];
                let Some(t) = g.timer.clone() else { break };
                let warn = timer::warn_point(t.duration_ms, warn_before, false);
                let Some(due) = timer::due(&t, now, warn) else {
                    break;
                };
                let id = g.id;
                let mut pairs = self.view.pairs.clone();
                let timer_state = pairs.groups[i].timer.as_mut();
                let reason = match (due, timer_state) {
                    (timer::Due::Warning, Some(t)) => {
                        t.warned = true;
                        PairsReason::TimerWarning
                    }
                    (timer::Due::Expiry, Some(t)) => {
                        t.warned = t.warned || warn.is_some();
                        t.expired = true;
                        PairsReason::TimerExpired
                    }
                    (_, None) => break,
                };
                self.emit_pairs(now, out, pairs, reason, Some(id));
            }
        }
    }

    /// Someone left or was removed: they leave the proposal (which must then be made again),
    /// the waiting list and their group. A triad goes on as a pair; a pair's partner waits with
    /// the facilitator to be placed.
    pub(in crate::room::state) fn drop_from_pairs(
        &mut self,
        now: Millis,
        who: ParticipantId,
        out: &mut Changes,
    ) {
        let mut pairs = self.view.pairs.clone();
        let mut group = None;
        if pairs
            .proposal
            .as_ref()
            .is_some_and(|p| p.groups.iter().any(|g| g.contains(&who)))
        {
            pairs.proposal = None;
        }
        pairs.waiting.retain(|&p| p != who);
        if let Some(i) = pairs.groups.iter().position(|g| g.members.contains(&who)) {
            let g = &mut pairs.groups[i];
            group = Some(g.id);
            g.members.retain(|&m| m != who);
            g.ready.retain(|&m| m != who);
            match g.members.as_slice() {
                [a, b] => {
                    let (a, b) = (*a, *b);
                    if g.client == who {
                        g.client = if g.coach == a { b } else { a };
                    } else if g.coach == who {
                        g.coach = if g.client == a { b } else { a };
                    }
                    g.observer = None;
                    g.rounds = 2;
                    g.round = g.round.min(1);
                }
                [partner] => {
                    let partner = *partner;
                    pairs.groups.remove(i);
                    if !pairs.waiting.contains(&partner) {
                        pairs.waiting.push(partner);
                    }
                }
                _ => {}
            }
        }
        if pairs != self.view.pairs {
            self.emit_pairs(now, out, pairs, PairsReason::Left, group);
        }
    }
}
