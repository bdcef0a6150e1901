// The websocket side of the client: entering a room (join, host, member, resume), command ids, acks
// and errors, keeping the room view current by assignment, sequence checking, the server clock,
// and reconnecting with backoff and resume. See protocol/README.md.

const PROTOCOL_VERSION = 1;
const HEARTBEAT_MS = 30_000; // send `sync` this often while the page is visible
const HEARTBEAT_TIMEOUT_MS = 8_000; // reconnect when a `sync` is not answered in time
const MAX_BACKOFF_MS = 30_000;
const STORAGE_PREFIX = "circlekeeper.room.";

/** Close codes the client tells apart (protocol/errors.md, close codes). */
const CLOSE = {
  OUTDATED: 4001,
  REFUSED: 4003,
  REMOVED: 4004,
  DELETED: 4010,
  RATE_LIMITED: 4029,
  RESTARTING: 1001,
  // The room moved to another node: reconnect (through the proxy) at once and resume.
  MOVED: 4012,
};

/** Error codes answering the first command that end the connection (4003 follows). */
const FATAL_ENTRY_CODES = new Set([
  "room_not_found",
  "room_unavailable",
  "invalid_key",
  "invalid_token",
  "forbidden",
  // Too many wrong links from this network lately: the server closes with 4029 next.
  "too_many_attempts",
]);

// ---------------------------------------------------------------------------------------------
// Per-room storage of the personal token (never shown, never sent anywhere but `resume`).

/** What this device remembers of a room: `{token, you, via}` or null. */
export function loadRoomMemory(roomId) {
  try {
    const raw = localStorage.getItem(STORAGE_PREFIX + roomId);
    if (!raw) return null;
    const data = JSON.parse(raw);
    return data && typeof data.token === "string" ? data : null;
  } catch {
    return null;
  }
}

export function saveRoomMemory(roomId, data) {
  try {
    const old = loadRoomMemory(roomId) || {};
    localStorage.setItem(STORAGE_PREFIX + roomId, JSON.stringify({ ...old, ...data }));
  } catch {
    // Private mode or storage full: the session still works, it just cannot be resumed.
  }
}

export function forgetRoom(roomId) {
  try {
    localStorage.removeItem(STORAGE_PREFIX + roomId);
  } catch {
    /* nothing to forget */
  }
}

// ---------------------------------------------------------------------------------------------
// Applying events by assignment ("Keeping the view current").

/** `room.pairs` with its defaults: the server leaves it out of the view while it is empty. */
export function normalPairs(pairs) {
  const p = pairs && typeof pairs === "object" ? pairs : {};
  return {
    proposal: p.proposal || null,
    groups: Array.isArray(p.groups) ? p.groups : [],
    waiting: Array.isArray(p.waiting) ? p.waiting : [],
  };
}

/** A shared-notes list (`commitments`, `carried`, `feedback`): the server leaves it out while empty. */
function list(value) {
  return Array.isArray(value) ? value : [];
}

/** Puts `item` in place of the first element `same` picks out, or appends it. */
function put(items, item, same) {
  const i = items.findIndex(same);
  if (i >= 0) items[i] = item;
  else items.push(item);
}

/** Whether two feedback items (or a feedback item and a `feedback_removed` key) are the same one. */
function sameFeedback(a, b) {
  return a.from === b.from && a.group === b.group && a.round === b.round;
}

/** Sets `object[key]` to `value`, or removes the key when `value` is null or missing. */
function setOrDrop(object, key, value) {
  if (value === null || value === undefined) delete object[key];
  else object[key] = value;
}

/** Fills in what the server leaves out of a room view while it is empty. */
export function normalView(view) {
  view.pairs = normalPairs(view.pairs);
  view.commitments = list(view.commitments);
  view.carried = list(view.carried);
  view.feedback = list(view.feedback);
  return view;
}

