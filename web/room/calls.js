// Call links: the room's call link everyone sees, "Join your pair's call" in the pair view, and
// the console's small form where a facilitator sets the room's link and the groups' links (a
// template or a pasted list). The server checks every link; this module still makes a link only
// from an address it would accept itself (`https://`, or `http://` to this machine), so no
// `javascript:` address can ever become a link, and every link opens in a new tab without
// handing this page to the call's site (`rel="noopener noreferrer"`).

import { actionButton, announce, h, setText, show } from "/dom.js";
import { t } from "/words.js";

const SAFE = /^(https:\/\/[a-z0-9.-]+(:[0-9]{1,5})?|http:\/\/(localhost|127\.0\.0\.1)(:[0-9]{1,5})?)([/?#][^\s"'<>\\^`{|}]*)?$/i;

/** `url` when it is an address a call link may open, else null. */
export function safeCallUrl(url) {
  return typeof url === "string" && url.length <= 500 && SAFE.test(url) ? url : null;
}

/** A link that opens a call in a new tab (hidden until it has a safe address). */
export function callLink(test) {
  return h("a", {
    class: "button-link call-link",
    "data-test": test,
    target: "_blank",
    rel: "noopener noreferrer",
    hidden: true,
  });
}

/** Points `link` at `url` with `label`, or hides it (and drops its address) when `url` is not safe. */
export function setCallLink(link, url, label) {
  const safe = safeCallUrl(url);
  if (safe) {
    if (link.getAttribute("href") !== safe) link.setAttribute("href", safe);
    setText(link, label);
  } else {
    link.removeAttribute("href");
  }
  show(link, Boolean(safe));
}

/** The links as the console's form holds them, for `set_call_links`. */
function formFields(r) {
  const fields = {};
  const room = r.callRoomInput.value.trim();
  const template = r.callTemplateInput.value.trim();
  const list = r.callListInput.value
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  if (room) fields.call_url = room;
  if (template) fields.group_call_template = template;
  if (list.length) fields.group_call_urls = list;
  return fields;
}

/** Call links in the room. Mixed into RoomScreen: `this` is the screen (its context). */
export class CallsView {
  /** The room's call link, the pair's call link and the console's call links form. */
  buildCalls() {
    const r = this.r;
    r.roomCall = callLink("room-call");
    r.roomCallLine = h("p", { class: "call-line", "data-test": "room-call-line", hidden: true }, r.roomCall);
    r.pairCall = callLink("pair-call");

    const input = (id, test, type, label, hint) => {
      const control = h("input", { id, type, "data-test": test, autocomplete: "off", spellcheck: "false", maxlength: "500" });
      if (hint) control.setAttribute("aria-describedby", `${id}-help`);
      return {
        control,
        field: h(
          "div",
          { class: "field" },
          h("label", { for: id, text: label }),
          hint ? h("p", { class: "hint", id: `${id}-help`, text: hint }) : null,
          control,
        ),
      };
    };
    const room = input("call-room", "call-room-input", "url", t("calls.form.room"), t("calls.form.room_hint"));
    const template = input("call-template", "call-template-input", "text", t("calls.form.template"), t("calls.form.template_hint"));
    r.callRoomInput = room.control;
    r.callTemplateInput = template.control;
    r.callListInput = h("textarea", {
      id: "call-list",
      rows: "3",
      "data-test": "call-list-input",
      spellcheck: "false",
      "aria-describedby": "call-list-help",
    });
    r.callsSaved = h("p", { class: "notice", role: "status", "data-test": "calls-saved", hidden: true });
    r.callsSave = actionButton("calls-save", t("calls.form.save"), (e) => this.saveCalls(e.currentTarget));
    r.callsSection = h(
      "section",
      { class: "panel-section", "data-test": "calls" },
      h("h2", { text: t("calls.form.title") }),
      room.field,
      template.field,
      h(
        "div",
        { class: "field" },
        h("label", { for: "call-list", text: t("calls.form.list") }),
        h("p", { class: "hint", id: "call-list-help", text: t("calls.form.list_hint") }),
        r.callListInput,
      ),
      h("div", { class: "row" }, r.callsSave),
      r.callsSaved,
    );
    // The form shows the room's links as they are until someone edits it.
    this.callsFilled = null;
  }

  /** The room's link for everyone; the console's form with the room's links as they are. */
  renderCalls({ facilitating, ended }) {
    const r = this.r;
    const view = this.view;
    setCallLink(r.roomCall, ended ? null : view.call_url, t("calls.join_room"));
    show(r.roomCallLine, !r.roomCall.hidden);
    show(r.callsSection, facilitating && !ended);
    if (!facilitating) return;
    const current = JSON.stringify([view.call_url || "", view.group_call_template || "", view.group_call_urls || []]);
    const editing = r.callsSection.contains(document.activeElement);
    if (current !== this.callsFilled && !editing) {
      this.callsFilled = current;
      r.callRoomInput.value = view.call_url || "";
      r.callTemplateInput.value = view.group_call_template || "";
      r.callListInput.value = (view.group_call_urls || []).join("\n");
    }
  }

  /** "Join your pair's call" (or triad's) in the pair view, when the group has a link. */
  renderPairCall(group) {
    const label = group && group.members.length === 3 ? t("calls.join_triad") : t("calls.join_pair");
    setCallLink(this.r.pairCall, group ? group.call_url : null, label);
  }

  async saveCalls(button) {
    const r = this.r;
    show(r.callsSaved, false);
    const ack = await this.act(button, "set_call_links", formFields(r));
    if (!ack) return;
    this.callsFilled = null;
    setText(r.callsSaved, t("calls.form.saved"));
    show(r.callsSaved, true);
    announce(t("calls.form.saved"));
  }
}
