//! The soak (`--scenario soak`): rooms open in waves, run the scripted circle with its drops
//! and resumes, end their session and close, for minutes, while the server's memory and open
//! files are sampled: both must come back to where they started once everyone has left.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use circlekeeper_protocol::Command;
use tokio::sync::{watch, Barrier};
use tokio::task::JoinHandle;

use crate::client::{lock, Metrics, Room, Target, WAIT};
use crate::common;
use crate::report::Figures;
use crate::scenario::{
    circle_room, join_all_members, open_rooms_from, settle, wait_delivered, Gate, LoadRoom,
    Scenario, CIRCLE_BODY,
};
use crate::sys::{Proc, Sample};
use crate::Opts;

/// What the soak saw of the server over time.
#[derive(Debug, Clone, Default)]
pub struct SoakFigures {
    /// (seconds since the start, server sample, connections open) every few seconds.
    pub samples: Vec<(f64, Sample, u64)>,
    /// Rooms opened, run and ended.
    pub rooms: usize,
    /// The server once every connection had closed at the end.
    pub after: Option<Sample>,
    /// Rooms the server still held once the retention of the last ended room had passed
    /// (its `circlekeeper_rooms` gauge), and how long that took to reach.
    pub rooms_left: u64,
    pub retention_wait: Duration,
}

