//! Pairing for monthly coaching swaps: who coaches whom this month.
//!
//! Pure, like the room state machine: no I/O, no clock, no global randomness. The seed comes in
//! with the [`Request`], and the same request always gives the same groups. The result does not
//! depend on the order of [`Request::present`] either: free people are sorted before the seeded
//! shuffle.
//!
//! # What a pairing is
//!
//! Every present person is placed in exactly one [`Group`]: a pair, or — only when the number
//! of people is odd — exactly one triad (coach, client, observer; see [`triad_rounds`]).
//! [`History`] remembers, for each unordered pair of people, the session indices they met in
//! (`0` = the series' first session), and is what makes pairs rotate from month to month. It
//! also remembers who was in a triad in each session, which is what makes triads rotate.
//!
//! # Constraints, placed first and never broken
//!
//! 1. **Locked groups** ([`Request::locked`], the facilitator's choices in the preview) are
//!    kept exactly as given. A locked group with someone absent is released: its present members
//!    are paired like anyone else. At most one locked triad is allowed, and only when the count
//!    is odd ([`PairingError::TriadConflict`]).
//! 2. **Fixed pairs** ([`Request::fixed`], ongoing partnerships) are kept whenever both people
//!    are present and neither is in a locked group (the facilitator's lock is the later
//!    decision). A person in two fixed pairs is an error.
//! 3. Everyone else is **free** and paired by cost. If a single free person is left over (all
//!    others are in fixed or locked pairs), they join the fixed pair that has met them least,
//!    or a locked pair only when every pair is locked; the pair's two members stay together.
//!
//! # Cost model
//!
//! The cost of putting `a` and `b` together ([`Request::pair_cost`]) is a [`Cost`] with four
//! tiers, compared in order — the first tier outweighs any amount of the second, the second any
//! amount of the third, and so on (like penalties of wildly different sizes, without overflow):
//!
//! 1. `avoided`: 1 if either asked not to be paired with the other ([`Request::avoid`],
//!    symmetric). So an avoid-pair is respected whenever any arrangement allows it.
//! 2. `triads`: only for a triad, the sum of its members' triad weights
//!    ([`Request::triad_weight`]): with `t` the number of earlier sessions a person was in a
//!    triad and `m` the least `t` of anyone present, `4096 · (t − m)²`, plus, when they were in
//!    a triad before, `⌊1024 · (7/8)^(age − 1)⌋` for their last one (`age` sessions ago). So
//!    nobody is in a triad again before everyone present has been in one as often, whenever
//!    the avoid-pairs, fixed pairs and locks allow; among equals, whoever's triad was longest
//!    ago goes first. This tier outranks repeated partners: a fair triad comes before a fresh
//!    partner.
//! 3. `recent`: for each meeting within the last `k` sessions ([`Request::recent`]), `k + 1 −
//!    age` where `age = session − met` (last session: `k`, `k` sessions ago: 1). So a recent
//!    repeat happens only when none is avoidable, and then with the partner met longest ago.
//! 4. `history`: for *every* meeting, however old, `⌊1024 · (7/8)^(age − 1)⌋`, at least 1
//!    (1024 last session, 598 five sessions ago, 233 a year ago). More meetings and more recent
//!    meetings cost more, the whole history counts, and someone never met costs nothing.
//!
//! A meeting recorded at or after the session being paired counts as last session's; a triad
//! recorded at or after it does not count. A triad costs the sum of its three pairs plus its
//! triad weights; an arrangement the sum of its groups ([`Request::cost`]).
//!
//! # Algorithm
//!
//! For the free people: with at most 12 of them, an exact search (dynamic programming over
//! subsets, in a seeded order so that ties — common when nobody has met — fall differently for
//! different seeds) finds a cheapest arrangement. With more, several seeded restarts each
//! shuffle the people, build greedily (each takes the cheapest partner still free; an odd one
//! out joins the pair it costs least to join), then improve locally: exchange two people
//! between groups, or move the triad to another pair, whenever that lowers the total, until no
//! move does (at most 64 passes). The cheapest restart wins; a free-of-cost arrangement stops
//! the search early. When the count of free people is odd and some fixed pair's members are due
//! a triad more than the free people in the triad found, that fixed pair joined by the free
//! person it costs least to join is tried as the triad too, and the cheaper arrangement wins.
//! Sixty people with a year of history take well under a millisecond (see
//! `cargo bench --bench pairing`).
//!
//! # In the room
//!
//! [`swap`] is the facilitator exchanging two people in the preview; [`place_late`] puts a late
//! joiner into the pair that has met them least (and is least due a triad), turning it into a
//! triad, or leaves them waiting when every group is a triad or locked. [`triad_repeats`] and
//! [`repeated_partners`] tell the facilitator what an arrangement repeats, and why.

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use crate::random::{mix, shuffle};

