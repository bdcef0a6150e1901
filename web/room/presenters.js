// The presenter order: who presents in which slot, moved, added, removed or shuffled.

import { actionButton, h, setText, show } from "/dom.js";
import { formatNumber, t } from "/words.js";

/** The presenter order. Mixed into RoomScreen: `this` is the screen (its context). */
export class PresentersView {
  /** The console's presenter section: the order, a way to add someone, and shuffle. */
  buildPresenters() {
    const r = this.r;
    r.presenterList = h("ol", { class: "presenters", "data-test": "presenter-order" });
    r.presenterAdd = h("select", { "data-test": "presenter-add", "aria-label": t("room.presenters.add") });
    r.presenterAdd.addEventListener("change", () => {
      const id = Number(r.presenterAdd.value);
      if (!id) return;
      r.presenterAdd.value = "";
      this.setPresenterOrder([...this.view.presenter_order, id], r.presenterAdd);
    });
    r.shuffle = actionButton("shuffle-presenters", t("room.presenters.shuffle"), (e) =>
      this.act(e.currentTarget, "shuffle_presenters"),
    );
    r.presenterEmpty = h("p", { class: "hint" });
    r.presentersSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: t("room.presenters.title") }),
      r.presenterEmpty,
      r.presenterList,
      h("div", { class: "row wrap" }, r.presenterAdd, r.shuffle),
    );
  }

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
        h(
          "span",
          { class: "presenter-name" },
          t("room.floor.queue_item", { n: formatNumber(i + 1), name: this.name(id) }),
          this.awayWord(id),
          locked ? h("span", { class: "chip", text: t("room.presenters.begun") }) : null,
        ),
        h(
          "span",
          { class: "row" },
          h("button", {
            type: "button",
            class: "ghost small",
            "aria-label": t("room.presenters.up", { name: this.name(id) }),
            "data-focus": `up-${id}`,
            disabled: i === 0 || locked || begun.has(order[i - 1]),
            onclick: (e) => this.setPresenterOrder(move(-1), e.currentTarget),
            text: "↑",
          }),
          h("button", {
            type: "button",
            class: "ghost small",
            "aria-label": t("room.presenters.down", { name: this.name(id) }),
            "data-focus": `down-${id}`,
            disabled: i === order.length - 1 || locked,
            onclick: (e) => this.setPresenterOrder(move(1), e.currentTarget),
            text: "↓",
          }),
          h("button", {
            type: "button",
            class: "ghost small",
            "aria-label": t("room.presenters.off", { name: this.name(id) }),
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
          ? t("room.presenters.none_yet")
          : t("room.presenters.no_stages"),
    );
    show(r.presenterEmpty, order.length === 0);

    const eligible = view.participants.filter(
      (p) => !p.removed && !p.roles.includes("observer") && !order.includes(p.id),
    );
    const signature = eligible.map((p) => `${p.id}:${p.name}`).join("|");
    if (r.presenterAdd.dataset.signature !== signature) {
      r.presenterAdd.dataset.signature = signature;
      r.presenterAdd.replaceChildren(
        h("option", { value: "", text: eligible.length ? t("room.presenters.add_option") : t("room.presenters.all_listed") }),
        ...eligible.map((p) => h("option", { value: String(p.id), text: p.name })),
      );
    }
    r.presenterAdd.disabled = eligible.length === 0 || ended;
  }

  setPresenterOrder(order, control) {
    return this.act(control, "set_presenter_order", { order });
  }
}

