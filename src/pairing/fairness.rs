//! What an arrangement repeats across a series, for the facilitator to see before confirming:
//! partners who met before ([`repeated_partners`]) and triad members who were in a triad before
//! ([`triad_repeats`]), each with why. Pure, like the rest of pairing.

use super::*;

/// Why someone is in a triad again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriadWhy {
    /// Everyone else present has been in a triad at least as often: their turn came round
    /// again.
    EveryoneHasBeen,
    /// The facilitator locked the group.
    Locked,
    /// They keep their continuing partner, who is in the triad with them.
    ContinuingPair,
    /// Someone who has been in fewer triads could take their place: the facilitator moved
    /// people by hand.
    Adjusted,
    /// Everyone who has been in fewer triads is in a locked group or a continuing pair, or would
    /// be put with someone they asked not to be paired with.
    NoOneElse,
}

/// Someone in a triad of the arrangement who was in a triad before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriadRepeat {
    /// Who.
    pub person: PersonId,
    /// How many earlier sessions they were in a triad in.
    pub triads: u32,
    /// Why they are in one again.
    pub why: TriadWhy,
}

/// Two people of one group who met in an earlier session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedPartners {
    /// One of them (the earlier in the group's order).
    pub a: PersonId,
    /// The other.
    pub b: PersonId,
    /// How many earlier sessions they met in.
    pub times: u32,
    /// The last session they met in.
    pub last: u32,
}

/// Every two people of one group in `groups` who met in a session before `req.session`, group
/// by group.
pub fn repeated_partners(req: &Request, groups: &[Group]) -> Vec<RepeatedPartners> {
    let mut out = Vec::new();
    for g in groups {
        let m = g.members();
        for i in 0..m.len() {
            for j in i + 1..m.len() {
                let before: Vec<u32> = req
                    .history
                    .sessions(&m[i], &m[j])
                    .iter()
                    .copied()
                    .filter(|&s| s < req.session)
                    .collect();
                if let Some(&last) = before.last() {
                    out.push(RepeatedPartners {
                        a: m[i].clone(),
                        b: m[j].clone(),
                        times: u32::try_from(before.len()).unwrap_or(u32::MAX),
                        last,
                    });
                }
            }
        }
    }
    out
}

/// Everyone in a triad of `groups` who was in a triad in an earlier session, in group order,
/// with why. `locked[i]` says whether group `i` is locked (missing means not).
pub fn triad_repeats(req: &Request, groups: &[Group], locked: &[bool]) -> Vec<TriadRepeat> {
    let is_locked = |g: usize| locked.get(g).copied().unwrap_or(false);
    let mut out = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let Group::Triad(members) = g else {
            continue;
        };
        // The fewest triads of anyone present outside this triad.
        let others = req
            .present
            .iter()
            .filter(|p| !g.contains(p))
            .map(|p| req.history.triads_before(p, req.session))
            .min();
        for p in members {
            let triads = req.history.triads_before(p, req.session);
            if triads == 0 {
                continue;
            }
            let why = if others.is_none_or(|o| triads <= o) {
                TriadWhy::EveryoneHasBeen
            } else if is_locked(gi) {
                TriadWhy::Locked
            } else if members.iter().any(|o| o != p && req.is_fixed(p, o)) {
                TriadWhy::ContinuingPair
            } else if could_take_place(req, groups, &is_locked, gi, p, triads) {
                TriadWhy::Adjusted
            } else {
                TriadWhy::NoOneElse
            };
            out.push(TriadRepeat {
                person: p.clone(),
                triads,
                why,
            });
        }
    }
    out
}

/// Whether someone in fewer than `triads` triads, in an unlocked group and not held by a
/// continuing partner there, could change places with `p` (in group `gi`) without putting more
/// avoid-pairs together.
fn could_take_place(
    req: &Request,
    groups: &[Group],
    is_locked: &dyn Fn(usize) -> bool,
    gi: usize,
    p: &str,
    triads: u32,
) -> bool {
    for (hi, h) in groups.iter().enumerate() {
        if hi == gi || is_locked(hi) {
            continue;
        }
        for f in h.members() {
            if req.history.triads_before(f, req.session) >= triads
                || h.members().iter().any(|o| o != f && req.is_fixed(f, o))
            {
                continue;
            }
            let mut swapped = [groups[gi].clone(), h.clone()];
            let before = req.group_cost(&swapped[0]).avoided + req.group_cost(&swapped[1]).avoided;
            for g in &mut swapped {
                for m in g.members_mut() {
                    if m == p {
                        *m = f.clone();
                    } else if m == f {
                        *m = p.to_string();
                    }
                }
            }
            let after = req.group_cost(&swapped[0]).avoided + req.group_cost(&swapped[1]).avoided;
            if after <= before {
                return true;
            }
        }
    }
    false
}
