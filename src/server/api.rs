//! The JSON API: open a room, list built-in formats and prompts, health and readiness; and the
//! Prometheus text of `/metrics`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use circlekeeper_protocol::{
    limits, CreateRoom, CreateSeries, CreateSeriesRoom, ErrorCode, Format, FormatChoice, HttpError,
    MemberLink, MemberRequest, MemberView, PreviewRequest, RoomCreated, RoomPreview, SeriesCreated,
};
use serde_json::{json, Value};
use tracing::{error, info, warn};

use super::AppState;
use crate::export::{ExportError, Names, RoomSummary};
use crate::formats;
use crate::live::room::Keys;
use crate::live::{Change, SeriesError};
use crate::room::state::{
    clean_paragraphs, clean_text, Rejection, DEFAULT_GROUND_RULES, DEFAULT_WARN_BEFORE_MS,
};
use crate::room::{prompts, RoomSetup};
use crate::secret;
use crate::store::{RoomRecord, Write};

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
        ErrorCode::RoomNotFound => StatusCode::NOT_FOUND,
        ErrorCode::ConsentRequired
        | ErrorCode::NotInStage
        | ErrorCode::NotYourTurn
        | ErrorCode::NotStarted
        | ErrorCode::SessionEnded
        | ErrorCode::InvalidState
        | ErrorCode::RoomFull => StatusCode::CONFLICT,
        ErrorCode::RateLimited
        | ErrorCode::TooManyConnections
        | ErrorCode::TooManyRooms
        | ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RoomUnavailable | ErrorCode::ServerFull => StatusCode::SERVICE_UNAVAILABLE,
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

/// `GET /healthz`: the server is up.
pub async fn healthz(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "rooms": app.room_count() }))
}

