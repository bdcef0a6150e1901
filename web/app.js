// Entry point: routes by URL. `/` opens a room (create.js); `/r/{room}#join=KEY` or
// `#host=KEY` enters one: a display name, the ground rules and consent, then the room
// (room.js) over the websocket (connection.js). A stored personal token resumes instead.
// `/s/{series}#member=KEY` is a series member's own page: their sessions, entering the current
// one with the `member` command, and their end-of-cycle choice.

import { Connection, forgetRoom, loadRoomMemory, saveRoomMemory } from "/connection.js";
import {
  EXPORT_FORMATS,
  EXT,
  ROOM_TABLES,
  RoomScreen,
  confirmDialog,
  downloadText,
  fetchExport,
  fileSlug,
  lastExport,
  connectionLabel,
  h,
  isFacilitating,
  participantById,
  stageRoleOf,
  today,
  topBar,
  announce,
} from "/room.js";
import { renderCreatePage, loadInviteUrl, saveInviteUrl } from "/create.js";

const NAME_KEY = "circlekeeper.name";
const KEY_PREFIX = "circlekeeper.key.";
const MEMBER_PREFIX = "circlekeeper.member.";
const HOST_KEY_PREFIX = "circlekeeper.hostkey.";
const COMMUNITY_KEY = "circlekeeper.community-host";

const app = { page: null, roomId: null, seriesId: null, conn: null, screen: null };

// Read-only-ish debugging and test access: `window.circlekeeper.state`.
Object.defineProperty(window, "circlekeeper", {
  value: Object.freeze({
    get state() {
      const c = app.conn;
      const view = c && c.view ? structuredClone(c.view) : null;
      const you = c ? c.you : null;
      const me = view && you !== null ? participantById(view, you) : null;
      return Object.freeze({
        page: app.page,
        screen: app.screen,
        roomId: app.roomId,
        seriesId: app.seriesId,
        view,
        seq: c ? c.seq : 0,
        you,
        connection: c ? connectionLabel(c.status) : "offline",
        status: c ? c.status : null,
        clockOffsetMs: c ? c.clock.offset() : 0,
        serverNow: c ? Math.round(c.serverNow()) : Date.now(),
        stageRole: view && you !== null ? stageRoleOf(view, you) : null,
        facilitating: isFacilitating(me),
        pendingCommands: c ? c.pending.size : 0,
      });
    },
    /** The last summary or report downloaded on this page: `{format, filename, text}`. */
    get lastExport() {
      return lastExport();
    },
  }),
  writable: false,
  configurable: false,
});

function rememberedName() {
  try {
    return localStorage.getItem(NAME_KEY) || "";
  } catch {
    return "";
  }
}

function rememberName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    /* not remembered */
  }
}

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
    try {
      sessionStorage.setItem(KEY_PREFIX + roomId, JSON.stringify(link));
    } catch {
      /* kept in memory only */
    }
    return link;
  }
  try {
    const raw = sessionStorage.getItem(KEY_PREFIX + roomId);
    if (raw) {
      const saved = JSON.parse(raw);
      if (saved && typeof saved.key === "string") {
        if (saved.mode === "join" || saved.mode === "host") return saved;
        if (saved.mode === "member" && typeof saved.series === "string") return saved;
      }
    }
  } catch {
    /* nothing kept */
  }
  return null;
}

/**
 * The room's host key, kept on this device (never shown) once the facilitator entered through
 * the host link here: it is their own capability, and it lets the console export the summary.
 */
function saveHostKey(roomId, key) {
  try {
    localStorage.setItem(HOST_KEY_PREFIX + roomId, key);
  } catch {
    /* the console offers no export */
  }
}

function loadHostKey(roomId) {
  try {
    return localStorage.getItem(HOST_KEY_PREFIX + roomId);
  } catch {
    return null;
  }
}

function forgetHostKey(roomId) {
  try {
    localStorage.removeItem(HOST_KEY_PREFIX + roomId);
  } catch {
    /* nothing kept */
  }
}

function keepLink(roomId, link) {
  try {
    sessionStorage.setItem(KEY_PREFIX + roomId, JSON.stringify(link));
  } catch {
    /* the room page enters from memory only */
  }
}

function dropLink(roomId) {
  try {
    sessionStorage.removeItem(KEY_PREFIX + roomId);
  } catch {
    /* nothing kept */
  }
}

const FATAL_TEXT = {
  room_not_found: ["This circle is closed", "The room no longer exists: it was deleted, or its session ended some time ago."],
  room_unavailable: ["This circle cannot be opened right now", "The server cannot serve this room at the moment. Please try again later."],
  invalid_key: ["This link does not open the circle", "Check that you copied the whole link, including the part after #, or ask for a new one."],
  invalid_token: ["We could not find your place in this circle", "Open the invitation link again to join."],
  forbidden: ["You are no longer part of this circle", "A facilitator removed you, or you left."],
  removed: ["You were removed from this circle", "A facilitator removed you from the room. Thank you for taking part."],
  left: ["You have left the circle", "Thank you for taking part."],
  deleted: ["This circle has been closed", "A facilitator deleted the room; nothing more is kept of it."],
  outdated: ["This page is out of date", "Reload the page to continue."],
  too_many_attempts: [
    "Too many wrong links from your network",
    "The server is pausing entries from your network for a little while. Wait a minute, then try again.",
  ],
};

