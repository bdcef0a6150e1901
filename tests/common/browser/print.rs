//! Documents opened as they are and printed: a page made from an HTML text (a `data:` URL, as a
//! saved file opens: no server, no policy), and the page printed to PDF with the DevTools'
//! `Page.printToPDF`, as "Save as PDF" does.

use base64::Engine as _;
use serde_json::json;

use super::Page;

/// A PDF's pages, counted by their `/Type /Page` objects (not the `/Pages` tree nodes).
pub fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let mut pages = 0;
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("/Type") {
        let after = rest[at + 5..].trim_start();
        if let Some(kind) = after.strip_prefix("/Page") {
            if !kind.starts_with('s') {
                pages += 1;
            }
        }
        rest = &rest[at + 5..];
    }
    pages
}

impl Page<'_> {
    /// Open `html` as a document of its own and wait until it has loaded (it needs nothing
    /// marked for tests: a `<h1>` is enough).
    pub async fn open_document(&self, html: &str) {
        let data = base64::engine::general_purpose::STANDARD.encode(html);
        self.cmd(
            "Page.navigate",
            json!({ "url": format!("data:text/html;charset=utf-8;base64,{data}") }),
        )
        .await;
        self.wait_for(
            "document.readyState === 'complete' && document.querySelector('h1')",
            "the document",
        )
        .await;
    }

    /// The page printed to PDF on A4 with the page's own `@page` margins, as the browser's
    /// "Save as PDF" prints it (print media, no background graphics).
    pub async fn print_to_pdf(&self) -> Vec<u8> {
        let printed = self
            .cmd(
                "Page.printToPDF",
                json!({
                    "paperWidth": 8.27,
                    "paperHeight": 11.69,
                    "preferCSSPageSize": true,
                    "printBackground": false,
                }),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(printed["data"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{}: the PDF is not base64: {e}", self.name))
    }
}
