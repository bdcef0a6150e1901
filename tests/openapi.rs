//! The HTTP API described: `protocol/openapi.json`, an OpenAPI 3.1 document generated here from
//! the route table below and the request and response types themselves (schemars, through the
//! protocol's and this crate's `schema` features), served by the server at
//! `GET /api/openapi.json`.
//!
//! - The check fails when the checked-in file differs from what the types and the table make;
//!   `UPDATE_OPENAPI=1 cargo test --test openapi` rewrites it.
//! - The table must name exactly the routes `server::app` registers (read from
//!   `src/server/mod.rs`), so a new route cannot go undescribed.
//! - Where a handler builds its answer with `json!` (health, lists), the table states that
//!   shape by hand; everything read from a body or answered as a type (summaries and reports
//!   included) is generated.

#[path = "common/checked_in.rs"]
mod checked_in;

mod common;

use std::collections::BTreeSet;

use circlekeeper::export::series::SeriesReport;
use circlekeeper::export::RoomSummary;
use circlekeeper::server::api::{
    DeleteSeriesRequest, ExportRequest, KeyOnly, MembersRequest, RangeRequest, RosterView,
    WebhooksRequest, WebhooksView,
};
use circlekeeper_protocol::{
    CalendarSettings, CalendarSettingsRequest, CallLinks, CreateRoom, CreateSeries,
    CreateSeriesRoom, FeedAddress, FeedRequest, Format, HttpError, MemberRequest, MemberView,
    PreviewRequest, RoomCreated, RoomPreview, SeriesCreated, SetSeriesCalls, PROTOCOL_VERSION,
};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

/// Set to rewrite `protocol/openapi.json` instead of comparing with it.
const UPDATE_VAR: &str = "UPDATE_OPENAPI";

// ----- the route table ----------------------------------------------------------------------

