//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the HTTP API. The document is
//! generated from the route table and the request and response types by `tests/openapi.rs`,
//! checked in as `protocol/openapi.json` (that test fails when it is stale), and built into
//! the binary as it is.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The checked-in document, as built into the binary.
pub const OPENAPI_JSON: &str = include_str!("../../../protocol/openapi.json");

/// `GET /api/openapi.json`: the document, as `application/json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}
