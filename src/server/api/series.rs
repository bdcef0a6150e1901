//! Series over HTTP: opening one, its sessions, a member's page, deleting it. Every change goes
//! through the series' actor, which answers once it is durable.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use circlekeeper_protocol::{
    limits, CallLinks, CreateSeries, CreateSeriesRoom, ErrorCode, FormatChoice, MemberLink,
    MemberRequest, MemberView, SeriesCreated,
};
use serde_json::{json, Value};
use tracing::{info, warn};

use super::super::AppState;
use super::rooms::{room_not_opened, FreshRoom};
use super::*;
use crate::formats;
use crate::live::{Change, SeriesError, SeriesHandle};
use crate::room::state::{
    check_call_links, clean_name, clean_text, name_key, DEFAULT_GROUND_RULES,
    DEFAULT_WARN_BEFORE_MS, NAME_TAKEN,
};
use crate::room::RoomSetup;
use crate::secret;
use crate::store::{RoomRecord, Write};

/// A series job's failure as an HTTP error: a deleted series is not found, a store failure is
/// the server's fault.
pub(super) fn series_failed(e: SeriesError, what: &'static str) -> ApiError {
    match e {
        SeriesError::Gone => not_found("no series with that id"),
        SeriesError::Store(e) if e.is_transient() => {
            warn!(error = %e, what, "a series change failed: the store is unavailable");
            super::unavailable()
        }
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

/// The series' actor, once `key` is shown to be its host key: 404 without such a series, 403
/// with another key.
pub(super) async fn hosted_series(
    app: &AppState,
    id: &str,
    key: &str,
    what: &'static str,
) -> Result<SeriesHandle, ApiError> {
    let series = app
        .series(id)
        .await
        .map_err(|u| super::unserved(u, "series"))?;
    let key = key.to_string();
    let host = series
        .read(move |s| secret::matches(&key, &s.host_key_hash))
        .await
        .map_err(|e| series_failed(e, what))?;
    if host {
        Ok(series)
    } else {
        Err(not_series_host())
    }
}

/// 403: the key is not the series' host key.
pub(super) fn not_series_host() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::InvalidKey,
        "this key does not open the series".into(),
    )
}

/// `POST /api/series`: a series of recurring rooms with a member list. Answers 201 with the
/// host key (it opens the series' rooms) and each member's personal link.
pub async fn create_series(
    State(app): State<AppState>,
    Body(body): Body,
) -> Result<Response, ApiError> {
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
    let calls = check_call_links(
        "",
        &CallLinks {
            call_url: request.call_url.clone(),
            group_call_template: request.group_call_template.clone(),
            group_call_urls: request.group_call_urls.clone(),
        },
    )
    .map_err(|r| ApiError::bad(r.code, r.message))?;
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
    let mut keys: Vec<String> = Vec::new();
    for (i, name) in request.members.iter().enumerate() {
        let name = clean_name(&format!("members[{i}]"), name)
            .map_err(|r| ApiError::bad(r.code, r.message))?;
        // Members enter their sessions under these names, and are never refused for them
        // there: so two members may not read the same.
        let key = name_key(&name);
        if let Some(j) = keys.iter().position(|k| *k == key) {
            return Err(ApiError::bad(
                ErrorCode::NameTaken,
                format!("members[{i}] reads the same as members[{j}]: {NAME_TAKEN}"),
            ));
        }
        keys.push(key);
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
    let calendar = super::calendar::settings_for_new_series(
        request.time_zone.as_deref(),
        request.start_time.as_deref(),
        request.minutes,
    )?;
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
        calendar,
        roster: Default::default(),
        calls,
        webhooks: Vec::new(),
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
    Body(body): Body,
) -> Result<Response, ApiError> {
    let request: CreateSeriesRoom = parse_body(&body)?;
    // The key is checked before the format and title (the documented order of refusals); the
    // job below checks it again, against the record as it is then.
    let series = hosted_series(&app, &series_id, &request.key, "the session").await?;
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
    // With several nodes the new room's lease is this node's before its record is written.
    let (fence, fence_write) = app.claim_new_room(&room_id).await.map_err(|e| {
        warn!(error = %e, "a session's room could not be claimed");
        super::unavailable()
    })?;
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
            let title = title.unwrap_or_else(|| {
                let n = (session + 1).to_string();
                crate::texts::fill(
                    crate::series::SESSION_TITLE,
                    &[("title", &series.title), ("n", &n)],
                )
            });
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
                        fixed: series.continuing_groups(),
                        avoid: [series.avoid_pairs(), series.rematch_pairs()].concat(),
                        in_series: true,
                    },
                    earlier: series.commitments.clone(),
                    calls: series.calls.clone(),
                },
                join_key_hash: keys.join,
                host_key_hash: keys.host,
                join_key: keys.join_key.clone(),
                created_at: now,
                ended_at: None,
                series: Some(series.id.clone()),
            };
            series.sessions.push(crate::series::Session {
                room_id,
                opened_at: now,
            });
            let setup = record.setup.clone();
            let mut writes = fence_write;
            writes.push(Write::Room {
                record: Box::new(record),
            });
            (Ok(setup), Change::Save(writes))
        })
        .await;
    let opened = match opened {
        Ok(Ok(opened)) => opened,
        refused => {
            app.release(&crate::store::Owner::room(&fresh.id)).await;
            return Err(match refused {
                Err(e) => series_failed(e, "the session"),
                Ok(Err(e)) => e,
                Ok(Ok(_)) => room_not_opened("series"),
            });
        }
    };
    app.start_room(opened, Some(&series_id), fresh.keys(), fence)
        .await
        .map_err(|_| room_not_opened("actor"))?;
    Ok((StatusCode::CREATED, Json(fresh.created(&app))).into_response())
}

