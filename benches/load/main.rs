//! End-to-end load bench: how many concurrent circles one machine holds, and how fast.
//!
//! `cargo bench --bench load` starts the real server — `AppState` over a `SledStore` in a
//! fresh temporary directory, durable acknowledgements on (an ack only after sled's flush and
//! `fdatasync`), rate limits raised out of the way — in a **child process** of its own,
//! listening on several ports of 127.0.0.1 (`--listeners`), so that the server and the load
//! generator each have their own file-descriptor limit (20,000 here) and the server's memory and
//! CPU can be read apart from the clients'. Or it loads an external server (`--server ADDR`).
//! Connections come from several loopback source addresses (`--sources`: 127.0.0.1, .2, …),
//! each with its own ephemeral port range. Each scenario gets a fresh server.
//!
//! Every room is opened over HTTP and hosted by a facilitator; P − 1 members join with the join
//! key and accept the ground rules. Then, in every room, a **scripted circle** with compressed
//! timeboxes (see [`scenario::CIRCLE_BODY`]): a check-in round in which speakers finish or pass,
//! with 1.5-second speaker timers that warn and expire; an open floor with raised hands, the
//! floor given and taken back, a prompt pushed, the timekeeper role rotated, the stage timer
//! extended and expiring; back to the round; and every 25th step a member's connection drops
//! and comes back with `resume`. The presets:
//!
//! - **steady**: every room takes a step every `--interval-ms` (2 s);
//! - **burst**: every member of every room raises and lowers a hand as fast as its acks come
//!   back, for `--burst-secs`;
//! - **join_storm**: every member joins within `--join-window` seconds (evenly spread, all
//!   at once), as at the top of the hour before a monthly swap; then the circle runs briefly;
//! - **reconnect_storm**: the circle runs; a third of the run in, a third of all connections
//!   drop at the same instant (no close frame, as when a network fails) and each resumes after
//!   the protocol's random first delay for such a drop (0.5–1.5 s, `connecting.md`,
//!   Reconnecting), as real clients do; its resume latency is from its own connect;
//! - **swap**: the circle runs in every room while one 60-person coaching swap (built-in
//!   `coaching_swap`) pairs everyone, then every coach ends the half and every member confirms
//!   the switch at once;
//! - **soak**: for `--soak-secs`, rooms open in waves (a third of `--rooms` every third of
//!   `--room-secs`), run the circle with its drops and resumes, end their session and close,
//!   while the server's memory and open files are sampled every 5 s: both must come back to
//!   where they started once everyone has left.
//!
//! Measured, from HDR histograms (p50, p99, p99.9, max): join latency (TCP connect → welcome);
//! resume latency (connect → `resumed`); command → ack at the sender; command → its last event
//! read by the last connection of the room (an ack names the seq of the command's last event);
//! timer lateness (when a `timer_expired` reached each client, against the timer's `ends_at`).
//! Also: events delivered per second (event frames read by all clients), durable acknowledged
//! commands per second, the server's resident memory per connected participant (what connecting
//! everyone added, read from `/proc/<pid>`), its open files and CPU, and the machine.
//!
//! **Several nodes** (`--cluster 3`): instead of its own server, the bench starts PostgreSQL 15,
//! three circlekeeper nodes on it and HAProxy with the shipped `deploy/haproxy.cfg` in front,
//! and runs the scenarios through the proxy; the server's memory and CPU are then the three
//! nodes' together, and HAProxy's and PostgreSQL's (its backends included) are shown beside
//! them (see `cluster.rs`). Every websocket the bench opens is `/ws?v=1&room=ID`, so that the
//! proxy sends it to its room's node. One more preset runs only there:
//!
//! - **failover**: every room runs the circle while, `--kills` times, one node (round robin)
//!   is killed with `kill -9`: measured, kill → every client of its rooms resumed with exactly
//!   the events it missed (the clients reconnect as the protocol says, with its random delays,
//!   and send an unanswered command again with its id); then the node is restarted with the
//!   same id and port and its rooms move back (see `failover.rs`).
//!
//! Every connection checks that it reads every event of its room exactly once and in order — also
//! across a drop and a `resume`, whose replayed events must follow on exactly. A run fails if a
//! command was refused, an acknowledged command did not reach every member, an event was missed
//! or seen twice, a resume was answered with a snapshot, or the server closed a connection.
//!
//! **Comparison** (`--compare`, or `--target bare|circlekeeper|both`; see `compare.rs`): the
//! same generator drives a bare axum broadcast server (`bare.rs`: no state beyond room
//! membership, no validation, no durability, the real server's websocket settings, allocator
//! and runtime; started like the bench's own server, as this binary with `LOAD_CHILD=bare`) and
//! circlekeeper (one node, or three behind HAProxy with `--cluster 3`) with the same traffic,
//! alternating bare, circlekeeper, bare, … `--repeat` times on fresh servers, and prints one
//! table — scenario | figure | bare | circlekeeper | ratio, the medians with every run beside
//! them — and `target/load-compare.json` (`load-compare-cluster.json` with a cluster). Its
//! scenarios (`--scenario`, default all): **steady_1** and **steady_10** (1 or 10 commands/s
//! per room), **burst_16** (16 commands in flight per room). Defaults there: 1,000 rooms × 8,
//! `--secs` 20, `--burst-secs` 10, `--repeat` 3. For example:
//!
//! ```text
//! cargo bench --bench load -- --compare                      # 1,000 rooms × 8, medians of 3
//! cargo bench --bench load -- --compare --rooms 50 --repeat 1 --secs 5 --burst-secs 3
//! cargo bench --bench load -- --compare --cluster 3          # bare vs three nodes
//! cargo bench --bench load -- --target circlekeeper --scenario burst_16
//! cargo bench --bench load -- --scenario reconnect_storm     # or join_storm
//! ```
//!
//! Options, as `--name value` after `--`, or as environment variables:
//!
//! | option           | env                 | default      | meaning                                |
//! |------------------|---------------------|--------------|----------------------------------------|
//! | `--scenario`     | `LOAD_SCENARIO`     | all          | steady, burst, join_storm, reconnect_storm, swap, a comma list, or all (comparison: steady_1, steady_10, burst_16) |
//! | `--rooms`        | `LOAD_ROOMS`        | 2250         | rooms R (comparison: 1000)             |
//! | `--participants` | `LOAD_PARTICIPANTS` | 8            | participants per room P (host included)|
//! | `--secs`         | `LOAD_SECS`         | 60           | run length (steady, reconnect, swap; comparison: 20) |
//! | `--interval-ms`  | `LOAD_INTERVAL_MS`  | 2000         | ms between a room's steps              |
//! | `--burst-secs`   | `LOAD_BURST_SECS`   | 10           | burst length                           |
//! | `--join-window`  | `LOAD_JOIN_WINDOW`  | 10           | join storm: seconds over which all join|
//! | `--swap-people`  | `LOAD_SWAP_PEOPLE`  | 60           | the coaching swap's size (≤ 64)        |
//! | `--soak-secs`    | `LOAD_SOAK_SECS`    | 240          | soak length                            |
//! | `--room-secs`    | `LOAD_ROOM_SECS`    | 30           | soak: how long each room lives         |
//! | `--listeners`    | `LOAD_LISTENERS`    | 4            | ports the server listens on            |
//! | `--sources`      | `LOAD_SOURCES`      | 4            | loopback source addresses              |
//! | `--server`       | `LOAD_SERVER`       | (start one)  | external server `host:port[,host:port]`|
//! | `--server-pid`   | `LOAD_SERVER_PID`   | —            | its pid, to read its memory and CPU    |
//! | `--cluster`      | `LOAD_CLUSTER`      | 0 (one node) | 3: PostgreSQL, three nodes, HAProxy    |
//! | `--kills`        | `LOAD_KILLS`        | 5            | failover: nodes killed, one at a time  |
//! | `--lease-secs`   | `LOAD_LEASE_SECS`   | 6            | the nodes' `--lease-secs`              |
//! | `--check-inter`  | `LOAD_CHECK_INTER`  | 2s           | HAProxy's `CK_CHECK_INTER`             |
//! | `--node-bin`     | `LOAD_NODE_BIN`     | (this bench) | a `circlekeeper` binary to run as nodes|
//! | `--pg-fsync`     | `LOAD_PG_FSYNC`     | on           | PostgreSQL's `fsync` (on: durable)     |
//! | `--compare`      | `LOAD_COMPARE=1`    | off          | the comparison: bare and circlekeeper  |
//! | `--target`       | `LOAD_TARGET`       | both         | comparison: bare, circlekeeper or both |
//! | `--repeat`       | `LOAD_REPEAT`       | 3            | comparison: runs per scenario and server |
//!
//! `LOAD_TRACE=1` prints every scripted step (room, step, connection, command) to stderr.
//!
//! An external server must allow the load: raise its rate limits, and its limits on
//! connections and rooms per address, or the bench's commands are refused.
//!
//! The default is the full preset (2,250 rooms × 8 = 18,000 connections, about ten minutes for
//! all five scenarios on two cores). A progress bar goes to stderr every second, the tables to
//! stdout, and each scenario's figures to `target/load-<scenario>.json`
//! (`target/load-smoke-<scenario>.json` for the smoke run).
//!
//! Under `cargo test` (cargo passes no `--bench` flag) the same code runs as a **smoke test**: 4
//! rooms × 4 participants (and a swap of 10), a few seconds per scenario, then a tiny
//! comparison (3 rooms × 4, both servers, each comparison scenario once for a second;
//! `LOAD_COMPARE=0` skips it), asserting only that every scenario completed with every message
//! delivered — never a timing. It needs no
//! PostgreSQL; with `LOAD_CLUSTER=3` it runs on the cluster instead (steady, burst and one
//! failover by default), and skips with a message when PostgreSQL or HAProxy is missing and
//! `CI` is not set.
//!
//! Every loop is bounded in count and time, all traffic stays on 127.0.0.1 (unless `--server`
//! names another address), and the server process is stopped (killed, if it will not stop)
//! before the bench returns; a cluster's nodes and proxy are killed, and its PostgreSQL
//! stopped, however the bench ends.

