// Words: every text the client shows comes through here. `t(key, vars)` looks a key up in the
// reader's language, falling back to English; `serverText(text)` translates the server's
// built-in texts (formats, stages, ground rules, prompts) that the room carries in English.
// The reader's language is their own choice on this device, else the browser's first language
// we ship, else English. Numbers, dates, lists and plurals are formatted per language (`Intl`).
//
// Catalogs live in `i18n/<area>.<lang>.js`, each `export default { "key": "text" }`. A text may
// hold `{name}` placeholders; a plural text is an object `{ one: "…", other: "…" }` chosen by
// `vars.count` with `Intl.PluralRules`. A test fails when any key is missing from a language.
//
// Text placed into a sentence (a name, a title) is isolated from the sentence around it with
// FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE, so a right-to-left name cannot reorder the
// words after it; numbers are formatted for the reader instead.
import commonEn from "/i18n/common.en.js";
import commonEs from "/i18n/common.es.js";
import commonDe from "/i18n/common.de.js";
import roomEn from "/i18n/room.en.js";
import roomEs from "/i18n/room.es.js";
import roomDe from "/i18n/room.de.js";
import pagesEn from "/i18n/pages.en.js";
import pagesEs from "/i18n/pages.es.js";
import pagesDe from "/i18n/pages.de.js";
import consoleEn from "/i18n/console.en.js";
import consoleEs from "/i18n/console.es.js";
import consoleDe from "/i18n/console.de.js";
import joinEn from "/i18n/join.en.js";
import joinEs from "/i18n/join.es.js";
import joinDe from "/i18n/join.de.js";
import htmlEn from "/i18n/html.en.js";
import htmlEs from "/i18n/html.es.js";
import htmlDe from "/i18n/html.de.js";
import calendarEn from "/i18n/calendar.en.js";
import calendarEs from "/i18n/calendar.es.js";
import calendarDe from "/i18n/calendar.de.js";
import privateEn from "/i18n/private.en.js";
import privateEs from "/i18n/private.es.js";
import privateDe from "/i18n/private.de.js";
import membersEn from "/i18n/members.en.js";
import membersEs from "/i18n/members.es.js";
import membersDe from "/i18n/members.de.js";
import callsEn from "/i18n/calls.en.js";
import callsEs from "/i18n/calls.es.js";
import callsDe from "/i18n/calls.de.js";
import triadsEn from "/i18n/triads.en.js";
import triadsEs from "/i18n/triads.es.js";
import triadsDe from "/i18n/triads.de.js";
import webhooksEn from "/i18n/webhooks.en.js";
import webhooksEs from "/i18n/webhooks.es.js";
import webhooksDe from "/i18n/webhooks.de.js";

/** The languages the client ships, in the order the switch lists them (each in its own words). */
export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
  { code: "de", name: "Deutsch" },
];

/** Every catalog by language: the union of its areas. */
export const CATALOGS = {
  en: { ...commonEn, ...roomEn, ...pagesEn, ...consoleEn, ...joinEn, ...htmlEn, ...calendarEn, ...privateEn, ...membersEn, ...callsEn, ...triadsEn, ...webhooksEn },
  es: { ...commonEs, ...roomEs, ...pagesEs, ...consoleEs, ...joinEs, ...htmlEs, ...calendarEs, ...privateEs, ...membersEs, ...callsEs, ...triadsEs, ...webhooksEs },
  de: { ...commonDe, ...roomDe, ...pagesDe, ...consoleDe, ...joinDe, ...htmlDe, ...calendarDe, ...privateDe, ...membersDe, ...callsDe, ...triadsDe, ...webhooksDe },
};

const LANG_KEY = "circlekeeper.lang";
const listeners = new Set();
let current = pickLanguage();
let serverTexts = {};

function shipped(code) {
  return LANGUAGES.some((l) => l.code === code);
}

/** The reader's language: their stored choice, else the browser's first shipped one, else English. */
export function pickLanguage() {
  try {
    const stored = localStorage.getItem(LANG_KEY);
    if (stored && shipped(stored)) return stored;
  } catch {
    // Storage may be unavailable (private mode): fall through to the browser's languages.
  }
  const wanted = (navigator.languages && navigator.languages.length
    ? navigator.languages
    : [navigator.language || "en"]);
  for (const tag of wanted) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (shipped(primary)) return primary;
  }
  return "en";
}

/** The language texts are shown in now (`en`, `es`, `de`). */
export function lang() {
  return current;
}

/**
 * Switches the language, keeps the choice on this device, loads the server's built-in texts for
 * it and tells every listener (pages re-render).
 */
export async function setLanguage(code) {
  if (!shipped(code)) return;
  current = code;
  try {
    localStorage.setItem(LANG_KEY, code);
  } catch {
    // The choice lasts this page only when storage is unavailable.
  }
  document.documentElement.lang = code;
  await loadServerTexts();
  for (const fn of listeners) fn(code);
}

