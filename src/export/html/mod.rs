//! Summaries and reports as one self-contained HTML file a host can print, mail or keep: inline
//! CSS (with a print stylesheet, so "Save as PDF" gives a clean document), charts drawn here as
//! inline SVG, no script, no font, no image, nothing fetched.
//!
//! This module owns the page shell, the stylesheet and the small writing helpers (escaping,
//! dates, numbers); [`charts`] draws the charts, and each document kind has its own file
//! ([`session`], [`series`]). They render from the same structs as JSON and Markdown, so an HTML
//! document carries nothing the JSON of the same export does not: confidentiality is decided
//! once, when the summary is built. Every text a person wrote, every name and title, is escaped
//! with [`escape`].

use std::fmt::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::texts::{label, Lang};

mod charts;
mod series;
mod session;

pub use series::report;
pub use session::summary;

/// The stylesheet of every document: plain on screen, black on white on paper, no chart or
/// table row split across pages.
pub const CSS: &str = "\
:root{color-scheme:light}\
*{box-sizing:border-box}\
body{margin:0 auto;max-width:52rem;padding:1.5rem 1rem 3rem;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#111;background:#fff}\
header{border-bottom:2px solid #111;margin-bottom:1.5rem}\
h1{font-size:1.7rem;line-height:1.2;margin:.2rem 0 .6rem;overflow-wrap:anywhere}\
h2{font-size:1.25rem;margin:2rem 0 .6rem;break-after:avoid}\
.kind{margin:0;font-size:.85rem;text-transform:uppercase;letter-spacing:.06em;color:#444}\
.facts{list-style:none;padding:0;margin:0 0 1rem;display:flex;flex-wrap:wrap;gap:.2rem 1.5rem}\
figure{margin:1rem 0 1.5rem;break-inside:avoid;page-break-inside:avoid}\
figcaption{font-weight:600;margin-bottom:.4rem}\
svg{display:block;width:100%;height:auto;max-width:40rem;margin-bottom:.6rem}\
svg text{font-family:inherit}\
.scroll{overflow-x:auto}\
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.9rem}\
th,td{border-bottom:1px solid #bbb;padding:.25rem .6rem .25rem 0;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{border-bottom:1.5px solid #111}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
tr{break-inside:avoid;page-break-inside:avoid}\
ul{padding-left:1.2rem}\
li{overflow-wrap:anywhere}\
.empty{color:#444;font-style:italic}\
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
footer{margin-top:2.5rem;border-top:1px solid #bbb;padding-top:.5rem;font-size:.85rem;color:#444}\
@page{margin:18mm 16mm}\
@media print{\
body{max-width:none;padding:0;font-size:11pt;color:#000;background:#fff}\
header{border-color:#000}\
.kind,footer,.empty{color:#000}\
.scroll{overflow:visible}\
h2{break-after:avoid;page-break-after:avoid}\
figure,table.keep{break-inside:avoid;page-break-inside:avoid}\
}";

/// The `Content-Security-Policy` an HTML document is served with: no script at all, nothing
/// fetched, and only its own stylesheet (by hash) applied.
pub fn content_security_policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; script-src 'none'; style-src {}; img-src 'none'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            style_source()
        )
    })
}

/// The stylesheet as a CSP source, `'sha256-…'`: what allows it and nothing else.
pub fn style_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(CSS));
        format!("'sha256-{hash}'")
    })
}

/// `text` safe to place in HTML text or a quoted attribute: `& < > " '` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A fixed word of the reports in `lang`, escaped.
fn l(lang: Lang, english: &'static str) -> String {
    escape(label(lang, english))
}

