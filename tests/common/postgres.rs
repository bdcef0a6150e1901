//! A real PostgreSQL 15 for the tests: Debian's server binaries (`/usr/lib/postgresql/15/bin`,
//! package `postgresql`), a cluster made by `initdb` in a temporary directory and started by
//! `pg_ctl` on a free 127.0.0.1 port, its socket in that directory. PostgreSQL refuses to run
//! as root, so when the tests run as root the server runs as the system user
//! `circlekeeper-test` (created here if missing) through `runuser`. Dropping a [`Postgres`]
//! stops the server (`pg_ctl stop -m immediate`, bounded; then SIGKILL of the postmaster) and
//! removes the directory.
//!
//! Outages and fail-over: [`Postgres::stop`] and [`Postgres::start_again`] take the server down
//! and bring it back on the same port and data; [`Postgres::start_primary`] starts a cluster
//! ready for streaming replication, [`Postgres::standby`] makes a standby of it with
//! `pg_basebackup -R` (its `application_name` set), [`Postgres::require_sync_standby`] names it
//! in `synchronous_standby_names` and waits until `pg_stat_replication` shows it `sync`,
//! [`Postgres::kill9`] kills the postmaster with SIGKILL, and [`Postgres::promote`] turns a
//! standby into a primary. Every wait is bounded.
//!
//! Without PostgreSQL installed, [`Postgres::start`] prints why the test is skipped and returns
//! `None`; with `CI` set it panics instead, so CI cannot pass by skipping.
//!
//! Included by path (`#[path = "common/postgres.rs"] mod postgres;`) by the tests that need it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where Debian's PostgreSQL 15 server binaries are.
pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The system user the server runs as when the tests run as root.
pub const USER: &str = "circlekeeper-test";

/// Seconds `pg_ctl` may wait for the server to start or stop.
const WAIT_SECS: &str = "30";

/// How long a poll of the server's state (replication, recovery, a process ending) may take.
pub const POLL: Duration = Duration::from_secs(30);

/// The pause between two looks at a state the server reports only when asked.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// The settings a primary needs for streaming replication (a standby gets them too, so that
/// it can be promoted and serve standbys of its own).
const REPLICATION: &str = "-c wal_level=replica -c max_wal_senders=5 -c hot_standby=on";

/// Lines added to a primary's `pg_hba.conf`: replication connections over its socket and
/// 127.0.0.1, without a password (the test cluster trusts local connections).
const HBA_REPLICATION: &str =
    "\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n";

/// A running PostgreSQL cluster, stopped when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Run its tools as this user (`None`: as ourselves).
    user: Option<&'static str>,
    /// The options it was started with (port included), to start it again the same way.
    options: String,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

fn run(user: Option<&str>, program: &Path, args: &[&str]) -> Output {
    let mut command = match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", program.display()))
}

fn check(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The non-root user to run PostgreSQL as, created if missing. Idempotent: the tests of one
/// binary take turns (a lock), and a `useradd` that loses a race with another test binary
/// (it locks /etc/passwd) is tried again, a few times.
fn ensure_user() -> &'static str {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let exists = || {
        Command::new("id")
            .arg(USER)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut why = String::new();
    for _ in 0..5 {
        if exists() {
            return USER;
        }
        let made = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                USER,
            ])
            .output()
            .expect("useradd runs");
        why = String::from_utf8_lossy(&made.stderr).to_string();
        if !made.status.success() {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    assert!(exists(), "cannot create the user {USER}: {why}");
    USER
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn text(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_string()
}

fn pg_ctl() -> PathBuf {
    PathBuf::from(BIN).join("pg_ctl")
}

/// Whether PostgreSQL 15 is installed; if not, `false` after printing why the test is skipped
/// (or a panic under `CI`).
fn installed(test: &str) -> bool {
    let initdb = PathBuf::from(BIN).join("initdb");
    if initdb.exists() {
        return true;
    }
    let why = format!(
        "{} is missing (apt-get install postgresql)",
        initdb.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{test}: PostgreSQL is required in CI: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
    false
}

/// A temporary directory for a cluster, owned by the user the server runs as.
fn cluster_dir(user: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    if let Some(user) = user {
        let out = Command::new("chown")
            .arg(format!("{user}:"))
            .arg(dir.path())
            .output()
            .expect("chown runs");
        check("chown", &out);
    }
    dir
}

/// Run `statements` (or a query, in `work`) on `url` with the synchronous client, on a thread of
/// its own (it may not run inside a tokio runtime).
fn on_thread<T: Send + 'static>(
    url: String,
    work: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("a connection to the test cluster at {url}: {e}"));
        work(&mut client)
    })
    .join()
    .expect("the statement runs")
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn is_gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        // `pid (comm) STATE …`: the state follows the last parenthesis.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Whether process `pid` is a PostgreSQL server process.
fn is_postgres(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres")
}

