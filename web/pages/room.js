// The room page, `/r/{room}#join=KEY` or `#host=KEY`: entering a room (a display name, the
// ground rules and consent; or a series member's personal key; or a stored personal token,
// which resumes), then the room itself (room.js's `RoomScreen`) over the websocket
// (connection.js), and what a closed connection means for the person.

import { Connection, forgetRoom, loadRoomMemory, saveRoomMemory } from "/connection.js";
import { RoomScreen, announce, h, participantById } from "/room.js";
import { formatDate, formatTime, serverText, t } from "/words.js";
import {
  dropLink,
  keepLink,
  loadGuestKey,
  loadHostKey,
  loadInviteUrl,
  loadLink,
  rememberName,
  rememberedName,
  saveGuestKey,
  saveHostKey,
  saveInviteUrl,
} from "/storage.js";
import { askCycle } from "/pages/cycle-ask.js";
import { Page, app } from "/pages/shell.js";
import { ScheduleCard } from "/room/schedule.js";

/** Refusals that end the connection, each with a title and a text (`pages.closed.{reason}.…`). */
const FATAL_REASONS = [
  "room_not_found",
  "room_unavailable",
  "invalid_key",
  "invalid_token",
  "forbidden",
  "removed",
  "left",
  "deleted",
  "outdated",
  "too_many_attempts",
];

/** What a refusal means for someone who came with their personal series link. */
const MEMBER_FATAL_REASONS = ["invalid_key", "forbidden"];

/**
 * The key from `#join=KEY` / `#host=KEY`, removed from the address bar at once so it is not
 * left on screen. Until the welcome it is kept for this tab only (a reload before entering
 * still works), then forgotten. A series member's page leaves `{mode: "member", key, series}`
 * here before it enters the room (`keepLink`).
 */
function takeLink(roomId) {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  let link = null;
  if (params.get("host")) link = { mode: "host", key: params.get("host") };
  else if (params.get("join")) link = { mode: "join", key: params.get("join") };
  if (link) {
    history.replaceState(null, "", location.pathname + location.search);
    if (link.mode === "host") saveHostKey(roomId, link.key);
    keepLink(roomId, link);
    return link;
  }
  return loadLink(roomId);
}

/** Refusals of an entry that are about the name typed: shown next to the name field. */
const NAME_PROBLEMS = ["name_taken", "invalid_text"];

/** The text for an entry the server refused with `err` (and did not close the connection). */
function entryProblemText(err) {
  if (err.code === "name_taken") return t("join.page.nameTaken");
  if (err.code === "invalid_text") return t("join.page.nameInvalid");
  if (err.code === "session_ended") return t("pages.join.sessionEnded");
  if (err.code === "room_full") return t("pages.join.roomFull", { count: 64 });
  return err.message || t("pages.somethingWrong");
}

/** A page's `<main class="entry">` with a heading and what follows. */
function entryMain(title, ...children) {
  return h("main", { class: "entry", id: "main" }, h("h1", { "data-test": "closed-title", text: title }), ...children);
}

export class RoomPage extends Page {
  /** `link` is given by the member page (it is also kept for this tab, for a reload). */
  constructor(root, roomId, link = null) {
    super(root);
    this.roomId = roomId;
    this.link = link || takeLink(roomId);
    this.memory = loadRoomMemory(roomId);
    // A series room entered with a personal link: its member page, to come back to.
    const series = (this.link && this.link.series) || (this.memory && this.memory.series) || null;
    this.seriesUrl = series ? `/s/${encodeURIComponent(series)}` : null;
    this.roomScreen = null;
    this.stage = null;
    this.notice = "";
    this.preview = null;
  }

  setStage(stage) {
    this.stage = stage;
    app.screen = stage;
  }

  newConnection() {
    const conn = new Connection(this.roomId, {
      onView: () => this.render(),
      onEvent: (event, replayed) => {
        if (this.roomScreen) this.roomScreen.handleEvent(event, replayed);
      },
      onFatal: (reason, code, message) => this.fatal(reason, message),
    });
    this.conn = conn;
    app.conn = conn;
    return conn;
  }

  start() {
    const m = this.memory;
    // A token on this device resumes as the same participant; a host link opened on a device
    // that joined with the join link makes a facilitator instead.
    if (m && !(this.link && this.link.mode === "host" && m.via !== "host")) {
      this.resume(m.token);
    } else if (this.link && this.link.mode === "member") {
      this.enterAsMember();
    } else if (this.link) {
      this.showName();
    } else {
      this.showNoLink();
    }
  }

