//! Summaries of a session for the people who run the program: JSON (complete, versioned),
//! Markdown (for people) and CSV (one table at a time).
//!
//! Confidentiality is enforced here, in one place: only text its author marked `exportable`
//! ever enters a summary. Private and circle-only text is dropped before anything is rendered;
//! numbers (ratings, times) are kept. Names can be pseudonymised.

use std::fmt::Write as _;

use circlekeeper_protocol::{
    Event, Millis, ParticipantId, Role, RoomView, SessionStatus, Standing, Visibility,
};
use serde::{Deserialize, Serialize};

use crate::restore::{rebuild, Gap};
use crate::room::state::Notes;
use crate::store::{Store, StoreError, StoredEvent};

pub mod series;

/// Why a summary or report could not be made. The first three are the server's fault (its
/// records or its store); the others name what the request got wrong.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No such room in the store (never opened, or deleted: deleted rooms are gone).
    #[error("no room {room} in this data directory (deleted rooms are gone)")]
    NotFound {
        /// The room id asked for.
        room: String,
    },
    /// The room's records were read but do not rebuild it.
    #[error("room {room} cannot be rebuilt from its records: {gap}")]
    Damaged {
        /// The room id.
        room: String,
        /// What is wrong with its records.
        #[source]
        gap: Gap,
    },
    /// The store failed, or a record in it does not decode.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The summary could not be written as JSON.
    #[error("the summary could not be written as JSON: {0}")]
    Encode(#[from] serde_json::Error),
    /// A format other than `json`, `markdown` or `csv`.
    #[error("format: json, markdown or csv, not {0:?}")]
    UnknownFormat(String),
    /// A CSV table the summary or report does not have.
    #[error("table: one of {}, not {table:?}", known.join(", "))]
    UnknownTable {
        /// The table asked for.
        table: String,
        /// The tables there are.
        known: &'static [&'static str],
    },
}

impl ExportError {
    /// Whether the server is at fault (its store or its records), rather than the request.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            ExportError::Damaged { .. } | ExportError::Store(_) | ExportError::Encode(_)
        )
    }
}

/// The version of the summary's JSON shape.
pub const SUMMARY_VERSION: u32 = 1;

/// A session, as a program's host may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// Shape version.
    pub version: u32,
    /// Room id.
    pub room_id: String,
    /// Title.
    pub title: String,
    /// Format name.
    pub format: String,
    /// When the session started and ended (epoch ms).
    pub started_at: Option<Millis>,
    /// When it ended.
    pub ended_at: Option<Millis>,
    /// Facilitators (names).
    pub facilitators: Vec<String>,
    /// Who came, when, and when they left.
    pub attendance: Vec<Attendance>,
    /// Stages in the order they ran, with planned and actual durations.
    pub stages: Vec<StageRun>,
    /// Presenters in order (names).
    pub presenter_order: Vec<String>,
    /// Pairs and triads (names).
    pub pairings: Vec<Vec<String>>,
    /// Floor time per role, in milliseconds.
    pub floor_time_by_role: Vec<(Role, u64)>,
    /// Commitments marked exportable.
    pub commitments: Vec<ExportedCommitment>,
    /// Feedback ratings; comments only when marked exportable.
    pub feedback: Vec<ExportedFeedback>,
    /// Survey ratings; comments only when marked exportable.
    pub survey: Vec<ExportedSurvey>,
}

/// One person's attendance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attendance {
    /// Name (or pseudonym).
    pub name: String,
    /// Facilitator, co-facilitator or participant.
    pub standing: Standing,
    /// When they joined.
    pub joined_at: Millis,
    /// When they left or were removed, if they did.
    pub left_at: Option<Millis>,
    /// Their member id, in a room of a series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

/// One stage as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRun {
    /// Index in the plan.
    pub index: usize,
    /// Title.
    pub title: String,
    /// Planned timebox, ms.
    pub planned_ms: u64,
    /// Time actually spent, ms (until the next stage began or the session ended).
    pub actual_ms: u64,
}

