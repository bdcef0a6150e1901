//! The PostgreSQL store against a real PostgreSQL 15 (tests/common/postgres.rs): the store
//! conformance suite, each property on a fresh database; a delete that leaves no row of the
//! room and no key row; and the real binary on `--store postgres://…` killed with SIGKILL and
//! restarted without losing an acknowledged command. Skipped (and said so) without PostgreSQL
//! installed; failed instead with `CI` set.

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/postgres.rs"]
mod postgres_server;

use binary::Binary;
use circlekeeper::store::{conformance, PgStore, Store, StoreError, Write};
use circlekeeper_protocol::{Command, Presence, RoomView};
use common::checkout_room;
use postgres_server::Postgres;

/// Every table of the schema that holds something of a room, with its room column.
const ROOM_TABLES: [(&str, &str); 6] = [
    ("rooms", "id"),
    ("room_keys", "room"),
    ("events", "room"),
    ("snapshots", "room"),
    ("notes", "room"),
    ("tokens", "room"),
];

fn rows_of(url: &str, room: &str) -> Vec<(&'static str, i64)> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    ROOM_TABLES
        .iter()
        .map(|(table, column)| {
            let n: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM {table} WHERE {column} = $1"),
                    &[&room],
                )
                .expect("count")
                .get(0);
            (*table, n)
        })
        .collect()
}

#[test]
fn the_postgres_store_passes_the_conformance_suite() {
    let Some(pg) = Postgres::start("the_postgres_store_passes_the_conformance_suite") else {
        return;
    };
    conformance::run_all(|| PgStore::open(&pg.fresh_database()).expect("the store opens"));
}

#[test]
fn a_delete_removes_every_row_and_the_key_row_of_the_room() {
    let Some(pg) = Postgres::start("a_delete_removes_every_row_and_the_key_row_of_the_room") else {
        return;
    };
    let url = pg.fresh_database();
    let store = PgStore::open(&url).expect("the store opens");
    for id in ["gone", "kept"] {
        store.write(&conformance::whole_room(id)).expect("write");
        store.flush().expect("flush");
    }
    let every_table_has_one = |room: &str| {
        for (table, n) in rows_of(&url, room) {
            assert!(n >= 1, "{room}: nothing in {table} before the delete");
        }
    };
    every_table_has_one("gone");
    let sealed: Vec<u8> = postgres::Client::connect(&url, postgres::NoTls)
        .expect("connect")
        .query_one("SELECT notes FROM notes WHERE room = 'gone'", &[])
        .expect("notes row")
        .get(0);
    assert!(
        !sealed.windows(4).any(|w| w == b"text"),
        "notes are stored sealed, not as plain JSON"
    );
    store
        .write(&[Write::Delete {
            room: "gone".into(),
        }])
        .expect("delete");
    store.flush().expect("flush");
    for (table, n) in rows_of(&url, "gone") {
        assert_eq!(n, 0, "a row of the deleted room is left in {table}");
    }
    every_table_has_one("kept");
    // Reopening (migrations already applied) finds the other room whole.
    drop(store);
    let store = PgStore::open(&url).expect("the store reopens");
    assert_eq!(store.room_count().expect("count"), 1);
    assert_eq!(store.load("kept").expect("load").events.len(), 3);
    let versions: i64 = postgres::Client::connect(&url, postgres::NoTls)
        .expect("connect")
        .query_one("SELECT count(*) FROM schema_version", &[])
        .expect("versions")
        .get(0);
    assert_eq!(versions, 2, "each migration is recorded once");
}

fn without_presence(view: &RoomView) -> RoomView {
    let mut view = view.clone();
    for p in &mut view.participants {
        p.presence = Presence::Connected;
    }
    view
}

