//! A series' calendar over real HTTP: members' planned sessions (the whole series' and a pair's
//! own) come back as an iCalendar feed that a strict parser (`calendar/ics.rs`) reads back (CRLF,
//! folding, BEGIN/END, required properties, UIDs, time zones), as one-event downloads, and the
//! feed key is a key of its own that can be replaced.

#[path = "common/binary.rs"]
mod binary;
mod common;
#[path = "calendar/ics.rs"]
mod ics;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use circlekeeper_protocol::SeriesCreated;
use common::{Remote, TestServer};
use ics::{instant, local_seconds, parse_ics, unescape, Component};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ----- HTTP -----------------------------------------------------------------------------------

/// A GET answer: status, headers (lower-case names), raw body.
struct Got {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Got {
    fn code(&self) -> String {
        serde_json::from_str::<Value>(&self.body).map_or(String::new(), |v| {
            v["code"].as_str().unwrap_or_default().to_string()
        })
    }
}

/// A raw `GET`, so the test sees the bytes and headers as a calendar app would.
async fn get(addr: SocketAddr, path: &str) -> Got {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("an answer in time");
    let text = String::from_utf8(raw).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<HashMap<_, _>>();
    assert!(
        !headers.contains_key("transfer-encoding"),
        "the test reads a body with a length"
    );
    Got {
        status,
        headers,
        body: body.to_string(),
    }
}

async fn post(server: &Remote, path: &str, body: Value) -> common::HttpResponse {
    server.http("POST", path, body.to_string().as_bytes()).await
}

/// A series in Berlin of Ada, Ben and Chen, sessions at 18:00 for 90 minutes.
async fn berlin_series(server: &Remote, title: &str) -> SeriesCreated {
    let answer = post(
        server,
        "/api/series",
        json!({ "title": title, "cadence": "monthly", "cycle_months": 6,
                "members": ["Ada", "Ben", "Chen"], "time_zone": "Europe/Berlin",
                "start_time": "18:00", "minutes": 90 }),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    serde_json::from_value(answer.json).expect("a series")
}

/// `POST /me` for member `i` with more fields.
async fn me(server: &Remote, s: &SeriesCreated, i: usize, extra: Value) -> common::HttpResponse {
    let mut body = json!({ "key": s.members[i].key });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    post(server, &format!("/api/series/{}/me", s.series_id), body).await
}

/// Member `i`'s feed address (its path on the server) and key.
async fn feed(server: &Remote, s: &SeriesCreated, i: usize, rotate: bool) -> (String, String) {
    let answer = post(
        server,
        &format!("/api/series/{}/calendar/feed", s.series_id),
        json!({ "key": s.members[i].key, "rotate": rotate }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let url = answer.json["url"].as_str().expect("url").to_string();
    let key = answer.json["feed_key"].as_str().expect("key").to_string();
    assert!(
        !url.contains(&s.members[i].key),
        "the feed address has no member key"
    );
    assert_eq!(
        answer.json["webcal_url"].as_str(),
        Some(url.replacen("http://", "webcal://", 1).as_str())
    );
    let path = url
        .strip_prefix(&server.url())
        .expect("on this server")
        .to_string();
    (path, key)
}

/// Fetch a feed and read it.
async fn fetch(server: &Remote, path: &str) -> Component {
    let got = get(server.addr, path).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(
        got.headers.get("content-type").map(String::as_str),
        Some("text/calendar; charset=utf-8")
    );
    parse_ics(&got.body)
}

fn uids(cal: &Component) -> Vec<String> {
    cal.children("VEVENT")
        .iter()
        .map(|e| e.value("UID").to_string())
        .collect()
}

fn event_on<'a>(cal: &'a Component, day: &str) -> &'a Component {
    cal.children("VEVENT")
        .into_iter()
        .find(|e| e.value("DTSTART").starts_with(day))
        .unwrap_or_else(|| panic!("an event on {day}"))
}

// ----- tests ----------------------------------------------------------------------------------

#[tokio::test]
async fn the_feed_is_strict_icalendar_with_berlin_times_and_uids_that_survive_edits() {
    let server = TestServer::start().await;
    let title = "Alumni swap, Berlin; a \\ title long enough that its SUMMARY line must fold";
    let s = berlin_series(&server, title).await;
    // Across the change to summer time (29 March 2026): an object and a bare date.
    let set = me(
        &server,
        &s,
        0,
        json!({ "planned": [{ "date": "2026-03-26", "time": "18:00", "minutes": 90 }, "2026-04-02"] }),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["planned"], json!(["2026-03-26", "2026-04-02"]));
    assert_eq!(set.json["time_zone"], "Europe/Berlin");
    let sessions = set.json["planned_sessions"]
        .as_array()
        .expect("sessions")
        .clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1]["time"], "18:00");
    assert_eq!(sessions[1]["minutes"], 90);

