//! The date range report: a program's figures over every room opened in a range, series or
//! not, in the shape of a series report ([`SeriesReport`]).
//!
//! People are told apart by series and member: a member is the same person in every session of
//! their series, and never the same as a member of another series who happens to have the
//! same id or name. Anyone without a member link (a guest, or anyone in a room outside a series)
//! is one person per room: the room and their place in its attendance.
//!
//! Commitments are counted where they were made and where they were reviewed: each session
//! contributes the commitments made in it and the reviews made in it (of its own and of earlier
//! sessions' commitments), whatever their visibility; the totals are the sums over the sessions
//! in the range. Only counts: no text anyone wrote appears in a report.

use circlekeeper_protocol::{Cadence, Millis, Standing};

use super::dates::iso;
use super::series::{attendance, order_rows, pseudonyms, CommitmentFigures, Person};
use super::series::{SeriesReport, REPORT_VERSION};
use super::{from_store, Attendance, ExportError, Names, OutcomeCounts, RoomSummary};
use crate::store::Store;
use crate::texts::{fill, label, Lang};

/// The key of a person in a range report: `series/member` for a member, `room#index` for
/// anyone else (their place in that room's attendance).
fn key(summary: &RoomSummary, index: usize, a: &Attendance) -> String {
    match (&summary.series_id, &a.member) {
        (Some(series), Some(member)) => format!("{series}/{member}"),
        _ => format!("{}#{index}", summary.room_id),
    }
}

/// The participants of a session (facilitators not counted), with their keys.
fn participants(summary: &RoomSummary) -> impl Iterator<Item = (String, &Attendance)> {
    summary
        .attendance
        .iter()
        .enumerate()
        .filter(|(_, a)| a.standing == Standing::Participant)
        .map(move |(i, a)| (key(summary, i, a), a))
}

/// The report over `sessions` (rooms opened from `from`, included, to `to`, not included; in
/// the order they were opened, with real names), its title in `lang`; pseudonyms shuffled by a
/// fresh random seed.
pub fn range_report(
    from: Millis,
    to: Millis,
    sessions: &[RoomSummary],
    names: Names,
    lang: Lang,
) -> SeriesReport {
    range_report_seeded(
        from,
        to,
        sessions,
        names,
        lang,
        crate::secret::random_seed(),
    )
}

/// [`range_report`] with the seed that deals the pseudonyms.
pub fn range_report_seeded(
    from: Millis,
    to: Millis,
    sessions: &[RoomSummary],
    names: Names,
    lang: Lang,
    seed: u64,
) -> SeriesReport {
    // Everyone who came, once each, in the order they first came.
    let mut seen: Vec<(String, String, bool)> = Vec::new();
    for s in sessions {
        for (k, a) in participants(s) {
            if !seen.iter().any(|(p, _, _)| *p == k) {
                // A recognised series guest carries their guest id (`g1`, …) in `member`: still a
                // guest (one person across the series' sessions), not a member.
                let guest = a.member.as_deref().is_none_or(|m| m.starts_with('g'));
                seen.push((k, a.name.clone(), guest));
            }
        }
    }
    let member_count = seen.iter().filter(|p| !p.2).count();
    let mut member_names = pseudonyms("Member", member_count, seed).into_iter();
    let mut guest_names =
        pseudonyms("Guest", seen.len() - member_count, crate::random::mix(seed)).into_iter();
    let people: Vec<Person> = seen
        .iter()
        .map(|(k, name, guest)| Person {
            key: k.clone(),
            name: match (names, guest) {
                (Names::Shown, _) => name.clone(),
                (Names::Pseudonymised, false) => member_names.next().unwrap_or_default(),
                (Names::Pseudonymised, true) => guest_names.next().unwrap_or_default(),
            },
            choice: None,
            guest: *guest,
        })
        .collect();
    let (mut session_rows, mut members) = attendance(sessions, &people, |s, k| {
        participants(s).any(|(key, _)| key == k)
    });
    for (row, s) in session_rows.iter_mut().zip(sessions) {
        row.series_id = s.series_id.clone();
    }
    let mut matrix = pairing_matrix(sessions, &people);
    order_rows(names, &mut members, &mut matrix);
    let made = sessions.iter().map(|s| s.commitment_counts.made).sum();
    let reviewed = sessions.iter().fold(OutcomeCounts::default(), |sum, s| {
        sum.plus(&s.commitment_counts.reviewed)
    });
    let (from_iso, to_iso) = (iso(from), iso(to));
    SeriesReport {
        version: REPORT_VERSION,
        series_id: String::new(),
        title: fill(
            label(lang, "Rooms opened from {from} to {to}"),
            &[("from", &from_iso), ("to", &to_iso)],
        ),
        cadence: Cadence::Custom,
        cycle_months: 0,
        sessions: session_rows,
        members,
        pairing_matrix: matrix,
        commitments: CommitmentFigures::of(made, &reviewed),
        from: Some(from),
        from_iso: Some(from_iso),
        to: Some(to),
        to_iso: Some(to_iso),
    }
}