// ---------------------------------------------------------------------------------------------

/** What a refusal means for someone who came with their personal series link. */
const MEMBER_FATAL_TEXT = {
  invalid_key: [
    "Your personal link does not open this session",
    "It may belong to another series. Open the link your host sent you again, or ask them for a new one.",
  ],
  // Either the member chose to end their part in the series, or a facilitator removed them.
  forbidden: [
    "Your personal link no longer opens this session",
    "Either you chose to end your part in this series (you can choose again on your series page), " +
      "or a facilitator removed you from this session.",
  ],
};

class RoomPage {
  /** `link` is given by the member page (it is also kept for this tab, for a reload). */
  constructor(root, roomId, link = null) {
    this.root = root;
    this.roomId = roomId;
    this.link = link || takeLink(roomId);
    this.memory = loadRoomMemory(roomId);
    // A series room entered with a personal link: its member page, to come back to.
    const series = (this.link && this.link.series) || (this.memory && this.memory.series) || null;
    this.seriesUrl = series ? `/s/${encodeURIComponent(series)}` : null;
    this.bar = topBar();
    this.roomScreen = null;
    this.stage = null;
    this.notice = "";
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
    this.renderConnecting();
    this.conn
      .resumeWith(token)
      .then(() => this.afterWelcome())
      .catch(() => {
        // Fatal refusals arrive through onFatal; other failures keep retrying.
      });
  }

  // -- screens -----------------------------------------------------------------------------