mod fairness;
mod search;

pub use fairness::{repeated_partners, triad_repeats, RepeatedPartners, TriadRepeat, TriadWhy};
use search::{solve, to_groups, Matrix};

/// A series member's id, stable across sessions. In a room it maps to a participant.
pub type PersonId = String;

/// The window `k` a [`Request::new`] uses: no repeat partner within the last three sessions.
pub const DEFAULT_RECENT: u32 = 3;

/// Up to this many free people are paired by exact search; more by seeded local search.
const EXACT_MAX: usize = 12;
/// The triad weight of one triad more than the least anyone present had: above three times the
/// largest recency weight, so the count always outweighs how long ago.
const TRIAD_STEP: u64 = 4096;
/// Seeded restarts of the local search.
const RESTARTS: u64 = 8;
/// Most improvement passes in one local search.
const MAX_PASSES: usize = 64;

/// A group for one swap: who meets whom, in order.
///
/// The order is the order of roles: the first person is the client first. In a pair `[a, b]`,
/// `b` coaches `a`, then they switch ([`pair_halves`]); in a triad, see [`triad_rounds`]. A late
/// joiner is added last, so they observe first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// Two people: each coaches the other for one half.
    Pair([PersonId; 2]),
    /// Three people: each is coach, client and observer once.
    Triad([PersonId; 3]),
}

impl Group {
    /// The members, in role order.
    pub fn members(&self) -> &[PersonId] {
        match self {
            Group::Pair(m) => m,
            Group::Triad(m) => m,
        }
    }

    fn members_mut(&mut self) -> &mut [PersonId] {
        match self {
            Group::Pair(m) => m,
            Group::Triad(m) => m,
        }
    }

    /// Whether `person` is in this group.
    pub fn contains(&self, person: &str) -> bool {
        self.members().iter().any(|m| m == person)
    }

    /// Whether this is a triad.
    pub fn is_triad(&self) -> bool {
        matches!(self, Group::Triad(_))
    }

    /// Whether both groups hold the same people, in any order.
    pub fn same_members(&self, other: &Group) -> bool {
        let (a, b) = (self.members(), other.members());
        a.len() == b.len() && a.iter().all(|m| b.contains(m))
    }
}

/// Who met whom, and when: for each unordered pair of people, the sorted session indices they
/// were in one group in (`0` = the oldest session); and for each session, who was in a triad.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Keyed by the smaller id, then the larger.
    met: BTreeMap<PersonId, BTreeMap<PersonId, Vec<u32>>>,
    /// For each session that had a triad, its members (of every triad that session, sorted).
    /// Absent in records written before triads were remembered: those load with none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    triads: BTreeMap<u32, Vec<PersonId>>,
}

