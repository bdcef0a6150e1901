//! Real key presses: `Input.dispatchKeyEvent` goes through the browser's own input handling,
//! so Tab moves the focus, Enter and Space activate what has it, and the page's keyboard
//! shortcuts see the same events a person's keyboard would send (unlike a synthetic
//! `KeyboardEvent` dispatched from script, which the browser does not act on).

use serde_json::json;

use super::Page;

/// A key held down with another: sent as the event's `modifiers` bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    /// Alt (Option).
    Alt,
    /// Control.
    Ctrl,
    /// Meta (Command, Windows).
    Meta,
    /// Shift.
    Shift,
}

impl Modifier {
    /// The bit DevTools uses for it.
    fn bit(self) -> u32 {
        match self {
            Modifier::Alt => 1,
            Modifier::Ctrl => 2,
            Modifier::Meta => 4,
            Modifier::Shift => 8,
        }
    }
}

/// A key as DevTools wants it: the DOM `key`, the DOM `code`, the Windows virtual key code
/// (what makes the browser itself act on it), and the text it types, if any.
struct Key {
    key: String,
    code: String,
    virtual_code: u32,
    text: Option<String>,
}

/// Describe `key` (a DOM key name: `Tab`, `Enter`, `Escape`, `ArrowDown`, `" "`, `a`, `7`, `?`).
/// Panics on a key it does not know, so a test never sends something the browser ignores.
fn describe(key: &str, shift: bool) -> Key {
    let named = |code: &str, virtual_code: u32, text: Option<&str>| Key {
        key: key.to_string(),
        code: code.to_string(),
        virtual_code,
        text: text.map(str::to_string),
    };
    match key {
        "Tab" => named("Tab", 9, None),
        "Enter" => named("Enter", 13, Some("\r")),
        "Escape" => named("Escape", 27, None),
        "Backspace" => named("Backspace", 8, None),
        "Delete" => named("Delete", 46, None),
        " " => named("Space", 32, Some(" ")),
        "PageUp" => named("PageUp", 33, None),
        "PageDown" => named("PageDown", 34, None),
        "End" => named("End", 35, None),
        "Home" => named("Home", 36, None),
        "ArrowLeft" => named("ArrowLeft", 37, None),
        "ArrowUp" => named("ArrowUp", 38, None),
        "ArrowRight" => named("ArrowRight", 39, None),
        "ArrowDown" => named("ArrowDown", 40, None),
        "?" => named("Slash", 191, Some("?")),
        "/" => named("Slash", 191, Some("/")),
        _ => {
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                panic!("press_key: unknown key {key:?}");
            };
            let upper = c.to_ascii_uppercase();
            let text = if shift { upper } else { c };
            if c.is_ascii_alphabetic() {
                Key {
                    key: text.to_string(),
                    code: format!("Key{upper}"),
                    virtual_code: u32::from(upper),
                    text: Some(text.to_string()),
                }
            } else if c.is_ascii_digit() {
                named(&format!("Digit{c}"), u32::from(c), Some(&c.to_string()))
            } else {
                panic!("press_key: unknown key {key:?}");
            }
        }
    }
}

impl Page<'_> {
    /// Press and release `key` (a DOM key name, see [`describe`]) with `modifiers` held, as
    /// real key events on whatever has the focus.
    pub async fn press_key(&self, key: &str, modifiers: &[Modifier]) {
        let bits = modifiers.iter().fold(0, |bits, m| bits | m.bit());
        let k = describe(key, modifiers.contains(&Modifier::Shift));
        // A key that types goes down as `keyDown` with its text; one that does not, as
        // `rawKeyDown` (what the browser sends for Tab, arrows, Escape).
        let typed = k.text.is_some() && bits & (Modifier::Ctrl.bit() | Modifier::Meta.bit()) == 0;
        let mut down = json!({
            "type": if typed { "keyDown" } else { "rawKeyDown" },
            "modifiers": bits,
            "key": k.key,
            "code": k.code,
            "windowsVirtualKeyCode": k.virtual_code,
            "nativeVirtualKeyCode": k.virtual_code,
        });
        if typed {
            let text = k.text.as_deref().unwrap_or_default();
            down["text"] = json!(text);
            down["unmodifiedText"] = json!(text);
        }
        self.cmd("Input.dispatchKeyEvent", down).await;
        self.cmd(
            "Input.dispatchKeyEvent",
            json!({
                "type": "keyUp",
                "modifiers": bits,
                "key": k.key,
                "code": k.code,
                "windowsVirtualKeyCode": k.virtual_code,
                "nativeVirtualKeyCode": k.virtual_code,
            }),
        )
        .await;
    }

    /// Press Tab: the focus moves to the next thing in the page's tab order.
    pub async fn tab(&self) {
        self.press_key("Tab", &[]).await;
    }

    /// Press Shift+Tab: the focus moves back.
    pub async fn shift_tab(&self) {
        self.press_key("Tab", &[Modifier::Shift]).await;
    }
}
