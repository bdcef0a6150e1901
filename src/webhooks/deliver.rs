//! Sending: one task per delivery, at most [`MAX_IN_FLIGHT`] posting at once and at most
//! [`MAX_WAITING`] waiting, each retried with exponential backoff and jitter until it succeeds
//! or [`MAX_ATTEMPTS`] attempts (the operator's policy may set fewer or more) have failed. A
//! slow or dead receiver delays only its own deliveries: no room, no request and no commit ever
//! waits for one.
//!
//! Each series has a delivery log of its last [`LOG_LEN`] deliveries (event, time, attempts,
//! last status code or error, outcome), kept **in memory** on the node that sent them: it
//! starts empty after a restart. Backoff waits on the server's [`Clock`], so tests move time.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use circlekeeper_protocol::Millis;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::payload::{self, Notice};
use super::sign;
use super::{Webhook, WebhookPolicy};
use crate::clock::Clock;

/// Attempts per delivery by default: five attempts span about a minute with the default
/// backoff (2 s, 4 s, 8 s, 16 s plus jitter), enough for a receiver restarting.
pub const MAX_ATTEMPTS: u32 = 5;

/// The first retry's wait by default, in milliseconds.
pub const FIRST_BACKOFF_MS: u64 = 2_000;

/// Longest wait between two attempts, whatever the policy: a delivery is news of a session,
/// worth little an hour late.
pub const MAX_BACKOFF_MS: u64 = 600_000;

/// Deliveries a series' log keeps (the newest).
pub const LOG_LEN: usize = 20;

/// Series whose logs are kept at once; past it the log updated longest ago is dropped.
pub const MAX_LOGS: usize = 10_000;

/// Deliveries posting at once, over all series: a few dead receivers cannot hold many
/// sockets.
pub const MAX_IN_FLIGHT: usize = 16;

/// Deliveries waiting to post or to retry, over all series; past it a new delivery is given
/// up at once (and its log says so).
pub const MAX_WAITING: usize = 1_000;

/// How long a receiver has to answer one attempt (connect, TLS, request and status line).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a delivery stands.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Posting, or waiting for its next attempt.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up: every attempt failed, the receiver refused it (4xx other than 408 or 429),
    /// or too many deliveries were waiting.
    Failed,
}

/// One delivery as the host's log shows it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// The delivery's id (`X-Circlekeeper-Delivery`).
    pub delivery: String,
    /// The webhook it went to.
    pub hook: String,
    /// `session_opened`, `session_started`, `session_ended` or `test`.
    pub event: &'static str,
    /// When it was queued (epoch milliseconds).
    pub at: Millis,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last answer's status code, if a receiver answered.
    pub status: Option<u16>,
    /// The last attempt's error, if it got no answer or was refused.
    pub error: Option<String>,
    /// How it stands.
    pub outcome: Outcome,
    /// When the next attempt is due, while it waits for one.
    pub next_at: Option<Millis>,
}

/// One delivery to make: a webhook (as it was when the event happened) and what to tell it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The series it belongs to (whose log records it).
    pub series: String,
    /// The webhook.
    pub hook: Webhook,
    /// What happened.
    pub notice: Notice,
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The webhooks' sender: the HTTP client, the policy and the delivery logs. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Shared>,
}

struct Shared {
    policy: WebhookPolicy,
    clock: Clock,
    /// `None` when no TLS roots could be loaded (never with the compiled-in roots) or
    /// webhooks are off.
    client: Option<HttpClient>,
    logs: Mutex<HashMap<String, VecDeque<LogEntry>>>,
    posting: Semaphore,
    waiting: AtomicUsize,
    next: AtomicU64,
}

impl Webhooks {
    /// The sender under `policy`, waiting on `clock` between attempts.
    pub fn new(policy: WebhookPolicy, clock: Clock) -> Webhooks {
        let client = policy.enabled.then(client);
        Webhooks {
            inner: Arc::new(Shared {
                policy,
                clock,
                client,
                logs: Mutex::new(HashMap::new()),
                posting: Semaphore::new(MAX_IN_FLIGHT),
                waiting: AtomicUsize::new(0),
                next: AtomicU64::new(1),
            }),
        }
    }

