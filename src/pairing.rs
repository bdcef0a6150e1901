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
//! (`0` = the series' first session), and is what makes pairs rotate from month to month.
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
//! The cost of putting `a` and `b` together ([`Request::pair_cost`]) is a [`Cost`] with three
//! tiers, compared in order — the first tier outweighs any amount of the second, the second any
//! amount of the third (like penalties of wildly different sizes, without overflow):
//!
//! 1. `avoided`: 1 if either asked not to be paired with the other ([`Request::avoid`],
//!    symmetric). So an avoid-pair is respected whenever any arrangement allows it.
//! 2. `recent`: for each meeting within the last `k` sessions ([`Request::recent`]), `k + 1 −
//!    age` where `age = session − met` (last session: `k`, `k` sessions ago: 1). So a recent
//!    repeat happens only when none is avoidable, and then with the partner met longest ago.
//! 3. `history`: for *every* meeting, however old, `⌊1024 · (7/8)^(age − 1)⌋`, at least 1
//!    (1024 last session, 598 five sessions ago, 233 a year ago). More meetings and more recent
//!    meetings cost more, the whole history counts, and someone never met costs nothing.
//!
//! A meeting recorded at or after the session being paired counts as last session's. A triad
//! costs the sum of its three pairs; an arrangement the sum of its groups ([`Request::cost`]).
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
//! the search early. Sixty people with a year of history take well under a millisecond (see
//! `cargo bench --bench pairing`).
//!
//! # In the room
//!
//! [`swap`] is the facilitator exchanging two people in the preview; [`place_late`] puts a late
//! joiner into the pair that has met them least, turning it into a triad, or leaves them
//! waiting when every group is a triad or locked.

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use crate::random::{mix, shuffle};

/// A series member's id, stable across sessions. In a room it maps to a participant.
pub type PersonId = String;

/// The window `k` a [`Request::new`] uses: no repeat partner within the last three sessions.
pub const DEFAULT_RECENT: u32 = 3;

/// Up to this many free people are paired by exact search; more by seeded local search.
const EXACT_MAX: usize = 12;
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
/// were in one group in (`0` = the oldest session).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Keyed by the smaller id, then the larger.
    met: BTreeMap<PersonId, BTreeMap<PersonId, Vec<u32>>>,
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
    /// a triad). Recording a session twice changes nothing.
    pub fn record(&mut self, session: u32, groups: &[Group]) {
        for g in groups {
            let m = g.members();
            for i in 0..m.len() {
                for j in i + 1..m.len() {
                    self.add(&m[i], &m[j], session);
                }
            }
        }
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
    }

    /// Every pair of people who have met, with the sessions they met in (smaller id first).
    pub fn pairs(&self) -> impl Iterator<Item = (&PersonId, &PersonId, &[u32])> {
        self.met
            .iter()
            .flat_map(|(a, row)| row.iter().map(move |(b, s)| (a, b, s.as_slice())))
    }

    /// Whether nobody has met anybody yet.
    pub fn is_empty(&self) -> bool {
        self.met.is_empty()
    }
}

/// What an arrangement costs, tier by tier (see the [module docs](self)); compared
/// lexicographically in field order, so lower is better and any avoid-pair outweighs any
/// number of recent repeats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cost {
    /// How many avoid-pairs were put together.
    pub avoided: u32,
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

    /// What one group costs: its pair, or the three pairs of its triad.
    pub fn group_cost(&self, group: &Group) -> Cost {
        let m = group.members();
        let mut cost = Cost::default();
        for i in 0..m.len() {
            for j in i + 1..m.len() {
                cost += self.pair_cost(&m[i], &m[j]);
            }
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
                            req.pair_cost(x, a) + req.pair_cost(x, b),
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
            let m = Matrix::new(req, &free);
            let slots = solve(&m, req.seed);
            out.extend(to_groups(&slots, &free));
        }
    }
    Ok(out)
}

/// Pair costs among the free people, by local index (their sorted order).
struct Matrix {
    n: usize,
    cost: Vec<Cost>,
}