/// The server's live rooms, from its `/metrics`.
async fn live_rooms(target: &Target) -> anyhow::Result<u64> {
    let (status, body) = common::http(target.addr(0), "GET", "/metrics", "", WAIT).await?;
    ensure!(status == 200, "GET /metrics: {status}");
    body.lines()
        .find_map(|l| l.strip_prefix("circlekeeper_rooms "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .context("no circlekeeper_rooms gauge in /metrics")
}

/// Rooms live at once in the soak are `o.rooms`, in three waves: every third of a room's
/// lifetime a wave of fresh rooms opens (its members join, the circle runs with its drops and
/// resumes) while the oldest wave ends its session and closes, for `o.soak_secs`.
pub(crate) async fn soak(
    o: &Opts,
    target: &Target,
    server: Option<&Proc>,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Figures> {
    const WAVES: usize = 3;
    let client = Proc::own();
    let server_base = server.map(Proc::sample);
    // A new wave opens while the oldest is ending: up to WAVES + 1 waves are connected at
    // once. Fit them under this process's descriptor limit.
    let mut per_wave = o.rooms.div_ceil(WAVES).max(1);
    if let Some(limit) = crate::sys::open_file_limit() {
        let fit = (limit.saturating_sub(256) as usize) / ((WAVES + 1) * o.participants);
        if per_wave > fit {
            eprintln!(
                "soak: {per_wave} rooms per wave would not fit {limit} file descriptors; \
                 using {fit}"
            );
            per_wave = fit.max(1);
        }
    }
    crate::sys::check_fds(per_wave * (WAVES + 1) * o.participants)?;
    let lifetime = Duration::from_secs_f64(o.room_secs);
    let every = lifetime / WAVES as u32;
    let run_for = Duration::from_secs_f64(o.soak_secs);
    let interval = Duration::from_millis(o.interval_ms);
    let start = Instant::now();
    *lock(&metrics.run) = Some((start, run_for));
    metrics.measuring.store(true, Ordering::Relaxed);
    let acks_before = Metrics::get(&metrics.acks);
    let events_before = Metrics::get(&metrics.events);
    let client_before = client.sample();
    let server_before = server.map(Proc::sample);
    let mut samples = Vec::new();
    let mut waves: Vec<JoinHandle<anyhow::Result<()>>> = Vec::new();
    let mut rooms_opened = 0usize;
    let mut next_wave = tokio::time::Instant::now();
    let mut next_sample = tokio::time::Instant::now();
    let mut tracks: Vec<Room> = Vec::new();
    let mut first_error = None;
    for _ in 0..100_000 {
        if start.elapsed() >= run_for {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next_wave) => {
                next_wave += every;
                let base = rooms_opened;
                rooms_opened += per_wave;
                let specs = vec![(o.participants, 0, CIRCLE_BODY, false); per_wave];
                let (target, metrics) = (target.clone(), Arc::clone(metrics));
                let mut rooms = open_rooms_from(&target, base, specs, &metrics).await?;
                join_all_members(&target, &mut rooms, None, &metrics).await?;
                tracks.extend(rooms.iter().map(|r| r.room.clone()));
                waves.push(tokio::spawn(soak_wave(rooms, interval, lifetime, target)));
            }
            _ = tokio::time::sleep_until(next_sample) => {
                next_sample += Duration::from_secs(5);
                if let Some(s) = server {
                    samples.push((
                        start.elapsed().as_secs_f64(),
                        s.sample(),
                        Metrics::get(&metrics.connected),
                    ));
                }
            }
        }
        // Reap the waves that ended.
        let mut i = 0;
        while i < waves.len() {
            if waves[i].is_finished() {
                settle(waves.swap_remove(i).await, &mut first_error);
            } else {
                i += 1;
            }
        }
        if first_error.is_some() {
            break;
        }
    }
    for w in waves {
        settle(w.await, &mut first_error);
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let until = Instant::now() + Duration::from_secs(10);
    let mut undelivered = 0;
    for room in &tracks {
        undelivered += wait_delivered(room, until).await;
    }
    let run = start.elapsed();
    metrics.measuring.store(false, Ordering::Relaxed);
    // Every room has ended and every connection closed: wait (bounded) for the retention to
    // delete the rooms, then read the server.
    let waited = Instant::now();
    let mut rooms_left = live_rooms(target).await?;
    let until = waited + Duration::from_millis(crate::RETENTION_MS * 10);
    while rooms_left > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(250)).await;
        rooms_left = live_rooms(target).await?;
    }
    let retention_wait = waited.elapsed();
    let after = server.map(Proc::sample);
    let peak = samples
        .iter()
        .max_by_key(|(_, s, _)| s.rss_kib)
        .map(|(_, s, _)| *s);
    Ok(Figures {
        scenario: Scenario::Soak,
        connections: per_wave * WAVES * o.participants,
        setup: Duration::ZERO,
        join_phase: Duration::ZERO,
        run,
        acks: Metrics::get(&metrics.acks) - acks_before,
        events: Metrics::get(&metrics.events) - events_before,
        undelivered,
        server_base,
        server_connected: peak,
        server: server_before.zip(after),
        client: (client_before, client.sample()),
        others: Vec::new(),
        swap: None,
        failover: None,
        soak: Some(SoakFigures {
            samples,
            rooms: rooms_opened,
            after,
            rooms_left,
            retention_wait,
        }),
    })
}

/// One wave of the soak: the circle for `lifetime`, then the facilitator ends the session
/// and everyone closes.
async fn soak_wave(
    rooms: Vec<LoadRoom>,
    interval: Duration,
    lifetime: Duration,
    target: Target,
) -> anyhow::Result<()> {
    let (deadline_tx, deadline_rx) = watch::channel(None);
    let gate = Gate {
        barrier: Arc::new(Barrier::new(rooms.len() + 1)),
        deadline: deadline_rx,
    };
    let runs: Vec<_> = rooms
        .into_iter()
        .map(|room| {
            let (gate, target) = (gate.clone(), target.clone());
            tokio::spawn(async move {
                let mut room = circle_room(room, interval, gate, None, target).await?;
                room.host()?.command(Command::EndSession, true).await?;
                // Everyone reads the end before they go.
                wait_delivered(&room.room, Instant::now() + WAIT).await;
                for c in room.conns.drain(..) {
                    c.close().await;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    tokio::time::timeout(WAIT * 3, gate.barrier.wait())
        .await
        .context("a soak wave did not start in time")?;
    let _ = deadline_tx.send(Some(tokio::time::Instant::now() + lifetime));
    for r in runs {
        r.await??;
    }
    Ok(())
}
