//! `GET /api/admin/backup`: the whole store as a backup file (see `backup::format`), streamed
//! while the server runs, for the operator who can read the data directory's `admin.json`
//! (`Authorization: Bearer <token>`). A server without an operator token (PostgreSQL, whose
//! backups read the database directly) answers 403 `forbidden`; no token 401
//! `not_authenticated`; a wrong one 403 `invalid_token` (counted as a failed entry).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use circlekeeper_protocol::ErrorCode;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::ApiError;
use crate::server::AppState;

/// Bytes gathered before one is handed to the connection.
const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks waiting for a slow reader before the store reads pause.
const CHUNKS_IN_FLIGHT: usize = 8;

/// Stream a backup of every room and series (see the module docs).
pub async fn admin_backup(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(expected) = app.settings().admin_token_hash else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this server has no operator token: back up a PostgreSQL store with `circlekeeper backup --store postgres://…`".into(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(given) = given else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::NotAuthenticated,
            "give the operator token from the data directory's admin.json: Authorization: Bearer <token>".into(),
        ));
    };
    if !crate::secret::matches(given, &expected) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidToken,
            "that is not this server's operator token (read it from admin.json in its data directory)".into(),
        ));
    }
    let store = app.backup_store();
    let now = app.clock().now();
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    info!("backup requested by the operator");
    tokio::task::spawn_blocking(move || {
        let mut out = Chunks {
            tx,
            buf: Vec::with_capacity(CHUNK_BYTES),
        };
        // Without a trailer the client knows the backup is incomplete.
        match crate::backup::write(store.as_ref(), &mut out, now, false) {
            Ok(counts) => info!(
                rooms = counts.rooms,
                series = counts.series,
                events = counts.events,
                "backup streamed"
            ),
            Err(e) => warn!(error = %e, "backup stopped before its end"),
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|chunk| chunk.map(Ok::<_, std::io::Error>))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"circlekeeper.backup\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A writer that hands the response body over in chunks, waiting while the reader is slow;
/// it fails once the connection is gone, which ends the backup.
struct Chunks {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl Chunks {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK_BYTES),
        ));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| std::io::Error::other("the client went away"))
    }
}

impl std::io::Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}
