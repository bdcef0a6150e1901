//! One page (a tab in its own browser context) and what a test does with it: evaluate
//! JavaScript with a few helpers in scope, navigate, click, type, wait (bounded), read text,
//! take screenshots; and set how the device looks to the page: its viewport, its colour scheme,
//! its language.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{json, Value};

use super::{artifacts, Browser};

/// One tab, in its own browser context.
pub struct Page<'b> {
    browser: &'b Browser,
    session: String,
    /// Who is using it, for messages (`Ada`).
    pub name: String,
}

/// JavaScript helpers installed in every evaluation: find a `data-test` element, read an
/// element's text as a person reads it (without the directional isolates, FSI and PDI, the
/// client puts around names placed in sentences), wait for a condition (bounded, re-checked on
/// every animation frame).
const HELPERS: &str = r#"
const $ = (t) => document.querySelector(`[data-test="${t}"]`);
const txt = (el) => el.textContent.replace(/[\u2068\u2069]/g, "");
const $$ = (t) => [...document.querySelectorAll(`[data-test="${t}"]`)];
const visible = (el) => !!el && !el.disabled && !el.hidden && el.getClientRects().length > 0;
const until = (f, ms, what) => new Promise((ok, fail) => {
  const end = performance.now() + ms;
  const tick = () => {
    let v; try { v = f(); } catch (e) { v = undefined; }
    if (v) return ok(v);
    if (performance.now() > end) return fail(new Error("timed out waiting for " + what));
    requestAnimationFrame(tick);
  };
  tick();
});
"#;

