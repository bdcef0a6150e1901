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

use std::time::Duration;

use browser::{chromium, report, Browser, Modifier, Page, Violation};
use circlekeeper_protocol::{Command, RoomCreated};
use common::{Client, TestServer};
use serde_json::Value;

/// The laptop screens the console must fit, without scrolling.
const LAPTOPS: [(u32, u32); 2] = [(1280, 800), (1366, 768)];

/// Controls that move the whole circle: the first Tab must not land on one.
const MOVERS: [&str; 7] = [
    "start",
    "next-stage",
    "previous-stage",
    "next-turn",
    "give-floor",
    "end-session",
    "jump-stage",
];

/// What axe found on the console, screen by screen (light and dark).
#[derive(Default)]
struct Audit {
    findings: Vec<(String, Vec<Violation>)>,
}

impl Audit {
    /// Check `page` as it is now in the light and the dark colour scheme.
    async fn check(&mut self, page: &Page<'_>, screen: &str) {
        for scheme in ["light", "dark"] {
            let violations = page.axe_in(scheme).await;
            self.findings
                .push((format!("{screen} ({scheme})"), violations));
        }
        page.set_color_scheme("light").await;
    }

    /// Fail, listing every violation on every screen, if there were any.
    fn assert_clean(&self) {
        assert!(!self.findings.is_empty(), "no screen was checked");
        let out: String = self
            .findings
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(screen, v)| format!("\n== {screen}\n{}", report(v)))
            .collect();
        assert!(out.is_empty(), "axe found violations on the console:{out}");
    }
}

/// A room of `format` with the facilitator Fran in Chromium (at 1280×800) and `names` as
/// websocket participants who have accepted the ground rules.
async fn room_with<'b>(
    server: &TestServer,
    browser: &'b Browser,
    format: &str,
    names: &[&str],
) -> (RoomCreated, Page<'b>, Vec<Client>) {
    let room = server.create_builtin_room(format).await;
    let host = format!("{}/r/{}#host={}", server.url(), room.room_id, room.host_key);
    let fran = browser.page("Fran", 1280, 800, false).await;
    fran.enter_room(&host, "Fran").await;
    fran.eval("if (visible($('rules-ok'))) $('rules-ok').click();")
        .await;
    let mut people = Vec::new();
    for name in names {
        let mut p = server.join(&room, name).await;
        p.ok(Command::AcceptGroundRules).await;
        people.push(p);
    }
    let count = names.len() + 1;
    fran.wait_for(
        &format!("document.querySelectorAll('[data-test=participants] [data-participant]').length === {count}"),
        "everyone in the people panel",
    )
    .await;
    (room, fran, people)
}

/// Wait until the stage title matches `pattern` (a JavaScript regular expression).
async fn stage_is(page: &Page<'_>, pattern: &str) {
    page.wait_for(
        &format!("$('stage-title') && {pattern}.test(txt($('stage-title')))"),
        pattern,
    )
    .await;
}

/// Why the console does not fit the screen now: the page is scrolled, a control named by its
/// `data-test` (or the primary button) is missing, hidden or not wholly in the window, or a side
/// panel is not its own keyboard-reachable scroll container. Empty when it fits.
async fn misfits(page: &Page<'_>, tests: &[&str]) -> Vec<String> {
    let tests = serde_json::to_string(tests).expect("json");
    let found = page
        .eval(&format!(
            "const out = [];
             if (window.scrollY !== 0 || window.scrollX !== 0) out.push(`the page is scrolled to ${{window.scrollX}},${{window.scrollY}}`);
             const w = document.documentElement.clientWidth, h = document.documentElement.clientHeight;
             const inside = (el, what) => {{
               if (!el || el.closest('[hidden]') || el.getClientRects().length === 0) {{ out.push(`${{what}} is not shown`); return; }}
               const r = el.getBoundingClientRect();
               if (r.left < 0 || r.top < 0 || r.right > w || r.bottom > h) out.push(`${{what}} is at ${{Math.round(r.left)}},${{Math.round(r.top)}}..${{Math.round(r.right)}},${{Math.round(r.bottom)}} in a ${{w}}x${{h}} window`);
             }};
             for (const t of {tests}) inside($(t), t);
             const primary = [...document.querySelectorAll('.centre button.primary')].filter((b) => !b.closest('[hidden]') && b.getClientRects().length > 0);
             for (const b of primary) inside(b, `the primary button ${{b.dataset.test}}`);
             for (const sel of ['.stages-panel', '.people-panel']) {{
               const p = document.querySelector(sel);
               const s = getComputedStyle(p);
               if (!['auto', 'scroll'].includes(s.overflowY)) out.push(`${{sel}} does not scroll on its own (overflow-y ${{s.overflowY}})`);
               if (p.getAttribute('tabindex') !== '0' || !p.getAttribute('aria-label')) out.push(`${{sel}} is not reachable and named`);
               const r = p.getBoundingClientRect();
               if (r.bottom > h + 1) out.push(`${{sel}} runs past the window's bottom (${{Math.round(r.bottom)}} > ${{h}})`);
             }}
             return out;"
        ))
        .await;
    serde_json::from_value(found).expect("a list of strings")
}

