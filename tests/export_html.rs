//! HTML summaries and reports: golden files for a fixed session, series and date range (in
//! English, and the series in German), every name and text escaped, nothing that is not
//! exportable, and each export and report endpoint (and the offline `export` command) serving
//! one self-contained page with a policy that runs no script.
//!
//! Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test --test export_html` and review
//! the diff (open them in a browser and print them).

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::path::PathBuf;
use std::sync::Arc;

use circlekeeper::export::{self, series, Names, RoomSummary};
use circlekeeper::formats;
use circlekeeper::room::state::DEFAULT_GROUND_RULES;
use circlekeeper::room::{Recorded, Room, RoomSetup};
use circlekeeper::series::SeriesRecord;
use circlekeeper::store::{SledStore, StoredEvent};
use circlekeeper::texts::Lang;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, Outcome, RoomCreated, SeriesCreated, Standing, Visibility};
use common::TestServer;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T0: u64 = 1_800_000_000_000;
const MIN: u64 = 60_000;
const DAY: u64 = 24 * 60 * MIN;

/// The members of the fixed series, as `(id, name)`: a name with markup and one with quotes.
const MEMBERS: [(&str, &str); 4] = [
    ("m1", "Ada"),
    ("m2", "<script>alert(\"x\")</script>"),
    ("m3", "Ben O'Neil \"BJ\""),
    ("m4", "Chen"),
];

/// A coaching swap on day `day` with Fran facilitating and the members `present` (indices
/// into [`MEMBERS`]): pairs, feedback, one exportable and one private commitment, a survey.
/// Returns the room (for its shared commitments) and its summary with member ids.
fn session(day: u64, present: &[usize], seed: u64) -> (Room, RoomSummary) {
    let t0 = T0 + day * DAY;
    let mut room = Room::new(RoomSetup {
        id: format!("room-{day}"),
        title: format!("Alumni swap, day {day}"),
        format: formats::builtin("coaching_swap").expect("built-in"),
        ground_rules: DEFAULT_GROUND_RULES.into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        calls: Default::default(),
        earlier: Vec::new(),
    });
    let mut log: Vec<Recorded> = Vec::new();
    let (fran, e) = room.join(t0, "Fran", Standing::Facilitator).expect("joins");
    log.extend(e);
    let mut people = Vec::new();
    for (k, &i) in present.iter().enumerate() {
        let (id, e) = room
            .join(
                t0 + 1000 * (k as u64 + 1),
                MEMBERS[i].1,
                Standing::Participant,
            )
            .expect("joins");
        log.extend(e);
        people.push(id);
    }
    let mut at = t0 + 10_000;
    let mut run = |room: &mut Room, who, cmd: Command, log: &mut Vec<Recorded>, dt: u64| {
        at += dt;
        log.extend(room.apply(at, who, &cmd).expect("accepted").events);
    };
    for &who in [fran].iter().chain(&people) {
        run(&mut room, who, Command::AcceptGroundRules, &mut log, 0);
    }
    run(&mut room, fran, Command::Start, &mut log, 0);
    run(&mut room, fran, Command::NextStage, &mut log, 10 * MIN);
    run(&mut room, fran, Command::NextStage, &mut log, 12 * MIN);
    let propose = Command::ProposePairs { seed: Some(seed) };
    run(&mut room, fran, propose, &mut log, MIN);
    run(&mut room, fran, Command::ConfirmPairs, &mut log, MIN);
    run(&mut room, fran, Command::NextStage, &mut log, MIN);
    let g = room.view().pairs.groups[0].clone();
    let end = Command::EndHalf { group: None };
    run(&mut room, g.coach, end, &mut log, 40 * MIN);
    let feedback = Command::GiveFeedback {
        rating: 3 + (day % 3) as u8,
        helped: "The <em>silence</em> & \"patience\"".into(),
        helped_less: "Too many questions".into(),
        visibility: Visibility::Exportable,
    };
    run(&mut room, g.client, feedback, &mut log, MIN);
    let commit = |text: String, visibility| Command::RecordCommitment {
        text,
        due: Some("2027-04-01".into()),
        visibility,
    };
    let shared = commit(
        format!("Ask for a <b>mentor</b> & \"report back\" (day {day})"),
        Visibility::Exportable,
    );
    run(&mut room, people[0], shared, &mut log, MIN);
    let private = commit(
        envelope::sealed("PRIVATE: never leaves"),
        Visibility::Private,
    );
    run(&mut room, people[1], private, &mut log, 0);
    if day == 0 {
        let id = room.view().commitments[0].id.clone();
        let review = Command::ReviewCommitment {
            commitment: id,
            outcome: Outcome::Kept,
        };
        run(&mut room, people[0], review, &mut log, 0);
    }
    run(&mut room, fran, Command::NextStage, &mut log, 30 * MIN);
    run(&mut room, fran, Command::EndSession, &mut log, 10 * MIN);
    for (k, &who) in people.iter().enumerate() {
        let survey = Command::AnswerSurvey {
            rating: 5 - (k as u8 % 2) - (day % 2) as u8,
            comment: Some(if k == 0 {
                "Calm <i>and</i> useful".into()
            } else {
                "CIRCLE: only for us".into()
            }),
            visibility: if k == 0 {
                Visibility::Exportable
            } else {
                Visibility::Circle
            },
        };
        run(&mut room, who, survey, &mut log, MIN);
    }
    let events: Vec<StoredEvent> = log.iter().map(|r| StoredEvent::new(r, None)).collect();
    let mut summary = export::summarize(room.view(), &events, room.notes(), Names::Shown);
    for a in &mut summary.attendance {
        a.member = MEMBERS
            .iter()
            .find(|(_, name)| *name == a.name)
            .map(|(id, _)| id.to_string());
    }
    (room, summary)
}

