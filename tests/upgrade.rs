//! Upgrades, against the real binary: a sled store written by the format before format versions
//! existed (format 1, kept in `tests/fixtures/store-v1/`: two rooms, one of them a series'
//! session, a private commitment, a deleted room) opens, checks sound, and every room resumes
//! as it was; a store marked with a format newer than this binary reads is refused (exit 78)
//! with a message that says to upgrade, by the server and by `circlekeeper check`.
//!
//! The fixture was made by `make_store_v1_fixture` (ignored) running the binary of the earlier
//! format: `CK_FIXTURE_BINARY=/path/to/old/circlekeeper cargo test --test upgrade -- --ignored`.

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use binary::{check, Binary};
use circlekeeper_protocol::{Command, ErrorCode, RoomCreated, Visibility};
use common::Remote;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How long a server may take to exit.
const EXIT: Duration = Duration::from_secs(25);

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1")
}

/// What the fixture holds, as the binary that wrote it showed it.
#[derive(Debug, Serialize, Deserialize)]
struct Expected {
    /// The room with a private commitment.
    room: RoomCreated,
    /// Ada's token in it (her private commitment is hers to see).
    ada_token: String,
    /// The seq a second host entering `room` is welcomed at.
    entry_seq: u64,
    /// The participants' names `room` shows that second host.
    participants: Vec<String>,
    /// Ada's own commitments' texts, as she sees them on resuming.
    ada_commitments: Vec<String>,
    /// The deleted room's id.
    deleted: String,
    /// The series' id.
    series: String,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "expected.json" {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A second host enters `room`: the seq it is welcomed at and the names it sees.
async fn second_host(remote: &Remote, room: &RoomCreated) -> Result<(u64, Vec<String>), ErrorCode> {
    let mut c = remote.connect("Second host").await;
    let w = c
        .enter_or_refused(Command::Host {
            room: room.room_id.clone(),
            key: room.host_key.clone(),
            name: "Second host".into(),
        })
        .await?;
    let names = c.view.participants.iter().map(|p| p.name.clone()).collect();
    Ok((w.seq, names))
}

/// Ada resumes `room` with her token: her own commitments' texts.
async fn ada_commitments(remote: &Remote, room: &RoomCreated, token: &str) -> Vec<String> {
    let mut ada = remote.resume("Ada", &room.room_id, token).await;
    ada.sync().await;
    let me = ada.you;
    ada.view
        .commitments
        .iter()
        .filter(|c| c.author == me)
        .map(|c| c.text.clone())
        .collect()
}

#[tokio::test]
async fn a_store_written_before_format_versions_opens_and_every_room_resumes() {
    let expected: Expected = serde_json::from_slice(
        &std::fs::read(fixture().join("expected.json")).expect("the fixture's expected.json"),
    )
    .expect("expected.json parses");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture(), dir.path());
    assert!(
        !dir.path().join("manifest").exists(),
        "a format 1 store has no manifest"
    );

    let (code, text) = check(dir.path());
    assert_eq!(code, 0, "check of the format 1 store:\n{text}");
    assert!(text.contains("rooms: 2, series: 1"), "{text}");

    let server = Binary::start(dir.path());
    let remote = server.remote();
    let (seq, names) = second_host(&remote, &expected.room)
        .await
        .expect("the room resumes");
    assert_eq!(seq, expected.entry_seq);
    assert_eq!(names, expected.participants);
    assert_eq!(
        ada_commitments(&remote, &expected.room, &expected.ada_token).await,
        expected.ada_commitments
    );
    let path = format!("/api/rooms/{}/preview", expected.deleted);
    let gone = remote
        .http("POST", &path, json!({ "key": "x" }).to_string().as_bytes())
        .await;
    assert_eq!(gone.status, 404, "the deleted room: {}", gone.text);
    server.terminate();
    let mut server = server;
    assert!(server.wait_exit(EXIT).success());
    drop(server);

    // Opened once by this binary: it has a manifest now, and is still sound.
    assert!(dir.path().join("manifest").exists());
    let (code, text) = check(dir.path());
    assert_eq!(code, 0, "check after the upgrade:\n{text}");
    assert!(
        text.contains("series: 1"),
        "{text}: the series {}",
        expected.series
    );
}

#[tokio::test]
async fn a_store_of_a_newer_format_is_refused_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture(), dir.path());
    let mut server = Binary::start(dir.path());
    server.terminate();
    assert!(server.wait_exit(EXIT).success());
    drop(server);
    // What a newer circlekeeper would write: its format in the manifest.
    let entry = br#"{"k":"format","v":99}"#;
    let mut line = format!("{:08x} ", crc32fast::hash(entry)).into_bytes();
    line.extend_from_slice(entry);
    line.push(b'\n');
    let mut manifest = std::fs::read(dir.path().join("manifest")).expect("the manifest");
    // After its last line, where the zeros kept ahead begin.
    let end = manifest.iter().rposition(|&b| b == b'\n').expect("lines") + 1;
    manifest.truncate(end);
    manifest.extend_from_slice(&line);
    std::fs::write(dir.path().join("manifest"), manifest).expect("written");

    let message = "written by a newer circlekeeper (format 99); this one reads up to format 2: \
                   upgrade circlekeeper";
    let (code, text) = check(dir.path());
    assert_eq!(code, 78, "{text}");
    assert!(text.contains(message), "{text}");

    let mut server = Binary::spawn(dir.path());
    assert!(
        server.try_wait_listening().is_err(),
        "a newer store was served"
    );
    let status = server.wait_exit(EXIT);
    assert_eq!(status.code(), Some(78), "{}", server.output_text());
    assert!(
        server.output_text().contains(message),
        "{}",
        server.output_text()
    );
}

