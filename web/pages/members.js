// A series' member list on the `/host` page: with the series host key (asked here, kept in this
// page only), the host adds members (each new personal link is shown once, to copy), pauses,
// unpauses and removes them, and makes a recognised guest a member. Every change is
// `POST /api/series/{id}/members`; the list is redrawn from its answer.

import { withPrivateKey } from "/crypto.js";
import { h } from "/room.js";
import { serverText, t } from "/words.js";

/** The member list section of series `seriesId`, folded until the host opens it. */
export function membersSection(seriesId) {
  const state = { key: "", links: [] };
  const body = h("div", { class: "members-body" });
  const error = h("p", { class: "error", role: "alert", "data-test": "members-error", hidden: true });
  const keyId = `members-key-${seriesId}`;
  const keyInput = h("input", { id: keyId, type: "password", autocomplete: "off", "data-test": "members-key" });
  const open = h("button", { type: "submit", "data-test": "members-open", text: t("members.host.open") });
  const keyForm = h(
    "form",
    { class: "members-key" },
    h("label", { for: keyId, text: t("members.host.key") }),
    keyInput,
    open,
  );

  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
  };

  /** Sends one request; draws the answer, or says what went wrong. */
  const send = async (fields) => {
    error.hidden = true;
    let answer;
    try {
      const response = await fetch(`/api/series/${encodeURIComponent(seriesId)}/members`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: state.key, ...fields }),
      });
      answer = await response.json();
      if (!response.ok) {
        fail(response.status === 403 ? t("members.host.wrongKey") : serverText(answer.message || ""));
        return false;
      }
    } catch {
      fail(t("members.host.failed"));
      return false;
    }
    // Each new member's link gets its private-items key here, in the host's browser: the
    // server never sees it (see crypto.js).
    state.links = (Array.isArray(answer.links) ? answer.links : []).map((l) => ({ ...l, url: withPrivateKey(String(l.url)) }));
    draw(answer);
    return true;
  };

  const button = (label, test, fields) =>
    h("button", { type: "button", class: "small", "data-test": test, text: label, onclick: () => send(fields) });

  const memberItem = (m) =>
    h(
      "li",
      { "data-member": m.member_id, "data-status": m.status },
      h("span", { class: "member-name", text: m.name }),
      " ",
      h("span", { class: "hint", "data-test": "member-status", text: t(`members.host.status.${m.status}`) }),
      " ",
      m.status === "active" ? button(t("members.host.pause"), "member-pause", { action: "pause", member: m.member_id }) : null,
      m.status === "paused" ? button(t("members.host.unpause"), "member-unpause", { action: "unpause", member: m.member_id }) : null,
      m.status !== "removed" ? button(t("members.host.remove"), "member-remove", { action: "remove", member: m.member_id }) : null,
    );

  const guestItem = (g) =>
    h(
      "li",
      { "data-guest": g.guest_id },
      h("span", { text: g.name }),
      " ",
      g.member_id
        ? h("span", { class: "hint", text: t("members.host.converted") })
        : button(t("members.host.convert"), "guest-convert", { action: "convert", guest: g.guest_id }),
    );

  const linkItem = (l) => {
    const id = `members-link-${seriesId}-${l.member_id}`;
    return h(
      "li",
      {},
      h("label", { for: id, text: t("members.host.linkFor", { name: l.name }) }),
      h("input", { id, type: "text", readonly: true, value: l.url, "data-test": "member-new-link" }),
    );
  };

  const draw = (answer) => {
    const members = Array.isArray(answer.members) ? answer.members : [];
    const guests = Array.isArray(answer.guests) ? answer.guests : [];
    const nameId = `members-add-${seriesId}`;
    const nameInput = h("input", { id: nameId, type: "text", maxlength: "60", autocomplete: "off", "data-test": "member-add-name" });
    const addForm = h(
      "form",
      { class: "members-add" },
      h("label", { for: nameId, text: t("members.host.addName") }),
      nameInput,
      h("button", { type: "submit", "data-test": "member-add", text: t("members.host.add") }),
    );
    addForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const name = nameInput.value.trim();
      if (name) send({ action: "add", names: [name] });
    });
    body.replaceChildren(
      h("ul", { class: "members-list", "data-test": "members-list" }, members.map(memberItem)),
      state.links.length
        ? h("div", {}, h("p", { class: "hint", text: t("members.host.linksOnce") }), h("ul", { "data-test": "member-new-links" }, state.links.map(linkItem)))
        : null,
      addForm,
      guests.length
        ? h("div", {}, h("h4", { text: t("members.host.guests") }), h("ul", { "data-test": "guests-list" }, guests.map(guestItem)))
        : null,
    );
  };

  keyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    state.key = keyInput.value.trim();
    if (!state.key) return;
    if (await send({ action: "list" })) keyForm.hidden = true;
  });

  return h(
    "details",
    { class: "members", "data-test": "series-members" },
    h("summary", { text: t("members.host.title") }),
    h("p", { class: "hint", text: t("members.host.hint") }),
    keyForm,
    error,
    body,
  );
}
