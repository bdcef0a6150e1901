//! The operator's way in to a running sled server, which alone may open its store: at start
//! the server writes `<data dir>/admin.json` (mode 0600) with the address it listens on and a
//! fresh random token, and removes it at a clean shutdown; `circlekeeper backup` reads it and
//! streams `GET /api/admin/backup` with `Authorization: Bearer <token>` over a plain HTTP/1.1
//! connection to that address (loopback when the server listens on every address). Whoever
//! can read the data directory can back it up; nothing else is configured. The token is never
//! logged; the server keeps only its SHA-256.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::BackupError;

/// The file's name in the data directory.
pub const FILE: &str = "admin.json";

/// The endpoint that streams a backup.
pub const PATH: &str = "/api/admin/backup";

/// How long connecting to the server may take (it is on this machine).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the server may be silent while it streams (it reads one room at a time; a room of
/// thousands of events is read in well under this).
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Longest response head (status line and headers) or error body read.
const MAX_HEAD_BYTES: u64 = 64 * 1024;

/// What `admin.json` holds.
#[derive(Clone, Serialize, Deserialize)]
pub struct AdminInfo {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The operator token (256 random bits, base64url).
    pub token: String,
    /// The server's process id, for people reading the file.
    pub pid: u32,
}

impl std::fmt::Debug for AdminInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminInfo")
            .field("addr", &self.addr)
            .field("token", &"…")
            .field("pid", &self.pid)
            .finish()
    }
}

/// `admin.json` of a running server: [`AdminFile::remove`] it at a clean shutdown.
#[derive(Debug)]
pub struct AdminFile {
    path: PathBuf,
}

impl AdminFile {
    /// Write `<dir>/admin.json` for a server listening on `addr`, with a new token (mode 0600,
    /// replacing a file a killed server left); the token's SHA-256, for the server to check.
    pub fn publish(dir: &Path, addr: SocketAddr) -> Result<(AdminFile, [u8; 32]), BackupError> {
        let token = crate::secret::new_secret().map_err(|e| {
            std::io::Error::other(format!("no random bytes for the operator token: {e}"))
        })?;
        let info = AdminInfo {
            addr,
            token,
            pid: std::process::id(),
        };
        let path = dir.join(FILE);
        let partial = dir.join(format!(".{FILE}.partial"));
        let text = serde_json::to_vec_pretty(&info).map_err(BackupError::Encode)?;
        let mut file = super::create_private(&partial)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)?;
        Ok((AdminFile { path }, crate::secret::hash(&info.token)))
    }

    /// Remove the file (the server stops: no backup can be streamed from it any more).
    pub fn remove(self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// `admin.json` in `dir`, if there is one.
pub fn read(dir: &Path) -> Result<Option<AdminInfo>, BackupError> {
    let path = dir.join(FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| BackupError::Refused(format!("{} is not valid: {e}", path.display())))
}

/// Where to reach a server listening on `addr`: loopback when it listens on every address.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// Whether the server named by `info` answers at all (a file left by a killed server names
/// an address nobody listens on).
pub fn connect(info: &AdminInfo) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&reachable(info.addr), CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    Ok(stream)
}

/// Ask the server on `stream` for a backup with `token` and copy its body to `out`. A
/// refusal becomes [`BackupError::Refused`] with the server's code and message.
pub fn fetch(stream: TcpStream, token: &str, out: &mut dyn Write) -> Result<(), BackupError> {
    let host = stream.peer_addr()?;
    let mut writer = &stream;
    write!(
        writer,
        "GET {PATH} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: application/x-ndjson\r\nConnection: close\r\n\r\n"
    )?;
    writer.flush()?;
    let mut reader = BufReader::new(&stream);
    let head = read_head(&mut reader)?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| BackupError::Refused("the server's answer is not HTTP".into()))?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        })
    });
    if status != 200 {
        let mut body = Vec::new();
        if chunked {
            copy_chunked(&mut reader, &mut body, MAX_HEAD_BYTES)?;
        } else {
            (&mut reader).take(MAX_HEAD_BYTES).read_to_end(&mut body)?;
        }
        let said: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let code = said
            .as_ref()
            .and_then(|v| v.get("code")?.as_str().map(str::to_string))
            .unwrap_or_default();
        let message = said
            .as_ref()
            .and_then(|v| v.get("message")?.as_str().map(str::to_string))
            .unwrap_or_default();
        return Err(BackupError::Refused(format!(
            "HTTP {status} {code}: {message}"
        )));
    }
    if chunked {
        copy_chunked(&mut reader, out, u64::MAX)?;
    } else {
        std::io::copy(&mut reader, out)?;
    }
    Ok(())
}

/// The status line and headers, up to the empty line.
fn read_head(reader: &mut impl BufRead) -> Result<String, BackupError> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = reader.by_ref().take(MAX_HEAD_BYTES).read_line(&mut line)?;
        if n == 0 || head.len() as u64 > MAX_HEAD_BYTES {
            return Err(BackupError::Refused(
                "the server closed the connection before answering".into(),
            ));
        }
        if line == "\r\n" || line == "\n" {
            return Ok(head);
        }
        head.push_str(&line);
    }
}

/// Copy an HTTP/1.1 chunked body to `out` (at most `limit` bytes).
fn copy_chunked(
    reader: &mut impl BufRead,
    out: &mut dyn Write,
    limit: u64,
) -> Result<(), BackupError> {
    let cut = || {
        BackupError::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server's answer ended in the middle (the connection broke)",
        ))
    };
    let mut copied = 0u64;
    loop {
        let mut size_line = String::new();
        if reader.by_ref().take(1024).read_line(&mut size_line)? == 0 {
            return Err(cut());
        }
        let hex = size_line.trim().split(';').next().unwrap_or_default();
        let size = u64::from_str_radix(hex, 16).map_err(|_| cut())?;
        if size == 0 {
            return Ok(());
        }
        copied = copied.saturating_add(size);
        if copied > limit {
            return Err(BackupError::Refused(
                "the server's answer is too long".into(),
            ));
        }
        let n = std::io::copy(&mut reader.by_ref().take(size), out)?;
        if n != size {
            return Err(cut());
        }
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).map_err(|_| cut())?;
    }
}
