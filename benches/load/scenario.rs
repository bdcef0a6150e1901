//! The scenarios: opening and hosting rooms, members joining, and what every room does while
//! the bench measures — the scripted circle (steady, join storm, reconnect storm, beside the
//! swap), the burst, and the 60-person coaching swap.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use circlekeeper_protocol::{Command, Role, RoomCreated, TimerKind};
use futures_util::future::join_all;
use tokio::sync::{watch, Barrier, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::client::{lock, Conn, Entry, HostView, Metrics, Room, Target, Track, WAIT};
use crate::common;
use crate::report::Figures;
use crate::resume::MAX_RECOVERIES;
use crate::sys::{Proc, Sample};
use crate::Opts;

/// Most commands one room (or one member in a burst) sends in a scenario.
const MAX_COMMANDS: u64 = 10_000_000;
/// Connections opened at once while setting up (outside the join storm).
const SETUP_CONCURRENCY: usize = 128;
/// The coaching swap's size: the facilitator and 59 people.
pub const SWAP_PEOPLE: usize = 60;
/// The stage of the built-in `coaching_swap` format in which pairs are proposed.
const SWAP_PAIRING_STAGE: usize = 2;

/// The scripted circle every steady room runs, with compressed timeboxes so that timers warn
/// and expire every few seconds: a check-in round (each speaker has 1.5 s before their timer
/// expires; the script passes every third turn), then an open floor with a hand queue (a
/// 6-second stage timer, 1.5 s per speaker), then back to the round.
pub const CIRCLE_BODY: &str = r#"{"title":"load","format":{"name":"Load circle","stages":[{"kind":"check_in","title":"Round","timebox_ms":10000,"speaking":"round","per_speaker_ms":1500},{"kind":"discussion","title":"Open floor","timebox_ms":6000,"speaking":"hand_queue","per_speaker_ms":1500}]},"options":{"warn_before_ms":1000}}"#;

/// The burst rooms: one hand-queue stage of four hours (no timer fires).
const BURST_BODY: &str = r#"{"title":"load","format":{"name":"Load","stages":[{"kind":"discussion","title":"Open floor","timebox_ms":14400000,"speaking":"hand_queue"}]}}"#;

/// The coaching swap's room.
const SWAP_BODY: &str = r#"{"title":"load swap","format":"coaching_swap"}"#;

/// The named presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Every room runs the scripted circle, a command every `interval`.
    Steady,
    /// Every member of every room acts as fast as its acks come back.
    Burst,
    /// Every member joins within the join window; then the circle runs briefly.
    JoinStorm,
    /// The circle runs; a third of the connections drop and resume at once.
    ReconnectStorm,
    /// One 60-person coaching swap pairs and switches at once, beside the steady rooms.
    Swap,
    /// Rooms open, run the circle (drops and resumes included), end and close, wave after
    /// wave, for minutes: memory and open files must come back flat.
    Soak,
    /// With a cluster only: the circle runs while nodes are killed one at a time (see
    /// `failover.rs`).
    Failover,
}

impl Scenario {
    /// Every preset, in the order `all` runs them.
    pub const ALL: [Scenario; 6] = [
        Scenario::Steady,
        Scenario::Burst,
        Scenario::JoinStorm,
        Scenario::ReconnectStorm,
        Scenario::Swap,
        Scenario::Soak,
    ];

    /// The preset's name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::Burst => "burst",
            Scenario::JoinStorm => "join_storm",
            Scenario::ReconnectStorm => "reconnect_storm",
            Scenario::Swap => "swap",
            Scenario::Soak => "soak",
            Scenario::Failover => "failover",
        }
    }

    /// A preset by name.
    pub fn parse(s: &str) -> Option<Scenario> {
        match s.replace('-', "_").as_str() {
            "steady" => Some(Scenario::Steady),
            "burst" => Some(Scenario::Burst),
            "join_storm" | "joinstorm" => Some(Scenario::JoinStorm),
            "reconnect_storm" | "reconnect" => Some(Scenario::ReconnectStorm),
            "swap" => Some(Scenario::Swap),
            "soak" => Some(Scenario::Soak),
            "failover" => Some(Scenario::Failover),
            _ => None,
        }
    }

    fn body(self) -> &'static str {
        match self {
            Scenario::Burst => BURST_BODY,
            _ => CIRCLE_BODY,
        }
    }
}

