// Rendering the room: the participant view (phone first) and the facilitator console, plus the
// small DOM helpers the other modules share. Everything shown follows from the room view kept by
// connection.js and the server clock; this module never re-implements the room's rules beyond
// deciding which controls make sense now.

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/** Creates an element: `h("button", {class: "x", "data-test": "y", onclick: fn}, "text")`. */
export function h(tag, props = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "text") {
      el.textContent = value;
    } else if (key === "hidden" || key === "disabled" || key === "checked" || key === "open") {
      el[key] = Boolean(value);
    } else if (key === "value" && !svg) {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** What someone does in their pair, as the pair view says it ("You are coaching"). */
const PAIR_ROLE_WORDS = { coach: "coaching", client: "being coached", observer: "observing" };

const ROLE_WORDS = {
  facilitator: "facilitator",
  co_facilitator: "co-facilitator",
  presenter: "presenter",
  coach: "coach",
  client: "client",
  observer: "observer",
  timekeeper: "timekeeper",
  member: "member",
  participant: "participant",
};

export function roleWord(role) {
  return ROLE_WORDS[role] || String(role).replace(/_/g, " ");
}

function plural(role) {
  const word = roleWord(role);
  if (/(s|ch|sh|x)$/.test(word)) return `${word}es`;
  return `${word}s`;
}

/** `7:42`, `1:02:03`, or `+0:35` in overtime (negative ms). */
export function formatClock(ms) {
  const over = ms < 0;
  const total = over ? Math.floor(-ms / 1000) : Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const ss = String(seconds).padStart(2, "0");
  const text = hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${ss}` : `${minutes}:${ss}`;
  return over ? `+${text}` : text;
}

/** "1 minute", "90 seconds", "2 minutes" — for spoken announcements. */
function spokenDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 90 && s % 60 !== 0) return `${s} seconds`;
  const m = Math.round(s / 60);
  return m === 1 ? "1 minute" : `${m} minutes`;
}

function minutesLabel(ms) {
  const m = ms / 60000;
  if (m >= 1 && Number.isInteger(m)) return `${m} min`;
  if (m >= 1) return `${m.toFixed(1)} min`;
  return `${Math.round(ms / 1000)} s`;
}

/** Remaining ms of a timer at `now` (negative in overtime), or null without a timer. */
export function remainingMs(timer, now) {
  if (!timer) return null;
  if (timer.ends_at !== null && timer.ends_at !== undefined) return timer.ends_at - now;
  if (timer.paused_remaining_ms !== null && timer.paused_remaining_ms !== undefined) {
    return timer.paused_remaining_ms;
  }
  return timer.duration_ms;
}

export function participantById(view, id) {
  return view.participants.find((p) => p.id === id) || null;
}

export function isFacilitating(p) {
  return Boolean(p) && (p.standing === "facilitator" || p.standing === "co_facilitator");
}

/** `room.pairs`, with its defaults (the server leaves it out of the view while empty). */
export function pairsOf(view) {
  const p = view && view.pairs;
  return {
    proposal: (p && p.proposal) || null,
    groups: (p && p.groups) || [],
    waiting: (p && p.waiting) || [],
  };
}

/** The confirmed group participant `id` is in, or null. */
export function groupOf(view, id) {
  return pairsOf(view).groups.find((g) => g.members.includes(id)) || null;
}

/** Whether the current stage is the one where pairs work on their own. */
export function inPairsStage(view) {
  const planned = view.stage ? view.plan[view.stage.index] : null;
  return Boolean(planned) && planned.speaking === "pairs";
}

/** `coach`, `client` or `observer`: what `id` does in `group` this round. */
export function pairRoleIn(group, id) {
  if (group.coach === id) return "coach";
  if (group.client === id) return "client";
  return "observer";
}

/** A group's roles after the switch: the coach becomes the client, the observer the coach, the
 * client the observer (a pair simply swaps), as src/room/state/pairs.rs `rotate` does. */
function rotated(group) {
  const observer = group.observer === null || group.observer === undefined ? null : group.observer;
  return observer === null
    ? { coach: group.client, client: group.coach, observer: null }
    : { coach: observer, client: group.coach, observer: group.client };
}

/** The stage role of participant `id`, exactly as the server's `stage_role` decides it. */
export function stageRoleOf(view, id) {
  const p = participantById(view, id);
  const planned = view.stage ? view.plan[view.stage.index] : null;
  if (planned && planned.presenter === id) return "presenter";
  if (p && p.roles.includes("observer")) return "observer";
  if (inPairsStage(view)) {
    const group = groupOf(view, id);
    if (group) return pairRoleIn(group, id);
    // Someone waiting for a group takes part as a member, not as anyone's coach.
    if (p && !isFacilitating(p)) return "member";
  }
  if (isFacilitating(p)) return "facilitator";
  if (planned && planned.roles.includes("coach")) return "coach";
  if (planned && planned.roles.includes("client")) return "client";
  return "member";
}

// -- the polite live region -------------------------------------------------------------------

let announceTimer = null;

/** Says `text` through the polite ARIA live region. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region || !text) return;
  clearTimeout(announceTimer);
  region.textContent = "";
  announceTimer = setTimeout(() => {
    region.textContent = text;
  }, 60);
}

// -- confirmation dialog ----------------------------------------------------------------------

/** Asks a yes/no question in a modal dialog; resolves true when confirmed. */
export function confirmDialog(message, confirmLabel = "Yes", detail = "") {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title", text: message }),
      detail ? h("p", { text: detail }) : null,
      h(
        "div",
        { class: "row end" },
        h("button", { type: "button", class: "secondary", "data-test": "confirm-cancel", value: "no" }, "Cancel"),
        h("button", { type: "button", class: "primary", "data-test": "confirm-ok", value: "yes" }, confirmLabel),
      ),
    );
    let answered = false;
    const finish = (yes) => {
      if (answered) return;
      answered = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(yes);
    };
    dialog.addEventListener("click", (e) => {
      const btn = e.target.closest("button");
      if (btn) finish(btn.value === "yes");
    });
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('[data-test="confirm-cancel"]').focus();
  });
}

// -- a soft chime, generated (no files) -------------------------------------------------------

const SOUND_KEY = "circlekeeper.sound";
let audioContext = null;

export function soundEnabled() {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}

function setSoundEnabled(on) {
  try {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  } catch {
    /* not remembered */
  }
}

function ensureAudio() {
  if (!audioContext) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audioContext = new Ctx();
  }
  if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
  return audioContext;
}

/** Two soft sine notes with slow fades: a calm "time is nearly up". */
export function chime() {
  const ctx = ensureAudio();
  if (!ctx) return;
  const start = ctx.currentTime + 0.05;
  [523.25, 659.25].forEach((freq, i) => {
    const t = start + i * 0.35;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.07, t + 0.06);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 1.4);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 1.5);
  });
}

// -- small shared pieces ----------------------------------------------------------------------

export function connectionLabel(status) {
  if (status === "live") return "live";
  if (status === "reconnecting" || status === "connecting") return "reconnecting";
  return "offline";
}

/** The top bar: room title, connection state, sound switch. */
export function topBar() {
  const title = h("span", { class: "room-title" });
  const format = h("span", { class: "room-format" });
  const stateText = h("span", { "data-test": "connection-state", text: "offline" });
  const state = h(
    "span",
    { class: "conn", "data-state": "offline", role: "status" },
    h("span", { class: "dot", "aria-hidden": "true" }),
    stateText,
  );
  const soundState = h("span", { class: "sound-state", text: soundEnabled() ? "on" : "off" });
  const sound = h(
    "button",
    {
      type: "button",
      class: "ghost sound",
      "aria-pressed": soundEnabled() ? "true" : "false",
      "aria-label": "Soft sound when time is nearly up",
      title: "Soft sound when time is nearly up",
      "data-test": "sound-toggle",
      onclick: () => {
        const on = sound.getAttribute("aria-pressed") !== "true";
        setSoundEnabled(on);
        sound.setAttribute("aria-pressed", on ? "true" : "false");
        soundState.textContent = on ? "on" : "off";
        if (on) chime();
      },
    },
    h("span", { class: "sound-label", text: "Sound " }),
    h("span", { "aria-hidden": "true", class: "sound-note", text: "♪ " }),
    soundState,
  );
  const el = h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "brand" },
      h("img", { src: "/icon.svg", alt: "", width: "28", height: "28" }),
      h("span", { class: "titles" }, title, format),
    ),
    h("div", { class: "bar-right" }, state, sound),
  );
  return {
    el,
    /** `status` null hides the connection state and sound switch (before entering). */
    set(roomTitle, formatName, status) {
      title.textContent = roomTitle || "circlekeeper";
      format.textContent = formatName ? ` · ${formatName}` : "";
      const right = el.querySelector(".bar-right");
      right.hidden = status === null;
      if (status === null) return;
      const label = connectionLabel(status);
      state.dataset.state = label;
      if (stateText.textContent !== label) stateText.textContent = label;
    },
  };
}

/** Remembers which control had focus (by `data-focus`) so a rebuilt list can restore it. */
function captureFocus() {
  const el = document.activeElement;
  return el && el.dataset && el.dataset.focus ? el.dataset.focus : null;
}

function restoreFocus(key) {
  if (!key) return;
  const active = document.activeElement;
  if (active && active.dataset && active.dataset.focus === key) return;
  const el = document.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (el && !el.disabled) el.focus({ preventScroll: true });
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function show(el, visible) {
  const want = !visible;
  if (el.hidden !== want) el.hidden = want;
}

const RING_R = 90;
const RING_C = 2 * Math.PI * RING_R;

/**
 * The countdown: a ring that empties as time runs, big digits and a note in words. Used for
 * the stage's timer and, in the pairs stage, for a pair's own timer. `test` names the digits'
 * `data-test` hook, which carries `data-remaining-ms`.
 */
function countdown(test) {
  const progress = h("svg:circle", {
    class: "ring-progress",
    cx: "100",
    cy: "100",
    r: String(RING_R),
    "stroke-dasharray": RING_C.toFixed(2),
    "stroke-dashoffset": "0",
    transform: "rotate(-90 100 100)",
  });
  const ring = h(
    "svg:svg",
    { class: "ring", viewBox: "0 0 200 200", "aria-hidden": "true", focusable: "false" },
    h("svg:circle", { class: "ring-track", cx: "100", cy: "100", r: String(RING_R) }),
    progress,
  );
  const digits = h("span", { class: "timer-digits", "data-test": test });
  const note = h("span", { class: "timer-note" });
  const box = h(
    "div",
    { class: "timer-box", "data-tone": "idle" },
    ring,
    h("div", { class: "timer-face" }, digits, note),
  );
  return {
    box,
    digits,
    note,
    progress,
    /** Shows `remaining` ms (null: no timer) of `duration`, in `tone`, with `noteText`. */
    set(remaining, duration, tone, noteText) {
      if (remaining === null) {
        setText(digits, "–:––");
        digits.removeAttribute("data-remaining-ms");
      } else {
        setText(digits, formatClock(remaining));
        digits.setAttribute("data-remaining-ms", String(Math.round(remaining)));
      }
      // An hour or more (`1:45:00`, `+1:02:03`) needs smaller digits to fit the ring.
      digits.classList.toggle("long", digits.textContent.length > 6);
      setText(note, noteText);
      digits.setAttribute(
        "aria-label",
        remaining === null
          ? "no timer"
          : remaining < 0
            ? `${formatClock(remaining)} over time`
            : `${formatClock(remaining)} ${noteText}`,
      );
      if (box.dataset.tone !== tone) box.dataset.tone = tone;
      const fraction = remaining === null ? 0 : Math.max(0, Math.min(1, remaining / (duration || 1)));
      const offset = (RING_C * (1 - (tone === "over" ? 1 : fraction))).toFixed(1);
      if (progress.getAttribute("stroke-dashoffset") !== offset) {
        progress.setAttribute("stroke-dashoffset", offset);
      }
    },
  };
}

/** `normal`, `warn`, `over` or `paused` for a running timer at `remaining` ms. */
function timerTone(timer, remaining, warnBefore, paused) {
  const duration = timer.duration_ms || 1;
  const warned = timer.warned || (warnBefore < duration && remaining <= warnBefore);
  if (paused) return "paused";
  if (remaining < 0) return "over";
  if (warned) return "warn";
  return "normal";
}

// -- what people write: commitments, feedback, the survey -------------------------------------

/** Stages in which the server takes a commitment (src/room/state/notes.rs). */
const COMMITMENT_KINDS = new Set(["reflection", "commitment", "pairs", "feedback", "check_out"]);

/** How a commitment went, in words. */
const OUTCOMES = [
  ["kept", "Kept", "kept"],
  ["partly", "Partly", "partly kept"],
  ["not", "Not", "not kept"],
  ["changed", "Changed", "changed"],
];

/** "Partly kept": a review button's full name, which begins with its visible label. */
function outcomeName(words) {
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function outcomeWords(outcome) {
  const found = OUTCOMES.find(([value]) => value === outcome);
  return found ? found[2] : "not looked back on yet";
}

/** Who sees an item, said after it is saved. */
function visibilityWords(visibility) {
  if (visibility === "circle") return "shared with this circle";
  if (visibility === "exportable") return "shared with this circle and the program's summary";
  return "only you can see it";
}

/** `2027-03-01` → "1 Mar 2027" in the reader's language (a local date: no time zone shift). */
function formatDue(due) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(due || "");
  if (!m) return due || "";
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return date.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

/** Today as `YYYY-MM-DD`, on this device's calendar. */
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/**
 * Who may see what I write: three radio options, each explained, "Only me" unless I choose
 * otherwise. `details` says what each means for this kind of item.
 */
function visibilityField(prefix, test, legend, details) {
  const options = [
    ["private", "Only me"],
    ["circle", "This circle"],
    ["exportable", "This circle and the program's summary"],
  ];
  const inputs = [];
  const el = h(
    "fieldset",
    { class: "choices visibility" },
    h("legend", { text: legend }),
    options.map(([value, label]) => {
      const id = `${prefix}-${value}`;
      const input = h("input", {
        type: "radio",
        name: prefix,
        id,
        value,
        "data-test": test,
        "aria-describedby": `${id}-detail`,
        checked: value === "private",
      });
      inputs.push(input);
      return h(
        "label",
        { class: "choice", for: id },
        input,
        h(
          "span",
          { class: "choice-text" },
          h("span", { class: "choice-label", text: label }),
          h("span", { class: "choice-detail", id: `${id}-detail`, text: details[value] }),
        ),
      );
    }),
  );
  return {
    el,
    get value() {
      const chosen = inputs.find((i) => i.checked);
      return chosen ? chosen.value : "private";
    },
    set value(v) {
      for (const i of inputs) i.checked = i.value === (v || "private");
    },
  };
}

/** A rating from 1 to 5: five radio buttons in a row, the ends explained. */
function ratingField(prefix, test, legend, low, high) {
  const inputs = [];
  const scale = h("span", { class: "rating-scale", id: `${prefix}-scale` }, h("span", { text: `1 = ${low}` }), h("span", { text: `5 = ${high}` }));
  const el = h(
    "fieldset",
    { class: "rating", "aria-describedby": `${prefix}-scale` },
    h("legend", { text: legend }),
    h(
      "span",
      { class: "rating-options" },
      [1, 2, 3, 4, 5].map((n) => {
        const id = `${prefix}-${n}`;
        const input = h("input", { type: "radio", name: prefix, id, value: String(n), "data-test": test });
        inputs.push(input);
        return h("label", { class: "rate", for: id }, input, h("span", { text: String(n) }));
      }),
    ),
    scale,
  );
  return {
    el,
    first: inputs[0],
    get value() {
      const chosen = inputs.find((i) => i.checked);
      return chosen ? Number(chosen.value) : null;
    },
    set value(v) {
      for (const i of inputs) i.checked = v !== null && v !== undefined && Number(i.value) === v;
    },
  };
}

/** What a person typed, as the server takes it: no tabs or other control characters but newlines. */
function cleanText(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\t/g, " ").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "").trim();
}

/** A labelled multi-line text field. */
function textField(id, test, label, help = "", rows = 3) {
  const input = h("textarea", {
    id,
    class: "prose",
    rows: String(rows),
    maxlength: "500",
    "data-test": test,
    "aria-describedby": help ? `${id}-help` : null,
  });
  const el = h(
    "div",
    { class: "field" },
    h("label", { for: id, text: label }),
    help ? h("p", { class: "hint", id: `${id}-help`, text: help }) : null,
    input,
  );
  return { el, input };
}

// ---------------------------------------------------------------------------------------------
// The room screen.

export class RoomScreen {
  /**
   * @param root element to render into
   * @param conn the Connection (view, you, status, send, serverNow)
   * @param options.bar the top bar from `topBar()`
   * @param options.inviteUrl the join link, when this device opened the room
   * @param options.seriesUrl the member's series page, in a room entered with a personal link
   * @param options.hostKey the room's host key, kept on this device: offers "Export summary"
   * @param options.keepLink `(link, url, key)`: keep a replaced link on this device (`join` or
   *   `host`), or forget it (`url` and `key` null) when it was turned off or replaced elsewhere
   */
  constructor(
    root,
    conn,
    { bar, inviteUrl = null, showRules = false, seriesUrl = null, hostKey = null, keepLink = () => {} } = {},
  ) {
    this.root = root;
    this.hostKey = hostKey; // this device's host key for the room (entered by the host link): exports
    this.keepLink = keepLink;
    this.joinLinkOff = false; // turned off from this console: nothing to share until replaced
    this.newHostUrl = null; // a host link this console just replaced, shown until the page is left

    this.conn = conn;
    this.bar = bar;
    this.inviteUrl = inviteUrl;
    this.seriesUrl = seriesUrl; // a series member's own page
    // What I wrote here (private items included), from the last `mine` ack: never in the view.
    this.mine = null;
    this.mineLoading = false;
    this.mineRetryAt = 0;
    this.feedbackKey = null; // "group:round" the feedback form was last filled for
    this.editingSurvey = false; // changing an answer already given
    this.prevFeedbackToMe = conn.view ? conn.view.feedback.filter((f) => f.to === conn.you).length : 0;
    this.drawn = null; // {prompt, seq}: a prompt this person drew
    this.cardSource = null; // "pushed" | "drawn": which card is newest
    this.dismissedPushed = null; // key of a pushed prompt this person dismissed
    this.openMenus = new Set(); // participant ids whose manage menu is open
    this.prompts = null; // the bank, for facilitators
    this.showAllPrompts = false;
    this.showRules = showRules; // the ground rules in full, once, right after entering
    this.lastStatus = conn.view ? conn.view.session.status : null;
    this.prevFloorId = conn.view && conn.view.turn.floor ? conn.view.turn.floor.participant : null;
    this.prevGroup = conn.view ? groupOf(conn.view, conn.you) : null; // my group as last seen
    this.swapPick = []; // people selected to swap in the proposal (console)
    this.tileClocks = []; // the dashboard's time fields, refreshed every tick
    this.build();
    this.update();
    this.ticker = setInterval(() => this.tick(), 200);
  }

  destroy() {
    clearInterval(this.ticker);
  }

  get view() {
    return this.conn.view;
  }

  get me() {
    return participantById(this.view, this.conn.you);
  }

  name(id) {
    if (id === this.conn.you) {
      const p = this.me;
      return p ? p.name : "you";
    }
    const p = participantById(this.view, id);
    return p ? p.name : "someone";
  }

  // -- building the skeleton once --------------------------------------------------------

  build() {
    const r = {};
    this.r = r;

    // Centre: the participant view, as everyone sees it.
    r.stageCount = h("p", { class: "stage-count" });
    r.stageTitle = h("h1", { class: "stage-title", "data-test": "stage-title" });
    r.purpose = h("p", { class: "purpose" });
    r.presenterLine = h("p", { class: "presenter-line" });

    r.stageClock = countdown("timer");
    r.timer = r.stageClock.digits;
    r.timerBox = r.stageClock.box;
    r.speakerTimer = h("p", { class: "speaker-timer", "data-test": "speaker-timer" });
    r.cue = h("p", { class: "cue", "data-test": "time-cue" });

    r.speaker = h("span", { class: "value", "data-test": "speaker" });
    r.nextUp = h("span", { class: "value", "data-test": "next-up" });
    r.yourTurn = h("p", { class: "your-turn", text: "Your turn" });
    r.myRole = h("strong", { "data-test": "my-role" });
    r.myChips = h("span", { class: "chips" });

    r.promptFor = h("p", { class: "prompt-for" });
    r.promptText = h("p", { class: "prompt-text" });
    r.promptDismiss = h("button", {
      type: "button",
      class: "ghost small",
      "data-test": "dismiss-prompt",
      onclick: () => this.dismissCard(),
      text: "Dismiss",
    });
    r.promptClear = h("button", {
      type: "button",
      class: "ghost small",
      "data-test": "clear-prompt",
      onclick: (e) => this.act(e.currentTarget, "clear_prompt"),
      text: "Clear for everyone",
    });
    r.promptCard = h(
      "article",
      { class: "prompt-card", "data-test": "prompt-card", "aria-label": "Prompt", hidden: true },
      r.promptFor,
      r.promptText,
      h("div", { class: "row end" }, r.promptClear, r.promptDismiss),
    );

    const button = (test, label, onclick, cls = "secondary") =>
      h("button", { type: "button", class: cls, "data-test": test, "data-focus": test, onclick, text: label });

    r.raise = button("raise-hand", "Raise hand", (e) => this.act(e.currentTarget, "raise_hand"));
    r.lower = button("lower-hand", "Lower hand", (e) => this.act(e.currentTarget, "lower_hand"));
    r.pass = button("pass", "Pass", (e) => this.act(e.currentTarget, "pass"));
    r.done = button("done", "I'm done", (e) => this.act(e.currentTarget, "done"));
    r.draw = button("draw-prompt", "Draw a prompt", (e) => this.drawPrompt(e.currentTarget));
    r.endHalf = button("end-half", "End this half", (e) => this.endHalf(e.currentTarget));
    r.confirmSwitch = button("confirm-switch", "Ready to switch", (e) => this.act(e.currentTarget, "confirm_switch"));
    r.actions = h(
      "div",
      { class: "actions" },
      r.raise,
      r.lower,
      r.done,
      r.pass,
      r.draw,
      r.endHalf,
      r.confirmSwitch,
    );
    r.actionHint = h("p", { class: "hint action-hint" });

    r.error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: true });

    // The pair view: a participant's own pair or triad, in the pairs stage.
    this.buildFeedbackForm();
    r.pairRound = h("p", { class: "pair-round", "data-test": "pair-round" });
    r.partner = h("span", { class: "partner", "data-test": "partner" });
    r.pairRole = h("strong", { class: "pair-role", "data-test": "pair-role" });
    r.pairRoleLine = h("p", { class: "pair-role-line" }, "You are ", r.pairRole);
    r.pairHint = h("p", { class: "pair-hint", "data-test": "pair-hint" });
    r.pairSwitched = h("p", { class: "pair-switched", "data-test": "pair-switched" });
    r.pairClock = countdown("pair-timer");
    r.pairClock.box.classList.add("pair-clock");
    r.feedbackAsk = h("p", { class: "feedback-ask", "data-test": "feedback-ask" });
    r.pairNext = h("p", { class: "pair-next", "data-test": "pair-next" });
    r.switchWaiting = h("p", { class: "switch-waiting", "data-test": "switch-waiting" });
    r.pairDone = h("p", { class: "pair-done", "data-test": "pair-done" });
    r.pairView = h(
      "section",
      { class: "pair-view", "data-test": "pair-view", "aria-label": "Your pair", hidden: true },
      r.pairRound,
      h("p", { class: "pair-with" }, h("span", { class: "label", text: "With" }), r.partner),
      r.pairRoleLine,
      r.pairSwitched,
      r.pairHint,
      r.pairClock.box,
      r.feedbackAsk,
      r.feedbackForm,
      r.pairNext,
      r.switchWaiting,
      r.pairDone,
    );
    // Before the pairs stage, or without a pair: one line on where I stand.
    r.pairingNote = h("p", { class: "pairing-note", "data-test": "pairing-note", hidden: true });

    // The facilitator's pairs: proposal, then the dashboard.
    // A fresh seed each time, so that "Propose again" gives other pairs whatever the server
    // does with a missing seed.
    r.proposePairs = button("propose-pairs", "Propose pairs", (e) =>
      this.act(e.currentTarget, "propose_pairs", { seed: crypto.getRandomValues(new Uint32Array(1))[0] }),
    );
    r.proposal = h("ol", { class: "proposal", "data-test": "proposal" });
    r.swapPeople = button("swap-people", "Swap", (e) => this.swapPeople(e.currentTarget));
    r.confirmPairs = button("confirm-pairs", "Confirm pairs", (e) => this.act(e.currentTarget, "confirm_pairs"));
    r.proposalHint = h("p", { class: "hint proposal-hint" });
    r.proposalBox = h(
      "div",
      { class: "proposal-box" },
      r.proposal,
      h("p", {
        class: "hint",
        text: "To swap two people, select one name in each group, then Swap. A locked group is kept when you propose again.",
      }),
      h("div", { class: "row wrap" }, r.swapPeople, r.confirmPairs),
    );
    r.dashboard = h("ul", { class: "pairs-dashboard", "data-test": "pairs-dashboard" });
    r.moveEveryone = button("move-everyone", "Move everyone on", (e) => this.moveEveryone(e.currentTarget));
    r.callBack = button("call-back", "Call everyone back", (e) => this.callBack(e.currentTarget));
    r.pairsHint = h("p", { class: "hint pairs-hint" });
    r.pairsControls = h("div", { class: "row wrap" }, r.moveEveryone, r.callBack);
    r.unplaced = h("ul", { class: "unplaced", "data-test": "unplaced" });
    r.unplacedBox = h(
      "div",
      { class: "unplaced-box" },
      h("h3", { class: "section-title", text: "Not in a pair" }),
      h("p", {
        class: "hint",
        text: "Place joins someone to a pair still in its first half, as its observer; when no pair can take them, they wait with you.",
      }),
      r.unplaced,
    );
    r.pairsConsole = h(
      "section",
      { class: "controls pairs-console", "aria-label": "Pairs", hidden: true },
      h("h2", { class: "section-title", text: "Pairs" }),
      r.pairsHint,
      h("div", { class: "row wrap" }, r.proposePairs),
      r.proposalHint,
      r.proposalBox,
      r.pairsControls,
      r.dashboard,
      r.unplacedBox,
    );

    // Timekeeping (facilitators, co-facilitators, timekeepers).
    r.pause = button("pause", "Pause", (e) => this.act(e.currentTarget, "pause"));
    r.resume = button("resume", "Resume", (e) => this.act(e.currentTarget, "resume_session"));
    const adjust = (test, label, seconds, aria) =>
      h("button", {
        type: "button",
        class: "secondary",
        "data-test": test,
        "data-focus": test,
        "aria-label": aria,
        onclick: (e) => this.act(e.currentTarget, "adjust_timer", { timer: "stage", seconds }),
        text: label,
      });
    r.minus1 = adjust("timer-minus-1", "−1 min", -60, "Shorten the stage by 1 minute");
    r.plus1 = adjust("timer-plus-1", "+1 min", 60, "Extend the stage by 1 minute");
    r.plus5 = adjust("timer-plus-5", "+5 min", 300, "Extend the stage by 5 minutes");
    r.timeControls = h(
      "section",
      { class: "controls time-controls", "aria-label": "Timer" },
      h("h2", { class: "section-title", text: "Timer" }),
      h("div", { class: "row wrap" }, r.pause, r.resume, r.minus1, r.plus1, r.plus5),
    );

    // Floor controls (facilitating).
    r.giveFloor = button("give-floor", "Give floor to first hand", (e) => this.act(e.currentTarget, "give_floor"));
    r.takeFloor = button("take-floor", "Take the floor back", (e) => this.act(e.currentTarget, "take_floor"));
    r.nextTurn = button("next-turn", "Next turn", (e) => this.act(e.currentTarget, "next_turn"));
    r.floorControls = h(
      "section",
      { class: "controls floor-controls", "aria-label": "Turns" },
      h("h2", { class: "section-title", text: "Turns" }),
      h("div", { class: "row wrap" }, r.nextTurn, r.giveFloor, r.takeFloor),
    );

    // Stage controls (facilitating).
    r.start = button("start", "Start the session", (e) => this.act(e.currentTarget, "start"), "primary");
    r.prev = button("previous-stage", "← Previous stage", (e) => this.act(e.currentTarget, "previous_stage"));
    r.next = button("next-stage", "Next stage →", (e) => this.act(e.currentTarget, "next_stage"));
    r.end = button("end-session", "End session", (e) => this.endSession(e.currentTarget));
    r.lobbyHint = h("p", { class: "hint" });
    r.stageControls = h(
      "section",
      { class: "controls stage-controls", "aria-label": "Stages" },
      h("h2", { class: "section-title", text: "Session" }),
      r.lobbyHint,
      h("div", { class: "row wrap" }, r.start, r.prev, r.next, r.end),
    );

    r.rulesText = h("div", { class: "ground-rules", "data-test": "ground-rules" });
    r.rulesCard = h(
      "section",
      { class: "rules-card", "aria-labelledby": "rules-card-title", hidden: true },
      h("h2", { id: "rules-card-title", text: "The ground rules you agreed to" }),
      r.rulesText,
      h(
        "div",
        { class: "row wrap end" },
        h("button", {
          type: "button",
          class: "ghost",
          "data-test": "rules-leave",
          onclick: (e) => this.leaveRoom(e.currentTarget),
          text: "I cannot agree: leave",
        }),
        h("button", {
          type: "button",
          class: "primary",
          "data-test": "rules-ok",
          onclick: () => {
            this.showRules = false;
            this.update();
            r.main.focus({ preventScroll: true });
          },
          text: "Understood",
        }),
      ),
    );
    r.rulesAgain = h("div", { class: "ground-rules small" });

    this.buildNotes();

    r.centre = h(
      "section",
      { class: "centre", "aria-label": "Now" },
      r.rulesCard,
      h("div", { class: "stage-head" }, r.stageCount, r.stageTitle, r.purpose, r.presenterLine),
      r.pairView,
      r.pairingNote,
      r.timerBox,
      r.speakerTimer,
      r.cue,
      (r.turnBox = h(
        "div",
        { class: "turn" },
        h("p", { class: "speaking" }, h("span", { class: "label", text: "Speaking" }), r.speaker),
        h("p", { class: "next" }, h("span", { class: "label", text: "Next" }), r.nextUp),
      )),
      r.yourTurn,
      (r.meLine = h("p", { class: "me" }, "You are: ", r.myRole, r.myChips)),
      r.promptCard,
      r.actions,
      r.actionHint,
      r.error,
      r.pairsConsole,
      r.floorControls,
      r.timeControls,
      r.stageControls,
      r.lookBack,
      r.feedbackBox,
      r.commitBox,
      r.surveyBox,
    );

    // Left: the stage list (console).
    r.stageList = h("ol", { class: "stage-list", "data-test": "stage-list" });
    r.stagesPanel = h(
      "aside",
      { class: "panel stages-panel", "aria-label": "Stages" },
      h("h2", { text: "Stages" }),
      r.stageList,
    );

    // Right: the people.
    r.queue = h("ol", { class: "queue", "data-test": "queue" });
    r.queueEmpty = h("p", { class: "hint", text: "No hands up." });
    r.queueSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: "Hands up" }),
      r.queue,
      r.queueEmpty,
    );
    r.participants = h("ul", { class: "people", "data-test": "participants" });
    r.peopleSummary = h("span");
    r.left = h("p", { class: "hint left-list" });
    r.peopleSection = h(
      "section",
      { class: "panel-section" },
      h("h2", {}, "People ", r.peopleSummary),
      r.participants,
      r.left,
    );
    r.peopleDetails = h(
      "details",
      { class: "who" },
      h("summary", {}, "Who's here"),
    );

    r.presenterList = h("ol", { class: "presenters", "data-test": "presenter-order" });
    r.presenterAdd = h("select", { "data-test": "presenter-add", "aria-label": "Add a presenter" });
    r.presenterAdd.addEventListener("change", () => {
      const id = Number(r.presenterAdd.value);
      if (!id) return;
      r.presenterAdd.value = "";
      this.setPresenterOrder([...this.view.presenter_order, id], r.presenterAdd);
    });
    r.shuffle = button("shuffle-presenters", "Shuffle", (e) => this.act(e.currentTarget, "shuffle_presenters"));
    r.presenterEmpty = h("p", { class: "hint" });
    r.presentersSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: "Presenters" }),
      r.presenterEmpty,
      r.presenterList,
      h("div", { class: "row wrap" }, r.presenterAdd, r.shuffle),
    );

    r.promptTo = h(
      "select",
      { "data-test": "prompt-to", "aria-label": "Show the prompt to" },
      h("option", { value: "", text: "to everyone" }),
      ["presenter", "coach", "client", "member", "observer", "timekeeper", "facilitator"].map((role) =>
        h("option", { value: role, text: `to ${plural(role)}` }),
      ),
    );
    r.promptAll = h("input", { type: "checkbox", id: "prompt-all" });
    r.promptAll.addEventListener("change", () => {
      this.showAllPrompts = r.promptAll.checked;
      this.renderPromptBank();
    });
    r.promptBank = h("ul", { class: "prompt-bank", "data-test": "prompt-bank" });
    r.promptOwn = h("input", {
      type: "text",
      maxlength: "500",
      "data-test": "prompt-own",
      "aria-label": "Your own prompt",
      placeholder: "Or write your own prompt…",
    });
    r.promptOwnForm = h(
      "form",
      {
        class: "row",
        onsubmit: (e) => {
          e.preventDefault();
          const text = r.promptOwn.value.trim();
          if (!text) return;
          this.pushPrompt({ text }, e.submitter || r.promptOwnForm.querySelector("button")).then((ok) => {
            if (ok) r.promptOwn.value = "";
          });
        },
      },
      r.promptOwn,
      h("button", { type: "submit", class: "secondary", "data-test": "push-own", text: "Push" }),
    );
    r.promptsSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: "Prompts" }),
      h(
        "div",
        { class: "row wrap" },
        r.promptTo,
        h("label", { class: "check small" }, r.promptAll, " all stages"),
      ),
      r.promptBank,
      r.promptOwnForm,
    );

    r.linkNotice = h("p", { class: "notice", role: "status", "data-test": "link-notice", hidden: true });
    r.inviteHint = h("p", { class: "hint", "data-test": "invite-hint" });
    r.inviteCode = h("code", { class: "link", "data-test": "invite-link" });
    r.inviteCopy = h("div", { class: "row" }, copyButton(() => this.inviteUrl, "Copy join link"));
    r.revokeJoin = button("revoke-join", "Turn off join link", (e) => this.revokeLink(e.currentTarget, "join"), "ghost");
    r.joinLinkControls = h(
      "div",
      { class: "row wrap" },
      button("rotate-join", "Replace join link", (e) => this.rotateLink(e.currentTarget, "join")),
      r.revokeJoin,
    );
    r.hostLinkCode = h("code", { class: "link", "data-test": "new-host-link" });
    r.hostLinkBox = h(
      "div",
      { hidden: true },
      h("p", {
        class: "hint",
        text: "Your new host link. Keep it: it lets you in as a facilitator and exports the summary. It is not shown again.",
      }),
      r.hostLinkCode,
      h("div", { class: "row" }, copyButton(() => this.newHostUrl, "Copy host link")),
    );
    r.inviteSection = h(
      "section",
      { class: "panel-section", "data-test": "links" },
      h("h2", { text: "Links" }),
      r.linkNotice,
      r.inviteHint,
      r.inviteCode,
      r.inviteCopy,
      r.joinLinkControls,
      h("p", { class: "hint", text: "The host link lets people in as facilitators." }),
      r.hostLinkBox,
      h(
        "div",
        { class: "row wrap" },
        button("rotate-host", "Replace host link", (e) => this.rotateLink(e.currentTarget, "host")),
        button("revoke-host", "Turn off host link", (e) => this.revokeLink(e.currentTarget, "host"), "ghost"),
      ),
    );

    r.deleteRoom = button("delete-room", "Delete room", (e) => this.deleteRoom(e.currentTarget), "quiet-danger");
    r.leave = button("leave", "Leave the circle", (e) => this.leaveRoom(e.currentTarget), "ghost");
    r.roomSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: "Room" }),
      h("p", {
        class: "hint",
        text: "Deleting disconnects everyone and removes everything kept about this room.",
      }),
      r.deleteRoom,
    );

    r.exportSection = this.buildExport();

    r.peoplePanel = h(
      "aside",
      { class: "panel people-panel", "aria-label": "People" },
      r.queueSection,
      r.peopleSection,
      r.presentersSection,
      r.promptsSection,
      r.inviteSection,
      r.exportSection,
      r.roomSection,
    );
    r.rulesDetails = h("details", { class: "who rules" }, h("summary", {}, "Ground rules"), r.rulesAgain);
    r.seriesLink = this.seriesUrl
      ? h("a", { href: this.seriesUrl, class: "button-link", "data-test": "series-link", text: "Your series page" })
      : null;
    r.participantExtras = h(
      "div",
      { class: "participant-extras" },
      r.peopleDetails,
      r.rulesDetails,
      r.seriesLink,
      r.leave,
    );
    r.roomSection.insertBefore(
      h("details", { class: "rules-inline" }, h("summary", {}, "Ground rules"), r.consoleRules = h("div", { class: "ground-rules small" })),
      r.roomSection.children[1],
    );

    r.banner = h("p", { class: "banner", role: "status", hidden: true });
    r.layout = h("div", { class: "layout" }, r.stagesPanel, r.centre, r.peoplePanel);
    r.main = h("main", { class: "room", id: "main", tabindex: "-1" }, r.banner, r.layout, r.participantExtras);

    this.root.replaceChildren(this.bar.el, r.main);
  }

  // -- rendering ---------------------------------------------------------------------------

  update() {
    const view = this.view;
    if (!view) return;
    const focus = captureFocus();
    const r = this.r;
    const me = this.me;
    const status = this.conn.status;
    const live = status === "live";
    const facilitating = isFacilitating(me) && !me.removed;
    const timekeeping = facilitating || (me && me.roles.includes("timekeeper"));
    const session = view.session.status;
    const started = session === "running" || session === "paused";
    const ended = session === "ended";
    const planned = view.stage ? view.plan[view.stage.index] : null;
    const myRole = stageRoleOf(view, this.conn.you);
    const turn = view.turn;
    const pairsStage = inPairsStage(view) && !ended;
    const myGroup = groupOf(view, this.conn.you);
    // A participant in a pair sees the pair view instead of the circle's floor and timer.
    const pairMode = pairsStage && started && Boolean(myGroup);
    this.pairMode = pairMode;

    this.bar.set(view.title, view.format, status);
    document.title = planned && !ended ? `${planned.title} · ${view.title}` : `${view.title} · circlekeeper`;

    r.main.dataset.mode = facilitating ? "console" : "participant";
    r.main.dataset.connection = connectionLabel(status);
    r.main.dataset.session = session;
    r.layout.inert = !live;
    if (live) {
      show(r.banner, false);
    } else {
      show(r.banner, true);
      setText(
        r.banner,
        status === "offline"
          ? "Offline: waiting for the network. The last view is shown greyed out; timers keep counting from their deadlines."
          : "Reconnecting… The last view is shown greyed out; timers keep counting from their deadlines.",
      );
    }

    // Stage head.
    const total = view.plan.length;
    if (session === "lobby") {
      setText(r.stageCount, `Waiting to start · ${total} stages`);
      setText(r.stageTitle, "Waiting to start");
      setText(r.purpose, view.plan[0] ? `First: ${view.plan[0].title}. ${view.plan[0].purpose}` : "");
    } else if (planned) {
      setText(r.stageCount, `Stage ${view.stage.index + 1} of ${total}${ended ? " · session ended" : ""}`);
      setText(r.stageTitle, ended ? "Session ended" : planned.title);
      setText(r.purpose, ended ? `Last stage: ${planned.title}. Thank you for taking part.` : planned.purpose);
    } else {
      setText(r.stageCount, ended ? "Session ended" : "");
      setText(r.stageTitle, ended ? "Session ended" : "");
      setText(r.purpose, "");
    }
    show(r.purpose, r.purpose.textContent !== "" && !pairMode);
    const presenterId = planned ? planned.presenter : null;
    if (presenterId !== null && presenterId !== undefined && !ended) {
      setText(r.presenterLine, `Presenter: ${this.name(presenterId)}${presenterId === this.conn.you ? " (you)" : ""}`);
      show(r.presenterLine, true);
    } else {
      show(r.presenterLine, false);
    }

    // Floor and what comes next.
    const floor = turn.floor;
    if (session === "lobby") {
      setText(r.speaker, "Nobody yet");
    } else if (ended) {
      setText(r.speaker, "Nobody");
    } else if (floor) {
      setText(r.speaker, `${this.name(floor.participant)} (${roleWord(floor.role)})`);
    } else if (planned && planned.speaking === "open") {
      setText(r.speaker, "Open floor");
    } else {
      setText(r.speaker, "Nobody has the floor");
    }
    setText(r.nextUp, this.nextUpText(planned, turn, session));
    const myTurn = Boolean(floor && floor.participant === this.conn.you && started);
    show(r.yourTurn, myTurn && !pairsStage);
    show(r.turnBox, !pairsStage);
    show(r.timerBox, !pairMode);
    show(r.meLine, !pairMode);
    this.renderPairView(pairMode ? myGroup : null);
    this.renderPairingNote({ facilitating, started, ended, planned, myGroup });
    r.centre.classList.toggle("my-turn", myTurn);

    // My role.
    setText(r.myRole, roleWord(myRole));
    const chips = [];
    if (me && me.standing === "co_facilitator" && myRole !== "facilitator") chips.push("co-facilitator");
    if (me && me.standing === "facilitator" && myRole !== "facilitator") chips.push("facilitator");
    if (me && me.roles.includes("timekeeper")) chips.push("timekeeper");
    if (me && me.roles.includes("observer") && myRole !== "observer") chips.push("observer");
    r.myChips.replaceChildren(...chips.map((c) => h("span", { class: "chip", text: c })));

    setText(r.rulesText, view.ground_rules);
    setText(r.rulesAgain, view.ground_rules);
    setText(r.consoleRules, view.ground_rules);
    show(r.rulesCard, this.showRules && !ended);
    show(r.rulesCard.querySelector('[data-test="rules-leave"]'), Boolean(me) && me.standing !== "facilitator");

    // A coach's drawn prompt is for the coaching itself, not for the feedback after it.
    this.renderPromptCard(myRole, facilitating, !pairMode || myGroup.phase === "coaching");
    // The client's feedback comes before the switch: until it is given, saving it leads.
    const feedbackDue =
      pairMode && myGroup.phase === "feedback" && myGroup.client === this.conn.you && !this.savedFeedback(myGroup);
    this.renderActions({ me, myRole, planned, turn, started, ended, facilitating, pairGroup: pairMode ? myGroup : null, feedbackDue });
    this.maybeLoadMine(live);
    this.renderNotes({ me, planned, session, started, ended, facilitating, pairGroup: pairMode ? myGroup : null });

    // Controls.
    show(r.timeControls, Boolean(timekeeping) && !ended);
    const paused = session === "paused";
    show(r.pause, !paused);
    show(r.resume, paused);
    for (const b of [r.pause, r.resume, r.minus1, r.plus1, r.plus5]) b.disabled = !started;

    show(r.floorControls, facilitating && started && !pairsStage);
    const round = planned && planned.speaking === "round";
    const roundOpen = Boolean(turn.round) && turn.round.position < turn.round.order.length;
    show(r.nextTurn, Boolean(round));
    r.nextTurn.disabled = !roundOpen;
    show(r.giveFloor, !round);
    r.giveFloor.disabled = turn.queue.length === 0;
    setText(
      r.giveFloor,
      turn.queue.length ? `Give floor to ${this.name(turn.queue[0])}` : "Give floor to first hand",
    );
    show(r.takeFloor, !round);
    r.takeFloor.disabled = !floor;

    show(r.stageControls, facilitating && !ended);
    show(r.start, session === "lobby");
    show(r.prev, started);
    show(r.next, started);
    r.prev.disabled = !view.stage || view.stage.index === 0;
    r.next.disabled = !view.stage || view.stage.index >= total - 1;
    if (session === "lobby") {
      const agreed = view.participants.filter((p) => !p.removed && p.consented).length;
      const present = view.participants.filter((p) => !p.removed).length;
      setText(
        r.lobbyHint,
        `${agreed} of ${present} ${present === 1 ? "person has" : "people have"} agreed to the ground rules. ` +
          "Starting begins the first stage for everyone who has.",
      );
      show(r.lobbyHint, true);
    } else if (view.stage && view.stage.index >= total - 1) {
      setText(r.lobbyHint, "This is the last stage: end the session when the circle is done.");
      show(r.lobbyHint, true);
    } else {
      show(r.lobbyHint, false);
    }
    this.renderPairsConsole({ facilitating, started, ended, planned });
    this.markPrimary({ facilitating, session, round, roundOpen, turn, floor, myTurn, planned });

    // Panels.
    show(r.stagesPanel, facilitating);
    show(r.peoplePanel, facilitating);
    show(r.participantExtras, !facilitating);
    show(r.leave, !ended && me && me.standing !== "facilitator");
    if (facilitating) {
      this.renderStageList(started, ended);
      this.renderQueue(started, round);
      this.renderPresenters(ended);
      this.renderPromptBank();
      show(r.promptsSection, !ended);
      const presenterStages = view.plan.some(
        (st) => st.roles.includes("presenter") || st.speaking === "presenter_only",
      );
      show(r.presentersSection, !ended && (presenterStages || view.presenter_order.length > 0));
      this.renderLinks(ended);
      show(r.exportSection, Boolean(this.hostKey));
      if (!this.prompts) this.loadPrompts();
    }
    this.renderPeople(facilitating, started, round);

    if (this.errorPlace) this.placeError();
    this.tick();
    restoreFocus(focus);
  }

  nextUpText(planned, turn, session) {
    if (session === "lobby" || session === "ended" || !planned) return "—";
    if (turn.round) {
      const rest = turn.round.order
        .slice(turn.round.position + 1)
        .filter((id) => {
          const p = participantById(this.view, id);
          return p && !p.removed;
        });
      if (turn.round.position >= turn.round.order.length) return "round complete";
      return rest.length ? rest.map((id) => this.name(id)).join(" · ") : "end of the round";
    }
    if (turn.queue.length) return turn.queue.map((id) => this.name(id)).join(" · ");
    if (planned.speaking === "presenter_only") return "—";
    return "no hands up";
  }

  renderActions({ me, myRole, planned, turn, started, ended, facilitating, pairGroup, feedbackDue = false }) {
    const r = this.r;
    const you = this.conn.you;
    const speaking = planned ? planned.speaking : null;
    const handStage = speaking === "hand_queue" || speaking === "open";
    const holding = Boolean(turn.floor && turn.floor.participant === you);
    const handUp = turn.queue.includes(you);
    const observer = myRole === "observer";
    const consented = Boolean(me && me.consented);

    const canRaise = started && handStage && consented && !observer && !handUp && !holding;
    const canLower = started && handUp;
    const canDone = started && holding;
    const canPass = started && holding && speaking === "round" && Boolean(turn.round);
    const coachingNow = !pairGroup || pairGroup.phase === "coaching";
    const canDraw =
      started &&
      (myRole === "coach" || myRole === "facilitator") &&
      planned &&
      planned.kind !== "break" &&
      coachingNow;
    // In a pair: end the half, then everyone confirms the switch.
    const canEndHalf = Boolean(pairGroup) && pairGroup.phase === "coaching";
    const canConfirm = Boolean(pairGroup) && pairGroup.phase === "feedback" && !pairGroup.ready.includes(you);
    if (pairGroup) {
      const last = pairGroup.round + 1 >= pairGroup.rounds;
      setText(r.confirmSwitch, last ? "Ready to finish" : "Ready to switch");
      setText(r.endHalf, pairGroup.members.length === 3 ? "End this round" : "End this half");
    }

    show(r.raise, canRaise);
    show(r.lower, canLower);
    show(r.done, canDone);
    show(r.pass, canPass);
    show(r.draw, Boolean(canDraw));
    show(r.endHalf, canEndHalf);
    show(r.confirmSwitch, canConfirm);

    // One primary action per moment.
    // Facilitators' primary action is in the console, unless it is their turn to speak.
    let primary = null;
    if (canDone) primary = r.done;
    else if (canConfirm && !feedbackDue) primary = r.confirmSwitch;
    else if (facilitating) primary = null;
    else if (canRaise) primary = r.raise;
    else if (canDraw) primary = r.draw;
    else if (canLower) primary = r.lower;
    for (const b of [r.raise, r.lower, r.done, r.pass, r.draw, r.endHalf, r.confirmSwitch]) {
      b.classList.toggle("primary", b === primary);
      b.classList.toggle("secondary", b !== primary);
    }
    show(r.actions, canRaise || canLower || canDone || canPass || Boolean(canDraw) || canEndHalf || canConfirm);

    let hint = "";
    if (ended) hint = "The session has ended. Thank you.";
    else if (!started) hint = facilitating ? "" : "The facilitator will start the session soon.";
    else if (pairGroup) hint = "";
    else if (observer) hint = "You are observing: you take no turn in this stage.";
    else if (handUp) {
      const place = turn.queue.indexOf(you) + 1;
      hint = place === 1 ? "Your hand is up: you are next." : `Your hand is up: number ${place} in the queue.`;
    } else if (!holding && speaking === "round" && turn.round) {
      const pos = turn.round.order.indexOf(you);
      if (pos > turn.round.position) hint = "Your turn comes in the round.";
    } else if (!holding && speaking === "presenter_only") {
      hint = myRole === "presenter" ? "" : "The presenter speaks; listen fully.";
    }
    setText(r.actionHint, hint);
    show(r.actionHint, hint !== "");
  }

  markPrimary({ facilitating, session, round, roundOpen, turn, floor, myTurn, planned }) {
    const r = this.r;
    const candidates = [
      r.start,
      r.nextTurn,
      r.giveFloor,
      r.takeFloor,
      r.next,
      r.proposePairs,
      r.confirmPairs,
      r.moveEveryone,
      r.callBack,
    ];
    const pairs = pairsOf(this.view);
    const kind = planned && session !== "lobby" && session !== "ended" ? planned.kind : null;
    let primary = null;
    if (facilitating && session === "lobby") primary = r.start;
    else if (facilitating && kind === "pairing") {
      if (pairs.groups.length) primary = r.next.disabled ? null : r.next;
      else if (pairs.proposal) primary = r.confirmPairs;
      else primary = r.proposePairs;
    } else if (facilitating && planned && planned.speaking === "pairs") {
      const allDone = pairs.groups.length > 0 && pairs.groups.every((g) => g.phase === "done");
      if (allDone && !r.callBack.disabled) primary = r.callBack;
      else if (!pairs.groups.length && !pairs.proposal) primary = r.proposePairs;
      else if (!pairs.groups.length) primary = r.confirmPairs;
    } else if (facilitating && !myTurn) {
      if (round && roundOpen) primary = r.nextTurn;
      else if (!round && !floor && turn.queue.length) primary = r.giveFloor;
      else if (!floor && !(r.next.disabled)) primary = r.next;
    }
    for (const b of candidates) {
      b.classList.toggle("primary", b === primary);
      b.classList.toggle("secondary", b !== primary);
    }
    r.end.classList.add("secondary");
  }

  // -- pairs: the pair view (participants) ------------------------------------------------

  /** "Ben", "Ben and Chen". */
  names(ids) {
    const list = ids.map((id) => this.name(id));
    if (list.length <= 1) return list.join("");
    return `${list.slice(0, -1).join(", ")} and ${list[list.length - 1]}`;
  }

  renderPairView(group) {
    const r = this.r;
    show(r.pairView, Boolean(group));
    if (!group) return;
    const you = this.conn.you;
    const role = pairRoleIn(group, you);
    const triad = group.members.length === 3;
    const unit = triad ? "Round" : "Half";
    const done = group.phase === "done";
    const observer = group.observer === null || group.observer === undefined ? null : group.observer;
    r.pairView.dataset.phase = group.phase;
    r.pairView.dataset.role = role;

    setText(r.pairRound, `${unit} ${group.round + 1} of ${group.rounds}`);
    setText(r.partner, this.names(group.members.filter((m) => m !== you)));
    setText(r.pairRole, PAIR_ROLE_WORDS[role]);
    show(r.pairRoleLine, !done);

    // What this role does now, in the words of the practice.
    const coach = this.name(group.coach);
    const client = this.name(group.client);
    let hint = "";
    if (group.phase === "coaching") {
      if (role === "coach") {
        hint = `${client} brings something real. Ask open questions and listen; no advice.`;
        if (observer !== null) hint += ` ${this.name(observer)} observes.`;
      } else if (role === "client") {
        hint = `${coach} coaches you. Bring something real and think out loud.`;
        if (observer !== null) hint += ` ${this.name(observer)} observes.`;
      } else {
        hint = `${coach} coaches ${client}. Notice what helps; you speak in the feedback.`;
      }
    } else if (group.phase === "feedback") {
      const readyOthers = group.ready.filter((id) => id !== you);
      if (readyOthers.length && !group.ready.includes(you)) {
        hint = `${this.names(readyOthers)} ${readyOthers.length === 1 ? "is" : "are"} ready to ${
          group.round + 1 >= group.rounds ? "finish" : "switch"
        }.`;
      }
    }
    setText(r.pairHint, hint);
    show(r.pairHint, hint !== "");

    // Just after a switch: say so, on every screen of the group.
    const switched = group.phase === "coaching" && group.round > 0;
    setText(r.pairSwitched, switched ? `Roles switched for ${unit.toLowerCase()} ${group.round + 1}.` : "");
    show(r.pairSwitched, switched);

    show(r.pairClock.box, !done && Boolean(group.timer));

    let ask = "";
    let next = "";
    let waiting = "";
    if (group.phase === "feedback") {
      if (role === "client") ask = `Feedback: tell ${coach} what helped and what helped less.`;
      else if (role === "coach") ask = `Feedback: ${client} tells you what helped and what helped less. Listen, and thank them.`;
      else ask = `Feedback: ${client} tells ${coach} what helped and what helped less; then add what you noticed.`;
      if (group.round + 1 >= group.rounds) {
        next = triad ? "This was the last round." : "This was the second half: then you are done.";
      } else {
        const after = rotated(group);
        if (after.coach === you) next = `After the switch you coach ${this.name(after.client)}.`;
        else if (after.client === you) next = `After the switch ${this.name(after.coach)} coaches you.`;
        else next = `After the switch you observe ${this.name(after.coach)} coaching ${this.name(after.client)}.`;
      }
      if (group.ready.includes(you)) {
        const missing = group.members.filter((m) => !group.ready.includes(m));
        waiting = `You are ready — waiting for ${this.names(missing)}`;
      }
    }
    setText(r.feedbackAsk, ask);
    show(r.feedbackAsk, ask !== "");
    setText(r.pairNext, next);
    show(r.pairNext, next !== "");
    setText(r.switchWaiting, waiting);
    show(r.switchWaiting, waiting !== "");
    setText(
      r.pairDone,
      done ? `${triad ? "All three rounds" : "Both halves"} done — back to plenary soon` : "",
    );
    show(r.pairDone, done);
  }

  /** One line outside the pair view: who my partner will be, or that I wait to be placed. */
  renderPairingNote({ facilitating, started, ended, planned, myGroup }) {
    const r = this.r;
    const view = this.view;
    const you = this.conn.you;
    let text = "";
    if (!facilitating && started && !ended && planned) {
      const me = this.me;
      const pairable = me && !me.roles.includes("observer");
      if (planned.kind === "pairing" && pairable) {
        if (myGroup) {
          const others = this.names(myGroup.members.filter((m) => m !== you));
          const first =
            myGroup.coach === you
              ? "You coach first."
              : myGroup.client === you
                ? `${this.name(myGroup.coach)} coaches you first.`
                : `You observe first.`;
          text = `You are paired with ${others}. ${first}`;
        } else {
          text = "The facilitator is making pairs: your partner will show here.";
        }
      } else if (planned.speaking === "pairs" && !myGroup && pairable) {
        text = pairsOf(view).waiting.includes(you)
          ? "You are waiting with the facilitator, who will place you in a pair or a triad."
          : "You are not in a pair yet: the facilitator will place you.";
      }
    }
    setText(r.pairingNote, text);
    show(r.pairingNote, text !== "");
  }

  async endHalf(control) {
    const group = groupOf(this.view, this.conn.you);
    const left = group && group.timer ? remainingMs(group.timer, this.conn.serverNow()) : 0;
    if (left > 0) {
      const unit = group.members.length === 3 ? "round" : "half";
      const ok = await confirmDialog(
        `End this ${unit} now?`,
        `End the ${unit}`,
        `${formatClock(left)} of it is left. The feedback begins for everyone in your group.`,
      );
      if (!ok) {
        control.focus();
        return;
      }
    }
    await this.act(control, "end_half");
  }

  // -- pairs: the facilitator's console ----------------------------------------------------

  /** People the server would pair now: here, agreed, neither steering nor observing. */
  pairable() {
    return this.view.participants.filter(
      (p) =>
        !p.removed &&
        p.consented &&
        p.presence === "connected" &&
        !isFacilitating(p) &&
        !p.roles.includes("observer"),
    );
  }

  renderPairsConsole({ facilitating, started, ended, planned }) {
    const r = this.r;
    const view = this.view;
    const kind = planned ? planned.kind : null;
    const pairsStage = Boolean(planned) && planned.speaking === "pairs";
    const visible = facilitating && started && !ended && (kind === "pairing" || pairsStage);
    show(r.pairsConsole, visible);
    this.tileClocks = [];
    if (!visible) return;
    const pairs = pairsOf(view);
    const confirmed = pairs.groups.length > 0;
    const proposal = confirmed ? null : pairs.proposal;
    const pairable = this.pairable();

    // Proposing.
    show(r.proposePairs, !confirmed);
    setText(r.proposePairs, proposal ? "Propose again" : "Propose pairs");
    r.proposePairs.disabled = pairable.length < 2;
    let hint = "";
    if (!confirmed && !proposal) {
      hint =
        pairable.length < 2
          ? "At least two people must be here and have agreed to the ground rules to make pairs."
          : `${pairable.length} people can be paired now; a triad is made when the count is odd. ` +
            "Recent partners are avoided.";
    } else if (proposal) {
      const inside = new Set(proposal.groups.flat());
      const outside = pairable.filter((p) => !inside.has(p.id));
      if (outside.length) hint = `Not in this proposal: ${this.names(outside.map((p) => p.id))}. Propose again to include them.`;
    }
    setText(r.proposalHint, hint);
    show(r.proposalHint, hint !== "");
    show(r.proposalBox, Boolean(proposal));
    if (proposal) this.renderProposal(proposal);
    else this.swapPick = [];

    // The dashboard.
    show(r.dashboard, confirmed);
    if (confirmed) this.renderDashboard(pairs.groups, pairsStage);
    else r.dashboard.replaceChildren();
    show(r.pairsControls, confirmed && pairsStage);
    r.moveEveryone.disabled = pairs.groups.every((g) => g.phase === "done");
    r.callBack.disabled = !view.stage || view.stage.index >= view.plan.length - 1;
    let status = "";
    if (confirmed && !pairsStage) status = "The pairs are made. Go to the next stage to start their time.";
    else if (confirmed) {
      const done = pairs.groups.filter((g) => g.phase === "done").length;
      status =
        done === pairs.groups.length
          ? "Every pair is done: call everyone back."
          : `${done} of ${pairs.groups.length} ${pairs.groups.length === 1 ? "group" : "groups"} done.`;
    } else if (pairsStage) status = "No pairs yet: propose them here.";
    setText(r.pairsHint, status);
    show(r.pairsHint, status !== "");

    // Late joiners and anyone else not in a group.
    const inGroup = new Set(pairs.groups.flatMap((g) => g.members));
    const waiting = pairs.waiting.filter((id) => !inGroup.has(id));
    const loose = confirmed ? pairable.filter((p) => !inGroup.has(p.id) && !waiting.includes(p.id)).map((p) => p.id) : [];
    const items = [...waiting.map((id) => [id, true]), ...loose.map((id) => [id, false])].map(([id, isWaiting]) =>
      h(
        "li",
        { "data-participant": String(id) },
        h(
          "span",
          { class: "unplaced-name" },
          this.name(id),
          h("span", { class: "hint", text: isWaiting ? " · waiting with you" : " · not in a pair" }),
        ),
        h("button", {
          type: "button",
          class: "secondary small",
          "data-test": "place-late",
          "data-focus": `place-${id}`,
          "aria-label": `Place ${this.name(id)} in a pair or triad`,
          onclick: (e) => this.act(e.currentTarget, "place_late", { participant: id }),
          text: "Place",
        }),
      ),
    );
    r.unplaced.replaceChildren(...items);
    show(r.unplacedBox, confirmed && items.length > 0);
  }

  renderProposal(proposal) {
    const r = this.r;
    // Keep only picks still in an unlocked proposed group.
    const where = new Map();
    proposal.groups.forEach((members, i) => members.forEach((m) => where.set(m, i)));
    this.swapPick = (this.swapPick || []).filter((id) => where.has(id) && !proposal.locked[where.get(id)]);
    const items = proposal.groups.map((members, i) => {
      const locked = Boolean(proposal.locked[i]);
      const label = `${members.length === 3 ? "Triad" : "Pair"} ${i + 1}`;
      return h(
        "li",
        { class: `proposed${locked ? " locked" : ""}`, "data-group": String(i), "data-locked": locked ? "true" : "false" },
        h("span", { class: "group-name", text: label }),
        h(
          "span",
          { class: "group-members" },
          members.map((id) =>
            h("button", {
              type: "button",
              class: "toggle small pick",
              "aria-pressed": this.swapPick.includes(id) ? "true" : "false",
              "data-test": "swap-pick",
              "data-participant": String(id),
              "data-focus": `pick-${id}`,
              "aria-label": `${this.name(id)}: select to swap`,
              disabled: locked,
              onclick: () => this.pick(id, i),
              text: this.name(id),
            }),
          ),
        ),
        h("span", { class: "group-first hint", text: `${this.name(members[1] ?? members[0])} coaches first` }),
        h("button", {
          type: "button",
          class: "toggle small",
          "aria-pressed": locked ? "true" : "false",
          "data-test": "lock-group",
          "data-focus": `lock-${i}`,
          "aria-label": `${locked ? "Unlock" : "Lock"} ${label}`,
          onclick: (e) => this.act(e.currentTarget, "lock_group", { index: i, locked: !locked }),
          text: locked ? "Locked" : "Lock",
        }),
      );
    });
    r.proposal.replaceChildren(...items);
    const [a, b] = this.swapPick;
    const ready = this.swapPick.length === 2 && where.get(a) !== where.get(b);
    r.swapPeople.disabled = !ready;
    setText(r.swapPeople, ready ? `Swap ${this.name(a)} and ${this.name(b)}` : "Swap");
  }

  /** Selects someone to swap: one person per group, two groups at most. */
  pick(id, groupIndex) {
    const proposal = pairsOf(this.view).proposal;
    if (!proposal) return;
    const groupOfPick = (p) => proposal.groups.findIndex((m) => m.includes(p));
    let picks = this.swapPick || [];
    if (picks.includes(id)) picks = picks.filter((p) => p !== id);
    else {
      picks = picks.filter((p) => groupOfPick(p) !== groupIndex);
      picks.push(id);
      if (picks.length > 2) picks = picks.slice(-2);
    }
    this.swapPick = picks;
    this.update();
  }

  async swapPeople(control) {
    const [a, b] = this.swapPick || [];
    if (a === undefined || b === undefined) return;
    const ack = await this.act(control, "swap_people", { a, b });
    if (ack) {
      this.swapPick = [];
      announce(`Swapped ${this.name(a)} and ${this.name(b)}.`);
      this.update();
    }
  }

  renderDashboard(groups, pairsStage) {
    const r = this.r;
    const tiles = groups.map((g) => {
      const triad = g.members.length === 3;
      const unit = triad ? "Round" : "Half";
      const time = h("span", { class: "tile-time", "data-test": "group-timer" });
      this.tileClocks.push({ el: time, id: g.id });
      let state = "";
      if (g.phase === "feedback") {
        const missing = g.members.filter((m) => !g.ready.includes(m));
        state = g.ready.length
          ? `Ready: ${this.names(g.ready)} · waiting for ${this.names(missing)}`
          : `Feedback, then ${g.round + 1 >= g.rounds ? "done" : "the switch"}: nobody confirmed yet`;
      } else if (g.phase === "coaching" && g.round > 0) {
        state = "Switched ✓";
      } else if (g.phase === "done") {
        state = "Done ✓";
      }
      const cast = g.members.map((id) => {
        const p = participantById(this.view, id);
        const away = p && p.presence !== "connected";
        return h(
          "li",
          { class: away ? "away" : null },
          h("span", { class: "tile-name", text: this.name(id) }),
          g.phase === "done" ? null : h("span", { class: "tile-role", text: PAIR_ROLE_WORDS[pairRoleIn(g, id)] }),
          away ? h("span", { class: "tile-away", text: "away" }) : null,
        );
      });
      return h(
        "li",
        {
          class: "tile",
          "data-group": String(g.id),
          "data-phase": g.phase,
          "data-round": String(g.round + 1),
          "data-rounds": String(g.rounds),
        },
        h(
          "div",
          { class: "tile-head" },
          h("span", { class: "tile-title", text: `${triad ? "Triad" : "Pair"} ${g.id}` }),
          h("span", { class: `chip phase-${g.phase}`, text: g.phase }),
        ),
        h("p", { class: "tile-round", text: `${unit} ${g.round + 1} of ${g.rounds}` }),
        h("ul", { class: "tile-cast" }, cast),
        time,
        state ? h("p", { class: "tile-state", "data-test": "tile-state", text: state }) : null,
        pairsStage && g.phase === "coaching"
          ? h("button", {
              type: "button",
              class: "ghost small",
              "data-test": "end-half-of",
              "data-focus": `endhalf-${g.id}`,
              "aria-label": `End the ${unit.toLowerCase()} of ${triad ? "triad" : "pair"} ${g.id}`,
              onclick: (e) => this.act(e.currentTarget, "end_half", { group: g.id }),
              text: `End ${unit.toLowerCase()}`,
            })
          : null,
      );
    });
    r.dashboard.replaceChildren(...tiles);
  }

  async moveEveryone(control) {
    const now = this.conn.serverNow();
    const cutting = pairsOf(this.view).groups.filter(
      (g) => g.phase === "coaching" && g.timer && remainingMs(g.timer, now) > 0,
    ).length;
    if (cutting > 0) {
      const ok = await confirmDialog(
        "Move every group on?",
        "Move everyone on",
        `${cutting} ${cutting === 1 ? "group is" : "groups are"} still coaching with time left: their feedback begins now. ` +
          "Groups in feedback switch roles.",
      );
      if (!ok) {
        control.focus();
        return;
      }
    }
    await this.act(control, "move_everyone");
  }

  async callBack(control) {
    const open = pairsOf(this.view).groups.filter((g) => g.phase !== "done").length;
    if (open > 0) {
      const ok = await confirmDialog(
        "Call everyone back to the plenary?",
        "Call everyone back",
        `${open} ${open === 1 ? "group has" : "groups have"} not finished. Their time stops where it is.`,
      );
      if (!ok) {
        control.focus();
        return;
      }
    }
    await this.act(control, "next_stage");
  }

  /** The pair's own countdown and the dashboard's times, against the server clock. */
  tickPairs(now) {
    const view = this.view;
    const r = this.r;
    const paused = view.session.status === "paused";
    const warnBefore = view.warn_before_ms;
    if (this.pairMode) {
      const g = groupOf(view, this.conn.you);
      if (g && g.timer && g.phase !== "done") {
        const left = remainingMs(g.timer, now);
        const stopped = paused || g.timer.ends_at === null || g.timer.ends_at === undefined;
        const tone = timerTone(g.timer, left, warnBefore, stopped);
        const unit = g.members.length === 3 ? "round" : "half";
        let note = g.phase === "feedback" ? "for feedback" : `left in this ${unit}`;
        if (tone === "paused") note = "paused";
        else if (tone === "over") note = "over";
        else if (tone === "warn") note = left <= 60_000 ? "last minute" : "nearly up";
        r.pairClock.set(left, g.timer.duration_ms, tone, note);
      }
    }
    for (const { el, id } of this.tileClocks || []) {
      const g = pairsOf(view).groups.find((x) => x.id === id);
      if (!g) continue;
      let text;
      let tone = "normal";
      if (g.phase === "done") text = "";
      else if (!g.timer) text = "starts with the pairs stage";
      else {
        const left = remainingMs(g.timer, now);
        const stopped = paused || g.timer.ends_at === null || g.timer.ends_at === undefined;
        tone = timerTone(g.timer, left, warnBefore, stopped);
        const what = g.phase === "feedback" ? "feedback" : "coaching";
        text =
          left < 0
            ? `${what}: ${formatClock(left)} over`
            : `${what}: ${formatClock(left)} left${tone === "paused" ? " · paused" : ""}`;
        el.setAttribute("data-remaining-ms", String(Math.round(left)));
      }
      setText(el, text);
      show(el, text !== "");
      if (el.dataset.tone !== tone) el.dataset.tone = tone;
    }
  }

  /** Announces what changed in my own group, by comparing it with what it was. */
  announcePairs(event, before) {
    const view = this.view;
    const you = this.conn.you;
    const after = groupOf(view, you);
    if (isFacilitating(this.me)) {
      if (event.reason === "proposed") announce(`${pairsOf(view).proposal ? pairsOf(view).proposal.groups.length : 0} groups proposed.`);
      else if (event.reason === "confirmed") announce("The pairs are made.");
      else if (event.reason === "finished" && pairsOf(view).groups.every((g) => g.phase === "done")) {
        announce("Every pair is done.");
      }
      return;
    }
    if (!after) return;
    const unit = after.members.length === 3 ? "round" : "half";
    const role = PAIR_ROLE_WORDS[pairRoleIn(after, you)];
    const others = this.names(after.members.filter((m) => m !== you));
    if (!before || before.id !== after.id) {
      announce(`You are paired with ${others}. You are ${role} first.`);
      return;
    }
    if (after.members.length > before.members.length) {
      announce(`${this.names(after.members.filter((m) => !before.members.includes(m)))} joins your group as observer.`);
      return;
    }
    if (after.phase === "done" && before.phase !== "done") {
      announce(`${after.members.length === 3 ? "All three rounds" : "Both halves"} done — back to plenary soon.`);
    } else if (after.round > before.round) {
      // The switch: a deliberate act everyone in the group hears about.
      announce(`Roles switched for ${unit} ${after.round + 1}. You are now ${role}.`);
    } else if (after.phase === "feedback" && before.phase === "coaching") {
      const coach = this.name(after.coach);
      announce(
        after.client === you
          ? `The ${unit} is over. Tell ${coach} what helped and what helped less.`
          : `The ${unit} is over: feedback time.`,
      );
    } else if (after.phase === "feedback" && after.ready.length > before.ready.length) {
      const newly = after.ready.filter((m) => !before.ready.includes(m) && m !== you);
      if (newly.length) announce(`${this.names(newly)} ${newly.length === 1 ? "is" : "are"} ready.`);
    } else if (event.group === after.id && event.reason === "timer_warning") {
      announce(`Time is nearly up for this ${unit}.`);
      if (soundEnabled()) chime();
    } else if (event.group === after.id && event.reason === "timer_expired") {
      announce(`Time is up for this ${unit}.`);
    }
  }

  // -- what I write: commitments, feedback, the survey -------------------------------------

  /** The client's feedback to their coach, inside the pair view (built once, kept while typed). */
  buildFeedbackForm() {
    const r = this.r;
    r.feedbackRating = ratingField("feedback-rating", "feedback-rating", "How much did the coaching help you?", "not much", "a lot");
    r.feedbackHelped = textField("feedback-helped", "feedback-helped", "What helped");
    r.feedbackHelpedLess = textField("feedback-helped-less", "feedback-helped-less", "What helped less");
    r.feedbackVisibility = visibilityField("feedback-visibility", "feedback-visibility", "Who may see it", {
      private: "Nobody else, not even your coach: a note for yourself.",
      circle: "Your coach, and everyone in this session.",
      exportable: "Your coach and this circle, and the summary the program's host exports.",
    });
    r.feedbackSave = h("button", {
      type: "submit",
      class: "primary",
      "data-test": "feedback-save",
      "data-focus": "feedback-save",
      text: "Save my feedback",
    });
    r.feedbackSaved = h("p", { class: "saved-note", "data-test": "feedback-saved", role: "status", hidden: true });
    r.feedbackForm = h(
      "form",
      { class: "note-form feedback-form", novalidate: true, "aria-label": "Your feedback", hidden: true },
      r.feedbackRating.el,
      r.feedbackHelped.el,
      r.feedbackHelpedLess.el,
      r.feedbackVisibility.el,
      r.feedbackSaved,
      h("div", { class: "row end" }, r.feedbackSave),
    );
    r.feedbackForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveFeedback();
    });
  }

  /** Looking back, my commitment, feedback for me, the survey: built once. */
  buildNotes() {
    const r = this.r;

    // Looking back at the series' last session (lobby and check-in).
    r.earlierList = h("ul", { class: "note-list", "data-test": "earlier-commitments" });
    r.earlierBox = h(
      "div",
      { class: "note-block" },
      h("p", { class: "hint", text: "How did it go? Only commitments you shared show their answer to the circle." }),
      r.earlierList,
    );
    r.carriedList = h("ul", { class: "note-list", "data-test": "carried" });
    r.carriedBox = h(
      "div",
      { class: "note-block" },
      h("h3", { text: "Shared in this circle last time" }),
      r.carriedList,
    );
    r.lookBackTitle = h("h2", { id: "look-back-title" });
    r.lookBack = h(
      "section",
      { class: "notes look-back", "data-test": "look-back", "aria-labelledby": "look-back-title", hidden: true },
      r.lookBackTitle,
      r.earlierBox,
      r.carriedBox,
    );

    // Feedback my clients shared with me.
    r.feedbackReceived = h("ul", { class: "note-list", "data-test": "feedback-received" });
    r.feedbackBox = h(
      "section",
      { class: "notes", "aria-labelledby": "feedback-received-title", hidden: true },
      h("h2", { id: "feedback-received-title", text: "Feedback for you" }),
      r.feedbackReceived,
    );

    // My commitment.
    r.commitText = textField(
      "commitment-text",
      "commitment-text",
      "What will you do?",
      "One concrete step, in your own words.",
    );
    r.commitDue = h("input", { type: "date", id: "commitment-due", "data-test": "commitment-due", min: today() });
    r.commitVisibility = visibilityField("commitment-visibility", "commitment-visibility", "Who may see it", {
      private: "Nobody else. You see it again when you look back next session.",
      circle: "Everyone in this session; in a series, the circle's next check-in too.",
      exportable: "This circle, and the summary the program's host exports to follow the program.",
    });
    r.commitSave = h("button", {
      type: "submit",
      class: "primary",
      "data-test": "commitment-save",
      "data-focus": "commitment-save",
      text: "Save my commitment",
    });
    r.commitForm = h(
      "form",
      { class: "note-form", novalidate: true, "aria-label": "My commitment" },
      r.commitText.el,
      h(
        "div",
        { class: "field narrow" },
        h("label", { for: "commitment-due", text: "By when (optional)" }),
        r.commitDue,
      ),
      r.commitVisibility.el,
      h("div", { class: "row end" }, r.commitSave),
    );
    r.commitForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveCommitment();
    });
    r.myCommitments = h("ul", { class: "note-list", "data-test": "my-commitments" });
    r.myCommitmentsBox = h("div", { class: "note-block", hidden: true }, h("h3", { text: "My commitments" }), r.myCommitments);
    r.circleCommitments = h("ul", { class: "note-list", "data-test": "circle-commitments" });
    r.circleCommitmentsBox = h(
      "div",
      { class: "note-block", hidden: true },
      h("h3", { text: "Shared in this circle" }),
      r.circleCommitments,
    );
    r.commitTitle = h("h2", { id: "commitment-title" });
    r.commitBox = h(
      "section",
      { class: "notes commitment-box", "aria-labelledby": "commitment-title", hidden: true },
      r.commitTitle,
      r.commitForm,
      r.myCommitmentsBox,
      r.circleCommitmentsBox,
    );

    // The survey.
    r.surveyRating = ratingField("survey-rating", "survey-rating", "How was this session for you?", "not good", "very good");
    r.surveyComment = textField("survey-comment", "survey-comment", "Anything to add? (optional)", "", 2);
    r.surveyVisibility = visibilityField("survey-visibility", "survey-visibility", "Who may read your comment", {
      private: "Nobody else.",
      circle: "This circle only: it is never exported.",
      exportable: "This circle, and the summary the program's host exports.",
    });
    r.surveySave = h("button", {
      type: "submit",
      class: "primary",
      "data-test": "survey-save",
      "data-focus": "survey-save",
      text: "Send my answer",
    });
    r.surveyForm = h(
      "form",
      { class: "note-form", novalidate: true, "aria-label": "Survey" },
      r.surveyRating.el,
      r.surveyComment.el,
      r.surveyVisibility.el,
      h("div", { class: "row end" }, r.surveySave),
    );
    r.surveyForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveSurvey();
    });
    r.surveyThanksText = h("p", { class: "thanks-detail" });
    r.surveyThanks = h(
      "div",
      { class: "thanks", "data-test": "survey-thanks", hidden: true },
      h("p", { class: "thanks-title", text: "Thank you for your answer." }),
      r.surveyThanksText,
      h("button", {
        type: "button",
        class: "ghost small",
        "data-test": "survey-change",
        onclick: () => {
          this.editingSurvey = true;
          this.fillSurvey();
          this.update();
          r.surveyRating.first.focus();
        },
        text: "Change my answer",
      }),
    );
    r.surveyBox = h(
      "section",
      { class: "notes survey", "aria-labelledby": "survey-title", hidden: true },
      h("h2", { id: "survey-title", text: "A short survey" }),
      r.surveyForm,
      r.surveyThanks,
    );
  }

  /** Asks for my items (`my_items`) once entered, and again after a failure, a little later. */
  maybeLoadMine(live) {
    if (!live || this.mine !== null || this.mineLoading || Date.now() < this.mineRetryAt) return;
    this.mineLoading = true;
    this.conn
      .send("my_items")
      .then((ack) => this.takeMine(ack))
      .catch(() => {
        this.mineRetryAt = Date.now() + 5000;
      })
      .finally(() => {
        this.mineLoading = false;
      });
  }

  /** Keeps my items from an ack (`result.type === "mine"`). */
  takeMine(ack) {
    const mine = ack && ack.result && ack.result.type === "mine" ? ack.result.mine : null;
    if (!mine) {
      // A repeated ack after a server restart comes without `result`: ask for my items.
      if (this.mine !== null && !this.mineLoading) {
        this.mine = null;
        this.mineRetryAt = 0;
        this.update();
      }
      return;
    }
    const first = this.mine === null;
    this.mine = {
      commitments: Array.isArray(mine.commitments) ? mine.commitments : [],
      feedback: Array.isArray(mine.feedback) ? mine.feedback : [],
      survey: mine.survey || null,
    };
    // Coming back to a form I filled in before (a reload): show what I gave.
    if (first) this.feedbackKey = null;
    this.update();
  }

  /** My feedback for `group`'s current round, if I gave it. */
  savedFeedback(group) {
    if (!this.mine || !group) return null;
    return this.mine.feedback.find((f) => f.group === group.id && f.round === group.round) || null;
  }

  fillSurvey() {
    const r = this.r;
    const s = this.mine && this.mine.survey;
    r.surveyRating.value = s ? s.rating : null;
    r.surveyComment.input.value = s && s.comment ? s.comment : "";
    r.surveyVisibility.value = s ? s.visibility : "private";
  }

  renderNotes({ me, planned, session, started, ended, facilitating, pairGroup }) {
    const r = this.r;
    const view = this.view;
    const you = this.conn.you;
    const kind = planned && session !== "lobby" ? planned.kind : null;
    const present = Boolean(me) && !me.removed;
    const consented = present && me.consented;
    const mine = this.mine || { commitments: [], feedback: [], survey: null };
    const here = `${view.id}-`;
    const earlier = mine.commitments.filter((c) => !String(c.id).startsWith(here));
    const made = mine.commitments.filter((c) => String(c.id).startsWith(here));
    const coaching = Boolean(pairGroup) && pairGroup.phase === "coaching";

    // -- looking back: "last time you committed to …"
    const lookingBack = !ended && (session === "lobby" || kind === "check_in");
    const showEarlier = lookingBack && present && earlier.length > 0;
    const showCarried = lookingBack && view.carried.length > 0;
    show(r.lookBack, showEarlier || showCarried);
    if (showEarlier || showCarried) {
      setText(r.lookBackTitle, showEarlier ? "Last time you committed to …" : "Last time in this circle");
      show(r.earlierBox, showEarlier);
      if (showEarlier) r.earlierList.replaceChildren(...earlier.map((c) => this.earlierItem(c)));
      show(r.carriedBox, showCarried);
      if (showCarried) {
        r.carriedList.replaceChildren(
          ...view.carried.map((c) =>
            h(
              "li",
              { class: "note", "data-commitment": c.id, "data-outcome": c.outcome || "" },
              h("p", { class: "note-who", text: c.member && me && c.member === me.member ? `${c.name} (you)` : c.name }),
              h("p", { class: "note-text", text: c.text }),
              h(
                "p",
                { class: "note-meta" },
                c.due ? `by ${formatDue(c.due)} · ` : "",
                h("span", { class: `outcome${c.outcome ? "" : " open"}`, text: outcomeWords(c.outcome) }),
              ),
            ),
          ),
        );
      }
    }

    // -- feedback my clients shared with me
    const toMe = view.feedback.filter((f) => f.to === you);
    const showReceived = toMe.length > 0 && !coaching && session !== "lobby";
    show(r.feedbackBox, showReceived);
    if (showReceived) {
      r.feedbackReceived.replaceChildren(
        ...toMe.map((f) => {
          const group = pairsOf(view).groups.find((g) => g.id === f.group);
          const unit = group && group.members.length === 3 ? "round" : "half";
          return h(
            "li",
            { class: "note", "data-from": String(f.from) },
            h("p", { class: "note-who", text: `From ${this.name(f.from)} · ${unit} ${f.round + 1} · rated ${f.rating} of 5` }),
            f.helped ? h("p", { class: "note-text" }, h("span", { class: "note-label", text: "What helped: " }), f.helped) : null,
            f.helped_less
              ? h("p", { class: "note-text" }, h("span", { class: "note-label", text: "What helped less: " }), f.helped_less)
              : null,
          );
        }),
      );
    }

    // -- the client's feedback form, in the pair view
    const giving = Boolean(pairGroup) && pairGroup.phase === "feedback" && pairGroup.client === you;
    show(r.feedbackForm, giving);
    if (giving) {
      const key = `${pairGroup.id}:${pairGroup.round}`;
      const saved = this.savedFeedback(pairGroup);
      if (this.feedbackKey !== key) {
        this.feedbackKey = key;
        r.feedbackRating.value = saved ? saved.rating : null;
        r.feedbackHelped.input.value = saved ? saved.helped : "";
        r.feedbackHelpedLess.input.value = saved ? saved.helped_less : "";
        r.feedbackVisibility.value = saved ? saved.visibility : "private";
      }
      const coachName = this.name(pairGroup.coach);
      setText(r.feedbackRating.el.querySelector("legend"), `How much did ${coachName}'s coaching help you?`);
      setText(r.feedbackSave, saved ? "Update my feedback" : "Save my feedback");
      setText(
        r.feedbackSaved,
        saved
          ? saved.visibility === "private"
            ? "Saved: only you can see it."
            : `Saved: ${coachName} ${saved.visibility === "exportable" ? "and this circle can see it; it goes into the program's summary" : "and this circle can see it"}.`
          : "",
      );
      show(r.feedbackSaved, Boolean(saved));
    }

    // -- my commitment
    const commitStage = COMMITMENT_KINDS.has(kind) && started && !ended;
    const canCommit = commitStage && consented && (kind !== "pairs" || (Boolean(pairGroup) && !coaching));
    const showMade = made.length > 0 && !coaching;
    const showCircle = view.commitments.length > 0 && !coaching && (commitStage || ended || kind === "check_out");
    show(r.commitBox, canCommit || showMade || showCircle);
    setText(r.commitTitle, canCommit ? "My commitment" : "Commitments");
    setText(r.commitText.el.querySelector("label"), made.length ? "Anything else you will do?" : "What will you do?");
    setText(r.commitSave, made.length ? "Save another commitment" : "Save my commitment");
    show(r.commitForm, canCommit);
    show(r.myCommitmentsBox, showMade);
    if (showMade) {
      r.myCommitments.replaceChildren(
        ...made.map((c) =>
          h(
            "li",
            { class: "note", "data-commitment": c.id, "data-visibility": c.visibility },
            h("p", { class: "note-text", text: c.text }),
            h("p", { class: "note-meta", text: [c.due ? `by ${formatDue(c.due)}` : "", visibilityWords(c.visibility)].filter(Boolean).join(" · ") }),
          ),
        ),
      );
    }
    show(r.circleCommitmentsBox, showCircle);
    if (showCircle) {
      r.circleCommitments.replaceChildren(
        ...view.commitments.map((c) =>
          h(
            "li",
            { class: "note", "data-commitment": c.id },
            h("p", { class: "note-who", text: c.author === you ? `${c.name} (you)` : c.name }),
            h("p", { class: "note-text", text: c.text }),
            c.due ? h("p", { class: "note-meta", text: `by ${formatDue(c.due)}` }) : null,
          ),
        ),
      );
    }

    // -- the survey, at the check-out and after the end
    const surveyTime = present && ((kind === "check_out" && started) || ended);
    const answered = Boolean(mine.survey);
    show(r.surveyBox, surveyTime);
    show(r.surveyForm, surveyTime && (!answered || this.editingSurvey));
    show(r.surveyThanks, surveyTime && answered && !this.editingSurvey);
    if (answered) {
      const s = mine.survey;
      setText(
        r.surveyThanksText,
        `You rated this session ${s.rating} of 5${s.comment ? `; your comment: ${visibilityWords(s.visibility)}` : ""}.`,
      );
    }
    setText(r.surveySave, answered ? "Update my answer" : "Send my answer");

    // One primary action per moment: the room's own first, then what I write.
    const actionPrimary = !r.actions.hidden && [...r.actions.children].some((b) => !b.hidden && b.classList.contains("primary"));
    const candidates = [
      [r.feedbackSave, giving && !this.savedFeedback(pairGroup)],
      [r.commitSave, canCommit && made.length === 0],
      [r.surveySave, surveyTime && (!answered || this.editingSurvey)],
      [r.feedbackSave, giving],
    ];
    const lead = facilitating || actionPrimary ? null : (candidates.find(([, on]) => on) || [null])[0];
    for (const b of [r.feedbackSave, r.commitSave, r.surveySave]) {
      b.classList.toggle("primary", b === lead);
      b.classList.toggle("secondary", b !== lead);
    }
  }

  /** One of my commitments from an earlier session, with how it went. */
  earlierItem(c) {
    const buttons = OUTCOMES.map(([value, label, words]) =>
      h("button", {
        type: "button",
        class: "toggle small",
        "aria-pressed": c.outcome === value ? "true" : "false",
        "data-test": `review-${value}`,
        "data-focus": `review-${c.id}-${value}`,
        "aria-label": outcomeName(words),
        onclick: (e) => this.review(e.currentTarget, c, value),
        text: label,
      }),
    );
    return h(
      "li",
      { class: "note", "data-commitment": c.id, "data-outcome": c.outcome || "" },
      h("p", { class: "note-text", text: c.text }),
      h("p", { class: "note-meta", text: [c.due ? `by ${formatDue(c.due)}` : "", visibilityWords(c.visibility)].filter(Boolean).join(" · ") }),
      h("div", { class: "row wrap review", role: "group", "aria-label": `How did it go: ${c.text}` }, buttons),
    );
  }

  async review(control, commitment, outcome) {
    const ack = await this.act(control, "review_commitment", { commitment: commitment.id, outcome });
    if (!ack) return;
    this.takeMine(ack);
    announce(`Saved: ${outcomeWords(outcome)}.`);
  }

  async saveCommitment() {
    const r = this.r;
    const text = cleanText(r.commitText.input.value);
    if (!text) {
      this.showError({ message: "Write what you will do first." }, r.commitSave, null, true);
      r.commitText.input.focus();
      return;
    }
    const visibility = r.commitVisibility.value;
    const fields = { text, visibility };
    if (r.commitDue.value) fields.due = r.commitDue.value;
    const ack = await this.act(r.commitSave, "record_commitment", fields);
    if (!ack) return;
    r.commitText.input.value = "";
    r.commitDue.value = "";
    r.commitVisibility.value = "private";
    this.takeMine(ack);
    announce(`Your commitment is saved: ${visibilityWords(visibility)}.`);
  }

  async saveFeedback() {
    const r = this.r;
    const group = groupOf(this.view, this.conn.you);
    if (!group) return;
    const rating = r.feedbackRating.value;
    if (!rating) {
      this.showError({ message: "Choose how much it helped, from 1 to 5." }, r.feedbackSave, null, true);
      r.feedbackRating.first.focus();
      return;
    }
    const visibility = r.feedbackVisibility.value;
    const ack = await this.act(r.feedbackSave, "give_feedback", {
      rating,
      helped: cleanText(r.feedbackHelped.input.value),
      helped_less: cleanText(r.feedbackHelpedLess.input.value),
      visibility,
    });
    if (!ack) return;
    this.takeMine(ack);
    announce(
      visibility === "private"
        ? "Your feedback is saved: only you can see it."
        : `Your feedback is saved and shared with ${this.name(group.coach)}.`,
    );
  }

  async saveSurvey() {
    const r = this.r;
    const rating = r.surveyRating.value;
    if (!rating) {
      this.showError({ message: "Choose a rating from 1 to 5." }, r.surveySave, null, true);
      r.surveyRating.first.focus();
      return;
    }
    const fields = { rating, visibility: r.surveyVisibility.value };
    const comment = cleanText(r.surveyComment.input.value);
    if (comment) fields.comment = comment;
    const ack = await this.act(r.surveySave, "answer_survey", fields);
    if (!ack) return;
    this.editingSurvey = false;
    this.takeMine(ack);
    announce("Thank you: your answer is saved.");
  }

  // -- prompt card -------------------------------------------------------------------------

  pushedVisibleToMe(myRole, facilitating) {
    const pushed = this.view.prompt;
    if (!pushed) return false;
    const me = this.me;
    if (facilitating) return true; // the console shows every card, with who it is for
    if (pushed.to === null || pushed.to === undefined) return true;
    if (pushed.to === myRole) return true;
    if (me && me.roles.includes(pushed.to)) return true;
    if (me && me.standing === pushed.to) return true;
    return false;
  }

  renderPromptCard(myRole, facilitating, drawnShown = true) {
    const r = this.r;
    const pushed = this.view.prompt;
    const pushedKey = pushed ? `${pushed.at}|${pushed.prompt.id}|${pushed.prompt.text}` : null;
    const pushedShown = pushed && this.pushedVisibleToMe(myRole, facilitating) && this.dismissedPushed !== pushedKey;
    let card = null;
    const drawn = drawnShown && this.drawn;
    if (this.cardSource === "drawn" && drawn) card = "drawn";
    else if (pushedShown) card = "pushed";
    else if (drawn) card = "drawn";

    if (card === "drawn") {
      setText(r.promptFor, `Drawn for you · ${this.drawn.source}`);
      setText(r.promptText, this.drawn.text);
      show(r.promptClear, false);
    } else if (card === "pushed") {
      const to = pushed.to ? `For ${plural(pushed.to)}` : "For everyone";
      setText(r.promptFor, `${to} · from ${this.name(pushed.by)}`);
      setText(r.promptText, pushed.prompt.text);
      show(r.promptClear, facilitating && this.conn.status === "live");
    }
    r.promptCard.dataset.source = card || "";
    show(r.promptCard, card !== null);
    this.currentCard = card;
    this.currentPushedKey = pushedKey;
  }

  dismissCard() {
    if (this.currentCard === "drawn") {
      this.drawn = null;
      this.cardSource = "pushed";
    } else if (this.currentCard === "pushed") {
      this.dismissedPushed = this.currentPushedKey;
    }
    this.update();
  }

  // -- stage list --------------------------------------------------------------------------

  renderStageList(started, ended) {
    const view = this.view;
    const current = view.stage ? view.stage.index : -1;
    const items = view.plan.map((stage, i) => {
      let state = "later";
      let label = "";
      if (ended) {
        state = i <= current ? "done" : "later";
        label = i < current ? "done" : i === current ? "last" : "";
      } else if (i < current) {
        state = "done";
        label = "done";
      } else if (i === current) {
        state = "now";
        label = "now";
      } else if (i === current + 1) {
        state = "next";
        label = "next";
      }
      const who = stage.presenter !== null && stage.presenter !== undefined ? ` — ${this.name(stage.presenter)}` : "";
      const jump =
        started && i !== current
          ? h("button", {
              type: "button",
              class: "ghost small",
              "data-test": "jump-stage",
              "data-focus": `jump-${i}`,
              "aria-label": `Go to stage ${i + 1}: ${stage.title}${who}`,
              onclick: (e) => this.act(e.currentTarget, "jump_to_stage", { index: i }),
              text: "Go",
            })
          : null;
      return h(
        "li",
        { class: `stage-item ${state}`, "data-state": state, "aria-current": i === current && !ended ? "step" : null },
        h("span", { class: "stage-mark", "aria-hidden": "true" }, state === "done" ? "✓" : state === "now" ? "●" : "○"),
        h(
          "span",
          { class: "stage-name" },
          h("span", { class: "stage-label" }, `${i + 1}. ${stage.title}${who}`),
          h("span", { class: "stage-meta" }, [label, minutesLabel(stage.timebox_ms), speakingWord(stage.speaking)].filter(Boolean).join(" · ")),
        ),
        jump,
      );
    });
    this.r.stageList.replaceChildren(...items);
  }

  // -- queue and people --------------------------------------------------------------------

  renderQueue(started, round) {
    const r = this.r;
    const turn = this.view.turn;
    const items = turn.queue.map((id, i) =>
      h(
        "li",
        { "data-participant": String(id) },
        h("span", { class: "queue-name" }, `${i + 1}. ${this.name(id)}`),
        h(
          "span",
          { class: "row" },
          round
            ? null
            : h("button", {
                type: "button",
                class: "secondary small",
                "data-test": "give-floor-to",
                "data-focus": `give-${id}`,
                onclick: (e) => this.act(e.currentTarget, "give_floor", { participant: id }),
                text: "Give floor",
              }),
          h("button", {
            type: "button",
            class: "ghost small",
            "data-test": "lower-hand-of",
            "data-focus": `lower-${id}`,
            "aria-label": `Lower ${this.name(id)}'s hand`,
            onclick: (e) => this.act(e.currentTarget, "lower_hand", { participant: id }),
            text: "Lower",
          }),
        ),
      ),
    );
    r.queue.replaceChildren(...items);
    show(r.queueEmpty, items.length === 0);
    show(r.queueSection, started);
  }

  renderPeople(facilitating, started, round) {
    const r = this.r;
    const view = this.view;
    const now = this.conn.serverNow();
    const floorTime = new Map(view.floor_time.by_participant);
    const present = view.participants.filter((p) => !p.removed);
    const gone = view.participants.filter((p) => p.removed);
    const connected = present.filter((p) => p.presence === "connected").length;
    setText(r.peopleSummary, `(${connected} of ${present.length} here)`);
    r.peopleDetails.querySelector("summary").textContent = `Who's here (${connected} of ${present.length})`;

    const items = present.map((p) => {
      const chips = [];
      if (p.standing === "facilitator") chips.push("facilitator");
      if (p.standing === "co_facilitator") chips.push("co-facilitator");
      for (const role of p.roles) chips.push(roleWord(role));
      const order = view.presenter_order.indexOf(p.id);
      if (order >= 0) chips.push(`presenter ${order + 1}`);
      const speaking = view.turn.floor && view.turn.floor.participant === p.id;
      if (speaking) chips.push("speaking");
      if (view.turn.queue.includes(p.id)) chips.push("hand up");
      const group = groupOf(view, p.id);
      if (group) {
        const kind = group.members.length === 3 ? "triad" : "pair";
        const doing = group.phase === "done" ? "done" : PAIR_ROLE_WORDS[pairRoleIn(group, p.id)];
        chips.push(inPairsStage(view) ? `${kind} ${group.id} · ${doing}` : `${kind} ${group.id}`);
      }

      let spoke = floorTime.get(p.id) || 0;
      if (speaking && view.session.status === "running") spoke += Math.max(0, now - view.turn.floor.since);

      const li = h(
        "li",
        {
          class: `person ${p.presence}`,
          "data-participant": String(p.id),
          "data-presence": p.presence,
          "data-consented": p.consented ? "true" : "false",
        },
        h(
          "span",
          { class: "person-main" },
          h("span", { class: `presence-dot ${p.presence}`, role: "img", "aria-label": p.presence === "connected" ? "here" : "away" }),
          h("span", { class: "person-name" }, p.name, p.id === this.conn.you ? h("span", { class: "you", text: " (you)" }) : null),
          h(
            "span",
            { class: `consent ${p.consented ? "yes" : "no"}`, title: p.consented ? "Agreed to the ground rules" : "Has not agreed yet" },
            p.consented ? "✓ agreed" : "not agreed yet",
          ),
        ),
        h(
          "span",
          { class: "person-sub" },
          chips.map((c) => h("span", { class: "chip", text: c })),
          facilitating && spoke > 0 ? h("span", { class: "spoke", text: `spoke ${formatClock(spoke)}` }) : null,
        ),
        facilitating ? this.personMenu(p, started, round) : null,
      );
      return li;
    });
    r.participants.replaceChildren(...items);
    const list = r.participants;
    // The list lives in the console panel for facilitators, in "Who's here" for the others.
    const home = facilitating ? r.peopleSection : r.peopleDetails;
    if (list.parentElement !== home) home.insertBefore(list, facilitating ? r.left : null);
    if (gone.length && facilitating) {
      setText(r.left, `Left: ${gone.map((p) => p.name).join(", ")}`);
      show(r.left, true);
    } else {
      show(r.left, false);
    }
  }

  personMenu(p, started, round) {
    const view = this.view;
    const you = this.conn.you;
    const toggle = (role, label) => {
      const has = role === "co_facilitator" ? p.standing === "co_facilitator" : p.roles.includes(role);
      return h("button", {
        type: "button",
        class: "toggle small",
        "aria-pressed": has ? "true" : "false",
        "data-test": `role-${role.replace("_", "-")}`,
        "data-focus": `role-${p.id}-${role}`,
        onclick: (e) =>
          this.act(e.currentTarget, has ? "unassign_role" : "assign_role", { participant: p.id, role }),
        text: label,
      });
    };
    const buttons = [toggle("timekeeper", "Timekeeper"), toggle("observer", "Observer")];
    if (p.standing !== "facilitator") buttons.push(toggle("co_facilitator", "Co-facilitator"));
    if (started && !round && !(view.turn.floor && view.turn.floor.participant === p.id)) {
      buttons.push(
        h("button", {
          type: "button",
          class: "secondary small",
          "data-test": "give-floor-to",
          "data-focus": `givep-${p.id}`,
          onclick: (e) => this.act(e.currentTarget, "give_floor", { participant: p.id }),
          text: "Give floor",
        }),
      );
    }
    if (p.standing !== "facilitator" && p.id !== you) {
      buttons.push(
        h("button", {
          type: "button",
          class: "quiet-danger small",
          "data-test": "remove-participant",
          "data-focus": `remove-${p.id}`,
          onclick: (e) => this.removeParticipant(e.currentTarget, p),
          text: "Remove…",
        }),
      );
    }
    const details = h(
      "details",
      { class: "person-menu", open: this.openMenus.has(p.id) },
      h("summary", { "data-focus": `menu-${p.id}`, "aria-label": `Manage ${p.name}` }, "Manage"),
      h("div", { class: "row wrap" }, buttons),
    );
    details.addEventListener("toggle", () => {
      if (details.open) this.openMenus.add(p.id);
      else this.openMenus.delete(p.id);
    });
    return details;
  }

  // -- presenters --------------------------------------------------------------------------

  renderPresenters(ended) {
    const r = this.r;
    const view = this.view;
    const order = view.presenter_order;
    // Presenters whose slot has begun keep their place (the server refuses to move them).
    const begun = new Set();
    if (view.stage) {
      for (let i = 0; i <= view.stage.index && i < view.plan.length; i++) {
        const pid = view.plan[i].presenter;
        if (pid !== null && pid !== undefined) begun.add(pid);
      }
    }
    const items = order.map((id, i) => {
      const locked = begun.has(id);
      const move = (delta) => {
        const next = [...order];
        const j = i + delta;
        [next[i], next[j]] = [next[j], next[i]];
        return next;
      };
      return h(
        "li",
        { "data-participant": String(id) },
        h("span", { class: "presenter-name" }, `${i + 1}. ${this.name(id)}`, locked ? h("span", { class: "chip", text: "begun" }) : null),
        h(
          "span",
          { class: "row" },
          h("button", {
            type: "button",
            class: "ghost small",
            "aria-label": `Move ${this.name(id)} up`,
            "data-focus": `up-${id}`,
            disabled: i === 0 || locked || begun.has(order[i - 1]),
            onclick: (e) => this.setPresenterOrder(move(-1), e.currentTarget),
            text: "↑",
          }),
          h("button", {
            type: "button",
            class: "ghost small",
            "aria-label": `Move ${this.name(id)} down`,
            "data-focus": `down-${id}`,
            disabled: i === order.length - 1 || locked,
            onclick: (e) => this.setPresenterOrder(move(1), e.currentTarget),
            text: "↓",
          }),
          h("button", {
            type: "button",
            class: "ghost small",
            "aria-label": `Take ${this.name(id)} off the presenter list`,
            "data-focus": `off-${id}`,
            disabled: locked,
            onclick: (e) => this.setPresenterOrder(order.filter((x) => x !== id), e.currentTarget),
            text: "✕",
          }),
        ),
      );
    });
    r.presenterList.replaceChildren(...items);
    const hasBlock = view.plan.some((s) => s.presenter !== null && s.presenter !== undefined) ||
      view.plan.some((s) => s.roles.includes("presenter"));
    setText(
      r.presenterEmpty,
      order.length
        ? ""
        : hasBlock
          ? "No presenters yet. Choose them below, or shuffle; at the start, everyone who agreed takes a turn in join order."
          : "This format has no presenter stages.",
    );
    show(r.presenterEmpty, order.length === 0);

    const eligible = view.participants.filter(
      (p) => !p.removed && !p.roles.includes("observer") && !order.includes(p.id),
    );
    const signature = eligible.map((p) => `${p.id}:${p.name}`).join("|");
    if (r.presenterAdd.dataset.signature !== signature) {
      r.presenterAdd.dataset.signature = signature;
      r.presenterAdd.replaceChildren(
        h("option", { value: "", text: eligible.length ? "Add a presenter…" : "Everyone is listed" }),
        ...eligible.map((p) => h("option", { value: String(p.id), text: p.name })),
      );
    }
    r.presenterAdd.disabled = eligible.length === 0 || ended;
  }

  setPresenterOrder(order, control) {
    return this.act(control, "set_presenter_order", { order });
  }

  // -- prompt bank -------------------------------------------------------------------------

  async loadPrompts() {
    if (this.loadingPrompts) return;
    this.loadingPrompts = true;
    try {
      const res = await fetch("/api/prompts", { headers: { accept: "application/json" } });
      if (!res.ok) throw new Error(String(res.status));
      this.prompts = await res.json();
    } catch {
      this.prompts = null;
      this.loadingPrompts = false;
      return;
    }
    this.renderPromptBank();
  }

  renderPromptBank() {
    const r = this.r;
    const view = this.view;
    if (!this.prompts) {
      r.promptBank.replaceChildren(h("li", { class: "hint", text: "Loading the prompt bank…" }));
      return;
    }
    const planned = view.stage ? view.plan[view.stage.index] : view.plan[0];
    const kind = planned ? planned.kind : null;
    const list = this.showAllPrompts ? this.prompts : this.prompts.filter((p) => p.stages.includes(kind));
    const signature = `${this.showAllPrompts}|${kind}|${list.length}`;
    if (r.promptBank.dataset.signature === signature) return;
    r.promptBank.dataset.signature = signature;
    if (list.length === 0) {
      r.promptBank.replaceChildren(h("li", { class: "hint", text: "No prompts for this stage." }));
      return;
    }
    r.promptBank.replaceChildren(
      ...list.map((p) =>
        h(
          "li",
          { "data-prompt": p.id },
          h("span", { class: "bank-text" }, p.text, h("span", { class: "bank-source", text: ` — ${p.source}` })),
          h("button", {
            type: "button",
            class: "secondary small",
            "data-test": "push-prompt",
            "data-focus": `push-${p.id}`,
            "aria-label": `Push “${p.text}”`,
            onclick: (e) => this.pushPrompt({ prompt: p.id }, e.currentTarget),
            text: "Push",
          }),
        ),
      ),
    );
  }

  async pushPrompt(fields, control) {
    const to = this.r.promptTo.value;
    const body = { ...fields };
    if (to) body.to = to;
    return this.act(control, "push_prompt", body);
  }

  // -- timers (every 200 ms) ---------------------------------------------------------------

  tick() {
    const view = this.view;
    if (!view) return;
    const r = this.r;
    const now = this.conn.serverNow();
    const session = view.session.status;
    const stage = view.stage;
    const planned = stage ? view.plan[stage.index] : null;

    let remaining = null;
    let duration = 1;
    let tone = "normal";
    let note = "left";
    if (session === "lobby") {
      const first = view.plan[0];
      remaining = first ? first.timebox_ms : 0;
      duration = remaining || 1;
      tone = "idle";
      note = "not started";
    } else if (stage) {
      remaining = remainingMs(stage.timer, now);
      duration = stage.timer.duration_ms || 1;
      const warnAt = view.warn_before_ms;
      const warned = stage.timer.warned || (warnAt < duration && remaining <= warnAt);
      if (session === "ended") {
        tone = "idle";
        note = "ended";
      } else if (session === "paused") {
        tone = "paused";
        note = remaining < 0 ? "over · paused" : "paused";
      } else if (remaining < 0) {
        tone = "over";
        note = "over";
      } else if (warned) {
        tone = "warn";
        note = remaining <= 60_000 ? "last minute" : "nearly up";
      }
    }

    r.stageClock.set(remaining, duration, tone, note);

    // The visible cue, in words as well as colour.
    let cue = "";
    if (session === "running" && stage && planned) {
      if (tone === "warn") cue = `Time is nearly up for ${planned.title}: ${spokenDuration(Math.max(remaining, 0))} or less.`;
      else if (tone === "over") cue = `${planned.title} is over time. The facilitator will move on.`;
    } else if (session === "paused") {
      cue = "Paused: timers are standing still.";
    }
    if (this.pairMode) cue = "";
    setText(r.cue, cue);
    r.cue.dataset.tone = tone;
    show(r.cue, cue !== "");
    this.tickPairs(now);

    // The speaker's own timer.
    const st = view.turn.speaker_timer;
    const floor = view.turn.floor;
    if (st && floor && session !== "ended" && session !== "lobby") {
      const left = remainingMs(st, now);
      const who = floor.participant === this.conn.you ? "Your turn" : `${this.name(floor.participant)}'s turn`;
      const text = left < 0 ? `${who}: ${formatClock(left)} over` : `${who}: ${formatClock(left)} left`;
      setText(r.speakerTimer, text);
      r.speakerTimer.dataset.tone = left < 0 ? "over" : st.warned ? "warn" : "normal";
      show(r.speakerTimer, true);
    } else {
      show(r.speakerTimer, false);
    }
  }

  // -- events: announcements and cues ------------------------------------------------------

  handleEvent(event, replayed) {
    try {
      this.announceEvent(event, replayed);
    } finally {
      const floor = this.view.turn.floor;
      this.prevFloorId = floor ? floor.participant : null;
      this.lastStatus = this.view.session.status;
      this.prevGroup = groupOf(this.view, this.conn.you);
      this.prevFeedbackToMe = this.view.feedback.filter((f) => f.to === this.conn.you).length;
    }
  }

  announceEvent(event, replayed) {
    if (event.type === "prompt_changed" && event.prompt) this.cardSource = "pushed";
    if (event.type === "stage_entered") {
      // A drawn prompt belongs to the stage it was drawn in.
      this.drawn = null;
    }
    if (event.type === "pairs_changed") {
      const before = this.prevGroup || null;
      const after = groupOf(this.view, this.conn.you);
      // A drawn prompt belongs to the coach of the round it was drawn in.
      if (before && after && after.round !== before.round) this.drawn = null;
      if (!replayed) this.announcePairs(event, before);
      return;
    }
    if (event.type === "link_changed") {
      // Someone else replaced or turned off a link: the one this device kept no longer works.
      if (event.by === this.conn.you) return;
      this.setLink(event.link, null);
      if (!replayed && isFacilitating(this.me)) {
        this.linkNotice(
          `${this.name(event.by)} ${event.revoked ? "turned off" : "replaced"} the ${event.link} link. The one you had no longer works.`,
        );
      }
      return;
    }
    if (replayed) return;
    const view = this.view;
    const you = this.conn.you;
    const planned = view.stage ? view.plan[view.stage.index] : null;
    switch (event.type) {
      case "stage_entered": {
        if (!planned) break;
        let text = `Stage ${view.stage.index + 1} of ${view.plan.length}: ${planned.title}.`;
        const group = planned.speaking === "pairs" ? groupOf(view, you) : null;
        if (group) {
          const others = this.names(group.members.filter((m) => m !== you));
          text += ` With ${others}: you are ${PAIR_ROLE_WORDS[pairRoleIn(group, you)]}.`;
        }
        if (event.turn.floor) {
          text += event.turn.floor.participant === you ? " Your turn." : ` ${this.name(event.turn.floor.participant)} has the floor.`;
        }
        announce(text);
        break;
      }
      case "turn_changed": {
        const floor = event.turn.floor;
        const floorId = floor ? floor.participant : null;
        const moved = floorId !== this.lastFloorId;
        if (moved) {
          if (floor && floor.participant === you) announce("Your turn.");
          else if (floor) announce(`${this.name(floor.participant)} has the floor (${roleWord(floor.role)}).`);
          else if (event.turn.round && event.turn.round.position >= event.turn.round.order.length) announce("The round is complete.");
          else announce("Nobody has the floor.");
        } else if (event.reason === "hand_raised") {
          if (event.participant === you) announce("Your hand is up.");
          else if (isFacilitating(this.me)) announce(`${this.name(event.participant)} raised a hand.`);
        } else if (event.reason === "hand_lowered" && event.participant === you) {
          announce("Your hand is down.");
        }
        break;
      }
      case "timer_warning": {
        if (event.timer === "stage" && planned) {
          announce(`Time is nearly up for ${planned.title}.`);
          if (soundEnabled()) chime();
        } else if (event.timer === "speaker" && view.turn.floor && view.turn.floor.participant === you) {
          announce("Your speaking time is nearly up.");
          if (soundEnabled()) chime();
        }
        break;
      }
      case "timer_expired":
        if (event.timer === "stage" && planned) announce(`Time is up for ${planned.title}.`);
        else if (event.timer === "speaker" && view.turn.floor && view.turn.floor.participant === you) announce("Your speaking time is up.");
        break;
      case "session_changed":
        if (event.session.status === "paused") announce("Paused.");
        else if (event.session.status === "running" && event.session.started_at !== null && event.stage && this.lastStatus === "paused") announce("Resumed.");
        else if (event.session.status === "ended") announce("The session has ended.");
        break;
      case "prompt_changed":
        if (event.prompt && this.pushedVisibleToMe(stageRoleOf(view, you), isFacilitating(this.me))) {
          announce(`New prompt: ${event.prompt.prompt.text}`);
        }
        break;
      case "notes_changed": {
        // The event carries only what changed; the view holds all the feedback shared with me.
        const toMe = view.feedback.filter((f) => f.to === you);
        if (toMe.length > this.prevFeedbackToMe) {
          const newest = toMe[toMe.length - 1];
          announce(`${this.name(newest.from)} shared feedback with you.`);
        }
        break;
      }
      case "participant_updated":
        if (event.participant.id === you && event.change === "roles") {
          const p = event.participant;
          const held = [
            p.standing === "co_facilitator" ? "co-facilitator" : null,
            ...p.roles.map(roleWord),
          ].filter(Boolean);
          announce(held.length ? `You are now: ${held.join(", ")}.` : "You no longer hold a role.");
        }
        break;
      default:
        break;
    }
  }

  get lastFloorId() {
    return this.prevFloorId === undefined ? null : this.prevFloorId;
  }

  // -- acting ------------------------------------------------------------------------------

  /** Sends a command from `control`; shows the server's refusal near it. */
  async act(control, type, fields = {}) {
    this.clearError();
    if (control) {
      control.disabled = true;
      control.setAttribute("aria-busy", "true");
    }
    try {
      const ack = await this.conn.send(type, fields);
      return ack || true;
    } catch (err) {
      this.showError(err, control, type);
      return false;
    } finally {
      if (control) {
        control.removeAttribute("aria-busy");
        control.disabled = false;
        this.update();
      }
    }
  }

  async drawPrompt(control) {
    const ack = await this.act(control, "draw_prompt");
    if (ack && ack.result && ack.result.prompt) {
      this.drawn = ack.result.prompt;
      this.cardSource = "drawn";
      announce(`Your prompt: ${ack.result.prompt.text}`);
      this.update();
    }
  }

  /** "Export summary": the session's summary as a file, with this device's host key. */
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
      ROOM_TABLES.map((t) => h("option", { value: t, text: t })),
    );
    r.exportTableField = h(
      "div",
      { class: "field export-table", hidden: true },
      h("label", { for: "export-table", text: "Table" }),
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
      text: "Export summary",
    });
    return h(
      "section",
      { class: "panel-section export", hidden: true, "aria-labelledby": "export-title" },
      h("h2", { id: "export-title", text: "Summary" }),
      h("p", {
        class: "hint",
        text: "Who came, the stages and pairs, and only what people marked as exportable.",
      }),
      h(
        "div",
        { class: "row wrap export-options" },
        h("div", { class: "field" }, h("label", { for: "export-format", text: "Format" }), r.exportFormat),
        r.exportTableField,
      ),
      h("label", { class: "check small", for: "export-pseudonymise" }, r.exportPseudo, " Hide names"),
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
    r.exportStatus.textContent = "Preparing the summary…";
    try {
      const text = await fetchExport(`/api/rooms/${encodeURIComponent(this.conn.roomId)}/export`, body);
      const suffix = format === "csv" ? `-${body.table}` : "";
      downloadText(`summary-${fileSlug(this.view.title)}${suffix}.${EXT[format]}`, text, format);
      r.exportStatus.textContent = "The summary is downloaded.";
      announce("The summary is downloaded.");
    } catch (err) {
      r.exportStatus.textContent = err.message;
    } finally {
      control.disabled = false;
    }
  }

  async endSession(control) {
    const ok = await confirmDialog(
      "End the session for everyone?",
      "End session",
      "Timers stop and nobody can take a turn any more. This cannot be undone.",
    );
    if (ok) await this.act(control, "end_session");
    else control.focus();
  }

  async removeParticipant(control, p) {
    const ok = await confirmDialog(
      `Remove ${p.name} from the circle?`,
      "Remove",
      "They are disconnected and cannot come back with their link on this device.",
    );
    if (ok) await this.act(control, "remove_participant", { participant: p.id });
  }

  /** The links section: the join link to share (when this device has it) and the controls. */
  renderLinks(ended) {
    const r = this.r;
    setText(r.inviteCode, this.inviteUrl || "");
    show(r.inviteCode, Boolean(this.inviteUrl) && !ended);
    show(r.inviteCopy, Boolean(this.inviteUrl) && !ended);
    show(r.joinLinkControls, !ended);
    // Already off: replacing it is the only thing left to do.
    show(r.revokeJoin, !this.joinLinkOff);
    let hint = "Replace the join link to get one to share from here.";
    if (ended) hint = "The session has ended: nobody new can join.";
    else if (this.inviteUrl) hint = "Share this join link with the circle.";
    else if (this.joinLinkOff) hint = "The join link is turned off: nobody new can join until you replace it.";
    setText(r.inviteHint, hint);
    if (this.newHostUrl) setText(r.hostLinkCode, this.newHostUrl);
    show(r.hostLinkBox, Boolean(this.newHostUrl));
  }

  /** Shows a short notice in the links section, and says it to screen readers. */
  linkNotice(text) {
    setText(this.r.linkNotice, text);
    show(this.r.linkNotice, true);
    announce(text);
  }

  /** Keep (or, with a null key, forget) one of the room's links on this device. */
  setLink(link, key) {
    const url = key ? `${location.origin}/r/${encodeURIComponent(this.conn.roomId)}#${link}=${key}` : null;
    if (link === "join") {
      this.inviteUrl = url;
      this.joinLinkOff = !key;
    } else {
      this.hostKey = key;
      this.newHostUrl = url;
    }
    this.keepLink(link, url, key);
  }

  /** Asks before a link changes; gives the focus back to `control` when the answer is no. */
  async confirmLink(control, verb, link, detail) {
    const ok = await confirmDialog(`${verb} the ${link} link?`, verb, detail);
    if (!ok) control.focus();
    return ok;
  }

  async rotateLink(control, link) {
    const detail =
      link === "join"
        ? "The join link you shared stops working at once; share the new one. People already in the circle stay."
        : "The host link stops working at once, on every device that kept it. Facilitators already in the room stay.";
    if (!(await this.confirmLink(control, "Replace", link, detail))) return;
    const ack = await this.act(control, "rotate_link", { link });
    if (!ack) return;
    const result = ack.result;
    if (result && result.type === "link" && result.link === link && result.key) {
      this.setLink(link, result.key);
      this.linkNotice(
        link === "join"
          ? "The join link was replaced: share the new one. The old one no longer works."
          : "The host link was replaced: keep the new one below. The old one no longer works.",
      );
    } else {
      // A retried command after a server restart is acknowledged without the key.
      this.setLink(link, null);
      this.linkNotice(`The ${link} link was replaced, but the new one did not reach this page: replace it again.`);
    }
    this.update();
  }

  async revokeLink(control, link) {
    const detail =
      link === "join"
        ? "Nobody new can join until you replace it. People already in the circle stay."
        : "Nobody new can enter as a facilitator, and the summary cannot be exported, until you replace it. Facilitators already in the room stay.";
    if (!(await this.confirmLink(control, "Turn off", link, detail))) return;
    if (await this.act(control, "revoke_link", { link })) {
      this.setLink(link, null);
      show(this.r.linkNotice, false); // the section says it is off
      announce(`The ${link} link is turned off.`);
      this.update();
    }
  }

  async deleteRoom(control) {
    const ok = await confirmDialog(
      "Delete this room for everyone?",
      "Delete room",
      "Everyone is disconnected and everything kept about this room is removed. The links stop working.",
    );
    if (ok) {
      this.conn.deleting = true;
      await this.act(control, "delete_room");
    } else control.focus();
  }

  async leaveRoom(control) {
    const ok = await confirmDialog("Leave this circle?", "Leave", "You will not be able to come back with this device.");
    if (ok) await this.act(control, "leave");
  }

  clearError() {
    this.errorPlace = null;
    show(this.r.error, false);
    this.r.error.textContent = "";
  }

  /** Shows a refusal near `control`; `plain` shows `err.message` as it is (a form's own check). */
  showError(err, control, type, plain = false) {
    const r = this.r;
    const what = ACTION_WORDS[type] || "That";
    const message = err && err.message ? err.message : "something went wrong";
    r.error.replaceChildren(
      h("span", { text: plain ? message : `${what} did not work: ${message}` }),
      h("button", {
        type: "button",
        class: "ghost small",
        "aria-label": "Dismiss this message",
        onclick: () => this.clearError(),
        text: "OK",
      }),
    );
    r.error.dataset.code = err && err.code ? err.code : "";
    this.errorPlace = {
      key: control && control.dataset ? control.dataset.focus || null : null,
      control,
    };
    this.placeError();
    show(r.error, true);
  }

  /**
   * Puts the error message next to the control that caused it. Lists are rebuilt on every
   * event, so a control inside one is found again by its `data-focus` key after each render.
   */
  placeError() {
    const r = this.r;
    if (r.error.hidden && !this.errorPlace) return;
    const place = this.errorPlace || {};
    let control = null;
    if (place.key) control = this.root.querySelector(`[data-focus="${CSS.escape(place.key)}"]`);
    if (!control && place.control && place.control.isConnected) control = place.control;
    const item = control ? control.closest("li") : null;
    if (item) {
      if (r.error.parentElement !== item) item.append(r.error);
      return;
    }
    const anchor =
      (control && control.closest("section.controls, .actions, .panel-section, .stages-panel, .prompt-card, form")) ||
      r.actions;
    if (anchor.matches(".panel-section, .stages-panel")) {
      if (r.error.parentElement !== anchor) anchor.append(r.error);
    } else if (anchor.nextElementSibling !== r.error) {
      anchor.after(r.error);
    }
  }
}

