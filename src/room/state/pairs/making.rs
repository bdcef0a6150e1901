//! Making pairs: the facilitator proposes pairs (a triad when the count is odd) from the
//! pairing history, swaps people and locks groups in the proposal, confirms it, and places late
//! joiners into a pair (making it a triad) or with another late joiner.

use circlekeeper_protocol::{
    ErrorCode, GroupPhase, GroupState, Millis, PairsReason, PairsState, ParticipantId, Proposal,
};

use super::super::{reject, Changes, Rejection, Room};
use crate::pairing::{self, Group, PersonId, Placement, Request};
use crate::room::timer;

impl Room {
    /// `swap_people`: exchange two people between unlocked groups of the proposal.
    pub(super) fn swap_people(
        &mut self,
        now: Millis,
        a: ParticipantId,
        b: ParticipantId,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        self.pairing_stage()?;
        let mut pairs = self.view.pairs.clone();
        let Some(proposal) = pairs.proposal.as_mut() else {
            return reject(ErrorCode::InvalidState, "propose pairs first");
        };
        let find = |p: ParticipantId| {
            proposal
                .groups
                .iter()
                .enumerate()
                .find_map(|(g, m)| m.iter().position(|&x| x == p).map(|i| (g, i)))
        };
        let (Some((ga, ia)), Some((gb, ib))) = (find(a), find(b)) else {
            return reject(
                ErrorCode::UnknownParticipant,
                "both people must be in the proposal",
            );
        };
        if proposal.locked[ga] || proposal.locked[gb] {
            return reject(ErrorCode::InvalidState, "unlock the group first");
        }
        if ga == gb {
            return Ok(());
        }
        proposal.groups[ga][ia] = b;
        proposal.groups[gb][ib] = a;
        self.assess(proposal);
        self.emit_pairs(now, out, pairs, PairsReason::Adjusted, None);
        Ok(())
    }

    /// `lock_group`: keep (or free) a proposed group when pairs are proposed again.
    pub(super) fn lock_group(
        &mut self,
        now: Millis,
        index: usize,
        locked: bool,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        self.pairing_stage()?;
        let mut pairs = self.view.pairs.clone();
        let Some(proposal) = pairs.proposal.as_mut() else {
            return reject(ErrorCode::InvalidState, "propose pairs first");
        };
        let Some(flag) = proposal.locked.get_mut(index) else {
            return reject(
                ErrorCode::InvalidMessage,
                format!("no proposed group {index}"),
            );
        };
        if *flag != locked {
            *flag = locked;
            self.assess(proposal);
            self.emit_pairs(now, out, pairs, PairsReason::Adjusted, None);
        }
        Ok(())
    }

    pub(super) fn propose(
        &mut self,
        now: Millis,
        seed: u64,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        self.pairing_stage()?;
        if !self.view.pairs.groups.is_empty() {
            return reject(
                ErrorCode::InvalidState,
                "pairs are confirmed: place late joiners with place_late",
            );
        }
        let present = self.pairable();
        if present.len() < 2 {
            return reject(
                ErrorCode::InvalidState,
                "at least two people must be here (and have consented) to pair",
            );
        }
        let people: Vec<PersonId> = present.iter().map(|&p| self.person(p)).collect();
        // Locked groups whose members are all still here are kept.
        let locked: Vec<Group> = self
            .view
            .pairs
            .proposal
            .iter()
            .flat_map(|p| p.groups.iter().zip(&p.locked))
            .filter(|(m, &l)| l && m.iter().all(|x| present.contains(x)))
            .filter_map(|(m, _)| self.group_of_members(m))
            .collect();
        let setup = &self.pairing;
        // A continuing triad is placed like a locked group, but not shown as locked.
        let (fixed, triads) = super::continuing::split_fixed(&setup.fixed, &people, &locked);
        let placed = [locked.clone(), triads].concat();
        let request = Request {
            present: &people,
            history: &setup.history,
            session: setup.session,
            avoid: &setup.avoid,
            fixed: &fixed,
            locked: &placed,
            seed,
            recent: pairing::DEFAULT_RECENT,
        };
        let groups = pairing::pair(&request).map_err(|e| {
            Rejection::new(
                ErrorCode::InvalidState,
                format!("no pairs could be made: {e}"),
            )
        })?;
        let mut proposal = Proposal {
            locked: groups
                .iter()
                .map(|g| locked.iter().any(|l| l.same_members(g)))
                .collect(),
            groups: groups.iter().map(|g| self.members_of(g)).collect(),
            seed,
            last_triad: None,
            repeats: Default::default(),
        };
        self.assess(&mut proposal);
        let mut pairs = self.view.pairs.clone();
        pairs.proposal = Some(proposal);
        pairs.waiting.clear();
        self.emit_pairs(now, out, pairs, PairsReason::Proposed, None);
        Ok(())
    }