  resume(token) {
    this.newConnection();
    this.setStage("connecting");
    this.draw(() => this.renderConnecting("pages.connecting.back"));
    this.conn
      .resumeWith(token)
      .then(() => this.afterWelcome())
      .catch(() => {
        // Fatal refusals arrive through onFatal; other failures keep retrying.
      });
  }

  // -- screens -----------------------------------------------------------------------------

  renderConnecting(titleKey) {
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: t(titleKey) }),
        h("p", { class: "hint", text: t("pages.connecting.hint") }),
      ),
    );
    this.bar.set("circlekeeper", "", this.conn.status);
  }

  showNoLink() {
    this.setStage("no-link");
    this.draw(() => {
      this.root.replaceChildren(
        this.bar.el,
        h(
          "main",
          { class: "entry", id: "main" },
          h("h1", { text: t("pages.noLink.title") }),
          h("p", { text: t("pages.noLink.text") }),
          h("p", {}, h("a", { href: "/", text: t("pages.noLink.create") })),
        ),
      );
      this.bar.set("circlekeeper", "", null);
    });
  }

  /**
   * One form: a display name, the promise to keep the ground rules, enter. Sends `join` (or
   * `host`), then `accept_ground_rules`. The room's own ground rules come with the preview the
   * link's key opens (else with the welcome, and the room shows them in full at once). The
   * ground rules are shown in full, not in a scroll box the keyboard could not reach.
   */
  showName() {
    if (!this.conn || this.conn.status === "closed") this.newConnection();
    this.setStage("name");
    this.draw(() => this.renderName());
    if (this.preview === null) this.loadPreview();
  }

  loadPreview() {
    this.preview = false;
    fetch(`/api/rooms/${encodeURIComponent(this.roomId)}/preview`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: this.link.key }),
    })
      .then((r) => (r.ok ? r.json() : null))
      .then((preview) => {
        if (!preview || typeof preview.ground_rules !== "string") return;
        this.preview = preview;
        if (this.stage === "name" && this.showRules) this.showRules();
      })
      .catch(() => {});
  }

  /** Whether the ground rules were shown before entering (then the room need not show them). */
  get previewed() {
    return Boolean(this.preview) && typeof this.preview.ground_rules === "string";
  }

  /**
   * Which circle the link opens, from the preview: its title, format, the facilitator in the
   * room (if one is) and when it started. Names and titles keep their own direction.
   */
  circleFacts() {
    const p = this.preview;
    const fact = (test, label, value, dir = null) => [
      h("dt", { text: label }),
      h("dd", { "data-test": test, dir, title: dir ? value : null, text: value }),
    ];
    let when = t("join.page.notStarted");
    if (p.status === "ended") when = t("join.page.ended");
    else if (typeof p.started_at === "number") {
      when = t("join.page.startedAt", {
        date: formatDate(p.started_at, { dateStyle: "medium" }),
        time: formatTime(p.started_at),
      });
    }
    return h(
      "dl",
      { class: "circle-facts", "data-test": "circle-facts" },
      fact("circle-title", t("join.page.circle"), p.title, "auto"),
      fact("circle-format", t("join.page.format"), serverText(p.format)),
      p.facilitator ? fact("circle-facilitator", t("join.page.facilitator"), p.facilitator, "auto") : null,
      fact("circle-when", t("join.page.when"), when),
    );
  }

  renderName() {
    const host = this.link.mode === "host";
    // What the person typed survives a language switch.
    const before = {
      name: document.getElementById("name"),
      consent: document.getElementById("consent"),
    };
    const input = h("input", {
      id: "name",
      name: "name",
      type: "text",
      "data-test": "name-input",
      maxlength: "60",
      autocomplete: "nickname",
      autocapitalize: "words",
      spellcheck: "false",
      required: true,
      "aria-describedby": "name-help name-error",
      value: before.name ? before.name.value : rememberedName(),
    });
    const checkbox = h("input", {
      type: "checkbox",
      id: "consent",
      "data-test": "consent-checkbox",
      "aria-describedby": "rules-about",
      checked: before.consent ? before.consent.checked : false,
    });
    const error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: true });
    // A problem with the name (missing, taken, too long) is said next to the name field.
    const nameError = h("p", { class: "error", id: "name-error", "data-test": "name-error", role: "alert", hidden: true });
    const facts = h("div", { class: "circle-about" });
    const enterText = t("pages.join.enter");
    const button = h("button", { type: "submit", class: "primary big", "data-test": "enter-button", text: enterText });
    // Until the room's own ground rules arrive (the link's key opens a preview), a summary.
    const consentText = h("span", { text: t("pages.join.agreeSummary") });
    const rulesAbout = h("div", { class: "rules-about", id: "rules-about" }, h("p", { text: t("pages.join.rulesSummary") }));
    this.showRules = () => {
      facts.replaceChildren(this.circleFacts());
      rulesAbout.replaceChildren(
        h("div", { class: "ground-rules", "data-test": "ground-rules", text: serverText(this.preview.ground_rules) }),
        h("p", { class: "hint", text: t("pages.join.leaveAnyTime") }),
      );
      consentText.textContent = t("pages.join.agree");
    };
    if (this.previewed) this.showRules();
    const form = h(
      "form",
      { class: "card", novalidate: true },
      h(
        "div",
        { class: "field" },
        h("label", { for: "name", text: t("pages.join.name") }),
        h("p", { class: "hint", id: "name-help", text: t("pages.join.nameHelp") }),
        input,
        nameError,
      ),
      h("h2", { class: "rules-title", text: t("pages.join.rules") }),
      rulesAbout,
      h("label", { class: "check big", for: "consent" }, checkbox, consentText),
      // Private items are sealed with a key kept on this device (crypto.js): say what that means.
      h("p", { class: "hint private-note", "data-test": "private-join-note", text: t("private.join_note") }),
      error,
      button,
    );
    const fail = (text, focus) => {
      const aboutName = focus === input;
      const place = aboutName ? nameError : error;
      (aboutName ? error : nameError).hidden = true;
      place.textContent = text;
      place.hidden = false;
      if (aboutName) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      button.disabled = false;
      button.textContent = enterText;
      if (focus) focus.focus();
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return fail(t("pages.join.nameMissing"), input);
      if (!checkbox.checked) return fail(t("pages.join.consentMissing"), checkbox);
      error.hidden = true;
      nameError.hidden = true;
      input.removeAttribute("aria-invalid");
      button.disabled = true;
      button.textContent = t("pages.join.entering");
      let welcome;
      try {
        const series = this.preview ? this.preview.series : null;
        welcome = await this.conn.enter(this.link.mode, this.link.key, name, loadGuestKey(series));
        if (welcome.guest_key) saveGuestKey(series, welcome.guest_key);
      } catch (err) {
        if (this.conn.status === "closed") return undefined; // onFatal shows what happened
        return fail(entryProblemText(err), NAME_PROBLEMS.includes(err.code) ? input : button);
      }
      rememberName(name);
      saveRoomMemory(this.roomId, { token: welcome.token, you: welcome.you, via: this.link.mode });
      dropLink(this.roomId);
      try {
        await this.conn.send("accept_ground_rules");
      } catch (err) {
        if (this.conn.status === "closed") return undefined;
        if (err.code !== "session_ended") {
          // Entered, but not yet agreed: the consent screen asks again, with the full text.
          this.showConsent(err.message);
          return undefined;
        }
      }
      this.enterRoom(true);
      return undefined;
    });
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: t(host ? "pages.join.titleHost" : "pages.join.title") }),
        this.notice ? h("p", { class: "notice", role: "status", text: t(this.notice) }) : null,
        h("p", { class: "lead", text: t("pages.join.lead") }),
        facts,
        host ? h("p", { class: "private-note", text: t("pages.join.hostNote") }) : null,
        form,
      ),
    );
    this.bar.set("circlekeeper", "", null);
    input.focus();
  }

  /**
   * Enters with a series member's personal key (`member`): no name to type, the series knows it.
   * The room's ground rules come with the welcome; someone who has not agreed to them yet gets
   * the consent screen next.
   */
  async enterAsMember() {
    if (!this.conn || this.conn.status === "closed") this.newConnection();
    this.setStage("connecting");
    this.draw(() => this.renderConnecting("pages.connecting.member"));
    let welcome;
    try {
      welcome = await this.conn.enterMember(this.link.series, this.link.key);
    } catch (err) {
      if (this.conn.status === "closed") return; // onFatal shows what happened
      this.showEntryProblem(err);
      return;
    }
    const { series, key } = this.link;
    saveRoomMemory(this.roomId, { token: welcome.token, you: welcome.you, via: "member", series });
    dropLink(this.roomId);
    this.afterWelcome();
    askCycle(series, key);
  }

  /** A member's entry that did not work but may work later (ended, full, no network). */
  showEntryProblem(err) {
    this.setStage("entry-problem");
    const ended = err.code === "session_ended";
    const titleKey = ended ? "pages.entryProblem.ended" : err.code === "room_full" ? "pages.entryProblem.full" : "pages.entryProblem.failed";
    this.draw(() => {
      const title = t(titleKey);
      const text = ended ? t("pages.entryProblem.endedText") : err.message || t("pages.somethingWrong");
      const retry = h("button", {
        type: "button",
        class: "primary",
        "data-test": "entry-retry",
        onclick: () => this.enterAsMember(),
        text: t("pages.tryAgain"),
      });
      this.root.replaceChildren(
        this.bar.el,
        entryMain(
          title,
          h("p", { class: "lead", text }),
          h(
            "div",
            { class: "row wrap" },
            ended ? null : retry,
            this.seriesUrl ? h("a", { href: this.seriesUrl, class: "button-link", text: t("pages.entryProblem.back") }) : null,
          ),
        ),
      );
      this.bar.set("circlekeeper", "", null);
    });
    announce(t(titleKey));
  }

  /** The ground rules in full, for someone who entered without agreeing yet (e.g. a reload). */
  showConsent(message = "") {
    this.setStage("consent");
    this.draw(() => this.renderConsent(message));
  }

  renderConsent(message) {
    const view = this.conn.view;
    const before = document.getElementById("consent");
    const checkbox = h("input", {
      type: "checkbox",
      id: "consent",
      "data-test": "consent-checkbox",
      checked: before ? before.checked : false,
    });
    const error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: !message, text: message });
    const enterText = t("pages.join.enter");
    const button = h("button", { type: "submit", class: "primary big", "data-test": "enter-button", text: enterText });
    const form = h(
      "form",
      { class: "card", novalidate: true },
      h("h2", { text: t("pages.join.rules") }),
      h("div", { class: "ground-rules", "data-test": "ground-rules", text: serverText(view.ground_rules) }),
      h("label", { class: "check big", for: "consent" }, checkbox, t("pages.join.agree")),
      error,
      button,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!checkbox.checked) {
        error.textContent = t("pages.join.consentMissing");
        error.hidden = false;
        checkbox.focus();
        return;
      }
      error.hidden = true;
      button.disabled = true;
      button.textContent = t("pages.join.entering");
      try {
        await this.conn.send("accept_ground_rules");
        this.enterRoom();
      } catch (err) {
        if (this.conn.status === "closed") return;
        if (err.code === "session_ended") {
          this.enterRoom();
          return;
        }
        error.textContent = err.message || t("pages.somethingWrong");
        error.hidden = false;
        button.disabled = false;
        button.textContent = enterText;
      }
    });
    const me = participantById(view, this.conn.you);
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: t("pages.consent.welcome", { name: me ? me.name : "" }) }),
        h("p", { class: "lead", text: t("pages.consent.lead") }),
        form,
      ),
    );
    this.bar.set(view.title, serverText(view.format), this.conn.status);
  }

  enterRoom(firstTime = false) {
    if (this.stage === "room") return;
    this.setStage("room");
    // The room's screen draws itself again in a new language (room.js); the bar keeps the switch.
    this.redraw = null;
    this.roomScreen = new RoomScreen(this.root, this.conn, {
      bar: this.bar,
      inviteUrl: loadInviteUrl(this.roomId),
      showRules: firstTime && !this.previewed,
      seriesUrl: this.seriesUrl,
      hostKey: loadHostKey(this.roomId),
      keepLink: (link, url, key) => {
        if (link === "join") saveInviteUrl(this.roomId, url);
        else saveHostKey(this.roomId, key || null);
      },
    });
    // The room opens at its top, its heading focused (not wherever the entry form was). On the
    // facilitator's console the main region takes the focus instead, so the first Tab reaches
    // the shortcuts button before any control that moves the circle.
    const main = document.getElementById("main");
    const consoleBar = main ? main.querySelector(".console-bar:not([hidden])") : null;
    const heading = main && !consoleBar
      ? [...main.querySelectorAll("h1, h2")].find((el) => el.getClientRects().length > 0)
      : null;
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    } else if (main) main.focus({ preventScroll: true });
    window.scrollTo(0, 0);
    const view = this.conn.view;
    const planned = view.stage ? view.plan[view.stage.index] : null;
    announce(
      planned && view.session.status !== "ended"
        ? t("pages.room.youAreInStage", {
            title: view.title,
            n: view.stage.index + 1,
            total: view.plan.length,
            stage: serverText(planned.title),
          })
        : t("pages.room.youAreIn", { title: view.title }),
    );
  }

  afterWelcome() {
    const view = this.conn.view;
    const me = participantById(view, this.conn.you);
    if (me && me.consented) this.enterRoom();
    else if (view.session.status === "ended") this.enterRoom();
    else this.showConsent();
  }

  render() {
    const conn = this.conn;
    if (!conn) return;
    switch (this.stage) {
      case "connecting":
        this.bar.set("circlekeeper", "", conn.status);
        break;
      case "name":
        break;
      case "consent": {
        const me = participantById(conn.view, conn.you);
        if (me && me.consented) this.enterRoom();
        else this.bar.set(conn.view.title, serverText(conn.view.format), conn.status);
        break;
      }
      case "room":
        if (this.roomScreen) this.roomScreen.update();
        (this.schedule ||= new ScheduleCard(this)).update();
        break;
      default:
        break;
    }
  }

  fatal(reason, message) {
    // Passing reasons: this device keeps its place (and its link) for the next try.
    const passing = reason === "room_unavailable" || reason === "too_many_attempts";
    const keepToken = passing || reason === "outdated";
    if (!keepToken) forgetRoom(this.roomId);
    if (reason === "deleted" || reason === "room_not_found" || (reason === "invalid_key" && this.link && this.link.mode === "host")) {
      saveHostKey(this.roomId, null);
    }
    if (this.roomScreen) {
      this.roomScreen.destroy();
      this.roomScreen = null;
    }
    // A stale token, but a personal series key in hand: enter again with it.
    if (reason === "invalid_token" && this.link && this.link.mode === "member") {
      this.memory = null;
      this.enterAsMember();
      return;
    }
    // A stale token, but a key in hand: join again.
    if (reason === "invalid_token" && this.link) {
      this.memory = null;
      this.notice = "pages.join.placeLost";
      this.showName();
      return;
    }
    if (reason === "invalid_key" && this.link) dropLink(this.roomId);
    this.setStage("closed");
    const deleting = reason === "deleted" && this.conn && this.conn.deleting;
    this.draw(() => this.renderClosed(reason, message, passing, deleting));
    announce(this.closedTitle);
  }

  /** What the closed connection means, with what can be done next. */
  renderClosed(reason, message, passing, deleting) {
    const member = (this.link && this.link.mode === "member") || (this.memory && this.memory.via === "member");
    const own = member && MEMBER_FATAL_REASONS.includes(reason);
    const known = own || FATAL_REASONS.includes(reason);
    const prefix = own ? `pages.closed.member.${reason}` : `pages.closed.${reason}`;
    let title = known ? t(`${prefix}.title`) : t("pages.closed.other.title");
    let text = known ? t(`${prefix}.text`) : message || t("pages.closed.other.text");
    if (deleting) [title, text] = [t("pages.closed.deletedHere.title"), t("pages.closed.deletedHere.text")];
    this.closedTitle = title;
    const view = this.conn && this.conn.view;
    const actions = [];
    if (reason === "outdated" || passing) {
      actions.push(h("button", { type: "button", class: "primary", onclick: () => location.reload(), text: t("pages.closed.reload") }));
    }
    if (this.seriesUrl) actions.push(h("a", { href: this.seriesUrl, class: "button-link", text: t("pages.closed.seriesPage") }));
    else actions.push(h("a", { href: "/", class: "button-link", text: t("pages.closed.create") }));
    this.root.replaceChildren(
      this.bar.el,
      entryMain(
        title,
        h("p", { class: "lead", text }),
        message && (!FATAL_REASONS.includes(reason) || own)
          ? h("p", { class: "hint", text: t("pages.closed.serverSaid", { message }) })
          : null,
        h("div", { class: "row wrap" }, actions),
      ),
    );
    this.bar.set(view ? view.title : "circlekeeper", view ? serverText(view.format) : "", "closed");
  }
}
