//! The fixed words that dates, follow-ups and guest counts add to summaries and reports
//! (`export::dates`, the follow-ups of a session, the report columns). Listed apart from
//! [`super::LABELS`] so each language's translations of them live in one file of their own
//! (`es/reports.rs`, `de/reports.rs`); [`super::label`] accepts both lists.

/// Every fixed word or sentence about dates, follow-ups and guests in exports.
pub const REPORT_LABELS: &[&str] = &[
    // Dates for people (`export::dates::readable`).
    "{day} {month} {year}, {time} UTC",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    // A session's summary, Markdown.
    "Date: {date}",
    "Duration: {duration}",
    "Members: {members}, guests: {guests}",
    "{n} made in this session (all visibilities); listed here: the ones shared for export.",
    "Earlier commitments reviewed",
    "{reviewed} reviewed: {kept} kept, {partly} partly, {not} not, {changed} changed.",
    // Outcomes, by their codes.
    "kept",
    "partly",
    "not",
    "changed",
    // Column names (Markdown tables and CSV).
    "started_at",
    "duration_ms",
    "guests",
    "guest",
    "commitments_made",
    "made_at",
    "ended_at",
    "date",
    "duration",
    "made",
    "reviewed",
];
