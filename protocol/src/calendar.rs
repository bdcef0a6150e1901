//! Wire types of a series' calendar: planned sessions with a date, a start time and a
//! duration in the series' time zone, the feed a member subscribes to, and the host's
//! calendar settings.

use serde::{Deserialize, Serialize};

/// A planned session as a client sends it: a bare `YYYY-MM-DD` date (the series' default start
/// time and duration), or an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum PlannedInput {
    /// A date alone, `YYYY-MM-DD`.
    Date(String),
    /// A date with a start time and a duration.
    Session(PlannedSessionInput),
}

/// A planned session with its time: `{"date":"2026-03-26","time":"18:00","minutes":90}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PlannedSessionInput {
    /// The id of the planned session this one edits (it keeps its calendar UID); a new one
    /// without it (or with an unknown id) keeps the id of an earlier session on the same date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The day, `YYYY-MM-DD`, in the series' time zone.
    pub date: String,
    /// Start, `HH:MM` (24-hour clock) in the series' time zone (default: the series' start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// How long, in minutes, 5–720 (default: the series' duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u16>,
}

/// A pair's own planned sessions, set by either partner: replaces every planned session of
/// exactly this pair (an empty list removes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PairPlan {
    /// The partner's member id (two ids for a triad); the sender is the pair's other member.
    pub with: Vec<String>,
    /// The pair's sessions.
    pub planned: Vec<PlannedInput>,
}

/// A planned session as the server shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PlannedSession {
    /// Stable id within the series (`p1`, `p2`, …).
    pub id: String,
    /// The day, `YYYY-MM-DD`, in the series' time zone.
    pub date: String,
    /// Start, `HH:MM`, in the series' time zone.
    pub time: String,
    /// How long, in minutes.
    pub minutes: u16,
    /// The pair's members (ids, the reader included) when it is a pair's own session; empty
    /// when it is planned for the whole series.
    pub with: Vec<String>,
    /// The calendar UID of its event, the same in every feed and download.
    pub uid: String,
}

/// The body of `POST /api/series/{id}/calendar/feed`: a member's calendar address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FeedRequest {
    /// The member key from the personal link.
    pub key: String,
    /// Make a new address: the previous one stops working.
    #[serde(default)]
    pub rotate: bool,
}

/// A member's calendar address (in their page's `MemberView`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FeedLink {
    /// The read-only feed key (not the member key).
    pub feed_key: String,
    /// The feed's address, `{base}/api/series/{id}/calendar/{feed_key}.ics`.
    pub url: String,
    /// The same address with the `webcal://` scheme, which calendar apps open to subscribe.
    pub webcal_url: String,
}

/// The answer to `POST /api/series/{id}/calendar/feed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FeedAddress {
    /// The read-only feed key (not the member key).
    pub feed_key: String,
    /// The feed's address, `{base}/api/series/{id}/calendar/{feed_key}.ics`.
    pub url: String,
    /// The same address with the `webcal://` scheme, which calendar apps open to subscribe.
    pub webcal_url: String,
    /// The series' time zone.
    pub time_zone: String,
    /// The planned sessions in this member's feed, soonest first.
    pub planned: Vec<PlannedSession>,
}

/// The body of `POST /api/series/{id}/calendar`: the host's calendar settings. Fields left out
/// stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CalendarSettingsRequest {
    /// The series' host key.
    pub key: String,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Default start, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// Default duration in minutes (5–720).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u16>,
}

/// A series' calendar settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CalendarSettings {
    /// IANA time zone name.
    pub time_zone: String,
    /// Default start, `HH:MM`.
    pub start_time: String,
    /// Default duration in minutes.
    pub minutes: u16,
}
