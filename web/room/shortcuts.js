// The facilitator's keyboard shortcuts: single keys for the console's frequent actions, the
// "Keyboard shortcuts" button and the dialog that lists them.
//
// A shortcut presses the console's own button (so it asks what the button asks, and does
// nothing when the button is hidden or disabled). It never fires while typing in a field, with
// Ctrl, Alt or Meta held, while a dialog is open, or for someone who is not facilitating.
// Screen readers in browse mode keep single letters for themselves: there the shortcuts work in
// focus (forms) mode, and every action stays a button.

import { h } from "/dom.js";
import { t } from "/words.js";

/** Each shortcut: the keys that fire it (as `KeyboardEvent.key`), the key shown, what it does. */
export const SHORTCUTS = [
  { keys: ["n", "N"], shown: "N", action: "console.keys.next_turn", press: (r) => [r.nextTurn] },
  { keys: ["s", "S"], shown: "S", action: "console.keys.next_stage", press: (r) => [r.next, r.callBack] },
  { keys: ["p", "P"], shown: "P", action: "console.keys.pause", press: (r) => [r.pause, r.resume] },
  { keys: ["m", "M", "+"], shown: "M", action: "console.keys.plus_1", press: (r) => [r.plus1] },
  { keys: ["h", "H"], shown: "H", action: "console.keys.give_floor", press: (r) => [r.giveFloor] },
];

/** Whether `el` takes typed text (or a choice), so that letters typed there are not shortcuts. */
function typingIn(el) {
  if (!el || !(el instanceof Element)) return false;
  if (el.isContentEditable) return true;
  if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
  if (el.tagName !== "INPUT") return false;
  const notText = ["button", "checkbox", "radio", "submit", "reset", "range", "color", "file", "image"];
  return !notText.includes((el.type || "text").toLowerCase());
}

/** Whether a button is on screen and can be pressed. */
function pressable(b) {
  return Boolean(b) && b.isConnected && !b.disabled && !b.closest("[hidden]") && b.getClientRects().length > 0;
}

/** The shortcuts and their help. Mixed into RoomScreen: `this` is the screen (its context). */
export class ShortcutsView {
  /** The "Keyboard shortcuts" button (the console's first control) and the keys on the buttons. */
  buildShortcuts() {
    const r = this.r;
    r.shortcutsButton = h("button", {
      type: "button",
      class: "ghost small",
      "data-test": "shortcuts-button",
      "data-focus": "shortcuts-button",
      "aria-keyshortcuts": "?",
      "aria-haspopup": "dialog",
      onclick: () => this.openShortcuts(r.shortcutsButton),
      text: t("console.keys.button"),
    });
    r.consoleBar = h("div", { class: "console-bar", hidden: true }, r.shortcutsButton);
    r.nextTurn.setAttribute("aria-keyshortcuts", "N");
    r.next.setAttribute("aria-keyshortcuts", "S");
    r.callBack.setAttribute("aria-keyshortcuts", "S");
    r.giveFloor.setAttribute("aria-keyshortcuts", "H");
  }

  /** Acts on a key pressed anywhere on the page, when it is one of the console's shortcuts. */
  shortcutKey(e) {
    if (e.defaultPrevented || e.repeat || e.ctrlKey || e.altKey || e.metaKey) return;
    if (!this.r || this.r.consoleBar.hidden || !this.root.isConnected) return;
    if (typingIn(e.target) || typingIn(document.activeElement)) return;
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "?") {
      e.preventDefault();
      this.openShortcuts(document.activeElement);
      return;
    }
    const shortcut = SHORTCUTS.find((s) => s.keys.includes(e.key));
    if (!shortcut) return;
    const button = shortcut.press(this.r).find(pressable);
    if (!button) return;
    e.preventDefault();
    button.click();
  }

  /** The dialog listing the shortcuts; the focus goes back to `opener` when it closes. */
  openShortcuts(opener) {
    const rows = [...SHORTCUTS.map((s) => [s.shown, t(s.action)]), ["?", t("console.keys.help")]];
    const close = h("button", {
      type: "button",
      class: "primary",
      "data-test": "shortcuts-close",
      text: t("console.keys.close"),
    });
    const dialog = h(
      "dialog",
      { class: "confirm shortcuts", "aria-labelledby": "shortcuts-title", "data-test": "shortcuts-dialog" },
      h("h2", { id: "shortcuts-title", text: t("console.keys.title") }),
      h("p", { class: "hint", text: t("console.keys.intro") }),
      h(
        "dl",
        { class: "shortcut-list" },
        rows.map(([key, what]) => [h("dt", {}, h("kbd", { text: key })), h("dd", { text: what })]),
      ),
      h("div", { class: "row end" }, close),
    );
    const back = opener && opener instanceof HTMLElement && opener !== document.body ? opener : this.r.shortcutsButton;
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (back.isConnected && !back.disabled) back.focus({ preventScroll: true });
      else this.r.shortcutsButton.focus({ preventScroll: true });
    });
    document.body.append(dialog);
    dialog.showModal();
    close.focus();
  }
}
