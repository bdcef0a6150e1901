// Entry point: routes by URL. `/` opens a room (create.js); `/r/{room}#join=KEY` or
// `#host=KEY` enters one: a display name, the ground rules and consent, then the room
// (room.js) over the websocket (connection.js). A stored personal token resumes instead.

import { Connection, forgetRoom, loadRoomMemory, saveRoomMemory } from "/connection.js";
import {
  RoomScreen,
  connectionLabel,
  h,
  isFacilitating,
  participantById,
  stageRoleOf,
  topBar,
  announce,
} from "/room.js";
import { renderCreatePage, loadInviteUrl } from "/create.js";

const NAME_KEY = "circlekeeper.name";
const KEY_PREFIX = "circlekeeper.key.";

const app = { page: null, roomId: null, conn: null, screen: null };

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
 * still works), then forgotten.
 */
function takeLink(roomId) {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  let link = null;
  if (params.get("host")) link = { mode: "host", key: params.get("host") };
  else if (params.get("join")) link = { mode: "join", key: params.get("join") };
  if (link) {
    history.replaceState(null, "", location.pathname + location.search);
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
      if (saved && (saved.mode === "join" || saved.mode === "host") && typeof saved.key === "string") return saved;
    }
  } catch {
    /* nothing kept */
  }
  return null;
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
};

// ---------------------------------------------------------------------------------------------

class RoomPage {
  constructor(root, roomId) {
    this.root = root;
    this.roomId = roomId;
    this.link = takeLink(roomId);
    this.memory = loadRoomMemory(roomId);
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

  renderConnecting() {
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: "Coming back to your circle…" }),
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
    const keepToken = reason === "room_unavailable" || reason === "outdated";
    if (!keepToken) forgetRoom(this.roomId);
    if (this.roomScreen) {
      this.roomScreen.destroy();
      this.roomScreen = null;
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
    let [title, text] = FATAL_TEXT[reason] || ["The connection has ended", message || "Please reload the page."];
    if (reason === "deleted" && this.conn && this.conn.deleting) {
      [title, text] = ["The room is deleted", "Everyone was disconnected and nothing more is kept of this room."];
    }
    const view = this.conn && this.conn.view;
    const actions = [];
    if (reason === "outdated" || reason === "room_unavailable") {
      actions.push(h("button", { type: "button", class: "primary", onclick: () => location.reload(), text: "Reload" }));
    }
    actions.push(h("a", { href: "/", class: "button-link", text: "Open a new circle" }));
    this.root.replaceChildren(
      this.bar.el,
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { "data-test": "closed-title", text: title }),
        h("p", { class: "lead", text }),
        message && !FATAL_TEXT[reason] ? h("p", { class: "hint", text: message }) : null,
        h("div", { class: "row wrap" }, actions),
      ),
    );
    this.bar.set(view ? view.title : "circlekeeper", view ? view.format : "", "closed");
    announce(title);
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
