//! Bad input over real websockets and HTTP: every kind gets a stable error code or a documented
//! close code, never a panic; where the connection stays open it still works, and another
//! participant in the same room notices nothing.

mod common;

use circlekeeper::server::ws::RATE_STRIKES;
use circlekeeper_protocol::{close, limits, Command, ErrorCode, ServerMessage};
use common::{Client, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// A room with a facilitator (Fran), the participant who misbehaves (Ada) and a bystander (Ben).
struct Fixture {
    server: TestServer,
    room: circlekeeper_protocol::RoomCreated,
    fran: Client,
    ada: Client,
    ben: Client,
}

impl Fixture {
    async fn new() -> Fixture {
        let server = TestServer::start().await;
        let room = server.create_builtin_room("action_learning_set").await;
        let mut fran = server.host(&room, "Fran").await;
        let mut ada = server.join(&room, "Ada").await;
        let mut ben = server.join(&room, "Ben").await;
        fran.catch_up(ben.seq).await;
        ada.catch_up(ben.seq).await;
        ben.sync().await;
        Fixture {
            server,
            room,
            fran,
            ada,
            ben,
        }
    }

    /// After bad input from Ada: her connection still works, and Ben saw nothing and is still
    /// answered.
    async fn assert_unharmed(&mut self) {
        let seq = self.ben.seq;
        let ack = self.ada.sync().await;
        assert_eq!(ack.seq, seq, "the bad input changed the room");
        self.ben.assert_quiet_since(seq).await;
    }

    /// After Ada's connection was closed: Ben saw only her going away, and is still answered.
    async fn assert_bystander_unharmed(&mut self) {
        let seen = self.ben.log.len();
        let ack = self.ben.sync().await;
        let events: Vec<_> = self.ben.log[seen..].iter().map(|s| &s.event).collect();
        assert!(
            events.iter().all(|e| matches!(
                e,
                circlekeeper_protocol::Event::ParticipantUpdated {
                    participant,
                    change: circlekeeper_protocol::ParticipantChange::Presence,
                } if participant.id == self.ada.you
            )),
            "Ben saw more than Ada leaving: {events:?}"
        );
        assert_eq!(ack.seq, self.ben.seq);
    }
}

#[tokio::test]
async fn malformed_json_is_refused_and_the_connection_still_works() {
    let mut f = Fixture::new().await;
    for text in [r#"{"id":"m1","type":"sync""#, "not json", "{'id': 'x'}", ""] {
        f.ada.raw_send(text).await;
        let err = f.ada.expect_error().await;
        assert_eq!(err.code, ErrorCode::MalformedJson, "{text:?}: {err:?}");
        assert_eq!(err.id, None);
        assert!(!err.message.is_empty());
    }
    f.assert_unharmed().await;
}

#[tokio::test]
async fn an_unknown_type_is_refused_with_its_id_echoed() {
    let mut f = Fixture::new().await;
    f.ada.raw_send(r#"{"id":"u1","type":"dance"}"#).await;
    let err = f.ada.answer("u1").await.expect_err("refused");
    assert_eq!(err.code, ErrorCode::UnknownType);
    assert!(err.message.contains("dance"), "{err:?}");

    f.ada.raw_send(r#"{"id":"u2"}"#).await;
    let err = f.ada.answer("u2").await.expect_err("refused");
    assert_eq!(err.code, ErrorCode::UnknownType, "a frame with no type");

    f.ada.raw_send(r#"{"id":"u3","type":7}"#).await;
    let err = f.ada.answer("u3").await.expect_err("refused");
    assert_eq!(
        err.code,
        ErrorCode::UnknownType,
        "a type that is not a string"
    );
    f.assert_unharmed().await;
}

#[tokio::test]
async fn wrong_field_types_and_missing_fields_are_invalid_messages() {
    let mut f = Fixture::new().await;
    let cases = [
        (
            r#"{"id":"w1","type":"adjust_timer","timer":"stage","seconds":"ten"}"#,
            "w1",
        ),
        (r#"{"id":"w2","type":"jump_to_stage"}"#, "w2"),
        (r#"{"id":"w3","type":"jump_to_stage","index":-1}"#, "w3"),
        (
            r#"{"id":"w4","type":"assign_role","participant":2,"role":"king"}"#,
            "w4",
        ),
        (
            r#"{"id":"w5","type":"adjust_timer","timer":"lunch","seconds":60}"#,
            "w5",
        ),
        (
            r#"{"id":"w6","type":"set_presenter_order","order":"everyone"}"#,
            "w6",
        ),
        (r#"{"id":"w7","type":"join","room":"r","key":"k"}"#, "w7"),
    ];
    for (text, id) in cases {
        f.ada.raw_send(text).await;
        let err = f.ada.answer(id).await.expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidMessage, "{text}: {err:?}");
    }

    // Without a readable id there is nothing to echo.
    for text in [
        r#"{"type":"sync"}"#,
        r#"{"id":5,"type":"sync"}"#,
        "[1,2]",
        "42",
    ] {
        f.ada.raw_send(text).await;
        let err = f.ada.expect_error().await;
        assert_eq!(err.code, ErrorCode::InvalidMessage, "{text}: {err:?}");
        assert_eq!(err.id, None, "{text}");
    }
    f.assert_unharmed().await;
}

#[tokio::test]
async fn a_frame_over_16_kib_closes_the_connection_with_1009() {
    let mut f = Fixture::new().await;

    // Exactly the limit is read (JSON allows the padding).
    let frame = |len: usize| {
        let (head, tail) = (r#"{"id":"big","#, r#""type":"sync"}"#);
        format!("{head}{}{tail}", " ".repeat(len - head.len() - tail.len()))
    };
    let at_limit = frame(limits::MAX_FRAME_BYTES);
    assert_eq!(at_limit.len(), limits::MAX_FRAME_BYTES);
    f.ada.raw_send(&at_limit).await;
    f.ada
        .answer("big")
        .await
        .expect("a frame at the limit is read");
    f.assert_unharmed().await;

    let over = frame(limits::MAX_FRAME_BYTES + 1);
    f.ada.raw_send(&over).await;
    assert_eq!(f.ada.expect_close().await, Some(close::TOO_BIG));
    assert!(
        f.ada.unclaimed_answers().is_empty(),
        "the big frame got no answer"
    );
    f.assert_bystander_unharmed().await;
}

#[tokio::test]
async fn an_over_long_name_is_invalid_text_and_the_connection_may_join_after() {
    let mut f = Fixture::new().await;
    let mut eve = f.server.connect("Eve").await;
    for name in [
        "é".repeat(limits::MAX_NAME_CHARS + 1),
        "   ".into(),
        "a\u{7}b".into(),
    ] {
        let refused = eve
            .enter_refused(Command::Join {
                room: f.room.room_id.clone(),
                key: f.room.join_key.clone(),
                name,
                guest: None,
            })
            .await;
        assert_eq!(refused.code, ErrorCode::InvalidText);
        assert!(refused.id.is_some(), "the id is echoed");
    }
    f.ben.assert_quiet_since(f.fran.seq).await;
    // Sixty two-byte characters are sixty characters: the limit counts characters.
    let name = "é".repeat(limits::MAX_NAME_CHARS);
    eve.enter(Command::Join {
        room: f.room.room_id.clone(),
        key: f.room.join_key.clone(),
        name: name.clone(),
        guest: None,
    })
    .await;
    assert_eq!(eve.participant(eve.you).name, name);
    eve.sync().await;
}

#[tokio::test]
async fn an_over_long_command_id_is_invalid_text() {
    let mut f = Fixture::new().await;
    let long = "i".repeat(limits::MAX_COMMAND_ID_CHARS + 1);
    f.ada.send_with_id(&long, Command::Sync).await;
    let err = f.ada.expect_error().await;
    assert_eq!(err.code, ErrorCode::InvalidText);
    assert_eq!(err.id, None, "an over-long id is not echoed");

    f.ada.send_with_id("", Command::Sync).await;
    let err = f.ada.expect_error().await;
    assert_eq!(err.code, ErrorCode::InvalidText, "an empty id");

    // An over-long id on an otherwise unreadable frame is not echoed either.
    f.ada
        .raw_send(&format!(r#"{{"id":"{long}","type":"dance"}}"#))
        .await;
    let err = f.ada.expect_error().await;
    assert_eq!((err.code, err.id), (ErrorCode::UnknownType, None));

    let longest = "i".repeat(limits::MAX_COMMAND_ID_CHARS);
    f.ada.send_with_id(&longest, Command::Sync).await;
    f.ada
        .answer(&longest)
        .await
        .expect("the longest id is fine");
    f.assert_unharmed().await;
}

#[tokio::test]
async fn an_over_long_pushed_prompt_text_is_invalid_text() {
    let mut f = Fixture::new().await;
    let seq = f.fran.seq;
    let too_long = "q".repeat(limits::MAX_TEXT_CHARS + 1);
    let refused = f
        .fran
        .refused(Command::PushPrompt {
            prompt: None,
            text: Some(too_long),
            to: None,
        })
        .await;
    assert_eq!(refused, ErrorCode::InvalidText);
    assert_eq!(
        f.fran
            .refused(Command::PushPrompt {
                prompt: None,
                text: Some(" \n ".into()),
                to: None,
            })
            .await,
        ErrorCode::InvalidText
    );
    assert_eq!(
        f.fran
            .refused(Command::PushPrompt {
                prompt: Some("no_such_prompt".into()),
                text: None,
                to: None,
            })
            .await,
        ErrorCode::UnknownPrompt
    );
    assert_eq!(
        f.fran
            .refused(Command::PushPrompt {
                prompt: None,
                text: None,
                to: None,
            })
            .await,
        ErrorCode::InvalidMessage
    );
    f.fran.assert_quiet_since(seq).await;
    f.ben.assert_quiet_since(seq).await;

    let longest = "q".repeat(limits::MAX_TEXT_CHARS);
    let ack = f
        .fran
        .ok(Command::PushPrompt {
            prompt: None,
            text: Some(longest.clone()),
            to: None,
        })
        .await;
    f.ben.catch_up(ack.seq).await;
    assert_eq!(
        f.ben.view.prompt.as_ref().map(|p| p.prompt.text.clone()),
        Some(longest)
    );
}

#[tokio::test]
async fn a_binary_frame_gets_an_error_and_the_connection_stays() {
    let mut f = Fixture::new().await;
    assert!(
        f.ada
            .raw_send_message(Message::binary(br#"{"id":"b1","type":"sync"}"#.to_vec()))
            .await
    );
    let err = f.ada.expect_error().await;
    assert_eq!(err.code, ErrorCode::InvalidMessage);
    assert_eq!(err.id, None);
    f.assert_unharmed().await;
}

#[tokio::test]
async fn room_commands_before_join_are_not_authenticated() {
    let mut f = Fixture::new().await;
    let mut eve = f.server.connect("Eve").await;
    for command in [
        Command::Sync,
        Command::RaiseHand,
        Command::Start,
        Command::RemoveParticipant { participant: 1 },
    ] {
        let id = eve.send(command).await;
        let err = eve.answer(&id).await.expect_err("refused");
        assert_eq!(err.code, ErrorCode::NotAuthenticated);
        assert_eq!(err.id.as_deref(), Some(id.as_str()));
    }
    f.ben.assert_quiet_since(f.fran.seq).await;
    eve.enter(Command::Join {
        room: f.room.room_id.clone(),
        key: f.room.join_key.clone(),
        name: "Eve".into(),
        guest: None,
    })
    .await;
    eve.sync().await;

    // And once in, a second join on the same connection is refused.
    let refused = eve
        .enter_refused(Command::Join {
            room: f.room.room_id.clone(),
            key: f.room.join_key.clone(),
            name: "Eve twice".into(),
            guest: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::AlreadyAuthenticated);
    eve.sync().await;
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_the_connection_closed_with_4003() {
    let mut f = Fixture::new().await;
    let seq = f.ben.seq;
    for key in ["not-the-key".to_string(), String::new()] {
        let mut eve = f.server.connect("Eve").await;
        let refused = eve
            .enter_refused(Command::Join {
                room: f.room.room_id.clone(),
                key,
                name: "Eve".into(),
                guest: None,
            })
            .await;
        assert_eq!(refused.code, ErrorCode::InvalidKey);
        assert_eq!(eve.expect_close().await, Some(close::AUTH_FAILED));
    }
    // Each command takes its own link's key only: the host key does not `join`, the join key
    // does not `host`.
    for command in [
        Command::Join {
            room: f.room.room_id.clone(),
            key: f.room.host_key.clone(),
            name: "Eve".into(),
            guest: None,
        },
        Command::Host {
            room: f.room.room_id.clone(),
            key: f.room.join_key.clone(),
            name: "Eve".into(),
        },
    ] {
        let mut eve = f.server.connect("Eve").await;
        let refused = eve.enter_refused(command).await;
        assert_eq!(refused.code, ErrorCode::InvalidKey);
        assert_eq!(eve.expect_close().await, Some(close::AUTH_FAILED));
    }
    let mut eve = f.server.connect("Eve").await;
    let refused = eve
        .enter_refused(Command::Resume {
            room: f.room.room_id.clone(),
            token: f.room.join_key.clone(),
            last_seq: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::InvalidToken);
    assert_eq!(eve.expect_close().await, Some(close::AUTH_FAILED));
    f.ben.assert_quiet_since(seq).await;
    assert_eq!(f.ben.view.participants.len(), 3, "nobody was added");
}

#[tokio::test]
async fn an_unknown_room_is_not_found() {
    let mut f = Fixture::new().await;
    let mut eve = f.server.connect("Eve").await;
    let refused = eve
        .enter_refused(Command::Join {
            room: "no-such-room".into(),
            key: f.room.join_key.clone(),
            name: "Eve".into(),
            guest: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::RoomNotFound);
    assert_eq!(eve.expect_close().await, Some(close::AUTH_FAILED));
    f.assert_unharmed().await;
}

#[tokio::test]
async fn a_wrong_protocol_version_is_closed_with_4001() {
    let mut f = Fixture::new().await;
    for path in ["/ws?v=2", "/ws", "/ws?v=0", "/ws?v=one", "/ws?v="] {
        let mut eve = f.server.connect_to("Eve", path).await;
        assert_eq!(
            eve.expect_close().await,
            Some(close::PROTOCOL_MISMATCH),
            "{path}"
        );
        assert!(eve.welcome.is_none());
    }
    f.ben.assert_quiet_since(f.fran.seq).await;
}

#[tokio::test]
async fn flooding_is_rate_limited_then_closed_with_4029() {
    let mut f = Fixture::new().await;
    let (mut acks, mut limited) = (0, 0);
    // One frame at a time, each answered before the next: far faster than the refill rate.
    let mut closed = None;
    for n in 0..1_000 {
        let id = format!("f{n}");
        f.ada
            .raw_send(&format!(r#"{{"id":"{id}","type":"sync"}}"#))
            .await;
        match f.ada.next_frame().await {
            Some(Message::Text(text)) => match serde_json::from_str(text.as_str()) {
                Ok(ServerMessage::Ack { id: acked, .. }) => {
                    assert_eq!(limited, 0, "no ack after the limit bites");
                    assert_eq!(acked, id);
                    acks += 1;
                }
                Ok(ServerMessage::Error {
                    code: ErrorCode::RateLimited,
                    id: refused,
                    ..
                }) => {
                    assert_eq!(refused, Some(id), "a refusal names its frame");
                    limited += 1;
                }
                other => panic!("unexpected answer to a flood: {other:?}"),
            },
            Some(Message::Close(frame)) => {
                closed = Some(frame.map(|f| u16::from(f.code)));
                break;
            }
            other => panic!("unexpected frame in a flood: {other:?}"),
        }
    }
    assert_eq!(closed, Some(Some(close::RATE_LIMITED)));
    assert_eq!(
        limited, RATE_STRIKES,
        "every refused frame is answered, the last one before the close"
    );
    assert!(
        acks as f64 >= f.server.state.settings().rate_burst - 1.0,
        "a burst is allowed ({acks} acks)"
    );
    f.assert_bystander_unharmed().await;
}

#[tokio::test]
async fn flooding_with_binary_frames_is_rate_limited_too() {
    let mut f = Fixture::new().await;
    let mut closed = None;
    for _ in 0..1_000 {
        assert!(
            f.ada
                .raw_send_message(Message::binary(b"\x00\x01".to_vec()))
                .await
        );
        match f.ada.next_frame().await {
            Some(Message::Text(_)) => {}
            Some(Message::Close(frame)) => {
                closed = Some(frame.map(|f| u16::from(f.code)));
                break;
            }
            other => panic!("unexpected frame in a flood: {other:?}"),
        }
    }
    assert_eq!(closed, Some(Some(close::RATE_LIMITED)));
    f.assert_bystander_unharmed().await;
}

#[tokio::test]
async fn custom_format_errors_over_http_name_the_field() {
    let server = TestServer::start().await;
    let stage = json!({ "kind": "check_in", "title": "Round", "timebox_ms": 60_000,
                        "speaking": "round", "per_speaker_ms": 10_000 });
    let with_stage = |patch: serde_json::Value| {
        let mut s = stage.clone();
        for (k, v) in patch.as_object().expect("an object") {
            s[k] = v.clone();
        }
        json!({ "title": "Mine", "format": { "name": "Mine", "stages": [s] } }).to_string()
    };
    let cases = [
        (
            with_stage(json!({ "timebox_ms": 5 })),
            "format.stages[0].timebox_ms",
        ),
        (
            with_stage(json!({ "timebox_ms": "ten minutes" })),
            "format.stages[0].timebox_ms",
        ),
        (
            with_stage(json!({ "per_speaker_ms": null })),
            "format.stages[0].per_speaker_ms",
        ),
        (
            with_stage(json!({ "roles": ["coach", "timekeeper"] })),
            "format.stages[0].roles[1]",
        ),
        (
            with_stage(json!({ "speaking": "shouting" })),
            "format.stages[0].speaking",
        ),
        (
            with_stage(json!({ "title": "  " })),
            "format.stages[0].title",
        ),
        (
            with_stage(json!({ "speaking": "presenter_only", "per_speaker_ms": null })),
            "format.stages[0].per_presenter",
        ),
        (
            json!({ "title": "Mine", "format": { "name": "Mine", "stages": [] } }).to_string(),
            "format.stages",
        ),
        (
            json!({ "title": "Mine", "format": "no_such_format" }).to_string(),
            "format",
        ),
        (json!({ "title": "Mine" }).to_string(), "format"),
    ];
    for (body, field) in cases {
        let answer = server.create_room_raw(&body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(
            answer.json["code"], "invalid_format",
            "{body}: {}",
            answer.text
        );
        let message = answer.json["message"].as_str().expect("a message");
        assert!(
            message.starts_with(&format!("{field}:")),
            "{body}: the message should name {field}: {message}"
        );
    }

    // Not a format error, but still a clear one.
    let answer = server.create_room_raw("{ not json").await;
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (400, Some("malformed_json"))
    );
    let answer = server
        .create_room_raw(
            &json!({ "title": "t".repeat(limits::MAX_TEXT_CHARS + 1), "format": "coaching_circle" })
                .to_string(),
        )
        .await;
    assert_eq!(
        (answer.status, answer.json["code"].as_str()),
        (400, Some("invalid_text")),
        "{}",
        answer.text
    );
    let answer = server
        .create_room_raw(
            &json!({ "title": "Mine", "format": "coaching_circle", "options": { "warn_before_ms": 7_200_000 } })
                .to_string(),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.json["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("options.warn_before_ms")));
    let huge = json!({ "title": "Mine", "format": "coaching_circle",
                       "options": { "ground_rules": "x".repeat(limits::MAX_CREATE_BODY_BYTES) } });
    let answer = server.create_room_raw(&huge.to_string()).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert_eq!(server.state.room_count(), 0, "no room was opened");

    // The same format, fixed, opens a room.
    let room = server
        .create_room(serde_json::from_str(&with_stage(json!({}))).expect("JSON"))
        .await;
    let fran = server.host(&room, "Fran").await;
    assert_eq!(fran.view.format, "Mine");
}

#[tokio::test]
async fn an_enum_value_given_as_its_index_is_an_invalid_message() {
    let mut f = Fixture::new().await;
    f.fran.ok(Command::Start).await;
    let seq = f.fran.seq;
    // Roles and timers are snake_case strings on the wire; a number is a wrong field type
    // (serde's derive would read it as the variant's index: 3 is `coach`, 0 is `stage`).
    for (id, text) in [
        (
            "n1",
            r#"{"id":"n1","type":"push_prompt","text":"Hello","to":3}"#,
        ),
        (
            "n2",
            r#"{"id":"n2","type":"adjust_timer","timer":0,"seconds":60}"#,
        ),
        (
            "n3",
            r#"{"id":"n3","type":"assign_role","participant":2,"role":6}"#,
        ),
    ] {
        f.fran.raw_send(text).await;
        let answer = f.fran.answer(id).await;
        assert_eq!(
            answer.as_ref().map_err(|r| r.code),
            Err(ErrorCode::InvalidMessage),
            "{text}: {answer:?}"
        );
    }
    f.fran.assert_quiet_since(seq).await;
    f.ben.assert_quiet_since(seq).await;
}

#[tokio::test]
async fn a_text_frame_with_invalid_utf8_closes_with_1007() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;

    let mut f = Fixture::new().await;
    let payloads: [&[u8]; 4] = [
        b"{\"id\":\"u1\",\"type\":\"sync\",\"x\":\"\xff\xfe\"}",
        b"\x80",
        // A sequence cut short at the end of the frame.
        b"{\"id\":\"u2\",\"type\":\"sync\"}\xe2\x82",
        // An encoded surrogate.
        b"\xed\xa0\x80",
    ];
    for bytes in payloads {
        let mut eve = f.server.connect("Eve").await;
        let frame = Frame::message(bytes.to_vec(), OpCode::Data(Data::Text), true);
        assert!(eve.raw_send_message(Message::Frame(frame)).await);
        assert_eq!(
            eve.expect_close().await,
            Some(close::INVALID_PAYLOAD),
            "{bytes:?}"
        );
    }
    // In a room: the sender is closed the same way, and the others notice only its leaving.
    let frame = Frame::message(b"\xc3\x28".to_vec(), OpCode::Data(Data::Text), true);
    assert!(f.ada.raw_send_message(Message::Frame(frame)).await);
    assert_eq!(f.ada.expect_close().await, Some(close::INVALID_PAYLOAD));
    f.assert_bystander_unharmed().await;

    let series = "circlekeeper_disconnects_total{reason=\"invalid_payload\"}";
    let counted = async {
        while f.server.metric(series) != 5 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), counted)
        .await
        .expect("each close is counted as invalid_payload");
}

#[tokio::test]
async fn a_version_is_only_its_plain_decimal_text() {
    let mut f = Fixture::new().await;
    // `+` in a query is a space; %2B is a plus sign.
    for path in [
        "/ws?v=01",
        "/ws?v=001",
        "/ws?v=%2B1",
        "/ws?v=+1",
        "/ws?v=1.0",
        "/ws?v=%201",
        "/ws?v=1%20",
        "/ws?v=1e0",
        "/ws?v=-1",
        "/ws?v=4294967297",
    ] {
        let mut eve = f.server.connect_to("Eve", path).await;
        assert_eq!(
            eve.expect_close().await,
            Some(close::PROTOCOL_MISMATCH),
            "{path}"
        );
        assert!(eve.welcome.is_none(), "{path}");
    }
    // `v=1` itself is what every other test connects with.
    f.ben.assert_quiet_since(f.fran.seq).await;
}

#[tokio::test]
async fn a_repeated_key_is_an_invalid_message_naming_it() {
    let mut f = Fixture::new().await;
    let cases = [
        (
            r#"{"id":"k1","type":"raise_hand","type":"done"}"#,
            Some("k1"),
            "type",
        ),
        (
            r#"{"id":"k2","type":"lower_hand","participant":1,"participant":2}"#,
            Some("k2"),
            "participant",
        ),
        // Escapes do not hide a repeat.
        (
            r#"{"id":"k3","type":"sync","typ\u0065":"raise_hand"}"#,
            Some("k3"),
            "type",
        ),
        // Nor does depth.
        (
            r#"{"id":"k4","type":"sync","extra":[{"a":1,"a":2}]}"#,
            Some("k4"),
            "a",
        ),
        // Which id to echo? Neither.
        (r#"{"id":"k5","id":"k6","type":"sync"}"#, None, "id"),
        // An id after the repeat is not read.
        (
            r#"{"type":"sync","type":"raise_hand","id":"k7"}"#,
            None,
            "type",
        ),
    ];
    for (text, id, key) in cases {
        f.ada.raw_send(text).await;
        let err = f.ada.expect_error().await;
        assert_eq!(err.code, ErrorCode::InvalidMessage, "{text}: {err:?}");
        assert_eq!(err.id.as_deref(), id, "{text}");
        assert!(err.message.contains(&format!("{key:?}")), "{text}: {err:?}");
    }
    f.assert_unharmed().await;
}

#[tokio::test]
async fn nesting_deeper_than_the_limit_is_an_invalid_message() {
    use circlekeeper::server::ws::MAX_JSON_DEPTH;

    let mut f = Fixture::new().await;
    let nested = |levels: usize| "[".repeat(levels) + &"]".repeat(levels);
    // The frame's object is one level: an extra field holding MAX_JSON_DEPTH - 1 arrays is
    // at the limit, and is read (and ignored) as usual.
    let at_limit = format!(
        r#"{{"id":"d1","type":"sync","extra":{}}}"#,
        nested(MAX_JSON_DEPTH - 1)
    );
    f.ada.raw_send(&at_limit).await;
    f.ada.answer("d1").await.expect("acked at the limit");
    for (levels, id) in [
        (MAX_JSON_DEPTH, Some("d2")),
        (200, Some("d3")),
        (5000, Some("d4")),
    ] {
        let text = format!(
            r#"{{"id":"{}","type":"sync","extra":{}}}"#,
            id.unwrap_or_default(),
            nested(levels)
        );
        f.ada.raw_send(&text).await;
        let err = f.ada.expect_error().await;
        assert_eq!(err.code, ErrorCode::InvalidMessage, "{levels}: {err:?}");
        assert_eq!(err.id.as_deref(), id, "{levels}");
        assert!(err.message.contains("nest deeper"), "{err:?}");
    }
    // Unclosed, and without an object around it: the depth is still what is refused.
    f.ada.raw_send(&"[".repeat(8000)).await;
    let err = f.ada.expect_error().await;
    assert_eq!(err.code, ErrorCode::InvalidMessage, "{err:?}");
    assert_eq!(err.id, None);
    f.assert_unharmed().await;
}

#[tokio::test]
async fn a_number_out_of_range_for_its_field_is_an_invalid_message_naming_it() {
    let mut f = Fixture::new().await;
    let cases = [
        (
            r#"{"id":"r1","type":"shuffle_presenters","seed":18446744073709551616}"#,
            "seed",
        ),
        (r#"{"id":"r2","type":"draw_prompt","seed":-1}"#, "seed"),
        (r#"{"id":"r3","type":"jump_to_stage","index":-1}"#, "index"),
        (r#"{"id":"r4","type":"jump_to_stage","index":1.5}"#, "index"),
        (
            r#"{"id":"r5","type":"adjust_timer","timer":"stage","seconds":2147483648}"#,
            "seconds",
        ),
        (
            r#"{"id":"r6","type":"give_feedback","rating":256,"helped":"","helped_less":"","visibility":"private"}"#,
            "rating",
        ),
        (
            r#"{"id":"r7","type":"answer_survey","rating":1e400,"visibility":"private"}"#,
            "rating",
        ),
        (
            r#"{"id":"r8","rating":-1e400,"type":"answer_survey","visibility":"private"}"#,
            "rating",
        ),
        (
            r#"{"id":"r9","type":"set_presenter_order","order":[1,1e999]}"#,
            "order",
        ),
        (
            r#"{"id":"r10","type":"remove_participant","participant":4294967296}"#,
            "participant",
        ),
    ];
    for (text, field) in cases {
        let id = text.split('"').nth(3).unwrap_or_default();
        f.ada.raw_send(text).await;
        let err = f.ada.answer(id).await.expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidMessage, "{text}: {err:?}");
        assert!(err.message.contains(field), "{text}: {err:?}");
    }
    f.assert_unharmed().await;
}
