//! The schema is the contract: `protocol/schema.json` alone is enough to talk to the server.
//!
//! For every client message the schema lists (every `oneOf` entry of `ClientMessage`), two
//! frames are made from the schema and nothing else (see [`generate`]): one with the required
//! fields only, each at its smallest, and one with every field, each at its largest. Each must
//! validate against the schema, and a real server must read each: no frame may be refused for
//! its shape (`invalid_message`, `invalid_text`, …), while refusals for the room's state
//! (`not_in_stage`, `forbidden`, `unknown_participant`, …) are fine. Every answer must name the
//! frame's id. A frame that names a room (`join`, `host`, `member`, `resume`) goes on a fresh
//! connection, with the room's real id, key or token in place of the made-up ones; every other
//! frame goes once from the room's facilitator and once from a participant. Each frame gets a
//! room of its own, in the same state, so no frame is judged in a room an earlier one changed.
//!
//! And the other way: every frame the server sends in the whole test (welcomes, snapshots, acks,
//! errors, events) must validate against `#/$defs/ServerMessage`, and the HTTP bodies against
//! `RoomCreated` and `HttpError`.

mod common;

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use circlekeeper_protocol::{AckResult, Command, ErrorCode, RoomCreated, Visibility};
use common::{checkout_room, Client, Reply, TestServer};
use generate::Fill;
use serde_json::{json, Value};

// The values are made by `schema_frames/generate.rs`, from the schema alone.
#[path = "schema_frames/generate.rs"]
mod generate;

// ----- the schema as a validator ------------------------------------------------------------

/// `protocol/schema.json`, loaded once, with a validator for each entry point.
struct Contract {
    /// The whole document.
    root: Value,
    /// Validators by definition name (`ServerMessage`, …).
    validators: BTreeMap<&'static str, jsonschema::Validator>,
}

impl Contract {
    fn load() -> Contract {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/protocol/schema.json");
        let text = std::fs::read_to_string(path).expect("protocol/schema.json is readable");
        let root: Value = serde_json::from_str(&text).expect("protocol/schema.json is JSON");
        let validators = ["ClientMessage", "ServerMessage", "RoomCreated", "HttpError"]
            .into_iter()
            .map(|name| (name, compile(&root, &format!("#/$defs/{name}"))))
            .collect();
        Contract { root, validators }
    }

    /// Why `value` is not a valid `def` (nothing if it is). For a `oneOf` of tagged variants the
    /// reasons are those of the variant its `type` names, not a bare "no variant matched".
    fn errors(&self, def: &str, value: &Value) -> Vec<String> {
        let reasons = |validator: &jsonschema::Validator| -> Vec<String> {
            let errors = validator.iter_errors(value);
            errors
                .map(|e| format!("  at {:?}: {e}", e.instance_path().to_string()))
                .collect()
        };
        let errors = reasons(&self.validators[def]);
        let variants = self.root["$defs"][def]["oneOf"].as_array();
        let tagged = variants.and_then(|variants| {
            let tag = |v: &Value| v["properties"]["type"]["const"] == value["type"];
            variants.iter().position(tag)
        });
        match tagged {
            Some(i) if !errors.is_empty() => {
                reasons(&compile(&self.root, &format!("#/$defs/{def}/oneOf/{i}")))
            }
            _ => errors,
        }
    }

    /// Fail the test, with the value and every reason, unless `value` is a valid `def`.
    fn check(&self, def: &str, value: &Value) {
        let errors = self.errors(def, value);
        assert!(
            errors.is_empty(),
            "this does not validate against #/$defs/{def}:\n{value}\n{}",
            errors.join("\n")
        );
    }

    /// The `ClientMessage` variants: one schema per command.
    fn client_variants(&self) -> Vec<Value> {
        self.root["$defs"]["ClientMessage"]["oneOf"]
            .as_array()
            .expect("ClientMessage is a oneOf of commands")
            .clone()
    }
}

/// A validator for the schema at `pointer` (`#/$defs/Name`) in the document `root`: the
/// document's `$defs` with a `$ref` to it.
fn compile(root: &Value, pointer: &str) -> jsonschema::Validator {
    let schema = json!({"$schema": root["$schema"], "$defs": root["$defs"], "$ref": pointer});
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{pointer} does not compile: {e}"))
}

