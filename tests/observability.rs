//! Observability over real HTTP and websockets: `/metrics` is Prometheus text whose counters,
//! gauges and histograms follow what clients did, and `/readyz` answers ready until shutdown.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{close, Command, ErrorCode, ServerMessage};
use common::{TestServer, EPOCH};
use tokio_tungstenite::tungstenite::Message;

/// Samples of a metrics page, by `name{labels}`.
type Samples = HashMap<String, f64>;

/// Parse the Prometheus text format strictly: every line is a `# HELP`/`# TYPE` comment or
/// `name{labels} value`, with a valid metric name, quoted label values and a number.
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP ") || comment.starts_with("TYPE "),
                "bad comment: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad name: {line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                let inner = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("bad labels: {line}"));
                for pair in inner.split(',') {
                    let (key, quoted) = pair.split_once('=').expect("label=value");
                    assert!(
                        key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "bad label name: {line}"
                    );
                    assert!(
                        quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                        "unquoted label value: {line}"
                    );
                }
            }
        }
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "repeated series: {line}"
        );
    }
    samples
}

async fn metrics(server: &TestServer) -> (String, Samples) {
    let answer = server.http("GET", "/metrics", b"").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let samples = parse(&answer.text);
    (answer.text, samples)
}

fn get(samples: &Samples, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:?}"))
}

/// A histogram's `+Inf` bucket, sum and count are all there, and the buckets are cumulative.
fn histogram(text: &str, samples: &Samples, name: &str) -> f64 {
    let count = get(samples, &format!("{name}_count"));
    assert_eq!(
        get(samples, &format!("{name}_bucket{{le=\"+Inf\"}}")),
        count
    );
    assert!(get(samples, &format!("{name}_sum")) >= 0.0);
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}_bucket{{")))
        .map(|l| parse(l).into_values().next().unwrap_or_default())
        .collect();
    assert!(buckets.len() > 2, "{name} has buckets");
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "{name}: {buckets:?}"
    );
    count
}

/// Wait (bounded) until `series` reaches `at_least`, then read `/metrics` over HTTP (what a
/// connection task counts after its socket closed is not ordered with anything a client can
/// see). The wait reads the server's metrics in process, so it needs no polling interval.
async fn until(server: &TestServer, series: &str, at_least: f64) -> Samples {
    let reached = async {
        while !parse(&server.state.render_metrics())
            .get(series)
            .is_some_and(|&v| v >= at_least)
        {
            tokio::task::yield_now().await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), reached)
        .await
        .is_err()
    {
        let (_, samples) = metrics(server).await;
        panic!("{series} stayed below {at_least}: {samples:?}");
    }
    let (_, samples) = metrics(server).await;
    samples
}

#[tokio::test]
async fn metrics_follow_commands_connections_and_the_store() {
    let server = TestServer::start().await;
    let (text, before) = metrics(&server).await;
    assert_eq!(get(&before, "circlekeeper_connections"), 0.0);
    assert_eq!(get(&before, "circlekeeper_rooms"), 0.0);
    assert_eq!(
        histogram(&text, &before, "circlekeeper_command_seconds"),
        0.0
    );

    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    fran.catch_up(ben.seq).await;
    ada.catch_up(ben.seq).await;
    let mut ok = 0;
    for c in [&mut fran, &mut ada, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
        c.ok(Command::Sync).await;
        ok += 2;
    }
    assert_eq!(ada.refused(Command::RaiseHand).await, ErrorCode::NotStarted);

    let (text, m) = metrics(&server).await;
    assert_eq!(get(&m, "circlekeeper_connections"), 3.0);
    assert_eq!(get(&m, "circlekeeper_rooms"), 1.0);
    assert!(get(&m, "circlekeeper_commands_total{outcome=\"ok\"}") >= f64::from(ok));
    assert_eq!(
        get(&m, "circlekeeper_commands_total{outcome=\"refused\"}"),
        1.0
    );
    // Three consents, each to three people, at least.
    assert!(get(&m, "circlekeeper_events_delivered_total") >= 9.0);
    assert_eq!(get(&m, "circlekeeper_rate_limited_total"), 0.0);
    let commands = histogram(&text, &m, "circlekeeper_command_seconds");
    assert!(
        commands >= f64::from(ok + 1),
        "{commands} command latencies"
    );
    // The room's record and every consent were flushed.
    assert!(histogram(&text, &m, "circlekeeper_store_flush_seconds") >= 2.0);
    for reason in ["going_away", "rate_limited", "client_closed", "reset"] {
        let series = format!("circlekeeper_disconnects_total{{reason=\"{reason}\"}}");
        assert_eq!(get(&m, &series), 0.0, "{series}");
    }
    // Nothing a room or a person is known by appears on the page.
    for secret in [
        &room.room_id,
        &room.join_key,
        &room.host_key,
        &ada.token,
        &"Fran".to_string(),
    ] {
        assert!(!text.contains(secret.as_str()), "{secret} in /metrics");
    }
}

