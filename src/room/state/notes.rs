//! What people write in a room: commitments, feedback to a coach, the session survey.
//!
//! Confidentiality first: every item has a visibility chosen by its author. The text of a
//! `private` item arrives sealed by its author's device (`envelope`): the server keeps and
//! answers ciphertext it cannot read. `private` items never enter an event (so they are never broadcast) and are answered only to their author
//! (in the ack and `my_items`); `circle` and `exportable` items are shared with the room through
//! `notes_changed`, which carries the one item a command changed, never the whole lists. All
//! items live in [`Notes`], which the actor stores beside the event log.
//!
//! Bounded: each person and each room holds at most so many commitments and feedback
//! (`limits`), and a series room carries at most so many earlier commitments, so a room's
//! welcome stays bounded whatever people write.

use std::cmp::Reverse;
use std::collections::HashMap;

use circlekeeper_protocol::{
    limits, AckResult, Command, Commitment, ErrorCode, Event, Feedback, FeedbackKey, GroupPhase,
    Millis, Mine, ParticipantId, ParticipantView, SessionStatus, StageKind, SurveyAnswer,
    Visibility,
};
use serde::{Deserialize, Serialize};

use super::envelope::clean_note;
use super::{reject, Changes, Effect, Rejection, Room};

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
    /// The ids of earlier sessions' commitments reviewed in this session (each once, in the
    /// order first reviewed): what became of them is this session's follow-up, in its export.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviewed: Vec<String>,
}

/// Which item a change writes: the room is told of it if it is shared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Written {
    /// One of this session's commitments, by id (the series keeps it).
    Commitment(String),
    /// A commitment carried from an earlier session, by id (the series keeps it).
    Carried(String),
    /// Feedback to a coach.
    Feedback(FeedbackKey),
    /// A survey answer: never shown to the room.
    Survey,
}

fn shared(v: Visibility) -> bool {
    v != Visibility::Private
}

/// How an item the room may see stands after a change, against what the room shows.
enum Shown<T> {
    /// Shared and new or different: the room puts it in place.
    Put(T),
    /// Shown, but no longer shared: the room drops it.
    Gone,
    /// Nothing the room sees changed.
    Same,
}

/// Compare an item as it is now (`None` when it is not shared) with the room's copy.
fn shown<T: PartialEq + Clone>(now: Option<&T>, in_view: Option<&T>) -> Shown<T> {
    match (now, in_view) {
        (Some(item), seen) if seen != Some(item) => Shown::Put(item.clone()),
        (None, Some(_)) => Shown::Gone,
        _ => Shown::Same,
    }
}

/// The earlier commitments a series room carries: each member's
/// [`limits::MAX_COMMITMENTS_PER_PERSON`] most recent, and of those the
/// [`limits::MAX_COMMITMENTS_PER_ROOM`] most recent, in the series' order. However many sessions
/// a series has had, a room's welcome and a member's `my_items` stay bounded.
pub(super) fn carried(earlier: Vec<Commitment>) -> Vec<Commitment> {
    let mut newest_first: Vec<usize> = (0..earlier.len()).collect();
    newest_first.sort_by_key(|&i| (Reverse(earlier[i].made_at), Reverse(i)));
    let mut per_member: HashMap<Option<&str>, usize> = HashMap::new();
    let mut keep = vec![false; earlier.len()];
    let mut kept = 0;
    for i in newest_first {
        if kept == limits::MAX_COMMITMENTS_PER_ROOM {
            break;
        }
        let n = per_member.entry(earlier[i].member.as_deref()).or_default();
        if *n < limits::MAX_COMMITMENTS_PER_PERSON {
            *n += 1;
            keep[i] = true;
            kept += 1;
        }
    }
    earlier
        .into_iter()
        .zip(keep)
        .filter_map(|(c, keep)| keep.then_some(c))
        .collect()
}

