//! The failover scenario (`--scenario failover`, with `--cluster 3` only): every room runs the
//! scripted circle through the proxy while, `--kills` times, one node (round robin) is killed
//! with `kill -9`, and the bench measures how long it takes from the kill until every client
//! of that node's rooms has resumed — through the proxy, after the protocol's reconnect delay
//! and back-off — with exactly the events it missed (the readers' exactly-once check holds
//! throughout: no event lost or seen twice, no command refused; a command left unanswered by
//! the dead node is sent again with its id after the resume). Then the node is restarted
//! under the same `--node-id` and port, HAProxy puts it back, each of its former rooms is asked
//! for through the proxy (a `preview`, as a link's page would) so that it moves back, and the
//! bench waits for those clients to resume too before the next kill.
//!
//! Which rooms a node holds is read from the `leases` table just before the kill.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::future::join_all;
use serde_json::{json, Value};
use tokio::sync::{watch, Barrier};

use crate::client::{lock, Metrics, Target, WAIT};
use crate::cluster::Cluster;
use crate::common;
use crate::report::Figures;
use crate::resume::Slot;
use crate::scenario::{self, begin, circle_step, Gate, LoadRoom, Scenario, Script};
use crate::sys::Proc;
use crate::Opts;

/// How long the moved clients must all stay resumed before a failover counts as over (a
/// second move, or a late close, restarts the wait).
const STABLE: Duration = Duration::from_millis(1500);
/// Longest a failover (or a hand-back) may take before the bench gives up on it.
const MAX_FAILOVER: Duration = Duration::from_secs(120);
/// Steady load before the first kill, and between a hand-back and the next kill.
const SETTLE: Duration = Duration::from_secs(3);

/// One kill.
#[derive(Debug, Clone)]
pub struct Kill {
    /// The node killed.
    pub node: String,
    /// Its rooms, and their clients.
    pub rooms: usize,
    pub clients: usize,
    /// Kill → HAProxy shows the node DOWN.
    pub proxy_down: Option<Duration>,
    /// Kill → the last of its clients resumed (the failover time).
    pub failover: Duration,
    /// Kill → each client's resume (the last one, if it moved twice).
    pub per_client: Vec<Duration>,
    /// Where its rooms went (node → rooms).
    pub went_to: BTreeMap<String, usize>,
    /// Clients of other nodes' rooms the server closed meanwhile.
    pub others_closed: usize,
    /// Restart → HAProxy shows it UP again.
    pub proxy_up: Option<Duration>,
    /// First request for its rooms → the last of their clients resumed on it again; and how
    /// many rooms moved back.
    pub hand_back: Option<Duration>,
    pub moved_back: usize,
}

/// What the failover scenario measured.
#[derive(Debug, Clone, Default)]
pub struct FailoverFigures {
    /// Rooms each node held before the first kill.
    pub held: BTreeMap<String, usize>,
    /// One entry per kill.
    pub kills: Vec<Kill>,
    /// `--lease-secs` and HAProxy's check interval.
    pub lease_secs: u64,
    pub check_inter: String,
    /// Rooms whose circle stopped with an error (a command refused, a resume that never
    /// succeeded): the room and why. Must be empty.
    pub rooms_failed: Vec<String>,
    /// Why the kills stopped early, if they did (a failover that did not complete).
    pub aborted: Option<String>,
}

/// Why a waiting room woke up.
enum Wake {
    Step,
    Dropped,
    Stop,
}

