//! The comparison's table and JSON: for every scenario and figure, the median of the runs of
//! each server with every run beside it, and the ratio circlekeeper / bare of the medians;
//! with the machine line and the disk's flush floor (`disk`). Written to stdout and to
//! `target/load-compare.json` (`load-compare-cluster.json` with `--cluster 3`,
//! `load-smoke-compare.json` in the smoke run).

use serde_json::{json, Value};

use crate::common;
use crate::compare::{Duo, Run};
use crate::duo::Kind;
use crate::Opts;

/// The longest the disk's flush floor is measured for (see `disk`).
const FLOOR_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// How a figure is shown.
#[derive(Clone, Copy)]
enum Unit {
    Ms,
    Percent,
    Micros,
    KiB,
    PerSec,
    /// Delivered of offered (the value is the fraction).
    OfOffered,
}

/// One row of the table: which scenario, its label, and how to read it off a run.
struct Figure {
    scenario: Duo,
    label: &'static str,
    unit: Unit,
    value: fn(&Run) -> Option<f64>,
}

fn figures() -> Vec<Figure> {
    let p99 = |r: &Run| Some(r.p99_us as f64 / 1000.0);
    let p50 = |r: &Run| Some(r.p50_us as f64 / 1000.0);
    let cpu = |r: &Run| r.cpu.map(|c| c * 100.0);
    let per_cmd = |r: &Run| r.cpu_per_command_us();
    let of = |r: &Run| (r.offered > 0).then(|| r.delivered as f64 / r.offered as f64);
    let mut v = vec![
        Figure {
            scenario: Duo::Steady1,
            label: "p99 command → every other member",
            unit: Unit::Ms,
            value: p99,
        },
        Figure {
            scenario: Duo::Steady1,
            label: "p50 command → every other member",
            unit: Unit::Ms,
            value: p50,
        },
        Figure {
            scenario: Duo::Steady1,
            label: "server CPU (% of one core)",
            unit: Unit::Percent,
            value: cpu,
        },
        Figure {
            scenario: Duo::Steady1,
            label: "… of it, runtime threads (websockets, room actors)",
            unit: Unit::Percent,
            value: |r| thread_cpu(r, 0),
        },
        Figure {
            scenario: Duo::Steady1,
            label: "… of it, commit thread",
            unit: Unit::Percent,
            value: |r| thread_cpu(r, 1),
        },
        Figure {
            scenario: Duo::Steady1,
            label: "… of it, sled IO pool",
            unit: Unit::Percent,
            value: |r| thread_cpu(r, 2),
        },
        Figure {
            scenario: Duo::Steady1,
            label: "server CPU per command",
            unit: Unit::Micros,
            value: per_cmd,
        },
        Figure {
            scenario: Duo::Steady1,
            label: "delivered of offered",
            unit: Unit::OfOffered,
            value: of,
        },
        Figure {
            scenario: Duo::Steady1,
            label: "server memory per connected participant, idle",
            unit: Unit::KiB,
            value: |r| kib(r.idle_per_participant),
        },
        Figure {
            scenario: Duo::Steady1,
            label: "server memory per participant after the run",
            unit: Unit::KiB,
            value: |r| kib(r.end_per_participant),
        },
        Figure {
            scenario: Duo::Steady1,
            label: "server memory per open room nobody entered",
            unit: Unit::KiB,
            value: |r| kib(r.per_empty_room),
        },
    ];
    v.push(Figure {
        scenario: Duo::Steady10,
        label: "delivered of offered",
        unit: Unit::OfOffered,
        value: of,
    });
    v.push(Figure {
        scenario: Duo::Burst16,
        label: "events delivered/s",
        unit: Unit::PerSec,
        value: |r| Some(r.events as f64 / r.run_secs.max(1e-9)),
    });
    for sc in [Duo::Steady10, Duo::Burst16] {
        v.push(Figure {
            scenario: sc,
            label: "p99 command → every other member",
            unit: Unit::Ms,
            value: p99,
        });
        v.push(Figure {
            scenario: sc,
            label: "server CPU (% of one core)",
            unit: Unit::Percent,
            value: cpu,
        });
        v.push(Figure {
            scenario: sc,
            label: "server CPU per command",
            unit: Unit::Micros,
            value: per_cmd,
        });
    }
    for sc in Duo::ALL {
        v.push(Figure {
            scenario: sc,
            label: "load generator CPU (% of one core)",
            unit: Unit::Percent,
            value: |r| Some(r.client_cpu * 100.0),
        });
        v.push(Figure {
            scenario: sc,
            label: "PostgreSQL + HAProxy CPU (% of one core)",
            unit: Unit::Percent,
            value: |r| r.cluster_cpu.map(|c| c * 100.0),
        });
    }
    // Grouped by scenario, in the order they run (stable: rows keep their order within).
    v.sort_by_key(|f| Duo::ALL.iter().position(|d| *d == f.scenario));
    v
}

/// One thread group's CPU (`sys::THREAD_GROUPS`), % of one core: none for a group the server
/// does not have (the bare server has only its runtime).
fn thread_cpu(r: &Run, group: usize) -> Option<f64> {
    let busy = r.cpu_threads?[group];
    (r.kind == Kind::Ck || group == 0).then_some(busy * 100.0)
}

/// Bytes to KiB.
fn kib(b: Option<f64>) -> Option<f64> {
    b.map(|b| b / 1024.0)
}

