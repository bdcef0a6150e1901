//! A series' outgoing webhooks over HTTP, and the worker that turns what the store saw into
//! deliveries.
//!
//! `POST /api/series/{id}/webhooks` with the series' host key and an `action`:
//! - `list`: the webhooks (never their secrets) and the delivery log;
//! - `add` with `url` and `format` (`json`, `slack`, `mattermost`): a new webhook; the answer
//!   carries its signing `secret`, shown this once;
//! - `remove` with `hook`: the webhook is gone (deliveries already queued still run);
//! - `test` with `hook`: a test delivery, queued at once (its outcome shows in the log).
//!
//! `POST /api/series/{id}/webhooks/{hook}/test` with `{"key"}` is the same test delivery.
//! Every answer carries the webhooks and the log, newest delivery first.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use circlekeeper_protocol::ErrorCode;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::super::{AppState, WeakState};
use super::series::{hosted_series, not_series_host, series_failed};
use super::*;
use crate::live::Change;
use crate::secret;
use crate::webhooks::payload::{Notice, SeriesFacts};
use crate::webhooks::{
    check_url, Delivery, LogEntry, PayloadFormat, SessionFacts, SessionKind, Sighting, Webhook,
    MAX_HOOKS,
};

/// What the host asks for.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhooksAction {
    /// Read the webhooks and the delivery log.
    List,
    /// Add a webhook (`url`, `format`).
    Add,
    /// Remove `hook`.
    Remove,
    /// Send `hook` a test delivery.
    Test,
}

/// The body of `POST /api/series/{id}/webhooks`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksRequest {
    /// The series' host key.
    pub key: String,
    /// What to do.
    pub action: WebhooksAction,
    /// `add`: where to post.
    #[serde(default)]
    pub url: Option<String>,
    /// `add`: what to post (default `json`).
    #[serde(default)]
    pub format: Option<PayloadFormat>,
    /// `remove`, `test`: the webhook's id.
    #[serde(default)]
    pub hook: Option<String>,
}

/// The body of `POST /api/series/{id}/webhooks/{hook}/test`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyOnly {
    /// The series' host key.
    pub key: String,
}

/// A webhook as the host sees it: everything but its secret.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct HookView {
    /// Its id.
    pub id: String,
    /// Where it posts.
    pub url: String,
    /// What it posts.
    pub format: PayloadFormat,
    /// When it was added.
    pub created_at: circlekeeper_protocol::Millis,
}

/// The answer: whether the server sends webhooks, the series' webhooks, its delivery log and,
/// after `add`, the new webhook's secret (shown once); after `test`, the delivery's id.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Serialize)]
pub struct WebhooksView {
    /// Whether this server sends webhooks (`--webhooks`).
    pub enabled: bool,
    /// The hosts webhooks may go to (`--webhook-allow`); empty: any.
    pub allowed_hosts: Vec<String>,
    /// The series' webhooks.
    pub webhooks: Vec<HookView>,
    /// The last deliveries, newest first (kept in memory by the server that sent them).
    pub log: Vec<LogEntry>,
    /// `add`: the new webhook's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    /// `add`: its signing secret, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `test`: the test delivery's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
}

/// What a change leaves to do after the record is durable.
enum Done {
    Nothing,
    Added { hook: String, secret: String },
    Test(Box<Delivery>),
}

/// `POST /api/series/{id}/webhooks`.
pub async fn series_webhooks(
    State(app): State<AppState>,
    Path(series_id): Path<String>,
    Body(body): Body,
) -> Result<Json<WebhooksView>, ApiError> {
    let request: WebhooksRequest = parse_body(&body)?;
    act(&app, &series_id, request).await
}

