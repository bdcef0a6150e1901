// The stage: its head (count, title, purpose, presenter), the ground rules card, the session
// controls and the console's stage list.

import { actionButton, confirmDialog, h, setText, show } from "/dom.js";
import { formatNumber, serverText, t } from "/words.js";
import { inPairsStage, minutesLabel, speakingWord } from "/room/model.js";

/** A scrollable box of ground rules the keyboard can reach (it scrolls when they are long). */
function rulesBox(cls, extra = {}) {
  return h("div", { class: cls, tabindex: "0", role: "region", "aria-label": t("room.rules.label"), ...extra });
}

/** The stage head, ground rules, session controls and stage list. Mixed into RoomScreen: `this` is the screen (its context). */
export class StageView {
  /** The stage head, the session controls, the ground rules (card and again) and the stage list. */
  buildStage() {
    const r = this.r;
    r.stageCount = h("p", { class: "stage-count" });
    r.stageTitle = h("h1", { class: "stage-title", "data-test": "stage-title" });
    r.purpose = h("p", { class: "purpose" });
    r.presenterLine = h("p", { class: "presenter-line" });

    // Stage controls (facilitating).
    r.start = actionButton("start", t("room.stage.start"), (e) => this.act(e.currentTarget, "start"), "primary");
    r.prev = actionButton("previous-stage", t("room.stage.previous"), (e) => this.act(e.currentTarget, "previous_stage"));
    // While pairs still work on their own, moving on asks first, as "Call everyone back" does.
    r.next = actionButton("next-stage", t("room.stage.next"), (e) =>
      inPairsStage(this.view) ? this.callBack(e.currentTarget) : this.act(e.currentTarget, "next_stage"),
    );
    // Ending is set apart from moving on: at the far end of the row, in its own style, and it
    // asks first.
    r.end = actionButton("end-session", t("room.stage.end"), (e) => this.endSession(e.currentTarget), "end-button");
    r.lobbyHint = h("p", { class: "hint" });
    r.stageControls = h(
      "section",
      { class: "controls stage-controls", "aria-label": t("room.stage.stages") },
      h("h2", { class: "section-title", text: t("room.stage.session") }),
      r.lobbyHint,
      h("div", { class: "row wrap session-row" }, r.start, r.prev, r.next, h("span", { class: "end-apart" }, r.end)),
    );

    r.rulesText = rulesBox("ground-rules", { "data-test": "ground-rules" });
    r.rulesCard = h(
      "section",
      { class: "rules-card", "aria-labelledby": "rules-card-title", hidden: true },
      h("h2", { id: "rules-card-title", text: t("room.rules.agreed") }),
      r.rulesText,
      h(
        "div",
        { class: "row wrap end" },
        h("button", {
          type: "button",
          class: "ghost",
          "data-test": "rules-leave",
          onclick: (e) => this.leaveRoom(e.currentTarget),
          text: t("room.rules.leave"),
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
          text: t("room.rules.ok"),
        }),
      ),
    );
    r.rulesAgain = rulesBox("ground-rules small");
    r.consoleRules = rulesBox("ground-rules small");

    // Left: the stage list (console).
    r.stageList = h("ol", { class: "stage-list", "data-test": "stage-list" });
    r.stagesPanel = h(
      "aside",
      // The panel scrolls on its own on wide screens: the keyboard can reach it.
      { class: "panel stages-panel", "aria-label": t("room.stage.stages"), tabindex: "0" },
      h("h2", { text: t("room.stage.stages") }),
      r.stageList,
    );
  }

