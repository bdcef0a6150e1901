//! Summaries and reports over HTTP: a room's export by its host key, and the community host's
//! list, exports and reports.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use circlekeeper_protocol::ErrorCode;
use serde_json::{json, Value};

use super::super::AppState;
use super::*;
use crate::export::{ExportError, Names, RoomSummary};
use crate::secret;
use crate::texts::Lang;

/// The body of an export: `POST /api/rooms/{id}/export` (with the room's host key) and the
/// community host's requests (with the server's host key).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// The room's host key, or the community host's key.
    key: String,
    /// `json` (default), `markdown`, `csv` or `html`.
    #[serde(default)]
    format: Option<String>,
    /// For `csv`: which table (`attendance`, `stages`, `pairs`, `commitments`, `follow_ups`,
    /// `session`; a report has its own: `sessions`, `members`, `pairs`).
    #[serde(default)]
    table: Option<String>,
    /// `shown` (default) or `pseudonymised`.
    #[serde(default)]
    names: crate::export::Names,
    /// The language of Markdown, CSV and HTML: `en` (default), `es` or `de`.
    #[serde(default)]
    lang: Option<String>,
}

/// The language a request asks for (`en` when it names none), or 400 `invalid_message`.
fn lang_of(lang: Option<&str>) -> Result<Lang, ApiError> {
    match lang {
        None => Ok(Lang::En),
        Some(code) => Lang::parse(code).ok_or_else(|| {
            let known: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
            ApiError::bad(
                ErrorCode::InvalidMessage,
                format!("lang: one of {}, not {code:?}", known.join(", ")),
            )
        }),
    }
}

/// `POST /api/rooms/{id}/export` with the host key: the session's summary as JSON, Markdown,
/// one CSV table or an HTML page. Only text marked exportable appears in it.
pub async fn export(
    State(app): State<AppState>,
    axum::extract::Path(room): axum::extract::Path<String>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let request: ExportRequest = parse_body(&body)?;
    let lang = lang_of(request.lang.as_deref())?;
    let format = request.format.as_deref().unwrap_or("json");
    let table = request.table.as_deref().unwrap_or("attendance");
    // The room stopped between being found and asked (its store failed): it exists, so it
    // is unavailable for now, never "not found".
    let stopped = || super::unserved(crate::server::Unserved::Unavailable, "room");
    let handle = match app.room(&room).await {
        Ok(handle) => handle,
        Err(crate::server::Unserved::Damaged) => {
            let summary = export_unavailable(&app, &room, &request.key, request.names)?;
            return rendered(crate::export::render(&summary, format, table, lang), format);
        }
        Err(other) => return Err(super::unserved(other, "room")),
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    if !handle
        .send(crate::live::RoomMsg::Export {
            key: request.key,
            reply,
        })
        .await
    {
        return Err(stopped());
    }
    let (view, notes) = answer.await.map_err(|_| stopped())??;
    let events = app.load_events(&room).map_err(ExportError::from)?;
    let mut summary = crate::export::summarize(&view, &events, &notes, request.names);
    summary.series_id = app
        .room_records()
        .map_err(ExportError::from)?
        .into_iter()
        .find(|(id, _)| *id == room)
        .and_then(|(_, r)| r.series);
    rendered(crate::export::render(&summary, format, table, lang), format)
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
        // Damaged and its record lost: it existed (the store says so), so never "not found".
        return Err(super::unserved(crate::server::Unserved::Damaged, "room"));
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

fn host_request(app: &AppState, body: &[u8]) -> Result<ExportRequest, ApiError> {
    let request: ExportRequest = parse_body(body)?;
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

/// A rendered summary or report, with the content type of its format. An HTML document also
/// gets a `Content-Security-Policy` that runs no script and fetches nothing (it needs none:
/// its charts are inline SVG), and `nosniff`.
fn rendered(content: Result<String, ExportError>, format: &str) -> Result<Response, ApiError> {
    use axum::http::{header, HeaderValue};
    let body = content?;
    let content_type = match format {
        "markdown" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        _ => "application/json",
    };
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    if format == "html" {
        let headers = response.headers_mut();
        if let Ok(policy) = HeaderValue::from_str(crate::export::html::content_security_policy()) {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    Ok(response)
}

/// `POST /api/host/list` with the community host's key: every room and series.
pub async fn host_list(
    State(app): State<AppState>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
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
    Body(body): Body,
) -> Result<Response, ApiError> {
    let request = host_request(&app, &body)?;
    let lang = lang_of(request.lang.as_deref())?;
    let summary = app.stored_summary(&room, request.names)?;
    let format = request.format.unwrap_or_else(|| "json".into());
    let table = request.table.unwrap_or_else(|| "attendance".into());
    rendered(
        crate::export::render(&summary, &format, &table, lang),
        &format,
    )
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
    Body(body): Body,
) -> Result<Response, ApiError> {
    let request = host_request(&app, &body)?;
    let lang = lang_of(request.lang.as_deref())?;
    let series = app
        .series(&series_id)
        .await
        .map_err(|u| super::unserved(u, "series"))?
        .read(crate::series::SeriesRecord::clone)
        .await
        .map_err(|_| not_found("no series with that id"))?;
    let summaries = stored_summaries(&app, series.sessions.iter().map(|s| s.room_id.as_str()))?;
    let report = crate::export::series::report(&series, &summaries, request.names);
    let format = request.format.unwrap_or_else(|| "json".into());
    let table = request.table.unwrap_or_else(|| "sessions".into());
    rendered(
        crate::export::series::render(&report, &format, &table, lang),
        &format,
    )
}

/// The body of `POST /api/host/report`: a date range.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeRequest {
    /// The community host's key.
    key: String,
    /// Rooms opened at or after this instant (epoch ms).
    from: u64,
    /// Rooms opened before this instant (epoch ms).
    to: u64,
    /// `json` (default), `markdown`, `csv` or `html`.
    #[serde(default)]
    format: Option<String>,
    /// For `csv`: which table.
    #[serde(default)]
    table: Option<String>,
    /// `shown` (default) or `pseudonymised`.
    #[serde(default)]
    names: crate::export::Names,
    /// The language of Markdown, CSV, HTML and the report's title: `en` (default), `es` or `de`.
    #[serde(default)]
    lang: Option<String>,
}

/// `POST /api/host/report` with the community host's key and a date range: the program's
/// figures over every room opened in it, series or not.
pub async fn host_range_report(
    State(app): State<AppState>,
    Body(body): Body,
) -> Result<Response, ApiError> {
    let request: RangeRequest = parse_body(&body)?;
    let lang = lang_of(request.lang.as_deref())?;
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
    let report = crate::export::range::range_report(
        request.from,
        request.to,
        &summaries,
        request.names,
        lang,
    );
    let format = request.format.unwrap_or_else(|| "json".into());
    let table = request.table.unwrap_or_else(|| "sessions".into());
    rendered(
        crate::export::series::render(&report, &format, &table, lang),
        &format,
    )
}
