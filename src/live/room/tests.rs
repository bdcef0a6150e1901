//! The layers hold: the core below this actor stays pure, and the actor stays a pump.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (relative to the crate root), with its text.
fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    let mut todo = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    let mut found = Vec::new();
    while let Some(dir) = todo.pop() {
        let entries = std::fs::read_dir(&dir).expect("the source folder is readable");
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file is readable");
                found.push((path, text));
            }
        }
    }
    assert!(!found.is_empty(), "no sources under {dir}");
    found
}

#[test]
fn the_core_uses_no_runtime_and_no_layer_above_it() {
    for (path, text) in sources("src/room") {
        for word in ["tokio", "axum", "crate::server", "crate::live"] {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`: the core must not depend on the runtime",
                path.display()
            );
        }
    }
}

#[test]
fn the_room_actor_names_no_command() {
    for (path, text) in sources("src/live/room") {
        if path.ends_with("tests.rs") {
            continue;
        }
        assert!(
            !text.contains("Command::"),
            "{} matches on a command: the actor carries out effects, whatever caused them",
            path.display()
        );
    }
}
