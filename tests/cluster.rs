//! A real cluster (tests/common/cluster.rs): PostgreSQL, three `circlekeeper` binaries and the
//! shipped HAProxy configuration in front of them. Circles spread over the nodes, each room run
//! by exactly one node, every URL of a room landing on it; a node killed mid-session, frozen
//! past its lease, shut down cleanly, or asked for a room it does not hold, without an
//! acknowledged command lost or a sequence number used twice.
//!
//! Every client goes through the proxy on `/ws?v=1&room=ID` unless the test says it goes to a
//! node directly. Times of failover are printed, and asserted only against generous bounds:
//! figures belong in the benches. Skipped (and said so) without haproxy or PostgreSQL; failed
//! instead with `CI` set.

#[path = "common/binary.rs"]
mod binary;
#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/postgres.rs"]
mod postgres_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use circlekeeper_protocol::{Command, Event, ParticipantView, Presence, RoomCreated, RoomView};
use cluster::{catch_up_through, come_back, connect, enter, ok_through, Cluster, Lease};
use common::{checkout_room, Acked, Client, Remote, Reply};
use futures_util::future::join_all;

/// A short lease, so that a dead node's rooms move within seconds.
const SHORT_LEASE: u64 = 2;

/// A lease no test waits out: anything faster than it did not wait for expiry.
const LONG_LEASE: u64 = 30;

/// How long a SIGTERM'd node may take to exit.
const EXIT: Duration = Duration::from_secs(25);

/// Fewest rooms test 1 opens, and most it opens to get a room on every node.
const ROOMS: (usize, usize) = (9, 30);

// ----- helpers ---------------------------------------------------------------------------

/// A circle opened through the proxy: its facilitator, its participants, and the prompts the
/// facilitator pushed that were acknowledged.
struct Circle {
    room: RoomCreated,
    host: Client,
    guests: Vec<Client>,
    acked: Vec<String>,
    /// The proxy, where everyone comes back through.
    proxy: Remote,
    /// How many times someone came back after their connection ended (the room moved, or its
    /// node went away), counting [`Circle::everyone_resumes`] too.
    comebacks: u32,
}

impl Circle {
    /// Open a circle through the proxy: a facilitator and `guests` participants accept the
    /// ground rules, the session starts (its stage timer runs), every guest raises a hand,
    /// and the facilitator pushes a first prompt.
    async fn open(cluster: &Cluster, n: usize, guests: usize) -> Circle {
        let proxy = &cluster.proxy;
        let room = proxy
            .create_room(checkout_room(&format!("Circle {n}")))
            .await;
        let id = room.room_id.clone();
        let name = format!("Host{n}");
        let host = Command::Host {
            room: id.clone(),
            key: room.host_key.clone(),
            name: name.clone(),
        };
        let mut host = enter(proxy, proxy, &name, &id, host).await;
        host.ok(Command::AcceptGroundRules).await;
        let mut circle = Circle {
            room,
            host,
            guests: Vec::new(),
            acked: Vec::new(),
            proxy: *proxy,
            comebacks: 0,
        };
        for g in 0..guests {
            let name = format!("Guest{n}x{g}");
            let join = Command::Join {
                room: id.clone(),
                key: circle.room.join_key.clone(),
                name: name.clone(),
                guest: None,
            };
            let mut guest = enter(proxy, proxy, &name, &id, join).await;
            guest.ok(Command::AcceptGroundRules).await;
            circle.guests.push(guest);
        }
        circle.host.ok(Command::Start).await;
        for guest in &mut circle.guests {
            guest.ok(Command::RaiseHand).await;
        }
        circle.prompt("first").await;
        circle
    }

    fn id(&self) -> &str {
        &self.room.room_id
    }

