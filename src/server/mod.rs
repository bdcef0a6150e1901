//! The HTTP face of the server: the axum router, the JSON API that opens rooms, the static web
//! client, and the `/ws` endpoint whose connection task lives in [`ws`].

pub mod api;
pub mod ws;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use dashmap::DashMap;

use crate::clock::Clock;
use crate::room::RoomHandle;
use crate::store::Store;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// Live rooms by id. Holds handles only, never room state.
    rooms: DashMap<String, RoomHandle>,
    store: Arc<dyn Store>,
    clock: Clock,
    /// Base of the links the server hands out, without a trailing slash.
    public_url: String,
    /// Source of connection ids.
    next_conn: AtomicU64,
}

impl AppState {
    /// Shared state over a store and a clock; links start with `public_url`.
    pub fn new(store: Arc<dyn Store>, clock: Clock, public_url: &str) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                rooms: DashMap::new(),
                store,
                clock,
                public_url: public_url.trim_end_matches('/').to_string(),
                next_conn: AtomicU64::new(1),
            }),
        }
    }

    /// The clock the server runs on.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// A live room's handle (a clone: no map guard escapes).
    pub fn room(&self, id: &str) -> Option<RoomHandle> {
        self.inner.rooms.get(id).map(|r| r.value().clone())
    }

    /// How many rooms are live.
    pub fn room_count(&self) -> usize {
        self.inner.rooms.len()
    }
}

/// The router shared by `main` and the tests.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/r/{room}", get(index))
        .route("/healthz", get(api::healthz))
        .route("/api/formats", get(api::formats))
        .route("/api/prompts", get(api::prompts))
        .route("/api/rooms", post(api::create_room))
        .route("/ws", get(ws::upgrade))
        .layer(axum::middleware::map_response(no_referrer))
        .with_state(state)
}

/// Keep capability links out of `Referer` headers, everywhere.
async fn no_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The web client's page, embedded in the binary.
async fn index() -> impl IntoResponse {
    Html(include_str!("../../web/index.html"))
}
