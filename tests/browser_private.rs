//! Private items in a real browser (issue 17, item 8): a series member writes a private
//! commitment, and every websocket frame the page sends is captured (`WebSocket.prototype.send`
//! wrapped before the page loads): the plaintext never leaves the browser, only its envelope.
//! Another browser profile opened from the same personal link (with its `&private=` key) reads
//! the commitment back; a profile opened from the link without that key shows "can't be read
//! on this device", and offers the complete link it made.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{chromium, report, Browser, Page};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::Command;
use common::TestServer;
use serde_json::json;

/// Records every frame the page sends on any websocket, in `window.__sent`.
const CAPTURE: &str = "window.__sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) { window.__sent.push(String(data)); return send.call(this, data); };";

/// A member's private key as the browser that makes the links adds it (32 bytes, base64url).
const PRIVATE_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// Open the member page from `link`, enter the current session, and wait until live.
async fn enter_as_member(page: &Page<'_>, link: &str) {
    page.cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": CAPTURE }),
    )
    .await;
    page.goto(link).await;
    page.wait_for("visible($('member-page'))", "the member page")
        .await;
    enter_current(page).await;
}

/// From the member page: enter the current session (agreeing to the ground rules the first
/// time this member enters it), and wait until live.
async fn enter_current(page: &Page<'_>) {
    page.click("member-enter").await;
    let live = "$('connection-state') && $('connection-state').textContent.trim() === 'live'";
    page.wait_for(
        &format!("visible($('consent-checkbox')) || ({live})"),
        "the ground rules, or the room",
    )
    .await;
    let agree = page
        .eval("return visible($('consent-checkbox'));")
        .await
        .as_bool()
        .unwrap_or(false);
    if agree {
        page.check("consent-checkbox").await;
        page.click("enter-button").await;
    }
    page.live().await;
}

#[tokio::test]
async fn a_private_commitment_leaves_the_browser_sealed_and_opens_only_with_its_link() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let (series_id, series, host_url) = server.series_with_a_session().await;
    let member_url = series["members"][0]["url"]
        .as_str()
        .expect("Ada's link")
        .to_string();
    assert!(member_url.contains(&format!("/s/{series_id}#member=")));
    let with_key = format!("{member_url}&private={PRIVATE_KEY}");

    // Fran facilitates over a plain websocket.
    let (room, host_key) = host_url
        .split_once("/r/")
        .and_then(|(_, rest)| rest.split_once("#host="))
        .expect("a host link");
    let mut fran = server.connect("Fran").await;
    fran.enter(Command::Host {
        room: room.to_string(),
        key: host_key.to_string(),
        name: "Fran".into(),
    })
    .await;
    fran.ok(Command::AcceptGroundRules).await;

    let ada = browser.page("Ada", 1280, 900, false).await;
    enter_as_member(&ada, &with_key).await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 4 }).await; // the check-out

    let secret = "Tell my sister I am moving abroad";
    ada.fill("commitment-text", secret).await;
    ada.wait_for(
        "/encrypted on this device.*personal link/.test(txt($('private-note')))",
        "what only me means for a member",
    )
    .await;
    ada.click("commitment-save").await;
    let shown = format!("txt($('my-commitments')).includes({secret:?})");
    ada.wait_for(&shown, "my commitment, opened here").await;
    let sent = ada
        .eval("return window.__sent.join('\\n');")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        sent.contains("record_commitment") && sent.contains("\"text\":\"ck1:"),
        "the commitment went out sealed: {sent}"
    );
    assert!(!sent.contains(secret), "the plaintext left the browser");
    assert!(!sent.contains(PRIVATE_KEY), "the key left the browser");

    // Another profile, from the same personal link: the same member reads it.
    let phone = browser.page("Ada's laptop", 1280, 900, false).await;
    enter_as_member(&phone, &with_key).await;
    phone.wait_for(&shown, "my commitment on my laptop").await;
    phone
        .wait_for("!$('unreadable')", "nothing unreadable")
        .await;

    // A profile opened from the link without the key: the page makes one and offers the
    // complete link; the commitment cannot be read here.
    let other = browser.page("Ada elsewhere", 1280, 900, false).await;
    other
        .cmd(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": CAPTURE }),
        )
        .await;
    other.goto(&member_url).await;
    other
        .wait_for("visible($('private-link'))", "the complete link to save")
        .await;
    let link = other.text("private-link-url").await;
    assert!(
        link.starts_with(member_url.as_str()) && link.contains("&private="),
        "{link}"
    );
    assert!(!link.contains(PRIVATE_KEY), "a key of its own");
    // The card fits a small phone and is accessible.
    other.set_viewport(360, 740, true).await;
    let wide = other.horizontal_scroll().await;
    assert!(wide.is_empty(), "sideways scroll at 360 px: {wide:?}");
    let violations = other.axe().await;
    assert!(violations.is_empty(), "{}", report(&violations));
    other.set_viewport(1280, 900, false).await;
    other.click("private-link-saved").await;
    other.wait_for("!$('private-link')", "the link saved").await;
    enter_current(&other).await;
    other
        .wait_for(
            "/Can't be read on this device/.test(txt($('unreadable')))",
            "can't be read here",
        )
        .await;
    let seen = other.text("my-commitments").await;
    assert!(!seen.contains(secret), "{seen}");

    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}
