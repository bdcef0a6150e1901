//! What a client sees of a room: the view sent in the welcome and the parts events replace.

use serde::{Deserialize, Serialize};

use crate::*;

/// The whole room as a client sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomView {
    /// Room id.
    pub id: String,
    /// Title the facilitator gave the room.
    pub title: String,
    /// Name of the format the room runs.
    pub format: String,
    /// The ground rules everyone accepts before taking a turn.
    pub ground_rules: String,
    /// Warning point for timers, in milliseconds before the end.
    pub warn_before_ms: u64,
    /// Everyone who has joined, in join order (removed people stay, marked `removed`).
    pub participants: Vec<ParticipantView>,
    /// Lobby, running, paused or ended.
    pub session: SessionState,
    /// Presenters in order.
    pub presenter_order: Vec<ParticipantId>,
    /// The stages, expanded per presenter.
    pub plan: Vec<PlannedStage>,
    /// The current stage, once the session has started.
    pub stage: Option<StageState>,
    /// Floor, hand queue and round.
    pub turn: TurnState,
    /// Floor time per participant and per role.
    pub floor_time: FloorTime,
    /// The prompt card, if one is shown.
    pub prompt: Option<PushedPrompt>,
    /// Pairs and triads, in coaching swaps (left out while there are none).
    #[serde(default, skip_serializing_if = "PairsState::is_empty")]
    pub pairs: PairsState,
    /// Commitments shared with this circle (`circle` or `exportable`), made in this session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commitments: Vec<Commitment>,
    /// Shared commitments from the series' earlier sessions, with how they went: what the
    /// check-in looks back on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<Commitment>,
    /// Feedback shared with this circle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feedback: Vec<Feedback>,
    /// The room's call link, shown to everyone in the room (left out while there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
    /// The template groups' call links are made from (left out while there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_call_template: Option<String>,
    /// Call links for the groups in order: group 1 gets the first (left out while empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_call_urls: Vec<String>,
}

impl RoomView {
    /// Apply one event to this view, by assignment only: each event carries the new value of
    /// the part of the room it changes, and this copies it in (see `protocol/README.md`,
    /// "Keeping the view current"). No room rule is re-checked or recomputed here.
    ///
    /// This is the one reducer: the server's room applies its own events with it, and a client
    /// that starts from a welcome's `room` and applies every event after it, in order, holds
    /// the same view as a fresh welcome at that sequence number. The web client's
    /// `applyEvent` (`web/connection.js`) is checked against it by `tests/reducer.rs`.
    ///
    /// - `participant_joined` and `participant_updated` replace the participant with the same
    ///   id, or append one not yet seen;
    /// - a stage timer event for a view with no current stage changes nothing;
    /// - `plan_changed` moves the current stage's index only when it names one;
    /// - `notes_changed` first removes the feedback it names in `feedback_removed`, then puts
    ///   each item it carries in place of the one with the same id (for feedback: the same
    ///   `from`, `group` and `round`) or appends it;
    /// - `link_changed` changes nothing: the room's keys are not part of the view;
    /// - `call_links_changed` sets the room's three call link fields, and the `call_url` of
    ///   each group it names (by id; a group it does not name keeps its link).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::ParticipantJoined { participant }
            | Event::ParticipantUpdated { participant, .. } => {
                put(&mut self.participants, participant, |p| {
                    p.id == participant.id
                });
            }
            Event::SessionChanged {
                session,
                stage,
                turn,
            } => {
                self.session = session.clone();
                self.stage = stage.clone();
                self.turn = turn.clone();
            }
            Event::StageEntered { stage, turn } => {
                self.stage = Some(stage.clone());
                self.turn = turn.clone();
            }
            Event::TurnChanged { turn, .. } => self.turn = turn.clone(),
            Event::FloorTimeCredited { floor_time } => self.floor_time = floor_time.clone(),
            Event::TimerChanged { timer, state }
            | Event::TimerWarning { timer, state }
            | Event::TimerExpired { timer, state } => match timer {
                TimerKind::Stage => {
                    if let Some(stage) = self.stage.as_mut() {
                        stage.timer = state.clone();
                    }
                }
                TimerKind::Speaker => self.turn.speaker_timer = Some(state.clone()),
            },
            Event::PlanChanged {
                presenter_order,
                plan,
                stage_index,
                ..
            } => {
                self.presenter_order = presenter_order.clone();
                self.plan = plan.clone();
                if let (Some(stage), Some(index)) = (self.stage.as_mut(), stage_index) {
                    stage.index = *index;
                }
            }
            Event::PairsChanged { pairs, .. } => self.pairs = pairs.clone(),
            Event::NotesChanged {
                commitments,
                carried,
                feedback,
                feedback_removed,
            } => {
                self.feedback
                    .retain(|f| !feedback_removed.contains(&f.key()));
                for c in commitments {
                    put(&mut self.commitments, c, |k| k.id == c.id);
                }
                for c in carried {
                    put(&mut self.carried, c, |k| k.id == c.id);
                }
                for f in feedback {
                    put(&mut self.feedback, f, |k| k.key() == f.key());
                }
            }
            Event::PromptChanged { prompt } => self.prompt = prompt.clone(),
            Event::LinkChanged { .. } => {}
            Event::CallLinksChanged {
                call_url,
                group_call_template,
                group_call_urls,
                groups,
            } => {
                self.call_url = call_url.clone();
                self.group_call_template = group_call_template.clone();
                self.group_call_urls = group_call_urls.clone();
                for call in groups {
                    if let Some(g) = self.pairs.groups.iter_mut().find(|g| g.id == call.group) {
                        g.call_url = call.call_url.clone();
                    }
                }
            }
        }
    }
}

