//! Keeps the user-facing documents true.
//!
//! - The README's "Five minutes with curl and a websocket client" is run as printed: the room is
//!   opened with the `curl` body it shows, and every ```` ```json <who> ```` block is sent, in the
//!   order printed, by that person's connection to a real server. Each frame must get what the
//!   text says: a `welcome` for `host` and `join`, an `ack` for every other command, and the error
//!   code a block names in its info string (```` ```json ada expect=forbidden ````).
//! - Every relative link in the README and the protocol's pages leads to a file that exists and,
//!   when it names an `#anchor`, to a heading of that file.

mod common;
#[path = "common/spec.rs"]
mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use circlekeeper_protocol::{AckResult, ClientMessage, Command, ErrorCode, RoomCreated};
use common::{Client, TestServer};
use serde_json::Value;

fn workspace_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(workspace_file(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The part of a Markdown text under the `## ` heading `title`, up to the next `## ` heading.
fn section<'a>(markdown: &'a str, title: &str) -> &'a str {
    let heading = format!("\n## {title}\n");
    let start = markdown
        .find(&heading)
        .unwrap_or_else(|| panic!("no section {title:?}"))
        + heading.len();
    let rest = &markdown[start..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    &rest[..end]
}

/// A fenced block: its info string and its text.
#[derive(Debug)]
struct Fenced {
    info: String,
    text: String,
}

/// Every fenced block of a Markdown text, in order.
fn fenced_blocks(markdown: &str) -> Vec<Fenced> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let mut text = String::new();
        for body in lines.by_ref() {
            if body.trim_start().starts_with("```") {
                break;
            }
            text.push_str(body);
            text.push('\n');
        }
        blocks.push(Fenced {
            info: info.trim().to_owned(),
            text,
        });
    }
    blocks
}

/// The body the walkthrough's `curl` sends: the text between `-d '` and the next `'`.
fn curl_body(block: &str) -> &str {
    let start = block
        .find("-d '")
        .expect("the curl command sends a body with -d")
        + 4;
    let len = block[start..].find('\'').expect("the body's closing quote");
    &block[start..start + len]
}

/// One step of the walkthrough: who sends, what, and the error the text promises (if any).
struct Step {
    who: String,
    frames: Vec<String>,
    expect: Option<ErrorCode>,
}

fn walkthrough_steps(section: &str) -> (String, Vec<Step>) {
    let blocks = fenced_blocks(section);
    let curl = blocks
        .iter()
        .find(|b| b.info == "sh" && b.text.contains("/api/rooms"))
        .expect("the walkthrough opens a room with curl");
    let mut steps = Vec::new();
    for block in &blocks {
        let mut words = block.info.split_whitespace();
        if words.next() != Some("json") {
            continue;
        }
        let Some(who) = words.next() else {
            continue; // an answer shown, not a frame sent
        };
        let expect = words.find_map(|w| w.strip_prefix("expect=")).map(|code| {
            serde_json::from_value::<ErrorCode>(Value::String(code.to_owned()))
                .unwrap_or_else(|e| panic!("expect={code} is not an error code: {e}"))
        });
        let frames = block.text.lines().map(str::to_owned).collect();
        steps.push(Step {
            who: who.to_owned(),
            frames,
            expect,
        });
    }
    (curl_body(&curl.text).to_owned(), steps)
}