/// The two ids in order, smaller first.
fn ordered<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl History {
    /// An empty history: nobody has met anybody.
    pub fn new() -> Self {
        History::default()
    }

    /// Record that, in `session`, the members of each group met each other (all three pairs of
    /// a triad), and who was in a triad. Recording a session twice changes nothing.
    pub fn record(&mut self, session: u32, groups: &[Group]) {
        for g in groups {
            let m = g.members();
            for i in 0..m.len() {
                for j in i + 1..m.len() {
                    self.add(&m[i], &m[j], session);
                }
            }
            if g.is_triad() {
                let members = self.triads.entry(session).or_default();
                for p in m {
                    if let Err(at) = members.binary_search(p) {
                        members.insert(at, p.clone());
                    }
                }
            }
        }
    }

    /// Forget what `session` recorded (its meetings and its triad), before recording it again.
    pub fn forget_session(&mut self, session: u32) {
        for inner in self.met.values_mut() {
            for sessions in inner.values_mut() {
                sessions.retain(|&s| s != session);
            }
            inner.retain(|_, s| !s.is_empty());
        }
        self.met.retain(|_, inner| !inner.is_empty());
        self.triads.remove(&session);
    }

    /// The sessions before `session` that `person` was in a triad in, oldest first.
    pub fn triad_sessions(&self, person: &str, session: u32) -> Vec<u32> {
        self.triads
            .range(..session)
            .filter(|(_, m)| m.binary_search_by(|p| p.as_str().cmp(person)).is_ok())
            .map(|(&s, _)| s)
            .collect()
    }

    /// How many sessions before `session` `person` was in a triad in.
    pub fn triads_before(&self, person: &str, session: u32) -> u32 {
        u32::try_from(self.triad_sessions(person, session).len()).unwrap_or(u32::MAX)
    }

    /// The last session before `session` that had a triad, with its members (sorted).
    pub fn last_triad_before(&self, session: u32) -> Option<(u32, &[PersonId])> {
        self.triads
            .range(..session)
            .next_back()
            .map(|(&s, m)| (s, m.as_slice()))
    }

    /// Every session that had a triad, with its members (sorted), oldest first.
    pub fn triads(&self) -> impl Iterator<Item = (u32, &[PersonId])> {
        self.triads.iter().map(|(&s, m)| (s, m.as_slice()))
    }

    fn add(&mut self, a: &str, b: &str, session: u32) {
        if a == b {
            return;
        }
        let (lo, hi) = ordered(a, b);
        let sessions = self
            .met
            .entry(lo.to_string())
            .or_default()
            .entry(hi.to_string())
            .or_default();
        if let Err(at) = sessions.binary_search(&session) {
            sessions.insert(at, session);
        }
    }

    /// The sessions `a` and `b` met in, oldest first (empty if never).
    pub fn sessions(&self, a: &str, b: &str) -> &[u32] {
        let (lo, hi) = ordered(a, b);
        self.met
            .get(lo)
            .and_then(|m| m.get(hi))
            .map_or(&[], Vec::as_slice)
    }

    /// The last session `a` and `b` met in, if they ever did.
    pub fn last_met(&self, a: &str, b: &str) -> Option<u32> {
        self.sessions(a, b).last().copied()
    }

    /// How many sessions `a` and `b` met in.
    pub fn times_met(&self, a: &str, b: &str) -> u32 {
        u32::try_from(self.sessions(a, b).len()).unwrap_or(u32::MAX)
    }

    /// Forget every meeting before `session`, for a series that keeps data no longer than
    /// needed.
    pub fn forget_before(&mut self, session: u32) {
        for inner in self.met.values_mut() {
            for sessions in inner.values_mut() {
                sessions.retain(|&s| s >= session);
            }
            inner.retain(|_, s| !s.is_empty());
        }
        self.met.retain(|_, inner| !inner.is_empty());
        self.triads = self.triads.split_off(&session);
    }

    /// Every pair of people who have met, with the sessions they met in (smaller id first).
    pub fn pairs(&self) -> impl Iterator<Item = (&PersonId, &PersonId, &[u32])> {
        self.met
            .iter()
            .flat_map(|(a, row)| row.iter().map(move |(b, s)| (a, b, s.as_slice())))
    }

    /// Whether nobody has met anybody yet (and nobody was in a triad).
    pub fn is_empty(&self) -> bool {
        self.met.is_empty() && self.triads.is_empty()
    }
}

/// What an arrangement costs, tier by tier (see the [module docs](self)); compared
/// lexicographically in field order, so lower is better and any avoid-pair outweighs any
/// number of triad repeats, and any triad repeat any number of recent partner repeats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cost {
    /// How many avoid-pairs were put together.
    pub avoided: u32,
    /// The triad weights of the people in a triad ([`Request::triad_weight`]).
    pub triads: u64,
    /// The weight of meetings within the last `k` sessions.
    pub recent: u64,
    /// The decayed weight of every earlier meeting.
    pub history: u64,
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            avoided: self.avoided.saturating_add(o.avoided),
            triads: self.triads.saturating_add(o.triads),
            recent: self.recent.saturating_add(o.recent),
            history: self.history.saturating_add(o.history),
        }
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        *self = *self + o;
    }
}

