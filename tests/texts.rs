//! The server's built-in texts in other languages over HTTP: `GET /api/texts/{lang}`, and
//! summaries and reports written in a language (`"lang"` in an export's body).

mod common;

use std::sync::Arc;

use circlekeeper::export::RoomSummary;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, Visibility};
use common::{HttpResponse, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn each_shipped_language_maps_every_builtin_text_and_others_are_not_found() {
    let server = TestServer::start().await;
    let builtin = circlekeeper::texts::builtin_texts();
    for (lang, check_in, reflection) in [
        ("es", "Check-in", "Reflexión"),
        ("de", "Check-in", "Reflexion"),
    ] {
        let answer = server.http("GET", &format!("/api/texts/{lang}"), b"").await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["lang"], lang);
        let texts = answer.json["texts"].as_object().expect("a map");
        assert_eq!(
            texts.len(),
            builtin.len(),
            "{lang}: one entry per built-in text"
        );
        for english in &builtin {
            assert!(texts.contains_key(*english), "{lang} lacks {english:?}");
        }
        assert_eq!(texts["Check-in"], check_in);
        assert_eq!(texts["Reflection"], reflection);
    }
    let spanish = server.http("GET", "/api/texts/es", b"").await;
    assert_eq!(
        spanish.json["texts"]["Action learning set"],
        "Conjunto de aprendizaje en acción"
    );
    let english = server.http("GET", "/api/texts/en", b"").await;
    assert_eq!(english.status, 200);
    assert_eq!(english.json, json!({ "lang": "en", "texts": {} }));
    for unknown in ["fr", "ES", "es-ES"] {
        let answer = server
            .http("GET", &format!("/api/texts/{unknown}"), b"")
            .await;
        assert_eq!(answer.status, 404, "{unknown}: {}", answer.text);
        assert_eq!(answer.json["code"], "unknown_language", "{}", answer.text);
        assert!(answer.json["message"]
            .as_str()
            .is_some_and(|m| m.contains("es")));
    }
    server.stop().await;
}

/// An ended action learning set with a due exportable commitment and a survey answer.
async fn ended_room(server: &TestServer) -> circlekeeper_protocol::RoomCreated {
    let (room, mut fran, mut ada) = common::at_commitment(server).await;
    ada.ok(Command::RecordCommitment {
        text: "Call the team".into(),
        due: Some("2027-02-01".into()),
        visibility: Visibility::Exportable,
    })
    .await;
    fran.ok(Command::EndSession).await;
    ada.ok(Command::AnswerSurvey {
        rating: 4,
        comment: None,
        visibility: Visibility::Private,
    })
    .await;
    room
}

async fn export(server: &TestServer, room: &str, body: Value) -> HttpResponse {
    let path = format!("/api/rooms/{room}/export");
    server
        .http("POST", &path, body.to_string().as_bytes())
        .await
}

#[tokio::test]
async fn an_export_in_spanish_has_spanish_headings_and_the_same_json() {
    let server = TestServer::start().await;
    let room = ended_room(&server).await;
    let key = room.host_key.clone();
    let id = room.room_id.as_str();

    let md = export(
        &server,
        id,
        json!({ "key": key, "format": "markdown", "lang": "es" }),
    )
    .await;
    assert_eq!(md.status, 200, "{}", md.text);
    for spanish in [
        "- Formato: Conjunto de aprendizaje en acción",
        "- Facilitación: Fran",
        "## Etapas",
        "| etapa | quien presenta | previsto | real |",
        "| Check-in |",
        "| Compromiso |",
        "## Compromisos",
        "- Ada: Call the team (para el 2027-02-01)",
        "## Encuesta",
        "Valoración media: 4,0 de 5 (1 respuesta).",
    ] {
        assert!(md.text.contains(spanish), "{spanish}: {}", md.text);
    }
    for english in ["## Stages", "Facilitated by", "Mean rating"] {
        assert!(!md.text.contains(english), "{english}: {}", md.text);
    }

    let csv = export(
        &server,
        id,
        json!({ "key": key, "format": "csv", "table": "stages", "lang": "es" }),
    )
    .await;
    assert!(
        csv.text
            .starts_with("índice,título,previsto (ms),real (ms),quien presenta,inicio\n"),
        "{}",
        csv.text
    );
    assert!(csv.text.contains(",Compromiso,"), "{}", csv.text);

    // English by default and by name; JSON is the same in every language.
    let plain = export(&server, id, json!({ "key": key, "format": "markdown" })).await;
    let en = export(
        &server,
        id,
        json!({ "key": key, "format": "markdown", "lang": "en" }),
    )
    .await;
    assert!(plain.text.contains("## Stages\n") && plain.text.contains("| Commitment |"));
    assert_eq!(plain.text, en.text);
    let json_en: RoomSummary =
        serde_json::from_str(&export(&server, id, json!({ "key": key })).await.text).expect("json");
    let json_de: RoomSummary = serde_json::from_str(
        &export(&server, id, json!({ "key": key, "lang": "de" }))
            .await
            .text,
    )
    .expect("json");
    assert_eq!(json_en, json_de);

    let unknown = export(
        &server,
        id,
        json!({ "key": key, "format": "markdown", "lang": "fr" }),
    )
    .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert_eq!(unknown.json["code"], "invalid_message");
    assert!(unknown.text.contains("lang"), "{}", unknown.text);
    server.stop().await;
}

#[tokio::test]
async fn the_community_hosts_reports_come_in_a_language_too() {
    let store = Arc::new(SledStore::temporary().expect("store"));
    let server = TestServer::start_with(store, Clock::manual(common::EPOCH), |s| {
        s.host_key = Some("community-host-key".into())
    })
    .await;
    let room = ended_room(&server).await;
    let path = format!("/api/host/rooms/{}/export", room.room_id);
    let body = json!({ "key": "community-host-key", "format": "markdown", "lang": "de" });
    let summary = server
        .http("POST", &path, body.to_string().as_bytes())
        .await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert!(summary.text.contains("## Phasen") && summary.text.contains("| Vorhaben |"));

    let now = server.now();
    let body = json!({
        "key": "community-host-key", "from": 0, "to": now + 1, "format": "markdown", "lang": "de",
    });
    let report = server
        .http("POST", "/api/host/report", body.to_string().as_bytes())
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let to = circlekeeper::export::dates::iso(now + 1);
    let title = format!("# Räume, eröffnet von 1970-01-01T00:00:00.000Z bis {to}");
    for german in [
        title.as_str(),
        "## Sitzungen",
        "## Mitglieder",
        "## Wer mit wem",
        "gefasst:",
    ] {
        assert!(report.text.contains(german), "{german}: {}", report.text);
    }
    let body = json!({ "key": "community-host-key", "from": 0, "to": now + 1, "lang": "xx" });
    let refused = server
        .http("POST", "/api/host/report", body.to_string().as_bytes())
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    server.stop().await;
}
