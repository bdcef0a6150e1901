//! Embeds the web client: every file under `web/` (one level of folders deep is enough for the
//! client's modules) becomes an entry of `WEB_FILES` in `$OUT_DIR/web_files.rs`, so the binary
//! serves the client without reading the disk and a new module needs no edit to the server.
//!
//! It also names the commit the binary is built from, for `circlekeeper_build_info` on
//! `/metrics`: `CIRCLEKEEPER_COMMIT` from the environment (for builds outside a git checkout,
//! e.g. a packager's), else `git rev-parse --short=12 HEAD` when git and a checkout are there;
//! otherwise the label is left out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    println!("cargo:rerun-if-changed=web");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("/// Every file of the client: URL path, content type, contents.\n");
    out.push_str("pub const WEB_FILES: &[(&str, &str, &str)] = &[\n");
    for (name, path) in &files {
        let Some(kind) = content_type(name) else {
            continue;
        };
        writeln!(
            out,
            "    ({name:?}, {kind:?}, include_str!({:?})),",
            path.display()
        )
        .expect("writing to a string");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(dest.join("web_files.rs"), out).expect("writing web_files.rs");
    commit();
}

/// Set `CIRCLEKEEPER_COMMIT` for the crate, and rerun when HEAD moves.
fn commit() {
    println!("cargo:rerun-if-env-changed=CIRCLEKEEPER_COMMIT");
    if std::env::var_os("CIRCLEKEEPER_COMMIT").is_some() {
        return; // rustc sees it as it is
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return;
    };
    // HEAD names the branch; the branch's ref (loose or packed) names the commit.
    for path in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["rev-parse", "--symbolic-full-name", "HEAD"])
            .and_then(|r| git(&["rev-parse", "--git-path", &r])),
        git(&["rev-parse", "--git-path", "packed-refs"]),
    ]
    .into_iter()
    .flatten()
    {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rustc-env=CIRCLEKEEPER_COMMIT={commit}");
}

/// Files under `dir`, as (path relative to `root` with `/`, absolute path). Hidden files and
/// anything deeper than one folder are left out.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).expect("reading web/");
    for entry in entries {
        let path = entry.expect("reading web/").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let depth = path
            .strip_prefix(root)
            .map_or(0, |p| p.components().count());
        if path.is_dir() {
            if depth < 2 {
                collect(root, &path, files);
            }
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .expect("under web/")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        files.push((relative, path));
    }
}

/// The content type a file is served with, by extension; other files are not served.
fn content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit('.').next()?;
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}
