//! A series' calendar over real HTTP: members' planned sessions (the whole series' and a pair's
//! own) come back as an iCalendar feed that a strict parser in this file reads back (CRLF,
//! folding, BEGIN/END, required properties, UIDs, time zones), as one-event downloads, and the
//! feed key is a key of its own that can be replaced.

#[path = "common/binary.rs"]
mod binary;
mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use circlekeeper_protocol::SeriesCreated;
use common::{Remote, TestServer};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ----- a strict iCalendar reader ------------------------------------------------------------

/// One property: name, parameters, raw value.
#[derive(Debug, Clone)]
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

/// One component with its properties and sub-components.
#[derive(Debug, Clone, Default)]
struct Component {
    name: String,
    props: Vec<Prop>,
    children: Vec<Component>,
}

impl Component {
    fn all(&self, name: &str) -> Vec<&Prop> {
        self.props.iter().filter(|p| p.name == name).collect()
    }

    /// The one property `name` (it must occur exactly once).
    fn one(&self, name: &str) -> &Prop {
        let found = self.all(name);
        assert_eq!(
            found.len(),
            1,
            "{} must have one {name}: {found:?}",
            self.name
        );
        found[0]
    }

    fn value(&self, name: &str) -> &str {
        &self.one(name).value
    }

    fn param(&self, name: &str, param: &str) -> Option<&str> {
        self.one(name)
            .params
            .iter()
            .find(|(k, _)| k == param)
            .map(|(_, v)| v.as_str())
    }

    fn children(&self, name: &str) -> Vec<&Component> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

/// Parse iCalendar text strictly: CRLF only, lines of at most 75 octets, folding, names and
/// parameters well formed, BEGIN/END balanced, one VCALENDAR with VERSION and PRODID, every
/// VEVENT with its required properties, every TZID defined by a VTIMEZONE.
fn parse_ics(text: &str) -> Component {
    assert!(text.ends_with("\r\n"), "the text ends with CRLF");
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "a bare LF at octet {i}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "a bare CR at octet {i}");
        }
    }
    let physical: Vec<&str> = text[..text.len() - 2].split("\r\n").collect();
    let mut lines: Vec<String> = Vec::new();
    for line in physical {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        if let Some(rest) = line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')) {
            lines
                .last_mut()
                .expect("a continuation follows a line")
                .push_str(rest);
        } else {
            assert!(!line.is_empty(), "an empty line");
            lines.push(line.to_string());
        }
    }
    let mut stack: Vec<Component> = vec![Component::default()];
    for line in lines {
        let prop = parse_line(&line);
        match prop.name.as_str() {
            "BEGIN" => stack.push(Component {
                name: prop.value.clone(),
                ..Component::default()
            }),
            "END" => {
                let done = stack.pop().expect("an open component");
                assert_eq!(
                    done.name, prop.value,
                    "END:{} closes {}",
                    prop.value, done.name
                );
                stack
                    .last_mut()
                    .expect("END:VCALENDAR closes the last")
                    .children
                    .push(done);
            }
            _ => {
                assert!(stack.len() > 1, "a property outside any component: {line}");
                stack.last_mut().expect("open").props.push(prop);
            }
        }
    }
    assert_eq!(stack.len(), 1, "every BEGIN has its END");
    let root = stack.pop().expect("root");
    assert_eq!(root.children.len(), 1, "one VCALENDAR");
    let cal = root.children[0].clone();
    assert_eq!(cal.name, "VCALENDAR");
    assert_eq!(cal.value("VERSION"), "2.0");
    assert!(!cal.value("PRODID").is_empty());
    let zones: Vec<String> = cal
        .children("VTIMEZONE")
        .iter()
        .map(|z| z.value("TZID").to_string())
        .collect();
    for z in cal.children("VTIMEZONE") {
        let parts = z.children.len();
        assert!(parts >= 1, "a VTIMEZONE has a STANDARD or DAYLIGHT part");
        for part in &z.children {
            assert!(["STANDARD", "DAYLIGHT"].contains(&part.name.as_str()));
            for p in ["DTSTART", "TZOFFSETFROM", "TZOFFSETTO"] {
                part.one(p);
            }
        }
    }
    for e in cal.children("VEVENT") {
        for p in ["UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "URL"] {
            e.one(p);
        }
        assert!(e.value("DTSTAMP").ends_with('Z'), "DTSTAMP is UTC");
        for p in ["DTSTART", "DTEND"] {
            match e.param(p, "TZID") {
                Some(tz) => assert!(zones.iter().any(|z| z == tz), "TZID {tz} has a VTIMEZONE"),
                None => assert!(e.value(p).ends_with('Z'), "{p} without TZID is UTC"),
            }
        }
    }
    cal
}

/// `NAME;P=V;Q="V":value`, checked.
fn parse_line(line: &str) -> Prop {
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon.unwrap_or_else(|| panic!("no ':' in {line:?}"));
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next().expect("a name").to_string();
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
        "property name {name:?}"
    );
    let params = parts
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("param {p:?}"));
            (k.to_string(), v.trim_matches('"').to_string())
        })
        .collect();
    Prop {
        name,
        params,
        value: value.to_string(),
    }
}

/// A TEXT value unescaped; an unknown escape fails.
fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(c @ ('\\' | ';' | ',')) => out.push(c),
                other => panic!("bad escape \\{other:?} in {value:?}"),
            }
        } else {
            assert!(c != ',' && c != ';', "unescaped {c:?} in {value:?}");
            out.push(c);
        }
    }
    out
}

/// `20260326T180000` as seconds since the epoch, read as UTC.
fn local_seconds(v: &str) -> i64 {
    let v = v.trim_end_matches('Z');
    assert_eq!(v.len(), 15, "{v}");
    let n = |a: usize, b: usize| v[a..b].parse::<i64>().expect("digits");
    let (y, mo, d, h, mi, s) = (n(0, 4), n(4, 6), n(6, 8), n(9, 11), n(11, 13), n(13, 15));
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + mi * 60 + s
}

/// `+0100` as seconds.
fn offset_seconds(v: &str) -> i64 {
    let sign = if v.starts_with('-') { -1 } else { 1 };
    let n = |a: usize, b: usize| v[a..b].parse::<i64>().expect("digits");
    let secs = if v.len() == 7 { n(5, 7) } else { 0 };
    sign * (n(1, 3) * 3600 + n(3, 5) * 60 + secs)
}

/// The UTC instant (epoch seconds) of an event's `DTSTART` or `DTEND`, through the calendar's
/// VTIMEZONE: the offset is the one of the last observance that began before it.
fn instant(cal: &Component, event: &Component, prop: &str) -> i64 {
    let value = event.value(prop);
    let Some(tzid) = event.param(prop, "TZID") else {
        assert!(value.ends_with('Z'));
        return local_seconds(value);
    };
    let zone = cal
        .children("VTIMEZONE")
        .into_iter()
        .find(|z| z.value("TZID") == tzid)
        .expect("its VTIMEZONE");
    let local = local_seconds(value);
    let mut best: Option<(i64, i64)> = None;
    for part in &zone.children {
        let from = offset_seconds(part.value("TZOFFSETFROM"));
        let to = offset_seconds(part.value("TZOFFSETTO"));
        let onset = local_seconds(part.value("DTSTART")) - from;
        let at = local - to;
        if onset <= at && best.is_none_or(|(o, _)| onset > o) {
            best = Some((onset, to));
        }
    }
    let (_, offset) = best.unwrap_or_else(|| panic!("no observance of {tzid} covers {value}"));
    local - offset
}

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
