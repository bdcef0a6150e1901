//! The facilitator's console in a real headless Chromium against a real server on 127.0.0.1
//! (manual clock: time moves only when a test advances it): the console fits one laptop screen
//! in every kind of stage, offers no participant-only controls to a facilitator who is not
//! playing, sets "End session" apart and has it confirm, makes "Resume" the primary button while
//! paused; in a round the big ring is the speaker's time, overtime and the end say so in words;
//! the digits fit the ring; presence says "away" in words; the focus stays on a control after
//! every console action; the keyboard shortcuts work, stay quiet while typing, and are listed in
//! their help dialog. axe-core checks the console in each stage reached, light and dark.
//!
//! The other people in the room are websocket clients (`tests/common`), so that one Chromium
//! page is all each test starts. Without Chromium the tests say plainly that they were skipped,
//! and why; under CI (`CI` set) a missing browser fails them instead.

#[path = "common/browser/mod.rs"]
mod browser;
mod common;

#[path = "browser_console/support.rs"]
mod support;

use std::time::Duration;

use browser::{chromium, Browser, Modifier};
use circlekeeper_protocol::Command;
use common::TestServer;
use serde_json::Value;
use support::{
    digits_fit, fits, focus_kept, nudge, press_on, primary, room_with, settled, shown, stage_is,
    view, Audit, MOVERS,
};