/// Refuse a new item when its author or the room holds as many as they may.
fn check_room_for(
    what: &str,
    mine: usize,
    per_person: usize,
    all: usize,
    per_room: usize,
) -> Result<(), Rejection> {
    if mine >= per_person {
        return reject(
            ErrorCode::TooManyItems,
            format!("you have {mine} {what} here, the most one person may"),
        );
    }
    if all >= per_room {
        return reject(
            ErrorCode::TooManyItems,
            format!("this room holds {all} {what}, the most a room may"),
        );
    }
    Ok(())
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

/// An optional text: blank is none (empty); otherwise as [`clean_note`] (sealed when private).
fn optional_text(what: &str, text: &str, visibility: Visibility) -> Result<String, Rejection> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    clean_note(what, text, visibility)
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
    /// room the written item if what it shares of it changed (a `notes_changed` event with
    /// that item only, never a private one), and owes [`Effect::SaveNotes`] — and, in a series
    /// room when a commitment changed, [`Effect::RecordCommitments`].
    fn write_notes(
        &mut self,
        now: Millis,
        out: &mut Changes,
        written: Written,
        change: impl FnOnce(&mut Notes),
    ) {
        change(&mut self.notes);
        if let Some(event) = self.shared_change(&written) {
            self.emit(now, out, event);
        }
        out.owe(Effect::SaveNotes);
        let commitment = matches!(written, Written::Commitment(_) | Written::Carried(_));
        if commitment && self.pairing.in_series {
            out.owe(Effect::RecordCommitments);
        }
    }

    /// The event that shows the room what changed of the written item, if anything did.
    fn shared_change(&self, written: &Written) -> Option<Event> {
        let (n, v) = (&self.notes, &self.view);
        // A commitment's visibility never changes, so a shown one never goes.
        let commitment = |list: &[Commitment], in_view: &[Commitment], id: &str| match shown(
            list.iter().find(|c| c.id == id && shared(c.visibility)),
            in_view.iter().find(|c| c.id == id),
        ) {
            Shown::Put(c) => Some(vec![c]),
            Shown::Gone | Shown::Same => None,
        };
        let (mut commitments, mut carried, mut feedback, mut feedback_removed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        match written {
            Written::Commitment(id) => {
                commitments = commitment(&n.commitments, &v.commitments, id)?
            }
            Written::Carried(id) => carried = commitment(&n.earlier, &v.carried, id)?,
            Written::Feedback(key) => match shown(
                n.feedback
                    .iter()
                    .find(|f| f.key() == *key && shared(f.visibility)),
                v.feedback.iter().find(|f| f.key() == *key),
            ) {
                Shown::Put(f) => feedback.push(f),
                Shown::Gone => feedback_removed.push(*key),
                Shown::Same => return None,
            },
            Written::Survey => return None,
        }
        Some(Event::NotesChanged {
            commitments,
            carried,
            feedback,
            feedback_removed,
        })
    }

    /// My items, for the ack.
    fn mine(&self, me: &ParticipantView) -> Mine {
        let n = &self.notes;
        let earlier = n
            .earlier
            .iter()
            .filter(|c| series_id(me).is_some() && c.member == series_id(me));
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
                let text = clean_note("text", text, *visibility)?;
                if let Some(d) = due {
                    check_due(d)?;
                }
                let all = &self.notes.commitments;
                check_room_for(
                    "commitments",
                    all.iter().filter(|c| c.author == me.id).count(),
                    limits::MAX_COMMITMENTS_PER_PERSON,
                    all.len(),
                    limits::MAX_COMMITMENTS_PER_ROOM,
                )?;
                let id = format!("{}-{}", self.view.id, all.len() + 1);
                let commitment = Commitment {
                    id: id.clone(),
                    author: me.id,
                    name: me.name.clone(),
                    member: series_id(me),
                    text,
                    due: due.clone(),
                    visibility: *visibility,
                    made_at: now,
                    outcome: None,
                };
                self.write_notes(now, out, Written::Commitment(id), |n| {
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
                            || c.member.is_some() && c.member == series_id(me))
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
                let written = match this_session {
                    Some(_) => Written::Commitment(commitment.clone()),
                    None => Written::Carried(commitment.clone()),
                };
                self.write_notes(now, out, written, |n| {
                    let c = match this_session {
                        Some(i) => n.commitments.get_mut(i),
                        None => earlier.and_then(|i| n.earlier.get_mut(i)),
                    };
                    if let Some(c) = c {
                        c.outcome = Some(*outcome);
                    }
                    if this_session.is_none() && !n.reviewed.contains(commitment) {
                        n.reviewed.push(commitment.clone());
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
                    helped: optional_text("helped", helped, *visibility)?,
                    helped_less: optional_text("helped_less", helped_less, *visibility)?,
                    visibility: *visibility,
                };
                let key = feedback.key();
                let given = self.notes.feedback.iter().position(|f| f.key() == key);
                if given.is_none() {
                    let all = &self.notes.feedback;
                    check_room_for(
                        "feedback items",
                        all.iter().filter(|f| f.from == me.id).count(),
                        limits::MAX_FEEDBACK_PER_PERSON,
                        all.len(),
                        limits::MAX_FEEDBACK_PER_ROOM,
                    )?;
                }
                self.write_notes(now, out, Written::Feedback(key), |n| match given {
                    // Shared feedback is replaced where the room shows it; feedback becoming
                    // shared goes last, as the room appends it, so the notes list the shared
                    // items in the room's order.
                    Some(i) if shared(n.feedback[i].visibility) => n.feedback[i] = feedback,
                    Some(i) => {
                        n.feedback.remove(i);
                        n.feedback.push(feedback);
                    }
                    None => n.feedback.push(feedback),
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
                    Some(c) if !c.trim().is_empty() => Some(clean_note("comment", c, *visibility)?),
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

/// The id the series knows someone by: their member id, or a recognised guest's guest id
/// (their commitments follow them to the series' next sessions, as a member's do).
fn series_id(p: &ParticipantView) -> Option<String> {
    p.member.clone().or_else(|| p.guest.clone())
}