/// A commitment its author marked exportable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedCommitment {
    /// Author (name or pseudonym).
    pub author: String,
    /// Text.
    pub text: String,
    /// Due date, if given.
    pub due: Option<String>,
    /// How it went, if reviewed.
    pub outcome: Option<circlekeeper_protocol::Outcome>,
}

/// A feedback rating, with its texts only when marked exportable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedFeedback {
    /// The coach it was about (name or pseudonym).
    pub coach: String,
    /// 1–5.
    pub rating: u8,
    /// What helped (exportable only).
    pub helped: Option<String>,
    /// What helped less (exportable only).
    pub helped_less: Option<String>,
}

/// A survey rating, with its comment only when marked exportable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedSurvey {
    /// 1–5.
    pub rating: u8,
    /// The comment (exportable only).
    pub comment: Option<String>,
}

/// How names appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Names {
    /// Display names.
    #[default]
    Shown,
    /// "Participant 1", "Participant 2"… in join order.
    Pseudonymised,
}

/// Build the summary of a room from its view, its events and what people wrote.
pub fn summarize(
    view: &RoomView,
    events: &[StoredEvent],
    notes: &Notes,
    names: Names,
) -> RoomSummary {
    let name = |id: ParticipantId| -> String {
        match names {
            Names::Pseudonymised => format!("Participant {id}"),
            Names::Shown => view
                .participants
                .iter()
                .find(|p| p.id == id)
                .map_or_else(|| format!("Participant {id}"), |p| p.name.clone()),
        }
    };
    let exportable = |v: Visibility| v == Visibility::Exportable;

    let mut left: Vec<(ParticipantId, Millis)> = Vec::new();
    let mut entered: Vec<(usize, Millis)> = Vec::new();
    for e in events {
        match &e.event {
            Event::ParticipantUpdated {
                participant,
                change,
            } if participant.removed => {
                let _ = change;
                if !left.iter().any(|(p, _)| *p == participant.id) {
                    left.push((participant.id, e.at));
                }
            }
            Event::StageEntered { stage, .. } => entered.push((stage.index, e.at)),
            _ => {}
        }
    }
    let end = view
        .session
        .ended_at
        .or(events.last().map(|e| e.at))
        .unwrap_or(0);
    let stages = entered
        .iter()
        .enumerate()
        .map(|(i, &(index, at))| {
            let until = entered.get(i + 1).map_or(end, |&(_, next)| next);
            let planned = view.plan.get(index);
            StageRun {
                index,
                title: planned.map_or_else(String::new, |p| p.title.clone()),
                planned_ms: planned.map_or(0, |p| p.timebox_ms),
                actual_ms: until.saturating_sub(at),
            }
        })
        .collect();

    RoomSummary {
        version: SUMMARY_VERSION,
        room_id: view.id.clone(),
        title: view.title.clone(),
        format: view.format.clone(),
        started_at: view.session.started_at,
        ended_at: (view.session.status == SessionStatus::Ended).then_some(end),
        facilitators: view
            .participants
            .iter()
            .filter(|p| p.standing == Standing::Facilitator)
            .map(|p| name(p.id))
            .collect(),
        attendance: view
            .participants
            .iter()
            .map(|p| Attendance {
                name: name(p.id),
                standing: p.standing,
                joined_at: p.joined_at,
                left_at: left.iter().find(|(id, _)| *id == p.id).map(|(_, at)| *at),
                member: p.member.clone(),
            })
            .collect(),
        stages,
        presenter_order: view.presenter_order.iter().map(|&p| name(p)).collect(),
        pairings: view
            .pairs
            .groups
            .iter()
            .map(|g| g.members.iter().map(|&m| name(m)).collect())
            .collect(),
        floor_time_by_role: view.floor_time.by_role.clone(),
        commitments: notes
            .commitments
            .iter()
            .filter(|c| exportable(c.visibility))
            .map(|c| ExportedCommitment {
                author: name(c.author),
                text: c.text.clone(),
                due: c.due.clone(),
                outcome: c.outcome,
            })
            .collect(),
        feedback: notes
            .feedback
            .iter()
            .map(|f| {
                let shown = exportable(f.visibility);
                ExportedFeedback {
                    coach: name(f.to),
                    rating: f.rating,
                    helped: shown.then(|| f.helped.clone()),
                    helped_less: shown.then(|| f.helped_less.clone()),
                }
            })
            .collect(),
        survey: notes
            .surveys
            .iter()
            .map(|s| ExportedSurvey {
                rating: s.rating,
                comment: if exportable(s.visibility) {
                    s.comment.clone()
                } else {
                    None
                },
            })
            .collect(),
    }
}

