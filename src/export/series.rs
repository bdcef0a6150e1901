//! The series report: the figures a community host uses to judge a program — attendance per
//! session and per member, retention, who met whom, commitments made and kept, ratings over time.
//! Counts only: no text anyone wrote appears here.
//!
//! Pseudonyms ("Member N") are dealt out in an order shuffled afresh for each report (a random
//! seed per export), and pseudonymised rows are listed by pseudonym: neither the numbers nor
//! the order follow the member list, and no member id appears.

use std::fmt::Write as _;

use circlekeeper_protocol::{Cadence, CycleChoice, Outcome};
use serde::{Deserialize, Serialize};

use super::dates::{iso, iso_opt, readable, readable_duration};
use super::{ExportError, Names, OutcomeCounts, Renderer, RoomSummary};
use crate::series::SeriesRecord;
use crate::texts::{fill, label, Lang};

/// The version of the report's JSON shape.
pub const REPORT_VERSION: u32 = 1;

/// A series, in figures.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// A date range report's first instant (epoch ms; absent in a series report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// `from` in ISO 8601 (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_iso: Option<String>,
    /// A date range report's end (epoch ms, not included; absent in a series report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<u64>,
    /// `to` in ISO 8601 (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_iso: Option<String>,
}

/// One session's figures.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// `started_at` in ISO 8601 (UTC).
    #[serde(default)]
    pub started_at_iso: Option<String>,
    /// From start to end, ms (null while it has not ended).
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Participants who came with a member link (facilitators not counted).
    #[serde(default)]
    pub members: u32,
    /// Other participants: guests (facilitators not counted).
    #[serde(default)]
    pub guests: u32,
    /// Commitments made in this session (any visibility).
    #[serde(default)]
    pub commitments_made: u32,
    /// Reviews made in this session, by outcome (of its own commitments and earlier ones; any
    /// visibility).
    #[serde(default)]
    pub reviewed: OutcomeCounts,
    /// The series the session belongs to (in a date range report; absent outside a series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<String>,
}

/// One member's figures.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// A guest (no member link; in a date range report, one row per guest per room).
    #[serde(default)]
    pub guest: bool,
}

/// Commitments in numbers.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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

/// Who a report is about: a stable key, the name to show, an end-of-cycle choice, and whether
/// they are a guest.
pub(super) struct Person {
    pub key: String,
    pub name: String,
    pub choice: Option<CycleChoice>,
    pub guest: bool,
}

/// Pseudonyms for `n` people: `"{prefix} N"` with N from 1 to `n` dealt in an order shuffled by
/// `seed`, so the numbers say nothing of who is who.
pub(super) fn pseudonyms(prefix: &str, n: usize, seed: u64) -> Vec<String> {
    let mut numbers: Vec<usize> = (1..=n).collect();
    crate::random::shuffle(&mut numbers, seed);
    numbers.iter().map(|i| format!("{prefix} {i}")).collect()
}

/// "Member 2" before "Member 10".
fn pseudonym_order(name: &str) -> (String, u64) {
    match name.rsplit_once(' ') {
        Some((prefix, n)) => (prefix.to_string(), n.parse().unwrap_or(0)),
        None => (name.to_string(), 0),
    }
}

/// With pseudonyms, list people and pairs by pseudonym (members first, then guests), so the
/// order of rows says nothing of the member list either.
pub(super) fn order_rows(
    names: Names,
    members: &mut [MemberFigures],
    pairs: &mut [(String, String, u32)],
) {
    if names == Names::Pseudonymised {
        members.sort_by_key(|m| (m.guest, pseudonym_order(&m.name)));
        for (a, b, _) in pairs.iter_mut() {
            if pseudonym_order(a) > pseudonym_order(b) {
                std::mem::swap(a, b);
            }
        }
        pairs.sort_by_key(|(a, b, _)| (pseudonym_order(a), pseudonym_order(b)));
    }
}

/// Attendance, retention and ratings per session, and attendance per person: the figures both
/// reports share. `came` says whether a person (by key) attended a session.
pub(super) fn attendance(
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
                started_at_iso: iso_opt(s.started_at),
                duration_ms: s.duration_ms,
                members: s.members,
                guests: s.guests,
                commitments_made: s.commitment_counts.made,
                reviewed: s.commitment_counts.reviewed.clone(),
                series_id: None,
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
                guest: p.guest,
            }
        })
        .collect();
    (session_rows, members)
}

