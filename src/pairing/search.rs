//! The search for a cheapest arrangement of the free people: the pair-cost matrix, an exact
//! search over subsets for up to [`EXACT_MAX`] people, and seeded greedy restarts improved by
//! local moves for more (see the module above for the model).

use super::*;

/// Pair costs among the free people, by local index (their sorted order), and what putting each
/// in the triad costs.
pub(super) struct Matrix {
    n: usize,
    cost: Vec<Cost>,
    triad_weight: Vec<Cost>,
}

impl Matrix {
    /// `floor` is the request's [`Request::triad_floor`].
    pub(super) fn new(req: &Request, free: &[&str], floor: u32) -> Self {
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
        let triad_weight = free.iter().map(|p| req.triad_weight(p, floor)).collect();
        Matrix {
            n,
            cost,
            triad_weight,
        }
    }

    #[inline]
    fn get(&self, i: usize, j: usize) -> Cost {
        self.cost[i * self.n + j]
    }

    #[inline]
    fn triad(&self, a: usize, b: usize, c: usize) -> Cost {
        self.get(a, b)
            + self.get(a, c)
            + self.get(b, c)
            + self.triad_weight[a]
            + self.triad_weight[b]
            + self.triad_weight[c]
    }
}

/// An arrangement of local indices: pairs at `[0, 1]`, `[2, 3]`, …, and when the count is odd
/// the triad in the last three slots.
type Slots = Vec<usize>;

pub(super) fn to_groups(slots: &[usize], free: &[&str]) -> Vec<Group> {
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
pub(super) fn solve(m: &Matrix, seed: u64) -> Slots {
    if m.n <= EXACT_MAX {
        let mut order: Vec<usize> = (0..m.n).collect();
        shuffle(&mut order, mix(seed));
        return exact(m, &order);
    }
    let mut best: Option<(Cost, Slots)> = fair_triads_then_exact(m, seed);
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

/// People least due a triad that [`fair_triads_then_exact`] tries triads among.
const TRIAD_CANDIDATES: usize = 6;

/// Just above the exact search's limit with an odd count, the local search can get stuck with
/// a fair triad and a recent partner it cannot swap away: try each triad among the people
/// least due one (ties in seeded order), the others paired exactly. `None` for other counts.
fn fair_triads_then_exact(m: &Matrix, seed: u64) -> Option<(Cost, Slots)> {
    if m.n.is_multiple_of(2) || m.n > EXACT_MAX + 3 {
        return None;
    }
    let mut order: Vec<usize> = (0..m.n).collect();
    shuffle(&mut order, mix(seed ^ 0x7472_6961_6473));
    order.sort_by_key(|&i| m.triad_weight[i]);
    let candidates = &order[..TRIAD_CANDIDATES.min(m.n)];
    let mut best: Option<(Cost, Slots)> = None;
    for (x, &a) in candidates.iter().enumerate() {
        for (y, &b) in candidates.iter().enumerate().skip(x + 1) {
            for &c in &candidates[y + 1..] {
                let rest: Vec<usize> = order
                    .iter()
                    .copied()
                    .filter(|&p| p != a && p != b && p != c)
                    .collect();
                let mut slots = exact(m, &rest);
                slots.extend([a, b, c]);
                let cost = total(m, &slots);
                if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                    best = Some((cost, slots));
                }
            }
        }
    }
    best
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
/// free; an odd one out joins the pair that costs least to join (triad weights included).
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
                .min_by_key(|&g| m.triad(x, pairs[g][0], pairs[g][1]))
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