/// One room under load: the host's connection first, then the members'.
pub struct LoadRoom {
    pub(crate) index: usize,
    /// Connections in the room when full.
    size: usize,
    /// The first connection index of this room (for listeners and source addresses).
    base: usize,
    pub(crate) created: RoomCreated,
    pub(crate) conns: Vec<Conn>,
    pub(crate) room: Room,
}

impl LoadRoom {
    pub(crate) fn host(&mut self) -> anyhow::Result<&mut Conn> {
        self.conns.first_mut().context("a room without its host")
    }

    /// Wait (bounded) until the host has read every event up to `seq`; its view then. With
    /// resilient connections, one the server closes meanwhile is resumed first.
    async fn host_at(&mut self, seq: u64, target: &Target) -> anyhow::Result<HostView> {
        let mut rx = self.room.host.subscribe();
        if !self.resilient() {
            let view = tokio::time::timeout(WAIT, rx.wait_for(|v| v.seq >= seq))
                .await
                .with_context(|| format!("room {}: the host never read seq {seq}", self.index))?
                .context("the host's view is gone")?;
            return Ok(view.clone());
        }
        for _ in 0..MAX_RECOVERIES {
            self.recover(target).await?;
            let dropped = Arc::clone(&self.room.dropped);
            tokio::select! {
                view = tokio::time::timeout(WAIT, rx.wait_for(|v| v.seq >= seq)) => {
                    let view = view
                        .with_context(|| format!("room {}: the host never read seq {seq}", self.index))?
                        .context("the host's view is gone")?;
                    return Ok(view.clone());
                }
                _ = dropped.notified() => {}
            }
        }
        bail!(
            "room {}: closed more than {MAX_RECOVERIES} times in one step",
            self.index
        )
    }

    pub(crate) fn resilient(&self) -> bool {
        self.room.metrics.resilient.load(Ordering::Relaxed)
    }
}

