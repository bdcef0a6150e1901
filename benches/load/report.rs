//! What a scenario measured: the table a reader compares, the JSON under `target/`, the
//! checks that every message arrived, and the one-line-per-scenario summary.

use std::path::PathBuf;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::client::{lock, Metrics};
use crate::common;
use crate::scenario::{busy, Scenario, SwapFigures};
use crate::soak::SoakFigures;
use crate::sys::Sample;
use crate::Opts;

/// What one scenario measured besides the shared metrics.
pub struct Figures {
    pub scenario: Scenario,
    pub connections: usize,
    pub setup: Duration,
    pub join_phase: Duration,
    pub run: Duration,
    pub acks: u64,
    pub events: u64,
    pub undelivered: usize,
    /// The server before any connection, after all joined, and around the run.
    pub server_base: Option<Sample>,
    pub server_connected: Option<Sample>,
    pub server: Option<(Sample, Sample)>,
    /// The load generator around the run.
    pub client: (Sample, Sample),
    /// Other processes around the run (a cluster's HAProxy and PostgreSQL): name, before,
    /// after.
    pub others: Vec<(String, Sample, Sample)>,
    pub swap: Option<SwapFigures>,
    pub soak: Option<SoakFigures>,
    pub failover: Option<crate::failover::FailoverFigures>,
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

fn hist_json(h: &Histogram<u64>) -> Value {
    json!({
        "count": h.len(),
        "p50_us": h.value_at_quantile(0.50),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
        "mean_us": h.mean(),
    })
}

/// Everything that shows a message went missing, as (what, how many); all must be zero.
pub fn losses(f: &Figures, m: &Metrics) -> Vec<(&'static str, u64)> {
    vec![
        (
            "acknowledged commands not delivered to every member",
            f.undelivered as u64,
        ),
        ("events a connection never saw", Metrics::get(&m.gaps)),
        (
            "events seen twice or out of order",
            Metrics::get(&m.duplicates),
        ),
        ("commands refused", Metrics::get(&m.errors)),
        ("unreadable frames", Metrics::get(&m.unreadable)),
        (
            "connections the server closed",
            Metrics::get(&m.closed_early),
        ),
        (
            "resumes answered with a snapshot",
            Metrics::get(&m.snapshots),
        ),
        (
            "rooms left after their retention (soak)",
            f.soak.as_ref().map_or(0, |s| s.rooms_left),
        ),
        (
            "rooms whose circle failed (failover)",
            f.failover
                .as_ref()
                .map_or(0, |x| x.rooms_failed.len() as u64),
        ),
        (
            "failovers that did not complete",
            f.failover
                .as_ref()
                .map_or(0, |x| u64::from(x.aborted.is_some())),
        ),
    ]
}

/// Server resident memory per connected participant, bytes: what connecting everyone added.
fn per_participant(f: &Figures) -> Option<f64> {
    let (base, connected) = (f.server_base?, f.server_connected?);
    Some(connected.rss_kib.saturating_sub(base.rss_kib) as f64 * 1024.0 / f.connections as f64)
}

/// Print the table and write `target/load-<scenario>.json`; returns the JSON.
pub fn print_and_save(f: &Figures, o: &Opts, m: &Metrics) -> anyhow::Result<Value> {
    let join = lock(&m.join).clone();
    let resume = lock(&m.resume).clone();
    let resume_handshake = lock(&m.resume_handshake).clone();
    let ack = lock(&m.ack).clone();
    let delivery = lock(&m.delivery).clone();
    let swap_delivery = lock(&m.swap).clone();
    let timer = lock(&m.timer_late).clone();
    let run_s = f.run.as_secs_f64().max(1e-9);
    let events_per_s = f.events as f64 / run_s;
    let acks_per_s = f.acks as f64 / run_s;
    let per = per_participant(f);
    let server_busy = f.server.as_ref().map(busy);
    let client_busy = busy(&f.client);
    let (cores, mem_kib, cpu) = common::machine();

    println!();
    println!(
        "### load: {}{} — {} connections ({} rooms × {}{}) — {}",
        f.scenario.name(),
        if o.cluster > 0 {
            format!(" — {} nodes on PostgreSQL through HAProxy", o.cluster)
        } else {
            " — one node (sled)".to_string()
        },
        f.connections,
        o.rooms,
        o.participants,
        if f.swap.is_some() {
            format!(" + one coaching swap of {}", o.swap_people)
        } else {
            String::new()
        },
        common::machine_line()
    );
    println!();
    println!("| latency | count | p50 | p99 | p99.9 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, h) in [
        ("join (connect → welcome)", &join),
        ("resume (connect → resumed)", &resume),
        ("of which TCP + websocket handshake", &resume_handshake),
        ("command → ack", &ack),
        ("command → last member", &delivery),
        ("swap: command → last of the swap", &swap_delivery),
        ("timer expiry → client (lateness)", &timer),
    ] {
        if h.is_empty() {
            continue;
        }
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            h.len(),
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.99)),
            ms(h.value_at_quantile(0.999)),
            ms(h.max())
        );
    }
    println!();
    println!("| figure | value |");
    println!("|---|---:|");
    println!("| connections held | {} |", f.connections);
    println!(
        "| rooms opened and hosted in | {:.2} s |",
        f.setup.as_secs_f64()
    );
    println!(
        "| members joined in | {:.2} s |",
        f.join_phase.as_secs_f64()
    );
    println!("| measured run | {run_s:.2} s |");
    println!("| durable acknowledged commands/s | {acks_per_s:.0} |");
    println!("| events delivered/s | {events_per_s:.0} |");
    println!(
        "| resumes: replayed exactly / events replayed | {} / {} |",
        Metrics::get(&m.resumed),
        Metrics::get(&m.replayed)
    );
    if let Some(s) = &f.swap {
        println!(
            "| swap: propose → pairs stage ({} groups) | {:.1} ms |",
            s.groups,
            s.pairing.as_secs_f64() * 1000.0
        );
        println!(
            "| swap: every group switches at once, all delivered | {:.1} ms |",
            s.switch_all.as_secs_f64() * 1000.0
        );
    }
    if let Some(s) = &f.soak {
        println!("| soak: rooms opened, run and ended | {} |", s.rooms);
        println!(
            "| soak: rooms left once their retention passed ({:.1} s after the last ended) | {} |",
            s.retention_wait.as_secs_f64(),
            s.rooms_left
        );
        if let (Some(b), Some(a)) = (f.server_base, s.after) {
            println!(
                "| soak: server RSS started → peak → after everyone left | {} → {} → {} MiB |",
                b.rss_kib / 1024,
                f.server_connected.map_or(0, |c| c.rss_kib / 1024),
                a.rss_kib / 1024
            );
            println!(
                "| soak: server open files started → after everyone left | {} → {} |",
                b.fds, a.fds
            );
        }
    }
    match (f.server_base, f.server_connected, per) {
        (Some(b), Some(c), Some(p)) => {
            println!(
                "| server RSS: started → all connected | {} → {} MiB |",
                b.rss_kib / 1024,
                c.rss_kib / 1024
            );
            println!(
                "| server RSS per connected participant | {:.1} KiB |",
                p / 1024.0
            );
            if let Some((_, end)) = f.server {
                println!(
                    "| server RSS per participant at the end of the run | {:.1} KiB |",
                    end.rss_kib.saturating_sub(b.rss_kib) as f64 / f.connections as f64
                );
            }
            println!("| server open files, all connected | {} |", c.fds);
        }
        _ => println!("| server memory | not measured (external server) |"),
    }
    if let Some(b) = server_busy {
        println!(
            "| server CPU during run{} | {:.0} % of one core |",
            if o.cluster > 0 {
                " (the nodes together)"
            } else {
                ""
            },
            b * 100.0
        );
    }
    for (name, before, after) in &f.others {
        println!(
            "| {name} CPU during run; RSS at the end | {:.0} % of one core; {} MiB |",
            busy(&(*before, *after)) * 100.0,
            after.rss_kib / 1024
        );
    }
    println!(
        "| load generator CPU during run | {:.0} % of one core |",
        client_busy * 100.0
    );
    let lost = losses(f, m);
    let total_lost: u64 = lost.iter().map(|(_, n)| n).sum();
    println!(
        "| messages lost, duplicated or refused | {} |",
        if total_lost == 0 {
            "none".to_string()
        } else {
            lost.iter()
                .filter(|(_, n)| *n > 0)
                .map(|(w, n)| format!("{n} {w}"))
                .collect::<Vec<_>>()
                .join("; ")
        }
    );
    println!();

    let mut out = json!({
        "scenario": f.scenario.name(),
        "machine": { "cores": cores, "memory_kib": mem_kib, "cpu": cpu },
        "rooms": o.rooms,
        "participants_per_room": o.participants,
        "connections": f.connections,
        "options": {
            "secs": o.secs, "interval_ms": o.interval_ms, "burst_secs": o.burst_secs,
            "join_window_secs": o.join_window, "listeners": o.listeners, "sources": o.sources,
            "swap_people": o.swap_people, "server": o.server,
            "cluster": o.cluster, "lease_secs": o.lease_secs, "check_inter": o.check_inter,
        },
        "setup_secs": f.setup.as_secs_f64(),
        "join_phase_secs": f.join_phase.as_secs_f64(),
        "run_secs": run_s,
        "join_latency": hist_json(&join),
        "resume_latency": hist_json(&resume),
        "resume_handshake_latency": hist_json(&resume_handshake),
        "ack_latency": hist_json(&ack),
        "delivery_to_last_member": hist_json(&delivery),
        "swap_delivery_to_last_member": hist_json(&swap_delivery),
        "timer_lateness": hist_json(&timer),
        "acked_commands": f.acks,
        "acked_commands_per_sec": acks_per_s,
        "events_delivered": f.events,
        "events_delivered_per_sec": events_per_s,
        "resumed": Metrics::get(&m.resumed),
        "replayed": Metrics::get(&m.replayed),
        "swap": f.swap.as_ref().map(|s| json!({
            "groups": s.groups,
            "pairing_ms": s.pairing.as_secs_f64() * 1000.0,
            "switch_all_ms": s.switch_all.as_secs_f64() * 1000.0,
        })),
        "losses": lost.iter().map(|(w, n)| json!({"what": w, "count": n})).collect::<Vec<_>>(),
        "server_rss_kib": f.server_base.zip(f.server_connected).map(|(b, c)| json!({
            "started": b.rss_kib, "connected": c.rss_kib,
            "end": f.server.map(|s| s.1.rss_kib),
        })),
        "server_rss_bytes_per_participant": per,
        "server_rss_bytes_per_participant_at_end": f.server_base.zip(f.server).map(|(b, (_, e))| {
            e.rss_kib.saturating_sub(b.rss_kib) as f64 * 1024.0 / f.connections as f64
        }),
        "server_open_files_connected": f.server_connected.map(|c| c.fds),
        "server_cpu_cores_busy": server_busy,
        "client_cpu_cores_busy": client_busy,
        "others": f.others.iter().map(|(n, b, a)| json!({
            "name": n, "cpu_cores_busy": busy(&(*b, *a)), "rss_kib": a.rss_kib,
        })).collect::<Vec<_>>(),
        "durable_acks": true,
    });
    if let Some(s) = &f.soak {
        out["soak"] = json!({
            "rooms": s.rooms,
            "rooms_left_after_retention": s.rooms_left,
            "after": s.after.map(|a| json!({"rss_kib": a.rss_kib, "open_files": a.fds})),
            "samples": s.samples.iter().map(|(t, x, c)| json!({
                "secs": t, "rss_kib": x.rss_kib, "open_files": x.fds, "connections": c,
            })).collect::<Vec<_>>(),
        });
        println!("| soak: seconds | connections | server RSS MiB | server open files |");
        println!("|---:|---:|---:|---:|");
        for (t, x, c) in &s.samples {
            println!("| {t:.0} | {c} | {} | {} |", x.rss_kib / 1024, x.fds);
        }
        println!();
    }
    if let Some(fo) = &f.failover {
        out["failover"] = crate::failover::print(fo, m);
    }
    let dir = target_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!(
        "load-{}{}{}.json",
        if o.smoke { "smoke-" } else { "" },
        if o.cluster > 0 { "cluster-" } else { "" },
        f.scenario.name()
    ));
    std::fs::write(&path, serde_json::to_string_pretty(&out)?)?;
    eprintln!("wrote {}", path.display());
    Ok(out)
}

