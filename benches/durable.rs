//! End-to-end benchmark of durability: how many commands per second the server acknowledges
//! when nothing is acknowledged before its writes are on disk, and how long each ack takes.
//!
//! Each scenario starts an in-process server (`AppState::start` over `SledStore::open` in a
//! fresh temporary directory: a real on-disk store, flushed by the group-commit thread) on
//! `127.0.0.1:0`, with rate limits raised out of the way. Real websocket clients each open a
//! room (`POST /api/rooms`), host it, accept the ground rules and start it, then send
//! `raise_hand` / `lower_hand` alternately, one at a time, each waiting for its ack (the event
//! frame comes first). Scenarios: one room alone (one flush per command), 64 and 256 rooms at
//! once (group commit shares flushes), and 64 rooms again over a store whose `flush` does
//! nothing, to show what durability costs.
//!
//! The server does not expose its committer's counters, so the store is wrapped in a counter
//! of its own: flushes (one per group-commit batch while clients run) and the time they take.
//!
//! (An earlier run of this bench found every ack waiting ~44 ms under Nagle's algorithm; the
//! server now sets `TCP_NODELAY` and writes an event and its ack with one flush.)
//!
//! Run: `cargo bench --bench durable` (about 30 s on two cores). `DURABLE_SECS` sets how long
//! each scenario runs (default 3); `DURABLE_DIR` where the temporary stores go (default: the
//! system temporary directory — point it at the disk you mean to measure).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use circlekeeper::server::Settings;
use circlekeeper::store::{Loaded, RoomRecord, SledStore, Store, StoreError, Write};
use circlekeeper::{AppState, Clock};
use circlekeeper_protocol::{ClientMessage, Command, ServerMessage, PROTOCOL_VERSION};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long each scenario runs, unless `DURABLE_SECS` says otherwise.
const DEFAULT_RUN: Duration = Duration::from_secs(3);
/// Longest any single wait (a handshake, an answer) may take before the bench gives up.
const WAIT: Duration = Duration::from_secs(10);
/// Most commands one client sends in one scenario.
const MAX_COMMANDS_PER_CLIENT: usize = 1_000_000;
/// Most frames a client reads while waiting for one answer.
const MAX_FRAMES_PER_ANSWER: usize = 64;
/// How long the raw fdatasync probe runs, and how many syncs it does at most.
const PROBE_RUN: Duration = Duration::from_millis(500);
const PROBE_MAX: usize = 2_000;

/// The room every client opens: one open-floor discussion stage of four hours.
const ROOM_BODY: &str = r#"{"title":"bench","format":{"name":"Bench","stages":[{"kind":"discussion","title":"Open floor","timebox_ms":14400000,"speaking":"hand_queue"}]}}"#;

/// What one scenario measures.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    name: &'static str,
    rooms: usize,
    durable: bool,
}

/// The scenarios.
const SCENARIOS: [(&str, usize, bool); 4] = [
    ("alone", 1, true),
    ("under load", 64, true),
    ("under heavy load", 256, true),
    ("under load, flush off (not durable)", 64, false),
];

// ----- stores -------------------------------------------------------------------------------

/// A sled store whose `flush` does nothing: durability off, everything else the same. (sled's
/// own background thread still syncs its file every half second.)
struct NoFlush(SledStore);

impl Store for NoFlush {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.0.put_room(id, record)
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.0.write(writes)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
        self.0.rooms()
    }

    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        self.0.room(id)
    }

    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        self.0.load(id)
    }

    fn series(&self) -> Result<Vec<circlekeeper::series::SeriesRecord>, StoreError> {
        self.0.series()
    }
}

/// What the counting wrapper saw.
#[derive(Debug, Default)]
struct Counters {
    flushes: AtomicU64,
    flush_nanos: AtomicU64,
    max_flush_nanos: AtomicU64,
    write_calls: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default)]
struct Counted {
    flushes: u64,
    flush_nanos: u64,
    write_calls: u64,
}