/// Poll `ready` until it holds, at most [`POLL`]; panics saying `what` did not happen.
fn poll(what: &str, mut ready: impl FnMut() -> bool, log: impl Fn() -> String) {
    let deadline = Instant::now() + POLL;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {POLL:?}; the server's log:\n{}",
            log()
        );
        std::thread::sleep(POLL_EVERY);
    }
}

impl Postgres {
    /// Start a fresh cluster, or say why not: `None` (printed) when PostgreSQL 15 is not
    /// installed, unless `CI` is set, where that panics.
    pub fn start(test: &str) -> Option<Postgres> {
        Postgres::initdb(test, "", "")
    }

    /// Start a fresh cluster ready to stream its changes to standbys ([`Postgres::standby`]),
    /// or say why not, as [`Postgres::start`] does.
    pub fn start_primary(test: &str) -> Option<Postgres> {
        Postgres::initdb(test, REPLICATION, HBA_REPLICATION)
    }

    /// `initdb` a cluster, add `hba` to its `pg_hba.conf` and start it with `extra` options.
    fn initdb(test: &str, extra: &str, hba: &str) -> Option<Postgres> {
        if !installed(test) {
            return None;
        }
        let user = is_root().then(ensure_user);
        let dir = cluster_dir(user);
        let data = text(&dir.path().join("data"));
        let out = run(
            user,
            &PathBuf::from(BIN).join("initdb"),
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        check("initdb", &out);
        if !hba.is_empty() {
            let path = dir.path().join("data/pg_hba.conf");
            let mut conf = std::fs::read_to_string(&path).expect("pg_hba.conf");
            conf.push_str(hba);
            std::fs::write(&path, conf).expect("write pg_hba.conf");
        }
        Some(Postgres::launch(dir, user, extra))
    }

    /// Start the cluster in `dir/data` on a free port with `extra` options.
    fn launch(dir: tempfile::TempDir, user: Option<&'static str>, extra: &str) -> Postgres {
        let socket = text(dir.path());
        // A port taken between `free_port` and the server's bind: try another, a few times.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={socket} \
                 -c fsync=off -c max_connections=40 {extra}"
            );
            let out = pg_ctl_start(user, dir.path(), &options);
            if out.status.success() {
                return Postgres {
                    dir,
                    port,
                    user,
                    options,
                };
            }
            last = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
            if !last.contains("could not bind") {
                check("pg_ctl start", &out);
            }
        }
        panic!("PostgreSQL found no free port in 5 tries: {last}")
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database; its URL. Works from async tests too: the synchronous client
    /// runs on a thread of its own (it may not run inside a tokio runtime).
    pub fn fresh_database(&self) -> String {
        let name = format!("t{}", DATABASES.fetch_add(1, Ordering::Relaxed));
        let statement = format!("CREATE DATABASE {name}");
        on_thread(self.url("postgres"), move |client| {
            client.batch_execute(&statement).expect("CREATE DATABASE");
        });
        self.url(&name)
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> String {
        text(&self.dir.path().join("data"))
    }

    fn postmaster_pid(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).ok()?;
        text.lines().next().map(str::to_string)
    }

    /// Stop the server (`pg_ctl stop -m fast`: connections are ended, the data is kept), as
    /// an outage would; [`Postgres::start_again`] brings it back.
    pub fn stop(&self) {
        check("pg_ctl stop", &self.pg_ctl_stop("fast"));
    }

    /// `pg_ctl stop` in `mode` (`fast`, `immediate`), waiting (bounded) for the end.
    fn pg_ctl_stop(&self, mode: &str) -> Output {
        let data = self.data();
        let args = ["stop", "-D", &data, "-m", mode, "-w", "-t", WAIT_SECS];
        run(self.user, &pg_ctl(), &args)
    }

    /// Start the server again after [`Postgres::stop`]: the same data, port and settings.
    pub fn start_again(&self) {
        let out = pg_ctl_start(self.user, self.dir.path(), &self.options);
        check("pg_ctl start (again)", &out);
    }

    /// Kill the postmaster with SIGKILL, as a crash of the database machine's server would,
    /// and wait (bounded) until it is gone. Its other processes notice and end by themselves.
    pub fn kill9(&self) {
        let pid = self
            .postmaster_pid()
            .expect("a running server has a postmaster.pid");
        let out = Command::new("kill")
            .args(["-9", &pid])
            .output()
            .expect("kill runs");
        check("kill -9 the postmaster", &out);
        poll(
            &format!("the end of the postmaster {pid}"),
            || is_gone(&pid),
            || self.log(),
        );
    }

