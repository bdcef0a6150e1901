//! A series' calendar: its time zone and default session time, its planned sessions (the
//! whole series' and each pair's own), and each member's read-only feed key. This module owns
//! the stored part ([`SeriesCalendar`], kept in the series record), the rules on planned
//! sessions (dates, times, durations, limits, stable ids), the feed keys, and the iCalendar
//! text ([`ics`]). The HTTP handlers live in `server::api::calendar`.

pub mod ics;

use circlekeeper_protocol::{ErrorCode, Millis, PlannedInput, PlannedSession, PlannedSessionInput};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Most planned sessions in one list: the whole series', or one pair's.
pub const MAX_PLANNED: usize = 24;

/// Most planned sessions one series holds, pairs' included.
pub const MAX_PLANNED_TOTAL: usize = 1_000;

/// A series' time zone when its host names none.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// When a series' sessions start when its host says nothing.
pub const DEFAULT_START: &str = "18:00";

/// How long a series' sessions last, in minutes, when its host says nothing.
pub const DEFAULT_MINUTES: u16 = 90;

/// The shortest and longest session, in minutes.
pub const MINUTES: std::ops::RangeInclusive<u16> = 5..=720;

/// What a series keeps for its calendar. Every field has a default, so records stored before
/// calendars existed load as a `UTC` series with no planned sessions and no feeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesCalendar {
    /// IANA time zone name.
    #[serde(default = "default_zone")]
    pub time_zone: String,
    /// Default start, `HH:MM`.
    #[serde(default = "default_start")]
    pub start_time: String,
    /// Default duration in minutes.
    #[serde(default = "default_minutes")]
    pub minutes: u16,
    /// The number in the next planned session's id.
    #[serde(default)]
    pub next_id: u32,
    /// The planned sessions, the whole series' and pairs'.
    #[serde(default)]
    pub sessions: Vec<Planned>,
    /// Members' feed keys, hashed.
    #[serde(default)]
    pub feeds: Vec<Feed>,
}

fn default_zone() -> String {
    DEFAULT_TIME_ZONE.into()
}

fn default_start() -> String {
    DEFAULT_START.into()
}

fn default_minutes() -> u16 {
    DEFAULT_MINUTES
}

impl Default for SeriesCalendar {
    fn default() -> Self {
        SeriesCalendar {
            time_zone: default_zone(),
            start_time: default_start(),
            minutes: DEFAULT_MINUTES,
            next_id: 0,
            sessions: Vec::new(),
            feeds: Vec::new(),
        }
    }
}

/// A planned session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    /// Stable id within the series: `p1`, `p2`, …
    pub id: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    /// Minutes.
    pub minutes: u16,
    /// The pair's member ids, sorted; empty for the whole series.
    #[serde(default)]
    pub with: Vec<String>,
    /// How many times it changed.
    #[serde(default)]
    pub sequence: u32,
    /// When it last changed.
    pub changed_at: Millis,
}

/// One member's feed key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feed {
    /// The member's id.
    pub member: String,
    /// How many times the member made a new address.
    pub generation: u32,
    /// SHA-256 of the feed key.
    pub key_hash: [u8; 32],
}

/// Why a calendar request was refused: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The code.
    pub code: ErrorCode,
    /// What was wrong, naming the field.
    pub message: String,
}

fn invalid(message: String) -> Refusal {
    Refusal {
        code: ErrorCode::InvalidMessage,
        message,
    }
}

/// A planned session checked and completed with the series' defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    id: Option<String>,
    date: String,
    time: String,
    minutes: u16,
}

/// The zone named `name` (an IANA name, e.g. `Europe/Berlin`), and its name as the time zone
/// database spells it.
pub fn zone(name: &str) -> Result<(TimeZone, String), Refusal> {
    let bad = || {
        invalid(format!(
            "time_zone: {name:?} is not an IANA time zone name such as Europe/Berlin"
        ))
    };
    if name.is_empty() || name.len() > 64 || name.starts_with('/') || name.contains("..") {
        return Err(bad());
    }
    let zone = TimeZone::get(name).map_err(|_| bad())?;
    let spelled = zone.iana_name().unwrap_or(name).to_string();
    Ok((zone, spelled))
}