#[tokio::test]
async fn the_readme_walkthrough_does_what_it_says_in_the_order_printed() {
    let readme = read("README.md");
    let walkthrough = section(&readme, "Five minutes with curl and a websocket client");
    let (body, steps) = walkthrough_steps(walkthrough);
    assert!(
        steps.len() >= 8,
        "the walkthrough has {} steps",
        steps.len()
    );

    let server = TestServer::start().await;
    let answer = server.create_room_raw(&body).await;
    assert_eq!(
        answer.status, 201,
        "the curl body opens a room: {}",
        answer.text
    );
    let room: RoomCreated = serde_json::from_value(answer.json).expect("a RoomCreated");

    let mut people: BTreeMap<String, Client> = BTreeMap::new();
    let mut drew_a_prompt = false;
    let mut frames_sent = 0;
    for step in &steps {
        if !people.contains_key(&step.who) {
            let client = server.connect(&step.who).await;
            people.insert(step.who.clone(), client);
        }
        let client = people.get_mut(&step.who).expect("connected above");
        for line in step.frames.iter().filter(|l| !l.trim().is_empty()) {
            let text = line
                .replace("ROOM_ID", &room.room_id)
                .replace("HOST_KEY", &room.host_key)
                .replace("JOIN_KEY", &room.join_key);
            let frame: ClientMessage = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {line} is not a client frame: {e}", step.who));
            frames_sent += 1;
            let id = frame.id.clone();
            if matches!(frame.command, Command::Host { .. } | Command::Join { .. }) {
                let welcome = client.enter_with_id(&id, frame.command).await;
                assert_eq!(welcome.id, id, "{}: the welcome echoes the id", step.who);
                assert!(
                    !client.token.is_empty(),
                    "{}: a welcome has a token",
                    step.who
                );
                continue;
            }
            client.raw_send(&text).await;
            match (client.answer(&id).await, step.expect) {
                (Ok(ack), None) => {
                    if let Some(AckResult::Prompt { .. }) = ack.result {
                        drew_a_prompt = true;
                    }
                }
                (Err(refused), Some(code)) => {
                    assert_eq!(refused.code, code, "{}: {line}", step.who);
                    assert_eq!(refused.id.as_deref(), Some(id.as_str()));
                }
                (Ok(ack), Some(code)) => {
                    panic!(
                        "{}: {line} was acked ({ack:?}); the text says {code:?}",
                        step.who
                    )
                }
                (Err(refused), None) => {
                    panic!("{}: {line} was refused: {refused:?}", step.who)
                }
            }
        }
    }
    assert!(
        frames_sent >= 15,
        "only {frames_sent} frames in the walkthrough"
    );

    // What the text says along the way.
    let ids: Vec<(String, u32)> = people.iter().map(|(w, c)| (w.clone(), c.you)).collect();
    assert_eq!(
        ids,
        vec![("ada".into(), 2), ("ben".into(), 3), ("fran".into(), 1)],
        "Fran is participant 1, Ada 2, Ben 3"
    );
    assert!(drew_a_prompt, "Ben's draw_prompt is acked with a prompt");
    let fran = people.get_mut("fran").expect("fran");
    fran.sync().await;
    let view = &fran.view;
    assert_eq!(view.presenter_order, vec![2]);
    let stage = view.stage.as_ref().expect("a stage");
    assert_eq!(
        view.plan[stage.index].kind,
        circlekeeper_protocol::StageKind::ClarifyingQuestions,
        "the walkthrough ends in clarifying questions"
    );
    assert!(view.prompt.is_some(), "Fran's prompt card is shown");
    assert!(view.turn.floor.is_none(), "Ben gave the floor back");
    for client in people.into_values() {
        client.close().await;
    }
    server.stop().await;
}

// ----- links -------------------------------------------------------------------------------

/// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown text's headings (outside fenced blocks).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut inside_fence = false;
    let mut found = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            inside_fence = !inside_fence;
        }
        if inside_fence {
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            found.insert(anchor(&line[hashes + 1..]));
        }
    }
    found
}

/// Every `](target)` of a Markdown text.
fn links(markdown: &str) -> Vec<String> {
    markdown
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_owned()))
        .filter(|target| !target.contains(' '))
        .collect()
}

#[test]
fn every_relative_link_in_the_documents_leads_somewhere() {
    let mut pages: Vec<(String, String)> = vec![("README.md".into(), read("README.md"))];
    pages.extend(spec::pages().into_iter().map(|p| (p.path, p.text)));
    let mut broken = Vec::new();
    let mut checked = 0;
    for (path, text) in &pages {
        let dir = Path::new(path).parent().unwrap_or(Path::new(""));
        for link in links(text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if file.is_empty() {
                PathBuf::from(path)
            } else {
                dir.join(file)
            };
            if !workspace_file(&target.to_string_lossy()).exists() {
                broken.push(format!("{path}: {link} (no such file)"));
                continue;
            }
            let is_markdown = target.extension().is_some_and(|e| e == "md");
            if !fragment.is_empty() && is_markdown {
                let headings = anchors(&read(&target.to_string_lossy()));
                if !headings.contains(fragment) {
                    broken.push(format!("{path}: {link} (no such heading)"));
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} links checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    assert_eq!(
        anchor("Your own items: `my_items`"),
        "your-own-items-my_items"
    );
    assert_eq!(
        anchor("`POST /api/series/{id}/delete`"),
        "post-apiseriesiddelete"
    );
    assert_eq!(
        anchor("Commitments, feedback and the survey"),
        "commitments-feedback-and-the-survey"
    );
}

/// The container image is built with the Rust the workspace asks for (`rust-version`, the
/// oldest that builds every dependency), and the compose file names the three nodes the proxy
/// configuration routes to, each with its own host name (and so its own node id).
#[test]
fn the_deploy_files_agree_with_the_workspace_and_each_other() {
    let cargo = read("Cargo.toml");
    let rust = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("a rust-version in Cargo.toml");
    let docker = read("deploy/Dockerfile");
    assert!(
        docker.contains(&format!("FROM rust:{rust}-bookworm AS build")),
        "deploy/Dockerfile does not build with Rust {rust}"
    );
    let compose = read("deploy/compose.yaml");
    for n in 1..=3 {
        assert!(compose.contains(&format!(
            "  node{n}:\n    <<: *node\n    hostname: node{n}\n"
        )));
        assert!(compose.contains(&format!("CK_NODE{n}: node{n}:8080")));
    }
    let haproxy = read("deploy/haproxy.cfg");
    for n in 1..=3 {
        assert!(haproxy.contains(&format!("server node{n} \"${{CK_NODE{n}}}\"")));
    }
}
