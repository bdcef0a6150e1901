//! The real `circlekeeper` binary as a child process, for crash, restart and cluster tests: it
//! runs on a given data directory on `127.0.0.1:0` (or on a given address, to come back on the
//! same port), and the address it listens on is read from its log. It can be sent SIGTERM,
//! SIGSTOP and SIGCONT, or killed with SIGKILL. It logs at `info`, or at the level
//! `CIRCLEKEEPER_TEST_LOG` names (e.g. `info,circlekeeper=debug`, to see leases change hands).
//! A [`Binary`] kills and reaps its process when dropped, so no server outlives its test, even
//! when the test panics (and then the server's log is printed to help). Every wait is bounded.
//!
//! Included by path (`#[path = "common/binary.rs"] mod binary;`) by the tests that need it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command as Process, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::Remote;

/// How long the binary may take to open its store, restore its rooms and listen.
pub const BOOT: Duration = Duration::from_secs(15);

/// A running `circlekeeper` process. Dropping it kills (SIGKILL) and reaps the process.
pub struct Binary {
    child: Child,
    /// Output lines (stdout, and stderr prefixed `stderr: `), as they come; closed when the
    /// process has exited and its pipes are shut.
    lines: mpsc::Receiver<String>,
    /// Every output line so far, for failure messages and log checks.
    output: Arc<Mutex<Vec<String>>>,
    /// The address from the `circlekeeper listening` line.
    pub addr: Option<SocketAddr>,
}

impl Binary {
    /// Start the binary on `dir` and wait until it listens.
    pub fn start(dir: &Path) -> Binary {
        Binary::start_with(dir, &[])
    }

    /// Start the binary on `dir` with extra flags and wait until it listens.
    pub fn start_with(dir: &Path, args: &[&str]) -> Binary {
        let mut binary = Binary::spawn_with(dir, args);
        binary.wait_listening();
        binary
    }

    /// Start the binary on `dir` without waiting for anything.
    pub fn spawn(dir: &Path) -> Binary {
        Binary::spawn_with(dir, &[])
    }

    /// Start the binary on `dir` with extra flags, without waiting for anything.
    pub fn spawn_with(dir: &Path, args: &[&str]) -> Binary {
        Binary::spawn_at("127.0.0.1:0", dir, args)
    }

    /// Start the binary listening on `addr` (e.g. the port a killed node had), on `dir` with
    /// extra flags, and wait until it listens.
    pub fn start_at(addr: &str, dir: &Path, args: &[&str]) -> Binary {
        let mut binary = Binary::spawn_at(addr, dir, args);
        binary.wait_listening();
        binary
    }

    /// Start the binary listening on `addr`, on `dir` with extra flags, without waiting.
    pub fn spawn_at(addr: &str, dir: &Path, args: &[&str]) -> Binary {
        let mut child = Process::new(env!("CARGO_BIN_EXE_circlekeeper"))
            .arg("--addr")
            .arg(addr)
            .arg("--data-dir")
            .arg(dir)
            .arg("--log")
            .arg(std::env::var("CIRCLEKEEPER_TEST_LOG").unwrap_or_else(|_| "info".into()))
            // Scripted clients all come from 127.0.0.1, faster than people: the frame
            // allowance per address stays out of their way (a test's own flags come after).
            .arg("--frames-per-ip-per-second")
            .arg("1000000")
            .args(args)
            .env("NO_COLOR", "1")
            .env_remove("CIRCLEKEEPER_PUBLIC_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the circlekeeper binary starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        forward(stdout, "", tx.clone(), Arc::clone(&output));
        forward(stderr, "stderr: ", tx, Arc::clone(&output));
        Binary {
            child,
            lines,
            output,
            addr: None,
        }
    }

    /// Read the log until the `circlekeeper listening` line and take the address from it.
    pub fn wait_listening(&mut self) {
        if let Err(why) = self.try_wait_listening() {
            panic!("{why}");
        }
    }

    /// Like [`Binary::wait_listening`], but says why not instead of panicking (the process
    /// exited, e.g. because its port is still taken, or it was too slow).
    pub fn try_wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + BOOT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if !line.contains("circlekeeper listening") {
                        continue;
                    }
                    let addr = line
                        .split_whitespace()
                        .find_map(|field| field.strip_prefix("addr="))
                        .ok_or_else(|| format!("no addr= in the listening line: {line}"))?;
                    let addr: SocketAddr = addr
                        .parse()
                        .map_err(|e| format!("a socket address in {line:?}: {e}"))?;
                    assert!(addr.ip().is_loopback(), "listening on {addr}, not loopback");
                    self.addr = Some(addr);
                    return Ok(());
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the binary did not listen within {BOOT:?}; its output:\n{}",
                        self.output_text()
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "the binary exited ({:?}) before listening; its output:\n{}",
                        self.child.try_wait(),
                        self.output_text()
                    ))
                }
            }
        }
    }

    /// The server, for the harness's network helpers.
    pub fn remote(&self) -> Remote {
        Remote {
            addr: self.addr.expect("the binary is listening"),
        }
    }

    /// Everything the process printed so far.
    pub fn output_text(&self) -> String {
        self.output.lock().map(|o| o.join("\n")).unwrap_or_default()
    }

    /// Log lines at WARN or ERROR level (or anything on stderr).
    pub fn complaints(&self) -> Vec<String> {
        self.output
            .lock()
            .map(|o| {
                o.iter()
                    .filter(|l| {
                        l.starts_with("stderr: ") || l.contains(" WARN ") || l.contains(" ERROR ")
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `kill -9`, then reap the process.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL the binary");
        self.child.wait().expect("reap the binary");
    }

    /// Send SIGTERM (a clean shutdown).
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Send SIGSTOP: the process freezes (its sockets stay open, nothing is read or written)
    /// until [`Binary::cont`].
    pub fn stop(&self) {
        self.signal("STOP");
    }

    /// Send SIGCONT: a stopped process carries on where it was.
    pub fn cont(&self) {
        self.signal("CONT");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send the signal `name` (`TERM`, `STOP`, `CONT`, ...) with `kill`.
    pub fn signal(&self, name: &str) {
        let status = Process::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("run kill -{name}: {e}"));
        assert!(status.success(), "kill -{name} failed: {status}");
    }

    /// Wait (at most `within`) for the process to exit by itself; its exit status.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        // The output pipes close when the process exits.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(_) => {}
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the binary did not exit within {within:?}; its output:\n{}",
                    self.output_text()
                ),
            }
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("the binary's status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the binary closed its output but did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SIGKILL ends a stopped process too.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            let text = self.output_text();
            let tail: Vec<&str> = text.lines().rev().take(60).collect();
            eprintln!(
                "----- circlekeeper (pid {}) output, last lines -----",
                self.child.id()
            );
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Copy a pipe's lines into the shared output and the channel, until the pipe closes.
fn forward(
    from: impl Read + Send + 'static,
    tag: &'static str,
    tx: mpsc::Sender<String>,
    output: Arc<Mutex<Vec<String>>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let line = format!("{tag}{}", strip_ansi(&line));
            if let Ok(mut all) = output.lock() {
                all.push(line.clone());
            }
            // Nobody listening any more: keep draining so the process never blocks on a pipe.
            let _ = tx.send(line);
        }
    });
}

/// Remove ANSI escape sequences (colours), in case the log is coloured anyway.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `circlekeeper --data-dir dir check`: its exit code and what it printed (stdout, then stderr).
pub fn check(dir: &Path) -> (i32, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_circlekeeper"))
        .arg("--data-dir")
        .arg(dir)
        .arg("check")
        .output()
        .expect("run circlekeeper check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
