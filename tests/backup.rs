//! Backup and restore against the real binary (issue 18, point 1): `circlekeeper backup`
//! while the server runs and clients keep sending commands, then `circlekeeper restore` into a
//! fresh sled data directory, into PostgreSQL, and from PostgreSQL back into sled. Every
//! restored store holds what the original held (room records, rebuilt rooms, every event,
//! token hashes, series records), and a server started on it lets participants resume with
//! their old tokens, each seeing their own private commitments. A truncated, damaged or newer
//! backup is refused and nothing is written; a non-empty target is refused; the operator
//! endpoint refuses a missing or wrong token, and `admin.json` is private and removed at a
//! clean shutdown.
//!
//! The PostgreSQL round trip is skipped (and says so) without PostgreSQL; with `CI` set it
//! fails instead.

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/envelope.rs"]
mod envelope;
#[path = "common/postgres.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use binary::Binary;
use circlekeeper::restore::rebuild;
use circlekeeper::room::Room;
use circlekeeper::series::SeriesRecord;
use circlekeeper::store::{PgStore, RoomRecord, SledStore, Store, StoredEvent};
use circlekeeper_protocol::{AckResult, Command, Mine, ParticipantId, Visibility};
use common::{checkout_room, Client, Remote};
use postgres_server::Postgres;
use serde_json::json;

/// How long a SIGTERM'd server may take to exit.
const EXIT: Duration = Duration::from_secs(25);

/// Clients sending commands while the backup runs.
const LOAD_CLIENTS: u64 = 6;

/// Commands each load client sends.
const LOAD_COMMANDS: u64 = 50;

/// The pause between two commands of one load client: under the per-connection rate limit
/// (10 a second).
const LOAD_PACE: Duration = Duration::from_millis(110);

/// How long the load may take to get going before the backup starts.
const LOAD_START: Duration = Duration::from_secs(20);

/// Run the binary with `args` (a tool: backup or restore) and wait for it.
fn tool(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_circlekeeper"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CIRCLEKEEPER_STORE")
        .env_remove("CIRCLEKEEPER_DATA_DIR")
        .output()
        .expect("the circlekeeper binary runs")
}