// ----- rooms, people and what they saw ------------------------------------------------------

/// A room in a running check-out stage, with its facilitator and one participant connected,
/// both having accepted the ground rules and each having recorded one commitment.
struct Stage {
    room: RoomCreated,
    host: Client,
    guest: Client,
    /// The facilitator's commitment id and the participant's.
    commitments: [String; 2],
}

/// `POST /api/rooms`, its body checked against `RoomCreated`.
async fn create_room(server: &TestServer, contract: &Contract) -> RoomCreated {
    let answer = server
        .create_room_raw(&checkout_room("Schema frames").to_string())
        .await;
    assert_eq!(answer.status, 201, "POST /api/rooms: {}", answer.text);
    contract.check("RoomCreated", &answer.json);
    serde_json::from_value(answer.json).expect("a RoomCreated body")
}

/// The id of the one commitment `client` records now.
async fn commit(client: &mut Client) -> String {
    let ack = client
        .ok(Command::RecordCommitment {
            text: "Ask Sam for an hour".into(),
            due: None,
            visibility: Visibility::Circle,
        })
        .await;
    match ack.result {
        Some(AckResult::Mine { mine }) => mine.commitments[0].id.clone(),
        other => panic!("record_commitment answered without my items: {other:?}"),
    }
}

async fn stage(server: &TestServer, contract: &Contract) -> Stage {
    let room = create_room(server, contract).await;
    let mut host = server.host(&room, "Hana").await;
    let mut guest = server.join(&room, "Gil").await;
    host.ok(Command::AcceptGroundRules).await;
    guest.ok(Command::AcceptGroundRules).await;
    host.ok(Command::Start).await;
    let commitments = [commit(&mut host).await, commit(&mut guest).await];
    Stage {
        room,
        host,
        guest,
        commitments,
    }
}

/// Who sends a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    /// A new connection, not yet in the room.
    Newcomer,
    /// The room's facilitator.
    Host,
    /// A participant.
    Guest,
}

impl Stage {
    /// Send `frame` from `sender` (`newcomer` is the new connection) and wait for what
    /// answers it.
    async fn exchange(&mut self, newcomer: &mut Client, sender: Sender, frame: &Value) -> Reply {
        let client = match sender {
            Sender::Newcomer => newcomer,
            Sender::Host => &mut self.host,
            Sender::Guest => &mut self.guest,
        };
        client.raw_send(&frame.to_string()).await;
        client.reply(frame["id"].as_str().unwrap_or_default()).await
    }
}

/// Put the stage's real room id, key, token and commitment id in place of made-up ones, where
/// the frame has such a field.
fn substitute(frame: &mut Value, stage: &Stage, sender: Sender) {
    let key = match frame["type"].as_str() {
        Some("join") => Some(&stage.room.join_key),
        Some("host") => Some(&stage.room.host_key),
        // `member` needs a series member's key; the room is in no series, so it is refused
        // (`invalid_key`) after its shape was read.
        _ => None,
    };
    let commitment = match sender {
        Sender::Host => &stage.commitments[0],
        _ => &stage.commitments[1],
    };
    let real = [
        ("room", Some(&stage.room.room_id)),
        ("key", key),
        ("token", Some(&stage.guest.token)),
        ("commitment", Some(commitment)),
    ];
    for (field, value) in real {
        if let (Some(slot), Some(value)) = (frame.get_mut(field), value) {
            *slot = Value::String(value.clone());
        }
    }
}

/// Every frame the server sent these clients, after the last one it had to send: each must be
/// a valid `ServerMessage`. Returns the `type`s seen (events as `event/<type>`).
async fn check_frames(contract: &Contract, clients: &mut [&mut Client]) -> Vec<String> {
    let mut seen = Vec::new();
    for client in clients.iter_mut() {
        client.drain().await;
        for frame in &client.frames {
            contract.check("ServerMessage", frame);
            let kind = frame["type"].as_str().unwrap_or_default();
            seen.push(match frame["event"]["type"].as_str() {
                Some(event) => format!("{kind}/{event}"),
                None => kind.to_string(),
            });
        }
    }
    seen
}

