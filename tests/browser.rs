//! Browser end-to-end tests: the web client in a real headless Chromium, driven over the Chrome
//! DevTools Protocol (a small client below, on the websocket library the server already uses),
//! against a real server on 127.0.0.1.
//!
//! Without Chromium these tests say plainly that they were skipped, and why; under CI
//! (`CI` set) a missing browser fails them instead. `.ci/run` installs Debian's `chromium`.
//! Screenshots land in `target/browser-artifacts/`.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use common::TestServer;

/// How long Chromium may take to start and announce its DevTools endpoint: on a loaded
/// two-core machine (the whole suite building and running beside it) it can take several
/// seconds.
const LAUNCH: std::time::Duration = std::time::Duration::from_secs(30);
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio_tungstenite::tungstenite::Message;

/// Longest wait for anything in a page.
const WAIT: Duration = Duration::from_secs(15);

/// Where Debian puts Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser, or why the tests cannot run.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "browser tests skipped: no Chromium at {} (install Debian's `chromium`, or set CHROMIUM)",
        path.display()
    );
    assert!(std::env::var_os("CI").is_none(), "{why}; CI must run them");
    eprintln!("{why}");
    None
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    dir
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A headless Chromium and a DevTools connection to it. Killed when dropped.
/// A Chromium that has started: the process, its stderr, its DevTools endpoint, its profile.
type Started = (
    Child,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    String,
    tempfile::TempDir,
);

struct Browser {
    child: Child,
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: Arc<AtomicU64>,
    /// Console errors and uncaught exceptions, per session.
    problems: Arc<Mutex<Vec<String>>>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Browser {
    /// Start Chromium and read its DevTools endpoint; `None` if it did not announce one within
    /// [`LAUNCH`] (the process is killed).
    async fn start(path: &Path) -> Option<Started> {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let find = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(at) = line.find("ws://") {
                    return Some(line[at..].trim().to_string());
                }
            }
            None
        };
        match tokio::time::timeout(LAUNCH, find).await {
            Ok(Some(url)) => Some((child, lines, url, profile)),
            _ => {
                // kill_on_drop ends it; wait so that no process outlives the attempt.
                let _ = child.kill().await;
                None
            }
        }
    }

    async fn launch(path: &Path) -> Browser {
        // One Chromium starts at a time: five starting together on two cores is what made a
        // start miss its deadline. A start that still misses it is tried once more with a
        // fresh profile (the browser's start, not the product, is what failed).
        static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let (child, mut lines, url, profile) = {
            let _one_at_a_time = STARTING.lock().await;
            match Self::start(path).await {
                Some(started) => started,
                None => {
                    eprintln!("chromium did not announce its DevTools endpoint in {LAUNCH:?}; starting it again");
                    Self::start(path)
                        .await
                        .expect("chromium announces its DevTools endpoint")
                }
            }
        };
        // Keep draining stderr so Chromium never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("DevTools websocket");
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let problems: Arc<Mutex<Vec<String>>> = Arc::default();
        let (p, q) = (pending.clone(), problems.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = v.get("id").and_then(Value::as_u64) {
                    if let Some(tx) = p.lock().await.remove(&id) {
                        let _ = tx.send(v);
                    }
                    continue;
                }
                match v.get("method").and_then(Value::as_str) {
                    Some("Runtime.exceptionThrown") => {
                        q.lock()
                            .await
                            .push(format!("exception: {}", v["params"]["exceptionDetails"]));
                    }
                    Some("Runtime.consoleAPICalled") if v["params"]["type"] == "error" => {
                        q.lock()
                            .await
                            .push(format!("console.error: {}", v["params"]["args"]));
                    }
                    _ => {}
                }
            }
        });
        Browser {
            child,
            out,
            pending,
            next: Arc::new(AtomicU64::new(1)),
            problems,
            _profile: profile,
        }
    }

    /// One DevTools call; panics on a protocol error.
    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().await.insert(id, tx);
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.out
            .send(msg.to_string())
            .expect("DevTools connection open");
        let answer = tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer within {WAIT:?}"))
            .expect("answer");
        if let Some(e) = answer.get("error") {
            panic!("{method}: {e}");
        }
        answer["result"].clone()
    }

    /// A new page in its own browser context (its own storage: another person's device).
    async fn page(&self, name: &str, width: u32, height: u32, mobile: bool) -> Page<'_> {
        let ctx = self
            .call(None, "Target.createBrowserContext", json!({}))
            .await;
        let target = self
            .call(
                None,
                "Target.createTarget",
                json!({ "url": "about:blank", "browserContextId": ctx["browserContextId"] }),
            )
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        let session = attached["sessionId"].as_str().expect("session").to_string();
        let page = Page {
            browser: self,
            session,
            name: name.to_string(),
        };
        page.cmd("Page.enable", json!({})).await;
        page.cmd("Runtime.enable", json!({})).await;
        page.cmd(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await;
        page
    }
}

/// One tab, in its own browser context.
struct Page<'b> {
    browser: &'b Browser,
    session: String,
    name: String,
}

/// JavaScript helpers installed in every evaluation: find a `data-test` element, wait for a
/// condition (bounded, re-checked on every animation frame).
const HELPERS: &str = r#"
const $ = (t) => document.querySelector(`[data-test="${t}"]`);
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