    /// The facilitator pushes a prompt naming the room and `tag`; it must be acknowledged
    /// (coming back through the proxy and sending it again if the room moves meanwhile).
    async fn prompt(&mut self, tag: &str) -> Acked {
        let text = format!("{tag} in {}", self.room.room_id);
        let (acked, back) = ok_through(&self.proxy, &mut self.host, push(&text)).await;
        self.comebacks += back;
        self.acked.push(text);
        acked
    }

    /// Everyone has every event up to the facilitator's last ack and sees the same room.
    async fn everyone_agrees(&mut self) {
        let (ack, back) = ok_through(&self.proxy, &mut self.host, Command::Sync).await;
        self.comebacks += back;
        let view = comparable(&self.host.view);
        for guest in &mut self.guests {
            self.comebacks += catch_up_through(&self.proxy, guest, ack.seq).await;
            assert_eq!(guest.seq, ack.seq, "{}: not at the room's seq", guest.name);
            let seen = comparable(&guest.view);
            assert_eq!(seen, view, "{} sees another room", guest.name);
        }
    }

    /// The facilitator and every participant.
    fn everyone(&mut self) -> Vec<&mut Client> {
        std::iter::once(&mut self.host)
            .chain(&mut self.guests)
            .collect()
    }

    /// Everyone comes back through the proxy at once (see [`resume_all`]).
    async fn everyone_resumes(&mut self, cluster: &Cluster, within: Duration) {
        self.comebacks += resume_all(cluster, &mut self.everyone(), within).await;
    }

    /// The stage timer's deadline, as the facilitator sees it (it must be running).
    fn deadline(&self) -> u64 {
        self.host
            .stage_timer()
            .ends_at
            .unwrap_or_else(|| panic!("{}: the stage timer is not running", self.id()))
    }
}

fn push(text: &str) -> Command {
    Command::PushPrompt {
        prompt: None,
        text: Some(text.into()),
        to: None,
    }
}

/// The room with everyone's presence set alike: who is connected where is not compared.
fn comparable(view: &RoomView) -> RoomView {
    let mut view = view.clone();
    for p in &mut view.participants {
        p.presence = Presence::Connected;
    }
    view
}

/// The text of a prompt an event pushed, if it is one.
fn pushed(event: &Event) -> Option<&str> {
    match event {
        Event::PromptChanged {
            prompt: Some(p), ..
        } => Some(p.prompt.text.as_str()),
        _ => None,
    }
}

/// The room's stored events: their seqs are 1, 2, 3, ... (none missing, none twice), and each
/// prompt in `acked` was pushed exactly once; returns the prompts pushed, in order.
async fn check_stored(cluster: &Cluster, room: &str, acked: &[String]) -> Vec<String> {
    let events = cluster.stored_events(room).await;
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(seqs, expected, "room {room}: stored seqs are not 1..=n");
    let prompts: Vec<String> = events
        .iter()
        .filter_map(|e| pushed(&e.event).map(str::to_string))
        .collect();
    for text in acked {
        let times = prompts.iter().filter(|p| *p == text).count();
        assert_eq!(
            times, 1,
            "room {room}: acked {text:?} stored {times} times: {prompts:?}"
        );
    }
    prompts
}

/// How many times `text` was pushed in the events `client` saw.
fn seen(client: &Client, text: &str) -> usize {
    client
        .log
        .iter()
        .filter(|s| pushed(&s.event) == Some(text))
        .count()
}

/// Each room's lease, which must be live.
async fn live_holders(cluster: &Cluster, circles: &[Circle]) -> BTreeMap<String, Lease> {
    let mut held = BTreeMap::new();
    for circle in circles {
        let lease = cluster
            .holder(circle.id())
            .await
            .unwrap_or_else(|| panic!("room {}: no lease", circle.id()));
        assert!(
            lease.live,
            "room {}: its lease expired: {lease:?}",
            circle.id()
        );
        held.insert(circle.id().to_string(), lease);
    }
    held
}