  renderConnecting(title = "Coming back to your circle…") {
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: title }),
        h("p", { class: "hint", text: "Connecting to the server. This page keeps trying until it gets through." }),
      ),
    );
    this.bar.set("circlekeeper", "", this.conn.status);
  }

  showNoLink() {
    this.setStage("no-link");
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: "Open the whole link" }),
        h("p", {
          text:
            "To enter a circle, open the full link you were given: it ends with a key after “#”. " +
            "Ask the facilitator to send it again if it got cut off.",
        }),
        h("p", {}, h("a", { href: "/", text: "Open a new circle instead" })),
      ),
    );
    this.bar.set("circlekeeper", "", null);
  }

  /**
   * One form: a display name, the promise to keep the ground rules, enter. Sends `join` (or
   * `host`), then `accept_ground_rules`. The room's own ground rules come with the welcome (the
   * protocol offers no way to read them before joining), so the room shows them in full at once.
   */
  showName() {
    if (!this.conn || this.conn.status === "closed") this.newConnection();
    this.setStage("name");
    const host = this.link.mode === "host";
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
      "aria-describedby": "name-help",
      value: rememberedName(),
    });
    const checkbox = h("input", {
      type: "checkbox",
      id: "consent",
      "data-test": "consent-checkbox",
      "aria-describedby": "rules-about",
    });
    const error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: true });
    const button = h("button", { type: "submit", class: "primary big", "data-test": "enter-button", text: "Enter the circle" });
    // Until the room's own ground rules arrive (the link's key opens a preview), a summary.
    const consentText = h("span", { text: "I agree to keep this circle's ground rules" });
    const rulesAbout = h(
      "div",
      { class: "rules-about", id: "rules-about" },
      h("p", {
        text:
          "Before anything starts, the circle agrees on its ground rules. Confidentiality comes first: " +
          "what is said in the circle stays in the circle, and nothing is recorded. We listen without " +
          "interrupting, ask rather than advise, and anyone may pass.",
      }),
    );
    this.previewed = false;
    fetch(`/api/rooms/${encodeURIComponent(this.roomId)}/preview`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: this.link.key }),
    })
      .then((r) => (r.ok ? r.json() : null))
      .then((preview) => {
        if (!preview || typeof preview.ground_rules !== "string") return;
        rulesAbout.replaceChildren(
          h("div", { class: "ground-rules", "data-test": "ground-rules", text: preview.ground_rules }),
          h("p", { class: "hint", text: "You can leave the circle at any time." }),
        );
        consentText.textContent = "I agree to these ground rules";
        this.previewed = true;
      })
      .catch(() => {});
    const form = h(
      "form",
      { class: "card", novalidate: true },
      h(
        "div",
        { class: "field" },
        h("label", { for: "name", text: "Your name" }),
        h("p", { class: "hint", id: "name-help", text: "As the circle will see it. A first name is enough." }),
        input,
      ),
      h("h2", { class: "rules-title", text: "Ground rules" }),
      rulesAbout,
      h("label", { class: "check big", for: "consent" }, checkbox, consentText),
      error,
      button,
    );
    const fail = (text, focus) => {
      error.textContent = text;
      error.hidden = false;
      button.disabled = false;
      button.textContent = "Enter the circle";
      if (focus) focus.focus();
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = input.value.trim();
      if (!name) return fail("Please type a name the circle can call you.", input);
      if (!checkbox.checked) return fail("Tick the box to agree to the ground rules first.", checkbox);
      error.hidden = true;
      button.disabled = true;
      button.textContent = "Entering…";
      let welcome;
      try {
        welcome = await this.conn.enter(this.link.mode, this.link.key, name);
      } catch (err) {
        if (this.conn.status === "closed") return undefined; // onFatal shows what happened
        const text =
          err.code === "session_ended"
            ? "This session has already ended: nobody can enter any more."
            : err.code === "room_full"
              ? "This circle is full (64 people)."
              : err.message || "Something went wrong. Please try again.";
        return fail(text, input);
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
        h("h1", { text: host ? "Open the circle as its facilitator" : "Join the circle" }),
        this.notice ? h("p", { class: "notice", role: "status", text: this.notice }) : null,
        h("p", {
          class: "lead",
          text:
            "circlekeeper keeps the structure of the circle — whose turn, how long is left, which role you play. " +
            "Nothing anyone says is recorded.",
        }),
        host
          ? h("p", {
              class: "private-note",
              text: "You opened the host link: it makes you a facilitator. Keep it private.",
            })
          : null,
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
    this.renderConnecting("Entering your session…");
    let welcome;
    try {
      welcome = await this.conn.enterMember(this.link.series, this.link.key);
    } catch (err) {
      if (this.conn.status === "closed") return; // onFatal shows what happened
      this.showEntryProblem(err);
      return;
    }
    saveRoomMemory(this.roomId, { token: welcome.token, you: welcome.you, via: "member", series: this.link.series });
    dropLink(this.roomId);
    this.afterWelcome();
  }

  /** A member's entry that did not work but may work later (ended, full, no network). */
  showEntryProblem(err) {
    this.setStage("entry-problem");
    const ended = err.code === "session_ended";
    const title = ended
      ? "This session has already ended"
      : err.code === "room_full"
        ? "This session is full"
        : "Could not enter the session";
    const text = ended
      ? "Nobody can enter it any more. Your series page shows when the next one is open."
      : err.message || "Something went wrong. Please try again.";
    const retry = h("button", {
      type: "button",
      class: "primary",
      "data-test": "entry-retry",
      onclick: () => this.enterAsMember(),
      text: "Try again",
    });
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { "data-test": "closed-title", text: title }),
        h("p", { class: "lead", text }),
        h(
          "div",
          { class: "row wrap" },
          ended ? null : retry,
          this.seriesUrl ? h("a", { href: this.seriesUrl, class: "button-link", text: "Back to your series page" }) : null,
        ),
      ),
    );
    this.bar.set("circlekeeper", "", null);
    announce(title);
  }

  /** The ground rules in full, for someone who entered without agreeing yet (e.g. a reload). */
  showConsent(message = "") {
    this.setStage("consent");
    const view = this.conn.view;
    const checkbox = h("input", { type: "checkbox", id: "consent", "data-test": "consent-checkbox" });
    const error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: !message, text: message });
    const button = h("button", { type: "submit", class: "primary big", "data-test": "enter-button", text: "Enter the circle" });
    const form = h(
      "form",
      { class: "card", novalidate: true },
      h("h2", { text: "Ground rules" }),
      h("div", { class: "ground-rules", "data-test": "ground-rules", text: view.ground_rules }),
      h("label", { class: "check big", for: "consent" }, checkbox, "I agree to these ground rules"),
      error,
      button,
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!checkbox.checked) {
        error.textContent = "Tick the box to agree to the ground rules first.";
        error.hidden = false;
        checkbox.focus();
        return;
      }
      error.hidden = true;
      button.disabled = true;
      button.textContent = "Entering…";
      try {
        await this.conn.send("accept_ground_rules");
        this.enterRoom();
      } catch (err) {
        if (this.conn.status === "closed") return;
        if (err.code === "session_ended") {
          this.enterRoom();
          return;
        }
        error.textContent = err.message || "Something went wrong. Please try again.";
        error.hidden = false;
        button.disabled = false;
        button.textContent = "Enter the circle";
      }
    });
    const me = participantById(view, this.conn.you);
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: `Welcome, ${me ? me.name : ""}` }),
        h("p", {
          class: "lead",
          text: "Before anything starts, the circle agrees to its ground rules. Please read them.",
        }),
        form,
      ),
    );
    this.bar.set(view.title, view.format, this.conn.status);
  }

  enterRoom(firstTime = false) {
    if (this.stage === "room") return;
    this.setStage("room");
    this.roomScreen = new RoomScreen(this.root, this.conn, {
      bar: this.bar,
      inviteUrl: loadInviteUrl(this.roomId),
      showRules: firstTime && !this.previewed,
      seriesUrl: this.seriesUrl,
      hostKey: loadHostKey(this.roomId),
      keepLink: (link, url, key) => {
        if (link === "join") saveInviteUrl(this.roomId, url);
        else if (key) saveHostKey(this.roomId, key);
        else forgetHostKey(this.roomId);
      },
    });
    const main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
    const view = this.conn.view;
    const planned = view.stage ? view.plan[view.stage.index] : null;
    announce(
      planned && view.session.status !== "ended"
        ? `You are in ${view.title}. Stage ${view.stage.index + 1} of ${view.plan.length}: ${planned.title}.`
        : `You are in ${view.title}.`,
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
        else this.bar.set(conn.view.title, conn.view.format, conn.status);
        break;
      }
      case "room":
        if (this.roomScreen) this.roomScreen.update();
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
      forgetHostKey(this.roomId);
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
      this.notice = "Your earlier place in this circle was not found on the server: please enter again.";
      this.showName();
      return;
    }
    if (reason === "invalid_key" && this.link) dropLink(this.roomId);
    this.setStage("closed");
    const member = (this.link && this.link.mode === "member") || (this.memory && this.memory.via === "member");
    let [title, text] = (member && MEMBER_FATAL_TEXT[reason]) ||
      FATAL_TEXT[reason] || ["The connection has ended", message || "Please reload the page."];
    if (reason === "deleted" && this.conn && this.conn.deleting) {
      [title, text] = ["The room is deleted", "Everyone was disconnected and nothing more is kept of this room."];
    }
    const view = this.conn && this.conn.view;
    const actions = [];
    if (reason === "outdated" || passing) {
      actions.push(h("button", { type: "button", class: "primary", onclick: () => location.reload(), text: "Reload" }));
    }
    if (this.seriesUrl) actions.push(h("a", { href: this.seriesUrl, class: "button-link", text: "Your series page" }));
    else actions.push(h("a", { href: "/", class: "button-link", text: "Open a new circle" }));
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { "data-test": "closed-title", text: title }),
        h("p", { class: "lead", text }),
        message && (!FATAL_TEXT[reason] || (member && MEMBER_FATAL_TEXT[reason]))
          ? h("p", { class: "hint", text: `The server said: ${message}` })
          : null,
        h("div", { class: "row wrap" }, actions),
      ),
    );
    this.bar.set(view ? view.title : "circlekeeper", view ? view.format : "", "closed");
    announce(title);
  }
}


