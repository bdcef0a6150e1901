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

/// The policy the client is served with: [`CONTENT_SECURITY_POLICY`], whose styles also allow
/// the stylesheet of an HTML summary or report (by its hash), so the host page can open one in
/// a new tab (a page made from a `blob:` URL keeps the policy of the page that made it).
fn policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        let style = format!("style-src 'self' {};", crate::export::html::style_source());
        CONTENT_SECURITY_POLICY.replacen("style-src 'self';", &style, 1)
    })
}

fn serve(name: &str) -> Response {
    let Some((_, content_type, body)) = WEB_FILES.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(policy) = HeaderValue::from_str(policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
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