mod bare;
mod client;
mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod compare;
mod compare_report;
mod disk;
mod duo;
mod failover;
#[path = "../../tests/common/postgres.rs"]
mod postgres;
mod report;
mod resume;
mod scenario;
mod servers;
mod soak;
mod sys;
mod track;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use tokio::sync::oneshot;

use client::{lock, Metrics, Target};
use scenario::Scenario;
use servers::ServerProc;
pub use servers::RETENTION_MS;
use sys::Proc;

// ----- options ------------------------------------------------------------------------------

/// The bench's options.
#[derive(Debug, Clone)]
pub struct Opts {
    scenario: String,
    rooms: usize,
    participants: usize,
    secs: f64,
    interval_ms: u64,
    burst_secs: f64,
    join_window: f64,
    swap_people: usize,
    soak_secs: f64,
    room_secs: f64,
    listeners: usize,
    sources: usize,
    server: Option<String>,
    server_pid: Option<u32>,
    cluster: usize,
    kills: usize,
    lease_secs: u64,
    check_inter: String,
    node_bin: Option<String>,
    pg_fsync: bool,
    smoke: bool,
    /// The comparison mode (`--compare`, or `--target`): the servers it drives, in the order
    /// they alternate; empty otherwise.
    targets: Vec<duo::Kind>,
    /// The comparison: runs of each scenario on each server.
    repeat: usize,
}

