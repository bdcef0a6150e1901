// A series member's own page, `/s/{series}#member=KEY`: their sessions, entering the current
// one with the `member` command (in this tab, as the room page), and their end-of-cycle choice.

import { loadRoomMemory } from "/connection.js";
import { announce, confirmDialog, h, today } from "/room.js";
import { formatDate, t } from "/words.js";
import { keepLink, loadMemberKey, loadPrivateKey, saveMemberKey } from "/storage.js";
import { copyButton } from "/dom.js";
import { LINK_PARAM, markLinkSaved, takeMemberPrivateKey } from "/crypto.js";
import { Page, app, setTitle } from "/pages/shell.js";
import { RoomPage } from "/pages/room.js";
import { calendarSection } from "/pages/calendar.js";

/** The end-of-cycle choices, in the order the page offers them (`pages.member.choice.{value}.…`). */
const CYCLE_CHOICES = ["continue", "rematch", "end"];

/** How often a series meets, in words (`cadence` of the series). */
export function cadenceWords(cadence) {
  return ["biweekly", "monthly", "custom"].includes(cadence)
    ? t(`pages.cadence.${cadence}`)
    : t("pages.cadence.other");
}

/**
 * The member key from `#member=KEY`, removed from the address bar at once. It is kept in this
 * device's storage for the series, so the page opens again from the bare `/s/{series}` address
 * (a bookmark, the browser's history) without the link. The key for private items beside it
 * (`&private=PKEY`) is kept the same way; without one, one is made here (`crypto.js`).
 */
function takeMemberKey(seriesId) {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const fromLink = params.get("member");
  if (fromLink) {
    history.replaceState(null, "", location.pathname + location.search);
    saveMemberKey(seriesId, fromLink);
    takeMemberPrivateKey(seriesId, params);
    return fromLink;
  }
  const kept = loadMemberKey(seriesId);
  if (kept) takeMemberPrivateKey(seriesId, params);
  return kept;
}

