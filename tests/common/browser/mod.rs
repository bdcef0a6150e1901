//! A small Chrome DevTools Protocol client for the browser tests: it starts Debian's headless
//! Chromium, talks to it over the websocket library the server already uses, and opens pages
//! ([`Page`], in `page.rs`), each in its own browser context (another person's device).
//! `keys.rs` sends real key events, `layout.rs` measures what is on screen and what has the
//! focus, `axe.rs` runs the vendored axe-core in a page, `print.rs` opens a document as it is
//! and prints it to PDF.
//!
//! Without Chromium, [`chromium`] says plainly that the tests were skipped, and why; under CI
//! (`CI` set) a missing browser fails them instead. `.ci/run` installs Debian's `chromium`.
//! Included with `#[path]` by the browser tests only; each uses its own part.
#![allow(dead_code)]

mod axe;
mod keys;
mod layout;
mod page;
mod print;

// Each test file uses its own part.
#[allow(unused_imports)]
pub use axe::{report, Violation};
#[allow(unused_imports)]
pub use keys::Modifier;
pub use page::Page;
#[allow(unused_imports)]
pub use print::pdf_pages;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio_tungstenite::tungstenite::Message;

/// How long Chromium may take to start and announce its DevTools endpoint: on a loaded
/// two-core machine (the whole suite building and running beside it) it can take several
/// seconds.
const LAUNCH: Duration = Duration::from_secs(30);

/// Longest wait for anything in a page.
pub const WAIT: Duration = Duration::from_secs(15);

/// Where Debian puts Chromium.
const CHROMIUM: &str = "/usr/bin/chromium";

/// The browser, or why the tests cannot run.
pub fn chromium() -> Option<PathBuf> {
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

/// Where screenshots go: `target/browser-artifacts/`, created if missing.
pub fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts directory");
    dir
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A Chromium that has started: the process, its stderr, its DevTools endpoint, its profile.
type Started = (
    Child,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    String,
    tempfile::TempDir,
);

/// A headless Chromium and a DevTools connection to it. Killed when dropped.
pub struct Browser {
    child: Child,
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: Arc<AtomicU64>,
    /// Console errors and uncaught exceptions, from every page.
    pub problems: Arc<Mutex<Vec<String>>>,
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

    /// Start Chromium (one start at a time, tried twice) and connect to its DevTools endpoint.
    pub async fn launch(path: &Path) -> Browser {
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
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_call(session, method, params)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// One DevTools call; a protocol error (such as an evaluation cut off by a navigation) is
    /// returned rather than a panic. Panics only when the browser does not answer.
    pub async fn try_call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
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
        match answer.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(answer["result"].clone()),
        }
    }

    /// A new page in its own browser context (its own storage: another person's device).
    /// `width`×`height` CSS pixels, as a phone (`mobile`) or not.
    pub async fn page(&self, name: &str, width: u32, height: u32, mobile: bool) -> Page<'_> {
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
        let page = Page::new(self, session, name);
        page.cmd("Page.enable", json!({})).await;
        page.cmd("Runtime.enable", json!({})).await;
        page.set_viewport(width, height, mobile).await;
        page
    }
}