#[tokio::test]
async fn disconnects_are_counted_by_reason() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let ada = server.join(&room, "Ada").await;
    let mut eve = server.connect_to("Eve", "/ws?v=2").await;
    assert_eq!(eve.expect_close().await, Some(close::PROTOCOL_MISMATCH));
    until(
        &server,
        "circlekeeper_disconnects_total{reason=\"protocol_mismatch\"}",
        1.0,
    )
    .await;
    ada.close().await;
    let m = until(
        &server,
        "circlekeeper_disconnects_total{reason=\"client_closed\"}",
        1.0,
    )
    .await;
    assert_eq!(
        get(
            &m,
            "circlekeeper_disconnects_total{reason=\"protocol_mismatch\"}"
        ),
        1.0
    );
    assert_eq!(get(&m, "circlekeeper_connections"), 0.0);
}

#[tokio::test]
async fn a_rate_limited_frame_moves_the_rate_limit_counter() {
    let store = SledStore::temporary().expect("temporary sled store");
    let server = TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |s| {
        s.rate_burst = 5.0;
        s.rate_per_second = 0.001;
    })
    .await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut ada = server.join(&room, "Ada").await;
    let mut limited = false;
    for n in 0..20 {
        ada.raw_send(&format!(r#"{{"id":"f{n}","type":"sync"}}"#))
            .await;
        let Some(Message::Text(text)) = ada.next_frame().await else {
            panic!("the connection closed before the limit bit");
        };
        if let Ok(ServerMessage::Error {
            code: ErrorCode::RateLimited,
            ..
        }) = serde_json::from_str(text.as_str())
        {
            limited = true;
            break;
        }
    }
    assert!(limited, "the limit never bit");
    let (_, m) = metrics(&server).await;
    assert_eq!(get(&m, "circlekeeper_rate_limited_total"), 1.0);
}

#[tokio::test]
async fn readyz_is_ready_until_the_server_shuts_down() {
    let server = TestServer::start().await;
    let ready = server.http("GET", "/readyz", b"").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json, serde_json::json!({ "status": "ready" }));
    server.state.shutdown().await;
    let stopping = server.http("GET", "/readyz", b"").await;
    assert_eq!(stopping.status, 503, "{}", stopping.text);
    assert_eq!(stopping.json["status"], "shutting_down");
}

#[tokio::test]
async fn metrics_carry_the_process_the_build_and_the_store_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path()).expect("a sled store");
    let server = TestServer::start_with(Arc::new(store), Clock::manual(EPOCH), |_| {}).await;
    let first_scrape = std::time::Instant::now();
    let (text, m) = metrics(&server).await;

    let version = env!("CARGO_PKG_VERSION");
    let build = text
        .lines()
        .find(|l| l.starts_with("circlekeeper_build_info{"))
        .unwrap_or_else(|| panic!("no build info in {text}"));
    assert!(
        build.starts_with(&format!("circlekeeper_build_info{{version=\"{version}\"")),
        "{build}"
    );
    assert!(build.ends_with("} 1"), "{build}");
    assert!(text.contains("# TYPE circlekeeper_build_info gauge\n"));

    let stored = get(&m, "circlekeeper_store_bytes");
    assert!(stored > 0.0, "{stored}");
    assert!(text.contains("# TYPE circlekeeper_store_bytes gauge\n"));
    assert_eq!(get(&m, "circlekeeper_store_up"), 1.0);
    assert_eq!(get(&m, "circlekeeper_store_outages_total"), 0.0);

    // Every metric on the page is in the protocol's table of them.
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/protocol/http.md"))
        .expect("protocol/http.md");
    for name in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = name.split(' ').next().unwrap_or_default();
        assert!(
            spec.contains(&format!("| `{name}")),
            "{name} is not in protocol/http.md's table of metrics"
        );
    }

    if cfg!(target_os = "linux") {
        let rss = get(&m, "process_resident_memory_bytes");
        assert!((1e6..64e9).contains(&rss), "resident {rss}");
        assert!(get(&m, "process_virtual_memory_bytes") >= rss);
        let cpu = get(&m, "process_cpu_seconds_total");
        assert!((0.0..1e6).contains(&cpu), "cpu {cpu}");
        let fds = get(&m, "process_open_fds");
        assert!(fds >= 4.0, "the store and the listener at least: {fds}");
        if let Some(&max) = m.get("process_max_fds") {
            assert!(max >= fds, "{max} < {fds}");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        let started = get(&m, "process_start_time_seconds");
        assert!(
            started <= now + 2.0 && started > now - 24.0 * 3600.0,
            "started {started}, now {now}"
        );
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\n"));
    } else {
        assert!(!text.contains("process_"), "no /proc, no process metrics");
    }

    // The page reads the size at most every few seconds: a scrape soon after the first
    // repeats it, even though a room was written in between.
    server.create_builtin_room("action_learning_set").await;
    let (_, again) = metrics(&server).await;
    if first_scrape.elapsed() < circlekeeper::metrics::STORE_SIZE_EVERY {
        assert_eq!(get(&again, "circlekeeper_store_bytes"), stored);
    }
}