/// Three sessions of a monthly series (four, three, then two members) and its record.
fn series_fixture() -> (SeriesRecord, Vec<RoomSummary>) {
    let plan: [(u64, &[usize]); 3] = [(0, &[0, 1, 2, 3]), (28, &[0, 1, 2]), (56, &[0, 2])];
    let mut summaries = Vec::new();
    let mut commitments = Vec::new();
    let mut met: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<u32>>> =
        Default::default();
    for (n, (day, present)) in plan.into_iter().enumerate() {
        let (room, summary) = session(day, present, n as u64 + 1);
        commitments.extend(room.view().commitments.iter().cloned());
        let id_of = |name: &str| {
            MEMBERS
                .iter()
                .find(|(_, m)| *m == name)
                .map(|(id, _)| id.to_string())
                .expect("a member")
        };
        for group in &summary.pairings {
            for (i, a) in group.iter().enumerate() {
                for b in &group[i + 1..] {
                    let (x, y) = (id_of(a), id_of(b));
                    let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
                    met.entry(lo)
                        .or_default()
                        .entry(hi)
                        .or_default()
                        .push(n as u32);
                }
            }
        }
        summaries.push(summary);
    }
    let members: Vec<serde_json::Value> = MEMBERS
        .iter()
        .map(|(id, name)| json!({ "id": id, "name": name, "key_hash": vec![0u8; 32] }))
        .collect();
    let sessions: Vec<serde_json::Value> = summaries
        .iter()
        .map(|s| json!({ "room_id": s.room_id, "opened_at": s.started_at }))
        .collect();
    let mut record: SeriesRecord = serde_json::from_value(json!({
        "id": "golden-series",
        "title": "Alumni circle <2027> & \"friends\"",
        "cadence": "monthly",
        "cycle_months": 3,
        "host_key_hash": vec![0u8; 32],
        "members": members,
        "sessions": sessions,
        "history": { "met": met },
        "created_at": T0,
    }))
    .expect("a series record");
    record.commitments = commitments;
    (record, summaries)
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_GOLDEN=1 cargo test --test export_html",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"
    );
}

/// What every HTML document must be: one page, no script, nothing fetched, nothing private.
/// Every tag is checked (text between tags is escaped, so it holds no `<`).
fn self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\""), "{html}");
    assert!(html.trim_end().ends_with("</html>"), "{html}");
    const ALLOWED: &[&str] = &[
        "!doctype",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "main",
        "footer",
        "section",
        "h1",
        "h2",
        "h3",
        "p",
        "ul",
        "ol",
        "li",
        "figure",
        "figcaption",
        "div",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "span",
        "svg",
        "rect",
        "line",
        "polyline",
        "circle",
        "text",
    ];
    let mut rest = html;
    let mut tags = 0;
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("a tag ends") + open;
        let tag = rest[open + 1..close].to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(ALLOWED.contains(&name.as_str()), "<{tag}> in:\n{html}");
        for attribute in tag.split_whitespace().skip(1) {
            assert!(
                !attribute.starts_with("on")
                    && !attribute.starts_with("src")
                    && !attribute.starts_with("href"),
                "<{tag}> in:\n{html}"
            );
        }
        tags += 1;
        rest = &rest[close + 1..];
    }
    assert!(tags > 20, "a page of {tags} tags");
    for banned in ["url(", "@import", "PRIVATE", "CIRCLE"] {
        assert!(
            !html.contains(banned),
            "{banned:?} in an HTML document:\n{html}"
        );
    }
    assert!(html.contains("<style>"), "the stylesheet is inline");
    assert!(html.contains("@media print"), "a print stylesheet");
    assert!(
        html.contains("break-inside:avoid"),
        "charts stay whole on paper"
    );
}

