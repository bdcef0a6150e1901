//! Joining, the join link on a second device, a phone's check-out and long names, in a real
//! headless Chromium against a real server on 127.0.0.1 (the facilitator and others steer from
//! websocket clients where their screens are not what is tested):
//!
//! - the join page says which circle it is (title, format, the facilitator in the room, when),
//!   shows the ground rules in full (no scroll box), says a taken name next to the name field,
//!   and lands the participant at the top of the room with its heading focused;
//! - a facilitator's second device shows the current join link without replacing it;
//! - on a 360-pixel phone a running check-out is steps, with the current speaker in sight;
//! - a 60-character name without spaces pushes no view sideways at 360 pixels, and a
//!   right-to-left name is isolated wherever it is shown;
//! - axe finds nothing on the join page and the phone's check-out, light and dark.
//!
//! Without Chromium the tests say plainly that they were skipped, and why; under CI (`CI` set)
//! a missing browser fails them instead.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

use std::sync::Arc;

use browser::{chromium, report, Browser, Page};
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, RoomCreated};
use common::{Client, TestServer};
use serde_json::{json, Value};

/// A name of 60 letters and no space, the longest a name may be.
const LONG: &str = "Maximilianaveronikakatharinaelisabethwilhelminecharlottexyzw";

/// A right-to-left name (Hebrew letters).
const HEBREW: &str = "שרה כהן";

/// A server on a temporary store with the system clock (the browser runs in real time).
async fn server() -> TestServer {
    let store = SledStore::temporary().expect("store");
    TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await
}

/// `name` enters `room` from a websocket client (`host`: by the host link), the client itself
/// called `client` (its command ids are made from that, and a 60-letter name would make them
/// too long).
async fn enter_as(
    server: &TestServer,
    room: &RoomCreated,
    client: &str,
    name: &str,
    host: bool,
) -> Client {
    let mut c = server.connect(client).await;
    let (id, name) = (room.room_id.clone(), name.to_string());
    c.enter(if host {
        Command::Host {
            room: id,
            key: room.host_key.clone(),
            name,
        }
    } else {
        Command::Join {
            room: id,
            key: room.join_key.clone(),
            name,
            guest: None,
        }
    })
    .await;
    c
}

/// The join and host links of `room` on `server`.
fn links(server: &TestServer, room: &RoomCreated) -> (String, String) {
    let url = server.url();
    (
        format!("{url}/r/{}#join={}", room.room_id, room.join_key),
        format!("{url}/r/{}#host={}", room.room_id, room.host_key),
    )
}

/// A screenshot of what the window shows now (sticky parts where a person sees them), written
/// to the browser artifacts as `file`.
async fn window_shot(page: &Page<'_>, file: &str) {
    use base64::Engine as _;
    let shot = page
        .cmd("Page.captureScreenshot", json!({ "format": "png" }))
        .await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("png data"))
        .expect("base64");
    std::fs::write(browser::artifacts().join(file), png).expect("write screenshot");
}

/// Fail with what axe found on `page` in the light and the dark scheme, if anything.
async fn assert_axe_clean(page: &Page<'_>, screen: &str) {
    for scheme in ["light", "dark"] {
        page.set_color_scheme(scheme).await;
        page.eval(
            "await Promise.race([Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null))), new Promise((ok) => setTimeout(ok, 3000))]);",
        )
        .await;
        let violations = page.axe().await;
        assert!(
            violations.is_empty(),
            "{screen} ({scheme}): axe found\n{}",
            report(&violations)
        );
    }
}