/// Room `room`'s lease, which must now be held by `node` with a larger fence than `before`.
async fn moved_to(cluster: &Cluster, room: &str, node: &str, before: &Lease) -> Lease {
    let lease = cluster.holder(room).await.expect("a lease");
    assert!(
        lease.held_by(node) && lease.fence > before.fence,
        "room {room} did not move to {node}: {before:?}, then {lease:?}"
    );
    lease
}

/// Each node runs exactly the rooms it holds the lease of, and its open websockets are
/// exactly those of the clients in those rooms (`tabs` more per room than the circle's own).
async fn check_placement(
    cluster: &Cluster,
    circles: &[Circle],
    held: &BTreeMap<String, Lease>,
    tabs: u64,
) {
    for n in 0..cluster::NODES {
        let id = cluster.node_id(n);
        let mine: Vec<&Circle> = circles.iter().filter(|c| held[c.id()].node == id).collect();
        let sockets: u64 = mine.iter().map(|c| 1 + tabs + c.guests.len() as u64).sum();
        let rooms = cluster.metric(n, "circlekeeper_rooms").await;
        assert_eq!(rooms, mine.len() as u64, "{id}: live rooms");
        let open = cluster.metric(n, "circlekeeper_connections").await;
        assert_eq!(open, sockets, "{id}: websockets");
    }
}

/// Come back through the proxy as each of `clients`, all at once (each with its own bounded
/// loop of attempts, see [`cluster::come_back`]), and take in the missed events; how many
/// times they came back in all (more than one each if a room moved again meanwhile).
async fn resume_all(cluster: &Cluster, clients: &mut [&mut Client], within: Duration) -> u32 {
    let proxy = &cluster.proxy;
    let welcomes = join_all(
        clients
            .iter_mut()
            .map(|client| come_back(proxy, client, within)),
    )
    .await;
    let mut back = clients.len() as u32;
    for (client, welcomed) in clients.iter_mut().zip(welcomes) {
        back += catch_up_through(proxy, client, welcomed.seq).await;
    }
    back
}

/// Circles of a facilitator and a participant each, split by the node holding the most.
struct Spread {
    /// Each room's lease before anything happened.
    held: BTreeMap<String, Lease>,
    /// The node holding the most rooms, and its id.
    node: usize,
    node_id: String,
    /// Its circles, and the others'.
    hit: Vec<Circle>,
    spared: Vec<Circle>,
}

/// Open `rooms` circles of a facilitator and a participant through the proxy, and split them
/// by the node holding the most.
async fn spread(cluster: &Cluster, rooms: usize) -> Spread {
    let mut circles = Vec::new();
    for n in 0..rooms {
        let mut circle = Circle::open(cluster, n, 1).await;
        circle.everyone_agrees().await;
        circles.push(circle);
    }
    let held = live_holders(cluster, &circles).await;
    let count = |n: &usize| {
        held.values()
            .filter(|l| l.node == cluster.node_id(*n))
            .count()
    };
    let node = (0..cluster::NODES).max_by_key(count).expect("nodes");
    let node_id = cluster.node_id(node).to_string();
    let (hit, spared) = circles
        .into_iter()
        .partition(|c| held[c.id()].node == node_id);
    Spread {
        held,
        node,
        node_id,
        hit,
        spared,
    }
}

impl Spread {
    /// After their node went away: the facilitators of the hit circles come back through the
    /// proxy and each pushes a prompt, then the participants come back, having missed it, and
    /// get it exactly once.
    async fn come_back(&mut self, cluster: &Cluster, within: Duration) {
        let mut hosts: Vec<&mut Client> = self.hit.iter_mut().map(|c| &mut c.host).collect();
        resume_all(cluster, &mut hosts, within).await;
        for circle in &mut self.hit {
            circle.prompt("while they were away").await;
        }
        let mut guests: Vec<&mut Client> =
            self.hit.iter_mut().flat_map(|c| &mut c.guests).collect();
        resume_all(cluster, &mut guests, within).await;
        for circle in &mut self.hit {
            circle.everyone_agrees().await;
            let text = circle.acked.last().expect("a prompt");
            for guest in &circle.guests {
                let times = seen(guest, text);
                assert_eq!(
                    times, 1,
                    "{}: saw the prompt pushed while away {times} times",
                    guest.name
                );
            }
        }
    }