impl Page<'_> {
    async fn cmd(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// Evaluate an async JavaScript body (with the helpers in scope) and return its value.
    async fn eval(&self, body: &str) -> Value {
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

    async fn goto(&self, url: &str) {
        self.cmd("Page.navigate", json!({ "url": url })).await;
        self.eval("await until(() => document.readyState === 'complete' && document.querySelector('[data-test]'), 10000, 'the page');")
            .await;
    }

    async fn reload(&self) {
        self.cmd("Page.reload", json!({})).await;
        self.eval("await until(() => document.readyState === 'complete' && document.querySelector('[data-test]'), 10000, 'the page');")
            .await;
    }

    /// Wait until a `data-test` element is visible and enabled, then click it.
    async fn click(&self, test: &str) {
        self.eval(&format!(
            "const el = await until(() => visible($('{test}')) && $('{test}'), 10000, '{test} to be clickable'); el.click();"
        ))
        .await;
    }

    /// Type into an input or textarea (as a person would: value, then an input event).
    async fn fill(&self, test: &str, text: &str) {
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
    async fn choose(&self, test: &str, value: &str) {
        self.eval(&format!(
            "const el = await until(() => {{ const r = document.querySelector('[data-test=\"{test}\"][value=\"{value}\"]'); return visible(r) && r; }}, 10000, '{test} = {value}');
             el.click();"
        ))
        .await;
    }

    async fn check(&self, test: &str) {
        self.eval(&format!(
            "const el = await until(() => visible($('{test}')) && $('{test}'), 10000, '{test}');
             if (!el.checked) el.click();"
        ))
        .await;
    }

    /// The text of a `data-test` element, once it exists.
    async fn text(&self, test: &str) -> String {
        self.eval(&format!(
            "const el = await until(() => $('{test}'), 10000, '{test}'); return el.textContent.trim();"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Wait until a JavaScript condition holds (bounded).
    async fn wait_for(&self, condition: &str, what: &str) {
        let what = serde_json::to_string(what).expect("json string");
        self.eval(&format!("await until(() => ({condition}), 10000, {what});"))
            .await;
    }

    async fn live(&self) {
        self.wait_for(
            "$('connection-state') && $('connection-state').textContent.trim() === 'live'",
            "live",
        )
        .await;
    }

    async fn remaining_ms(&self) -> i64 {
        self.eval("const el = await until(() => $('timer'), 10000, 'timer'); return Number(el.dataset.remainingMs);")
            .await
            .as_i64()
            .unwrap_or_else(|| panic!("{}: the timer has no data-remaining-ms", self.name))
    }

    async fn screenshot(&self, file: &str) -> PathBuf {
        let shot = self
            .cmd(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let data = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
        let path = artifacts().join(file);
        std::fs::write(&path, data).expect("write screenshot");
        path
    }

    /// A screenshot of one part of the page: the element `element` (a JavaScript expression)
    /// with a small margin, at full size even where it runs past the screen.
    async fn screenshot_of(&self, file: &str, element: &str) -> PathBuf {
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
        let shot = self
            .cmd(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }),
            )
            .await;
        let data = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
        let path = artifacts().join(file);
        std::fs::write(&path, data).expect("write screenshot");
        path
    }

    /// Enter a room from a join or host link: name, consent, enter; then wait until live.
    async fn enter_room(&self, link: &str, name: &str) {
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

    async fn me(&self) -> u64 {
        self.eval("await until(() => window.circlekeeper && window.circlekeeper.state && window.circlekeeper.state.you, 10000, 'you'); return window.circlekeeper.state.you;")
            .await
            .as_u64()
            .expect("participant id")
    }
}

#[tokio::test]
async fn a_facilitator_and_three_participants_run_a_circle_in_real_browsers() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The facilitator opens a room from the front page.
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "Tuesday action learning set")
        .await;
    fran.eval("const s = await until(() => $('create-format') && $('create-format').options.length > 0 && $('create-format'), 10000, 'formats'); s.value = 'action_learning_set'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;
    let host_link = fran.text("host-link").await;
    assert!(join_link.contains("#join="), "{join_link}");
    assert!(host_link.contains("#host="), "{host_link}");
    let front = fran.screenshot("create.png").await;
    assert!(front.exists());
    fran.enter_room(&host_link, "Fran").await;

    // Three participants join from the link, each on their own phone.
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Chen"] {
        let p = browser.page(name, 390, 844, true).await;
        p.enter_room(&join_link, name).await;
        people.push(p);
    }
    let [ada, ben, chen] = [&people[0], &people[1], &people[2]];
    fran.wait_for("$$('participants').length > 0 && document.querySelectorAll('[data-test=participants] [data-participant]').length === 4", "four people")
        .await;

    // Start: the check-in round goes around; Ada passes.
    fran.click("start").await;
    for p in [&fran, ada, ben, chen] {
        p.wait_for(
            "$('stage-title') && /check/i.test($('stage-title').textContent)",
            "the check-in",
        )
        .await;
    }
    fran.click("done").await;
    ada.wait_for("visible($('pass'))", "Ada's turn").await;
    ada.click("pass").await;
    ben.wait_for("visible($('done'))", "Ben's turn").await;
    ben.click("done").await;
    chen.wait_for("visible($('done'))", "Chen's turn").await;
    let speaking = ada.text("speaker").await;
    assert!(
        speaking.contains("Chen"),
        "Ada sees Chen speaking: {speaking}"
    );
    chen.click("done").await;

    // Presentation, then clarifying questions: hands go up and the facilitator gives the floor.
    fran.click("next-stage").await;
    fran.click("next-stage").await;
    for p in [ben, chen] {
        p.wait_for("visible($('raise-hand'))", "a hand to raise")
            .await;
    }
    ben.click("raise-hand").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=queue] [data-participant]').length === 1",
        "Ben's hand",
    )
    .await;
    chen.click("raise-hand").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=queue] [data-participant]').length === 2",
        "Chen's hand",
    )
    .await;
    fran.click("give-floor").await;
    for p in [&fran, ada, chen] {
        p.wait_for(
            "$('speaker') && /Ben/.test($('speaker').textContent)",
            "Ben has the floor",
        )
        .await;
    }

    // Pause and extend: everyone sees the same remaining time, within a second.
    fran.click("pause").await;
    for p in [ada, ben, chen] {
        p.wait_for(
            "window.circlekeeper.state.view.session.status === 'paused' && /paused/i.test(document.body.textContent)",
            "paused",
        )
        .await;
    }
    let before = fran.remaining_ms().await;
    fran.click("timer-plus-1").await;
    fran.wait_for(
        &format!(
            "Number($('timer').dataset.remainingMs) >= {}",
            before + 50_000
        ),
        "a minute more",
    )
    .await;
    fran.click("resume").await;
    for p in [&fran, ada, ben, chen] {
        p.wait_for(
            "window.circlekeeper.state.view.session.status === 'running'",
            "running again",
        )
        .await;
    }
    let mut readings = Vec::new();
    for p in [&fran, ada, ben, chen] {
        readings.push(p.remaining_ms().await);
    }
    let spread =
        readings.iter().max().expect("readings") - readings.iter().min().expect("readings");
    assert!(
        spread < 1000,
        "remaining times differ by {spread} ms: {readings:?}"
    );
    assert!(
        readings[0] > before + 50_000,
        "the minute was added: {before} → {readings:?}"
    );

    // Ben reloads mid-session: same person, still holding the floor.
    let ben_id = ben.me().await;
    ben.reload().await;
    ben.live().await;
    assert_eq!(
        ben.me().await,
        ben_id,
        "the same participant after a reload"
    );
    ben.wait_for(
        "$('speaker') && /Ben/.test($('speaker').textContent)",
        "Ben still has the floor",
    )
    .await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 4",
        "no duplicate",
    )
    .await;

    let participant = ada.screenshot("participant.png").await;
    let console = fran.screenshot("facilitator.png").await;
    assert!(participant.exists() && console.exists());
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn two_participants_swap_coaching_roles_in_a_pair_in_real_browsers() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The facilitator opens a coaching swap from the front page.
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "June coaching swap").await;
    fran.eval("const s = await until(() => $('create-format') && [...$('create-format').options].some((o) => o.value === 'coaching_swap') && $('create-format'), 10000, 'formats'); s.value = 'coaching_swap'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;
    let host_link = fran.text("host-link").await;
    fran.enter_room(&host_link, "Fran").await;

    // Two participants join from the link, each on their own phone.
    let ada = browser.page("Ada", 390, 844, true).await;
    ada.enter_room(&join_link, "Ada").await;
    let ben = browser.page("Ben", 390, 844, true).await;
    ben.enter_room(&join_link, "Ben").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 3",
        "three people",
    )
    .await;

    // Welcome, check-in, then the pairing stage.
    fran.click("start").await;
    fran.wait_for(
        "/Welcome/.test($('stage-title').textContent)",
        "the welcome",
    )
    .await;
    fran.click("next-stage").await;
    fran.wait_for(
        "/Check-in/.test($('stage-title').textContent)",
        "the check-in",
    )
    .await;
    fran.click("next-stage").await;
    fran.wait_for(
        "/Pairing/.test($('stage-title').textContent)",
        "the pairing",
    )
    .await;

    // Propose, lock and unlock the pair, confirm.
    fran.click("propose-pairs").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=proposal] [data-group]').length === 1",
        "one proposed pair",
    )
    .await;
    let proposed = fran
        .eval("return $('proposal').textContent;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        proposed.contains("Ada") && proposed.contains("Ben"),
        "the proposal pairs Ada and Ben: {proposed}"
    );
    fran.click("lock-group").await;
    fran.wait_for(
        "$('lock-group').getAttribute('aria-pressed') === 'true'",
        "the pair locked",
    )
    .await;
    fran.click("lock-group").await;
    fran.wait_for(
        "$('lock-group').getAttribute('aria-pressed') === 'false'",
        "the pair unlocked",
    )
    .await;
    fran.click("confirm-pairs").await;
    for (p, other) in [(&ada, "Ben"), (&ben, "Ada")] {
        p.wait_for(
            &format!(
                "visible($('pairing-note')) && $('pairing-note').textContent.includes('paired with {other}')"
            ),
            "the pairing note",
        )
        .await;
    }

    // The pairs stage: each sees the other as partner, with opposite roles.
    fran.click("next-stage").await;
    fran.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=coaching][data-round=\"1\"]')",
        "the dashboard's tile",
    )
    .await;
    for (p, other) in [(&ada, "Ben"), (&ben, "Ada")] {
        p.wait_for("visible($('pair-view'))", "the pair view").await;
        assert_eq!(p.text("partner").await, other, "{}'s partner", p.name);
        assert_eq!(p.text("pair-round").await, "Half 1 of 2");
    }
    let ada_role = ada.text("pair-role").await;
    let ben_role = ben.text("pair-role").await;
    let (coach, client) = match (ada_role.as_str(), ben_role.as_str()) {
        ("coaching", "being coached") => (&ada, &ben),
        ("being coached", "coaching") => (&ben, &ada),
        roles => panic!("opposite roles expected, got {roles:?}"),
    };
    // The pair's own timer counts down from the half's 45 minutes.
    let left = coach
        .eval("const el = await until(() => $('pair-timer') && $('pair-timer').dataset.remainingMs && $('pair-timer'), 10000, 'pair timer'); return Number(el.dataset.remainingMs);")
        .await
        .as_i64()
        .expect("remaining ms");
    // The page estimates the server's clock from a frame's server_time plus the time since it
    // arrived, so just after the start it may read a few milliseconds over the 45 minutes.
    assert!(
        (44 * 60_000..=45 * 60_000 + 1_000).contains(&left),
        "half time left: {left}"
    );
    // Only the coach draws prompts.
    client
        .wait_for(
            "!visible($('draw-prompt')) && visible($('end-half'))",
            "the client's actions",
        )
        .await;
    coach.click("draw-prompt").await;
    coach
        .wait_for(
            "visible($('prompt-card')) && $('prompt-card').dataset.source === 'drawn'",
            "the drawn prompt",
        )
        .await;
    coach.screenshot("pair.png").await;
    fran.screenshot("pairs-dashboard.png").await;

    // The coach ends the half; the client is asked for feedback.
    coach.click("end-half").await;
    coach.click("confirm-ok").await;
    for p in [coach, client] {
        p.wait_for(
            "$('pair-view').dataset.phase === 'feedback' && visible($('confirm-switch'))",
            "feedback",
        )
        .await;
    }
    let coach_name = coach.name.clone();
    let client_name = client.name.clone();
    let ask = client.text("feedback-ask").await;
    assert!(
        ask.contains(&format!(
            "tell {coach_name} what helped and what helped less"
        )),
        "{ask}"
    );

    // Both confirm the switch: the first waits for the second.
    client.click("confirm-switch").await;
    client
        .wait_for(
            &format!(
                "visible($('switch-waiting')) && $('switch-waiting').textContent.includes('waiting for {coach_name}')"
            ),
            "waiting for the coach",
        )
        .await;
    fran.wait_for(
        &format!(
            "$('tile-state') && $('tile-state').textContent.includes('waiting for {coach_name}')"
        ),
        "the dashboard's ready state",
    )
    .await;
    assert_eq!(coach.text("pair-role").await, "coaching", "no switch yet");
    coach.click("confirm-switch").await;

    // Switched: the roles are reversed on both screens, and said so.
    for (p, role) in [(coach, "being coached"), (client, "coaching")] {
        p.wait_for(
            &format!(
                "$('pair-round').textContent === 'Half 2 of 2' && $('pair-role').textContent === '{role}' && visible($('pair-switched')) && !visible($('switch-waiting'))"
            ),
            "the switch",
        )
        .await;
        p.wait_for(
            "/Roles switched/.test(document.getElementById('announcer').textContent)",
            "the switch announced",
        )
        .await;
    }
    fran.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=coaching][data-round=\"2\"]')",
        "the tile's second half",
    )
    .await;

    // The second half ends (the new coach ends it); both confirm: done.
    client.click("end-half").await;
    client.click("confirm-ok").await;
    coach
        .wait_for(
            "$('pair-view').dataset.phase === 'feedback'",
            "feedback again",
        )
        .await;
    let ask = coach.text("feedback-ask").await;
    assert!(
        ask.contains(&format!("tell {client_name} what helped")),
        "{ask}"
    );
    coach.click("confirm-switch").await;
    coach
        .wait_for(
            &format!("$('switch-waiting').textContent.includes('waiting for {client_name}')"),
            "waiting for the other",
        )
        .await;
    client.click("confirm-switch").await;
    for p in [coach, client] {
        p.wait_for(
            "visible($('pair-done')) && $('pair-done').textContent === 'Both halves done — back to plenary soon'",
            "done",
        )
        .await;
    }
    fran.wait_for(
        "document.querySelector('[data-test=pairs-dashboard] [data-group][data-phase=done]')",
        "the tile done",
    )
    .await;

    // Everyone is called back to the plenary check-out.
    fran.click("call-back").await;
    for p in [&ada, &ben] {
        p.wait_for(
            "/Check-out/.test($('stage-title').textContent) && !visible($('pair-view'))",
            "the check-out",
        )
        .await;
    }

    assert!(
        artifacts().join("pair.png").exists() && artifacts().join("pairs-dashboard.png").exists()
    );
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn series_members_keep_private_commitments_private_in_real_browsers() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;

    // A monthly series of three members, and its first session: a coaching swap.
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni coaching swap", "cadence": "monthly", "cycle_months": 6, "members": ["Ada", "Ben", "Chen"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series = answer.json;
    let series_id = series["series_id"].as_str().expect("series id").to_string();
    let member_url = |i: usize| {
        let url = series["members"][i]["url"].as_str().expect("member url");
        assert!(url.contains(&format!("/s/{series_id}#member=")), "{url}");
        url.to_string()
    };
    let answer = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/rooms"),
            json!({ "key": series["host_key"] }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let host_link = answer.json["host_url"]
        .as_str()
        .expect("host url")
        .to_string();

    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.enter_room(&host_link, "Fran").await;

    // Ada and Ben open their personal links, each on their own phone, and enter: no name to
    // type, the room's ground rules to agree to.
    let ada = browser.page("Ada", 390, 844, true).await;
    let ben = browser.page("Ben", 390, 844, true).await;
    for (p, i) in [(&ada, 0), (&ben, 1)] {
        p.goto(&member_url(i)).await;
        p.wait_for("visible($('member-page'))", "the member page")
            .await;
        assert_eq!(p.text("member-name").await, p.name);
        assert_eq!(
            p.eval("return location.hash;").await,
            json!(""),
            "the key leaves the address bar"
        );
        p.click("member-enter").await;
        p.wait_for(
            "$('ground-rules') && /stays in this circle/.test($('ground-rules').textContent)",
            "the room's ground rules",
        )
        .await;
        p.check("consent-checkbox").await;
        p.click("enter-button").await;
        p.live().await;
    }
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 3",
        "three people",
    )
    .await;

    // Welcome, check-in, pairing; the pair coaches until the first half ends.
    fran.click("start").await;
    for stage in ["Check-in", "Pairing"] {
        fran.click("next-stage").await;
        fran.wait_for(
            &format!("$('stage-title').textContent.includes('{stage}')"),
            stage,
        )
        .await;
    }
    fran.click("propose-pairs").await;
    fran.click("confirm-pairs").await;
    fran.wait_for(
        "window.circlekeeper.state.view.pairs.groups.length === 1",
        "the pair",
    )
    .await;
    fran.click("next-stage").await;
    for p in [&ada, &ben] {
        p.wait_for("visible($('pair-view'))", "the pair view").await;
        p.wait_for(
            "!visible($('commitment-text'))",
            "no commitment form while coaching",
        )
        .await;
    }
    let (coach, client) = if ada.text("pair-role").await == "coaching" {
        (&ada, &ben)
    } else {
        (&ben, &ada)
    };
    coach.click("end-half").await;
    coach.click("confirm-ok").await;

    // The client tells the coach what helped, shared with the circle: the coach reads it.
    client
        .wait_for(
            "visible($('feedback-save')) && $('feedback-visibility').checked && $('feedback-visibility').value === 'private'",
            "the feedback form, private by default",
        )
        .await;
    client.choose("feedback-rating", "5").await;
    client
        .fill("feedback-helped", "The silence after my answer")
        .await;
    client
        .fill("feedback-helped-less", "Jumping to the next question")
        .await;
    client.choose("feedback-visibility", "circle").await;
    client.click("feedback-save").await;
    client
        .wait_for("visible($('feedback-saved'))", "the feedback saved")
        .await;
    coach
        .wait_for(
            "visible($('feedback-received')) && $('feedback-received').textContent.includes('The silence after my answer')",
            "the feedback, read by the coach",
        )
        .await;
    coach
        .wait_for(
            "/shared feedback with you/.test(document.getElementById('announcer').textContent)",
            "the feedback announced to the coach",
        )
        .await;

    // Ada commits privately (the default); Ben shares his commitment with the circle.
    let private_text = "Tell my manager I am leaving by spring";
    let circle_text = "Ask the board for a mentor";
    for p in [&ada, &ben] {
        p.wait_for(
            "visible($('commitment-text')) && document.querySelector('[data-test=commitment-visibility][value=private]').checked",
            "the commitment form, private by default",
        )
        .await;
    }
    ada.fill("commitment-text", private_text).await;
    ada.fill("commitment-due", "2027-03-01").await;
    ada.click("commitment-save").await;
    ada.wait_for(
        &format!(
            "document.querySelectorAll('[data-test=my-commitments] [data-commitment]').length === 1 && $('my-commitments').textContent.includes('{private_text}') && $('my-commitments').textContent.includes('only you')"
        ),
        "Ada's own commitment",
    )
    .await;
    ben.fill("commitment-text", circle_text).await;
    ben.choose("commitment-visibility", "circle").await;
    ben.click("commitment-save").await;
    for p in [&ada, &ben, &fran] {
        p.wait_for(
            &format!(
                "window.circlekeeper.state.view.commitments.some((c) => c.text === '{circle_text}') && document.body.textContent.includes('{circle_text}')"
            ),
            "Ben's shared commitment",
        )
        .await;
    }
    for p in [&ben, &fran] {
        let leaked = p
            .eval(&format!(
                "return document.body.textContent.includes('{private_text}') || JSON.stringify(window.circlekeeper.state.view).includes('{private_text}');"
            ))
            .await;
        assert_eq!(
            leaked,
            json!(false),
            "{} saw Ada's private commitment",
            p.name
        );
    }
    ada.screenshot_of("commitment.png", "$('commitment-text').closest('section')")
        .await;

    // After the end, Ada answers the short survey and is thanked.
    fran.click("end-session").await;
    fran.click("confirm-ok").await;
    ada.wait_for("visible($('survey-save'))", "the survey")
        .await;
    ada.choose("survey-rating", "4").await;
    ada.fill("survey-comment", "A calm evening").await;
    ada.click("survey-save").await;
    ada.wait_for(
        "visible($('survey-thanks')) && !visible($('survey-save'))",
        "the thank-you",
    )
    .await;
    let leaked = ben
        .eval(&format!(
            "return document.body.textContent.includes('{private_text}') || JSON.stringify(window.circlekeeper.state.view).includes('{private_text}');"
        ))
        .await;
    assert_eq!(leaked, json!(false), "Ben saw Ada's private commitment");

    // Chen chooses to be re-matched at the end of the cycle; the page opens again from this
    // device without the key in the address.
    let chen = browser.page("Chen", 390, 844, true).await;
    chen.goto(&member_url(2)).await;
    chen.wait_for("visible($('member-page'))", "Chen's page")
        .await;
    chen.choose("cycle-choice", "rematch").await;
    chen.wait_for(
        "$('cycle-choice-status').dataset.choice === 'rematch'",
        "the choice saved",
    )
    .await;
    chen.reload().await;
    chen.wait_for(
        "visible($('member-page')) && document.querySelector('[data-test=cycle-choice][value=rematch]').checked",
        "the choice, shown again",
    )
    .await;
    let me = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/me"),
            json!({ "key": series["members"][2]["key"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(me.json["choice"], json!("rematch"), "{}", me.text);

    assert!(artifacts().join("commitment.png").exists());
    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

#[tokio::test]
async fn a_facilitator_exports_the_session_summary_in_a_real_browser() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |s| {
        s.host_key = Some("community-host-key-for-tests".into());
    })
    .await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The facilitator opens a room from the front page and enters through the host link.
    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "Thursday peer circle").await;
    fran.eval("const s = await until(() => $('create-format') && $('create-format').options.length > 0 && $('create-format'), 10000, 'formats'); s.value = 'action_learning_set'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;
    let host_link = fran.text("host-link").await;
    fran.enter_room(&host_link, "Fran").await;
    let shown = fran
        .eval("return document.body.textContent.includes(localStorage.getItem('circlekeeper.hostkey.' + window.circlekeeper.state.roomId));")
        .await;
    assert_eq!(shown, json!(false), "the host key is never shown");

    // One participant joins and consents.
    let ada = browser.page("Ada", 390, 844, true).await;
    ada.enter_room(&join_link, "Ada").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 2",
        "two people",
    )
    .await;

    // Start, then end the session.
    fran.click("start").await;
    ada.wait_for(
        "window.circlekeeper.state.view.session.status === 'running'",
        "running",
    )
    .await;
    fran.click("end-session").await;
    fran.click("confirm-ok").await;
    for p in [&fran, &ada] {
        p.wait_for(
            "window.circlekeeper.state.view.session.status === 'ended'",
            "ended",
        )
        .await;
    }

    // Export the summary as Markdown.
    fran.eval("const s = await until(() => visible($('export-format')) && $('export-format'), 10000, 'export format'); s.value = 'markdown'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.click("export-summary").await;
    fran.wait_for(
        "window.circlekeeper.lastExport && window.circlekeeper.lastExport.format === 'markdown'",
        "the exported summary",
    )
    .await;
    let text = fran
        .eval("return window.circlekeeper.lastExport.text;")
        .await
        .as_str()
        .expect("summary text")
        .to_string();
    assert!(text.starts_with("# "), "{text}");
    assert!(text.contains("Thursday peer circle"), "{text}");
    assert!(text.contains("Ada"), "names are shown: {text}");
    let filename = fran
        .eval("return window.circlekeeper.lastExport.filename;")
        .await;
    assert_eq!(filename, json!("summary-thursday-peer-circle.md"));
    assert!(fran.screenshot("export.png").await.exists());

    // Hidden names: the pseudonymised summary leaves them out.
    fran.check("export-pseudonymise").await;
    fran.eval("window.__before = window.circlekeeper.lastExport;")
        .await;
    fran.click("export-summary").await;
    fran.wait_for(
        "window.circlekeeper.lastExport !== window.__before",
        "the pseudonymised summary",
    )
    .await;
    let hidden = fran
        .eval("return window.circlekeeper.lastExport.text;")
        .await
        .as_str()
        .expect("summary text")
        .to_string();
    assert!(!hidden.contains("Ada"), "{hidden}");

    // The community host's page: a series with this room's figures, charted.
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Spring cohort", "cadence": "monthly", "cycle_months": 3, "members": ["Ada", "Ben"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series_id = answer.json["series_id"]
        .as_str()
        .expect("series id")
        .to_string();
    let series = answer.json;
    let open_session = || async {
        let opened = server
            .http(
                "POST",
                &format!("/api/series/{series_id}/rooms"),
                json!({ "key": series["host_key"] }).to_string().as_bytes(),
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.text);
    };
    // Both members come to the first session, only Ada to the second.
    let ben = browser.page("Ben", 390, 844, true).await;
    open_session().await;
    for (i, p) in [&ada, &ben].into_iter().enumerate() {
        let link = series["members"][i]["url"].as_str().expect("member url");
        p.goto(link).await;
        p.click("member-enter").await;
        p.check("consent-checkbox").await;
        p.click("enter-button").await;
        p.live().await;
    }
    open_session().await;
    ada.goto(series["members"][0]["url"].as_str().expect("member url"))
        .await;
    ada.click("member-enter").await;
    ada.check("consent-checkbox").await;
    ada.click("enter-button").await;
    ada.live().await;
    let host = browser.page("Host", 1280, 900, false).await;
    host.goto(&format!("{url}/host")).await;
    host.fill("host-key", "not the key").await;
    host.click("host-enter").await;
    host.wait_for("visible($('error')) && $('host-key')", "a refusal")
        .await;
    host.fill("host-key", "community-host-key-for-tests").await;
    host.click("host-enter").await;
    host.wait_for(
        &format!("document.querySelector('[data-test=host-series] [data-series=\"{series_id}\"]')"),
        "the series",
    )
    .await;
    host.wait_for(
        "document.querySelectorAll('[data-test=host-rooms] [data-room]').length === 3",
        "the rooms",
    )
    .await;
    host.wait_for(
        "$('chart-attendance') && $('chart-attendance').querySelectorAll('rect.bar').length === 2 && $('table-attendance').textContent.includes('2') && $('chart-ratings') && $('chart-ratings').querySelector('title')",
        "the charts",
    )
    .await;
    host.eval("document.querySelector('[data-test=host-rooms] [data-room] [data-test=host-download][data-format=markdown]').click();")
        .await;
    host.wait_for(
        "window.circlekeeper.lastExport && window.circlekeeper.lastExport.text.startsWith('# ')",
        "a room's summary",
    )
    .await;
    let remembered = host
        .eval("return sessionStorage.getItem('circlekeeper.community-host') !== null && localStorage.length === 0;")
        .await;
    assert_eq!(remembered, json!(true), "the key is kept for the tab only");
    let shot = host
        .screenshot_of(
            "host.png",
            &format!("document.querySelector('[data-series=\"{series_id}\"]')"),
        )
        .await;
    assert!(shot.exists());

    let problems = browser.problems.lock().await.clone();
    assert!(
        problems.is_empty(),
        "the pages logged errors: {problems:#?}"
    );
}

/// A facilitator's page: a room opened from the front page (default format), entered by its host link.
async fn open_console<'a>(browser: &'a Browser, url: &str, title: &str) -> Page<'a> {
    let page = browser.page("Fran", 1280, 900, false).await;
    page.goto(&format!("{url}/")).await;
    page.fill("create-title", title).await;
    page.click("create-submit").await;
    let host_link = page.text("host-link").await;
    page.enter_room(&host_link, "Fran").await;
    page
}

