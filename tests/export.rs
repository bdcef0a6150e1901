//! Session summaries over HTTP: only exportable text, in every format; names can be hidden.

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::sync::Arc;

use circlekeeper::export::RoomSummary;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{Command, Visibility};
use common::TestServer;
use serde_json::json;

/// A server over `store` whose community host key is `community-host-key`.
async fn community_server(store: Arc<SledStore>) -> TestServer {
    TestServer::start_with(store, Clock::manual(common::EPOCH), |s| {
        s.host_key = Some("community-host-key".into())
    })
    .await
}

#[tokio::test]
async fn only_text_marked_exportable_reaches_any_export_format() {
    let server = community_server(Arc::new(SledStore::temporary().expect("store"))).await;
    let room = server.create_builtin_room("coaching_swap").await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    for c in [&mut ada, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(1) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    let g = fran.view.pairs.groups[0].clone();
    let (coach, client) = if g.coach == ada.you {
        (&mut ada, &mut ben)
    } else {
        (&mut ben, &mut ada)
    };
    coach.ok(Command::EndHalf { group: None }).await;
    client
        .ok(Command::GiveFeedback {
            rating: 4,
            helped: "EXPORTABLE-helped".into(),
            helped_less: "EXPORTABLE-less".into(),
            visibility: Visibility::Exportable,
        })
        .await;
    let record = |text: &str, visibility| Command::RecordCommitment {
        text: envelope::as_sent(text, visibility),
        due: None,
        visibility,
    };
    ada.ok(record("PRIVATE-commitment", Visibility::Private))
        .await;
    ada.ok(record("CIRCLE-commitment", Visibility::Circle))
        .await;
    ben.ok(record("EXPORTABLE-commitment", Visibility::Exportable))
        .await;
    fran.ok(Command::EndSession).await;
    let survey = |comment: &str, visibility| Command::AnswerSurvey {
        rating: 5,
        comment: Some(comment.into()),
        visibility,
    };
    ada.ok(survey("CIRCLE-survey", Visibility::Circle)).await;
    ben.ok(survey("EXPORTABLE-survey", Visibility::Exportable))
        .await;

    let path = format!("/api/rooms/{}/export", room.room_id);
    let export = |body: serde_json::Value| {
        let server = &server;
        let path = path.clone();
        async move {
            server
                .http("POST", &path, body.to_string().as_bytes())
                .await
        }
    };
    let mut texts = Vec::new();
    let j = export(json!({ "key": room.host_key })).await;
    assert_eq!(j.status, 200, "{}", j.text);
    let summary: RoomSummary = serde_json::from_str(&j.text).expect("the JSON parses back");
    assert_eq!(summary.version, 1);
    assert_eq!(summary.pairings.len(), 1);
    assert_eq!(summary.attendance.len(), 3);
    assert!(summary.stages.len() >= 3, "{:?}", summary.stages);
    texts.push(j.text);
    let md = export(json!({ "key": room.host_key, "format": "markdown" })).await;
    assert_eq!(md.status, 200);
    assert!(md.text.starts_with("# Tuesday set"), "{}", md.text);
    texts.push(md.text);
    for table in circlekeeper::export::CSV_TABLES {
        let csv = export(json!({ "key": room.host_key, "format": "csv", "table": table })).await;
        assert_eq!(csv.status, 200, "{table}: {}", csv.text);
        let rows: Vec<&str> = csv.text.lines().collect();
        assert!(!rows.is_empty(), "{table} has a header");
        texts.push(csv.text);
    }
    // The community host's path, every format.
    let host_path = format!("/api/host/rooms/{}/export", room.room_id);
    for (format, table) in [("json", None), ("markdown", None)].into_iter().chain(
        circlekeeper::export::CSV_TABLES
            .iter()
            .map(|t| ("csv", Some(*t))),
    ) {
        let mut body = json!({ "key": "community-host-key", "format": format });
        if let Some(t) = table {
            body["table"] = json!(t);
        }
        let answer = server
            .http("POST", &host_path, body.to_string().as_bytes())
            .await;
        assert_eq!(answer.status, 200, "{format}: {}", answer.text);
        texts.push(answer.text);
    }
    let all = texts.join("\n");
    for present in [
        "EXPORTABLE-commitment",
        "EXPORTABLE-helped",
        "EXPORTABLE-less",
        "EXPORTABLE-survey",
        "Ada",
        "Ben",
    ] {
        assert!(all.contains(present), "{present} is exported");
    }
    for absent in ["PRIVATE-commitment", "CIRCLE-commitment", "CIRCLE-survey"] {
        assert!(!all.contains(absent), "{absent} leaked into an export");
    }

    // Pseudonymised: no names at all.
    let anon =
        export(json!({ "key": room.host_key, "names": "pseudonymised", "format": "markdown" }))
            .await;
    for name in ["Ada", "Ben", "Fran"] {
        assert!(
            !anon.text.contains(name),
            "{name} in a pseudonymised export"
        );
    }
    // Only the host link exports; a deleted room cannot be exported.
    assert_eq!(export(json!({ "key": room.join_key })).await.status, 403);
    assert_eq!(
        export(json!({ "key": room.host_key, "format": "pdf" }))
            .await
            .status,
        400
    );
    fran.ok(Command::DeleteRoom).await;
    fran.expect_close().await;
    assert_eq!(export(json!({ "key": room.host_key })).await.status, 404);
}

#[tokio::test]
async fn the_command_line_export_reads_a_data_directory_the_server_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), Clock::manual(common::EPOCH), |_| {}).await;
    let (room, mut fran, mut ada) = common::at_commitment(&server).await; // Ada's commitment
    ada.ok(Command::RecordCommitment {
        text: "EXPORTABLE-offline".into(),
        due: Some("2027-02-01".into()),
        visibility: Visibility::Exportable,
    })
    .await;
    ada.ok(Command::RecordCommitment {
        text: envelope::sealed("PRIVATE-offline"),
        due: None,
        visibility: Visibility::Private,
    })
    .await;
    fran.ok(Command::EndSession).await;
    let path = format!("/api/rooms/{}/export", room.room_id);
    let online = server
        .http(
            "POST",
            &path,
            json!({ "key": room.host_key }).to_string().as_bytes(),
        )
        .await;
    let online: RoomSummary = serde_json::from_str(&online.text).expect("json");
    server.stop().await;
    let wait = async {
        while Arc::strong_count(&store) > 1 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), wait)
        .await
        .expect("the server let go of the store");
    drop(store);

    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_circlekeeper"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--log")
            .arg("off")
            .arg("export")
            .arg("--room")
            .arg(&room.room_id)
            .args(args)
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let offline: RoomSummary = serde_json::from_str(&run(&[])).expect("the offline JSON parses");
    assert_eq!(offline, online, "the same summary offline as over HTTP");
    let md = run(&["--format", "markdown"]);
    assert!(
        md.contains("EXPORTABLE-offline") && !md.contains("PRIVATE-offline"),
        "{md}"
    );
    let csv = run(&["--format", "csv", "--table", "commitments"]);
    assert!(csv.starts_with("author,text,due,outcome"), "{csv}");
    assert!(csv.contains("Ada,EXPORTABLE-offline,2027-02-01,"), "{csv}");
    // `--lang`: German headings and built-in stage titles; what people wrote as written.
    let md = run(&["--format", "markdown", "--lang", "de"]);
    for german in [
        "## Phasen",
        "| Vorhaben |",
        "## Vorhaben",
        "(bis 2027-02-01)",
    ] {
        assert!(md.contains(german), "{german}: {md}");
    }
    assert!(
        md.contains("EXPORTABLE-offline") && !md.contains("## Stages"),
        "{md}"
    );
}