#[tokio::test]
async fn the_console_fits_a_laptop_screen_in_every_stage_kind() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start().await;
    let browser = Browser::launch(&path).await;
    let mut audit = Audit::default();

    // An action learning set: a round, a presenter speaking alone, hands.
    let (_room, fran, _people) =
        room_with(&server, &browser, "action_learning_set", &["Ada", "Ben"]).await;
    fits(
        &fran,
        "the lobby",
        &["stage-title", "timer", "start", "shortcuts-button"],
    )
    .await;
    audit.check(&fran, "console, lobby").await;
    fran.click("start").await;
    stage_is(&fran, "/Check-in/").await;
    fran.wait_for("visible($('next-turn'))", "the round's controls")
        .await;
    let round = [
        "stage-title",
        "speaker-clock",
        "timer",
        "speaker",
        "next-up",
        "next-turn",
        "pause",
        "timer-minus-1",
        "timer-plus-1",
        "timer-plus-5",
        "previous-stage",
        "next-stage",
        "end-session",
        "shortcuts-button",
    ];
    fits(&fran, "a round (check-in)", &round).await;
    audit.check(&fran, "console, a round").await;

    fran.click("next-stage").await;
    stage_is(&fran, "/Presentation/").await;
    let floor = [
        "stage-title",
        "timer",
        "speaker",
        "next-up",
        "give-floor",
        "take-floor",
        "pause",
        "timer-plus-1",
        "previous-stage",
        "next-stage",
        "end-session",
        "shortcuts-button",
    ];
    fits(&fran, "the presenter alone (presentation)", &floor).await;
    // A facilitator who is not presenting is not told to "listen fully", and has no hand to raise.
    let hint = fran
        .eval("const el = document.querySelector('.action-hint'); return el.hidden ? '' : txt(el);")
        .await;
    assert_eq!(
        hint,
        Value::from(""),
        "no participant's hint for the facilitator"
    );
    audit.check(&fran, "console, presenter only").await;

    fran.click("next-stage").await;
    stage_is(&fran, "/Clarifying/").await;
    fits(&fran, "hands (clarifying questions)", &floor).await;
    for control in ["raise-hand", "lower-hand", "draw-prompt", "done", "pass"] {
        assert!(
            !shown(&fran, control).await,
            "a facilitator who is not playing is offered {control}"
        );
    }
    assert_eq!(
        view(
            &fran,
            ".participants.find((p) => p.id === window.circlekeeper.state.you).standing"
        )
        .await,
        Value::from("facilitator")
    );
    audit.check(&fran, "console, hands").await;

    // Paused: "Resume" is the primary button, and it fits.
    fran.click("pause").await;
    fran.wait_for("visible($('resume'))", "paused").await;
    assert_eq!(primary(&fran).await.as_deref(), Some("resume"));
    let mut paused = floor.to_vec();
    paused.retain(|t| *t != "pause");
    paused.push("resume");
    fits(&fran, "paused", &paused).await;
    audit.check(&fran, "console, paused").await;
    fran.click("resume").await;
    fran.wait_for("visible($('pause'))", "running again").await;
    assert_ne!(primary(&fran).await.as_deref(), Some("resume"));

    // "End session" is set apart from "Next stage": another row end, another look.
    let apart = fran
        .eval(
            "const next = $('next-stage').getBoundingClientRect(), end = $('end-session').getBoundingClientRect();
             const gap = Math.max(end.left - next.right, end.top - next.bottom);
             const cn = getComputedStyle($('next-stage')).color, ce = getComputedStyle($('end-session')).color;
             return { gap, differs: cn !== ce, primary: $('end-session').classList.contains('primary') };",
        )
        .await;
    assert!(
        apart["gap"].as_f64().unwrap_or_default() >= 12.0,
        "End session sits right by Next stage: {apart}"
    );
    assert_eq!(
        apart["differs"],
        Value::Bool(true),
        "End session looks like Next stage: {apart}"
    );
    assert_eq!(apart["primary"], Value::Bool(false));

    // It asks first: cancelling keeps the session going.
    fran.click("end-session").await;
    fran.wait_for("visible($('confirm-cancel'))", "the question")
        .await;
    fran.click("confirm-cancel").await;
    assert_eq!(view(&fran, ".session.status").await, Value::from("running"));
    fran.click("end-session").await;
    fran.click("confirm-ok").await;
    fran.wait_for(
        "window.circlekeeper.state.view.session.status === 'ended'",
        "the end",
    )
    .await;
    // The clock says "ended", not a frozen time.
    fran.wait_for("txt($('timer')) === 'ended'", "the ended clock")
        .await;
    assert_eq!(
        fran.eval("return $('timer').hasAttribute('data-remaining-ms');")
            .await,
        Value::Bool(false)
    );
    audit.check(&fran, "console, ended").await;

    // A coaching swap: the pairing and the pairs.
    let (_swap, host, _pairs) =
        room_with(&server, &browser, "coaching_swap", &["Cal", "Dee"]).await;
    host.click("start").await;
    stage_is(&host, "/Welcome/").await;
    host.click("next-stage").await;
    stage_is(&host, "/Check-in/").await;
    host.click("next-stage").await;
    stage_is(&host, "/Pairing/").await;
    let pairing = [
        "stage-title",
        "timer",
        "pause",
        "timer-plus-1",
        "previous-stage",
        "next-stage",
        "end-session",
        "propose-pairs",
    ];
    fits(&host, "the pairing", &pairing).await;
    host.click("propose-pairs").await;
    host.wait_for(
        "document.querySelectorAll('[data-test=proposal] [data-group]').length === 1",
        "the proposal",
    )
    .await;
    let mut proposed = pairing.to_vec();
    proposed.push("confirm-pairs");
    fits(&host, "the pairing with a proposal", &proposed).await;
    audit.check(&host, "console, pairing").await;
    host.click("confirm-pairs").await;
    host.wait_for(
        "window.circlekeeper.state.view.pairs.groups.length === 1",
        "the pair",
    )
    .await;
    host.click("next-stage").await;
    host.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=coaching]')",
        "the dashboard",
    )
    .await;
    fits(
        &host,
        "the pairs",
        &[
            "stage-title",
            "timer",
            "pause",
            "timer-plus-1",
            "next-stage",
            "end-session",
            "move-everyone",
            "call-back",
        ],
    )
    .await;
    audit.check(&host, "console, pairs").await;
    // While the pair works, S asks first, as the Next stage button does; cancelling stays.
    host.eval("document.activeElement.blur();").await;
    host.press_key("s", &[]).await;
    host.wait_for("visible($('confirm-cancel'))", "S asks first")
        .await;
    audit
        .check(&host, "console, pairs, asking to call everyone back")
        .await;
    host.click("confirm-cancel").await;
    stage_is(&host, "/Coaching in pairs/").await;
    host.click("next-stage").await;
    host.wait_for("visible($('confirm-ok'))", "Next stage asks first")
        .await;
    host.click("confirm-ok").await;
    stage_is(&host, "/Check-out/").await;

    audit.assert_clean();
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn the_big_ring_is_the_speakers_time_and_overtime_absence_and_the_end_say_so() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start().await;
    let browser = Browser::launch(&path).await;
    let (_room, fran, mut people) =
        room_with(&server, &browser, "action_learning_set", &["Ada", "Ben"]).await;
    let mut audit = Audit::default();
    fran.click("start").await;
    stage_is(&fran, "/Check-in/").await;

    // In a round the speaker's 90 seconds are the big ring; the stage's 10 minutes the small one.
    fran.wait_for("visible($('speaker-clock'))", "the speaker's ring")
        .await;
    let rings = fran
        .eval(
            "const big = $('speaker-clock').closest('.timer-box'), small = $('timer').closest('.timer-box');
             return { big: big.getBoundingClientRect().width, small: small.getBoundingClientRect().width,
                      speaker: Number($('speaker-clock').dataset.remainingMs), stage: Number($('timer').dataset.remainingMs) };",
        )
        .await;
    let (big, small) = (
        rings["big"].as_f64().unwrap_or_default(),
        rings["small"].as_f64().unwrap_or_default(),
    );
    assert!(
        big > small * 1.5,
        "the speaker's ring is the big one: {rings}"
    );
    let speaker = rings["speaker"].as_i64().unwrap_or_default();
    let stage = rings["stage"].as_i64().unwrap_or_default();
    assert!(
        (85_000..=91_000).contains(&speaker),
        "the big ring shows the speaker's 90 s: {rings}"
    );
    assert!(
        (595_000..=601_000).contains(&stage),
        "the small ring shows the stage's 10 min: {rings}"
    );

    // The speaker's last seconds, then 35 s over: the ring says so in words and in its own
    // colour.
    server.advance(Duration::from_secs(75));
    nudge(&fran).await;
    fran.wait_for(
        "$('speaker-clock').closest('.timer-box').dataset.tone === 'warn'",
        "the warning",
    )
    .await;
    let warn_colour = fran
        .eval("return getComputedStyle($('speaker-clock')).color;")
        .await;
    server.advance(Duration::from_secs(50));
    nudge(&fran).await;
    fran.wait_for(
        "$('speaker-clock').closest('.timer-box').dataset.tone === 'over'",
        "overtime",
    )
    .await;
    let over = fran
        .eval(
            "const box = $('speaker-clock').closest('.timer-box');
             return { digits: txt($('speaker-clock')), note: txt(box.querySelector('.timer-note')),
                      colour: getComputedStyle($('speaker-clock')).color };",
        )
        .await;
    assert!(
        over["digits"]
            .as_str()
            .unwrap_or_default()
            .starts_with("+0:3"),
        "overtime reads +0:35: {over}"
    );
    assert_eq!(over["note"], Value::from("over time"), "{over}");
    assert_ne!(
        over["colour"], warn_colour,
        "overtime has its own colour: {over}"
    );
    audit.check(&fran, "console, the speaker over time").await;

    // An hour and more over: the longest clocks still fit inside their rings, on a laptop and
    // on a small phone.
    server.advance(Duration::from_millis(
        (10 * 60 + 3600 + 2 * 60 + 3) * 1000 - 125_000,
    ));
    nudge(&fran).await;
    // (Taking a minute off an expired timer takes off less: the stage's clock reads about
    // +1:01:03, as long as +1:02:03.)
    fran.wait_for(
        "/^\\+1:0\\d:\\d\\d$/.test(txt($('timer'))) && /^\\+1:\\d\\d:\\d\\d$/.test(txt($('speaker-clock')))",
        "more than an hour over on both clocks",
    )
    .await;
    for (w, h, mobile) in [(1366, 768, false), (360, 740, true)] {
        fran.set_viewport(w, h, mobile).await;
        fran.eval(
            "await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));",
        )
        .await;
        for test in ["timer", "speaker-clock"] {
            if let Err(why) = digits_fit(&fran, test).await {
                panic!("at {w}x{h} the digits spill out of the ring: {why}");
            }
        }
    }
    fran.set_viewport(1280, 800, false).await;

    // Presence: Ada goes away; the people panel says so in words, and her raised hand is not
    // the console's main action.
    fran.click("next-stage").await;
    fran.click("next-stage").await;
    stage_is(&fran, "/Clarifying/").await;
    let ada_id = people[0].you;
    people[0].ok(Command::RaiseHand).await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=queue] [data-participant]').length === 1",
        "Ada's hand",
    )
    .await;
    assert_eq!(primary(&fran).await.as_deref(), Some("give-floor"));
    people[0].disconnect().await;
    fran.wait_for(
        &format!("document.querySelector('[data-test=participants] [data-participant=\"{ada_id}\"]').dataset.presence === 'away'"),
        "Ada away",
    )
    .await;
    let words = fran
        .eval(&format!(
            "const li = document.querySelector('[data-test=participants] [data-participant=\"{ada_id}\"]');
             const q = document.querySelector('[data-test=queue] [data-participant=\"{ada_id}\"]');
             return {{ people: txt(li.querySelector('[data-test=away]')), queue: q ? txt(q) : '', give: txt($('give-floor')) }};"
        ))
        .await;
    assert_eq!(words["people"], Value::from("away"), "{words}");
    assert!(
        words["queue"].as_str().unwrap_or_default().contains("away"),
        "the queue says Ada is away: {words}"
    );
    assert!(
        words["give"].as_str().unwrap_or_default().contains("away"),
        "{words}"
    );
    assert_ne!(
        primary(&fran).await.as_deref(),
        Some("give-floor"),
        "giving the floor to someone away is not the main action"
    );
    audit.check(&fran, "console, a raised hand gone away").await;

    // The end: "ended" in the ring.
    fran.click("end-session").await;
    fran.click("confirm-ok").await;
    fran.wait_for("txt($('timer')) === 'ended'", "ended").await;
    audit.assert_clean();
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn the_console_keeps_the_focus_and_answers_its_keyboard_shortcuts() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start().await;
    let browser = Browser::launch(&path).await;
    let (_room, fran, mut people) =
        room_with(&server, &browser, "action_learning_set", &["Ada", "Ben"]).await;
    let mut audit = Audit::default();

    // From a fresh page (the room puts the focus on its main region): the first Tab lands on
    // the skip link or the shortcuts button, and the shortcuts button comes before any control
    // that moves the whole circle.
    fran.reload().await;
    fran.live().await;
    let mut order = Vec::new();
    for _ in 0..12 {
        fran.tab().await;
        let skip = fran
            .eval("return document.activeElement.classList.contains('skip-link');")
            .await
            == Value::Bool(true);
        order.push(if skip {
            "skip-link".to_string()
        } else {
            fran.focused_test().await.unwrap_or_default()
        });
    }
    assert!(
        ["skip-link", "shortcuts-button"].contains(&order[0].as_str()),
        "the first Tab lands on {}: {order:?}",
        order[0]
    );
    let shortcuts = order
        .iter()
        .position(|t| t == "shortcuts-button")
        .unwrap_or_else(|| panic!("the shortcuts button is not in the first Tabs: {order:?}"));
    let mover = order
        .iter()
        .position(|t| MOVERS.contains(&t.as_str()))
        .unwrap_or_else(|| panic!("no control that moves the circle in the first Tabs: {order:?}"));
    assert!(
        shortcuts < mover,
        "a control that moves the circle comes first: {order:?}"
    );

    // The help: the visible button and "?" open it; it lists every shortcut; Escape closes it
    // and the focus comes back.
    press_on(&fran, "shortcuts-button").await;
    fran.wait_for(
        "$('shortcuts-dialog') && $('shortcuts-dialog').open",
        "the help",
    )
    .await;
    let listed = fran.text("shortcuts-dialog").await;
    for key in ["N", "S", "P", "M", "H", "?"] {
        assert!(listed.contains(key), "the help lists {key}: {listed}");
    }
    for words in [
        "Next turn",
        "Next stage",
        "Pause",
        "minute",
        "first raised hand",
    ] {
        assert!(listed.contains(words), "the help says {words}: {listed}");
    }
    audit.check(&fran, "console, shortcuts help").await;
    fran.press_key("Escape", &[]).await;
    fran.wait_for("!$('shortcuts-dialog')", "the help closed")
        .await;
    assert_eq!(
        fran.focused_test().await.as_deref(),
        Some("shortcuts-button")
    );
    fran.press_key("?", &[Modifier::Shift]).await;
    fran.wait_for(
        "$('shortcuts-dialog') && $('shortcuts-dialog').open",
        "the help by ?",
    )
    .await;
    fran.click("shortcuts-close").await;
    fran.wait_for("!$('shortcuts-dialog')", "the help closed")
        .await;

    // Start by keyboard: the Start button goes, the focus does not fall to the body.
    press_on(&fran, "start").await;
    stage_is(&fran, "/Check-in/").await;
    settled(&fran).await;
    focus_kept(&fran, "Start").await;

    // Each console action keeps the focus on its control, or on the one that takes its place.
    let position = || async { view(&fran, ".turn.round.position").await.as_i64() };
    let before = position().await;
    press_on(&fran, "next-turn").await;
    fran.wait_for(
        &format!(
            "window.circlekeeper.state.view.turn.round.position !== {}",
            before.unwrap_or(-1)
        ),
        "the next turn",
    )
    .await;
    settled(&fran).await;
    assert_eq!(fran.focused_test().await.as_deref(), Some("next-turn"));

    press_on(&fran, "pause").await;
    fran.wait_for("visible($('resume'))", "paused").await;
    settled(&fran).await;
    assert_eq!(
        fran.focused_test().await.as_deref(),
        Some("resume"),
        "Pause gives way to Resume"
    );
    press_on(&fran, "resume").await;
    fran.wait_for("visible($('pause'))", "running").await;
    settled(&fran).await;
    assert_eq!(
        fran.focused_test().await.as_deref(),
        Some("pause"),
        "Resume gives way to Pause"
    );

    let left = fran.remaining_ms().await;
    press_on(&fran, "timer-plus-1").await;
    fran.wait_for(
        &format!(
            "Number($('timer').dataset.remainingMs) >= {}",
            left + 50_000
        ),
        "a minute more",
    )
    .await;
    settled(&fran).await;
    assert_eq!(fran.focused_test().await.as_deref(), Some("timer-plus-1"));

    // The shortcuts, each pressing its button.
    let before = position().await;
    fran.press_key("n", &[]).await;
    fran.wait_for(
        &format!(
            "window.circlekeeper.state.view.turn.round.position !== {}",
            before.unwrap_or(-1)
        ),
        "N: the next turn",
    )
    .await;
    fran.press_key("p", &[]).await;
    fran.wait_for(
        "window.circlekeeper.state.view.session.status === 'paused'",
        "P: paused",
    )
    .await;
    settled(&fran).await;
    assert_eq!(primary(&fran).await.as_deref(), Some("resume"));
    fran.press_key("p", &[]).await;
    fran.wait_for(
        "window.circlekeeper.state.view.session.status === 'running'",
        "P: running",
    )
    .await;
    let left = fran.remaining_ms().await;
    fran.press_key("m", &[]).await;
    fran.wait_for(
        &format!(
            "Number($('timer').dataset.remainingMs) >= {}",
            left + 50_000
        ),
        "M: a minute more",
    )
    .await;

    // Nothing fires while typing in a field, nor with Alt held.
    fran.eval("const f = $('prompt-own'); f.value = ''; f.focus();")
        .await;
    let stage_index = view(&fran, ".stage.index").await;
    for key in ["s", "p", "n", "m"] {
        fran.press_key(key, &[]).await;
    }
    assert_eq!(
        fran.eval("return $('prompt-own').value;").await,
        Value::from("spnm"),
        "the letters were typed into the field"
    );
    fran.eval("$('prompt-own').value = ''; $('prompt-own').blur(); $('next-turn').focus();")
        .await;
    fran.press_key("s", &[Modifier::Alt]).await;
    fran.press_key("p", &[Modifier::Alt]).await;
    // A round trip to the server, so that anything the keys had sent would have come back.
    let left = fran.remaining_ms().await;
    fran.click("timer-plus-1").await;
    fran.wait_for(
        &format!(
            "Number($('timer').dataset.remainingMs) >= {}",
            left + 50_000
        ),
        "a round trip",
    )
    .await;
    assert_eq!(
        view(&fran, ".stage.index").await,
        stage_index,
        "no stage moved"
    );
    assert_eq!(view(&fran, ".session.status").await, Value::from("running"));

    // S: the next stage (its button does not ask, so neither does the key), focus kept.
    press_on(&fran, "next-stage").await;
    stage_is(&fran, "/Presentation/").await;
    settled(&fran).await;
    assert_eq!(fran.focused_test().await.as_deref(), Some("next-stage"));
    fran.press_key("s", &[]).await;
    stage_is(&fran, "/Clarifying/").await;

    // H: the floor to the first raised hand.
    let ben = people[1].you;
    people[1].ok(Command::RaiseHand).await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=queue] [data-participant]').length === 1",
        "Ben's hand",
    )
    .await;
    fran.press_key("h", &[]).await;
    fran.wait_for(
        &format!("window.circlekeeper.state.view.turn.floor && window.circlekeeper.state.view.turn.floor.participant === {ben}"),
        "H: Ben has the floor",
    )
    .await;
    audit
        .check(&fran, "console, hands with the floor given")
        .await;

    // Give the floor by keyboard from the people panel's menu, take it back: focus kept.
    press_on(&fran, "take-floor").await;
    fran.wait_for(
        "!window.circlekeeper.state.view.turn.floor",
        "the floor taken back",
    )
    .await;
    settled(&fran).await;
    focus_kept(&fran, "Take the floor back").await;

    // End session by keyboard: it asks; after the end the focus is not on the body.
    press_on(&fran, "end-session").await;
    fran.wait_for("visible($('confirm-ok'))", "the question")
        .await;
    assert_eq!(
        fran.focused_test().await.as_deref(),
        Some("confirm-cancel"),
        "the question starts on Cancel"
    );
    press_on(&fran, "confirm-ok").await;
    fran.wait_for(
        "window.circlekeeper.state.view.session.status === 'ended'",
        "the end",
    )
    .await;
    settled(&fran).await;
    focus_kept(&fran, "End session").await;

    audit.assert_clean();
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}
