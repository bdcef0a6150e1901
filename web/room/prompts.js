// Prompts: the card (drawn by a coach or pushed by a facilitator) and the console's prompt bank.

import { announce, h, setText, show } from "/dom.js";
import { serverText, t } from "/words.js";
import { rolePlural } from "/room/model.js";

/** The roles a facilitator can push a prompt to, besides everyone. */
const PROMPT_ROLES = ["presenter", "coach", "client", "member", "observer", "timekeeper", "facilitator"];

/** The prompt card and the prompt bank. Mixed into RoomScreen: `this` is the screen (its context). */
export class PromptsView {
  /** The card a pushed or drawn prompt shows on (centre). */
  buildPromptCard() {
    const r = this.r;
    r.promptFor = h("p", { class: "prompt-for" });
    r.promptText = h("p", { class: "prompt-text" });
    r.promptDismiss = h("button", {
      type: "button",
      class: "ghost small",
      "data-test": "dismiss-prompt",
      onclick: () => this.dismissCard(),
      text: t("room.prompts.dismiss"),
    });
    r.promptClear = h("button", {
      type: "button",
      class: "ghost small",
      "data-test": "clear-prompt",
      onclick: (e) => this.act(e.currentTarget, "clear_prompt"),
      text: t("room.prompts.clear"),
    });
    r.promptCard = h(
      "article",
      { class: "prompt-card", "data-test": "prompt-card", "aria-label": t("room.prompts.card"), hidden: true },
      r.promptFor,
      r.promptText,
      h("div", { class: "row end" }, r.promptClear, r.promptDismiss),
    );
  }

  /** The console's prompt bank: to whom, this stage's prompts or all, and my own. */
  buildPromptBank() {
    const r = this.r;
    r.promptTo = h(
      "select",
      { "data-test": "prompt-to", "aria-label": t("room.prompts.to_label") },
      h("option", { value: "", text: t("room.prompts.to_everyone") }),
      PROMPT_ROLES.map((role) => h("option", { value: role, text: t("room.prompts.to_role", { role: rolePlural(role) }) })),
    );
    r.promptAll = h("input", { type: "checkbox", id: "prompt-all" });
    r.promptAll.addEventListener("change", () => {
      this.showAllPrompts = r.promptAll.checked;
      this.renderPromptBank();
    });
    r.promptAll.checked = Boolean(this.showAllPrompts);
    // The bank scrolls when long: the keyboard can reach it.
    r.promptBank = h("ul", {
      class: "prompt-bank",
      "data-test": "prompt-bank",
      tabindex: "0",
      "aria-label": t("room.prompts.bank"),
    });
    r.promptOwn = h("input", {
      type: "text",
      maxlength: "500",
      "data-test": "prompt-own",
      "aria-label": t("room.prompts.own_label"),
      placeholder: t("room.prompts.own_placeholder"),
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
      h("button", { type: "submit", class: "secondary", "data-test": "push-own", text: t("room.prompts.push") }),
    );
    r.promptsSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: t("room.prompts.title") }),
      h(
        "div",
        { class: "row wrap" },
        r.promptTo,
        h("label", { class: "check small" }, r.promptAll, t("room.prompts.all_stages")),
      ),
      r.promptBank,
      r.promptOwnForm,
    );
  }

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
      setText(r.promptFor, t("room.prompts.drawn", { source: serverText(this.drawn.source) }));
      setText(r.promptText, serverText(this.drawn.text));
      show(r.promptClear, false);
    } else if (card === "pushed") {
      const to = pushed.to ? t("room.prompts.for_role", { role: rolePlural(pushed.to) }) : t("room.prompts.for_everyone");
      setText(r.promptFor, t("room.prompts.pushed", { to, name: this.name(pushed.by) }));
      setText(r.promptText, serverText(pushed.prompt.text));
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
      r.promptBank.replaceChildren(h("li", { class: "hint", text: t("room.prompts.loading") }));
      return;
    }
    const planned = view.stage ? view.plan[view.stage.index] : view.plan[0];
    const kind = planned ? planned.kind : null;
    const list = this.showAllPrompts ? this.prompts : this.prompts.filter((p) => p.stages.includes(kind));
    const signature = `${this.showAllPrompts}|${kind}|${list.length}`;
    if (r.promptBank.dataset.signature === signature) return;
    r.promptBank.dataset.signature = signature;
    if (list.length === 0) {
      r.promptBank.replaceChildren(h("li", { class: "hint", text: t("room.prompts.none") }));
      return;
    }
    r.promptBank.replaceChildren(
      ...list.map((p) =>
        h(
          "li",
          { "data-prompt": p.id },
          h(
            "span",
            { class: "bank-text" },
            serverText(p.text),
            h("span", { class: "bank-source", text: t("room.prompts.source", { source: serverText(p.source) }) }),
          ),
          h("button", {
            type: "button",
            class: "secondary small",
            "data-test": "push-prompt",
            "data-focus": `push-${p.id}`,
            "aria-label": t("room.prompts.push_named", { text: serverText(p.text) }),
            onclick: (e) => this.pushPrompt({ prompt: p.id }, e.currentTarget),
            text: t("room.prompts.push"),
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

  async drawPrompt(control) {
    const ack = await this.act(control, "draw_prompt");
    if (ack && ack.result && ack.result.prompt) {
      this.drawn = ack.result.prompt;
      this.cardSource = "drawn";
      announce(t("room.prompts.said_drawn", { text: serverText(ack.result.prompt.text) }));
      this.update();
    }
  }
}