    /// The hit rooms are held by another node, with a larger fence, and hold every acked
    /// prompt once; the spared rooms stayed where they were and go on, nobody in them ever
    /// disconnected.
    async fn check_after(&mut self, cluster: &Cluster) {
        for circle in &self.hit {
            let id = circle.id();
            let lease = cluster.holder(id).await.expect("a lease");
            assert!(
                lease.live && lease.node != self.node_id && lease.fence > self.held[id].fence,
                "room {id} not taken over by another node: {lease:?}"
            );
            check_stored(cluster, id, &circle.acked).await;
        }
        for circle in &mut self.spared {
            let before = &self.held[circle.id()];
            let lease = cluster.holder(circle.id()).await.expect("a lease");
            assert!(
                lease.held_by(&before.node) && lease.fence == before.fence,
                "room {} moved: {before:?}, then {lease:?}",
                circle.id()
            );
            circle.prompt("meanwhile").await;
            circle.everyone_agrees().await;
            let id = circle.id();
            assert_eq!(
                circle.comebacks, 0,
                "room {id}: its clients were disconnected"
            );
        }
    }
}

// ----- tests -----------------------------------------------------------------------------

#[tokio::test]
async fn circles_spread_over_three_nodes_each_room_on_one_node_with_every_url_landing_on_it() {
    let test = "circles_spread_over_three_nodes_each_room_on_one_node_with_every_url_landing_on_it";
    let Some(cluster) = Cluster::start(test, SHORT_LEASE).await else {
        return;
    };
    let mut circles = Vec::new();
    let mut held = BTreeMap::new();
    while circles.len() < ROOMS.0
        || (0..cluster::NODES).any(|n| !held.values().any(|l: &Lease| l.node == cluster.node_id(n)))
    {
        assert!(
            circles.len() < ROOMS.1,
            "{} rooms and still a node holds none: {held:?}",
            ROOMS.1
        );
        let mut circle = Circle::open(&cluster, circles.len(), 2).await;
        circle.prompt("second").await;
        circle.everyone_agrees().await;
        circles.push(circle);
        held = live_holders(&cluster, &circles).await;
    }

    check_placement(&cluster, &circles, &held, 0).await;

    // Every URL of a room that reaches the room, through the proxy, lands on its holder: a node
    // asked for a room it does not hold takes the room over, which would change the lease's
    // fence and close the holder's sockets. (The page `/r/ID` is the same static file on every
    // node and touches no room: that it is routed like the rest is tests/proxy.rs's to show.)
    let proxy = &cluster.proxy;
    let mut tabs = Vec::new();
    for circle in &circles {
        let id = circle.id();
        let page = proxy.http("GET", &format!("/r/{id}"), b"").await;
        assert_eq!(page.status, 200, "GET /r/{id}: {}", page.text);
        let key = serde_json::json!({ "key": circle.room.join_key }).to_string();
        let preview = proxy
            .http("POST", &format!("/api/rooms/{id}/preview"), key.as_bytes())
            .await;
        assert_eq!(preview.status, 200, "preview of {id}: {}", preview.text);
        let key = serde_json::json!({ "key": circle.room.host_key }).to_string();
        let export = proxy
            .http("POST", &format!("/api/rooms/{id}/export"), key.as_bytes())
            .await;
        assert_eq!(export.status, 200, "export of {id}: {}", export.text);
        // A second tab of the facilitator.
        let mut tab = connect(proxy, proxy, &format!("{}tab", circle.host.name), id).await;
        tab.enter(Command::Resume {
            room: id.into(),
            token: circle.host.token.clone(),
            last_seq: None,
        })
        .await;
        tabs.push(tab);
    }
    assert_eq!(
        live_holders(&cluster, &circles).await,
        held,
        "a URL moved a room"
    );
    check_placement(&cluster, &circles, &held, 1).await;
    for circle in &mut circles {
        circle.prompt("third").await;
        circle.everyone_agrees().await;
        check_stored(&cluster, &circle.room.room_id, &circle.acked).await;
        let id = circle.id();
        assert_eq!(
            circle.comebacks, 0,
            "room {id}: a connection ended (the room moved)"
        );
    }
}