    let (path, _) = feed(&server, &s, 1, false).await;
    let cal = fetch(&server, &path).await;
    assert_eq!(cal.children("VEVENT").len(), 2);
    let zone = cal.children("VTIMEZONE");
    assert_eq!(zone.len(), 1);
    assert_eq!(zone[0].value("TZID"), "Europe/Berlin");
    let march = event_on(&cal, "20260326");
    assert_eq!(march.param("DTSTART", "TZID"), Some("Europe/Berlin"));
    assert_eq!(march.value("DTSTART"), "20260326T180000");
    assert_eq!(march.value("DTEND"), "20260326T193000");
    // 18:00 in Berlin is 17:00 UTC before the change and 16:00 UTC after it.
    assert_eq!(
        instant(&cal, march, "DTSTART"),
        local_seconds("20260326T170000")
    );
    assert_eq!(
        instant(&cal, march, "DTEND"),
        local_seconds("20260326T183000")
    );
    let april = event_on(&cal, "20260402");
    assert_eq!(
        instant(&cal, april, "DTSTART"),
        local_seconds("20260402T160000")
    );
    assert_eq!(unescape(march.value("SUMMARY")), title);
    assert_eq!(
        march.value("URL"),
        format!("{}/s/{}", server.url(), s.series_id)
    );
    let first = uids(&cal);
    assert_eq!(
        first.iter().collect::<std::collections::HashSet<_>>().len(),
        2
    );
    assert_eq!(first[0], sessions[0]["uid"]);

    // Fetched again: the same text, so the same UIDs.
    let again = get(server.addr, &path).await;
    assert_eq!(uids(&parse_ics(&again.body)), first);

