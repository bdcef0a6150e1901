//! What people write in a room: commitments, feedback to a coach, the session survey.
//!
//! Confidentiality first: every item has a visibility chosen by its author. `private` items
//! never enter an event (so they are never broadcast) and are answered only to their author
//! (in the ack and `my_items`); `circle` and `exportable` items are shared with the room through
//! `notes_changed`. All items live in [`Notes`], which the actor stores beside the event log.

use circlekeeper_protocol::{
    limits, AckResult, Command, Commitment, ErrorCode, Event, Feedback, GroupPhase, Millis, Mine,
    ParticipantId, ParticipantView, SessionStatus, StageKind, SurveyAnswer, Visibility,
};
use serde::{Deserialize, Serialize};

use super::{clean_paragraphs, reject, Changes, Effect, Rejection, Room};

/// Everything written in a room, private items included. Stored beside the event log (never
/// in it) and restored with the room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notes {
    /// Commitments made in this session, any visibility.
    pub commitments: Vec<Commitment>,
    /// Commitments from the series' earlier sessions, any visibility (for their authors to
    /// review; only shared ones are shown to the room).
    pub earlier: Vec<Commitment>,
    /// Feedback given after halves.
    pub feedback: Vec<Feedback>,
    /// Survey answers.
    pub surveys: Vec<SurveyAnswer>,
}

/// Which of the notes a change writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Written {
    /// Commitments, this session's or earlier ones (the series keeps them).
    Commitments,
    /// Feedback to a coach.
    Feedback,
    /// A survey answer.
    Survey,
}

fn shared(v: Visibility) -> bool {
    v != Visibility::Private
}

/// A `YYYY-MM-DD` date with a plausible month and day: digits only (`u32::from_str` alone
/// would also take a sign, as in `2030-+6-01`).
fn check_due(due: &str) -> Result<(), Rejection> {
    let parts: Vec<&str> = due.split('-').collect();
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = match parts.as_slice() {
        [y, m, d]
            if y.len() == 4
                && m.len() == 2
                && d.len() == 2
                && [y, m, d].iter().all(|p| digits(p)) =>
        {
            let (y, m, d) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>());
            matches!((y, m, d), (Ok(2000..=2200), Ok(1..=12), Ok(1..=31)))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        reject(
            ErrorCode::InvalidText,
            "due must be a date written YYYY-MM-DD",
        )
    }
}

fn optional_text(what: &str, text: &str) -> Result<String, Rejection> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    clean_paragraphs(what, text, limits::MAX_TEXT_CHARS)
}

impl Room {
    /// Everything written in this room (for the store).
    pub fn notes(&self) -> &Notes {
        &self.notes
    }

    /// Put back what was written in this room (on restore), and show the shared part.
    pub fn restore_notes(&mut self, notes: Notes) {
        self.notes = notes;
        self.sync_shared();
    }

    /// The room's view of the shared items, from the notes.
    fn shared_view(&self) -> (Vec<Commitment>, Vec<Commitment>, Vec<Feedback>) {
        let n = &self.notes;
        (
            n.commitments
                .iter()
                .filter(|c| shared(c.visibility))
                .cloned()
                .collect(),
            n.earlier
                .iter()
                .filter(|c| shared(c.visibility))
                .cloned()
                .collect(),
            n.feedback
                .iter()
                .filter(|f| shared(f.visibility))
                .cloned()
                .collect(),
        )
    }

    /// Show the series' earlier shared commitments when the room opens.
    pub(super) fn sync_shared_on_setup(&mut self) {
        self.sync_shared();
    }

    /// Set the view's shared items directly (restore, setup: no event).
    fn sync_shared(&mut self) {
        let (commitments, carried, feedback) = self.shared_view();
        self.view.commitments = commitments;
        self.view.carried = carried;
        self.view.feedback = feedback;
    }

    /// Change what people wrote: the one way notes change, as `emit` is for events. Shows the
    /// room the shared part if that changed (a `notes_changed` event, never a private item),
    /// and owes [`Effect::SaveNotes`] — and, in a series room when commitments changed,
    /// [`Effect::RecordCommitments`].
    fn write_notes(
        &mut self,
        now: Millis,
        out: &mut Changes,
        written: Written,
        change: impl FnOnce(&mut Notes),
    ) {
        change(&mut self.notes);
        self.emit_shared(now, out);
        out.owe(Effect::SaveNotes);
        if written == Written::Commitments && self.pairing.in_series {
            out.owe(Effect::RecordCommitments);
        }
    }

    /// Emit the shared items if they changed.
    fn emit_shared(&mut self, now: Millis, out: &mut Changes) {
        let (commitments, carried, feedback) = self.shared_view();
        let v = &self.view;
        if v.commitments != commitments || v.carried != carried || v.feedback != feedback {
            self.emit(
                now,
                out,
                Event::NotesChanged {
                    commitments,
                    carried,
                    feedback,
                },
            );
        }
    }

    /// My items, for the ack.
    fn mine(&self, me: &ParticipantView) -> Mine {
        let n = &self.notes;
        let earlier = n
            .earlier
            .iter()
            .filter(|c| me.member.is_some() && c.member == me.member);
        let now = n.commitments.iter().filter(|c| c.author == me.id);
        Mine {
            commitments: earlier.chain(now).cloned().collect(),
            feedback: n
                .feedback
                .iter()
                .filter(|f| f.from == me.id)
                .cloned()
                .collect(),
            survey: n.surveys.iter().find(|s| s.from == me.id).cloned(),
        }
    }

