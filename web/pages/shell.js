// What every page shares: the app's state (which page and screen is showing, the room's
// connection; read by `window.circlekeeper`), the language switch in the page's chrome, and the
// one "draw this screen again" hook a language switch calls.

import { h, topBar } from "/room.js";
import { languageSwitch, onLanguageChange, t } from "/words.js";

/** Which page, screen, room, series and connection are showing now. */
export const app = { page: null, roomId: null, seriesId: null, conn: null, screen: null };

let redraw = null;

/**
 * Sets what a language switch draws again: the page's current screen, from what it holds
 * (and what the person typed, which each page carries over itself).
 */
export function onRedraw(fn) {
  redraw = fn;
}

onLanguageChange((code) => {
  const fromSwitch = document.activeElement && document.activeElement.closest(".lang-switch");
  for (const nav of document.querySelectorAll(".lang-switch")) nav.replaceWith(languageSwitch(h));
  pageWords();
  if (redraw) redraw();
  // The switch drew itself again: keep the keyboard where it was.
  if (fromSwitch) document.querySelector(`.lang-switch [data-test="lang-${code}"]`)?.focus();
});

/**
 * Puts the language switch at the end of a top bar from `topBar()` (once), so it stays there
 * whatever the room's screen draws below the bar.
 */
export function withLanguageSwitch(bar) {
  if (!bar.el.querySelector(".lang-switch")) bar.el.append(languageSwitch(h));
  return bar;
}

/** The page's `<title>`: `what · circlekeeper`, or the name alone. */
export function setTitle(what) {
  document.title = what ? t("pages.title", { what }) : "circlekeeper";
}

/**
 * What the pages with a top bar share: the bar (with the language switch) and `draw(fn)`, which
 * shows a screen now and again, in the new words, after a language switch.
 */
export class Page {
  constructor(root) {
    this.root = root;
    this.bar = withLanguageSwitch(topBar());
    this.redraw = null;
    onRedraw(() => {
      if (this.redraw) this.redraw();
    });
  }

  /** Shows a screen now and again after a language switch. */
  draw(fn) {
    this.redraw = fn;
    fn();
  }
}

/** The words index.html holds in English until the catalog is here: the skip link, "Loading…". */
export function pageWords() {
  const skip = document.querySelector(".skip-link");
  if (skip) skip.textContent = t("pages.skipLink");
  // index.html's own "Loading…", before the first page draws (the one with the noscript text).
  const loading = document.querySelector("#app > main:has(> noscript) > .hint");
  if (loading) loading.textContent = t("pages.loading");
}