/// The binary at `CK_FIXTURE_BINARY` on `dir`, and the address it listens on.
fn spawn_old(bin: &str, dir: &Path) -> (Child, Remote) {
    let mut child = Process::new(bin)
        .args([
            "--addr",
            "127.0.0.1:0",
            "--frames-per-ip-per-second",
            "1000000",
        ])
        .arg("--data-dir")
        .arg(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the old binary starts");
    let mut found = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().take(200) {
            let Ok(line) = line else { break };
            if let Some(addr) = line
                .split_whitespace()
                .find_map(|f| f.strip_prefix("addr="))
            {
                found = addr.parse().ok();
                break;
            }
        }
    }
    match found {
        Some(addr) => (child, Remote { addr }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the old binary did not listen");
        }
    }
}

fn stop_old(mut child: Child) {
    let status = Process::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let status = child.wait().expect("the old binary exits");
    assert!(status.success(), "{status}");
}

#[tokio::test]
#[ignore = "writes tests/fixtures/store-v1 with the binary CK_FIXTURE_BINARY names"]
async fn make_store_v1_fixture() {
    let bin = std::env::var("CK_FIXTURE_BINARY").expect("CK_FIXTURE_BINARY");
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, remote) = spawn_old(&bin, dir.path());
    let (room, mut fran, mut ada) = common::at_commitment(&remote).await;
    fran.ok(Command::PushPrompt {
        prompt: None,
        text: Some("What will you try first?".into()),
        to: None,
    })
    .await;
    ada.ok(Command::RecordCommitment {
        text: envelope::sealed("Call the funder"),
        due: None,
        visibility: Visibility::Private,
    })
    .await;
    ada.ok(Command::RecordCommitment {
        text: "Share the plan with the team".into(),
        due: None,
        visibility: Visibility::Circle,
    })
    .await;
    let ada_token = ada.token.clone();
    let doomed = remote.create_room(common::checkout_room("Doomed")).await;
    let mut host = remote.host(&doomed, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    host.ok(Command::DeleteRoom).await;
    let (series, _, _) = remote.series_with_a_session().await;
    fran.close().await;
    ada.close().await;
    stop_old(child);

    let out = fixture();
    let _ = std::fs::remove_dir_all(&out);
    copy_dir(dir.path(), &out);

    // What the old binary shows of it, on a copy.
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(&out, copy.path());
    let (child, remote) = spawn_old(&bin, copy.path());
    let (entry_seq, participants) = second_host(&remote, &room).await.expect("entered");
    let ada_commitments = ada_commitments(&remote, &room, &ada_token).await;
    stop_old(child);
    let expected = Expected {
        room,
        ada_token,
        entry_seq,
        participants,
        ada_commitments,
        deleted: doomed.room_id,
        series,
    };
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_vec_pretty(&expected).expect("json"),
    )
    .expect("expected.json");
}
