//! The corruption matrix, against the real binary: rooms written through the server, the server
//! stopped, 16 bytes flipped at six offsets of sled's `data/db` and in the manifest, and the
//! server started on each damaged copy. Every time, either it refuses (exit 65) naming what is
//! missing and how to restore, or (the flip hit nothing acknowledged) it starts and every room
//! resumes at the sequence number it had. With `--serve-intact` a damaged room answers
//! `room_unavailable` over HTTP (preview) and the websocket (`host`), never `room_not_found`.
//! `circlekeeper check` agrees: non-zero exactly when the server refuses.

#[path = "common/binary.rs"]
mod binary;
mod common;

use std::path::Path;
use std::time::Duration;

use binary::{check, Binary};
use circlekeeper_protocol::{Command, ErrorCode, RoomCreated, SeriesCreated};
use common::{checkout_room, Remote};
use serde_json::json;

/// How long a refusing server may take to exit.
const EXIT: Duration = Duration::from_secs(25);

/// Rooms written before the damage.
const ROOMS: usize = 6;

/// A room written through the server, and the sequence number a host entering it sees.
struct Written {
    room: RoomCreated,
    /// The last acknowledged seq when the server stopped.
    acked: u64,
}

/// Write `ROOMS` rooms with events and then a series through the server on `dir`, then stop
/// it (SIGTERM).
async fn populate(dir: &Path) -> (Vec<Written>, SeriesCreated) {
    let mut server = Binary::start(dir);
    let remote = server.remote();
    let mut out = Vec::new();
    for i in 0..ROOMS {
        let room = remote
            .create_room(checkout_room(&format!("Damage {i}")))
            .await;
        let mut host = remote.host(&room, "Host").await;
        host.ok(Command::AcceptGroundRules).await;
        let mut acked = host.ok(Command::Start).await.seq;
        for k in 0..(4 + 4 * i) {
            acked = host
                .ok(Command::PushPrompt {
                    prompt: None,
                    text: Some(format!("Prompt {k} of room {i}: {}", "x".repeat(200))),
                    to: None,
                })
                .await
                .seq;
        }
        host.close().await;
        out.push(Written { room, acked });
    }
    let series = remote
        .create_series("Damaged series", &["Mo", "Noor"])
        .await;
    server.terminate();
    let status = server.wait_exit(EXIT);
    assert!(
        status.success(),
        "the populating server stopped with {status}"
    );
    (out, series)
}