/// A `YYYY-MM-DD` date that exists, in 2000–2200.
pub fn date(field: &str, d: &str) -> Result<Date, Refusal> {
    let bad = || invalid(format!("{field}: {d:?} is not a date written YYYY-MM-DD"));
    let parts: Vec<&str> = d.split('-').collect();
    let [y, m, day] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(day)) {
        return Err(bad());
    }
    let (Ok(y), Ok(m), Ok(day)) = (y.parse::<i16>(), m.parse::<i8>(), day.parse::<i8>()) else {
        return Err(bad());
    };
    if !(2000..=2200).contains(&y) {
        return Err(bad());
    }
    Date::new(y, m, day).map_err(|_| bad())
}

/// An `HH:MM` time on a 24-hour clock.
pub fn time(field: &str, t: &str) -> Result<Time, Refusal> {
    let bad = || {
        invalid(format!(
            "{field}: {t:?} is not a time written HH:MM (00:00–23:59)"
        ))
    };
    let b = t.as_bytes();
    if b.len() != 5 || b[2] != b':' {
        return Err(bad());
    }
    let (h, m) = (&t[..2], &t[3..]);
    if !(h.bytes().all(|c| c.is_ascii_digit()) && m.bytes().all(|c| c.is_ascii_digit())) {
        return Err(bad());
    }
    let (Ok(h), Ok(m)) = (h.parse::<i8>(), m.parse::<i8>()) else {
        return Err(bad());
    };
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// A duration in minutes within [`MINUTES`].
pub fn minutes(field: &str, m: u16) -> Result<u16, Refusal> {
    if MINUTES.contains(&m) {
        Ok(m)
    } else {
        Err(invalid(format!(
            "{field}: {m} minutes; a session lasts {} to {} minutes",
            MINUTES.start(),
            MINUTES.end()
        )))
    }
}

impl SeriesCalendar {
    /// Check a list of planned sessions sent in `field`, completing each with this series'
    /// default time and duration.
    pub fn check(&self, field: &str, list: &[PlannedInput]) -> Result<Vec<Checked>, Refusal> {
        if list.len() > MAX_PLANNED {
            return Err(Refusal {
                code: ErrorCode::TooManyItems,
                message: format!("{field}: at most {MAX_PLANNED} planned sessions"),
            });
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let session = match item {
                PlannedInput::Date(d) => PlannedSessionInput {
                    id: None,
                    date: d.clone(),
                    time: None,
                    minutes: None,
                },
                PlannedInput::Session(s) => s.clone(),
            };
            date(&at, &session.date)?;
            let t = session.time.unwrap_or_else(|| self.start_time.clone());
            time(&format!("{at}.time"), &t)?;
            let m = minutes(
                &format!("{at}.minutes"),
                session.minutes.unwrap_or(self.minutes),
            )?;
            out.push(Checked {
                id: session.id,
                date: session.date,
                time: t,
                minutes: m,
            });
        }
        Ok(out)
    }

    /// Replace the planned sessions of `with` (a pair's sorted member ids, or none for the
    /// whole series) by `list`. A session keeps the id (so the UID) of the one it names by
    /// `id`, else of an earlier one of the same owners on the same date; one whose date, time
    /// or duration changed counts one more `sequence`.
    pub fn replace(
        &mut self,
        with: &[String],
        list: Vec<Checked>,
        now: Millis,
    ) -> Result<(), Refusal> {
        let (mut earlier, others): (Vec<Planned>, Vec<Planned>) =
            std::mem::take(&mut self.sessions)
                .into_iter()
                .partition(|p| p.with == with);
        if others.len() + list.len() > MAX_PLANNED_TOTAL {
            self.sessions = others.into_iter().chain(earlier).collect();
            return Err(Refusal {
                code: ErrorCode::TooManyItems,
                message: format!("this series holds {MAX_PLANNED_TOTAL} planned sessions at most"),
            });
        }
        let mut kept = others;
        let mut fresh = Vec::new();
        // First the ones naming an id they had, then by date: an edit keeps its UID.
        let mut pending: Vec<Checked> = Vec::new();
        for c in list {
            let named =
                c.id.as_ref()
                    .and_then(|id| earlier.iter().position(|p| &p.id == id));
            match named {
                Some(i) => fresh.push(updated(earlier.remove(i), c, now)),
                None => pending.push(c),
            }
        }
        for c in pending {
            match earlier.iter().position(|p| p.date == c.date) {
                Some(i) => fresh.push(updated(earlier.remove(i), c, now)),
                None => {
                    self.next_id += 1;
                    fresh.push(Planned {
                        id: format!("p{}", self.next_id),
                        date: c.date,
                        time: c.time,
                        minutes: c.minutes,
                        with: with.to_vec(),
                        sequence: 0,
                        changed_at: now,
                    });
                }
            }
        }
        kept.extend(fresh);
        kept.sort_by(|a, b| (&a.date, &a.time, &a.id).cmp(&(&b.date, &b.time, &b.id)));
        self.sessions = kept;
        Ok(())
    }

    /// The planned sessions in `member`'s calendar: the whole series' and their pairs', soonest
    /// first. `legacy` is the series' list of bare dates from before calendars existed, shown
    /// while the whole series has no planned session of its own.
    pub fn for_member(&self, member: &str, legacy: &[String]) -> Vec<Planned> {
        let mut out: Vec<Planned> = self
            .sessions
            .iter()
            .filter(|p| p.with.is_empty() || p.with.iter().any(|m| m == member))
            .cloned()
            .collect();
        if !self.sessions.iter().any(|p| p.with.is_empty()) {
            out.extend(
                legacy
                    .iter()
                    .filter(|d| date("planned", d).is_ok())
                    .map(|d| Planned {
                        id: format!("d{}", d.replace('-', "")),
                        date: d.clone(),
                        time: self.start_time.clone(),
                        minutes: self.minutes,
                        with: Vec::new(),
                        sequence: 0,
                        changed_at: 0,
                    }),
            );
        }
        out.sort_by(|a, b| (&a.date, &a.time, &a.id).cmp(&(&b.date, &b.time, &b.id)));
        out
    }

    /// The dates of the whole series' planned sessions (the `planned` a member's page shows).
    pub fn series_dates(&self) -> Vec<String> {
        self.sessions
            .iter()
            .filter(|p| p.with.is_empty())
            .map(|p| p.date.clone())
            .collect()
    }

    /// The member's feed key, made (or made anew, with `rotate`) from their member key. Returns
    /// it and whether the stored hashes changed. The key is derived, not random, so the page
    /// can show the same address each time without the server keeping it readable.
    pub fn feed_key(&mut self, member: &str, member_key: &str, rotate: bool) -> (String, bool) {
        match self.feeds.iter_mut().find(|f| f.member == member) {
            Some(feed) if !rotate => (derive(member_key, feed.generation), false),
            Some(feed) => {
                feed.generation += 1;
                let key = derive(member_key, feed.generation);
                feed.key_hash = crate::secret::hash(&key);
                (key, true)
            }
            None => {
                let key = derive(member_key, 0);
                self.feeds.push(Feed {
                    member: member.to_string(),
                    generation: 0,
                    key_hash: crate::secret::hash(&key),
                });
                (key, true)
            }
        }
    }

    /// The member whose feed key is `key` (compared in constant time).
    pub fn member_by_feed(&self, key: &str) -> Option<&str> {
        self.feeds
            .iter()
            .find(|f| crate::secret::matches(key, &f.key_hash))
            .map(|f| f.member.as_str())
    }

    /// The session's calendar event, or `None` if its stored date or time is unreadable.
    pub fn event(
        &self,
        p: &Planned,
        uid: String,
        summary: String,
        url: String,
    ) -> Option<ics::Event> {
        let d = date("date", &p.date).ok()?;
        let t = time("time", &p.time).ok()?;
        Some(ics::Event {
            uid,
            stamp: jiff::Timestamp::from_millisecond(p.changed_at as i64)
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            sequence: p.sequence,
            start: DateTime::from_parts(d, t),
            minutes: p.minutes,
            summary,
            url,
        })
    }
}

/// A planned session as a member's page shows it.
pub fn view(series_id: &str, p: &Planned) -> PlannedSession {
    PlannedSession {
        id: p.id.clone(),
        date: p.date.clone(),
        time: p.time.clone(),
        minutes: p.minutes,
        with: p.with.clone(),
        uid: uid(series_id, &p.id),
    }
}

/// The UID of a planned session's event: the same in every feed and download.
pub fn uid(series_id: &str, id: &str) -> String {
    format!("{id}.{series_id}@circlekeeper")
}

fn updated(mut p: Planned, c: Checked, now: Millis) -> Planned {
    if p.date != c.date || p.time != c.time || p.minutes != c.minutes {
        p.date = c.date;
        p.time = c.time;
        p.minutes = c.minutes;
        p.sequence += 1;
        p.changed_at = now;
    }
    p
}

/// A feed key from a member key: SHA-256 over a fixed label, the generation and the member
/// key, URL-safe base64. Without the member key it cannot be made; it does not reveal it.
fn derive(member_key: &str, generation: u32) -> String {
    use base64::Engine;
    let mut h = Sha256::new();
    h.update(b"circlekeeper calendar feed\0");
    h.update(generation.to_be_bytes());
    h.update(member_key.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h.finalize()[..24])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(date: &str, time: Option<&str>, id: Option<&str>) -> PlannedInput {
        PlannedInput::Session(PlannedSessionInput {
            id: id.map(String::from),
            date: date.into(),
            time: time.map(String::from),
            minutes: None,
        })
    }

    #[test]
    fn dates_times_and_zones_are_checked() {
        assert!(date("d", "2026-02-29").is_err());
        assert!(date("d", "2028-02-29").is_ok());
        assert!(date("d", "2026-1-05").is_err());
        assert!(date("d", "+026-01-05").is_err());
        assert!(time("t", "24:00").is_err());
        assert!(time("t", "7:30").is_err());
        assert!(time("t", "07:30").is_ok());
        assert!(zone("Europe/Berlin").is_ok());
        assert!(zone("Mars/Olympus").is_err());
        assert!(zone("../etc/passwd").is_err());
        assert!(minutes("m", 4).is_err());
    }

    #[test]
    fn an_edit_keeps_the_id_and_counts_a_sequence() {
        let mut cal = SeriesCalendar::default();
        let first = cal
            .check("planned", &[input("2026-03-26", None, None)])
            .expect("valid");
        cal.replace(&[], first, 1).expect("room");
        assert_eq!(cal.sessions[0].id, "p1");
        assert_eq!(cal.sessions[0].time, DEFAULT_START);
        let moved = cal
            .check("planned", &[input("2026-03-27", Some("19:00"), Some("p1"))])
            .expect("valid");
        cal.replace(&[], moved, 2).expect("room");
        assert_eq!(cal.sessions[0].id, "p1");
        assert_eq!(cal.sessions[0].sequence, 1);
        // Sent again as bare dates, the same date keeps its id.
        let again = cal
            .check("planned", &[PlannedInput::Date("2026-03-27".into())])
            .expect("valid");
        cal.replace(&[], again, 3).expect("room");
        assert_eq!(cal.sessions[0].id, "p1");
    }

    #[test]
    fn a_pairs_sessions_are_only_in_its_members_calendars() {
        let mut cal = SeriesCalendar::default();
        let pair = vec!["m1".to_string(), "m2".to_string()];
        let list = cal
            .check("pair.planned", &[input("2026-03-26", None, None)])
            .expect("valid");
        cal.replace(&pair, list, 1).expect("room");
        assert_eq!(cal.for_member("m1", &[]).len(), 1);
        assert_eq!(cal.for_member("m2", &[]).len(), 1);
        assert!(cal.for_member("m3", &[]).is_empty());
    }

    #[test]
    fn feed_keys_rotate() {
        let mut cal = SeriesCalendar::default();
        let (a, made) = cal.feed_key("m1", "member-key", false);
        assert!(made);
        assert_eq!(cal.feed_key("m1", "member-key", false), (a.clone(), false));
        assert_eq!(cal.member_by_feed(&a), Some("m1"));
        let (b, _) = cal.feed_key("m1", "member-key", true);
        assert_ne!(a, b);
        assert_eq!(cal.member_by_feed(&a), None);
        assert_eq!(cal.member_by_feed(&b), Some("m1"));
        assert!(!b.contains("member-key"));
    }

    #[test]
    fn a_series_stored_before_calendars_loads_with_its_dates() {
        let mut record = crate::store::conformance::series("s", "Ada");
        record.planned = vec!["2026-03-26".into()];
        let mut stored = serde_json::to_value(&record).expect("a record");
        if let Some(fields) = stored.as_object_mut() {
            fields.remove("calendar");
        }
        let loaded: crate::series::SeriesRecord =
            serde_json::from_value(stored).expect("an old record loads");
        assert_eq!(loaded.calendar, SeriesCalendar::default());
        let shown = loaded.calendar.for_member("m1", &loaded.planned);
        assert_eq!(shown.len(), 1);
        assert_eq!(
            (shown[0].date.as_str(), shown[0].time.as_str()),
            ("2026-03-26", DEFAULT_START)
        );
        assert_eq!(shown[0].id, "d20260326", "a stable id, so a stable UID");
    }

    #[test]
    fn too_many_are_refused() {
        let cal = SeriesCalendar::default();
        let list: Vec<PlannedInput> = (1..=25)
            .map(|d| PlannedInput::Date(format!("2026-01-{d:02}")))
            .collect();
        let refused = cal.check("planned", &list).expect_err("too many");
        assert_eq!(refused.code, ErrorCode::TooManyItems);
    }
}
