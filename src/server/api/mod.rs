//! The JSON API: open a room, list built-in formats and prompts, health and readiness; and the
//! Prometheus text of `/metrics`. Its error type, [`ApiError`], is the HTTP face of the core's
//! rejections and of export's errors. The handlers live by subject: [`rooms`], [`series`] and
//! [`calendar`] (a series' planned sessions as calendar feeds), [`exports`] (summaries and reports, the community host's endpoints), and [`texts`] (the
//! built-in texts in other languages), and [`webhooks`] (a series' outgoing webhooks and the worker
//! that sends them).

mod backup;
mod calendar;
mod calls;
mod exports;
mod members;
mod openapi;
mod rooms;
mod series;
mod texts;
mod webhooks;

pub use backup::*;
pub use calendar::*;
pub use calls::*;
pub use exports::*;
pub use members::*;
pub use openapi::*;
pub use rooms::*;
pub use series::*;
pub use texts::*;
pub use webhooks::*;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use circlekeeper_protocol::{ErrorCode, Format, HttpError};
use serde_json::{json, Value};
use tracing::error;

use super::AppState;
use crate::export::ExportError;
use crate::formats;
use crate::room::prompts;
use crate::room::state::Rejection;

/// Latest warning point a room may set: an hour before the end.
pub const MAX_WARN_BEFORE_MS: u64 = 3_600_000;

/// Read a JSON body, or answer 400 with serde's reason.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad(ErrorCode::InvalidMessage, format!("the request body: {e}")))
}

/// 404 with a message.
fn not_found(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::RoomNotFound,
        message.into(),
    )
}

/// The answer to a request for a room (or series) this node does not serve now: 404
/// `room_not_found`, 503 `room_unavailable` (damaged records), or 503 `unavailable` with a
/// `Retry-After` (the store is out of reach, or another node runs it and is handing it over).
pub(crate) fn unserved(u: crate::server::Unserved, what: &str) -> ApiError {
    use crate::server::Unserved;
    match u {
        Unserved::NotFound => not_found(&format!("no {what} with that id")),
        Unserved::Damaged => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RoomUnavailable,
            format!("this {what} cannot be served right now; the operator has been told"),
        ),
        Unserved::Unavailable => unavailable().retry_after(5),
        Unserved::Elsewhere => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            format!("this {what} is moving between servers: try again in a moment"),
        )
        .retry_after(1),
    }
}

/// 503 `unavailable`: the store cannot be reached; nothing was changed.
pub(crate) fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Unavailable,
        "the server cannot reach its store; nothing was changed: try again in a few seconds".into(),
    )
    .retry_after(5)
}

/// An HTTP error: a status, a stable code and a human message (never internals), and for a
/// limit, when to try again.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An HTTP error with a status, a stable code and a human message.
    pub fn new(status: StatusCode, code: ErrorCode, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
            retry_after_secs: None,
        }
    }

    fn bad(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message.into())
    }

    /// The same error, telling the client to wait `secs` seconds (`Retry-After`).
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after_secs = Some(secs);
        self
    }
}

/// The HTTP status that answers a refusal with `code`.
fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MalformedJson
        | ErrorCode::UnknownType
        | ErrorCode::InvalidMessage
        | ErrorCode::InvalidText
        | ErrorCode::InvalidUrl
        | ErrorCode::InvalidFormat
        | ErrorCode::AlreadyAuthenticated
        | ErrorCode::UnknownParticipant
        | ErrorCode::UnknownStage
        | ErrorCode::UnknownPrompt => StatusCode::BAD_REQUEST,
        ErrorCode::NotAuthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::InvalidKey
        | ErrorCode::InvalidToken
        | ErrorCode::Forbidden
        | ErrorCode::OriginNotAllowed => StatusCode::FORBIDDEN,
        ErrorCode::RoomNotFound | ErrorCode::UnknownLanguage => StatusCode::NOT_FOUND,
        ErrorCode::ConsentRequired
        | ErrorCode::NotInStage
        | ErrorCode::NotYourTurn
        | ErrorCode::NotStarted
        | ErrorCode::SessionEnded
        | ErrorCode::InvalidState
        | ErrorCode::RoomFull
        | ErrorCode::NameTaken
        | ErrorCode::LinkUnknown
        | ErrorCode::TooManyItems => StatusCode::CONFLICT,
        ErrorCode::RateLimited
        | ErrorCode::TooManyConnections
        | ErrorCode::TooManyRooms
        | ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RoomUnavailable | ErrorCode::ServerFull | ErrorCode::Unavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A room's refusal, with the status its code calls for (`invalid_key` is 403,