/// Put `item` in place of the first element `same` picks out, or append it.
fn put<T: Clone>(list: &mut Vec<T>, item: &T, same: impl Fn(&T) -> bool) {
    match list.iter_mut().find(|k| same(k)) {
        Some(k) => *k = item.clone(),
        None => list.push(item.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LinkKind, ParticipantChange, TimerKind};

    fn room() -> RoomView {
        RoomView {
            id: "r".into(),
            title: "t".into(),
            format: "f".into(),
            ground_rules: String::new(),
            warn_before_ms: 60_000,
            participants: Vec::new(),
            session: SessionState {
                status: SessionStatus::Lobby,
                started_at: None,
                paused_at: None,
                ended_at: None,
            },
            presenter_order: Vec::new(),
            plan: Vec::new(),
            stage: None,
            turn: TurnState::default(),
            floor_time: FloorTime::default(),
            prompt: None,
            pairs: PairsState::default(),
            commitments: Vec::new(),
            carried: Vec::new(),
            feedback: Vec::new(),
            call_url: None,
            group_call_template: None,
            group_call_urls: Vec::new(),
        }
    }

    fn person(id: ParticipantId, presence: Presence) -> ParticipantView {
        ParticipantView {
            id,
            name: format!("P{id}"),
            standing: Standing::Participant,
            roles: Vec::new(),
            consented: false,
            presence,
            joined_at: 0,
            removed: false,
            member: None,
            guest: None,
        }
    }

    fn timer(duration_ms: u64) -> TimerState {
        TimerState {
            duration_ms,
            ends_at: Some(duration_ms),
            paused_remaining_ms: None,
            warned: true,
            expired: false,
        }
    }

    #[test]
    fn a_participant_event_replaces_by_id_or_appends() {
        let mut view = room();
        for id in [1, 2] {
            view.apply(&Event::ParticipantJoined {
                participant: person(id, Presence::Connected),
            });
        }
        view.apply(&Event::ParticipantUpdated {
            participant: person(1, Presence::Away),
            change: ParticipantChange::Presence,
        });
        let seen: Vec<(ParticipantId, Presence)> = view
            .participants
            .iter()
            .map(|p| (p.id, p.presence))
            .collect();
        assert_eq!(seen, [(1, Presence::Away), (2, Presence::Connected)]);
    }

    #[test]
    fn a_stage_timer_event_without_a_stage_changes_nothing_and_a_speaker_timer_is_set() {
        let mut view = room();
        view.apply(&Event::TimerWarning {
            timer: TimerKind::Stage,
            state: timer(5),
        });
        assert_eq!(view, room());
        view.apply(&Event::TimerChanged {
            timer: TimerKind::Speaker,
            state: timer(7),
        });
        assert_eq!(view.turn.speaker_timer, Some(timer(7)));
    }

    #[test]
    fn a_plan_change_moves_the_current_stage_only_when_it_names_an_index() {
        let mut view = room();
        view.stage = Some(StageState {
            index: 3,
            entered_at: 0,
            timer: timer(10),
        });
        view.apply(&Event::PlanChanged {
            presenter_order: vec![2],
            plan: Vec::new(),
            seed: None,
            stage_index: None,
        });
        assert_eq!(view.stage.as_ref().map(|s| s.index), Some(3));
        assert_eq!(view.presenter_order, [2]);
        view.apply(&Event::PlanChanged {
            presenter_order: vec![2, 1],
            plan: Vec::new(),
            seed: Some(9),
            stage_index: Some(8),
        });
        assert_eq!(view.stage.as_ref().map(|s| s.index), Some(8));
    }

    fn commitment(id: &str, outcome: Option<Outcome>) -> Commitment {
        Commitment {
            id: id.into(),
            author: 1,
            name: "P1".into(),
            member: None,
            text: format!("text of {id}"),
            due: None,
            visibility: Visibility::Circle,
            made_at: 0,
            outcome,
        }
    }

    fn feedback(from: ParticipantId, round: u32, rating: u8) -> Feedback {
        Feedback {
            from,
            to: 9,
            group: 1,
            round,
            rating,
            helped: String::new(),
            helped_less: String::new(),
            visibility: Visibility::Circle,
        }
    }

    fn notes(
        commitments: Vec<Commitment>,
        carried: Vec<Commitment>,
        feedback: Vec<Feedback>,
        feedback_removed: Vec<FeedbackKey>,
    ) -> Event {
        Event::NotesChanged {
            commitments,
            carried,
            feedback,
            feedback_removed,
        }
    }

    #[test]
    fn a_notes_change_puts_each_item_in_place_by_id_or_appends_it_and_removes_feedback_by_key() {
        let mut view = room();
        view.carried = vec![commitment("old-1", None), commitment("old-2", None)];
        view.apply(&notes(
            vec![commitment("r-1", None)],
            vec![],
            vec![feedback(2, 0, 3)],
            vec![],
        ));
        view.apply(&notes(
            vec![commitment("r-2", None)],
            vec![commitment("old-1", Some(Outcome::Kept))],
            vec![feedback(3, 0, 4)],
            vec![],
        ));
        view.apply(&notes(
            vec![commitment("r-1", Some(Outcome::Partly))],
            vec![],
            vec![feedback(2, 0, 5)],
            vec![],
        ));
        let ids = |list: &[Commitment]| -> Vec<(String, Option<Outcome>)> {
            list.iter().map(|c| (c.id.clone(), c.outcome)).collect()
        };
        assert_eq!(
            ids(&view.commitments),
            [
                ("r-1".to_string(), Some(Outcome::Partly)),
                ("r-2".to_string(), None)
            ]
        );
        assert_eq!(
            ids(&view.carried),
            [
                ("old-1".to_string(), Some(Outcome::Kept)),
                ("old-2".to_string(), None)
            ]
        );
        assert_eq!(view.feedback, [feedback(2, 0, 5), feedback(3, 0, 4)]);
        view.apply(&notes(
            vec![],
            vec![],
            vec![],
            vec![feedback(2, 0, 5).key()],
        ));
        assert_eq!(view.feedback, [feedback(3, 0, 4)]);
        // Removing feedback that is not there changes nothing.
        let before = view.clone();
        view.apply(&notes(
            vec![],
            vec![],
            vec![],
            vec![feedback(7, 1, 1).key()],
        ));
        assert_eq!(view, before);
    }

    #[test]
    fn a_notes_change_writes_its_three_lists_and_feedback_removed_only_when_there_is_some() {
        let fields = |event: &Event| {
            let json = serde_json::to_value(event).expect("an event serializes");
            let back: Event = serde_json::from_value(json.clone()).expect("it reads back");
            assert_eq!(&back, event);
            let mut fields: Vec<String> = json
                .as_object()
                .expect("an object")
                .keys()
                .cloned()
                .collect();
            fields.sort_unstable();
            fields
        };
        let put = notes(vec![], vec![], vec![feedback(2, 0, 3)], vec![]);
        assert_eq!(fields(&put), ["carried", "commitments", "feedback", "type"]);
        let removed = notes(vec![], vec![], vec![], vec![feedback(2, 0, 3).key()]);
        assert_eq!(
            fields(&removed),
            [
                "carried",
                "commitments",
                "feedback",
                "feedback_removed",
                "type"
            ]
        );
    }

    #[test]
    fn a_link_change_leaves_the_view_as_it_was() {
        let mut view = room();
        view.apply(&Event::LinkChanged {
            link: LinkKind::Join,
            revoked: true,
            by: 1,
        });
        assert_eq!(view, room());
    }
}