#[tokio::test]
async fn the_room_screen_speaks_a_new_language_at_once_keeping_what_was_typed() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let fran = open_console(&browser, &server.url(), "Language circle").await;
    fran.wait_for(
        "document.querySelector('.stages-panel h2').textContent === 'Stages'",
        "the console in English",
    )
    .await;

    // Half-written prompt, focus still in it: then the language changes.
    fran.fill("prompt-own", "A question of my own").await;
    fran.eval(
        "const w = await import('/words.js');
         w.CATALOGS.de['room.stage.stages'] = 'Etappen';
         await w.setLanguage('de');",
    )
    .await;
    fran.wait_for(
        "document.documentElement.lang === 'de' && document.querySelector('.stages-panel h2').textContent === 'Etappen'",
        "the console rebuilt in the new language",
    )
    .await;
    let kept = fran
        .eval("return [$('prompt-own').value, document.activeElement === $('prompt-own'), document.querySelectorAll('main.room').length];")
        .await;
    assert_eq!(
        kept,
        json!(["A question of my own", true, 1]),
        "typed text and focus survive the switch"
    );

    // And back: English again, still one room screen.
    fran.eval("const w = await import('/words.js'); await w.setLanguage('en');")
        .await;
    fran.wait_for(
        "document.documentElement.lang === 'en' && document.querySelector('.stages-panel h2').textContent === 'Stages' && $('prompt-own').value === 'A question of my own'",
        "the console back in English",
    )
    .await;
}

