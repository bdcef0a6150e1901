//! Fail-over to a synchronous standby (issue 15, item 5): the real binary runs on a PostgreSQL
//! primary whose every commit waits for a standby (`synchronous_standby_names` naming it,
//! `synchronous_commit = on`). Many clients send commands at once; the primary's postmaster is
//! killed with SIGKILL while commands are in flight, then the binary too; the standby is
//! promoted and a fresh binary started on it. Every event any client was sent (so every
//! acknowledged command's event) is on the promoted standby, with contiguous sequence numbers:
//! in its `events` table, and replayed by the new binary to a `resume` from seq 0. The commands
//! cut off, sent again with their ids after the fail-over, are acknowledged.
//!
//! Skipped (and said so) without PostgreSQL installed; failed instead with `CI` set.

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/postgres.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::time::Duration;

use binary::Binary;
use circlekeeper_protocol::{Command, Event, Millis, ParticipantId, TurnReason};
use common::{checkout_room, Acked, Client, Remote, Reply};
use postgres_server::Postgres;
use tokio::sync::mpsc;

/// The standby's `application_name`, as `synchronous_standby_names` names it.
const STANDBY: &str = "ck_standby";

/// Participants sending commands at once (each one at a time: several in flight together).
const SENDERS: usize = 10;

/// Commands each sender sends at most: under the per-connection burst (30 frames, two of them
/// spent on entering and consenting), so no command is refused for its rate.
const PER_SENDER: usize = 25;

/// The primary is killed once this many commands are acknowledged: the senders are then in
/// the middle of their runs.
const KILL_AT: usize = 100;

/// How long a sender waits for one answer before it gives up (the database is gone).
const ANSWER: Duration = Duration::from_secs(3);

/// An acknowledged command and the event it produced.
#[derive(Debug)]
struct AckRecord {
    who: String,
    id: String,
    seq: u64,
    at: Millis,
    event: Event,
}

/// What a sender did: its acknowledged commands, how it stopped, the command it got no ack
/// for (its id and number), and its client (to read the frames still buffered, and resume).
struct SenderRun {
    client: Client,
    acks: Vec<AckRecord>,
    ending: String,
    unanswered: Option<(String, usize)>,
}

/// The `n`th command of a sender: raise the hand, lower it, in turn; and the reason of the
/// event it makes.
fn nth_command(n: usize) -> (Command, TurnReason) {
    if n.is_multiple_of(2) {
        (Command::RaiseHand, TurnReason::HandRaised)
    } else {
        (
            Command::LowerHand { participant: None },
            TurnReason::HandLowered,
        )
    }
}

/// The event `client` saw at the seq `ack` names, checked to be the one event of its command
/// (a hand raised or lowered, for `reason`, by the client itself), which came before the ack.
fn own_event(client: &Client, ack: &Acked, reason: TurnReason) -> (Millis, Event) {
    let seen = client
        .log
        .iter()
        .find(|s| s.seq == ack.seq)
        .unwrap_or_else(|| panic!("{}: no event {} before its ack", client.name, ack.seq));
    assert!(
        matches!(&seen.event, Event::TurnChanged { reason: r, participant: Some(p), .. }
            if *r == reason && *p == client.you),
        "{}: the event at the ack's seq {} is not this command's: {:?}",
        client.name,
        ack.seq,
        seen.event
    );
    (seen.at, seen.event.clone())
}