// ---------------------------------------------------------------------------------------------
// A series member's own page: `/s/{series}#member=KEY`.

/**
 * The member key from `#member=KEY`, removed from the address bar at once. It is kept in this
 * device's storage for the series, so the page opens again from the bare `/s/{series}` address
 * (a bookmark, the browser's history) without the link.
 */
function takeMemberKey(seriesId) {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const fromLink = params.get("member");
  if (fromLink) {
    history.replaceState(null, "", location.pathname + location.search);
    try {
      localStorage.setItem(MEMBER_PREFIX + seriesId, fromLink);
    } catch {
      /* kept for this page only */
    }
    return fromLink;
  }
  try {
    return localStorage.getItem(MEMBER_PREFIX + seriesId);
  } catch {
    return null;
  }
}

function forgetMemberKey(seriesId) {
  try {
    localStorage.removeItem(MEMBER_PREFIX + seriesId);
  } catch {
    /* nothing kept */
  }
}

const CADENCE_WORDS = {
  biweekly: "Meets every two weeks",
  monthly: "Meets every month",
  custom: "Meets when your host schedules a session",
};

/** The end-of-cycle choices, as the member page offers them. */
const CYCLE_CHOICES = [
  {
    value: "continue",
    label: "Continue with the same partner",
    detail: "If your partner chooses this too, you two stay together in the next cycle.",
    saved: "You would like to continue with the same partner.",
  },
  {
    value: "rematch",
    label: "Be matched with someone new",
    detail: "Next time you are paired with someone you have not met recently.",
    saved: "You would like to be matched with someone new.",
  },
  {
    value: "end",
    label: "End my part in this series",
    detail: "Your personal link stops opening new sessions. You can change your mind here.",
    saved: "You have chosen to end your part in this series: your link no longer opens new sessions.",
  },
];

/** `2027-03-01` → "Mon, 1 Mar 2027" in the reader's language (a local date). */
function longDate(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return day;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).toLocaleDateString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
  });
}

class MemberPage {
  constructor(root, seriesId) {
    this.root = root;
    this.seriesId = seriesId;
    this.key = takeMemberKey(seriesId);
    this.data = null;
    this.bar = topBar();
  }

