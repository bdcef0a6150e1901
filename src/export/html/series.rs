//! A series' report, or the report over a date range (the same figures, without a series), as
//! an HTML document: attendance per session, retention across the cycle, ratings over time,
//! commitments kept and how often people met, each a chart with its table. Figures and names
//! only, like the report's JSON.

use circlekeeper_protocol::{Cadence, CycleChoice};

use super::{charts, day, empty, escape, figure, l, number, page, section, table, Lang};
use crate::export::series::SeriesReport;
use crate::texts::{fill, label};

/// The report `r` as one self-contained HTML page in `lang`; a report without a series id is
/// the report over a date range.
pub fn report(r: &SeriesReport, lang: Lang) -> String {
    let t = |english: &'static str| label(lang, english);
    let mut facts = Vec::new();
    let kind = if r.series_id.is_empty() {
        "Report over a date range"
    } else {
        let cadence = match r.cadence {
            Cadence::Biweekly => t("every two weeks"),
            Cadence::Monthly => t("monthly"),
            Cadence::Custom => t("as scheduled"),
        };
        facts.push(fill(t("Cadence: {cadence}"), &[("cadence", cadence)]));
        facts.push(fill(
            t("Cycle: {n} months"),
            &[("n", &r.cycle_months.to_string())],
        ));
        "Series report"
    };
    let mut body = String::new();
    section(&mut body, &l(lang, "Sessions"), &sessions(r, lang));
    section(&mut body, &l(lang, "Members"), &members(r, lang));
    section(&mut body, &l(lang, "Commitments"), &commitments(r, lang));
    section(&mut body, &l(lang, "Who met whom"), &met(r, lang));
    page(lang, kind, &r.title, &facts, &body)
}

/// "Session 3", in `lang`.
fn session_name(lang: Lang, i: usize) -> String {
    fill(label(lang, "Session {n}"), &[("n", &(i + 1).to_string())])
}

/// Attendance, retention and ratings per session: three charts and the table of all three.
fn sessions(r: &SeriesReport, lang: Lang) -> String {
    if r.sessions.is_empty() {
        return empty(lang);
    }
    let names: Vec<String> = (0..r.sessions.len()).map(|i| (i + 1).to_string()).collect();
    let rating = |v: Option<f64>| v.map(|v| number(lang, v, 1)).unwrap_or_default();
    let percent = |v: f64| format!("{} %", number(lang, v * 100.0, 0));
    let rows: Vec<Vec<String>> = r
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                escape(&session_name(lang, i)),
                s.started_at.map(day).unwrap_or_default(),
                s.attendance.to_string(),
                percent(s.retention),
                rating(s.survey_mean),
                rating(s.feedback_mean),
            ]
        })
        .collect();
    let headers = [
        (l(lang, "session"), false),
        (l(lang, "date"), false),
        (l(lang, "attendance"), true),
        (l(lang, "retention"), true),
        (l(lang, "mean survey rating"), true),
        (l(lang, "mean feedback rating"), true),
    ];
    let pick = |columns: &[usize]| -> (Vec<(String, bool)>, Vec<Vec<String>>) {
        let mut picked = vec![headers[0].clone(), headers[1].clone()];
        picked.extend(columns.iter().map(|&c| headers[c].clone()));
        let rows = rows
            .iter()
            .map(|row| {
                let mut cells = vec![row[0].clone(), row[1].clone()];
                cells.extend(columns.iter().map(|&c| row[c].clone()));
                cells
            })
            .collect();
        (picked, rows)
    };
    let mut out = String::new();

    let caption = label(lang, "Attendance per session");
    let bars: Vec<(String, f64, String)> = r
        .sessions
        .iter()
        .zip(&names)
        .map(|(s, n)| (n.clone(), f64::from(s.attendance), s.attendance.to_string()))
        .collect();
    let most = r.sessions.iter().map(|s| s.attendance).max().unwrap_or(0);
    let (h, rows_of) = pick(&[2]);
    out.push_str(&figure(
        &escape(caption),
        &charts::columns(caption, &bars, f64::from(most)),
        &table(&h, &rows_of),
    ));

    let caption = label(lang, "Retention across the cycle");
    let share = label(lang, "share of the first session's members");
    let values = vec![(
        share.to_string(),
        r.sessions.iter().map(|s| Some(s.retention)).collect(),
    )];
    let (h, rows_of) = pick(&[3]);
    out.push_str(&figure(
        &escape(caption),
        &charts::lines(caption, &names, &values, (0.0, 1.0), percent),
        &table(&h, &rows_of),
    ));

    let caption = label(lang, "Ratings over time");
    let values = vec![
        (
            label(lang, "mean survey rating").to_string(),
            r.sessions.iter().map(|s| s.survey_mean).collect(),
        ),
        (
            label(lang, "mean feedback rating").to_string(),
            r.sessions.iter().map(|s| s.feedback_mean).collect(),
        ),
    ];
    let (h, rows_of) = pick(&[4, 5]);
    out.push_str(&figure(
        &escape(caption),
        &charts::lines(caption, &names, &values, (1.0, 5.0), |v| number(lang, v, 0)),
        &table(&h, &rows_of),
    ));
    out
}