/// The comparison mode's servers: `--target bare|circlekeeper|both` (`LOAD_TARGET`), or both
/// with `--compare` (`LOAD_COMPARE=1`); none (the scenarios of the load bench) otherwise.
fn compare_targets() -> anyhow::Result<Vec<duo::Kind>> {
    let flag = std::env::args().any(|a| a == "--compare")
        || std::env::var("LOAD_COMPARE").is_ok_and(|v| v == "1");
    let both = vec![duo::Kind::Bare, duo::Kind::Ck];
    match raw_opt("target", "LOAD_TARGET").as_deref() {
        None if flag => Ok(both),
        None => Ok(Vec::new()),
        Some("both") => Ok(both),
        Some("bare") => Ok(vec![duo::Kind::Bare]),
        Some("circlekeeper" | "ck") => Ok(vec![duo::Kind::Ck]),
        Some(other) => bail!("--target: bare, circlekeeper or both, not {other:?}"),
    }
}

/// `--name value` from the arguments, else the environment variable, else `None`.
fn raw_opt(name: &str, env: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let flag = format!("--{name}");
    args.iter()
        .position(|a| *a == flag)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var(env).ok())
}

fn num_opt<T: std::str::FromStr>(name: &str, env: &str, default: T) -> anyhow::Result<T> {
    match raw_opt(name, env) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("--{name} / {env}: cannot read {v:?}")),
    }
}