/// Who may call a route, and where the caller's key goes (as each handler reads it).
#[derive(Clone, Copy)]
enum Auth {
    /// Anyone.
    Open,
    /// A key in the JSON body's `key` field: who holds it.
    BodyKey(&'static str),
    /// A key in the path (a calendar feed key).
    PathKey(&'static str),
    /// An `Authorization: Bearer` token in a header: who holds it.
    Bearer(&'static str),
    /// A websocket: the page's `Origin` must be allowed; the client then authenticates in its
    /// first frame (see the protocol).
    Origin,
}

/// One answer a route can give.
#[derive(Clone)]
struct Answer {
    status: u16,
    description: String,
    /// Media type and schema; `None`: no body described.
    body: Option<(&'static str, Value)>,
    /// Whether it carries `Retry-After`.
    retry_after: bool,
    /// For a refusal: the error codes it may carry (refusals of one status are merged).
    codes: Vec<&'static str>,
}

/// One route: method, path (axum's `{param}` syntax, which is OpenAPI's), what it is for, who
/// may call it, its query parameters, its body and its answers.
struct Route {
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    /// (name, description, required, schema).
    query: Vec<(&'static str, &'static str, bool, Value)>,
    body: Option<Value>,
    answers: Vec<Answer>,
}

fn ok(status: u16, description: &str, media: &'static str, schema: Value) -> Answer {
    Answer {
        status,
        description: description.to_owned(),
        body: Some((media, schema)),
        retry_after: false,
        codes: vec![],
    }
}

/// An error answer: `{code, message}` with one of `codes`.
fn error(status: u16, codes: &[&'static str], retry_after: bool) -> Answer {
    Answer {
        status,
        description: String::new(),
        body: Some((
            "application/json",
            json!({ "$ref": "#/components/schemas/HttpError" }),
        )),
        retry_after,
        codes: codes.to_vec(),
    }
}

/// What a JSON body can be refused with before the handler looks at it.
fn body_errors() -> Vec<Answer> {
    vec![error(413, &["invalid_message"], false)]
}

/// A room or series id the server does not serve now (`unserved`).
fn unserved_errors() -> Vec<Answer> {
    vec![
        error(404, &["room_not_found"], false),
        error(503, &["room_unavailable", "unavailable"], true),
    ]
}

/// The lockout on routes that check an id or key (`guard::entries`).
fn entry_errors() -> Vec<Answer> {
    vec![error(429, &["too_many_attempts"], true)]
}

/// The room quota on routes that open rooms (`guard::room_quota`).
fn quota_errors() -> Vec<Answer> {
    vec![
        error(429, &["too_many_rooms"], true),
        error(503, &["server_full", "unavailable"], true),
    ]
}

/// A summary or report in the format asked for (`rendered` in `src/server/api/exports.rs`):
/// as JSON, `schema` (the document serialized).
fn rendered(what: &str, schema: Value) -> Answer {
    Answer {
        status: 200,
        description: format!(
            "{what}, in the `format` asked for: `json` (default) as application/json, \
             `markdown` as text/markdown, `csv` (the `table` asked for) as text/csv, or `html` \
             as text/html (a self-contained page with a Content-Security-Policy that runs no \
             script)."
        ),
        body: Some(("application/json", schema)),
        retry_after: false,
        codes: vec![],
    }
}

fn text(description: &str, media: &'static str) -> Answer {
    ok(200, description, media, json!({ "type": "string" }))
}

/// Every route of `server::app`, with its types from the generators: `reads` for what clients
/// send (the deserialize contract), `writes` for what the server answers (serialize).
fn routes(reads: &mut SchemaGenerator, writes: &mut SchemaGenerator) -> Vec<Route> {
    /// The schema of `T` (a `$ref` to it in the components).
    fn of<T: JsonSchema>(g: &mut SchemaGenerator) -> Value {
        g.subschema_for::<T>().to_value()
    }
    let page = |path: &'static str, summary: &'static str| Route {
        method: "get",
        path,
        tag: "web client",
        summary,
        auth: Auth::Open,
        query: vec![],
        body: None,
        answers: vec![text("The page.", "text/html")],
    };
    let room_key = "the room's join key or host key (from the link's `#join=` or `#host=`)";
    let host_link = "the room's host key (from the host link's `#host=`)";
    let community = "the community host's key (`--host-key`)";
    let series_host = "the series' host key";
    let member = "a member's key (from the personal link's `#member=`)";
    let formats = json!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["id", "format"],
            "properties": {
                "id": { "type": "string" },
                "format": of::<Format>(writes),
            },
        },
    });

    let mut all = vec![
        page("/", "The web client's start page."),
        page("/host", "The community host's page (the web client)."),
        page("/r/{room}", "A room's page: the web client, which reads the key from the link's fragment."),
        page("/s/{series}", "A series member's page: the web client."),
        Route {
            method: "get",
            path: "/{file}",
            tag: "web client",
            summary: "A file of the web client (scripts, styles, images).",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![
                text("The file, with its content type.", "application/octet-stream"),
                Answer { status: 404, description: "No such file (plain text).".into(), body: None, retry_after: false, codes: vec![] },
            ],
        },
        Route {
            method: "get",
            path: "/{folder}/{file}",
            tag: "web client",
            summary: "A file in a folder of the web client (views, message catalogs).",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![
                text("The file, with its content type.", "application/octet-stream"),
                Answer { status: 404, description: "No such file (plain text).".into(), body: None, retry_after: false, codes: vec![] },
            ],
        },
        Route {
            method: "get",
            path: "/healthz",
            tag: "operations",
            summary: "Liveness: the process is up.",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![ok(200, "Up, with the number of rooms held.", "application/json", json!({
                "type": "object",
                "required": ["status", "rooms"],
                "properties": {
                    "status": { "const": "ok" },
                    "rooms": { "type": "integer", "minimum": 0 },
                },
            }))],
        },
        Route {
            method: "get",
            path: "/readyz",
            tag: "operations",
            summary: "Readiness: rooms restored and the store answers.",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![
                ok(200, "Ready.", "application/json", json!({
                    "type": "object", "required": ["status"],
                    "properties": { "status": { "const": "ready" } },
                })),
                ok(503, "Not ready, with the reason.", "application/json", json!({
                    "type": "object", "required": ["status"],
                    "properties": { "status": { "enum": ["shutting_down", "store_unavailable"] } },
                })),
            ],
        },
        Route {
            method: "get",
            path: "/metrics",
            tag: "operations",
            summary: "Counters, gauges and histograms in the Prometheus text format.",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![text("Prometheus text exposition format 0.0.4.", "text/plain")],
        },
        Route {
            method: "get",
            path: "/api/openapi.json",
            tag: "operations",
            summary: "This document.",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![ok(200, "The OpenAPI 3.1 document of this API.", "application/json", json!({ "type": "object" }))],
        },
        Route {
            method: "get",
            path: "/api/formats",
            tag: "rooms",
            summary: "The built-in formats, by id.",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![ok(200, "Every built-in format.", "application/json", formats)],
        },
        Route {
            method: "get",
            path: "/api/prompts",
            tag: "rooms",
            summary: "The prompt bank, with the stage kinds each prompt suits.",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![ok(200, "Every prompt.", "application/json", json!({
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "text", "source", "stages"],
                    "properties": {
                        "id": { "type": "string" },
                        "text": { "type": "string" },
                        "source": { "type": "string" },
                        "stages": { "type": "array", "items": { "type": "string" } },
                    },
                },
            }))],
        },
        Route {
            method: "get",
            path: "/api/texts/{lang}",
            tag: "rooms",
            summary: "The server's built-in texts in a language, keyed by their English text.",
            auth: Auth::Open,
            query: vec![],
            body: None,
            answers: vec![
                ok(200, "The texts (`en`: an empty map).", "application/json", json!({
                    "type": "object",
                    "required": ["lang", "texts"],
                    "properties": {
                        "lang": { "type": "string" },
                        "texts": { "type": "object", "additionalProperties": { "type": "string" } },
                    },
                })),
                error(404, &["unknown_language"], false),
            ],
        },
        Route {
            method: "post",
            path: "/api/rooms",
            tag: "rooms",
            summary: "Open a room from a title, a format (a built-in id or a format object) and options.",
            auth: Auth::Open,
            query: vec![],
            body: Some(of::<CreateRoom>(reads)),
            answers: [
                vec![
                    ok(201, "Opened: the room id, its two keys and links.", "application/json", of::<RoomCreated>(writes)),
                    error(400, &["malformed_json", "invalid_message", "invalid_text", "invalid_url", "invalid_format"], false),
                    error(500, &["internal"], false),
                ],
                body_errors(),
                quota_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/rooms/{room}/preview",
            tag: "rooms",
            summary: "What a link opens, before entering: title, format, ground rules, status.",
            auth: Auth::BodyKey(room_key),
            query: vec![],
            body: Some(of::<PreviewRequest>(reads)),
            answers: [
                vec![
                    ok(200, "The preview.", "application/json", of::<RoomPreview>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/rooms/{room}/export",
            tag: "exports",
            summary: "The session's summary, for its host.",
            auth: Auth::BodyKey(host_link),
            query: vec![],
            body: Some(of::<ExportRequest>(reads)),
            answers: [
                vec![
                    rendered("The session summary", of::<RoomSummary>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/host/list",
            tag: "community host",
            summary: "Every room and series in the store (only `key` of the body is read).",
            auth: Auth::BodyKey(community),
            query: vec![],
            body: Some(of::<ExportRequest>(reads)),
            answers: [
                vec![
                    ok(200, "Rooms and series.", "application/json", json!({
                        "type": "object",
                        "required": ["rooms", "series"],
                        "properties": {
                            "rooms": { "type": "array", "items": {
                                "type": "object",
                                "required": ["room_id", "title", "format", "created_at", "ended_at", "series"],
                                "properties": {
                                    "room_id": { "type": "string" },
                                    "title": { "type": "string" },
                                    "format": { "type": "string", "description": "The format's name." },
                                    "created_at": { "type": "integer", "description": "Epoch milliseconds." },
                                    "ended_at": { "type": ["integer", "null"], "description": "Epoch milliseconds." },
                                    "series": { "type": ["string", "null"], "description": "The series id." },
                                },
                            } },
                            "series": { "type": "array", "items": {
                                "type": "object",
                                "required": ["series_id", "title", "cadence", "members", "sessions"],
                                "properties": {
                                    "series_id": { "type": "string" },
                                    "title": { "type": "string" },
                                    "cadence": { "type": "string" },
                                    "members": { "type": "integer", "minimum": 0 },
                                    "sessions": { "type": "array", "items": { "type": "string" }, "description": "Room ids." },
                                },
                            } },
                        },
                    })),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/host/report",
            tag: "community host",
            summary: "The program's figures over every room opened in a date range.",
            auth: Auth::BodyKey(community),
            query: vec![],
            body: Some(of::<RangeRequest>(reads)),
            answers: [
                vec![
                    rendered("The range report", of::<SeriesReport>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/host/rooms/{room}/export",
            tag: "community host",
            summary: "Any room's summary, for the community host.",
            auth: Auth::BodyKey(community),
            query: vec![],
            body: Some(of::<ExportRequest>(reads)),
            answers: [
                vec![
                    rendered("The session summary", of::<RoomSummary>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(404, &["room_not_found"], false),
                    error(500, &["internal"], false),
                ],
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/host/series/{series}/report",
            tag: "community host",
            summary: "A series report, for the community host.",
            auth: Auth::BodyKey(community),
            query: vec![],
            body: Some(of::<ExportRequest>(reads)),
            answers: [
                vec![
                    rendered("The series report", of::<SeriesReport>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series",
            tag: "series",
            summary: "Open a series: its members each get a personal link, shown once.",
            auth: Auth::Open,
            query: vec![],
            body: Some(of::<CreateSeries>(reads)),
            answers: [
                vec![
                    ok(201, "Opened: the series id, its host key and the members' links.", "application/json", of::<SeriesCreated>(writes)),
                    error(400, &["invalid_message", "invalid_text", "invalid_url", "name_taken"], false),
                    error(500, &["internal"], false),
                ],
                body_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/rooms",
            tag: "series",
            summary: "Open the series' next session.",
            auth: Auth::BodyKey(series_host),
            query: vec![],
            body: Some(of::<CreateSeriesRoom>(reads)),
            answers: [
                vec![
                    ok(201, "Opened: the room id, its two keys and links.", "application/json", of::<RoomCreated>(writes)),
                    error(400, &["invalid_message", "invalid_text", "invalid_format"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
                quota_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/me",
            tag: "series",
            summary: "A member's view of the series; optionally records their choice, people to avoid or planned dates.",
            auth: Auth::BodyKey(member),
            query: vec![],
            body: Some(of::<MemberRequest>(reads)),
            answers: [
                vec![
                    ok(200, "The member's view.", "application/json", of::<MemberView>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key", "forbidden"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/calendar",
            tag: "series",
            summary: "Set the series' time zone, default start and duration (fields left out stay).",
            auth: Auth::BodyKey(series_host),
            query: vec![],
            body: Some(of::<CalendarSettingsRequest>(reads)),
            answers: [
                vec![
                    ok(200, "The settings as kept.", "application/json", of::<CalendarSettings>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/calendar/feed",
            tag: "series",
            summary: "A member's calendar address (made the first time; with `rotate`, made anew).",
            auth: Auth::BodyKey(member),
            query: vec![],
            body: Some(of::<FeedRequest>(reads)),
            answers: [
                vec![
                    ok(200, "The address.", "application/json", of::<FeedAddress>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "get",
            path: "/api/series/{series}/calendar/{file}",
            tag: "series",
            summary: "A member's calendar feed: `{file}` is `<feed key>.ics`.",
            auth: Auth::PathKey("the member's feed key, as `{file}` = `<feed key>.ics`"),
            query: vec![],
            body: None,
            answers: [
                vec![text("The calendar (iCalendar), `Cache-Control: no-store`.", "text/calendar")],
                unserved_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "get",
            path: "/api/series/{series}/calendar/{feed}/{file}",
            tag: "series",
            summary: "One planned session as a one-event calendar file: `{file}` is `<session>.ics`.",
            auth: Auth::PathKey("the member's feed key, as `{feed}`"),
            query: vec![],
            body: None,
            answers: [
                vec![text("The event (iCalendar), as an attachment.", "text/calendar")],
                unserved_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/members",
            tag: "series",
            summary: "Read or change the member list: add, remove, pause, unpause, convert a guest.",
            auth: Auth::BodyKey(series_host),
            query: vec![],
            body: Some(of::<MembersRequest>(reads)),
            answers: [
                vec![
                    ok(200, "The member list and guests after the change, with the links of members added.", "application/json", of::<RosterView>(writes)),
                    error(400, &["invalid_message", "invalid_text", "name_taken"], false),
                    error(403, &["invalid_key"], false),
                    error(409, &["invalid_state"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/calls",
            tag: "series",
            summary: "Replace the series' default call links (a field left out is cleared).",
            auth: Auth::BodyKey(series_host),
            query: vec![],
            body: Some(of::<SetSeriesCalls>(reads)),
            answers: [
                vec![
                    ok(200, "The links as kept.", "application/json", of::<CallLinks>(writes)),
                    error(400, &["invalid_message", "invalid_url"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/delete",
            tag: "series",
            summary: "Delete a series and everything it holds.",
            auth: Auth::BodyKey(series_host),
            query: vec![],
            body: Some(of::<DeleteSeriesRequest>(reads)),
            answers: [
                vec![
                    ok(200, "Deleted.", "application/json", json!({
                        "type": "object", "required": ["deleted"],
                        "properties": { "deleted": { "const": true } },
                    })),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/webhooks",
            tag: "series",
            summary: "Read or change the series' webhooks (`list`, `add`, `remove`, `test`) and read their delivery log.",
            auth: Auth::BodyKey(series_host),
            query: vec![],
            body: Some(of::<WebhooksRequest>(reads)),
            answers: [
                vec![
                    ok(200, "The webhooks, the delivery log and, after `add`, the new webhook's id and secret (shown once).", "application/json", of::<WebhooksView>(writes)),
                    error(400, &["invalid_message", "invalid_url"], false),
                    error(403, &["invalid_key", "forbidden"], false),
                    error(409, &["too_many_items"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "post",
            path: "/api/series/{series}/webhooks/{hook}/test",
            tag: "series",
            summary: "Send one webhook a test delivery.",
            auth: Auth::BodyKey(series_host),
            query: vec![],
            body: Some(of::<KeyOnly>(reads)),
            answers: [
                vec![
                    ok(200, "The webhooks and the log, with the test delivery's id.", "application/json", of::<WebhooksView>(writes)),
                    error(400, &["invalid_message"], false),
                    error(403, &["invalid_key", "forbidden"], false),
                    error(500, &["internal"], false),
                ],
                unserved_errors(),
                body_errors(),
                entry_errors(),
            ].concat(),
        },
        Route {
            method: "get",
            path: "/api/admin/backup",
            tag: "operations",
            summary: "Stream a backup of every room and series (JSON lines; see README, Backups and restore).",
            auth: Auth::Bearer("the operator: the token in the data directory's admin.json"),
            query: vec![],
            body: None,
            answers: vec![
                text("The backup file.", "application/x-ndjson"),
                error(401, &["not_authenticated"], false),
                error(403, &["invalid_token", "forbidden"], false),
                error(429, &["too_many_attempts"], true),
            ],
        },
        Route {
            method: "get",
            path: "/ws",
            tag: "websocket",
            summary: "Upgrade to a websocket speaking the protocol (JSON text frames; see protocol/README.md and protocol/schema.json).",
            auth: Auth::Origin,
            query: vec![
                ("v", "The protocol version the client speaks; another is closed with 4001.", false,
                 json!({ "type": "string", "examples": [PROTOCOL_VERSION.to_string()] })),
                ("room", "The room the connection is for (a proxy routes on it); the first `join`, `host`, `member` or `resume` must name it.", false,
                 json!({ "type": "string" })),
            ],
            body: None,
            answers: vec![
                Answer { status: 101, description: "Switching to the websocket protocol.".into(), body: None, retry_after: false, codes: vec![] },
                error(403, &["origin_not_allowed"], false),
                error(429, &["too_many_connections"], true),
            ],
        },
    ];
    all.sort_by(|a, b| (a.path, a.method).cmp(&(b.path, b.method)));
    all
}

// ----- the document -------------------------------------------------------------------------

fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

/// The operation object of one route.
fn operation(route: Route) -> Value {
    let mut parameters: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "description": path_parameter(name),
                "schema": { "type": "string" },
            })
        })
        .collect();
    for (name, description, required, schema) in route.query {
        parameters.push(json!({
            "name": name, "in": "query", "required": required,
            "description": description, "schema": schema,
        }));
    }
    if let Auth::Origin = route.auth {
        parameters.push(json!({
            "name": "Origin", "in": "header", "required": false,
            "description": "The page asking: this server's own origin (--public-url) or one of --allowed-origins.",
            "schema": { "type": "string" },
        }));
    }
    let auth = match route.auth {
        Auth::Open => json!({ "in": "none" }),
        Auth::BodyKey(who) => json!({ "in": "body", "field": "key", "holder": who }),
        Auth::PathKey(who) => json!({ "in": "path", "holder": who }),
        Auth::Bearer(who) => json!({ "in": "header", "field": "Authorization", "holder": who }),
        Auth::Origin => json!({ "in": "header", "field": "Origin" }),
    };
    let auth_text = match route.auth {
        Auth::Open => String::new(),
        Auth::BodyKey(who) => format!(" Authorized by `key` in the body: {who}."),
        Auth::PathKey(who) => format!(" Authorized by a key in the path: {who}."),
        Auth::Bearer(who) => format!(" Authorized by `Authorization: Bearer TOKEN`: {who}."),
        Auth::Origin => {
            " Only from an allowed `Origin`; the client authenticates in its first frame.".into()
        }
    };
    // Refusals of one status (from the handler and from the guards before it) are one answer.
    let mut answers: Vec<Answer> = Vec::new();
    for answer in route.answers {
        match answers.iter_mut().find(|a| a.status == answer.status) {
            Some(same) => {
                assert!(
                    !same.codes.is_empty() && !answer.codes.is_empty(),
                    "{} {}: status {} listed twice",
                    route.method,
                    route.path,
                    answer.status
                );
                for code in answer.codes {
                    if !same.codes.contains(&code) {
                        same.codes.push(code);
                    }
                }
                same.retry_after |= answer.retry_after;
            }
            None => answers.push(answer),
        }
    }
    let mut responses = Map::new();
    for answer in answers {
        let description = if answer.codes.is_empty() {
            answer.description
        } else {
            let list: Vec<String> = answer.codes.iter().map(|c| format!("`{c}`")).collect();
            format!("Refused: {}.", list.join(", "))
        };
        let mut response = json!({ "description": description });
        if let Some((media, schema)) = answer.body {
            response["content"] = json!({ media: { "schema": schema } });
        }
        if answer.retry_after {
            response["headers"] = json!({ "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": { "type": "integer", "minimum": 0 },
            } });
        }
        responses.insert(answer.status.to_string(), response);
    }
    let mut op = json!({
        "operationId": operation_id(route.method, route.path),
        "tags": [route.tag],
        "summary": route.summary,
        "description": format!("{}{auth_text}", route.summary),
        "x-circlekeeper-auth": auth,
        "security": [],
        "responses": responses,
    });
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    if let Some(schema) = route.body {
        op["requestBody"] = json!({
            "required": true,
            "description": "A JSON body of at most 64 KiB; unknown fields are refused with invalid_message.",
            "content": { "application/json": { "schema": schema } },
        });
    }
    op
}

fn path_parameter(name: &str) -> &'static str {
    match name {
        "room" => "The room id (32 hex digits).",
        "series" => "The series id (32 hex digits).",
        "lang" => "A language code: en, es or de.",
        "feed" => "The member's calendar feed key.",
        "file" => "A file name.",
        "folder" => "A folder of the web client.",
        _ => "A path segment.",
    }
}

/// `post /api/rooms/{room}/preview` → `post_api_rooms_room_preview`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for part in path.split(|c: char| !c.is_ascii_alphanumeric()) {
        if !part.is_empty() {
            id.push('_');
            id.push_str(part);
        }
    }
    if path == "/" {
        id.push_str("_root");
    }
    id
}

/// The OpenAPI 3.1 document of the whole HTTP API.
fn openapi() -> Value {
    let mut reads = generator(SchemaSettings::draft2020_12().for_deserialize());
    let mut writes = generator(SchemaSettings::draft2020_12().for_serialize());
    // The error body every refusal carries.
    writes.subschema_for::<HttpError>();
    let table = routes(&mut reads, &mut writes);
    let mut paths = Map::new();
    for route in table {
        let path = route.path;
        let method = route.method;
        let entry = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        entry[method] = operation(route);
    }

    // A type both read and written whose two contracts differ (fields with defaults are
    // optional to send but always written) gets a second definition, `<Name>Output`, which
    // the answers refer to.
    let mut schemas = reads.take_definitions(true);
    let mut written = writes.take_definitions(true);
    let differ: BTreeSet<String> = written
        .iter()
        .filter(|(name, schema)| schemas.get(*name).is_some_and(|read| read != *schema))
        .map(|(name, _)| name.clone())
        .collect();
    for schema in written.values_mut() {
        output_refs(schema, &differ);
    }
    for item in paths.values_mut() {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            output_refs(&mut op["responses"], &differ);
        }
    }
    for (name, schema) in written {
        if differ.contains(&name) {
            schemas.insert(format!("{name}Output"), schema);
        } else {
            schemas.entry(name).or_insert(schema);
        }
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "circlekeeper HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "The HTTP API of circlekeeper (websocket protocol version {PROTOCOL_VERSION}). \
                 There are no accounts: each call that needs authority carries a capability key \
                 where its handler reads it, stated per operation in `x-circlekeeper-auth` \
                 (`in`: `body` for the JSON body's `key` field, `path`, `header`, or `none`) and \
                 in its description. Every refusal is a JSON body `{{\"code\", \"message\"}}` \
                 (HttpError) with a stable code. Generated by tests/openapi.rs from the route \
                 table and the request and response types: do not edit."
            ),
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
        },
        "paths": paths,
        "components": { "schemas": schemas },
    })
}

/// Point the references in `value` to a type of `differ` at its `<Name>Output` definition.
fn output_refs(value: &mut Value, differ: &BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(r) if key == "$ref" => {
                        let name = r.trim_start_matches("#/components/schemas/");
                        if differ.contains(name) {
                            *r = format!("{r}Output");
                        }
                    }
                    _ => output_refs(v, differ),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| output_refs(v, differ)),
        _ => {}
    }
}

fn rendered_document() -> String {
    let mut text =
        serde_json::to_string_pretty(&openapi()).expect("a JSON value always serializes");
    text.push('\n');
    text
}

#[test]
fn the_checked_in_openapi_document_matches_the_routes_and_types() {
    checked_in::matches_or_update(
        "protocol/openapi.json",
        &rendered_document(),
        UPDATE_VAR,
        "the routes and types (run `UPDATE_OPENAPI=1 cargo test --test openapi` to regenerate it, then review the diff)",
    );
}

#[test]
fn the_document_is_the_same_every_time_it_is_generated() {
    assert_eq!(rendered_document(), rendered_document());
}

/// The (method, path) of every `.route(` in `server::app`, read from its source.
fn registered_routes() -> BTreeSet<(String, String)> {
    let source = std::fs::read_to_string(checked_in::workspace_file("src/server/mod.rs"))
        .expect("src/server/mod.rs is readable");
    let mut found = BTreeSet::new();
    for piece in source.split(".route(").skip(1) {
        let piece = piece.trim_start();
        let Some(rest) = piece.strip_prefix('"') else {
            continue;
        };
        let Some((path, rest)) = rest.split_once('"') else {
            continue;
        };
        let rest = rest.trim_start().trim_start_matches(',').trim_start();
        let method: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        assert!(
            ["get", "post", "put", "delete", "patch"].contains(&method.as_str()),
            "route {path}: cannot read its method from {:.40}",
            rest
        );
        found.insert((method, path.to_owned()));
    }
    found
}

#[test]
fn the_route_table_names_exactly_the_routes_the_server_registers() {
    let registered = registered_routes();
    assert!(registered.len() > 20, "found the routes: {registered:?}");
    let mut reads = generator(SchemaSettings::draft2020_12());
    let mut writes = generator(SchemaSettings::draft2020_12());
    let described: BTreeSet<(String, String)> = routes(&mut reads, &mut writes)
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let undescribed: Vec<_> = registered.difference(&described).collect();
    let gone: Vec<_> = described.difference(&registered).collect();
    assert!(
        undescribed.is_empty() && gone.is_empty(),
        "routes registered but not in tests/openapi.rs: {undescribed:?}; \
         in the table but not registered: {gone:?}"
    );
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_and_every_operation_says_its_auth_and_errors() {
    let doc = openapi();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("a reference outside components: {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    let error = &doc["components"]["schemas"]["HttpError"];
    let required = error["required"]
        .as_array()
        .expect("HttpError has required fields");
    assert!(required.contains(&json!("code")) && required.contains(&json!("message")));
    assert!(error["properties"]["code"].is_object());

    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item") {
            let auth = &op["x-circlekeeper-auth"]["in"];
            assert!(auth.is_string(), "{method} {path}: no auth stated");
            if path.starts_with("/api/") && method == "post" {
                let body = &op["requestBody"]["content"]["application/json"]["schema"];
                assert!(body.is_object(), "{method} {path}: no request body schema");
                let errors = op["responses"]
                    .as_object()
                    .expect("responses")
                    .iter()
                    .filter(|(status, _)| status.starts_with('4'))
                    .count();
                assert!(errors > 0, "{method} {path}: no error answers");
            }
            if auth == "body" {
                // The key really is a field of the body the route reads.
                let body = &op["requestBody"]["content"]["application/json"]["schema"];
                let schema = match body["$ref"].as_str() {
                    Some(r) => {
                        &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]
                    }
                    None => body,
                };
                assert!(
                    schema["properties"]["key"].is_object(),
                    "{method} {path}: the key is said to be in the body, but its schema has no `key`"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_server_serves_the_checked_in_document_as_json() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = common::TestServer::start().await;
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let head = format!(
            "GET /api/openapi.json HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(common::WAIT, exchange)
        .await
        .expect("an answer in time");
    let raw = String::from_utf8(raw).expect("UTF-8");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.lines()
            .any(|l| l.eq_ignore_ascii_case("content-type: application/json")),
        "{head}"
    );
    let stored = std::fs::read_to_string(checked_in::workspace_file("protocol/openapi.json"))
        .expect("protocol/openapi.json is readable");
    // While the file is being rewritten, the binary holds the one it was built with.
    let updating = checked_in::updating(UPDATE_VAR);
    assert!(
        updating || body == stored,
        "the served document is the checked-in file"
    );
    let doc: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/openapi.json"]["get"].is_object());
}