/// `POST /api/series/{id}/webhooks/{hook}/test`: a test delivery to `hook`.
pub async fn test_webhook(
    State(app): State<AppState>,
    Path((series_id, hook)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<WebhooksView>, ApiError> {
    let request: KeyOnly = parse_body(&body)?;
    let request = WebhooksRequest {
        key: request.key,
        action: WebhooksAction::Test,
        url: None,
        format: None,
        hook: Some(hook),
    };
    act(&app, &series_id, request).await
}

async fn act(
    app: &AppState,
    series_id: &str,
    request: WebhooksRequest,
) -> Result<Json<WebhooksView>, ApiError> {
    // The key is checked before anything else (a stranger learns nothing from the answer).
    let series = hosted_series(app, series_id, &request.key, "the webhooks").await?;
    let policy = app.webhooks().policy().clone();
    let off = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this server sends no webhooks: its operator turned them off".into(),
        )
    };
    let now = app.clock().now();
    let public_url = app.settings().public_url.clone();
    let action = request.action;
    // Checked before the series' job: a refused request changes nothing.
    let new_hook = match action {
        WebhooksAction::Add => {
            if !policy.enabled {
                return Err(off());
            }
            let url = request
                .url
                .clone()
                .ok_or_else(|| ApiError::bad(ErrorCode::InvalidMessage, "url: missing"))?;
            check_url(&url, &policy)
                .map_err(|bad| ApiError::bad(ErrorCode::InvalidUrl, format!("url: {bad}")))?;
            let secret = secret::new_secret().map_err(|_| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "the server could not make a secret".into(),
                )
            })?;
            Some((url, request.format.unwrap_or_default(), secret))
        }
        WebhooksAction::Test if !policy.enabled => return Err(off()),
        WebhooksAction::Remove | WebhooksAction::Test if request.hook.is_none() => {
            return Err(ApiError::bad(ErrorCode::InvalidMessage, "hook: missing"));
        }
        _ => None,
    };
    let key = request.key;
    let hook = request.hook;
    let id = series_id.to_string();
    let (hooks, done) = series
        .update(move |s| {
            if !secret::matches(&key, &s.host_key_hash) {
                return (Err(not_series_host()), Change::None);
            }
            let no_hook = || not_found("no webhook with that id in this series");
            let (done, change) = match action {
                WebhooksAction::List => (Done::Nothing, Change::None),
                WebhooksAction::Add => {
                    if s.webhooks.len() >= MAX_HOOKS {
                        let e = ApiError::new(
                            StatusCode::CONFLICT,
                            ErrorCode::TooManyItems,
                            format!("a series has at most {MAX_HOOKS} webhooks"),
                        );
                        return (Err(e), Change::None);
                    }
                    let Some((url, format, secret)) = new_hook else {
                        return (Ok((Vec::new(), Done::Nothing)), Change::None);
                    };
                    let n = (1..)
                        .find(|n| !s.webhooks.iter().any(|h| h.id == format!("h{n}")))
                        .unwrap_or(1);
                    let hook = format!("h{n}");
                    s.webhooks.push(Webhook {
                        id: hook.clone(),
                        url,
                        format,
                        secret: secret.clone(),
                        created_at: now,
                    });
                    (Done::Added { hook, secret }, Change::Save(Vec::new()))
                }
                WebhooksAction::Remove => {
                    let before = s.webhooks.len();
                    s.webhooks.retain(|h| Some(&h.id) != hook.as_ref());
                    if s.webhooks.len() == before {
                        return (Err(no_hook()), Change::None);
                    }
                    (Done::Nothing, Change::Save(Vec::new()))
                }
                WebhooksAction::Test => {
                    let Some(h) = s.webhooks.iter().find(|h| Some(&h.id) == hook.as_ref()) else {
                        return (Err(no_hook()), Change::None);
                    };
                    let delivery = Delivery {
                        series: id.clone(),
                        hook: h.clone(),
                        notice: Notice {
                            kind: SessionKind::Test,
                            at: now,
                            series: series_facts(s, &public_url),
                            session: None,
                        },
                    };
                    (Done::Test(Box::new(delivery)), Change::None)
                }
            };
            let hooks = s.webhooks.iter().map(view).collect();
            (Ok((hooks, done)), change)
        })
        .await
        .map_err(|e| series_failed(e, "the webhooks"))??;
    let sender = app.webhooks();
    let mut answer = WebhooksView {
        enabled: policy.enabled,
        allowed_hosts: policy.allow.clone(),
        webhooks: hooks,
        log: Vec::new(),
        hook: None,
        secret: None,
        delivery: None,
    };
    match done {
        Done::Nothing => {}
        Done::Added { hook, secret } => {
            answer.hook = Some(hook);
            answer.secret = Some(secret);
        }
        Done::Test(delivery) => answer.delivery = Some(sender.send(*delivery)),
    }
    answer.log = sender.log(series_id);
    Ok(Json(answer))
}