/// How long `/readyz` waits for the store to answer.
pub const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz`: 200 `{"status":"ready"}` when the server can take work (rooms restored, the
/// store answers), 503 with the reason (`shutting_down`, `store_unavailable`) otherwise.
pub async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Value>) {
    match app.ready(READY_WITHIN).await {
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

/// `POST /api/rooms`: open a room from a title, a format and options. Answers 201 with the room
/// id and its two links.
pub async fn create_room(State(app): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if body.len() > limits::MAX_CREATE_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidMessage,
            format!(
                "the body is larger than {} bytes",
                limits::MAX_CREATE_BODY_BYTES
            ),
        ));
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad(
            ErrorCode::MalformedJson,
            format!("the body is not JSON: {e}"),
        )
    })?;
    let format = parse_format(value.get("format"))?;
    let request: CreateRoom = serde_path_to_error::deserialize(&value).map_err(|e| {
        let message = match e.path().to_string().as_str() {
            "." => e.inner().to_string(),
            path => format!("{path}: {}", e.inner()),
        };
        ApiError::bad(ErrorCode::InvalidMessage, message)
    })?;
    let title = clean_text("title", &request.title, limits::MAX_TEXT_CHARS)
        .map_err(|r| ApiError::bad(r.code, r.message))?;
    let ground_rules = match &request.options.ground_rules {
        Some(text) => {
            clean_paragraphs("options.ground_rules", text, limits::MAX_GROUND_RULES_CHARS)
                .map_err(|r| ApiError::bad(r.code, r.message))?
        }
        None => DEFAULT_GROUND_RULES.to_string(),
    };
    let warn_before_ms = request
        .options
        .warn_before_ms
        .unwrap_or(DEFAULT_WARN_BEFORE_MS);
    if warn_before_ms > MAX_WARN_BEFORE_MS {
        return Err(ApiError::bad(
            ErrorCode::InvalidMessage,
            format!("options.warn_before_ms: at most {MAX_WARN_BEFORE_MS}"),
        ));
    }

    let created = launch_room(
        &app,
        title,
        format,
        ground_rules,
        warn_before_ms,
        Default::default(),
        Vec::new(),
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Open a room with fresh link keys, durably, and answer its links.
#[allow(clippy::too_many_arguments)]
async fn launch_room(
    app: &AppState,
    title: String,
    format: Format,
    ground_rules: String,
    warn_before_ms: u64,
    pairing: crate::room::state::PairingSetup,
    earlier: Vec<circlekeeper_protocol::Commitment>,
    series: Option<String>,
) -> Result<RoomCreated, ApiError> {
    let fresh = FreshRoom::new()?;
    let keys = fresh.keys();
    let id = fresh.id.clone();
    let record = RoomRecord {
        setup: RoomSetup {
            id: id.clone(),
            title,
            format,
            ground_rules,
            warn_before_ms,
            pairing,
            earlier,
        },
        join_key_hash: keys.join,
        host_key_hash: keys.host,
        created_at: app.clock().now(),
        ended_at: None,
        series,
    };
    app.open_room(record, keys)
        .await
        .map_err(|_| room_not_opened("store"))?;
    Ok(fresh.created(app))
}

/// 500: a room could not be opened (`what` says why, in the log only).
fn room_not_opened(what: &str) -> ApiError {
    warn!(what, "room could not be opened");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "the server could not open the room".into(),
    )
}

/// A new room's id and link keys, made before anything is stored.
struct FreshRoom {
    id: String,
    join_key: String,
    host_key: String,
}

impl FreshRoom {
    fn new() -> Result<FreshRoom, ApiError> {
        Ok(FreshRoom {
            id: uuid::Uuid::new_v4().simple().to_string(),
            join_key: secret::new_secret().map_err(|_| room_not_opened("random source"))?,
            host_key: secret::new_secret().map_err(|_| room_not_opened("random source"))?,
        })
    }

    /// The hashes the room keeps.
    fn keys(&self) -> Keys {
        Keys {
            join: secret::hash(&self.join_key),
            host: secret::hash(&self.host_key),
        }
    }

    /// The answer to the request that opened it, once it is open.
    fn created(self, app: &AppState) -> RoomCreated {
        let FreshRoom {
            id,
            join_key,
            host_key,
        } = self;
        info!(room_id = %id, "room opened");
        let base = &app.settings().public_url;
        RoomCreated {
            join_url: format!("{base}/r/{id}#join={join_key}"),
            host_url: format!("{base}/r/{id}#host={host_key}"),
            room_id: id,
            join_key,
            host_key,
        }
    }
}

/// A series job's failure as an HTTP error: a deleted series is not found, a store failure is
/// the server's fault.
fn series_failed(e: SeriesError, what: &'static str) -> ApiError {
    match e {
        SeriesError::Gone => not_found("no series with that id"),
        SeriesError::Store(e) => {
            warn!(error = %e, what, "a series change failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                format!("the server could not save {what}"),
            )
        }
    }
}

/// 403: the key is not the series' host key.
fn not_series_host() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::InvalidKey,
        "this key does not open the series".into(),
    )
}

/// `POST /api/rooms/{id}/preview` with `{"key": …}`: the title, format, ground rules and status
/// of a room, for the page a link opens, so people read the ground rules before they consent.
pub async fn preview(
    State(app): State<AppState>,
    axum::extract::Path(room): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Json<RoomPreview>, ApiError> {
    let request: PreviewRequest = parse_body(&body)?;
    let not_found = || not_found("no room with that id");
    let handle = app.room(&room).await.ok_or_else(not_found)?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let msg = crate::live::RoomMsg::Preview {
        key: request.key,
        reply,
    };
    if !handle.send(msg).await {
        return Err(not_found());
    }
    match answer.await {
        Ok(Ok(preview)) => Ok(Json(preview)),
        Ok(Err(r)) if r.code == ErrorCode::InvalidKey => {
            Err(ApiError::new(StatusCode::FORBIDDEN, r.code, r.message))
        }
        Ok(Err(r)) => Err(ApiError::new(StatusCode::NOT_FOUND, r.code, r.message)),
        Err(_) => Err(not_found()),
    }
}

/// `POST /api/series`: a series of recurring rooms with a member list. Answers 201 with the
/// host key (it opens the series' rooms) and each member's personal link.
pub async fn create_series(State(app): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: CreateSeries =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body))
            .map_err(|e| {
                ApiError::bad(
                    ErrorCode::InvalidMessage,
                    format!("{}: {}", e.path(), e.inner()),
                )
            })?;
    let title = clean_text("title", &request.title, limits::MAX_TEXT_CHARS)
        .map_err(|r| ApiError::bad(r.code, r.message))?;
    if !(1..=24).contains(&request.cycle_months) {
        return Err(ApiError::bad(
            ErrorCode::InvalidMessage,
            "cycle_months: between 1 and 24",
        ));
    }
    if !(2..=crate::series::MAX_MEMBERS).contains(&request.members.len()) {
        return Err(ApiError::bad(
            ErrorCode::InvalidMessage,
            format!("members: between 2 and {}", crate::series::MAX_MEMBERS),
        ));
    }
    let internal = || {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "the server could not open the series".into(),
        )
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let base = app.settings().public_url.clone();
    let mut members = Vec::new();
    let mut links = Vec::new();
    for (i, name) in request.members.iter().enumerate() {
        let name = clean_text(&format!("members[{i}]"), name, limits::MAX_NAME_CHARS)
            .map_err(|r| ApiError::bad(r.code, r.message))?;
        let key = secret::new_secret().map_err(|_| internal())?;
        let member_id = format!("m{}", i + 1);
        members.push(crate::series::Member {
            id: member_id.clone(),
            name: name.clone(),
            key_hash: secret::hash(&key),
            choice: None,
            avoid: Vec::new(),
        });
        links.push(MemberLink {
            url: format!("{base}/s/{id}#member={key}"),
            member_id,
            name,
            key,
        });
    }
    let host_key = secret::new_secret().map_err(|_| internal())?;
    let record = crate::series::SeriesRecord {
        id: id.clone(),
        title,
        cadence: request.cadence,
        cycle_months: request.cycle_months,
        host_key_hash: secret::hash(&host_key),
        members,
        sessions: Vec::new(),
        history: Default::default(),
        planned: Vec::new(),
        commitments: Vec::new(),
        created_at: app.clock().now(),
    };
    app.create_series(record).await.map_err(|_| internal())?;
    info!(series_id = %id, "series opened");
    let created = SeriesCreated {
        series_id: id,
        host_key,
        members: links,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `POST /api/series/{id}/rooms` with the host key: the series' next session. Members enter it
/// with their personal link (`member` command); pairing avoids partners from earlier sessions.
pub async fn create_series_room(
    State(app): State<AppState>,
    axum::extract::Path(series_id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateSeriesRoom = parse_body(&body)?;
    let series = app
        .series(&series_id)
        .ok_or_else(|| not_found("no series with that id"))?;
    // The key is checked before the format and title (the documented order of refusals); the
    // job below checks it again, against the record as it is then.
    let key = request.key.clone();
    let host = series
        .read(move |s| secret::matches(&key, &s.host_key_hash))
        .await
        .map_err(|e| series_failed(e, "the session"))?;
    if !host {
        return Err(not_series_host());
    }
    let format = match &request.format {
        None => formats::builtin("coaching_swap")
            .ok_or_else(|| ApiError::bad(ErrorCode::InvalidFormat, "format"))?,
        Some(FormatChoice::Builtin(id)) => parse_format(Some(&Value::String(id.clone())))?,
        Some(FormatChoice::Custom(f)) => {
            parse_format(Some(&serde_json::to_value(f).unwrap_or(Value::Null)))?
        }
    };
    let title = match &request.title {
        Some(t) => Some(
            clean_text("title", t, limits::MAX_TEXT_CHARS)
                .map_err(|r| ApiError::bad(r.code, r.message))?,
        ),
        None => None,
    };
    let fresh = FreshRoom::new()?;
    let keys = fresh.keys();
    let room_id = fresh.id.clone();
    let now = app.clock().now();
    let key = request.key;
    // One job of the series' actor reads the history and records the session, so two sessions
    // opened at once never pair from the same history, and the room's record is written with
    // the session that names it.
    let opened = series
        .update(move |series| {
            if !secret::matches(&key, &series.host_key_hash) {
                return (Err(not_series_host()), Change::None);
            }
            let session = series.sessions.len() as u32;
            let title =
                title.unwrap_or_else(|| format!("{} — session {}", series.title, session + 1));
            let record = RoomRecord {
                setup: RoomSetup {
                    id: room_id.clone(),
                    title,
                    format,
                    ground_rules: DEFAULT_GROUND_RULES.to_string(),
                    warn_before_ms: DEFAULT_WARN_BEFORE_MS,
                    pairing: crate::room::state::PairingSetup {
                        history: series.history.clone(),
                        session,
                        fixed: series.continuing_pairs(),
                        avoid: series.avoid_pairs(),
                        in_series: true,
                    },
                    earlier: series.commitments.clone(),
                },
                join_key_hash: keys.join,
                host_key_hash: keys.host,
                created_at: now,
                ended_at: None,
                series: Some(series.id.clone()),
            };
            series.sessions.push(crate::series::Session {
                room_id,
                opened_at: now,
            });
            let setup = record.setup.clone();
            let write = Write::Room {
                record: Box::new(record),
            };
            (Ok(setup), Change::Save(vec![write]))
        })
        .await
        .map_err(|e| series_failed(e, "the session"))??;
    app.start_room(opened, Some(&series_id), fresh.keys())
        .map_err(|_| room_not_opened("actor"))?;
    Ok((StatusCode::CREATED, Json(fresh.created(&app))).into_response())
}

/// The body of `POST /api/series/{id}/delete`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteSeriesRequest {
    /// The series' host key.
    pub key: String,
}

/// `POST /api/series/{id}/delete` with the series' host key: delete the series and every room
/// opened for it, from memory and disk. Answers 200 once it is all gone; people in its rooms
/// are disconnected with close 4010.
pub async fn delete_series(
    State(app): State<AppState>,
    axum::extract::Path(series_id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: DeleteSeriesRequest = parse_body(&body)?;
    let series = app
        .series(&series_id)
        .ok_or_else(|| not_found("no series with that id"))?;
    let key = request.key;
    let host = series
        .read(move |s| secret::matches(&key, &s.host_key_hash))
        .await
        .map_err(|e| series_failed(e, "the deletion"))?;
    if !host {
        return Err(not_series_host());
    }
    match app.delete_series(&series_id).await {
        Ok(true) => Ok(Json(json!({ "deleted": true }))),
        Ok(false) => Err(not_found("no series with that id")),
        Err(e) => Err(series_failed(SeriesError::Store(e), "the deletion")),
    }
}

/// `POST /api/series/{id}/me` with a member key (and optionally an end-of-cycle choice): what
/// the member's personal link shows — the series, their name, its sessions.
pub async fn member(
    State(app): State<AppState>,
    axum::extract::Path(series_id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Json<MemberView>, ApiError> {
    let request: MemberRequest = parse_body(&body)?;
    if let Some(planned) = &request.planned {
        if planned.len() > 24 || planned.iter().any(|d| !plausible_date(d)) {
            return Err(ApiError::bad(
                ErrorCode::InvalidMessage,
                "planned: up to 24 dates written YYYY-MM-DD",
            ));
        }
    }
    let series = app
        .series(&series_id)
        .ok_or_else(|| not_found("no series with that id"))?;
    let view = series
        .update(move |series| match member_change(series, request) {
            Ok((view, true)) => (Ok(view), Change::Save(Vec::new())),
            Ok((view, false)) => (Ok(view), Change::None),
            Err(e) => (Err(e), Change::None),
        })
        .await
        .map_err(|e| series_failed(e, "the choice"))??;
    Ok(Json(view))
}

/// A member's request on their series' record: checked whole, then applied (so a refused
/// request changes nothing). Returns what their page shows and whether the record changed.
fn member_change(
    series: &mut crate::series::SeriesRecord,
    request: MemberRequest,
) -> Result<(MemberView, bool), ApiError> {
    let Some(index) = series
        .members
        .iter()
        .position(|m| secret::matches(&request.key, &m.key_hash))
    else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidKey,
            "this link is not a member's of this series".into(),
        ));
    };
    if let Some(avoid) = &request.avoid {
        let known = |id: &String| series.members.iter().any(|m| &m.id == id);
        if let Some(bad) = avoid.iter().find(|id| !known(id)) {
            return Err(ApiError::bad(
                ErrorCode::InvalidMessage,
                format!("avoid: no member {bad:?}"),
            ));
        }
    }
    let changes = request.choice.is_some() || request.avoid.is_some() || request.planned.is_some();
    if let Some(avoid) = request.avoid {
        let me = series.members[index].id.clone();
        series.members[index].avoid = avoid.into_iter().filter(|id| *id != me).collect();
    }
    if let Some(planned) = request.planned {
        series.planned = planned;
    }
    if let Some(choice) = request.choice {
        series.members[index].choice = Some(choice);
    }
    let m = &series.members[index];
    let view = MemberView {
        series_id: series.id.clone(),
        title: series.title.clone(),
        cadence: series.cadence,
        cycle_months: series.cycle_months,
        member_id: m.id.clone(),
        name: m.name.clone(),
        rooms: series.sessions.iter().map(|s| s.room_id.clone()).collect(),
        choice: m.choice,
        avoid: m.avoid.clone(),
        others: series
            .members
            .iter()
            .filter(|o| o.id != m.id)
            .map(|o| (o.id.clone(), o.name.clone()))
            .collect(),
        planned: series.planned.clone(),
    };
    Ok((view, changes))
}

/// A `YYYY-MM-DD` date with a plausible month and day.
fn plausible_date(d: &str) -> bool {
    let parts: Vec<&str> = d.split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => matches!(
            (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()),
            (Ok(2000..=2200), Ok(1..=12), Ok(1..=31))
        ),
        _ => false,
    }
}

/// The body of `POST /api/rooms/{id}/export`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The room's host key.
    key: String,
    /// `json` (default), `markdown` or `csv`.
    #[serde(default)]
    format: Option<String>,
    /// For `csv`: which table (`attendance`, `stages`, `pairs`, `commitments`).
    #[serde(default)]
    table: Option<String>,
    /// `shown` (default) or `pseudonymised`.
    #[serde(default)]
    names: crate::export::Names,
}

/// `POST /api/rooms/{id}/export` with the host key: the session's summary as JSON, Markdown or
/// one CSV table. Only text marked exportable appears in it.
pub async fn export(
    State(app): State<AppState>,
    axum::extract::Path(room): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: ExportRequest = parse_body(&body)?;
    let format = request.format.as_deref().unwrap_or("json");
    let table = request.table.as_deref().unwrap_or("attendance");
    let not_found = || not_found("no room with that id");
    let Some(handle) = app.room(&room).await else {
        if !app.is_unavailable(&room) {
            return Err(not_found());
        }
        let summary = export_unavailable(&app, &room, &request.key, request.names)?;
        return rendered(crate::export::render(&summary, format, table), format);
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    if !handle
        .send(crate::live::RoomMsg::Export {
            key: request.key,
            reply,
        })
        .await
    {
        return Err(not_found());
    }
    let (view, notes) = answer.await.map_err(|_| not_found())??;
    let events = app.load_events(&room).map_err(ExportError::from)?;
    let summary = crate::export::summarize(&view, &events, &notes, request.names);
    rendered(crate::export::render(&summary, format, table), format)
}

/// The summary of a room the server refused to restore (its records are damaged), for its
/// host: read again from the store, which fails (500 `internal`) while the damage is there.
/// Anyone else is refused as at a live room.
fn export_unavailable(
    app: &AppState,
    room: &str,
    key: &str,
    names: Names,
) -> Result<RoomSummary, ApiError> {
    let records = app.room_records().map_err(ExportError::from)?;
    let Some((_, record)) = records.into_iter().find(|(id, _)| id == room) else {
        return Err(not_found("no room with that id"));
    };
    if !secret::matches(key, &record.host_key_hash) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidKey,
            "only the host link exports this room".into(),
        ));
    }
    Ok(app.stored_summary(room, names)?)
}

/// The body of the community host's requests.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRequest {
    /// The host key from the server's configuration.
    key: String,
    /// `json` (default), `markdown` or `csv`.
    #[serde(default)]
    format: Option<String>,
    /// For `csv`: which table.
    #[serde(default)]
    table: Option<String>,
    /// `shown` (default) or `pseudonymised`.
    #[serde(default)]
    names: crate::export::Names,
}

fn host_request(app: &AppState, body: &[u8]) -> Result<HostRequest, ApiError> {
    let request: HostRequest = parse_body(body)?;
    check_host_key(app, &request.key)?;
    Ok(request)
}

/// Whether `key` is the community host's key (constant-time), or 403.
fn check_host_key(app: &AppState, key: &str) -> Result<(), ApiError> {
    let allowed = app
        .settings()
        .host_key
        .as_deref()
        .is_some_and(|k| secret::matches(key, &secret::hash(k)));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InvalidKey,
            "this is not the community host's key (or none is configured)".into(),
        ))
    }
}

/// A rendered summary or report, with the content type of its format.
fn rendered(content: Result<String, ExportError>, format: &str) -> Result<Response, ApiError> {
    use axum::http::header;
    let body = content?;
    let content_type = match format {
        "markdown" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        _ => "application/json",
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// `POST /api/host/list` with the community host's key: every room and series.
pub async fn host_list(State(app): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    host_request(&app, &body)?;
    let internal = || {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "the rooms could not be listed".into(),
        )
    };
    let rooms: Vec<Value> = app
        .room_records()
        .map_err(|_| internal())?
        .into_iter()
        .map(|(id, r)| {
            json!({
                "room_id": id,
                "title": r.setup.title,
                "format": r.setup.format.name,
                "created_at": r.created_at,
                "ended_at": r.ended_at,
                "series": r.series,
            })
        })
        .collect();
    let series: Vec<Value> = app
        .all_series()
        .await
        .into_iter()
        .map(|s| {
            json!({
                "series_id": s.id,
                "title": s.title,
                "cadence": s.cadence,
                "members": s.members.len(),
                "sessions": s.sessions.iter().map(|x| x.room_id.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({ "rooms": rooms, "series": series })))
}

/// `POST /api/host/rooms/{id}/export` with the community host's key: any room's summary.
pub async fn host_export(
    State(app): State<AppState>,
    axum::extract::Path(room): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = host_request(&app, &body)?;
    let summary = app.stored_summary(&room, request.names)?;
    let format = request.format.unwrap_or_else(|| "json".into());
    let table = request.table.unwrap_or_else(|| "attendance".into());
    rendered(crate::export::render(&summary, &format, &table), &format)
}

/// The summaries of `rooms` from the store, in order, with real names (a report applies its
/// own pseudonyms). A room no longer stored (deleted, or past its retention) is left out; a
/// damaged one fails the whole report rather than leave its figures out unsaid.
fn stored_summaries<'a>(
    app: &AppState,
    rooms: impl Iterator<Item = &'a str>,
) -> Result<Vec<RoomSummary>, ApiError> {
    let mut summaries = Vec::new();
    for room in rooms {
        match app.stored_summary(room, Names::Shown) {
            Ok(summary) => summaries.push(summary),
            Err(ExportError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(summaries)
}

/// `POST /api/host/series/{id}/report` with the community host's key: the series report.
pub async fn host_report(
    State(app): State<AppState>,
    axum::extract::Path(series_id): axum::extract::Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = host_request(&app, &body)?;
    let series = match app.series(&series_id) {
        Some(handle) => handle.read(crate::series::SeriesRecord::clone).await.ok(),
        None => None,
    }
    .ok_or_else(|| not_found("no series with that id"))?;
    let summaries = stored_summaries(&app, series.sessions.iter().map(|s| s.room_id.as_str()))?;
    let report = crate::export::series::report(&series, &summaries, request.names);
    let format = request.format.unwrap_or_else(|| "json".into());
    let table = request.table.unwrap_or_else(|| "sessions".into());
    rendered(
        crate::export::series::render(&report, &format, &table),
        &format,
    )
}

/// The body of `POST /api/host/report`: a date range.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeRequest {
    /// The community host's key.
    key: String,
    /// Rooms opened at or after this instant (epoch ms).
    from: u64,
    /// Rooms opened before this instant (epoch ms).
    to: u64,
    /// `json` (default), `markdown` or `csv`.
    #[serde(default)]
    format: Option<String>,
    /// For `csv`: which table.
    #[serde(default)]
    table: Option<String>,
    /// `shown` (default) or `pseudonymised`.
    #[serde(default)]
    names: crate::export::Names,
}

/// `POST /api/host/report` with the community host's key and a date range: the program's
/// figures over every room opened in it, series or not.
pub async fn host_range_report(
    State(app): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: RangeRequest = parse_body(&body)?;
    host_request(
        &app,
        serde_json::json!({ "key": request.key })
            .to_string()
            .as_bytes(),
    )?;
    if request.from >= request.to {
        return Err(ApiError::bad(
            ErrorCode::InvalidMessage,
            "from must be before to",
        ));
    }
    let mut records = app.room_records().map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "the rooms could not be listed".into(),
        )
    })?;
    records.retain(|(_, r)| (request.from..request.to).contains(&r.created_at));
    records.sort_by(|(a, ra), (b, rb)| (ra.created_at, a).cmp(&(rb.created_at, b)));
    let summaries = stored_summaries(&app, records.iter().map(|(id, _)| id.as_str()))?;
    let title = format!("Rooms opened from {} to {}", request.from, request.to);
    let report = crate::export::series::range_report(&title, &summaries, request.names);
    let format = request.format.unwrap_or_else(|| "json".into());
    let table = request.table.unwrap_or_else(|| "sessions".into());
    rendered(
        crate::export::series::render(&report, &format, &table),
        &format,
    )
}