impl Matrix {
    fn new(req: &Request, free: &[&str]) -> Self {
        let n = free.len();
        let mut cost = vec![Cost::default(); n * n];
        let local = |p: &str| free.binary_search(&p).ok();
        for (i, &name) in free.iter().enumerate() {
            // Only pairs keyed under `name` (the smaller id): each pair is visited once.
            let Some(inner) = req.history.met.get(name) else {
                continue;
            };
            for (other, sessions) in inner {
                if let Some(j) = local(other) {
                    let c = meetings_cost(sessions, req.session, req.recent);
                    cost[i * n + j] = c;
                    cost[j * n + i] = c;
                }
            }
        }
        for (a, b) in req.avoid {
            if let (Some(i), Some(j)) = (local(a), local(b)) {
                if i != j {
                    cost[i * n + j].avoided = 1;
                    cost[j * n + i].avoided = 1;
                }
            }
        }
        Matrix { n, cost }
    }

    #[inline]
    fn get(&self, i: usize, j: usize) -> Cost {
        self.cost[i * self.n + j]
    }

    #[inline]
    fn triad(&self, a: usize, b: usize, c: usize) -> Cost {
        self.get(a, b) + self.get(a, c) + self.get(b, c)
    }
}

/// An arrangement of local indices: pairs at `[0, 1]`, `[2, 3]`, …, and when the count is odd
/// the triad in the last three slots.
type Slots = Vec<usize>;

fn to_groups(slots: &[usize], free: &[&str]) -> Vec<Group> {
    let n = slots.len();
    let pairs = if n % 2 == 1 { n - 3 } else { n };
    let name = |i: usize| free[slots[i]].to_string();
    let mut out: Vec<Group> = (0..pairs / 2)
        .map(|g| Group::Pair([name(2 * g), name(2 * g + 1)]))
        .collect();
    if n % 2 == 1 {
        out.push(Group::Triad([name(n - 3), name(n - 2), name(n - 1)]));
    }
    out
}

fn total(m: &Matrix, slots: &[usize]) -> Cost {
    let n = slots.len();
    let pairs = if n % 2 == 1 { n - 3 } else { n };
    let mut cost: Cost = (0..pairs / 2)
        .map(|g| m.get(slots[2 * g], slots[2 * g + 1]))
        .sum();
    if n % 2 == 1 {
        cost += m.triad(slots[n - 3], slots[n - 2], slots[n - 1]);
    }
    cost
}

/// The cheapest arrangement found for the free people (at least two).
fn solve(m: &Matrix, seed: u64) -> Slots {
    if m.n <= EXACT_MAX {
        let mut order: Vec<usize> = (0..m.n).collect();
        shuffle(&mut order, mix(seed));
        return exact(m, &order);
    }
    let mut best: Option<(Cost, Slots)> = None;
    for r in 0..RESTARTS {
        let mut order: Vec<usize> = (0..m.n).collect();
        shuffle(&mut order, mix(seed.wrapping_add(r)));
        let mut slots = greedy(m, &order);
        improve(m, &mut slots);
        let cost = total(m, &slots);
        if best.as_ref().is_none_or(|(b, _)| cost < *b) {
            let done = cost == Cost::default();
            best = Some((cost, slots));
            if done {
                break;
            }
        }
    }
    best.map(|(_, s)| s).unwrap_or_default()
}