/// Raise and lower the hand in turn, one command at a time, until `PER_SENDER` commands or
/// the first one not acknowledged; each ack is reported on `progress`.
async fn send_commands(mut client: Client, progress: mpsc::UnboundedSender<()>) -> SenderRun {
    let mut acks = Vec::new();
    for n in 0..PER_SENDER {
        let (command, reason) = nth_command(n);
        let id = client.send(command).await;
        let ending = match tokio::time::timeout(ANSWER, client.reply(&id)).await {
            Ok(Reply::Answered(Ok(ack))) => {
                let (at, event) = own_event(&client, &ack, reason);
                let who = client.name.clone();
                let seq = ack.seq;
                acks.push(AckRecord {
                    who,
                    id,
                    seq,
                    at,
                    event,
                });
                let _ = progress.send(());
                continue;
            }
            Ok(other) => format!("{id} answered {other:?}"),
            Err(_) => format!("no answer to {id} within {ANSWER:?}"),
        };
        return SenderRun {
            client,
            acks,
            ending,
            unanswered: Some((id, n)),
        };
    }
    SenderRun {
        client,
        acks,
        ending: format!("sent all {PER_SENDER} commands"),
        unanswered: None,
    }
}

/// Every event `clients` were sent, by seq; panics if two clients were sent different events
/// under one seq.
fn every_event_sent(clients: &[&Client]) -> BTreeMap<u64, (Millis, Event)> {
    let mut events = BTreeMap::new();
    for client in clients {
        for seen in &client.log {
            let earlier = events.insert(seen.seq, (seen.at, seen.event.clone()));
            if let Some(earlier) = earlier {
                assert_eq!(
                    earlier,
                    (seen.at, seen.event.clone()),
                    "two clients were sent different events as {}",
                    seen.seq
                );
            }
        }
    }
    events
}

/// The seqs of `room`'s events in the database at `url`, in order.
fn stored_seqs(url: &str, room: &str) -> Vec<u64> {
    let (url, room) = (url.to_string(), room.to_string());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client
            .query(
                "SELECT seq FROM events WHERE room = $1 ORDER BY seq",
                &[&room],
            )
            .expect("the events' seqs")
            .iter()
            .map(|row| u64::try_from(row.get::<_, i64>(0)).expect("a positive seq"))
            .collect()
    })
    .join()
    .expect("the query runs")
}