#[tokio::test]
async fn the_community_host_lists_everything_and_downloads_summaries_and_series_reports() {
    use circlekeeper::export::series::SeriesReport;
    use circlekeeper_protocol::{RoomCreated, SeriesCreated};
    let server = community_server(Arc::new(SledStore::temporary().expect("store"))).await;
    let answer = server
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Alumni", "cadence": "monthly", "cycle_months": 6, "members": ["Ada", "Ben", "Chen", "Dee"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("series");
    let mut rooms = Vec::new();
    for (session, present) in [(0, 4), (1, 2)] {
        let answer = server
            .http(
                "POST",
                &format!("/api/series/{}/rooms", series.series_id),
                json!({ "key": series.host_key }).to_string().as_bytes(),
            )
            .await;
        let room: RoomCreated = serde_json::from_value(answer.json).expect("room");
        let mut fran = server.host(&room, "Fran").await;
        fran.ok(Command::AcceptGroundRules).await;
        let mut members = Vec::new();
        for m in series.members.iter().take(present) {
            let mut c = server.connect(&m.name).await;
            c.enter(Command::Member {
                room: room.room_id.clone(),
                series: series.series_id.clone(),
                key: m.key.clone(),
            })
            .await;
            c.ok(Command::AcceptGroundRules).await;
            members.push(c);
        }
        fran.sync().await;
        fran.ok(Command::Start).await;
        fran.ok(Command::JumpToStage { index: 2 }).await;
        fran.ok(Command::ProposePairs {
            seed: Some(session),
        })
        .await;
        fran.ok(Command::ConfirmPairs).await;
        fran.ok(Command::EndSession).await;
        for c in members.iter_mut() {
            c.ok(Command::AnswerSurvey {
                rating: 4,
                comment: Some(envelope::sealed("PRIVATE-survey")),
                visibility: Visibility::Private,
            })
            .await;
        }
        rooms.push(room);
        // A day later (rooms are ordered by when they were opened).
        server.advance(std::time::Duration::from_secs(24 * 3600));
    }
    let key = json!({ "key": "community-host-key" });
    let list = server
        .http("POST", "/api/host/list", key.to_string().as_bytes())
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["rooms"].as_array().map(Vec::len), Some(2));
    assert_eq!(list.json["series"][0]["series_id"], series.series_id);

    let path = format!("/api/host/rooms/{}/export", rooms[0].room_id);
    let summary = server.http("POST", &path, key.to_string().as_bytes()).await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    let summary: RoomSummary = serde_json::from_str(&summary.text).expect("summary");
    assert_eq!(summary.attendance.len(), 5);
    assert!(
        summary.survey.iter().all(|s| s.comment.is_none()),
        "private comments stay private"
    );

    let path = format!("/api/host/series/{}/report", series.series_id);
    let report = server.http("POST", &path, key.to_string().as_bytes()).await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert!(!report.text.contains("PRIVATE"), "no text in a report");
    let report: SeriesReport = serde_json::from_str(&report.text).expect("report");
    let attendance: Vec<u32> = report.sessions.iter().map(|s| s.attendance).collect();
    assert_eq!(attendance, [4, 2]);
    assert_eq!(report.sessions[1].retention, 0.5);
    assert_eq!(report.sessions[0].survey_mean, Some(4.0));
    assert_eq!(report.members[0].by_session, [true, true]);
    assert_eq!(report.members[3].by_session, [true, false]);
    let met: u32 = report.pairing_matrix.iter().map(|(_, _, n)| n).sum();
    assert_eq!(met, 2 + 1, "two pairs, then one");
    let md = server
        .http(
            "POST",
            &path,
            json!({ "key": "community-host-key", "format": "markdown", "names": "pseudonymised" })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert!(
        md.text.contains("Member 1") && !md.text.contains("Ada"),
        "{}",
        md.text
    );
    // A pseudonymised summary of a series room carries no member id (it would map back to the
    // host's member list); a summary with names keeps them.
    let room_path = format!("/api/host/rooms/{}/export", rooms[0].room_id);
    let summary = |names: &str| {
        let server = &server;
        let body = json!({ "key": "community-host-key", "names": names }).to_string();
        let room_path = room_path.clone();
        async move { server.http("POST", &room_path, body.as_bytes()).await.text }
    };
    let shown = summary("shown").await;
    let hidden = summary("pseudonymised").await;
    for m in &series.members {
        assert!(shown.contains(&m.member_id), "{} in {shown}", m.member_id);
        assert!(
            !hidden.contains(&format!("\"{}\"", m.member_id)) && !hidden.contains(&m.name),
            "{} or {} in a pseudonymised summary: {hidden}",
            m.member_id,
            m.name
        );
    }
    let csv = server
        .http(
            "POST",
            &path,
            json!({ "key": "community-host-key", "format": "csv", "table": "sessions" })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert!(
        csv.text.starts_with("session,room_id,attendance"),
        "{}",
        csv.text
    );

    // The same figures over a date range, across series and lone rooms.
    let range = json!({ "key": "community-host-key", "from": 0, "to": u64::MAX / 2 });
    let answer = server
        .http("POST", "/api/host/report", range.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let by_range: SeriesReport = serde_json::from_str(&answer.text).expect("range report");
    let attendance: Vec<u32> = by_range.sessions.iter().map(|s| s.attendance).collect();
    assert_eq!(attendance, [4, 2]);
    let met: u32 = by_range.pairing_matrix.iter().map(|(_, _, n)| n).sum();
    assert_eq!(met, 3);
    let empty = json!({ "key": "community-host-key", "from": 5, "to": 5 });
    assert_eq!(
        server
            .http("POST", "/api/host/report", empty.to_string().as_bytes())
            .await
            .status,
        400
    );

    let wrong = server
        .http("POST", "/api/host/list", br#"{"key":"nope"}"#)
        .await;
    assert_eq!(wrong.status, 403);
}

#[tokio::test]
async fn without_a_configured_host_key_the_host_endpoints_refuse() {
    let server = TestServer::start().await;
    let answer = server
        .http("POST", "/api/host/list", br#"{"key":""}"#)
        .await;
    assert_eq!(answer.status, 403);
}

#[tokio::test]
async fn a_damaged_stored_room_is_a_server_error_for_whoever_may_export_it() {
    let (dir, damaged, _, healthy) = common::damaged_data_dir().await;
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = community_server(store.clone()).await;
    let post = |path: String, body: serde_json::Value| {
        let server = &server;
        async move {
            server
                .http("POST", &path, body.to_string().as_bytes())
                .await
        }
    };
    let room_export = |room: &str| format!("/api/rooms/{room}/export");
    let host_export = |room: &str| format!("/api/host/rooms/{room}/export");
    let internal = |answer: &common::HttpResponse, what: &str| {
        assert_eq!(answer.status, 500, "{what}: {}", answer.text);
        assert_eq!(answer.json["code"], "internal", "{what}: {}", answer.text);
        assert!(
            !answer.text.contains("roomid_seq_event"),
            "{what}: the detail is for the log, not the client: {}",
            answer.text
        );
    };

    // The room's own host, by its host link: the server's fault, said plainly.
    let answer = post(
        room_export(&damaged.room_id),
        json!({ "key": damaged.host_key }),
    )
    .await;
    internal(&answer, "the room's host");
    // Anyone else is refused as at any room.
    let answer = post(
        room_export(&damaged.room_id),
        json!({ "key": damaged.join_key }),
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(answer.json["code"], "invalid_key");

    // The community host: the summary, and every report that would count the room.
    let key = json!({ "key": "community-host-key", "format": "markdown" });
    internal(
        &post(host_export(&damaged.room_id), key.clone()).await,
        "the community host",
    );
    let range = json!({ "key": "community-host-key", "from": 0, "to": u64::MAX / 2 });
    internal(
        &post("/api/host/report".into(), range).await,
        "a report over the damaged room",
    );
    // The other room is exported as usual.
    let answer = post(host_export(&healthy.room_id), key).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    server.stop().await;
    common::release_store(store).await;
}

#[tokio::test]
async fn an_unknown_format_or_table_is_a_bad_request_and_an_unknown_room_is_not_found() {
    let server = community_server(Arc::new(SledStore::temporary().expect("store"))).await;
    let room = server.create_builtin_room("coaching_circle").await;
    server.host(&room, "Fran").await;
    let room_path = format!("/api/rooms/{}/export", room.room_id);
    let host_path = format!("/api/host/rooms/{}/export", room.room_id);
    for (path, key) in [
        (&room_path, room.host_key.as_str()),
        (&host_path, "community-host-key"),
    ] {
        for (body, what) in [
            (json!({ "key": key, "format": "pdf" }), "format"),
            (
                json!({ "key": key, "format": "csv", "table": "secrets" }),
                "table",
            ),
        ] {
            let answer = server.http("POST", path, body.to_string().as_bytes()).await;
            assert_eq!(answer.status, 400, "{path} {body}: {}", answer.text);
            assert_eq!(answer.json["code"], "invalid_message");
            let message = answer.json["message"].as_str().unwrap_or_default();
            assert!(message.starts_with(what), "{path}: {message}");
        }
    }
    for path in [
        "/api/rooms/no-such-room/export",
        "/api/host/rooms/no-such-room/export",
    ] {
        let key = if path.starts_with("/api/host") {
            "community-host-key"
        } else {
            room.host_key.as_str()
        };
        let answer = server
            .http("POST", path, json!({ "key": key }).to_string().as_bytes())
            .await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
        assert_eq!(answer.json["code"], "room_not_found");
    }
}

#[tokio::test]
async fn text_a_spreadsheet_would_run_as_a_formula_is_exported_as_text() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut eve = server.join(&room, "=HYPERLINK(\"http://x\",\"y\")").await;
    eve.ok(Command::AcceptGroundRules).await;
    fran.ok(Command::Start).await;
    let last = fran.view.plan.len() - 1;
    fran.ok(Command::JumpToStage { index: last }).await;
    eve.ok(Command::RecordCommitment {
        text: "@SUM(1+1)*cmd|' /C calc'!A0".into(),
        due: None,
        visibility: Visibility::Exportable,
    })
    .await;
    fran.ok(Command::EndSession).await;

    let path = format!("/api/rooms/{}/export", room.room_id);
    for (table, cells) in [
        (
            "attendance",
            vec!["\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""],
        ),
        (
            "commitments",
            vec![
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"",
                ",'@SUM(1+1)*cmd|' /C calc'!A0,",
            ],
        ),
    ] {
        let body = json!({ "key": room.host_key, "format": "csv", "table": table });
        let csv = server
            .http("POST", &path, body.to_string().as_bytes())
            .await;
        assert_eq!(csv.status, 200, "{table}: {}", csv.text);
        for cell in cells {
            assert!(
                csv.text.lines().any(|l| l.contains(cell)),
                "{table}: no row with {cell}:\n{}",
                csv.text
            );
        }
        assert!(
            !csv.text
                .lines()
                .any(|l| l.starts_with('=') || l.starts_with('@')),
            "{table}: a cell a spreadsheet would run:\n{}",
            csv.text
        );
    }
}
