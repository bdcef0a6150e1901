//! `POST /api/series/{id}/members`: the series host changes the member list of a running
//! series — adds members (each gets a personal link, shown once), removes, pauses and unpauses
//! them, and makes a recognised guest a member keeping their history — or reads it. Every change
//! is one job of the series' actor, durable before the answer.

use axum::extract::State;
use axum::Json;
use circlekeeper_protocol::{ErrorCode, MemberLink};
use serde::{Deserialize, Serialize};

use super::super::AppState;
use super::series::{hosted_series, not_series_host, series_failed};
use super::*;
use crate::live::Change;
use crate::secret;
use crate::series::{MemberStatus, NewMember, SeriesRecord};

/// What the host asks for.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembersAction {
    /// Read the member list and the recognised guests.
    List,
    /// Add members by `names`.
    Add,
    /// Remove `member`.
    Remove,
    /// Pause `member`.
    Pause,
    /// Unpause `member`.
    Unpause,
    /// Make `guest` a member (named `name`, or as they entered last).
    Convert,
}

impl MembersAction {
    /// The action as the request names it.
    fn name(self) -> &'static str {
        match self {
            MembersAction::List => "list",
            MembersAction::Add => "add",
            MembersAction::Remove => "remove",
            MembersAction::Pause => "pause",
            MembersAction::Unpause => "unpause",
            MembersAction::Convert => "convert",
        }
    }
}

/// The body of `POST /api/series/{id}/members`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersRequest {
    /// The series' host key.
    pub key: String,
    /// What to do.
    pub action: MembersAction,
    /// `add`: the new members' display names (1–200 in all with the others).
    #[serde(default)]
    pub names: Option<Vec<String>>,
    /// `remove`, `pause`, `unpause`: the member's id.
    #[serde(default)]
    pub member: Option<String>,
    /// `convert`: the guest's id.
    #[serde(default)]
    pub guest: Option<String>,
    /// `convert`: the new member's name (default: the name the guest entered with last).
    #[serde(default)]
    pub name: Option<String>,
}

/// One member as the host sees them.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RosterMember {
    /// Member id.
    pub member_id: String,
    /// Display name.
    pub name: String,
    /// `active`, `paused` or `removed`.
    pub status: MemberStatus,
}

/// One recognised guest as the host sees them.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RosterGuest {
    /// Guest id (`g1`, …).
    pub guest_id: String,
    /// The name they entered with last.
    pub name: String,
    /// The member they were made, or null.
    pub member_id: Option<String>,
}

/// The answer: the member list and guests after the change, and the links of members it
/// added (the only time their keys are shown).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct RosterView {
    /// Every member, in the order they were added, removed ones included.
    pub members: Vec<RosterMember>,
    /// Every guest the series recognises.
    pub guests: Vec<RosterGuest>,
    /// The personal links of the members this request added (empty otherwise).
    pub links: Vec<MemberLink>,
}

/// The roster of `series`, with `added`'s links.
fn roster_view(series: &SeriesRecord, added: Vec<NewMember>, base: &str) -> RosterView {
    RosterView {
        members: series
            .members
            .iter()
            .map(|m| RosterMember {
                member_id: m.id.clone(),
                name: m.name.clone(),
                status: series.status(&m.id),
            })
            .collect(),
        guests: series
            .roster
            .guests
            .iter()
            .map(|g| RosterGuest {
                guest_id: g.id.clone(),
                name: g.name.clone(),
                member_id: g.member.clone(),
            })
            .collect(),
        links: added
            .into_iter()
            .map(|n| MemberLink {
                url: format!("{base}/s/{}#member={}", series.id, n.key),
                member_id: n.id,
                name: n.name,
                key: n.key,
            })
            .collect(),
    }
}

/// The field an action needs.
fn needed<T>(value: Option<T>, field: &str, action: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        ApiError::bad(
            ErrorCode::InvalidMessage,
            format!("{field}: required for {action:?}"),
        )
    })
}

/// `POST /api/series/{id}/members` with the series' host key: see the module docs.
pub async fn series_members(
    State(app): State<AppState>,
    axum::extract::Path(series_id): axum::extract::Path<String>,
    Body(body): Body,
) -> Result<Json<RosterView>, ApiError> {
    let request: MembersRequest = parse_body(&body)?;
    let series = hosted_series(&app, &series_id, &request.key, "the member list").await?;
    let internal = || {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "the server could not make a personal key".into(),
        )
    };
    // Keys are made here, before the job: the actor does not wait on the system's randomness.
    let wanted = match request.action {
        MembersAction::Add => {
            let names = needed(request.names.as_ref(), "names", "add")?;
            names.len().min(crate::series::MAX_MEMBERS)
        }
        MembersAction::Convert => 1,
        _ => 0,
    };
    let mut keys = Vec::with_capacity(wanted);
    for _ in 0..wanted {
        keys.push(secret::new_secret().map_err(|_| internal())?);
    }
    let base = app.settings().public_url.clone();
    let key = request.key.clone();
    series
        .update(move |s| {
            if !secret::matches(&key, &s.host_key_hash) {
                return (Err(not_series_host()), Change::None);
            }
            let before = s.clone();
            match apply(s, request, keys) {
                Ok(added) => {
                    let view = roster_view(s, added, &base);
                    let change = if *s == before {
                        Change::None
                    } else {
                        Change::Save(Vec::new())
                    };
                    (Ok(view), change)
                }
                Err(e) => {
                    *s = before;
                    (Err(e), Change::None)
                }
            }
        })
        .await
        .map_err(|e| series_failed(e, "the member list"))?
        .map(Json)
}

/// Apply one request to the record (which the caller restores if it is refused).
fn apply(
    s: &mut SeriesRecord,
    request: MembersRequest,
    keys: Vec<String>,
) -> Result<Vec<NewMember>, ApiError> {
    let action = request.action.name();
    let member = || needed(request.member.clone(), "member", action);
    match request.action {
        MembersAction::List => Ok(Vec::new()),
        MembersAction::Add => {
            let names = needed(request.names, "names", "add")?;
            Ok(s.add_members(&names, keys)?)
        }
        MembersAction::Remove => {
            s.remove_member(&member()?)?;
            Ok(Vec::new())
        }
        MembersAction::Pause | MembersAction::Unpause => {
            s.pause_member(&member()?, request.action == MembersAction::Pause)?;
            Ok(Vec::new())
        }
        MembersAction::Convert => {
            let guest = needed(request.guest, "guest", "convert")?;
            let Some(key) = keys.into_iter().next() else {
                return Err(ApiError::bad(
                    ErrorCode::Internal,
                    "no personal key was made",
                ));
            };
            Ok(vec![s.convert_guest(
                &guest,
                request.name.as_deref(),
                key,
            )?])
        }
    }
}