    pub(super) fn confirm(&mut self, now: Millis, out: &mut Changes) -> Result<(), Rejection> {
        self.pairing_stage()?;
        let mut pairs = self.view.pairs.clone();
        let Some(proposal) = pairs.proposal.take() else {
            return reject(ErrorCode::InvalidState, "propose pairs first");
        };
        let running = self.in_pairs_stage();
        let first_id = self.next_group_id(&pairs);
        pairs.groups = proposal
            .groups
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (round, _) = self.round_ms(m.len());
                GroupState {
                    id: first_id + i as u32,
                    members: m.clone(),
                    round: 0,
                    rounds: m.len() as u32,
                    coach: m.get(1).copied().unwrap_or(m[0]),
                    client: m[0],
                    observer: m.get(2).copied(),
                    phase: GroupPhase::Coaching,
                    ready: Vec::new(),
                    timer: running.then(|| self.group_timer(round, now)),
                    call_url: self.group_call_url(first_id + i as u32),
                }
            })
            .collect();
        self.emit_pairs(now, out, pairs, PairsReason::Confirmed, None);
        self.record_pairs(out);
        Ok(())
    }

    /// The number for a new group: above every group at work and every group that feedback
    /// was given in, so that a number never names two groups of this room's feedback (feedback
    /// is keyed by giver, group and round: a reused number would replace older feedback).
    fn next_group_id(&self, pairs: &PairsState) -> u32 {
        let at_work = pairs.groups.iter().map(|g| g.id);
        let given = self.notes.feedback.iter().map(|f| f.group);
        at_work.chain(given).max().unwrap_or(0) + 1
    }

    pub(super) fn place(
        &mut self,
        now: Millis,
        who: ParticipantId,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        self.running_stage_index()?;
        let target = self.known(who)?;
        self.may_take_turn(&target)?;
        if target.standing.is_facilitating() {
            return reject(ErrorCode::InvalidState, "facilitators are not paired");
        }
        if self.view.pairs.groups.is_empty() {
            return reject(
                ErrorCode::InvalidState,
                "no pairs have been confirmed: propose pairs again instead",
            );
        }
        if self.group_of(who).is_some() {
            return reject(
                ErrorCode::InvalidState,
                format!("{} is already in a group", target.name),
            );
        }
        let mut pairs = self.view.pairs.clone();
        let mut groups: Vec<Group> = pairs
            .groups
            .iter()
            .filter_map(|g| self.group_of_members(&g.members))
            .collect();
        // Only a pair still in its first half can take a third member without anyone missing
        // a role: the others are treated as locked.
        let locked: Vec<Group> = pairs
            .groups
            .iter()
            .filter(|g| g.round > 0 || g.phase != GroupPhase::Coaching)
            .filter_map(|g| self.group_of_members(&g.members))
            .collect();
        let present: Vec<PersonId> = self
            .pairable()
            .into_iter()
            .map(|p| self.person(p))
            .collect();
        let setup = &self.pairing;
        let (fixed, _) = super::continuing::split_fixed(&setup.fixed, &present, &locked);
        let request = Request {
            present: &present,
            history: &setup.history,
            session: setup.session,
            avoid: &setup.avoid,
            fixed: &fixed,
            locked: &locked,
            seed: u64::from(who),
            recent: pairing::DEFAULT_RECENT,
        };
        match pairing::place_late(&mut groups, self.person(who), &request) {
            Placement::Joined { group } => {
                let (pair_round, _) = self.round_ms(2);
                let (triad_round, _) = self.round_ms(3);
                let g = &mut pairs.groups[group];
                g.members.push(who);
                g.rounds = 3;
                g.observer = Some(who);
                // A triad's rounds are two thirds of a pair's half, so the three fit the same
                // total time: the first round's deadline moves in by the difference.
                if let Some(t) = g.timer.as_ref() {
                    let shorter = triad_round as i64 - pair_round as i64;
                    g.timer = Some(timer::adjusted(
                        t,
                        now,
                        shorter,
                        self.view.warn_before_ms,
                        false,
                    ));
                }
                let id = g.id;
                pairs.waiting.retain(|&p| p != who);
                self.emit_pairs(now, out, pairs, PairsReason::Placed, Some(id));
                self.record_pairs(out);
            }
            Placement::Waiting | Placement::AlreadyPlaced { .. } => {
                // Two people waiting are paired with each other.
                let partner = pairs.waiting.iter().copied().find(|&p| p != who);
                if let Some(partner) = partner {
                    let (round, _) = self.round_ms(2);
                    let id = self.next_group_id(&pairs);
                    pairs.waiting.retain(|&p| p != who && p != partner);
                    pairs.groups.push(GroupState {
                        id,
                        members: vec![partner, who],
                        round: 0,
                        rounds: 2,
                        coach: who,
                        client: partner,
                        observer: None,
                        phase: GroupPhase::Coaching,
                        ready: Vec::new(),
                        timer: self.in_pairs_stage().then(|| self.group_timer(round, now)),
                        call_url: self.group_call_url(id),
                    });
                    self.emit_pairs(now, out, pairs, PairsReason::Placed, Some(id));
                    self.record_pairs(out);
                } else if !pairs.waiting.contains(&who) {
                    pairs.waiting.push(who);
                    self.emit_pairs(now, out, pairs, PairsReason::Placed, None);
                }
            }
        }
        Ok(())
    }
}