impl Counters {
    fn read(&self) -> Counted {
        Counted {
            flushes: self.flushes.load(Ordering::Relaxed),
            flush_nanos: self.flush_nanos.load(Ordering::Relaxed),
            write_calls: self.write_calls.load(Ordering::Relaxed),
        }
    }
}

/// A store that counts its flushes and times them. The group-commit thread calls `write` then
/// `flush` once per batch, so while clients run the flush count is the batch count.
struct Counting<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S: Store> Store for Counting<S> {
    fn put_room(&self, id: &str, record: &RoomRecord) -> Result<(), StoreError> {
        self.inner.put_room(id, record)
    }

    fn write(&self, writes: &[Write]) -> Result<(), StoreError> {
        self.counters.write_calls.fetch_add(1, Ordering::Relaxed);
        self.inner.write(writes)
    }

    fn flush(&self) -> Result<(), StoreError> {
        let t = Instant::now();
        let result = self.inner.flush();
        let nanos = t.elapsed().as_nanos() as u64;
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);
        self.counters
            .flush_nanos
            .fetch_add(nanos, Ordering::Relaxed);
        self.counters
            .max_flush_nanos
            .fetch_max(nanos, Ordering::Relaxed);
        result
    }

    fn rooms(&self) -> Result<Vec<(String, RoomRecord)>, StoreError> {
        self.inner.rooms()
    }

    fn room(&self, id: &str) -> Result<Option<RoomRecord>, StoreError> {
        self.inner.room(id)
    }

    fn load(&self, id: &str) -> Result<Loaded, StoreError> {
        self.inner.load(id)
    }

    fn series(&self) -> Result<Vec<circlekeeper::series::SeriesRecord>, StoreError> {
        self.inner.series()
    }
}

// ----- clients ------------------------------------------------------------------------------

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One websocket client hosting one room.
struct Client {
    ws: Socket,
    next_id: u64,
}

impl Client {
    /// Open a room, host it, accept the ground rules and start the session.
    async fn ready(addr: SocketAddr) -> anyhow::Result<Client> {
        let room = common::create_room(addr, ROOM_BODY, WAIT).await?;
        let mut request = format!("ws://{addr}/ws?v={PROTOCOL_VERSION}").into_client_request()?;
        request
            .headers_mut()
            .insert("origin", format!("http://{addr}").parse()?);
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .context("no websocket handshake in time")??;
        let mut client = Client { ws, next_id: 0 };
        client
            .command(Command::Host {
                room: room.room_id,
                key: room.host_key,
                name: "Bench".into(),
            })
            .await?;
        client.command(Command::AcceptGroundRules).await?;
        client.command(Command::Start).await?;
        Ok(client)
    }

    /// Send a command and wait for the welcome or ack answering it; returns how many event
    /// frames came first.
    async fn command(&mut self, command: Command) -> anyhow::Result<usize> {
        self.next_id += 1;
        let id = format!("c{}", self.next_id);
        let frame = serde_json::to_string(&ClientMessage {
            id: id.clone(),
            command,
        })?;
        self.ws.send(Message::text(frame)).await?;
        let mut events = 0;
        for _ in 0..MAX_FRAMES_PER_ANSWER {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .with_context(|| format!("no answer to {id} in time"))?
                .with_context(|| format!("the server closed before answering {id}"))??;
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(frame) => bail!("the server closed ({frame:?}) before {id}"),
                _ => continue,
            };
            match serde_json::from_str::<ServerMessage>(text.as_str())? {
                ServerMessage::Event { .. } => events += 1,
                ServerMessage::Ack { id: a, .. } | ServerMessage::Welcome { id: a, .. }
                    if a == id =>
                {
                    return Ok(events)
                }
                ServerMessage::Error { code, message, .. } => {
                    bail!("{id} refused: {} ({message})", code.as_str())
                }
                _ => {}
            }
        }
        bail!("no answer to {id} within {MAX_FRAMES_PER_ANSWER} frames")
    }

    /// Raise and lower the hand, one command at a time, until `deadline`. Returns each ack's
    /// latency in microseconds, the events seen, and when the last ack came.
    async fn run(mut self, deadline: Instant) -> anyhow::Result<(Vec<u64>, usize, Instant)> {
        let mut latencies = Vec::with_capacity(4096);
        let mut events = 0;
        while Instant::now() < deadline && latencies.len() < MAX_COMMANDS_PER_CLIENT {
            let command = if latencies.len() % 2 == 0 {
                Command::RaiseHand
            } else {
                Command::LowerHand { participant: None }
            };
            let t = Instant::now();
            events += self.command(command).await?;
            latencies.push(t.elapsed().as_micros() as u64);
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
        Ok((latencies, events, Instant::now()))
    }
}

