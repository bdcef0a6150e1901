//! Call links over real websockets and HTTP: the room's link everyone sees (set when the room
//! opens or later, kept across a resume), each group's own link from a template or a pasted
//! list, a series' defaults copied into the rooms opened for it, and bad links refused with
//! `invalid_url` while the room carries on. The links stay inside the room: neither the
//! preview nor an export carries them.

mod common;

use circlekeeper_protocol::{Command, ErrorCode, Event, GroupState, RoomCreated};
use common::{Client, TestServer};
use serde_json::{json, Value};

const ROOM_CALL: &str = "https://meet.example.org/tuesday-circle";
const TEMPLATE: &str = "https://meet.example.org/{room}-g{group}-s{session}";

/// A coaching swap opened with these `options`, its facilitator Fran and four people who
/// accepted the ground rules, the session started and in its pairing stage.
async fn swap_at_pairing(
    server: &TestServer,
    options: Value,
) -> (RoomCreated, Client, Vec<Client>) {
    let room = server
        .create_room(json!({"title": "Swap", "format": "coaching_swap", "options": options}))
        .await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Chen", "Dee"] {
        let mut p = server.join(&room, name).await;
        p.ok(Command::AcceptGroundRules).await;
        people.push(p);
    }
    fran.ok(Command::Start).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    (room, fran, people)
}

/// Propose and confirm pairs, move on to the pairs stage, and bring everyone up to date.
async fn confirm_and_start_pairs(fran: &mut Client, people: &mut [Client]) {
    fran.ok(Command::ProposePairs { seed: Some(3) }).await;
    fran.ok(Command::ConfirmPairs).await;
    fran.ok(Command::NextStage).await;
    for p in people.iter_mut() {
        p.catch_up(fran.seq).await;
    }
}

/// The group `who` is in, as they see it.
fn my_group(who: &Client) -> GroupState {
    who.view
        .pairs
        .groups
        .iter()
        .find(|g| g.members.contains(&who.you))
        .cloned()
        .unwrap_or_else(|| panic!("{} is in no group", who.name))
}

fn set_links(call_url: Option<&str>, template: Option<&str>, urls: &[&str]) -> Command {
    Command::SetCallLinks {
        call_url: call_url.map(str::to_string),
        group_call_template: template.map(str::to_string),
        group_call_urls: urls.iter().map(|u| u.to_string()).collect(),
    }
}

#[tokio::test]
async fn the_room_call_link_is_shown_to_everyone_when_set_and_after_a_resume() {
    let server = TestServer::start().await;
    let room = server
        .create_room(json!({"title": "Circle", "format": "coaching_circle",
            "options": {"call_url": format!("  {ROOM_CALL}  ")}}))
        .await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    for c in [&fran, &ada] {
        assert_eq!(
            c.view.call_url.as_deref(),
            Some(ROOM_CALL),
            "{} sees the room's link, trimmed",
            c.name
        );
    }

    let moved = "https://video.example.com/j/8812?pwd=abc";
    fran.ok(set_links(Some(moved), None, &[])).await;
    let event = ada
        .expect_event(|e| matches!(e, Event::CallLinksChanged { .. }))
        .await;
    assert_eq!(
        event,
        Event::CallLinksChanged {
            call_url: Some(moved.into()),
            group_call_template: None,
            group_call_urls: Vec::new(),
            groups: Vec::new(),
        }
    );
    assert_eq!(ada.view.call_url.as_deref(), Some(moved));

    // Ada comes back on a new connection: her welcome carries the link as it is now.
    let token = ada.token.clone();
    ada.close().await;
    let back = server.resume("Ada", &room.room_id, &token).await;
    assert_eq!(back.view.call_url.as_deref(), Some(moved));

    // Clearing it: the field is left out of the view again.
    fran.ok(set_links(None, None, &[])).await;
    let late = server.join(&room, "Ben").await;
    assert_eq!(late.view.call_url, None);
    let welcome = late
        .frames
        .iter()
        .find(|f| f["type"] == "welcome")
        .expect("a welcome");
    assert!(welcome["room"].get("call_url").is_none(), "{welcome}");
}

#[tokio::test]
async fn a_template_gives_each_group_its_own_link_when_pairs_are_confirmed() {
    let server = TestServer::start().await;
    let (room, mut fran, mut people) =
        swap_at_pairing(&server, json!({"group_call_template": TEMPLATE})).await;
    fran.ok(Command::ProposePairs { seed: Some(3) }).await;
    assert!(
        fran.view.pairs.groups.is_empty(),
        "a proposal has no groups yet"
    );
    confirm_and_start_pairs(&mut fran, &mut people).await;
    let groups = fran.view.pairs.groups.clone();
    assert_eq!(groups.len(), 2);
    for g in &groups {
        let expected = format!("https://meet.example.org/{}-g{}-s1", room.room_id, g.id);
        assert_eq!(
            g.call_url.as_deref(),
            Some(expected.as_str()),
            "group {}",
            g.id
        );
    }
    for p in &people {
        let mine = my_group(p);
        let same = groups.iter().find(|g| g.id == mine.id).expect("the group");
        assert_eq!(
            mine.call_url, same.call_url,
            "{} sees their group's link",
            p.name
        );
    }
}

