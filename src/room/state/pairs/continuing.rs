//! Fixed groups from the series: a continuing triad comes as its three pairs (see
//! `SeriesRecord::continuing_groups`). Pairing takes each person in one fixed pair at most, so
//! before a proposal the triad is kept whole as a placed triad when all three are here and the
//! count is odd (and no locked triad is there already), and otherwise as one of its pairs.

use crate::pairing::{Group, PersonId};

/// The fixed pairs pairing can take, and the continuing triads to place as groups, for the
/// people `present` (with the facilitator's `locked` groups).
pub(super) fn split_fixed(
    fixed: &[(PersonId, PersonId)],
    present: &[PersonId],
    locked: &[Group],
) -> (Vec<(PersonId, PersonId)>, Vec<Group>) {
    let has = |a: &str, b: &str| {
        fixed
            .iter()
            .any(|(x, y)| (x == a && y == b) || (x == b && y == a))
    };
    let mut triads: Vec<[PersonId; 3]> = Vec::new();
    for (a, b) in fixed {
        for (x, y) in fixed {
            let c = if x == a && y != b {
                y
            } else if y == a && x != b {
                x
            } else {
                continue;
            };
            if has(b, c) {
                let mut t = [a.clone(), b.clone(), c.clone()];
                t.sort();
                if !triads.contains(&t) {
                    triads.push(t);
                }
            }
        }
    }
    let here = |p: &PersonId| present.contains(p);
    let locked_here = |p: &PersonId| locked.iter().any(|g| g.members().contains(p));
    let mut room_for_triad = present.len() % 2 == 1 && !locked.iter().any(|g| g.is_triad());
    let mut placed: Vec<Group> = Vec::new();
    let mut pairs: Vec<(PersonId, PersonId)> = Vec::new();
    let in_triad = |p: &PersonId| triads.iter().any(|t| t.contains(p));
    for t in &triads {
        if room_for_triad && t.iter().all(here) && !t.iter().any(locked_here) {
            placed.push(Group::Triad(t.clone()));
            room_for_triad = false;
        } else {
            pairs.push((t[0].clone(), t[1].clone()));
        }
    }
    pairs.extend(
        fixed
            .iter()
            .filter(|(a, b)| !in_triad(a) && !in_triad(b))
            .cloned(),
    );
    (pairs, placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> Vec<PersonId> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_continuing_triad_stays_whole_when_the_count_is_odd() {
        let fixed = vec![
            ("a".to_string(), "b".to_string()),
            ("a".to_string(), "c".to_string()),
            ("b".to_string(), "c".to_string()),
            ("d".to_string(), "e".to_string()),
        ];
        let (pairs, placed) = split_fixed(&fixed, &ids(&["a", "b", "c", "d", "e"]), &[]);
        assert_eq!(
            placed,
            vec![Group::Triad(["a".into(), "b".into(), "c".into()])]
        );
        assert_eq!(pairs, vec![("d".to_string(), "e".to_string())]);
        let (pairs, placed) = split_fixed(&fixed, &ids(&["a", "b", "c", "d", "e", "f"]), &[]);
        assert!(placed.is_empty());
        assert_eq!(pairs.len(), 2, "{pairs:?}");
    }
}