/// The whole page: `kind` ("Series report"…) above the `title`, a list of `facts` under it,
/// then `body` (already HTML), and the note that only exportable text appears.
fn page(lang: Lang, kind: &'static str, title: &str, facts: &[String], body: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n\
         <p class=\"kind\">{}</p>\n<h1>{}</h1>\n",
        lang.code(),
        escape(title),
        l(lang, kind),
        l(lang, kind),
        escape(title),
    );
    if !facts.is_empty() {
        out.push_str("<ul class=\"facts\">\n");
        for fact in facts {
            let _ = writeln!(out, "<li>{}</li>", escape(fact));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</header>\n<main>\n");
    out.push_str(body);
    let _ = write!(
        out,
        "</main>\n<footer>\n<p>{}</p>\n</footer>\n</body>\n</html>\n",
        l(
            lang,
            "Only text its authors marked exportable appears in this document."
        )
    );
    out
}

/// A section: a heading and its content (already HTML).
fn section(out: &mut String, heading: &str, content: &str) {
    let _ = write!(out, "<section>\n<h2>{heading}</h2>\n{content}</section>\n");
}

/// A chart with its caption and, as its text alternative, the table of the same figures.
/// `svg` is drawn by [`charts`] with `role="img"` and an `aria-label`.
fn figure(caption: &str, svg: &str, table: &str) -> String {
    format!(
        "<figure>\n<figcaption>{caption}</figcaption>\n{svg}<div class=\"scroll\">{table}</div>\n</figure>\n"
    )
}

/// A table: `headers` (with `true` for numeric columns, right-aligned) and `rows` of cells,
/// every cell already HTML.
fn table(headers: &[(String, bool)], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table>\n<thead><tr>");
    for (h, numeric) in headers {
        let class = if *numeric { " class=\"n\"" } else { "" };
        let _ = write!(out, "<th scope=\"col\"{class}>{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let numeric = headers.get(i).is_some_and(|(_, n)| *n);
            let class = if numeric { " class=\"n\"" } else { "" };
            let _ = write!(out, "<td{class}>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// The note for a section with nothing in it.
fn empty(lang: Lang) -> String {
    format!(
        "<p class=\"empty\">{}</p>\n",
        l(lang, "Nothing to show yet.")
    )
}

/// A number with `decimals` places, with a decimal comma in Spanish and German.
fn number(lang: Lang, value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if lang == Lang::En {
        text
    } else {
        text.replace('.', ",")
    }
}

/// An epoch-millisecond instant as `YYYY-MM-DD HH:MM UTC` (reports are read far from the
/// server: UTC, said so).
fn date_time(ms: u64) -> String {
    let (y, m, d) = civil(ms);
    let minutes = ms / 60_000 % (24 * 60);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// An epoch-millisecond instant's day, `YYYY-MM-DD` (UTC).
fn day(ms: u64) -> String {
    let (y, m, d) = civil(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC calendar date of an epoch-millisecond instant (the proleptic Gregorian calendar,
/// after Howard Hinnant's `civil_from_days`).
fn civil(ms: u64) -> (i64, u32, u32) {
    let days = i64::try_from(ms / 86_400_000).unwrap_or(0);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Milliseconds as minutes and seconds, `m:ss`.
fn minutes(ms: u64) -> String {
    format!("{}:{:02}", ms / 60_000, ms / 1000 % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("Zoë · plain"), "Zoë · plain");
    }

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(date_time(1_800_000_000_000), "2027-01-15 08:00 UTC");
        assert_eq!(day(951_782_400_000), "2000-02-29");
        assert_eq!(day(4_107_542_400_000), "2100-03-01");
    }

    #[test]
    fn numbers_use_the_languages_decimal_mark() {
        assert_eq!(number(Lang::En, 4.26, 1), "4.3");
        assert_eq!(number(Lang::De, 4.5, 1), "4,5");
        assert_eq!(number(Lang::Es, 0.5, 2), "0,50");
    }

    #[test]
    fn the_policy_allows_the_stylesheet_and_no_script() {
        let policy = content_security_policy();
        assert!(policy.contains("script-src 'none'"), "{policy}");
        assert!(policy.contains("style-src 'sha256-"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
    }
}