#[tokio::test]
async fn a_pasted_list_is_given_out_in_group_order_and_a_group_past_its_end_gets_none() {
    let server = TestServer::start().await;
    let (_room, mut fran, mut people) = swap_at_pairing(&server, json!({})).await;
    let first = "https://meet.example.org/first";
    fran.ok(set_links(None, None, &[first])).await;
    confirm_and_start_pairs(&mut fran, &mut people).await;
    let links: Vec<(u32, Option<String>)> = fran
        .view
        .pairs
        .groups
        .iter()
        .map(|g| (g.id, g.call_url.clone()))
        .collect();
    assert_eq!(links, [(1, Some(first.to_string())), (2, None)]);

    // A longer list pasted while the groups are at work reaches every group at once; a
    // template fills in after the end of the list.
    let second = "https://meet.example.org/second";
    fran.ok(set_links(Some(ROOM_CALL), Some(TEMPLATE), &[second]))
        .await;
    for p in people.iter_mut() {
        p.catch_up(fran.seq).await;
        let mine = my_group(p);
        let expected = match mine.id {
            1 => second.to_string(),
            n => format!("https://meet.example.org/{}-g{n}-s1", p.room_id),
        };
        assert_eq!(mine.call_url, Some(expected), "{}", p.name);
        assert_eq!(p.view.call_url.as_deref(), Some(ROOM_CALL));
        assert_eq!(p.view.group_call_urls, [second]);
    }
}

#[tokio::test]
async fn a_series_default_is_copied_into_each_room_opened_for_it() {
    let server = TestServer::start().await;
    let series_template = "https://meet.example.org/alumni-s{session}-g{group}";
    let body = json!({"title": "Alumni", "cadence": "monthly", "cycle_months": 3,
        "members": ["Ada", "Ben"], "call_url": ROOM_CALL, "group_call_template": series_template});
    let created = server
        .http("POST", "/api/series", body.to_string().as_bytes())
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let series_id = created.json["series_id"]
        .as_str()
        .expect("an id")
        .to_string();
    let host_key = created.json["host_key"]
        .as_str()
        .expect("a key")
        .to_string();
    let open = || async {
        let opened = server
            .http(
                "POST",
                &format!("/api/series/{series_id}/rooms"),
                json!({"key": host_key}).to_string().as_bytes(),
            )
            .await;
        assert_eq!(opened.status, 201, "{}", opened.text);
        serde_json::from_value::<RoomCreated>(opened.json).expect("a room")
    };
    let first = open().await;
    let mut fran = server.host(&first, "Fran").await;
    assert_eq!(fran.view.call_url.as_deref(), Some(ROOM_CALL));
    assert_eq!(
        fran.view.group_call_template.as_deref(),
        Some(series_template)
    );

    // The host changes the defaults: the next room gets the new ones, the open one keeps its own.
    let other = "https://meet.example.org/alumni-2";
    let listed = "https://meet.example.org/alumni-pair-1";
    let changed = server
        .http(
            "POST",
            &format!("/api/series/{series_id}/calls"),
            json!({"key": host_key, "call_url": other, "group_call_template": series_template,
                "group_call_urls": [listed]})
            .to_string()
            .as_bytes(),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        changed.json,
        json!({"call_url": other, "group_call_template": series_template, "group_call_urls": [listed]})
    );
    let second = open().await;
    let mut gil = server.host(&second, "Gil").await;
    assert_eq!(gil.view.call_url.as_deref(), Some(other));
    assert_eq!(gil.view.group_call_urls, [listed]);
    fran.sync().await;
    assert_eq!(fran.view.call_url.as_deref(), Some(ROOM_CALL));

    // In the second session the members' pair gets the listed link; with the list cleared by
    // the room's facilitator, the template's, numbered for session 2.
    let mut members = Vec::new();
    for m in created.json["members"].as_array().expect("members") {
        let mut c = server.connect(m["name"].as_str().expect("a name")).await;
        c.enter(Command::Member {
            room: second.room_id.clone(),
            series: series_id.clone(),
            key: m["key"].as_str().expect("a key").into(),
        })
        .await;
        c.ok(Command::AcceptGroundRules).await;
        members.push(c);
    }
    gil.ok(Command::AcceptGroundRules).await;
    gil.ok(Command::Start).await;
    gil.ok(Command::JumpToStage { index: 2 }).await;
    confirm_and_start_pairs(&mut gil, &mut members).await;
    assert_eq!(my_group(&members[0]).call_url.as_deref(), Some(listed));
    gil.ok(set_links(Some(other), Some(series_template), &[]))
        .await;
    members[1].catch_up(gil.seq).await;
    assert_eq!(
        my_group(&members[1]).call_url.as_deref(),
        Some("https://meet.example.org/alumni-s2-g1")
    );
}

