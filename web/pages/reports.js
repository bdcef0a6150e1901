// The community host's page, its room and report parts: each room's figures (attendance,
// duration, ratings) read from its summary, titles told apart by date, the report over a date
// range in any format, and HTML summaries and reports opened in a new tab to read or print.

import { EXPORT_FORMATS, EXT, downloadText, fetchExport, fileSlug, h } from "/room.js";
import { formatDate, formatNumber, t } from "/words.js";

const RANGE_TABLES = ["sessions", "members", "pairs"];

/**
 * Opens an HTML summary or report in a new tab (the page's stylesheet is allowed there by the
 * server's policy); resolves false when the browser blocked the tab.
 */
export function openHtml(text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/html;charset=utf-8" }));
  const tab = window.open(url, "_blank");
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return Boolean(tab);
}

/** An "Open" button for the HTML of `url`, for the item titled `title`; `body()` the options. */
export function openButton(url, title, key, body, status) {
  const button = h("button", {
    type: "button",
    class: "secondary small",
    "data-test": "host-open-html",
    // The accessible name holds the visible one (label-content-name-mismatch).
    "aria-label": t("html.host.openLabel", { title }),
    text: t("html.host.open"),
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = t("pages.host.preparing");
    try {
      const text = await fetchExport(url, { key, ...body(), format: "html" });
      status.textContent = openHtml(text) ? t("html.host.openedTab") : t("html.host.blocked");
    } catch (err) {
      status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** `ms` with date and time, to tell apart rooms of one title. */
function dateTime(ms) {
  return formatDate(ms, { dateStyle: "medium", timeStyle: "short" });
}

/** Each room's heading: its title, and its opening date and time when another room shares it. */
export function roomHeadings(rooms) {
  const counts = new Map();
  for (const r of rooms) counts.set(r.title, (counts.get(r.title) || 0) + 1);
  return new Map(
    rooms.map((r) => [
      r.room_id,
      counts.get(r.title) > 1 && typeof r.created_at === "number"
        ? t("html.host.titleOn", { title: r.title, date: dateTime(r.created_at) })
        : r.title,
    ]),
  );
}

/** The mean of `values` with one decimal, or a dash. */
function mean(values) {
  if (!values.length) return "–";
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return formatNumber(m, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** A room's figures from its summary (JSON): attendance, duration, mean ratings. */
export function roomFigures(summary) {
  const attendance = (summary.attendance || []).filter((a) => a.standing === "participant").length;
  const duration =
    typeof summary.started_at === "number" && typeof summary.ended_at === "number"
      ? t("html.room.minutes", { count: Math.round((summary.ended_at - summary.started_at) / 60000) })
      : t("html.room.notEnded");
  const pairs = [
    [t("html.room.attendance"), formatNumber(attendance), "attendance"],
    [t("html.room.duration"), duration, "duration"],
    [t("html.room.survey"), mean((summary.survey || []).map((s) => s.rating)), "survey"],
    [t("html.room.feedback"), mean((summary.feedback || []).map((f) => f.rating)), "feedback"],
  ];
  return h(
    "dl",
    { class: "room-figures", "data-test": "room-figures" },
    pairs.map(([name, value, test]) =>
      h("div", { class: "room-figure" }, h("dt", { text: name }), h("dd", { "data-test": `room-${test}`, text: value })),
    ),
  );
}

/** Loads each room's figures into its place, two rooms at a time. */
export function loadRoomFigures(places, key) {
  const queue = [...places];
  const next = async () => {
    const item = queue.shift();
    if (!item) return;
    const [roomId, place] = item;
    try {
      const url = `/api/host/rooms/${encodeURIComponent(roomId)}/export`;
      const summary = JSON.parse(await fetchExport(url, { key, format: "json" }));
      place.replaceChildren(roomFigures(summary));
      place.dataset.loaded = "true";
    } catch {
      place.replaceChildren(h("p", { class: "hint", text: t("html.room.failed") }));
    }
    await next();
  };
  next();
  next();
}

/** Midnight at the start of a `YYYY-MM-DD` day, on this device's clock (epoch ms). */
function dayStart(value) {
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d).getTime();
}

/** The date-range report: from and to dates, a format, names shown or not; download or open. */
export function rangeReport(key) {
  const field = (id, labelKey, input) =>
    h("div", { class: "field" }, h("label", { for: id, text: t(labelKey) }), input);
  const from = h("input", { id: "range-from", type: "date", "data-test": "range-from", required: true });
  const to = h("input", { id: "range-to", type: "date", "data-test": "range-to", required: true });
  const formats = [...EXPORT_FORMATS.map((f) => f.value)];
  const format = h(
    "select",
    { id: "range-format", "data-test": "range-format" },
    formats.map((f) => h("option", { value: f, text: t(`common.export.format.${f}`) })),
  );
  format.value = "html";
  const table = h(
    "select",
    { id: "range-table", "data-test": "range-table" },
    RANGE_TABLES.map((name) => h("option", { value: name, text: t(`pages.host.table.${name}`) })),
  );
  const tableField = field("range-table", "pages.host.csvTable", table);
  tableField.hidden = true;
  const pseudo = h("input", { type: "checkbox", id: "range-pseudo", "data-test": "range-pseudonymise" });
  const status = h("p", { class: "hint export-status", role: "status", "data-test": "range-status" });
  const error = h("p", { class: "error", role: "alert", "data-test": "range-error", hidden: true });
  const download = h("button", { type: "submit", class: "primary small", "data-test": "range-download", text: t("html.range.download") });
  const open = h("button", { type: "button", class: "secondary small", "data-test": "range-open", text: t("html.host.open") });
  const sync = () => {
    tableField.hidden = format.value !== "csv";
    open.hidden = format.value !== "html";
  };
  format.addEventListener("change", sync);
  sync();
  /** The request's body, or null (with the reason shown) when the dates are not right. */
  const body = () => {
    error.hidden = true;
    if (!from.value || !to.value) {
      error.textContent = t("html.range.missing");
    } else if (from.value > to.value) {
      error.textContent = t("html.range.order");
    } else {
      const end = new Date(dayStart(to.value));
      end.setDate(end.getDate() + 1);
      return {
        key,
        from: dayStart(from.value),
        to: end.getTime(),
        names: pseudo.checked ? "pseudonymised" : "shown",
        table: table.value,
      };
    }
    error.hidden = false;
    (from.value ? to : from).focus();
    return null;
  };
  const run = async (action, button) => {
    const request = body();
    if (!request) return;
    if (format.value !== "csv") delete request.table;
    button.disabled = true;
    status.textContent = t("pages.host.preparing");
    try {
      const text = await fetchExport("/api/host/report", { ...request, format: format.value });
      if (action === "open") {
        status.textContent = openHtml(text) ? t("html.host.openedTab") : t("html.host.blocked");
      } else {
        const suffix = format.value === "csv" ? `-${request.table}` : "";
        const name = `report-${fileSlug(`${from.value}-${to.value}`)}${suffix}.${EXT[format.value]}`;
        downloadText(name, text, format.value);
        status.textContent = t("pages.host.downloaded");
      }
    } catch (err) {
      status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  };
  open.addEventListener("click", () => run("open", open));
  const form = h(
    "form",
    { class: "card range-report", novalidate: true, "data-test": "range-report", "aria-labelledby": "range-title" },
    h("h2", { id: "range-title", text: t("html.range.title") }),
    h("p", { class: "hint", text: t("html.range.lead") }),
    h(
      "div",
      { class: "range-fields" },
      field("range-from", "html.range.from", from),
      field("range-to", "html.range.to", to),
      field("range-format", "html.range.format", format),
      tableField,
    ),
    h("label", { class: "check small", for: "range-pseudo" }, pseudo, " ", t("pages.host.hideNames")),
    error,
    h("div", { class: "row wrap" }, download, open),
    status,
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run("download", download);
  });
  return form;
}
