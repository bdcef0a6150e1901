//! The session and its stages: starting from the lobby, moving to the next, previous or any
//! stage, pausing and resuming (every timer with it), and ending. Entering a stage gives it a
//! fresh timer and a fresh turn: a round's order, or the presenter's floor.

use circlekeeper_protocol::{
    Command, ErrorCode, Event, Millis, ParticipantId, Role, Round, SessionState, SessionStatus,
    SpeakingMode, StageState, TurnState,
};

use super::{reject, Changes, Effect, Rejection, Room};
use crate::room::timer;

impl Room {
    /// Apply a command about the session: start, stages, pause, resume, end.
    pub(super) fn session_command(
        &mut self,
        now: Millis,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::Start => self.start(now, out)?,
            Command::NextStage => {
                let i = self.running_stage_index()?;
                if i + 1 >= self.view.plan.len() {
                    return reject(
                        ErrorCode::InvalidState,
                        "this is the last stage: end the session instead",
                    );
                }
                self.enter_stage(now, i + 1, out);
            }
            Command::PreviousStage => {
                let i = self.running_stage_index()?;
                if i == 0 {
                    return reject(ErrorCode::InvalidState, "this is the first stage");
                }
                self.enter_stage(now, i - 1, out);
            }
            Command::JumpToStage { index } => {
                self.running_stage_index()?;
                if *index >= self.view.plan.len() {
                    return reject(
                        ErrorCode::UnknownStage,
                        format!(
                            "the plan has {} stages; there is no stage {index}",
                            self.view.plan.len()
                        ),
                    );
                }
                self.enter_stage(now, *index, out);
            }
            Command::Pause => self.pause(now, out)?,
            Command::ResumeSession => self.resume(now, out)?,
            Command::EndSession => self.end(now, out),
            _ => {}
        }
        Ok(())
    }

    /// The stage index, once the session has started.
    pub(super) fn running_stage_index(&self) -> Result<usize, Rejection> {
        match (&self.view.stage, self.view.session.status) {
            (_, SessionStatus::Lobby) => {
                reject(ErrorCode::NotStarted, "the session has not started")
            }
            (Some(s), _) => Ok(s.index),
            (None, _) => reject(ErrorCode::NotStarted, "the session has not started"),
        }
    }

    fn start(&mut self, now: Millis, out: &mut Changes) -> Result<(), Rejection> {
        if self.view.session.status != SessionStatus::Lobby {
            return reject(ErrorCode::InvalidState, "the session has already started");
        }
        if self.view.presenter_order.is_empty()
            && self.format.stages.iter().any(|s| s.per_presenter)
        {
            let order = self.default_presenters();
            if !order.is_empty() {
                self.set_presenter_order(now, order, None, out)?;
            }
        }
        let session = SessionState {
            status: SessionStatus::Running,
            started_at: Some(now),
            paused_at: None,
            ended_at: None,
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage: None,
                turn: TurnState::default(),
            },
        );
        self.enter_stage(now, 0, out);
        Ok(())
    }

    /// Enter the stage at `index`: fresh timer, fresh turn (round order, presenter's floor).
    pub(super) fn enter_stage(&mut self, now: Millis, index: usize, out: &mut Changes) {
        self.credit_floor(now, out);
        let Some(planned) = self.view.plan.get(index).cloned() else {
            return;
        };
        // A prompt belongs to its stage: a new stage starts with a clear card.
        if self.view.prompt.is_some() {
            self.emit(now, out, Event::PromptChanged { prompt: None });
        }
        let running = self.view.session.status == SessionStatus::Running;
        let stage = StageState {
            index,
            entered_at: now,
            timer: timer::new(planned.timebox_ms, now, running),
        };
        // Evolve the stage first so roles are those of the new stage.
        let old_stage = self.view.stage.replace(stage.clone());
        let mut turn = TurnState::default();
        match planned.speaking {
            SpeakingMode::Round => {
                let order: Vec<ParticipantId> = self
                    .view
                    .participants
                    .iter()
                    .filter(|p| {
                        !p.removed && p.consented && self.stage_role(p.id) != Role::Observer
                    })
                    .map(|p| p.id)
                    .collect();
                if let Some(&first) = order.first() {
                    self.floor_for(now, first, &mut turn);
                }
                turn.round = Some(Round {
                    order,
                    position: 0,
                    passed: Vec::new(),
                });
            }
            SpeakingMode::PresenterOnly => {
                if let Some(p) = planned.presenter.and_then(|p| self.participant(p)) {
                    if p.consented && !p.removed {
                        self.floor_for(now, p.id, &mut turn);
                    }
                }
            }
            SpeakingMode::HandQueue | SpeakingMode::Open | SpeakingMode::Pairs => {}
        }
        self.view.stage = old_stage;
        self.emit(now, out, Event::StageEntered { stage, turn });
        self.pairs_on_stage(now, out);
    }

    fn pause(&mut self, now: Millis, out: &mut Changes) -> Result<(), Rejection> {
        match self.view.session.status {
            SessionStatus::Running => {}
            SessionStatus::Paused => {
                return reject(ErrorCode::InvalidState, "the session is already paused")
            }
            _ => return reject(ErrorCode::NotStarted, "the session has not started"),
        }
        let mut turn = self.credit_floor(now, out);
        turn.speaker_timer = turn.speaker_timer.map(|t| timer::paused(&t, now));
        let stage = self.view.stage.clone().map(|mut s| {
            s.timer = timer::paused(&s.timer, now);
            s
        });
        let session = SessionState {
            status: SessionStatus::Paused,
            paused_at: Some(now),
            ..self.view.session.clone()
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage,
                turn,
            },
        );
        self.pairs_on_session(now, false, out);
        Ok(())
    }

    fn resume(&mut self, now: Millis, out: &mut Changes) -> Result<(), Rejection> {
        match self.view.session.status {
            SessionStatus::Paused => {}
            SessionStatus::Running => {
                return reject(ErrorCode::InvalidState, "the session is not paused")
            }
            _ => return reject(ErrorCode::NotStarted, "the session has not started"),
        }
        let mut turn = self.view.turn.clone();
        if let Some(f) = turn.floor.as_mut() {
            f.since = now;
        }
        turn.speaker_timer = turn.speaker_timer.map(|t| timer::resumed(&t, now));
        let stage = self.view.stage.clone().map(|mut s| {
            s.timer = timer::resumed(&s.timer, now);
            s
        });
        let session = SessionState {
            status: SessionStatus::Running,
            paused_at: None,
            ..self.view.session.clone()
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage,
                turn,
            },
        );
        self.pairs_on_session(now, true, out);
        Ok(())
    }

    /// End the session: the floor, queue and timers stop, and the end is owed to the runtime.
    pub(super) fn end(&mut self, now: Millis, out: &mut Changes) {
        let mut turn = self.credit_floor(now, out);
        turn.floor = None;
        turn.speaker_timer = None;
        turn.queue.clear();
        let stage = self.view.stage.clone().map(|mut s| {
            s.timer = timer::paused(&s.timer, now);
            s
        });
        let session = SessionState {
            status: SessionStatus::Ended,
            paused_at: None,
            ended_at: Some(now),
            ..self.view.session.clone()
        };
        self.emit(
            now,
            out,
            Event::SessionChanged {
                session,
                stage,
                turn,
            },
        );
        self.pairs_on_session(now, false, out);
        out.owe(Effect::Ended { at: now });
    }
}