const ACTION_WORDS = {
  raise_hand: "Raising your hand",
  lower_hand: "Lowering the hand",
  pass: "Passing",
  done: "Finishing your turn",
  draw_prompt: "Drawing a prompt",
  start: "Starting",
  next_stage: "Moving to the next stage",
  previous_stage: "Going back a stage",
  jump_to_stage: "Moving to that stage",
  pause: "Pausing",
  resume_session: "Resuming",
  end_session: "Ending the session",
  adjust_timer: "Changing the timer",
  give_floor: "Giving the floor",
  take_floor: "Taking the floor back",
  next_turn: "Moving to the next turn",
  set_presenter_order: "Changing the presenters",
  shuffle_presenters: "Shuffling the presenters",
  assign_role: "Giving the role",
  unassign_role: "Taking the role away",
  remove_participant: "Removing",
  push_prompt: "Pushing the prompt",
  clear_prompt: "Clearing the prompt",
  delete_room: "Deleting the room",
  rotate_link: "Replacing the link",
  revoke_link: "Turning off the link",
  leave: "Leaving",
  propose_pairs: "Proposing pairs",
  swap_people: "Swapping",
  lock_group: "Locking the group",
  confirm_pairs: "Confirming the pairs",
  end_half: "Ending the half",
  confirm_switch: "Confirming the switch",
  move_everyone: "Moving everyone on",
  place_late: "Placing",
  record_commitment: "Saving your commitment",
  review_commitment: "Saving how it went",
  give_feedback: "Saving your feedback",
  answer_survey: "Sending your answer",
  my_items: "Loading what you wrote",
};