impl std::iter::Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(iter: I) -> Cost {
        iter.fold(Cost::default(), Add::add)
    }
}

/// `⌊1024 · (7/8)^i⌋`, at least 1: the history weight of a meeting `i + 1` sessions ago.
const DECAY: [u64; 64] = {
    let mut t = [1u64; 64];
    let mut w = 1024u64;
    let mut i = 0;
    while i < 64 {
        t[i] = if w == 0 { 1 } else { w };
        w = w * 7 / 8;
        i += 1;
    }
    t
};

/// The recent and history tiers of meetings in `sessions`, seen from session `now`.
fn meetings_cost(sessions: &[u32], now: u32, recent: u32) -> Cost {
    let mut cost = Cost::default();
    for &met in sessions {
        let age = now.saturating_sub(met).max(1);
        if age <= recent {
            cost.recent += u64::from(recent + 1 - age);
        }
        cost.history += DECAY.get(age as usize - 1).copied().unwrap_or(1);
    }
    cost
}

/// Everything a pairing depends on. Build one with [`Request::new`] and struct update syntax
/// for the rest.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who is here. Listing someone twice is an error.
    pub present: &'a [PersonId],
    /// Who met whom in earlier sessions.
    pub history: &'a History,
    /// The index of this session (one after the last recorded, usually).
    pub session: u32,
    /// "Prefer not to be paired with": symmetric, respected whenever any arrangement allows.
    pub avoid: &'a [(PersonId, PersonId)],
    /// Ongoing partnerships, kept whenever both are present.
    pub fixed: &'a [(PersonId, PersonId)],
    /// Groups the facilitator locked in the preview, kept as they are.
    pub locked: &'a [Group],
    /// The seed: same seed, same groups; another seed, other groups among equally good ones.
    pub seed: u64,
    /// `k`: avoid partners met within the last `k` sessions (0 turns the tier off).
    pub recent: u32,
}

impl<'a> Request<'a> {
    /// A request with no avoid-pairs, fixed pairs or locked groups, and `k` =
    /// [`DEFAULT_RECENT`].
    pub fn new(present: &'a [PersonId], history: &'a History, session: u32, seed: u64) -> Self {
        Request {
            present,
            history,
            session,
            avoid: &[],
            fixed: &[],
            locked: &[],
            seed,
            recent: DEFAULT_RECENT,
        }
    }

    /// Whether `a` and `b` asked not to be paired (either way round).
    pub fn avoids(&self, a: &str, b: &str) -> bool {
        self.avoid
            .iter()
            .any(|(x, y)| (x == a && y == b) || (x == b && y == a))
    }

    /// Whether `a` and `b` are an ongoing partnership (either way round).
    pub fn is_fixed(&self, a: &str, b: &str) -> bool {
        self.fixed
            .iter()
            .any(|(x, y)| (x == a && y == b) || (x == b && y == a))
    }

    /// Whether `group` holds the same people as a locked group.
    pub fn is_locked(&self, group: &Group) -> bool {
        self.locked.iter().any(|l| l.same_members(group))
    }

    /// What putting `a` and `b` together costs in this session.
    pub fn pair_cost(&self, a: &str, b: &str) -> Cost {
        let mut cost = meetings_cost(self.history.sessions(a, b), self.session, self.recent);
        cost.avoided = u32::from(self.avoids(a, b));
        cost
    }

    /// The least number of earlier triads of anyone present: who has been in this few has not
    /// had more than their turn.
    pub fn triad_floor(&self) -> u32 {
        self.present
            .iter()
            .map(|p| self.history.triads_before(p, self.session))
            .min()
            .unwrap_or(0)
    }

