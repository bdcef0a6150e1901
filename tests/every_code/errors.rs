//! Provocations of the error codes: each makes a real server answer with one code.

use std::sync::Arc;

use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{limits, Command, Visibility, PROTOCOL_VERSION};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::common::{self, Client, Remote, TestServer, EPOCH, WAIT};
use super::{flood, join, lobby, started, tuned, Lobby};

/// The code of the `error` frame that answers a raw text frame sent by a fresh connection.
async fn raw_refused(server: &TestServer, text: &str) -> String {
    let mut c = server.connect("Raw").await;
    c.raw_send(text).await;
    c.expect_error().await.code.as_str().into()
}

/// The code `command` from `c` is refused with, or "(acked)".
async fn refusal(c: &mut Client, command: Command) -> String {
    match c.command(command).await {
        Ok(_) => "(acked)".into(),
        Err(refused) => refused.code.as_str().into(),
    }
}

/// The code a fresh connection's entry is refused with.
async fn entry_refused(server: &Remote, entry: Command) -> String {
    let mut c = server.connect("Mallory").await;
    match c.enter_or_refused(entry).await {
        Ok(_) => "(welcomed)".into(),
        Err(code) => code.as_str().into(),
    }
}

/// The `code` of an HTTP answer's JSON body.
fn http_code(answer: &common::HttpResponse) -> String {
    answer.json["code"].as_str().unwrap_or("(no code)").into()
}

/// The `code` of the HTTP refusal of a websocket upgrade on `/ws?v=1`, with or without our own
/// `Origin`, or "(upgraded)".
async fn upgrade_refused(server: &TestServer, with_origin: bool) -> String {
    let path = format!("/ws?v={PROTOCOL_VERSION}");
    let request = if with_origin {
        server.ws_request(&path)
    } else {
        let url = server.ws_url(&path);
        url.into_client_request().expect("a websocket URL")
    };
    let upgrade = tokio_tungstenite::connect_async(request);
    match tokio::time::timeout(WAIT, upgrade).await {
        Ok(Err(WsError::Http(response))) => {
            let body = response.into_body().unwrap_or_default();
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            json["code"].as_str().unwrap_or("(no code)").into()
        }
        Ok(Ok(_)) => "(upgraded)".into(),
        Ok(Err(e)) => panic!("the upgrade failed without an HTTP answer: {e}"),
        Err(_) => panic!("no answer to the upgrade within {WAIT:?}"),
    }
}

/// A commitment of `text` that everyone in the room may see.
fn shared_commitment(text: String) -> Command {
    Command::RecordCommitment {
        text,
        due: None,
        visibility: Visibility::Circle,
    }
}

/// Who sends a command in a [`Lobby`].
#[derive(Clone, Copy)]
enum Who {
    Fran,
    Ada,
}

/// A refusal inside a room: whether the session has started, what is sent first (and must be
/// accepted), and the command refused.
struct InRoom {
    started: bool,
    first: Vec<(Who, Command)>,
    refused: (Who, Command),
}

