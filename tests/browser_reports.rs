//! HTML reports in a real headless Chromium: a series report, as the server serves it, opened
//! as a document of its own, printed to PDF as "Save as PDF" does (a real PDF of more than one
//! page, with no chart split), its text in the page and nothing run; axe on the report; and the
//! community host's page at 360 px with each room's figures, rooms of one title told apart by
//! date, and the date-range report, axe-clean and without sideways scroll.
//!
//! Without Chromium the test says plainly that it was skipped, and why; under CI (`CI` set) a
//! missing browser fails it instead.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;
use std::time::Duration;

use browser::{chromium, pdf_pages, report, Browser};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, RoomCreated, SeriesCreated, Visibility};
use common::TestServer;
use serde_json::json;

/// The community host's key for this test's server.
const HOST_KEY: &str = "community-host-key-for-report-tests";

/// The members of the series: one name with markup and quotes.
const MEMBERS: [&str; 5] = ["Ada", "<script>alert(\"x\")</script>", "Ben", "Chen", "Dee"];

/// Open a session of `series` and run it with the first `present` members: pairs, a
/// commitment, a survey; then end it. Returns the room.
async fn session(server: &TestServer, series: &SeriesCreated, present: usize) -> RoomCreated {
    let opened = server
        .http(
            "POST",
            &format!("/api/series/{}/rooms", series.series_id),
            json!({ "key": series.host_key }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
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
    fran.ok(Command::ProposePairs { seed: Some(7) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::EndSession).await;
    for (i, c) in members.iter_mut().enumerate() {
        c.ok(Command::AnswerSurvey {
            rating: 3 + (i % 3) as u8,
            comment: None,
            visibility: Visibility::Private,
        })
        .await;
    }
    room
}

#[tokio::test]
async fn a_series_report_prints_to_a_clean_pdf_and_the_host_page_offers_reports() {
    let Some(path) = chromium() else { return };
    let store = Arc::new(SledStore::temporary().expect("store"));
    let server = TestServer::start_with(store, Clock::manual(common::EPOCH), |s| {
        s.host_key = Some(HOST_KEY.into());
        // Sessions a month apart, all kept for the report.
        s.retention = Duration::from_secs(365 * 24 * 3600);
    })
    .await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni circle", "cadence": "monthly", "cycle_months": 6, "members": MEMBERS })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("series");
    for present in [5, 4, 4, 3] {
        session(&server, &series, present).await;
        server.advance(Duration::from_secs(28 * 24 * 3600));
    }
    // Two lone rooms of one title, a week apart.
    for _ in 0..2 {
        server.create_builtin_room("coaching_circle").await;
        server.advance(Duration::from_secs(7 * 24 * 3600));
    }

    // The report as the server serves it.
    let path_of = format!("/api/host/series/{}/report", series.series_id);
    let body = json!({ "key": HOST_KEY, "format": "html" });
    let answer = server
        .http("POST", &path_of, body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let html = answer.text;

    let browser = Browser::launch(&path).await;
    let page = browser.page("Host", 1000, 1200, false).await;
    page.open_document(&html).await;
    let dom = page
        .eval(
            "return {
               title: document.querySelector('h1').textContent,
               lang: document.documentElement.lang,
               scripts: document.scripts.length,
               figures: document.querySelectorAll('figure').length,
               charts: [...document.querySelectorAll('svg[role=img]')].map((s) => s.getAttribute('aria-label')),
               cells: [...document.querySelectorAll('td')].map((td) => td.textContent),
               styled: getComputedStyle(document.querySelector('header')).borderBottomStyle,
             };",
        )
        .await;
    assert_eq!(dom["title"], "Alumni circle", "{dom}");
    assert_eq!(dom["lang"], "en");
    assert_eq!(dom["scripts"], 0, "nothing to run");
    assert_eq!(dom["styled"], "solid", "the inline stylesheet applies");
    let charts: Vec<String> = serde_json::from_value(dom["charts"].clone()).expect("labels");
    for chart in [
        "Attendance per session",
        "Retention across the cycle",
        "Ratings over time",
        "Commitments kept",
        "How often people met",
    ] {
        assert!(charts.iter().any(|c| c == chart), "{chart}: {charts:?}");
    }
    assert_eq!(dom["figures"], 5, "{dom}");
    let cells: Vec<String> = serde_json::from_value(dom["cells"].clone()).expect("cells");
    assert!(
        cells.iter().any(|c| c == MEMBERS[1]),
        "the name with markup shows as text: {cells:?}"
    );

    let pdf = page.print_to_pdf().await;
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    let pages = pdf_pages(&pdf);
    assert!((2..=6).contains(&pages), "{pages} pages");
    // No figure is split across pages: in print, each starts and ends on one page.
    page.cmd("Emulation.setEmulatedMedia", json!({ "media": "print" }))
        .await;
    let split = page
        .eval(
            "return [...document.querySelectorAll('figure')].map((f) => getComputedStyle(f).breakInside);",
        )
        .await;
    assert!(
        split
            .as_array()
            .is_some_and(|a| a.iter().all(|v| v == "avoid")),
        "{split}"
    );
    let violations = page.axe().await;
    assert!(violations.is_empty(), "the report:{}", report(&violations));
    page.cmd("Emulation.setEmulatedMedia", json!({ "media": "" }))
        .await;

    // The host's page on a phone: figures per room, titles told apart, the range report.
    let host = browser.page("Host on a phone", 360, 780, true).await;
    host.goto(&format!("{}/host", server.url())).await;
    host.wait_for("visible($('host-key'))", "the sign-in").await;
    host.fill("host-key", HOST_KEY).await;
    host.click("host-enter").await;
    host.wait_for(
        "$$('room-figures-place').length === 6 && $$('room-figures-place').every((p) => p.dataset.loaded === 'true') && $('range-report')",
        "every room's figures",
    )
    .await;
    let seen = host
        .eval(
            "return {
               titles: $$('room-title').map(txt),
               attendance: $$('room-attendance').map(txt),
               duration: $$('room-duration').map(txt),
             };",
        )
        .await;
    let titles: Vec<String> = serde_json::from_value(seen["titles"].clone()).expect("titles");
    let mut distinct = titles.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 6, "each room told apart: {titles:?}");
    let mut attendance: Vec<String> =
        serde_json::from_value(seen["attendance"].clone()).expect("attendance");
    attendance.sort();
    assert_eq!(attendance, ["0", "0", "3", "4", "4", "5"], "{seen}");
    let wide = host.horizontal_scroll().await;
    assert!(wide.is_empty(), "the host page scrolls sideways: {wide:?}");
    let violations = host.axe().await;
    assert!(
        violations.is_empty(),
        "the host page:{}",
        report(&violations)
    );
    // For a person to look at when this fails (target/browser-artifacts).
    host.screenshot("host-reports-360.png").await;

    // The range report: HTML by default; the dates are checked before anything is asked.
    host.click("range-download").await;
    host.wait_for("visible($('range-error'))", "the missing dates")
        .await;
    host.eval(
        "for (const [t, v] of [['range-from', '2027-01-01'], ['range-to', '2027-12-31']]) {
           const i = $(t); i.value = v; i.dispatchEvent(new Event('input', {bubbles: true}));
         }",
    )
    .await;
    host.click("range-download").await;
    host.wait_for(
        "window.circlekeeper && window.circlekeeper.lastExport && window.circlekeeper.lastExport.format === 'html'",
        "the range report",
    )
    .await;
    let file = host.eval("return window.circlekeeper.lastExport;").await;
    let text = file["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("<!DOCTYPE html>"), "{file}");
    assert!(text.contains("Report over a date range"), "{text}");
    assert!(
        file["filename"]
            .as_str()
            .is_some_and(|f| f.ends_with(".html")),
        "{file}"
    );

    // "Open" shows the page from a `blob:` URL, which keeps the host page's policy: that policy
    // must let the report's stylesheet apply. Written into the host page itself (same policy).
    let styled = host
        .eval(&format!(
            "const res = await fetch('{path_of}', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }},
               body: JSON.stringify({{ key: '{HOST_KEY}', format: 'html' }}) }});
             const text = await res.text();
             document.open(); document.write(text); document.close();
             return [getComputedStyle(document.querySelector('header')).borderBottomStyle, document.querySelector('h1').textContent];"
        ))
        .await;
    assert_eq!(
        styled,
        json!(["solid", "Alumni circle"]),
        "the report's stylesheet applies"
    );
}