  start() {
    app.screen = "member";
    if (!this.key) {
      this.showMessage(
        "Open your whole personal link",
        "Your personal link to this series ends with a key after “#”. Open the link your host sent you; " +
          "after that, this device remembers it.",
      );
      return;
    }
    this.renderLoading();
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
      this.render();
      return;
    }
    this.showProblem(problem, message);
  }

  showProblem(problem, message) {
    if (problem === "invalid_key") {
      forgetMemberKey(this.seriesId);
      this.showMessage(
        "This link does not open the series",
        "Check that you opened the whole link your host sent you, including the part after #, or ask them for a new one.",
      );
    } else if (problem === "not_found") {
      this.showMessage("This series no longer exists", "It was closed, or the link is mistyped.");
    } else {
      this.showMessage(
        "Could not reach the server",
        message || "Check your connection and try again.",
        h("button", { type: "button", class: "primary", onclick: () => this.start(), text: "Try again" }),
      );
    }
  }

  renderLoading() {
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: "Your series" }),
        h("p", { class: "hint", role: "status", text: "Loading…" }),
      ),
    );
    this.bar.set("circlekeeper", "", null);
  }

  showMessage(title, text, action = null) {
    app.screen = "member-closed";
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { "data-test": "closed-title", text: title }),
        h("p", { class: "lead", text }),
        action ? h("div", { class: "row wrap" }, action) : null,
      ),
    );
    this.bar.set("circlekeeper", "", null);
    document.title = `${title} · circlekeeper`;
    announce(title);
  }

  render() {
    app.screen = "member";
    const d = this.data;
    const rooms = Array.isArray(d.rooms) ? d.rooms : [];
    const current = rooms.length ? rooms[rooms.length - 1] : null;
    const inCurrent = current ? loadRoomMemory(current) : null;
    const ended = d.choice === "end";
    document.title = `${d.title} · circlekeeper`;

    // The current session: one primary action.
    const enterLabel = d.cadence === "monthly" ? "Enter this month's session" : "Enter the current session";
    const enter = h("button", {
      type: "button",
      class: "primary big",
      "data-test": "member-enter",
      onclick: () => this.enter(current),
      text: inCurrent ? `${enterLabel} again` : enterLabel,
    });
    let enterNote = "";
    if (!current) {
      enterNote = "No session is open yet. Your host opens each session; come back to this page then.";
      enter.hidden = true;
    } else if (ended && !inCurrent) {
      enterNote = "You chose to end your part in this series, so your link no longer opens new sessions.";
      enter.disabled = true;
    } else if (inCurrent) {
      enterNote = "You have entered this session on this device before: you come back as yourself.";
    } else {
      enterNote = "You enter as yourself: no name to type. The circle agrees to its ground rules first.";
    }

    const sessions = rooms.map((room, i) => {
      const here = loadRoomMemory(room);
      const isCurrent = i === rooms.length - 1;
      return h(
        "li",
        { "data-room": room, class: isCurrent ? "current" : null },
        h("span", { class: "session-name", text: `Session ${i + 1}` }),
        isCurrent ? h("span", { class: "chip", text: "current" }) : null,
        !isCurrent && here
          ? h("button", {
              type: "button",
              class: "ghost small",
              "aria-label": `Open session ${i + 1} again`,
              onclick: () => this.enter(room),
              text: "Open",
            })
          : null,
      );
    });

    // The end-of-cycle choice: saved as soon as it is picked (ending asks first).
    const status = h("p", { class: "choice-status", "data-test": "cycle-choice-status", role: "status" });
    const setStatus = (choice) => {
      const known = CYCLE_CHOICES.find((c) => c.value === choice);
      status.textContent = known ? `Saved. ${known.saved}` : "Not chosen yet: nothing changes until you choose.";
      status.dataset.choice = choice || "";
    };
    setStatus(d.choice);
    const radios = [];
    const options = CYCLE_CHOICES.map((c) => {
      const id = `cycle-${c.value}`;
      const input = h("input", {
        type: "radio",
        name: "cycle-choice",
        id,
        value: c.value,
        "data-test": "cycle-choice",
        "aria-describedby": `${id}-detail`,
        checked: d.choice === c.value,
      });
      radios.push(input);
      input.addEventListener("change", () => {
        if (input.checked) this.choose(c.value, radios, setStatus);
      });
      return h(
        "label",
        { class: "choice", for: id },
        input,
        h("span", { class: "choice-text" }, h("span", { class: "choice-label", text: c.label }),
          h("span", { class: "choice-detail", id: `${id}-detail`, text: c.detail })),
      );
    });
    const cycle = d.cycle_months === 1 ? "1 month" : `${d.cycle_months} months`;
    const planned = (Array.isArray(d.planned) ? d.planned : []).filter((day) => day >= today());
    const again = h("button", {
      type: "button",
      class: "secondary",
      "data-test": "member-refresh",
      onclick: () => {
        this.renderLoading();
        this.load();
      },
      text: "Check again",
    });

    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry member", id: "main", "data-test": "member-page" },
        h("p", { class: "eyebrow", text: "Your series" }),
        h("h1", { "data-test": "series-title", text: d.title }),
        h("p", { class: "lead" }, "Hello, ", h("strong", { "data-test": "member-name", text: d.name }), "."),
        h("p", { class: "hint", text: `${CADENCE_WORDS[d.cadence] || "Meets regularly"}. A cycle lasts ${cycle}.` }),
        h(
          "section",
          { class: "card", "aria-labelledby": "now-title" },
          h("h2", {
            id: "now-title",
            text: !current ? "Next session" : d.cadence === "monthly" ? "This month's session" : "The current session",
          }),
          h("p", { class: "hint", text: enterNote }),
          enter,
          current ? null : again,
          planned.length
            ? h("p", { class: "planned", "data-test": "member-planned" }, "Next planned: ", planned.map(longDate).join(" · "))
            : null,
        ),
        rooms.length
          ? h(
              "section",
              { class: "card", "aria-labelledby": "sessions-title" },
              h("h2", { id: "sessions-title", text: "Sessions" }),
              h("ol", { class: "sessions", "data-test": "member-sessions" }, sessions),
            )
          : null,
        h(
          "section",
          { class: "card", "aria-labelledby": "cycle-title" },
          h("h2", { id: "cycle-title", text: "At the end of the cycle" }),
          h("p", {
            class: "hint",
            text: "Tell your host how you would like to go on. You can change your choice later on this page.",
          }),
          h(
            "fieldset",
            { class: "choices" },
            h("legend", { class: "visually-hidden", text: "At the end of the cycle" }),
            options,
          ),
          status,
        ),
        h("p", {
          class: "private-note",
          text: "This page is yours: your personal link lets anyone who has it enter as you. Keep it private.",
        }),
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
      const ok = await confirmDialog(
        "End your part in this series?",
        "End my part",
        "Your personal link will no longer open new sessions. You can change your mind on this page.",
      );
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
      announce("Your choice is saved.");
      // Ending (or taking it back) changes what the page offers.
      if ((before === "end") !== (data.choice === "end")) {
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
    if (status) status.textContent = "Your choice could not be saved. Check your connection and choose again.";
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

// ---------------------------------------------------------------------------------------------
// The community host's page: `/host`. Every room and series, their summaries and reports.

const SVG = (tag, props = {}, ...children) => h(`svg:${tag}`, props, ...children);

const SERIES_TABLES = ["sessions", "members", "pairs"];

function loadCommunityKey() {
  try {
    return sessionStorage.getItem(COMMUNITY_KEY);
  } catch {
    return null;
  }
}

function saveCommunityKey(key) {
  try {
    if (key) sessionStorage.setItem(COMMUNITY_KEY, key);
    else sessionStorage.removeItem(COMMUNITY_KEY);
  } catch {
    /* kept for this page only */
  }
}

function shortDate(ms) {
  if (typeof ms !== "number") return "";
  return new Date(ms).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

function oneDecimal(v) {
  return typeof v === "number" ? v.toFixed(1) : "–";
}

let chartCount = 0;

/** A table under a chart: its figures as text. */
function figuresTable(caption, head, rows, test) {
  return h(
    "table",
    { class: "figures", "data-test": test },
    h("caption", { class: "visually-hidden", text: caption }),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col", text: c })))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, row.map((c, i) => (i === 0 ? h("th", { scope: "row", text: c }) : h("td", { text: c }))))),
    ),
  );
}

const CHART = { w: 360, h: 180, left: 34, right: 10, top: 14, bottom: 30 };

/** The chart's frame: an `<svg role="img">` with a `<title>`, and its plot area's geometry. */
function chartFrame(label, test) {
  chartCount += 1;
  const titleId = `chart-title-${chartCount}`;
  const svg = SVG(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${CHART.w} ${CHART.h}`,
      role: "img",
      "aria-labelledby": titleId,
      "aria-label": label,
      "data-test": test,
      focusable: "false",
    },
    SVG("title", { id: titleId, text: label }),
  );
  const plot = {
    x0: CHART.left,
    x1: CHART.w - CHART.right,
    y0: CHART.h - CHART.bottom,
    y1: CHART.top,
  };
  return { svg, plot };
}

function gridLine(svg, plot, y, label) {
  svg.append(
    SVG("line", { class: "grid", x1: plot.x0, x2: plot.x1, y1: y, y2: y }),
    SVG("text", { class: "tick", x: plot.x0 - 6, y: y + 4, "text-anchor": "end", text: label }),
  );
}

/** Attendance per session, as bars. */
function attendanceChart(sessions) {
  const n = sessions.length;
  const label = n
    ? `Attendance per session: ${sessions.map((s, i) => `session ${i + 1}, ${s.attendance}`).join("; ")}.`
    : "Attendance per session: no sessions yet.";
  const { svg, plot } = chartFrame(label, "chart-attendance");
  const max = Math.max(1, ...sessions.map((s) => s.attendance || 0));
  const step = max <= 5 ? 1 : Math.ceil(max / 5);
  const top = Math.ceil(max / step) * step;
  const y = (v) => plot.y0 - ((plot.y0 - plot.y1) * v) / top;
  for (let v = 0; v <= top; v += step) gridLine(svg, plot, y(v), String(v));
  const slot = (plot.x1 - plot.x0) / Math.max(n, 1);
  const width = Math.min(40, slot * 0.6);
  sessions.forEach((s, i) => {
    const cx = plot.x0 + slot * (i + 0.5);
    const v = s.attendance || 0;
    svg.append(
      SVG("rect", { class: "bar", x: cx - width / 2, y: y(v), width, height: plot.y0 - y(v), rx: 2 }),
      SVG("text", { class: "value", x: cx, y: y(v) - 4, "text-anchor": "middle", text: String(v) }),
      SVG("text", { class: "tick", x: cx, y: plot.y0 + 16, "text-anchor": "middle", text: String(i + 1) }),
    );
  });
  svg.append(SVG("line", { class: "axis", x1: plot.x0, x2: plot.x1, y1: plot.y0, y2: plot.y0 }));
  svg.append(SVG("text", { class: "tick", x: (plot.x0 + plot.x1) / 2, y: CHART.h - 2, "text-anchor": "middle", text: "session" }));
  const table = figuresTable(
    "Attendance per session",
    ["Session", "Date", "Members present", "Retention"],
    sessions.map((s, i) => [
      String(i + 1),
      shortDate(s.started_at) || "not started",
      String(s.attendance),
      `${Math.round((s.retention || 0) * 100)}%`,
    ]),
    "table-attendance",
  );
  return h("figure", { class: "chart-figure" }, h("figcaption", { text: "Attendance per session" }), svg, table);
}

/** Mean survey and feedback ratings (1 to 5) per session, as two lines. */
function ratingsChart(sessions) {
  const n = sessions.length;
  const describe = (s, i) =>
    `session ${i + 1}: survey ${oneDecimal(s.survey_mean)}, feedback ${oneDecimal(s.feedback_mean)}`;
  const label = n
    ? `Mean ratings per session, 1 to 5: ${sessions.map(describe).join("; ")}.`
    : "Mean ratings per session: no sessions yet.";
  const { svg, plot } = chartFrame(label, "chart-ratings");
  const y = (v) => plot.y0 - ((plot.y0 - plot.y1) * (v - 1)) / 4;
  for (let v = 1; v <= 5; v += 1) gridLine(svg, plot, y(v), String(v));
  const slot = (plot.x1 - plot.x0) / Math.max(n, 1);
  const x = (i) => plot.x0 + slot * (i + 0.5);
  sessions.forEach((s, i) => {
    svg.append(SVG("text", { class: "tick", x: x(i), y: plot.y0 + 16, "text-anchor": "middle", text: String(i + 1) }));
  });
  for (const [field, cls] of [
    ["survey_mean", "survey"],
    ["feedback_mean", "feedback"],
  ]) {
    // A line through the sessions that have a value; a gap where nobody answered.
    let path = "";
    let pen = false;
    sessions.forEach((s, i) => {
      const v = s[field];
      if (typeof v !== "number") {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${x(i).toFixed(1)} ${y(v).toFixed(1)} `;
      pen = true;
      svg.append(SVG("circle", { class: `point ${cls}`, cx: x(i), cy: y(v), r: 3.5 }));
    });
    if (path) svg.insertBefore(SVG("path", { class: `line ${cls}`, d: path.trim() }), svg.querySelector("circle"));
  }
  svg.append(SVG("text", { class: "tick", x: (plot.x0 + plot.x1) / 2, y: CHART.h - 2, "text-anchor": "middle", text: "session" }));
  if (!svg.querySelector("circle")) {
    svg.append(SVG("text", { class: "value", x: (plot.x0 + plot.x1) / 2, y: (plot.y0 + plot.y1) / 2, "text-anchor": "middle", text: "No ratings yet" }));
  }
  const legend = h(
    "p",
    { class: "legend", "aria-hidden": "true" },
    h("span", { class: "key survey", text: "Session survey" }),
    h("span", { class: "key feedback", text: "Feedback to coaches" }),
  );
  const table = figuresTable(
    "Mean ratings per session (1 to 5)",
    ["Session", "Survey", "Feedback"],
    sessions.map((s, i) => [String(i + 1), oneDecimal(s.survey_mean), oneDecimal(s.feedback_mean)]),
    "table-ratings",
  );
  return h(
    "figure",
    { class: "chart-figure" },
    h("figcaption", { text: "Mean rating per session (1 to 5)" }),
    svg,
    legend,
    table,
  );
}

