// DOM building shared by every page: elements, focus keeping, the live region, the confirm
// dialog and the copy button.

import { t } from "/words.js";

/** Creates an element: `h("button", {class: "x", "data-test": "y", onclick: fn}, "text")`. */
export function h(tag, props = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "text") {
      el.textContent = value;
    } else if (key === "hidden" || key === "disabled" || key === "checked" || key === "open") {
      el[key] = Boolean(value);
    } else if (key === "value" && !svg) {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (nodes, texts, arrays; null and false skipped) to `el`. */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function captureFocus() {
  const el = document.activeElement;
  return el && el.dataset && el.dataset.focus ? el.dataset.focus : null;
}

/** Gives the focus back to the control with `data-focus` `key`, when it is not already there. */
export function restoreFocus(key) {
  if (!key) return;
  const active = document.activeElement;
  if (active && active.dataset && active.dataset.focus === key) return;
  const el = document.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (el && !el.disabled) el.focus({ preventScroll: true });
}

/** Sets `el`'s text only when it changed (no needless mutations for screen readers). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Shows or hides `el`, touching `hidden` only when it changes. */
export function show(el, visible) {
  const want = !visible;
  if (el.hidden !== want) el.hidden = want;
}

/** A button that acts, with `data-test` and `data-focus` both `test` (the room's controls). */
export function actionButton(test, label, onclick, cls = "secondary") {
  return h("button", { type: "button", class: cls, "data-test": test, "data-focus": test, onclick, text: label });
}

// -- the polite live region -------------------------------------------------------------------


let announceTimer = null;

/** Says `text` through the polite ARIA live region. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region || !text) return;
  clearTimeout(announceTimer);
  region.textContent = "";
  announceTimer = setTimeout(() => {
    region.textContent = text;
  }, 60);
}

// -- confirmation dialog ----------------------------------------------------------------------

/** Asks a yes/no question in a modal dialog; resolves true when confirmed. */
export function confirmDialog(message, confirmLabel = t("common.yes"), detail = "") {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title", text: message }),
      detail ? h("p", { text: detail }) : null,
      h(
        "div",
        { class: "row end" },
        h("button", { type: "button", class: "secondary", "data-test": "confirm-cancel", value: "no" }, t("common.cancel")),
        h("button", { type: "button", class: "primary", "data-test": "confirm-ok", value: "yes" }, confirmLabel),
      ),
    );
    let answered = false;
    const finish = (yes) => {
      if (answered) return;
      answered = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(yes);
    };
    dialog.addEventListener("click", (e) => {
      const btn = e.target.closest("button");
      if (btn) finish(btn.value === "yes");
    });
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('[data-test="confirm-cancel"]').focus();
  });
}

/** A button that copies `getText()` to the clipboard, saying "Copied" when it did. */
export function copyButton(
getText, label = t("common.copy"), test = null) {
  const btn = h("button", { type: "button", class: "secondary", "data-test": test, text: label });
  btn.addEventListener("click", async () => {
    const text = getText();
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch {
      ok = false;
    }
    if (!ok) {
      // Fallback for plain-http pages: copy from a temporary selection.
      const area = h("textarea", { class: "offscreen", readonly: true });
      area.value = text;
      document.body.append(area);
      area.select();
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
      area.remove();
    }
    btn.textContent = ok ? t("common.copied_button") : t("common.copy_failed_button");
    announce(ok ? t("common.copied") : t("common.copy_failed"));
    setTimeout(() => {
      btn.textContent = label;
    }, 2500);
  });
  return btn;
}

