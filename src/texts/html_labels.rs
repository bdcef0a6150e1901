//! The fixed words of the HTML reports (`export::html`): page headings, chart captions, table
//! headers and notes, beside the words they share with Markdown and CSV ([`super::LABELS`]).
//! Kept in their own list so the reports' words can grow without touching the others; every
//! language translates them like any export label.

/// Every fixed word or sentence only the HTML reports write.
pub const HTML_LABELS: &[&str] = &[
    // Every report.
    "Session summary",
    "Series report",
    "Report over a date range",
    "Only text its authors marked exportable appears in this document.",
    "Nothing to show yet.",
    // A session's summary.
    "Started: {date}",
    "Ended: {date}",
    "Who came",
    "participant",
    "joined",
    "left",
    "Planned and actual time per stage, in minutes",
    "role",
    "time",
    "partly kept",
    "not kept",
    "not reviewed",
    "Ratings given, from 1 to 5",
    "rating",
    "how many",
    "what helped",
    "what helped less",
    "comment",
    // A series' report.
    "Cadence: {cadence}",
    "every two weeks",
    "monthly",
    "as scheduled",
    "Cycle: {n} months",
    "Session {n}",
    "Attendance per session",
    "Retention across the cycle",
    "share of the first session's members",
    "Ratings over time",
    "mean survey rating",
    "mean feedback rating",
    "Commitments kept",
    "How often people met",
    "times met",
    "present",
    "absent",
    "end-of-cycle choice",
    "continue",
    "rematch",
    "leave",
];
