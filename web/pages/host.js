// The community host's page, `/host`: after the community host key, every room and series on
// the server, with their summaries and reports to download and each series' figures as charts.

import { EXPORT_FORMATS, EXT, ROOM_TABLES, downloadText, fetchExport, fileSlug, h } from "/room.js";
import { serverText, t } from "/words.js";
import { loadCommunityKey, saveCommunityKey } from "/storage.js";
import { Page, app, setTitle } from "/pages/shell.js";
import { attendanceChart, commitmentsLine, ratingsChart, shortDate } from "/pages/charts.js";
import { cadenceWords } from "/pages/member.js";
import { loadRoomFigures, openButton, rangeReport, roomHeadings } from "/pages/reports.js";
import { membersSection } from "/pages/members.js";
import { webhooksSection } from "/pages/webhooks.js";

const SERIES_TABLES = ["sessions", "members", "pairs"];

export class HostPage extends Page {
  constructor(root) {
    super(root);
    this.key = loadCommunityKey();
    this.data = null;
    this.reports = new Map();
  }

  start() {
    app.screen = "host";
    if (this.key) this.load();
    else this.showKeyForm();
  }

  post(path, body) {
    return fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: this.key, ...body }),
    });
  }

  /** The key form; `messageKey` a catalog key, or `message` the server's own words. */
  showKeyForm(messageKey = "", message = "") {
    app.screen = "host-key";
    this.draw(() => this.renderKeyForm(messageKey ? t(messageKey) : message));
  }

  renderKeyForm(message) {
    setTitle(t("pages.host.title"));
    const before = document.getElementById("host-key");
    const input = h("input", {
      id: "host-key",
      type: "password",
      "data-test": "host-key",
      autocomplete: "current-password",
      spellcheck: "false",
      required: true,
      "aria-describedby": "host-key-help",
      value: before ? before.value : "",
    });
    const error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: !message, text: message });
    const button = h("button", { type: "submit", class: "primary", "data-test": "host-enter", text: t("pages.host.open") });
    const form = h(
      "form",
      { class: "card", novalidate: true },
      h(
        "div",
        { class: "field" },
        h("label", { for: "host-key", text: t("pages.host.key") }),
        h("p", { class: "hint", id: "host-key-help", text: t("pages.host.keyHelp") }),
        input,
      ),
      error,
      button,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) {
        error.textContent = t("pages.host.keyMissing");
        error.hidden = false;
        input.focus();
        return;
      }
      this.key = key;
      button.disabled = true;
      button.textContent = t("pages.host.opening");
      this.load();
    });
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry host", id: "main" },
        h("h1", { text: t("pages.host.title") }),
        h("p", { class: "lead", text: t("pages.host.lead") }),
        form,
      ),
    );
    this.bar.set("circlekeeper", "", null);
    input.focus();
  }

  async load() {
    let res;
    try {
      res = await this.post("/api/host/list", {});
    } catch {
      this.showKeyForm("pages.host.unreachable");
      return;
    }
    if (res.status === 403) {
      this.key = null;
      saveCommunityKey(null);
      this.showKeyForm("pages.host.wrongKey");
      return;
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok || !data || !Array.isArray(data.rooms)) {
      if (data && data.message) this.showKeyForm("", data.message);
      else this.showKeyForm("pages.host.listFailed");
      return;
    }
    saveCommunityKey(this.key);
    this.data = data;
    this.draw(() => this.render());
  }

  /** Download buttons (JSON, Markdown, CSV with a table) and "Hide names", for one item. */
  downloads(kind, id, title, tables) {
    const base = `${kind}-${id}`;
    const pseudo = h("input", { type: "checkbox", id: `${base}-pseudo`, "data-test": "host-pseudonymise" });
    const table = h(
      "select",
      { id: `${base}-table`, "data-test": "host-table", "aria-label": t("pages.host.csvTable") },
      tables.map((name) => h("option", { value: name, text: t(`pages.host.table.${name}`) })),
    );
    const status = h("p", { class: "hint export-status", role: "status", "data-test": "host-status" });
    const url =
      kind === "room"
        ? `/api/host/rooms/${encodeURIComponent(id)}/export`
        : `/api/host/series/${encodeURIComponent(id)}/report`;
    const stem = kind === "room" ? "summary" : "report";
    const go = async (format, button) => {
      const body = { format, names: pseudo.checked ? "pseudonymised" : "shown" };
      if (format === "csv") body.table = table.value;
      button.disabled = true;
      status.textContent = t("pages.host.preparing");
      try {
        const text = await fetchExport(url, { key: this.key, ...body });
        const suffix = format === "csv" ? `-${body.table}` : "";
        downloadText(`${stem}-${fileSlug(title)}${suffix}.${EXT[format]}`, text, format);
        status.textContent = t("pages.host.downloaded");
      } catch (err) {
        status.textContent = err.message;
      } finally {
        button.disabled = false;
      }
    };
    const open = openButton(url, title, this.key, () => ({ names: pseudo.checked ? "pseudonymised" : "shown" }), status);
    const buttons = EXPORT_FORMATS.map((f) => {
      const name = f.value === "markdown" ? "Markdown" : f.value.toUpperCase();
      // The accessible name holds the visible one (label-content-name-mismatch).
      const button = h("button", {
        type: "button",
        class: "secondary small",
        "data-test": "host-download",
        "data-format": f.value,
        "aria-label": t("pages.host.download", { format: name, title }),
        text: name,
      });
      button.addEventListener("click", () => go(f.value, button));
      return button;
    });
    return h(
      "div",
      { class: "downloads" },
      h("div", { class: "row wrap" }, buttons, open, table),
      h("label", { class: "check small", for: `${base}-pseudo` }, pseudo, " ", t("pages.host.hideNames")),
      status,
    );
  }

  /** A series' report (JSON), fetched once per page. */
  report(seriesId) {
    if (!this.reports.has(seriesId)) {
      const url = `/api/host/series/${encodeURIComponent(seriesId)}/report`;
      const pending = fetchExport(url, { key: this.key, format: "json" }).then((text) => JSON.parse(text));
      pending.catch(() => this.reports.delete(seriesId));
      this.reports.set(seriesId, pending);
    }
    return this.reports.get(seriesId);
  }

  async loadFigures(seriesId, place) {
    let report = null;
    try {
      report = await this.report(seriesId);
    } catch (err) {
      place.replaceChildren(h("p", { class: "hint", text: err.message || t("pages.host.figuresFailed") }));
      return;
    }
    const sessions = Array.isArray(report.sessions) ? report.sessions : [];
    place.replaceChildren(
      h("div", { class: "charts" }, attendanceChart(sessions), ratingsChart(sessions)),
      h("p", { class: "hint", text: commitmentsLine(report.commitments || {}) }),
    );
    place.dataset.loaded = "true";
  }

  seriesItem(s) {
    const figures = h("div", { class: "figures-place", "data-test": "series-figures" }, h("p", { class: "hint", text: t("pages.host.figuresLoading") }));
    this.loadFigures(s.series_id, figures);
    return h(
      "li",
      { class: "card host-item", "data-series": s.series_id },
      h("h3", { text: s.title }),
      h("p", {
        class: "hint",
        text: [
          cadenceWords(s.cadence),
          t("pages.host.members", { count: s.members }),
          t("pages.host.sessions", { count: s.sessions.length }),
        ].join(" · "),
      }),
      this.downloads("series", s.series_id, s.title, SERIES_TABLES),
      figures,
      membersSection(s.series_id),
      webhooksSection(s.series_id),
    );
  }

  roomItem(r, headings, seriesTitle) {
    const figures = h("div", { class: "figures-place", "data-test": "room-figures-place" }, h("p", { class: "hint", text: t("html.room.loading") }));
    this.roomPlaces.push([r.room_id, figures]);
    return h(
      "li",
      { class: "card host-item", "data-room": r.room_id },
      h("h3", { "data-test": "room-title", text: headings.get(r.room_id) || r.room_id }),
      h("p", {
        class: "hint",
        text: [
          serverText(r.format),
          t("pages.host.opened", { date: shortDate(r.created_at) }),
          r.ended_at ? t("pages.host.ended", { date: shortDate(r.ended_at) }) : t("pages.host.notEnded"),
          r.series ? t("pages.host.inSeries", { series: seriesTitle.get(r.series) || t("pages.host.aSeries") }) : null,
        ]
          .filter(Boolean)
          .join(" · "),
      }),
      figures,
      this.downloads("room", r.room_id, headings.get(r.room_id) || r.title, ROOM_TABLES),
    );
  }

  render() {
    app.screen = "host";
    setTitle(t("pages.host.title"));
    const { rooms, series } = this.data;
    const headings = roomHeadings(rooms);
    this.roomPlaces = [];
    const seriesTitle = new Map(series.map((s) => [s.series_id, s.title]));
    const sorted = [...rooms].sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    const signOut = h("button", {
      type: "button",
      class: "ghost small",
      "data-test": "host-forget",
      text: t("pages.host.forget"),
      onclick: () => {
        saveCommunityKey(null);
        this.key = null;
        this.reports.clear();
        this.showKeyForm();
      },
    });
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry host wide", id: "main", "data-test": "host-page" },
        h("div", { class: "row wrap host-head" }, h("h1", { text: t("pages.host.title") }), signOut),
        rangeReport(this.key),
        h("h2", { text: t("pages.host.series") }),
        series.length
          ? h("ul", { class: "host-list", "data-test": "host-series" }, series.map((s) => this.seriesItem(s)))
          : h("p", { class: "hint", "data-test": "host-series", text: t("pages.host.noSeries") }),
        h("h2", { text: t("pages.host.rooms") }),
        rooms.length
          ? h("ul", { class: "host-list", "data-test": "host-rooms" }, sorted.map((r) => this.roomItem(r, headings, seriesTitle)))
          : h("p", { class: "hint", "data-test": "host-rooms", text: t("pages.host.noRooms") }),
      ),
    );
    this.bar.set("circlekeeper", "", null);
    loadRoomFigures(this.roomPlaces, this.key);
  }
}