fn view(h: &Webhook) -> HookView {
    HookView {
        id: h.id.clone(),
        url: h.url.clone(),
        format: h.format,
        created_at: h.created_at,
    }
}

fn series_facts(s: &crate::series::SeriesRecord, public_url: &str) -> SeriesFacts {
    SeriesFacts {
        id: s.id.clone(),
        title: s.title.clone(),
        url: format!("{public_url}/s/{}", s.id),
    }
}

/// The webhooks' worker: each session the store saw opened, started or ended becomes one
/// delivery per webhook of its series. Ends with the server (its queue's sender is the store).
pub async fn webhooks_worker(state: WeakState, mut sightings: mpsc::Receiver<Sighting>) {
    while let Some(sighting) = sightings.recv().await {
        let Some(app) = state.upgrade() else {
            return;
        };
        for delivery in resolve(&app, sighting).await {
            app.webhooks().send(delivery);
        }
    }
}

/// The deliveries one sighting makes: none for a room outside a series or a series without
/// webhooks; otherwise one per webhook, with the session's counts (read from the store, as the
/// reports read them, with names pseudonymised and only counts kept).
async fn resolve(app: &AppState, s: Sighting) -> Vec<Delivery> {
    let room = s.room.clone();
    let series_id = match s.series.clone() {
        Some(id) => id,
        None => {
            let reader = app.clone();
            let r = room.clone();
            match tokio::task::spawn_blocking(move || reader.stored_room_series(&r)).await {
                Ok(Ok(Some(id))) => id,
                Ok(Ok(None)) => return Vec::new(),
                Ok(Err(e)) => {
                    warn!(error = %e, room_id = %room, "a webhook's session could not be read");
                    return Vec::new();
                }
                Err(_) => return Vec::new(),
            }
        }
    };
    // The record as stored (durable before any change to it was answered): reading it claims
    // no lease, so with several nodes the series stays where it runs.
    let reader = app.clone();
    let id = series_id.clone();
    let record = match tokio::task::spawn_blocking(move || reader.stored_series(&id)).await {
        Ok(Ok(Some(record))) => record,
        Ok(Ok(None)) | Err(_) => return Vec::new(),
        Ok(Err(e)) => {
            warn!(error = %e, series_id = %series_id, "a webhook's series could not be read");
            return Vec::new();
        }
    };
    if record.webhooks.is_empty() {
        return Vec::new();
    }
    let number = record.session_of(&room).map_or(0, |i| i + 1);
    let opened_at = record
        .sessions
        .iter()
        .find(|x| x.room_id == room)
        .map(|x| x.opened_at);
    let series_facts = series_facts(&record, &app.settings().public_url);
    let hooks = record.webhooks;
    let mut facts = SessionFacts {
        room_id: room.clone(),
        number,
        opened_at,
        ..SessionFacts::default()
    };
    if s.kind != SessionKind::SessionOpened {
        let reader = app.clone();
        let r = room.clone();
        let summary = tokio::task::spawn_blocking(move || {
            reader.stored_summary(&r, crate::export::Names::Pseudonymised)
        })
        .await;
        match summary {
            Ok(Ok(sum)) => {
                facts.started_at = sum.started_at;
                facts.ended_at = sum.ended_at;
                facts.duration_ms = sum.duration_ms;
                facts.participants = sum.participants;
                facts.members = sum.members;
                facts.guests = sum.guests;
                facts.groups = u32::try_from(sum.pairings.len()).unwrap_or(u32::MAX);
            }
            Ok(Err(e)) => debug!(error = %e, room_id = %room, "no counts for a webhook"),
            Err(_) => {}
        }
        if s.kind == SessionKind::SessionEnded && facts.ended_at.is_none() {
            facts.ended_at = Some(s.at);
        }
    }
    hooks
        .into_iter()
        .map(|hook| Delivery {
            series: series_id.clone(),
            hook,
            notice: Notice {
                kind: s.kind,
                at: s.at,
                series: series_facts.clone(),
                session: Some(facts.clone()),
            },
        })
        .collect()
}
