//! A member's calendar in a real headless Chromium against a real server on 127.0.0.1: the
//! member page offers "Subscribe to the calendar" with an address that serves the feed (and
//! not the member key), each planned session offers "Add to calendar" as a one-event file, a
//! pair plans its own session from the page and both partners see it, and the page passes axe
//! at 360 px with no sideways scroll.
//!
//! Without Chromium the test says plainly that it was skipped, and why; under CI (`CI` set) a
//! missing browser fails it instead.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{chromium, report, Browser};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use common::TestServer;
use serde_json::json;

/// Fetch `path` from the page (same origin) and return `status|body`.
const FETCH: &str = "const r = await fetch(PATH); return r.status + '|' + (await r.text());";

#[tokio::test]
async fn the_member_page_subscribes_to_the_calendar_and_adds_a_session() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;

    let created = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni swap", "cadence": "monthly", "cycle_months": 6,
                    "members": ["Ada", "Ben", "Chen"], "time_zone": "Europe/Berlin" })
            .to_string()
            .as_bytes(),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let series_id = created.json["series_id"].as_str().expect("id").to_string();
    let ada_url = created.json["members"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    let ada_key = created.json["members"][0]["key"]
        .as_str()
        .expect("key")
        .to_string();
    let ben_url = created.json["members"][1]["url"]
        .as_str()
        .expect("url")
        .to_string();
    let planned = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/me"),
            json!({ "key": ada_key, "planned": [{ "date": "2099-03-26", "time": "18:00", "minutes": 90 }] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(planned.status, 200, "{}", planned.text);
    let uid = planned.json["planned_sessions"][0]["uid"]
        .as_str()
        .expect("uid")
        .to_string();

    let page = browser.page("Member calendar", 360, 780, true).await;
    page.goto(&ada_url).await;
    let subscribe = page.text("calendar-subscribe").await;
    assert_eq!(subscribe, "Subscribe to the calendar");
    let href = page
        .eval("return document.querySelector('[data-test=\"calendar-subscribe\"]').getAttribute('href');")
        .await;
    let href = href.as_str().expect("an href").to_string();
    assert!(href.starts_with("webcal://127.0.0.1:"), "{href}");
    assert!(
        !href.contains(&ada_key),
        "the feed address has no member key"
    );
    // The same address over http serves the feed with the planned session.
    let http = href.replacen("webcal://", "http://", 1);
    let feed = page
        .eval(&FETCH.replace("PATH", &serde_json::to_string(&http).expect("json")))
        .await;
    let feed = feed.as_str().expect("text");
    assert!(feed.starts_with("200|BEGIN:VCALENDAR\r\n"), "{feed}");
    assert!(feed.contains(&format!("UID:{uid}\r\n")), "{feed}");
    assert!(
        feed.contains("DTSTART;TZID=Europe/Berlin:20990326T180000\r\n"),
        "{feed}"
    );

    // "Add to calendar" on the session: a one-event download with the same UID.
    assert_eq!(page.text("calendar-add").await, "Add to calendar");
    let add = page
        .eval("const a = document.querySelector('[data-test=\"calendar-add\"]'); return [a.getAttribute('href'), a.hasAttribute('download'), a.getAttribute('aria-label')];")
        .await;
    let add_href = add[0].as_str().expect("href").to_string();
    assert_eq!(add[1], true);
    assert!(
        add[2].as_str().unwrap_or_default().contains("2099"),
        "{add}"
    );
    let one = page
        .eval(&FETCH.replace("PATH", &serde_json::to_string(&add_href).expect("json")))
        .await;
    let one = one.as_str().expect("text");
    assert!(one.starts_with("200|"), "{one}");
    assert_eq!(one.matches("BEGIN:VEVENT").count(), 1, "{one}");
    assert!(one.contains(&format!("UID:{uid}\r\n")), "{one}");

    // The page fits 360 px and passes axe.
    assert_eq!(page.horizontal_scroll().await, Vec::<String>::new());
    let violations = page.axe().await;
    assert!(violations.is_empty(), "{}", report(&violations));

    // Ada plans a session with Ben from her page; Ben sees it on his.
    page.eval("const s = $('pair-plan-partner'); s.value = 'm2'; s.dispatchEvent(new Event('change', { bubbles: true }));")
        .await;
    page.fill("pair-plan-date", "2099-04-09").await;
    page.fill("pair-plan-time", "07:30").await;
    page.click("pair-plan-add").await;
    page.wait_for(
        "document.querySelectorAll('[data-test=\"calendar-session\"]').length === 2",
        "the pair's session on Ada's page",
    )
    .await;
    let ben = browser.page("Ben's calendar", 360, 780, true).await;
    ben.goto(&ben_url).await;
    ben.wait_for(
        "document.querySelectorAll('[data-test=\"calendar-session\"]').length === 2",
        "the pair's session on Ben's page",
    )
    .await;
    let with = ben
        .eval("return [...document.querySelectorAll('[data-test=\"calendar-session\"]')].map(li => txt(li)).join(' / ');")
        .await;
    assert!(
        with.as_str().unwrap_or_default().contains("With Ada"),
        "{with}"
    );
}

#[tokio::test]
async fn the_schedule_stage_of_a_pairs_first_session_plans_into_both_calendars() {
    use circlekeeper_protocol::{Command, RoomCreated};
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let created = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Pairs", "cadence": "monthly", "cycle_months": 6,
                    "members": ["Ada", "Ben"], "time_zone": "Europe/Berlin" })
            .to_string()
            .as_bytes(),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let series_id = created.json["series_id"].as_str().expect("id").to_string();
    let opened = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/rooms"),
            json!({ "key": created.json["host_key"], "format": "first_pair_session" })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let room: RoomCreated = serde_json::from_value(opened.json).expect("a room");
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;

    let mut pages = Vec::new();
    for (i, name) in ["Ada", "Ben"].into_iter().enumerate() {
        let p = browser.page(name, 360, 780, true).await;
        p.goto(created.json["members"][i]["url"].as_str().expect("url"))
            .await;
        p.click("member-enter").await;
        p.check("consent-checkbox").await;
        p.click("enter-button").await;
        p.live().await;
        pages.push(p);
    }
    let ada = &pages[0];
    // Not before the schedule stage.
    fran.ok(Command::Start).await;
    ada.wait_for(
        "txt($('stage-title')).includes('Confidentiality')",
        "the first stage",
    )
    .await;
    assert_eq!(ada.eval("return !$('schedule-card');").await, true);
    fran.ok(Command::JumpToStage { index: 3 }).await;
    ada.wait_for("visible($('schedule-card'))", "the scheduling form")
        .await;
    ada.fill("pair-plan-date", "2099-05-05").await;
    ada.fill("pair-plan-time", "07:30").await;
    ada.fill("pair-plan-minutes", "45").await;
    ada.click("pair-plan-add").await;
    ada.wait_for(
        "document.querySelectorAll('[data-test=\"schedule-sessions\"] li').length === 1",
        "the planned session listed",
    )
    .await;
    assert_eq!(ada.horizontal_scroll().await, Vec::<String>::new());
    let violations = ada.axe().await;
    assert!(violations.is_empty(), "{}", report(&violations));

    // Ben's calendar has it.
    let ben_key = created.json["members"][1]["key"].as_str().expect("key");
    let address = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/calendar/feed"),
            json!({ "key": ben_key }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(address.status, 200, "{}", address.text);
    let planned = &address.json["planned"];
    assert_eq!(planned.as_array().map(Vec::len), Some(1), "{planned}");
    assert_eq!(planned[0]["date"], "2099-05-05");
    assert_eq!(planned[0]["time"], "07:30");
    assert_eq!(planned[0]["minutes"], 45);
    assert_eq!(planned[0]["with"], json!(["m1", "m2"]));
}
