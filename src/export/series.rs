//! The series report: the figures a community host uses to judge a program — attendance per
//! session and per member, retention, who met whom, commitments made and kept, ratings over time.
//! Counts only: no text anyone wrote appears here.

use std::fmt::Write as _;

use circlekeeper_protocol::{Cadence, CycleChoice, Outcome};
use serde::{Deserialize, Serialize};

use super::{ExportError, Names, Renderer, RoomSummary};
use crate::series::SeriesRecord;
use crate::texts::{fill, label, Lang};

/// The version of the report's JSON shape.
pub const REPORT_VERSION: u32 = 1;

/// A series, in figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesReport {
    /// Shape version.
    pub version: u32,
    /// Series id.
    pub series_id: String,
    /// Title.
    pub title: String,
    /// How often it meets.
    pub cadence: Cadence,
    /// Months in a cycle.
    pub cycle_months: u8,
    /// One row per session, oldest first.
    pub sessions: Vec<SessionFigures>,
    /// One row per member.
    pub members: Vec<MemberFigures>,
    /// Who met whom, and how often (names or pseudonyms).
    pub pairing_matrix: Vec<(String, String, u32)>,
    /// Commitments made and how they went (all visibilities: counts only).
    pub commitments: CommitmentFigures,
}

/// One session's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFigures {
    /// Room id.
    pub room_id: String,
    /// When it started.
    pub started_at: Option<u64>,
    /// Members present.
    pub attendance: u32,
    /// Share of the first session's members who came to this one.
    pub retention: f64,
    /// Mean survey rating, if anyone answered.
    pub survey_mean: Option<f64>,
    /// Mean rating clients gave their coaches, if any.
    pub feedback_mean: Option<f64>,
}

/// One member's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberFigures {
    /// Name or pseudonym.
    pub name: String,
    /// Sessions attended.
    pub attended: u32,
    /// Attendance per session, oldest first.
    pub by_session: Vec<bool>,
    /// End-of-cycle choice, if made.
    pub choice: Option<CycleChoice>,
}

/// Commitments in numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitmentFigures {
    /// Made.
    pub made: u32,
    /// Reviewed as kept.
    pub kept: u32,
    /// Reviewed as partly kept.
    pub partly: u32,
    /// Reviewed as not kept.
    pub not: u32,
    /// Reviewed as changed.
    pub changed: u32,
}

fn mean(values: &[u8]) -> Option<f64> {
    (!values.is_empty())
        .then(|| values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64)
}

/// Who a report is about: a stable key, the name to show, and an end-of-cycle choice.
struct Person {
    key: String,
    name: String,
    choice: Option<CycleChoice>,
}

/// Attendance, retention and ratings per session, and attendance per person: the figures both
/// reports share. `came` says whether a person (by key) attended a session.
fn attendance(
    sessions: &[RoomSummary],
    people: &[Person],
    came: impl Fn(&RoomSummary, &str) -> bool,
) -> (Vec<SessionFigures>, Vec<MemberFigures>) {
    let present = |s: &RoomSummary| -> Vec<&str> {
        people
            .iter()
            .filter(|p| came(s, &p.key))
            .map(|p| p.key.as_str())
            .collect()
    };
    let first = sessions.first().map(present).unwrap_or_default();
    let session_rows = sessions
        .iter()
        .map(|s| {
            let here = present(s);
            let kept = first.iter().filter(|k| here.contains(k)).count();
            SessionFigures {
                room_id: s.room_id.clone(),
                started_at: s.started_at,
                attendance: here.len() as u32,
                retention: if first.is_empty() {
                    0.0
                } else {
                    kept as f64 / first.len() as f64
                },
                survey_mean: mean(&s.survey.iter().map(|a| a.rating).collect::<Vec<_>>()),
                feedback_mean: mean(&s.feedback.iter().map(|f| f.rating).collect::<Vec<_>>()),
            }
        })
        .collect();
    let members = people
        .iter()
        .map(|p| {
            let by_session: Vec<bool> = sessions.iter().map(|s| came(s, &p.key)).collect();
            MemberFigures {
                name: p.name.clone(),
                attended: by_session.iter().filter(|&&b| b).count() as u32,
                by_session,
                choice: p.choice,
            }
        })
        .collect();
    (session_rows, members)
}

