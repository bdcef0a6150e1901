//! Dates and durations in exports: ISO 8601 (UTC, to the millisecond) for programs, readable
//! dates in the export's language for people, and the dates the offline command accepts.
//!
//! No calendar crate: the proleptic Gregorian calendar from days since 1970 (Howard Hinnant's
//! `civil_from_days` and `days_from_civil`) is all the exports need.

use circlekeeper_protocol::Millis;

use crate::texts::{fill, label, Lang};

const DAY_MS: u64 = 86_400_000;

/// (year, month 1–12, day 1–31) of a day counted from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The parts of an instant: (year, month, day, hour, minute, second, millisecond), UTC.
fn parts(at: Millis) -> (i64, u32, u32, u64, u64, u64, u64) {
    let (year, month, day) = civil_from_days((at / DAY_MS) as i64);
    let in_day = at % DAY_MS;
    (
        year,
        month,
        day,
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    )
}

/// An instant (epoch ms) in ISO 8601, UTC, to the millisecond: `2027-03-01T18:30:00.000Z`.
pub fn iso(at: Millis) -> String {
    let (y, mo, d, h, mi, s, ms) = parts(at);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// [`iso`] of an instant that may be missing.
pub fn iso_opt(at: Option<Millis>) -> Option<String> {
    at.map(iso)
}

/// The English names of the months, translated like every export label.
const MONTHS: [&str; 12] = [
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
];

/// An instant for people, in `lang`, in UTC: "1 March 2027, 18:30 UTC",
/// "1 de marzo de 2027, 18:30 UTC", "1. März 2027, 18:30 UTC".
pub fn readable(at: Millis, lang: Lang) -> String {
    let (y, mo, d, h, mi, _, _) = parts(at);
    let month = label(lang, MONTHS[(mo as usize - 1) % 12]);
    fill(
        label(lang, "{day} {month} {year}, {time} UTC"),
        &[
            ("day", &d.to_string()),
            ("month", month),
            ("year", &y.to_string()),
            ("time", &format!("{h:02}:{mi:02}")),
        ],
    )
}

/// A duration for people: "1 h 05 min", "45 min", "0 min" (whole minutes, rounded down).
pub fn readable_duration(ms: u64) -> String {
    let minutes = ms / 60_000;
    if minutes >= 60 {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    }
}

/// An instant as the offline command takes it: epoch milliseconds (digits only), a date
/// `YYYY-MM-DD` (its midnight, UTC), or `YYYY-MM-DDTHH:MM[:SS[.mmm]]Z` (UTC). `None` for
/// anything else, or a date before 1970.
pub fn parse_instant(s: &str) -> Option<Millis> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let (date, time) = match s.split_once('T') {
        Some((date, time)) => (date, Some(time.strip_suffix('Z')?)),
        None => (s, None),
    };
    let mut fields = date.split('-');
    let year: i64 = number(fields.next()?, 4)?;
    let month: u32 = number(fields.next()?, 2)?;
    let day: u32 = number(fields.next()?, 2)?;
    if fields.next().is_some() || !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // A day past the month's end would roll over: refuse it rather than guess.
    if civil_from_days(days) != (year, month, day) || days < 0 {
        return None;
    }
    let mut ms = days as u64 * DAY_MS;
    if let Some(time) = time {
        let (time, millis) = match time.split_once('.') {
            Some((time, millis)) => (time, number::<u64>(millis, 3)?),
            None => (time, 0),
        };
        let mut fields = time.split(':');
        let h: u64 = number(fields.next()?, 2)?;
        let m: u64 = number(fields.next()?, 2)?;
        let sec: u64 = match fields.next() {
            Some(sec) => number(sec, 2)?,
            None => 0,
        };
        if fields.next().is_some() || h > 23 || m > 59 || sec > 59 {
            return None;
        }
        ms += h * 3_600_000 + m * 60_000 + sec * 1000 + millis;
    }
    Some(ms)
}

/// Exactly `width` ASCII digits, as a number.
fn number<T: std::str::FromStr>(s: &str, width: usize) -> Option<T> {
    (s.len() == width && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_in_iso_8601_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        // 2027-03-01T18:30:05.250Z, across a leap-year February.
        assert_eq!(iso(1_803_925_805_250), "2027-03-01T18:30:05.250Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn readable_dates_are_in_the_exports_language() {
        let at = 1_803_925_805_250;
        assert_eq!(readable(at, Lang::En), "1 March 2027, 18:30 UTC");
        assert_eq!(readable(at, Lang::Es), "1 de marzo de 2027, 18:30 UTC");
        assert_eq!(readable(at, Lang::De), "1. März 2027, 18:30 UTC");
        assert_eq!(readable_duration(65 * 60_000 + 59_000), "1 h 05 min");
        assert_eq!(readable_duration(45 * 60_000), "45 min");
    }

    #[test]
    fn the_offline_command_takes_epoch_ms_dates_and_utc_times() {
        assert_eq!(parse_instant("1803925805250"), Some(1_803_925_805_250));
        assert_eq!(parse_instant("2027-03-01"), Some(1_803_859_200_000));
        assert_eq!(
            parse_instant("2027-03-01T18:30:05.250Z"),
            Some(1_803_925_805_250)
        );
        assert_eq!(parse_instant("2027-03-01T18:30Z"), Some(1_803_925_800_000));
        for bad in [
            "",
            "2027-02-29",
            "2027-13-01",
            "2027-3-1",
            "2027-03-01T25:00Z",
            "2027-03-01T18:30",
            "yesterday",
            "-5",
        ] {
            assert_eq!(parse_instant(bad), None, "{bad:?}");
        }
        for at in [0, 951_782_400_000, 1_803_925_805_250] {
            assert_eq!(parse_instant(&iso(at)), Some(at));
        }
    }
}
