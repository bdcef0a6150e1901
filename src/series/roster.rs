//! Membership over time: members added to a running series, paused or removed, and the guests
//! a series recognises from one session to the next (by the series guest key their device
//! keeps) until the host makes one of them a member, keeping their history.
//!
//! Everything here is a rule on the [`SeriesRecord`]; the series' actor applies it and makes it
//! durable, and `server::api::members` answers over HTTP.

use circlekeeper_protocol::{CycleChoice, ErrorCode};
use serde::{Deserialize, Serialize};

use super::{Member, SeriesRecord, MAX_MEMBERS};
use crate::pairing::{Group, History};
use crate::room::state::{clean_name, name_key, Rejection, NAME_TAKEN};

/// Most guests one series remembers.
pub const MAX_GUESTS: usize = 400;

/// Where a member stands in the series.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Expected at every session.
    Active,
    /// Away for a while: not expected, not counted absent; their link still works.
    Paused,
    /// No longer a member: their link opens no session; their history stays.
    Removed,
}

/// A guest the series recognises: someone who came with a room's join link and whose device
/// kept the series guest key they were given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guest {
    /// Stable id within the series (`g1`, `g2`, …): what pairing history is keyed by.
    pub id: String,
    /// The display name they entered with last.
    pub name: String,
    /// SHA-256 of their series guest key.
    pub key_hash: [u8; 32],
    /// The member they were made, once the host converted them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

/// One end-of-cycle choice as made: which cycle it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceMade {
    /// The cycle it answers (from 1: the end of the first cycle is 1).
    pub cycle: u32,
    /// The member.
    pub member: String,
    /// What they chose.
    pub choice: CycleChoice,
}

/// What a series keeps about membership over time, beside its member list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// Members paused, by id.
    #[serde(default)]
    pub paused: Vec<String>,
    /// Members removed, by id.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Session index (from 0) before which each member added later joined, by id.
    #[serde(default)]
    pub added: Vec<(String, u32)>,
    /// The guests the series recognises.
    #[serde(default)]
    pub guests: Vec<Guest>,
    /// Every end-of-cycle choice made, oldest first.
    #[serde(default)]
    pub choices: Vec<ChoiceMade>,
}

/// A new member's id, name and personal key (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    /// Member id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Their personal key.
    pub key: String,
}

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection::new(code, message))
}

impl SeriesRecord {
    /// A member's status.
    pub fn status(&self, member: &str) -> MemberStatus {
        if self.roster.removed.iter().any(|m| m == member) {
            MemberStatus::Removed
        } else if self.roster.paused.iter().any(|m| m == member) {
            MemberStatus::Paused
        } else {
            MemberStatus::Active
        }
    }

    /// The member with this id.
    fn known_member(&self, id: &str) -> Result<usize, Rejection> {
        match self.members.iter().position(|m| m.id == id) {
            Some(i) => Ok(i),
            None => refuse(
                ErrorCode::UnknownParticipant,
                format!("member: no member {id:?} in this series"),
            ),
        }
    }

    /// The next free member id (`m` and one more than the highest number in use).
    fn next_member_id(&self) -> String {
        let top = self
            .members
            .iter()
            .filter_map(|m| m.id.strip_prefix('m')?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        format!("m{}", top + 1)
    }

    /// Check a new member's name against the members who are not removed.
    fn check_new_name(&self, what: &str, name: &str) -> Result<String, Rejection> {
        let name = clean_name(what, name)?;
        let key = name_key(&name);
        let taken = self
            .members
            .iter()
            .filter(|m| self.status(&m.id) != MemberStatus::Removed)
            .find(|m| name_key(&m.name) == key);
        if let Some(m) = taken {
            return refuse(
                ErrorCode::NameTaken,
                format!("{what} reads the same as member {}: {NAME_TAKEN}", m.id),
            );
        }
        Ok(name)
    }

    /// Add members by name, each with the key `keys` gives (one per name, in order): checked
    /// whole first, so a refused request adds nobody.
    pub fn add_members(
        &mut self,
        names: &[String],
        keys: Vec<String>,
    ) -> Result<Vec<NewMember>, Rejection> {
        let live = self
            .members
            .iter()
            .filter(|m| self.status(&m.id) != MemberStatus::Removed)
            .count();
        if names.is_empty() || live + names.len() > MAX_MEMBERS {
            return refuse(
                ErrorCode::InvalidMessage,
                format!("names: between 1 and {} members in all", MAX_MEMBERS),
            );
        }
        let mut clean: Vec<String> = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let name = self.check_new_name(&format!("names[{i}]"), name)?;
            if let Some(j) = clean.iter().position(|n| name_key(n) == name_key(&name)) {
                return refuse(
                    ErrorCode::NameTaken,
                    format!("names[{i}] reads the same as names[{j}]: {NAME_TAKEN}"),
                );
            }
            clean.push(name);
        }
        let session = self.sessions.len() as u32;
        let mut out = Vec::with_capacity(clean.len());
        for (name, key) in clean.into_iter().zip(keys) {
            let id = self.next_member_id();
            self.members.push(Member {
                id: id.clone(),
                name: name.clone(),
                key_hash: crate::secret::hash(&key),
                choice: None,
                avoid: Vec::new(),
            });
            self.roster.added.push((id.clone(), session));
            out.push(NewMember { id, name, key });
        }
        Ok(out)
    }

