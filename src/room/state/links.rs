//! The room's links and its deletion. The keys themselves never enter the core: the runtime
//! holds their hashes and makes new keys. Here a facilitator's `rotate_link` or `revoke_link`
//! becomes a `link_changed` event (without the key) and owes [`Effect::ReplaceLinkKey`],
//! `show_link` changes nothing and owes [`Effect::ShowJoinKey`], and `delete_room` owes
//! [`Effect::Delete`].

use circlekeeper_protocol::{Command, Event, Millis, ParticipantView};

use super::{Changes, Effect, Rejection, Room};

impl Room {
    /// Apply `rotate_link`, `revoke_link`, `show_link` or `delete_room`.
    pub(super) fn links_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Changes,
    ) -> Result<(), Rejection> {
        match cmd {
            // Authorized here; the runtime removes the room and everything stored of it.
            Command::DeleteRoom => out.owe(Effect::Delete),
            // Authorized here; the runtime, which keeps the key sealed, answers with it.
            Command::ShowLink => out.owe(Effect::ShowJoinKey),
            // The event is recorded here; the runtime, which holds the keys, replaces the key.
            Command::RotateLink { link } | Command::RevokeLink { link } => {
                let revoked = matches!(cmd, Command::RevokeLink { .. });
                self.emit(
                    now,
                    out,
                    Event::LinkChanged {
                        link: *link,
                        revoked,
                        by: me.id,
                    },
                );
                out.owe(Effect::ReplaceLinkKey {
                    link: *link,
                    give_to_sender: !revoked,
                });
            }
            _ => {}
        }
        Ok(())
    }
}
