//! An iCalendar (RFC 5545) writer for a series' planned sessions: one `VCALENDAR` with the
//! series' time zone as a `VTIMEZONE` and one `VEVENT` per session.
//!
//! Times are written in the series' zone (`DTSTART;TZID=Europe/Berlin:20260326T180000`) with a
//! `VTIMEZONE` holding every offset change from the one before the first event to the last
//! event, taken from the time zone database: calendar apps then show the session at its local
//! time wherever the reader is, and a session after a daylight-saving change keeps its clock
//! time. A series in `UTC` writes UTC times (`…Z`) and needs no `VTIMEZONE`. Lines end in CRLF
//! and are folded at 75 octets; text values are escaped.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// The longest line, in octets, before folding (RFC 5545 §3.1).
const FOLD_AT: usize = 75;

/// One event of a calendar.
#[derive(Debug, Clone)]
pub struct Event {
    /// Globally unique, the same for the same planned session every time it is written.
    pub uid: String,
    /// When the planned session last changed (UTC), written as `DTSTAMP` and `LAST-MODIFIED`.
    pub stamp: Timestamp,
    /// How many times it changed since it was planned.
    pub sequence: u32,
    /// Local start in the calendar's zone.
    pub start: DateTime,
    /// Duration in minutes.
    pub minutes: u16,
    /// The event's title.
    pub summary: String,
    /// The address of the series' page (never with a key).
    pub url: String,
}

/// A calendar: its name, zone and events.
#[derive(Debug)]
pub struct Calendar<'a> {
    /// Shown by calendar apps as the subscribed calendar's name.
    pub name: &'a str,
    /// The IANA name of the zone.
    pub zone_name: &'a str,
    /// The zone.
    pub zone: &'a TimeZone,
    /// The events.
    pub events: &'a [Event],
}

impl Calendar<'_> {
    /// The calendar as iCalendar text.
    pub fn write(&self) -> String {
        let mut w = Writer::default();
        w.line("BEGIN:VCALENDAR");
        w.line("VERSION:2.0");
        w.line("PRODID:-//circlekeeper//series calendar//EN");
        w.line("CALSCALE:GREGORIAN");
        w.line("METHOD:PUBLISH");
        w.prop("X-WR-CALNAME", &escape(self.name));
        w.prop("X-WR-TIMEZONE", &escape(self.zone_name));
        w.line("REFRESH-INTERVAL;VALUE=DURATION:PT6H");
        w.line("X-PUBLISHED-TTL:PT6H");
        let utc = self.is_utc();
        let placed: Vec<(Timestamp, Timestamp)> =
            self.events.iter().map(|e| self.instants(e)).collect();
        if !utc {
            if let (Some(first), Some(last)) = (
                placed.iter().map(|p| p.0).min(),
                placed.iter().map(|p| p.1).max(),
            ) {
                self.vtimezone(&mut w, first, last);
            }
        }
        for (event, (start, end)) in self.events.iter().zip(placed) {
            w.line("BEGIN:VEVENT");
            w.prop("UID", &escape(&event.uid));
            w.prop("DTSTAMP", &utc_stamp(event.stamp));
            w.prop("LAST-MODIFIED", &utc_stamp(event.stamp));
            w.prop("SEQUENCE", &event.sequence.to_string());
            if utc {
                w.prop("DTSTART", &utc_stamp(start));
                w.prop("DTEND", &utc_stamp(end));
            } else {
                let tzid = format!("TZID={}", param(self.zone_name));
                w.prop(
                    &format!("DTSTART;{tzid}"),
                    &local(self.zone.to_datetime(start)),
                );
                w.prop(&format!("DTEND;{tzid}"), &local(self.zone.to_datetime(end)));
            }
            w.prop("SUMMARY", &escape(&event.summary));
            w.prop("URL;VALUE=URI", &event.url);
            w.line("STATUS:CONFIRMED");
            w.line("TRANSP:OPAQUE");
            w.line("END:VEVENT");
        }
        w.line("END:VCALENDAR");
        w.out
    }

    fn is_utc(&self) -> bool {
        matches!(self.zone_name, "UTC" | "Etc/UTC")
    }

    /// The event's start and end: a local start in a gap (clocks going forward) moves
    /// forward by the gap; a start in an overlap takes the earlier of the two.
    fn instants(&self, event: &Event) -> (Timestamp, Timestamp) {
        let start = self
            .zone
            .to_ambiguous_timestamp(event.start)
            .compatible()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let end = start
            .checked_add(SignedDuration::from_mins(i64::from(event.minutes)))
            .unwrap_or(start);
        (start, end)
    }

    /// The zone's offsets from the last change before `first` to `last`.
    fn vtimezone(&self, w: &mut Writer, first: Timestamp, last: Timestamp) {
        w.line("BEGIN:VTIMEZONE");
        w.prop("TZID", &escape(self.zone_name));
        w.prop("X-LIC-LOCATION", &escape(self.zone_name));
        let mut any = false;
        let before = self.zone.preceding(first).next();
        let changes = before.into_iter().chain(
            self.zone
                .following(first)
                .take_while(|t| t.timestamp() <= last)
                .take(64),
        );
        for change in changes {
            let at = change.timestamp();
            let from = self.offset_before(at);
            let kind = if change.dst().is_dst() {
                "DAYLIGHT"
            } else {
                "STANDARD"
            };
            sub_zone(
                w,
                kind,
                from.to_datetime(at),
                from,
                change.offset(),
                change.abbreviation(),
            );
            any = true;
        }
        if !any {
            // A zone with one offset over the whole span.
            let info = self.zone.to_offset_info(first);
            let start = jiff::civil::date(1970, 1, 1).at(0, 0, 0, 0);
            sub_zone(
                w,
                "STANDARD",
                start,
                info.offset(),
                info.offset(),
                info.abbreviation(),
            );
        }
        w.line("END:VTIMEZONE");
    }

    /// The offset in force just before `at`.
    fn offset_before(&self, at: Timestamp) -> Offset {
        let just_before = at.checked_sub(SignedDuration::from_secs(1)).unwrap_or(at);
        self.zone.to_offset(just_before)
    }
}

