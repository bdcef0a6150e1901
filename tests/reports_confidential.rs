//! Confidentiality stays: private and circle-only texts (commitments, their follow-ups,
//! feedback, survey comments), each with a unique marker, are searched for in every export
//! path — a room's export by its host key, the community host's room export, the series
//! report, the date range report, and the offline command — in every format, table, language
//! and name mode. Ratings of private feedback are counted, as documented: numbers are kept,
//! text only when its author marked it exportable.

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::sync::Arc;
use std::time::Duration;

use circlekeeper::export::RoomSummary;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{AckResult, Command, Outcome, RoomCreated, SeriesCreated, Visibility};
use common::{Client, TestServer, EPOCH};
use serde_json::{json, Value};

const KEY: &str = "community-host-key";

/// Formats with their CSV table (empty for JSON and Markdown).
type Formats<'a> = Vec<(&'a str, &'a str)>;

/// Texts that must never leave the room.
const SECRETS: &[&str] = &[
    "SECRET-commitment-private",
    "SECRET-commitment-circle",
    "SECRET-helped-private",
    "SECRET-less-private",
    "SECRET-helped-circle",
    "SECRET-less-circle",
    "SECRET-survey-private",
    "SECRET-survey-circle",
    "SECRET-s2-commitment-private",
];

/// Texts marked exportable: they do appear (so the search looks in the right places).
const OPEN: &[&str] = &["OPEN-commitment", "OPEN-survey"];

async fn session(
    server: &TestServer,
    series: &SeriesCreated,
) -> (RoomCreated, Client, Vec<Client>) {
    let (room, mut fran, mut people) = server.series_session(series).await;
    fran.sync().await;
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(1) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    for c in people.iter_mut() {
        c.catch_up(fran.seq).await;
    }
    (room, fran, people)
}

fn commit(text: &str, visibility: Visibility) -> Command {
    Command::RecordCommitment {
        text: envelope::as_sent(text, visibility),
        due: None,
        visibility,
    }
}

async fn review_all(c: &mut Client, outcome: Outcome) {
    let acked = c.ok(Command::MyItems).await;
    let Some(AckResult::Mine { mine }) = acked.result else {
        panic!("my items")
    };
    for item in mine.commitments {
        c.ok(Command::ReviewCommitment {
            commitment: item.id,
            outcome,
        })
        .await;
    }
}

fn check(what: &str, text: &str, seen: &mut [bool]) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{secret} leaked into {what}: {text}"
        );
    }
    for (i, open) in OPEN.iter().enumerate() {
        seen[i] |= text.contains(open);
    }
}