    /// Remove a member: their link opens no session from now on; their history, commitments
    /// and choices stay.
    pub fn remove_member(&mut self, id: &str) -> Result<(), Rejection> {
        self.known_member(id)?;
        if self.status(id) == MemberStatus::Removed {
            return refuse(
                ErrorCode::InvalidState,
                format!("member {id:?} is already removed"),
            );
        }
        self.roster.paused.retain(|m| m != id);
        self.roster.removed.push(id.to_string());
        Ok(())
    }

    /// Pause (`pause`) or unpause a member.
    pub fn pause_member(&mut self, id: &str, pause: bool) -> Result<(), Rejection> {
        self.known_member(id)?;
        match (self.status(id), pause) {
            (MemberStatus::Removed, _) => {
                refuse(ErrorCode::InvalidState, format!("member {id:?} is removed"))
            }
            (MemberStatus::Paused, true) => refuse(
                ErrorCode::InvalidState,
                format!("member {id:?} is already paused"),
            ),
            (MemberStatus::Active, false) => refuse(
                ErrorCode::InvalidState,
                format!("member {id:?} is not paused"),
            ),
            (MemberStatus::Active, true) => {
                self.roster.paused.push(id.to_string());
                Ok(())
            }
            (MemberStatus::Paused, false) => {
                self.roster.paused.retain(|m| m != id);
                Ok(())
            }
        }
    }

    /// Whether a member is expected at session `session` (index from 0): not removed, not
    /// paused now, and a member by then.
    pub fn expected(&self, member: &str, session: u32) -> bool {
        let added = self
            .roster
            .added
            .iter()
            .find(|(m, _)| m == member)
            .map_or(0, |(_, s)| *s);
        self.status(member) == MemberStatus::Active && session >= added
    }

    /// The id pairing knows the guest with this key by: their guest id, or the member id they
    /// were made. `None` for a key the series does not know.
    pub fn guest_by_key(&self, key: &str) -> Option<&Guest> {
        self.roster
            .guests
            .iter()
            .find(|g| crate::secret::matches(key, &g.key_hash))
    }

    /// A guest who came with `name` and presented `key` (theirs from an earlier session, if
    /// any): the pairing id they are known by and, when they are new to the series, the fresh
    /// key `fresh` that is theirs from now on. `None` when the series holds
    /// [`MAX_GUESTS`] already (the guest is then a stranger, as before).
    pub fn guest_entry(
        &mut self,
        name: &str,
        key: Option<&str>,
        fresh: String,
    ) -> Option<(String, Option<String>)> {
        if let Some(known) = key.and_then(|k| self.guest_by_key(k)).map(|g| g.id.clone()) {
            let g = self.roster.guests.iter_mut().find(|g| g.id == known)?;
            g.name = name.to_string();
            let person = g.member.clone().unwrap_or(known);
            return Some((person, None));
        }
        if self.roster.guests.len() >= MAX_GUESTS {
            return None;
        }
        let id = format!("g{}", self.roster.guests.len() + 1);
        self.roster.guests.push(Guest {
            id: id.clone(),
            name: name.to_string(),
            key_hash: crate::secret::hash(&fresh),
            member: None,
        });
        Some((id, Some(fresh)))
    }

