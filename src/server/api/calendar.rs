//! A series' calendar over HTTP: the host's settings (time zone, default start and
//! duration), a member's read-only feed address, the feed itself (`.ics`) and one planned
//! session as a one-event `.ics` download; and the planned-session part of a member's request
//! (`POST /api/series/{id}/me`), which `series` hands here.
//!
//! The feed key travels in a URL that calendar apps send to other services, so it is a key of
//! its own (never the member key), opens nothing but the feed, and is never logged.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use circlekeeper_protocol::{
    CalendarSettings, CalendarSettingsRequest, ErrorCode, FeedAddress, FeedLink, FeedRequest,
    PairPlan, PlannedInput, PlannedSession,
};

use super::super::AppState;
use super::series::{hosted_series, series_failed};
use super::{parse_body, status_of, ApiError, Body};
use crate::calendar::{self, ics, Refusal, SeriesCalendar};
use crate::live::Change;
use crate::secret;
use crate::series::SeriesRecord;

/// A calendar refusal as an HTTP error.
fn refused(r: Refusal) -> ApiError {
    ApiError::new(status_of(r.code), r.code, r.message)
}

/// 403 `invalid_key`: no member's feed has this key (a wrong or rotated address).
fn no_such_feed() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::InvalidKey,
        "this calendar address does not open this series' calendar (it may have been replaced \
         by a new one)"
            .into(),
    )
}

/// 403 `invalid_key`: not a member key of this series.
fn not_a_member() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::InvalidKey,
        "this link is not a member's of this series".into(),
    )
}

/// The series' calendar settings from a creation request: the defaults for what is left out.
pub(super) fn settings_for_new_series(
    time_zone: Option<&str>,
    start_time: Option<&str>,
    minutes: Option<u16>,
) -> Result<SeriesCalendar, ApiError> {
    let mut cal = SeriesCalendar::default();
    apply_settings(&mut cal, time_zone, start_time, minutes).map_err(refused)?;
    Ok(cal)
}

fn apply_settings(
    cal: &mut SeriesCalendar,
    time_zone: Option<&str>,
    start_time: Option<&str>,
    minutes: Option<u16>,
) -> Result<(), Refusal> {
    if let Some(z) = time_zone {
        cal.time_zone = calendar::zone(z)?.1;
    }
    if let Some(t) = start_time {
        calendar::time("start_time", t)?;
        cal.start_time = t.to_string();
    }
    if let Some(m) = minutes {
        cal.minutes = calendar::minutes("minutes", m)?;
    }
    Ok(())
}

/// The planned-session part of a member's request, checked whole: the calendar as it would be
/// after it, or `None` when the request changes no plan.
pub(super) fn planned_change(
    series: &SeriesRecord,
    member: usize,
    planned: Option<&[PlannedInput]>,
    pair: Option<&PairPlan>,
    now: circlekeeper_protocol::Millis,
) -> Result<Option<SeriesCalendar>, ApiError> {
    if planned.is_none() && pair.is_none() {
        return Ok(None);
    }
    let mut cal = series.calendar.clone();
    if let Some(list) = planned {
        let checked = cal.check("planned", list).map_err(refused)?;
        cal.replace(&[], checked, now).map_err(refused)?;
    }
    if let Some(pair) = pair {
        let me = &series.members[member].id;
        if pair.with.is_empty() || pair.with.len() > 2 {
            return Err(ApiError::bad(
                ErrorCode::InvalidMessage,
                "pair.with: the partner's member id (two for a triad)",
            ));
        }
        let mut owners = vec![me.clone()];
        for id in &pair.with {
            if id == me || owners.contains(id) || !series.members.iter().any(|m| &m.id == id) {
                return Err(ApiError::bad(
                    ErrorCode::InvalidMessage,
                    format!("pair.with: {id:?} is not another member of this series"),
                ));
            }
            owners.push(id.clone());
        }
        owners.sort();
        let checked = cal.check("pair.planned", &pair.planned).map_err(refused)?;
        cal.replace(&owners, checked, now).map_err(refused)?;
    }
    Ok(Some(cal))
}

/// What a member's page shows of the calendar: their planned sessions and the zone.
pub(super) fn member_sessions(series: &SeriesRecord, member: &str) -> Vec<PlannedSession> {
    series
        .calendar
        .for_member(member, &series.planned)
        .iter()
        .map(|p| calendar::view(&series.id, p))
        .collect()
}

/// The member's calendar address under `base`, made the first time (or anew, with `rotate`):
/// returns it and whether the record changed.
pub(super) fn feed_link(
    series: &mut SeriesRecord,
    member: &str,
    member_key: &str,
    rotate: bool,
    base: &str,
) -> (FeedLink, bool) {
    let (feed_key, changed) = series.calendar.feed_key(member, member_key, rotate);
    let url = format!("{base}/api/series/{}/calendar/{feed_key}.ics", series.id);
    let webcal_url = match url.split_once("://") {
        Some((_, rest)) => format!("webcal://{rest}"),
        None => url.clone(),
    };
    let link = FeedLink {
        feed_key,
        url,
        webcal_url,
    };
    (link, changed)
}