impl CommitmentFigures {
    /// Commitments made, and reviews by outcome.
    pub(super) fn of(made: u32, reviewed: &OutcomeCounts) -> CommitmentFigures {
        CommitmentFigures {
            made,
            kept: reviewed.kept,
            partly: reviewed.partly,
            not: reviewed.not,
            changed: reviewed.changed,
        }
    }

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

/// Render a report in a format (`json`, `markdown`, `csv` with a table, `html`), its Markdown,
/// CSV and HTML in `lang`.
pub fn render(
    report: &SeriesReport,
    format: &str,
    table: &str,
    lang: Lang,
) -> Result<String, ExportError> {
    Renderer {
        markdown,
        csv,
        html: super::html::report,
        tables: REPORT_TABLES,
    }
    .render(report, format, table, lang)
}

/// Build the report from the series record and each session's summary (in session order, with
/// real names: pseudonyms are applied here, shuffled by a fresh random seed).
pub fn report(series: &SeriesRecord, sessions: &[RoomSummary], names: Names) -> SeriesReport {
    report_seeded(series, sessions, names, crate::secret::random_seed())
}

/// [`report`] with the seed that deals the pseudonyms.
pub fn report_seeded(
    series: &SeriesRecord,
    sessions: &[RoomSummary],
    names: Names,
    seed: u64,
) -> SeriesReport {
    let pseudonym = pseudonyms("Member", series.members.len(), seed);
    let name_of = |id: &str| -> String {
        let index = series.members.iter().position(|m| m.id == id);
        match (names, index) {
            (Names::Pseudonymised, Some(i)) => pseudonym[i].clone(),
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
            guest: false,
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
    let (session_rows, mut members) = attendance(sessions, &people, |s, id| {
        let before = was_guest(id);
        s.attendance.iter().any(|a| {
            a.member
                .as_deref()
                .is_some_and(|m| m == id || before.contains(&m))
        })
    });
    let mut pairing_matrix: Vec<(String, String, u32)> = series
        .history
        .pairs()
        .map(|(a, b, met)| (name_of(a), name_of(b), met.len() as u32))
        .collect();
    order_rows(names, &mut members, &mut pairing_matrix);
    SeriesReport {
        version: REPORT_VERSION,
        series_id: series.id.clone(),
        title: series.title.clone(),
        cadence: series.cadence,
        cycle_months: series.cycle_months,
        sessions: session_rows,
        members,
        pairing_matrix,
        // The series record keeps every member's commitments, any visibility, with the outcome
        // of their review in a later session.
        commitments: CommitmentFigures::tally(series.commitments.iter().map(|c| &c.outcome)),
        from: None,
        from_iso: None,
        to: None,
        to_iso: None,
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
        "## {}\n\n| # | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n\
         | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        l("Sessions"),
        l("date"),
        l("duration"),
        l("attendance"),
        l("guests"),
        l("retention"),
        l("survey"),
        l("feedback"),
        l("made"),
        l("reviewed"),
    );
    for (i, s) in r.sessions.iter().enumerate() {
        let date = s.started_at.map(|t| readable(t, lang)).unwrap_or_default();
        let duration = s.duration_ms.map(readable_duration).unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {date} | {duration} | {} | {} | {:.0} % | {} | {} | {} | {} |",
            i + 1,
            s.attendance,
            s.guests,
            s.retention * 100.0,
            opt(s.survey_mean),
            opt(s.feedback_mean),
            s.commitments_made,
            s.reviewed.total(),
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
        let guest = if m.guest {
            format!(" ({})", l("guest"))
        } else {
            String::new()
        };
        let _ = writeln!(out, "| {}{guest} | {of} |", m.name);
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
                    "started_at",
                    "duration_ms",
                    "members",
                    "guests",
                    "commitments_made",
                    "kept",
                    "partly",
                    "not",
                    "changed",
                ],
            );
            for (i, s) in r.sessions.iter().enumerate() {
                let c = &s.reviewed;
                let _ = writeln!(
                    out,
                    "{},{},{},{:.3},{},{},{},{},{},{},{},{},{},{},{}",
                    i + 1,
                    super::csv_field(&s.room_id),
                    s.attendance,
                    s.retention,
                    opt(s.survey_mean),
                    opt(s.feedback_mean),
                    s.started_at.map(iso).unwrap_or_default(),
                    s.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                    s.members,
                    s.guests,
                    s.commitments_made,
                    c.kept,
                    c.partly,
                    c.not,
                    c.changed,
                );
            }
        }
        "members" => {
            header(&mut out, &["member", "attended", "guest"]);
            for m in &r.members {
                let _ = writeln!(
                    out,
                    "{},{},{}",
                    super::csv_field(&m.name),
                    m.attended,
                    m.guest
                );
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

#[cfg(test)]
pub(super) mod tests {
    use circlekeeper_protocol::Standing;

    use super::*;
    use crate::export::{Attendance, CommitmentCounts, FollowUps};
    use crate::series::Member;

    /// A session's summary with these participants, as `(name, member id)`.
    pub(crate) fn summary(
        room: &str,
        series: Option<&str>,
        people: &[(&str, Option<&str>)],
    ) -> RoomSummary {
        let attendance: Vec<Attendance> = people
            .iter()
            .map(|(name, member)| Attendance {
                name: name.to_string(),
                standing: Standing::Participant,
                joined_at: 0,
                left_at: None,
                member: member.map(str::to_string),
                joined_at_iso: String::new(),
                left_at_iso: None,
            })
            .collect();
        let members = people.iter().filter(|p| p.1.is_some()).count() as u32;
        RoomSummary {
            version: 1,
            room_id: room.into(),
            title: room.into(),
            format: "Coaching swap".into(),
            started_at: Some(0),
            ended_at: None,
            facilitators: Vec::new(),
            attendance,
            stages: Vec::new(),
            presenter_order: Vec::new(),
            pairings: Vec::new(),
            floor_time_by_role: Vec::new(),
            commitments: Vec::new(),
            feedback: Vec::new(),
            survey: Vec::new(),
            series_id: series.map(str::to_string),
            started_at_iso: None,
            ended_at_iso: None,
            duration_ms: None,
            participants: people.len() as u32,
            members,
            guests: people.len() as u32 - members,
            commitment_counts: CommitmentCounts::default(),
            follow_ups: FollowUps::default(),
        }
    }

    fn series_of(n: usize) -> SeriesRecord {
        SeriesRecord {
            id: "s".into(),
            title: "S".into(),
            cadence: Cadence::Monthly,
            cycle_months: 6,
            host_key_hash: [0; 32],
            members: (1..=n)
                .map(|i| Member {
                    id: format!("m{i}"),
                    name: format!("Name{i}"),
                    key_hash: [0; 32],
                    choice: None,
                    avoid: Vec::new(),
                })
                .collect(),
            sessions: Vec::new(),
            history: Default::default(),
            planned: Vec::new(),
            commitments: Vec::new(),
            created_at: 0,
            calendar: Default::default(),
            roster: Default::default(),
            calls: Default::default(),
            webhooks: Vec::new(),
        }
    }

    #[test]
    fn pseudonyms_do_not_follow_the_member_list_and_rows_are_listed_by_pseudonym() {
        let series = series_of(8);
        // Only the first member came: their row tells who is who.
        let session = summary("r1", Some("s"), &[("Name1", Some("m1"))]);
        let mut first_was_not_member_1 = false;
        for seed in 0..8 {
            let r = report_seeded(
                &series,
                std::slice::from_ref(&session),
                Names::Pseudonymised,
                seed,
            );
            let names: Vec<&str> = r.members.iter().map(|m| m.name.as_str()).collect();
            let expected: Vec<String> = (1..=8).map(|i| format!("Member {i}")).collect();
            assert_eq!(
                names,
                expected.iter().map(String::as_str).collect::<Vec<_>>()
            );
            let text = serde_json::to_string(&r).expect("json");
            assert!(
                !text.contains("\"m1\"") && !text.contains("Name1"),
                "{text}"
            );
            let came = r
                .members
                .iter()
                .find(|m| m.attended == 1)
                .expect("the one who came");
            first_was_not_member_1 |= came.name != "Member 1";
        }
        assert!(first_was_not_member_1, "pseudonyms follow the member list");
        // The same seed deals the same pseudonyms; shown names keep the member order.
        assert_eq!(
            report_seeded(
                &series,
                std::slice::from_ref(&session),
                Names::Pseudonymised,
                3
            ),
            report_seeded(
                &series,
                std::slice::from_ref(&session),
                Names::Pseudonymised,
                3
            )
        );
        let shown = report_seeded(&series, &[session], Names::Shown, 3);
        assert_eq!(shown.members[0].name, "Name1");
        assert_eq!(shown.members[0].attended, 1);
    }

    #[test]
    fn commitments_in_a_series_report_are_the_series_records_with_their_outcomes() {
        use circlekeeper_protocol::{Commitment, Outcome, Visibility};
        let mut series = series_of(2);
        for (i, (visibility, outcome)) in [
            (Visibility::Private, Some(Outcome::Kept)),
            (Visibility::Circle, Some(Outcome::Not)),
            (Visibility::Exportable, None),
        ]
        .into_iter()
        .enumerate()
        {
            series.commitments.push(Commitment {
                id: format!("r1-{i}"),
                author: 1,
                name: "Name1".into(),
                member: Some("m1".into()),
                text: "x".into(),
                due: None,
                visibility,
                made_at: 0,
                outcome,
            });
        }
        let r = report_seeded(&series, &[], Names::Shown, 0);
        let c = &r.commitments;
        assert_eq!(
            (c.made, c.kept, c.partly, c.not, c.changed),
            (3, 1, 0, 1, 0)
        );
    }
}
