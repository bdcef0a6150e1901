//! The room's links and its deletion. The keys themselves never enter the core: the runtime
//! holds their hashes and makes new keys. Here a facilitator's `rotate_link` or `revoke_link`
//! becomes a `link_changed` event (without the key), and `delete_room` is authorized.

use circlekeeper_protocol::{Command, Event, Millis, ParticipantView};

use super::{Recorded, Rejection, Room};

impl Room {
    /// Apply `rotate_link`, `revoke_link` or `delete_room`.
    pub(super) fn links_command(
        &mut self,
        now: Millis,
        me: &ParticipantView,
        cmd: &Command,
        out: &mut Vec<Recorded>,
    ) -> Result<(), Rejection> {
        match cmd {
            // Authorized here; the actor removes the room and everything stored of it.
            Command::DeleteRoom => {}
            // The event is recorded here; the actor, which holds the keys, replaces the key.
            Command::RotateLink { link } | Command::RevokeLink { link } => self.emit(
                now,
                out,
                Event::LinkChanged {
                    link: *link,
                    revoked: matches!(cmd, Command::RevokeLink { .. }),
                    by: me.id,
                },
            ),
            _ => {}
        }
        Ok(())
    }
}
