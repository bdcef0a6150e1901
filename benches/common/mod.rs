//! What the benches share: the machine they ran on, and opening a room over raw HTTP.
//! Each bench uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{ensure, Context};
use circlekeeper_protocol::RoomCreated;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Cores, memory in KiB, and the CPU model, read from the OS.
pub fn machine() -> (usize, u64, String) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(str::to_string))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    (cores, mem_kib, cpu)
}

/// The machine in one line, for a bench's heading.
pub fn machine_line() -> String {
    let (cores, mem_kib, cpu) = machine();
    format!(
        "{cores} cores ({cpu}), {:.1} GiB",
        mem_kib as f64 / 1024.0 / 1024.0
    )
}

/// `POST /api/rooms` with `body` over a raw HTTP/1.1 connection (`Connection: close`).
pub async fn create_room(
    addr: SocketAddr,
    body: &str,
    wait: Duration,
) -> anyhow::Result<RoomCreated> {
    let (status, body) = http(addr, "POST", "/api/rooms", body, wait).await?;
    ensure!(status == 201, "POST /api/rooms: {status} {body}");
    serde_json::from_str(&body).context("POST /api/rooms: not a RoomCreated body")
}

/// One HTTP/1.1 exchange over a raw connection (`Connection: close`): the status and the
/// body (de-chunked).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    wait: Duration,
) -> anyhow::Result<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        anyhow::Ok(raw)
    };
    let raw = tokio::time::timeout(wait, exchange)
        .await
        .with_context(|| format!("{method} {path}: no answer in time"))??;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("{method} {path}: an answer without a body"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("{method} {path}: no status in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Ok((status, body))
}

/// Undo HTTP/1.1 chunked transfer encoding (bounded).
fn dechunk(mut body: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    for _ in 0..100_000 {
        let Some((size, rest)) = body.split_once("\r\n") else {
            break;
        };
        let size = usize::from_str_radix(size.trim(), 16).context("a chunk size")?;
        if size == 0 {
            break;
        }
        out.push_str(rest.get(..size).context("a short chunk")?);
        body = rest[size..].trim_start_matches("\r\n");
    }
    Ok(out)
}
