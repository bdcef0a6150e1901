//! The series report: the figures a community host uses to judge a program — attendance per
//! session and per member, retention, who met whom, commitments made and kept, ratings over time.
//! Counts only: no text anyone wrote appears here.

use std::fmt::Write as _;

use circlekeeper_protocol::{Cadence, CycleChoice, Outcome};
use serde::{Deserialize, Serialize};

use super::{Names, RoomSummary};
use crate::series::SeriesRecord;

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
    let present = |s: &RoomSummary, member: &crate::series::Member| {
        s.attendance
            .iter()
            .any(|a| a.member.as_deref() == Some(member.id.as_str()))
    };
    let first: Vec<&str> = sessions
        .first()
        .map(|s| {
            series
                .members
                .iter()
                .filter(|m| present(s, m))
                .map(|m| m.id.as_str())
                .collect()
        })
        .unwrap_or_default();
    let session_rows = sessions
        .iter()
        .map(|s| {
            let came: Vec<&str> = series
                .members
                .iter()
                .filter(|m| present(s, m))
                .map(|m| m.id.as_str())
                .collect();
            let kept = first.iter().filter(|id| came.contains(id)).count();
            SessionFigures {
                room_id: s.room_id.clone(),
                started_at: s.started_at,
                attendance: came.len() as u32,
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
    let members = series
        .members
        .iter()
        .map(|m| {
            let by_session: Vec<bool> = sessions.iter().map(|s| present(s, m)).collect();
            MemberFigures {
                name: name_of(&m.id),
                attended: by_session.iter().filter(|&&b| b).count() as u32,
                by_session,
                choice: m.choice,
            }
        })
        .collect();
    let pairing_matrix = series
        .history
        .pairs()
        .map(|(a, b, met)| (name_of(a), name_of(b), met.len() as u32))
        .collect();
    let mut commitments = CommitmentFigures::default();
    for c in &series.commitments {
        commitments.made += 1;
        match c.outcome {
            Some(Outcome::Kept) => commitments.kept += 1,
            Some(Outcome::Partly) => commitments.partly += 1,
            Some(Outcome::Not) => commitments.not += 1,
            Some(Outcome::Changed) => commitments.changed += 1,
            None => {}
        }
    }
    SeriesReport {
        version: REPORT_VERSION,
        series_id: series.id.clone(),
        title: series.title.clone(),
        cadence: series.cadence,
        cycle_months: series.cycle_months,
        sessions: session_rows,
        members,
        pairing_matrix,
        commitments,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.1}"))
}

/// The report for people to read.
pub fn markdown(r: &SeriesReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", r.title);
    let _ = writeln!(out, "## Sessions\n\n| # | attendance | retention | survey | feedback |\n| ---: | ---: | ---: | ---: | ---: |");
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
    let _ = writeln!(out, "\n## Members\n\n| member | attended |\n| --- | ---: |");
    for m in &r.members {
        let _ = writeln!(
            out,
            "| {} | {} of {} |",
            m.name,
            m.attended,
            r.sessions.len()
        );
    }
    let _ = writeln!(out, "\n## Who met whom\n");
    for (a, b, n) in &r.pairing_matrix {
        let _ = writeln!(out, "- {a} · {b}: {n}");
    }
    let c = &r.commitments;
    let _ = writeln!(
        out,
        "\n## Commitments\n\n{} made: {} kept, {} partly, {} not, {} changed.",
        c.made, c.kept, c.partly, c.not, c.changed
    );
    out
}

/// The CSV tables a report has.
pub const REPORT_TABLES: &[&str] = &["sessions", "members", "pairs"];

/// One table of the report as CSV, or `None` for an unknown table.
pub fn csv(r: &SeriesReport, table: &str) -> Option<String> {
    let mut out = String::new();
    match table {
        "sessions" => {
            out.push_str("session,room_id,attendance,retention,survey_mean,feedback_mean\n");
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
            out.push_str("member,attended\n");
            for m in &r.members {
                let _ = writeln!(out, "{},{}", super::csv_field(&m.name), m.attended);
            }
        }
        "pairs" => {
            out.push_str("a,b,times\n");
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
    let mut people: Vec<(String, String)> = Vec::new();
    for s in sessions {
        for a in s
            .attendance
            .iter()
            .filter(|a| a.standing == circlekeeper_protocol::Standing::Participant)
        {
            let k = key(a);
            if !people.iter().any(|(p, _)| *p == k) {
                people.push((k, a.name.clone()));
            }
        }
    }
    let shown = |i: usize| match names {
        Names::Pseudonymised => format!("Member {}", i + 1),
        Names::Shown => people[i].1.clone(),
    };
    let came = |s: &RoomSummary, k: &str| s.attendance.iter().any(|a| key(a) == k);
    let first: Vec<&str> = sessions
        .first()
        .map(|s| {
            people
                .iter()
                .filter(|(k, _)| came(s, k))
                .map(|(k, _)| k.as_str())
                .collect()
        })
        .unwrap_or_default();
    let session_rows = sessions
        .iter()
        .map(|s| {
            let present: Vec<&str> = people
                .iter()
                .filter(|(k, _)| came(s, k))
                .map(|(k, _)| k.as_str())
                .collect();
            let kept = first.iter().filter(|k| present.contains(k)).count();
            SessionFigures {
                room_id: s.room_id.clone(),
                started_at: s.started_at,
                attendance: present.len() as u32,
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
    let members = (0..people.len())
        .map(|i| {
            let by_session: Vec<bool> = sessions.iter().map(|s| came(s, &people[i].0)).collect();
            MemberFigures {
                name: shown(i),
                attended: by_session.iter().filter(|&&b| b).count() as u32,
                by_session,
                choice: None,
            }
        })
        .collect();
    // Who met whom, from each session's pairs (by the names the summaries carry).
    let mut matrix: Vec<(String, String, u32)> = Vec::new();
    for s in sessions {
        for g in &s.pairings {
            for (i, a) in g.iter().enumerate() {
                for b in &g[i + 1..] {
                    let index = |n: &str| people.iter().position(|(_, name)| name == n);
                    let (Some(x), Some(y)) = (index(a), index(b)) else {
                        continue;
                    };
                    let (x, y) = (x.min(y), x.max(y));
                    let (a, b) = (shown(x), shown(y));
                    match matrix.iter_mut().find(|(p, q, _)| *p == a && *q == b) {
                        Some(row) => row.2 += 1,
                        None => matrix.push((a, b, 1)),
                    }
                }
            }
        }
    }
    let mut commitments = CommitmentFigures::default();
    for c in sessions.iter().flat_map(|s| &s.commitments) {
        commitments.made += 1;
        match c.outcome {
            Some(Outcome::Kept) => commitments.kept += 1,
            Some(Outcome::Partly) => commitments.partly += 1,
            Some(Outcome::Not) => commitments.not += 1,
            Some(Outcome::Changed) => commitments.changed += 1,
            None => {}
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
        commitments,
    }
}
