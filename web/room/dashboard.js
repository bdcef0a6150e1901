// The facilitator's console composition: the pairs console (proposal, dashboard of groups, people
// not in a pair) and the one primary console action of the moment.

import { actionButton, announce, confirmDialog, h, setText, show } from "/dom.js";
import { formatNumber, t } from "/words.js";
import { formatClock, isFacilitating, pairRoleIn, pairRoleWord, pairsOf, participantById, remainingMs } from "/room/model.js";
import { timerTone } from "/room/timer.js";

/** The pairs console and the console's primary action. Mixed into RoomScreen: `this` is the screen (its context). */
export class DashboardView {
  /** The facilitator's pairs: proposing, the proposal, the dashboard of groups, who is not in one. */
  buildPairsConsole() {
    const r = this.r;
    // A fresh seed each time, so that "Propose again" gives other pairs whatever the server
    // does with a missing seed.
    r.proposePairs = actionButton("propose-pairs", t("room.dashboard.propose"), (e) =>
      this.act(e.currentTarget, "propose_pairs", { seed: crypto.getRandomValues(new Uint32Array(1))[0] }),
    );
    r.proposal = h("ol", { class: "proposal", "data-test": "proposal" });
    r.swapPeople = actionButton("swap-people", t("room.dashboard.swap"), (e) => this.swapPeople(e.currentTarget));
    r.confirmPairs = actionButton("confirm-pairs", t("room.dashboard.confirm"), (e) =>
      this.act(e.currentTarget, "confirm_pairs"),
    );
    r.proposalHint = h("p", { class: "hint proposal-hint" });
    r.proposalBox = h(
      "div",
      { class: "proposal-box" },
      // The next action first, then the proposal it acts on.
      h("div", { class: "row wrap" }, r.swapPeople, r.confirmPairs),
      h("p", { class: "hint", text: t("room.dashboard.swap_hint") }),
      this.buildProposalRepeats(),
      r.proposal,
    );
    r.dashboard = h("ul", { class: "pairs-dashboard", "data-test": "pairs-dashboard" });
    r.moveEveryone = actionButton("move-everyone", t("room.dashboard.move_everyone"), (e) =>
      this.moveEveryone(e.currentTarget),
    );
    r.callBack = actionButton("call-back", t("room.dashboard.call_back"), (e) => this.callBack(e.currentTarget));
    r.pairsHint = h("p", { class: "hint pairs-hint" });
    r.pairsControls = h("div", { class: "row wrap" }, r.moveEveryone, r.callBack);
    r.unplaced = h("ul", { class: "unplaced", "data-test": "unplaced" });
    r.unplacedBox = h(
      "div",
      { class: "unplaced-box" },
      h("h3", { class: "section-title", text: t("room.dashboard.not_in_pair") }),
      h("p", { class: "hint", text: t("room.dashboard.place_hint") }),
      r.unplaced,
    );
    r.pairsConsole = h(
      "section",
      { class: "controls pairs-console", "aria-label": t("room.dashboard.pairs"), hidden: true },
      h("h2", { class: "section-title", text: t("room.dashboard.pairs") }),
      r.pairsHint,
      h("div", { class: "row wrap" }, r.proposePairs),
      r.proposalHint,
      r.proposalBox,
      r.pairsControls,
      r.dashboard,
      r.unplacedBox,
    );
  }

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
    setText(r.proposePairs, proposal ? t("room.dashboard.propose_again") : t("room.dashboard.propose"));
    r.proposePairs.disabled = pairable.length < 2;
    let hint = "";
    if (!confirmed && !proposal) {
      hint =
        pairable.length < 2
          ? t("room.dashboard.too_few")
          : t("room.dashboard.can_pair", { count: pairable.length });
    } else if (proposal) {
      const inside = new Set(proposal.groups.flat());
      const outside = pairable.filter((p) => !inside.has(p.id));
      if (outside.length) hint = t("room.dashboard.outside", { names: this.names(outside.map((p) => p.id)) });
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
    if (confirmed && !pairsStage) status = t("room.dashboard.made");
    else if (confirmed) {
      const done = pairs.groups.filter((g) => g.phase === "done").length;
      status =
        done === pairs.groups.length
          ? t("room.dashboard.all_done")
          : t("room.dashboard.done_count", { count: pairs.groups.length, done: formatNumber(done) });
    } else if (pairsStage) status = t("room.dashboard.none_yet");
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
          h("span", { class: "hint", text: isWaiting ? t("room.dashboard.waiting_with_you") : t("room.dashboard.loose") }),
        ),
        h("button", {
          type: "button",
          class: "secondary small",
          "data-test": "place-late",
          "data-focus": `place-${id}`,
          "aria-label": t("room.dashboard.place_named", { name: this.name(id) }),
          onclick: (e) => this.act(e.currentTarget, "place_late", { participant: id }),
          text: t("room.dashboard.place"),
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
      const label = t(members.length === 3 ? "room.dashboard.triad_n" : "room.dashboard.pair_n", { n: formatNumber(i + 1) });
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
              "aria-label": t("room.dashboard.pick", { name: this.name(id) }),
              disabled: locked,
              onclick: () => this.pick(id, i),
              text: this.name(id),
            }),
          ),
        ),
        h("span", { class: "group-first hint", text: t("room.dashboard.coaches_first", { name: this.name(members[1] ?? members[0]) }) }),
        h("button", {
          type: "button",
          class: "toggle small",
          "aria-pressed": locked ? "true" : "false",
          "data-test": "lock-group",
          "data-focus": `lock-${i}`,
          // The name begins with the visible label; pressed says whether it is locked.
          "aria-label": t(locked ? "room.dashboard.locked_named" : "room.dashboard.lock_named", { group: label }),
          onclick: (e) => this.act(e.currentTarget, "lock_group", { index: i, locked: !locked }),
          text: locked ? t("room.dashboard.locked") : t("room.dashboard.lock"),
        }),
      );
    });
    r.proposal.replaceChildren(...items);
    this.renderProposalRepeats(proposal);
    const [a, b] = this.swapPick;
    const ready = this.swapPick.length === 2 && where.get(a) !== where.get(b);
    r.swapPeople.disabled = !ready;
    setText(r.swapPeople, ready ? t("room.dashboard.swap_named", { a: this.name(a), b: this.name(b) }) : t("room.dashboard.swap"));
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
      announce(t("room.dashboard.swapped", { a: this.name(a), b: this.name(b) }));
      this.update();
    }
  }

  renderDashboard(groups, pairsStage) {
    const r = this.r;
    const tiles = groups.map((g) => {
      const triad = g.members.length === 3;
      const unit = triad ? "round" : "half";
      const time = h("span", { class: "tile-time", "data-test": "group-timer" });
      this.tileClocks.push({ el: time, id: g.id });
      const groupName = t(triad ? "room.dashboard.triad_n" : "room.dashboard.pair_n", { n: formatNumber(g.id) });
      let state = "";
      if (g.phase === "feedback") {
        const missing = g.members.filter((m) => !g.ready.includes(m));
        state = g.ready.length
          ? t("room.dashboard.ready_waiting", { ready: this.names(g.ready), missing: this.names(missing) })
          : g.round + 1 >= g.rounds
            ? t("room.dashboard.feedback_then_done")
            : t("room.dashboard.feedback_then_switch");
      } else if (g.phase === "coaching" && g.round > 0) {
        state = t("room.dashboard.switched");
      } else if (g.phase === "done") {
        state = t("room.dashboard.done");
      }
      const cast = g.members.map((id) => {
        const p = participantById(this.view, id);
        const away = p && p.presence !== "connected";
        return h(
          "li",
          { class: away ? "away" : null },
          h("span", { class: "tile-name", text: this.name(id) }),
          g.phase === "done" ? null : h("span", { class: "tile-role", text: pairRoleWord(pairRoleIn(g, id)) }),
          away ? h("span", { class: "tile-away", text: t("room.dashboard.away") }) : null,
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
          h("span", { class: "tile-title", text: groupName }),
          h("span", { class: `chip phase-${g.phase}`, text: t(`room.dashboard.phase.${g.phase}`) }),
        ),
        h("p", { class: "tile-round", text: t(`room.pairs.${unit}_of`, { n: formatNumber(g.round + 1), total: formatNumber(g.rounds) }) }),
        h("ul", { class: "tile-cast" }, cast),
        time,
        state ? h("p", { class: "tile-state", "data-test": "tile-state", text: state }) : null,
        pairsStage && g.phase === "coaching"
          ? h("button", {
              type: "button",
              class: "ghost small",
              "data-test": "end-half-of",
              "data-focus": `endhalf-${g.id}`,
              // The name begins with the visible label ("End half: Pair 2").
              "aria-label": t(`room.dashboard.end_${unit}_of`, { group: groupName }),
              onclick: (e) => this.act(e.currentTarget, "end_half", { group: g.id }),
              text: t(`room.dashboard.end_${unit}`),
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
        t("room.dashboard.move_ask"),
        t("room.dashboard.move_everyone"),
        t("room.dashboard.move_detail", { count: cutting }),
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
        t("room.dashboard.call_ask"),
        t("room.dashboard.call_back"),
        t("room.dashboard.call_detail", { count: open }),
      );
      if (!ok) {
        control.focus();
        return;
      }
    }
    await this.act(control, "next_stage");
  }

  /** The dashboard's times, against the server clock. */
  tickTiles(now) {
    const view = this.view;
    const paused = view.session.status === "paused";
    const warnBefore = view.warn_before_ms;
    for (const { el, id } of this.tileClocks || []) {
      const g = pairsOf(view).groups.find((x) => x.id === id);
      if (!g) continue;
      let text;
      let tone = "normal";
      if (g.phase === "done") text = "";
      else if (!g.timer) text = t("room.dashboard.starts_later");
      else {
        const left = remainingMs(g.timer, now);
        const stopped = paused || g.timer.ends_at === null || g.timer.ends_at === undefined;
        tone = timerTone(g.timer, left, warnBefore, stopped);
        const what = t(g.phase === "feedback" ? "room.dashboard.phase.feedback" : "room.dashboard.phase.coaching");
        const clock = formatClock(left);
        text =
          left < 0
            ? t("room.dashboard.tile_over", { what, clock })
            : tone === "paused"
              ? t("room.dashboard.tile_left_paused", { what, clock })
              : t("room.dashboard.tile_left", { what, clock });
        el.setAttribute("data-remaining-ms", String(Math.round(left)));
      }
      setText(el, text);
      show(el, text !== "");
      if (el.dataset.tone !== tone) el.dataset.tone = tone;
    }
  }

  markPrimary({ facilitating, session, round, roundOpen, turn, floor, myTurn, planned }) {
    const r = this.r;
    const candidates = [
      r.start,
      r.pause,
      r.resume,
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
    const firstHand = turn.queue.length ? participantById(this.view, turn.queue[0]) : null;
    const firstHere = Boolean(firstHand) && firstHand.presence === "connected";
    if (facilitating && session === "lobby") primary = r.start;
    else if (facilitating && session === "paused") primary = r.resume;
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
      // Never the floor to someone away as the main action.
      else if (!round && !floor && firstHere) primary = r.giveFloor;
      else if (!floor && !(r.next.disabled)) primary = r.next;
    }
    for (const b of candidates) {
      b.classList.toggle("primary", b === primary);
      b.classList.toggle("secondary", b !== primary);
    }
  }
}

