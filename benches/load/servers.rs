//! The servers the bench starts as child processes of its own binary (`LOAD_CHILD`): the
//! bench's circlekeeper server over sled (`server`), a cluster's node (`node`, see
//! `cluster.rs`) — the bare broadcast server (`bare`) is in `bare.rs` — and [`ServerProc`],
//! which starts one, reads its addresses and stops it.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use circlekeeper::server::Settings;
use circlekeeper::store::{PgStore, SledStore, Store};
use circlekeeper::{AppState, Clock};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

// ----- the server process -------------------------------------------------------------------

/// The server's retention of ended rooms in the bench, ms: short, so that the soak can check
/// no room is left behind.
pub const RETENTION_MS: u64 = 2_000;

/// Tell the bench a child server's addresses (`ready ADDR ADDR …` on stdout), then wait until
/// the bench closes the child's stdin (or four hours pass).
pub(crate) async fn serve_until_stdin_closes(addrs: &[SocketAddr]) -> anyhow::Result<()> {
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    println!("ready {}", list.join(" "));
    std::io::stdout().flush().context("stdout")?;
    let eof = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        for _ in 0..10_000 {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    let _ = tokio::time::timeout(Duration::from_secs(4 * 3600), eof).await;
    Ok(())
}

/// The server, in a child process (this binary run with `LOAD_CHILD=server`): a sled store in
/// a temporary directory, `listeners` ports on 127.0.0.1, until its stdin closes.
pub(crate) fn server_child() -> anyhow::Result<()> {
    let listeners: usize = std::env::var("LOAD_LISTENERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .clamp(1, 64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let dir = tempfile::tempdir().context("a temporary directory")?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path())?);
        let mut bound = Vec::with_capacity(listeners);
        for _ in 0..listeners {
            // A deep accept queue, as the server binary's: thousands connect at once in the
            // storms.
            bound.push(circlekeeper::listen("127.0.0.1:0".parse()?)?);
        }
        let addrs: Vec<SocketAddr> = bound
            .iter()
            .map(TcpListener::local_addr)
            .collect::<std::io::Result<_>>()?;
        let mut settings = Settings::new(&format!("http://{}", addrs[0]));
        settings.rate_burst = 1e9;
        settings.rate_per_second = 1e9;
        settings.address_rate_burst = 1e9;
        settings.address_rate_per_second = 1e9;
        // Thousands of clients from four loopback addresses, and thousands of rooms opened
        // from one: the per-address limits are for the public, not for the bench.
        settings.max_connections_per_ip = 1_000_000;
        settings.rooms_per_ip_per_hour = 1_000_000;
        settings.max_rooms = 1_000_000;
        settings.idle_timeout = Duration::from_secs(3600);
        settings.shutdown_grace = Duration::from_secs(10);
        // Ended rooms (the soak ends its rooms) are deleted two seconds after the end.
        settings.retention = Duration::from_millis(RETENTION_MS);
        settings.retention_sweep = Duration::from_millis(RETENTION_MS / 4);
        let state = AppState::start(store, Clock::System, settings)?;
        let (stop, stopped) = watch::channel(false);
        let servers: Vec<_> = bound
            .into_iter()
            .map(|l| {
                let mut stopped = stopped.clone();
                let shutdown = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                tokio::spawn(circlekeeper::serve(l, state.clone(), shutdown))
            })
            .collect();
        serve_until_stdin_closes(&addrs).await?;
        let _ = stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(30), state.shutdown()).await;
        for s in servers {
            s.abort();
        }
        drop(state);
        anyhow::Ok(())
    })?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// A cluster's node (this binary run with `LOAD_CHILD=node` and the `circlekeeper` binary's
/// flags): what `src/main.rs` does with `--store postgres://…`, except that the per-connection
/// frame rate, which has no flag, is raised as for the bench's own server. Stops on SIGTERM
/// (closing every websocket with 1001 and releasing its leases) or when killed.
pub(crate) fn node_child() -> anyhow::Result<()> {
    let config = circlekeeper::config::Config::load()?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log).unwrap_or_default();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = circlekeeper::listen(config.addr)?;
        let addr = listener.local_addr()?;
        let url = config.store.as_ref().context("a node needs --store")?;
        let lease = Duration::from_secs(config.lease_secs);
        let store: Arc<dyn Store> =
            Arc::new(PgStore::open_node(url.secret(), &config.node(addr), lease)?);
        let mut settings = config.settings();
        settings.rate_burst = 1e9;
        settings.rate_per_second = 1e9;
        let state = AppState::start(store, Clock::System, settings)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(circlekeeper::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let _ = tokio::time::timeout(Duration::from_secs(4 * 3600), term.recv()).await;
        let _ = stop.send(());
        state.shutdown().await;
        let grace = state.settings().shutdown_grace;
        let _ = tokio::time::timeout(grace, server).await;
        anyhow::Ok(())
    })?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// The server's child process, stopped (or killed) when dropped.
pub(crate) struct ServerProc {
    child: Option<Child>,
    pub(crate) pid: u32,
    pub(crate) addrs: Vec<SocketAddr>,
}

impl ServerProc {
    pub(crate) fn start(listeners: usize) -> anyhow::Result<ServerProc> {
        ServerProc::start_child("server", listeners)
    }

    /// This binary as a child server: `LOAD_CHILD=server` (circlekeeper) or `bare` (the bare
    /// broadcast server).
    pub(crate) fn start_child(which: &str, listeners: usize) -> anyhow::Result<ServerProc> {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .env("LOAD_CHILD", which)
            .env("LOAD_LISTENERS", listeners.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("could not start the server process")?;
        let pid = child.id();
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut proc = ServerProc {
            child: Some(child),
            pid,
            addrs: Vec::new(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .context("the server process did not start in time")?;
        let Some(rest) = line.trim().strip_prefix("ready ") else {
            bail!("the server process said {line:?}, not `ready`");
        };
        proc.addrs = rest
            .split(' ')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .context("the server's addresses")?;
        Ok(proc)
    }

    /// Close its stdin, wait (bounded) for it to shut down, kill it if it will not.
    pub(crate) fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        drop(child.stdin.take());
        let until = Instant::now() + Duration::from_secs(40);
        while Instant::now() < until {
            if let Some(status) = child.try_wait()? {
                ensure!(status.success(), "the server process failed ({status})");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("the server process did not stop within 40 s and was killed")
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
