//! Series: recurring rooms (every two weeks, monthly, custom) with a member list. Each member
//! has a personal link that works for every room of the series, so pairing history follows the
//! person, not the device. This module owns the stored record and the rules on it; the HTTP
//! handlers live in `server::api` and the record is kept by `server::AppState`.

use circlekeeper_protocol::{Cadence, Millis};
use serde::{Deserialize, Serialize};

use crate::pairing::{Group, History};

mod cycle;
mod roster;

pub use cycle::CycleView;
pub use roster::{ChoiceMade, Guest, MemberStatus, NewMember, Roster, MAX_GUESTS};

/// Most members one series holds.
pub const MAX_MEMBERS: usize = 200;

/// The title of a series' session when its host gives none: `{title}` is the series' title,
/// `{n}` the session's number from 1. A built-in text, translated in `texts` as a template.
pub const SESSION_TITLE: &str = "{title} — session {n}";

/// One member of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Stable id within the series (what pairing history is keyed by).
    pub id: String,
    /// Display name.
    pub name: String,
    /// SHA-256 of the member's personal key.
    pub key_hash: [u8; 32],
    /// Their end-of-cycle choice, once made.
    #[serde(default)]
    pub choice: Option<circlekeeper_protocol::CycleChoice>,
    /// Members they prefer not to be paired with.
    #[serde(default)]
    pub avoid: Vec<String>,
}

/// One session of a series: a room opened for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The room.
    pub room_id: String,
    /// When it was opened.
    pub opened_at: Millis,
}

/// A series as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesRecord {
    /// Series id.
    pub id: String,
    /// Title.
    pub title: String,
    /// How often it meets.
    pub cadence: Cadence,
    /// Months in a cycle.
    pub cycle_months: u8,
    /// SHA-256 of the host key.
    pub host_key_hash: [u8; 32],
    /// The members.
    pub members: Vec<Member>,
    /// Its sessions, oldest first: a session's index is its place here.
    pub sessions: Vec<Session>,
    /// Who met whom in which session (by member id).
    pub history: History,
    /// Planned dates of the next sessions (`YYYY-MM-DD`).
    #[serde(default)]
    pub planned: Vec<String>,
    /// Every member's commitments from every session, any visibility (each author reviews
    /// their own at the next session; rooms show only the shared ones).
    #[serde(default)]
    pub commitments: Vec<circlekeeper_protocol::Commitment>,
    /// When it was created.
    pub created_at: Millis,
    /// Its calendar: time zone, planned sessions, members' feed keys.
    #[serde(default)]
    pub calendar: crate::calendar::SeriesCalendar,
    /// Membership over time: paused and removed members, members added later, the guests it
    /// recognises, the end-of-cycle choices made (see `roster`).
    #[serde(default)]
    pub roster: Roster,
    /// Default call links, copied into each room opened for the series (checked).
    #[serde(default)]
    pub calls: circlekeeper_protocol::CallLinks,
    /// Outgoing webhooks its host configured (with their signing secrets; the record is sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<crate::webhooks::Webhook>,
}

