//! Files generated from the code and checked in (`protocol/schema.json`, `protocol/openapi.json`):
//! a test renders the file again and compares it with the checked-in copy, or rewrites that copy
//! when its update variable is set.
//!
//! Included by path (`#[path = "common/checked_in.rs"] mod checked_in;`) by the tests that need it.

use std::path::PathBuf;

/// `relative` (e.g. `protocol/schema.json`) in the workspace.
pub fn workspace_file(relative: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Whether the environment variable `var` asks for the checked-in files to be rewritten.
pub fn updating(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

/// With `var` set, write `generated` to `relative`; otherwise fail, naming the first line that
/// differs and how to regenerate (`stale`), unless the checked-in file is `generated`.
pub fn matches_or_update(relative: &str, generated: &str, var: &str, stale: &str) {
    let path = workspace_file(relative);
    if updating(var) {
        std::fs::write(&path, generated).expect("the checked-in file is writable");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{relative} is out of date with {stale};\n{}",
        first_difference(generated, &checked_in)
    );
}

/// The first line on which two texts differ, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    let mut expected_lines = expected.lines();
    let mut actual_lines = actual.lines();
    for number in 1.. {
        match (expected_lines.next(), actual_lines.next()) {
            (None, None) => break,
            (e, a) if e == a => continue,
            (e, a) => {
                return format!(
                    "first difference at line {number}:\n  generated:  {}\n  checked in: {}",
                    e.unwrap_or("<end of file>"),
                    a.unwrap_or("<end of file>")
                )
            }
        }
    }
    "the texts differ only in line endings".to_owned()
}