/// Who met whom, from each session's pairs: a name in a pair is the participant of that name
/// in that session's attendance (its first, should two share a name).
fn pairing_matrix(sessions: &[RoomSummary], people: &[Person]) -> Vec<(String, String, u32)> {
    let mut matrix: Vec<(String, String, u32)> = Vec::new();
    for s in sessions {
        let index_of = |name: &str| {
            let (k, _) = participants(s).find(|(_, a)| a.name == name)?;
            people.iter().position(|p| p.key == k)
        };
        for g in &s.pairings {
            for (i, a) in g.iter().enumerate() {
                for b in &g[i + 1..] {
                    let (Some(x), Some(y)) = (index_of(a), index_of(b)) else {
                        continue;
                    };
                    let (x, y) = (x.min(y), x.max(y));
                    let (a, b) = (people[x].name.clone(), people[y].name.clone());
                    match matrix.iter_mut().find(|(p, q, _)| *p == a && *q == b) {
                        Some(row) => row.2 += 1,
                        None => matrix.push((a, b, 1)),
                    }
                }
            }
        }
    }
    matrix
}

/// The summaries of the rooms opened from `from` (included) to `to` (not included), read from
/// a store in the order they were opened, with real names: for the offline command.
pub fn summaries_in_range(
    store: &dyn Store,
    from: Millis,
    to: Millis,
) -> Result<Vec<RoomSummary>, ExportError> {
    let mut records = store.rooms()?;
    records.retain(|(_, r)| (from..to).contains(&r.created_at));
    records.sort_by(|(a, ra), (b, rb)| (ra.created_at, a).cmp(&(rb.created_at, b)));
    stored(store, records.iter().map(|(id, _)| id.as_str()))
}

/// The summaries of `rooms` from a store, in order, with real names (a report applies its own
/// pseudonyms). A room no longer stored (deleted, or past its retention) is left out; a damaged
/// one fails the whole report rather than leave its figures out unsaid.
pub fn stored<'a>(
    store: &dyn Store,
    rooms: impl Iterator<Item = &'a str>,
) -> Result<Vec<RoomSummary>, ExportError> {
    let mut summaries = Vec::new();
    for room in rooms {
        match from_store(store, room, Names::Shown) {
            Ok(summary) => summaries.push(summary),
            Err(ExportError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(summaries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::series::tests::summary;

    #[test]
    fn members_of_two_series_with_the_same_ids_are_different_people() {
        let sessions = [
            summary(
                "a1",
                Some("A"),
                &[("Ada", Some("m1")), ("Ben", Some("m2")), ("Gil", None)],
            ),
            summary("b1", Some("B"), &[("Ivy", Some("m1")), ("Jon", Some("m2"))]),
            summary("a2", Some("A"), &[("Ada", Some("m1")), ("Gil", None)]),
            summary("x1", None, &[("Ada", None)]),
        ];
        let r = range_report_seeded(0, 10, &sessions, Names::Shown, Lang::En, 1);
        let people: Vec<(&str, u32, bool)> = r
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.attended, m.guest))
            .collect();
        assert_eq!(
            people,
            [
                ("Ada", 2, false),
                ("Ben", 1, false),
                ("Gil", 1, true),
                ("Ivy", 1, false),
                ("Jon", 1, false),
                ("Gil", 1, true),
                ("Ada", 1, true),
            ],
            "a member by series, anyone else by room"
        );
        let attendance: Vec<u32> = r.sessions.iter().map(|s| s.attendance).collect();
        assert_eq!(attendance, [3, 2, 2, 1]);
        assert_eq!(
            r.title,
            "Rooms opened from 1970-01-01T00:00:00.000Z to 1970-01-01T00:00:00.010Z"
        );
        let hidden = range_report_seeded(0, 10, &sessions, Names::Pseudonymised, Lang::En, 1);
        let text = serde_json::to_string(&hidden).expect("json");
        for secret in ["Ada", "Ivy", "Gil", "\"m1\"", "A/m1"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let guests = hidden
            .members
            .iter()
            .filter(|m| m.name.starts_with("Guest "))
            .count();
        assert_eq!(guests, 3);
    }

    #[test]
    fn commitments_are_summed_where_made_and_where_reviewed() {
        let mut s1 = summary("a1", Some("A"), &[("Ada", Some("m1"))]);
        s1.commitment_counts.made = 4;
        let mut s2 = summary("a2", Some("A"), &[("Ada", Some("m1"))]);
        s2.commitment_counts.made = 1;
        s2.commitment_counts.reviewed = OutcomeCounts {
            kept: 1,
            partly: 1,
            not: 1,
            changed: 0,
        };
        let mut s3 = summary("a3", Some("A"), &[("Ada", Some("m1"))]);
        s3.commitment_counts.reviewed = OutcomeCounts {
            kept: 0,
            partly: 0,
            not: 1,
            changed: 1,
        };
        let r = range_report_seeded(0, 10, &[s1, s2, s3], Names::Shown, Lang::En, 1);
        let c = &r.commitments;
        assert_eq!(
            (c.made, c.kept, c.partly, c.not, c.changed),
            (5, 1, 1, 2, 1)
        );
        let made: Vec<u32> = r.sessions.iter().map(|s| s.commitments_made).collect();
        assert_eq!(made, [4, 1, 0]);
    }
}