impl Opts {
    /// The options; `smoke` picks the small defaults of the `cargo test` run.
    fn read(smoke: bool) -> anyhow::Result<Opts> {
        let targets = compare_targets()?;
        let compare = !targets.is_empty();
        let pick = |full: f64, small: f64| match (smoke, compare) {
            (true, _) => small,
            // The comparison runs each scenario 2 × `--repeat` times: shorter runs.
            (false, true) => full.min(20.0),
            (false, false) => full,
        };
        let o = Opts {
            scenario: raw_opt("scenario", "LOAD_SCENARIO").unwrap_or_else(|| "all".into()),
            rooms: num_opt(
                "rooms",
                "LOAD_ROOMS",
                match (smoke, compare) {
                    (true, _) => 4,
                    (false, true) => 1000,
                    (false, false) => 2250,
                },
            )?,
            participants: num_opt(
                "participants",
                "LOAD_PARTICIPANTS",
                if smoke { 4 } else { 8 },
            )?,
            secs: num_opt("secs", "LOAD_SECS", pick(60.0, 3.0))?,
            interval_ms: num_opt(
                "interval-ms",
                "LOAD_INTERVAL_MS",
                if smoke { 60 } else { 2000 },
            )?,
            burst_secs: num_opt("burst-secs", "LOAD_BURST_SECS", pick(10.0, 1.0))?,
            join_window: num_opt("join-window", "LOAD_JOIN_WINDOW", pick(10.0, 1.0))?,
            swap_people: num_opt(
                "swap-people",
                "LOAD_SWAP_PEOPLE",
                if smoke { 10 } else { scenario::SWAP_PEOPLE },
            )?,
            soak_secs: num_opt("soak-secs", "LOAD_SOAK_SECS", pick(240.0, 4.0))?,
            room_secs: num_opt("room-secs", "LOAD_ROOM_SECS", pick(30.0, 1.5))?,
            listeners: num_opt("listeners", "LOAD_LISTENERS", if smoke { 2 } else { 4 })?,
            sources: num_opt("sources", "LOAD_SOURCES", if smoke { 2 } else { 4 })?,
            server: raw_opt("server", "LOAD_SERVER"),
            server_pid: raw_opt("server-pid", "LOAD_SERVER_PID")
                .map(|p| p.parse())
                .transpose()
                .context("--server-pid: a process id")?,
            cluster: num_opt("cluster", "LOAD_CLUSTER", 0)?,
            kills: num_opt("kills", "LOAD_KILLS", if smoke { 1 } else { 5 })?,
            lease_secs: num_opt("lease-secs", "LOAD_LEASE_SECS", 6)?,
            check_inter: raw_opt("check-inter", "LOAD_CHECK_INTER").unwrap_or_else(|| "2s".into()),
            node_bin: raw_opt("node-bin", "LOAD_NODE_BIN"),
            pg_fsync: raw_opt("pg-fsync", "LOAD_PG_FSYNC").is_none_or(|v| v != "off"),
            smoke,
            targets,
            repeat: num_opt("repeat", "LOAD_REPEAT", if smoke { 1 } else { 3 })?,
        };
        ensure!((1..=100).contains(&o.repeat), "repeat: 1 to 100");
        ensure!(
            o.cluster == 0 || o.cluster == 3,
            "cluster: 0 (one node) or 3 (the shipped haproxy.cfg names three)"
        );
        ensure!(
            o.cluster == 0 || o.server.is_none(),
            "--cluster and --server exclude each other"
        );
        ensure!((1..=100).contains(&o.kills), "kills: 1 to 100");
        ensure!((1..=300).contains(&o.lease_secs), "lease-secs: 1 to 300");
        ensure!((1..=100_000).contains(&o.rooms), "rooms: 1 to 100000");
        ensure!(
            (2..=64).contains(&o.participants),
            "participants: 2 to 64 (a host and at least one member)"
        );
        ensure!((4..=64).contains(&o.swap_people), "swap-people: 4 to 64");
        ensure!((1..=64).contains(&o.listeners), "listeners: 1 to 64");
        ensure!((1..=250).contains(&o.sources), "sources: 1 to 250");
        for (name, v) in [
            ("secs", o.secs),
            ("burst-secs", o.burst_secs),
            ("join-window", o.join_window),
            ("soak-secs", o.soak_secs),
            ("room-secs", o.room_secs),
        ] {
            ensure!(
                v.is_finite() && (0.5..=3600.0).contains(&v),
                "{name}: 0.5 to 3600"
            );
        }
        ensure!(
            (10..=600_000).contains(&o.interval_ms),
            "interval-ms: 10 to 600000"
        );
        Ok(o)
    }