/// Assert that the console fits both laptop screens with `tests` in view; back at 1280×800.
async fn fits(page: &Page<'_>, screen: &str, tests: &[&str]) {
    for (w, h) in LAPTOPS {
        page.set_viewport(w, h, false).await;
        page.eval(
            "await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));",
        )
        .await;
        let wrong = misfits(page, tests).await;
        assert!(
            wrong.is_empty(),
            "{screen} at {w}x{h} does not fit one screen: {wrong:#?}"
        );
        // A visually hidden element (the live region, "here" for screen readers) is clipped
        // to one pixel just off the edge by design: it widens nothing.
        let mut sideways = page.horizontal_scroll().await;
        sideways.retain(|why| !why.contains(".visually-hidden"));
        assert!(sideways.is_empty(), "{screen} at {w}x{h}: {sideways:#?}");
    }
    page.set_viewport(1280, 800, false).await;
}

/// The `data-test` of the console's primary button now, if there is one.
async fn primary(page: &Page<'_>) -> Option<String> {
    let v = page
        .eval(
            "const b = [...document.querySelectorAll('.centre button.primary')].find((b) => !b.closest('[hidden]') && b.getClientRects().length > 0);
             return b ? b.dataset.test : null;",
        )
        .await;
    v.as_str().map(str::to_string)
}

/// The room's view as the page has it, at `path` (a JavaScript expression after `view`).
async fn view(page: &Page<'_>, path: &str) -> Value {
    page.eval(&format!(
        "const view = window.circlekeeper.state.view; return view{path};"
    ))
    .await
}

/// Whether the `data-test` element is on screen (shown and laid out).
async fn shown(page: &Page<'_>, test: &str) -> bool {
    page.eval(&format!(
        "const el = $('{test}'); return !!el && !el.closest('[hidden]') && el.getClientRects().length > 0;"
    ))
    .await
        == Value::Bool(true)
}

/// Focus the `data-test` control and press Enter on it, as a keyboard user does.
async fn press_on(page: &Page<'_>, test: &str) {
    page.eval(&format!(
        "const el = await until(() => visible($('{test}')) && $('{test}'), 10000, '{test}'); el.focus();"
    ))
    .await;
    page.press_key("Enter", &[]).await;
}

/// Wait until nothing is waiting for the server (no control is busy) and the page has drawn.
async fn settled(page: &Page<'_>) {
    page.wait_for(
        "!document.querySelector('[aria-busy=true]')",
        "the action's answer",
    )
    .await;
    page.eval("await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));")
        .await;
}

/// What has the focus, asserted not to be the page body (nor nothing).
async fn focus_kept(page: &Page<'_>, after: &str) -> String {
    let focused = page.focused().await;
    assert!(
        focused != "body" && focused != "nothing",
        "after {after} the focus fell to the page body"
    );
    focused
}

/// Make the page learn the server's clock after the test moved it: shorten the stage by a
/// minute and give it back (each answer carries the server's time), leaving the timer as it was.
async fn nudge(page: &Page<'_>) {
    for control in ["timer-minus-1", "timer-plus-1"] {
        page.click(control).await;
        settled(page).await;
    }
}

/// Whether the digits of the countdown `test` lie inside its ring (within the ring's inner
/// circle's width, and vertically inside the ring's box).
async fn digits_fit(page: &Page<'_>, test: &str) -> Result<(), String> {
    let v = page
        .eval(&format!(
            "const d = $('{test}'); const box = d.closest('.timer-box');
             const r = d.getBoundingClientRect(), b = box.getBoundingClientRect();
             // The range's width is the text's own, not the span's.
             const range = document.createRange(); range.selectNodeContents(d);
             const t = range.getBoundingClientRect();
             const inner = b.width * 84 / 100;
             const ok = t.width > 0 && t.width <= inner && t.left >= b.left + (b.width - inner) / 2 - 1
               && t.right <= b.right - (b.width - inner) / 2 + 1 && r.top >= b.top && r.bottom <= b.bottom;
             return {{ ok, text: d.textContent, digits: Math.round(t.width), ring: Math.round(b.width) }};"
        ))
        .await;
    if v["ok"] == Value::Bool(true) {
        Ok(())
    } else {
        Err(format!("{test}: {v}"))
    }
}

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
