//! The protocol's published pages: `protocol/README.md` and its chapters (`protocol/*.md`), for
//! the tests that check the spec against the server. Included with `#[path]` by the tests that
//! need it, so that they need not pull in the whole `common` harness. Each test uses its own part.
#![allow(dead_code)]

use std::path::Path;

/// One page of the spec: its path from the workspace root, and its text.
#[derive(Debug, Clone)]
pub struct Page {
    /// The page's path from the workspace root (`protocol/commands.md`).
    pub path: String,
    /// The page's Markdown.
    pub text: String,
}

/// Every page of the spec: `protocol/README.md` first, then the chapters in name order.
pub fn pages() -> Vec<Page> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("protocol/ is readable")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name != "README.md")
        .collect();
    names.sort();
    names.insert(0, "README.md".to_owned());
    let pages: Vec<Page> = names
        .into_iter()
        .map(|name| Page {
            text: std::fs::read_to_string(dir.join(&name))
                .unwrap_or_else(|e| panic!("protocol/{name}: {e}")),
            path: format!("protocol/{name}"),
        })
        .collect();
    assert!(pages.len() > 1, "the spec has chapters besides its README");
    pages
}

/// The whole spec as one text, page after page.
pub fn whole() -> String {
    pages()
        .into_iter()
        .map(|page| page.text)
        .collect::<Vec<_>>()
        .join("\n")
}
