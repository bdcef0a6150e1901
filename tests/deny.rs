//! The dependency graph checked with `cargo deny` against `deny.toml`: licences, bans and
//! sources, and the RustSec advisories. Any finding fails, warnings included (`-D warnings`),
//! so an unused licence allowance or a new unmaintained crate cannot slip by.
//!
//! cargo-deny is found on `PATH` or in `.ci/bin/` (where `.ci/run` puts the pinned version).
//! Without it the test says it was skipped; with `CI` set it fails instead.
//!
//! The advisory database is fetched from its git repository by cargo-deny. Where that cannot be
//! reached, the database already on this machine is used (`--offline`); where there is none,
//! the advisories are reported as not checked rather than failing a machine with no way to
//! fetch them (licences, bans and sources need no database and are always checked).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo-deny binary: on `PATH`, else in `.ci/bin/`.
fn cargo_deny() -> Option<PathBuf> {
    let works = |program: &Path| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let on_path = PathBuf::from("cargo-deny");
    if works(&on_path) {
        return Some(on_path);
    }
    let local = root().join(".ci/bin/cargo-deny");
    works(&local).then_some(local)
}

/// The binary, or `None` after saying why the test is skipped (a panic under `CI`).
fn cargo_deny_or_skip(test: &str) -> Option<PathBuf> {
    let found = cargo_deny();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CI is set and cargo-deny is missing (neither on PATH nor in .ci/bin; \
             .ci/run installs it)"
        );
        eprintln!(
            "{test}: skipped: cargo-deny is not installed (install it with \
             `cargo install --locked cargo-deny@0.20.2`, or run .ci/run)"
        );
    }
    found
}

/// What one `cargo deny check` run said.
struct Run {
    success: bool,
    output: String,
}

/// `cargo deny [--offline] check -D warnings <checks>` on the workspace, with its `deny.toml`.
fn check(deny: &Path, offline: bool, checks: &[&str]) -> Run {
    let mut command = Command::new(deny);
    command.arg("deny");
    if offline {
        command.arg("--offline");
    }
    let output = command
        .arg("--manifest-path")
        .arg(root().join("Cargo.toml"))
        .arg("--workspace")
        // deny.toml is read from beside the manifest.
        .args(["check", "-D", "warnings"])
        .args(checks)
        .current_dir(root())
        .output()
        .expect("cargo-deny runs");
    Run {
        success: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

#[test]
fn licences_bans_and_sources_have_no_finding() {
    let Some(deny) = cargo_deny_or_skip("licences_bans_and_sources") else {
        return;
    };
    let run = check(&deny, false, &["licenses", "bans", "sources"]);
    assert!(
        run.success,
        "cargo deny found something (see deny.toml):\n{}",
        run.output
    );
    for part in ["licenses ok", "bans ok", "sources ok"] {
        assert!(run.output.contains(part), "no `{part}` in:\n{}", run.output);
    }
}

#[test]
fn no_advisory_but_the_two_listed_in_deny_toml() {
    let Some(deny) = cargo_deny_or_skip("advisories") else {
        return;
    };
    let fetched = check(&deny, false, &["advisories"]);
    let run = if fetched.output.contains("failed to fetch advisory database") {
        eprintln!("advisories: the database could not be fetched; using the copy on this machine");
        check(&deny, true, &["advisories"])
    } else {
        fetched
    };
    if !run.success && !run.output.contains("advisories FAILED") {
        // No database on this machine and none reachable: nothing was checked, nothing found.
        eprintln!(
            "advisories: NOT CHECKED: no advisory database could be fetched or found on this \
             machine:\n{}",
            run.output
        );
        return;
    }
    assert!(
        run.success,
        "cargo deny found an advisory (fix it, or list it in deny.toml with its reason):\n{}",
        run.output
    );
    assert!(run.output.contains("advisories ok"), "{}", run.output);
}

#[test]
fn the_two_sled_notices_are_listed_with_their_reasons() {
    let config = std::fs::read_to_string(root().join("deny.toml")).expect("deny.toml exists");
    let table: toml::Table = config.parse().expect("deny.toml is TOML");
    let ignored = table["advisories"]["ignore"]
        .as_array()
        .expect("advisories.ignore is a list");
    let ids: Vec<&str> = ignored
        .iter()
        .map(|entry| {
            let reason = entry["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("sled"),
                "each ignored advisory says why it is still here: {entry:?}"
            );
            entry["id"].as_str().expect("an id")
        })
        .collect();
    assert_eq!(ids, ["RUSTSEC-2025-0057", "RUSTSEC-2024-0384"]);
}