#[tokio::test]
async fn a_node_killed_mid_session_loses_nothing_and_its_clients_resume_on_the_others() {
    let test = "a_node_killed_mid_session_loses_nothing_and_its_clients_resume_on_the_others";
    let Some(mut cluster) = Cluster::start(test, SHORT_LEASE).await else {
        return;
    };
    let mut spread = spread(&cluster, 6).await;
    let deadlines: Vec<u64> = spread.hit.iter().map(Circle::deadline).collect();

    let killed = Instant::now();
    cluster.kill9(spread.node);
    let within = cluster.lease + Duration::from_secs(15);
    spread.come_back(&cluster, within).await;
    let failover = killed.elapsed();
    println!(
        "failover: {} killed; the {} clients of its {} rooms resumed through the proxy {failover:?} \
         later (lease {:?}, proxy checks every {})",
        spread.node_id,
        spread.hit.len() * 2,
        spread.hit.len(),
        cluster.lease,
        cluster::CHECK_INTER
    );
    assert!(failover < within, "failover took {failover:?}");
    for (circle, deadline) in spread.hit.iter().zip(deadlines) {
        for client in std::iter::once(&circle.host).chain(&circle.guests) {
            let ends = client.stage_timer().ends_at;
            assert_eq!(
                ends,
                Some(deadline),
                "{}: the timer's deadline moved",
                client.name
            );
        }
    }
    spread.check_after(&cluster).await;

    // The killed node starts again on its port: once the proxy's checks pass it sends the
    // node's rooms there again, and a room follows as soon as someone asks for it through the
    // proxy (the node that took it over hands it back; its clients resume once more).
    cluster.restart(spread.node);
    let circle = &mut spread.hit[0];
    let id = circle.id().to_string();
    let taken = cluster.holder(&id).await.expect("a lease");
    let deadline = Instant::now() + cluster::SETTLE;
    while !cluster
        .holder(&id)
        .await
        .is_some_and(|l| l.held_by(&spread.node_id))
    {
        assert!(
            Instant::now() < deadline,
            "room {id} never went back to {}",
            spread.node_id
        );
        if let Ok((mut tab, _)) =
            cluster::try_resume(&cluster.proxy, &cluster.proxy, &circle.host).await
        {
            tab.disconnect().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for client in circle.everyone() {
        let code = client.expect_close().await;
        assert_eq!(code, Some(4012), "{}: closed with {code:?}", client.name);
    }
    circle
        .everyone_resumes(&cluster, cluster.lease + Duration::from_secs(10))
        .await;
    circle.prompt("home again").await;
    circle.everyone_agrees().await;
    moved_to(&cluster, &id, &spread.node_id, &taken).await;
    check_stored(&cluster, &id, &circle.acked).await;
}

#[tokio::test]
async fn a_node_frozen_past_its_lease_is_fenced_off_and_its_late_write_is_refused_with_4012() {
    let test = "a_node_frozen_past_its_lease_is_fenced_off_and_its_late_write_is_refused_with_4012";
    let Some(cluster) = Cluster::start(test, SHORT_LEASE).await else {
        return;
    };
    let proxy = &cluster.proxy;
    let mut circle = Circle::open(&cluster, 0, 1).await;
    circle.everyone_agrees().await;
    let id = circle.id().to_string();
    let before = cluster.holder(&id).await.expect("a lease");
    let a = cluster.index_of(&before.node);
    // A second tab of the facilitator, straight on the holder, bypassing the proxy.
    let mut direct = connect(&cluster.node(a), proxy, "Direct", &id).await;
    direct
        .enter(Command::Resume {
            room: id.clone(),
            token: circle.host.token.clone(),
            last_seq: None,
        })
        .await;
    circle.prompt("before the freeze").await;
    direct.catch_up(circle.host.seq).await;

    cluster.stop(a);
    let frozen = Instant::now();
    let expiry = cluster.lease + Duration::from_secs(3);
    cluster
        .wait_lease(&id, expiry, "expired", |l| !l.live)
        .await;
    // Through the proxy (which sends the room to the frozen node until its checks fail),
    // everyone comes back on another node, which takes the room over.
    circle
        .everyone_resumes(&cluster, cluster.lease + Duration::from_secs(15))
        .await;
    println!(
        "fencing: the room moved off the frozen {} {:?} after it stopped (lease {:?})",
        before.node,
        frozen.elapsed(),
        cluster.lease
    );
    let moved = cluster.holder(&id).await.expect("a lease");
    assert!(
        moved.live && moved.node != before.node && moved.fence > before.fence,
        "not taken over: {before:?}, then {moved:?}"
    );
    circle.prompt("on the new node").await;
    circle.everyone_agrees().await;

    // The frozen node's client sends a command: it waits in the socket buffer until the node
    // is thawed, which then still believes it holds the room.
    let late = format!("late on the frozen node in {id}");
    let late_id = direct.send(push(&late)).await;
    cluster.cont(a);
    match direct.reply(&late_id).await {
        Reply::Closed(Some(4012)) => {}
        // A thawed node whose renewal comes first finds it has not renewed for longer than a
        // lease and stops all its rooms (1001) before it reads the command: also never an ack.
        Reply::Closed(Some(1001)) => println!("fencing: the thawed node stopped its rooms first"),
        other => panic!("the fenced-off node answered the late command with {other:?}"),
    }
    let answers = direct.unclaimed_answers();
    assert!(
        answers.is_empty(),
        "answers from the fenced-off node: {answers:?}"
    );

    circle.prompt("after the thaw").await;
    circle.everyone_agrees().await;
    let lease = cluster.holder(&id).await.expect("a lease");
    assert_eq!(
        lease.fence, moved.fence,
        "the thawed node took the room back: {lease:?}"
    );
    let prompts = check_stored(&cluster, &id, &circle.acked).await;
    assert!(
        !prompts.contains(&late),
        "the fenced-off write was stored: {prompts:?}"
    );
    assert_eq!(
        seen(&circle.host, &late),
        0,
        "the fenced-off write was delivered"
    );
    let health = cluster.node(a).http("GET", "/healthz", b"").await;
    assert_eq!(
        health.status, 200,
        "the thawed node is unwell: {}",
        health.text
    );
}

#[tokio::test]
async fn sigterm_hands_a_nodes_rooms_over_at_once_without_waiting_for_the_lease() {
    let test = "sigterm_hands_a_nodes_rooms_over_at_once_without_waiting_for_the_lease";
    let Some(mut cluster) = Cluster::start(test, LONG_LEASE).await else {
        return;
    };
    let mut spread = spread(&cluster, 4).await;
    let asked = Instant::now();
    cluster.terminate(spread.node);
    for circle in &mut spread.hit {
        for client in circle.everyone() {
            let code = client.expect_close().await;
            assert_eq!(code, Some(1001), "{}: closed with {code:?}", client.name);
        }
    }
    // Well before the lease could have expired.
    let within = Duration::from_secs(10);
    spread.come_back(&cluster, within).await;
    let took = asked.elapsed();
    println!(
        "handover: {} got SIGTERM; the {} clients of its {} rooms resumed through the proxy \
         {took:?} later (lease {:?})",
        spread.node_id,
        spread.hit.len() * 2,
        spread.hit.len(),
        cluster.lease
    );
    assert!(
        took < within,
        "the handover took {took:?}: the lease was waited out"
    );
    cluster.wait_exit(spread.node, EXIT);
    for (room, lease) in cluster.room_leases().await {
        assert!(
            !lease.held_by(&spread.node_id),
            "room {room} still held by the stopped node: {lease:?}"
        );
    }
    spread.check_after(&cluster).await;
}

#[tokio::test]
async fn a_node_asked_for_a_room_it_does_not_hold_takes_it_over_and_there_is_never_a_second_copy() {
    let test =
        "a_node_asked_for_a_room_it_does_not_hold_takes_it_over_and_there_is_never_a_second_copy";
    let Some(cluster) = Cluster::start(test, LONG_LEASE).await else {
        return;
    };
    let mut circle = Circle::open(&cluster, 0, 1).await;
    circle.everyone_agrees().await;
    let id = circle.id().to_string();
    let before = cluster.holder(&id).await.expect("a lease");
    let a = cluster.index_of(&before.node);
    let b = (a + 1) % cluster::NODES;
    let live_rooms = |n| cluster.metric(n, "circlekeeper_rooms");
    assert_eq!(live_rooms(a).await, 1, "the holder runs the room");

    // A participant joins straight on a node that does not hold the room.
    let asked = Instant::now();
    let join = Command::Join {
        room: id.clone(),
        key: circle.room.join_key.clone(),
        name: "Stray".into(),
        guest: None,
    };
    let mut stray = enter(&cluster.node(b), &cluster.proxy, "Stray", &id, join).await;
    let took = asked.elapsed();
    println!(
        "misrouted: {} handed the room to {} in {took:?} (lease {:?})",
        before.node,
        cluster.node_id(b),
        cluster.lease
    );
    assert!(
        took < Duration::from_secs(10),
        "the handover took {took:?}: the lease was waited out"
    );
    for client in circle.everyone() {
        let code = client.expect_close().await;
        assert_eq!(code, Some(4012), "{}: closed with {code:?}", client.name);
    }
    let moved = moved_to(&cluster, &id, cluster.node_id(b), &before).await;
    assert_eq!(
        live_rooms(a).await,
        0,
        "the room still runs on the old holder"
    );
    assert_eq!(
        live_rooms(b).await,
        1,
        "the room does not run on the new holder"
    );
    stray.ok(Command::AcceptGroundRules).await;
    let raised = stray.ok(Command::RaiseHand).await;

    // Through the proxy the room goes back where the proxy sends it: the stray's node hands
    // it over in turn.
    circle
        .everyone_resumes(&cluster, Duration::from_secs(10))
        .await;
    let code = stray.expect_close().await;
    assert_eq!(
        code,
        Some(4012),
        "the stray's connection closed with {code:?}"
    );
    assert!(
        circle.host.seq >= raised.seq,
        "the facilitator missed what the stray did"
    );
    let named = |p: &&ParticipantView| p.name == "Stray";
    let strays = circle.host.view.participants.iter().filter(named).count();
    assert_eq!(strays, 1, "the stray is in the room {strays} times");
    circle.prompt("back where the proxy sends it").await;
    circle.everyone_agrees().await;

    moved_to(&cluster, &id, &before.node, &moved).await;
    let leases = cluster.room_leases().await;
    assert_eq!(leases.len(), 1, "one lease row for one room: {leases:?}");
    let copies: u64 = join_all((0..cluster::NODES).map(live_rooms))
        .await
        .iter()
        .sum();
    assert_eq!(copies, 1, "the room runs on more than one node");
    check_stored(&cluster, &id, &circle.acked).await;
}
