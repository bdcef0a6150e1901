//! The web client: plain HTML, CSS and ES modules from `web/`, embedded in the binary so the
//! server is one file to deploy, served with a strict Content-Security-Policy.
//!
//! Caching: every file is served with `Cache-Control: no-cache` and a strong content-hash
//! `ETag` (the first 128 bits of its SHA-256), so browsers revalidate on each load and a
//! reload of an unchanged client costs a `304 Not Modified` per file, with no body. Names are
//! not hashed: a new build's files take effect at the next load, whatever a browser kept.
//!
//! Compression: a file is gzipped (best compression) once, at its first request, and kept;
//! clients whose `Accept-Encoding` takes gzip get those bytes, with their own ETag (`"…-gz"`,
//! a different representation) and `Vary: Accept-Encoding`. Files gzip does not shrink are
//! served as they are.

use std::io::Write as _;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

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

/// A file's ETags and gzipped bytes, made at its first request.
#[derive(Debug)]
struct Encoded {
    /// The ETag of the file as it is (quoted, strong).
    etag: String,
    /// The ETag of its gzipped bytes.
    gzip_etag: String,
    /// The gzipped bytes, when they are smaller than the file.
    gzip: Option<Vec<u8>>,
}

impl Encoded {
    fn of(body: &str) -> Encoded {
        let digest = Sha256::digest(body.as_bytes());
        let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Encoded {
            etag: format!("\"{hash}\""),
            gzip_etag: format!("\"{hash}-gz\""),
            gzip: gzip(body.as_bytes()).filter(|z| z.len() < body.len()),
        }
    }
}

/// `bytes` gzipped at the best compression (the header carries no time, so the bytes and
/// their ETag are the same in every process), or `None` if compression failed.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::best(),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// The [`Encoded`] form of `WEB_FILES[index]`, made once.
fn encoded(index: usize, body: &str) -> Option<&'static Encoded> {
    static ENCODED: [OnceLock<Encoded>; WEB_FILES.len()] =
        [const { OnceLock::new() }; WEB_FILES.len()];
    Some(ENCODED.get(index)?.get_or_init(|| Encoded::of(body)))
}

/// Whether an `Accept-Encoding` value takes gzip: `gzip` (or `x-gzip`) with a non-zero
/// quality, or `*` with one when gzip is not named.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .or_else(|| p.strip_prefix("Q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            match coding.as_str() {
                "gzip" | "x-gzip" => return !refused,
                "*" => star = !refused,
                _ => {}
            }
        }
    }
    star
}

/// Whether an `If-None-Match` header names one of `etags` (weak comparison, as RFC 9110 asks
/// for this header), or is `*`.
fn not_modified(headers: &HeaderMap, etags: [&str; 2]) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || etags.contains(&tag.strip_prefix("W/").unwrap_or(tag)))
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let found = WEB_FILES
        .iter()
        .enumerate()
        .find(|(_, (n, _, _))| *n == name);
    let Some((index, &(_, content_type, body))) = found else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let encoded = encoded(index, body);
    let gzipped = encoded
        .and_then(|e| e.gzip.as_deref())
        .filter(|_| accepts_gzip(request));
    let etag = encoded.map(|e| match gzipped {
        Some(_) => e.gzip_etag.as_str(),
        None => e.etag.as_str(),
    });
    let unchanged = encoded.is_some_and(|e| not_modified(request, [&e.etag, &e.gzip_etag]));
    let mut response = match gzipped {
        _ if unchanged => StatusCode::NOT_MODIFIED.into_response(),
        Some(z) => {
            let mut r = Body::from(z).into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => body.into_response(),
    };
    let headers = response.headers_mut();
    if let Some(etag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if unchanged {
        // The browser keeps the other headers of the copy it revalidated (RFC 9111, 4.3.4).
        return response;
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(policy) = HeaderValue::from_str(policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /` and `GET /r/{room}`: the client's page (the room and key are in the fragment).
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /r/{room}`: the same page; the client reads the room from the path.
pub async fn room_page(Path(_room): Path<String>, headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /{file}`: a file of the client.
pub async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

/// `GET /{folder}/{file}`: a file of one of the client's folders (its modules, styles and
/// message catalogs).
pub async fn file_in(Path((folder, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    serve(&format!("{folder}/{name}"), &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn gzip_is_taken_only_when_accepted() {
        let accept = |v| accepts_gzip(&with(header::ACCEPT_ENCODING, v));
        assert!(accept("gzip, deflate, br, zstd"));
        assert!(accept("br;q=1.0, gzip;q=0.8"));
        assert!(accept("*"));
        assert!(accept("X-GZIP"));
        assert!(!accept("br"));
        assert!(!accept("gzip;q=0"));
        assert!(!accept("gzip;q=0.0, *"));
        assert!(!accept("*;q=0"));
        assert!(!accept("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let tags = ["\"ab\"", "\"ab-gz\""];
        let matches = |v| not_modified(&with(header::IF_NONE_MATCH, v), tags);
        assert!(matches("\"ab\""));
        assert!(matches("W/\"ab-gz\""));
        assert!(matches("\"x\", \"ab\""));
        assert!(matches("*"));
        assert!(!matches("\"abc\""));
        assert!(!matches("ab"));
        assert!(!not_modified(&HeaderMap::new(), tags));
    }

    #[test]
    fn every_file_has_a_stable_etag_and_a_gzip_that_decodes_to_it() {
        use std::io::Read as _;
        for (i, (name, _, body)) in WEB_FILES.iter().enumerate() {
            let e = encoded(i, body).expect("an index of WEB_FILES");
            assert_eq!(e.etag, Encoded::of(body).etag, "{name}");
            assert_eq!(e.etag.len(), 34, "{name}: {}", e.etag);
            if let Some(z) = &e.gzip {
                let mut out = String::new();
                flate2::read::GzDecoder::new(z.as_slice())
                    .read_to_string(&mut out)
                    .expect("gzip decodes");
                assert_eq!(out, *body, "{name}");
            }
        }
        let app = WEB_FILES
            .iter()
            .position(|(n, _, _)| *n == "app.js")
            .expect("app.js");
        let e = encoded(app, WEB_FILES[app].2).expect("app.js");
        assert!(e.gzip.is_some(), "a script shrinks");
    }
}