    fn scenarios(&self) -> anyhow::Result<Vec<Scenario>> {
        let list: Vec<Scenario> = if self.scenario == "all" {
            if self.cluster > 0 && self.smoke {
                vec![Scenario::Steady, Scenario::Burst, Scenario::Failover]
            } else if self.cluster > 0 {
                let mut all: Vec<Scenario> = Scenario::ALL
                    .into_iter()
                    .filter(|s| *s != Scenario::Soak)
                    .collect();
                all.push(Scenario::Failover);
                all
            } else {
                Scenario::ALL.to_vec()
            }
        } else {
            self.scenario
                .split(',')
                .map(|s| {
                    Scenario::parse(s.trim()).with_context(|| format!("unknown scenario {s:?}"))
                })
                .collect::<anyhow::Result<_>>()?
        };
        for s in &list {
            ensure!(
                *s != Scenario::Failover || self.cluster > 0,
                "the failover scenario needs a cluster (--cluster 3)"
            );
            ensure!(
                *s != Scenario::Soak || self.cluster == 0,
                "the soak reads one server's room count: run it without --cluster"
            );
        }
        Ok(list)
    }

    fn cluster_opts(&self) -> cluster::ClusterOpts {
        cluster::ClusterOpts {
            lease_secs: self.lease_secs,
            check_inter: self.check_inter.clone(),
            node_bin: self.node_bin.as_ref().map(Into::into),
            pg_fsync: self.pg_fsync,
        }
    }
}

// ----- progress -----------------------------------------------------------------------------

/// A progress bar on stderr every second until `stop` fires (bounded to four hours).
fn progress(
    name: &'static str,
    expected: usize,
    metrics: Arc<Metrics>,
    server: Option<Proc>,
    mut stop: oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let (mut last_events, mut last_acks) = (0, 0);
        for _ in 0..4 * 3600 {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            let connected = Metrics::get(&metrics.connected);
            let run = *lock(&metrics.run);
            let (phase, done) = match run {
                Some((at, len)) => (
                    "run",
                    at.elapsed().as_secs_f64() / len.as_secs_f64().max(1e-9),
                ),
                None => ("setup", connected as f64 / expected.max(1) as f64),
            };
            let width = 24;
            let filled = ((done.clamp(0.0, 1.0)) * width as f64) as usize;
            let events = Metrics::get(&metrics.events_all);
            let acks = Metrics::get(&metrics.acks);
            eprintln!(
                "[{name:<15} {phase:<5} {}{}] {:>5.1} s  {connected} connected  {} acks/s  \
                 {} events/s  {} errors{}",
                "#".repeat(filled),
                ".".repeat(width - filled),
                started.elapsed().as_secs_f64(),
                acks - last_acks,
                events - last_events,
                Metrics::get(&metrics.errors),
                server
                    .as_ref()
                    .map(|s| format!("  server RSS {} MiB", s.sample().rss_kib / 1024))
                    .unwrap_or_default(),
            );
            (last_events, last_acks) = (events, acks);
        }
    })
}

// ----- main ---------------------------------------------------------------------------------