/// Exact search over subsets of `order` (at most [`EXACT_MAX`] people): the first cheapest
/// arrangement in that order.
fn exact(m: &Matrix, order: &[usize]) -> Slots {
    /// The best way to group the people in a mask, and how it starts: the lowest person with
    /// `j` (and `k` for a triad).
    type Memo = Vec<Option<(Cost, u8, u8)>>;
    const NONE: u8 = u8::MAX;

    fn best(m: &Matrix, order: &[usize], memo: &mut Memo, mask: usize, triad: bool) -> Cost {
        if mask == 0 {
            return Cost::default();
        }
        let key = mask << 1 | usize::from(triad);
        if let Some((c, _, _)) = memo[key] {
            return c;
        }
        let i = mask.trailing_zeros() as usize;
        let rest = mask & !(1 << i);
        let mut found: Option<(Cost, u8, u8)> = None;
        // A pair needs someone left for the triad when one is still to come.
        if !triad || rest.count_ones() >= 4 {
            for j in i + 1..order.len() {
                if rest & 1 << j == 0 {
                    continue;
                }
                let c = m.get(order[i], order[j]) + best(m, order, memo, rest & !(1 << j), triad);
                if found.is_none_or(|(f, _, _)| c < f) {
                    found = Some((c, j as u8, NONE));
                }
            }
        }
        if triad {
            for j in i + 1..order.len() {
                if rest & 1 << j == 0 {
                    continue;
                }
                for k in j + 1..order.len() {
                    if rest & 1 << k == 0 {
                        continue;
                    }
                    let left = rest & !(1 << j) & !(1 << k);
                    let c =
                        m.triad(order[i], order[j], order[k]) + best(m, order, memo, left, false);
                    if found.is_none_or(|(f, _, _)| c < f) {
                        found = Some((c, j as u8, k as u8));
                    }
                }
            }
        }
        let found = found.unwrap_or((Cost::default(), NONE, NONE));
        memo[key] = Some(found);
        found.0
    }

    let n = order.len();
    let full = (1usize << n) - 1;
    let mut memo: Memo = vec![None; 1 << (n + 1)];
    let odd = n % 2 == 1;
    best(m, order, &mut memo, full, odd);

    let mut slots = Vec::with_capacity(n);
    let mut triad_slots = Vec::new();
    let (mut mask, mut triad) = (full, odd);
    while mask != 0 {
        let Some((_, j, k)) = memo[mask << 1 | usize::from(triad)] else {
            break;
        };
        let i = mask.trailing_zeros() as usize;
        if j == NONE {
            break; // unreachable for consistent parity
        }
        let j = j as usize;
        mask &= !(1 << i) & !(1 << j);
        if k == NONE {
            slots.extend([order[i], order[j]]);
        } else {
            let k = k as usize;
            mask &= !(1 << k);
            triad_slots.extend([order[i], order[j], order[k]]);
            triad = false;
        }
    }
    slots.extend(triad_slots);
    slots
}

/// Greedy construction in `order`: each person still free takes the cheapest partner still
/// free; an odd one out joins the pair that costs least to join.
fn greedy(m: &Matrix, order: &[usize]) -> Slots {
    let n = order.len();
    let mut used = vec![false; m.n];
    let mut pairs: Vec<[usize; 2]> = Vec::with_capacity(n / 2);
    let mut odd_one = None;
    for (at, &i) in order.iter().enumerate() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let mut pick: Option<(Cost, usize)> = None;
        for &j in &order[at + 1..] {
            if !used[j] {
                let c = m.get(i, j);
                if pick.is_none_or(|(p, _)| c < p) {
                    pick = Some((c, j));
                }
            }
        }
        match pick {
            Some((_, j)) => {
                used[j] = true;
                pairs.push([i, j]);
            }
            None => odd_one = Some(i),
        }
    }
    let mut slots = Vec::with_capacity(n);
    match odd_one {
        None => slots.extend(pairs.iter().flatten()),
        Some(x) => {
            let join = (0..pairs.len())
                .min_by_key(|&g| m.get(x, pairs[g][0]) + m.get(x, pairs[g][1]))
                .unwrap_or(0);
            for (g, p) in pairs.iter().enumerate() {
                if g != join {
                    slots.extend(p);
                }
            }
            slots.extend([pairs[join][0], pairs[join][1], x]);
        }
    }
    slots
}

