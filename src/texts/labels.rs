//! The fixed words of exports: headings, column names and sentences with holes (`{n}`,
//! `{mean}`, …) that the writer fills after translating. Every label an export writes goes
//! through [`label`], which insists (in debug builds, so in every test) that it is listed in
//! [`LABELS`] — and the listed labels are among the texts every language must translate.

use super::Lang;

/// Every fixed word or sentence of a summary's or a report's Markdown and CSV.
pub const LABELS: &[&str] = &[
    // A session's summary, Markdown.
    "Format: {format}",
    "Facilitated by: {names}",
    "Attendance: {n} (not counting facilitators)",
    "Stages",
    "stage",
    "planned",
    "actual",
    "Presenters",
    "Pairs",
    "Floor time by role",
    "Commitments",
    " (by {due})",
    "Feedback to coaches",
    "Mean rating {mean} of 5 ({count}).",
    "1 rating",
    "{n} ratings",
    "1 answer",
    "{n} answers",
    "To {coach}: helped: {helped}; helped less: {less}",
    "Survey",
    // Roles, by their codes, as the floor time lists them.
    "facilitator",
    "co_facilitator",
    "presenter",
    "coach",
    "client",
    "observer",
    "timekeeper",
    "member",
    // A session's summary, CSV column names.
    "name",
    "standing",
    "joined_at",
    "left_at",
    "index",
    "title",
    "planned_ms",
    "actual_ms",
    "group",
    "members",
    "author",
    "text",
    "due",
    "outcome",
    // A series' report, Markdown.
    "Sessions",
    "attendance",
    "retention",
    "survey",
    "feedback",
    "Members",
    "attended",
    "{n} of {total}",
    "Who met whom",
    "{made} made: {kept} kept, {partly} partly, {not} not, {changed} changed.",
    "Rooms opened from {from} to {to}",
    // A series' report, CSV column names.
    "session",
    "room_id",
    "survey_mean",
    "feedback_mean",
    "a",
    "b",
    "times",
];

/// The fixed export text `english` in `lang`. `english` must be one of [`LABELS`] or
/// [`super::HTML_LABELS`] (checked in
/// debug builds), so every label an export writes is one every language translates.
pub fn label(lang: Lang, english: &'static str) -> &'static str {
    debug_assert!(
        LABELS.contains(&english)
            || super::HTML_LABELS.contains(&english)
            || super::REPORT_LABELS.contains(&english),
        "export label {english:?} is not in texts::LABELS, HTML_LABELS or REPORT_LABELS"
    );
    lang.map().get(english).copied().unwrap_or(english)
}

/// `template` with each `{name}` replaced by its value, in one pass (a value that holds braces
/// is not filled again); an unknown hole stays as it is.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hole = after
            .find('}')
            .map(|close| &after[..close])
            .and_then(|name| values.iter().find(|(n, _)| *n == name));
        match hole {
            Some((name, value)) => {
                out.push_str(value);
                rest = &after[name.len() + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_filled_by_name() {
        let text = fill("{n} of {total}", &[("n", "3"), ("total", "5")]);
        assert_eq!(text, "3 of 5");
        assert_eq!(fill("plain", &[("n", "1")]), "plain");
        assert_eq!(fill("{n} {x}", &[("n", "{x}")]), "{x} {x}");
        assert_eq!(fill("a { b", &[]), "a { b");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "not in texts::LABELS")]
    fn an_unlisted_label_is_caught() {
        label(Lang::Es, "Not a label");
    }
}