/// What answered one frame, for the summary.
type Answered = Result<String, ErrorCode>;

/// Codes that say a frame was not read as the command it is, or not judged at all.
const NOT_READ: [ErrorCode; 7] = [
    ErrorCode::MalformedJson,
    ErrorCode::UnknownType,
    ErrorCode::InvalidMessage,
    ErrorCode::InvalidText,
    ErrorCode::InvalidUrl,
    ErrorCode::RateLimited,
    ErrorCode::Internal,
];

/// Send `frame` from `sender` in a fresh stage; check its answer and every server frame.
async fn send_one(
    server: &TestServer,
    contract: &Contract,
    frame: &Value,
    sender: Sender,
    seen: &mut BTreeSet<String>,
) -> Answered {
    let mut stage = stage(server, contract).await;
    let mut frame = frame.clone();
    substitute(&mut frame, &stage, sender);
    contract.check("ClientMessage", &frame);
    let id = frame["id"].as_str().expect("a frame has an id").to_string();
    let mut newcomer = server.connect("Nia").await;
    let answered = match stage.exchange(&mut newcomer, sender, &frame).await {
        Reply::Entered(welcome) => {
            assert_eq!(welcome.id, id, "the welcome names the frame's id");
            Ok("entered".to_string())
        }
        Reply::Answered(Ok(_)) => Ok("ack".to_string()),
        Reply::Answered(Err(refused)) => {
            assert_eq!(
                refused.id.as_deref(),
                Some(id.as_str()),
                "the error names the frame's id: {refused:?}\nframe: {frame}"
            );
            assert!(
                !NOT_READ.contains(&refused.code),
                "a frame made from the schema was refused for its shape: {refused:?}\n\
                 frame ({sender:?}): {frame}"
            );
            Err(refused.code)
        }
        Reply::Closed(code) => {
            panic!("the connection closed ({code:?}) before answering {frame}")
        }
    };
    let mut clients = [&mut stage.host, &mut stage.guest, &mut newcomer];
    seen.extend(check_frames(contract, &mut clients).await);
    answered
}

// ----- the tests ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_made_from_the_schema_are_read_and_every_answer_fits_the_schema() {
    let contract = Contract::load();
    let maker = generate::Maker {
        root: &contract.root,
    };
    let variants = contract.client_variants();
    assert_eq!(
        variants.len(),
        Command::NAMES.len(),
        "the schema lists one client message per command"
    );
    let server = TestServer::start().await;
    let mut seen = BTreeSet::new();
    let mut summary = Vec::new();
    for variant in &variants {
        // A command that names a room enters it: it goes on a new connection.
        let enters = variant["properties"].get("room").is_some();
        let senders: &[Sender] = if enters {
            &[Sender::Newcomer]
        } else {
            &[Sender::Host, Sender::Guest]
        };
        for fill in [Fill::Least, Fill::Most] {
            let frame = maker.value(variant, fill);
            contract.check("ClientMessage", &frame);
            for &sender in senders {
                let answered = send_one(&server, &contract, &frame, sender, &mut seen).await;
                summary.push((frame["type"].clone(), fill, sender, answered));
            }
        }
    }
    for line in &summary {
        println!("{line:?}");
    }
    let answered = |kind: &str| {
        summary
            .iter()
            .filter(|s| s.3.as_deref() == Ok(kind))
            .count()
    };
    assert!(answered("ack") > 0, "some frames were accepted");
    assert!(answered("entered") > 0, "some frames entered the room");
    for kind in ["welcome", "snapshot", "ack", "error", "event/notes_changed"] {
        assert!(seen.contains(kind), "no {kind} frame was seen: {seen:?}");
    }
}

