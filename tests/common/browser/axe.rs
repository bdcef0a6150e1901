//! Accessibility checks with axe-core, vendored in `tests/vendor/axe-core/` (see its README).
//! The library is evaluated in the page over the DevTools protocol, which the page's Content
//! Security Policy does not govern (it would refuse a script tag), then `axe.run` checks the
//! whole document and [`Violation`]s come back, each with every offending node.

use std::fmt;

use serde::Deserialize;
use serde_json::json;

use super::Page;

/// axe-core's minified build, read when the test binary is built.
const AXE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vendor/axe-core/axe.min.js"
));

/// One rule axe found broken, and where.
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    /// The rule's id (`color-contrast`, `label-content-name-mismatch`).
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule asks for, in axe's words.
    pub help: String,
    /// Every element that breaks it.
    pub nodes: Vec<Node>,
}

/// An element that breaks a rule.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// CSS selectors that find it (more than one when it sits in a frame or shadow root).
    pub target: Vec<String>,
    /// The start of its HTML.
    pub html: String,
    /// What is wrong with this element in particular.
    #[serde(rename = "failureSummary")]
    pub failure: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({}): {}",
            self.id,
            self.impact.as_deref().unwrap_or("no impact given"),
            self.help
        )?;
        for node in &self.nodes {
            writeln!(f, "  at {}", node.target.join(" >> "))?;
            writeln!(f, "     {}", node.html)?;
            if let Some(why) = &node.failure {
                for line in why.lines() {
                    writeln!(f, "     | {line}")?;
                }
            }
        }
        Ok(())
    }
}

/// Violations as one readable block, for an assertion message.
pub fn report(violations: &[Violation]) -> String {
    violations.iter().map(ToString::to_string).collect()
}

impl Page<'_> {
    /// Run axe-core on the page as it is now and return every violation (every rule axe runs by
    /// default, which includes WCAG 2.0, 2.1 and 2.2 A and AA and its best practices).
    pub async fn axe(&self) -> Vec<Violation> {
        let present = self.eval("return typeof window.axe === 'object';").await;
        if present != json!(true) {
            let loaded = self
                .cmd(
                    "Runtime.evaluate",
                    json!({ "expression": AXE, "returnByValue": true }),
                )
                .await;
            if let Some(e) = loaded.get("exceptionDetails") {
                panic!("{}: axe-core did not load: {e}", self.name);
            }
        }
        let found = self
            .eval(
                "const r = await axe.run(document, { resultTypes: ['violations'] });
                 return r.violations.map((v) => ({
                   id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map((n) => ({
                     target: n.target.map((t) => Array.isArray(t) ? t.join(' ') : String(t)),
                     html: n.html, failureSummary: n.failureSummary,
                   })),
                 }));",
            )
            .await;
        serde_json::from_value(found)
            .unwrap_or_else(|e| panic!("{}: axe's answer did not parse: {e}", self.name))
    }

    /// Run axe-core in the colour scheme `scheme` (`"light"` or `"dark"`): switch to it, let the
    /// colours' finite transitions end (bounded) so that axe measures the scheme's own colours
    /// and not a blend, then run [`Page::axe`].
    pub async fn axe_in(&self, scheme: &str) -> Vec<Violation> {
        self.set_color_scheme(scheme).await;
        self.eval(
            "const ending = document.getAnimations()
               .filter((a) => a.effect && Number.isFinite(a.effect.getComputedTiming().endTime))
               .map((a) => a.finished.catch(() => null));
             await Promise.race([Promise.all(ending), new Promise((ok) => setTimeout(ok, 3000))]);",
        )
        .await;
        self.axe().await
    }
}