/// A room running the circle with resilient connections until `stop`.
async fn resilient_room(
    mut room: LoadRoom,
    interval: Duration,
    gate: Gate,
    mut stop: watch::Receiver<bool>,
    target: Target,
) -> anyhow::Result<LoadRoom> {
    begin(&mut room, &gate).await?;
    let phase = interval.mul_f64((scenario::mix(room.index as u64 + 1) % 1000) as f64 / 1000.0);
    let start = tokio::time::Instant::now() + phase;
    let mut script = Script::default();
    for k in 0..1_000_000u32 {
        let at = start + interval * k;
        // Wait for the step; resume what the server closes meanwhile, as clients do.
        let mut stopped = false;
        for _ in 0..10_000 {
            let dropped = Arc::clone(&room.room.dropped);
            let woke = tokio::select! {
                _ = tokio::time::sleep_until(at) => Wake::Step,
                _ = dropped.notified() => Wake::Dropped,
                r = stop.wait_for(|s| *s) => {
                    drop(r);
                    Wake::Stop
                }
            };
            match woke {
                Wake::Step => break,
                Wake::Dropped => room.recover(&target).await?,
                Wake::Stop => {
                    stopped = true;
                    break;
                }
            }
        }
        if stopped {
            break;
        }
        circle_step(&mut room, &mut script, &target)
            .await
            .with_context(|| format!("room {}", room.index))?;
    }
    room.recover(&target).await?;
    Ok(room)
}

