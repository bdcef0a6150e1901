//! What the console tests share: the screens the console must fit, the controls that move the
//! circle, an axe audit of the console, a room with Fran in Chromium and participants on
//! websockets, and the checks and key presses the tests make on the page.

use super::browser::{report, Browser, Page, Violation};
use super::common::{Client, TestServer};
use circlekeeper_protocol::{Command, RoomCreated};
use serde_json::Value;

/// The laptop screens the console must fit, without scrolling.
pub const LAPTOPS: [(u32, u32); 2] = [(1280, 800), (1366, 768)];

/// Controls that move the whole circle: the first Tab must not land on one.
pub const MOVERS: [&str; 7] = [
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
pub struct Audit {
    findings: Vec<(String, Vec<Violation>)>,
}

impl Audit {
    /// Check `page` as it is now in the light and the dark colour scheme.
    pub async fn check(&mut self, page: &Page<'_>, screen: &str) {
        for scheme in ["light", "dark"] {
            let violations = page.axe_in(scheme).await;
            self.findings
                .push((format!("{screen} ({scheme})"), violations));
        }
        page.set_color_scheme("light").await;
    }

    /// Fail, listing every violation on every screen, if there were any.
    pub fn assert_clean(&self) {
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
pub async fn room_with<'b>(
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
pub async fn stage_is(page: &Page<'_>, pattern: &str) {
    page.wait_for(
        &format!("$('stage-title') && {pattern}.test(txt($('stage-title')))"),
        pattern,
    )
    .await;
}

/// Why the console does not fit the screen now: the page is scrolled, a control named by its
/// `data-test` (or the primary button) is missing, hidden or not wholly in the window, or a side
/// panel is not its own keyboard-reachable scroll container. Empty when it fits.
pub async fn misfits(page: &Page<'_>, tests: &[&str]) -> Vec<String> {
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
pub async fn fits(page: &Page<'_>, screen: &str, tests: &[&str]) {
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
pub async fn primary(page: &Page<'_>) -> Option<String> {
    let v = page
        .eval(
            "const b = [...document.querySelectorAll('.centre button.primary')].find((b) => !b.closest('[hidden]') && b.getClientRects().length > 0);
             return b ? b.dataset.test : null;",
        )
        .await;
    v.as_str().map(str::to_string)
}

/// The room's view as the page has it, at `path` (a JavaScript expression after `view`).
pub async fn view(page: &Page<'_>, path: &str) -> Value {
    page.eval(&format!(
        "const view = window.circlekeeper.state.view; return view{path};"
    ))
    .await
}

/// Whether the `data-test` element is on screen (shown and laid out).
pub async fn shown(page: &Page<'_>, test: &str) -> bool {
    page.eval(&format!(
        "const el = $('{test}'); return !!el && !el.closest('[hidden]') && el.getClientRects().length > 0;"
    ))
    .await
        == Value::Bool(true)
}

/// Focus the `data-test` control and press Enter on it, as a keyboard user does.
pub async fn press_on(page: &Page<'_>, test: &str) {
    page.eval(&format!(
        "const el = await until(() => visible($('{test}')) && $('{test}'), 10000, '{test}'); el.focus();"
    ))
    .await;
    page.press_key("Enter", &[]).await;
}

/// Wait until nothing is waiting for the server (no control is busy) and the page has drawn.
pub async fn settled(page: &Page<'_>) {
    page.wait_for(
        "!document.querySelector('[aria-busy=true]')",
        "the action's answer",
    )
    .await;
    page.eval("await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));")
        .await;
}

/// What has the focus, asserted not to be the page body (nor nothing).
pub async fn focus_kept(page: &Page<'_>, after: &str) -> String {
    let focused = page.focused().await;
    assert!(
        focused != "body" && focused != "nothing",
        "after {after} the focus fell to the page body"
    );
    focused
}

/// Make the page learn the server's clock after the test moved it: shorten the stage by a
/// minute and give it back (each answer carries the server's time). On a timer already over
/// time, taking a minute off takes off less, so the stage may end up to a minute longer.
pub async fn nudge(page: &Page<'_>) {
    for control in ["timer-minus-1", "timer-plus-1"] {
        page.click(control).await;
        settled(page).await;
    }
}

/// Whether the digits of the countdown `test` lie inside its ring (within the ring's inner
/// circle's width, and vertically inside the ring's box).
pub async fn digits_fit(page: &Page<'_>, test: &str) -> Result<(), String> {
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