#[test]
fn html_documents_match_their_golden_files() {
    let (_, summary) = session(0, &[0, 1, 2, 3], 1);
    let html = export::html::summary(&summary, Lang::En);
    self_contained(&html);
    golden("summary.html", &html);
    let es = export::html::summary(&summary, Lang::Es);
    self_contained(&es);
    golden("summary.es.html", &es);

    let (record, summaries) = series_fixture();
    let report = series::report(&record, &summaries, Names::Shown);
    for (lang, file) in [(Lang::En, "series.html"), (Lang::De, "series.de.html")] {
        let html = export::html::report(&report, lang);
        self_contained(&html);
        golden(file, &html);
    }
    let range = export::range::range_report_seeded(
        T0,
        T0 + 90 * DAY,
        &summaries,
        Names::Shown,
        Lang::En,
        7,
    );
    let html = export::html::report(&range, Lang::En);
    self_contained(&html);
    golden("range.html", &html);
    let anon = series::report(&record, &summaries, Names::Pseudonymised);
    let html = export::html::report(&anon, Lang::En);
    self_contained(&html);
    for (_, name) in MEMBERS {
        let escaped = name.replace('<', "&lt;").replace('"', "&quot;");
        assert!(!html.contains(&escaped), "{name} in a pseudonymised report");
    }
}

#[test]
fn every_name_and_text_is_escaped_and_only_exportable_text_appears() {
    let (_, summary) = session(0, &[0, 1, 2, 3], 1);
    let html = export::html::summary(&summary, Lang::En);
    let json = serde_json::to_string(&summary).expect("json");
    for (raw, escaped) in [
        (
            "<script>alert(\"x\")</script>",
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
        ),
        ("Ben O'Neil \"BJ\"", "Ben O&#39;Neil &quot;BJ&quot;"),
        (
            "Ask for a <b>mentor</b> & \"report back\" (day 0)",
            "Ask for a &lt;b&gt;mentor&lt;/b&gt; &amp; &quot;report back&quot; (day 0)",
        ),
        (
            "The <em>silence</em> & \"patience\"",
            "The &lt;em&gt;silence&lt;/em&gt; &amp; &quot;patience&quot;",
        ),
        (
            "Calm <i>and</i> useful",
            "Calm &lt;i&gt;and&lt;/i&gt; useful",
        ),
    ] {
        assert!(html.contains(escaped), "{escaped} in the page:\n{html}");
        assert!(!html.contains(raw), "{raw} unescaped in the page");
        assert!(
            json.contains(&raw.replace('"', "\\\"")),
            "{raw} is in the JSON export too"
        );
    }
    // Private and circle-only text is in neither.
    for absent in ["PRIVATE: never leaves", "CIRCLE: only for us"] {
        assert!(!html.contains(absent) && !json.contains(absent), "{absent}");
    }
}

/// A community server over `store` whose host key is `community-host-key`.
async fn community_server(store: Arc<SledStore>) -> TestServer {
    TestServer::start_with(store, Clock::manual(common::EPOCH), |s| {
        s.host_key = Some("community-host-key".into())
    })
    .await
}

/// `POST path` with a JSON body: status, head (lower-cased header lines) and body.
async fn post(server: &TestServer, path: &str, body: serde_json::Value) -> (u16, String, String) {
    request(server, "POST", path, &body.to_string()).await
}

