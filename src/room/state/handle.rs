//! The core's single entry point: [`Room::handle`] takes one [`Input`] and returns an
//! [`Outcome`] — the events it recorded, the answer owed to the sender, and the [`Effect`]s the
//! runtime must carry out. The runtime is a pump around it: take an input, call `handle`,
//! journal the events (with whatever the effects write), wait for the flush, then deliver the
//! answer and the events and carry out the rest of the effects. It never needs to know which
//! command caused an effect.
//!
//! What the core cannot do, the runtime does and passes in as data: it compares keys and tokens
//! with the hashes it holds (in constant time) and says what they matched; it makes the random
//! keys and tokens the effects ask for; it reads the clock (`now`).

use circlekeeper_protocol::{AckResult, Command, LinkKind, Millis, ParticipantId, Presence};

use super::{Changes, MemberEntry, Recorded, Rejection, Room};
use crate::pairing::Group;

/// One thing that happens to a room: someone enters, someone sends a command, someone's
/// presence changes, or time passes.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A new participant enters with `join` (the room's join link). Admitted only when the key
    /// they presented matched the join link.
    Join {
        /// The display name they chose (cleaned and limited here).
        name: String,
        /// Which of the room's links the presented key matched, by the runtime's constant-time
        /// comparison with the hashes it holds; `None` when it matched neither.
        link: Option<LinkKind>,
        /// In a room of a series: the id the series knows this guest by (from the series
        /// guest key their device presented, or a new one), `None` elsewhere.
        guest: Option<String>,
    },
    /// A new facilitator enters with `host` (the room's host link). Admitted only when the key
    /// they presented matched the host link.
    Host {
        /// The display name they chose (cleaned and limited here).
        name: String,
        /// Which of the room's links the presented key matched; `None` when neither.
        link: Option<LinkKind>,
    },
    /// A series member enters with `member` (their personal link): the first time as a new
    /// participant, afterwards — on any device — as the same one.
    Member {
        /// The member whose key the presented key matched (the runtime holds the series'
        /// member key hashes); `None` when it matched no member of this room's series.
        member: Option<MemberEntry>,
    },
    /// A known participant comes back with `resume` and their personal token.
    Resume {
        /// The participant whose token hash the presented token matched; `None` when it
        /// matched no token of this room.
        participant: Option<ParticipantId>,
    },
    /// A command from an admitted participant.
    Command {
        /// Who sent it (the participant their connection was admitted as).
        from: ParticipantId,
        /// What they asked.
        command: Command,
    },
    /// A participant's presence changes: connected when a connection is admitted (entries do
    /// this themselves), away when their last connection has been gone for the grace period.
    /// Changes nothing for someone removed, or already so.
    Presence {
        /// Whose presence.
        participant: ParticipantId,
        /// Their presence now.
        presence: Presence,
    },
    /// Time has passed: `now` has reached [`Room::next_deadline`] (or any later moment). Fires
    /// due timer warnings and expiries and auto-advances stages.
    Tick,
}

/// Something the runtime must do because of an input. Effects are data: the core decides,
/// the runtime carries out. They come in the order to carry them out; each appears at most once
/// per outcome. Whatever an effect writes is written with the outcome's events, and is durable
/// before the answer is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Make a personal token for `participant` (at least 128 bits from the OS), store its hash
    /// as theirs, and give the token to the sender in the welcome. Comes before
    /// [`Effect::Admit`] for the same participant.
    IssueToken {
        /// Whose token.
        participant: ParticipantId,
    },
    /// The sender's connection is now `participant`'s: make it a peer and send its first
    /// frames — a welcome after `join`, `host` or `member`; after `resume` the missed events or a
    /// snapshot.
    Admit {
        /// Who the connection is.
        participant: ParticipantId,
    },
    /// Replace `link`'s key with a new random one and store the new hash: the old key stops
    /// opening the room at once. When `give_to_sender` (`rotate_link`), answer with
    /// [`AckResult::Link`] carrying the new key instead of the outcome's `Ok(None)`; otherwise
    /// (`revoke_link`) drop the key so nobody holds it. The core never sees keys.
    ReplaceLinkKey {
        /// Which link.
        link: LinkKind,
        /// Whether the sender gets the new key in the ack.
        give_to_sender: bool,
    },
    /// Answer with [`AckResult::JoinKey`] carrying the room's current join key (or `null` when
    /// the join link is off), kept by the runtime; refuse with `link_unknown` if the runtime
    /// kept only its hash (a room made before keys were kept). Nothing changes.
    ShowJoinKey,
    /// Store [`Room::notes`] (everything written in the room, private items included) beside
    /// the event log.
    SaveNotes,
    /// In a series room: write these groups into the series' pairing history as this
    /// session's, so the next session's pairing sees them (replacing what this session
    /// recorded before).
    RecordPairs {
        /// The confirmed groups, as pairing persons (series members where there are).
        groups: Vec<Group>,
    },
    /// In a series room: merge the commitments in [`Room::notes`] (this session's, and reviews
    /// of earlier ones) into the series record, for the members' next session.
    RecordCommitments,
    /// Close every connection of `participant`: they are no longer in the room (removed by a
    /// facilitator, or they left).
    Disconnect {
        /// Who is gone.
        participant: ParticipantId,
    },
    /// Delete the room and everything stored of it, then disconnect everyone and stop. Nothing
    /// more is written for this room.
    Delete,
    /// The session ended at `at`: record the end with its events (retention counts from it).
    Ended {
        /// When it ended.
        at: Millis,
    },
}

/// What one input produced. When the answer is a rejection, the room did not change: there are
/// no events and no effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The events, in order, already applied to the room: journal them, then broadcast them.
    pub events: Vec<Recorded>,
    /// The answer owed to the sender: `Ok` with the ack's result (if any) or the rejection
    /// for an error frame. For [`Input::Presence`] and [`Input::Tick`], which have no sender,
    /// always `Ok(None)`.
    pub answer: Result<Option<AckResult>, Rejection>,
    /// What the runtime must do, in order.
    pub effects: Vec<Effect>,
}

impl Room {
    /// Handle one input at `now`: the single entry point of the core. Admission rules (which
    /// link admits whom, a member who left the series, a removed participant, the same member
    /// on another device), authorization, and every feature's rules are applied here; the
    /// [`Outcome`] says what changed, what to answer, and what the runtime must do.
    pub fn handle(&mut self, now: Millis, input: Input) -> Outcome {
        let result = match input {
            Input::Join { name, link, guest } => self
                .enter_as_guest(now, &name, link, guest)
                .map(|out| (None, out)),
            Input::Host { name, link } => self
                .enter_by_link(now, &name, LinkKind::Host, link)
                .map(|out| (None, out)),
            Input::Member { member } => self
                .enter_as_member(now, member.as_ref())
                .map(|out| (None, out)),
            Input::Resume { participant } => self
                .resume_participant(now, participant)
                .map(|out| (None, out)),
            Input::Command { from, command } => self.command(now, from, &command),
            Input::Presence {
                participant,
                presence,
            } => Ok((None, self.set_presence(now, participant, presence).into())),
            Input::Tick => Ok((None, self.pass_time(now))),
        };
        match result {
            Ok((answer, out)) => Outcome {
                events: out.events,
                answer: Ok(answer),
                effects: out.effects,
            },
            Err(rejection) => Outcome {
                events: Vec::new(),
                answer: Err(rejection),
                effects: Vec::new(),
            },
        }
    }
}

impl From<Vec<Recorded>> for Changes {
    fn from(events: Vec<Recorded>) -> Changes {
        Changes {
            events,
            effects: Vec::new(),
        }
    }
}
