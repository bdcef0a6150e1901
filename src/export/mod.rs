//! Summaries of a session for the people who run the program: JSON (complete, versioned),
//! Markdown (for people) and CSV (one table at a time).
//!
//! Confidentiality is enforced here, in one place: only text its author marked `exportable`
//! ever enters a summary. Private and circle-only text is dropped before anything is rendered;
//! numbers (ratings, times) are kept. Names can be pseudonymised.
//!
//! Markdown and CSV are written in a language (`texts::Lang`): their headings, fixed words and
//! built-in format names and stage titles; JSON is the same in every language.
//!
//! Counts may include every item whatever its visibility (how many commitments were made, how
//! many were reviewed and how); text, never. Times are epoch ms in JSON with an ISO 8601 twin
//! (`…_iso`), ISO 8601 in CSV, and readable dates in Markdown.

use circlekeeper_protocol::{
    Event, Millis, ParticipantId, Role, RoomView, SessionStatus, Standing, Visibility,
};
use serde::{Deserialize, Serialize};

use crate::restore::{rebuild, Gap};
use crate::room::state::Notes;
use crate::store::{Store, StoreError, StoredEvent};
use crate::texts::{fill, label, Lang};

mod counts;
pub mod dates;
pub mod html;
pub mod range;
pub mod series;
mod summary_text;

pub use counts::{CommitmentCounts, FollowUp, FollowUps, OutcomeCounts};
pub use summary_text::{csv, markdown, CSV_TABLES};

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
    /// A format other than `json`, `markdown`, `csv` or `html`.
    #[error("format: json, markdown, csv or html, not {0:?}")]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// The series the room belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<String>,
    /// `started_at` in ISO 8601 (UTC).
    #[serde(default)]
    pub started_at_iso: Option<String>,
    /// `ended_at` in ISO 8601 (UTC).
    #[serde(default)]
    pub ended_at_iso: Option<String>,
    /// From start to end, ms (null until the session has both).
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// People who came as participants (facilitators and co-facilitators not counted).
    #[serde(default)]
    pub participants: u32,
    /// Of the participants, those who came with a series member link.
    #[serde(default)]
    pub members: u32,
    /// Of the participants, the others (everyone in a room outside a series).
    #[serde(default)]
    pub guests: u32,
    /// Commitments made in this session and reviews made in it, counted whatever their
    /// visibility.
    #[serde(default)]
    pub commitment_counts: CommitmentCounts,
    /// What became of earlier sessions' commitments reviewed in this session.
    #[serde(default)]
    pub follow_ups: FollowUps,
}

/// One person's attendance.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// Their member id, in a room of a series, or a recognised guest's guest id (`g1`, …) (left
    /// out when names are pseudonymised: it would map back to the host's member list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// `joined_at` in ISO 8601 (UTC).
    #[serde(default)]
    pub joined_at_iso: String,
    /// `left_at` in ISO 8601 (UTC).
    #[serde(default)]
    pub left_at_iso: Option<String>,
}

/// One stage as it ran.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// Whose presentation it was, in per-presenter stages (name or pseudonym).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presenter: Option<String>,
    /// When it began (epoch ms).
    #[serde(default)]
    pub started_at: Millis,
    /// `started_at` in ISO 8601 (UTC).
    #[serde(default)]
    pub started_at_iso: String,
}

/// A commitment its author marked exportable.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedSurvey {
    /// 1–5.
    pub rating: u8,
    /// The comment (exportable only).
    pub comment: Option<String>,
}

/// How names appear.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
                presenter: planned.and_then(|p| p.presenter).map(name),
                started_at: at,
                started_at_iso: dates::iso(at),
            }
        })
        .collect();

    let ended_at = (view.session.status == SessionStatus::Ended).then_some(end);
    let participants: Vec<_> = view
        .participants
        .iter()
        .filter(|p| p.standing == Standing::Participant)
        .collect();
    let members = participants.iter().filter(|p| p.member.is_some()).count() as u32;
    let mut reviewed = OutcomeCounts::default();
    for outcome in notes.commitments.iter().filter_map(|c| c.outcome) {
        reviewed.add(outcome);
    }
    let mut follow_ups = FollowUps::default();
    for c in notes
        .earlier
        .iter()
        .filter(|c| notes.reviewed.contains(&c.id))
    {
        let Some(outcome) = c.outcome else { continue };
        follow_ups.counts.add(outcome);
        if exportable(c.visibility) {
            // The author as this session knows them (by member), else as the commitment does.
            let author = view
                .participants
                .iter()
                .find(|p| p.member.is_some() && p.member == c.member)
                .map_or_else(
                    || match names {
                        Names::Shown => c.name.clone(),
                        Names::Pseudonymised => "Participant".to_string(),
                    },
                    |p| name(p.id),
                );
            follow_ups.reviewed.push(FollowUp {
                author,
                text: c.text.clone(),
                due: c.due.clone(),
                outcome,
                made_at: c.made_at,
                made_at_iso: dates::iso(c.made_at),
            });
        }
    }
    let commitment_counts = CommitmentCounts {
        made: notes.commitments.len() as u32,
        reviewed: reviewed.plus(&follow_ups.counts),
    };
    RoomSummary {
        version: SUMMARY_VERSION,
        room_id: view.id.clone(),
        title: view.title.clone(),
        format: view.format.clone(),
        started_at: view.session.started_at,
        ended_at,
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
                joined_at_iso: dates::iso(p.joined_at),
                left_at_iso: dates::iso_opt(
                    left.iter().find(|(id, _)| *id == p.id).map(|(_, at)| *at),
                ),
                // A member id maps back to the host's member list: never in a pseudonymised one.
                member: match names {
                    // A recognised series guest by their guest id (a converted one's history).
                    Names::Shown => p.member.clone().or_else(|| p.guest.clone()),
                    Names::Pseudonymised => None,
                },
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
        series_id: None,
        started_at_iso: dates::iso_opt(view.session.started_at),
        ended_at_iso: dates::iso_opt(ended_at),
        duration_ms: view
            .session
            .started_at
            .zip(ended_at)
            .map(|(start, end)| end.saturating_sub(start)),
        participants: participants.len() as u32,
        members,
        guests: participants.len() as u32 - members,
        commitment_counts,
        follow_ups,
    }
}