class HostPage {
  constructor(root) {
    this.root = root;
    this.key = loadCommunityKey();
    this.bar = topBar();
    this.data = null;
  }

  start() {
    app.screen = "host";
    document.title = "Community host · circlekeeper";
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

  showKeyForm(message = "") {
    app.screen = "host-key";
    const input = h("input", {
      id: "host-key",
      type: "password",
      "data-test": "host-key",
      autocomplete: "current-password",
      spellcheck: "false",
      required: true,
      "aria-describedby": "host-key-help",
    });
    const error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: !message, text: message });
    const button = h("button", { type: "submit", class: "primary", "data-test": "host-enter", text: "Open" });
    const form = h(
      "form",
      { class: "card", novalidate: true },
      h(
        "div",
        { class: "field" },
        h("label", { for: "host-key", text: "Community host key" }),
        h("p", {
          class: "hint",
          id: "host-key-help",
          text: "The key the server's operator set. This tab remembers it until you close it.",
        }),
        input,
      ),
      error,
      button,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const key = input.value.trim();
      if (!key) {
        error.textContent = "Type the community host key.";
        error.hidden = false;
        input.focus();
        return;
      }
      this.key = key;
      button.disabled = true;
      button.textContent = "Opening…";
      this.load();
    });
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry host", id: "main" },
        h("h1", { text: "Community host" }),
        h("p", { class: "lead", text: "Every circle and series on this server: summaries, reports and figures." }),
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
      this.showKeyForm("Could not reach the server. Check your connection and try again.");
      return;
    }
    if (res.status === 403) {
      this.key = null;
      saveCommunityKey(null);
      this.showKeyForm("This key is not the community host's key.");
      return;
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok || !data || !Array.isArray(data.rooms)) {
      this.showKeyForm((data && data.message) || "The server could not list the rooms. Please try again.");
      return;
    }
    saveCommunityKey(this.key);
    this.data = data;
    this.render();
  }

  /** Download buttons (JSON, Markdown, CSV with a table) and "Hide names", for one item. */
  downloads(kind, id, title, tables) {
    const base = `${kind}-${id}`;
    const pseudo = h("input", { type: "checkbox", id: `${base}-pseudo`, "data-test": "host-pseudonymise" });
    const table = h(
      "select",
      { id: `${base}-table`, "data-test": "host-table", "aria-label": "CSV table" },
      tables.map((t) => h("option", { value: t, text: t })),
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
      status.textContent = "Preparing…";
      try {
        const text = await fetchExport(url, { key: this.key, ...body });
        const suffix = format === "csv" ? `-${body.table}` : "";
        downloadText(`${stem}-${fileSlug(title)}${suffix}.${EXT[format]}`, text, format);
        status.textContent = "Downloaded.";
      } catch (err) {
        status.textContent = err.message;
      } finally {
        button.disabled = false;
      }
    };
    const buttons = EXPORT_FORMATS.map((f) => {
      const name = f.value === "markdown" ? "Markdown" : f.value.toUpperCase();
      const button = h("button", {
        type: "button",
        class: "secondary small",
        "data-test": "host-download",
        "data-format": f.value,
        "aria-label": `Download ${title} as ${name}`,
        text: name,
      });
      button.addEventListener("click", () => go(f.value, button));
      return button;
    });
    return h(
      "div",
      { class: "downloads" },
      h("div", { class: "row wrap" }, buttons, table),
      h("label", { class: "check small", for: `${base}-pseudo` }, pseudo, " Hide names"),
      status,
    );
  }

  async loadFigures(seriesId, place) {
    let report = null;
    try {
      report = JSON.parse(await fetchExport(`/api/host/series/${encodeURIComponent(seriesId)}/report`, { key: this.key, format: "json" }));
    } catch (err) {
      place.replaceChildren(h("p", { class: "hint", text: err.message || "The figures could not be loaded." }));
      return;
    }
    const sessions = Array.isArray(report.sessions) ? report.sessions : [];
    const c = report.commitments || {};
    place.replaceChildren(
      h("div", { class: "charts" }, attendanceChart(sessions), ratingsChart(sessions)),
      h("p", {
        class: "hint",
        text:
          `Commitments: ${c.made || 0} made, ${c.kept || 0} kept, ${c.partly || 0} partly kept, ` +
          `${c.not || 0} not kept, ${c.changed || 0} changed.`,
      }),
    );
    place.dataset.loaded = "true";
  }

  render() {
    app.screen = "host";
    const { rooms, series } = this.data;
    const titles = new Map(rooms.map((r) => [r.room_id, r.title]));
    const seriesItems = series.map((s) => {
      const figures = h("div", { class: "figures-place", "data-test": "series-figures" }, h("p", { class: "hint", text: "Loading the figures…" }));
      this.loadFigures(s.series_id, figures);
      const n = s.sessions.length;
      return h(
        "li",
        { class: "card host-item", "data-series": s.series_id },
        h("h3", { text: s.title }),
        h("p", {
          class: "hint",
          text: `${CADENCE_WORDS[s.cadence] || "Meets regularly"} · ${s.members} member${s.members === 1 ? "" : "s"} · ${n} session${n === 1 ? "" : "s"}`,
        }),
        this.downloads("series", s.series_id, s.title, SERIES_TABLES),
        figures,
      );
    });
    const seriesTitle = new Map(series.map((s) => [s.series_id, s.title]));
    const sorted = [...rooms].sort((a, b) => (b.created_at || 0) - (a.created_at || 0));
    const roomItems = sorted.map((r) =>
      h(
        "li",
        { class: "card host-item", "data-room": r.room_id },
        h("h3", { text: r.title || titles.get(r.room_id) || r.room_id }),
        h("p", {
          class: "hint",
          text: [
            r.format,
            `opened ${shortDate(r.created_at)}`,
            r.ended_at ? `ended ${shortDate(r.ended_at)}` : "not ended",
            r.series ? `in ${seriesTitle.get(r.series) || "a series"}` : null,
          ]
            .filter(Boolean)
            .join(" · "),
        }),
        this.downloads("room", r.room_id, r.title, ROOM_TABLES),
      ),
    );
    const signOut = h("button", {
      type: "button",
      class: "ghost small",
      "data-test": "host-forget",
      text: "Forget the key",
      onclick: () => {
        saveCommunityKey(null);
        this.key = null;
        this.showKeyForm();
      },
    });
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry host wide", id: "main", "data-test": "host-page" },
        h("div", { class: "row wrap host-head" }, h("h1", { text: "Community host" }), signOut),
        h("h2", { text: "Series" }),
        series.length
          ? h("ul", { class: "host-list", "data-test": "host-series" }, seriesItems)
          : h("p", { class: "hint", "data-test": "host-series", text: "No series yet." }),
        h("h2", { text: "Rooms" }),
        rooms.length
          ? h("ul", { class: "host-list", "data-test": "host-rooms" }, roomItems)
          : h("p", { class: "hint", "data-test": "host-rooms", text: "No rooms yet." }),
      ),
    );
    this.bar.set("circlekeeper", "", null);
  }
}

