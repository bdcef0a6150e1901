//! A series' member list on the `/host` page, and the end-of-cycle question on a member's page,
//! in a real headless Chromium against a real server on 127.0.0.1: the host adds a member (and
//! sees their link once), pauses and removes members and makes a returning guest a member; a
//! member whose cycle has ended is asked on their page, answers, and sees their earlier choice;
//! another is asked in the room when they enter it.
//!
//! Without Chromium the test says it was skipped; under CI (`CI` set) a missing browser fails.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{chromium, report, Browser};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, RoomCreated};
use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn a_host_changes_the_member_list_and_a_member_answers_the_end_of_a_cycle_in_a_real_browser()
{
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |s| {
        s.host_key = Some("community-host-key-for-tests".into());
    })
    .await;
    let url = server.url();

    // A monthly series of one-month cycles, its first session open, and a guest in it.
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Winter cohort", "cadence": "monthly", "cycle_months": 1, "members": ["Ada", "Ben"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series = answer.json;
    let series_id = series["series_id"].as_str().expect("series id").to_string();
    let opened = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/rooms"),
            json!({ "key": series["host_key"] }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let room: RoomCreated = serde_json::from_value(opened.json).expect("a room");
    let mut gil = server.connect("Gil").await;
    gil.enter(Command::Join {
        room: room.room_id.clone(),
        key: room.join_key.clone(),
        name: "Gil".into(),
        guest: None,
    })
    .await;
    assert!(gil.guest_key.is_some());

    let browser = Browser::launch(&path).await;

    // A guest in the browser: the device keeps the series guest key its welcome gave, and that
    // key makes them the same guest (the same participant) again.
    let hal = browser.page("Hal", 360, 800, true).await;
    hal.enter_room(&room.join_url, "Hal").await;
    let stored = hal
        .eval(&format!(
            "return localStorage.getItem('circlekeeper.guest.{series_id}');"
        ))
        .await;
    let hal_key = stored.as_str().expect("a kept guest key").to_string();
    let hal_id = hal.me().await;
    let mut again = server.connect("Hal again").await;
    again
        .enter(Command::Join {
            room: room.room_id.clone(),
            key: room.join_key.clone(),
            name: "Hal on the phone".into(),
            guest: Some(hal_key),
        })
        .await;
    assert_eq!(u64::from(again.you), hal_id);
    assert_eq!(again.participant(again.you).guest.as_deref(), Some("g2"));
    let host = browser.page("Host", 360, 800, true).await;
    host.goto(&format!("{url}/host")).await;
    host.fill("host-key", "community-host-key-for-tests").await;
    host.click("host-enter").await;
    host.wait_for("$('series-members')", "the member list section")
        .await;
    host.eval("$('series-members').open = true;").await;

    // The wrong key is refused; the right one shows the members.
    host.fill("members-key", "not the key").await;
    host.click("members-open").await;
    host.wait_for("visible($('members-error'))", "a refusal")
        .await;
    host.fill("members-key", series["host_key"].as_str().expect("key"))
        .await;
    host.click("members-open").await;
    host.wait_for(
        "$('members-list') && $('members-list').querySelectorAll('li').length === 2",
        "two members",
    )
    .await;

    // Add a member: their link is shown once.
    host.fill("member-add-name", "Cy").await;
    host.click("member-add").await;
    host.wait_for(
        "$('members-list').querySelectorAll('li').length === 3 && $('member-new-link') && $('member-new-link').value.includes('/s/')",
        "Cy and her link",
    )
    .await;
    let link = host
        .eval("return $('member-new-link').value;")
        .await
        .as_str()
        .expect("a link")
        .to_string();
    assert!(link.contains(&format!("/s/{series_id}#member=")), "{link}");

    // Pause Ada, remove Ben, make the guest a member.
    host.eval("document.querySelector('[data-member=m1] [data-test=member-pause]').click();")
        .await;
    host.wait_for(
        "document.querySelector('[data-member=m1]').dataset.status === 'paused'",
        "Ada paused",
    )
    .await;
    host.eval("document.querySelector('[data-member=m2] [data-test=member-remove]').click();")
        .await;
    host.wait_for(
        "document.querySelector('[data-member=m2]').dataset.status === 'removed' && !document.querySelector('[data-member=m2] [data-test=member-remove]')",
        "Ben removed",
    )
    .await;
    host.eval("document.querySelector('[data-guest=g1] [data-test=guest-convert]').click();")
        .await;
    host.wait_for(
        "$('members-list').querySelectorAll('li').length === 4 && document.querySelector('[data-member=m4]') && !document.querySelector('[data-guest=g1] [data-test=guest-convert]') && document.querySelector('[data-guest=g2] [data-test=guest-convert]')",
        "Gil a member, Hal still a guest",
    )
    .await;
    let wide = host
        .eval("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(wide, json!(true), "no sideways scroll at 360 px");
    let violations = host.axe().await;
    assert!(violations.is_empty(), "{}", report(&violations));

    // The cycle (one session) has ended: Ada's page asks, and keeps her answer.
    let ada = browser.page("Ada", 360, 800, true).await;
    ada.goto(series["members"][0]["url"].as_str().expect("member url"))
        .await;
    ada.wait_for("$('cycle-asking')", "the question").await;
    ada.choose("cycle-choice", "continue").await;
    ada.wait_for(
        "!$('cycle-asking') && $('cycle-previous') && $('cycle-previous').querySelectorAll('li').length === 1",
        "the earlier choice",
    )
    .await;
    let violations = ada.axe().await;
    assert!(violations.is_empty(), "{}", report(&violations));

    // Cy enters the session with her new link: the room asks her, on her screen only.
    let cy = browser.page("Cy", 360, 800, true).await;
    cy.goto(&link).await;
    cy.click("member-enter").await;
    cy.wait_for(
        "$('cycle-dialog') && $('cycle-dialog').open",
        "the question in the room",
    )
    .await;
    cy.eval("document.querySelector('[data-test=cycle-dialog-choice][value=rematch]').click();")
        .await;
    cy.wait_for("!$('cycle-dialog')", "the answer saved").await;
    // The fragment is `member=KEY&private=PKEY`: the host's browser added the private key.
    let fragment = link.split("#member=").nth(1).expect("key");
    let (cy_key, private) = fragment.split_once("&private=").expect("a private key");
    assert_eq!(private.len(), 43, "32 bytes, base64url: {link}");
    let answered = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/me"),
            json!({ "key": cy_key }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(answered.json["cycle"]["previous"], json!([[1, "rematch"]]));
    assert_eq!(answered.json["cycle"]["asking"], json!(null));

    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
    gil.sync().await;
}