/// "1 rating", "2 ratings" (or "answer"), in `lang`.
fn count(lang: Lang, n: usize, one: &'static str, many: &'static str) -> String {
    if n == 1 {
        label(lang, one).to_owned()
    } else {
        fill(label(lang, many), &[("n", &n.to_string())])
    }
}

fn minutes(ms: u64) -> String {
    format!("{}:{:02}", ms / 60_000, ms / 1000 % 60)
}

/// The snake_case wire name of a role, standing or outcome.
pub(crate) fn code_of(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// "Mean rating 4.5 of 5 (2 ratings)." in `lang` (Spanish and German write "4,5").
fn mean_rating(lang: Lang, mean: f64, counted: &str) -> String {
    let mean = format!("{mean:.1}");
    let mean = if lang == Lang::En {
        mean
    } else {
        mean.replace('.', ",")
    };
    fill(
        label(lang, "Mean rating {mean} of 5 ({count})."),
        &[("mean", &mean), ("count", counted)],
    )
}

/// Characters that make a spreadsheet read a cell as a formula when they come first.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Quote a CSV field when it needs it, and neutralise a would-be formula: text that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return (and is not a number) gets a leading
/// `'`, so a spreadsheet shows it as text instead of running it (a name or a commitment such
/// as `=HYPERLINK(…)`).
pub(crate) fn csv_field(s: &str) -> String {
    let neutral = if s.starts_with(FORMULA_STARTS) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
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
    let mut summary = summarize(rebuilt.view(), &loaded.events, rebuilt.notes(), names);
    summary.series_id = record.series.clone();
    Ok(summary)
}

/// Render a summary in a format (`json`, `markdown`, `csv` with a table, `html`), its Markdown,
/// CSV and HTML in `lang` (JSON is the same in every language).
pub fn render(
    summary: &RoomSummary,
    format: &str,
    table: &str,
    lang: Lang,
) -> Result<String, ExportError> {
    Renderer {
        markdown,
        csv,
        html: html::summary,
        tables: CSV_TABLES,
    }
    .render(summary, format, table, lang)
}

/// How one kind of document (a summary, a report) is written in each format.
pub(crate) struct Renderer<T> {
    /// The Markdown writer, in a language.
    pub markdown: fn(&T, Lang) -> String,
    /// The CSV writer, in a language: one table, or `None` for an unknown one.
    pub csv: fn(&T, &str, Lang) -> Option<String>,
    /// The HTML writer (one self-contained page), in a language.
    pub html: fn(&T, Lang) -> String,
    /// The CSV tables there are.
    pub tables: &'static [&'static str],
}

impl<T: Serialize> Renderer<T> {
    /// `document` as `json`, `markdown`, `csv` (the table `table`) or `html`, in `lang`.
    pub fn render(
        &self,
        document: &T,
        format: &str,
        table: &str,
        lang: Lang,
    ) -> Result<String, ExportError> {
        match format {
            "json" => Ok(serde_json::to_string_pretty(document)?),
            "markdown" => Ok((self.markdown)(document, lang)),
            "html" => Ok((self.html)(document, lang)),
            "csv" => (self.csv)(document, table, lang).ok_or_else(|| ExportError::UnknownTable {
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

    #[test]
    fn csv_fields_that_a_spreadsheet_would_run_as_formulas_are_text() {
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("+49 30 1234"), "'+49 30 1234");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("- a list"), "'- a list");
        assert_eq!(csv_field("\tcmd"), "'\tcmd");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\", \"a, b\")"),
            "\"'=HYPERLINK(\"\"http://x\"\", \"\"a, b\"\")\""
        );
        // Numbers stay numbers; text with a sign inside is untouched.
        assert_eq!(csv_field("-3"), "-3");
        assert_eq!(csv_field("4.5"), "4.5");
        assert_eq!(csv_field("Ana-Lena"), "Ana-Lena");
    }
}
