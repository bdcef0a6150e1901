//! The web client's message catalogs are complete: every language has every English key of
//! every area, with the plural forms its language needs and the same `{placeholders}`, and
//! every `t("key")` in the client's code has an English text. The check itself is
//! `tests/catalogs.mjs`, run under Node.js (the catalogs are ES modules).
//!
//! Without `node` the test is skipped with a note, unless `CI` is set: then it fails.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_language_has_every_key_and_every_key_used_exists() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let output = match Command::new("node")
        .arg(root.join("tests/catalogs.mjs"))
        .arg(root.join("web"))
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let why = format!("catalog test skipped: no `node` on the PATH ({e})");
            assert!(std::env::var_os("CI").is_none(), "{why}; CI must run it");
            eprintln!("{why}");
            return;
        }
        Err(e) => panic!("node could not be started: {e}"),
    };
    assert!(
        output.status.success(),
        "node tests/catalogs.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("catalogs.mjs prints one JSON object");
    let langs = report["langs"].as_array().expect("langs");
    for lang in ["en", "es", "de"] {
        assert!(
            langs.iter().any(|l| l == lang),
            "no {lang} catalog in web/i18n: {report}"
        );
    }
    assert!(
        report["keys"].as_u64().unwrap_or(0) > 100,
        "the English catalog looks empty: {report}"
    );
    let problems: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert!(
        problems.is_empty(),
        "{} catalog problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