/// `target/` (or `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn p99_ms(v: &Value, key: &str) -> String {
    match v[key]["count"].as_u64() {
        Some(n) if n > 0 => format!("{:.1}", v[key]["p99_us"].as_f64().unwrap_or(0.0) / 1000.0),
        _ => "—".into(),
    }
}

/// One line per scenario, for the README's table.
pub fn summary(results: &[Value]) {
    println!();
    println!("### summary — {}", common::machine_line());
    println!();
    println!(
        "| scenario | connections | p99 join ms | p99 resume ms | p99 cmd → last member ms | \
         p99 timer lateness ms | events/s | durable acks/s | server KiB/participant |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for v in results {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.0} | {} |",
            v["scenario"].as_str().unwrap_or("?"),
            v["connections"],
            p99_ms(v, "join_latency"),
            p99_ms(v, "resume_latency"),
            p99_ms(v, "delivery_to_last_member"),
            p99_ms(v, "timer_lateness"),
            v["events_delivered_per_sec"].as_f64().unwrap_or(0.0),
            v["acked_commands_per_sec"].as_f64().unwrap_or(0.0),
            v["server_rss_bytes_per_participant"]
                .as_f64()
                .map_or("—".into(), |b| format!("{:.1}", b / 1024.0)),
        );
    }
    println!();
}
