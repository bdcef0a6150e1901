//! A real PostgreSQL 15 for the tests: Debian's server binaries (`/usr/lib/postgresql/15/bin`,
//! package `postgresql`), a cluster made by `initdb` in a temporary directory and started by
//! `pg_ctl` on a free 127.0.0.1 port, its socket in that directory. PostgreSQL refuses to run
//! as root, so when the tests run as root the server runs as the system user
//! `circlekeeper-test` (created here if missing) through `runuser`. Dropping a [`Postgres`]
//! stops the server (`pg_ctl stop -m immediate`, bounded; then SIGKILL of the postmaster) and
//! removes the directory.
//!
//! Without PostgreSQL installed, [`Postgres::start`] prints why the test is skipped and returns
//! `None`; with `CI` set it panics instead, so CI cannot pass by skipping.
//!
//! Included by path (`#[path = "common/postgres.rs"] mod postgres;`) by the tests that need it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where Debian's PostgreSQL 15 server binaries are.
pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The system user the server runs as when the tests run as root.
pub const USER: &str = "circlekeeper-test";

/// Seconds `pg_ctl` may wait for the server to start or stop.
const WAIT_SECS: &str = "30";

/// A running PostgreSQL cluster, stopped when dropped.
pub struct Postgres {
    dir: tempfile::TempDir,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Run its tools as this user (`None`: as ourselves).
    user: Option<&'static str>,
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

impl Postgres {
    /// Start a fresh cluster, or say why not: `None` (printed) when PostgreSQL 15 is not
    /// installed, unless `CI` is set, where that panics.
    pub fn start(test: &str) -> Option<Postgres> {
        let initdb = PathBuf::from(BIN).join("initdb");
        if !initdb.exists() {
            let why = format!(
                "{} is missing (apt-get install postgresql)",
                initdb.display()
            );
            if std::env::var_os("CI").is_some() {
                panic!("{test}: PostgreSQL is required in CI: {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            return None;
        }
        let user = is_root().then(ensure_user);
        let dir = tempfile::tempdir().expect("a temporary directory");
        if let Some(user) = user {
            let out = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .output()
                .expect("chown runs");
            check("chown", &out);
        }
        let data = dir.path().join("data");
        let data = data.to_str().expect("a UTF-8 path").to_string();
        let out = run(
            user,
            &initdb,
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
        let socket = dir.path().to_str().expect("a UTF-8 path").to_string();
        let log = dir.path().join("server.log");
        let log = log.to_str().expect("a UTF-8 path").to_string();
        // A port taken between `free_port` and the server's bind: try another, a few times.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={socket} \
                 -c fsync=off -c max_connections=40"
            );
            let out = run(
                user,
                &PathBuf::from(BIN).join("pg_ctl"),
                &[
                    "start", "-D", &data, "-l", &log, "-w", "-t", WAIT_SECS, "-o", &options,
                ],
            );
            if out.status.success() {
                return Some(Postgres { dir, port, user });
            }
            last = std::fs::read_to_string(&log).unwrap_or_default();
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
        let admin = self.url("postgres");
        let statement = format!("CREATE DATABASE {name}");
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .expect("a connection to the test cluster");
            client.batch_execute(&statement).expect("CREATE DATABASE");
        })
        .join()
        .expect("the database is created");
        self.url(&name)
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn postmaster_pid(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")).ok()?;
        text.lines().next().map(str::to_string)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let data = data.to_string_lossy().to_string();
        let out = run(
            self.user,
            &PathBuf::from(BIN).join("pg_ctl"),
            &[
                "stop",
                "-D",
                &data,
                "-m",
                "immediate",
                "-w",
                "-t",
                WAIT_SECS,
            ],
        );
        if !out.status.success() {
            if let Some(pid) = self.postmaster_pid() {
                let _ = Command::new("kill").args(["-9", &pid]).output();
            }
        }
    }
}