    /// Apply a command about notes; the ack carries my items.
    pub(super) fn notes_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<Option<AckResult>, Rejection> {
        match cmd {
            Command::MyItems => {}
            Command::RecordCommitment {
                text,
                due,
                visibility,
            } => {
                self.running_stage_index()?;
                let kind = self.current_stage().map(|s| s.kind);
                if !matches!(
                    kind,
                    Some(
                        StageKind::Reflection
                            | StageKind::Commitment
                            | StageKind::Pairs
                            | StageKind::Feedback
                            | StageKind::CheckOut
                    )
                ) {
                    return reject(
                        ErrorCode::NotInStage,
                        "commitments are recorded in a reflection, commitment, pairs, feedback or check-out stage",
                    );
                }
                if !me.consented {
                    return reject(ErrorCode::ConsentRequired, "accept the ground rules first");
                }
                let text = clean_paragraphs("text", text, limits::MAX_TEXT_CHARS)?;
                if let Some(d) = due {
                    check_due(d)?;
                }
                let made = self
                    .notes
                    .commitments
                    .iter()
                    .filter(|c| c.author == me.id)
                    .count();
                if made >= limits::MAX_COMMITMENTS_PER_PERSON {
                    return reject(
                        ErrorCode::TooManyItems,
                        format!(
                            "you have recorded {} commitments here, the most one person may",
                            limits::MAX_COMMITMENTS_PER_PERSON
                        ),
                    );
                }
                let commitment = Commitment {
                    id: format!("{}-{}", self.view.id, self.notes.commitments.len() + 1),
                    author: me.id,
                    name: me.name.clone(),
                    member: me.member.clone(),
                    text,
                    due: due.clone(),
                    visibility: *visibility,
                    made_at: now,
                    outcome: None,
                };
                self.write_notes(now, out, Written::Commitments, |n| {
                    n.commitments.push(commitment)
                });
            }
            Command::ReviewCommitment {
                commitment,
                outcome,
            } => {
                let mine = |c: &Commitment| {
                    c.id == *commitment
                        && (c.author == me.id && c.member.is_none()
                            || c.member.is_some() && c.member == me.member)
                };
                // This session's commitment first, then an earlier session's.
                let this_session = self.notes.commitments.iter().position(mine);
                let earlier = self.notes.earlier.iter().position(mine);
                if this_session.is_none() && earlier.is_none() {
                    return reject(
                        ErrorCode::InvalidMessage,
                        "you have no commitment with that id",
                    );
                }
                self.write_notes(now, out, Written::Commitments, |n| {
                    let c = match this_session {
                        Some(i) => n.commitments.get_mut(i),
                        None => earlier.and_then(|i| n.earlier.get_mut(i)),
                    };
                    if let Some(c) = c {
                        c.outcome = Some(*outcome);
                    }
                });
            }
            Command::GiveFeedback {
                rating,
                helped,
                helped_less,
                visibility,
            } => {
                self.running_stage_index()?;
                if !(1..=5).contains(rating) {
                    return reject(ErrorCode::InvalidMessage, "rating is 1 to 5");
                }
                let Some(g) = self.group_of(me.id).cloned() else {
                    return reject(
                        ErrorCode::InvalidState,
                        "feedback is for your coach, in your pair",
                    );
                };
                if g.phase != GroupPhase::Feedback {
                    return reject(ErrorCode::InvalidState, "feedback comes after the half");
                }
                if g.client != me.id {
                    return reject(ErrorCode::Forbidden, "the client gives the coach feedback");
                }
                let feedback = Feedback {
                    from: me.id,
                    to: g.coach,
                    group: g.id,
                    round: g.round,
                    rating: *rating,
                    helped: optional_text("helped", helped)?,
                    helped_less: optional_text("helped_less", helped_less)?,
                    visibility: *visibility,
                };
                self.write_notes(now, out, Written::Feedback, |n| {
                    let given = n.feedback.iter_mut().find(|f| {
                        f.from == feedback.from
                            && f.group == feedback.group
                            && f.round == feedback.round
                    });
                    match given {
                        Some(f) => *f = feedback,
                        None => n.feedback.push(feedback),
                    }
                });
            }
            Command::AnswerSurvey {
                rating,
                comment,
                visibility,
            } => {
                let ended = self.view.session.status == SessionStatus::Ended;
                let checking_out = self
                    .current_stage()
                    .is_some_and(|s| s.kind == StageKind::CheckOut);
                if !(ended || checking_out) {
                    return reject(
                        ErrorCode::NotInStage,
                        "the survey comes at the check-out or after the end",
                    );
                }
                if !(1..=5).contains(rating) {
                    return reject(ErrorCode::InvalidMessage, "rating is 1 to 5");
                }
                let comment = match comment {
                    Some(c) if !c.trim().is_empty() => {
                        Some(clean_paragraphs("comment", c, limits::MAX_TEXT_CHARS)?)
                    }
                    _ => None,
                };
                let answer = SurveyAnswer {
                    from: me.id,
                    rating: *rating,
                    comment,
                    visibility: *visibility,
                };
                self.write_notes(now, out, Written::Survey, |n| {
                    match n.surveys.iter_mut().find(|s| s.from == answer.from) {
                        Some(s) => *s = answer,
                        None => n.surveys.push(answer),
                    }
                });
            }
            _ => return Ok(None),
        }
        Ok(Some(AckResult::Mine {
            mine: self.mine(me),
        }))
    }

    /// The participant id's display name (for carried commitments).
    pub fn name_of(&self, who: ParticipantId) -> Option<&str> {
        self.participant(who).map(|p| p.name.as_str())
    }
}
