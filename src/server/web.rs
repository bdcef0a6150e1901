//! The web client: plain HTML, CSS and ES modules from `web/`, embedded in the binary so the
//! server is one file to deploy, served with a strict Content-Security-Policy.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

/// Scripts, styles and connections from this server only; no frames, no plugins, no
/// third-party anything.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; media-src 'self' data:; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn serve(name: &str) -> Response {
    let Some((_, content_type, body)) = WEB_FILES.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /` and `GET /r/{room}`: the client's page (the room and key are in the fragment).
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /r/{room}`: the same page; the client reads the room from the path.
pub async fn room_page(Path(_room): Path<String>) -> Response {
    serve("index.html")
}

/// `GET /{file}`: a file of the client.
pub async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

/// `GET /{folder}/{file}`: a file of one of the client's folders (its modules, styles and
/// message catalogs).
pub async fn file_in(Path((folder, name)): Path<(String, String)>) -> Response {
    serve(&format!("{folder}/{name}"))
}
