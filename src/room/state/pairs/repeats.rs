//! What a proposal repeats from the series' earlier sessions: who was in a triad last time,
//! partners who met before, and triad members who were in a triad before (with why), filled in
//! whenever the proposal is made or changed, for the facilitator to see before confirming.

use circlekeeper_protocol::{LastTriad, Proposal, Repeats};

use super::super::Room;
use crate::pairing::{self, Group, PersonId, Request};

impl Room {
    /// Fill in `proposal.last_triad` and `proposal.repeats` from the pairing history, taking
    /// the people in the proposal as present.
    pub(super) fn assess(&self, proposal: &mut Proposal) {
        let groups: Vec<Group> = proposal
            .groups
            .iter()
            .filter_map(|m| self.group_of_members(m))
            .collect();
        let present: Vec<PersonId> = groups.iter().flat_map(|g| g.members()).cloned().collect();
        let setup = &self.pairing;
        let request = Request {
            present: &present,
            history: &setup.history,
            session: setup.session,
            avoid: &setup.avoid,
            fixed: &setup.fixed,
            locked: &[],
            seed: proposal.seed,
            recent: pairing::DEFAULT_RECENT,
        };
        let here = |person: &str| {
            present
                .iter()
                .any(|p| p == person)
                .then(|| self.participant_of(person))
                .flatten()
        };
        proposal.last_triad =
            setup
                .history
                .last_triad_before(setup.session)
                .map(|(session, members)| LastTriad {
                    session,
                    members: members.iter().filter_map(|m| here(m)).collect(),
                });
        let partners = pairing::repeated_partners(&request, &groups)
            .into_iter()
            .filter_map(|r| {
                Some(circlekeeper_protocol::RepeatedPartners {
                    members: [here(&r.a)?, here(&r.b)?],
                    times: r.times,
                    last_session: r.last,
                })
            })
            .collect();
        let triad = pairing::triad_repeats(&request, &groups, &proposal.locked)
            .into_iter()
            .filter_map(|r| {
                Some(circlekeeper_protocol::TriadRepeat {
                    participant: here(&r.person)?,
                    triads: r.triads,
                    why: wire_why(r.why),
                })
            })
            .collect();
        proposal.repeats = Repeats { partners, triad };
    }
}

/// Pairing's reason, as the protocol names it.
fn wire_why(why: pairing::TriadWhy) -> circlekeeper_protocol::TriadWhy {
    use circlekeeper_protocol::TriadWhy as W;
    use pairing::TriadWhy as P;
    match why {
        P::EveryoneHasBeen => W::EveryoneHasBeen,
        P::Locked => W::Locked,
        P::ContinuingPair => W::ContinuingPair,
        P::Adjusted => W::Adjusted,
        P::NoOneElse => W::NoOneElse,
    }
}