impl SeriesRecord {
    /// The member whose key hashes to `hash`, compared in constant time.
    pub fn member_by_key(&self, key: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| crate::secret::matches(key, &m.key_hash))
    }

    /// Record the groups of session `session`, and who was in a triad (replacing what that
    /// session recorded before: a facilitator may pair again).
    pub fn record_pairs(&mut self, session: u32, groups: &[Group]) {
        self.history.forget_session(session);
        self.history.record(session, groups);
    }

    /// Keep these commitments (new ones added, reviewed ones updated), by id.
    pub fn merge_commitments(&mut self, from: &[circlekeeper_protocol::Commitment]) {
        for c in from.iter().filter(|c| c.member.is_some()) {
            match self.commitments.iter_mut().find(|k| k.id == c.id) {
                // A room holding an older copy must not undo a review made since.
                Some(k) => {
                    let outcome = c.outcome.or(k.outcome);
                    *k = c.clone();
                    k.outcome = outcome;
                }
                None => self.commitments.push(c.clone()),
            }
        }
    }

    /// Pairs who both chose to continue together: their last session's partner, kept.
    pub fn continuing_pairs(&self) -> Vec<(String, String)> {
        use circlekeeper_protocol::CycleChoice;
        let continuing: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.choice == Some(CycleChoice::Continue))
            .collect();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let taken =
            |pairs: &[(String, String)], id: &str| pairs.iter().any(|(x, y)| x == id || y == id);
        for (i, a) in continuing.iter().enumerate() {
            for b in &continuing[i + 1..] {
                // Each member keeps one partner (a continuing triad keeps one of its pairs).
                if taken(&pairs, &a.id) || taken(&pairs, &b.id) {
                    continue;
                }
                let met = self.history.last_met(&a.id, &b.id);
                let last = self
                    .last_partner_session(&a.id)
                    .max(self.last_partner_session(&b.id));
                if met.is_some() && met == last {
                    pairs.push((a.id.clone(), b.id.clone()));
                }
            }
        }
        pairs
    }

    /// Every "prefer not to be paired with" choice, as pairs of member ids.
    pub fn avoid_pairs(&self) -> Vec<(String, String)> {
        self.members
            .iter()
            .flat_map(|m| m.avoid.iter().map(move |o| (m.id.clone(), o.clone())))
            .collect()
    }

    /// The last session a member was paired in.
    fn last_partner_session(&self, member: &str) -> Option<u32> {
        self.members
            .iter()
            .filter(|m| m.id != member)
            .filter_map(|m| self.history.last_met(member, &m.id))
            .max()
    }

    /// The session index of a room, if it belongs to this series.
    pub fn session_of(&self, room: &str) -> Option<u32> {
        self.sessions
            .iter()
            .position(|s| s.room_id == room)
            .map(|i| i as u32)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An empty monthly series of six-month cycles.
    pub(crate) fn record() -> SeriesRecord {
        SeriesRecord {
            id: "s".into(),
            title: "Alumni swap".into(),
            cadence: Cadence::Monthly,
            cycle_months: 6,
            host_key_hash: [0; 32],
            members: Vec::new(),
            sessions: Vec::new(),
            history: History::new(),
            planned: Vec::new(),
            commitments: Vec::new(),
            created_at: 0,
            calendar: Default::default(),
            roster: Roster::default(),
            calls: Default::default(),
            webhooks: Vec::new(),
        }
    }

    #[test]
    fn pairing_a_session_again_replaces_what_it_recorded() {
        let mut r = record();
        r.record_pairs(0, &[Group::Pair(["a".into(), "b".into()])]);
        r.record_pairs(1, &[Group::Pair(["a".into(), "c".into()])]);
        r.record_pairs(1, &[Group::Pair(["a".into(), "d".into()])]);
        assert_eq!(r.history.last_met("a", "b"), Some(0));
        assert_eq!(r.history.last_met("a", "c"), None);
        assert_eq!(r.history.last_met("a", "d"), Some(1));
    }

    #[test]
    fn triads_are_remembered_per_session_and_replaced_when_paired_again() {
        let mut r = record();
        let triad = |a: &str, b: &str, c: &str| Group::Triad([a.into(), b.into(), c.into()]);
        r.record_pairs(0, &[triad("a", "b", "c")]);
        r.record_pairs(1, &[triad("d", "e", "f")]);
        r.record_pairs(1, &[triad("a", "e", "f")]);
        assert_eq!(r.history.triads_before("a", 2), 2);
        assert_eq!(r.history.triads_before("d", 2), 0);
        assert_eq!(r.history.last_triad_before(2).map(|(s, _)| s), Some(1));
        assert_eq!(r.history.last_met("d", "e"), None);
    }

    #[test]
    fn a_record_written_before_triads_were_remembered_still_loads() {
        let mut r = record();
        r.record_pairs(0, &[Group::Pair(["a".into(), "b".into()])]);
        let json = serde_json::to_string(&r).expect("json");
        assert!(!json.contains("triads"), "{json}");
        let back: SeriesRecord = serde_json::from_str(&json).expect("loads");
        assert_eq!(back.history.last_met("a", "b"), Some(0));
        assert_eq!(back.history.triads().count(), 0);
    }

    fn member(id: &str, choice: Option<circlekeeper_protocol::CycleChoice>) -> Member {
        Member {
            id: id.into(),
            name: id.into(),
            key_hash: [0; 32],
            choice,
            avoid: Vec::new(),
        }
    }

    #[test]
    fn a_continuing_triad_keeps_one_of_its_pairs() {
        use circlekeeper_protocol::CycleChoice::Continue;
        let mut r = record();
        r.members = vec![
            member("a", Some(Continue)),
            member("b", Some(Continue)),
            member("c", Some(Continue)),
        ];
        r.record_pairs(0, &[Group::Triad(["a".into(), "b".into(), "c".into()])]);
        let pairs = r.continuing_pairs();
        assert_eq!(pairs.len(), 1, "{pairs:?}");
    }

    #[test]
    fn an_older_copy_of_a_commitment_does_not_undo_its_review() {
        use circlekeeper_protocol::{Commitment, Outcome, Visibility};
        let c = Commitment {
            id: "r-1".into(),
            author: 2,
            name: "Ada".into(),
            member: Some("m1".into()),
            text: "Call".into(),
            due: None,
            visibility: Visibility::Private,
            made_at: 0,
            outcome: None,
        };
        let mut r = record();
        r.merge_commitments(std::slice::from_ref(&c));
        let reviewed = Commitment {
            outcome: Some(Outcome::Kept),
            ..c.clone()
        };
        r.merge_commitments(&[reviewed]);
        r.merge_commitments(&[c]);
        assert_eq!(r.commitments[0].outcome, Some(Outcome::Kept));
    }
}
