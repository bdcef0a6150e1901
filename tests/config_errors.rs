//! Configuration that fails loudly, with the real binary: a log filter `tracing` would not
//! take (or would take as a target and so turn every line off), a public URL or an allowed
//! origin that could never match a browser's, or an empty host key stops the process before it
//! listens or touches its data directory, with a non-zero status and a message naming the bad
//! value, whether it came from a flag, the environment or the configuration file. A good filter
//! still starts the server.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a refused configuration may take to stop the process.
const WITHIN: Duration = Duration::from_secs(20);

/// What the binary did: its exit status (`None`: still running at the deadline, then killed)
/// and everything it wrote to stderr.
struct Outcome {
    status: Option<i32>,
    stderr: String,
}

/// Run the binary on a fresh data directory (which must still not exist afterwards) with
/// `args` and `env`, none of the caller's `CIRCLEKEEPER_*` variables, and wait (bounded) for it
/// to end.
fn run(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_circlekeeper"));
    command
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CIRCLEKEEPER_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("the binary starts");
    let deadline = Instant::now() + WITHIN;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        // Polling a real process's exit, bounded by the deadline above.
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(
        !Path::new(&data).exists() || status.is_none(),
        "a refused configuration created the data directory"
    );
    Outcome { status, stderr }
}

/// The binary refused to start: it ended with a non-zero status, and said `needle`.
fn refused(outcome: &Outcome, needle: &str) {
    let status = outcome
        .status
        .unwrap_or_else(|| panic!("still running; stderr: {}", outcome.stderr));
    assert_ne!(status, 0, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(needle),
        "no {needle:?} in: {}",
        outcome.stderr
    );
}

#[test]
fn a_bad_log_filter_stops_the_server_and_names_the_directive() {
    let bad_level = run(&["--log", "info,circlekeeper=loud"], &[]);
    refused(&bad_level, "circlekeeper=loud");
    refused(&bad_level, "--log");

    // A misspelt level would be a target for `tracing`: every other line silently off.
    let typo = run(&["--log", "inf"], &[]);
    refused(&typo, "\"inf\"");
    refused(&typo, "neither a level");

    let from_env = run(&[], &[("CIRCLEKEEPER_LOG", "debug,sled=[")]);
    refused(&from_env, "sled=[");

    let empty = run(&["--log", ""], &[]);
    refused(&empty, "empty");

    let number = run(&["--log", "9"], &[]);
    refused(&number, "\"9\"");
}

#[test]
fn a_bad_log_filter_in_the_configuration_file_stops_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("circlekeeper.toml");
    std::fs::write(&file, "log = \"warn,hyper=chatty\"\n").expect("write");
    let path = file.display().to_string();
    refused(&run(&["--config", &path], &[]), "hyper=chatty");
}

#[test]
fn other_values_that_could_never_work_stop_the_server_too() {
    refused(
        &run(&["--public-url", "circles.example.org"], &[]),
        "circles.example.org",
    );
    refused(
        &run(
            &[
                "--allowed-origins",
                "https://a.example.org,https://b.example.org/app",
            ],
            &[],
        ),
        "https://b.example.org/app",
    );
    refused(
        &run(
            &[],
            &[("CIRCLEKEEPER_ALLOWED_ORIGINS", "intranet.example.org")],
        ),
        "intranet.example.org",
    );
    refused(&run(&["--host-key", " "], &[]), "host key is empty");
}

#[test]
fn a_good_filter_starts_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_circlekeeper"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CIRCLEKEEPER_") {
            command.env_remove(key);
        }
    }
    // A trailing `/` and an empty item (a list ending in a comma) are harmless.
    command.env(
        "CIRCLEKEEPER_ALLOWED_ORIGINS",
        "https://intranet.example.org:8443/,",
    );
    let mut child = command
        .args([
            "--addr",
            "127.0.0.1:0",
            "--log",
            "warn,circlekeeper=info,circlekeeper::store[commit]=debug",
            "--public-url",
            "https://circles.example.org/",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().expect("piped");
    // Read until the listening line; the read ends (EOF) if the process exits instead.
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut chunk) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&seen).contains("circlekeeper listening") {
                break;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let deadline = Instant::now() + WITHIN;
    while !reader.is_finished() && Instant::now() < deadline {
        // Polling a real process's output, bounded by the deadline above.
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = reader
        .join()
        .expect("the reader ends once the process is killed");
    assert!(log.contains("circlekeeper listening"), "{log}");
}
