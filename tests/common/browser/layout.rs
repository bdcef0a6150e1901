//! What the page looks like on the screen it has: whether an element is in view, whether the
//! page scrolls sideways (and which elements make it), and what has the keyboard focus.

use serde_json::{json, Value};

use super::Page;

impl Page<'_> {
    /// Whether the first element matching the CSS `selector` lies wholly inside the window
    /// (its bounding rectangle within the viewport, and not empty). Panics if nothing matches.
    pub async fn in_viewport(&self, selector: &str) -> bool {
        let selector = serde_json::to_string(selector).expect("json string");
        let answer = self
            .eval(&format!(
                "const el = document.querySelector({selector});
                 if (!el) return null;
                 const r = el.getBoundingClientRect();
                 const w = document.documentElement.clientWidth, h = document.documentElement.clientHeight;
                 return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= w && r.bottom <= h;"
            ))
            .await;
        match answer {
            Value::Bool(inside) => inside,
            _ => panic!("{}: nothing matches {selector}", self.name),
        }
    }

    /// Why the page scrolls sideways, if it does: empty when it does not. Says so when the
    /// document is wider than the window (`scrollWidth > clientWidth`), and names every visible
    /// element that reaches past the window's left or right edge (tag, `data-test`, id, class,
    /// its left and right edges and the window's width), outermost first. Visually hidden
    /// screen-reader text (a box of at most 1×1 px) is not counted: nobody sees it.
    pub async fn horizontal_scroll(&self) -> Vec<String> {
        let found = self
            .eval(
                "const root = document.documentElement;
                 const width = root.clientWidth;
                 const out = [];
                 if (root.scrollWidth > width) out.push(`the document is ${root.scrollWidth}px wide in a ${width}px window`);
                 const name = (el) => el.tagName.toLowerCase()
                   + (el.dataset.test ? `[data-test=${el.dataset.test}]` : '')
                   + (el.id ? `#${el.id}` : '')
                   + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
                 // An element inside a box that scrolls or clips sideways does not widen the page.
                 const clipped = (el) => {
                   for (let p = el.parentElement; p && p !== document.body && p !== root; p = p.parentElement) {
                     const s = getComputedStyle(p);
                     if (s.overflowX !== 'visible') return true;
                   }
                   return false;
                 };
                 for (const el of document.body.querySelectorAll('*')) {
                   const r = el.getBoundingClientRect();
                   if (r.width === 0 || r.height === 0) continue;
                   // Visually hidden text for screen readers (a 1-px clipped box) shows nothing.
                   if (r.width <= 1 && r.height <= 1) continue;
                   if (getComputedStyle(el).visibility === 'hidden') continue;
                   if ((r.right > width + 0.5 || r.left < -0.5) && !clipped(el)) {
                     out.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}px in a ${width}px window`);
                   }
                 }
                 return out;",
            )
            .await;
        serde_json::from_value(found).expect("a list of strings")
    }

    /// What has the keyboard focus: `document.activeElement` as `tag[data-test=…]#id`
    /// (`body` when nothing does).
    pub async fn focused(&self) -> String {
        self.eval(
            "const el = document.activeElement;
             if (!el) return 'nothing';
             return el.tagName.toLowerCase()
               + (el.dataset && el.dataset.test ? `[data-test=${el.dataset.test}]` : '')
               + (el.id ? `#${el.id}` : '');",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The `data-test` of what has the keyboard focus, if it has one.
    pub async fn focused_test(&self) -> Option<String> {
        let v = self
            .eval("const el = document.activeElement; return (el && el.dataset && el.dataset.test) || null;")
            .await;
        (v != json!(null)).then(|| v.as_str().unwrap_or_default().to_string())
    }
}