// ----- scenarios ----------------------------------------------------------------------------

/// What one scenario measured.
struct Outcome {
    commands: usize,
    events: usize,
    elapsed: Duration,
    /// Sorted, microseconds.
    latencies: Vec<u64>,
    counted: Counted,
    max_flush: Duration,
    setup: Duration,
}

async fn run_scenario(sc: &Scenario, base: &Path, run: Duration) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir_in(base).context("a temporary directory")?;
    let sled = SledStore::open(dir.path())?;
    let counters = Arc::new(Counters::default());
    let store: Arc<dyn Store> = if sc.durable {
        Arc::new(Counting {
            inner: sled,
            counters: Arc::clone(&counters),
        })
    } else {
        Arc::new(Counting {
            inner: NoFlush(sled),
            counters: Arc::clone(&counters),
        })
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut settings = Settings::new(&format!("http://{addr}"));
    settings.rate_burst = 1e9;
    settings.rate_per_second = 1e9;
    settings.address_rate_burst = 1e9;
    settings.address_rate_per_second = 1e9;
    settings.rooms_per_ip_per_hour = 1_000_000;
    settings.shutdown_grace = Duration::from_secs(5);
    let state = AppState::start(store, Clock::System, settings)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async move {
        let _ = stopped.await;
    };
    let server = tokio::spawn(circlekeeper::serve(listener, state.clone(), stopped));

    let outcome = tokio::time::timeout(
        run + Duration::from_secs(120),
        drive(addr, sc, run, &counters),
    )
    .await
    .context("the scenario did not finish in time")
    .and_then(|r| r);

    let _ = stop.send(());
    state.shutdown().await;
    server.abort();
    let _ = server.await;
    drop(state);
    outcome
}

async fn drive(
    addr: SocketAddr,
    sc: &Scenario,
    run: Duration,
    counters: &Counters,
) -> anyhow::Result<Outcome> {
    let setup_start = Instant::now();
    let setups: Vec<_> = (0..sc.rooms)
        .map(|_| tokio::spawn(Client::ready(addr)))
        .collect();
    let mut clients = Vec::with_capacity(sc.rooms);
    for s in setups {
        clients.push(s.await??);
    }
    let setup = setup_start.elapsed();

    let before = counters.read();
    counters.max_flush_nanos.store(0, Ordering::Relaxed);
    let start = Instant::now();
    let deadline = start + run;
    let runs: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(c.run(deadline)))
        .collect();
    let mut latencies = Vec::new();
    let mut events = 0;
    let mut end = start;
    for r in runs {
        let (l, e, at) = r.await??;
        latencies.extend(l);
        events += e;
        end = end.max(at);
    }
    let after = counters.read();
    let max_flush = counters.max_flush_nanos.load(Ordering::Relaxed);
    latencies.sort_unstable();
    Ok(Outcome {
        commands: latencies.len(),
        events,
        elapsed: end - start,
        latencies,
        counted: Counted {
            flushes: after.flushes - before.flushes,
            flush_nanos: after.flush_nanos - before.flush_nanos,
            write_calls: after.write_calls - before.write_calls,
        },
        max_flush: Duration::from_nanos(max_flush),
        setup,
    })
}

// ----- the machine --------------------------------------------------------------------------