fn main() -> anyhow::Result<()> {
    match std::env::var("LOAD_CHILD").as_deref() {
        Ok("server") => return servers::server_child(),
        Ok("node") => return servers::node_child(),
        Ok("bare") => return bare::child(),
        _ => {}
    }
    // `cargo bench` passes `--bench`; `cargo test` runs this as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let o = Opts::read(smoke)?;
    if !o.targets.is_empty() {
        println!(
            "load comparison{} — {} — {}",
            if smoke { " (smoke run)" } else { "" },
            common::machine_line(),
            if o.cluster > 0 {
                format!(
                    "circlekeeper: {} nodes on PostgreSQL (fsync {}) behind HAProxy; the bare \
                     server: one process",
                    o.cluster,
                    if o.pg_fsync { "on" } else { "off" }
                )
            } else {
                "each server in its own process, durable acks on".to_string()
            }
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        compare::main(&o, &rt)?;
        rt.shutdown_timeout(Duration::from_secs(2));
        return Ok(());
    }
    let scenarios = o.scenarios()?;
    println!(
        "load bench{} — {} — {}, durable acks on",
        if smoke { " (smoke run)" } else { "" },
        common::machine_line(),
        if o.cluster > 0 {
            format!(
                "{} nodes on PostgreSQL (fsync {}) behind HAProxy, each in its own process, \
                 lease {} s",
                o.cluster,
                if o.pg_fsync { "on" } else { "off" },
                o.lease_secs
            )
        } else {
            "server in its own process".to_string()
        }
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for sc in scenarios {
        let mut cluster = None;
        let (server, addrs, proc, others) = match &o.server {
            Some(list) => {
                let addrs = list
                    .split(',')
                    .map(|a| a.trim().parse())
                    .collect::<Result<Vec<SocketAddr>, _>>()
                    .context("--server: host:port[,host:port…]")?;
                (None, addrs, o.server_pid.map(Proc::pid), Vec::new())
            }
            None if o.cluster > 0 => {
                let Some(c) = rt.block_on(cluster::Cluster::start(&o.cluster_opts(), o.cluster))?
                else {
                    // Printed why; only without CI.
                    return Ok(());
                };
                let nodes = Proc::pids(&c.node_pids());
                let mut others = vec![("PostgreSQL".to_string(), Proc::tree(c.postgres_pid()))];
                if let Some(pid) = c.haproxy_pid() {
                    others.push(("HAProxy".to_string(), Proc::pid(pid)));
                }
                let addrs = vec![c.proxy];
                cluster = Some(c);
                (None, addrs, Some(nodes), others)
            }
            None => {
                let s = ServerProc::start(o.listeners)?;
                let (addrs, pid) = (s.addrs.clone(), s.pid);
                (Some(s), addrs, Some(Proc::pid(pid)), Vec::new())
            }
        };
        let target = Target {
            addrs,
            sources: o.sources,
        };
        let metrics = Arc::new(Metrics::new());
        let expected = o.rooms * o.participants
            + if sc == Scenario::Swap {
                o.swap_people
            } else {
                0
            };
        let budget = Duration::from_secs_f64(
            o.secs + o.burst_secs + o.join_window + 600.0 + 300.0 * o.kills as f64,
        );
        let figures = rt.block_on(async {
            let (stop_bar, bar_rx) = oneshot::channel();
            let bar = progress(
                sc.name(),
                expected,
                Arc::clone(&metrics),
                proc.clone(),
                bar_rx,
            );
            let work = async {
                match (sc, cluster.as_mut()) {
                    (Scenario::Failover, Some(c)) => failover::run(&o, c, &target, &metrics).await,
                    (_, c) => {
                        let r =
                            scenario::run(sc, &o, &target, proc.as_ref(), &others, &metrics).await;
                        if let (Ok(_), Some(c)) = (&r, c) {
                            let owners = c.room_owners().await?;
                            println!(
                                "rooms held by each node (leases): {:?}",
                                failover::per_node(&owners)
                            );
                        }
                        r
                    }
                }
            };
            let r = tokio::time::timeout(budget, work)
                .await
                .context("the scenario did not finish in time")
                .and_then(|r| r);
            let _ = stop_bar.send(());
            let _ = bar.await;
            r
        });
        if let Some(s) = server {
            s.stop()?;
        }
        if let Some(c) = &cluster {
            let logs = report::target_dir().join(format!("load-cluster-logs-{}", sc.name()));
            match c.save_logs(&logs) {
                Ok(()) => eprintln!("the cluster's logs are in {}", logs.display()),
                Err(e) => eprintln!("could not save the cluster's logs: {e:#}"),
            }
            let problems = c.log_problems(8);
            if !problems.is_empty() {
                println!("warnings and errors in the nodes' logs (last ones):");
                for p in problems {
                    println!("    {p}");
                }
            }
        }
        drop(cluster);
        let figures = figures.with_context(|| format!("scenario {}", sc.name()))?;
        let v = report::print_and_save(&figures, &o, &metrics)?;
        let lost: Vec<String> = report::losses(&figures, &metrics)
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(w, n)| format!("{n} {w}"))
            .collect();
        ensure!(
            lost.is_empty(),
            "{}: not every message arrived: {}",
            sc.name(),
            lost.join("; ")
        );
        ensure!(
            figures.acks > 0 && figures.events > 0,
            "{}: nothing was measured",
            sc.name()
        );
        if o.smoke {
            ensure!(
                metrics.connected.load(Ordering::Relaxed) == 0,
                "connections left open"
            );
        }
        results.push(v);
    }
    report::summary(&results);
    if o.smoke && o.cluster == 0 && std::env::var("LOAD_COMPARE").as_deref() != Ok("0") {
        // A tiny comparison, so that the bare server and the comparison mode cannot rot: both
        // servers, every comparison scenario once, every message checked.
        let tiny = Opts {
            scenario: "all".into(),
            rooms: 3,
            secs: 1.0,
            burst_secs: 1.0,
            targets: vec![duo::Kind::Bare, duo::Kind::Ck],
            repeat: 1,
            ..o.clone()
        };
        compare::main(&tiny, &rt)?;
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}
