//! Golden files of every export format for one fixed session, and each CSV and JSON parsed
//! back. Regenerate with `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use std::path::PathBuf;
#[path = "common/envelope.rs"]
mod envelope;

use circlekeeper::export::{self, Names, RoomSummary};
use circlekeeper::formats;
use circlekeeper::room::state::DEFAULT_GROUND_RULES;
use circlekeeper::room::{Recorded, Room, RoomSetup};
use circlekeeper::store::StoredEvent;
use circlekeeper::texts::Lang;
use circlekeeper_protocol::{Command, Outcome, Standing, Visibility};

const T0: u64 = 1_800_000_000_000;
const MIN: u64 = 60_000;

/// A small coaching swap: Fran facilitates, Ada and Ben pair, write things of every visibility.
fn session() -> (Room, Vec<StoredEvent>) {
    let mut room = Room::new(RoomSetup {
        id: "golden-room".into(),
        title: "Swap, March".into(),
        format: formats::builtin("coaching_swap").expect("built-in"),
        ground_rules: DEFAULT_GROUND_RULES.into(),
        warn_before_ms: 60_000,
        pairing: Default::default(),
        earlier: Vec::new(),
        calls: Default::default(),
    });
    let mut log: Vec<Recorded> = Vec::new();
    let (fran, e) = room.join(T0, "Fran", Standing::Facilitator).expect("joins");
    log.extend(e);
    let (ada, e) = room
        .join(T0 + 1000, "Ada, from \"Oakland\"", Standing::Participant)
        .expect("joins");
    log.extend(e);
    let (ben, e) = room
        .join(T0 + 2000, "Ben", Standing::Participant)
        .expect("joins");
    log.extend(e);
    let mut at = T0 + 3000;
    let mut run = |room: &mut Room, who, cmd: Command, log: &mut Vec<Recorded>, dt: u64| {
        at += dt;
        log.extend(room.apply(at, who, &cmd).expect("accepted").events);
    };
    for who in [fran, ada, ben] {
        run(&mut room, who, Command::AcceptGroundRules, &mut log, 0);
    }
    run(&mut room, fran, Command::Start, &mut log, 0);
    run(&mut room, fran, Command::NextStage, &mut log, 10 * MIN);
    run(&mut room, fran, Command::NextStage, &mut log, 14 * MIN);
    run(
        &mut room,
        fran,
        Command::ProposePairs { seed: Some(1) },
        &mut log,
        MIN,
    );
    run(&mut room, fran, Command::ConfirmPairs, &mut log, MIN);
    run(&mut room, fran, Command::NextStage, &mut log, MIN);
    let g = room.view().pairs.groups[0].clone();
    run(
        &mut room,
        g.coach,
        Command::EndHalf { group: None },
        &mut log,
        44 * MIN,
    );
    let feedback = |helped: &str, visibility| Command::GiveFeedback {
        rating: 5,
        helped: helped.into(),
        helped_less: "Fewer questions, please".into(),
        visibility,
    };
    run(
        &mut room,
        g.client,
        feedback(
            "Your patience, and the question about next steps",
            Visibility::Exportable,
        ),
        &mut log,
        MIN,
    );
    // A private text comes sealed (a fixed IV keeps the session the same every run).
    let commit = |text: &str, visibility| Command::RecordCommitment {
        text: match visibility {
            Visibility::Private => envelope::seal_with_iv(&envelope::TEST_KEY, &[0; 12], text),
            _ => text.into(),
        },
        due: Some("2027-04-01".into()),
        visibility,
    };
    run(
        &mut room,
        ada,
        commit(
            "Ask my manager for a mentor, this month",
            Visibility::Exportable,
        ),
        &mut log,
        MIN,
    );
    run(
        &mut room,
        ben,
        commit("PRIVATE: never leaves the server", Visibility::Private),
        &mut log,
        0,
    );
    run(
        &mut room,
        ben,
        commit("CIRCLE: stays in the room", Visibility::Circle),
        &mut log,
        0,
    );
    let id = room
        .view()
        .commitments
        .iter()
        .find(|c| c.author == ada)
        .expect("shared")
        .id
        .clone();
    run(
        &mut room,
        ada,
        Command::ReviewCommitment {
            commitment: id,
            outcome: Outcome::Kept,
        },
        &mut log,
        0,
    );
    run(&mut room, fran, Command::NextStage, &mut log, 50 * MIN);
    run(&mut room, fran, Command::EndSession, &mut log, 15 * MIN);
    let survey = |comment: &str, visibility| Command::AnswerSurvey {
        rating: 4,
        comment: Some(comment.into()),
        visibility,
    };
    run(
        &mut room,
        ada,
        survey("Calm and useful", Visibility::Exportable),
        &mut log,
        MIN,
    );
    run(
        &mut room,
        ben,
        survey("CIRCLE: only for us", Visibility::Circle),
        &mut log,
        0,
    );
    let stored = log.iter().map(|r| StoredEvent::new(r, None)).collect();
    (room, stored)
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_GOLDEN=1 cargo test --test golden",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"
    );
}

/// Split one CSV record (quotes and doubled quotes; no newlines inside fields in our tables).
fn csv_row(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().expect("a field").push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().expect("a field").push(c),
        }
    }
    out
}

#[test]
fn every_export_format_matches_its_golden_file_and_parses_back() {
    let (room, events) = session();
    let summary = export::summarize(room.view(), &events, room.notes(), Names::Shown);
    let json = serde_json::to_string_pretty(&summary).expect("json") + "\n";
    golden("summary.json", &json);
    let back: RoomSummary = serde_json::from_str(&json).expect("the JSON parses back");
    assert_eq!(back, summary);
    golden("summary.md", &export::markdown(&summary, Lang::En));
    // The same summary in Spanish and German: headings, fixed words and built-in stage titles.
    golden("summary.es.md", &export::markdown(&summary, Lang::Es));
    golden("summary.de.md", &export::markdown(&summary, Lang::De));
    for table in export::CSV_TABLES {
        let csv = export::csv(&summary, table, Lang::En).expect("a table");
        golden(&format!("summary-{table}.csv"), &csv);
        let rows: Vec<Vec<String>> = csv.lines().map(csv_row).collect();
        let width = rows[0].len();
        assert!(
            rows.iter().all(|r| r.len() == width),
            "{table}: every row has {width} fields"
        );
    }
    let attendance = export::csv(&summary, "attendance", Lang::En).expect("table");
    let rows: Vec<Vec<String>> = attendance.lines().map(csv_row).collect();
    assert_eq!(rows[2][0], "Ada, from \"Oakland\"", "quoting round-trips");
    let anon = export::markdown(
        &export::summarize(room.view(), &events, room.notes(), Names::Pseudonymised),
        Lang::En,
    );
    golden("summary-pseudonymised.md", &anon);
}

#[test]
fn no_private_or_circle_text_is_in_any_golden_file() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).expect("golden dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        assert!(
            !text.contains("PRIVATE") && !text.contains("CIRCLE"),
            "confidential text in a golden file"
        );
        read += 1;
    }
    assert!(read >= 6, "the golden files exist ({read})");
}