    /// Make guest `guest` a member (named `name`, or as they entered last), with personal key
    /// `key`: their meetings in the history and their commitments move to the new member id.
    pub fn convert_guest(
        &mut self,
        guest: &str,
        name: Option<&str>,
        key: String,
    ) -> Result<NewMember, Rejection> {
        let Some(g) = self.roster.guests.iter().find(|g| g.id == guest) else {
            return refuse(
                ErrorCode::UnknownParticipant,
                format!("guest: no guest {guest:?} in this series"),
            );
        };
        if let Some(m) = &g.member {
            return refuse(
                ErrorCode::InvalidState,
                format!("guest {guest:?} is already member {m:?}"),
            );
        }
        let name = name.map_or_else(|| g.name.clone(), str::to_string);
        let mut added = self.add_members(&[name], vec![key])?;
        let new = added.remove(0);
        self.history = renamed(&self.history, guest, &new.id);
        for c in self
            .commitments
            .iter_mut()
            .filter(|c| c.member.as_deref() == Some(guest))
        {
            c.member = Some(new.id.clone());
        }
        if let Some(g) = self.roster.guests.iter_mut().find(|g| g.id == guest) {
            g.member = Some(new.id.clone());
        }
        // They were there since their first session as a guest.
        let first = self
            .history
            .pairs()
            .filter(|(a, b, _)| *a == &new.id || *b == &new.id)
            .flat_map(|(_, _, s)| s.iter().copied())
            .min();
        if let (Some(first), Some(entry)) = (
            first,
            self.roster.added.iter_mut().find(|(m, _)| *m == new.id),
        ) {
            entry.1 = entry.1.min(first);
        }
        Ok(new)
    }
}

/// `history` with every meeting of `from` as `to`'s.
fn renamed(history: &History, from: &str, to: &str) -> History {
    let mut out = History::new();
    let name = |p: &String| if p == from { to.to_string() } else { p.clone() };
    for (a, b, sessions) in history.pairs() {
        for s in sessions {
            out.record(*s, &[Group::Pair([name(a), name(b)])]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::tests::record;

    fn with_members(names: &[&str]) -> SeriesRecord {
        let mut r = record();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let keys = names.iter().map(|n| format!("key-{n}")).collect();
        r.add_members(&names, keys).expect("added");
        r
    }

    #[test]
    fn added_members_get_the_next_ids_and_start_at_the_next_session() {
        let mut r = with_members(&["Ana", "Ben"]);
        r.sessions.push(crate::series::Session {
            room_id: "r0".into(),
            opened_at: 0,
        });
        let new = r
            .add_members(&["Cy".into()], vec!["k".into()])
            .expect("added");
        assert_eq!(new[0].id, "m3");
        assert!(!r.expected("m3", 0));
        assert!(r.expected("m3", 1));
        assert!(r.expected("m1", 0));
    }

    #[test]
    fn a_name_that_reads_like_a_members_is_refused() {
        let mut r = with_members(&["Ana", "Ben"]);
        let refused = r.add_members(&[" ana ".into()], vec!["k".into()]);
        assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::NameTaken));
        assert_eq!(r.members.len(), 2);
    }

    #[test]
    fn removing_twice_and_pausing_the_removed_are_refused() {
        let mut r = with_members(&["Ana", "Ben"]);
        r.pause_member("m1", true).expect("paused");
        assert_eq!(r.status("m1"), MemberStatus::Paused);
        assert!(!r.expected("m1", 0));
        r.remove_member("m1").expect("removed");
        let twice = r.remove_member("m1").map_err(|e| e.code);
        assert_eq!(twice, Err(ErrorCode::InvalidState));
        let pause = r.pause_member("m1", false).map_err(|e| e.code);
        assert_eq!(pause, Err(ErrorCode::InvalidState));
        let unknown = r.remove_member("m9").map_err(|e| e.code);
        assert_eq!(unknown, Err(ErrorCode::UnknownParticipant));
    }

    #[test]
    fn a_returning_guest_keeps_their_id_and_a_converted_one_keeps_their_history() {
        let mut r = with_members(&["Ana", "Ben"]);
        let (g, key) = r.guest_entry("Gil", None, "gkey".into()).expect("guest");
        assert_eq!((g.as_str(), key.as_deref()), ("g1", Some("gkey")));
        let (again, none) = r
            .guest_entry("Gil B", Some("gkey"), "other".into())
            .expect("guest");
        assert_eq!((again.as_str(), none), ("g1", None));
        r.record_pairs(0, &[Group::Pair(["m1".into(), "g1".into()])]);
        let new = r
            .convert_guest("g1", None, "mkey".into())
            .expect("converted");
        assert_eq!((new.id.as_str(), new.name.as_str()), ("m3", "Gil B"));
        assert_eq!(r.history.last_met("m1", "m3"), Some(0));
        assert_eq!(r.history.last_met("m1", "g1"), None);
        assert!(r.expected("m3", 0));
        let (known, _) = r
            .guest_entry("Gil", Some("gkey"), "x".into())
            .expect("guest");
        assert_eq!(known, "m3");
        let twice = r.convert_guest("g1", None, "k".into()).map_err(|e| e.code);
        assert_eq!(twice, Err(ErrorCode::InvalidState));
        let unknown = r.convert_guest("g7", None, "k".into()).map_err(|e| e.code);
        assert_eq!(unknown, Err(ErrorCode::UnknownParticipant));
    }
}