/// One request: status, head (lower-cased header lines) and body.
async fn request(
    server: &TestServer,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            server.addr,
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(body.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(common::WAIT, exchange)
        .await
        .expect("an answer in time");
    let parsed = common::parse_http(&raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let head = text
        .split_once("\r\n\r\n")
        .map(|(h, _)| h.to_ascii_lowercase())
        .unwrap_or_default();
    (parsed.status, head, parsed.text)
}

#[tokio::test]
async fn every_export_and_report_endpoint_and_the_offline_command_serve_html() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = community_server(store.clone()).await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni <b>circle</b>", "cadence": "monthly", "cycle_months": 3,
                    "members": ["<script>alert(\"x\")</script>", "Ben O'Neil"] })
            .to_string()
            .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("series");
    let opened = server
        .http(
            "POST",
            &format!("/api/series/{}/rooms", series.series_id),
            json!({ "key": series.host_key }).to_string().as_bytes(),
        )
        .await;
    let room: RoomCreated = serde_json::from_value(opened.json).expect("room");
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut members = Vec::new();
    for m in &series.members {
        let mut c = server.connect(&m.name).await;
        c.enter(Command::Member {
            room: room.room_id.clone(),
            series: series.series_id.clone(),
            key: m.key.clone(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        members.push(c);
    }
    fran.sync().await;
    fran.ok(Command::Start).await;
    let last = fran.view.plan.len() - 1;
    fran.ok(Command::JumpToStage { index: last }).await;
    members[0]
        .ok(Command::RecordCommitment {
            text: "<img src=x onerror=alert(1)> & \"soon\"".into(),
            due: None,
            visibility: Visibility::Exportable,
        })
        .await;
    members[1]
        .ok(Command::RecordCommitment {
            text: envelope::sealed("PRIVATE-html"),
            due: None,
            visibility: Visibility::Private,
        })
        .await;
    fran.ok(Command::EndSession).await;

    let host = "community-host-key";
    let html = |key: &str| json!({ "key": key, "format": "html", "lang": "de" });
    let range = json!({ "key": host, "from": 0, "to": u64::MAX / 2, "format": "html" });
    let calls = [
        (
            format!("/api/rooms/{}/export", room.room_id),
            html(&room.host_key),
            true,
        ),
        (
            format!("/api/host/rooms/{}/export", room.room_id),
            html(host),
            true,
        ),
        (
            format!("/api/host/series/{}/report", series.series_id),
            html(host),
            false,
        ),
        ("/api/host/report".to_string(), range, false),
    ];
    let escaped_name = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
    for (path, body, is_summary) in calls {
        let (status, head, page) = post(&server, &path, body).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(
            head.contains("content-type: text/html; charset=utf-8"),
            "{path}: {head}"
        );
        let policy = head
            .lines()
            .find_map(|l| l.strip_prefix("content-security-policy: "))
            .unwrap_or_else(|| panic!("{path}: no policy: {head}"));
        assert!(policy.contains("script-src 'none'"), "{path}: {policy}");
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(head.contains("x-content-type-options: nosniff"), "{path}");
        self_contained(&page);
        assert!(
            page.contains(escaped_name),
            "{path}: the member's name, escaped"
        );
        if is_summary {
            assert!(page.contains("<html lang=\"de\">"), "{path}: in German");
            assert!(page.contains("Zusammenfassung der Sitzung"), "{path}");
            assert!(
                page.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;soon&quot;"),
                "{path}: the commitment, escaped:\n{page}"
            );
        } else {
            // Reports hold figures and names only, never what anyone wrote.
            assert!(!page.contains("soon"), "{path}: a commitment in a report");
        }
    }
    // A room nobody entered, and a range with no rooms: a page that says there is nothing yet.
    let lone = server.create_builtin_room("coaching_circle").await;
    let path = format!("/api/host/rooms/{}/export", lone.room_id);
    let (status, _, page) = post(&server, &path, html(host)).await;
    assert_eq!(status, 200, "{page}");
    self_contained(&page);
    assert!(page.contains("Noch nichts zu zeigen."), "{page}");
    let nothing = json!({ "key": host, "from": 1, "to": 2, "format": "html" });
    let (status, _, page) = post(&server, "/api/host/report", nothing).await;
    assert_eq!(status, 200, "{page}");
    self_contained(&page);
    assert!(page.contains("Nothing to show yet."), "{page}");
    // A JSON export is still JSON.
    let (_, head, _) = post(
        &server,
        &format!("/api/host/rooms/{}/export", room.room_id),
        json!({ "key": host }),
    )
    .await;
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(!head.contains("content-security-policy"), "{head}");
    // The web client's policy allows the documents' stylesheet (and only it, by its hash), so
    // the host page can open one in a new tab from a `blob:` URL, which keeps that policy.
    let (_, head, _) = request(&server, "GET", "/host", "").await;
    let style = circlekeeper::export::html::style_source().to_ascii_lowercase();
    assert!(
        head.lines()
            .any(|l| l.starts_with("content-security-policy: ")
                && l.contains(&format!("style-src 'self' {style};"))
                && l.contains("script-src 'self';")),
        "{head}"
    );

    // Offline, from the data directory the server wrote.
    server.stop().await;
    drop((fran, members));
    common::release_store(store).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_circlekeeper"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--log", "off", "export", "--room", &room.room_id])
        .args(["--format", "html", "--lang", "es"])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = String::from_utf8(out.stdout).expect("utf-8");
    self_contained(&page);
    assert!(page.contains("<html lang=\"es\">") && page.contains("Resumen de la sesión"));
    assert!(page.contains(escaped_name), "{page}");
}