/// Like [`tool`], and it must succeed: its standard output.
fn tool_ok(args: &[&str]) -> String {
    let out = tool(args);
    assert!(
        out.status.success(),
        "circlekeeper {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Like [`tool`], and it must fail: its standard error.
fn tool_fails(args: &[&str]) -> String {
    let out = tool(args);
    assert!(
        !out.status.success(),
        "circlekeeper {args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// One room as a store holds it: record, the room rebuilt, every event, sorted token hashes.
#[derive(Debug, PartialEq)]
struct Kept {
    record: RoomRecord,
    room: Room,
    events: Vec<StoredEvent>,
    tokens: Vec<([u8; 32], ParticipantId)>,
}

/// Everything a store holds, by room and series id.
fn contents(store: &dyn Store) -> (BTreeMap<String, Kept>, BTreeMap<String, SeriesRecord>) {
    let mut rooms = BTreeMap::new();
    for (id, record) in store.rooms().expect("rooms") {
        let loaded = store.load(&id).expect("a room loads");
        let room = rebuild(&record, &loaded).expect("a room rebuilds");
        let mut tokens = loaded.tokens.clone();
        tokens.sort();
        rooms.insert(
            id,
            Kept {
                record,
                room,
                events: loaded.events,
                tokens,
            },
        );
    }
    let series = store
        .series()
        .expect("series")
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    (rooms, series)
}

/// What a sled data directory holds (no server may be running on it).
fn sled_contents(dir: &Path) -> (BTreeMap<String, Kept>, BTreeMap<String, SeriesRecord>) {
    let store = SledStore::open(dir).expect("the store opens");
    contents(&store)
}

/// My items in the room, as the server gives them back.
async fn mine(c: &mut Client) -> Mine {
    match c.ok(Command::MyItems).await.result {
        Some(AckResult::Mine { mine }) => mine,
        other => panic!("my items: {other:?}"),
    }
}

/// Who was in a room, with a token each: resumed on another server to check it.
struct Person {
    name: String,
    room: String,
    token: String,
    /// The private commitment they wrote, as sent (sealed), if any.
    private: Option<String>,
}

/// The world the tests back up: a running check-out room (host and three people, shared and
/// private commitments), a series with a session its two members entered, and a second plain
/// room. The clients stay connected; the people to resume are listed.
struct World {
    /// The busy room (the load joins it).
    busy: circlekeeper_protocol::RoomCreated,
    rooms: Vec<String>,
    people: Vec<Person>,
    clients: Vec<Client>,
}

async fn build_world(remote: &Remote) -> World {
    let room = remote.create_room(checkout_room("Backed-up circle")).await;
    let mut host = remote.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut clients = Vec::new();
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Cy"] {
        let mut c = remote.join(&room, name).await;
        c.ok(Command::AcceptGroundRules).await;
        clients.push(c);
    }
    host.ok(Command::Start).await;
    for (i, c) in clients.iter_mut().enumerate() {
        c.ok(Command::RecordCommitment {
            text: format!("Shared commitment of {}", c.name),
            due: None,
            visibility: Visibility::Circle,
        })
        .await;
        let private = (i < 2).then(|| envelope::sealed(&format!("Private of {}", c.name)));
        if let Some(text) = &private {
            c.ok(Command::RecordCommitment {
                text: text.clone(),
                due: None,
                visibility: Visibility::Private,
            })
            .await;
        }
        people.push(Person {
            name: c.name.clone(),
            room: room.room_id.clone(),
            token: c.token.clone(),
            private,
        });
    }
    people.push(Person {
        name: "Host".into(),
        room: room.room_id.clone(),
        token: host.token.clone(),
        private: None,
    });
    clients.push(host);

    let series = remote
        .create_series("Backed-up series", &["Mo", "Noor"])
        .await;
    let (session, fran, members) = remote.series_session(&series).await;
    for m in &members {
        people.push(Person {
            name: m.name.clone(),
            room: session.room_id.clone(),
            token: m.token.clone(),
            private: None,
        });
    }
    people.push(Person {
        name: "Fran".into(),
        room: session.room_id.clone(),
        token: fran.token.clone(),
        private: None,
    });
    clients.push(fran);
    clients.extend(members);

    let quiet = remote.create_room(checkout_room("Quiet room")).await;
    let mut q = remote.host(&quiet, "Quinn").await;
    q.ok(Command::AcceptGroundRules).await;
    people.push(Person {
        name: "Quinn".into(),
        room: quiet.room_id.clone(),
        token: q.token.clone(),
        private: None,
    });
    clients.push(q);
    World {
        rooms: vec![room.room_id.clone(), session.room_id, quiet.room_id],
        busy: room,
        people,
        clients,
    }
}

/// Every person resumes on `remote` with their old token: each room is at least at its seq in
/// `seqs`, and each person sees their own private commitment, and nobody else's.
async fn everyone_resumes(remote: &Remote, people: &[Person], seqs: &BTreeMap<String, u64>) {
    for p in people {
        let mut c = remote.connect(&p.name).await;
        let welcome = c
            .enter(Command::Resume {
                room: p.room.clone(),
                token: p.token.clone(),
                last_seq: None,
            })
            .await;
        // Loading a room and people coming back add presence events after what was stored.
        if let Some(seq) = seqs.get(&p.room) {
            assert!(
                welcome.seq >= *seq,
                "{} resumes room {} at {}, before its stored seq {seq}",
                p.name,
                p.room,
                welcome.seq
            );
        }
        let mine = mine(&mut c).await;
        let private: Vec<&str> = mine
            .commitments
            .iter()
            .filter(|c| c.visibility == Visibility::Private)
            .map(|c| c.text.as_str())
            .collect();
        assert_eq!(
            private,
            p.private.iter().map(String::as_str).collect::<Vec<_>>(),
            "{}'s private commitments after the restore",
            p.name
        );
        let seen = c
            .view
            .commitments
            .iter()
            .filter(|k| k.visibility == Visibility::Private);
        for k in seen {
            assert_eq!(
                k.author, c.you,
                "{} sees someone else's private commitment",
                p.name
            );
        }
        // The restored room takes commands on.
        c.ok(Command::Sync).await;
        c.close().await;
    }
}

/// Each room's seq as a store holds it.
fn seqs(rooms: &BTreeMap<String, Kept>) -> BTreeMap<String, u64> {
    rooms
        .iter()
        .map(|(id, k)| (id.clone(), k.room.seq()))
        .collect()
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_every_room_as_it_was() {
    let a = tempfile::tempdir().expect("a data directory");
    let files = tempfile::tempdir().expect("a directory for backups");
    let mut server = Binary::start(a.path());
    let remote = server.remote();
    let mut world = build_world(&remote).await;

    // Load: six clients raise and lower hands in the busy room while the backup runs.
    let busy = world.rooms[0].clone();
    let acked = Arc::new(AtomicU64::new(0));
    let last_seq = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for i in 0..LOAD_CLIENTS {
        let mut c = remote.join(&world.busy, &format!("Load {i}")).await;
        c.ok(Command::AcceptGroundRules).await;
        let (acked, last_seq) = (Arc::clone(&acked), Arc::clone(&last_seq));
        load.push(tokio::spawn(async move {
            let mut pace = tokio::time::interval(LOAD_PACE);
            for k in 0..LOAD_COMMANDS {
                pace.tick().await;
                let command = if k % 2 == 0 {
                    Command::RaiseHand
                } else {
                    Command::LowerHand { participant: None }
                };
                let a = c.ok(command).await;
                last_seq.fetch_max(a.seq, Ordering::SeqCst);
                acked.fetch_add(1, Ordering::SeqCst);
            }
            c
        }));
    }
    let deadline = Instant::now() + LOAD_START;
    while acked.load(Ordering::SeqCst) < 40 {
        assert!(Instant::now() < deadline, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = last_seq.load(Ordering::SeqCst);
    let under_load = files.path().join("under-load.backup");
    let args = [
        "--data-dir".to_string(),
        path(a.path()).to_string(),
        "backup".to_string(),
        "--out".to_string(),
        path(&under_load).to_string(),
    ];
    let printed = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        tool_ok(&args)
    })
    .await
    .expect("the backup ran");
    let during = acked.load(Ordering::SeqCst);
    for task in load {
        world.clients.push(task.await.expect("a load client"));
    }
    let after = last_seq.load(Ordering::SeqCst);
    assert!(
        printed.contains("streamed from the server"),
        "a running server is backed up through it: {printed}"
    );
    assert!(
        during < LOAD_CLIENTS * LOAD_COMMANDS,
        "the backup ran while commands were still being acknowledged ({during} of {})",
        LOAD_CLIENTS * LOAD_COMMANDS
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&under_load)
            .expect("the backup")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "a backup is readable by its owner only"
        );
    }
    let text = std::fs::read_to_string(&under_load).expect("the backup");
    let header: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("a header")).expect("JSON");
    assert_eq!(header["format"], "circlekeeper-backup");
    assert_eq!(header["version"], 1);

    // Restored into a fresh sled directory: every room is there, the busy one with at least
    // everything acknowledged before the backup began, and people resume with their tokens.
    let b = tempfile::tempdir().expect("a data directory");
    let restored = tool_ok(&["--data-dir", path(b.path()), "restore", path(&under_load)]);
    assert!(restored.contains("restored 3 rooms"), "{restored}");
    assert!(restored.contains("1 series"), "{restored}");
    let (rooms_b, series_b) = sled_contents(b.path());
    assert_eq!(rooms_b.len(), 3);
    assert_eq!(series_b.len(), 1);
    let busy_seq = rooms_b[&busy].room.seq();
    assert!(
        (before..=after).contains(&busy_seq),
        "the busy room is restored at {busy_seq}: acknowledged before the backup {before}, at the end {after}"
    );
    let mut second = Binary::start(b.path());
    everyone_resumes(&second.remote(), &world.people, &seqs(&rooms_b)).await;
    second.terminate();
    assert!(second.wait_exit(EXIT).success());

    // A backup of the quiet server is the store itself: restored, every room, event, token
    // and series is identical to the original's.
    let quiet = files.path().join("quiet.backup");
    tool_ok(&[
        "--data-dir",
        path(a.path()),
        "backup",
        "--out",
        path(&quiet),
    ]);
    for c in world.clients.drain(..) {
        c.close().await;
    }
    server.terminate();
    assert!(server.wait_exit(EXIT).success());
    assert!(
        !a.path().join("admin.json").exists(),
        "admin.json is removed at a clean shutdown"
    );
    let (rooms_a, series_a) = sled_contents(a.path());
    let c = tempfile::tempdir().expect("a data directory");
    tool_ok(&["--data-dir", path(c.path()), "restore", path(&quiet)]);
    let (rooms_c, series_c) = sled_contents(c.path());
    assert_eq!(rooms_c, rooms_a, "the restored rooms are the original's");
    assert_eq!(series_c, series_a, "the restored series are the original's");
    let third = Binary::start(c.path());
    everyone_resumes(&third.remote(), &world.people, &seqs(&rooms_a)).await;

    // The stopped original is backed up from its store directly.
    let offline = files.path().join("offline.backup");
    let printed = tool_ok(&[
        "--data-dir",
        path(a.path()),
        "backup",
        "--out",
        path(&offline),
    ]);
    assert!(printed.contains("read from the store"), "{printed}");
    let d = tempfile::tempdir().expect("a data directory");
    tool_ok(&["--data-dir", path(d.path()), "restore", path(&offline)]);
    assert_eq!(sled_contents(d.path()).0, rooms_a);
}

#[tokio::test]
async fn a_store_moves_from_sled_to_postgres_and_back() {
    let Some(pg) = Postgres::start("backup") else {
        return;
    };
    let a = tempfile::tempdir().expect("a data directory");
    let files = tempfile::tempdir().expect("a directory for backups");
    let mut server = Binary::start(a.path());
    let world = build_world(&server.remote()).await;
    let sled_file = files.path().join("sled.backup");
    tool_ok(&[
        "--data-dir",
        path(a.path()),
        "backup",
        "--out",
        path(&sled_file),
    ]);
    for c in world.clients {
        c.close().await;
    }
    server.terminate();
    assert!(server.wait_exit(EXIT).success());
    let (rooms_a, series_a) = sled_contents(a.path());

    // Into PostgreSQL: the same rooms and series, and people resume there.
    let url = pg.fresh_database();
    let printed = tool_ok(&["--store", &url, "restore", path(&sled_file)]);
    assert!(printed.contains("restored 3 rooms"), "{printed}");
    {
        let store = PgStore::open(&url).expect("PostgreSQL opens");
        let (rooms, series) = contents(&store);
        assert_eq!(rooms, rooms_a, "PostgreSQL holds the sled store's rooms");
        assert_eq!(series, series_a);
    }
    let empty = tempfile::tempdir().expect("an unused data directory");
    let mut on_pg = Binary::start_with(empty.path(), &["--store", &url]);
    everyone_resumes(&on_pg.remote(), &world.people, &seqs(&rooms_a)).await;
    on_pg.terminate();
    assert!(on_pg.wait_exit(EXIT).success());

    // And back: a backup of PostgreSQL restored into a fresh sled directory.
    let pg_file = files.path().join("pg.backup");
    tool_ok(&["--store", &url, "backup", "--out", path(&pg_file)]);
    let b = tempfile::tempdir().expect("a data directory");
    tool_ok(&["--data-dir", path(b.path()), "restore", path(&pg_file)]);
    let (rooms_b, series_b) = sled_contents(b.path());
    // The resumes above wrote to the rooms (syncs write nothing, but presence may): compare
    // with PostgreSQL as it is now.
    let store = PgStore::open(&url).expect("PostgreSQL opens");
    let (rooms_pg, series_pg) = contents(&store);
    assert_eq!(rooms_b, rooms_pg, "sled holds PostgreSQL's rooms");
    assert_eq!(series_b, series_pg);
    let again = Binary::start(b.path());
    everyone_resumes(&again.remote(), &world.people, &seqs(&rooms_b)).await;

    // PostgreSQL is not empty now: a second restore into it is refused.
    let refused = tool_fails(&["--store", &url, "restore", path(&sled_file)]);
    assert!(refused.contains("not empty"), "{refused}");
}

#[tokio::test]
async fn a_damaged_truncated_or_newer_backup_is_refused_and_nothing_is_written() {
    let a = tempfile::tempdir().expect("a data directory");
    let files = tempfile::tempdir().expect("a directory for backups");
    let mut server = Binary::start(a.path());
    let world = build_world(&server.remote()).await;
    let good = files.path().join("good.backup");
    tool_ok(&["--data-dir", path(a.path()), "backup", "--out", path(&good)]);
    let text = std::fs::read_to_string(&good).expect("the backup");
    drop(world);

    let refused = |name: &str, content: &str| -> (String, PathBuf) {
        let file = files.path().join(name);
        std::fs::write(&file, content).expect("write a bad backup");
        let target = files.path().join(format!("{name}.target"));
        let stderr = tool_fails(&["--data-dir", path(&target), "restore", path(&file)]);
        assert!(
            !target.exists(),
            "{name}: nothing is created for a backup that is refused"
        );
        (stderr, target)
    };

    // Cut short in the middle of a line, and cut at a line's end (the trailer gone).
    let (e, _) = refused("half", &text[..text.len() / 2]);
    assert!(e.contains("truncated"), "{e}");
    let without_trailer: String = text
        .lines()
        .take(text.lines().count() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    let (e, _) = refused("no-trailer", &without_trailer);
    assert!(e.contains("truncated"), "{e}");

    // One changed character in a room's line: the checksum no longer matches.
    let damaged = text.replacen("Backed-up circle", "Backed-up circlE", 1);
    assert_ne!(damaged, text);
    let (e, _) = refused("damaged", &damaged);
    assert!(e.contains("damaged"), "{e}");

    // A line of garbage.
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{\"room\": not json";
    let (e, _) = refused("garbage", &(lines.join("\n") + "\n"));
    assert!(e.contains("damaged at line 2"), "{e}");

    // A newer format.
    let newer = text.replacen("\"version\":1", "\"version\":2", 1);
    let (e, _) = refused("newer", &newer);
    assert!(e.contains("newer"), "{e}");

    // Not a backup at all.
    let (e, _) = refused("other", "{\"hello\":1}\n");
    assert!(e.contains("not a circlekeeper backup"), "{e}");

    // A store that holds rooms is not a restore's target: the running server's own.
    server.terminate();
    assert!(server.wait_exit(EXIT).success());
    let e = tool_fails(&["--data-dir", path(a.path()), "restore", path(&good)]);
    assert!(e.contains("not empty"), "{e}");
}

#[tokio::test]
async fn the_operator_endpoint_takes_only_the_token_in_admin_json() {
    let a = tempfile::tempdir().expect("a data directory");
    let files = tempfile::tempdir().expect("a directory for backups");
    let server = Binary::start(a.path());
    let remote = server.remote();
    let admin = a.path().join("admin.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&admin)
            .expect("admin.json")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "admin.json is readable by its owner only"
        );
    }
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&admin).expect("admin.json")).expect("JSON");
    assert_eq!(info["addr"], remote.addr.to_string());
    let token = info["token"].as_str().expect("a token").to_string();

    let none = remote.http("GET", "/api/admin/backup", b"").await;
    assert_eq!(none.status, 401, "{}", none.text);
    assert_eq!(none.json["code"], "not_authenticated");

    let wrong = get_with_token(&remote, "not-the-token").await;
    assert!(wrong.starts_with("HTTP/1.1 403"), "{wrong}");
    assert!(wrong.contains("\"invalid_token\""), "{wrong}");
    let right = get_with_token(&remote, &token).await;
    assert!(
        right.starts_with("HTTP/1.1 200"),
        "{}",
        &right[..right.len().min(300)]
    );
    assert!(right.contains("circlekeeper-backup"));

    let good = files.path().join("good.backup");
    tool_ok(&["--data-dir", path(a.path()), "backup", "--out", path(&good)]);

    // The tool with a tampered admin.json is refused, says so, and leaves no file.
    let mut tampered = info.clone();
    tampered["token"] = json!("tampered");
    std::fs::write(&admin, tampered.to_string()).expect("rewrite admin.json");
    let out = files.path().join("refused.backup");
    let e = tool_fails(&["--data-dir", path(a.path()), "backup", "--out", path(&out)]);
    assert!(e.contains("invalid_token"), "{e}");
    assert!(!out.exists(), "a refused backup leaves no file");
    // Nobody restores into the store a server holds.
    let e = tool_fails(&["--data-dir", path(a.path()), "restore", path(&out)]);
    assert!(e.contains("No such file"), "the file is read first: {e}");
    let e = tool_fails(&["--data-dir", path(a.path()), "restore", path(&good)]);
    assert!(e.contains("stop it first"), "{e}");
    assert!(
        !server.output_text().contains(&token),
        "the operator token is never logged"
    );

    // Killed, the server leaves admin.json behind; nobody answers at its address, and the
    // store is read directly.
    server.kill9();
    assert!(admin.exists());
    let after_kill = files.path().join("after-kill.backup");
    let printed = tool_ok(&[
        "--data-dir",
        path(a.path()),
        "backup",
        "--out",
        path(&after_kill),
    ]);
    assert!(printed.contains("read from the store"), "{printed}");
    assert_eq!(
        std::fs::read_to_string(&after_kill)
            .expect("the backup")
            .lines()
            .count(),
        2,
        "an empty store: header and trailer"
    );
}

/// `GET /api/admin/backup` with a bearer token: the raw answer.
async fn get_with_token(remote: &Remote, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(remote.addr)
        .await
        .expect("connect");
    let request = format!(
        "GET /api/admin/backup HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        remote.addr
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(common::WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&raw).into_owned()
}
