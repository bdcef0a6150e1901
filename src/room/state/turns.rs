//! Turns: who speaks. Rounds go in order (with pass and done), hands are raised into a queue
//! and served by a facilitator, a presenter holds the floor in their own stages, and the time
//! each person and role held the floor is counted (without paused time).

use circlekeeper_protocol::{
    Command, ErrorCode, Event, Floor, Millis, ParticipantId, ParticipantView, PlannedStage, Role,
    SessionStatus, SpeakingMode, TurnReason, TurnState,
};

use super::{reject, Changes, Rejection, Room};
use crate::room::timer;

impl Room {
    /// Apply a command about turns: hands, pass and done, the floor, the next turn.
    pub(super) fn turns_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::RaiseHand => self.raise_hand(now, me, out),
            Command::LowerHand { participant } => self.lower_hand(now, me, *participant, out),
            Command::Pass => self.end_turn(now, me, TurnReason::Passed, out),
            Command::Done => self.end_turn(now, me, TurnReason::Done, out),
            Command::GiveFloor { participant } => self.give_floor(now, *participant, out),
            Command::TakeFloor => self.take_floor(now, out),
            Command::NextTurn => {
                let stage = self.turn_stage()?;
                if stage.speaking != SpeakingMode::Round {
                    return reject(ErrorCode::NotInStage, "next_turn is for rounds");
                }
                self.advance_round(now, None, TurnReason::NextTurn, out)
            }
            _ => Ok(()),
        }
    }

    /// The current stage, for commands about turns.
    pub(super) fn turn_stage(&self) -> Result<PlannedStage, Rejection> {
        self.running_stage_index()?;
        self.current_stage()
            .cloned()
            .ok_or_else(|| Rejection::new(ErrorCode::NotStarted, "the session has not started"))
    }

    /// A participant may take a turn: consented and not observing.
    pub(super) fn may_take_turn(&self, p: &ParticipantView) -> Result<(), Rejection> {
        if !p.consented {
            return reject(
                ErrorCode::ConsentRequired,
                format!("{} has not accepted the ground rules yet", p.name),
            );
        }
        if p.roles.contains(&Role::Observer) {
            return reject(
                ErrorCode::Forbidden,
                format!("{} is observing and takes no turn", p.name),
            );
        }
        Ok(())
    }

    /// The instant floor time counts up to: now, or the pause while paused.
    fn floor_clock(&self, now: Millis) -> Millis {
        self.view.session.paused_at.unwrap_or(now)
    }

    /// Credit the floor holder's time so far (emitting the new totals) and return the turn
    /// with the holder's `since` moved to now, ready to be changed further.
    pub(super) fn credit_floor(&mut self, now: Millis, out: &mut Changes) -> TurnState {
        let mut turn = self.view.turn.clone();
        if let Some(floor) = turn.floor.as_mut() {
            let spoken = self.floor_clock(now).saturating_sub(floor.since);
            if spoken > 0 {
                let mut totals = self.view.floor_time.clone();
                add_time(&mut totals.by_participant, floor.participant, spoken);
                add_time(&mut totals.by_role, floor.role, spoken);
                self.emit(now, out, Event::FloorTimeCredited { floor_time: totals });
            }
            floor.since = now;
        }
        turn
    }

    /// A floor for `who` from now, with a speaker timer if the stage sets one.
    pub(super) fn floor_for(&self, now: Millis, who: ParticipantId, turn: &mut TurnState) {
        let running = self.view.session.status == SessionStatus::Running;
        turn.floor = Some(Floor {
            participant: who,
            role: self.stage_role(who),
            since: now,
        });
        turn.speaker_timer = self
            .current_stage()
            .and_then(|s| s.per_speaker_ms)
            .map(|ms| timer::new(ms, now, running));
    }

    fn raise_hand(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let stage = self.turn_stage()?;
        self.may_take_turn(me)?;
        if !matches!(stage.speaking, SpeakingMode::HandQueue | SpeakingMode::Open) {
            return reject(
                ErrorCode::NotInStage,
                format!("hands are not raised in {}", stage.title),
            );
        }
        let turn = &self.view.turn;
        if turn.queue.contains(&me.id) {
            return reject(ErrorCode::InvalidState, "your hand is already raised");
        }
        if turn.floor.as_ref().is_some_and(|f| f.participant == me.id) {
            return reject(ErrorCode::InvalidState, "you have the floor");
        }
        let mut turn = turn.clone();
        turn.queue.push(me.id);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason: TurnReason::HandRaised,
                participant: Some(me.id),
            },
        );
        Ok(())
    }

    fn lower_hand(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        whose: Option<ParticipantId>,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let whose = whose.unwrap_or(me.id);
        if whose != me.id && !me.standing.is_facilitating() {
            return reject(
                ErrorCode::Forbidden,
                "only a facilitator may lower someone else's hand",
            );
        }
        if !self.view.turn.queue.contains(&whose) {
            return reject(ErrorCode::InvalidState, "that hand is not raised");
        }
        let mut turn = self.view.turn.clone();
        turn.queue.retain(|&p| p != whose);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason: TurnReason::HandLowered,
                participant: Some(whose),
            },
        );
        Ok(())
    }

    /// `pass` or `done`: the speaker ends their turn (a facilitator may do it for them).
    fn end_turn(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        reason: TurnReason,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let stage = self.turn_stage()?;
        let holder = self.view.turn.floor.as_ref().map(|f| f.participant);
        let mine = holder == Some(me.id);
        if !mine && !me.standing.is_facilitating() {
            return reject(ErrorCode::NotYourTurn, "it is not your turn");
        }
        if stage.speaking == SpeakingMode::Round {
            return self.advance_round(now, holder, reason, out);
        }
        if reason == TurnReason::Passed {
            return reject(
                ErrorCode::NotInStage,
                "pass is for rounds; use done to give back the floor",
            );
        }
        let Some(holder) = holder else {
            return reject(ErrorCode::InvalidState, "nobody has the floor");
        };
        let mut turn = self.credit_floor(now, out);
        turn.floor = None;
        turn.speaker_timer = None;
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason,
                participant: Some(holder),
            },
        );
        Ok(())
    }

    /// Move a round to its next speaker (skipping anyone who left), marking a pass.
    fn advance_round(
        &mut self,
        now: Millis,
        speaker: Option<ParticipantId>,
        reason: TurnReason,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let Some(round) = self.view.turn.round.clone() else {
            return reject(ErrorCode::InvalidState, "there is no round");
        };
        if round.position >= round.order.len() {
            return reject(ErrorCode::InvalidState, "the round is complete");
        }
        let mut turn = self.credit_floor(now, out);
        let mut round = round;
        if reason == TurnReason::Passed {
            if let Some(s) = speaker {
                round.passed.push(s);
            }
        }
        round.position += 1;
        while round
            .order
            .get(round.position)
            .is_some_and(|&p| self.participant(p).is_none_or(|p| p.removed))
        {
            round.position += 1;
        }
        turn.floor = None;
        turn.speaker_timer = None;
        if let Some(&next) = round.order.get(round.position) {
            self.floor_for(now, next, &mut turn);
        }
        turn.round = Some(round);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason,
                participant: speaker,
            },
        );
        Ok(())
    }

    fn give_floor(
        &mut self,
        now: Millis,
        to: Option<ParticipantId>,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        let stage = self.turn_stage()?;
        if stage.speaking == SpeakingMode::Round {
            return reject(
                ErrorCode::NotInStage,
                "in a round the floor goes in order: use next_turn",
            );
        }
        let to = match to.or_else(|| self.view.turn.queue.first().copied()) {
            Some(p) => p,
            None => return reject(ErrorCode::InvalidState, "no hand is raised"),
        };
        let target = self.known(to)?;
        self.may_take_turn(&target)?;
        if self
            .view
            .turn
            .floor
            .as_ref()
            .is_some_and(|f| f.participant == to)
        {
            return reject(
                ErrorCode::InvalidState,
                format!("{} already has the floor", target.name),
            );
        }
        let mut turn = self.credit_floor(now, out);
        turn.queue.retain(|&p| p != to);
        self.floor_for(now, to, &mut turn);
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason: TurnReason::FloorGiven,
                participant: Some(to),
            },
        );
        Ok(())
    }

    /// A facilitator takes the floor back from whoever holds it (not in a round).
    fn take_floor(&mut self, now: Millis, out: &mut Changes) -> Result<(), Rejection> {
        let stage = self.turn_stage()?;
        if stage.speaking == SpeakingMode::Round {
            return reject(ErrorCode::NotInStage, "in a round, use next_turn or pass");
        }
        let Some(holder) = self.view.turn.floor.as_ref().map(|f| f.participant) else {
            return reject(ErrorCode::InvalidState, "nobody has the floor");
        };
        let mut turn = self.credit_floor(now, out);
        turn.floor = None;
        turn.speaker_timer = None;
        self.emit(
            now,
            out,
            Event::TurnChanged {
                turn,
                reason: TurnReason::FloorTaken,
                participant: Some(holder),
            },
        );
        Ok(())
    }

    /// Take someone out of the queue, the rest of the round and the floor.
    pub(super) fn drop_from_turn(&mut self, now: Millis, who: ParticipantId, out: &mut Changes) {
        let turn = &self.view.turn;
        let holds = turn.floor.as_ref().is_some_and(|f| f.participant == who);
        let queued = turn.queue.contains(&who);
        let upcoming = turn
            .round
            .as_ref()
            .is_some_and(|r| r.order.iter().skip(r.position + 1).any(|&p| p == who));
        if holds && turn.round.is_some() {
            let _ = self.advance_round(now, Some(who), TurnReason::ParticipantLeft, out);
        }
        if !(holds || queued || upcoming) {
            return;
        }
        let mut turn = if holds {
            self.credit_floor(now, out)
        } else {
            self.view.turn.clone()
        };
        if turn.floor.as_ref().is_some_and(|f| f.participant == who) {
            turn.floor = None;
            turn.speaker_timer = None;
        }
        turn.queue.retain(|&p| p != who);
        if let Some(r) = turn.round.as_mut() {
            let pos = r.position;
            let mut i = 0;
            r.order.retain(|&p| {
                let keep = i <= pos || p != who;
                i += 1;
                keep
            });
        }
        if turn != self.view.turn {
            self.emit(
                now,
                out,
                Event::TurnChanged {
                    turn,
                    reason: TurnReason::ParticipantLeft,
                    participant: Some(who),
                },
            );
        }
    }
}

fn add_time<K: PartialEq + Copy>(totals: &mut Vec<(K, u64)>, key: K, ms: u64) {
    match totals.iter_mut().find(|(k, _)| *k == key) {
        Some((_, t)) => *t += ms,
        None => totals.push((key, ms)),
    }
}
