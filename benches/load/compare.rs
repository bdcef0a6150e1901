//! The comparison mode (`--compare`, or `--target bare|circlekeeper`): the same generator
//! (`duo.rs`) drives the bare broadcast server (`bare.rs`) and circlekeeper (one node, or with
//! `--cluster 3` three nodes through HAProxy) with the same traffic, alternating — for each
//! scenario, bare, circlekeeper, bare, circlekeeper, … `--repeat` times, each run on a fresh
//! server — so that every figure is a ratio taken in one sitting. The table and the JSON are in
//! `compare_report.rs`.
//!
//! The scenarios (rooms × participants as `--rooms` and `--participants`; connection 0 of each
//! room only reads, the others send, round robin; at most [`WINDOW`] commands of a room are in
//! flight, sent and not yet acknowledged):
//!
//! - **steady_1**: every room sends 1 command/s for `--secs`, each room at its own phase;
//! - **steady_10**: the same at 10 commands/s per room;
//! - **burst_16**: every room keeps [`WINDOW`] commands in flight for `--burst-secs`.
//!
//! Measured: command → every other member (p50, p99), command → ack; commands delivered to
//! every other member during the run, of those offered (a tick whose room already has
//! [`WINDOW`] commands in flight sends nothing: the server is saturated); events delivered/s
//! (frames read by all members); the server's CPU over the run (from `/proc/PID/stat`), per
//! command too, and split by thread (`/proc/PID/task`: tokio's runtime threads, the commit
//! thread, sled's IO pool; see `sys::THREAD_GROUPS`); its resident memory per connected
//! participant once everyone is connected and idle, and at the end of the run (what
//! connecting everyone added, divided by participants); and for circlekeeper the memory of an
//! open room nobody has entered (rooms are opened over HTTP before anyone connects: what that
//! added, divided by rooms). After the run the bench waits (bounded) for every command sent to
//! reach every member: a run that lost a message, had a command refused or a connection closed
//! by the server fails.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use futures_util::future::join_all;
use tokio::sync::{Barrier, Semaphore};

use crate::client::{lock, Target, WAIT};
use crate::common;
use crate::duo::{Conn, Kind, Shared, Stats, Track, ROOM_BODY};
use crate::sys::Proc;
use crate::{cluster, Opts, ServerProc};

/// Commands of one room in flight at most (sent, not yet acknowledged or echoed).
pub const WINDOW: usize = 16;
/// Rooms set up at once.
const SETUP_CONCURRENCY: usize = 128;
/// Longest the bench waits after a run for every command sent to reach every member.
const DRAIN: Duration = Duration::from_secs(60);

/// A comparison scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duo {
    /// 1 command/s per room.
    Steady1,
    /// 10 commands/s per room.
    Steady10,
    /// [`WINDOW`] commands in flight per room.
    Burst16,
}

impl Duo {
    /// All, in the order they run.
    pub const ALL: [Duo; 3] = [Duo::Steady1, Duo::Steady10, Duo::Burst16];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Duo::Steady1 => "steady_1",
            Duo::Steady10 => "steady_10",
            Duo::Burst16 => "burst_16",
        }
    }

    fn parse(s: &str) -> Option<Duo> {
        match s.replace('-', "_").as_str() {
            "steady_1" | "steady1" | "steady" => Some(Duo::Steady1),
            "steady_10" | "steady10" => Some(Duo::Steady10),
            "burst_16" | "burst16" | "burst" => Some(Duo::Burst16),
            _ => None,
        }
    }

    /// Commands per second per room (none: as fast as the window allows).
    fn rate(self) -> Option<f64> {
        match self {
            Duo::Steady1 => Some(1.0),
            Duo::Steady10 => Some(10.0),
            Duo::Burst16 => None,
        }
    }
}

