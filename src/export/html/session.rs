//! A session's summary as an HTML document: what its Markdown says, with the attendance list,
//! a chart of planned against actual time per stage and the spread of ratings.

use circlekeeper_protocol::{Outcome, Standing};

use super::{
    charts, date_time, empty, escape, figure, l, minutes, number, page, section, table, Lang,
};
use crate::export::{code_of, RoomSummary};
use crate::texts::{fill, label};

/// The summary `s` as one self-contained HTML page in `lang`.
pub fn summary(s: &RoomSummary, lang: Lang) -> String {
    let t = |english: &'static str| label(lang, english);
    let participants = s
        .attendance
        .iter()
        .filter(|a| a.standing == Standing::Participant)
        .count()
        .to_string();
    let mut facts = vec![
        fill(t("Format: {format}"), &[("format", lang.t(&s.format))]),
        fill(
            t("Facilitated by: {names}"),
            &[("names", &s.facilitators.join(", "))],
        ),
        fill(
            t("Attendance: {n} (not counting facilitators)"),
            &[("n", &participants)],
        ),
    ];
    if let Some(at) = s.started_at {
        facts.push(fill(t("Started: {date}"), &[("date", &date_time(at))]));
    }
    if let Some(at) = s.ended_at {
        facts.push(fill(t("Ended: {date}"), &[("date", &date_time(at))]));
    }
    let mut body = String::new();
    section(&mut body, &l(lang, "Who came"), &attendance(s, lang));
    section(&mut body, &l(lang, "Stages"), &stages(s, lang));
    if !s.presenter_order.is_empty() {
        let names: Vec<String> = s.presenter_order.iter().map(|n| escape(n)).collect();
        section(
            &mut body,
            &l(lang, "Presenters"),
            &format!("<ol>{}</ol>\n", items(&names)),
        );
    }
    if !s.pairings.is_empty() {
        let groups: Vec<String> = s.pairings.iter().map(|g| escape(&g.join(" · "))).collect();
        section(
            &mut body,
            &l(lang, "Pairs"),
            &format!("<ul>{}</ul>\n", items(&groups)),
        );
    }
    if !s.floor_time_by_role.is_empty() {
        let rows: Vec<Vec<String>> = s
            .floor_time_by_role
            .iter()
            .map(|(role, ms)| vec![escape(lang.t(&code_of(role))), minutes(*ms)])
            .collect();
        let headers = [(l(lang, "role"), false), (l(lang, "time"), true)];
        section(
            &mut body,
            &l(lang, "Floor time by role"),
            &table(&headers, &rows),
        );
    }
    if !s.commitments.is_empty() {
        section(&mut body, &l(lang, "Commitments"), &commitments(s, lang));
    }
    if !s.feedback.is_empty() {
        let ratings: Vec<u8> = s.feedback.iter().map(|f| f.rating).collect();
        let mut content = ratings_figure(&ratings, lang, "1 rating", "{n} ratings");
        let written: Vec<Vec<String>> = s
            .feedback
            .iter()
            .filter(|f| f.helped.is_some() || f.helped_less.is_some())
            .map(|f| {
                vec![
                    escape(&f.coach),
                    escape(f.helped.as_deref().unwrap_or("")),
                    escape(f.helped_less.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        if !written.is_empty() {
            let headers = [
                (l(lang, "coach"), false),
                (l(lang, "what helped"), false),
                (l(lang, "what helped less"), false),
            ];
            content.push_str(&table(&headers, &written));
        }
        section(&mut body, &l(lang, "Feedback to coaches"), &content);
    }
    if !s.survey.is_empty() {
        let ratings: Vec<u8> = s.survey.iter().map(|a| a.rating).collect();
        let mut content = ratings_figure(&ratings, lang, "1 answer", "{n} answers");
        let comments: Vec<String> = s
            .survey
            .iter()
            .filter_map(|a| a.comment.as_deref())
            .map(escape)
            .collect();
        if !comments.is_empty() {
            content.push_str(&format!(
                "<h3>{}</h3>\n<ul>{}</ul>\n",
                l(lang, "comment"),
                items(&comments)
            ));
        }
        section(&mut body, &l(lang, "Survey"), &content);
    }
    page(lang, "Session summary", &s.title, &facts, &body)
}

/// `<li>` elements of cells already HTML.
fn items(cells: &[String]) -> String {
    cells.iter().map(|c| format!("<li>{c}</li>")).collect()
}

/// Who came: name, standing, when they joined and left.
fn attendance(s: &RoomSummary, lang: Lang) -> String {
    if s.attendance.is_empty() {
        return empty(lang);
    }
    let standing = |st: Standing| match st {
        Standing::Facilitator => l(lang, "facilitator"),
        Standing::CoFacilitator => l(lang, "co_facilitator"),
        Standing::Participant => l(lang, "participant"),
    };
    let rows: Vec<Vec<String>> = s
        .attendance
        .iter()
        .map(|a| {
            vec![
                escape(&a.name),
                standing(a.standing),
                date_time(a.joined_at),
                a.left_at.map(date_time).unwrap_or_default(),
            ]
        })
        .collect();
    let headers = [
        (l(lang, "name"), false),
        (l(lang, "standing"), false),
        (l(lang, "joined"), false),
        (l(lang, "left"), false),
    ];
    format!("<div class=\"scroll\">{}</div>\n", table(&headers, &rows))
}

/// Planned against actual time per stage: a chart and its table.
fn stages(s: &RoomSummary, lang: Lang) -> String {
    if s.stages.is_empty() {
        return empty(lang);
    }
    let caption = label(lang, "Planned and actual time per stage, in minutes");
    let rows: Vec<(String, f64, f64)> = s
        .stages
        .iter()
        .map(|st| {
            (
                lang.t(&st.title).to_string(),
                st.planned_ms as f64 / 60_000.0,
                st.actual_ms as f64 / 60_000.0,
            )
        })
        .collect();
    let svg = charts::paired_bars(
        caption,
        (label(lang, "planned"), label(lang, "actual")),
        &rows,
        |v| number(lang, v, 0),
    );
    let cells: Vec<Vec<String>> = s
        .stages
        .iter()
        .map(|st| {
            vec![
                escape(lang.t(&st.title)),
                minutes(st.planned_ms),
                minutes(st.actual_ms),
            ]
        })
        .collect();
    let headers = [
        (l(lang, "stage"), false),
        (l(lang, "planned"), true),
        (l(lang, "actual"), true),
    ];
    figure(&escape(caption), &svg, &table(&headers, &cells))
}

/// Commitments: author, text, due date and how they went.
fn commitments(s: &RoomSummary, lang: Lang) -> String {
    let rows: Vec<Vec<String>> = s
        .commitments
        .iter()
        .map(|c| {
            vec![
                escape(&c.author),
                escape(&c.text),
                escape(c.due.as_deref().unwrap_or("")),
                outcome(lang, c.outcome),
            ]
        })
        .collect();
    let headers = [
        (l(lang, "author"), false),
        (l(lang, "text"), false),
        (l(lang, "due"), false),
        (l(lang, "outcome"), false),
    ];
    format!("<div class=\"scroll\">{}</div>\n", table(&headers, &rows))
}

/// How a commitment went, in words.
pub(super) fn outcome(lang: Lang, outcome: Option<Outcome>) -> String {
    l(
        lang,
        match outcome {
            Some(Outcome::Kept) => "kept",
            Some(Outcome::Partly) => "partly kept",
            Some(Outcome::Not) => "not kept",
            Some(Outcome::Changed) => "changed",
            None => "not reviewed",
        },
    )
}

/// The mean of `ratings` in a sentence, and how many of each from 1 to 5, charted.
fn ratings_figure(ratings: &[u8], lang: Lang, one: &'static str, many: &'static str) -> String {
    let mean = ratings.iter().map(|&r| f64::from(r)).sum::<f64>() / ratings.len().max(1) as f64;
    let counted = if ratings.len() == 1 {
        label(lang, one).to_string()
    } else {
        fill(label(lang, many), &[("n", &ratings.len().to_string())])
    };
    let sentence = fill(
        label(lang, "Mean rating {mean} of 5 ({count})."),
        &[("mean", &number(lang, mean, 1)), ("count", &counted)],
    );
    let counts: Vec<(String, f64, String)> = (1..=5u8)
        .map(|r| {
            let n = ratings.iter().filter(|&&x| x == r).count();
            (r.to_string(), n as f64, n.to_string())
        })
        .collect();
    let max = counts.iter().map(|(_, n, _)| *n).fold(0.0, f64::max);
    let caption = label(lang, "Ratings given, from 1 to 5");
    let svg = charts::columns(caption, &counts, max);
    let rows: Vec<Vec<String>> = counts
        .iter()
        .map(|(r, _, n)| vec![r.clone(), n.clone()])
        .collect();
    let headers = [(l(lang, "rating"), true), (l(lang, "how many"), true)];
    format!(
        "<p>{}</p>\n{}",
        escape(&sentence),
        figure(&escape(caption), &svg, &table(&headers, &rows))
    )
}