/// The in-room provocation of `code`, if it is one.
fn in_room(code: &str) -> Option<InRoom> {
    use Who::{Ada, Fran};
    let case = |started, first, who, command| InRoom {
        started,
        first,
        refused: (who, command),
    };
    let commitments = (0..limits::MAX_COMMITMENTS_PER_PERSON)
        .map(|n| (Fran, shared_commitment(format!("Commitment {n}"))))
        .collect();
    Some(match code {
        "already_authenticated" => {
            let again = Command::Join {
                room: "any".into(),
                key: "any".into(),
                name: "Ada".into(),
                guest: None,
            };
            case(false, vec![], Ada, again)
        }
        "forbidden" => case(true, vec![], Ada, Command::NextStage),
        // Ada has not accepted the ground rules.
        "consent_required" => case(true, vec![], Ada, Command::RaiseHand),
        // `next_turn` is for rounds; this stage has a hand queue.
        "not_in_stage" => case(true, vec![], Fran, Command::NextTurn),
        "not_your_turn" => case(
            true,
            vec![(Ada, Command::AcceptGroundRules)],
            Ada,
            Command::Done,
        ),
        "not_started" => case(false, vec![], Fran, Command::NextStage),
        "session_ended" => case(
            true,
            vec![(Fran, Command::EndSession)],
            Fran,
            Command::RaiseHand,
        ),
        "invalid_state" => case(true, vec![], Fran, Command::Start),
        "unknown_participant" => {
            let floor = Command::GiveFloor {
                participant: Some(999),
            };
            case(true, vec![], Fran, floor)
        }
        "unknown_stage" => case(true, vec![], Fran, Command::JumpToStage { index: 99 }),
        "invalid_url" => case(
            true,
            vec![],
            Fran,
            Command::SetCallLinks {
                call_url: Some("javascript:alert(1)".into()),
                group_call_template: None,
                group_call_urls: Vec::new(),
            },
        ),
        "unknown_prompt" => {
            let push = Command::PushPrompt {
                prompt: Some("no_such_prompt".into()),
                text: None,
                to: None,
            };
            case(true, vec![], Fran, push)
        }
        "too_many_items" => case(
            true,
            commitments,
            Fran,
            shared_commitment("One too many".into()),
        ),
        _ => return None,
    })
}

impl InRoom {
    /// Set the room up, send the command: the code it is refused with.
    async fn run(self) -> String {
        let mut l = if self.started {
            started().await
        } else {
            lobby().await
        };
        for (who, command) in self.first {
            l.client(who).ok(command).await;
        }
        let (who, command) = self.refused;
        refusal(l.client(who), command).await
    }
}

impl Lobby {
    /// Fran's or Ada's connection.
    fn client(&mut self, who: Who) -> &mut Client {
        match who {
            Who::Fran => &mut self.fran,
            Who::Ada => &mut self.ada,
        }
    }
}