/** `2027-03-01` → "Mon, Mar 1, 2027" in the reader's language (a local date). */
function longDate(day) {
  return formatDate(day, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
}

export class MemberPage extends Page {
  constructor(root, seriesId) {
    super(root);
    this.seriesId = seriesId;
    this.key = takeMemberKey(seriesId);
    this.data = null;
  }

  start() {
    app.screen = "member";
    if (!this.key) {
      this.showMessage("pages.member.noKey");
      return;
    }
    this.draw(() => this.renderLoading());
    this.load();
  }

  /** `POST /api/series/{id}/me`: the series, my name and sessions; with `choice`, records it. */
  async request(choice = null) {
    const body = { key: this.key };
    if (choice) body.choice = choice;
    let res;
    try {
      res = await fetch(`/api/series/${encodeURIComponent(this.seriesId)}/me`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      return { problem: "network" };
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (res.ok && data && typeof data.name === "string") return { data };
    if (res.status === 403) return { problem: "invalid_key" };
    if (res.status === 404) return { problem: "not_found" };
    return { problem: "server", message: data && data.message };
  }

  async load() {
    const { data, problem, message } = await this.request();
    if (data) {
      this.data = data;
      this.draw(() => this.render());
      return;
    }
    this.showProblem(problem, message);
  }

  showProblem(problem, message) {
    if (problem === "invalid_key") {
      saveMemberKey(this.seriesId, null);
      this.showMessage("pages.member.invalidKey");
    } else if (problem === "not_found") {
      this.showMessage("pages.member.notFound");
    } else {
      this.showMessage("pages.member.unreachable", message, () =>
        h("button", { type: "button", class: "primary", onclick: () => this.start(), text: t("pages.tryAgain") }),
      );
    }
  }

  renderLoading() {
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: t("pages.member.eyebrow") }),
        h("p", { class: "hint", role: "status", text: t("pages.loading") }),
      ),
    );
    this.bar.set("circlekeeper", "", null);
  }

  /** A page with only a message: `pages.member.{what}.title` and `.text` (or the server's). */
  showMessage(what, message = null, action = null) {
    app.screen = "member-closed";
    this.draw(() => {
      const title = t(`${what}.title`);
      this.root.replaceChildren(
        this.bar.el,
        h(
          "main",
          { class: "entry", id: "main" },
          h("h1", { "data-test": "closed-title", text: title }),
          h("p", { class: "lead", text: message || t(`${what}.text`) }),
          action ? h("div", { class: "row wrap" }, action()) : null,
        ),
      );
      this.bar.set("circlekeeper", "", null);
      setTitle(title);
    });
    announce(t(`${what}.title`));
  }

  /**
   * When this device made the key for my private items (my link had none): the complete link to
   * save, and what it means, until I say I saved it.
   */
  privateLinkSection() {
    const kept = loadPrivateKey(`series.${this.seriesId}`);
    if (!kept || !kept.made || !this.key) return null;
    const link = `${location.origin}/s/${encodeURIComponent(this.seriesId)}#member=${this.key}&${LINK_PARAM}=${kept.key}`;
    return h(
      "section",
      { class: "card private-link", "data-test": "private-link", "aria-labelledby": "private-link-title" },
      h("h2", { id: "private-link-title", text: t("private.link_title") }),
      h("p", { text: t("private.link_text") }),
      h("code", { class: "link", "data-test": "private-link-url", text: link }),
      h(
        "div",
        { class: "row wrap" },
        copyButton(() => link, t("private.link_copy"), "private-link-copy"),
        h("button", {
          type: "button",
          class: "secondary",
          "data-test": "private-link-saved",
          onclick: () => {
            markLinkSaved(this.seriesId);
            this.render();
          },
          text: t("private.link_saved"),
        }),
      ),
    );
  }

  /** The current session: one primary action, and what it does. */
  enterSection(current) {
    const d = this.data;
    const inCurrent = current ? loadRoomMemory(current) : null;
    const ended = d.choice === "end";
    const monthly = d.cadence === "monthly";
    const enterLabel = t(monthly ? "pages.member.enterMonth" : "pages.member.enterCurrent");
    const enter = h("button", {
      type: "button",
      class: "primary big",
      "data-test": "member-enter",
      onclick: () => this.enter(current),
      text: inCurrent ? t("pages.member.enterAgain", { label: enterLabel }) : enterLabel,
    });
    let enterNote = "";
    if (!current) {
      enterNote = t("pages.member.noSession");
      enter.hidden = true;
    } else if (ended && !inCurrent) {
      enterNote = t("pages.member.endedNote");
      enter.disabled = true;
    } else if (inCurrent) {
      enterNote = t("pages.member.enteredBefore");
    } else {
      enterNote = t("pages.member.enterNote");
    }
    const planned = (Array.isArray(d.planned) ? d.planned : []).filter((day) => day >= today());
    const again = h("button", {
      type: "button",
      class: "secondary",
      "data-test": "member-refresh",
      onclick: () => {
        this.draw(() => this.renderLoading());
        this.load();
      },
      text: t("pages.member.checkAgain"),
    });
    const heading = !current ? "pages.member.next" : monthly ? "pages.member.thisMonth" : "pages.member.current";
    return h(
      "section",
      { class: "card", "aria-labelledby": "now-title" },
      h("h2", { id: "now-title", text: t(heading) }),
      h("p", { class: "hint", text: enterNote }),
      enter,
      current ? null : again,
      planned.length
        ? h("p", { class: "planned", "data-test": "member-planned" }, t("pages.member.planned"), planned.map(longDate).join(" · "))
        : null,
    );
  }

  /** The sessions so far; the ones entered on this device open again. */
  sessionsSection(rooms) {
    const sessions = rooms.map((room, i) => {
      const here = loadRoomMemory(room);
      const isCurrent = i === rooms.length - 1;
      const name = t("pages.member.session", { n: i + 1 });
      return h(
        "li",
        { "data-room": room, class: isCurrent ? "current" : null },
        h("span", { class: "session-name", text: name }),
        isCurrent ? h("span", { class: "chip", text: t("pages.member.currentChip") }) : null,
        !isCurrent && here
          ? h("button", {
              type: "button",
              class: "ghost small",
              "aria-label": t("pages.member.openAgain", { session: name }),
              onclick: () => this.enter(room),
              text: t("pages.member.open"),
            })
          : null,
      );
    });
    return h(
      "section",
      { class: "card", "aria-labelledby": "sessions-title" },
      h("h2", { id: "sessions-title", text: t("pages.member.sessions") }),
      h("ol", { class: "sessions", "data-test": "member-sessions" }, sessions),
    );
  }

  /** The end-of-cycle choice: saved as soon as it is picked (ending asks first). */
  cycleSection() {
    const d = this.data;
    const status = h("p", { class: "choice-status", "data-test": "cycle-choice-status", role: "status" });
    const setStatus = (choice) => {
      status.textContent = CYCLE_CHOICES.includes(choice)
        ? t("pages.member.saved", { what: t(`pages.member.choice.${choice}.saved`) })
        : t("pages.member.notChosen");
      status.dataset.choice = choice || "";
    };
    setStatus(d.choice);
    const radios = [];
    const options = CYCLE_CHOICES.map((value) => {
      const id = `cycle-${value}`;
      const input = h("input", {
        type: "radio",
        name: "cycle-choice",
        id,
        value,
        "data-test": "cycle-choice",
        "aria-describedby": `${id}-detail`,
        checked: d.choice === value,
      });
      radios.push(input);
      input.addEventListener("change", () => {
        if (input.checked) this.choose(value, radios, setStatus);
      });
      return h(
        "label",
        { class: "choice", for: id },
        input,
        h(
          "span",
          { class: "choice-text" },
          h("span", { class: "choice-label", text: t(`pages.member.choice.${value}.label`) }),
          h("span", { class: "choice-detail", id: `${id}-detail`, text: t(`pages.member.choice.${value}.detail`) }),
        ),
      );
    });
    return h(
      "section",
      { class: "card", "aria-labelledby": "cycle-title" },
      h("h2", { id: "cycle-title", text: t("pages.member.cycleTitle") }),
      ...cycleLines(d.cycle),
      h("p", { class: "hint", text: t("pages.member.cycleHint") }),
      h("fieldset", { class: "choices" }, h("legend", { class: "visually-hidden", text: t("pages.member.cycleTitle") }), options),
      status,
    );
  }

  render() {
    app.screen = "member";
    const d = this.data;
    const rooms = Array.isArray(d.rooms) ? d.rooms : [];
    const current = rooms.length ? rooms[rooms.length - 1] : null;
    setTitle(d.title);
    const cadence = t("pages.member.cadence", {
      meets: cadenceWords(d.cadence),
      cycle: t("pages.member.months", { count: d.cycle_months }),
    });
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry member", id: "main", "data-test": "member-page" },
        h("p", { class: "eyebrow", text: t("pages.member.eyebrow") }),
        h("h1", { "data-test": "series-title", text: d.title }),
        h("p", { class: "lead" }, t("pages.member.hello"), h("strong", { "data-test": "member-name", text: d.name }), t("pages.member.helloEnd")),
        h("p", { class: "hint", text: cadence }),
        this.privateLinkSection(),
        this.enterSection(current),
        rooms.length ? this.sessionsSection(rooms) : null,
        this.cycleSection(),
        calendarSection(this),
        h("p", { class: "private-note", text: t("pages.member.private") }),
      ),
    );
    this.bar.set(d.title, "", null);
  }

  async choose(choice, radios, setStatus) {
    const before = this.data.choice || null;
    const revert = () => {
      for (const r of radios) r.checked = r.value === before;
    };
    if (choice === "end") {
      const ok = await confirmDialog(t("pages.member.endConfirm"), t("pages.member.endButton"), t("pages.member.endDetail"));
      if (!ok) {
        revert();
        radios.find((r) => r.value === (before || "end"))?.focus();
        return;
      }
    }
    for (const r of radios) r.disabled = true;
    const { data, problem, message } = await this.request(choice);
    for (const r of radios) r.disabled = false;
    if (data) {
      this.data = data;
      setStatus(data.choice);
      announce(t("pages.member.choiceSaved"));
      // Ending (or taking it back), or answering the cycle's question, changes what the page
      // offers.
      const answered = Boolean(document.querySelector('[data-test="cycle-asking"]')) && !(data.cycle && Number.isInteger(data.cycle.asking));
      if ((before === "end") !== (data.choice === "end") || answered) {
        this.render();
        document.querySelector(`[data-test="cycle-choice"][value="${data.choice}"]`)?.focus();
      }
      return;
    }
    revert();
    if (problem === "invalid_key" || problem === "not_found") {
      this.showProblem(problem, message);
      return;
    }
    const status = document.querySelector('[data-test="cycle-choice-status"]');
    if (status) status.textContent = t("pages.member.choiceFailed");
  }

  /** Enters a room of the series in this page: the room's own address, the member command. */
  enter(roomId) {
    if (!roomId) return;
    const link = { mode: "member", key: this.key, series: this.seriesId };
    keepLink(roomId, link);
    history.pushState(null, "", `/r/${encodeURIComponent(roomId)}`);
    app.page = "room";
    app.roomId = roomId;
    const page = new RoomPage(this.root, roomId, link);
    page.start();
  }
}