/// The scenarios `--scenario` names (all three by default).
pub fn scenarios(o: &Opts) -> anyhow::Result<Vec<Duo>> {
    if o.scenario == "all" {
        return Ok(Duo::ALL.to_vec());
    }
    o.scenario
        .split(',')
        .map(|s| {
            Duo::parse(s.trim()).with_context(|| {
                format!("unknown comparison scenario {s:?}: steady_1, steady_10, burst_16 or all")
            })
        })
        .collect()
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Run {
    pub kind: Kind,
    pub scenario: Duo,
    pub connections: usize,
    pub run_secs: f64,
    pub offered: u64,
    pub sent: u64,
    pub delivered: u64,
    pub events: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub ack_p99_us: u64,
    /// Server CPU over the run, cores busy (the nodes together in a cluster).
    pub cpu: Option<f64>,
    /// Server CPU over the run by thread group (`sys::THREAD_GROUPS`), cores busy.
    pub cpu_threads: Option<[f64; 4]>,
    /// PostgreSQL and HAProxy over the run, cores busy (a cluster only).
    pub cluster_cpu: Option<f64>,
    /// The load generator (this process) over the run, cores busy: near the machine's cores,
    /// the generator, not the server, is the limit.
    pub client_cpu: f64,
    /// Resident memory added per connected participant, bytes: all connected and idle; at
    /// the end of the run.
    pub idle_per_participant: Option<f64>,
    pub end_per_participant: Option<f64>,
    /// circlekeeper: resident memory added per open room nobody entered, bytes.
    pub per_empty_room: Option<f64>,
    /// (what, how many) of every sign of a lost message; all must be zero.
    pub losses: Vec<(&'static str, u64)>,
}

impl Run {
    /// Server CPU time per command delivered to everyone, µs.
    pub fn cpu_per_command_us(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (self.delivered > 0).then(|| cpu * self.run_secs * 1e6 / self.delivered as f64)
    }
}

/// One room under load.
struct DuoRoom {
    conns: Vec<Conn>,
    shared: Shared,
}

/// Set up one room: circlekeeper's host first (it starts the session), then its members.
async fn setup_room(
    target: Target,
    kind: Kind,
    index: usize,
    size: usize,
    created: Option<circlekeeper_protocol::RoomCreated>,
    stats: Arc<Stats>,
) -> anyhow::Result<DuoRoom> {
    let shared = Shared {
        kind,
        track: Arc::new(std::sync::Mutex::new(Track::new(size))),
        stats,
        window: Arc::new(Semaphore::new(WINDOW)),
        closing: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let name = format!("r{index}");
    let room_id = created
        .as_ref()
        .map_or(name.as_str(), |c| c.room_id.as_str());
    let base = index * size;
    let host = Conn::open(&target, base, 0, room_id, created.as_ref(), &shared).await?;
    let members = join_all(
        (1..size).map(|p| Conn::open(&target, base + p, p, room_id, created.as_ref(), &shared)),
    )
    .await;
    let mut conns = vec![host];
    for m in members {
        conns.push(m?);
    }
    Ok(DuoRoom { conns, shared })
}

/// Drive one room until `deadline`: at `rate` commands/s (a tick finding the window full sends
/// nothing), or (no rate) keeping the window full. Returns the room and the ticks offered while
/// measuring.
async fn drive(
    mut room: DuoRoom,
    rate: Option<f64>,
    phase: f64,
    start: Arc<Barrier>,
    deadline: tokio::time::Instant,
) -> anyhow::Result<(DuoRoom, u64)> {
    start.wait().await;
    let senders = room.conns.len() - 1;
    let mut next = 0usize;
    let mut offered = 0u64;
    let first = tokio::time::Instant::now();
    for k in 0..100_000_000u64 {
        match rate {
            Some(r) => {
                let at = first + Duration::from_secs_f64((k as f64 + phase) / r);
                if at >= deadline {
                    break;
                }
                tokio::time::sleep_until(at).await;
                offered += 1;
                let Ok(permit) = room.shared.window.try_acquire() else {
                    continue;
                };
                permit.forget();
            }
            None => {
                let permit = tokio::select! {
                    p = room.shared.window.acquire() => p?,
                    _ = tokio::time::sleep_until(deadline) => break,
                };
                permit.forget();
                offered += 1;
            }
        }
        let who = 1 + next % senders;
        next += 1;
        room.conns[who].send(&room.shared).await?;
    }
    Ok((room, offered))
}

/// Run one scenario against one server.
pub async fn run_one(
    kind: Kind,
    sc: Duo,
    o: &Opts,
    target: &Target,
    server: Option<&Proc>,
    others: Option<&Proc>,
) -> anyhow::Result<Run> {
    let stats = Arc::new(Stats::new());
    let connections = o.rooms * o.participants;
    crate::sys::check_fds(connections)?;
    let base = server.map(Proc::sample);
    // circlekeeper: every room opened over HTTP before anyone connects.
    let mut created = Vec::with_capacity(o.rooms);
    let mut per_empty_room = None;
    if kind == Kind::Ck {
        let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
        let opened = join_all((0..o.rooms).map(|i| {
            let gate = Arc::clone(&gate);
            async move {
                let _p = gate.acquire().await?;
                common::create_room(target.addr(i), ROOM_BODY, WAIT).await
            }
        }))
        .await;
        for c in opened {
            created.push(Some(c?));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        per_empty_room = base
            .zip(server.map(Proc::sample))
            .map(|(b, a)| a.rss_kib.saturating_sub(b.rss_kib) as f64 * 1024.0 / o.rooms as f64);
    } else {
        created = (0..o.rooms).map(|_| None).collect();
    }
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let setups: Vec<_> = created
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let (gate, target, stats) = (Arc::clone(&gate), target.clone(), Arc::clone(&stats));
            let size = o.participants;
            tokio::spawn(async move {
                let _p = gate.acquire_owned().await?;
                setup_room(target, kind, i, size, c, stats).await
            })
        })
        .collect();
    let mut rooms = Vec::with_capacity(o.rooms);
    for s in setups {
        rooms.push(s.await??);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let connected = server.map(Proc::sample);
    let per = |s: Option<crate::sys::Sample>| {
        base.zip(s)
            .map(|(b, s)| s.rss_kib.saturating_sub(b.rss_kib) as f64 * 1024.0 / connections as f64)
    };

    let run_for = Duration::from_secs_f64(match sc {
        Duo::Burst16 => o.burst_secs,
        _ => o.secs,
    });
    let start = Arc::new(Barrier::new(rooms.len() + 1));
    let deadline = tokio::time::Instant::now() + run_for + Duration::from_millis(200);
    let tracks: Vec<_> = rooms.iter().map(|r| r.shared.clone()).collect();
    let drivers: Vec<_> = rooms
        .into_iter()
        .enumerate()
        .map(|(i, room)| {
            let phase = (crate::scenario::mix(i as u64 + 1) % 1000) as f64 / 1000.0;
            tokio::spawn(drive(room, sc.rate(), phase, Arc::clone(&start), deadline))
        })
        .collect();
    tokio::time::sleep_until(deadline - run_for).await;
    stats.measuring.store(true, Ordering::Relaxed);
    let before = server.map(Proc::sample);
    let threads_before = server.map(Proc::threads);
    let others_before = others.map(Proc::sample);
    let client = Proc::own();
    let client_before = client.sample();
    let t0 = Instant::now();
    start.wait().await;
    let mut rooms = Vec::with_capacity(drivers.len());
    let mut offered = 0;
    let mut first_error = None;
    for d in drivers {
        match d.await.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok((room, n)) => {
                offered += n;
                rooms.push(room);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    stats.measuring.store(false, Ordering::Relaxed);
    let run_secs = t0.elapsed().as_secs_f64();
    let after = server.map(Proc::sample);
    let threads_after = server.map(Proc::threads);
    let others_after = others.map(Proc::sample);
    let client_cpu = crate::scenario::busy(&(client_before, client.sample()));
    // Every command sent must reach every member, and every answer come back (bounded).
    let until = Instant::now() + DRAIN;
    let left = |rooms: &[DuoRoom]| -> (u64, u64) {
        let undelivered = tracks.iter().map(|t| lock(&t.track).undelivered()).sum();
        let in_flight = rooms
            .iter()
            .flat_map(|r| &r.conns)
            .map(|c| c.in_flight() as u64)
            .sum();
        (undelivered, in_flight)
    };
    let mut waiting = left(&rooms);
    for _ in 0..1_000_000 {
        if waiting == (0, 0) || Instant::now() >= until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        waiting = left(&rooms);
    }
    let (undelivered, in_flight) = waiting;
    let end = server.map(Proc::sample);
    for r in &rooms {
        r.shared.closing.store(true, Ordering::Relaxed);
    }
    let closing: Vec<_> = rooms
        .into_iter()
        .flat_map(|r| r.conns)
        .map(|c| tokio::spawn(c.close()))
        .collect();
    for c in closing {
        let _ = c.await;
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let delivery = lock(&stats.delivery).clone();
    let ack = lock(&stats.ack).clone();
    let mut losses = stats.losses(undelivered);
    losses.push(("commands never answered", in_flight));
    let busy = |b: Option<crate::sys::Sample>, a: Option<crate::sys::Sample>| {
        b.zip(a).map(|p| crate::scenario::busy(&p))
    };
    Ok(Run {
        kind,
        scenario: sc,
        connections,
        run_secs,
        offered,
        sent: stats.sent.load(Ordering::Relaxed),
        delivered: stats.delivered.load(Ordering::Relaxed),
        events: stats.events.load(Ordering::Relaxed),
        p50_us: delivery.value_at_quantile(0.5),
        p99_us: delivery.value_at_quantile(0.99),
        ack_p99_us: ack.value_at_quantile(0.99),
        cpu: busy(before, after),
        cpu_threads: threads_before
            .zip(threads_after)
            .map(|(b, a)| b.busy_until(&a)),
        cluster_cpu: busy(others_before, others_after),
        client_cpu,
        idle_per_participant: per(connected),
        end_per_participant: per(end),
        per_empty_room,
        losses,
    })
}

/// Start the server of `kind` (or the cluster), run `sc` against it, stop it.
fn run_fresh(
    rt: &tokio::runtime::Runtime,
    kind: Kind,
    sc: Duo,
    o: &Opts,
) -> anyhow::Result<Option<Run>> {
    let budget = Duration::from_secs_f64(o.secs.max(o.burst_secs) + 600.0);
    if kind == Kind::Ck && o.cluster > 0 {
        let Some(c) = rt.block_on(cluster::Cluster::start(&o.cluster_opts(), o.cluster))? else {
            return Ok(None);
        };
        let nodes = Proc::pids(&c.node_pids());
        let mut pids = vec![c.postgres_pid()];
        pids.extend(c.haproxy_pid());
        let others = Proc::pids(&pids).with_children();
        let target = Target {
            addrs: vec![c.proxy],
            sources: o.sources,
        };
        let run = rt.block_on(async {
            tokio::time::timeout(
                budget,
                run_one(kind, sc, o, &target, Some(&nodes), Some(&others)),
            )
            .await
            .context("the run did not finish in time")?
        });
        drop(c);
        return run.map(Some);
    }
    let server = ServerProc::start_child(
        match kind {
            Kind::Bare => "bare",
            Kind::Ck => "server",
        },
        o.listeners,
    )?;
    let proc = Proc::pid(server.pid);
    let target = Target {
        addrs: server.addrs.clone(),
        sources: o.sources,
    };
    let run = rt.block_on(async {
        tokio::time::timeout(budget, run_one(kind, sc, o, &target, Some(&proc), None))
            .await
            .context("the run did not finish in time")?
    });
    server.stop()?;
    run.map(Some)
}

/// The comparison: every scenario, the targets alternating, `--repeat` times; the table and
/// `target/load-compare.json`. Fails on any lost message.
pub fn main(o: &Opts, rt: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let scenarios = scenarios(o)?;
    let mut runs: Vec<Run> = Vec::new();
    for sc in &scenarios {
        for rep in 0..o.repeat {
            for &kind in &o.targets {
                eprintln!(
                    "[compare {} run {}/{}: {} — {} rooms × {}]",
                    sc.name(),
                    rep + 1,
                    o.repeat,
                    kind.name(),
                    o.rooms,
                    o.participants
                );
                let Some(run) = run_fresh(rt, kind, *sc, o)
                    .with_context(|| format!("{} on {}", sc.name(), kind.name()))?
                else {
                    // The cluster could not start (printed why; only without CI).
                    return Ok(());
                };
                eprintln!(
                    "    p99 {:.2} ms, {} of {} delivered, {} events, CPU {}{}",
                    run.p99_us as f64 / 1000.0,
                    run.delivered,
                    run.offered,
                    run.events,
                    run.cpu
                        .map_or("—".into(), |c| format!("{:.0} %", c * 100.0)),
                    run.cpu_threads.map_or(String::new(), |t| format!(
                        " ({})",
                        crate::sys::named(t)
                            .filter(|(_, c)| *c > 0.0)
                            .map(|(g, c)| format!("{g} {:.0}", c * 100.0))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                let lost: Vec<String> = run
                    .losses
                    .iter()
                    .filter(|(_, n)| *n > 0)
                    .map(|(w, n)| format!("{n} {w}"))
                    .collect();
                ensure!(
                    lost.is_empty(),
                    "{} on {}: not every message arrived: {}",
                    sc.name(),
                    kind.name(),
                    lost.join("; ")
                );
                ensure!(
                    run.sent > 0 && run.events > 0,
                    "{} on {}: nothing was measured",
                    sc.name(),
                    kind.name()
                );
                runs.push(run);
            }
        }
    }
    crate::compare_report::print_and_save(o, &runs)
}
