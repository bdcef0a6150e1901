//! The cluster the bench can load instead of its own single server (`--cluster 3`): a real
//! PostgreSQL 15 (started by `tests/common/postgres.rs`, then restarted with `fsync` on unless
//! `--pg-fsync off`), three circlekeeper nodes on it, each `--store URL --node-id nodeN --addr
//! 127.0.0.1:PORT --trusted-proxies 127.0.0.1` with the per-address limits raised, and HAProxy
//! with the shipped `deploy/haproxy.cfg` in front (its `CK_*` variables pointing at the nodes,
//! the per-address caps raised), plus a second file giving it a stats socket, which the bench
//! reads to see when HAProxy takes a node out and puts it back.
//!
//! A node is, by default, this bench binary run as `LOAD_CHILD=node`: it parses the same flags
//! as the `circlekeeper` binary (`Config::load`) and runs the same code as `src/main.rs`
//! (listen, `PgStore::open_node`, `AppState::start`, `serve`, SIGTERM hand-over), with one
//! difference: the per-connection frame rate (30 frames, 10 a second), which has no flag, is
//! raised as for the bench's own server, or the burst is refused. `--node-bin PATH` runs a
//! real binary (`target/release/circlekeeper`) instead.
//!
//! Every node and HAProxy runs under a small `sh` wrapper that holds a pipe from the bench and
//! kills its program (`kill -9`) when that pipe closes: when the bench ends, however it ends
//! (an error, a panic, a kill), no node or proxy outlives it. Dropping the [`Cluster`] kills
//! them at once and stops PostgreSQL (`pg_ctl stop -m immediate`, bounded). Every wait is
//! bounded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common;
use crate::postgres::{Postgres, BIN, USER};

/// Runs `"$@"` with its output appended to the log `$1`; prints its pid; kills it when its
/// own stdin (a pipe from the bench) closes.
const WRAPPER: &str = r#"log=$1; shift; "$@" >>"$log" 2>&1 </dev/null & p=$!; echo $p; read -r _; kill -9 $p 2>/dev/null; exit 0"#;

/// The shipped proxy configuration.
const HAPROXY_CFG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy.cfg");

/// How long a node or the proxy may take to answer `/readyz` after it starts.
const START_WAIT: Duration = Duration::from_secs(60);

/// What the cluster is made of.
#[derive(Debug, Clone)]
pub struct ClusterOpts {
    /// `--lease-secs` of every node.
    pub lease_secs: u64,
    /// HAProxy's `CK_CHECK_INTER` (how often it asks each node's `/readyz`).
    pub check_inter: String,
    /// A node binary to run instead of this bench as `LOAD_CHILD=node`.
    pub node_bin: Option<PathBuf>,
    /// PostgreSQL's `fsync` (on: a commit waits for the WAL on disk, as sled's `fdatasync`).
    pub pg_fsync: bool,
}

/// A program under the wrapper: its pid, killed when the wrapper's stdin closes.
struct Wrapped {
    wrapper: Child,
    pid: u32,
}

impl Wrapped {
    fn spawn(
        program: &Path,
        args: &[String],
        envs: &[(String, String)],
        log: &Path,
    ) -> anyhow::Result<Wrapped> {
        let mut wrapper = Command::new("sh")
            .arg("-c")
            .arg(WRAPPER)
            .arg("sh")
            .arg(log)
            .arg(program)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let stdout = wrapper.stdout.take().context("the wrapper's stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut w = Wrapped { wrapper, pid: 0 };
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .with_context(|| format!("{} did not start", program.display()))?;
        w.pid = line.trim().parse().with_context(|| {
            format!("{}: no pid from the wrapper ({line:?})", program.display())
        })?;
        Ok(w)
    }

    /// `kill -9` the program, then let the wrapper go (bounded).
    fn kill(mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .stderr(Stdio::null())
            .status();
        drop(self.wrapper.stdin.take());
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.wrapper.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.wrapper.kill();
        let _ = self.wrapper.wait();
    }
}

/// One circlekeeper node.
pub struct Node {
    /// Its `--node-id`.
    pub name: String,
    /// Where it listens.
    pub addr: SocketAddr,
    proc: Option<Wrapped>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    program: PathBuf,
    log: PathBuf,
}

impl Node {
    /// Its pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(|p| p.pid)
    }

