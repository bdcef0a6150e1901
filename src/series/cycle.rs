//! The end of a cycle: how many sessions a cycle holds (from the series' cadence and
//! `cycle_months`), which cycle's end the series asks a member about, the history of their
//! choices, and how pairing follows the answers (rematch avoids the last partner, continue keeps
//! a pair or a triad together, end stops the member's part).

use circlekeeper_protocol::{Cadence, CycleChoice, MemberCycle};

use super::{ChoiceMade, MemberStatus, SeriesRecord};

/// What [`SeriesRecord::cycle_view`] answers: a member's view of the series' cycles.
pub type CycleView = MemberCycle;

impl SeriesRecord {
    /// Sessions in one cycle: `cycle_months` for a monthly series, twice that for a biweekly
    /// one, and one a month (`cycle_months`) for a custom one.
    pub fn sessions_per_cycle(&self) -> u32 {
        let months = u32::from(self.cycle_months.max(1));
        match self.cadence {
            Cadence::Biweekly => months * 2,
            Cadence::Monthly | Cadence::Custom => months,
        }
    }

    /// How many cycles have reached their end: their last session has been opened.
    pub fn cycles_reached(&self) -> u32 {
        self.sessions.len() as u32 / self.sessions_per_cycle()
    }

    /// Whether `member` answered the end of cycle `cycle`.
    fn answered(&self, member: &str, cycle: u32) -> bool {
        self.roster
            .choices
            .iter()
            .any(|c| c.member == member && c.cycle == cycle)
    }

    /// The cycle whose end the series asks `member` about now: the last one reached, if they
    /// have not answered it (nobody removed, or who chose to end, is asked).
    pub fn asking(&self, member: &str) -> Option<u32> {
        let reached = self.cycles_reached();
        let stopped = self
            .members
            .iter()
            .any(|m| m.id == member && m.choice == Some(CycleChoice::End));
        let asked = reached >= 1
            && !self.answered(member, reached)
            && !stopped
            && self.status(member) != MemberStatus::Removed;
        asked.then_some(reached)
    }

    /// Record `member`'s choice: it answers the cycle the series asks them about, or else the
    /// coming one (a later choice for the same cycle replaces the earlier).
    pub fn record_choice(&mut self, member: &str, choice: CycleChoice) {
        let cycle = self
            .asking(member)
            .unwrap_or_else(|| self.cycles_reached() + 1);
        self.roster
            .choices
            .retain(|c| !(c.member == member && c.cycle == cycle));
        self.roster.choices.push(ChoiceMade {
            cycle,
            member: member.to_string(),
            choice,
        });
        if let Some(m) = self.members.iter_mut().find(|m| m.id == member) {
            m.choice = Some(choice);
        }
    }

    /// What `member`'s page shows of the cycles.
    pub fn cycle_view(&self, member: &str) -> CycleView {
        let per = self.sessions_per_cycle();
        let opened = self.sessions.len() as u32;
        let mut previous: Vec<(u32, CycleChoice)> = self
            .roster
            .choices
            .iter()
            .filter(|c| c.member == member)
            .map(|c| (c.cycle, c.choice))
            .collect();
        previous.sort_by_key(|(cycle, _)| *cycle);
        MemberCycle {
            current: opened / per + 1,
            sessions_per_cycle: per,
            sessions_done: opened % per,
            asking: self.asking(member),
            previous,
        }
    }

    /// The partners `member` had in the last session they were paired in.
    pub fn last_partners(&self, member: &str) -> Vec<String> {
        let mut last: Option<u32> = None;
        let mut partners: Vec<String> = Vec::new();
        for (a, b, sessions) in self.history.pairs() {
            let other = if a == member {
                b
            } else if b == member {
                a
            } else {
                continue;
            };
            let Some(&s) = sessions.last() else { continue };
            match last {
                Some(l) if s < l => {}
                Some(l) if s == l => partners.push(other.clone()),
                _ => {
                    last = Some(s);
                    partners = vec![other.clone()];
                }
            }
        }
        partners
    }

    /// Triads whose three members all chose `continue` and were together, the three of them
    /// and nobody else, in the last session each was paired in.
    pub fn continuing_triads(&self) -> Vec<[String; 3]> {
        let continuing = |id: &str| {
            self.members
                .iter()
                .any(|m| m.id == id && m.choice == Some(CycleChoice::Continue))
                && self.status(id) == MemberStatus::Active
        };
        let mut out: Vec<[String; 3]> = Vec::new();
        for m in self.members.iter().filter(|m| continuing(&m.id)) {
            let mut partners = self.last_partners(&m.id);
            if partners.len() != 2 || !partners.iter().all(|p| continuing(p)) {
                continue;
            }
            partners.sort();
            let mut trio = [m.id.clone(), partners[0].clone(), partners[1].clone()];
            trio.sort();
            let same = |a: &str, b: &str| self.history.last_met(a, b);
            let together = same(&trio[0], &trio[1]) == same(&trio[0], &trio[2])
                && same(&trio[0], &trio[1]) == same(&trio[1], &trio[2]);
            let closed = trio.iter().all(|p| {
                let mut theirs = self.last_partners(p);
                theirs.push(p.clone());
                theirs.sort();
                theirs == trio
            });
            if together && closed && !out.contains(&trio) {
                out.push(trio);
            }
        }
        out
    }