/// Just past the schema's limits, the server's are: each of these frames breaks one limit the
/// schema states, and the server refuses it for its shape (`invalid_text` or `invalid_message`).
#[tokio::test]
async fn frames_just_past_the_schemas_limits_are_refused_by_the_server_too() {
    let contract = Contract::load();
    let server = TestServer::start().await;
    let mut stage = stage(&server, &contract).await;
    let (room, key) = (stage.room.room_id.clone(), stage.room.join_key.clone());
    let guest = stage.guest.you;
    let join =
        |name: &str| json!({"id": "j", "type": "join", "room": room, "key": key, "name": name});
    let v = |n: usize| "v".repeat(n);
    let frames = [
        (Sender::Newcomer, join(&v(61))),
        (Sender::Newcomer, join("   ")),
        (Sender::Newcomer, join("a\u{7}b")),
        (Sender::Newcomer, join("Ada\u{202E}gnirts")),
        (Sender::Newcomer, join("Ch\u{200B}en")),
        (Sender::Host, json!({"id": "", "type": "sync"})),
        (Sender::Host, json!({"id": v(65), "type": "sync"})),
        (
            Sender::Host,
            json!({"id": "a", "type": "adjust_timer", "timer": "stage", "seconds": 0}),
        ),
        (
            Sender::Host,
            json!({"id": "b", "type": "adjust_timer", "timer": "stage", "seconds": -3601}),
        ),
        (
            Sender::Host,
            json!({"id": "c", "type": "set_presenter_order", "order": [guest, guest]}),
        ),
        (
            Sender::Host,
            json!({"id": "d", "type": "assign_role", "participant": guest, "role": "facilitator"}),
        ),
        (
            Sender::Host,
            json!({"id": "e", "type": "rotate_role", "role": "coach"}),
        ),
        (
            Sender::Host,
            json!({"id": "f", "type": "push_prompt", "prompt": "p", "text": "t"}),
        ),
        (Sender::Host, json!({"id": "g", "type": "push_prompt"})),
        (
            Sender::Host,
            json!({"id": "h", "type": "push_prompt", "text": v(501)}),
        ),
        (
            Sender::Host,
            json!({"id": "i", "type": "lower_hand", "participant": 4_294_967_296_u64}),
        ),
        (
            Sender::Guest,
            json!({"id": "k", "type": "record_commitment", "text": v(501), "visibility": "circle"}),
        ),
        (
            Sender::Guest,
            json!({"id": "l", "type": "record_commitment", "text": "t", "due": "2030-+6-01", "visibility": "circle"}),
        ),
        (
            Sender::Guest,
            json!({"id": "m", "type": "answer_survey", "rating": 6, "visibility": "circle"}),
        ),
        (
            Sender::Guest,
            json!({"id": "n", "type": "give_feedback", "rating": 0, "helped": "", "helped_less": "", "visibility": "circle"}),
        ),
    ];
    for (sender, frame) in frames {
        assert!(
            !contract.errors("ClientMessage", &frame).is_empty(),
            "the schema takes {frame}"
        );
        let mut newcomer = server.connect("Nia").await;
        match stage.exchange(&mut newcomer, sender, &frame).await {
            Reply::Answered(Err(refused)) => assert!(
                matches!(
                    refused.code,
                    ErrorCode::InvalidText | ErrorCode::InvalidMessage
                ),
                "{frame}: {refused:?}"
            ),
            other => panic!("the server took {frame}: {other:?}"),
        }
    }
    check_frames(&contract, &mut [&mut stage.host, &mut stage.guest]).await;
}

#[tokio::test]
async fn http_answers_fit_the_schema() {
    let contract = Contract::load();
    let server = TestServer::start().await;
    create_room(&server, &contract).await;
    let long_title = "t".repeat(501);
    let bad_bodies = [
        ("not json".to_string(), ErrorCode::MalformedJson),
        (
            json!({"format": "coaching_circle"}).to_string(),
            ErrorCode::InvalidMessage,
        ),
        (
            json!({"title": "", "format": "coaching_circle"}).to_string(),
            ErrorCode::InvalidText,
        ),
        (
            json!({"title": long_title, "format": "coaching_circle"}).to_string(),
            ErrorCode::InvalidText,
        ),
        (
            json!({"title": "x", "format": "no_such_format"}).to_string(),
            ErrorCode::InvalidFormat,
        ),
    ];
    for (body, code) in bad_bodies {
        let answer = server.create_room_raw(&body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        contract.check("HttpError", &answer.json);
        assert_eq!(answer.json["code"], code.as_str(), "{body}");
    }
}