/// Provoke the server into answering with the error `code`; returns the code it answered with,
/// or `None` if there is no provocation for `code`.
pub(super) async fn provoke_error(code: &str) -> Option<String> {
    if let Some(case) = in_room(code) {
        return Some(case.run().await);
    }
    let got = match code {
        "malformed_json" => raw_refused(&TestServer::start().await, "{").await,
        "unknown_type" => {
            raw_refused(&TestServer::start().await, r#"{"id":"t1","type":"nope"}"#).await
        }
        "invalid_message" => {
            raw_refused(&TestServer::start().await, r#"{"id":"m1","type":"join"}"#).await
        }
        "invalid_text" => {
            let id = "x".repeat(limits::MAX_COMMAND_ID_CHARS + 1);
            let text = format!(r#"{{"id":"{id}","type":"sync"}}"#);
            raw_refused(&TestServer::start().await, &text).await
        }
        "not_authenticated" => {
            let server = TestServer::start().await;
            let mut c = server.connect("Eve").await;
            refusal(&mut c, Command::RaiseHand).await
        }
        "room_not_found" => {
            let server = TestServer::start().await;
            let entry = Command::Join {
                room: "no-such-room".into(),
                key: "x".into(),
                name: "Mallory".into(),
                guest: None,
            };
            entry_refused(&server, entry).await
        }
        "room_unavailable" => {
            let (dir, damaged, token, _) = common::damaged_data_dir().await;
            let store = Arc::new(SledStore::open(dir.path()).expect("store"));
            let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |_| {}).await;
            let resume = Command::Resume {
                room: damaged.room_id.clone(),
                token,
                last_seq: None,
            };
            let got = entry_refused(&server, resume).await;
            server.stop().await;
            common::release_store(store).await;
            got
        }
        "invalid_key" => {
            let l = lobby().await;
            entry_refused(&l.server, join(&l.room, "not-the-key")).await
        }
        "link_unknown" => {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Arc::new(SledStore::open(dir.path()).expect("store"));
            let room = common::legacy_room(store.as_ref());
            let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |_| {}).await;
            let mut fran = server.host(&room, "Fran").await;
            let got = refusal(&mut fran, Command::ShowLink).await;
            server.stop().await;
            common::release_store(store).await;
            got
        }
        "name_taken" => {
            let l = lobby().await;
            let same = Command::Join {
                room: l.room.room_id.clone(),
                key: l.room.join_key.clone(),
                name: "ADA".into(),
                guest: None,
            };
            entry_refused(&l.server, same).await
        }
        "invalid_token" => {
            let l = lobby().await;
            let resume = Command::Resume {
                room: l.room.room_id.clone(),
                token: "not-a-token".into(),
                last_seq: None,
            };
            entry_refused(&l.server, resume).await
        }
        "room_full" => {
            let mut l = lobby().await;
            // Fran and Ada are in: fill the rest.
            let mut people = Vec::new();
            for i in 2..limits::MAX_PARTICIPANTS {
                people.push(l.server.join(&l.room, &format!("Person {i}")).await);
            }
            l.fran.sync().await;
            assert_eq!(l.fran.view.participants.len(), limits::MAX_PARTICIPANTS);
            let key = l.room.join_key.clone();
            entry_refused(&l.server, join(&l.room, &key)).await
        }
        "rate_limited" => {
            let mut l = lobby().await;
            let refused = |m: &Message| match m {
                Message::Text(text) => serde_json::from_str::<Value>(text.as_str())
                    .ok()
                    .filter(|v| v["type"] == "error")
                    .map(|v| v["code"].as_str().unwrap_or("(no code)").to_string()),
                _ => None,
            };
            flood(&mut l.ada, refused).await?
        }
        "invalid_format" => {
            let server = TestServer::start().await;
            let body = json!({"title": "Bad", "format": {"name": "Bad", "stages": [
                {"kind": "discussion", "title": "Talk", "timebox_ms": 0, "speaking": "open"}
            ]}});
            http_code(&server.create_room_raw(&body.to_string()).await)
        }
        "unknown_language" => {
            let server = TestServer::start().await;
            http_code(&server.http("GET", "/api/texts/fr", b"").await)
        }
        "origin_not_allowed" => upgrade_refused(&TestServer::start().await, false).await,
        "too_many_connections" => {
            let server = tuned(|s| s.max_connections_per_ip = 1).await;
            let _first = server.connect("First").await;
            upgrade_refused(&server, true).await
        }
        "server_full" => {
            let server = tuned(|s| s.max_rooms = 1).await;
            server.create_builtin_room("action_learning_set").await;
            let body = r#"{"title":"Second","format":"action_learning_set"}"#;
            http_code(&server.create_room_raw(body).await)
        }
        "too_many_rooms" => {
            let server = tuned(|s| s.rooms_per_ip_per_hour = 1).await;
            server.create_builtin_room("action_learning_set").await;
            let body = r#"{"title":"Second","format":"action_learning_set"}"#;
            http_code(&server.create_room_raw(body).await)
        }
        "too_many_attempts" => {
            let server = tuned(|s| s.max_failed_entries = 1).await;
            let room = server.create_builtin_room("action_learning_set").await;
            entry_refused(&server, join(&room, "not-the-key")).await;
            entry_refused(&server, join(&room, &room.join_key)).await
        }
        "unavailable" => {
            // The store stops taking writes: the command waiting for its write is refused.
            let (server, store) = super::faulty::server().await;
            let room = server.create_room(super::checkout_room("Down")).await;
            let mut fran = server.host(&room, "Fran").await;
            store.set(super::faulty::Mode::Down);
            let got = refusal(&mut fran, Command::AcceptGroundRules).await;
            server.stop().await;
            got
        }
        "internal" => {
            // A room whose stored events are damaged cannot be exported: the server's fault.
            let (dir, damaged, _, _) = common::damaged_data_dir().await;
            let store = Arc::new(SledStore::open(dir.path()).expect("store"));
            let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |_| {}).await;
            let path = format!("/api/rooms/{}/export", damaged.room_id);
            let body = json!({ "key": damaged.host_key }).to_string();
            let got = http_code(&server.http("POST", &path, body.as_bytes()).await);
            server.stop().await;
            common::release_store(store).await;
            got
        }
        _ => return None,
    };
    Some(got)
}