    /// The operator's policy.
    pub fn policy(&self) -> &WebhookPolicy {
        &self.inner.policy
    }

    /// A series' delivery log, newest first.
    pub fn log(&self, series: &str) -> Vec<LogEntry> {
        self.inner
            .logs
            .lock()
            .map(|logs| {
                logs.get(series)
                    .map(|l| l.iter().rev().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Queue a delivery: it is logged at once and posted by its own task. Returns its id.
    pub fn send(&self, delivery: Delivery) -> String {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let id = format!(
            "{}-{n}",
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..12)
                .unwrap_or("d")
        );
        let entry = LogEntry {
            delivery: id.clone(),
            hook: delivery.hook.id.clone(),
            event: delivery.notice.kind.name(),
            at: self.inner.clock.now(),
            attempts: 0,
            status: None,
            error: None,
            outcome: Outcome::Pending,
            next_at: None,
        };
        self.record(&delivery.series, entry);
        let waiting = self.inner.waiting.fetch_add(1, Ordering::AcqRel);
        if waiting >= MAX_WAITING || self.inner.client.is_none() {
            self.inner.waiting.fetch_sub(1, Ordering::AcqRel);
            let why = if self.inner.client.is_none() {
                "webhooks are turned off on this server"
            } else {
                "too many deliveries are waiting on this server"
            };
            warn!(series_id = %delivery.series, hook = %delivery.hook.id, "{why}");
            self.update(&delivery.series, &id, |e| {
                e.error = Some(why.into());
                e.outcome = Outcome::Failed;
            });
            return id;
        }
        let me = self.clone();
        let delivery_id = id.clone();
        tokio::spawn(async move {
            me.post(delivery, delivery_id, n).await;
            me.inner.waiting.fetch_sub(1, Ordering::AcqRel);
        });
        id
    }

    /// Make a delivery's attempts until one succeeds or it is given up.
    async fn post(&self, d: Delivery, id: String, n: u64) {
        let Some(client) = self.inner.client.clone() else {
            return;
        };
        let policy = &self.inner.policy;
        let body = Bytes::from(payload::body(d.hook.format, &d.notice, &id));
        let attempts = policy.max_attempts.max(1);
        for attempt in 1..=attempts {
            // The operator may have narrowed the allowed hosts since the webhook was added.
            let (status, error, not_allowed) = match super::check_url(&d.hook.url, policy) {
                Err(bad) => (None, Some(bad.0), true),
                Ok(_) => match self.inner.posting.acquire().await {
                    Ok(_permit) => {
                        let (status, error) =
                            attempt_once(&client, &d, &id, &body, &self.inner.clock).await;
                        (status, error, false)
                    }
                    Err(_) => (None, Some("the server is shutting down".into()), true),
                },
            };
            let delivered = status.is_some_and(|s| (200..300).contains(&s));
            // A receiver that says the request is wrong will say so again: only time-outs,
            // rate limits, server errors and failures to connect are worth another try.
            let refused = not_allowed
                || status.is_some_and(|s| (300..500).contains(&s) && s != 408 && s != 429);
            let last = delivered || refused || attempt == attempts;
            let error = match (status, error) {
                (Some(s), None) if !delivered => Some(format!("the receiver answered {s}")),
                (_, e) => e,
            };
            let clock = &self.inner.clock;
            // The next attempt's time is fixed before the log shows it (tests move the clock
            // to it).
            let next_at = (!last).then(|| {
                clock
                    .now()
                    .saturating_add(backoff(policy.first_backoff_ms, attempt, n))
            });
            self.update(&d.series, &id, |e| {
                e.attempts = attempt;
                e.next_at = next_at;
                e.status = status;
                e.error = error.clone();
                e.outcome = match (delivered, last) {
                    (true, _) => Outcome::Delivered,
                    (false, true) => Outcome::Failed,
                    (false, false) => Outcome::Pending,
                };
            });
            if delivered {
                debug!(series_id = %d.series, hook = %d.hook.id, attempt, "webhook delivered");
                return;
            }
            if last {
                info!(
                    series_id = %d.series,
                    hook = %d.hook.id,
                    attempts = attempt,
                    error = error.as_deref().unwrap_or(""),
                    "a webhook delivery was given up"
                );
                return;
            }
            if let Some(at) = next_at {
                clock.sleep_until(at).await;
            }
        }
    }

    fn record(&self, series: &str, entry: LogEntry) {
        let Ok(mut logs) = self.inner.logs.lock() else {
            return;
        };
        if !logs.contains_key(series) && logs.len() >= MAX_LOGS {
            let oldest = logs
                .iter()
                .min_by_key(|(_, l)| l.back().map_or(0, |e| e.at))
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                logs.remove(&oldest);
            }
        }
        let log = logs.entry(series.to_string()).or_default();
        log.push_back(entry);
        while log.len() > LOG_LEN {
            log.pop_front();
        }
    }

    fn update(&self, series: &str, id: &str, change: impl FnOnce(&mut LogEntry)) {
        if let Ok(mut logs) = self.inner.logs.lock() {
            if let Some(e) = logs
                .get_mut(series)
                .and_then(|l| l.iter_mut().find(|e| e.delivery == id))
            {
                change(e);
            }
        }
    }
}

/// The wait before attempt `attempt + 1`: `first · 2^(attempt-1)`, plus up to half of that
/// again of jitter (from the delivery's number, so deliveries failing together spread out),
/// at most [`MAX_BACKOFF_MS`].
pub fn backoff(first_ms: u64, attempt: u32, n: u64) -> u64 {
    let base = first_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS);
    let jitter = match base / 2 {
        0 => 0,
        half => crate::random::mix(n ^ (u64::from(attempt) << 32)) % half,
    };
    base.saturating_add(jitter).min(MAX_BACKOFF_MS)
}

/// One attempt: the status code, or why there was none. Never logs the body or the secret.
async fn attempt_once(
    client: &HttpClient,
    d: &Delivery,
    id: &str,
    body: &Bytes,
    clock: &Clock,
) -> (Option<u16>, Option<String>) {
    let timestamp = clock.now() / 1000;
    let request = hyper::Request::post(d.hook.url.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("circlekeeper/", env!("CARGO_PKG_VERSION")),
        )
        .header(sign::EVENT_HEADER, d.notice.kind.name())
        .header(sign::DELIVERY_HEADER, id)
        .header(sign::TIMESTAMP_HEADER, timestamp.to_string())
        .header(
            sign::SIGNATURE_HEADER,
            sign::signature(&d.hook.secret, timestamp, body),
        )
        .body(Full::new(body.clone()));
    let request = match request {
        Ok(r) => r,
        Err(_) => return (None, Some("the address cannot be posted to".into())),
    };
    match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request)).await {
        Ok(Ok(response)) => (Some(response.status().as_u16()), None),
        Ok(Err(e)) => {
            let why = if e.is_connect() {
                "could not connect to the receiver"
            } else {
                "the receiver's answer could not be read"
            };
            (None, Some(why.into()))
        }
        Err(_) => (
            None,
            Some(format!(
                "the receiver did not answer within {} s",
                ATTEMPT_TIMEOUT.as_secs()
            )),
        ),
    }
}

/// The HTTP client: HTTP/1.1 over TCP, or over rustls (ring, the Mozilla roots) for https.
fn client() -> HttpClient {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(2)
        .build(https)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        for n in 0..50 {
            let waits: Vec<u64> = (1..=4).map(|a| backoff(1000, a, n)).collect();
            for (i, w) in waits.iter().enumerate() {
                let base = 1000u64 << i;
                assert!(*w >= base && *w < base + base / 2, "{waits:?}");
            }
        }
        assert_eq!(backoff(1000, 40, 1), MAX_BACKOFF_MS);
        assert_eq!(backoff(0, 3, 1), 0);
    }
}
