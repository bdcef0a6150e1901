// The floor: who speaks, who is next, my own actions (hand, pass, done…), my role, the
// facilitator's turn controls and the queue of hands.

import { actionButton, h, setText, show } from "/dom.js";
import { formatNumber, t } from "/words.js";
import { participantById, roleWord } from "/room/model.js";

/** The floor, my actions, turn controls and the queue. Mixed into RoomScreen: `this` is the screen (its context). */
export class FloorView {
  /** Who speaks and who is next, my role, my actions, the turn controls and the queue of hands. */
  buildFloor() {
    const r = this.r;
    r.speaker = h("span", { class: "value", "data-test": "speaker" });
    r.nextUp = h("span", { class: "value", "data-test": "next-up" });
    r.yourTurn = h("p", { class: "your-turn", text: t("room.floor.your_turn") });
    r.myRole = h("strong", { "data-test": "my-role" });
    r.myChips = h("span", { class: "chips" });
    r.turnBox = h(
      "div",
      { class: "turn" },
      h("p", { class: "speaking" }, h("span", { class: "label", text: t("room.floor.speaking") }), r.speaker),
      h("p", { class: "next" }, h("span", { class: "label", text: t("room.floor.next") }), r.nextUp),
    );
    r.meLine = h("p", { class: "me" }, t("room.floor.you_are"), r.myRole, r.myChips);

    const act = (type) => (e) => this.act(e.currentTarget, type);
    r.raise = actionButton("raise-hand", t("room.floor.raise_hand"), act("raise_hand"));
    r.lower = actionButton("lower-hand", t("room.floor.lower_hand"), act("lower_hand"));
    r.pass = actionButton("pass", t("room.floor.pass"), act("pass"));
    r.done = actionButton("done", t("room.floor.done"), act("done"));
    r.draw = actionButton("draw-prompt", t("room.floor.draw"), (e) => this.drawPrompt(e.currentTarget));
    r.endHalf = actionButton("end-half", t("room.pairs.end_half"), (e) => this.endHalf(e.currentTarget));
    r.confirmSwitch = actionButton("confirm-switch", t("room.pairs.ready_switch"), act("confirm_switch"));
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

    // Floor controls (facilitating).
    r.giveFloor = actionButton("give-floor", t("room.floor.give_first"), act("give_floor"));
    r.takeFloor = actionButton("take-floor", t("room.floor.take_back"), act("take_floor"));
    r.nextTurn = actionButton("next-turn", t("room.floor.next_turn"), act("next_turn"));
    r.floorControls = h(
      "section",
      { class: "controls floor-controls", "aria-label": t("room.floor.turns") },
      h("h2", { class: "section-title", text: t("room.floor.turns") }),
      h("div", { class: "row wrap" }, r.nextTurn, r.giveFloor, r.takeFloor),
    );

    // The queue of hands (console).
    r.queue = h("ol", { class: "queue", "data-test": "queue" });
    r.queueEmpty = h("p", { class: "hint", text: t("room.floor.no_hands") });
    r.queueSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: t("room.floor.hands_up") }),
      r.queue,
      r.queueEmpty,
    );
  }

  /** Who has the floor, who comes next, and my role with what else I hold. */
  renderFloor({ me, myRole, session, ended, planned, turn }) {
    const r = this.r;
    const floor = turn.floor;
    if (session === "lobby") {
      setText(r.speaker, t("room.floor.nobody_yet"));
    } else if (ended) {
      setText(r.speaker, t("room.floor.nobody"));
    } else if (floor) {
      setText(r.speaker, t("room.floor.speaker", { name: this.name(floor.participant), role: roleWord(floor.role) }));
    } else if (planned && planned.speaking === "open") {
      setText(r.speaker, t("room.floor.open"));
    } else {
      setText(r.speaker, t("room.floor.nobody_has"));
    }
    setText(r.nextUp, this.nextUpText(planned, turn, session));

    setText(r.myRole, roleWord(myRole));
    const chips = [];
    if (me && me.standing === "co_facilitator" && myRole !== "facilitator") chips.push(roleWord("co_facilitator"));
    if (me && me.standing === "facilitator" && myRole !== "facilitator") chips.push(roleWord("facilitator"));
    if (me && me.roles.includes("timekeeper")) chips.push(roleWord("timekeeper"));
    if (me && me.roles.includes("observer") && myRole !== "observer") chips.push(roleWord("observer"));
    r.myChips.replaceChildren(...chips.map((c) => h("span", { class: "chip", text: c })));
  }

  /** Next turn, give the floor, take it back: for facilitators while the circle speaks. */
  renderFloorControls({ facilitating, started, pairsStage, round, roundOpen, turn }) {
    const r = this.r;
    show(r.floorControls, facilitating && started && !pairsStage);
    show(r.nextTurn, Boolean(round));
    r.nextTurn.disabled = !roundOpen;
    show(r.giveFloor, !round);
    r.giveFloor.disabled = turn.queue.length === 0;
    const first = turn.queue.length ? participantById(this.view, turn.queue[0]) : null;
    const firstAway = Boolean(first) && first.presence !== "connected";
    setText(
      r.giveFloor,
      !turn.queue.length
        ? t("room.floor.give_first")
        : firstAway
          ? t("console.floor.give_to_away", { name: this.name(turn.queue[0]) })
          : t("room.floor.give_to", { name: this.name(turn.queue[0]) }),
    );
    show(r.takeFloor, !round);
    r.takeFloor.disabled = !turn.floor;
  }

  /** "away", in words, after the name of someone who is not connected (null when here). */
  awayWord(id) {
    const p = participantById(this.view, id);
    return p && p.presence !== "connected" && !p.removed
      ? h("span", { class: "away-word", "data-test": "away", text: t("room.people.away") })
      : null;
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
      if (turn.round.position >= turn.round.order.length) return t("room.floor.round_complete");
      return rest.length ? rest.map((id) => this.name(id)).join(" · ") : t("room.floor.round_end");
    }
    if (turn.queue.length) return turn.queue.map((id) => this.name(id)).join(" · ");
    if (planned.speaking === "presenter_only") return "—";
    return t("room.floor.no_hands_up");
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
    // A standing facilitator steers the circle without playing in it, unless they are in the
    // round, present, hold the floor or are in a pair: then they act as a participant.
    const playing =
      !facilitating ||
      myRole !== "facilitator" ||
      holding ||
      handUp ||
      Boolean(turn.round && turn.round.order.includes(you)) ||
      Boolean(pairGroup);

    const canRaise = started && playing && handStage && consented && !observer && !handUp && !holding;
    const canLower = started && handUp;
    const canDone = started && holding;
    const canPass = started && holding && speaking === "round" && Boolean(turn.round);
    const coachingNow = !pairGroup || pairGroup.phase === "coaching";
    const canDraw =
      started &&
      playing &&
      (myRole === "coach" || myRole === "facilitator") &&
      planned &&
      planned.kind !== "break" &&
      coachingNow;
    // In a pair: end the half, then everyone confirms the switch.
    const canEndHalf = Boolean(pairGroup) && pairGroup.phase === "coaching";
    const canConfirm = Boolean(pairGroup) && pairGroup.phase === "feedback" && !pairGroup.ready.includes(you);
    if (pairGroup) {
      const last = pairGroup.round + 1 >= pairGroup.rounds;
      setText(r.confirmSwitch, last ? t("room.pairs.ready_finish") : t("room.pairs.ready_switch"));
      setText(r.endHalf, pairGroup.members.length === 3 ? t("room.pairs.end_round") : t("room.pairs.end_half"));
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
    if (ended) hint = t("room.floor.hint_ended");
    else if (!started) hint = facilitating ? "" : t("room.floor.hint_soon");
    else if (pairGroup) hint = "";
    else if (!playing) hint = "";
    else if (observer) hint = t("room.floor.hint_observing");
    else if (handUp) {
      const place = turn.queue.indexOf(you) + 1;
      hint = place === 1 ? t("room.floor.hint_next") : t("room.floor.hint_place", { place: formatNumber(place) });
    } else if (!holding && speaking === "round" && turn.round) {
      const pos = turn.round.order.indexOf(you);
      if (pos > turn.round.position) hint = t("room.floor.hint_round");
    } else if (!holding && speaking === "presenter_only") {
      hint = myRole === "presenter" ? "" : t("room.floor.hint_listen");
    }
    setText(r.actionHint, hint);
    show(r.actionHint, hint !== "");
  }

  renderQueue(started, round) {
    const r = this.r;
    const turn = this.view.turn;
    const items = turn.queue.map((id, i) =>
      h(
        "li",
        { "data-participant": String(id) },
        h(
          "span",
          { class: "queue-name" },
          t("room.floor.queue_item", { n: formatNumber(i + 1), name: this.name(id) }),
          this.awayWord(id),
        ),
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
                text: t("room.floor.give"),
              }),
          h("button", {
            type: "button",
            class: "ghost small",
            "data-test": "lower-hand-of",
            "data-focus": `lower-${id}`,
            "aria-label": t("room.floor.lower_of", { name: this.name(id) }),
            onclick: (e) => this.act(e.currentTarget, "lower_hand", { participant: id }),
            text: t("room.floor.lower"),
          }),
        ),
      ),
    );
    r.queue.replaceChildren(...items);
    show(r.queueEmpty, items.length === 0);
    show(r.queueSection, started);
  }
}