/**
 * Where the series is in its cycles (`MemberView.cycle`): the question when the series asks it
 * (a cycle ended and this member has not answered), how far the cycle has come, and the
 * member's earlier choices as a reminder.
 */
function cycleLines(cycle) {
  if (!cycle || typeof cycle !== "object") return [];
  const lines = [];
  if (Number.isInteger(cycle.asking)) {
    lines.push(h("p", { class: "lead", "data-test": "cycle-asking", text: t("members.cycle.asking", { cycle: cycle.asking }) }));
  } else {
    lines.push(
      h("p", {
        class: "hint",
        "data-test": "cycle-progress",
        text: t("members.cycle.progress", { cycle: cycle.current, done: cycle.sessions_done, total: cycle.sessions_per_cycle }),
      }),
    );
  }
  const previous = Array.isArray(cycle.previous) ? cycle.previous : [];
  const known = previous.filter((p) => Array.isArray(p) && CYCLE_CHOICES.includes(p[1]));
  if (known.length) {
    lines.push(
      h("h3", { id: "cycle-previous-title", text: t("members.cycle.previousTitle") }),
      h(
        "ul",
        { "data-test": "cycle-previous", "aria-labelledby": "cycle-previous-title" },
        known.map(([n, choice]) =>
          h("li", { text: t("members.cycle.previousItem", { cycle: n, choice: t(`pages.member.choice.${choice}.label`) }) }),
        ),
      ),
    );
  }
  return lines;
}
