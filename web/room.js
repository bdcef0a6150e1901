// The room screen: the participant view (phone first) and the facilitator console. Everything
// shown follows from the room view kept by connection.js and the server clock; the screen never
// re-implements the room's rules beyond deciding which controls make sense now.
//
// `RoomScreen` composes the views in `room/` (stage, floor, timer, pairs, dashboard, notes,
// people, presenters, prompts, links, export, events, act, shortcuts). Each view adds its
// methods to the screen, which is their one shared context: `this.r` holds the elements,
// `this.conn` the connection, `this.view` the room view. Each view builds its own part
// (`buildX`) and renders it (`renderX`); `build` and `update` here put them together. On a
// language switch the screen builds itself again from the current view, keeping what was typed
// and where the focus was. The facilitator's keyboard shortcuts listen on the document while
// the screen lives (`destroy` removes them).
//
// This module is also the entry the other pages import shared pieces from.

import { announce, captureFocus, confirmDialog, copyButton, h, restoreFocus, setText, show } from "/dom.js";
import { formatList, onLanguageChange, serverText, t } from "/words.js";
import {
  groupOf,
  inPairsStage,
  isFacilitating,
  participantById,
  stageRoleOf,
} from "/room/model.js";
import { connectionLabel, topBar } from "/room/topbar.js";
import { ActView } from "/room/act.js";
import { CallsView } from "/room/calls.js";
import { DashboardView } from "/room/dashboard.js";
import { EventsView } from "/room/events.js";
import { ExportView } from "/room/export.js";
import { FloorView } from "/room/floor.js";
import { LinksView } from "/room/links.js";
import { NotesView } from "/room/notes.js";
import { PairsView } from "/room/pairs.js";
import { PeopleView } from "/room/people.js";
import { PresentersView } from "/room/presenters.js";
import { PromptsView } from "/room/prompts.js";
import { ShortcutsView } from "/room/shortcuts.js";
import { StageView } from "/room/stage.js";
import { TimerView } from "/room/timer.js";

