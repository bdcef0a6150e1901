//! `GET /api/texts/{lang}`: the server's built-in texts in a language, as a map from the
//! English text to its translation, for the web client to show a room's texts in its reader's
//! language.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use circlekeeper_protocol::ErrorCode;
use serde_json::json;

use super::ApiError;
use crate::texts::Lang;

/// `GET /api/texts/{lang}`: `{"lang": "es", "texts": {"<English>": "<translation>", …}}` for a
/// shipped language (`en` has an empty map: its texts are the English themselves); 404
/// `unknown_language` for any other. The map is fixed for a binary, but it is answered with
/// `Cache-Control: no-cache`, like the web client's files, so a client never pairs the texts of
/// one release with the page of another after an upgrade (it is small, and revalidating is
/// cheap).
pub async fn texts(Path(lang): Path<String>) -> Result<Response, ApiError> {
    let Some(lang) = Lang::parse(&lang) else {
        let known: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownLanguage,
            format!("no texts in that language; there are: {}", known.join(", ")),
        ));
    };
    let texts: serde_json::Map<String, serde_json::Value> = lang
        .pairs()
        .map(|(english, translated)| (english.to_owned(), json!(translated)))
        .collect();
    let mut response = Json(json!({ "lang": lang, "texts": texts })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