impl<'b> Page<'b> {
    /// A page on a DevTools session the browser has attached to.
    pub(super) fn new(browser: &'b Browser, session: String, name: &str) -> Page<'b> {
        Page {
            browser,
            session,
            name: name.to_string(),
        }
    }

    /// One DevTools call on this page's session; panics on a protocol error.
    pub async fn cmd(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// Evaluate an async JavaScript body (with the helpers in scope) and return its value.
    pub async fn eval(&self, body: &str) -> Value {
        let expression = format!("(async () => {{ {HELPERS}\n{body} }})()");
        let r = self
            .cmd(
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{}: script failed: {e}\n{body}", self.name);
        }
        r["result"]["value"].clone()
    }

    /// Open `url` and wait until the page has loaded and rendered something to test.
    pub async fn goto(&self, url: &str) {
        self.mark_leaving().await;
        self.cmd("Page.navigate", json!({ "url": url })).await;
        self.loaded().await;
    }

    /// Reload, and wait as [`Page::goto`] does.
    pub async fn reload(&self) {
        self.mark_leaving().await;
        self.cmd("Page.reload", json!({})).await;
        self.loaded().await;
    }

    /// Mark the document being left, so [`Page::loaded`] waits for the next one.
    async fn mark_leaving(&self) {
        self.eval("window.__leaving = true;").await;
    }

    /// Wait until a new document (not the marked one) has loaded and rendered something to
    /// test. An evaluation the navigation cuts off is tried again, at most 50 times.
    async fn loaded(&self) {
        let expression = format!(
            "(async () => {{ {HELPERS}\nawait until(() => !window.__leaving && document.readyState === 'complete' && document.querySelector('[data-test]'), 10000, 'the page'); }})()"
        );
        let params =
            json!({ "expression": expression, "awaitPromise": true, "returnByValue": true });
        for _ in 0..50 {
            match self
                .browser
                .try_call(Some(&self.session), "Runtime.evaluate", params.clone())
                .await
            {
                Ok(r) if r.get("exceptionDetails").is_none() => return,
                Ok(r) => panic!(
                    "{}: the page did not load: {}",
                    self.name, r["exceptionDetails"]
                ),
                // The old document went away under the evaluation: ask the new one.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        panic!(
            "{}: the page did not load: every evaluation was cut off",
            self.name
        );
    }

    /// Wait until a `data-test` element is visible and enabled, then click it.
    pub async fn click(&self, test: &str) {
        self.eval(&format!(
            "const el = await until(() => visible($('{test}')) && $('{test}'), 10000, '{test} to be clickable'); el.click();"
        ))
        .await;
    }

    /// Type into an input or textarea (as a person would: value, then an input event).
    pub async fn fill(&self, test: &str, text: &str) {
        let text = serde_json::to_string(text).expect("json string");
        self.eval(&format!(
            "const el = await until(() => visible($('{test}')) && $('{test}'), 10000, '{test}');
             el.focus(); el.value = {text};
             el.dispatchEvent(new Event('input', {{ bubbles: true }}));
             el.dispatchEvent(new Event('change', {{ bubbles: true }}));"
        ))
        .await;
    }

    /// Click the radio button `test` with `value` (one of a group sharing a `data-test`).
    pub async fn choose(&self, test: &str, value: &str) {
        self.eval(&format!(
            "const el = await until(() => {{ const r = document.querySelector('[data-test=\"{test}\"][value=\"{value}\"]'); return visible(r) && r; }}, 10000, '{test} = {value}');
             el.click();"
        ))
        .await;
    }

    /// Tick the checkbox `test` (once it is visible), unless it is ticked already.
    pub async fn check(&self, test: &str) {
        self.eval(&format!(
            "const el = await until(() => visible($('{test}')) && $('{test}'), 10000, '{test}');
             if (!el.checked) el.click();"
        ))
        .await;
    }

    /// The text of a `data-test` element, once it exists, without the directional isolates
    /// (FSI, PDI) the client puts around names placed in sentences.
    pub async fn text(&self, test: &str) -> String {
        self.eval(&format!(
            "const el = await until(() => $('{test}'), 10000, '{test}'); return txt(el).trim();"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Wait until a JavaScript condition holds (bounded).
    pub async fn wait_for(&self, condition: &str, what: &str) {
        let what = serde_json::to_string(what).expect("json string");
        self.eval(&format!("await until(() => ({condition}), 10000, {what});"))
            .await;
    }

    /// Wait until the room's connection says `live`.
    pub async fn live(&self) {
        self.wait_for(
            "$('connection-state') && $('connection-state').textContent.trim() === 'live'",
            "live",
        )
        .await;
    }

    /// What the room's timer has left, in milliseconds.
    pub async fn remaining_ms(&self) -> i64 {
        self.eval("const el = await until(() => $('timer'), 10000, 'timer'); return Number(el.dataset.remainingMs);")
            .await
            .as_i64()
            .unwrap_or_else(|| panic!("{}: the timer has no data-remaining-ms", self.name))
    }

    /// A screenshot of the whole page, written to [`artifacts`] as `file`.
    pub async fn screenshot(&self, file: &str) -> PathBuf {
        self.capture(
            file,
            json!({ "format": "png", "captureBeyondViewport": true }),
        )
        .await
    }

    /// A screenshot of what the window shows (as a person sees it, without scrolling), written
    /// to [`artifacts`] as `file`.
    pub async fn screenshot_window(&self, file: &str) -> PathBuf {
        self.capture(file, json!({ "format": "png" })).await
    }

    /// Take a screenshot with `params` and write it to [`artifacts`] as `file`.
    async fn capture(&self, file: &str, params: Value) -> PathBuf {
        let shot = self.cmd("Page.captureScreenshot", params).await;
        let data = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
        let path = artifacts().join(file);
        std::fs::write(&path, data).expect("write screenshot");
        path
    }

    /// A screenshot of one part of the page: the element `element` (a JavaScript expression)
    /// with a small margin, at full size even where it runs past the screen.
    pub async fn screenshot_of(&self, file: &str, element: &str) -> PathBuf {
        let clip = self
            .eval(&format!(
                "window.scrollTo(0, 0);
                 if (document.activeElement) document.activeElement.blur();
                 const el = await until(() => {element}, 10000, 'the element to photograph');
                 const r = el.getBoundingClientRect();
                 const top = Math.max(0, r.top + window.scrollY - 12);
                 return {{ x: 0, y: top, width: document.documentElement.clientWidth, height: r.bottom + window.scrollY + 12 - top, scale: 1 }};"
            ))
            .await;
        self.capture(
            file,
            json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }),
        )
        .await
    }

    /// Enter a room from a join or host link: name, consent, enter; then wait until live.
    pub async fn enter_room(&self, link: &str, name: &str) {
        self.goto(link).await;
        // The room's own ground rules are there to read before consenting.
        self.wait_for(
            "$('ground-rules') && /stays in this circle/.test($('ground-rules').textContent)",
            "the room's ground rules",
        )
        .await;
        self.fill("name-input", name).await;
        self.check("consent-checkbox").await;
        self.click("enter-button").await;
        self.live().await;
    }

    /// This page's participant id in its room.
    pub async fn me(&self) -> u64 {
        self.eval("await until(() => window.circlekeeper && window.circlekeeper.state && window.circlekeeper.state.you, 10000, 'you'); return window.circlekeeper.state.you;")
            .await
            .as_u64()
            .expect("participant id")
    }

    /// Size the viewport: `width`×`height` CSS pixels at scale 1, as a phone (`mobile`: touch
    /// layout, the meta viewport honoured) or not.
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cmd(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
    }

    /// Make the page see `prefers-color-scheme: scheme` (`"light"` or `"dark"`); it applies at
    /// once, without a reload.
    pub async fn set_color_scheme(&self, scheme: &str) {
        assert!(
            matches!(scheme, "light" | "dark"),
            "colour scheme {scheme:?}: light or dark"
        );
        self.cmd(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        )
        .await;
        let now = self
            .eval(&format!(
                "return matchMedia('(prefers-color-scheme: {scheme})').matches;"
            ))
            .await;
        assert_eq!(now, json!(true), "{}: the page sees {scheme}", self.name);
    }

    /// Make the browser speak `languages`, most preferred first (`["de-DE", "de"]`): the
    /// `Accept-Language` header, `navigator.language(s)` and `Intl`'s default locale. Call it
    /// before [`Page::goto`]; it lasts for this page's later navigations.
    pub async fn set_language(&self, languages: &[&str]) {
        assert!(!languages.is_empty(), "at least one language");
        let version = self
            .browser
            .call(None, "Browser.getVersion", json!({}))
            .await;
        let agent = version["userAgent"].as_str().expect("user agent");
        // The override's own user agent keeps the browser's; only the language changes.
        self.cmd(
            "Network.setUserAgentOverride",
            json!({ "userAgent": agent, "acceptLanguage": languages.join(",") }),
        )
        .await;
        self.cmd(
            "Emulation.setLocaleOverride",
            json!({ "locale": languages[0] }),
        )
        .await;
    }

    /// What the page thinks its languages are: `navigator.languages`.
    pub async fn languages(&self) -> Vec<String> {
        let value = self.eval("return navigator.languages;").await;
        serde_json::from_value(value).expect("navigator.languages is a list of strings")
    }
}