    /// What putting `person` in a triad costs (the `triads` tier; see the [module
    /// docs](self)), given [`Request::triad_floor`] as `floor`.
    pub fn triad_weight(&self, person: &str, floor: u32) -> Cost {
        let before = self.history.triad_sessions(person, self.session);
        let due = u64::try_from(before.len())
            .unwrap_or(u64::MAX)
            .saturating_sub(u64::from(floor));
        let last = before.last().map_or(0, |&s| {
            let age = self.session.saturating_sub(s).max(1);
            DECAY.get(age as usize - 1).copied().unwrap_or(1)
        });
        Cost {
            triads: due.saturating_mul(due).saturating_mul(TRIAD_STEP) + last,
            ..Cost::default()
        }
    }

    /// What one group costs: its pair, or the three pairs of its triad and its members' triad
    /// weights.
    pub fn group_cost(&self, group: &Group) -> Cost {
        let m = group.members();
        let mut cost = Cost::default();
        for i in 0..m.len() {
            for j in i + 1..m.len() {
                cost += self.pair_cost(&m[i], &m[j]);
            }
        }
        if group.is_triad() {
            let floor = self.triad_floor();
            cost += m.iter().map(|p| self.triad_weight(p, floor)).sum();
        }
        cost
    }

    /// What an arrangement costs: the sum of its groups.
    pub fn cost(&self, groups: &[Group]) -> Cost {
        groups.iter().map(|g| self.group_cost(g)).sum()
    }
}

/// Why people could not be paired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairingError {
    /// Fewer than two people are present.
    #[error("at least two people are needed for a swap, {0} present")]
    TooFew(usize),
    /// Someone is listed twice: in `present`, in two locked groups, in two fixed pairs, or
    /// paired with themselves.
    #[error("{0} is listed twice")]
    Duplicate(PersonId),
    /// The locked triads do not fit: more than one, or one when the count is even.
    #[error("a locked triad needs an odd number of people, and there can be only one")]
    TriadConflict,
    /// The person is in no group.
    #[error("{0} is in no group")]
    NotPlaced(PersonId),
}

/// Where a late joiner went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// They joined the pair at this index, which is now a triad with them last.
    Joined {
        /// Index into the groups.
        group: usize,
    },
    /// Every group is a triad or locked: they wait (for another late joiner, or the next
    /// round).
    Waiting,
    /// They were already in the group at this index; nothing changed.
    AlreadyPlaced {
        /// Index into the groups.
        group: usize,
    },
}

/// Why a group was placed before the free people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Locked,
    Fixed,
}