#[tokio::test]
async fn a_facilitator_replaces_and_turns_off_the_join_link_in_a_real_browser() {
    let Some(path) = chromium() else { return };
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let browser = Browser::launch(&path).await;
    let url = server.url();
    let old_join = format!("{url}/r/{}#join={}", room.room_id, room.join_key);
    let host_link = format!("{url}/r/{}#host={}", room.room_id, room.host_key);

    let fran = browser.page("Fran", 1280, 900, false).await;
    fran.enter_room(&host_link, "Fran").await;
    let ada = browser.page("Ada", 390, 844, true).await;
    ada.enter_room(&old_join, "Ada").await;

    // Replace the join link: the console shows the new one, and only the console.
    fran.click("rotate-join").await;
    fran.click("confirm-ok").await;
    fran.wait_for(
        &format!(
            "$('invite-link') && /#join=/.test($('invite-link').textContent) && !$('invite-link').textContent.includes({:?})",
            room.join_key
        ),
        "the new join link",
    )
    .await;
    let new_join = fran.text("invite-link").await;
    assert!(
        new_join.starts_with(&format!("{url}/r/{}#join=", room.room_id)),
        "{new_join}"
    );
    let new_key = new_join.rsplit('=').next().expect("a key").to_string();
    assert!(fran.text("link-notice").await.contains("replaced"));
    ada.live().await;
    let leaked = ada
        .eval(&format!(
            "return document.documentElement.outerHTML.includes({new_key:?});"
        ))
        .await;
    assert_eq!(leaked, json!(false), "a participant never sees the new key");

    // The old link no longer opens the room; the new one does.
    let ben = browser.page("Ben", 390, 844, true).await;
    ben.goto(&old_join).await;
    ben.fill("name-input", "Ben").await;
    ben.check("consent-checkbox").await;
    ben.click("enter-button").await;
    ben.wait_for(
        "$('closed-title') && /does not open/.test($('closed-title').textContent)",
        "the old link refused",
    )
    .await;
    let lin = browser.page("Lin", 390, 844, true).await;
    lin.enter_room(&new_join, "Lin").await;
    fran.wait_for(
        "document.querySelectorAll('[data-test=participants] [data-participant]').length === 3",
        "Fran, Ada and Lin",
    )
    .await;

    // Turn it off: nobody new gets in with it.
    fran.click("revoke-join").await;
    fran.click("confirm-ok").await;
    fran.wait_for(
        &format!(
            "!$('invite-link').textContent.includes({new_key:?}) && /turned off/.test($('invite-hint').textContent) && !visible($('revoke-join'))"
        ),
        "the join link gone from the console, which says it is off",
    )
    .await;
    let sam = browser.page("Sam", 390, 844, true).await;
    sam.goto(&new_join).await;
    sam.fill("name-input", "Sam").await;
    sam.check("consent-checkbox").await;
    sam.click("enter-button").await;
    sam.wait_for(
        "$('closed-title') && /does not open/.test($('closed-title').textContent)",
        "the turned-off link refused",
    )
    .await;
    fran.eval("document.querySelector('[data-test=links]').scrollIntoView();")
        .await;
    assert!(fran.screenshot("links.png").await.exists());
}