export { announce, confirmDialog, copyButton, h } from "/dom.js";
export {
  formatClock,
  groupOf,
  inPairsStage,
  isFacilitating,
  pairRoleIn,
  pairsOf,
  participantById,
  remainingMs,
  roleWord,
  stageRoleOf,
  today,
} from "/room/model.js";
export { chime, soundEnabled } from "/room/sound.js";
export { connectionLabel, topBar } from "/room/topbar.js";
export { EXPORT_FORMATS, EXT, ROOM_TABLES, downloadText, fetchExport, fileSlug, lastExport } from "/room/export.js";

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
    this.stopLanguage = onLanguageChange(() => this.relabel());
    this.onKey = (e) => this.shortcutKey(e);
    document.addEventListener("keydown", this.onKey);
  }

  destroy() {
    clearInterval(this.ticker);
    this.stopLanguage();
    document.removeEventListener("keydown", this.onKey);
  }

  get view() {
    return this.conn.view;
  }

  get me() {
    return participantById(this.view, this.conn.you);
  }

  /** A participant's name ("you" or "someone" when unknown). */
  name(id) {
    if (id === this.conn.you) {
      const p = this.me;
      return p ? p.name : t("room.you");
    }
    const p = participantById(this.view, id);
    return p ? p.name : t("room.someone");
  }

  /** "Ben", "Ben and Chen", as the reader lists names. */
  names(ids) {
    const list = ids.map((id) => this.name(id));
    return list.length <= 1 ? list.join("") : formatList(list);
  }

  // -- building the skeleton ---------------------------------------------------------------

  build() {
    const r = {};
    this.r = r;
    this.errorPlace = null;

    this.buildStage();
    this.buildTimer();
    this.buildFloor();
    this.buildPromptCard();
    this.buildError();
    this.buildCalls();
    this.buildPairView();
    this.buildPairsConsole();
    this.buildNotes();
    this.buildPeople();
    this.buildPresenters();
    this.buildPromptBank();
    this.buildLinks();
    this.buildShortcuts();
    r.exportSection = this.buildExport();

    // What is happening now: the clocks, then whose turn it is, my actions and the console's
    // controls. On the console's wide screen they sit side by side (one screen, no scrolling);
    // elsewhere the wrappers do not box anything and the column reads top to bottom.
    r.consoleSide = h(
      "div",
      { class: "console-side" },
      r.turnBox,
      r.yourTurn,
      r.meLine,
      r.promptCard,
      r.actions,
      r.actionHint,
      r.error,
      r.floorControls,
      r.timeControls,
      r.stageControls,
    );
    r.now = h("div", { class: "now" }, h("div", { class: "clock-column" }, r.clocks, r.speakerTimer, r.cue), r.consoleSide);

    // Centre: the participant view, as everyone sees it.
    r.centre = h(
      "section",
      { class: "centre", "aria-label": t("room.now") },
      r.rulesCard,
      r.roomCallLine,
      h("div", { class: "stage-head" }, r.consoleBar, r.stageCount, r.stageTitle, r.purpose, r.presenterLine),
      r.pairView,
      r.pairingNote,
      r.now,
      r.pairsConsole,
      r.checkoutSteps,
      r.lookBack,
      r.feedbackBox,
      r.commitBox,
      r.surveyBox,
    );

    // Right: the people and the console's sections. It scrolls on its own on wide screens.
    r.peoplePanel = h(
      "aside",
      { class: "panel people-panel", "aria-label": t("room.people.panel"), tabindex: "0" },
      r.queueSection,
      r.peopleSection,
      r.presentersSection,
      r.promptsSection,
      r.inviteSection,
      r.callsSection,
      r.exportSection,
      r.roomSection,
    );
    r.rulesDetails = h("details", { class: "who rules" }, h("summary", {}, t("room.rules.label")), r.rulesAgain);
    r.seriesLink = this.seriesUrl
      ? h("a", { href: this.seriesUrl, class: "button-link", "data-test": "series-link", text: t("room.series_page") })
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
      h("details", { class: "rules-inline" }, h("summary", {}, t("room.rules.label")), r.consoleRules),
      r.roomSection.children[1],
    );

    r.banner = h("p", { class: "banner", role: "status", hidden: true });
    // The centre comes first: the keyboard reaches what is happening now (and the shortcuts)
    // before the stage list, whose buttons move the whole circle. The grid places the panels.
    r.layout = h("div", { class: "layout" }, r.centre, r.stagesPanel, r.peoplePanel);
    r.main = h("main", { class: "room", id: "main", tabindex: "-1" }, r.banner, r.layout, r.participantExtras);

    this.root.replaceChildren(this.bar.el, r.main);
  }

  /**
   * Builds the screen again in the reader's new language, keeping what was typed, which menus
   * were open and where the focus was.
   */
  relabel() {
    if (!this.r) return;
    const focus = captureFocus();
    // A field without a `data-focus` key is found again by its id or test hook.
    const active = document.activeElement;
    const field =
      !focus && active && this.r.main.contains(active) && (active.id || active.dataset.test)
        ? active.id
          ? `#${CSS.escape(active.id)}`
          : `[data-test="${CSS.escape(active.dataset.test)}"]`
        : null;
    const kept = new Map();
    for (const el of this.r.main.querySelectorAll("input, textarea, select")) {
      const key = el.id || el.dataset.test;
      if (key && !kept.has(key)) kept.set(key, { value: el.value, checked: el.checked });
    }
    const open = [...this.r.main.querySelectorAll("details")].map((d) => d.open);
    this.build();
    for (const el of this.r.main.querySelectorAll("input, textarea, select")) {
      const was = kept.get(el.id || el.dataset.test);
      if (!was) continue;
      if (el.type === "radio" || el.type === "checkbox") el.checked = was.checked;
      else if (el.tagName !== "SELECT" || [...el.options].some((o) => o.value === was.value)) el.value = was.value;
    }
    this.r.exportTableField.hidden = this.r.exportFormat.value !== "csv";
    this.update();
    [...this.r.main.querySelectorAll("details")].forEach((d, i) => {
      if (open[i] !== undefined && d.open !== open[i]) d.open = open[i];
    });
    restoreFocus(focus);
    const again = field ? this.r.main.querySelector(field) : null;
    if (again && !again.disabled) again.focus({ preventScroll: true });
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
    document.title =
      planned && !ended
        ? t("room.page_title_stage", { stage: serverText(planned.title), room: view.title })
        : t("room.page_title", { room: view.title });

    r.main.dataset.mode = facilitating ? "console" : "participant";
    r.main.dataset.connection = connectionLabel(status);
    r.main.dataset.session = session;
    r.layout.inert = !live;
    if (live) {
      show(r.banner, false);
    } else {
      show(r.banner, true);
      setText(r.banner, status === "offline" ? t("room.banner.offline") : t("room.banner.reconnecting"));
    }

    this.renderStageHead({ session, planned, ended, pairMode });

    // Floor and what comes next.
    this.renderFloor({ me, myRole, session, ended, planned, turn });
    const floor = turn.floor;
    const myTurn = Boolean(floor && floor.participant === this.conn.you && started);
    show(r.yourTurn, myTurn && !pairsStage);
    show(r.turnBox, !pairsStage);
    show(r.timerBox, !pairMode);
    // "You are: facilitator" says nothing new on the console; any other role it does say.
    show(r.meLine, !pairMode && !(facilitating && myRole === "facilitator"));
    this.renderPairView(pairMode ? myGroup : null);
    this.renderCalls({ facilitating, ended });
    this.renderPairingNote({ facilitating, started, ended, planned, myGroup });
    r.centre.classList.toggle("my-turn", myTurn);

    this.renderRules({ me, ended });

    // A coach's drawn prompt is for the coaching itself, not for the feedback after it.
    this.renderPromptCard(myRole, facilitating, !pairMode || myGroup.phase === "coaching");
    // The client's feedback comes before the switch: until it is given, saving it leads.
    const feedbackDue =
      pairMode && myGroup.phase === "feedback" && myGroup.client === this.conn.you && !this.savedFeedback(myGroup);
    const pairGroup = pairMode ? myGroup : null;
    this.renderActions({ me, myRole, planned, turn, started, ended, facilitating, pairGroup, feedbackDue });
    this.maybeLoadMine(live);
    this.renderNotes({ me, planned, session, started, ended, facilitating, pairGroup });

    // Controls.
    this.renderTimeControls({ timekeeping, started, ended, session });
    const round = planned && planned.speaking === "round";
    const roundOpen = Boolean(turn.round) && turn.round.position < turn.round.order.length;
    this.renderFloorControls({ facilitating, started, pairsStage, round, roundOpen, turn });
    this.renderStageControls({ facilitating, session, started, ended });
    this.renderPairsConsole({ facilitating, started, ended, planned });
    this.markPrimary({ facilitating, session, round, roundOpen, turn, floor, myTurn, planned });

    // Panels.
    show(r.stagesPanel, facilitating);
    show(r.peoplePanel, facilitating);
    show(r.participantExtras, !facilitating);
    show(r.consoleBar, facilitating);
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

  /** Every 200 ms: the stage's and the speaker's timers, the pair's clock, the dashboard's times. */
  tick() {
    if (!this.view) return;
    this.tickTimers();
    const now = this.conn.serverNow();
    this.tickPairClock(now);
    this.tickTiles(now);
  }
}

// Each view adds its methods to the screen.
for (const view of [
  ActView,
  CallsView,
  DashboardView,
  EventsView,
  ExportView,
  FloorView,
  LinksView,
  NotesView,
  PairsView,
  PeopleView,
  PresentersView,
  PromptsView,
  ShortcutsView,
  StageView,
  TimerView,
]) {
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(view.prototype))) {
    if (name === "constructor") continue;
    if (Object.prototype.hasOwnProperty.call(RoomScreen.prototype, name)) {
      throw new Error(`circlekeeper: two room views define ${name}`);
    }
    Object.defineProperty(RoomScreen.prototype, name, descriptor);
  }
}
