// Exports: summaries and reports fetched with a key, handed over as a downloaded file, and the
// console's t("room.export.export") section.

import { announce, h } from "/dom.js";
import { errorText, lang, t } from "/words.js";

/** A format a summary is exported in; its label is in the reader's language when read. */
function exportFormat(value) {
  return Object.freeze({
    value,
    get label() {
      return t(`common.export.format.${value}`);
    },
  });
}

/** The formats a summary is exported in: `{value, label}`. */
export const EXPORT_FORMATS = [exportFormat("markdown"), exportFormat("json"), exportFormat("csv"), exportFormat("html")];
/** The tables a room's summary has as CSV. */
export const ROOM_TABLES = ["attendance", "stages", "pairs", "commitments"];
/** The file extension of each export format. */
export const EXT = { json: "json", markdown: "md", csv: "csv", html: "html" };
const MIME = { json: "application/json", markdown: "text/markdown", csv: "text/csv", html: "text/html" };

let lastDownload = null;

/** The last file handed over: `{format, text}` (for tests: `window.circlekeeper.lastExport`). */
export function lastExport() {
  return lastDownload;
}

/** A CSV table's name in the reader's language ("attendance"). */
export function tableName(table) {
  return ["attendance", "stages", "pairs", "commitments", "ratings"].includes(table)
    ? t(`common.export.table.${table}`)
    : table;
}

/** A title made safe for a file name: `Tuesday set` → `tuesday-set`. */
export function fileSlug(title) {
  const slug = String(title || "")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return slug || "circle";
}

/** POSTs a key and export options; resolves with the text, rejects with a readable Error. */
export async function fetchExport(url, body) {
  let res;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // Markdown and CSV come in the reader's language (headings, built-in stage names).
      body: JSON.stringify({ lang: lang(), ...body }),
    });
  } catch {
    throw new Error(t("common.export.unreachable"));
  }
  const text = await res.text();
  if (res.ok) return text;
  if (res.status === 403) throw new Error(t("common.export.forbidden"));
  if (res.status === 404) throw new Error(t("common.export.gone"));
  let message = "";
  try {
    const refusal = JSON.parse(text);
    message = refusal.message ? errorText(refusal.code, refusal.message) : "";
  } catch {
    /* not JSON */
  }
  throw new Error(message ? t("common.export.failed_because", { message }) : t("common.export.failed"));
}

/** Hands `text` over as a file, through a Blob and a temporary `<a download>`. */
export function downloadText(filename, text, format) {
  const blob = new Blob([text], { type: `${MIME[format] || "text/plain"};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename, class: "visually-hidden", tabindex: "-1" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
  lastDownload = Object.freeze({ format, filename, text });
}

/** The console's export section. Mixed into RoomScreen: `this` is the screen (its context). */
export class ExportView {
  /** t("room.export.export"): the session's summary as a file, with this device's host key. */
  buildExport() {
    const r = this.r;
    r.exportFormat = h(
      "select",
      { id: "export-format", "data-test": "export-format" },
      EXPORT_FORMATS.map((f) => h("option", { value: f.value, text: f.label })),
    );
    r.exportTable = h(
      "select",
      { id: "export-table", "data-test": "export-table" },
      ROOM_TABLES.map((table) => h("option", { value: table, text: tableName(table) })),
    );
    r.exportTableField = h(
      "div",
      { class: "field export-table", hidden: true },
      h("label", { for: "export-table", text: t("room.export.table") }),
      r.exportTable,
    );
    r.exportFormat.addEventListener("change", () => {
      r.exportTableField.hidden = r.exportFormat.value !== "csv";
    });
    r.exportPseudo = h("input", { type: "checkbox", id: "export-pseudonymise", "data-test": "export-pseudonymise" });
    r.exportStatus = h("p", { class: "hint export-status", "data-test": "export-status", role: "status" });
    r.exportButton = h("button", {
      type: "button",
      class: "secondary",
      "data-test": "export-summary",
      onclick: (e) => this.exportSummary(e.currentTarget),
      text: t("room.export.export"),
    });
    return h(
      "section",
      { class: "panel-section export", hidden: true, "aria-labelledby": "export-title" },
      h("h2", { id: "export-title", text: t("room.export.title") }),
      h("p", {
        class: "hint",
        text: t("room.export.hint"),
      }),
      h(
        "div",
        { class: "row wrap export-options" },
        h("div", { class: "field" }, h("label", { for: "export-format", text: t("room.export.format") }), r.exportFormat),
        r.exportTableField,
      ),
      h("label", { class: "check small", for: "export-pseudonymise" }, r.exportPseudo, t("room.export.hide_names")),
      h("div", { class: "row" }, r.exportButton),
      r.exportStatus,
    );
  }

  async exportSummary(control) {
    const r = this.r;
    const format = r.exportFormat.value;
    const body = {
      key: this.hostKey,
      format,
      names: r.exportPseudo.checked ? "pseudonymised" : "shown",
    };
    if (format === "csv") body.table = r.exportTable.value;
    control.disabled = true;
    r.exportStatus.textContent = t("room.export.preparing");
    try {
      const text = await fetchExport(`/api/rooms/${encodeURIComponent(this.conn.roomId)}/export`, body);
      const suffix = format === "csv" ? `-${body.table}` : "";
      downloadText(`summary-${fileSlug(this.view.title)}${suffix}.${EXT[format]}`, text, format);
      r.exportStatus.textContent = t("room.export.downloaded");
      announce(t("room.export.downloaded"));
    } catch (err) {
      r.exportStatus.textContent = err.message;
    } finally {
      control.disabled = false;
    }
  }
}