#[tokio::test]
async fn bad_links_are_refused_with_invalid_url_and_the_room_carries_on() {
    let server = TestServer::start().await;
    let (room, mut fran, mut people) =
        swap_at_pairing(&server, json!({"call_url": ROOM_CALL})).await;
    let too_many: Vec<String> = (0..33)
        .map(|i| format!("https://meet.example.org/{i}"))
        .collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let long = format!("https://meet.example.org/{}", "a".repeat(480));
    let before = fran.seq;
    for (what, bad) in [
        (
            "javascript",
            set_links(Some("javascript:alert(1)"), None, &[]),
        ),
        (
            "plain http",
            set_links(Some("http://meet.example.org/x"), None, &[]),
        ),
        (
            "a space",
            set_links(Some("https://meet.example.org/a b"), None, &[]),
        ),
        (
            "a quote",
            set_links(Some("https://meet.example.org/\"x"), None, &[]),
        ),
        ("too long", set_links(Some(&long), None, &[])),
        (
            "unknown placeholder",
            set_links(None, Some("https://m.example.org/{team}"), &[]),
        ),
        (
            "bad list item",
            set_links(None, None, &[ROOM_CALL, "data:text/html,x"]),
        ),
        ("too many", set_links(None, None, &too_many)),
    ] {
        assert_eq!(fran.refused(bad).await, ErrorCode::InvalidUrl, "{what}");
    }
    assert_eq!(
        people[0].refused(set_links(None, None, &[])).await,
        ErrorCode::Forbidden,
        "only a facilitator sets call links"
    );
    fran.sync().await;
    assert_eq!(fran.seq, before, "nothing changed");
    assert_eq!(fran.view.call_url.as_deref(), Some(ROOM_CALL));

    // The room carries on: a good link is taken, pairs are made and see it.
    let good = "http://localhost:8080/call";
    fran.ok(set_links(Some(good), Some(TEMPLATE), &[])).await;
    confirm_and_start_pairs(&mut fran, &mut people).await;
    assert!(people.iter().all(|p| my_group(p).call_url.is_some()));
    assert!(people
        .iter()
        .all(|p| p.view.call_url.as_deref() == Some(good)));

    // Over HTTP: a room, a series and a series' defaults refuse the same with 400 invalid_url.
    let refused_room = server
        .create_room_raw(
            &json!({"title": "T", "format": "coaching_swap",
                "options": {"group_call_template": "https://m.example.org/{groups}"}})
            .to_string(),
        )
        .await;
    assert_eq!(refused_room.status, 400, "{}", refused_room.text);
    assert_eq!(refused_room.json["code"], "invalid_url");
    assert!(
        refused_room.json["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("options.group_call_template")),
        "{}",
        refused_room.text
    );
    let series = json!({"title": "S", "cadence": "monthly", "cycle_months": 3,
        "members": ["Ada", "Ben"], "group_call_urls": ["javascript:alert(1)"]});
    let refused_series = server
        .http("POST", "/api/series", series.to_string().as_bytes())
        .await;
    assert_eq!(refused_series.status, 400, "{}", refused_series.text);
    assert_eq!(refused_series.json["code"], "invalid_url");

    let (series_id, created, _) = server.series_with_a_session().await;
    let calls = format!("/api/series/{series_id}/calls");
    let stranger = server
        .http(
            "POST",
            &calls,
            json!({"key": room.host_key, "call_url": ROOM_CALL})
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(stranger.status, 403, "{}", stranger.text);
    assert_eq!(stranger.json["code"], "invalid_key");
    let bad = server
        .http(
            "POST",
            &calls,
            json!({"key": created["host_key"], "call_url": "ftp://files.example.org"})
                .to_string()
                .as_bytes(),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.json["code"], "invalid_url");
}

#[tokio::test]
async fn call_links_stay_inside_the_room_neither_preview_nor_export_carries_them() {
    let server = TestServer::start().await;
    let (room, mut fran, mut people) = swap_at_pairing(
        &server,
        json!({"call_url": ROOM_CALL, "group_call_template": TEMPLATE}),
    )
    .await;
    confirm_and_start_pairs(&mut fran, &mut people).await;
    fran.ok(Command::EndSession).await;
    let preview = server
        .http(
            "POST",
            &format!("/api/rooms/{}/preview", room.room_id),
            json!({"key": room.join_key}).to_string().as_bytes(),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert!(
        !preview.text.contains("meet.example.org"),
        "{}",
        preview.text
    );
    for format in ["json", "markdown"] {
        let export = server
            .http(
                "POST",
                &format!("/api/rooms/{}/export", room.room_id),
                json!({"key": room.host_key, "format": format})
                    .to_string()
                    .as_bytes(),
            )
            .await;
        assert_eq!(export.status, 200, "{format}: {}", export.text);
        assert!(
            !export.text.contains("meet.example.org"),
            "{format}: {}",
            export.text
        );
    }
}