/// `room_not_found` 404, …) and its message.
impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> ApiError {
        ApiError::new(status_of(r.code), r.code, r.message)
    }
}

/// A summary or report that could not be made: 404 for a room that is not stored, 400 for a
/// format or table there is not, and 500 `internal` when the server is at fault (its store
/// failed or a record is damaged; the log gets the detail, the client a plain message).
impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            ExportError::NotFound { .. } => not_found("no room with that id"),
            ExportError::UnknownFormat(_) | ExportError::UnknownTable { .. } => {
                ApiError::bad(ErrorCode::InvalidMessage, e.to_string())
            }
            ExportError::Damaged { .. } | ExportError::Store(_) | ExportError::Encode(_) => {
                error!(error = %e, "an export failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "the room's records could not be read; the operator has been told".into(),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = HttpError {
            code: self.code,
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// A request body of at most [`limits::MAX_CREATE_BODY_BYTES`] (64 KiB), on every route that
/// takes one: a larger body is refused with 413 `invalid_message` before any of it is parsed,
/// and is read no further than the limit.
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Body, ApiError> {
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidMessage,
                format!(
                    "the body is larger than {} bytes",
                    circlekeeper_protocol::limits::MAX_CREATE_BODY_BYTES
                ),
            )
        };
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > circlekeeper_protocol::limits::MAX_CREATE_BODY_BYTES as u64)
        {
            return Err(too_large());
        }
        // Over the limit (a chunked body that says nothing of its length), or cut off.
        axum::body::to_bytes(
            req.into_body(),
            circlekeeper_protocol::limits::MAX_CREATE_BODY_BYTES,
        )
        .await
        .map(Body)
        .map_err(|_| too_large())
    }
}

/// `GET /healthz`: the server is up.
pub async fn healthz(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "rooms": app.room_count() }))
}

/// How long `/readyz` waits for the store to answer.
pub const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz`: 200 `{"status":"ready"}` when the server can take work (rooms restored, the
/// store answers), 503 with the reason (`shutting_down`, `store_unavailable`) otherwise. After a
/// write failed (a full disk, the database out of reach) it answers `store_unavailable` at once
/// until the commit thread finds the store taking writes again, and then `ready` again: no
/// restart needed.
pub async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    let down = app
        .inner
        .commit_stats
        .down
        .load(std::sync::atomic::Ordering::Acquire);
    let ready = if down {
        Err("store_unavailable")
    } else {
        app.ready(READY_WITHIN).await
    };
    match ready {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": why })),
        ),
    }
}

/// `GET /metrics`: the server's metrics in the Prometheus text exposition format.
pub async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.render_metrics(),
    )
        .into_response()
}

/// `GET /api/formats`: the built-in formats, by id.
pub async fn formats() -> Json<Value> {
    let list: Vec<Value> = formats::BUILTIN_IDS
        .iter()
        .filter_map(|id| formats::builtin(id).map(|f| json!({ "id": id, "format": f })))
        .collect();
    Json(Value::Array(list))
}

/// `GET /api/prompts`: the prompt bank, with the stage kinds each prompt suits.
pub async fn prompts() -> Json<Value> {
    let list: Vec<Value> = prompts::bank()
        .iter()
        .map(|e| json!({ "id": e.id, "text": e.text, "source": e.source, "stages": e.stages }))
        .collect();
    Json(Value::Array(list))
}

/// Read the `format` field: a built-in id, or a custom format whose errors name the field.
fn parse_format(value: Option<&Value>) -> Result<Format, ApiError> {
    let format = match value {
        Some(Value::String(id)) => formats::builtin(id).ok_or_else(|| {
            ApiError::bad(
                ErrorCode::InvalidFormat,
                format!(
                    "format: no built-in format {id:?}; use one of {}",
                    formats::BUILTIN_IDS.join(", ")
                ),
            )
        })?,
        Some(obj @ Value::Object(_)) => serde_path_to_error::deserialize::<_, Format>(obj)
            .map_err(|e| {
                let path = e.path().to_string();
                let at = if path == "." {
                    "format".to_string()
                } else {
                    format!("format.{path}")
                };
                ApiError::bad(ErrorCode::InvalidFormat, format!("{at}: {}", e.inner()))
            })?,
        _ => {
            return Err(ApiError::bad(
                ErrorCode::InvalidFormat,
                "format: give a built-in format id or a format object",
            ))
        }
    };
    formats::validate(&format).map_err(|e| {
        ApiError::bad(
            ErrorCode::InvalidFormat,
            format!("format.{}: {}", e.field, e.message),
        )
    })?;
    Ok(format)
}