/// The status and error code of the series' member list, as its host reads it.
async fn members(remote: &Remote, series: &SeriesCreated) -> (u16, String) {
    let path = format!("/api/series/{}/members", series.series_id);
    let body = json!({ "key": series.host_key, "action": "list" }).to_string();
    let answer = remote.http("POST", &path, body.as_bytes()).await;
    let code = answer.json["code"].as_str().unwrap_or_default().to_string();
    (answer.status, code)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// Flip 16 bytes of `file` at `at` (clamped to the file).
fn flip(file: &Path, at: usize) {
    let mut bytes = std::fs::read(file).expect("read the file to damage");
    let at = at.min(bytes.len().saturating_sub(16));
    for b in &mut bytes[at..at + 16] {
        *b ^= 0xa5;
    }
    std::fs::write(file, bytes).expect("write the damage");
}

/// The seq a host entering `room` is welcomed at (the room resumed), or the code refusing it.
async fn enter(remote: &Remote, room: &RoomCreated) -> Result<u64, ErrorCode> {
    let mut c = remote.connect("Host again").await;
    let entered = c
        .enter_or_refused(Command::Host {
            room: room.room_id.clone(),
            key: room.host_key.clone(),
            name: "Second host".into(),
        })
        .await;
    entered.map(|w| w.seq)
}

/// The preview's status and error code (`""` on success).
async fn preview(remote: &Remote, room: &RoomCreated) -> (u16, String) {
    let path = format!("/api/rooms/{}/preview", room.room_id);
    let body = json!({ "key": room.join_key }).to_string();
    let answer = remote.http("POST", &path, body.as_bytes()).await;
    let code = answer.json["code"].as_str().unwrap_or_default().to_string();
    (answer.status, code)
}

/// What a host entering each room sees on the undamaged store.
async fn baseline(pristine: &Path, written: &[Written]) -> Vec<u64> {
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(pristine, copy.path());
    let (code, text) = check(copy.path());
    assert_eq!(code, 0, "check of the undamaged store: {text}");
    assert!(text.contains(&format!("rooms: {ROOMS}")), "{text}");
    let server = Binary::start(copy.path());
    let remote = server.remote();
    let mut seqs = Vec::new();
    for w in written {
        let seq = enter(&remote, &w.room)
            .await
            .expect("an undamaged room resumes");
        assert!(seq > w.acked, "entered at {seq}, acked {}", w.acked);
        seqs.push(seq);
    }
    seqs
}

#[tokio::test]
async fn damage_is_refused_or_harmless_and_never_served_as_not_found() {
    let pristine = tempfile::tempdir().expect("tempdir");
    let (written, series) = populate(pristine.path()).await;
    let expected = baseline(pristine.path(), &written).await;
    let db_len = std::fs::metadata(pristine.path().join("db"))
        .expect("sled's db")
        .len() as usize;
    // The manifest's lines (zeros are kept ahead of its end).
    let manifest_len = std::fs::read(pristine.path().join("manifest"))
        .expect("the manifest")
        .iter()
        .rposition(|&b| b == b'\n')
        .expect("manifest lines");
    let mut cases: Vec<(&str, usize)> = [2, 10, 30, 50, 70, 90]
        .iter()
        .map(|pct| ("db", db_len * pct / 100))
        .collect();
    cases.push(("manifest", manifest_len / 2));
    let mut refused = 0;
    for (file, at) in cases {
        let case = format!("{file}@{at}");
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(pristine.path(), dir.path());
        flip(&dir.path().join(file), at);
        let before = std::fs::read(dir.path().join(file)).expect("damaged bytes");
        let (checked, report) = check(dir.path());
        assert_eq!(
            std::fs::read(dir.path().join(file)).expect("bytes after check"),
            before,
            "{case}: check changed the store"
        );

        let mut server = Binary::spawn(dir.path());
        match server.try_wait_listening() {
            Ok(()) => {
                // Nothing acknowledged was lost: every room resumes where it was.
                eprintln!("{case}: started clean");
                assert_eq!(
                    checked, 0,
                    "{case}: the server started but check says:\n{report}"
                );
                let remote = server.remote();
                for (w, seq) in written.iter().zip(&expected) {
                    assert_eq!(enter(&remote, &w.room).await, Ok(*seq), "{case}");
                }
                assert_eq!(members(&remote, &series).await.0, 200, "{case}: the series");
            }
            Err(_) => {
                refused += 1;
                eprintln!("{case}: refused");
                let status = server.wait_exit(EXIT);
                let out = server.output_text();
                assert_eq!(
                    status.code(),
                    Some(65),
                    "{case}: refused with {status}:\n{out}"
                );
                assert!(
                    out.contains("the store is damaged") && out.contains("circlekeeper restore"),
                    "{case}: the refusal does not say what and how:\n{out}"
                );
                assert_eq!(
                    checked, 65,
                    "{case}: the server refused, check says:\n{report}"
                );
                drop(server);
                let damaged: Vec<&Written> = written
                    .iter()
                    .filter(|w| out.contains(&format!("room {}", w.room.room_id)))
                    .collect();
                if out.contains("sled cannot open it") {
                    eprintln!("{case}: sled cannot open it");
                    // sled itself refuses these files: nothing can be served, not even with
                    // --serve-intact, which says so the same way.
                    let mut again = Binary::spawn_with(dir.path(), &["--serve-intact"]);
                    assert!(again.try_wait_listening().is_err(), "{case}: served anyway");
                    let status = again.wait_exit(EXIT);
                    assert_eq!(status.code(), Some(65), "{case}: {}", again.output_text());
                    continue;
                }
                if file == "db" {
                    assert!(!damaged.is_empty(), "{case}: no room named:\n{out}");
                }
                let server = Binary::start_with(dir.path(), &["--serve-intact"]);
                let remote = server.remote();
                let lost = out.contains(&format!("series {}", series.series_id));
                eprintln!("{case}: series named damaged: {lost}");
                let expected_series = if lost {
                    (503, "room_unavailable".to_string())
                } else {
                    (200, String::new())
                };
                assert_eq!(
                    members(&remote, &series).await,
                    expected_series,
                    "{case}: the series (named damaged: {lost})"
                );
                for (w, seq) in written.iter().zip(&expected) {
                    let named = damaged.iter().any(|d| d.room.room_id == w.room.room_id);
                    let (status, code) = preview(&remote, &w.room).await;
                    assert_ne!(status, 404, "{case}: a room answered not found");
                    if named {
                        assert_eq!((status, code.as_str()), (503, "room_unavailable"), "{case}");
                        let path = format!("/api/rooms/{}/export", w.room.room_id);
                        let body = json!({ "key": w.room.host_key }).to_string();
                        let export = remote.http("POST", &path, body.as_bytes()).await;
                        assert_ne!(export.status, 404, "{case}: export answered not found");
                        assert_ne!(export.status, 200, "{case}: a damaged room exported");
                        assert_eq!(
                            enter(&remote, &w.room).await,
                            Err(ErrorCode::RoomUnavailable),
                            "{case}"
                        );
                    } else {
                        assert_eq!(status, 200, "{case}: an intact room's preview");
                        assert_eq!(enter(&remote, &w.room).await, Ok(*seq), "{case}");
                    }
                }
            }
        }
    }
    assert!(refused >= 1, "no flip was detected at all");
}