    /// What pairing keeps together in the next session: the pairs of members who both chose
    /// `continue` ([`SeriesRecord::continuing_pairs`]), and each continuing triad as its three
    /// pairs (the room keeps such a triad whole when the count allows: see
    /// `room::state::pairs`). Paused and removed members are left out.
    pub fn continuing_groups(&self) -> Vec<(String, String)> {
        let triads = self.continuing_triads();
        let in_triad = |id: &str| triads.iter().any(|t| t.iter().any(|p| p == id));
        let active = |id: &str| self.status(id) == MemberStatus::Active;
        let mut fixed: Vec<(String, String)> = self
            .continuing_pairs()
            .into_iter()
            .filter(|(a, b)| !in_triad(a) && !in_triad(b) && active(a) && active(b))
            .collect();
        for [a, b, c] in triads {
            fixed.push((a.clone(), b.clone()));
            fixed.push((a, c.clone()));
            fixed.push((b, c));
        }
        fixed
    }

    /// Members who chose `rematch`, each with the partners of their last session: pairing
    /// avoids putting them together again (as an avoid-pair).
    pub fn rematch_pairs(&self) -> Vec<(String, String)> {
        self.members
            .iter()
            .filter(|m| m.choice == Some(CycleChoice::Rematch))
            .flat_map(|m| {
                self.last_partners(&m.id)
                    .into_iter()
                    .map(move |p| (m.id.clone(), p))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairing::Group;
    use crate::series::tests::record;
    use crate::series::Session;

    fn opened(r: &mut SeriesRecord, n: usize) {
        for i in 0..n {
            r.sessions.push(Session {
                room_id: format!("r{i}"),
                opened_at: 0,
            });
        }
    }

    #[test]
    fn cycles_count_sessions_by_cadence() {
        let mut r = record();
        r.cycle_months = 3;
        assert_eq!(r.sessions_per_cycle(), 3);
        r.cadence = Cadence::Biweekly;
        assert_eq!(r.sessions_per_cycle(), 6);
        r.cadence = Cadence::Custom;
        assert_eq!(r.sessions_per_cycle(), 3);
    }

    #[test]
    fn the_end_of_a_cycle_asks_until_answered_and_keeps_every_answer() {
        let mut r = record();
        r.cycle_months = 2;
        r.add_members(&["Ana".into(), "Ben".into()], vec!["a".into(), "b".into()])
            .expect("members");
        opened(&mut r, 1);
        assert_eq!(r.asking("m1"), None);
        opened(&mut r, 1);
        assert_eq!(r.asking("m1"), Some(1));
        r.record_choice("m1", CycleChoice::Rematch);
        assert_eq!(r.asking("m1"), None);
        assert_eq!(r.asking("m2"), Some(1));
        opened(&mut r, 2);
        assert_eq!(r.asking("m1"), Some(2));
        r.record_choice("m1", CycleChoice::Continue);
        let view = r.cycle_view("m1");
        assert_eq!(
            view.previous,
            vec![(1, CycleChoice::Rematch), (2, CycleChoice::Continue)]
        );
        assert_eq!((view.current, view.sessions_done), (3, 0));
    }

    #[test]
    fn a_triad_whose_three_continue_is_kept_as_its_three_pairs() {
        let mut r = record();
        r.add_members(
            &[
                "Ana".into(),
                "Ben".into(),
                "Cy".into(),
                "Dee".into(),
                "Eve".into(),
            ],
            ["a", "b", "c", "d", "e"]
                .iter()
                .map(|k| k.to_string())
                .collect(),
        )
        .expect("members");
        r.record_pairs(
            0,
            &[
                Group::Triad(["m1".into(), "m2".into(), "m3".into()]),
                Group::Pair(["m4".into(), "m5".into()]),
            ],
        );
        for m in ["m1", "m2", "m3", "m4", "m5"] {
            r.record_choice(m, CycleChoice::Continue);
        }
        assert_eq!(
            r.continuing_triads(),
            vec![["m1".to_string(), "m2".to_string(), "m3".to_string()]]
        );
        let fixed = r.continuing_groups();
        assert_eq!(fixed.len(), 4, "{fixed:?}");
        assert!(fixed.contains(&("m4".into(), "m5".into())));
        r.record_choice("m3", CycleChoice::Rematch);
        assert!(r.continuing_triads().is_empty());
    }

    #[test]
    fn a_rematch_avoids_the_last_partners_only() {
        let mut r = record();
        r.add_members(
            &["Ana".into(), "Ben".into(), "Cy".into(), "Dee".into()],
            ["a", "b", "c", "d"].iter().map(|k| k.to_string()).collect(),
        )
        .expect("members");
        r.record_pairs(0, &[Group::Pair(["m1".into(), "m3".into()])]);
        r.record_pairs(1, &[Group::Triad(["m1".into(), "m2".into(), "m4".into()])]);
        r.record_choice("m1", CycleChoice::Rematch);
        let mut pairs = r.rematch_pairs();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![("m1".into(), "m2".into()), ("m1".into(), "m4".into())]
        );
    }
}
