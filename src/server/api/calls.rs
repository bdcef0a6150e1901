//! A series' default call links over HTTP (`POST /api/series/{id}/calls`): the series host
//! replaces them; each room opened for the series afterwards starts with a copy. A room's own
//! links change with the `set_call_links` command, not here.

use axum::extract::State;
use axum::Json;
use circlekeeper_protocol::{CallLinks, SetSeriesCalls};

use super::super::AppState;
use super::series::{hosted_series, not_series_host, series_failed};
use super::*;
use crate::live::Change;
use crate::room::state::check_call_links;
use crate::secret;

/// `POST /api/series/{id}/calls` with the series' host key: replace the series' default call
/// links (a field left out is cleared). Answers 200 with the links as kept. Rooms already
/// opened keep theirs.
pub async fn set_series_calls(
    State(app): State<AppState>,
    axum::extract::Path(series_id): axum::extract::Path<String>,
    Body(body): Body,
) -> Result<Json<CallLinks>, ApiError> {
    let request: SetSeriesCalls = parse_body(&body)?;
    // The key is checked before the links (a stranger learns nothing from the answer).
    let series = hosted_series(&app, &series_id, &request.key, "the call links").await?;
    let links =
        check_call_links("", &request.links()).map_err(|r| ApiError::bad(r.code, r.message))?;
    let key = request.key;
    let kept = series
        .update(move |series| {
            // Checked again against the record as it is now: the key may have changed since.
            if !secret::matches(&key, &series.host_key_hash) {
                return (Err(not_series_host()), Change::None);
            }
            series.calls = links.clone();
            (Ok(links), Change::Save(Vec::new()))
        })
        .await
        .map_err(|e| series_failed(e, "the call links"))??;
    Ok(Json(kept))
}
