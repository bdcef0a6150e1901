//! Private items are sealed on their author's device and the server holds only ciphertext
//! (issue 17, item 8), against the real binary over real sockets: a client seals each kind of
//! private text with the documented scheme (AES-256-GCM, `ck1:` envelopes); a plaintext private
//! text is refused with `invalid_text` and the room carries on; then the plaintexts are looked
//! for, and not found, in the data directory, the server's log, every frame sent to anyone but
//! their author, and every export and report. The author gets the envelopes back and opens them.

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::path::Path;
use std::time::Duration;

use binary::Binary;
use circlekeeper_protocol::{
    AckResult, Command, ErrorCode, Mine, RoomCreated, SeriesCreated, Visibility,
};
use common::{Client, Remote};
use envelope::{open_with, seal_under, seal_with_iv, TEST_KEY};
use serde_json::json;

const HOST_KEY: &str = "community-host-key-for-private";

/// Every file under `dir`, read as bytes, with its path.
fn files_under(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w == n)
}

fn mine(acked: common::Acked) -> Mine {
    match acked.result {
        Some(AckResult::Mine { mine }) => mine,
        other => panic!("my items in the ack, got {other:?}"),
    }
}

/// Every export of the room and every report of the series, in every format, as text.
async fn every_export(
    remote: &Remote,
    room: &RoomCreated,
    series: &SeriesCreated,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut formats: Vec<(&str, Option<&str>)> = vec![("json", None), ("markdown", None)];
    formats.extend(
        circlekeeper::export::CSV_TABLES
            .iter()
            .map(|t| ("csv", Some(*t))),
    );
    let targets = [
        (
            format!("/api/rooms/{}/export", room.room_id),
            room.host_key.clone(),
        ),
        (
            format!("/api/host/rooms/{}/export", room.room_id),
            HOST_KEY.to_string(),
        ),
        (
            format!("/api/host/series/{}/report", series.series_id),
            HOST_KEY.to_string(),
        ),
    ];
    for (path, key) in &targets {
        for (format, table) in &formats {
            for names in ["shown", "pseudonymised"] {
                let mut body = json!({ "key": key, "format": format, "names": names });
                if let Some(t) = table {
                    body["table"] = json!(t);
                }
                let answer = remote.http("POST", path, body.to_string().as_bytes()).await;
                if *format != "csv" || !path.contains("/report") {
                    assert_eq!(answer.status, 200, "{path} {body}: {}", answer.text);
                }
                out.push((format!("{path} {body}"), answer.text));
            }
        }
    }
    let list = remote
        .http(
            "POST",
            "/api/host/list",
            json!({ "key": HOST_KEY }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    out.push(("/api/host/list".into(), list.text));
    out
}

#[tokio::test]
async fn private_texts_reach_the_server_sealed_and_leave_it_only_to_their_author() {
    let dir = tempfile::tempdir().expect("a data dir");
    let server = Binary::start_with(dir.path(), &["--host-key", HOST_KEY]);
    let remote = server.remote();

    let answer = remote
        .http(
            "POST",
            "/api/series",
            json!({ "title": "Sealed", "cadence": "monthly", "cycle_months": 3, "members": ["Ada", "Ben"] })
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let series: SeriesCreated = serde_json::from_value(answer.json).expect("a series");
    let opened = remote
        .http(
            "POST",
            &format!("/api/series/{}/rooms", series.series_id),
            json!({ "key": series.host_key }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(opened.status, 201, "{}", opened.text);
    let room: RoomCreated = serde_json::from_value(opened.json).expect("a room");

    let mut fran = remote.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut m: Vec<Client> = Vec::new();
    for member in &series.members {
        let mut c = remote.connect(&member.name).await;
        c.enter(Command::Member {
            room: room.room_id.clone(),
            series: series.series_id.clone(),
            key: member.key.clone(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        m.push(c);
    }
    // Each member's own key, made on their device (the server never sees it).
    let keys: [[u8; 32]; 2] = [TEST_KEY, [0x5a; 32]];

    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(1) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    let g = fran.view.pairs.groups[0].clone();
    for c in m.iter_mut() {
        c.catch_up(fran.seq).await;
    }
    let client = m.iter().position(|c| c.you == g.client).expect("a client");
    let coach = 1 - client;
    m[coach].ok(Command::EndHalf { group: None }).await;
    let seq = m[coach].seq;
    m[client].catch_up(seq).await;

    let names: Vec<String> = m.iter().map(|c| c.name.clone()).collect();
    let plain = |who: usize, what: &str| format!("PLAINTEXT-{}-{what}", names[who]);
    let mut secrets: Vec<(usize, String)> = Vec::new();

    // A plaintext private text is refused, whichever field; the room carries on.
    let refused = m[client]
        .refused(Command::GiveFeedback {
            rating: 4,
            helped: plain(client, "helped-unsealed"),
            helped_less: String::new(),
            visibility: Visibility::Private,
        })
        .await;
    assert_eq!(refused, ErrorCode::InvalidText);
    let refused = m[0]
        .refused(Command::RecordCommitment {
            text: plain(0, "commitment-unsealed"),
            due: None,
            visibility: Visibility::Private,
        })
        .await;
    assert_eq!(refused, ErrorCode::InvalidText);
    // A sealed text marked for the circle is refused too: nobody could read it.
    let refused = m[0]
        .refused(Command::RecordCommitment {
            text: seal_under(&keys[0], "for the circle"),
            due: None,
            visibility: Visibility::Circle,
        })
        .await;
    assert_eq!(refused, ErrorCode::InvalidText);
    secrets.push((client, plain(client, "helped-unsealed")));
    secrets.push((0, plain(0, "commitment-unsealed")));

    // Every kind of private text, sealed.
    let (helped, less) = (plain(client, "helped"), plain(client, "helped-less"));
    m[client]
        .ok(Command::GiveFeedback {
            rating: 4,
            helped: seal_under(&keys[client], &helped),
            helped_less: seal_under(&keys[client], &less),
            visibility: Visibility::Private,
        })
        .await;
    secrets.push((client, helped.clone()));
    secrets.push((client, less.clone()));
    for who in 0..2 {
        let text = plain(who, "commitment");
        m[who]
            .ok(Command::RecordCommitment {
                text: seal_under(&keys[who], &text),
                due: Some("2027-03-01".into()),
                visibility: Visibility::Private,
            })
            .await;
        secrets.push((who, text));
    }
    // The room is healthy: a shared commitment goes round.
    m[coach]
        .ok(Command::RecordCommitment {
            text: "Shared with the circle".into(),
            due: None,
            visibility: Visibility::Circle,
        })
        .await;
    fran.sync().await;
    assert_eq!(fran.view.commitments.len(), 1);
    fran.ok(Command::EndSession).await;
    for who in 0..2 {
        let text = plain(who, "survey");
        m[who].catch_up(fran.seq).await;
        m[who]
            .ok(Command::AnswerSurvey {
                rating: 5,
                comment: Some(seal_under(&keys[who], &text)),
                visibility: Visibility::Private,
            })
            .await;
        secrets.push((who, text));
    }

    // The author gets the envelopes back and opens them; the other key cannot.
    let mut envelopes: Vec<(usize, String)> = Vec::new();
    for who in 0..2 {
        let mine = mine(m[who].ok(Command::MyItems).await);
        let c = mine.commitments.first().expect("my commitment");
        assert_eq!(
            open_with(&keys[who], &c.text),
            Some(plain(who, "commitment"))
        );
        assert_eq!(open_with(&keys[1 - who], &c.text), None, "another key");
        let s = mine.survey.expect("my survey");
        let comment = s.comment.expect("my comment");
        assert_eq!(open_with(&keys[who], &comment), Some(plain(who, "survey")));
        envelopes.push((who, c.text.clone()));
        envelopes.push((who, comment));
        if who == client {
            let f = mine.feedback.first().expect("my feedback");
            assert_eq!(open_with(&keys[who], &f.helped), Some(helped.clone()));
            assert_eq!(open_with(&keys[who], &f.helped_less), Some(less.clone()));
            envelopes.push((who, f.helped.clone()));
            envelopes.push((who, f.helped_less.clone()));
        }
    }

    // Nobody but the author was sent a private text, sealed or not.
    for c in m.iter_mut() {
        c.sync().await;
    }
    fran.sync().await;
    let frames = |c: &Client| serde_json::to_string(&c.frames).expect("json");
    let fran_saw = frames(&fran);
    for (author, text) in secrets.iter().chain(&envelopes) {
        assert!(!fran_saw.contains(text.as_str()), "Fran was sent {text}");
        let other = frames(&m[1 - author]);
        assert!(
            !other.contains(text.as_str()),
            "the other member was sent {text}"
        );
    }
    // Plaintexts never left their authors' devices: not even the author was sent one back.
    for (author, text) in &secrets {
        assert!(!frames(&m[*author]).contains(text.as_str()), "{text}");
    }

    // No export or report holds one.
    for (what, body) in every_export(&remote, &room, &series).await {
        for (_, text) in secrets.iter().chain(&envelopes) {
            assert!(!body.contains(text.as_str()), "{what} holds {text}");
        }
        assert!(!body.contains("ck1:"), "{what} holds an envelope");
    }

    // Nor the log, nor the store on disk once the server has written all and stopped.
    for c in m {
        c.close().await;
    }
    fran.close().await;
    let mut server = server;
    server.terminate();
    server.wait_exit(Duration::from_secs(20));
    let log = server.output_text();
    assert!(log.contains("circlekeeper listening"), "the log was read");
    let mut files = Vec::new();
    files_under(dir.path(), &mut files);
    assert!(!files.is_empty(), "the store wrote files");
    for (_, text) in &secrets {
        assert!(!log.contains(text.as_str()), "the log holds {text}");
        for (path, bytes) in &files {
            assert!(!contains(bytes, text), "{path} holds {text}");
        }
    }
}

#[test]
fn the_worked_example_of_the_protocol_seals_and_opens() {
    // protocol/notes-and-series.md, "Sealing a private text": key 00..1f, IV a0..ab.
    let iv: [u8; 12] = std::array::from_fn(|i| 0xa0 + i as u8);
    let text = "Decide whether I still want this job";
    let envelope = "ck1:oKGio6Slpqeoqaqr:on0fRCGuIsgKAPO7Ygjgl1DfLXn-22Ib_WBSpgvDHHLyHCid6M9fI6z-LcpA-SFVo7M9vg";
    assert_eq!(seal_with_iv(&TEST_KEY, &iv, text), envelope);
    assert_eq!(open_with(&TEST_KEY, envelope).as_deref(), Some(text));
    assert!(circlekeeper::room::state::is_envelope(envelope));
    let tampered = envelope.replace("on0f", "on0g");
    assert_eq!(open_with(&TEST_KEY, &tampered), None);
}