/// "1 rating", "2 ratings".
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn minutes(ms: u64) -> String {
    format!("{}:{:02}", ms / 60_000, ms / 1000 % 60)
}

/// The summary for people to read.
pub fn markdown(s: &RoomSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", s.title);
    let _ = writeln!(out, "- Format: {}", s.format);
    let _ = writeln!(out, "- Facilitated by: {}", s.facilitators.join(", "));
    let _ = writeln!(out, "- Attendance: {}\n", s.attendance.len());
    let _ = writeln!(
        out,
        "## Stages\n\n| stage | planned | actual |\n| --- | ---: | ---: |"
    );
    for st in &s.stages {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            st.title,
            minutes(st.planned_ms),
            minutes(st.actual_ms)
        );
    }
    if !s.presenter_order.is_empty() {
        let _ = writeln!(out, "\n## Presenters\n\n{}", s.presenter_order.join(", "));
    }
    if !s.pairings.is_empty() {
        let _ = writeln!(out, "\n## Pairs\n");
        for g in &s.pairings {
            let _ = writeln!(out, "- {}", g.join(" · "));
        }
    }
    if !s.floor_time_by_role.is_empty() {
        let _ = writeln!(out, "\n## Floor time by role\n");
        for (role, ms) in &s.floor_time_by_role {
            let _ = writeln!(
                out,
                "- {}: {}",
                serde_json::to_value(role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                minutes(*ms)
            );
        }
    }
    if !s.commitments.is_empty() {
        let _ = writeln!(out, "\n## Commitments\n");
        for c in &s.commitments {
            let due = c
                .due
                .as_deref()
                .map(|d| format!(" (by {d})"))
                .unwrap_or_default();
            let _ = writeln!(out, "- {}: {}{}", c.author, c.text, due);
        }
    }
    let ratings: Vec<u8> = s.feedback.iter().map(|f| f.rating).collect();
    if !ratings.is_empty() {
        let mean = ratings.iter().map(|&r| f64::from(r)).sum::<f64>() / ratings.len() as f64;
        let _ = writeln!(
            out,
            "\n## Feedback to coaches\n\nMean rating {mean:.1} of 5 ({}).",
            count(ratings.len(), "rating")
        );
        for f in s.feedback.iter().filter(|f| f.helped.is_some()) {
            let _ = writeln!(
                out,
                "- To {}: helped: {}; helped less: {}",
                f.coach,
                f.helped.as_deref().unwrap_or(""),
                f.helped_less.as_deref().unwrap_or("")
            );
        }
    }
    if !s.survey.is_empty() {
        let mean =
            s.survey.iter().map(|a| f64::from(a.rating)).sum::<f64>() / s.survey.len() as f64;
        let _ = writeln!(
            out,
            "\n## Survey\n\nMean rating {mean:.1} of 5 ({}).",
            count(s.survey.len(), "answer")
        );
        for c in s.survey.iter().filter_map(|a| a.comment.as_deref()) {
            let _ = writeln!(out, "- {c}");
        }
    }
    out
}

/// Quote a CSV field when it needs it.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV tables a summary has.
pub const CSV_TABLES: &[&str] = &["attendance", "stages", "pairs", "commitments"];