  /** The stage head: which stage of how many, its title and purpose, and who presents. */
  renderStageHead({ session, planned, ended, pairMode }) {
    const r = this.r;
    const view = this.view;
    const total = view.plan.length;
    if (session === "lobby") {
      const first = view.plan[0];
      setText(r.stageCount, t("room.stage.waiting_count", { count: total }));
      setText(r.stageTitle, t("room.stage.waiting"));
      setText(
        r.purpose,
        first ? t("room.stage.first", { title: serverText(first.title), purpose: serverText(first.purpose) }) : "",
      );
    } else if (planned) {
      const count = t("room.stage.count", { n: formatNumber(view.stage.index + 1), total: formatNumber(total) });
      setText(r.stageCount, ended ? t("room.stage.count_ended", { count }) : count);
      setText(r.stageTitle, ended ? t("room.stage.ended") : serverText(planned.title));
      setText(
        r.purpose,
        ended ? t("room.stage.last", { title: serverText(planned.title) }) : serverText(planned.purpose),
      );
    } else {
      setText(r.stageCount, ended ? t("room.stage.ended") : "");
      setText(r.stageTitle, ended ? t("room.stage.ended") : "");
      setText(r.purpose, "");
    }
    show(r.purpose, r.purpose.textContent !== "" && !pairMode);
    const presenterId = planned ? planned.presenter : null;
    if (presenterId !== null && presenterId !== undefined && !ended) {
      setText(
        r.presenterLine,
        presenterId === this.conn.you
          ? t("room.stage.presenter_you", { name: this.name(presenterId) })
          : t("room.stage.presenter", { name: this.name(presenterId) }),
      );
      show(r.presenterLine, true);
    } else {
      show(r.presenterLine, false);
    }
  }

  /** The ground rules, in the card right after entering and again on request. */
  renderRules({ me, ended }) {
    const r = this.r;
    const rules = serverText(this.view.ground_rules);
    setText(r.rulesText, rules);
    setText(r.rulesAgain, rules);
    setText(r.consoleRules, rules);
    show(r.rulesCard, this.showRules && !ended);
    show(r.rulesCard.querySelector('[data-test="rules-leave"]'), Boolean(me) && me.standing !== "facilitator");
  }

  /** Start, previous, next, end, and the hint on who has agreed or that this is the last stage. */
  renderStageControls({ facilitating, session, started, ended }) {
    const r = this.r;
    const view = this.view;
    const total = view.plan.length;
    show(r.stageControls, facilitating && !ended);
    show(r.start, session === "lobby");
    show(r.prev, started);
    show(r.next, started);
    r.prev.disabled = !view.stage || view.stage.index === 0;
    r.next.disabled = !view.stage || view.stage.index >= total - 1;
    if (session === "lobby") {
      const agreed = view.participants.filter((p) => !p.removed && p.consented).length;
      const present = view.participants.filter((p) => !p.removed).length;
      setText(r.lobbyHint, t("room.stage.agreed", { count: present, agreed: formatNumber(agreed) }));
      show(r.lobbyHint, true);
    } else if (view.stage && view.stage.index >= total - 1) {
      setText(r.lobbyHint, t("room.stage.last_hint"));
      show(r.lobbyHint, true);
    } else {
      show(r.lobbyHint, false);
    }
  }

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
      const title = serverText(stage.title);
      const who =
        stage.presenter !== null && stage.presenter !== undefined
          ? t("room.stage.list_who", { name: this.name(stage.presenter) })
          : "";
      const n = formatNumber(i + 1);
      const jump =
        started && i !== current
          ? h("button", {
              type: "button",
              class: "ghost small",
              "data-test": "jump-stage",
              "data-focus": `jump-${i}`,
              "aria-label": t("room.stage.go_to", { n, title, who }),
              onclick: (e) => this.act(e.currentTarget, "jump_to_stage", { index: i }),
              text: t("room.stage.go"),
            })
          : null;
      return h(
        "li",
        { class: `stage-item ${state}`, "data-state": state, "aria-current": i === current && !ended ? "step" : null },
        h("span", { class: "stage-mark", "aria-hidden": "true" }, state === "done" ? "✓" : state === "now" ? "●" : "○"),
        h(
          "span",
          { class: "stage-name" },
          h("span", { class: "stage-label" }, t("room.stage.list_label", { n, title, who })),
          h(
            "span",
            { class: "stage-meta" },
            [label ? t(`room.stage.state.${label}`) : "", minutesLabel(stage.timebox_ms), speakingWord(stage.speaking)]
              .filter(Boolean)
              .join(" · "),
          ),
        ),
        jump,
      );
    });
    this.r.stageList.replaceChildren(...items);
  }

  async endSession(control) {
    const ok = await confirmDialog(t("room.stage.end_ask"), t("room.stage.end"), t("room.stage.end_detail"));
    if (ok) await this.act(control, "end_session");
    else control.focus();
  }
}