#[tokio::test]
async fn the_language_switch_redraws_each_page_and_keeps_what_was_typed_in_a_real_browser() {
    let Some(path) = chromium() else { return };
    let store = SledStore::temporary().expect("store");
    let server = TestServer::start_with(Arc::new(store), Clock::System, |_| {}).await;
    let browser = Browser::launch(&path).await;
    let url = server.url();

    // The home page: the switch is in its header; a switch keeps the title and format chosen.
    let fran = browser.page("Fran", 360, 800, true).await;
    fran.goto(&format!("{url}/")).await;
    fran.fill("create-title", "Circle of Thursdays").await;
    fran.eval("const s = await until(() => $('create-format') && $('create-format').options.length > 1 && $('create-format'), 10000, 'formats'); s.value = 'coaching_swap'; s.dispatchEvent(new Event('change', {bubbles: true}));")
        .await;
    fran.eval("document.querySelector('h1').dataset.old = 'yes';")
        .await;
    // As a keyboard user does: the button has the focus, and keeps it once the page is drawn again.
    fran.eval("$('lang-de').focus(); $('lang-de').click();")
        .await;
    fran.wait_for(
        "document.documentElement.lang === 'de' && !document.querySelector('h1[data-old]') && $('lang-de').getAttribute('aria-pressed') === 'true' && $('lang-en').getAttribute('aria-pressed') === 'false'",
        "the home page drawn again in German",
    )
    .await;
    let kept = fran
        .eval("await until(() => $('create-format').value === 'coaching_swap', 10000, 'the format kept'); return [$('create-title').value, document.activeElement.dataset.test, $$('lang-switch').length];")
        .await;
    assert_eq!(kept, json!(["Circle of Thursdays", "lang-de", 1]));
    // Back to English: the page reads as before.
    fran.click("lang-en").await;
    fran.wait_for(
        "document.documentElement.lang === 'en' && document.querySelector('h1').textContent === 'Open a circle'",
        "the home page in English again",
    )
    .await;
    fran.click("create-submit").await;
    let join_link = fran.text("join-link").await;

    // The join page: a switch keeps the name typed and the consent ticked; entering still works,
    // and the room's top bar carries the switch.
    let ada = browser.page("Ada", 360, 800, true).await;
    ada.goto(&join_link).await;
    ada.wait_for("$('ground-rules')", "the room's ground rules")
        .await;
    ada.fill("name-input", "Ada").await;
    ada.check("consent-checkbox").await;
    ada.eval("document.querySelector('h1').dataset.old = 'yes';")
        .await;
    ada.click("lang-es").await;
    ada.wait_for(
        "document.documentElement.lang === 'es' && !document.querySelector('h1[data-old]') && $('lang-es').getAttribute('aria-pressed') === 'true'",
        "the join page drawn again in Spanish",
    )
    .await;
    let typed = ada
        .eval("return [$('name-input').value, $('consent-checkbox').checked, !!$('ground-rules')];")
        .await;
    assert_eq!(typed, json!(["Ada", true, true]));
    ada.click("enter-button").await;
    ada.wait_for(
        "window.circlekeeper.state.status === 'live'",
        "live (whatever the language calls it)",
    )
    .await;
    ada.wait_for(
        "document.querySelector('.topbar [data-test=lang-switch]') && $('lang-es').getAttribute('aria-pressed') === 'true'",
        "the switch in the room's top bar",
    )
    .await;
    // The choice is kept on the device: a reload comes back in Spanish, as the same person.
    ada.reload().await;
    ada.wait_for(
        "window.circlekeeper.state.status === 'live'",
        "live (whatever the language calls it)",
    )
    .await;
    let after = ada
        .eval("return [document.documentElement.lang, window.circlekeeper.state.screen];")
        .await;
    assert_eq!(after, json!(["es", "room"]));
}