/// Wait (bounded) until every client of `rooms` has resumed since `since` and is not waiting
/// to (and stays so for [`STABLE`]). Returns, per client that the server closed meanwhile,
/// `since` → its last resume after that close.
async fn wait_resumed(
    slots: &[Vec<Arc<Slot>>],
    rooms: &[usize],
    alive: &[Arc<AtomicBool>],
    since: Instant,
) -> Option<Vec<Duration>> {
    let mut stable_from: Option<Instant> = None;
    let until = since + MAX_FAILOVER;
    for _ in 0..100_000 {
        // A room whose circle failed is counted in `rooms_failed`, not waited for.
        let rooms: Vec<usize> = rooms
            .iter()
            .copied()
            .filter(|&r| alive[r].load(Ordering::Relaxed))
            .collect();
        let done = rooms
            .iter()
            .flat_map(|&r| &slots[r])
            .all(|s| !s.awaiting() && lock(&s.resumed_at).is_some_and(|at| at >= since));
        if done {
            let from = *stable_from.get_or_insert_with(Instant::now);
            if from.elapsed() >= STABLE {
                return Some(
                    rooms
                        .iter()
                        .flat_map(|&r| &slots[r])
                        .filter_map(|s| {
                            lock(&s.recovered_at)
                                .filter(|at| *at >= since)
                                .map(|at| at - since)
                        })
                        .collect(),
                );
            }
        } else {
            stable_from = None;
        }
        if Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Ask for each room through the proxy (its preview, as a link's page does): the node the
/// room's id hashes to takes it over.
async fn touch(target: &Target, rooms: &[(String, String)]) {
    let gate = Arc::new(tokio::sync::Semaphore::new(64));
    let asks = rooms.iter().map(|(id, key)| {
        let gate = Arc::clone(&gate);
        let body = json!({ "key": key }).to_string();
        let path = format!("/api/rooms/{id}/preview");
        async move {
            let _permit = gate.acquire().await;
            let _ = common::http(target.addr(0), "POST", &path, &body, WAIT).await;
        }
    });
    join_all(asks).await;
}

/// Run the failover scenario against `cluster`.
pub async fn run(
    o: &Opts,
    cluster: &mut Cluster,
    target: &Target,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Figures> {
    let client = Proc::own();
    let setup_start = Instant::now();
    let specs = vec![(o.participants, 0, scenario::CIRCLE_BODY, false); o.rooms];
    let connections = o.rooms * o.participants;
    crate::sys::check_fds(connections)?;
    let mut rooms = scenario::open_rooms(target, specs, metrics).await?;
    let setup = setup_start.elapsed();
    let join_start = Instant::now();
    scenario::join_all_members(target, &mut rooms, None, metrics).await?;
    let join_phase = join_start.elapsed();
    let ids: Vec<(String, String)> = rooms
        .iter()
        .map(|r| (r.created.room_id.clone(), r.created.join_key.clone()))
        .collect();
    let slots: Vec<Vec<Arc<Slot>>> = rooms
        .iter()
        .map(|r| r.conns.iter().map(|c| c.slot()).collect())
        .collect();
    let shared: Vec<_> = rooms.iter().map(|r| r.room.clone()).collect();
    let alive: Vec<Arc<AtomicBool>> = rooms
        .iter()
        .map(|_| Arc::new(AtomicBool::new(true)))
        .collect();

    metrics.resilient.store(true, Ordering::Relaxed);
    let (deadline_tx, deadline_rx) = watch::channel(None);
    let gate = Gate {
        barrier: Arc::new(Barrier::new(rooms.len() + 1)),
        deadline: deadline_rx,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let interval = Duration::from_millis(o.interval_ms);
    let runs: Vec<_> = rooms
        .into_iter()
        .zip(&alive)
        .map(|(room, alive)| {
            let alive = Arc::clone(alive);
            let run = resilient_room(
                room,
                interval,
                gate.clone(),
                stop_rx.clone(),
                target.clone(),
            );
            tokio::spawn(async move {
                let r = run.await;
                if r.is_err() {
                    alive.store(false, Ordering::Relaxed);
                }
                r
            })
        })
        .collect();
    tokio::time::timeout(WAIT * 3, gate.barrier.wait())
        .await
        .context("the rooms did not all start in time")?;
    let acks_before = Metrics::get(&metrics.acks);
    let events_before = Metrics::get(&metrics.events);
    metrics.measuring.store(true, Ordering::Relaxed);
    let client_before = client.sample();
    let run_start = Instant::now();
    let _ = deadline_tx.send(Some(
        tokio::time::Instant::now() + Duration::from_secs(4 * 3600),
    ));

    let mut f = FailoverFigures {
        lease_secs: o.lease_secs,
        check_inter: o.check_inter.clone(),
        ..FailoverFigures::default()
    };
    let result = kills(o, cluster, target, &ids, &slots, &alive, &mut f).await;
    let _ = stop_tx.send(true);
    if let Err(e) = result {
        f.aborted = Some(format!("{e:#}"));
    }
    let mut done = Vec::with_capacity(runs.len());
    for (i, r) in runs.into_iter().enumerate() {
        match r.await.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok(room) => done.push(room),
            Err(e) => f.rooms_failed.push(format!("room {i}: {e:#}")),
        }
    }
    let mut undelivered = 0;
    let until = Instant::now() + Duration::from_secs(10);
    for room in &shared {
        undelivered += scenario::wait_delivered(room, until).await;
    }
    let run = run_start.elapsed();
    metrics.measuring.store(false, Ordering::Relaxed);
    metrics.resilient.store(false, Ordering::Relaxed);
    let acks = Metrics::get(&metrics.acks) - acks_before;
    let events = Metrics::get(&metrics.events) - events_before;
    scenario::close_rooms(done).await;
    // The figures are printed even when rooms failed: the losses then say so.
    Ok(Figures {
        scenario: Scenario::Failover,
        connections,
        setup,
        join_phase,
        run,
        acks,
        events,
        undelivered,
        server_base: None,
        server_connected: None,
        server: None,
        client: (client_before, client.sample()),
        others: Vec::new(),
        swap: None,
        soak: None,
        failover: Some(f),
    })
}

/// The kills, one after another.
async fn kills(
    o: &Opts,
    cluster: &mut Cluster,
    target: &Target,
    ids: &[(String, String)],
    slots: &[Vec<Arc<Slot>>],
    alive: &[Arc<AtomicBool>],
    f: &mut FailoverFigures,
) -> anyhow::Result<()> {
    tokio::time::sleep(SETTLE).await;
    let owners = cluster.room_owners().await?;
    for n in &cluster.nodes {
        let held = ids
            .iter()
            .filter(|(id, _)| owners.get(id) == Some(&n.name))
            .count();
        f.held.insert(n.name.clone(), held);
    }
    for k in 0..o.kills {
        let n = k % cluster.nodes.len();
        let name = cluster.nodes[n].name.clone();
        let owners = cluster.room_owners().await?;
        let affected: Vec<usize> = (0..ids.len())
            .filter(|&r| owners.get(&ids[r].0) == Some(&name) && alive[r].load(Ordering::Relaxed))
            .collect();
        let closes_before: Vec<Vec<u64>> = slots
            .iter()
            .map(|room| {
                room.iter()
                    .map(|s| s.closes.load(Ordering::Relaxed))
                    .collect()
            })
            .collect();
        eprintln!(
            "failover {}/{}: kill -9 {name} ({} rooms)",
            k + 1,
            o.kills,
            affected.len()
        );
        let t0 = Instant::now();
        cluster.nodes[n].kill();
        let (down, resumed) = tokio::join!(
            cluster.wait_proxy_state(n, "DOWN", MAX_FAILOVER),
            wait_resumed(slots, &affected, alive, t0)
        );
        let per_client = resumed.with_context(|| {
            format!(
                "kill {}: {name}'s clients did not all resume within {MAX_FAILOVER:?}",
                k + 1
            )
        })?;
        let failover = per_client.iter().copied().max().unwrap_or_default();
        let after = cluster.room_owners().await?;
        let mut went_to = BTreeMap::new();
        for &r in &affected {
            let to = after.get(&ids[r].0).cloned().unwrap_or_default();
            *went_to.entry(to).or_insert(0) += 1;
        }
        let others_closed = moved_elsewhere(slots, &closes_before, &affected);
        // Back: the same id and port; HAProxy checks it up; its rooms are asked for.
        let restarted = Instant::now();
        cluster.nodes[n].start().await?;
        let up = cluster.wait_proxy_state(n, "UP", MAX_FAILOVER).await.ok();
        let t1 = Instant::now();
        let back: Vec<(String, String)> = affected.iter().map(|&r| ids[r].clone()).collect();
        touch(target, &back).await;
        let back_times = wait_resumed(slots, &affected, alive, t1).await;
        let owners_back = cluster.room_owners().await?;
        let moved_back = affected
            .iter()
            .filter(|&&r| owners_back.get(&ids[r].0) == Some(&name))
            .count();
        let kill = Kill {
            node: name,
            rooms: affected.len(),
            clients: affected.iter().map(|&r| slots[r].len()).sum(),
            proxy_down: down.ok(),
            failover,
            per_client,
            went_to,
            others_closed,
            proxy_up: up.map(|_| restarted.elapsed()),
            hand_back: back_times.map(|t| t.iter().copied().max().unwrap_or_default()),
            moved_back,
        };
        eprintln!(
            "failover {}/{}: {} clients of {} rooms resumed {:.2} s after the kill",
            k + 1,
            o.kills,
            kill.clients,
            kill.rooms,
            kill.failover.as_secs_f64()
        );
        f.kills.push(kill);
        tokio::time::sleep(SETTLE).await;
    }
    Ok(())
}

/// Clients of rooms outside `affected` that the server closed since `before`.
fn moved_elsewhere(slots: &[Vec<Arc<Slot>>], before: &[Vec<u64>], affected: &[usize]) -> usize {
    slots
        .iter()
        .enumerate()
        .filter(|(r, _)| !affected.contains(r))
        .flat_map(|(r, room)| {
            room.iter()
                .enumerate()
                .map(move |(j, s)| (r, j, s.closes.load(Ordering::Relaxed)))
        })
        .filter(|&(r, j, now)| now > before[r][j])
        .count()
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("—".into(), |d| format!("{:.2} s", d.as_secs_f64()))
}

/// The `q` quantile of `v` (nearest rank).
fn quantile(v: &[Duration], q: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len().max(1)) - 1;
    v.get(i).copied().unwrap_or_default()
}

/// Print the failover table; its JSON.
pub fn print(f: &FailoverFigures, m: &Metrics) -> Value {
    println!(
        "Failover: kill -9 of one node at a time (round robin), lease {} s, HAProxy checks every {}.",
        f.lease_secs, f.check_inter
    );
    println!();
    println!(
        "| rooms held before the first kill | {} |",
        f.held
            .iter()
            .map(|(n, r)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!();
    println!(
        "| kill | node | rooms / clients moved | HAProxy down after | last client resumed after \
         | p50 client | went to | other clients closed | back up after restart | hand-back (rooms) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---|---:|---:|---:|");
    for (i, k) in f.kills.iter().enumerate() {
        println!(
            "| {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {} ({}) |",
            i + 1,
            k.node,
            k.rooms,
            k.clients,
            secs(k.proxy_down),
            secs(Some(k.failover)),
            secs(Some(quantile(&k.per_client, 0.5))),
            k.went_to
                .iter()
                .map(|(n, r)| format!("{} {r}", if n.is_empty() { "(released)" } else { n }))
                .collect::<Vec<_>>()
                .join(", "),
            k.others_closed,
            secs(k.proxy_up),
            secs(k.hand_back),
            k.moved_back,
        );
    }
    let times: Vec<Duration> = f.kills.iter().map(|k| k.failover).collect();
    let all: Vec<Duration> = f.kills.iter().flat_map(|k| k.per_client.clone()).collect();
    println!();
    println!(
        "| failover (kill → last client resumed), over {} kills | p50 {} | p99 {} | max {} |",
        times.len(),
        secs(Some(quantile(&times, 0.5))),
        secs(Some(quantile(&times, 0.99))),
        secs(times.iter().max().copied())
    );
    println!(
        "| each moved client (kill → its resume), {} clients | p50 {} | p99 {} | max {} |",
        all.len(),
        secs(Some(quantile(&all, 0.5))),
        secs(Some(quantile(&all, 0.99))),
        secs(all.iter().max().copied())
    );
    println!(
        "| closes seen: 4012 / 1001 / no close frame / other | {} / {} / {} / {} |",
        Metrics::get(&m.closes_moved),
        Metrics::get(&m.closes_going_away),
        Metrics::get(&m.closes_no_frame),
        Metrics::get(&m.closes_other)
    );
    println!(
        "| resume attempts that failed and backed off; commands sent again with their id | {}; {} |",
        Metrics::get(&m.resume_retries),
        Metrics::get(&m.retried_commands)
    );
    if let Some(why) = &f.aborted {
        println!("| the kills stopped early | {why} |");
    }
    if !f.rooms_failed.is_empty() {
        println!(
            "| rooms whose circle failed | {} (first: {}) |",
            f.rooms_failed.len(),
            f.rooms_failed
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    println!();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    json!({
        "lease_secs": f.lease_secs,
        "check_inter": f.check_inter,
        "held": f.held,
        "kills": f.kills.iter().map(|k| json!({
            "node": k.node, "rooms": k.rooms, "clients": k.clients,
            "proxy_down_ms": k.proxy_down.map(ms), "failover_ms": ms(k.failover),
            "client_p50_ms": ms(quantile(&k.per_client, 0.5)),
            "went_to": k.went_to, "others_closed": k.others_closed,
            "proxy_up_ms": k.proxy_up.map(ms), "hand_back_ms": k.hand_back.map(ms),
            "moved_back": k.moved_back,
        })).collect::<Vec<_>>(),
        "failover_p50_ms": ms(quantile(&times, 0.5)),
        "failover_p99_ms": ms(quantile(&times, 0.99)),
        "failover_max_ms": times.iter().max().copied().map(ms),
        "closes": {
            "moved_4012": Metrics::get(&m.closes_moved),
            "going_away_1001": Metrics::get(&m.closes_going_away),
            "no_close_frame": Metrics::get(&m.closes_no_frame),
            "other": Metrics::get(&m.closes_other),
        },
        "resume_retries": Metrics::get(&m.resume_retries),
        "retried_commands": Metrics::get(&m.retried_commands),
        "rooms_failed": f.rooms_failed,
        "aborted": f.aborted,
    })
}

/// Rooms per node from the leases (for the steady and burst runs on the cluster).
pub fn per_node(owners: &HashMap<String, String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for node in owners.values() {
        *out.entry(node.clone()).or_insert(0) += 1;
    }
    out
}
