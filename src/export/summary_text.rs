//! A session's summary for people (Markdown) and for spreadsheets (CSV, one table at a time),
//! in a language. Both are written from a [`RoomSummary`], which holds exportable text only.

use std::fmt::Write as _;

use circlekeeper_protocol::Standing;

use super::dates::{iso, readable, readable_duration};
use super::{code_of, count, csv_field, mean_rating, minutes, OutcomeCounts, RoomSummary};
use crate::texts::{fill, label, Lang};

/// "{reviewed} reviewed: {kept} kept, …" in `lang`.
pub(super) fn reviewed_sentence(lang: Lang, c: &OutcomeCounts) -> String {
    let figures = [
        ("reviewed", c.total().to_string()),
        ("kept", c.kept.to_string()),
        ("partly", c.partly.to_string()),
        ("not", c.not.to_string()),
        ("changed", c.changed.to_string()),
    ];
    let figures: Vec<(&str, &str)> = figures.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fill(
        label(
            lang,
            "{reviewed} reviewed: {kept} kept, {partly} partly, {not} not, {changed} changed.",
        ),
        &figures,
    )
}

/// The summary for people to read, in `lang`: headings and fixed words, dates, built-in format
/// names and stage titles translated; what people wrote (titles, names, commitments) as written.
pub fn markdown(s: &RoomSummary, lang: Lang) -> String {
    let l = |english: &'static str| label(lang, english);
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", s.title);
    let format = lang.t(&s.format);
    let facilitators = s.facilitators.join(", ");
    // The people the session was for: facilitators are named on their own line, not counted.
    let attendance = s
        .attendance
        .iter()
        .filter(|a| a.standing == Standing::Participant)
        .count()
        .to_string();
    let _ = writeln!(
        out,
        "- {}",
        fill(l("Format: {format}"), &[("format", format)])
    );
    if let Some(start) = s.started_at {
        let date = readable(start, lang);
        let _ = writeln!(out, "- {}", fill(l("Date: {date}"), &[("date", &date)]));
    }
    if let Some(ms) = s.duration_ms {
        let duration = readable_duration(ms);
        let _ = writeln!(
            out,
            "- {}",
            fill(l("Duration: {duration}"), &[("duration", &duration)])
        );
    }
    let _ = writeln!(
        out,
        "- {}",
        fill(l("Facilitated by: {names}"), &[("names", &facilitators)])
    );
    let _ = writeln!(
        out,
        "- {}",
        fill(
            l("Attendance: {n} (not counting facilitators)"),
            &[("n", &attendance)]
        )
    );
    let (members, guests) = (s.members.to_string(), s.guests.to_string());
    let _ = writeln!(
        out,
        "- {}\n",
        fill(
            l("Members: {members}, guests: {guests}"),
            &[("members", &members), ("guests", &guests)]
        )
    );
    let _ = writeln!(
        out,
        "## {}\n\n| {} | {} | {} | {} |\n| --- | --- | ---: | ---: |",
        l("Stages"),
        l("stage"),
        l("presenter"),
        l("planned"),
        l("actual")
    );
    for st in &s.stages {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            lang.t(&st.title),
            st.presenter.as_deref().unwrap_or(""),
            minutes(st.planned_ms),
            minutes(st.actual_ms)
        );
    }
    if !s.presenter_order.is_empty() {
        let _ = writeln!(
            out,
            "\n## {}\n\n{}",
            l("Presenters"),
            s.presenter_order.join(", ")
        );
    }
    if !s.pairings.is_empty() {
        let _ = writeln!(out, "\n## {}\n", l("Pairs"));
        for g in &s.pairings {
            let _ = writeln!(out, "- {}", g.join(" · "));
        }
    }
    if !s.floor_time_by_role.is_empty() {
        let _ = writeln!(out, "\n## {}\n", l("Floor time by role"));
        for (role, ms) in &s.floor_time_by_role {
            let code = code_of(role);
            let _ = writeln!(out, "- {}: {}", lang.t(&code), minutes(*ms));
        }
    }
    if s.commitment_counts.made > 0 || !s.commitments.is_empty() {
        let made = s.commitment_counts.made.to_string();
        let _ = writeln!(
            out,
            "\n## {}\n\n{}\n",
            l("Commitments"),
            fill(
                l("{n} made in this session (all visibilities); listed here: the ones shared for export."),
                &[("n", &made)]
            )
        );
        for c in &s.commitments {
            let due = c
                .due
                .as_deref()
                .map(|d| fill(l(" (by {due})"), &[("due", d)]))
                .unwrap_or_default();
            let _ = writeln!(out, "- {}: {}{}", c.author, c.text, due);
        }
    }
    if s.follow_ups.counts.total() > 0 {
        let _ = writeln!(
            out,
            "\n## {}\n\n{}\n",
            l("Earlier commitments reviewed"),
            reviewed_sentence(lang, &s.follow_ups.counts)
        );
        for f in &s.follow_ups.reviewed {
            let outcome = code_of(f.outcome);
            let _ = writeln!(out, "- {}: {} ({})", f.author, f.text, lang.t(&outcome));
        }
    }
    let ratings: Vec<u8> = s.feedback.iter().map(|f| f.rating).collect();
    if !ratings.is_empty() {
        let mean = ratings.iter().map(|&r| f64::from(r)).sum::<f64>() / ratings.len() as f64;
        let counted = count(lang, ratings.len(), "1 rating", "{n} ratings");
        let _ = writeln!(
            out,
            "\n## {}\n\n{}",
            l("Feedback to coaches"),
            mean_rating(lang, mean, &counted)
        );
        for f in s.feedback.iter().filter(|f| f.helped.is_some()) {
            let line = fill(
                l("To {coach}: helped: {helped}; helped less: {less}"),
                &[
                    ("coach", &f.coach),
                    ("helped", f.helped.as_deref().unwrap_or("")),
                    ("less", f.helped_less.as_deref().unwrap_or("")),
                ],
            );
            let _ = writeln!(out, "- {line}");
        }
    }
    if !s.survey.is_empty() {
        let mean =
            s.survey.iter().map(|a| f64::from(a.rating)).sum::<f64>() / s.survey.len() as f64;
        let counted = count(lang, s.survey.len(), "1 answer", "{n} answers");
        let _ = writeln!(
            out,
            "\n## {}\n\n{}",
            l("Survey"),
            mean_rating(lang, mean, &counted)
        );
        for c in s.survey.iter().filter_map(|a| a.comment.as_deref()) {
            let _ = writeln!(out, "- {c}");
        }
    }
    out
}

