//! Benchmark of coaching-swap pairing: how long one pairing takes for a series with a year of
//! monthly history (12 sessions, each paired by the algorithm itself), and how often partners
//! repeat.
//!
//! Rows with less history, odd counts, partial attendance, a circle small enough for the exact
//! search, and five years (where repeats can no longer be avoided and every restart runs).
//!
//! Run: `cargo bench --bench pairing` (a few seconds).

mod common;

use std::time::Instant;

use circlekeeper::pairing::{pair, Group, History, PersonId, Request};
use circlekeeper::room::state::mix;

/// Sessions of history: a year of monthly swaps.
const YEAR: u32 = 12;
/// Timed pairings per row, each with another seed.
const RUNS: u64 = 400;
/// The window for "met recently", and the `k` the pairings use.
const RECENT: u32 = 3;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

/// One series: its members and who attends each month.
struct Series {
    name: &'static str,
    members: usize,
    /// Chance in percent that a member attends a given session.
    attendance: u64,
    /// Sessions of history before the timed one.
    sessions: u32,
}

impl Series {
    fn present(&self, session: u32) -> Vec<PersonId> {
        (0..self.members)
            .filter(|&i| {
                self.attendance >= 100
                    || mix((u64::from(session) << 32) ^ i as u64) % 100 < self.attendance
            })
            .map(|i| format!("member-{i:03}"))
            .collect()
    }
}

/// Partner pairs in `groups` (a triad has three) that met within the last `RECENT` sessions
/// before `session`, that met ever, and all of them.
fn repeats(history: &History, session: u32, groups: &[Group]) -> (u64, u64, u64) {
    let (mut recent, mut ever, mut all) = (0, 0, 0);
    for g in groups {
        let m = g.members();
        for i in 0..m.len() {
            for j in i + 1..m.len() {
                all += 1;
                if let Some(last) = history.last_met(&m[i], &m[j]) {
                    ever += 1;
                    if session - last <= RECENT {
                        recent += 1;
                    }
                }
            }
        }
    }
    (recent, ever, all)
}

struct Row {
    present: usize,
    samples: Vec<u64>,
    year: (u64, u64, u64),
    next: (u64, u64, u64),
}

fn run(series: &Series) -> Row {
    let mut history = History::new();
    let mut year = (0, 0, 0);
    for session in 0..series.sessions {
        let present = series.present(session);
        let req = Request {
            recent: RECENT,
            ..Request::new(&present, &history, session, u64::from(session))
        };
        let groups = pair(&req).expect("pairs");
        let (r, e, a) = repeats(&history, session, &groups);
        year = (year.0 + r, year.1 + e, year.2 + a);
        history.record(session, &groups);
    }
    let now = series.sessions;
    let present = series.present(now);
    let mut samples = Vec::with_capacity(RUNS as usize);
    let mut next = (0, 0, 0);
    for seed in 0..RUNS {
        let req = Request {
            recent: RECENT,
            ..Request::new(&present, &history, now, 1000 + seed)
        };
        let t = Instant::now();
        let groups = pair(&req).expect("pairs");
        samples.push(t.elapsed().as_nanos() as u64);
        let (r, e, a) = repeats(&history, now, &groups);
        next = (next.0 + r, next.1 + e, next.2 + a);
    }
    samples.sort_unstable();
    Row {
        present: present.len(),
        samples,
        year,
        next,
    }
}

fn us(ns: u64) -> String {
    format!("{:.0} µs", ns as f64 / 1000.0)
}

fn pct(n: u64, of: u64) -> String {
    format!("{n} ({:.1}%)", 100.0 * n as f64 / of.max(1) as f64)
}

fn main() {
    let all = [
        Series {
            name: "60 members, all attend",
            members: 60,
            attendance: 100,
            sessions: YEAR,
        },
        Series {
            name: "61 members, all attend (a triad)",
            members: 61,
            attendance: 100,
            sessions: YEAR,
        },
        Series {
            name: "75 members, ~80% attend",
            members: 75,
            attendance: 80,
            sessions: YEAR,
        },
        Series {
            name: "20 members, all attend",
            members: 20,
            attendance: 100,
            sessions: YEAR,
        },
        Series {
            name: "8 members, all attend (exact search)",
            members: 8,
            attendance: 100,
            sessions: YEAR,
        },
        Series {
            name: "12 members, all attend (exact search, its largest)",
            members: 12,
            attendance: 100,
            sessions: YEAR,
        },
        Series {
            name: "60 members, all attend, 5 years of history",
            members: 60,
            attendance: 100,
            sessions: 5 * YEAR,
        },
        Series {
            name: "200 members, all attend",
            members: 200,
            attendance: 100,
            sessions: YEAR,
        },
    ];
    println!(
        "coaching-swap pairing — {} — monthly history ({YEAR} sessions unless said), each session \
         paired by the algorithm with k = {RECENT}, then {RUNS} timed pairings of the next \
         session with different seeds",
        common::machine_line()
    );
    println!();
    println!(
        "| series | present | p50 | p99 | max | history's partner pairs: met within 3 / ever \
         before | per timed pairing: met within 3 / ever before |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for series in &all {
        let row = run(series);
        let s = &row.samples;
        println!(
            "| {} | {} | {} | {} | {} | {} / {} of {} | {:.2} / {:.2} of {} |",
            series.name,
            row.present,
            us(percentile(s, 0.50)),
            us(percentile(s, 0.99)),
            us(s.last().copied().unwrap_or(0)),
            pct(row.year.0, row.year.2),
            pct(row.year.1, row.year.2),
            row.year.2,
            row.next.0 as f64 / RUNS as f64,
            row.next.1 as f64 / RUNS as f64,
            row.next.2 / RUNS,
        );
    }
}