impl CommitmentFigures {
    /// Count commitments by how they went.
    fn tally<'a>(outcomes: impl IntoIterator<Item = &'a Option<Outcome>>) -> CommitmentFigures {
        let mut c = CommitmentFigures::default();
        for outcome in outcomes {
            c.made += 1;
            match outcome {
                Some(Outcome::Kept) => c.kept += 1,
                Some(Outcome::Partly) => c.partly += 1,
                Some(Outcome::Not) => c.not += 1,
                Some(Outcome::Changed) => c.changed += 1,
                None => {}
            }
        }
        c
    }
}

/// Render a report in a format (`json`, `markdown`, `csv` with a table), its Markdown and CSV
/// in `lang`.
pub fn render(
    report: &SeriesReport,
    format: &str,
    table: &str,
    lang: Lang,
) -> Result<String, ExportError> {
    Renderer {
        markdown,
        csv,
        tables: REPORT_TABLES,
    }
    .render(report, format, table, lang)
}

/// Build the report from the series record and each session's summary (in session order, with
/// real names: pseudonyms are applied here, by member order).
pub fn report(series: &SeriesRecord, sessions: &[RoomSummary], names: Names) -> SeriesReport {
    let name_of = |id: &str| -> String {
        let index = series.members.iter().position(|m| m.id == id);
        match (names, index) {
            (Names::Pseudonymised, Some(i)) => format!("Member {}", i + 1),
            (Names::Shown, Some(i)) => series.members[i].name.clone(),
            (_, None) => "Guest".to_string(),
        }
    };
    let people: Vec<Person> = series
        .members
        .iter()
        .map(|m| Person {
            key: m.id.clone(),
            name: name_of(&m.id),
            choice: m.choice,
        })
        .collect();
    // A guest made a member attended their sessions as a guest under their guest id.
    let was_guest = |id: &str| -> Vec<&str> {
        series
            .roster
            .guests
            .iter()
            .filter(|g| g.member.as_deref() == Some(id))
            .map(|g| g.id.as_str())
            .collect()
    };
    let (session_rows, members) = attendance(sessions, &people, |s, id| {
        let before = was_guest(id);
        s.attendance.iter().any(|a| {
            a.member
                .as_deref()
                .is_some_and(|m| m == id || before.contains(&m))
        })
    });
    let pairing_matrix = series
        .history
        .pairs()
        .map(|(a, b, met)| (name_of(a), name_of(b), met.len() as u32))
        .collect();
    SeriesReport {
        version: REPORT_VERSION,
        series_id: series.id.clone(),
        title: series.title.clone(),
        cadence: series.cadence,
        cycle_months: series.cycle_months,
        sessions: session_rows,
        members,
        pairing_matrix,
        commitments: CommitmentFigures::tally(series.commitments.iter().map(|c| &c.outcome)),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.1}"))
}

/// The report for people to read, in `lang` (headings and fixed words; names as they are).
pub fn markdown(r: &SeriesReport, lang: Lang) -> String {
    let l = |english: &'static str| label(lang, english);
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", r.title);
    let _ = writeln!(
        out,
        "## {}\n\n| # | {} | {} | {} | {} |\n| ---: | ---: | ---: | ---: | ---: |",
        l("Sessions"),
        l("attendance"),
        l("retention"),
        l("survey"),
        l("feedback")
    );
    for (i, s) in r.sessions.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} % | {} | {} |",
            i + 1,
            s.attendance,
            s.retention * 100.0,
            opt(s.survey_mean),
            opt(s.feedback_mean)
        );
    }
    let _ = writeln!(
        out,
        "\n## {}\n\n| {} | {} |\n| --- | ---: |",
        l("Members"),
        l("member"),
        l("attended")
    );
    let total = r.sessions.len().to_string();
    for m in &r.members {
        let attended = m.attended.to_string();
        let of = fill(l("{n} of {total}"), &[("n", &attended), ("total", &total)]);
        let _ = writeln!(out, "| {} | {of} |", m.name);
    }
    let _ = writeln!(out, "\n## {}\n", l("Who met whom"));
    for (a, b, n) in &r.pairing_matrix {
        let _ = writeln!(out, "- {a} · {b}: {n}");
    }
    let c = &r.commitments;
    let figures = [
        ("made", c.made.to_string()),
        ("kept", c.kept.to_string()),
        ("partly", c.partly.to_string()),
        ("not", c.not.to_string()),
        ("changed", c.changed.to_string()),
    ];
    let figures: Vec<(&str, &str)> = figures.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sentence = fill(
        l("{made} made: {kept} kept, {partly} partly, {not} not, {changed} changed."),
        &figures,
    );
    let _ = writeln!(out, "\n## {}\n\n{sentence}", l("Commitments"));
    out
}