/// Pair everyone present: see the [module docs](self) for the rules, costs and search.
///
/// Locked groups come first (in the given order), then fixed pairs, then the others.
pub fn pair(req: &Request) -> Result<Vec<Group>, PairingError> {
    let mut people: Vec<&str> = req.present.iter().map(String::as_str).collect();
    people.sort_unstable();
    if let Some(w) = people.windows(2).find(|w| w[0] == w[1]) {
        return Err(PairingError::Duplicate(w[0].to_string()));
    }
    if people.len() < 2 {
        return Err(PairingError::TooFew(people.len()));
    }
    let index = |p: &str| people.binary_search(&p).ok();

    // Which placed group each person is in.
    let mut owner: Vec<Option<usize>> = vec![None; people.len()];
    let mut groups: Vec<(Group, Kind)> = Vec::new();
    for locked in req.locked {
        let Some(at) = locked
            .members()
            .iter()
            .map(|m| index(m))
            .collect::<Option<Vec<usize>>>()
        else {
            continue; // someone is absent: the group is released
        };
        for (&i, name) in at.iter().zip(locked.members()) {
            if owner[i].is_some() {
                return Err(PairingError::Duplicate(name.clone()));
            }
            owner[i] = Some(groups.len());
        }
        groups.push((locked.clone(), Kind::Locked));
    }
    if groups.iter().filter(|(g, _)| g.is_triad()).count() > 1 {
        return Err(PairingError::TriadConflict);
    }
    for (a, b) in req.fixed {
        if a == b {
            return Err(PairingError::Duplicate(a.clone()));
        }
        let (Some(i), Some(j)) = (index(a), index(b)) else {
            continue; // not both here
        };
        match (owner[i], owner[j]) {
            (None, None) => {
                owner[i] = Some(groups.len());
                owner[j] = Some(groups.len());
                groups.push((Group::Pair([a.clone(), b.clone()]), Kind::Fixed));
            }
            // Listed twice, either way round.
            (Some(g), Some(h)) if g == h && groups[g].1 == Kind::Fixed => {}
            (oi, oj) => {
                let locked = |o: Option<usize>| o.is_some_and(|g| groups[g].1 == Kind::Locked);
                if locked(oi) || locked(oj) {
                    continue; // the lock wins
                }
                let twice = if oi.is_some() { a } else { b };
                return Err(PairingError::Duplicate(twice.clone()));
            }
        }
    }

    let free: Vec<&str> = people
        .iter()
        .zip(&owner)
        .filter(|(_, o)| o.is_none())
        .map(|(p, _)| *p)
        .collect();
    let locked_triad = groups.iter().any(|(g, _)| g.is_triad());
    if free.len() % 2 == 1 && locked_triad {
        return Err(PairingError::TriadConflict);
    }
    let mut out: Vec<Group> = groups.iter().map(|(g, _)| g.clone()).collect();
    let floor = req.triad_floor();
    match free.len() {
        0 => {}
        1 => {
            let x = free[0];
            let best = groups
                .iter()
                .enumerate()
                .filter_map(|(i, (g, kind))| match g {
                    Group::Pair([a, b]) => Some((
                        (
                            *kind == Kind::Locked,
                            req.pair_cost(x, a)
                                + req.pair_cost(x, b)
                                + req.triad_weight(a, floor)
                                + req.triad_weight(b, floor),
                        ),
                        i,
                    )),
                    Group::Triad(_) => None,
                })
                .min();
            let Some((_, i)) = best else {
                return Err(PairingError::TriadConflict);
            };
            if let Group::Pair([a, b]) = &out[i] {
                out[i] = Group::Triad([a.clone(), b.clone(), x.to_string()]);
            }
        }
        _ => {
            let m = Matrix::new(req, &free, floor);
            let slots = solve(&m, req.seed);
            let found = to_groups(&slots, &free);
            let fixed: Vec<usize> = (0..groups.len())
                .filter(|&i| groups[i].1 == Kind::Fixed)
                .collect();
            match fixed_triad(req, &out, &fixed, &free, &found, floor) {
                Some((at, triad, rest)) => {
                    out[at] = triad;
                    out.extend(rest);
                }
                None => out.extend(found),
            }
        }
    }
    Ok(out)
}

/// The other way to make the triad when the free people are odd in number: a fixed pair joined
/// by a free person. Tried only when the triad `found` among the free people holds someone due
/// a triad more than the fixed pair least due one; returned (the fixed pair's index in `out`,
/// the triad, the free people's other groups) when it costs less in all.
fn fixed_triad(
    req: &Request,
    out: &[Group],
    fixed: &[usize],
    free: &[&str],
    found: &[Group],
    floor: u32,
) -> Option<(usize, Group, Vec<Group>)> {
    let triad = found.iter().find(|g| g.is_triad())?;
    let weight = |p: &str| req.triad_weight(p, floor).triads;
    let most_due = triad.members().iter().map(|p| weight(p)).max()?;
    let (_, at) = fixed
        .iter()
        .filter_map(|&i| match &out[i] {
            Group::Pair([a, b]) => Some((weight(a).max(weight(b)), i)),
            Group::Triad(_) => None,
        })
        .min()?;
    let Group::Pair([a, b]) = &out[at] else {
        return None;
    };
    if weight(a).max(weight(b)) >= most_due || free.len() < 3 {
        return None;
    }
    let (_, x) = free
        .iter()
        .map(|&x| {
            let joined = Group::Triad([a.clone(), b.clone(), x.to_string()]);
            (req.group_cost(&joined), x)
        })
        .min()?;
    let mut joined = Group::Triad([a.clone(), b.clone(), x.to_string()]);
    let rest: Vec<&str> = free.iter().copied().filter(|&p| p != x).collect();
    let m = Matrix::new(req, &rest, floor);
    let mut others = to_groups(&solve(&m, req.seed), &rest);
    // The third member was chosen for the triad alone: exchange them with someone of the
    // other groups while that costs less in all.
    for _ in 0..MAX_PASSES {
        let mut better = None;
        'search: for (g, other) in others.iter().enumerate() {
            let before = req.group_cost(&joined) + req.group_cost(other);
            for i in 0..other.members().len() {
                let (mut t, mut o) = (joined.clone(), other.clone());
                std::mem::swap(&mut t.members_mut()[2], &mut o.members_mut()[i]);
                if req.group_cost(&t) + req.group_cost(&o) < before {
                    better = Some((g, i));
                    break 'search;
                }
            }
        }
        let Some((g, i)) = better else {
            break;
        };
        std::mem::swap(
            &mut joined.members_mut()[2],
            &mut others[g].members_mut()[i],
        );
    }
    let before = req.group_cost(&out[at]) + req.cost(found);
    let after = req.group_cost(&joined) + req.cost(&others);
    (after < before).then_some((at, joined, others))
}

