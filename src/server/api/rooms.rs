//! Opening a room (`POST /api/rooms`) and reading what its link opens before entering
//! (`POST /api/rooms/{id}/preview`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use circlekeeper_protocol::{
    limits, CallLinks, CreateRoom, ErrorCode, Format, PreviewRequest, RoomCreated, RoomPreview,
};
use serde_json::Value;
use tracing::{info, warn};

use super::super::AppState;
use super::*;
use crate::live::room::Keys;
use crate::room::state::{
    check_call_links, clean_paragraphs, clean_text, DEFAULT_GROUND_RULES, DEFAULT_WARN_BEFORE_MS,
};
use crate::room::RoomSetup;
use crate::secret;
use crate::store::RoomRecord;

/// `POST /api/rooms`: open a room from a title, a format and options. Answers 201 with the room
/// id and its two links.
pub async fn create_room(
    State(app): State<AppState>,
    Body(body): Body,
) -> Result<Response, ApiError> {
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

    let calls = check_call_links(
        "options.",
        &CallLinks {
            call_url: request.options.call_url.clone(),
            group_call_template: request.options.group_call_template.clone(),
            group_call_urls: request.options.group_call_urls.clone(),
        },
    )
    .map_err(|r| ApiError::bad(r.code, r.message))?;

    let created = launch_room(
        &app,
        title,
        format,
        ground_rules,
        warn_before_ms,
        Default::default(),
        Vec::new(),
        calls,
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
    calls: CallLinks,
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
            calls,
        },
        join_key_hash: keys.join,
        host_key_hash: keys.host,
        join_key: keys.join_key.clone(),
        created_at: app.clock().now(),
        ended_at: None,
        series,
    };
    app.open_room(record, keys).await.map_err(|e| {
        if e.is_transient() {
            warn!(error = %e, "room could not be opened: the store is unavailable");
            super::unavailable()
        } else {
            room_not_opened("store")
        }
    })?;
    Ok(fresh.created(app))
}

/// 500: a room could not be opened (`what` says why, in the log only).
pub(super) fn room_not_opened(what: &str) -> ApiError {
    warn!(what, "room could not be opened");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        "the server could not open the room".into(),
    )
}

/// A new room's id and link keys, made before anything is stored.
pub(super) struct FreshRoom {
    pub(super) id: String,
    join_key: String,
    host_key: String,
}

impl FreshRoom {
    pub(super) fn new() -> Result<FreshRoom, ApiError> {
        Ok(FreshRoom {
            id: uuid::Uuid::new_v4().simple().to_string(),
            join_key: secret::new_secret().map_err(|_| room_not_opened("random source"))?,
            host_key: secret::new_secret().map_err(|_| room_not_opened("random source"))?,
        })
    }

    /// The hashes the room keeps.
    pub(super) fn keys(&self) -> Keys {
        Keys {
            join: secret::hash(&self.join_key),
            host: secret::hash(&self.host_key),
            join_key: secret::KeptKey::Key(self.join_key.clone()),
        }
    }

    /// The answer to the request that opened it, once it is open.
    pub(super) fn created(self, app: &AppState) -> RoomCreated {
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

/// `POST /api/rooms/{id}/preview` with `{"key": …}`: the title, format, ground rules and status
/// of a room, for the page a link opens, so people read the ground rules before they consent.
pub async fn preview(
    State(app): State<AppState>,
    axum::extract::Path(room): axum::extract::Path<String>,
    Body(body): Body,
) -> Result<Json<RoomPreview>, ApiError> {
    let request: PreviewRequest = parse_body(&body)?;
    let handle = app
        .room(&room)
        .await
        .map_err(|u| super::unserved(u, "room"))?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    let msg = crate::live::RoomMsg::Preview {
        key: request.key,
        reply,
    };
    // A room that stopped before it answered (its write failed, or the server is stopping)
    // is still there: `unavailable`, never `room_not_found` (which tells clients to forget
    // their tokens).
    if !handle.send(msg).await {
        return Err(unavailable());
    }
    match answer.await {
        Ok(Ok(preview)) => Ok(Json(preview)),
        Ok(Err(r)) => Err(ApiError::from(r)),
        Err(_) => Err(unavailable()),
    }
}
