//! A full disk, survived and left without a restart: the real `circlekeeper` binary runs on a
//! small tmpfs; a filler file takes its last free byte while rooms are in use; and once the
//! filler is deleted the server takes writes again by itself.
//!
//! While the disk is full commands are refused `unavailable` (never acknowledged), previews and
//! entries of the rooms answer `unavailable` or `room_unavailable` (never `room_not_found`,
//! which tells clients to forget their tokens), a new room is refused `unavailable`, and
//! `/readyz` answers 503 (and `/metrics` `circlekeeper_store_up 0`). Once the filler is gone
//! `/readyz` is 200 again within a bounded wait (`circlekeeper_store_up 1`, the outage counted),
//! every room resumes with every acknowledged sequence number, participants come back with their
//! tokens, and new commands are acknowledged with sequence numbers never used before.
//!
//! Mounting a tmpfs needs root (or `CAP_SYS_ADMIN`): without it the test says it was skipped
//! and why, and fails if `CI` is set. The tmpfs is unmounted by a drop guard, also when the test
//! fails. Every wait is bounded.

#[path = "common/binary.rs"]
mod binary;
mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

use binary::Binary;
use circlekeeper_protocol::{Command, ErrorCode, RoomCreated};
use common::{Client, Remote, Reply};
use serde_json::json;

/// The tmpfs size: room for the store, small enough to fill in a moment.
const TMPFS: &str = "size=16m";

/// How long the server may take to take writes again once the disk has room (its retries back
/// off to a few seconds).
const RECOVERY: Duration = Duration::from_secs(30);

/// Most commands sent to find the full disk: each event takes a few hundred bytes of sled's
/// log, and the last page of the log file may hold a few more before a write needs a new one.
const MAX_COMMANDS_TO_FILL: usize = 2000;

/// A stage timebox no test can run out of (three hours).
const LONG_TIMEBOX_MS: u64 = 3 * 60 * 60 * 1000;