/// Exchange two people's places: between two groups, or within one (which changes who is client
/// first). Checking locks is the caller's part: a facilitator's swap is itself a decision.
pub fn swap(groups: &mut [Group], a: &str, b: &str) -> Result<(), PairingError> {
    let find = |p: &str| {
        groups
            .iter()
            .enumerate()
            .find_map(|(g, group)| group.members().iter().position(|m| m == p).map(|i| (g, i)))
    };
    let (ga, ia) = find(a).ok_or_else(|| PairingError::NotPlaced(a.to_string()))?;
    let (gb, ib) = find(b).ok_or_else(|| PairingError::NotPlaced(b.to_string()))?;
    if (ga, ia) == (gb, ib) {
        return Ok(()); // a person swapped with themselves
    }
    let name_a = std::mem::take(&mut groups[ga].members_mut()[ia]);
    let name_b = std::mem::replace(&mut groups[gb].members_mut()[ib], name_a);
    groups[ga].members_mut()[ia] = name_b;
    Ok(())
}

/// Place a late joiner: they join the pair that has met them least and longest ago (by
/// [`Request::pair_cost`] and the pair's [`Request::triad_weight`]s, avoid-pairs first, then
/// the pair least due a triad), which becomes a triad with them last (observer first). Locked groups are never changed; a fixed pair only when no other pair is left. When
/// every group is a triad or locked, they wait.
///
/// `req` is the request the groups came from: only its history, session, `recent`, `avoid`,
/// `fixed` and `locked` are read.
pub fn place_late(groups: &mut [Group], person: PersonId, req: &Request) -> Placement {
    if let Some(group) = groups.iter().position(|g| g.contains(&person)) {
        return Placement::AlreadyPlaced { group };
    }
    let floor = req.triad_floor();
    let best = groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| match g {
            Group::Pair([a, b]) if !req.is_locked(g) => Some((
                (
                    req.is_fixed(a, b),
                    req.pair_cost(&person, a)
                        + req.pair_cost(&person, b)
                        + req.triad_weight(a, floor)
                        + req.triad_weight(b, floor),
                ),
                i,
            )),
            _ => None,
        })
        .min();
    let Some((_, group)) = best else {
        return Placement::Waiting;
    };
    if let Group::Pair([a, b]) = &groups[group] {
        groups[group] = Group::Triad([a.clone(), b.clone(), person]);
    }
    Placement::Joined { group }
}

/// A pair's two halves as `(coach, client)`: for `[a, b]`, `b` coaches `a`, then (after the
/// explicit role switch) `a` coaches `b`.
pub fn pair_halves(p: &[PersonId; 2]) -> [(&PersonId, &PersonId); 2] {
    [(&p[1], &p[0]), (&p[0], &p[1])]
}

/// A triad's three rounds as `(coach, client, observer)`: a rotation in which each member is
/// client once, coach once and observer once. For `[a, b, c]`: `a` is client first (coached by
/// `b`, observed by `c`), then `b` (coached by `c`), then `c` (coached by `a`).
pub fn triad_rounds(t: &[PersonId; 3]) -> [(&PersonId, &PersonId, &PersonId); 3] {
    [
        (&t[1], &t[0], &t[2]),
        (&t[2], &t[1], &t[0]),
        (&t[0], &t[2], &t[1]),
    ]
}

#[cfg(test)]
mod tests;
