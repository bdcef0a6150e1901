//! Reports that are right: a small program run over real websockets — two series whose members
//! share ids (`m1`, `m2`…), absences, a guest, commitments made in one session and reviewed in
//! the next — and every figure of its session summaries, its series report and its date range
//! report checked against what the test did, in JSON, CSV and Markdown, over HTTP and from the
//! offline command. Dates, durations, pseudonyms and formula injection too.

mod common;
#[path = "common/envelope.rs"]
mod envelope;

use std::sync::Arc;
use std::time::Duration;

use circlekeeper::export::series::SeriesReport;
use circlekeeper::export::RoomSummary;
use circlekeeper::store::SledStore;
use circlekeeper::Clock;
use circlekeeper_protocol::{AckResult, Command, Outcome, RoomCreated, SeriesCreated, Visibility};
use common::{Client, TestServer, EPOCH};
use serde_json::{json, Value};

const MINUTE: u64 = 60_000;
const DAY: u64 = 24 * 60 * MINUTE;
const KEY: &str = "community-host-key";

/// A series of `members`, made over HTTP.
async fn series(server: &TestServer, title: &str, members: &[&str]) -> SeriesCreated {
    let body =
        json!({ "title": title, "cadence": "monthly", "cycle_months": 6, "members": members });
    let answer = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a series")
}