/// The events of the room from seq 1, as the server at `remote` replays them to a `resume`
/// from seq 0 with `token` (the harness checks on the way that they are contiguous).
async fn replay_from_zero(remote: &Remote, room: &str, token: &str, you: ParticipantId) -> Client {
    let mut reader = remote.connect("Reader").await;
    // The harness checks that a `resumed` admits the participant the token belongs to.
    reader.you = you;
    let welcomed = reader
        .enter(Command::Resume {
            room: room.into(),
            token: token.into(),
            last_seq: Some(0),
        })
        .await;
    assert!(
        matches!(welcomed.kind, common::Entry::Resumed(n) if n == welcomed.seq),
        "a resume from seq 0 is answered with every event: {welcomed:?}"
    );
    reader.catch_up(welcomed.seq).await;
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn promotes_a_synchronous_standby_after_killing_the_primary_and_finds_every_acknowledged_command(
) {
    let test = "promotes_a_synchronous_standby_after_killing_the_primary_and_finds_every_acknowledged_command";
    let Some(primary) = Postgres::start_primary(test) else {
        return;
    };
    let url = primary.fresh_database();
    let standby = primary.standby(STANDBY);
    primary.require_sync_standby(STANDBY);
    let database = url.rsplit('/').next().expect("a database name").to_string();

    let dir = tempfile::tempdir().expect("a data directory");
    // A short lease: the killed binary's lease on the room, replicated to the standby, has
    // expired by the time the fresh binary asks for the room (the default would make it wait
    // up to 7 s, longer than a client waits for its welcome).
    let server = Binary::start_with(dir.path(), &["--store", &url, "--lease-secs", "1"]);
    let remote = server.remote();
    let room = remote.create_room(checkout_room("Fail-over")).await;
    let mut host = remote.host(&room, "Host").await;
    host.ok(Command::AcceptGroundRules).await;
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let mut client = remote.join(&room, &format!("P{i}")).await;
        client.ok(Command::AcceptGroundRules).await;
        senders.push(client);
    }
    let started = host.ok(Command::Start).await;
    for client in &mut senders {
        client.catch_up(started.seq).await;
    }

    let (progress, mut acked) = mpsc::unbounded_channel();
    let runs: Vec<_> = senders
        .into_iter()
        .map(|client| tokio::spawn(send_commands(client, progress.clone())))
        .collect();
    drop(progress);
    let wait_for_acks = async {
        for _ in 0..KILL_AT {
            acked
                .recv()
                .await
                .expect("the senders stopped before enough acks");
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait_for_acks)
        .await
        .unwrap_or_else(|_| panic!("{KILL_AT} acks did not come within 30 s"));
    // Commands are in flight now: the primary goes, without a word.
    tokio::task::block_in_place(|| primary.kill9());

    let mut finished = Vec::new();
    for run in runs {
        finished.push(run.await.expect("a sender ran to its end"));
    }
    server.kill9();
    // Frames the server sent before it died are still in the sockets: take them in.
    host.drain().await;
    for run in &mut finished {
        run.client.drain().await;
    }
    for run in &finished {
        println!(
            "{}: {} acks; {}",
            run.client.name,
            run.acks.len(),
            run.ending
        );
    }
    let in_flight = finished
        .iter()
        .filter(|run| run.acks.len() < PER_SENDER)
        .count();
    assert!(
        in_flight > 0,
        "the primary died after every sender was done: nothing was in flight"
    );

    tokio::task::block_in_place(|| standby.promote());
    let standby_url = standby.url(&database);
    let seqs = stored_seqs(&standby_url, &room.room_id);
    let acks: Vec<&AckRecord> = finished.iter().flat_map(|run| &run.acks).collect();
    let mut clients: Vec<&Client> = finished.iter().map(|run| &run.client).collect();
    clients.push(&host);
    let sent = every_event_sent(&clients);
    let highest = sent.keys().next_back().copied().unwrap_or_default();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "the promoted standby's events have contiguous seqs from 1"
    );
    assert!(
        seqs.len() as u64 >= highest,
        "the promoted standby has events up to {}, but event {highest} was sent to clients",
        seqs.len()
    );

    let server = Binary::start_with(dir.path(), &["--store", &standby_url]);
    let reader = replay_from_zero(&server.remote(), &room.room_id, &host.token, host.you).await;
    let replayed: BTreeMap<u64, (Millis, Event)> = reader
        .log
        .iter()
        .map(|s| (s.seq, (s.at, s.event.clone())))
        .collect();
    for (seq, event) in &sent {
        assert_eq!(
            replayed.get(seq),
            Some(event),
            "event {seq}, sent to clients before the fail-over, is not the same after it"
        );
    }
    for ack in &acks {
        assert_eq!(
            replayed.get(&ack.seq),
            Some(&(ack.at, ack.event.clone())),
            "{}'s command {} was acknowledged at seq {} but its event is not on the standby",
            ack.who,
            ack.id,
            ack.seq
        );
    }
    println!(
        "checked {} acknowledged commands and {} events sent to clients (up to seq {highest}); \
         the promoted standby holds {} events; {in_flight} of {SENDERS} senders were cut off",
        acks.len(),
        sent.len(),
        seqs.len()
    );
    assert!(acks.len() >= KILL_AT, "only {} acks recorded", acks.len());

    // The commands the fail-over cut off: each sender resumes on the new server and sends its
    // command again with the same id. Whether it reached the standby or not, it is acknowledged
    // and applied once (see "Retrying a command" in protocol/connecting.md).
    let remote = server.remote();
    let mut retried = 0;
    for run in &mut finished {
        let Some((id, n)) = run.unanswered.clone() else {
            continue;
        };
        run.client.reconnect(&remote).await;
        let (command, reason) = nth_command(n);
        run.client.send_with_id(&id, command).await;
        let ack = run.client.answer(&id).await.unwrap_or_else(|refused| {
            panic!(
                "{}: {id}, sent again after the fail-over, was refused: {refused:?}",
                run.client.name
            )
        });
        own_event(&run.client, &ack, reason);
        retried += 1;
    }
    println!("{retried} cut-off commands, sent again with their ids, were acknowledged once");
}