#[tokio::test]
async fn the_binary_on_postgres_keeps_every_acknowledged_command_across_kill_9() {
    let Some(pg) =
        Postgres::start("the_binary_on_postgres_keeps_every_acknowledged_command_across_kill_9")
    else {
        return;
    };
    // The test cluster trusts local connections: the password is not checked, only carried,
    // so the log can be searched for it.
    let url = pg
        .fresh_database()
        .replacen("postgres@", "postgres:pw-never-logged@", 1);
    let dir = tempfile::tempdir().expect("a data directory");
    let server = Binary::start_with(dir.path(), &["--store", &url, "--node-id", "pg-node"]);
    let remote = server.remote();
    let room = remote.create_room(checkout_room("On PostgreSQL")).await;
    let mut host = remote.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut ada = remote.join(&room, "Ada").await;
    ada.ok(Command::AcceptGroundRules).await;
    host.ok(Command::Start).await;
    ada.ok(Command::RaiseHand).await;
    host.ok(Command::PushPrompt {
        prompt: None,
        text: Some("What would help you most right now?".into()),
        to: None,
    })
    .await;
    let last = host.ok(Command::Pause).await;
    ada.catch_up(last.seq).await;
    host.catch_up(last.seq).await;
    let before = without_presence(&host.view);
    server.kill9();
    assert!(
        std::fs::read_dir(dir.path()).map_or(true, |mut d| d.next().is_none()),
        "on PostgreSQL nothing is written to the data directory"
    );

    let server = Binary::start_with(dir.path(), &["--store", &url, "--node-id", "pg-node"]);
    let remote = server.remote();
    let welcome = host.reconnect(&remote).await;
    assert!(welcome.seq >= last.seq, "the restarted server is behind");
    assert_eq!(
        without_presence(&host.view),
        before,
        "every acknowledged command is in the restored room"
    );
    ada.reconnect(&remote).await;
    ada.ok(Command::LowerHand { participant: None }).await;
    assert!(
        !server.output_text().contains("pw-never-logged"),
        "the log shows the database password"
    );
}

#[test]
fn a_database_that_is_down_at_start_is_a_clear_error_and_exit_69() {
    // Nothing listens on a port just released; no PostgreSQL is needed for this one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://ck:hunter2-secret@127.0.0.1:{port}/ck");
    let dir = tempfile::tempdir().expect("a data directory");
    let mut server = Binary::spawn_with(dir.path(), &["--store", &url]);
    let status = server.wait_exit(binary::BOOT);
    assert_eq!(status.code(), Some(69), "{}", server.output_text());
    let output = server.output_text();
    assert!(
        output.contains("cannot open the PostgreSQL store")
            && output.contains(&format!("postgres://ck:***@127.0.0.1:{port}/ck")),
        "{output}"
    );
    assert!(
        !output.contains("hunter2"),
        "the password is printed: {output}"
    );
}

#[test]
fn a_failed_transaction_is_a_backend_error_commits_nothing_and_the_store_recovers() {
    let Some(pg) = Postgres::start(
        "a_failed_transaction_is_a_backend_error_commits_nothing_and_the_store_recovers",
    ) else {
        return;
    };
    let url = pg.fresh_database();
    let store = PgStore::open(&url).expect("the store opens");
    store.write(&conformance::whole_room("r")).expect("write");
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    // The last write of the batch fails: the events before it must not be committed either.
    admin
        .batch_execute("ALTER TABLE notes RENAME TO notes_away")
        .expect("rename");
    let failed = store.write(&[
        conformance::events("r", 4..=4),
        Write::Notes {
            room: "r".into(),
            notes: Box::new(conformance::notes("later")),
        },
    ]);
    assert!(
        matches!(failed, Err(StoreError::Backend { .. })),
        "{failed:?}"
    );
    admin
        .batch_execute("ALTER TABLE notes_away RENAME TO notes")
        .expect("rename back");
    assert_eq!(store.load("r").expect("load").events.len(), 3);
    // The server ends the store's connection: the store opens a new one by itself (the call
    // that finds the old one dead may fail; a few tries, no more).
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'circlekeeper'",
        )
        .expect("terminate");
    let recovered = (0..3).any(|_| store.write(&[conformance::events("r", 4..=4)]).is_ok());
    assert!(recovered, "the store did not reconnect");
    let seqs: Vec<u64> = store
        .load("r")
        .expect("load")
        .events
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
}