#[tokio::test]
async fn no_private_or_circle_text_reaches_any_export_and_private_ratings_are_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |s| {
        s.host_key = Some(KEY.into());
        // A program runs for months: keep its rooms for a year.
        s.retention = Duration::from_secs(365 * 24 * 3600);
    })
    .await;
    let body = json!({ "title": "Quiet", "cadence": "monthly", "cycle_months": 6, "members": ["Ada", "Ben", "Chen", "Dee"] });
    let answer = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");

    // Session 1: each pair's client tells the coach, one privately, one to the circle.
    let (room1, mut fran, mut p) = session(&server, &series).await;
    let groups = fran.view.pairs.groups.clone();
    assert_eq!(groups.len(), 2);
    let at = |id: u32, p: &[Client]| p.iter().position(|c| c.you == id).expect("member");
    for (g, (visibility, rating, tag)) in groups.iter().zip([
        (Visibility::Private, 2, "private"),
        (Visibility::Circle, 5, "circle"),
    ]) {
        let (coach, client) = (at(g.coach, &p), at(g.client, &p));
        p[coach].ok(Command::EndHalf { group: None }).await;
        p[client]
            .ok(Command::GiveFeedback {
                rating,
                helped: envelope::as_sent(&format!("SECRET-helped-{tag}"), visibility),
                helped_less: envelope::as_sent(&format!("SECRET-less-{tag}"), visibility),
                visibility,
            })
            .await;
    }
    p[0].ok(commit("SECRET-commitment-private", Visibility::Private))
        .await;
    p[1].ok(commit("SECRET-commitment-circle", Visibility::Circle))
        .await;
    p[2].ok(commit("OPEN-commitment", Visibility::Exportable))
        .await;
    fran.ok(Command::EndSession).await;
    let survey = |comment: &str, visibility| Command::AnswerSurvey {
        rating: 4,
        comment: Some(envelope::as_sent(comment, visibility)),
        visibility,
    };
    p[0].ok(survey("SECRET-survey-private", Visibility::Private))
        .await;
    p[1].ok(survey("SECRET-survey-circle", Visibility::Circle))
        .await;
    p[2].ok(survey("OPEN-survey", Visibility::Exportable)).await;

    // Session 2: the private and circle commitments are reviewed (their follow-ups).
    server.advance(Duration::from_secs(30 * 24 * 3600));
    let (room2, mut fran2, mut p2) = session(&server, &series).await;
    review_all(&mut p2[0], Outcome::Kept).await;
    review_all(&mut p2[1], Outcome::Not).await;
    p2[3]
        .ok(commit("SECRET-s2-commitment-private", Visibility::Private))
        .await;
    fran2.ok(Command::EndSession).await;

    // Ratings of private feedback count; their words do not appear.
    let path = format!("/api/host/rooms/{}/export", room1.room_id);
    let s1 = server
        .http("POST", &path, json!({ "key": KEY }).to_string().as_bytes())
        .await;
    let s1: RoomSummary = serde_json::from_str(&s1.text).expect("summary");
    let mut ratings: Vec<u8> = s1.feedback.iter().map(|f| f.rating).collect();
    ratings.sort_unstable();
    assert_eq!(ratings, [2, 5], "every rating, private ones too");
    assert!(s1
        .feedback
        .iter()
        .all(|f| f.helped.is_none() && f.helped_less.is_none()));
    assert_eq!(s1.commitment_counts.made, 3, "all commitments counted");
    let s2 = server
        .http(
            "POST",
            &format!("/api/host/rooms/{}/export", room2.room_id),
            json!({ "key": KEY }).to_string().as_bytes(),
        )
        .await;
    let s2: RoomSummary = serde_json::from_str(&s2.text).expect("summary");
    assert_eq!(s2.follow_ups.counts.total(), 2, "both reviews counted");
    assert!(s2.follow_ups.reviewed.is_empty(), "neither shown");

    // Every export path, format, table, language and name mode.
    let mut seen = [false; 2];
    let langs = ["en", "es", "de"];
    let names = ["shown", "pseudonymised"];
    let summary_formats: Vec<(&str, &str)> = [("json", ""), ("markdown", "")]
        .into_iter()
        .chain(circlekeeper::export::CSV_TABLES.iter().map(|t| ("csv", *t)))
        .collect();
    let report_formats: Vec<(&str, &str)> = [("json", ""), ("markdown", "")]
        .into_iter()
        .chain(["sessions", "members", "pairs"].iter().map(|t| ("csv", *t)))
        .collect();
    let body = |key: &str, format: &str, table: &str, lang: &str, names: &str| -> Value {
        let mut b = json!({ "key": key, "format": format, "lang": lang, "names": names });
        if !table.is_empty() {
            b["table"] = json!(table);
        }
        b
    };
    for room in [&room1, &room2] {
        for (format, table) in &summary_formats {
            for lang in langs {
                for name in names {
                    for (path, key) in [
                        (
                            format!("/api/rooms/{}/export", room.room_id),
                            room.host_key.as_str(),
                        ),
                        (format!("/api/host/rooms/{}/export", room.room_id), KEY),
                    ] {
                        let b = body(key, format, table, lang, name);
                        let answer = server.http("POST", &path, b.to_string().as_bytes()).await;
                        assert_eq!(answer.status, 200, "{path} {b}: {}", answer.text);
                        check(&format!("{path} {b}"), &answer.text, &mut seen);
                    }
                }
            }
        }
    }
    let report_path = format!("/api/host/series/{}/report", series.series_id);
    for (format, table) in &report_formats {
        for lang in langs {
            for name in names {
                let b = body(KEY, format, table, lang, name);
                let answer = server
                    .http("POST", &report_path, b.to_string().as_bytes())
                    .await;
                assert_eq!(answer.status, 200, "{b}: {}", answer.text);
                check(&format!("series report {b}"), &answer.text, &mut seen);
                let mut b = b;
                b["from"] = json!(0);
                b["to"] = json!(EPOCH * 2);
                let answer = server
                    .http("POST", "/api/host/report", b.to_string().as_bytes())
                    .await;
                assert_eq!(answer.status, 200, "{b}: {}", answer.text);
                check(&format!("range report {b}"), &answer.text, &mut seen);
            }
        }
    }
    let report = server
        .http(
            "POST",
            &report_path,
            json!({ "key": KEY }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(
        report.json["sessions"][0]["feedback_mean"],
        json!(3.5),
        "private ratings count"
    );
    assert_eq!(seen, [true, true], "the exportable texts are exported");

    // The offline command, every output.
    server.stop().await;
    let wait = async {
        while Arc::strong_count(&store) > 1 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("the server let go of the store");
    drop(store);
    let mut seen = [false; 2];
    let to = (EPOCH * 2).to_string();
    let whats: Vec<(Vec<&str>, &Formats)> = vec![
        (vec!["--room", room1.room_id.as_str()], &summary_formats),
        (vec!["--room", room2.room_id.as_str()], &summary_formats),
        (vec!["--series", series.series_id.as_str()], &report_formats),
        (vec!["--from", "0", "--to", to.as_str()], &report_formats),
    ];
    for (what, formats) in &whats {
        for (format, table) in formats.iter() {
            for lang in langs {
                for pseudonymise in [false, true] {
                    let mut args: Vec<&str> = what.clone();
                    args.extend(["--format", format, "--lang", lang]);
                    if !table.is_empty() {
                        args.extend(["--table", table]);
                    }
                    if pseudonymise {
                        args.push("--pseudonymise");
                    }
                    let out = std::process::Command::new(env!("CARGO_BIN_EXE_circlekeeper"))
                        .arg("--data-dir")
                        .arg(dir.path())
                        .args(["--log", "off", "export"])
                        .args(&args)
                        .output()
                        .expect("the binary runs");
                    assert!(
                        out.status.success(),
                        "{args:?}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let text = String::from_utf8(out.stdout).expect("utf-8");
                    check(&format!("offline {args:?}"), &text, &mut seen);
                }
            }
        }
    }
    assert_eq!(
        seen,
        [true, true],
        "the exportable texts are exported offline"
    );
}