/// One session of a series: opened at `at`, hosted by Fran, entered by the members at
/// `present` (by their place in the series) and by `guests` through the join link, started.
async fn open(
    server: &TestServer,
    series: &SeriesCreated,
    at: u64,
    present: &[usize],
    guests: &[&str],
) -> (RoomCreated, Client, Vec<Client>) {
    server.advance_to(at);
    let path = format!("/api/series/{}/rooms", series.series_id);
    let answer = server
        .http(
            "POST",
            &path,
            json!({ "key": series.host_key }).to_string().as_bytes(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let room: RoomCreated = serde_json::from_value(answer.json).expect("a room");
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut people = Vec::new();
    for &i in present {
        let m = &series.members[i];
        let mut c = server.connect(&m.name).await;
        c.enter(Command::Member {
            room: room.room_id.clone(),
            series: series.series_id.clone(),
            key: m.key.clone(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        people.push(c);
    }
    for guest in guests {
        let mut c = server.join(&room, guest).await;
        c.ok(Command::AcceptGroundRules).await;
        people.push(c);
    }
    fran.sync().await;
    fran.ok(Command::Start).await;
    (room, fran, people)
}

/// Pair everyone and move to coaching in pairs; the number of groups.
async fn pair(fran: &mut Client, people: &mut [Client], seed: u64) -> usize {
    fran.ok(Command::JumpToStage { index: 2 }).await;
    fran.ok(Command::ProposePairs { seed: Some(seed) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    for c in people.iter_mut() {
        c.catch_up(fran.seq).await;
    }
    fran.view.pairs.groups.len()
}

/// Run the session for `minutes`, then end it.
async fn end(server: &TestServer, fran: &mut Client, minutes: u64) {
    server.advance(Duration::from_millis(minutes * MINUTE));
    fran.ok(Command::EndSession).await;
}

fn commit(text: &str, visibility: Visibility) -> Command {
    Command::RecordCommitment {
        text: envelope::as_sent(text, visibility),
        due: Some("2027-02-01".into()),
        visibility,
    }
}

/// The id of the caller's own commitment with this text (from `my_items`).
async fn my_commitment(c: &mut Client, text: &str) -> String {
    let acked = c.ok(Command::MyItems).await;
    let Some(AckResult::Mine { mine }) = acked.result else {
        panic!("my items")
    };
    mine.commitments
        .iter()
        .find(|x| envelope::opened(&x.text).unwrap_or_else(|| x.text.clone()) == text)
        .unwrap_or_else(|| panic!("{text} among {}'s items", c.name))
        .id
        .clone()
}

async fn review(c: &mut Client, text: &str, outcome: Outcome) {
    let id = my_commitment(c, text).await;
    c.ok(Command::ReviewCommitment {
        commitment: id,
        outcome,
    })
    .await;
}

async fn post(server: &TestServer, path: &str, body: Value) -> String {
    let answer = server.http("POST", path, body.to_string().as_bytes()).await;
    assert_eq!(answer.status, 200, "{path} {body}: {}", answer.text);
    answer.text
}

/// The ISO 8601 form the exports use, written out by hand for the instants of this program.
fn iso(days: u64, minutes: u64) -> String {
    // EPOCH is 2027-01-15T08:00:00Z.
    let table = [
        ((0, 0), "2027-01-15T08:00:00.000Z"),
        ((0, 30), "2027-01-15T08:30:00.000Z"),
        ((10, 0), "2027-01-25T08:00:00.000Z"),
        ((30, 0), "2027-02-14T08:00:00.000Z"),
        ((60, 0), "2027-03-16T08:00:00.000Z"),
    ];
    table
        .iter()
        .find(|(k, _)| *k == (days, minutes))
        .map(|(_, v)| v.to_string())
        .expect("a known instant")
}

/// Whether `text` holds a member id such as `m1` or `"m12"` as a word.
fn has_member_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| {
        bytes[i] == b'm'
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
            && {
                let end = (i + 1..bytes.len())
                    .find(|&j| !bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                end == bytes.len() || !bytes[end].is_ascii_alphanumeric()
            }
    })
}

/// No CSV cell starts with a character a spreadsheet would run as a formula.
fn no_formula_cells(csv: &str) {
    for line in csv.lines() {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '@']),
                "a formula cell {cell:?} in {csv}"
            );
        }
    }
}

const ADA: &str = "=HYPERLINK(\"http://evil\") Ada calls three alumni";
const BEN: &str = "Ben drafts the budget";
const CHEN: &str = "Chen talks to her manager";
const DEE: &str = "Dee writes the grant";
const ELI: &str = "Eli runs a pilot";

#[tokio::test]
async fn every_figure_of_the_summaries_and_reports_matches_the_sessions_that_made_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("store"));
    let server = TestServer::start_with(store.clone(), Clock::manual(EPOCH), |s| {
        s.host_key = Some(KEY.into());
        // A program runs for months: keep its rooms for a year.
        s.retention = Duration::from_secs(365 * 24 * 3600);
    })
    .await;
    let names = ["Ada", "Ben", "Chen", "Dee", "Eli", "Fay", "=Gus", "Hal"];
    let a = series(&server, "Alumni A", &names).await;
    let b = series(&server, "Alumni B", &["Ivy", "Jon"]).await;
    assert_eq!(a.members[0].member_id, b.members[0].member_id, "ids shared");

    // A1: everyone but Hal, and a guest; four commitments of every visibility.
    let (a1, mut fran, mut p) = open(&server, &a, EPOCH, &[0, 1, 2, 3, 4, 5, 6], &["=Gil"]).await;
    let a1_pairs = pair(&mut fran, &mut p, 1).await;
    assert_eq!(a1_pairs, 4, "eight people, four pairs");
    p[0].ok(commit(ADA, Visibility::Exportable)).await;
    p[1].ok(commit(BEN, Visibility::Circle)).await;
    p[2].ok(commit(CHEN, Visibility::Private)).await;
    p[3].ok(commit(DEE, Visibility::Exportable)).await;
    end(&server, &mut fran, 30).await;
    let guest_pairs = fran
        .view
        .pairs
        .groups
        .iter()
        .filter(|g| {
            g.members
                .iter()
                .any(|&m| fran.participant(m).member.is_none())
        })
        .count();

    // B1: the other series' m1 and m2.
    let (_b1, mut fran_b, mut q) = open(&server, &b, EPOCH + 10 * DAY, &[0, 1], &[]).await;
    pair(&mut fran_b, &mut q, 2).await;
    end(&server, &mut fran_b, 15).await;

    // A2: Chen and Dee away. Ada and Ben say how last month went; Eli commits and reviews.
    let (a2, mut fran, mut p) = open(&server, &a, EPOCH + 30 * DAY, &[0, 1, 4, 5, 6, 7], &[]).await;
    let a2_pairs = pair(&mut fran, &mut p, 3).await;
    review(&mut p[0], ADA, Outcome::Kept).await;
    review(&mut p[1], BEN, Outcome::Partly).await;
    p[2].ok(commit(ELI, Visibility::Exportable)).await;
    review(&mut p[2], ELI, Outcome::Not).await;
    end(&server, &mut fran, 45).await;

    // A3: everyone; Chen's private one did not happen, Dee's changed.
    let (a3, mut fran, mut p) = open(
        &server,
        &a,
        EPOCH + 60 * DAY,
        &[0, 1, 2, 3, 4, 5, 6, 7],
        &[],
    )
    .await;
    review(&mut p[2], CHEN, Outcome::Not).await;
    review(&mut p[3], DEE, Outcome::Changed).await;
    end(&server, &mut fran, 20).await;

    // Each session's summary: dates, duration, members and guests, commitments and follow-ups.
    let summary = |room: &RoomCreated, extra: Value| {
        let mut body = json!({ "key": KEY });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let path = format!("/api/host/rooms/{}/export", room.room_id);
        let server = &server;
        async move { post(server, &path, body).await }
    };
    let s1: RoomSummary = serde_json::from_str(&summary(&a1, json!({})).await).expect("json");
    assert_eq!(s1.started_at, Some(EPOCH));
    assert_eq!(s1.started_at_iso.as_deref(), Some(iso(0, 0).as_str()));
    assert_eq!(s1.ended_at_iso.as_deref(), Some(iso(0, 30).as_str()));
    assert_eq!(s1.duration_ms, Some(30 * MINUTE));
    assert_eq!((s1.participants, s1.members, s1.guests), (8, 7, 1));
    assert_eq!(s1.series_id.as_deref(), Some(a.series_id.as_str()));
    assert_eq!(s1.commitment_counts.made, 4);
    assert_eq!(s1.commitment_counts.reviewed.total(), 0);
    let texts: Vec<&str> = s1.commitments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, [ADA, DEE], "only the exportable ones");
    assert!(s1.attendance.iter().all(|x| x.joined_at_iso == iso(0, 0)));
    assert!(s1.stages.iter().all(|st| st.started_at_iso.ends_with('Z')));

    let s2: RoomSummary = serde_json::from_str(&summary(&a2, json!({})).await).expect("json");
    assert_eq!(s2.started_at_iso.as_deref(), Some(iso(30, 0).as_str()));
    assert_eq!(s2.duration_ms, Some(45 * MINUTE));
    assert_eq!((s2.participants, s2.members, s2.guests), (6, 6, 0));
    assert_eq!(s2.commitment_counts.made, 1);
    let r = &s2.commitment_counts.reviewed;
    assert_eq!((r.kept, r.partly, r.not, r.changed), (1, 1, 1, 0));
    let f = &s2.follow_ups;
    assert_eq!((f.counts.kept, f.counts.partly, f.counts.not), (1, 1, 0));
    assert_eq!(
        f.reviewed.len(),
        1,
        "Ben's circle-only one is counted, not shown"
    );
    assert_eq!(
        (f.reviewed[0].author.as_str(), f.reviewed[0].text.as_str()),
        ("Ada", ADA)
    );
    assert_eq!(f.reviewed[0].outcome, Outcome::Kept);
    assert_eq!(f.reviewed[0].made_at_iso, iso(0, 0));

    let s3: RoomSummary = serde_json::from_str(&summary(&a3, json!({})).await).expect("json");
    assert_eq!(s3.duration_ms, Some(20 * MINUTE));
    let c = &s3.follow_ups.counts;
    assert_eq!((c.kept, c.partly, c.not, c.changed), (0, 0, 1, 1));
    let texts: Vec<&str> = s3
        .follow_ups
        .reviewed
        .iter()
        .map(|x| x.text.as_str())
        .collect();
    assert_eq!(texts, [DEE], "Chen's private one is counted, not shown");

    // The same in Markdown (readable dates in the export's language) and CSV (ISO dates).
    let md = summary(&a2, json!({ "format": "markdown" })).await;
    for line in [
        "- Date: 14 February 2027, 08:00 UTC",
        "- Duration: 45 min",
        "- Attendance: 6 (not counting facilitators)",
        "- Members: 6, guests: 0",
        "## Earlier commitments reviewed",
        "2 reviewed: 1 kept, 1 partly, 0 not, 0 changed.",
        &format!("- Ada: {ADA} (kept)"),
        "1 made in this session (all visibilities)",
    ] {
        assert!(md.contains(line), "{line:?} in {md}");
    }
    assert!(!md.contains(BEN), "{md}");
    let de = summary(&a2, json!({ "format": "markdown", "lang": "de" })).await;
    for line in [
        "- Datum: 14. Februar 2027, 08:00 UTC",
        "- Dauer: 45 min",
        "umgesetzt",
    ] {
        assert!(de.contains(line), "{line:?} in {de}");
    }
    let es = summary(&a1, json!({ "format": "markdown", "lang": "es" })).await;
    assert!(
        es.contains("- Fecha: 15 de enero de 2027, 08:00 UTC"),
        "{es}"
    );
    let csv = summary(&a1, json!({ "format": "csv", "table": "attendance" })).await;
    assert!(csv.contains(&format!(",{},", iso(0, 0))), "{csv}");
    assert!(
        !csv.contains(&EPOCH.to_string()),
        "no epoch ms in CSV: {csv}"
    );
    let session_csv = summary(&a2, json!({ "format": "csv", "table": "session" })).await;
    let row: Vec<&str> = session_csv
        .lines()
        .nth(1)
        .expect("a row")
        .split(',')
        .collect();
    assert_eq!(row[1], iso(30, 0), "{session_csv}");
    assert_eq!(
        &row[3..],
        ["2700000", "6", "6", "0", "1", "1", "1", "1", "0"]
    );
    let follow_csv = summary(&a2, json!({ "format": "csv", "table": "follow_ups" })).await;
    assert!(follow_csv.contains("'=HYPERLINK"), "{follow_csv}");
    for table in circlekeeper::export::CSV_TABLES {
        for room in [&a1, &a2, &a3] {
            no_formula_cells(&summary(room, json!({ "format": "csv", "table": table })).await);
        }
    }

    // The series report: per session, per member, and commitments where made and reviewed.
    let report_path = format!("/api/host/series/{}/report", a.series_id);
    let report_text = post(&server, &report_path, json!({ "key": KEY })).await;
    let report: SeriesReport = serde_json::from_str(&report_text).expect("report");
    let figures: Vec<(u32, u32, u32, u32, u32)> = report
        .sessions
        .iter()
        .map(|s| {
            (
                s.attendance,
                s.members,
                s.guests,
                s.commitments_made,
                s.reviewed.total(),
            )
        })
        .collect();
    assert_eq!(figures, [(7, 7, 1, 4, 0), (6, 6, 0, 1, 3), (8, 8, 0, 0, 2)]);
    let retention: Vec<f64> = report.sessions.iter().map(|s| s.retention).collect();
    assert_eq!(retention, [1.0, 5.0 / 7.0, 1.0]);
    let durations: Vec<Option<u64>> = report.sessions.iter().map(|s| s.duration_ms).collect();
    assert_eq!(
        durations,
        [Some(30 * MINUTE), Some(45 * MINUTE), Some(20 * MINUTE)]
    );
    let dates: Vec<Option<String>> = report
        .sessions
        .iter()
        .map(|s| s.started_at_iso.clone())
        .collect();
    assert_eq!(dates, [Some(iso(0, 0)), Some(iso(30, 0)), Some(iso(60, 0))]);
    let attended: Vec<(&str, u32)> = report
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.attended))
        .collect();
    assert_eq!(
        attended,
        [
            ("Ada", 3),
            ("Ben", 3),
            ("Chen", 2),
            ("Dee", 2),
            ("Eli", 3),
            ("Fay", 3),
            ("=Gus", 3),
            ("Hal", 2)
        ]
    );
    let c = &report.commitments;
    assert_eq!(
        (c.made, c.kept, c.partly, c.not, c.changed),
        (5, 1, 1, 2, 1)
    );
    let member_pairs: u32 = report
        .pairing_matrix
        .iter()
        .filter(|(x, y, _)| x != "Guest" && y != "Guest")
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(member_pairs as usize, a1_pairs - guest_pairs + a2_pairs);
    let md = post(
        &server,
        &report_path,
        json!({ "key": KEY, "format": "markdown" }),
    )
    .await;
    assert!(
        md.contains("5 made: 1 kept, 1 partly, 2 not, 1 changed."),
        "{md}"
    );
    assert!(
        md.contains("| 2 | 14 February 2027, 08:00 UTC | 45 min | 6 | 0 | 71 % |"),
        "{md}"
    );
    let csv = post(
        &server,
        &report_path,
        json!({ "key": KEY, "format": "csv" }),
    )
    .await;
    let row: Vec<&str> = csv.lines().nth(2).expect("session 2").split(',').collect();
    assert_eq!(row[2..4], ["6", "0.714"], "{csv}");
    assert_eq!(
        row[6..],
        [
            iso(30, 0).as_str(),
            "2700000",
            "6",
            "0",
            "1",
            "1",
            "1",
            "1",
            "0"
        ]
    );
    for table in ["sessions", "members", "pairs"] {
        let csv = post(
            &server,
            &report_path,
            json!({ "key": KEY, "format": "csv", "table": table }),
        )
        .await;
        no_formula_cells(&csv);
        if table != "sessions" {
            assert!(csv.contains("'=Gus"), "{csv}");
        }
    }

    // Pseudonyms: no name, no member id, stable within an export, not in member order.
    let mut hal_was_not_member_8 = false;
    for _ in 0..6 {
        let text = post(
            &server,
            &report_path,
            json!({ "key": KEY, "names": "pseudonymised" }),
        )
        .await;
        assert!(!has_member_id(&text), "a member id in {text}");
        for name in names {
            assert!(!text.contains(&format!("\"{name}\"")), "{name} in {text}");
        }
        let hidden: SeriesReport = serde_json::from_str(&text).expect("report");
        let listed: Vec<&str> = hidden.members.iter().map(|m| m.name.as_str()).collect();
        let sorted: Vec<String> = (1..=8).map(|i| format!("Member {i}")).collect();
        assert_eq!(
            listed,
            sorted.iter().map(String::as_str).collect::<Vec<_>>(),
            "listed by pseudonym"
        );
        for (x, y, _) in &hidden.pairing_matrix {
            assert!(x == "Guest" || listed.contains(&x.as_str()), "{x} stable");
            assert!(y == "Guest" || listed.contains(&y.as_str()), "{y} stable");
        }
        // Hal (the last member) is the only one who missed the first session only.
        let hal = hidden
            .members
            .iter()
            .find(|m| m.by_session == [false, true, true])
            .expect("Hal's row");
        hal_was_not_member_8 |= hal.name != "Member 8";
    }
    assert!(hal_was_not_member_8, "pseudonyms follow the member list");
    let md = post(
        &server,
        &report_path,
        json!({ "key": KEY, "names": "pseudonymised", "format": "markdown" }),
    )
    .await;
    assert!(!has_member_id(&md) && !md.contains("Ada"), "{md}");

    // The date range report: members told apart by series, the guest counted, commitments
    // counted where made and where reviewed.
    let range = |extra: Value| {
        let mut body = json!({ "key": KEY, "from": EPOCH, "to": EPOCH + 90 * DAY });
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let server = &server;
        async move { post(server, "/api/host/report", body).await }
    };
    let by_range: SeriesReport = serde_json::from_str(&range(json!({})).await).expect("range");
    assert_eq!(by_range.from_iso.as_deref(), Some(iso(0, 0).as_str()));
    assert!(by_range.title.contains(&iso(0, 0)), "{}", by_range.title);
    let figures: Vec<(u32, u32, u32)> = by_range
        .sessions
        .iter()
        .map(|s| (s.attendance, s.members, s.guests))
        .collect();
    assert_eq!(figures, [(8, 7, 1), (2, 2, 0), (6, 6, 0), (8, 8, 0)]);
    assert_eq!(
        by_range.members.len(),
        8 + 2 + 1,
        "45 people are not missing"
    );
    let find = |name: &str| {
        by_range
            .members
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(find("Ada").attended, 3, "Ada is not Ivy");
    assert_eq!(find("Ivy").attended, 1, "Ivy is not Ada");
    assert_eq!(find("Ivy").by_session, [false, true, false, false]);
    assert!(find("=Gil").guest);
    let c = &by_range.commitments;
    assert_eq!(
        (c.made, c.kept, c.partly, c.not, c.changed),
        (5, 1, 1, 2, 1)
    );
    let hidden = range(json!({ "names": "pseudonymised" })).await;
    assert!(!has_member_id(&hidden), "{hidden}");
    assert!(
        !hidden.contains("Ada") && !hidden.contains("Gil"),
        "{hidden}"
    );
    let hidden: SeriesReport = serde_json::from_str(&hidden).expect("range");
    assert_eq!(
        hidden
            .members
            .iter()
            .filter(|m| m.name.starts_with("Guest "))
            .count(),
        1
    );
    let md = range(json!({ "format": "markdown", "lang": "de" })).await;
    assert!(md.contains("14. Februar 2027, 08:00 UTC"), "{md}");
    for table in ["sessions", "members", "pairs"] {
        no_formula_cells(&range(json!({ "format": "csv", "table": table })).await);
    }

    // The offline command writes the same reports from the data directory.
    let http_series = report_text;
    let http_range = range(json!({})).await;
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
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_circlekeeper"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--log")
            .arg("off")
            .arg("export")
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
    let offline: SeriesReport =
        serde_json::from_str(&run(&["--series", &a.series_id])).expect("series json");
    let online: SeriesReport = serde_json::from_str(&http_series).expect("series json");
    assert_eq!(offline, online, "the same series report offline");
    let to = (EPOCH + 90 * DAY).to_string();
    let offline: SeriesReport =
        serde_json::from_str(&run(&["--from", "2027-01-15T08:00:00Z", "--to", &to]))
            .expect("range json");
    let online: SeriesReport = serde_json::from_str(&http_range).expect("range json");
    assert_eq!(
        offline, online,
        "the same range report offline, from an ISO date"
    );
    let md = run(&[
        "--series",
        &a.series_id,
        "--format",
        "markdown",
        "--lang",
        "es",
    ]);
    assert!(
        md.contains("| 2 | 14 de febrero de 2027, 08:00 UTC | 45 min |"),
        "{md}"
    );
    let csv = run(&[
        "--from",
        "2027-01-01",
        "--to",
        "2027-12-31",
        "--format",
        "csv",
        "--table",
        "members",
    ]);
    assert!(csv.contains("'=Gil"), "{csv}");
    let hidden = run(&["--series", &a.series_id, "--pseudonymise"]);
    assert!(
        !has_member_id(&hidden) && !hidden.contains("\"Ada\""),
        "{hidden}"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_circlekeeper"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["export", "--from", "yesterday", "--to", "2027-12-31"])
        .output()
        .expect("runs");
    assert!(!bad.status.success(), "a date that is not one is refused");
}

