//! The per-address limits the shipped HAProxy configuration holds over all nodes: rooms (and
//! series) opened per address per hour, answered as the nodes answer it (429 `too_many_rooms`
//! with `Retry-After`), while every other request still goes through. A stand-in node answers
//! every request with 201, so that each refusal seen is the proxy's.
//!
//! Without `haproxy` on the PATH the test says it was skipped and why; with `CI` set it fails
//! instead.

#[path = "common/binary.rs"]
mod binary;
#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/postgres.rs"]
mod postgres_server;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use common::Remote;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Rooms one address may open per hour through the proxy (`CK_ROOMS_PER_IP_PER_HOUR` as
/// shipped).
const ROOMS_PER_HOUR: usize = 60;

#[tokio::test]
async fn the_proxy_caps_the_rooms_an_address_opens_per_hour_over_all_nodes() {
    if let Some(why) = cluster::haproxy_missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "haproxy is required in CI: {why}"
        );
        eprintln!("SKIPPED the_proxy_caps_the_rooms_an_address_opens_per_hour: {why}");
        return;
    }
    let node = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let node_addr = node.local_addr().expect("an address");
    let app = Router::new()
        .route("/readyz", get(|| async { StatusCode::OK }))
        .fallback(|| async { (StatusCode::CREATED, "{}") });
    let served = tokio::spawn(async move { axum::serve(node, app).await });
    let dir = tempfile::tempdir().expect("a directory");
    let port = cluster::free_port();
    let _proxy =
        cluster::Haproxy::start(port, &[node_addr], "100ms", &dir.path().join("haproxy.log"));
    let proxy = Remote {
        addr: ([127, 0, 0, 1], port).into(),
    };
    // Until the proxy listens: GETs count towards nothing.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(proxy.addr).await.is_err()
        || proxy.http("GET", "/healthz", b"").await.status != 201
    {
        assert!(Instant::now() < deadline, "the proxy never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let body = br#"{"title":"Circle","format":"action_learning_set"}"#;
    for n in 0..ROOMS_PER_HOUR {
        let path = if n % 2 == 0 {
            "/api/rooms"
        } else {
            "/api/series/s1/rooms"
        };
        let answer = proxy.http("POST", path, body).await;
        assert_eq!(answer.status, 201, "room {} of the hour was refused", n + 1);
    }
    for path in ["/api/rooms", "/api/series", "/api/series/s1/rooms"] {
        let raw = raw_post(&proxy, path, body).await;
        let refused = common::parse_http(raw.as_bytes());
        assert_eq!(refused.status, 429, "{path}: {raw}");
        assert_eq!(refused.json["code"], "too_many_rooms");
        assert!(refused.json["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        assert!(
            raw.to_ascii_lowercase().contains("retry-after: 3600"),
            "{raw}"
        );
    }
    // What opens nothing still goes through.
    let preview = proxy.http("POST", "/api/rooms/r1/preview", b"{}").await;
    assert_eq!(preview.status, 201);
    assert_eq!(proxy.http("GET", "/r/r1", b"").await.status, 201);
    served.abort();
}

/// POST `body` to `path` and read the whole answer, headers included.
async fn raw_post(to: &Remote, path: &str, body: &[u8]) -> String {
    let mut tcp = TcpStream::connect(to.addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        to.addr,
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("write");
    tcp.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut raw))
        .await
        .expect("an answer in time")
        .expect("read");
    String::from_utf8_lossy(&raw).into_owned()
}
