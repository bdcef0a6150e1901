//! The README's screenshots, made by driving the web client in headless Chromium through a real
//! circle: the facilitator console at 1280×800 and 1366×768 in light and dark, a participant on
//! a 360-px phone in light and dark, the join page, and the console in Spanish; and a series
//! report as HTML, as a host opens it to print.
//!
//! Ignored by default (it writes into `docs/screenshots/`); run it after a change to the client:
//! `cargo test --test screenshots -- --ignored`. Each picture is checked before it is kept: the
//! page does not scroll sideways and the console's controls are on screen.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::path::{Path, PathBuf};

use browser::{chromium, Browser, Page};
use circlekeeper_protocol::{Command, RoomCreated, SeriesCreated};
use common::TestServer;
use serde_json::json;

/// Where the README's pictures live.
fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

/// Take a screenshot of the visible window (not the whole page) into `docs/screenshots/`.
async fn keep(page: &Page<'_>, file: &str) {
    page.eval("window.scrollTo(0, 0); if (document.activeElement) document.activeElement.blur();")
        .await;
    let wide = page.horizontal_scroll().await;
    assert!(
        wide.is_empty(),
        "{file}: the page scrolls sideways: {wide:?}"
    );
    let shot = page.screenshot_window(file).await;
    let bytes = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(bytes > 10_000, "{file}: a {bytes}-byte screenshot");
    std::fs::copy(&shot, docs().join(file)).expect("copy the screenshot into docs/screenshots");
}

/// The console's main controls, each of which must be on screen in a picture of it.
const CONSOLE: &[&str] = &[
    "[data-test=stage-title]",
    "[data-test=speaker]",
    "[data-test=next-stage]",
    "[data-test=timer-plus-1]",
];

async fn console_fits(page: &Page<'_>, file: &str) {
    for selector in CONSOLE {
        assert!(
            page.in_viewport(selector).await,
            "{file}: {selector} is not on screen"
        );
    }
}

#[tokio::test]
#[ignore = "writes the README's screenshots: cargo test --test screenshots -- --ignored"]
async fn make_the_readme_screenshots() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start().await;
    let browser = Browser::launch(&path).await;
    let url = server.url();
    std::fs::create_dir_all(docs()).expect("docs/screenshots");

    let fran = browser.page("Fran", 1280, 800, false).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "Tuesday action learning set")
        .await;
    fran.eval("const s = await until(() => $('create-format') && $('create-format').options.length > 0 && $('create-format'), 10000, 'formats'); s.value = 'action_learning_set'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;
    let host_link = fran.text("host-link").await;

    let ada = browser.page("Ada", 360, 780, true).await;
    ada.goto(&join_link).await;
    ada.wait_for("$('ground-rules')", "the ground rules").await;
    keep(&ada, "join.png").await;
    ada.enter_room(&join_link, "Ada").await;
    fran.enter_room(&host_link, "Fran").await;
    let mut others = Vec::new();
    for name in ["Ben", "Chen", "Dana"] {
        let p = browser.page(name, 390, 844, true).await;
        p.enter_room(&join_link, name).await;
        others.push(p);
    }
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 5",
        "five people",
    )
    .await;

    // The check-in round, with Ada (who came first) speaking.
    fran.click("start").await;
    ada.wait_for("visible($('done'))", "Ada's turn").await;
    fran.wait_for("/Ada/.test(txt($('speaker')))", "Ada speaking")
        .await;

    for (width, height, suffix) in [(1280, 800, ""), (1366, 768, "-1366")] {
        fran.set_viewport(width, height, false).await;
        for scheme in ["light", "dark"] {
            fran.set_color_scheme(scheme).await;
            let file = if scheme == "dark" {
                format!("facilitator{suffix}-dark.png")
            } else {
                format!("facilitator{suffix}.png")
            };
            console_fits(&fran, &file).await;
            keep(&fran, &file).await;
        }
    }
    fran.set_viewport(1280, 800, false).await;
    fran.set_color_scheme("light").await;

    for scheme in ["light", "dark"] {
        ada.set_color_scheme(scheme).await;
        let file = if scheme == "dark" {
            "participant-dark.png"
        } else {
            "participant.png"
        };
        keep(&ada, file).await;
    }

    // The console in Spanish, from the switch in its top bar.
    fran.click("lang-es").await;
    fran.wait_for("document.documentElement.lang === 'es'", "Spanish")
        .await;
    console_fits(&fran, "facilitator-es.png").await;
    keep(&fran, "facilitator-es.png").await;
}

/// A session of `series` with its first `present` members, paired, then ended.
async fn series_session(server: &TestServer, series: &SeriesCreated, present: usize) {
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
    for m in series.members.iter().take(present) {
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
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(3) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::EndSession).await;
    for (i, c) in members.iter_mut().enumerate() {
        c.ok(Command::AnswerSurvey {
            rating: 3 + (i % 3) as u8,
            comment: None,
            visibility: circlekeeper_protocol::Visibility::Private,
        })
        .await;
    }
}

#[tokio::test]
#[ignore = "writes the README's screenshots: cargo test --test screenshots -- --ignored"]
async fn make_the_series_report_screenshot() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start_with(
        std::sync::Arc::new(circlekeeper::store::SledStore::temporary().expect("store")),
        circlekeeper::Clock::manual(common::EPOCH),
        |s| {
            s.host_key = Some("host-key".into());
            s.retention = std::time::Duration::from_secs(365 * 24 * 3600);
        },
    )
    .await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni coaching circle", "cadence": "monthly", "cycle_months": 6,
                    "members": ["Ada", "Ben", "Chen", "Dana", "Eli", "Farah"] })
            .to_string()
            .as_bytes(),
        )
        .await;
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("series");
    for present in [6, 6, 5, 4, 5] {
        series_session(&server, &series, present).await;
        server.advance(std::time::Duration::from_secs(28 * 24 * 3600));
    }
    let report = server
        .http(
            "POST",
            &format!("/api/host/series/{}/report", series.series_id),
            json!({ "key": "host-key", "format": "html" })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let browser = Browser::launch(&path).await;
    let page = browser.page("Host", 1000, 1300, false).await;
    page.open_document(&report.text).await;
    std::fs::create_dir_all(docs()).expect("docs/screenshots");
    keep(&page, "series-report.png").await;
}