/// The body of `POST /api/series/{id}/delete`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let request: DeleteSeriesRequest = parse_body(&body)?;
    hosted_series(&app, &series_id, &request.key, "the deletion").await?;
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
    Body(body): Body,
) -> Result<Json<MemberView>, ApiError> {
    let request: MemberRequest = parse_body(&body)?;
    let now = app.clock().now();
    let base = app.settings().public_url.clone();
    let series = app
        .series(&series_id)
        .await
        .map_err(|u| super::unserved(u, "series"))?;
    let view = series
        .update(
            move |series| match member_change(series, request, now, &base) {
                Ok((view, true)) => (Ok(view), Change::Save(Vec::new())),
                Ok((view, false)) => (Ok(view), Change::None),
                Err(e) => (Err(e), Change::None),
            },
        )
        .await
        .map_err(|e| series_failed(e, "the choice"))??;
    Ok(Json(view))
}

/// A member's request on their series' record: checked whole, then applied (so a refused
/// request changes nothing). Returns what their page shows and whether the record changed.
fn member_change(
    series: &mut crate::series::SeriesRecord,
    request: MemberRequest,
    now: circlekeeper_protocol::Millis,
    base: &str,
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
    if series.status(&series.members[index].id) == crate::series::MemberStatus::Removed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "you are no longer a member of this series".into(),
        ));
    }
    if let Some(avoid) = &request.avoid {
        let known = |id: &String| series.members.iter().any(|m| &m.id == id);
        if let Some(bad) = avoid.iter().find(|id| !known(id)) {
            return Err(ApiError::bad(
                ErrorCode::InvalidMessage,
                format!("avoid: no member {bad:?}"),
            ));
        }
    }
    let calendar = super::calendar::planned_change(
        series,
        index,
        request.planned.as_deref(),
        request.pair.as_ref(),
        now,
    )?;
    let changes = request.choice.is_some() || request.avoid.is_some() || calendar.is_some();
    if let Some(avoid) = request.avoid {
        let me = series.members[index].id.clone();
        series.members[index].avoid = avoid.into_iter().filter(|id| *id != me).collect();
    }
    if let Some(calendar) = calendar {
        if request.planned.is_some() {
            series.planned = calendar.series_dates();
        }
        series.calendar = calendar;
    }
    if let Some(choice) = request.choice {
        let id = series.members[index].id.clone();
        series.record_choice(&id, choice);
    }
    let me = series.members[index].id.clone();
    let (calendar_feed, feed_made) =
        super::calendar::feed_link(series, &me, &request.key, false, base);
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
            .filter(|o| series.status(&o.id) != crate::series::MemberStatus::Removed)
            .map(|o| (o.id.clone(), o.name.clone()))
            .collect(),
        planned: series.planned.clone(),
        planned_sessions: super::calendar::member_sessions(series, &m.id),
        time_zone: series.calendar.time_zone.clone(),
        calendar_feed,
        cycle: Some(series.cycle_view(&m.id)),
    };
    Ok((view, changes || feed_made))
}