/// The filesystem holding `path`: type and device of the longest mount point above it.
fn filesystem(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return "unknown filesystem".into();
    };
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, at, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(at)
                .then(|| (at.len(), format!("{kind} ({dev})")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown filesystem".into(), |(_, fs)| fs)
}

/// Append 4 KiB and `fdatasync`, over and over: what one real sync costs on this filesystem.
/// Returns sorted microseconds.
fn fdatasync_probe(base: &Path) -> anyhow::Result<Vec<u64>> {
    use std::io::Write as _;
    let dir = tempfile::tempdir_in(base)?;
    let mut file = std::fs::File::create(dir.path().join("probe"))?;
    let block = [0x5au8; 4096];
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < PROBE_RUN && samples.len() < PROBE_MAX {
        file.write_all(&block)?;
        let t = Instant::now();
        file.sync_data()?;
        samples.push(t.elapsed().as_micros() as u64);
    }
    samples.sort_unstable();
    Ok(samples)
}

// ----- report -------------------------------------------------------------------------------

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let run = std::env::var("DURABLE_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DEFAULT_RUN, |s| Duration::from_secs_f64(s.clamp(0.2, 60.0)));
    let base: PathBuf = std::env::var_os("DURABLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);

    let probe = fdatasync_probe(&base)?;
    println!(
        "durable acknowledged commands — {} — stores in {} on {} — {:.1} s per scenario",
        common::machine_line(),
        base.display(),
        filesystem(&base),
        run.as_secs_f64()
    );
    println!(
        "raw `fdatasync` after a 4 KiB append on that filesystem: p50 {}, p99 {} ({} syncs)",
        ms(percentile(&probe, 0.50)),
        ms(percentile(&probe, 0.99)),
        probe.len()
    );
    println!();

    let scenarios = SCENARIOS
        .into_iter()
        .map(|(name, rooms, durable)| Scenario {
            name,
            rooms,
            durable,
        });
    let mut rows = Vec::new();
    for sc in scenarios {
        let o = run_scenario(&sc, &base, run)
            .await
            .with_context(|| format!("scenario {sc:?}"))?;
        ensure!(
            o.events == o.commands,
            "{}: {} events for {} commands; each should produce one",
            sc.name,
            o.events,
            o.commands
        );
        eprintln!(
            "{}: {} rooms ready in {:.2} s; {} commands, {} flushes, {} write \
             batches in {:.2} s",
            sc.name,
            sc.rooms,
            o.setup.as_secs_f64(),
            o.commands,
            o.counted.flushes,
            o.counted.write_calls,
            o.elapsed.as_secs_f64()
        );
        rows.push((sc, o));
    }

    println!(
        "| scenario | rooms × clients | acked commands/s | p50 ack | p99 ack \
         | max ack | commands per flush | mean flush | max flush | flushing |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (sc, o) in &rows {
        let secs = o.elapsed.as_secs_f64().max(1e-9);
        let flushes = o.counted.flushes.max(1);
        println!(
            "| {} | {} × 1 | {:.0} | {} | {} | {} | {:.1} | {} | {} | {:.0} % |",
            sc.name,
            sc.rooms,
            o.commands as f64 / secs,
            ms(percentile(&o.latencies, 0.50)),
            ms(percentile(&o.latencies, 0.99)),
            ms(o.latencies.last().copied().unwrap_or(0)),
            o.commands as f64 / flushes as f64,
            ms(o.counted.flush_nanos / flushes / 1000),
            ms(o.max_flush.as_micros() as u64),
            o.counted.flush_nanos as f64 / 1e9 / secs * 100.0,
        );
    }
    println!();
    println!(
        "Each client sends `raise_hand` / `lower_hand` one at a time and waits for its ack (one \
         event each). Flushes are counted by a wrapper around the store (the server does not \
         expose its committer's counters): while clients run, one flush is one group-commit \
         batch. \"flushing\" is the share of wall time the commit thread spent in `flush`."
    );
    Ok(())
}