/// Each member's attendance, session by session, and their end-of-cycle choice.
fn members(r: &SeriesReport, lang: Lang) -> String {
    if r.members.is_empty() {
        return empty(lang);
    }
    let total = r.sessions.len().to_string();
    let mut headers = vec![(l(lang, "member"), false), (l(lang, "attended"), true)];
    headers.extend((0..r.sessions.len()).map(|i| (escape(&(i + 1).to_string()), false)));
    let any_choice = r.members.iter().any(|m| m.choice.is_some());
    if any_choice {
        headers.push((l(lang, "end-of-cycle choice"), false));
    }
    let (present, absent) = (l(lang, "present"), l(lang, "absent"));
    let rows: Vec<Vec<String>> = r
        .members
        .iter()
        .map(|m| {
            let attended = m.attended.to_string();
            let mut row = vec![
                escape(&m.name),
                escape(&fill(
                    label(lang, "{n} of {total}"),
                    &[("n", &attended), ("total", &total)],
                )),
            ];
            row.extend(m.by_session.iter().map(|&came| {
                if came {
                    format!(
                        "<span title=\"{present}\">●<span class=\"sr\"> {present}</span></span>"
                    )
                } else {
                    format!("<span title=\"{absent}\">–<span class=\"sr\"> {absent}</span></span>")
                }
            }));
            if any_choice {
                row.push(match m.choice {
                    Some(CycleChoice::Continue) => l(lang, "continue"),
                    Some(CycleChoice::Rematch) => l(lang, "rematch"),
                    Some(CycleChoice::End) => l(lang, "leave"),
                    None => String::new(),
                });
            }
            row
        })
        .collect();
    format!("<div class=\"scroll\">{}</div>\n", table(&headers, &rows))
}

/// Commitments made and how they went: a stacked bar and its table.
fn commitments(r: &SeriesReport, lang: Lang) -> String {
    let c = &r.commitments;
    let reviewed = c.kept + c.partly + c.not + c.changed;
    let parts = [
        ("kept", c.kept),
        ("partly kept", c.partly),
        ("not kept", c.not),
        ("changed", c.changed),
        ("not reviewed", c.made.saturating_sub(reviewed)),
    ];
    let named: Vec<(String, u32)> = parts
        .iter()
        .map(|(name, n)| (label(lang, name).to_string(), *n))
        .collect();
    let caption = label(lang, "Commitments kept");
    let mut rows = vec![vec![l(lang, "made"), c.made.to_string()]];
    rows.extend(
        named
            .iter()
            .map(|(name, n)| vec![escape(name), n.to_string()]),
    );
    let headers = [(l(lang, "outcome"), false), (l(lang, "how many"), true)];
    figure(
        &escape(caption),
        &charts::stacked(caption, &named),
        &table(&headers, &rows),
    )
}

/// How often each two people met: a heatmap over everyone who met anyone, and the list of
/// pairs as its table.
fn met(r: &SeriesReport, lang: Lang) -> String {
    if r.pairing_matrix.is_empty() {
        return empty(lang);
    }
    // Everyone who met anyone, in the report's member order, then any other name in the
    // order it first appears.
    let mut names: Vec<String> = r
        .members
        .iter()
        .map(|m| m.name.clone())
        .filter(|n| r.pairing_matrix.iter().any(|(a, b, _)| a == n || b == n))
        .collect();
    for (a, b, _) in &r.pairing_matrix {
        for n in [a, b] {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    let count = |i: usize, j: usize| -> u32 {
        let (x, y) = (&names[i], &names[j]);
        r.pairing_matrix
            .iter()
            .filter(|(a, b, _)| (a == x && b == y) || (a == y && b == x))
            .map(|(_, _, n)| n)
            .sum()
    };
    let caption = label(lang, "How often people met");
    let rows: Vec<Vec<String>> = r
        .pairing_matrix
        .iter()
        .map(|(a, b, n)| vec![escape(a), escape(b), n.to_string()])
        .collect();
    let headers = [
        (l(lang, "member"), false),
        (l(lang, "member"), false),
        (l(lang, "times met"), true),
    ];
    figure(
        &escape(caption),
        &charts::heatmap(caption, &names, count),
        &table(&headers, &rows),
    )
}
