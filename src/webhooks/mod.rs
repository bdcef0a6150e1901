//! Outgoing webhooks: a series host asks the server to tell another service (a chat channel,
//! an automation) when a session of the series is opened, starts and ends.
//!
//! This module owns the webhook as a series stores it ([`Webhook`]), the checks on its address
//! ([`check_url`]), the operator's policy ([`WebhookPolicy`]), what is sent ([`payload`]: counts
//! and links only, never names or anything people wrote), how it is signed ([`sign`]), and the
//! sending itself ([`deliver`]: a bounded queue, a worker task, retries with backoff and a
//! bounded delivery log per series, kept in memory). What happened is seen by [`observe`], a
//! [`Store`](crate::store::Store) that passes every write through and reports the sessions'
//! openings, starts and ends once the commit thread has made them durable — without ever
//! waiting: a full queue drops the report (counted and logged), never a write.
//!
//! The server layer connects the pieces: it wraps its store, resolves each report into the
//! series' webhooks and counts (`server::api::webhooks`), and serves the host's endpoints.

pub mod deliver;
pub mod observe;
pub mod payload;
pub mod sign;

use circlekeeper_protocol::Millis;
use serde::{Deserialize, Serialize};

pub use deliver::{Delivery, LogEntry, Outcome, Webhooks};
pub use observe::{Observed, Sighting};
pub use payload::{SessionFacts, SessionKind};

/// Most webhooks one series holds: a chat channel or two and an automation.
pub const MAX_HOOKS: usize = 5;

/// Longest webhook address accepted (Slack's and Mattermost's are about 80 characters).
pub const MAX_URL: usize = 2048;

/// The payload a webhook receives.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PayloadFormat {
    /// circlekeeper's own JSON (documented in the operator notes).
    #[default]
    Json,
    /// A Slack incoming webhook: `{"text": …, "blocks": […]}`.
    Slack,
    /// A Mattermost incoming webhook: `{"text": …}` (Markdown).
    Mattermost,
}

impl PayloadFormat {
    /// The format's name in requests.
    pub fn name(self) -> &'static str {
        match self {
            PayloadFormat::Json => "json",
            PayloadFormat::Slack => "slack",
            PayloadFormat::Mattermost => "mattermost",
        }
    }
}

/// One webhook of a series, as stored in its (sealed) record. Its `Debug` form leaves the
/// secret out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Its id within the series (`h1`, `h2`, …).
    pub id: String,
    /// Where deliveries are posted (`http` or `https`, no credentials).
    pub url: String,
    /// What is posted.
    pub format: PayloadFormat,
    /// The HMAC-SHA256 key of its signatures: shown to the host once, when it is added. Kept
    /// in the series' record, which is sealed at rest with the series' key.
    pub secret: String,
    /// When it was added.
    pub created_at: Millis,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("format", &self.format)
            .field("secret", &"***")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// What the operator allows (`--webhooks`, `--webhook-allow`), and how deliveries retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Whether the server sends webhooks at all (`--webhooks on|off`; on by default).
    pub enabled: bool,
    /// Host names deliveries may go to (lower case, no port); empty allows any host.
    pub allow: Vec<String>,
    /// Attempts per delivery before it is given up.
    pub max_attempts: u32,
    /// How long the first retry waits; each next one waits twice as long, plus up to half
    /// again of random jitter.
    pub first_backoff_ms: u64,
}

impl Default for WebhookPolicy {
    fn default() -> WebhookPolicy {
        WebhookPolicy {
            enabled: true,
            allow: Vec::new(),
            max_attempts: deliver::MAX_ATTEMPTS,
            first_backoff_ms: deliver::FIRST_BACKOFF_MS,
        }
    }
}

impl WebhookPolicy {
    /// Whether deliveries may go to `host` (compared without case).
    pub fn allows(&self, host: &str) -> bool {
        self.allow.is_empty()
            || self
                .allow
                .iter()
                .any(|a| a.eq_ignore_ascii_case(host.trim_end_matches('.')))
    }
}

/// Why a webhook address is refused: a human message (the API answers `invalid_url`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadUrl(pub String);

/// Check a webhook address: `http://` or `https://`, a host, no credentials, no spaces, at most
/// [`MAX_URL`] characters, and a host the operator allows. Returns its host.
pub fn check_url(url: &str, policy: &WebhookPolicy) -> Result<String, BadUrl> {
    let bad = |m: &str| Err(BadUrl(m.to_string()));
    if url.len() > MAX_URL {
        return bad("the address is too long");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("the address may not contain spaces or control characters");
    }
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return bad("this is not a web address");
    };
    if !matches!(uri.scheme_str(), Some("http") | Some("https")) {
        return bad("the address must start with http:// or https://");
    }
    let Some(authority) = uri.authority() else {
        return bad("the address has no host");
    };
    if authority.as_str().contains('@') {
        return bad("the address may not carry a user name or password");
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() {
        return bad("the address has no host");
    }
    if !policy.allows(host) {
        return Err(BadUrl(format!(
            "this server sends webhooks only to: {}",
            policy.allow.join(", ")
        )));
    }
    Ok(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_with_credentials_or_other_schemes_are_refused() {
        let p = WebhookPolicy::default();
        assert!(check_url("https://hooks.slack.com/services/T/B/X", &p).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", &p).is_ok());
        for bad in [
            "ftp://example.org/x",
            "https://user:pw@example.org/x",
            "https://user@example.org/x",
            "example.org/x",
            "https:///x",
            "https://exa mple.org/",
            "javascript:alert(1)",
        ] {
            assert!(check_url(bad, &p).is_err(), "{bad} was accepted");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL));
        assert!(check_url(&long, &p).is_err());
    }

    #[test]
    fn a_webhooks_debug_form_hides_its_secret() {
        let w = Webhook {
            id: "h1".into(),
            url: "https://example.org/x".into(),
            format: PayloadFormat::Slack,
            secret: "s3cr3t-value".into(),
            created_at: 0,
        };
        let shown = format!("{w:?}");
        assert!(
            !shown.contains("s3cr3t-value") && shown.contains("h1"),
            "{shown}"
        );
    }

    #[test]
    fn the_operators_allow_list_is_enforced() {
        let p = WebhookPolicy {
            allow: vec!["hooks.slack.com".into()],
            ..WebhookPolicy::default()
        };
        assert!(check_url("https://HOOKS.slack.com/services/x", &p).is_ok());
        let refused = check_url("https://evil.example/x", &p).unwrap_err();
        assert!(refused.0.contains("hooks.slack.com"), "{refused}");
    }
}
