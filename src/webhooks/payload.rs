//! What a webhook receives: counts and links only. A payload names the series (its id, its
//! title — the host's own text, shown in every series report — and its page), the session (its
//! room id, number, times) and how many took part; never a person's name, nor anything people
//! wrote in a room (commitments, feedback, notes, survey comments).

use circlekeeper_protocol::Millis;
use serde::Serialize;
use serde_json::json;

use super::PayloadFormat;

/// The shape version of the `json` payload.
pub const VERSION: u32 = 1;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A session's room was opened.
    SessionOpened,
    /// Its facilitator started it (the first stage began).
    SessionStarted,
    /// It ended.
    SessionEnded,
    /// The host asked for a test delivery.
    Test,
}

impl SessionKind {
    /// The event's name, as in the payload's `type` and the `X-Circlekeeper-Event` header.
    pub fn name(self) -> &'static str {
        match self {
            SessionKind::SessionOpened => "session_opened",
            SessionKind::SessionStarted => "session_started",
            SessionKind::SessionEnded => "session_ended",
            SessionKind::Test => "test",
        }
    }
}

/// Everything a payload may say about a session: ids, times, counts and links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct SessionFacts {
    /// The session's room.
    pub room_id: String,
    /// Its number in the series, from 1.
    pub number: u32,
    /// When its room was opened.
    pub opened_at: Option<Millis>,
    /// When it started.
    pub started_at: Option<Millis>,
    /// When it ended.
    pub ended_at: Option<Millis>,
    /// From start to end, in milliseconds (once ended).
    pub duration_ms: Option<u64>,
    /// People who came as participants (facilitators not counted).
    pub participants: u32,
    /// Of those, series members.
    pub members: u32,
    /// Of those, guests.
    pub guests: u32,
    /// Pairs and triads formed.
    pub groups: u32,
}

/// The series a payload is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesFacts {
    /// Series id.
    pub id: String,
    /// Its title (the host's own text).
    pub title: String,
    /// Its page (`{public_url}/s/{id}`; each member opens it with their personal link).
    pub url: String,
}

/// One delivery's content: the event, when, the series and (except for a test) the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What happened.
    pub kind: SessionKind,
    /// When (epoch milliseconds).
    pub at: Millis,
    /// The series.
    pub series: SeriesFacts,
    /// The session (`None` for a test delivery).
    pub session: Option<SessionFacts>,
}

/// The body posted for `notice` in `format`, for delivery `delivery`.
pub fn body(format: PayloadFormat, notice: &Notice, delivery: &str) -> Vec<u8> {
    let value = match format {
        PayloadFormat::Json => json!({
            "type": notice.kind.name(),
            "version": VERSION,
            "delivery": delivery,
            "at": notice.at,
            "series": notice.series,
            "session": notice.session,
        }),
        PayloadFormat::Slack => {
            let linked = format!(
                "<{}|{}>",
                notice.series.url,
                slack_escape(&notice.series.title)
            );
            json!({
                "text": sentence(notice, &notice.series.title),
                "blocks": [{
                    "type": "section",
                    "text": { "type": "mrkdwn", "text": sentence(notice, &linked) },
                }],
            })
        }
        PayloadFormat::Mattermost => {
            let linked = format!(
                "[{}]({})",
                markdown_escape(&notice.series.title),
                notice.series.url
            );
            json!({ "text": sentence(notice, &linked) })
        }
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

/// The chat message: one sentence with the counts, naming the series as `series`.
fn sentence(notice: &Notice, series: &str) -> String {
    let Some(s) = &notice.session else {
        return format!("Test delivery from circlekeeper for {series}: this webhook works.");
    };
    let n = s.number;
    match notice.kind {
        SessionKind::SessionOpened => format!("Session {n} of {series} is open."),
        SessionKind::SessionStarted => format!(
            "Session {n} of {series} has started with {} {}.",
            s.participants,
            plural(s.participants, "participant", "participants")
        ),
        SessionKind::SessionEnded => {
            let minutes = s.duration_ms.map_or(0, |d| (d + 30_000) / 60_000);
            format!(
                "Session {n} of {series} has ended after {minutes} min: {} {}, {} {}.",
                s.participants,
                plural(s.participants, "participant", "participants"),
                s.groups,
                plural(s.groups, "pair or group", "pairs or groups"),
            )
        }
        SessionKind::Test => {
            format!("Test delivery from circlekeeper for {series}: this webhook works.")
        }
    }
}

fn plural(n: u32, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Slack's mrkdwn escapes: `&`, `<` and `>` only.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Markdown's special characters, backslash-escaped (Mattermost).
fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()#+-.!|<>~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended() -> Notice {
        Notice {
            kind: SessionKind::SessionEnded,
            at: 5,
            series: SeriesFacts {
                id: "s1".into(),
                title: "Alumni <circle>".into(),
                url: "https://c.example/s/s1".into(),
            },
            session: Some(SessionFacts {
                room_id: "r1".into(),
                number: 3,
                duration_ms: Some(45 * 60_000),
                participants: 4,
                groups: 2,
                ..SessionFacts::default()
            }),
        }
    }

    #[test]
    fn the_json_payload_carries_counts_and_links() {
        let v: serde_json::Value =
            serde_json::from_slice(&body(PayloadFormat::Json, &ended(), "d1")).unwrap();
        assert_eq!(v["type"], "session_ended");
        assert_eq!(v["delivery"], "d1");
        assert_eq!(v["series"]["url"], "https://c.example/s/s1");
        assert_eq!(v["session"]["participants"], 4);
        assert_eq!(v["session"]["number"], 3);
    }

    #[test]
    fn chat_payloads_are_one_text_with_an_escaped_link() {
        let v: serde_json::Value =
            serde_json::from_slice(&body(PayloadFormat::Slack, &ended(), "d1")).unwrap();
        let text = v["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            text.contains("<https://c.example/s/s1|Alumni &lt;circle&gt;>"),
            "{text}"
        );
        assert!(
            text.contains("45 min: 4 participants, 2 pairs or groups"),
            "{text}"
        );
        assert!(v["text"]
            .as_str()
            .unwrap()
            .starts_with("Session 3 of Alumni <circle>"));
        let v: serde_json::Value =
            serde_json::from_slice(&body(PayloadFormat::Mattermost, &ended(), "d1")).unwrap();
        let text = v["text"].as_str().unwrap();
        assert!(
            text.contains("[Alumni \\<circle\\>](https://c.example/s/s1)"),
            "{text}"
        );
        assert_eq!(v.as_object().unwrap().len(), 1);
    }
}
