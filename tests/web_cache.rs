//! The web client over a real socket, as a browser loads and reloads it (no browser needed):
//! every file carries a strong content-hash `ETag`, `Cache-Control: no-cache` and
//! `Vary: Accept-Encoding`; gzip is served to clients that take it and decodes to the very
//! bytes served plain; a reload that sends the ETags back gets `304 Not Modified` with no body,
//! so it transfers a small fraction of the first load.

mod common;

use std::collections::HashMap;
use std::io::Read as _;
use std::time::Duration;

use circlekeeper::server::web::WEB_FILES;
use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One answer, as it came off the socket.
struct Answer {
    status: u16,
    /// Header names in lower case.
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// Bytes read from the socket: status line, headers and body.
    wire: usize,
}

/// `GET path` with extra request headers, on its own connection, read to its end.
async fn get(server: &TestServer, path: &str, extra: &[(&str, &str)]) -> Answer {
    let exchange = async {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let mut head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n", server.addr);
        for (name, value) in extra {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(20), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path}: no answer"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
        wire: raw.len(),
    }
}

/// The URL path a file is served at.
fn url(name: &str) -> String {
    if name == "index.html" {
        "/".into()
    } else {
        format!("/{name}")
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

#[tokio::test]
async fn files_carry_a_stable_etag_and_revalidate_with_304() {
    let server = TestServer::start().await;
    let first = get(&server, "/app.js", &[]).await;
    assert_eq!(first.status, 200);
    let etag = first.headers.get("etag").expect("an ETag").clone();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    assert_eq!(first.headers["cache-control"], "no-cache");
    assert_eq!(
        first.headers["vary"].to_ascii_lowercase(),
        "accept-encoding"
    );
    assert!(first.headers.contains_key("content-security-policy"));
    assert_eq!(first.headers["x-content-type-options"], "nosniff");
    assert!(!first.headers.contains_key("content-encoding"));
    let again = get(&server, "/app.js", &[]).await;
    assert_eq!(again.headers["etag"], etag, "the same file, the same ETag");
    assert_eq!(again.body, first.body);

    let revalidated = get(&server, "/app.js", &[("If-None-Match", &etag)]).await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty(), "a 304 has no body");
    assert_eq!(revalidated.headers["etag"], etag);
    assert_eq!(revalidated.headers["cache-control"], "no-cache");

    let stale = get(&server, "/app.js", &[("If-None-Match", "\"0123\"")]).await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, first.body);

    // Another file has another ETag; the page has one too, under each of its paths.
    let room = get(&server, "/room.js", &[]).await;
    assert_ne!(room.headers["etag"], etag);
    let page = get(&server, "/", &[]).await;
    let under_room = get(
        &server,
        "/r/abc",
        &[("If-None-Match", &page.headers["etag"])],
    )
    .await;
    assert_eq!(under_room.status, 304);
}

#[tokio::test]
async fn gzip_is_served_to_who_takes_it_and_decodes_to_the_same_bytes() {
    let server = TestServer::start().await;
    let plain = get(&server, "/app.js", &[]).await;
    let zipped = get(
        &server,
        "/app.js",
        &[("Accept-Encoding", "gzip, deflate, br")],
    )
    .await;
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    assert_eq!(
        zipped.headers["vary"].to_ascii_lowercase(),
        "accept-encoding"
    );
    assert!(zipped.headers.contains_key("content-security-policy"));
    assert!(
        zipped.body.len() < plain.body.len() / 2,
        "gzip shrinks a script"
    );
    assert_eq!(gunzip(&zipped.body), plain.body);
    let zipped_etag = &zipped.headers["etag"];
    assert_ne!(
        zipped_etag, &plain.headers["etag"],
        "another representation"
    );
    let revalidated = get(
        &server,
        "/app.js",
        &[("Accept-Encoding", "gzip"), ("If-None-Match", zipped_etag)],
    )
    .await;
    assert_eq!(revalidated.status, 304);
    assert_eq!(&revalidated.headers["etag"], zipped_etag);
    let refused = get(&server, "/app.js", &[("Accept-Encoding", "gzip;q=0, br")]).await;
    assert!(!refused.headers.contains_key("content-encoding"));
    assert_eq!(refused.body, plain.body);
}

#[tokio::test]
async fn a_reload_transfers_a_small_fraction_of_the_first_load() {
    let server = TestServer::start().await;
    let browser = [("Accept-Encoding", "gzip, deflate, br, zstd")];
    let (mut plain, mut first, mut reload) = (0, 0, 0);
    let mut etags = Vec::new();
    for (name, _, body) in WEB_FILES {
        plain += body.len();
        let answer = get(&server, &url(name), &browser).await;
        assert_eq!(answer.status, 200, "{name}");
        let decoded = match answer.headers.get("content-encoding") {
            Some(_) => gunzip(&answer.body),
            None => answer.body.clone(),
        };
        assert_eq!(decoded, body.as_bytes(), "{name}");
        first += answer.wire;
        etags.push(answer.headers.get("etag").expect("an ETag").clone());
    }
    for ((name, _, _), etag) in WEB_FILES.iter().zip(&etags) {
        let answer = get(
            &server,
            &url(name),
            &[browser[0], ("If-None-Match", etag.as_str())],
        )
        .await;
        assert_eq!(answer.status, 304, "{name}");
        assert!(answer.body.is_empty(), "{name}");
        reload += answer.wire;
    }
    println!(
        "{} files: {plain} bytes as they are, first load {first} bytes on the wire, reload {reload}",
        WEB_FILES.len()
    );
    assert!(first < plain / 2, "gzip: {first} of {plain}");
    assert!(reload * 10 < first, "a reload: {reload} of {first}");
    assert!(
        reload < 300 * WEB_FILES.len(),
        "a 304 is a few headers: {reload}"
    );
}
