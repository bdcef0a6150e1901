//! Presenters: the order in which people present, and the plan it expands into (each block of
//! per-presenter stages once per presenter). Presenters whose slots have begun keep their place;
//! only those still to come may be reordered or shuffled.

use circlekeeper_protocol::{
    limits, Command, ErrorCode, Event, Format, Millis, ParticipantId, PlannedStage, Role,
};

use super::{reject, shuffle, Changes, Rejection, Room};

/// Expand a format's stages into a plan: each block of `per_presenter` stages once per
/// presenter (once with no presenter while the order is empty).
pub fn expand(format: &Format, presenters: &[ParticipantId]) -> Vec<PlannedStage> {
    let stages = &format.stages;
    let planned = |i: usize, presenter: Option<ParticipantId>| {
        let s = &stages[i];
        PlannedStage {
            spec: i,
            kind: s.kind,
            title: s.title.clone(),
            purpose: s.purpose.clone(),
            timebox_ms: s.timebox_ms,
            speaking: s.speaking,
            per_speaker_ms: s.per_speaker_ms,
            roles: s.roles.clone(),
            auto_advance: s.auto_advance,
            presenter,
            half_ms: s.half_ms,
            feedback_ms: s.feedback_ms,
        }
    };
    let mut plan = Vec::new();
    let mut i = 0;
    while i < stages.len() {
        if !stages[i].per_presenter {
            plan.push(planned(i, None));
            i += 1;
            continue;
        }
        let end = (i..stages.len())
            .find(|&k| !stages[k].per_presenter)
            .unwrap_or(stages.len());
        if presenters.is_empty() {
            plan.extend((i..end).map(|k| planned(k, None)));
        } else {
            for &p in presenters {
                plan.extend((i..end).map(|k| planned(k, Some(p))));
            }
        }
        i = end;
    }
    // Kept as long as the room lives (in its view): no spare capacity from the pushes.
    plan.shrink_to_fit();
    plan
}

impl Room {
    /// Apply `set_presenter_order` or `shuffle_presenters`.
    pub(super) fn presenters_command(
        &mut self,
        now: Millis,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            Command::SetPresenterOrder { order } => {
                self.set_presenter_order(now, order.clone(), None, out)
            }
            Command::ShufflePresenters { seed } => {
                let seed = seed.unwrap_or(0);
                let fixed = self.presented_prefix();
                let mut rest: Vec<ParticipantId> = if self.view.presenter_order.is_empty() {
                    self.default_presenters()
                } else {
                    self.view.presenter_order[fixed.len()..].to_vec()
                };
                shuffle(&mut rest, seed);
                let order = fixed.into_iter().chain(rest).collect();
                self.set_presenter_order(now, order, Some(seed), out)
            }
            _ => Ok(()),
        }
    }

    pub(super) fn default_presenters(&self) -> Vec<ParticipantId> {
        self.view
            .participants
            .iter()
            .filter(|p| {
                !p.removed
                    && p.consented
                    && !p.standing.is_facilitating()
                    && !p.roles.contains(&Role::Observer)
            })
            .map(|p| p.id)
            .collect()
    }

    /// Presenters whose slots have begun: fixed once the session is under way.
    fn presented_prefix(&self) -> Vec<ParticipantId> {
        let Some(stage) = &self.view.stage else {
            return Vec::new();
        };
        let mut seen = Vec::new();
        for s in self.view.plan.iter().take(stage.index + 1) {
            if let Some(p) = s.presenter {
                if !seen.contains(&p) {
                    seen.push(p);
                }
            }
        }
        seen
    }

    pub(super) fn set_presenter_order(
        &mut self,
        now: Millis,
        order: Vec<ParticipantId>,
        seed: Option<u64>,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        if order.len() > limits::MAX_PARTICIPANTS {
            return reject(ErrorCode::InvalidMessage, "too many presenters");
        }
        for (i, &p) in order.iter().enumerate() {
            let person = self.known(p)?;
            if person.roles.contains(&Role::Observer) {
                return reject(
                    ErrorCode::InvalidState,
                    format!("{} is observing and does not present", person.name),
                );
            }
            if order[..i].contains(&p) {
                return reject(
                    ErrorCode::InvalidMessage,
                    format!("participant {p} is in the order twice"),
                );
            }
        }
        let fixed = self.presented_prefix();
        if !order.starts_with(&fixed) {
            return reject(
                ErrorCode::InvalidState,
                "presenters who have already begun keep their place; reorder only those still to come",
            );
        }
        let plan = expand(&self.format, &order);
        if plan.len() > limits::MAX_PLAN_STAGES {
            return reject(
                ErrorCode::TooManyItems,
                format!(
                    "with {} presenters the plan would have {} stages, more than the {} a plan \
                     may have: choose fewer presenters",
                    order.len(),
                    plan.len(),
                    limits::MAX_PLAN_STAGES
                ),
            );
        }
        let stage_index = self.view.stage.as_ref().map(|s| {
            let current = &self.view.plan[s.index.min(self.view.plan.len().saturating_sub(1))];
            plan.iter()
                .position(|p| p.spec == current.spec && p.presenter == current.presenter)
                .unwrap_or(s.index.min(plan.len().saturating_sub(1)))
        });
        self.emit(
            now,
            out,
            Event::PlanChanged {
                presenter_order: order,
                plan,
                seed,
                stage_index,
            },
        );
        Ok(())
    }

    /// Take someone out of the presenter order, unless their slot has begun.
    pub(super) fn drop_from_presenters(
        &mut self,
        now: Millis,
        who: ParticipantId,
        out: &mut Changes,
    ) {
        let fixed = self.presented_prefix();
        if self.view.presenter_order.contains(&who) && !fixed.contains(&who) {
            let order: Vec<ParticipantId> = self
                .view
                .presenter_order
                .iter()
                .copied()
                .filter(|&p| p != who)
                .collect();
            let _ = self.set_presenter_order(now, order, None, out);
        }
    }
}