/** Applies one event to `view` in place. Returns nothing; never re-implements room rules. */
export function applyEvent(view, event) {
  switch (event.type) {
    case "participant_joined":
    case "participant_updated":
      put(view.participants, event.participant, (p) => p.id === event.participant.id);
      break;
    case "session_changed":
      view.session = event.session;
      view.stage = event.stage;
      view.turn = event.turn;
      break;
    case "stage_entered":
      view.stage = event.stage;
      view.turn = event.turn;
      break;
    case "turn_changed":
      view.turn = event.turn;
      break;
    case "floor_time_credited":
      view.floor_time = event.floor_time;
      break;
    case "timer_changed":
    case "timer_warning":
    case "timer_expired":
      if (event.timer === "stage") {
        if (view.stage) view.stage.timer = event.state;
      } else if (event.timer === "speaker") {
        view.turn.speaker_timer = event.state;
      }
      break;
    case "plan_changed":
      view.presenter_order = event.presenter_order;
      view.plan = event.plan;
      if (event.stage_index !== undefined && event.stage_index !== null && view.stage) {
        view.stage.index = event.stage_index;
      }
      break;
    case "prompt_changed":
      view.prompt = event.prompt;
      break;
    case "pairs_changed":
      view.pairs = normalPairs(event.pairs);
      break;
    case "notes_changed":
      // Only the shared items that changed arrive here, each put in place by its id (private
      // ones are answered to their author alone); feedback made private is named for removal.
      view.feedback = view.feedback.filter((f) => !list(event.feedback_removed).some((k) => sameFeedback(f, k)));
      for (const c of list(event.commitments)) put(view.commitments, c, (k) => k.id === c.id);
      for (const c of list(event.carried)) put(view.carried, c, (k) => k.id === c.id);
      for (const f of list(event.feedback)) put(view.feedback, f, (k) => sameFeedback(k, f));
      break;
    case "call_links_changed":
      // The room's links, and the link of each group it names; an unset one is left out of
      // the view, as the server leaves it out.
      setOrDrop(view, "call_url", event.call_url);
      setOrDrop(view, "group_call_template", event.group_call_template);
      setOrDrop(view, "group_call_urls", list(event.group_call_urls).length ? event.group_call_urls : null);
      for (const call of list(event.groups)) {
        const group = view.pairs.groups.find((g) => g.id === call.group);
        if (group) setOrDrop(group, "call_url", call.call_url);
      }
      break;
    default:
      // An event this client does not know: nothing to assign.
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// The server clock.

/**
 * Estimates the server's clock from `server_time` samples, on the local monotonic clock:
 * server_now ≈ server_time + (local_now − local_time_when_that_frame_arrived). Keeps the
 * sample with the shortest round trip, unless a new one disagrees by more than its own round
 * trip plus a second (the device slept, or the server's clock moved).
 */
export class ServerClock {
  constructor() {
    this.sample = null; // {serverTime, localAt, rtt}
  }

  observe(serverTime, sentAt, arrivedAt) {
    if (typeof serverTime !== "number") return;
    const rtt = sentAt === null ? Infinity : Math.max(0, arrivedAt - sentAt);
    const next = { serverTime, localAt: arrivedAt, rtt };
    if (!this.sample) {
      this.sample = next;
      return;
    }
    const predicted = this.sample.serverTime + (arrivedAt - this.sample.localAt);
    const disagreement = Math.abs(predicted - serverTime);
    const tolerance = (Number.isFinite(rtt) ? rtt : 2000) + 1000;
    if (rtt <= this.sample.rtt || disagreement > tolerance) this.sample = next;
  }

  get known() {
    return this.sample !== null;
  }

  /** The server's clock now, in epoch ms (the device's own clock until a sample arrives). */
  now() {
    if (!this.sample) return Date.now();
    return this.sample.serverTime + (performance.now() - this.sample.localAt);
  }

  /** server clock − device clock, for display and debugging. */
  offset() {
    return this.sample ? Math.round(this.now() - Date.now()) : 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The connection.

/** A refusal from the server: `code` is stable, `message` is for people. */
export class ServerError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

function randomPrefix() {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(36).padStart(2, "0")).join("").slice(0, 8);
}

/** The websocket URL for a room: `room` lets a proxy in front of several nodes route by it. */
function socketUrl(roomId) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const room = encodeURIComponent(roomId);
  return `${scheme}//${location.host}/ws?v=${PROTOCOL_VERSION}&room=${room}`;
}

function jitter(min, max) {
  return min + Math.random() * (max - min);
}

/**
 * One participant's link to one room. Listeners:
 *  - `onView()` whenever the room view or the connection state changed;
 *  - `onEvent(event, replayed)` after each event was applied (for announcements and cues;
 *    `replayed` is true for the events a `resume` brought back);
 *  - `onFatal(reason, code, message)` when the connection ends for good.
 *
 * `status` is one of: `idle` (not entered yet), `connecting` (first entry under way),
 * `live`, `reconnecting`, `offline` (the browser reports no network), `closed` (for good).
 */
export class Connection {
  constructor(roomId, { onView = () => {}, onEvent = () => {}, onFatal = () => {} } = {}) {
    this.roomId = roomId;
    this.onView = onView;
    this.onEvent = onEvent;
    this.onFatal = onFatal;

    this.prefix = randomPrefix();
    this.counter = 0;
    this.clock = new ServerClock();

    this.view = null;
    this.seq = 0;
    this.you = null;
    this.token = null;
    this.status = "idle";
    this.fatal = null; // {reason, code, message} once closed for good

    this.socket = null;
    this.socketGen = 0;
    this.entry = null; // the first command on the current socket: {id, frame, resolve, reject}
    this.pending = new Map(); // id -> {frame, resolve, reject, sentAt, sentGen, resent}
    this.lastEntryError = null;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.heartbeatWatch = null;
    this.lastCloseCode = null;
    this.leaving = false;
    this.replayUntil = 0;

    this.handleOnline = () => {
      if (this.status === "offline" || this.status === "reconnecting") this.reconnectSoon(200);
    };
    this.handleOffline = () => {
      if (this.status !== "closed" && this.status !== "idle" && this.token) {
        this.setStatus("offline");
      }
    };
    this.handleVisibility = () => {
      if (document.visibilityState === "visible") this.heartbeat();
    };
    window.addEventListener("online", this.handleOnline);
    window.addEventListener("offline", this.handleOffline);
    document.addEventListener("visibilitychange", this.handleVisibility);
  }

  nextId() {
    this.counter += 1;
    return `${this.prefix}-${this.counter}`;
  }

  setStatus(status) {
    if (this.status === status) return;
    if (this.status === "closed") return;
    this.status = status;
    this.onView();
  }

  /** The server's clock now. */
  serverNow() {
    return this.clock.now();
  }

  // -- entering ---------------------------------------------------------------------------

  /**
   * Joins (`join`) or hosts (`host`) with a key and a display name (and, joining a room of a
   * series, the series guest key this device kept). Resolves with the welcome.
   */
  enter(type, key, name, guest) {
    const fields = { type, room: this.roomId, key, name };
    if (type === "join" && guest) fields.guest = guest;
    return this.firstCommand(fields);
  }

  /** Enters a room of a series with a member's personal key. Resolves with the welcome. */
  enterMember(series, key) {
    return this.firstCommand({ type: "member", room: this.roomId, series, key });
  }

  /** Comes back with a stored token (no `last_seq`: the page has no view yet). */
  resumeWith(token) {
    this.token = token;
    return this.firstCommand({ type: "resume", room: this.roomId, token });
  }

  firstCommand(fields) {
    return new Promise((resolve, reject) => {
      const id = this.nextId();
      this.entry = { id, frame: { id, ...fields }, resolve, reject, sentAt: null };
      this.lastEntryError = null;
      if (this.status === "idle" || this.status === "closed") this.status = "connecting";
      this.onView();
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.sendEntry();
      } else if (!this.socket || this.socket.readyState !== WebSocket.CONNECTING) {
        this.open();
      }
    });
  }

  sendEntry() {
    if (!this.entry) return;
    this.entry.sentAt = performance.now();
    this.entry.gen = this.socketGen;
    this.raw(this.entry.frame);
  }

  open() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.socket) this.detach(this.socket);
    let socket;
    try {
      socket = new WebSocket(socketUrl(this.roomId));
    } catch (err) {
      this.onSocketGone(null, 0);
      return;
    }
    this.socketGen += 1;
    const gen = this.socketGen;
    this.socket = socket;
    this.authenticated = false;
    socket.onopen = () => {
      if (gen !== this.socketGen) return;
      if (this.token && !this.entry) {
        // Reconnecting: resume with the last seq applied, and keep the view.
        const id = this.nextId();
        const frame = { id, type: "resume", room: this.roomId, token: this.token };
        if (this.view !== null) frame.last_seq = this.seq;
        this.entry = { id, frame, resolve: () => {}, reject: () => {} };
      } else if (this.entry && this.entry.gen !== undefined && this.entry.frame.type === "resume") {
        // The page's first resume, tried again on a new socket: a fresh id.
        const id = this.nextId();
        this.entry.id = id;
        this.entry.frame = { ...this.entry.frame, id };
      }
      this.sendEntry();
    };
    socket.onmessage = (msg) => {
      if (gen !== this.socketGen) return;
      this.receive(msg.data);
    };
    socket.onclose = (ev) => {
      if (gen !== this.socketGen) return;
      this.onSocketGone(ev.code, ev.reason);
    };
    socket.onerror = () => {
      // A close event follows; nothing to do here.
    };
  }

  detach(socket) {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
        socket.close(1000, "bye");
      }
    } catch {
      /* already closed */
    }
  }

  raw(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    try {
      this.socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  // -- commands ---------------------------------------------------------------------------

  /**
   * Sends a room command; resolves with the `ack` (its `result` for `draw_prompt`), rejects
   * with a `ServerError`. Commands sent while disconnected wait and go out after the resume,
   * with their original ids.
   */
  send(type, fields = {}) {
    if (this.status === "closed") {
      return Promise.reject(new ServerError("closed", "You are no longer connected to this circle."));
    }
    return new Promise((resolve, reject) => {
      const id = this.nextId();
      const frame = { id, type, ...fields };
      const entry = { frame, resolve, reject, sentAt: null, sentGen: null, resent: false };
      this.pending.set(id, entry);
      if (type === "leave") this.leaving = true;
      if (this.status === "live") this.transmit(entry);
    });
  }

  transmit(entry) {
    if (entry.sentAt !== null) entry.resent = true;
    entry.sentAt = performance.now();
    if (entry.firstSentAt === undefined) entry.firstSentAt = entry.sentAt;
    entry.sentGen = this.socketGen;
    this.raw(entry.frame);
  }

  /** After a resume: send again what was not answered, in order, with the same ids. */
  flushPending() {
    // A snapshot: commands sent while flushing (`my_items` below) go out once, by themselves.
    for (const [id, entry] of [...this.pending]) {
      if (entry.frame.type === "sync") {
        // A heartbeat from a dead socket: nothing to retry.
        this.pending.delete(id);
        entry.resolve(null);
        continue;
      }
      if (entry.frame.type === "record_commitment" && entry.sentAt !== null) {
        this.retryCommitment(id, entry);
        continue;
      }
      this.transmit(entry);
    }
  }

  /**
   * A commitment whose answer was lost may have been recorded already, and a private one is not
   * remembered by the server: sent again, it would be recorded twice (protocol/README.md,
   * "Retrying a command"). Look in `my_items` first; answer from there when it arrived.
   */
  retryCommitment(id, entry) {
    if (entry.checking) return;
    entry.checking = true;
    // The server's clock when it was first sent, less a margin for the clock's own error.
    const since = this.clock.now() - (performance.now() - entry.firstSentAt) - 5000;
    const { text, due = null, visibility } = entry.frame;
    this.send("my_items")
      .then((ack) => {
        entry.checking = false;
        if (this.pending.get(id) !== entry) return; // answered meanwhile
        const mine = ack && ack.result && ack.result.mine;
        const arrived =
          mine &&
          Array.isArray(mine.commitments) &&
          mine.commitments.some(
            (c) =>
              c.text === text.trim() &&
              (c.due || null) === due &&
              c.visibility === visibility &&
              c.made_at >= since,
          );
        if (arrived) {
          this.pending.delete(id);
          entry.resolve(ack);
        } else {
          this.transmit(entry);
        }
      })
      .catch(() => {
        // Lost again: the next resume looks again.
        entry.checking = false;
      });
  }

  // -- receiving --------------------------------------------------------------------------

  receive(data) {
    const arrivedAt = performance.now();
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    // The browser said "offline", yet the server is heard: the connection is live after all.
    if (this.status === "offline" && this.authenticated) this.setStatus("live");
    switch (msg.type) {
      case "welcome":
      case "snapshot":
        this.entered(msg, arrivedAt, true);
        break;
      case "resumed":
        this.entered(msg, arrivedAt, false);
        break;
      case "event":
        this.receiveEvent(msg);
        break;
      case "ack":
        this.receiveAck(msg, arrivedAt);
        break;
      case "error":
        this.receiveError(msg);
        break;
      default:
        break;
    }
  }

  entered(msg, arrivedAt, replace) {
    const entry = this.entry;
    if (entry && msg.id !== entry.id) return;
    this.entry = null;
    this.clock.observe(msg.server_time, entry ? entry.sentAt : null, arrivedAt);
    if (replace) {
      this.view = normalView(msg.room);
      this.seq = msg.seq;
    } else if (this.view === null) {
      // `resumed` without a view cannot happen (the first resume has no last_seq); be safe.
      this.forceReconnect();
      return;
    }
    // After `resumed`, the missed events follow and are applied as usual (flagged as replayed,
    // so that the page does not announce what happened while it was away).
    this.replayUntil = replace ? msg.seq : Math.max(msg.seq, this.seq);
    this.you = msg.you;
    if (msg.token) {
      this.token = msg.token;
    }
    this.authenticated = true;
    this.attempt = 0;
    this.lastCloseCode = null;
    this.status = "live";
    this.startHeartbeat();
    if (entry) entry.resolve(msg);
    this.flushPending();
    this.onView();
    // A second sample right away: the entry's round trip includes a disk write.
    this.heartbeat();
  }

  receiveEvent(msg) {
    if (!this.view || typeof msg.seq !== "number") return;
    if (msg.seq <= this.seq) return; // seen already
    if (msg.seq !== this.seq + 1) {
      // A gap: close and resume from the last seq applied.
      this.forceReconnect();
      return;
    }
    applyEvent(this.view, msg.event);
    this.seq = msg.seq;
    this.onEvent(msg.event, msg.seq <= this.replayUntil);
    this.onView();
  }

  receiveAck(msg, arrivedAt) {
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    this.pending.delete(msg.id);
    if (!entry.resent && entry.sentGen === this.socketGen) {
      // A retried command's ack carries the old server_time: never a clock sample.
      this.clock.observe(msg.server_time, entry.sentAt, arrivedAt);
    }
    entry.resolve(msg);
    if (entry.frame.type === "sync") this.onView();
  }

  receiveError(msg) {
    if (this.entry && msg.id === this.entry.id) {
      const entry = this.entry;
      this.lastEntryError = { code: msg.code, message: msg.message };
      if (FATAL_ENTRY_CODES.has(msg.code)) {
        // The server closes with 4003 next; do not wait for it.
        this.close(msg.code, CLOSE.REFUSED, msg.message);
        return;
      }
      if (this.token) {
        // A resume refused for a passing reason (`internal`): try again later, backing off.
        // The page's first resume keeps its entry (and its promise) for the next socket.
        if (this.view !== null) this.entry = null;
        this.forceReconnect();
        return;
      }
      // The connection stays open: the person may try again (a name, a full room, …).
      this.entry = null;
      if (!this.authenticated && this.token === null) this.status = "idle";
      entry.reject(new ServerError(msg.code, msg.message));
      this.onView();
      return;
    }
    const entry = msg.id ? this.pending.get(msg.id) : null;
    if (entry) {
      this.pending.delete(msg.id);
      entry.reject(new ServerError(msg.code, msg.message));
      return;
    }
    if (msg.code === "rate_limited") {
      // Dropped without an id: the pending commands will be retried after the next resume.
      return;
    }
  }

  // -- liveness ---------------------------------------------------------------------------

  startHeartbeat() {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (document.visibilityState === "visible") this.heartbeat();
    }, HEARTBEAT_MS);
  }

  /** Sends `sync`; reconnects when it is not answered in time. Refines the clock. */
  heartbeat() {
    if (this.status !== "live" || this.heartbeatWatch) return;
    const gen = this.socketGen;
    this.heartbeatWatch = setTimeout(() => {
      this.heartbeatWatch = null;
      if (gen === this.socketGen && this.status === "live") this.forceReconnect();
    }, HEARTBEAT_TIMEOUT_MS);
    this.send("sync")
      .catch(() => {})
      .finally(() => {
        clearTimeout(this.heartbeatWatch);
        this.heartbeatWatch = null;
      });
  }

  // -- losing the connection --------------------------------------------------------------

  forceReconnect() {
    if (this.status === "closed") return;
    const socket = this.socket;
    this.socketGen += 1; // ignore anything more from the old socket
    if (socket) this.detach(socket);
    this.socket = null;
    this.onSocketGone(null, "");
  }

  onSocketGone(code) {
    this.socket = null;
    clearTimeout(this.heartbeatWatch);
    this.heartbeatWatch = null;
    const err = this.lastEntryError;
    if (code === CLOSE.OUTDATED) return this.close("outdated", code);
    if (code === CLOSE.REFUSED) {
      const reason = err ? err.code : "refused";
      return this.close(reason, code, err ? err.message : "");
    }
    if (code === CLOSE.REMOVED) return this.close(this.leaving ? "left" : "removed", code);
    if (code === CLOSE.DELETED) return this.close("deleted", code);

    const entry = this.entry;
    if (!this.token) {
      // Never entered: there is nobody to resume. Tell whoever is waiting.
      this.entry = null;
      this.status = "idle";
      if (entry) {
        entry.reject(
          new ServerError("network", "Could not reach the server. Check your connection and try again."),
        );
      }
      this.onView();
      return;
    }
    if (entry && this.view === null) {
      // The first resume of this page: try it again on the next socket.
    } else {
      this.entry = null;
    }
    this.lastCloseCode = code;
    this.setStatus(navigator.onLine === false ? "offline" : "reconnecting");
    this.scheduleReconnect(code);
  }

  scheduleReconnect(code) {
    clearTimeout(this.reconnectTimer);
    let delay;
    if (this.attempt === 0) {
      if (code === CLOSE.RESTARTING) delay = jitter(1000, 5000);
      else if (code === CLOSE.MOVED) delay = jitter(100, 600);
      else if (code === CLOSE.RATE_LIMITED) delay = jitter(3000, 6000);
      else delay = jitter(500, 1500);
    } else {
      const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
      delay = Math.min(MAX_BACKOFF_MS, base * jitter(0.75, 1.25));
      if (code === CLOSE.RATE_LIMITED) delay = Math.max(delay, 3000);
    }
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  reconnectSoon(delay) {
    if (this.status === "closed" || !this.token) return;
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.status === "live") return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** Ends for good (removed, deleted, refused, outdated, left). */
  close(reason, code = null, message = "") {
    if (this.status === "closed") return;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.heartbeatWatch);
    if (this.socket) this.detach(this.socket);
    this.socket = null;
    this.status = "closed";
    this.fatal = { reason, code, message };
    const entry = this.entry;
    this.entry = null;
    if (entry) entry.reject(new ServerError(reason, message));
    for (const [, p] of this.pending) {
      p.reject(new ServerError("closed", "The connection to this circle has ended."));
    }
    this.pending.clear();
    window.removeEventListener("online", this.handleOnline);
    window.removeEventListener("offline", this.handleOffline);
    document.removeEventListener("visibilitychange", this.handleVisibility);
    this.onFatal(reason, code, message);
    this.onView();
  }
}