/** Calls `fn(code)` after every language switch; returns a function that stops it. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Fetches the server's built-in texts in the current language (`GET /api/texts/{lang}`), so
 * `serverText` can translate them. English needs nothing. A failure leaves English in place.
 */
export async function loadServerTexts() {
  document.documentElement.lang = current;
  if (current === "en") {
    serverTexts = {};
    return;
  }
  try {
    const response = await fetch(`/api/texts/${current}`);
    if (!response.ok) return;
    const body = await response.json();
    serverTexts = body && typeof body.texts === "object" && body.texts ? body.texts : {};
  } catch {
    serverTexts = {};
  }
}

/** A built-in text of the server (carried in English) in the reader's language; own texts as they are. */
export function serverText(text) {
  if (typeof text !== "string") return text;
  return Object.prototype.hasOwnProperty.call(serverTexts, text) ? serverTexts[text] : text;
}

/** Codes whose server message names the field at fault: other languages show it after the sentence. */
const DETAILED = new Set(["invalid_message", "invalid_format", "invalid_text", "invalid_url"]);

/**
 * What a refusal means, for the reader: in English the server's own message (it names the field
 * at fault); in another language the catalog's sentence for the error `code` (followed by the
 * server's detail where that names a field). Unknown codes show the server's message.
 */
export function errorText(code, message) {
  const key = `common.error.${code}`;
  if (!Object.prototype.hasOwnProperty.call(CATALOGS.en, key)) {
    return message || t("common.error.internal");
  }
  if (current === "en") return message || t(key);
  const text = t(key);
  return DETAILED.has(code) && message ? `${text} (${message})` : text;
}

/** Intl formatters by kind, language and options, made once: the room redraws five times a second. */
const formatters = new Map();

function intl(Kind, options = {}) {
  const key = `${Kind.name}|${current}|${JSON.stringify(options)}`;
  let made = formatters.get(key);
  if (!made) {
    made = new Kind(current, options);
    formatters.set(key, made);
  }
  return made;
}

function lookup(key) {
  const own = CATALOGS[current];
  if (own && Object.prototype.hasOwnProperty.call(own, key)) return own[key];
  if (Object.prototype.hasOwnProperty.call(CATALOGS.en, key)) return CATALOGS.en[key];
  return null;
}

/** The text for `key` in the reader's language, with `{placeholders}` filled from `vars`. */
export function t(key, vars = {}) {
  let text = lookup(key);
  if (text === null) {
    console.warn(`circlekeeper: no text for ${key}`);
    return key;
  }
  if (typeof text === "object") {
    const count = Number(vars.count ?? 0);
    const form = intl(Intl.PluralRules).select(count);
    text = text[form] ?? text.other ?? "";
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? formatValue(vars[name]) : whole,
  );
}

/** FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE: a placed text keeps its own direction. */
const FSI = "\u2068";
const PDI = "\u2069";

/** `text` isolated from the text around it (for names and titles placed into sentences). */
export function isolate(text) {
  return `${FSI}${text}${PDI}`;
}

function formatValue(value) {
  return typeof value === "number" ? formatNumber(value) : isolate(String(value));
}

/** A number as the reader writes it (`1,5` in German). */
export function formatNumber(n, options = {}) {
  return intl(Intl.NumberFormat, options).format(n);
}

/** A list as the reader writes it ("Ana, Ben and Cy" / "Ana, Ben y Cy"). */
export function formatList(items, type = "conjunction") {
  return intl(Intl.ListFormat, { style: "long", type }).format(items.map(String));
}

/** A date (epoch ms or `YYYY-MM-DD`) as the reader writes it, by `Intl.DateTimeFormat` options. */
export function formatDate(value, options = { dateStyle: "long" }) {
  const date = typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? new Date(`${value}T12:00:00`)
    : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return intl(Intl.DateTimeFormat, options).format(date);
}

/** A time of day (epoch ms) as the reader writes it ("14:05" / "2:05 PM"). */
export function formatTime(ms) {
  return intl(Intl.DateTimeFormat, { timeStyle: "short" }).format(new Date(ms));
}

/** A duration in whole units, spelled out per language ("2 minutes", "90 Sekunden"). */
export function formatDuration(ms, unit = "auto") {
  const seconds = Math.round(ms / 1000);
  const useSeconds = unit === "second" || (unit === "auto" && seconds < 90 && seconds % 60 !== 0);
  const value = useSeconds ? seconds : Math.round(seconds / 60);
  return formatNumber(value, {
    style: "unit",
    unit: useSeconds ? "second" : "minute",
    unitDisplay: "long",
  });
}

/** A `<select>`-free language switch: one button per language, the current one pressed. */
export function languageSwitch(h) {
  const nav = h("nav", { class: "lang-switch", "aria-label": t("common.language"), "data-test": "lang-switch" });
  for (const { code, name } of LANGUAGES) {
    nav.append(
      h("button", {
        type: "button",
        class: "lang-option",
        lang: code,
        "aria-pressed": code === current ? "true" : "false",
        "data-test": `lang-${code}`,
        onclick: () => setLanguage(code),
      }, name),
    );
  }
  return nav;
}