    /// Start it and wait (bounded) for its `/readyz`.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        ensure!(self.proc.is_none(), "{} is running already", self.name);
        self.proc = Some(Wrapped::spawn(
            &self.program,
            &self.args,
            &self.envs,
            &self.log,
        )?);
        wait_ready(self.addr, &self.name, &self.log).await
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill();
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Poll `GET /readyz` at `addr` until it answers 200 (bounded).
async fn wait_ready(addr: SocketAddr, what: &str, log: &Path) -> anyhow::Result<()> {
    let until = Instant::now() + START_WAIT;
    let mut last = String::new();
    while Instant::now() < until {
        match common::http(addr, "GET", "/readyz", "", Duration::from_secs(2)).await {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tail: String = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .join("\n");
    bail!("{what} at {addr} not ready within {START_WAIT:?} ({last}); its log ends:\n{tail}")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// PostgreSQL, three nodes on it, HAProxy in front.
pub struct Cluster {
    /// The nodes, `node1`…
    pub nodes: Vec<Node>,
    haproxy: Option<Wrapped>,
    /// Where HAProxy listens: the address every client uses.
    pub proxy: SocketAddr,
    stats: PathBuf,
    /// The database's URL.
    pub url: String,
    pg_pid: u32,
    pg_log: PathBuf,
    dir: tempfile::TempDir,
    // Dropped last: PostgreSQL stops after the nodes.
    _pg: Postgres,
}

/// Is `program` on PATH (or a path that exists)?
fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Cluster {
    /// Start PostgreSQL, the nodes and HAProxy; `None` (printed) when PostgreSQL or HAProxy
    /// is not installed and `CI` is not set (with `CI` set, that is an error).
    pub async fn start(o: &ClusterOpts, nodes: usize) -> anyhow::Result<Option<Cluster>> {
        ensure!(
            nodes == 3,
            "--cluster: the shipped deploy/haproxy.cfg names three nodes"
        );
        if !on_path("haproxy") {
            let why = "haproxy is not installed (apt-get install haproxy)";
            ensure!(
                std::env::var_os("CI").is_none(),
                "the cluster bench needs HAProxy in CI: {why}"
            );
            eprintln!("SKIPPED the cluster: {why}");
            return Ok(None);
        }
        let Some(pg) = Postgres::start("load bench cluster") else {
            return Ok(None);
        };
        let (url, pg_pid, pg_log) = configure_postgres(&pg, o.pg_fsync)?;
        let dir = tempfile::tempdir()?;
        let proxy: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let (program, envs) = match &o.node_bin {
            Some(bin) => (bin.clone(), Vec::new()),
            None => (
                std::env::current_exe()?,
                vec![("LOAD_CHILD".to_string(), "node".to_string())],
            ),
        };
        let mut list = Vec::with_capacity(nodes);
        for n in 1..=nodes {
            let name = format!("node{n}");
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
            let data = dir.path().join(&name);
            let args: Vec<String> = [
                "--store",
                &url,
                "--node-id",
                &name,
                "--addr",
                &addr.to_string(),
                "--trusted-proxies",
                "127.0.0.1",
                "--public-url",
                &format!("http://{proxy}"),
                "--data-dir",
                &data.to_string_lossy(),
                "--lease-secs",
                &o.lease_secs.to_string(),
                // The per-address limits raised as for the bench's own server: thousands of
                // clients from four loopback addresses.
                "--max-connections-per-ip",
                "1000000",
                "--rooms-per-ip-per-hour",
                "1000000",
                "--max-rooms",
                "1000000",
                "--frames-per-ip-per-second",
                "1000000",
                "--max-failed-entries",
                "1000000",
                "--idle-timeout-secs",
                "3600",
                "--log",
                "info",
            ]
            .iter()
            .map(ToString::to_string)
            .collect();
            list.push(Node {
                log: dir.path().join(format!("{name}.log")),
                name,
                addr,
                proc: None,
                args,
                envs: envs.clone(),
                program: program.clone(),
            });
        }
        let stats = dir.path().join("haproxy.sock");
        let mut cluster = Cluster {
            nodes: list,
            haproxy: None,
            proxy,
            stats,
            url,
            pg_pid,
            pg_log,
            dir,
            _pg: pg,
        };
        for node in &mut cluster.nodes {
            node.start().await?;
        }
        cluster.start_haproxy(o).await?;
        Ok(Some(cluster))
    }

    async fn start_haproxy(&mut self, o: &ClusterOpts) -> anyhow::Result<()> {
        let extra = self.dir.path().join("stats.cfg");
        std::fs::write(
            &extra,
            format!(
                "global\n    stats socket {} mode 600 level admin\n",
                self.stats.display()
            ),
        )?;
        let mut envs = vec![
            ("CK_BIND".to_string(), self.proxy.to_string()),
            ("CK_CHECK_INTER".to_string(), o.check_inter.clone()),
            // Raised for the bench: thousands of connections and rooms from four addresses.
            ("CK_MAX_CONN_PER_IP".to_string(), "1000000".to_string()),
            (
                "CK_ROOMS_PER_IP_PER_HOUR".to_string(),
                "1000000".to_string(),
            ),
        ];
        for (i, n) in self.nodes.iter().enumerate() {
            envs.push((format!("CK_NODE{}", i + 1), n.addr.to_string()));
        }
        let log = self.dir.path().join("haproxy.log");
        let args: Vec<String> = ["-db", "-f", HAPROXY_CFG, "-f"]
            .iter()
            .map(ToString::to_string)
            .chain([extra.to_string_lossy().to_string()])
            .collect();
        self.haproxy = Some(Wrapped::spawn(Path::new("haproxy"), &args, &envs, &log)?);
        wait_ready(self.proxy, "HAProxy", &log).await?;
        for n in 0..self.nodes.len() {
            self.wait_proxy_state(n, "UP", START_WAIT).await?;
        }
        Ok(())
    }

    /// The nodes' pids (those running).
    pub fn node_pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(Node::pid).collect()
    }

    /// HAProxy's pid.
    pub fn haproxy_pid(&self) -> Option<u32> {
        self.haproxy.as_ref().map(|p| p.pid)
    }

    /// The postmaster's pid (its backends are its children).
    pub fn postgres_pid(&self) -> u32 {
        self.pg_pid
    }

    /// HAProxy's state of node `n` (`UP`, `DOWN`, `UP 1/2`, …), from its stats socket.
    pub async fn proxy_state(&self, n: usize) -> anyhow::Result<String> {
        let exchange = async {
            let mut s = tokio::net::UnixStream::connect(&self.stats).await?;
            s.write_all(b"show stat\n").await?;
            let mut out = String::new();
            s.read_to_string(&mut out).await?;
            anyhow::Ok(out)
        };
        let csv = tokio::time::timeout(Duration::from_secs(2), exchange)
            .await
            .context("HAProxy's stats socket did not answer in time")??;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (px, sv, st) = (
            col("pxname").context("no pxname")?,
            col("svname").context("no svname")?,
            col("status").context("no status")?,
        );
        let name = &self.nodes[n].name;
        for l in lines {
            let f: Vec<&str> = l.split(',').collect();
            if f.get(px) == Some(&"nodes") && f.get(sv) == Some(&name.as_str()) {
                return Ok(f.get(st).unwrap_or(&"").to_string());
            }
        }
        bail!("HAProxy does not list {name}")
    }

    /// Wait (bounded) until HAProxy shows node `n` in `state` (`UP` or `DOWN`); how long.
    pub async fn wait_proxy_state(
        &self,
        n: usize,
        state: &str,
        within: Duration,
    ) -> anyhow::Result<Duration> {
        let t0 = Instant::now();
        let mut last = String::new();
        while t0.elapsed() < within {
            last = self.proxy_state(n).await?;
            if last == state {
                return Ok(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!(
            "HAProxy did not show {} {state} within {within:?} (it shows {last})",
            self.nodes[n].name
        )
    }

    /// Which node holds each room's lease: room id → node id (`""` once released).
    pub async fn room_owners(&self) -> anyhow::Result<HashMap<String, String>> {
        let url = self.url.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        // The synchronous client may not run on a tokio thread.
        std::thread::spawn(move || {
            let read = || -> anyhow::Result<HashMap<String, String>> {
                let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
                let rows = client.query(
                    "SELECT substr(owner, 6), node FROM leases WHERE owner LIKE 'room:%'",
                    &[],
                )?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            };
            let _ = tx.send(read());
        });
        tokio::time::timeout(Duration::from_secs(20), rx)
            .await
            .context("the leases were not read in time")?
            .context("the leases reader ended")?
    }

    /// Copy every node's log, HAProxy's and PostgreSQL's into `dir` (they are deleted with
    /// the cluster).
    pub fn save_logs(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        for n in &self.nodes {
            std::fs::write(dir.join(format!("{}.log", n.name)), strip_ansi(&n.log()))?;
        }
        std::fs::copy(self.dir.path().join("haproxy.log"), dir.join("haproxy.log"))?;
        std::fs::copy(&self.pg_log, dir.join("postgresql.log"))?;
        Ok(())
    }

    /// The last lines of each node's log that are warnings or errors (at most `max` each).
    pub fn log_problems(&self, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        for n in &self.nodes {
            let log = strip_ansi(&n.log());
            let bad: Vec<&str> = log
                .lines()
                .filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("panicked"))
                .collect();
            let skip = bad.len().saturating_sub(max);
            out.extend(
                bad.into_iter()
                    .skip(skip)
                    .map(|l| format!("{}: {l}", n.name)),
            );
        }
        out
    }
}

/// `text` without terminal colour sequences (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(h) = self.haproxy.take() {
            h.kill();
        }
        for n in &mut self.nodes {
            n.kill();
        }
        // `pg` is dropped after this: `pg_ctl stop -m immediate`.
    }
}

/// Turn `fsync` on (the test harness starts PostgreSQL without it) and allow connections
/// for three nodes: restart the server with the harness's options but those two. Returns a
/// fresh database's URL, the postmaster's pid and its log file.
fn configure_postgres(pg: &Postgres, fsync: bool) -> anyhow::Result<(String, u32, PathBuf)> {
    let admin = pg.url("postgres");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let read = || -> anyhow::Result<(String, String)> {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)?;
            let data: String = client.query_one("SHOW data_directory", &[])?.get(0);
            let socket: String = client
                .query_one("SHOW unix_socket_directories", &[])?
                .get(0);
            Ok((data, socket))
        };
        let _ = tx.send(read());
    });
    let (data, socket) = rx
        .recv_timeout(Duration::from_secs(20))
        .context("PostgreSQL did not answer in time")??;
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={socket} \
         -c fsync={} -c max_connections=200",
        pg.port,
        if fsync { "on" } else { "off" }
    );
    let pg_ctl = PathBuf::from(BIN).join("pg_ctl");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut restart = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", USER, "--"]).arg(&pg_ctl);
        c
    } else {
        Command::new(&pg_ctl)
    };
    // The harness's log file: without `-l` the server would hold our output pipe open.
    let log = Path::new(&data)
        .parent()
        .context("the data directory's parent")?
        .join("server.log");
    let log_path = log.clone();
    let log = log.to_string_lossy().to_string();
    let out = restart
        .args([
            "restart", "-D", &data, "-l", &log, "-m", "fast", "-w", "-t", "30", "-o", &options,
        ])
        .stdin(Stdio::null())
        .output()
        .context("pg_ctl restart")?;
    ensure!(
        out.status.success(),
        "pg_ctl restart failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pid_file = std::fs::read_to_string(Path::new(&data).join("postmaster.pid"))
        .context("postmaster.pid")?;
    let pid = pid_file
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .context("no pid in postmaster.pid")?;
    Ok((pg.fresh_database(), pid, log_path))
}