/// One `STANDARD` or `DAYLIGHT` part of a `VTIMEZONE`.
fn sub_zone(w: &mut Writer, kind: &str, start: DateTime, from: Offset, to: Offset, name: &str) {
    w.line(&format!("BEGIN:{kind}"));
    w.prop("DTSTART", &local(start));
    w.prop("TZOFFSETFROM", &offset(from));
    w.prop("TZOFFSETTO", &offset(to));
    if !name.is_empty() {
        w.prop("TZNAME", &escape(name));
    }
    w.line(&format!("END:{kind}"));
}

/// Lines with CRLF endings, folded at [`FOLD_AT`] octets.
#[derive(Default)]
struct Writer {
    out: String,
}

impl Writer {
    fn prop(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{value}"));
    }

    /// A content line, folded: after at most 75 octets, CRLF and a space, never inside a
    /// character.
    fn line(&mut self, line: &str) {
        let mut width = 0;
        for c in line.chars() {
            let len = c.len_utf8();
            // A continuation line starts with a space, which counts.
            if width + len > FOLD_AT {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += len;
        }
        self.out.push_str("\r\n");
    }
}

/// A TEXT value: backslash, semicolon, comma and line breaks escaped; other control
/// characters dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value: quoted when it holds a character a bare one may not.
fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect();
    if clean.contains([';', ':', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// `20260326T180000`.
fn local(t: DateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `20260326T170000Z`.
fn utc_stamp(t: Timestamp) -> String {
    format!("{}Z", local(Offset::UTC.to_datetime(t)))
}

/// `+0100`, `-0430`, `+053328` (seconds only when there are some).
fn offset(o: Offset) -> String {
    let total = o.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let s = total.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    if sec == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{sec:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uid: &str, start: DateTime, summary: &str) -> Event {
        Event {
            uid: uid.into(),
            stamp: Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH),
            sequence: 0,
            start,
            minutes: 90,
            summary: summary.into(),
            url: "https://example.org/s/abc".into(),
        }
    }

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").expect("the bundled database has Berlin")
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a,b;c\\d\ne\r\nf\u{7}"), "a\\,b\\;c\\\\d\\ne\\nf");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let mut w = Writer::default();
        let long = format!("SUMMARY:{}", "é".repeat(80));
        w.line(&long);
        for line in w.out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        let unfolded = w.out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, long);
    }

    #[test]
    fn times_are_local_with_a_vtimezone_across_the_daylight_change() {
        let zone = berlin();
        let events = [
            event(
                "p1@x",
                jiff::civil::date(2026, 3, 26).at(18, 0, 0, 0),
                "Swap",
            ),
            event(
                "p2@x",
                jiff::civil::date(2026, 4, 2).at(18, 0, 0, 0),
                "Swap",
            ),
        ];
        let text = Calendar {
            name: "Swap",
            zone_name: "Europe/Berlin",
            zone: &zone,
            events: &events,
        }
        .write();
        assert!(text.contains("DTSTART;TZID=Europe/Berlin:20260326T180000\r\n"));
        assert!(text.contains("DTEND;TZID=Europe/Berlin:20260326T193000\r\n"));
        assert!(text.contains("DTSTART;TZID=Europe/Berlin:20260402T180000\r\n"));
        // The change on 29 March 2026 at 02:00 CET, and the one before the first event.
        assert!(text.contains(
            "BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
        ));
        assert!(text.contains(
            "BEGIN:STANDARD\r\nDTSTART:20251026T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
        ));
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
    }

    #[test]
    fn a_utc_series_writes_utc_times_and_no_vtimezone() {
        let zone = TimeZone::UTC;
        let events = [event(
            "p1@x",
            jiff::civil::date(2026, 3, 26).at(18, 0, 0, 0),
            "S",
        )];
        let text = Calendar {
            name: "S",
            zone_name: "UTC",
            zone: &zone,
            events: &events,
        }
        .write();
        assert!(text.contains("DTSTART:20260326T180000Z\r\nDTEND:20260326T193000Z\r\n"));
        assert!(!text.contains("VTIMEZONE"));
    }

    #[test]
    fn a_start_in_the_spring_gap_moves_forward() {
        let zone = berlin();
        let events = [event(
            "p1@x",
            jiff::civil::date(2026, 3, 29).at(2, 30, 0, 0),
            "S",
        )];
        let text = Calendar {
            name: "S",
            zone_name: "Europe/Berlin",
            zone: &zone,
            events: &events,
        }
        .write();
        assert!(text.contains("DTSTART;TZID=Europe/Berlin:20260329T033000\r\n"));
    }

    #[test]
    fn offsets_are_written_as_rfc_5545_wants() {
        assert_eq!(
            offset(Offset::from_seconds(-16_200).unwrap_or(Offset::UTC)),
            "-0430"
        );
        assert_eq!(
            offset(Offset::from_seconds(3_600).unwrap_or(Offset::UTC)),
            "+0100"
        );
        assert_eq!(
            offset(Offset::from_seconds(3_208).unwrap_or(Offset::UTC)),
            "+005328"
        );
    }
}