    /// A standby of this primary (started with [`Postgres::start_primary`]), streaming from it
    /// as `application_name` `name`: `pg_basebackup -R` into a new directory, then started on
    /// a free port of its own. It is asynchronous until [`Postgres::require_sync_standby`].
    pub fn standby(&self, name: &str) -> Postgres {
        let dir = cluster_dir(self.user);
        let data = dir.path().join("data");
        let port = self.port.to_string();
        let out = run(
            self.user,
            &PathBuf::from(BIN).join("pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &text(&data),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            ],
        );
        check("pg_basebackup", &out);
        // `-R` wrote `standby.signal` and a `primary_conninfo`; the last setting in the file
        // wins, so this one names the standby for `synchronous_standby_names`.
        let auto = data.join("postgresql.auto.conf");
        let mut conf = std::fs::read_to_string(&auto).expect("postgresql.auto.conf");
        assert!(
            data.join("standby.signal").exists() && conf.contains("primary_conninfo"),
            "pg_basebackup -R made no standby: {conf}"
        );
        conf.push_str(&format!(
            "\nprimary_conninfo = 'host=127.0.0.1 port={port} user=postgres application_name={name}'\n"
        ));
        std::fs::write(&auto, conf).expect("write postgresql.auto.conf");
        Postgres::launch(dir, self.user, REPLICATION)
    }

    /// Make every commit wait for the standby `name` (`synchronous_standby_names`, with
    /// `synchronous_commit` at its default `on`: the standby has flushed the commit's WAL),
    /// and wait until `pg_stat_replication` shows it `sync`.
    pub fn require_sync_standby(&self, name: &str) {
        // ALTER SYSTEM may not share a query (an implicit transaction) with anything.
        let statement = format!("ALTER SYSTEM SET synchronous_standby_names = '\"{name}\"'");
        on_thread(self.url("postgres"), move |client| {
            client.batch_execute(&statement).expect("ALTER SYSTEM");
            client
                .batch_execute("SELECT pg_reload_conf()")
                .expect("pg_reload_conf");
        });
        let name = name.to_string();
        let url = self.url("postgres");
        poll(
            &format!("the standby {name} turning sync"),
            || {
                let (url, name) = (url.clone(), name.clone());
                on_thread(url, move |client| {
                    client
                        .query(
                            "SELECT 1 FROM pg_stat_replication
                             WHERE application_name = $1 AND sync_state = 'sync'
                               AND state = 'streaming'",
                            &[&name],
                        )
                        .is_ok_and(|rows| rows.len() == 1)
                })
            },
            || self.log(),
        );
        let mode = on_thread(self.url("postgres"), |client| {
            client
                .query_one("SHOW synchronous_commit", &[])
                .map(|row| row.get::<_, String>(0))
                .expect("SHOW synchronous_commit")
        });
        assert_eq!(mode, "on", "commits wait for the standby's flush");
    }

    /// Promote this standby to a primary (`pg_ctl promote`) and wait until it is out of
    /// recovery (`pg_is_in_recovery()` is false), bounded.
    pub fn promote(&self) {
        let out = run(
            self.user,
            &pg_ctl(),
            &["promote", "-D", &self.data(), "-w", "-t", WAIT_SECS],
        );
        check("pg_ctl promote", &out);
        let url = self.url("postgres");
        poll(
            "the promotion",
            || {
                !on_thread(url.clone(), |client| {
                    client
                        .query_one("SELECT pg_is_in_recovery()", &[])
                        .map_or(true, |row| row.get::<_, bool>(0))
                })
            },
            || self.log(),
        );
    }
}

fn pg_ctl_start(user: Option<&str>, dir: &Path, options: &str) -> Output {
    let data = text(&dir.join("data"));
    let log = text(&dir.join("server.log"));
    run(
        user,
        &pg_ctl(),
        &[
            "start", "-D", &data, "-l", &log, "-w", "-t", WAIT_SECS, "-o", options,
        ],
    )
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let out = self.pg_ctl_stop("immediate");
        if !out.status.success() {
            // Only a live PostgreSQL process: after `kill9` the file names a pid that is gone,
            // and may since have been given to another process.
            if let Some(pid) = self.postmaster_pid().filter(|pid| is_postgres(pid)) {
                let _ = Command::new("kill").args(["-9", &pid]).output();
            }
        }
    }
}
