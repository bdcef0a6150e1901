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
    Command, ErrorCode, Event, GroupPhase, GroupState, Millis, PairsReason, PairsState,
    ParticipantId, ParticipantView, Proposal, Role, SessionStatus, SpeakingMode, StageKind,
    TimerState,
};

use super::{reject, Recorded, Rejection, Room};
use crate::pairing::{self, Group, History, PersonId, Placement, Request};
use crate::room::timer;

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
        match self.participant(id).and_then(|p| p.member.clone()) {
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
            .find(|p| !p.removed && p.member.as_deref() == Some(person))
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
        out: &mut Vec<Recorded>,
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

    /// Apply a swap command.
    pub(super) fn pairs_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::ProposePairs { seed } => self.propose(now, seed.unwrap_or(0), out),
            Command::SwapPeople { a, b } => {
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
                let (Some((ga, ia)), Some((gb, ib))) = (find(*a), find(*b)) else {
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
                proposal.groups[ga][ia] = *b;
                proposal.groups[gb][ib] = *a;
                self.emit_pairs(now, out, pairs, PairsReason::Adjusted, None);
                Ok(())
            }
            Command::LockGroup { index, locked } => {
                self.pairing_stage()?;
                let mut pairs = self.view.pairs.clone();
                let Some(proposal) = pairs.proposal.as_mut() else {
                    return reject(ErrorCode::InvalidState, "propose pairs first");
                };
                let Some(flag) = proposal.locked.get_mut(*index) else {
                    return reject(
                        ErrorCode::InvalidMessage,
                        format!("no proposed group {index}"),
                    );
                };
                if *flag != *locked {
                    *flag = *locked;
                    self.emit_pairs(now, out, pairs, PairsReason::Adjusted, None);
                }
                Ok(())
            }
            Command::ConfirmPairs => self.confirm(now, out),
            Command::EndHalf { group } => {
                self.running_pairs()?;
                let id = match group {
                    Some(id) if me.standing.is_facilitating() => *id,
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
            Command::ConfirmSwitch => {
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
            Command::MoveEveryone => {
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
            Command::PlaceLate { participant } => self.place(now, *participant, out),
            _ => Ok(()),
        }
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

    fn propose(
        &mut self,
        now: Millis,
        seed: u64,
        out: &mut Vec<Recorded>,
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
        let request = Request {
            present: &people,
            history: &setup.history,
            session: setup.session,
            avoid: &setup.avoid,
            fixed: &setup.fixed,
            locked: &locked,
            seed,
            recent: pairing::DEFAULT_RECENT,
        };
        let groups = pairing::pair(&request).map_err(|e| {
            Rejection::new(
                ErrorCode::InvalidState,
                format!("no pairs could be made: {e}"),
            )
        })?;
        let proposal = Proposal {
            locked: groups
                .iter()
                .map(|g| locked.iter().any(|l| l.same_members(g)))
                .collect(),
            groups: groups.iter().map(|g| self.members_of(g)).collect(),
            seed,
        };
        let mut pairs = self.view.pairs.clone();
        pairs.proposal = Some(proposal);
        pairs.waiting.clear();
        self.emit_pairs(now, out, pairs, PairsReason::Proposed, None);
        Ok(())
    }

    fn confirm(&mut self, now: Millis, out: &mut Vec<Recorded>) -> Result<(), Rejection> {
        self.pairing_stage()?;
        let mut pairs = self.view.pairs.clone();
        let Some(proposal) = pairs.proposal.take() else {
            return reject(ErrorCode::InvalidState, "propose pairs first");
        };
        let running = self.in_pairs_stage();
        pairs.groups = proposal
            .groups
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let (round, _) = self.round_ms(m.len());
                GroupState {
                    id: i as u32 + 1,
                    members: m.clone(),
                    round: 0,
                    rounds: m.len() as u32,
                    coach: m.get(1).copied().unwrap_or(m[0]),
                    client: m[0],
                    observer: m.get(2).copied(),
                    phase: GroupPhase::Coaching,
                    ready: Vec::new(),
                    timer: running.then(|| self.group_timer(round, now)),
                }
            })
            .collect();
        self.emit_pairs(now, out, pairs, PairsReason::Confirmed, None);
        Ok(())
    }

    fn place(
        &mut self,
        now: Millis,
        who: ParticipantId,
        out: &mut Vec<Recorded>,
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
        let request = Request {
            present: &present,
            history: &setup.history,
            session: setup.session,
            avoid: &setup.avoid,
            fixed: &setup.fixed,
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
            }
            Placement::Waiting | Placement::AlreadyPlaced { .. } => {
                // Two people waiting are paired with each other.
                let partner = pairs.waiting.iter().copied().find(|&p| p != who);
                if let Some(partner) = partner {
                    let (round, _) = self.round_ms(2);
                    let id = pairs.groups.iter().map(|g| g.id).max().unwrap_or(0) + 1;
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
                    });
                    self.emit_pairs(now, out, pairs, PairsReason::Placed, Some(id));
                } else if !pairs.waiting.contains(&who) {
                    pairs.waiting.push(who);
                    self.emit_pairs(now, out, pairs, PairsReason::Placed, None);
                }
            }
        }
        Ok(())
    }

    /// On entering a stage: the pairs stage starts (or resumes) every group's timer; any other
    /// stage stops them (the groups keep their state for when everyone is called back).
    pub(super) fn pairs_on_stage(&mut self, now: Millis, out: &mut Vec<Recorded>) {
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
    pub(super) fn pairs_on_session(&mut self, now: Millis, running: bool, out: &mut Vec<Recorded>) {
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
    pub(super) fn pairs_deadline(&self) -> Option<Millis> {
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
    pub(super) fn pairs_tick(&mut self, now: Millis, out: &mut Vec<Recorded>) {
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
    pub(super) fn drop_from_pairs(
        &mut self,
        now: Millis,
        who: ParticipantId,
        out: &mut Vec<Recorded>,
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