/// `POST /api/series/{id}/calendar` with the host key: set the series' time zone, default
/// start and duration (fields left out stay); answers the settings.
pub async fn calendar_settings(
    State(app): State<AppState>,
    Path(series_id): Path<String>,
    Body(body): Body,
) -> Result<Json<CalendarSettings>, ApiError> {
    let request: CalendarSettingsRequest = parse_body(&body)?;
    let series = hosted_series(&app, &series_id, &request.key, "the calendar").await?;
    let mut probe = SeriesCalendar::default();
    apply_settings(
        &mut probe,
        request.time_zone.as_deref(),
        request.start_time.as_deref(),
        request.minutes,
    )
    .map_err(refused)?;
    let settings = series
        .update(move |s| {
            if !secret::matches(&request.key, &s.host_key_hash) {
                return (Err(super::series::not_series_host()), Change::None);
            }
            let changed = apply_settings(
                &mut s.calendar,
                request.time_zone.as_deref(),
                request.start_time.as_deref(),
                request.minutes,
            );
            let settings = CalendarSettings {
                time_zone: s.calendar.time_zone.clone(),
                start_time: s.calendar.start_time.clone(),
                minutes: s.calendar.minutes,
            };
            match changed {
                Ok(()) => (Ok(settings), Change::Save(Vec::new())),
                Err(r) => (Err(refused(r)), Change::None),
            }
        })
        .await
        .map_err(|e| series_failed(e, "the calendar"))??;
    Ok(Json(settings))
}

/// `POST /api/series/{id}/calendar/feed` with a member key: the member's calendar address
/// (made the first time; with `rotate`, made anew so the previous one stops working).
pub async fn calendar_feed_address(
    State(app): State<AppState>,
    Path(series_id): Path<String>,
    Body(body): Body,
) -> Result<Json<FeedAddress>, ApiError> {
    let request: FeedRequest = parse_body(&body)?;
    let series = app
        .series(&series_id)
        .await
        .map_err(|u| super::unserved(u, "series"))?;
    let base = app.settings().public_url.clone();
    let address = series
        .update(move |s| {
            let Some(member) = s.member_by_key(&request.key).map(|m| m.id.clone()) else {
                return (Err(not_a_member()), Change::None);
            };
            let (link, changed) = feed_link(s, &member, &request.key, request.rotate, &base);
            let address = FeedAddress {
                feed_key: link.feed_key,
                url: link.url,
                webcal_url: link.webcal_url,
                time_zone: s.calendar.time_zone.clone(),
                planned: member_sessions(s, &member),
            };
            let change = if changed {
                Change::Save(Vec::new())
            } else {
                Change::None
            };
            (Ok(address), change)
        })
        .await
        .map_err(|e| series_failed(e, "the calendar address"))??;
    Ok(Json(address))
}

/// `GET /api/series/{id}/calendar/{feed_key}.ics`: the member's calendar.
pub async fn calendar_feed(
    State(app): State<AppState>,
    Path((series_id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let feed_key = file.strip_suffix(".ics").unwrap_or(&file).to_string();
    let text = calendar_text(&app, &series_id, feed_key, None).await?;
    Ok(ics_response(text, "inline; filename=\"calendar.ics\""))
}

/// `GET /api/series/{id}/calendar/{feed_key}/{session}.ics`: one planned session as a
/// one-event calendar file, to add to a calendar once.
pub async fn calendar_event(
    State(app): State<AppState>,
    Path((series_id, feed_key, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let session = file.strip_suffix(".ics").unwrap_or(&file).to_string();
    let disposition = format!(
        "attachment; filename=\"session-{}.ics\"",
        session
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    );
    let text = calendar_text(&app, &series_id, feed_key, Some(session)).await?;
    Ok(ics_response(text, &disposition))
}

fn ics_response(text: String, disposition: &str) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The feed (or its one session `only`) of the member whose feed key is `feed_key`.
async fn calendar_text(
    app: &AppState,
    series_id: &str,
    feed_key: String,
    only: Option<String>,
) -> Result<String, ApiError> {
    let series = app
        .series(series_id)
        .await
        .map_err(|u| super::unserved(u, "series"))?;
    let base = app.settings().public_url.clone();
    series
        .read(move |s| feed_of(s, &feed_key, only.as_deref(), &base))
        .await
        .map_err(|e| series_failed(e, "the calendar"))?
}

/// The iCalendar text of a member's feed, from the record.
fn feed_of(
    s: &SeriesRecord,
    feed_key: &str,
    only: Option<&str>,
    base: &str,
) -> Result<String, ApiError> {
    let member = s
        .calendar
        .member_by_feed(feed_key)
        .filter(|id| s.members.iter().any(|m| m.id == *id))
        // A removed member's calendar stops with their link.
        .filter(|id| s.status(id) != crate::series::MemberStatus::Removed)
        .ok_or_else(no_such_feed)?
        .to_string();
    let (zone, zone_name) = calendar::zone(&s.calendar.time_zone)
        .unwrap_or((jiff::tz::TimeZone::UTC, "UTC".to_string()));
    let url = format!("{base}/s/{}", s.id);
    let name_of = |id: &str| {
        s.members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.name.clone())
            .unwrap_or_default()
    };
    let sessions = s.calendar.for_member(&member, &s.planned);
    if let Some(only) = only {
        if !sessions.iter().any(|p| p.id == only) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::RoomNotFound,
                "no planned session with that id in this calendar".into(),
            ));
        }
    }
    let events: Vec<ics::Event> = sessions
        .iter()
        .filter(|p| only.is_none_or(|o| p.id == o))
        .filter_map(|p| {
            let summary = if p.with.is_empty() {
                s.title.clone()
            } else {
                let names: Vec<String> = p
                    .with
                    .iter()
                    .map(|id| name_of(id))
                    .filter(|n| !n.is_empty())
                    .collect();
                format!("{}: {}", s.title, names.join(" & "))
            };
            s.calendar
                .event(p, calendar::uid(&s.id, &p.id), summary, url.clone())
        })
        .collect();
    Ok(ics::Calendar {
        name: &s.title,
        zone_name: &zone_name,
        zone: &zone,
        events: &events,
    }
    .write())
}