/// Fail if `page` scrolls sideways, naming what sticks out. The live region (`#announcer`, a
/// 1-pixel `visually-hidden` box at margin -1px, clipped to nothing) is not something a person
/// scrolls to, so it is left out.
async fn assert_no_sideways(page: &Page<'_>, screen: &str) {
    let mut why = page.horizontal_scroll().await;
    why.retain(|line| !line.starts_with("div#announcer.visually-hidden "));
    if why.is_empty() {
        return;
    }
    // What reaches past the window, clipped or not, to tell why.
    let wide = page
        .eval(
            "const w = document.documentElement.clientWidth;
             return [...document.body.querySelectorAll('*')]
               .filter((el) => el.getBoundingClientRect().right > w + 0.5 || el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
               .slice(0, 12)
               .map((el) => `${el.tagName} ${el.className} ${el.dataset.test || ''} right=${Math.round(el.getBoundingClientRect().right)} sw=${el.scrollWidth}`);",
        )
        .await;
    panic!(
        "{screen}: the page scrolls sideways at 360 px:\n{}\nwide: {wide}",
        why.join("\n")
    );
}

#[test]
fn the_long_name_is_sixty_letters_without_a_space() {
    assert_eq!(LONG.chars().count(), 60);
    assert!(!LONG.contains(' '));
}

#[tokio::test]
async fn the_join_page_says_which_circle_refuses_a_taken_name_beside_the_field_and_lands_at_the_top(
) {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let (join, _) = links(&server, &room);
    let mut fran = server.host(&room, "Fran").await;
    let browser = Browser::launch(&path).await;
    let ada = browser.page("Ada", 360, 640, true).await;
    ada.goto(&join).await;
    ada.wait_for(
        "$('circle-facts') && $('ground-rules') && /stays in this circle/.test(txt($('ground-rules')))",
        "the circle's facts and ground rules",
    )
    .await;
    assert_eq!(ada.text("circle-title").await, "Tuesday set");
    assert_eq!(ada.text("circle-format").await, "Coaching circle");
    assert_eq!(ada.text("circle-facilitator").await, "Fran");
    assert_eq!(ada.text("circle-when").await, "Not started yet");
    // The ground rules are there in full: no box that scrolls, nothing cut off.
    let rules = ada
        .eval(
            "const el = $('ground-rules'); const s = getComputedStyle(el);
             return { overflow: s.overflowY, cut: el.scrollHeight - el.clientHeight, max: s.maxHeight };",
        )
        .await;
    assert!(
        !["auto", "scroll"].contains(&rules["overflow"].as_str().unwrap_or("")),
        "{rules}"
    );
    assert_eq!(rules["cut"], 0, "{rules}");
    assert_eq!(rules["max"], "none", "{rules}");
    assert_no_sideways(&ada, "join page").await;
    assert!(ada.screenshot("join-page-phone.png").await.exists());
    assert_axe_clean(&ada, "join page").await;

    // A name that reads as Fran's is refused next to the name field, which keeps the focus.
    ada.fill("name-input", "FRAN").await;
    ada.check("consent-checkbox").await;
    ada.click("enter-button").await;
    ada.wait_for("visible($('name-error'))", "the name's error")
        .await;
    assert!(
        ada.text("name-error")
            .await
            .contains("already goes by that name"),
        "{}",
        ada.text("name-error").await
    );
    let field = ada
        .eval(
            "const i = $('name-input');
             return { invalid: i.getAttribute('aria-invalid'), described: i.getAttribute('aria-describedby'),
                      beside: i.parentElement.contains($('name-error')), focused: document.activeElement === i };",
        )
        .await;
    assert_eq!(
        field,
        json!({"invalid": "true", "described": "name-help name-error", "beside": true, "focused": true})
    );

    // Scrolled down to the button, Ada enters and lands at the top, on the room's heading.
    ada.fill("name-input", "Ada").await;
    ada.eval("$('enter-button').scrollIntoView();").await;
    ada.click("enter-button").await;
    ada.live().await;
    let landed = ada
        .eval(
            "await until(() => document.activeElement && /^H[12]$/.test(document.activeElement.tagName), 10000, 'the heading focused');
             return { y: window.scrollY, heading: document.activeElement.closest('main') !== null };",
        )
        .await;
    assert_eq!(landed, json!({"y": 0, "heading": true}));
    fran.sync().await;
    assert_eq!(fran.view.participants.len(), 2);
}

#[tokio::test]
async fn a_second_device_shows_the_same_join_link_which_keeps_working() {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let (_, host) = links(&server, &room);
    let browser = Browser::launch(&path).await;
    // Fran's laptop never saw the join link (the room was opened elsewhere).
    let laptop = browser.page("Fran's laptop", 1280, 900, false).await;
    laptop.enter_room(&host, "Fran").await;
    laptop
        .wait_for("visible($('show-join'))", "the show-link button")
        .await;
    laptop.click("show-join").await;
    laptop
        .wait_for("visible($('invite-link'))", "the join link")
        .await;
    let shown = laptop.text("invite-link").await;
    let (join, _) = links(&server, &room);
    assert_eq!(shown, join);
    assert!(
        laptop.text("link-notice").await.contains("not replaced"),
        "{}",
        laptop.text("link-notice").await
    );
    // The link was not replaced: the key it holds still admits someone new.
    let ben = server.join(&room, "Ben").await;
    assert!(!ben.participant(ben.you).removed);
    laptop
        .wait_for(
            "document.querySelectorAll('[data-test=participants] [data-participant]').length === 2",
            "Ben in the list",
        )
        .await;
    assert_eq!(laptop.text("invite-link").await, join);
}

/// A check-out room with Fran (websocket), Ben (websocket, speaking) and Ada on a 360-pixel
/// phone, started; `ada_name` is Ada's name.
async fn checkout<'b>(
    server: &TestServer,
    browser: &'b Browser,
    ada_name: &str,
) -> (Client, Client, Page<'b>) {
    let room = server
        .create_room(common::checkout_room("Friday check-out"))
        .await;
    let (join, _) = links(server, &room);
    let mut fran = server.host(&room, "Fran").await;
    let mut ben = enter_as(server, &room, "Ben", LONG, false).await;
    let ada = browser.page("Ada", 360, 640, true).await;
    ada.enter_room(&join, ada_name).await;
    for c in [&mut fran, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    ben.catch_up(fran.seq).await;
    ben.ok(Command::RaiseHand).await;
    fran.catch_up(ben.seq).await;
    fran.ok(Command::GiveFloor {
        participant: Some(ben.you),
    })
    .await;
    ada.wait_for(
        &format!(
            "$('speaker') && txt($('speaker')).includes({})",
            json!(LONG)
        ),
        "Ben speaking",
    )
    .await;
    (fran, ben, ada)
}

/// Which step the phone's check-out shows, and what is visible.
async fn step_state(ada: &Page<'_>) -> Value {
    ada.eval(
        "const turn = document.querySelector('.centre .turn');
         const r = $('speaker').getBoundingClientRect();
         // What a person sees at the middle of the speaker's name: the name, not the top bar.
         const seen = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
         return {
           step: $('checkout-step').dataset.step,
           label: txt($('checkout-step')),
           commit: visible($('commitment-text')),
           shared: visible($('circle-commitments').parentElement),
           survey: visible($('survey-save')),
           back: visible($('checkout-back')),
           next: visible($('checkout-next')),
           speakerInSight: r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0 && turn.contains(seen),
         };",
    )
    .await
}

#[tokio::test]
async fn a_phones_check_out_is_steps_with_the_speaker_in_sight() {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let browser = Browser::launch(&path).await;
    let (_fran, _ben, ada) = checkout(&server, &browser, "Ada").await;
    ada.wait_for("visible($('checkout-steps'))", "the steps")
        .await;

    let first = step_state(&ada).await;
    assert_eq!(first["step"], "commit", "{first}");
    assert_eq!(first["label"], "Step 1 of 3: Your commitment", "{first}");
    assert_eq!(
        (&first["commit"], &first["shared"], &first["survey"]),
        (&json!(true), &json!(false), &json!(false)),
        "{first}"
    );
    assert_eq!(
        (&first["back"], &first["next"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(first["speakerInSight"], true, "{first}");
    assert_axe_clean(&ada, "phone check-out, step 1").await;

    for (step, label) in [
        ("shared", "Step 2 of 3: The circle's commitments"),
        ("survey", "Step 3 of 3: How was it?"),
    ] {
        ada.click("checkout-next").await;
        ada.wait_for(
            &format!("$('checkout-step').dataset.step === '{step}'"),
            step,
        )
        .await;
        // Scrolled to the end of the step, the speaker is still in sight.
        ada.eval("window.scrollTo(0, document.body.scrollHeight);")
            .await;
        let now = step_state(&ada).await;
        assert_eq!(now["label"], label, "{now}");
        assert_eq!(now["commit"], false, "{now}");
        assert_eq!(now["shared"], step == "shared", "{now}");
        assert_eq!(now["survey"], step == "survey", "{now}");
        assert_eq!(now["speakerInSight"], true, "{step}: {now}");
        assert_eq!(
            ada.focused_test().await.as_deref(),
            Some("checkout-step"),
            "the focus follows the step"
        );
        assert_no_sideways(&ada, step).await;
        window_shot(&ada, &format!("checkout-phone-{step}.png")).await;
    }
    assert_axe_clean(&ada, "phone check-out, the survey step").await;
    ada.click("checkout-back").await;
    ada.wait_for("$('checkout-step').dataset.step === 'shared'", "back")
        .await;

    // On a wide screen it is one page again.
    ada.set_viewport(1280, 900, false).await;
    ada.wait_for("!visible($('checkout-steps'))", "no steps")
        .await;
    let wide = step_state(&ada).await;
    assert_eq!(
        (&wide["commit"], &wide["survey"]),
        (&json!(true), &json!(true)),
        "{wide}"
    );
}

#[tokio::test]
async fn a_sixty_letter_name_pushes_no_phone_view_sideways() {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let browser = Browser::launch(&path).await;

    // The join page, with a long-named facilitator in the room.
    let room = server.create_builtin_room("coaching_swap").await;
    let (join, _) = links(&server, &room);
    let mut fran = enter_as(&server, &room, "Fran", LONG, true).await;
    let ada = browser.page("Ada", 360, 640, true).await;
    ada.goto(&join).await;
    ada.wait_for("$('circle-facilitator')", "the facilitator")
        .await;
    let facilitator = ada
        .eval("const el = $('circle-facilitator'); return { dir: el.getAttribute('dir'), title: el.title };")
        .await;
    assert_eq!(facilitator, json!({"dir": "auto", "title": LONG}));
    assert_no_sideways(&ada, "join page").await;

    // The room, in each kind of stage, with a long-named participant.
    // Another 60-letter name (one that reads as Fran's would be refused).
    ada.fill("name-input", &format!("{}q", &LONG[..59])).await;
    ada.check("consent-checkbox").await;
    ada.click("enter-button").await;
    ada.live().await;
    assert_no_sideways(&ada, "lobby").await;
    let mut ben = server.join(&room, "Ben").await;
    for c in [&mut fran, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    ada.wait_for("/Welcome/.test(txt($('stage-title')))", "the welcome")
        .await;
    assert_no_sideways(&ada, "welcome").await;
    fran.ok(Command::NextStage).await;
    ada.wait_for("/Check-in/.test(txt($('stage-title')))", "the check-in")
        .await;
    assert_no_sideways(&ada, "check-in round").await;
    fran.ok(Command::NextStage).await;
    fran.ok(Command::ProposePairs { seed: Some(1) }).await;
    fran.ok(Command::ConfirmPairs).await;
    ada.wait_for("/Pairing/.test(txt($('stage-title')))", "the pairing")
        .await;
    assert_no_sideways(&ada, "pairing").await;
    fran.ok(Command::NextStage).await;
    ada.wait_for("visible($('pair-view'))", "the pair view")
        .await;
    assert_no_sideways(&ada, "pair view").await;
    fran.sync().await;
    let last = fran.view.plan.len() - 1;
    fran.ok(Command::JumpToStage { index: last }).await;
    ada.wait_for("visible($('commitment-text'))", "the check-out")
        .await;
    assert_no_sideways(&ada, "check-out").await;

    // A series member's page, for a member with a long name.
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni circle", "cadence": "monthly", "cycle_months": 3, "members": [LONG, "Ben"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let member = answer.json["members"][0]["url"]
        .as_str()
        .expect("member url")
        .to_string();
    let chen = browser.page("Member", 360, 640, true).await;
    chen.goto(&member).await;
    chen.wait_for("visible($('member-page'))", "the member page")
        .await;
    assert_no_sideways(&chen, "member page").await;
}

#[tokio::test]
async fn a_right_to_left_name_does_not_reorder_the_words_around_it() {
    let Some(path) = chromium() else { return };
    let server = server().await;
    let browser = Browser::launch(&path).await;
    let room = server.create_builtin_room("coaching_swap").await;
    let (join, _) = links(&server, &room);
    let mut fran = server.host(&room, "Fran").await;
    let mut sara = server.join(&room, HEBREW).await;
    let ben = browser.page("Ben", 360, 640, true).await;
    ben.enter_room(&join, "Ben").await;
    for c in [&mut fran, &mut sara] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    fran.ok(Command::NextStage).await;
    fran.ok(Command::NextStage).await;
    fran.ok(Command::ProposePairs { seed: Some(1) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    ben.wait_for("visible($('pair-view'))", "the pair view")
        .await;

    // Shown alone, the name is in an element of its own direction.
    let partner = ben
        .eval("const el = $('partner'); return { dir: el.getAttribute('dir'), text: txt(el), title: el.title };")
        .await;
    assert_eq!(partner["dir"], "auto", "{partner}");
    assert_eq!(partner["text"], HEBREW, "{partner}");
    // Placed in a sentence, it sits inside FSI … PDI, so the words after it keep their order:
    // the rendered text after the name starts to the right of the sentence's start.
    let sentence = ben
        .eval(&format!(
            "const el = [...document.querySelectorAll('.pair-view p:not(.pair-with)')].find((p) => p.textContent.includes({name}));
             if (!el) return null;
             const text = el.textContent;
             const at = text.indexOf({name});
             const isolated = text[at - 1] === '\\u2068' && text[at + {len}] === '\\u2069';
             return {{ text, isolated }};",
            name = json!(HEBREW),
            len = HEBREW.chars().count()
        ))
        .await;
    assert!(sentence.is_object(), "no sentence names Sara: {sentence}");
    assert_eq!(sentence["isolated"], true, "{sentence}");
}