fn show(unit: Unit, v: f64, run: Option<&Run>) -> String {
    match unit {
        Unit::Ms => format!("{v:.1} ms"),
        Unit::Percent => format!("{v:.0}"),
        Unit::Micros => format!("{v:.0} µs"),
        Unit::KiB => format!("{v:.1} KiB"),
        Unit::PerSec => thousands(v),
        Unit::OfOffered => match run {
            Some(r) => format!(
                "{} of {}",
                thousands(r.delivered as f64),
                thousands(r.offered as f64)
            ),
            None => format!("{v:.2}"),
        },
    }
}

/// 12345.6 → "12k", 987 → "987".
fn thousands(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// The median run's value (the lower middle of an even count) and that run.
fn median<'a>(vals: &[(f64, &'a Run)]) -> Option<(f64, &'a Run)> {
    let mut v = vals.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v.get((v.len().max(1) - 1) / 2).copied()
}

/// Print the table and write the JSON.
pub fn print_and_save(o: &Opts, runs: &[Run]) -> anyhow::Result<()> {
    let (cores, mem_kib, cpu) = common::machine();
    let ck_name = if o.cluster > 0 {
        format!("circlekeeper ({} nodes via HAProxy)", o.cluster)
    } else {
        "circlekeeper".to_string()
    };
    println!();
    println!(
        "### load comparison — {} rooms × {} — medians of {} run(s) each, alternating — {}",
        o.rooms,
        o.participants,
        o.repeat,
        common::machine_line()
    );
    println!();
    println!("| scenario | figure | bare | {ck_name} | ratio |");
    println!("| --- | --- | ---: | ---: | ---: |");
    let mut rows = Vec::new();
    for f in figures() {
        let of = |k: Kind| -> Vec<(f64, &Run)> {
            runs.iter()
                .filter(|r| r.kind == k && r.scenario == f.scenario)
                .filter_map(|r| (f.value)(r).map(|v| (v, r)))
                .collect()
        };
        let (bare, ck) = (of(Kind::Bare), of(Kind::Ck));
        if bare.is_empty() && ck.is_empty() {
            continue;
        }
        let cell = |vals: &[(f64, &Run)]| match median(vals) {
            None => "—".to_string(),
            Some((m, r)) if vals.len() > 1 => format!(
                "{} ({})",
                show(f.unit, m, Some(r)),
                vals.iter()
                    .map(|(v, r)| show(f.unit, *v, Some(r)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some((m, r)) => show(f.unit, m, Some(r)),
        };
        let ratio = median(&bare)
            .zip(median(&ck))
            .and_then(|((b, _), (c, _))| (b > 0.0).then(|| c / b));
        println!(
            "| {} | {} | {} | {} | {} |",
            f.scenario.name(),
            f.label,
            cell(&bare),
            cell(&ck),
            ratio.map_or("—".into(), |r| format!("{r:.2}")),
        );
        rows.push(json!({
            "scenario": f.scenario.name(),
            "figure": f.label,
            "bare": { "median": median(&bare).map(|m| m.0), "runs": bare.iter().map(|v| v.0).collect::<Vec<_>>() },
            "circlekeeper": { "median": median(&ck).map(|m| m.0), "runs": ck.iter().map(|v| v.0).collect::<Vec<_>>() },
            "ratio": ratio,
        }));
    }
    println!();
    println!(
        "ratio: circlekeeper / bare. circlekeeper: durable acks on, rate limits raised; \
         commands raise_hand / lower_hand. bare: one JSON text frame of the same size, echoed \
         to every member. Every message checked: none lost."
    );
    let floor = crate::disk::measure(if o.smoke { 50 } else { 2000 }, FLOOR_BUDGET)?;
    println!("{}", floor.line());
    println!();
    let out = json!({
        "machine": { "cores": cores, "memory_kib": mem_kib, "cpu": cpu, "line": common::machine_line() },
        "rooms": o.rooms,
        "participants_per_room": o.participants,
        "repeat": o.repeat,
        "secs": o.secs,
        "burst_secs": o.burst_secs,
        "window": crate::compare::WINDOW,
        "cluster": o.cluster,
        "table": rows,
        "disk_flush_floor": floor.json(),
        "runs": runs.iter().map(run_json).collect::<Vec<Value>>(),
    });
    let dir = crate::report::target_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!(
        "load-{}compare{}.json",
        if o.smoke { "smoke-" } else { "" },
        if o.cluster > 0 { "-cluster" } else { "" }
    ));
    std::fs::write(&path, serde_json::to_string_pretty(&out)?)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn run_json(r: &Run) -> Value {
    json!({
        "server": r.kind.name(),
        "scenario": r.scenario.name(),
        "connections": r.connections,
        "run_secs": r.run_secs,
        "offered": r.offered,
        "sent": r.sent,
        "delivered": r.delivered,
        "events": r.events,
        "delivery_p50_us": r.p50_us,
        "delivery_p99_us": r.p99_us,
        "ack_p99_us": r.ack_p99_us,
        "server_cpu_cores_busy": r.cpu,
        "server_cpu_us_per_command": r.cpu_per_command_us(),
        "server_cpu_cores_busy_by_thread": r.cpu_threads.map(|t| {
            crate::sys::named(t)
                .map(|(g, c)| (g.to_string(), json!(c)))
                .collect::<serde_json::Map<String, Value>>()
        }),
        "postgres_haproxy_cpu_cores_busy": r.cluster_cpu,
        "load_generator_cpu_cores_busy": r.client_cpu,
        "rss_bytes_per_participant_idle": r.idle_per_participant,
        "rss_bytes_per_participant_end": r.end_per_participant,
        "rss_bytes_per_empty_room": r.per_empty_room,
        "losses": r.losses.iter().map(|(w, n)| json!({"what": w, "count": n})).collect::<Vec<_>>(),
    })
}
