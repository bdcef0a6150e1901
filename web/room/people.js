// The people in the room: the list with presence, consent, roles and floor time, and the
// facilitator's menu for each person.

import { confirmDialog, h, setText, show } from "/dom.js";
import { formatList, formatNumber, t } from "/words.js";
import { formatClock, groupOf, inPairsStage, pairRoleIn, pairRoleWord, roleWord } from "/room/model.js";

/** The people list and each person's menu. Mixed into RoomScreen: `this` is the screen (its context). */
export class PeopleView {
  /** The people: a console panel section for facilitators, "Who's here" for the others. */
  buildPeople() {
    const r = this.r;
    r.participants = h("ul", { class: "people", "data-test": "participants" });
    r.peopleSummary = h("span");
    r.left = h("p", { class: "hint left-list" });
    r.peopleSection = h(
      "section",
      { class: "panel-section" },
      h("h2", {}, t("room.people.title"), r.peopleSummary),
      r.participants,
      r.left,
    );
    r.peopleDetails = h("details", { class: "who" }, h("summary", {}, t("room.people.whos_here")));
  }
  renderPeople(facilitating, started, round) {
    const r = this.r;
    const view = this.view;
    const now = this.conn.serverNow();
    const floorTime = new Map(view.floor_time.by_participant);
    const present = view.participants.filter((p) => !p.removed);
    const gone = view.participants.filter((p) => p.removed);
    const connected = present.filter((p) => p.presence === "connected").length;
    const counts = { here: formatNumber(connected), count: present.length };
    setText(r.peopleSummary, t("room.people.summary", counts));
    r.peopleDetails.querySelector("summary").textContent = t("room.people.whos_here_count", counts);

    const items = present.map((p) => {
      const chips = [];
      if (p.standing === "facilitator") chips.push(roleWord("facilitator"));
      if (p.standing === "co_facilitator") chips.push(roleWord("co_facilitator"));
      for (const role of p.roles) chips.push(roleWord(role));
      const order = view.presenter_order.indexOf(p.id);
      if (order >= 0) chips.push(t("room.people.presenter_n", { n: formatNumber(order + 1) }));
      const speaking = view.turn.floor && view.turn.floor.participant === p.id;
      if (speaking) chips.push(t("room.people.speaking"));
      if (view.turn.queue.includes(p.id)) chips.push(t("room.people.hand_up"));
      const group = groupOf(view, p.id);
      if (group) {
        const kind = t(group.members.length === 3 ? "room.people.triad_n" : "room.people.pair_n", { n: formatNumber(group.id) });
        const doing = group.phase === "done" ? t("room.dashboard.phase.done") : pairRoleWord(pairRoleIn(group, p.id));
        chips.push(inPairsStage(view) ? `${kind} · ${doing}` : kind);
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
          // Presence in words as well as the dot: "away" is shown, "here" is said.
          h("span", { class: `presence-dot ${p.presence}`, "aria-hidden": "true" }),
          h(
            "span",
            { class: "person-name" },
            h("bdi", { text: p.name }),
            p.id === this.conn.you ? h("span", { class: "you", text: t("room.people.you") }) : null,
          ),
          p.presence === "connected"
            ? h("span", { class: "visually-hidden", text: t("room.people.here") })
            : h("span", { class: "away-word", "data-test": "away", text: t("room.people.away") }),
          h(
            "span",
            { class: `consent ${p.consented ? "yes" : "no"}`, title: p.consented ? t("room.people.agreed_title") : t("room.people.not_agreed_title") },
            p.consented ? t("room.people.agreed") : t("room.people.not_agreed"),
          ),
        ),
        h(
          "span",
          { class: "person-sub" },
          chips.map((c) => h("span", { class: "chip", text: c })),
          facilitating && spoke > 0 ? h("span", { class: "spoke", text: t("room.people.spoke", { clock: formatClock(spoke) }) }) : null,
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
      setText(r.left, t("room.people.left", { names: formatList(gone.map((p) => p.name)) }));
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
    const buttons = [toggle("timekeeper", t("room.people.make_timekeeper")), toggle("observer", t("room.people.make_observer"))];
    if (p.standing !== "facilitator") buttons.push(toggle("co_facilitator", t("room.people.make_co_facilitator")));
    if (started && !round && !(view.turn.floor && view.turn.floor.participant === p.id)) {
      buttons.push(
        h("button", {
          type: "button",
          class: "secondary small",
          "data-test": "give-floor-to",
          "data-focus": `givep-${p.id}`,
          onclick: (e) => this.act(e.currentTarget, "give_floor", { participant: p.id }),
          text: t("room.floor.give"),
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
          text: t("room.people.remove"),
        }),
      );
    }
    const details = h(
      "details",
      { class: "person-menu", open: this.openMenus.has(p.id) },
      h("summary", { "data-focus": `menu-${p.id}`, "aria-label": t("room.people.manage_named", { name: p.name }) }, t("room.people.manage")),
      h("div", { class: "row wrap" }, buttons),
    );
    details.addEventListener("toggle", () => {
      if (details.open) this.openMenus.add(p.id);
      else this.openMenus.delete(p.id);
    });
    return details;
  }

  async removeParticipant(control, p) {
    const ok = await confirmDialog(
      t("room.people.remove_ask", { name: p.name }),
      t("room.people.remove_confirm"),
      t("room.people.remove_detail"),
    );
    if (ok) await this.act(control, "remove_participant", { participant: p.id });
  }
}

