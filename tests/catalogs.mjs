// Checks the web client's message catalogs (run by tests/catalogs.rs under Node.js):
// every language has exactly the English keys of each area, the same plural forms its
// language needs, the same {placeholders}; and every key the client's code names with
// t("…") exists in English. Prints a JSON report: {problems: [...], keys: N}.

import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const web = process.argv[2];
const i18n = join(web, "i18n");

async function load(file) {
  const text = readFileSync(join(i18n, file), "utf8");
  const module = await import(`data:text/javascript;base64,${Buffer.from(text).toString("base64")}`);
  return module.default;
}

const problems = [];
const files = readdirSync(i18n).filter((f) => /^[a-z]+\.[a-z]{2}\.js$/.test(f));
const areas = [...new Set(files.map((f) => f.split(".")[0]))].sort();
const langs = [...new Set(files.map((f) => f.split(".")[1]))].sort();
if (!langs.includes("en")) problems.push("no English catalog");

function placeholders(text) {
  const forms = typeof text === "object" && text !== null ? Object.values(text) : [text];
  const names = new Set();
  for (const form of forms) for (const m of String(form).matchAll(/\{(\w+)\}/g)) names.add(m[1]);
  return [...names].sort().join(",");
}

// The plural forms a language needs for the counts people see (0 to 1000), plus `other`, which
// t() falls back to. Spanish's CLDR category "many" only covers round millions (1e6, "un millón
// de"), where `other` reads right with digits, so it is not required; Polish's "few"/"many" are.
function pluralForms(lang) {
  const rules = new Intl.PluralRules(lang);
  const forms = new Set(["other"]);
  for (let n = 0; n <= 1000; n += 1) forms.add(rules.select(n));
  return [...forms];
}

const english = {};
let keys = 0;
for (const area of areas) {
  const en = await load(`${area}.en.js`);
  Object.assign(english, en);
  keys += Object.keys(en).length;
  for (const lang of langs) {
    if (lang === "en") continue;
    let other;
    try {
      other = await load(`${area}.${lang}.js`);
    } catch (e) {
      problems.push(`${area}.${lang}.js: cannot be loaded (${e.message})`);
      continue;
    }
    for (const [key, text] of Object.entries(en)) {
      if (!(key in other)) {
        problems.push(`${area}.${lang}.js: missing "${key}"`);
        continue;
      }
      const theirs = other[key];
      if (typeof text === "object" && text !== null) {
        if (typeof theirs !== "object" || theirs === null) {
          problems.push(`${area}.${lang}.js: "${key}" must be a plural object`);
          continue;
        }
        for (const form of pluralForms(lang)) {
          if (!(form in theirs) && !("other" in theirs && form === "other")) {
            problems.push(`${area}.${lang}.js: "${key}" lacks the plural form "${form}"`);
          }
        }
      } else if (typeof theirs !== "string") {
        problems.push(`${area}.${lang}.js: "${key}" must be a string`);
        continue;
      }
      if (placeholders(text) !== placeholders(theirs)) {
        problems.push(
          `${area}.${lang}.js: "${key}" has placeholders {${placeholders(theirs)}}, English has {${placeholders(text)}}`,
        );
      }
      if (String(typeof theirs === "object" ? Object.values(theirs).join("") : theirs).trim() === "") {
        problems.push(`${area}.${lang}.js: "${key}" is empty`);
      }
    }
    for (const key of Object.keys(other)) {
      if (!(key in en)) problems.push(`${area}.${lang}.js: "${key}" is not an English key`);
    }
  }
}

// Every t("literal") in the client's code names an English key.
function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === "i18n") continue;
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith(".js")) out.push(path);
  }
  return out;
}
for (const file of sources(web)) {
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/\bt\(\s*["'`]([a-z0-9_.-]+)["'`]/g)) {
    if (!(m[1] in english)) problems.push(`${file}: t("${m[1]}") has no English text`);
  }
}

console.log(JSON.stringify({ problems, keys, areas, langs }));