/// The CSV tables a report has.
pub const REPORT_TABLES: &[&str] = &["sessions", "members", "pairs"];

/// One table of the report as CSV, or `None` for an unknown table; the header row in `lang`.
pub fn csv(r: &SeriesReport, table: &str, lang: Lang) -> Option<String> {
    let mut out = String::new();
    let header = |out: &mut String, names: &[&'static str]| {
        let names: Vec<String> = names
            .iter()
            .map(|n| super::csv_field(label(lang, n)))
            .collect();
        let _ = writeln!(out, "{}", names.join(","));
    };
    match table {
        "sessions" => {
            header(
                &mut out,
                &[
                    "session",
                    "room_id",
                    "attendance",
                    "retention",
                    "survey_mean",
                    "feedback_mean",
                ],
            );
            for (i, s) in r.sessions.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{},{},{},{:.3},{},{}",
                    i + 1,
                    s.room_id,
                    s.attendance,
                    s.retention,
                    opt(s.survey_mean),
                    opt(s.feedback_mean)
                );
            }
        }
        "members" => {
            header(&mut out, &["member", "attended"]);
            for m in &r.members {
                let _ = writeln!(out, "{},{}", super::csv_field(&m.name), m.attended);
            }
        }
        "pairs" => {
            header(&mut out, &["a", "b", "times"]);
            for (a, b, n) in &r.pairing_matrix {
                let _ = writeln!(out, "{},{},{n}", super::csv_field(a), super::csv_field(b));
            }
        }
        _ => return None,
    }
    Some(out)
}

/// A report over the sessions of a date range, across series and lone rooms: the same figures,
/// with people told apart by member id where they have one and by name otherwise. Commitments
/// are counted from the summaries, so only exportable ones are counted here.
pub fn range_report(title: &str, sessions: &[RoomSummary], names: Names) -> SeriesReport {
    let key = |a: &super::Attendance| {
        a.member
            .clone()
            .unwrap_or_else(|| format!("name:{}", a.name))
    };
    let mut seen: Vec<(String, String)> = Vec::new();
    for s in sessions {
        for a in s
            .attendance
            .iter()
            .filter(|a| a.standing == circlekeeper_protocol::Standing::Participant)
        {
            let k = key(a);
            if !seen.iter().any(|(p, _)| *p == k) {
                seen.push((k, a.name.clone()));
            }
        }
    }
    let people: Vec<Person> = seen
        .iter()
        .enumerate()
        .map(|(i, (k, name))| Person {
            key: k.clone(),
            name: match names {
                Names::Pseudonymised => format!("Member {}", i + 1),
                Names::Shown => name.clone(),
            },
            choice: None,
        })
        .collect();
    let (session_rows, members) = attendance(sessions, &people, |s, k| {
        s.attendance.iter().any(|a| key(a) == k)
    });
    // Who met whom, from each session's pairs (by the names the summaries carry).
    let mut matrix: Vec<(String, String, u32)> = Vec::new();
    for s in sessions {
        for g in &s.pairings {
            for (i, a) in g.iter().enumerate() {
                for b in &g[i + 1..] {
                    let index = |n: &str| seen.iter().position(|(_, name)| name == n);
                    let (Some(x), Some(y)) = (index(a), index(b)) else {
                        continue;
                    };
                    let (x, y) = (x.min(y), x.max(y));
                    let (a, b) = (people[x].name.clone(), people[y].name.clone());
                    match matrix.iter_mut().find(|(p, q, _)| *p == a && *q == b) {
                        Some(row) => row.2 += 1,
                        None => matrix.push((a, b, 1)),
                    }
                }
            }
        }
    }
    SeriesReport {
        version: REPORT_VERSION,
        series_id: String::new(),
        title: title.to_string(),
        cadence: Cadence::Custom,
        cycle_months: 0,
        sessions: session_rows,
        members,
        pairing_matrix: matrix,
        commitments: CommitmentFigures::tally(
            sessions
                .iter()
                .flat_map(|s| &s.commitments)
                .map(|c| &c.outcome),
        ),
    }
}