#[tokio::test]
async fn the_repeated_stages_of_an_action_learning_set_name_their_presenter() {
    let server = TestServer::start_with(
        Arc::new(SledStore::temporary().expect("store")),
        Clock::manual(EPOCH),
        |s| s.host_key = Some(KEY.into()),
    )
    .await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    for c in [&mut fran, &mut ada, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::SetPresenterOrder {
        order: vec![ben.you, ada.you],
    })
    .await;
    fran.ok(Command::Start).await;
    let plan = fran.view.plan.clone();
    for _ in 1..plan.len() {
        server.advance(Duration::from_millis(MINUTE));
        fran.ok(Command::NextStage).await;
    }
    fran.ok(Command::EndSession).await;
    let name = |id| if id == ada.you { "Ada" } else { "Ben" };
    let text = post(
        &server,
        &format!("/api/host/rooms/{}/export", room.room_id),
        json!({ "key": KEY }),
    )
    .await;
    let summary: RoomSummary = serde_json::from_str(&text).expect("json");
    assert_eq!(summary.stages.len(), plan.len());
    let mut presented = Vec::new();
    for st in &summary.stages {
        let expected = plan[st.index].presenter.map(name);
        assert_eq!(st.presenter.as_deref(), expected, "stage {}", st.index);
        if let Some(p) = expected {
            if presented.last() != Some(&p) {
                presented.push(p);
            }
        }
    }
    assert_eq!(
        presented,
        ["Ben", "Ada"],
        "each presenter's stages, in order"
    );
    assert_eq!((summary.participants, summary.guests), (2, 2));
    let csv = post(
        &server,
        &format!("/api/host/rooms/{}/export", room.room_id),
        json!({ "key": KEY, "format": "csv", "table": "stages" }),
    )
    .await;
    let with_ben = csv
        .lines()
        .filter(|l| l.split(',').nth(4) == Some("Ben"))
        .count();
    let planned_for_ben = plan.iter().filter(|p| p.presenter == Some(ben.you)).count();
    assert!(planned_for_ben > 1, "repeated stages");
    assert_eq!(with_ben, planned_for_ben, "{csv}");
    let hidden = post(
        &server,
        &format!("/api/host/rooms/{}/export", room.room_id),
        json!({ "key": KEY, "format": "markdown", "names": "pseudonymised" }),
    )
    .await;
    assert!(
        !hidden.contains("Ben") && hidden.contains(&format!("| Participant {} |", ben.you)),
        "{hidden}"
    );
}