/// Local search: exchange two people between groups, or move the triad onto another pair,
/// while that lowers the total.
fn improve(m: &Matrix, slots: &mut [usize]) {
    let n = slots.len();
    let odd = n % 2 == 1;
    let triad_at = if odd { n - 3 } else { n };
    let group = |p: usize| if p >= triad_at { triad_at / 2 } else { p / 2 };
    let cost = |s: &[usize], g: usize| {
        if 2 * g == triad_at {
            m.triad(s[n - 3], s[n - 2], s[n - 1])
        } else {
            m.get(s[2 * g], s[2 * g + 1])
        }
    };
    for _ in 0..MAX_PASSES {
        let mut improved = false;
        for p in 0..n {
            let gp = group(p);
            for q in p + 1..n {
                let gq = group(q);
                if gp == gq {
                    continue;
                }
                let before = cost(slots, gp) + cost(slots, gq);
                slots.swap(p, q);
                if cost(slots, gp) + cost(slots, gq) < before {
                    improved = true;
                } else {
                    slots.swap(p, q);
                }
            }
        }
        if odd {
            // The triad [x, y, z] and a pair [a, b] become the pair [the two others] and the
            // triad [one of x, y, z, a, b].
            for g in 0..triad_at / 2 {
                for z in 0..3 {
                    let t = [slots[n - 3], slots[n - 2], slots[n - 1]];
                    let (a, b) = (slots[2 * g], slots[2 * g + 1]);
                    let (x, y) = match z {
                        0 => (t[1], t[2]),
                        1 => (t[0], t[2]),
                        _ => (t[0], t[1]),
                    };
                    let before = m.get(a, b) + m.triad(t[0], t[1], t[2]);
                    if m.get(x, y) + m.triad(a, b, t[z]) < before {
                        slots[2 * g] = x;
                        slots[2 * g + 1] = y;
                        slots[n - 3] = a;
                        slots[n - 2] = b;
                        slots[n - 1] = t[z];
                        improved = true;
                    }
                }
            }
        }
        if !improved {
            break;
        }
    }
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
/// [`Request::pair_cost`], avoid-pairs first), which becomes a triad with them last (observer
/// first). Locked groups are never changed; a fixed pair only when no other pair is left. When
/// every group is a triad or locked, they wait.
///
/// `req` is the request the groups came from: only its history, session, `recent`, `avoid`,
/// `fixed` and `locked` are read.
pub fn place_late(groups: &mut [Group], person: PersonId, req: &Request) -> Placement {
    if let Some(group) = groups.iter().position(|g| g.contains(&person)) {
        return Placement::AlreadyPlaced { group };
    }
    let best = groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| match g {
            Group::Pair([a, b]) if !req.is_locked(g) => Some((
                (
                    req.is_fixed(a, b),
                    req.pair_cost(&person, a) + req.pair_cost(&person, b),
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
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<PersonId> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn pair_of(a: &str, b: &str) -> Group {
        Group::Pair([a.into(), b.into()])
    }

    fn together(groups: &[Group], a: &str, b: &str) -> bool {
        groups.iter().any(|g| g.contains(a) && g.contains(b))
    }

    #[test]
    fn last_months_partners_are_not_met_again() {
        let people = ids(&["ana", "ben", "cy", "dee"]);
        let mut history = History::new();
        history.record(0, &[pair_of("ana", "ben"), pair_of("cy", "dee")]);
        history.record(1, &[pair_of("ana", "cy"), pair_of("ben", "dee")]);
        for seed in 0..20 {
            let groups = pair(&Request::new(&people, &history, 2, seed)).expect("pairs");
            assert!(together(&groups, "ana", "dee"), "{groups:?}");
            assert!(together(&groups, "ben", "cy"), "{groups:?}");
        }
    }

    #[test]
    fn when_everyone_was_met_recently_the_oldest_meeting_repeats() {
        let people = ids(&["ana", "ben", "cy", "dee"]);
        let mut history = History::new();
        history.record(0, &[pair_of("ana", "ben"), pair_of("cy", "dee")]);
        history.record(1, &[pair_of("ana", "cy"), pair_of("ben", "dee")]);
        history.record(2, &[pair_of("ana", "dee"), pair_of("ben", "cy")]);
        let groups = pair(&Request::new(&people, &history, 3, 7)).expect("pairs");
        assert!(together(&groups, "ana", "ben"), "{groups:?}");
    }

    #[test]
    fn an_odd_count_makes_exactly_one_triad() {
        let people = ids(&["a", "b", "c", "d", "e"]);
        let groups = pair(&Request::new(&people, &History::new(), 0, 1)).expect("pairs");
        assert_eq!(groups.iter().filter(|g| g.is_triad()).count(), 1);
        assert_eq!(groups.len(), 2);
    }

    #[test]
    fn fixed_and_locked_groups_come_first_and_stay() {
        let people = ids(&["a", "b", "c", "d", "e", "f", "g"]);
        let fixed = [("a".to_string(), "b".to_string())];
        let locked = [Group::Triad(["e".into(), "c".into(), "g".into()])];
        let mut history = History::new();
        history.record(0, &[pair_of("a", "b")]);
        let req = Request {
            fixed: &fixed,
            locked: &locked,
            ..Request::new(&people, &history, 1, 3)
        };
        let groups = pair(&req).expect("pairs");
        assert_eq!(groups[0], locked[0]);
        assert_eq!(groups[1], pair_of("a", "b"));
        assert!(together(&groups, "d", "f"));
    }

    #[test]
    fn an_avoid_pair_is_respected_over_a_recent_repeat() {
        let people = ids(&["a", "b", "c", "d"]);
        let mut history = History::new();
        history.record(0, &[pair_of("a", "c"), pair_of("b", "d")]);
        let avoid = [("a".to_string(), "b".to_string())];
        let req = Request {
            avoid: &avoid,
            ..Request::new(&people, &history, 1, 0)
        };
        // {a,b}{c,d} breaks the avoid-pair; {a,c}{b,d} repeats twice; {a,d}{b,c} is free.
        let groups = pair(&req).expect("pairs");
        assert!(together(&groups, "a", "d"), "{groups:?}");
        assert_eq!(req.cost(&groups).avoided, 0);
    }

    #[test]
    fn too_few_and_duplicates_are_errors() {
        let one = ids(&["a"]);
        assert_eq!(
            pair(&Request::new(&one, &History::new(), 0, 0)),
            Err(PairingError::TooFew(1))
        );
        let twice = ids(&["a", "b", "a"]);
        assert_eq!(
            pair(&Request::new(&twice, &History::new(), 0, 0)),
            Err(PairingError::Duplicate("a".into()))
        );
    }

    #[test]
    fn a_late_joiner_joins_the_pair_met_least() {
        let people = ids(&["a", "b", "c", "d"]);
        let mut history = History::new();
        history.record(0, &[pair_of("a", "z"), pair_of("c", "d")]);
        let req = Request::new(&people, &history, 1, 0);
        let mut groups = vec![pair_of("a", "b"), pair_of("c", "d")];
        // z met a last month, and has never met c or d.
        assert_eq!(
            place_late(&mut groups, "z".into(), &req),
            Placement::Joined { group: 1 }
        );
        assert_eq!(
            groups[1],
            Group::Triad(["c".into(), "d".into(), "z".into()])
        );
        // Y: the only pair left is [a, b].
        assert_eq!(
            place_late(&mut groups, "y".into(), &req),
            Placement::Joined { group: 0 }
        );
        assert_eq!(
            place_late(&mut groups, "x".into(), &req),
            Placement::Waiting
        );
        assert_eq!(
            place_late(&mut groups, "a".into(), &req),
            Placement::AlreadyPlaced { group: 0 }
        );
    }

    #[test]
    fn swap_exchanges_places() {
        let mut groups = vec![pair_of("a", "b"), pair_of("c", "d")];
        swap(&mut groups, "a", "d").expect("both placed");
        assert_eq!(groups, vec![pair_of("d", "b"), pair_of("c", "a")]);
        assert_eq!(
            swap(&mut groups, "a", "q"),
            Err(PairingError::NotPlaced("q".into()))
        );
    }

    #[test]
    fn triad_rounds_give_each_role_once() {
        let t: [PersonId; 3] = ["a".into(), "b".into(), "c".into()];
        let rounds = triad_rounds(&t);
        assert_eq!(rounds[0], (&t[1], &t[0], &t[2]));
        for p in &t {
            assert_eq!(rounds.iter().filter(|r| r.0 == p).count(), 1);
            assert_eq!(rounds.iter().filter(|r| r.1 == p).count(), 1);
            assert_eq!(rounds.iter().filter(|r| r.2 == p).count(), 1);
        }
    }

    #[test]
    fn history_decays_but_never_forgets() {
        let mut history = History::new();
        history.record(0, &[pair_of("a", "b")]);
        history.record(5, &[Group::Triad(["a".into(), "b".into(), "c".into()])]);
        assert_eq!(history.times_met("b", "a"), 2);
        assert_eq!(history.last_met("c", "a"), Some(5));
        assert_eq!(history.last_met("c", "d"), None);
        let people = ids(&["a", "b", "c"]);
        let req = Request::new(&people, &history, 12, 0);
        let ab = req.pair_cost("a", "b");
        let ac = req.pair_cost("a", "c");
        assert_eq!(ab.recent, 0);
        assert!(ab > ac && ac > Cost::default(), "{ab:?} {ac:?}");
        history.forget_before(5);
        assert_eq!(history.times_met("a", "b"), 1);
        history.forget_before(6);
        assert!(history.is_empty());
    }
}