/// One table of the summary as CSV, or `None` for an unknown table.
pub fn csv(s: &RoomSummary, table: &str) -> Option<String> {
    let mut out = String::new();
    let row = |out: &mut String, fields: &[String]| {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = writeln!(out, "{}", line.join(","));
    };
    match table {
        "attendance" => {
            row(
                &mut out,
                &[
                    "name".into(),
                    "standing".into(),
                    "joined_at".into(),
                    "left_at".into(),
                ],
            );
            for a in &s.attendance {
                let standing = serde_json::to_value(a.standing)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                row(
                    &mut out,
                    &[
                        a.name.clone(),
                        standing,
                        a.joined_at.to_string(),
                        a.left_at.map(|t| t.to_string()).unwrap_or_default(),
                    ],
                );
            }
        }
        "stages" => {
            row(
                &mut out,
                &[
                    "index".into(),
                    "title".into(),
                    "planned_ms".into(),
                    "actual_ms".into(),
                ],
            );
            for st in &s.stages {
                row(
                    &mut out,
                    &[
                        st.index.to_string(),
                        st.title.clone(),
                        st.planned_ms.to_string(),
                        st.actual_ms.to_string(),
                    ],
                );
            }
        }
        "pairs" => {
            row(&mut out, &["group".into(), "members".into()]);
            for (i, g) in s.pairings.iter().enumerate() {
                row(&mut out, &[(i + 1).to_string(), g.join(" · ")]);
            }
        }
        "commitments" => {
            row(
                &mut out,
                &[
                    "author".into(),
                    "text".into(),
                    "due".into(),
                    "outcome".into(),
                ],
            );
            for c in &s.commitments {
                let outcome = c
                    .outcome
                    .and_then(|o| serde_json::to_value(o).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                row(
                    &mut out,
                    &[
                        c.author.clone(),
                        c.text.clone(),
                        c.due.clone().unwrap_or_default(),
                        outcome,
                    ],
                );
            }
        }
        _ => return None,
    }
    Some(out)
}

/// The summary of a stored room, read from a store: by the `circlekeeper export` tool offline,
/// and by the community host's exports and reports.
pub fn from_store(store: &dyn Store, room: &str, names: Names) -> Result<RoomSummary, ExportError> {
    let record = store
        .rooms()?
        .into_iter()
        .find(|(id, _)| id == room)
        .map(|(_, r)| r)
        .ok_or_else(|| ExportError::NotFound { room: room.into() })?;
    let loaded = store.load(room)?;
    let rebuilt = rebuild(&record, &loaded).map_err(|gap| ExportError::Damaged {
        room: room.into(),
        gap,
    })?;
    Ok(summarize(
        rebuilt.view(),
        &loaded.events,
        rebuilt.notes(),
        names,
    ))
}

/// Render a summary in a format (`json`, `markdown`, `csv` with a table).
pub fn render(summary: &RoomSummary, format: &str, table: &str) -> Result<String, ExportError> {
    Renderer {
        markdown,
        csv,
        tables: CSV_TABLES,
    }
    .render(summary, format, table)
}

/// How one kind of document (a summary, a report) is written in each format.
pub(crate) struct Renderer<T> {
    /// The Markdown writer.
    pub markdown: fn(&T) -> String,
    /// The CSV writer: one table, or `None` for an unknown one.
    pub csv: fn(&T, &str) -> Option<String>,
    /// The CSV tables there are.
    pub tables: &'static [&'static str],
}

impl<T: Serialize> Renderer<T> {
    /// `document` as `json`, `markdown` or `csv` (the table `table`).
    pub fn render(&self, document: &T, format: &str, table: &str) -> Result<String, ExportError> {
        match format {
            "json" => Ok(serde_json::to_string_pretty(document)?),
            "markdown" => Ok((self.markdown)(document)),
            "csv" => (self.csv)(document, table).ok_or_else(|| ExportError::UnknownTable {
                table: table.into(),
                known: self.tables,
            }),
            other => Err(ExportError::UnknownFormat(other.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_quotes_and_lines_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
