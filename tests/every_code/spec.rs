//! The spec's tables of codes: read from every page of the spec (`protocol/*.md`).

use super::spec_pages::pages;

/// The heading level and text of a markdown heading line.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    let text = line[level..].strip_prefix(' ')?;
    (level > 0).then_some((level, text.trim()))
}

/// The first cell of every row of the tables under the heading `title` in `markdown` (up to the
/// next heading of the same or a higher level), header and separator rows left out.
fn first_cells(markdown: &str, title: &str) -> Option<Vec<String>> {
    let mut lines = markdown.lines();
    let level = lines
        .find_map(|l| heading(l).filter(|(_, t)| *t == title))?
        .0;
    let mut cells = Vec::new();
    let mut header = true;
    for line in lines {
        if heading(line).is_some_and(|(l, _)| l <= level) {
            break;
        }
        let Some(row) = line.trim().strip_prefix('|') else {
            header = true;
            continue;
        };
        let first = row.split('|').next().unwrap_or("").trim();
        if header {
            // The header row; the separator row follows it.
            header = false;
        } else if !first.chars().all(|c| matches!(c, '-' | ':')) {
            cells.push(first.trim_matches('`').to_string());
        }
    }
    Some(cells)
}

/// The codes in the table under `title`, from whichever spec files hold it.
pub(super) fn documented(title: &str) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    let mut held_by = Vec::new();
    for page in pages() {
        if let Some(cells) = first_cells(&page.text, title) {
            held_by.push(page.path);
            for code in cells {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
        }
    }
    assert!(
        !held_by.is_empty(),
        "no \"{title}\" heading in any protocol/*.md file"
    );
    assert!(
        !codes.is_empty(),
        "the \"{title}\" table ({held_by:?}) has no rows"
    );
    codes
}

#[test]
fn the_table_reader_finds_rows_under_a_heading_of_any_level_up_to_the_next() {
    let text = "# Spec\n\n## Error codes\n\nIntro.\n\n| code | meaning |\n| --- | --- |\n\
                | `a_b` | one |\n| `c` | two \\| with a pipe |\n\n### Note\n\n| x | y |\n| - | - |\n\
                | `d` | three |\n\n## Close codes\n\n| code | when |\n| --- | --- |\n| 4001 | v |\n";
    assert_eq!(
        first_cells(text, "Error codes"),
        Some(vec!["a_b".to_string(), "c".into(), "d".into()])
    );
    assert_eq!(first_cells(text, "Close codes"), Some(vec!["4001".into()]));
    assert_eq!(first_cells(text, "Limits"), None);
    let chapter = "# Close codes\n\n| code | when |\n|---|---|\n| 1001 | going away |\n";
    assert_eq!(
        first_cells(chapter, "Close codes"),
        Some(vec!["1001".into()])
    );
}