    // Moved by id to 19:30 the next day: same UID, one more SEQUENCE.
    let id = sessions[0]["id"].as_str().expect("id");
    let moved = me(
        &server,
        &s,
        2,
        json!({ "planned": [{ "id": id, "date": "2026-03-27", "time": "19:30" }, "2026-04-02"] }),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let cal = fetch(&server, &path).await;
    assert_eq!(uids(&cal), first);
    let friday = event_on(&cal, "20260327");
    assert_eq!(friday.value("UID"), first[0]);
    assert_eq!(friday.value("SEQUENCE"), "1");
    assert_eq!(friday.value("DTEND"), "20260327T210000");
    // Sent again as bare dates by an old client: the dates keep their UIDs (times go back to
    // the series' default).
    let old = me(
        &server,
        &s,
        0,
        json!({ "planned": ["2026-03-27", "2026-04-02"] }),
    )
    .await;
    assert_eq!(old.status, 200, "{}", old.text);
    assert_eq!(uids(&fetch(&server, &path).await), first);
}

#[tokio::test]
async fn a_pairs_sessions_reach_both_partners_and_no_one_else() {
    let server = TestServer::start().await;
    let s = berlin_series(&server, "Pairs").await;
    let ben = s.members[1].member_id.clone();
    let set = me(
        &server,
        &s,
        0,
        json!({ "pair": { "with": [ben], "planned": [{ "date": "2026-05-05", "time": "07:30", "minutes": 45 }] } }),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.json["planned"],
        json!([]),
        "the series' own list is untouched"
    );
    let mine = &set.json["planned_sessions"];
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(mine[0]["with"], json!(["m1", "m2"]));
    let uid = mine[0]["uid"].as_str().expect("uid").to_string();

    let ben_page = me(&server, &s, 1, json!({})).await;
    assert_eq!(ben_page.json["planned_sessions"][0]["uid"], uid.as_str());
    let chen_page = me(&server, &s, 2, json!({})).await;
    assert_eq!(chen_page.json["planned_sessions"], json!([]));

    for i in [0, 1] {
        let (path, _) = feed(&server, &s, i, false).await;
        let cal = fetch(&server, &path).await;
        assert_eq!(uids(&cal), vec![uid.clone()], "member {i}");
        let e = event_on(&cal, "20260505");
        assert_eq!(e.value("DTSTART"), "20260505T073000");
        assert_eq!(e.value("DTEND"), "20260505T081500");
        assert_eq!(unescape(e.value("SUMMARY")), "Pairs: Ada & Ben");
    }
    let (chen, _) = feed(&server, &s, 2, false).await;
    assert!(fetch(&server, &chen).await.children("VEVENT").is_empty());

    // Ben replaces the pair's sessions: the same date keeps its UID in Ada's feed.
    let ada = me(&server, &s, 0, json!({})).await;
    assert_eq!(ada.json["planned_sessions"][0]["uid"], uid.as_str());
    let cleared = me(
        &server,
        &s,
        1,
        json!({ "pair": { "with": ["m1"], "planned": [] } }),
    )
    .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    let (path, _) = feed(&server, &s, 0, false).await;
    assert!(fetch(&server, &path).await.children("VEVENT").is_empty());
}

#[tokio::test]
async fn wrong_and_replaced_feed_keys_are_refused() {
    let server = TestServer::start().await;
    let s = berlin_series(&server, "Keys").await;
    // The member's page carries the address (made there the first time), which serves.
    let page = me(&server, &s, 0, json!({})).await;
    let link = page.json["calendar_feed"].clone();
    let key = link["feed_key"].as_str().expect("a feed key").to_string();
    let path = link["url"]
        .as_str()
        .and_then(|u| u.strip_prefix(&server.url()))
        .expect("an address on this server")
        .to_string();
    assert!(link["webcal_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("webcal://")));
    assert!(!path.contains(&s.members[0].key), "no member key in it");
    assert_eq!(
        feed(&server, &s, 0, false).await,
        (path.clone(), key.clone())
    );
    assert_eq!(
        feed(&server, &s, 0, false).await.1,
        key,
        "the address stays"
    );
    assert_eq!(get(server.addr, &path).await.status, 200);

    let wrong = get(
        server.addr,
        &format!("/api/series/{}/calendar/not-a-key.ics", s.series_id),
    )
    .await;
    assert_eq!((wrong.status, wrong.code().as_str()), (403, "invalid_key"));
    // The member key does not open the feed.
    let member = get(
        server.addr,
        &format!(
            "/api/series/{}/calendar/{}.ics",
            s.series_id, s.members[0].key
        ),
    )
    .await;
    assert_eq!(
        (member.status, member.code().as_str()),
        (403, "invalid_key")
    );
    let elsewhere = get(server.addr, &format!("/api/series/nope/calendar/{key}.ics")).await;
    assert_eq!(
        (elsewhere.status, elsewhere.code().as_str()),
        (404, "room_not_found")
    );

    let (rotated, new_key) = feed(&server, &s, 0, true).await;
    assert_ne!(new_key, key);
    let old = get(server.addr, &path).await;
    assert_eq!((old.status, old.code().as_str()), (403, "invalid_key"));
    assert_eq!(get(server.addr, &rotated).await.status, 200);
    let page = me(&server, &s, 0, json!({})).await;
    assert_eq!(page.json["calendar_feed"]["feed_key"], new_key.as_str());

    let stranger = post(
        &server,
        &format!("/api/series/{}/calendar/feed", s.series_id),
        json!({ "key": "not-a-member" }),
    )
    .await;
    assert_eq!(
        (stranger.status, stranger.json["code"].as_str()),
        (403, Some("invalid_key"))
    );
}

#[tokio::test]
async fn one_session_downloads_as_a_one_event_file() {
    let server = TestServer::start().await;
    let s = berlin_series(&server, "Downloads").await;
    let set = me(
        &server,
        &s,
        0,
        json!({ "planned": ["2026-06-10", "2026-07-08"] }),
    )
    .await;
    let second = set.json["planned_sessions"][1].clone();
    let pair = me(
        &server,
        &s,
        0,
        json!({ "pair": { "with": ["m2"], "planned": ["2026-06-20"] } }),
    )
    .await;
    let pair_id = pair.json["planned_sessions"][1]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (path, key) = feed(&server, &s, 0, false).await;
    let feed_uids = uids(&fetch(&server, &path).await);

    let one_path = format!(
        "/api/series/{}/calendar/{key}/{}.ics",
        s.series_id,
        second["id"].as_str().expect("id")
    );
    let one = get(server.addr, &one_path).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(one.headers["content-disposition"].starts_with("attachment;"));
    let cal = parse_ics(&one.body);
    let events = cal.children("VEVENT");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].value("UID"), second["uid"]);
    assert!(feed_uids.contains(&events[0].value("UID").to_string()));
    assert_eq!(events[0].value("DTSTART"), "20260708T180000");

    // Chen's feed key does not download Ada and Ben's own session.
    let (_, chen) = feed(&server, &s, 2, false).await;
    let theirs = get(
        server.addr,
        &format!("/api/series/{}/calendar/{chen}/{pair_id}.ics", s.series_id),
    )
    .await;
    assert_eq!(
        (theirs.status, theirs.code().as_str()),
        (404, "room_not_found")
    );
    let unknown = get(
        server.addr,
        &format!("/api/series/{}/calendar/{key}/p999.ics", s.series_id),
    )
    .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn bad_zones_dates_times_and_too_many_are_refused_with_codes() {
    let server = TestServer::start().await;
    let bad_zone = post(
        &server,
        "/api/series",
        json!({ "title": "T", "cadence": "monthly", "cycle_months": 6,
                "members": ["Ada", "Ben"], "time_zone": "Mars/Olympus_Mons" }),
    )
    .await;
    assert_eq!(
        (bad_zone.status, bad_zone.json["code"].as_str()),
        (400, Some("invalid_message"))
    );
    assert!(bad_zone.text.contains("time_zone"), "{}", bad_zone.text);
    let s = berlin_series(&server, "Checks").await;
    let planned_before = me(&server, &s, 0, json!({ "planned": ["2026-03-26"] })).await;
    assert_eq!(planned_before.status, 200);

    let cases = [
        (json!({ "planned": ["2026-02-30"] }), 400, "invalid_message"),
        (json!({ "planned": ["next week"] }), 400, "invalid_message"),
        (
            json!({ "planned": [{ "date": "2026-03-01", "time": "25:00" }] }),
            400,
            "invalid_message",
        ),
        (
            json!({ "planned": [{ "date": "2026-03-01", "minutes": 1000 }] }),
            400,
            "invalid_message",
        ),
        (
            json!({ "planned": [{ "date": "2026-03-01", "colour": "red" }] }),
            400,
            "invalid_message",
        ),
        (
            json!({ "pair": { "with": ["m1"], "planned": [] } }),
            400,
            "invalid_message",
        ),
        (
            json!({ "pair": { "with": ["m9"], "planned": [] } }),
            400,
            "invalid_message",
        ),
        (
            json!({ "pair": { "with": [], "planned": [] } }),
            400,
            "invalid_message",
        ),
    ];
    for (body, status, code) in cases {
        let answer = me(&server, &s, 0, body.clone()).await;
        assert_eq!(
            (answer.status, answer.json["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            answer.text
        );
    }
    let many: Vec<String> = (1..=25).map(|d| format!("2026-01-{d:02}")).collect();
    let too_many = me(&server, &s, 0, json!({ "planned": many })).await;
    assert_eq!(
        (too_many.status, too_many.json["code"].as_str()),
        (409, Some("too_many_items"))
    );
    // Nothing of a refused request was kept.
    let page = me(&server, &s, 0, json!({})).await;
    assert_eq!(page.json["planned"], json!(["2026-03-26"]));

    // The host's settings: the host key only, and checked.
    let path = format!("/api/series/{}/calendar", s.series_id);
    let not_host = post(
        &server,
        &path,
        json!({ "key": s.members[0].key, "time_zone": "UTC" }),
    )
    .await;
    assert_eq!(
        (not_host.status, not_host.json["code"].as_str()),
        (403, Some("invalid_key"))
    );
    let bad = post(
        &server,
        &path,
        json!({ "key": s.host_key, "start_time": "6pm" }),
    )
    .await;
    assert_eq!(
        (bad.status, bad.json["code"].as_str()),
        (400, Some("invalid_message"))
    );
    let ok = post(
        &server,
        &path,
        json!({ "key": s.host_key, "time_zone": "America/New_York", "minutes": 60 }),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        ok.json,
        json!({ "time_zone": "America/New_York", "start_time": "18:00", "minutes": 60 })
    );
    let (feed_path, _) = feed(&server, &s, 0, false).await;
    let cal = fetch(&server, &feed_path).await;
    let e = event_on(&cal, "20260326");
    assert_eq!(e.param("DTSTART", "TZID"), Some("America/New_York"));
    // 18:00 on 26 March 2026 in New York (summer time, -4) is 22:00 UTC.
    assert_eq!(
        instant(&cal, e, "DTSTART"),
        local_seconds("20260326T220000")
    );
}

#[tokio::test]
async fn neither_the_feed_key_nor_the_member_key_reaches_the_log() {
    // Everything circlekeeper logs, at its most detailed level.
    std::env::set_var("CIRCLEKEEPER_TEST_LOG", "info,circlekeeper=trace");
    let dir = tempfile::tempdir().expect("a data directory");
    let server = binary::Binary::start(dir.path());
    let remote = server.remote();
    let s = berlin_series(&remote, "Logged").await;
    let set = me(&remote, &s, 0, json!({ "planned": ["2026-03-26"] })).await;
    assert_eq!(set.status, 200, "{}", set.text);
    let (path, key) = feed(&remote, &s, 0, false).await;
    let id = set.json["planned_sessions"][0]["id"].as_str().expect("id");
    assert_eq!(fetch(&remote, &path).await.children("VEVENT").len(), 1);
    let one = get(
        remote.addr,
        &format!("/api/series/{}/calendar/{key}/{id}.ics", s.series_id),
    )
    .await;
    assert_eq!(one.status, 200);
    let (rotated, new_key) = feed(&remote, &s, 0, true).await;
    assert_eq!(get(remote.addr, &path).await.status, 403);
    assert_eq!(get(remote.addr, &rotated).await.status, 200);
    let log = server.output_text();
    assert!(log.contains("series opened"), "the log is read: {log}");
    for secret in [&key, &new_key, &s.members[0].key] {
        assert!(!log.contains(secret.as_str()), "a key in the log:\n{log}");
    }
}
