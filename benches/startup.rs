//! How long the server takes to start over a store that holds many rooms, and how much memory
//! it holds then: the cost of bringing rooms back.
//!
//! The bench writes `STARTUP_ROOMS` rooms (default 20,000) into a fresh on-disk store through
//! the `Store` trait, as the server would have: each room's record, eight participants who
//! joined (events made by the real room state machine), their token hashes, a started session
//! and a snapshot. Then it starts the release binary on that data directory (`--addr
//! 127.0.0.1:0`), and reports the time from spawn to the `circlekeeper listening` line, the
//! server's resident memory once it listens, and again after one room is opened over HTTP
//! (proof that it serves). It kills the server at the end; nothing outlives the bench.
//!
//! Run: `cargo bench --bench startup` (about a minute on two cores). `STARTUP_ROOMS` sets the
//! number of rooms.

use std::io::{BufRead, BufReader};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use circlekeeper::room::{Room, RoomSetup};
use circlekeeper::store::{RoomRecord, SledStore, Snapshot, Store, StoredEvent, Write};
use circlekeeper_protocol::{Command, Standing};

/// Rooms written, unless `STARTUP_ROOMS` says otherwise.
const DEFAULT_ROOMS: usize = 20_000;
/// People in each room.
const PEOPLE: usize = 8;
/// Rooms written per store batch.
const BATCH: usize = 500;
/// Longest the server may take to listen.
const BOOT: Duration = Duration::from_secs(600);

fn setup(id: String) -> anyhow::Result<RoomSetup> {
    let format = circlekeeper::formats::builtin("action_learning_set").context("a format")?;
    Ok(RoomSetup {
        id,
        title: "Tuesday set".into(),
        format,
        ground_rules: "What is said here stays here.".into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        earlier: Vec::new(),
        calls: Default::default(),
    })
}

/// One room's writes: its record, its people's joins, tokens, a start and a snapshot.
fn room_writes(i: usize, now: u64) -> anyhow::Result<Vec<Write>> {
    let id = format!("bench{i:08}");
    let setup = setup(id.clone())?;
    let mut room = Room::new(setup.clone());
    let mut events: Vec<StoredEvent> = Vec::new();
    let mut writes = vec![Write::Room {
        record: Box::new(RoomRecord {
            setup,
            join_key_hash: [1; 32],
            host_key_hash: [2; 32],
            join_key: circlekeeper::secret::KeptKey::Unknown,
            created_at: now,
            ended_at: None,
            series: None,
        }),
    }];
    let mut host = 0;
    for p in 0..PEOPLE {
        let standing = if p == 0 {
            Standing::Facilitator
        } else {
            Standing::Participant
        };
        let (who, joined) = room
            .join(now, &format!("Person {p}"), standing)
            .map_err(|r| anyhow::anyhow!("join: {}", r.message))?;
        if p == 0 {
            host = who;
        }
        events.extend(joined.iter().map(|r| StoredEvent::new(r, None)));
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&(i as u64).to_be_bytes());
        hash[8] = p as u8;
        writes.push(Write::Token {
            room: id.clone(),
            hash,
            participant: who,
        });
    }
    for command in [Command::AcceptGroundRules, Command::Start] {
        if let Ok(applied) = room.apply(now, host, &command) {
            events.extend(applied.events.iter().map(|r| StoredEvent::new(r, None)));
        }
    }
    writes.push(Write::Events {
        room: id.clone(),
        events,
    });
    writes.push(Write::Snapshot {
        room: id,
        snapshot: Box::new(Snapshot { room }),
    });
    Ok(writes)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    if !std::env::args().any(|a| a == "--bench") {
        println!("startup: run with `cargo bench --bench startup`");
        return Ok(());
    }
    let rooms: usize = std::env::var("STARTUP_ROOMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROOMS);
    let dir = tempfile::tempdir()?;
    let written = Instant::now();
    {
        let store = SledStore::open(dir.path())?;
        let now = 1_800_000_000_000;
        let mut batch = Vec::new();
        for i in 0..rooms {
            batch.extend(room_writes(i, now)?);
            if (i + 1) % BATCH == 0 || i + 1 == rooms {
                store.write(&batch)?;
                batch.clear();
            }
        }
        store.flush()?;
    }
    let bytes: u64 = walk(dir.path());
    println!(
        "wrote {rooms} rooms ({PEOPLE} people each, snapshot included) in {:.1} s; data directory {:.1} MiB",
        written.elapsed().as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0)
    );

    let started = Instant::now();
    let mut child = Process::new(env!("CARGO_BIN_EXE_circlekeeper"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--log",
            "info",
            "--max-rooms",
            "100000",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start the server")?;
    let pid = child.id();
    let stdout = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut addr = None;
    while started.elapsed() < BOOT {
        let Some(Ok(line)) = lines.next() else { break };
        if line.contains("circlekeeper listening") {
            addr = line
                .split_whitespace()
                .find_map(|f| f.strip_prefix("addr="))
                .map(str::to_string);
            break;
        }
    }
    let listening = started.elapsed();
    let Some(addr) = addr else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("the server did not listen");
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let rss_listening = rss_kib(pid);
    let served = open_room(&addr);
    let rss_served = rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    served?;
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!(
        "start with {rooms} stored rooms: listening after {:.2} s; resident memory {:.1} MiB then, {:.1} MiB after opening one room",
        listening.as_secs_f64(),
        rss_listening as f64 / 1024.0,
        rss_served as f64 / 1024.0
    );
    Ok(())
}

/// `POST /api/rooms` over a plain TCP connection: the server answers 201.
fn open_room(addr: &str) -> anyhow::Result<()> {
    use std::io::{Read, Write as _};
    let body = r#"{"title":"after start","format":"action_learning_set"}"#;
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "POST /api/rooms HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    if !answer.starts_with("HTTP/1.1 201") {
        bail!(
            "opening a room: {}",
            answer.lines().next().unwrap_or_default()
        );
    }
    Ok(())
}

fn walk(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