function speakingWord(mode) {
  return (
    { round: "round", hand_queue: "hands", presenter_only: "presenter", open: "open", pairs: "in pairs" }[mode] || mode
  );
}

/** A button that copies `getText()` to the clipboard, saying "Copied" when it did. */
export function copyButton(getText, label = "Copy", test = null) {
  const btn = h("button", { type: "button", class: "secondary", "data-test": test, text: label });
  btn.addEventListener("click", async () => {
    const text = getText();
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch {
      ok = false;
    }
    if (!ok) {
      // Fallback for plain-http pages: copy from a temporary selection.
      const area = h("textarea", { class: "offscreen", readonly: true });
      area.value = text;
      document.body.append(area);
      area.select();
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
      area.remove();
    }
    btn.textContent = ok ? "Copied ✓" : "Select and copy the link above";
    announce(ok ? "Copied." : "Could not copy: select the link and copy it.");
    setTimeout(() => {
      btn.textContent = label;
    }, 2500);
  });
  return btn;
}

// ---------------------------------------------------------------------------------------------
// Exports: summaries and reports fetched with a key, handed over as a downloaded file.

export const EXPORT_FORMATS = [
  { value: "markdown", label: "Markdown (to read)" },
  { value: "json", label: "JSON (complete)" },
  { value: "csv", label: "CSV (one table)" },
];
export const ROOM_TABLES = ["attendance", "stages", "pairs", "commitments"];
export const EXT = { json: "json", markdown: "md", csv: "csv" };
const MIME = { json: "application/json", markdown: "text/markdown", csv: "text/csv" };

let lastDownload = null;

/** The last file handed over: `{format, text}` (for tests: `window.circlekeeper.lastExport`). */
export function lastExport() {
  return lastDownload;
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
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error("Could not reach the server. Check your connection and try again.");
  }
  const text = await res.text();
  if (res.ok) return text;
  if (res.status === 403) throw new Error("The key was not accepted: the summary cannot be exported from here.");
  if (res.status === 404) throw new Error("The server no longer has this room.");
  let message = "";
  try {
    message = JSON.parse(text).message || "";
  } catch {
    /* not JSON */
  }
  throw new Error(message ? `The export failed: ${message}` : "The export failed. Please try again.");
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