/// Open a room and host it: create, host, accept the ground rules, start.
async fn open_room(
    target: &Target,
    index: usize,
    base: usize,
    size: usize,
    body: &str,
    swap: bool,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<LoadRoom> {
    let created = common::create_room(target.addr(base), body, WAIT).await?;
    let room = Room {
        track: Arc::new(std::sync::Mutex::new(Track::new(size, swap))),
        host: Arc::new(watch::channel(HostView::default()).0),
        metrics: Arc::clone(metrics),
        dropped: Arc::new(Notify::new()),
    };
    let (mut host, _) = Conn::open(
        target,
        base,
        Entry::Host {
            room: created.room_id.clone(),
            key: created.host_key.clone(),
        },
        &format!("Host {index}"),
        &room,
        true,
    )
    .await?;
    host.command(Command::AcceptGroundRules, false).await?;
    host.command(Command::Start, false).await?;
    Ok(LoadRoom {
        index,
        size,
        base,
        created,
        conns: vec![host],
        room,
    })
}

/// Open every room, as fast as `SETUP_CONCURRENCY` allows.
pub(crate) async fn open_rooms(
    target: &Target,
    specs: Vec<(usize, usize, &'static str, bool)>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Vec<LoadRoom>> {
    open_rooms_from(target, 0, specs, metrics).await
}

/// Open rooms numbered from `first` (their connections numbered on from `first` rooms' worth).
pub(crate) async fn open_rooms_from(
    target: &Target,
    first_room: usize,
    specs: Vec<(usize, usize, &'static str, bool)>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Vec<LoadRoom>> {
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut base = first_room * specs.first().map_or(1, |s| s.0);
    let tasks: Vec<JoinHandle<anyhow::Result<LoadRoom>>> = specs
        .into_iter()
        .enumerate()
        .map(|(i, (size, _, body, swap))| {
            let index = first_room + i;
            let (gate, target, metrics) = (Arc::clone(&gate), target.clone(), Arc::clone(metrics));
            let first = base;
            base += size;
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                open_room(&target, index, first, size, body, swap, &metrics).await
            })
        })
        .collect();
    let mut rooms = Vec::with_capacity(tasks.len());
    for t in tasks {
        rooms.push(t.await??);
    }
    Ok(rooms)
}

/// Every member of every room joins (and accepts the ground rules): as fast as
/// `SETUP_CONCURRENCY` allows, or (`window`) spread evenly over that window, all at once.
pub(crate) async fn join_all_members(
    target: &Target,
    rooms: &mut [LoadRoom],
    window: Option<Duration>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<()> {
    let total: usize = rooms.iter().map(|r| r.size - 1).sum();
    let gate = Arc::new(Semaphore::new(match window {
        Some(_) => total.max(1),
        None => SETUP_CONCURRENCY,
    }));
    let start = tokio::time::Instant::now();
    let widest = rooms.iter().map(|r| r.size).max().unwrap_or(0);
    let mut tasks = Vec::with_capacity(total);
    // Member-major order, so that rooms fill evenly.
    let mut i = 0usize;
    for m in 1..widest {
        for (r, room) in rooms.iter().enumerate() {
            if m >= room.size {
                continue;
            }
            let at = window.map(|w| start + w.mul_f64(i as f64 / total.max(1) as f64));
            i += 1;
            let (gate, target) = (Arc::clone(&gate), target.clone());
            let entry = Entry::Join {
                room: room.created.room_id.clone(),
                key: room.created.join_key.clone(),
            };
            let (shared, index, name) = (
                room.room.clone(),
                room.base + m,
                format!("Member {m} of {}", room.index),
            );
            let metrics = Arc::clone(metrics);
            tasks.push(tokio::spawn(async move {
                if let Some(at) = at {
                    tokio::time::sleep_until(at).await;
                }
                let _permit = gate.acquire_owned().await?;
                let (mut conn, took) =
                    Conn::open(&target, index, entry, &name, &shared, false).await?;
                let _ = lock(&metrics.join).record(crate::client::micros(took));
                metrics.joined.fetch_add(1, Ordering::Relaxed);
                conn.command(Command::AcceptGroundRules, false).await?;
                anyhow::Ok((r, conn))
            }));
        }
    }
    let mut first_error = None;
    for t in tasks {
        if let Some((r, conn)) = settle(t.await, &mut first_error) {
            rooms[r].conns.push(conn);
        }
    }
    match first_error {
        Some(e) => Err(e.context("a member could not join")),
        None => Ok(()),
    }
}

/// A finished task's value; or `None`, keeping its error in `first` if it is the first one.
pub(crate) fn settle<T>(
    joined: Result<anyhow::Result<T>, tokio::task::JoinError>,
    first: &mut Option<anyhow::Error>,
) -> Option<T> {
    match joined.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(v) => Some(v),
        Err(e) => {
            first.get_or_insert(e);
            None
        }
    }
}

/// A small deterministic generator (xorshift), for phases.
pub(crate) fn mix(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// How rooms start measuring together: each syncs (so that events before it are not
/// measured), waits for every room, then reads the shared deadline.
#[derive(Clone)]
pub(crate) struct Gate {
    pub(crate) barrier: Arc<Barrier>,
    pub(crate) deadline: watch::Receiver<Option<tokio::time::Instant>>,
}

pub(crate) async fn begin(
    room: &mut LoadRoom,
    gate: &Gate,
) -> anyhow::Result<tokio::time::Instant> {
    let seq = room.host()?.command(Command::Sync, false).await?;
    lock(&room.room.track).from = seq;
    gate.barrier.wait().await;
    let mut rx = gate.deadline.clone();
    let d = tokio::time::timeout(WAIT, rx.wait_for(Option::is_some))
        .await
        .context("no deadline in time")?
        .context("no deadline")?;
    (*d).context("no deadline")
}

// ----- the scripted circle ------------------------------------------------------------------

/// Where a room's script is.
#[derive(Default)]
pub(crate) struct Script {
    /// 0: the round; 1: the open floor.
    stage: u8,
    /// Turns taken in this round.
    turns: u64,
    /// Step within the open floor.
    floor_step: u64,
    /// Which member acts next on the open floor.
    member: usize,
    /// The seq of the last ack.
    seq: u64,
    /// Steps taken.
    steps: u64,
}

/// One step of the circle: a speaker finishes or passes; a hand goes up; the facilitator gives
/// the floor, shows a prompt, rotates the timekeeper, extends the timer or moves the stage on;
/// and every 25th step a member's connection drops and resumes.
pub(crate) async fn circle_step(
    room: &mut LoadRoom,
    s: &mut Script,
    target: &Target,
) -> anyhow::Result<()> {
    let members = room.conns.len() - 1;
    s.steps += 1;
    if s.steps.is_multiple_of(25) && members > 0 {
        let j = 1 + (s.steps / 25) as usize % members;
        return reconnect(room, &[j], target, false).await;
    }
    if s.stage == 0 {
        let view = room.host_at(s.seq, target).await?;
        match view.floor {
            Some(p) => {
                let who = room
                    .conns
                    .iter()
                    .position(|c| c.you == p)
                    .with_context(|| format!("room {}: speaker {p} is nobody here", room.index))?;
                let command = if s.turns % 3 == 2 {
                    Command::Pass
                } else {
                    Command::Done
                };
                s.turns += 1;
                s.seq = room.cmd(who, command, true, target).await?;
            }
            None => {
                s.seq = room.cmd(0, Command::NextStage, true, target).await?;
                s.stage = 1;
                s.floor_step = 0;
            }
        }
        return Ok(());
    }
    let m = 1 + s.member % members.max(1);
    let (who, command) = match s.floor_step {
        0 | 5 => (m, Command::RaiseHand),
        1 | 6 => (0, Command::GiveFloor { participant: None }),
        2 => (
            0,
            Command::PushPrompt {
                prompt: None,
                text: Some("What would help you most right now?".into()),
                to: None,
            },
        ),
        3 | 8 => (m, Command::Done),
        4 => (
            0,
            Command::AdjustTimer {
                timer: TimerKind::Stage,
                seconds: 1,
            },
        ),
        7 => (
            0,
            Command::RotateRole {
                role: Role::Timekeeper,
            },
        ),
        _ => (0, Command::JumpToStage { index: 0 }),
    };
    if matches!(s.floor_step, 3 | 8) {
        s.member += 1;
    }
    if std::env::var_os("LOAD_TRACE").is_some() {
        eprintln!(
            "room {} step {} floor_step {} conn {who} {}",
            room.index,
            s.steps,
            s.floor_step,
            command.name()
        );
    }
    s.seq = room.cmd(who, command, true, target).await?;
    s.floor_step += 1;
    if s.floor_step > 9 {
        s.stage = 0;
        s.turns = 0;
    }
    Ok(())
}

/// Drop members `which` (indices into the room's connections) as a network failure would,
/// all at once, and bring them back with `resume`: at once, or (`jitter`, the reconnect storm)
/// each after the protocol's random first delay for a connection lost without a close frame
/// (0.5–1.5 s, [`crate::resume::reconnect_delay`]), as real clients do. A resume's latency is
/// measured from its own connect (connect → `resumed`), never from the drop.
async fn reconnect(
    room: &mut LoadRoom,
    which: &[usize],
    target: &Target,
    jitter: bool,
) -> anyhow::Result<()> {
    let mut taken = Vec::with_capacity(which.len());
    for &j in which.iter().rev() {
        ensure!(j > 0 && j < room.conns.len(), "no member {j} to drop");
        taken.push((j, room.conns.remove(j)));
    }
    let resilient = room.resilient();
    let back = join_all(taken.into_iter().map(|(j, c)| async move {
        let c = if resilient {
            // The room's node may be going away: back off as a client would.
            c.park()
                .await
                .resume_with_backoff(target, Duration::ZERO)
                .await?
        } else if jitter {
            let parked = c.park().await;
            tokio::time::sleep(crate::resume::reconnect_delay(0)).await;
            parked.open(target).await?.0
        } else {
            c.drop_and_resume(target).await?.0
        };
        anyhow::Ok((j, c))
    }))
    .await;
    let mut back = back.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    back.sort_by_key(|(j, _)| *j);
    for (j, c) in back {
        room.conns.insert(j, c);
    }
    Ok(())
}

/// A room running the circle until the deadline; with `storm`, a third of its members drop
/// and resume at once when the storm signal fires.
pub(crate) async fn circle_room(
    mut room: LoadRoom,
    interval: Duration,
    gate: Gate,
    mut storm: Option<watch::Receiver<bool>>,
    target: Target,
) -> anyhow::Result<LoadRoom> {
    let deadline = begin(&mut room, &gate).await?;
    let phase = interval.mul_f64((mix(room.index as u64 + 1) % 1000) as f64 / 1000.0);
    let start = tokio::time::Instant::now() + phase;
    let mut script = Script::default();
    let mut k: u64 = 0;
    while k < MAX_COMMANDS {
        let at = start + interval.mul_f64(k as f64);
        if at >= deadline {
            break;
        }
        let stormed = match storm.as_mut() {
            Some(rx) => tokio::select! {
                _ = tokio::time::sleep_until(at) => false,
                r = rx.wait_for(|s| *s) => r.is_ok(),
            },
            None => {
                tokio::time::sleep_until(at).await;
                false
            }
        };
        if stormed {
            storm = None;
            let which: Vec<usize> = (1..room.conns.len()).filter(|j| j % 3 == 1).collect();
            reconnect(&mut room, &which, &target, true)
                .await
                .with_context(|| format!("room {}: the reconnect storm", room.index))?;
            continue;
        }
        circle_step(&mut room, &mut script, &target)
            .await
            .with_context(|| format!("room {}", room.index))?;
        k += 1;
    }
    Ok(room)
}

/// Burst: every member raises and lowers a hand as fast as its acks come back.
async fn burst_room(mut room: LoadRoom, gate: Gate) -> anyhow::Result<LoadRoom> {
    let deadline = begin(&mut room, &gate).await?;
    let host = room.conns.remove(0);
    let results = join_all(room.conns.drain(..).map(|mut conn| async move {
        let mut k: u64 = 0;
        while k < MAX_COMMANDS && tokio::time::Instant::now() < deadline {
            let command = if k.is_multiple_of(2) {
                Command::RaiseHand
            } else {
                Command::LowerHand { participant: None }
            };
            conn.command(command, true).await?;
            k += 1;
        }
        if k % 2 == 1 {
            conn.command(Command::LowerHand { participant: None }, true)
                .await?;
        }
        anyhow::Ok(conn)
    }))
    .await;
    room.conns.push(host);
    for r in results {
        room.conns
            .push(r.with_context(|| format!("room {}", room.index))?);
    }
    Ok(room)
}

/// What the swap measured.
#[derive(Debug, Clone, Default)]
pub struct SwapFigures {
    /// `propose_pairs` sent → the pairs stage entered, acknowledged.
    pub pairing: Duration,
    /// Groups formed.
    pub groups: usize,
    /// First `end_half` sent → every group's switch acknowledged and delivered to everyone.
    pub switch_all: Duration,
}

/// The coaching swap: after a third of the run, pair everyone, start the pairs stage, then
/// every coach ends the half at once and every member confirms the switch at once; the
/// facilitator then moves everyone through the second half and back to plenary.
async fn swap_room(
    mut room: LoadRoom,
    gate: Gate,
    run_for: Duration,
    target: Target,
) -> anyhow::Result<(LoadRoom, SwapFigures)> {
    let deadline = begin(&mut room, &gate).await?;
    tokio::time::sleep_until(deadline - run_for.mul_f64(2.0 / 3.0)).await;
    let t0 = Instant::now();
    let host = room.host()?;
    host.command(
        Command::JumpToStage {
            index: SWAP_PAIRING_STAGE,
        },
        true,
    )
    .await?;
    host.command(Command::ProposePairs { seed: Some(7) }, true)
        .await?;
    host.command(Command::ConfirmPairs, true).await?;
    let seq = host.command(Command::NextStage, true).await?;
    let pairing = t0.elapsed();
    let view = room.host_at(seq, &target).await?;
    ensure!(!view.groups.is_empty(), "the swap formed no groups");
    let coaches: Vec<u64> = view.groups.iter().map(|(_, c)| *c).collect();
    let grouped: Vec<u64> = view.groups.iter().flat_map(|(m, _)| m.clone()).collect();
    let t1 = Instant::now();
    let ended = join_all(
        room.conns
            .iter_mut()
            .filter(|c| coaches.contains(&c.you))
            .map(|c| c.command(Command::EndHalf { group: None }, true)),
    )
    .await;
    for r in ended {
        r.context("end_half")?;
    }
    let confirmed = join_all(
        room.conns
            .iter_mut()
            .filter(|c| grouped.contains(&c.you))
            .map(|c| c.command(Command::ConfirmSwitch, true)),
    )
    .await;
    for r in confirmed {
        r.context("confirm_switch")?;
    }
    wait_delivered(&room.room, Instant::now() + Duration::from_secs(10)).await;
    let switch_all = t1.elapsed();
    let host = room.host()?;
    host.command(Command::MoveEveryone, true).await?;
    host.command(Command::MoveEveryone, true).await?;
    host.command(Command::NextStage, true).await?;
    Ok((
        room,
        SwapFigures {
            pairing,
            groups: view.groups.len(),
            switch_all,
        },
    ))
}

/// Close every connection of `rooms`, all at once (each bounded).
pub(crate) async fn close_rooms(rooms: Vec<LoadRoom>) {
    let closing: Vec<_> = rooms
        .into_iter()
        .flat_map(|r| r.conns)
        .map(|c| tokio::spawn(c.close()))
        .collect();
    for c in closing {
        let _ = c.await;
    }
}

/// Wait (bounded) until every acknowledged command of the room reached everyone.
pub(crate) async fn wait_delivered(room: &Room, until: Instant) -> usize {
    loop {
        let left = lock(&room.track).undelivered();
        if left == 0 || Instant::now() >= until {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ----- one scenario -------------------------------------------------------------------------

/// Run one preset against `target`; `server` is the server's process when the bench started
/// it (its memory and CPU are then measured).
pub async fn run(
    sc: Scenario,
    o: &Opts,
    target: &Target,
    server: Option<&Proc>,
    others: &[(String, Proc)],
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Figures> {
    let client = Proc::own();
    if sc == Scenario::Soak {
        return crate::soak::soak(o, target, server, metrics).await;
    }
    let server_base = server.map(Proc::sample);
    let setup_start = Instant::now();

    let mut specs: Vec<(usize, usize, &'static str, bool)> =
        vec![(o.participants, 0, sc.body(), false); o.rooms];
    if sc == Scenario::Swap {
        specs.push((o.swap_people, 0, SWAP_BODY, true));
    }
    let connections: usize = specs.iter().map(|s| s.0).sum();
    crate::sys::check_fds(connections)?;
    let mut rooms = open_rooms(target, specs, metrics).await?;
    let setup = setup_start.elapsed();

    let join_start = Instant::now();
    let window = (sc == Scenario::JoinStorm).then(|| Duration::from_secs_f64(o.join_window));
    join_all_members(target, &mut rooms, window, metrics).await?;
    let join_phase = join_start.elapsed();
    // Let the last welcomes' frames settle before the memory reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server_connected = server.map(Proc::sample);

    let run_for = Duration::from_secs_f64(match sc {
        Scenario::Burst => o.burst_secs,
        Scenario::JoinStorm => o.secs.min(10.0),
        _ => o.secs,
    });
    let interval = Duration::from_millis(o.interval_ms);
    let (deadline_tx, deadline_rx) = watch::channel(None);
    let gate = Gate {
        barrier: Arc::new(Barrier::new(rooms.len() + 1)),
        deadline: deadline_rx,
    };
    let (storm_tx, storm_rx) = watch::channel(false);
    let shared: Vec<Room> = rooms.iter().map(|r| r.room.clone()).collect();
    let mut runs = Vec::with_capacity(rooms.len());
    let mut swap_run = None;
    for room in rooms {
        let gate = gate.clone();
        if lock(&room.room.track).is_swap() {
            swap_run = Some(tokio::spawn(swap_room(room, gate, run_for, target.clone())));
            continue;
        }
        runs.push(match sc {
            Scenario::Burst => tokio::spawn(burst_room(room, gate)),
            Scenario::ReconnectStorm => tokio::spawn(circle_room(
                room,
                interval,
                gate,
                Some(storm_rx.clone()),
                target.clone(),
            )),
            _ => tokio::spawn(circle_room(room, interval, gate, None, target.clone())),
        });
    }
    tokio::time::timeout(WAIT * 3, gate.barrier.wait())
        .await
        .context("the rooms did not all start in time")?;
    let acks_before = Metrics::get(&metrics.acks);
    let events_before = Metrics::get(&metrics.events);
    metrics.measuring.store(true, Ordering::Relaxed);
    let server_before = server.map(Proc::sample);
    let others_before: Vec<_> = others.iter().map(|(_, p)| p.sample()).collect();
    let client_before = client.sample();
    let run_start = Instant::now();
    let deadline = tokio::time::Instant::now() + run_for;
    *lock(&metrics.run) = Some((run_start, run_for));
    let _ = deadline_tx.send(Some(deadline));
    if sc == Scenario::ReconnectStorm {
        tokio::time::sleep_until(deadline - run_for.mul_f64(2.0 / 3.0)).await;
        let _ = storm_tx.send(true);
    }

    let mut rooms = Vec::with_capacity(runs.len() + 1);
    let mut first_error = None;
    for r in runs {
        rooms.extend(settle(r.await, &mut first_error));
    }
    let mut swap = None;
    if let Some(t) = swap_run {
        let joined = t.await.map(|r| r.context("the coaching swap"));
        if let Some((room, figures)) = settle(joined, &mut first_error) {
            rooms.push(room);
            swap = Some(figures);
        }
    }
    // Wait (bounded) for the last deliveries of acknowledged commands.
    let mut undelivered = 0;
    let until = Instant::now() + Duration::from_secs(10);
    for room in &shared {
        undelivered += wait_delivered(room, until).await;
    }
    let run = run_start.elapsed();
    let server_after = server.map(Proc::sample);
    let others: Vec<_> = others
        .iter()
        .zip(others_before)
        .map(|((name, p), before)| (name.clone(), before, p.sample()))
        .collect();
    let client_after = client.sample();
    metrics.measuring.store(false, Ordering::Relaxed);
    let acks = Metrics::get(&metrics.acks) - acks_before;
    let events = Metrics::get(&metrics.events) - events_before;

    close_rooms(rooms).await;
    if let Some(e) = first_error {
        return Err(e);
    }
    if sc == Scenario::Swap && swap.is_none() {
        bail!("the coaching swap did not run");
    }
    Ok(Figures {
        scenario: sc,
        connections,
        setup,
        join_phase,
        run,
        acks,
        events,
        undelivered,
        server_base,
        server_connected,
        server: server_before.zip(server_after),
        client: (client_before, client_after),
        others,
        swap,
        soak: None,
        failover: None,
    })
}

/// A sample pair's CPU share over the run.
pub fn busy(pair: &(Sample, Sample)) -> f64 {
    let wall = pair.1.at.duration_since(pair.0.at).as_secs_f64().max(1e-9);
    pair.1.cpu.saturating_sub(pair.0.cpu).as_secs_f64() / wall
}