/// The CSV tables a summary has.
pub const CSV_TABLES: &[&str] = &[
    "attendance",
    "stages",
    "pairs",
    "commitments",
    "follow_ups",
    "session",
];

/// One table of the summary as CSV, or `None` for an unknown table. The header row and
/// built-in stage titles are in `lang`; values that are codes (standing, outcome) stay as they
/// are, for the programs that read them; instants are ISO 8601 (UTC), durations ms.
pub fn csv(s: &RoomSummary, table: &str, lang: Lang) -> Option<String> {
    let mut out = String::new();
    let row = |out: &mut String, fields: &[String]| {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        let _ = writeln!(out, "{}", line.join(","));
    };
    let header = |out: &mut String, names: &[&'static str]| {
        let names: Vec<String> = names.iter().map(|n| label(lang, n).to_owned()).collect();
        row(out, &names);
    };
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    match table {
        "attendance" => {
            header(&mut out, &["name", "standing", "joined_at", "left_at"]);
            for a in &s.attendance {
                row(
                    &mut out,
                    &[
                        a.name.clone(),
                        code_of(a.standing),
                        iso(a.joined_at),
                        a.left_at.map(iso).unwrap_or_default(),
                    ],
                );
            }
        }
        "stages" => {
            header(
                &mut out,
                &[
                    "index",
                    "title",
                    "planned_ms",
                    "actual_ms",
                    "presenter",
                    "started_at",
                ],
            );
            for st in &s.stages {
                row(
                    &mut out,
                    &[
                        st.index.to_string(),
                        lang.t(&st.title).to_owned(),
                        st.planned_ms.to_string(),
                        st.actual_ms.to_string(),
                        st.presenter.clone().unwrap_or_default(),
                        iso(st.started_at),
                    ],
                );
            }
        }
        "pairs" => {
            header(&mut out, &["group", "members"]);
            for (i, g) in s.pairings.iter().enumerate() {
                row(&mut out, &[(i + 1).to_string(), g.join(" · ")]);
            }
        }
        "commitments" => {
            header(&mut out, &["author", "text", "due", "outcome"]);
            for c in &s.commitments {
                let outcome = c.outcome.map(code_of).unwrap_or_default();
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
        "follow_ups" => {
            header(&mut out, &["author", "text", "due", "outcome", "made_at"]);
            for f in &s.follow_ups.reviewed {
                row(
                    &mut out,
                    &[
                        f.author.clone(),
                        f.text.clone(),
                        f.due.clone().unwrap_or_default(),
                        code_of(f.outcome),
                        f.made_at_iso.clone(),
                    ],
                );
            }
        }
        "session" => {
            header(
                &mut out,
                &[
                    "title",
                    "started_at",
                    "ended_at",
                    "duration_ms",
                    "attendance",
                    "members",
                    "guests",
                    "commitments_made",
                    "kept",
                    "partly",
                    "not",
                    "changed",
                ],
            );
            let reviewed = &s.commitment_counts.reviewed;
            row(
                &mut out,
                &[
                    s.title.clone(),
                    s.started_at.map(iso).unwrap_or_default(),
                    s.ended_at.map(iso).unwrap_or_default(),
                    opt(s.duration_ms),
                    s.participants.to_string(),
                    s.members.to_string(),
                    s.guests.to_string(),
                    s.commitment_counts.made.to_string(),
                    reviewed.kept.to_string(),
                    reviewed.partly.to_string(),
                    reviewed.not.to_string(),
                    reviewed.changed.to_string(),
                ],
            );
        }
        _ => return None,
    }
    Some(out)
}