// ---------------------------------------------------------------------------------------------

function notFound(root) {
  app.page = "not-found";
  root.replaceChildren(
    h(
      "main",
      { class: "entry", id: "main" },
      h("h1", { text: "Nothing here" }),
      h("p", {}, "This address is not a circle. ", h("a", { href: "/", text: "Open a new circle" }), "."),
    ),
  );
}

function route() {
  const root = document.getElementById("app");
  const path = location.pathname;
  if (path === "/" || path === "/index.html") {
    app.page = "create";
    app.screen = "create";
    renderCreatePage(root);
    return;
  }
  if (path === "/host" || path === "/host/") {
    app.page = "host";
    new HostPage(root).start();
    return;
  }
  const series = path.match(/^\/s\/([A-Za-z0-9_-]{1,128})\/?$/);
  if (series) {
    app.page = "member";
    app.seriesId = series[1];
    new MemberPage(root, series[1]).start();
    window.addEventListener("hashchange", () => {
      if (/(^|[#&])member=/.test(location.hash)) location.reload();
    });
    // Back from a session entered here: show the series page again.
    window.addEventListener("popstate", () => location.reload());
    return;
  }
  const match = path.match(/^\/r\/([A-Za-z0-9_-]{1,128})\/?$/);
  if (!match) {
    notFound(root);
    return;
  }
  app.page = "room";
  app.roomId = match[1];
  const page = new RoomPage(root, match[1]);
  page.start();
  // Opening another link of this room in the same tab changes only the fragment: start over.
  window.addEventListener("hashchange", () => {
    if (/(^|[#&])(join|host)=/.test(location.hash)) location.reload();
  });
}

route();