/// A tmpfs mounted on a temporary directory; unmounted (and the directory removed) on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mount one, or say why not.
    fn mount() -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
        let out = Process::new("mount")
            .args(["-t", "tmpfs", "-o", TMPFS, "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("`mount` could not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mounting a tmpfs was refused ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Process::new("umount").arg(self.dir.path()).status();
        if !unmounted.is_ok_and(|s| s.success()) {
            // Something still holds a file there (a server being killed): detach it lazily.
            let _ = Process::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// A file that takes every free byte of the filesystem it is written on.
struct Filler {
    path: PathBuf,
}

impl Filler {
    /// Write until the filesystem refuses: megabytes, then pages, then bytes (bounded by the
    /// filesystem's size).
    fn fill(dir: &Path) -> Filler {
        let path = dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("the filler file");
        for chunk in [1024 * 1024, 4096, 1] {
            let bytes = vec![0xA5u8; chunk];
            // 16 MiB of tmpfs: at most 16 Mi writes of any size before it is full.
            for _ in 0..(16 * 1024 * 1024 / chunk + 1) {
                if file.write_all(&bytes).is_err() {
                    break;
                }
            }
        }
        let _ = file.sync_all();
        let refused = std::fs::File::create(dir.join("one-more"))
            .and_then(|mut f| f.write_all(&[0u8; 4096]).and_then(|()| f.sync_all()));
        let _ = std::fs::remove_file(dir.join("one-more"));
        assert!(refused.is_err(), "the tmpfs should be full");
        Filler { path }
    }

    /// Give the space back.
    fn remove(self) {
        std::fs::remove_file(&self.path).expect("the filler is removed");
    }
}

/// A custom format with one hand-queue stage whose timer never runs out in a test.
fn long_format() -> serde_json::Value {
    json!({
        "name": "Full disk circle",
        "description": "A stage too long to end during a test.",
        "stages": [
            { "kind": "discussion", "title": "Discuss", "timebox_ms": LONG_TIMEBOX_MS,
              "speaking": "hand_queue" }
        ]
    })
}

/// One room in use: its links, its facilitator and a participant, and the highest sequence
/// number an ack named.
struct Circle {
    room: RoomCreated,
    fran: Client,
    ada: Client,
    max_acked: u64,
    /// Whether Ada's hand is up (the next command lowers it).
    hand_up: bool,
}

impl Circle {
    async fn open(remote: &Remote) -> Circle {
        let room = remote
            .create_room(json!({ "title": "Full disk circle", "format": long_format() }))
            .await;
        let mut fran = remote.host(&room, "Fran").await;
        let mut ada = remote.join(&room, "Ada").await;
        fran.ok(Command::AcceptGroundRules).await;
        ada.ok(Command::AcceptGroundRules).await;
        let start = fran.ok(Command::Start).await;
        let mut circle = Circle {
            room,
            fran,
            ada,
            max_acked: start.seq,
            hand_up: false,
        };
        for _ in 0..6 {
            let acked = circle
                .ada_command()
                .await
                .expect("accepted before the disk fills");
            assert!(acked > circle.max_acked);
            circle.max_acked = acked;
        }
        circle
    }

    /// Ada raises or lowers her hand: the sequence number of the ack, or the refusal's code.
    async fn ada_command(&mut self) -> Result<u64, ErrorCode> {
        let command = if self.hand_up {
            Command::LowerHand { participant: None }
        } else {
            Command::RaiseHand
        };
        let id = self.ada.send(command).await;
        match self.ada.reply(&id).await {
            Reply::Answered(Ok(ack)) => {
                self.hand_up = !self.hand_up;
                Ok(ack.seq)
            }
            Reply::Answered(Err(refused)) => Err(refused.code),
            other => panic!("Ada's command was not answered: {other:?}"),
        }
    }
}

/// `GET /metrics`'s text.
async fn metrics(remote: &Remote) -> String {
    let page = remote.http("GET", "/metrics", b"").await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.text
}

/// The value of the metric `name` on a `/metrics` page.
fn value(page: &str, name: &str) -> u64 {
    common::metric_value(page, name).unwrap_or_else(|| panic!("no {name} on the page:\n{page}"))
}

/// `GET /readyz`'s status.
async fn readyz(remote: &Remote) -> u16 {
    remote.http("GET", "/readyz", b"").await.status
}

/// Poll `/readyz` until it answers `status`, for at most `within`.
async fn wait_ready_status(remote: &Remote, status: u16, within: Duration, server: &Binary) {
    let deadline = Instant::now() + within;
    loop {
        if readyz(remote).await == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not answer {status} within {within:?}; the server said:\n{}",
            server.output_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A room's preview while the disk is full: 503 with `unavailable` or `room_unavailable`.
async fn assert_preview_unavailable(remote: &Remote, room: &RoomCreated) {
    let path = format!("/api/rooms/{}/preview", room.room_id);
    let body = json!({ "key": room.join_key }).to_string();
    // Several times: once while the room may still be stopping, then once it is forgotten.
    for _ in 0..5 {
        let answer = remote.http("POST", &path, body.as_bytes()).await;
        let code = answer.json["code"].as_str().unwrap_or_default().to_string();
        assert_eq!(
            answer.status, 503,
            "a preview while the disk is full: {} {}",
            answer.status, answer.text
        );
        assert!(
            code == "unavailable" || code == "room_unavailable",
            "a preview while the disk is full answered {code:?}"
        );
    }
}

/// An entry (`cmd`) while the disk is full: refused `unavailable` or `room_unavailable`.
async fn assert_entry_unavailable(remote: &Remote, name: &str, cmd: Command) {
    let mut client = remote.connect(name).await;
    let id = client.send(cmd).await;
    match client.reply(&id).await {
        Reply::Answered(Err(refused)) => assert!(
            matches!(
                refused.code,
                ErrorCode::Unavailable | ErrorCode::RoomUnavailable
            ),
            "{name}'s entry while the disk is full was refused {:?}",
            refused.code
        ),
        other => panic!("{name}'s entry while the disk is full: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_and_the_server_recovers_once_it_has_room() {
    let tmpfs = match Tmpfs::mount() {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the full disk test needs a tmpfs in CI: {why}"
            );
            eprintln!("skipped: the full disk test needs a tmpfs (root or CAP_SYS_ADMIN): {why}");
            return;
        }
    };
    let data = tmpfs.path().join("data");
    let server = Binary::start(&data);
    let remote = server.remote();
    let mut circles = vec![Circle::open(&remote).await, Circle::open(&remote).await];
    let rooms_before = remote.http("GET", "/healthz", b"").await.json["rooms"].clone();
    assert_eq!(readyz(&remote).await, 200);

    // The disk fills up; Ada keeps going until a command is refused.
    let filler = Filler::fill(tmpfs.path());
    let mut refused = None;
    for _ in 0..MAX_COMMANDS_TO_FILL {
        match circles[0].ada_command().await {
            Ok(seq) => {
                assert!(seq > circles[0].max_acked);
                circles[0].max_acked = seq;
            }
            Err(code) => {
                refused = Some(code);
                break;
            }
        }
    }
    assert_eq!(
        refused,
        Some(ErrorCode::Unavailable),
        "a command on a full disk is refused `unavailable`"
    );
    // The other room's next write is refused the same way.
    assert_eq!(circles[1].ada_command().await, Err(ErrorCode::Unavailable));
    for c in &mut circles {
        c.ada.expect_close().await;
        c.fran.expect_close().await;
    }
    wait_ready_status(&remote, 503, Duration::from_secs(5), &server).await;

    // While it cannot write: previews, joins and resumes answer unavailable, never
    // room_not_found; a new room is refused cleanly.
    for c in &circles {
        assert_preview_unavailable(&remote, &c.room).await;
        let join = Command::Join {
            room: c.room.room_id.clone(),
            key: c.room.join_key.clone(),
            name: "Bea".into(),
            guest: None,
        };
        assert_entry_unavailable(&remote, "Bea", join).await;
        let resume = Command::Resume {
            room: c.room.room_id.clone(),
            token: c.ada.token.clone(),
            last_seq: Some(c.ada.seq),
        };
        assert_entry_unavailable(&remote, "Ada", resume).await;
    }
    let opened = remote
        .create_room_raw(&json!({ "title": "During", "format": long_format() }).to_string())
        .await;
    assert_eq!(opened.status, 503, "{}", opened.text);
    assert_eq!(opened.json["code"], "unavailable");
    assert_eq!(readyz(&remote).await, 503);
    let down = metrics(&remote).await;
    assert_eq!(value(&down, "circlekeeper_store_up"), 0, "{down}");
    let outages = value(&down, "circlekeeper_store_outages_total");
    assert!(outages >= 1, "{down}");

    // Space comes back: the server takes writes again by itself.
    filler.remove();
    wait_ready_status(&remote, 200, RECOVERY, &server).await;
    let up = metrics(&remote).await;
    assert_eq!(value(&up, "circlekeeper_store_up"), 1, "{up}");
    assert_eq!(
        value(&up, "circlekeeper_store_outages_total"),
        outages,
        "{up}"
    );

    for (i, c) in circles.iter_mut().enumerate() {
        // Everyone comes back with their token; nothing acknowledged was lost.
        let ada = c.ada.reconnect(&remote).await;
        let fran = c.fran.reconnect(&remote).await;
        assert!(
            ada.seq >= c.max_acked && fran.seq >= c.max_acked,
            "room {i}: acked up to {}, resumed at {} / {}",
            c.max_acked,
            ada.seq,
            fran.seq
        );
        c.ada.catch_up(ada.seq).await;
        c.fran.catch_up(ada.seq).await;
        assert_eq!(c.ada.view, c.fran.view, "room {i}: both see the same room");
        // New commands are acknowledged, with sequence numbers never used before.
        let before = ada.seq.max(fran.seq);
        c.hand_up = c.ada.view.turn.queue.contains(&c.ada.you);
        let seq = c
            .ada_command()
            .await
            .expect("accepted once the disk has room");
        assert!(seq > before, "room {i}: seq {seq} after {before}");
        // And a preview shows the room again.
        let path = format!("/api/rooms/{}/preview", c.room.room_id);
        let body = json!({ "key": c.room.join_key }).to_string();
        let preview = remote.http("POST", &path, body.as_bytes()).await;
        assert_eq!(preview.status, 200, "{}", preview.text);
    }
    let rooms_after = remote.http("GET", "/healthz", b"").await.json["rooms"].clone();
    assert_eq!(
        rooms_after, rooms_before,
        "both rooms run again, and the room refused during the outage is not among them"
    );
    let opened = remote
        .create_room_raw(&json!({ "title": "After", "format": long_format() }).to_string())
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);

    // One warning when the store went down and one line when it came back, not one per try.
    let log = server.output_text();
    let said = |what: &str| {
        log.lines()
            .filter(|l| l.contains("store::committer") && l.contains(what))
            .count()
    };
    assert_eq!(
        said("the store refuses writes"),
        1,
        "one warning per outage:\n{log}"
    );
    assert_eq!(said("the store takes writes again"), 1, "{log}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_opened_on_a_full_disk_is_refused_cleanly_and_the_next_one_opens_once_it_has_room() {
    let tmpfs = match Tmpfs::mount() {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "the full disk test needs a tmpfs in CI: {why}"
            );
            eprintln!("skipped: the full disk test needs a tmpfs (root or CAP_SYS_ADMIN): {why}");
            return;
        }
    };
    let data = tmpfs.path().join("data");
    let server = Binary::start(&data);
    let remote = server.remote();
    let before = Circle::open(&remote).await;

    // The first write on the full disk is a new room's (its key and its record): refused.
    let filler = Filler::fill(tmpfs.path());
    let body = json!({ "title": "On a full disk", "format": long_format() }).to_string();
    let opened = remote.create_room_raw(&body).await;
    assert_eq!(opened.status, 503, "{}", opened.text);
    assert_eq!(opened.json["code"], "unavailable");
    assert!(opened.json.get("room_id").is_none());
    wait_ready_status(&remote, 503, Duration::from_secs(5), &server).await;

    filler.remove();
    wait_ready_status(&remote, 200, RECOVERY, &server).await;
    let opened = remote.create_room_raw(&body).await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    // The room from before the outage is still served, and takes commands.
    let mut circle = before;
    let ada = circle.ada.reconnect(&remote).await;
    assert!(ada.seq >= circle.max_acked);
    circle.hand_up = circle.ada.view.turn.queue.contains(&circle.ada.you);
    let seq = circle
        .ada_command()
        .await
        .expect("accepted once the disk has room");
    assert!(seq > circle.max_acked);
    drop(server);
}
