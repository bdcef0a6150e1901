//! Entering a room: a connection's credentials become the core's [`Input`]. The actor holds the
//! hashes of the room's link keys and of its participants' tokens and compares what a client
//! presents with them in constant time; a series member's personal key is looked up in the
//! series' actor. What they matched is all the core sees — the rules of who may enter, and as
//! whom, are the core's. The link-key checks of a preview and an export live here too.

use circlekeeper_protocol::{ErrorCode, LinkKind, Presence, RoomPreview, Standing};

use super::{Actor, ExportData};
use crate::live::Change;
use crate::room::state::{Input, MemberEntry, Rejection};
use crate::secret;

/// How a connection asks to enter a room. Personal tokens are made by the room as it admits
/// someone new, never by the caller.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A new participant (`join`, with the join key) or facilitator (`host`, with the host key).
    New {
        /// Whether they came with `host`.
        host: bool,
        /// The key from the link.
        key: String,
        /// Display name.
        name: String,
        /// A guest's series guest key from an earlier session of the series, if their device
        /// kept one.
        guest: Option<String>,
    },
    /// A series member with their personal key: the first time a new participant, afterwards
    /// the same one (on any device).
    Member {
        /// The series the link belongs to.
        series: String,
        /// The member key.
        key: String,
    },
    /// An existing participant with their token.
    Resume {
        /// The personal token.
        token: String,
        /// The last sequence number the client saw.
        last_seq: Option<u64>,
    },
}

impl Actor {
    /// The core's input for an entry with `credential`, the last sequence number a resuming
    /// client saw (what it gets first depends on it), and a new series guest key for the
    /// welcome.
    pub(super) async fn entry(
        &self,
        credential: Credential,
    ) -> (Input, Option<u64>, Option<String>) {
        match credential {
            Credential::New {
                host,
                key,
                name,
                guest,
            } => {
                let link = self.matched_link(&key);
                if host {
                    return (Input::Host { name, link }, None, None);
                }
                let (guest, guest_key) = match link {
                    Some(LinkKind::Join) => self.series_guest(&name, guest).await,
                    _ => (None, None),
                };
                (Input::Join { name, link, guest }, None, guest_key)
            }
            Credential::Member { series, key } => {
                // Asked of the series' actor each time: a choice or a member list changed a
                // moment ago holds at once.
                let member = match self.series.as_ref().filter(|s| s.id == series) {
                    Some(link) => link
                        .handle
                        .read(move |record| {
                            record.member_by_key(&key).map(|m| MemberEntry {
                                id: m.id.clone(),
                                name: m.name.clone(),
                                // A removed member is refused as one who ended their part.
                                choice: match record.status(&m.id) {
                                    crate::series::MemberStatus::Removed => {
                                        Some(circlekeeper_protocol::CycleChoice::End)
                                    }
                                    _ => m.choice,
                                },
                            })
                        })
                        .await
                        .ok()
                        .flatten(),
                    None => None,
                };
                (Input::Member { member }, None, None)
            }
            Credential::Resume { token, last_seq } => {
                let participant = self.tokens.get(&secret::hash(&token)).copied();
                (Input::Resume { participant }, last_seq, None)
            }
        }
    }

    /// In a room of a series: the id the series knows a guest by (the one their `key` names,
    /// or a new one), and the new key that is theirs if they are new to the series. Outside a
    /// series, or when the series cannot be asked, `(None, None)`: a stranger, as before.
    async fn series_guest(
        &self,
        name: &str,
        key: Option<String>,
    ) -> (Option<String>, Option<String>) {
        let Some(link) = &self.series else {
            return (None, None);
        };
        let Ok(fresh) = secret::new_secret() else {
            return (None, None);
        };
        let name = crate::room::state::clean_name("name", name)
            .unwrap_or_else(|_| name.chars().take(60).collect());
        let entry = link
            .handle
            .update(move |record| {
                let before = record.roster.guests.clone();
                let entry = record.guest_entry(&name, key.as_deref(), fresh);
                let change = if record.roster.guests == before {
                    Change::None
                } else {
                    Change::Save(Vec::new())
                };
                (entry, change)
            })
            .await;
        match entry {
            Ok(Some((id, key))) => (Some(id), key),
            _ => (None, None),
        }
    }

    /// Which of the room's links `key` opens, compared in constant time with their hashes.
    fn matched_link(&self, key: &str) -> Option<LinkKind> {
        // Both compared every time: how long this takes says nothing about which matched.
        let join = secret::matches(key, &self.keys.join);
        let host = secret::matches(key, &self.keys.host);
        match (join, host) {
            (true, _) => Some(LinkKind::Join),
            (false, true) => Some(LinkKind::Host),
            (false, false) => None,
        }
    }

    /// What a join or host key may read before entering.
    pub(super) fn preview(&self, key: &str) -> Result<RoomPreview, Rejection> {
        if self.matched_link(key).is_none() {
            return Err(Rejection::new(
                ErrorCode::InvalidKey,
                "this link does not open this room",
            ));
        }
        let view = self.room.view();
        Ok(RoomPreview {
            title: view.title.clone(),
            format: view.format.clone(),
            ground_rules: view.ground_rules.clone(),
            status: view.session.status,
            facilitator: view
                .participants
                .iter()
                .find(|p| {
                    p.standing == Standing::Facilitator
                        && !p.removed
                        && p.presence == Presence::Connected
                })
                .map(|p| p.name.clone()),
            started_at: view.session.started_at,
            series: self.series.as_ref().map(|s| s.id.clone()),
        })
    }

    /// The room and everything written in it, for the host key only.
    pub(super) fn export(&self, key: &str) -> Result<ExportData, Rejection> {
        if !secret::matches(key, &self.keys.host) {
            return Err(Rejection::new(
                ErrorCode::InvalidKey,
                "only the host link exports this room",
            ));
        }
        Ok((
            Box::new(self.room.view().clone()),
            Box::new(self.room.notes().clone()),
        ))
    }
}
