// Acting: sending a command from a control and showing the server's refusal next to it.

import { h, show } from "/dom.js";
import { errorText, t } from "/words.js";

/** Sending commands and showing refusals. Mixed into RoomScreen: `this` is the screen (its context). */
export class ActView {
  /** The line that says why a command was refused, placed next to its control. */
  buildError() {
    this.r.error = h("p", { class: "error", "data-test": "error", role: "alert", hidden: true });
  }

  /** Sends a command from `control`; shows the server's refusal near it. */
  async act(control, type, fields = {}) {
    this.clearError();
    // Disabling the control while it waits takes the focus off it: note where the focus was
    // (by element and `data-focus` key) to give it back, or to a sensible neighbour, after.
    const focused = document.activeElement;
    const hadFocus = focused && focused !== document.body && this.root.contains(focused) ? focused : null;
    const focusKey = hadFocus && hadFocus.dataset ? hadFocus.dataset.focus || null : null;
    if (control) {
      control.disabled = true;
      control.setAttribute("aria-busy", "true");
    }
    try {
      const ack = await this.conn.send(type, fields);
      return ack || true;
    } catch (err) {
      this.showError(err, control, type);
      return false;
    } finally {
      if (control) {
        control.removeAttribute("aria-busy");
        control.disabled = false;
        this.update();
      }
      if (hadFocus) this.keepFocus(hadFocus, focusKey, control);
    }
  }

  /**
   * After an action: the focus stays on the control that had it (found again by its
   * `data-focus` key when a list was rebuilt), or, when it is gone, hidden or disabled, moves to
   * the control it names as taking its place (`data-focus-next`), else to the moment's primary
   * button, else to another control in the same section, else to the main region. Never to
   * the page body.
   */
  keepFocus(was, key, control) {
    const usable = (el) =>
      Boolean(el) && el.isConnected && !el.disabled && !el.closest("[hidden]") && el.getClientRects().length > 0;
    const active = document.activeElement;
    if (active && active !== document.body && this.root.contains(active) && usable(active)) return;
    const again = key ? this.root.querySelector(`[data-focus="${CSS.escape(key)}"]`) : null;
    // A control that gives way to another (Pause to Resume) names it.
    const partnerKey = was.dataset ? was.dataset.focusNext : null;
    const partner = partnerKey ? this.root.querySelector(`[data-focus="${CSS.escape(partnerKey)}"]`) : null;
    const section = (control || was).isConnected ? (control || was).closest("section, aside") : null;
    const candidates = [
      again,
      was,
      partner,
      ...this.root.querySelectorAll(".centre button.primary"),
      ...(section ? section.querySelectorAll("button, summary, [tabindex='0']") : []),
    ];
    const next = candidates.find(usable);
    (next || this.r.main).focus({ preventScroll: true });
  }

  clearError() {
    this.errorPlace = null;
    show(this.r.error, false);
    this.r.error.textContent = "";
  }

  /** Shows a refusal near `control`; `plain` shows `err.message` as it is (a form's own check). */
  showError(err, control, type, plain = false) {
    const r = this.r;
    const what = ACTIONS.has(type) ? t(`room.action.${type}`) : t("room.action.unknown");
    let message = err && err.message ? err.message : t("room.error.unknown");
    if (err && err.code && !plain) message = errorText(err.code, err.message);
    r.error.replaceChildren(
      h("span", { text: plain ? message : t("room.error.failed", { what, message }) }),
      h("button", {
        type: "button",
        class: "ghost small",
        // The name begins with the visible label.
        "aria-label": t("room.error.dismiss"),
        onclick: () => this.clearError(),
        text: t("room.error.ok"),
      }),
    );
    r.error.dataset.code = err && err.code ? err.code : "";
    this.errorPlace = {
      key: control && control.dataset ? control.dataset.focus || null : null,
      control,
    };
    this.placeError();
    show(r.error, true);
  }

  /**
   * Puts the error message next to the control that caused it. Lists are rebuilt on every
   * event, so a control inside one is found again by its `data-focus` key after each render.
   */
  placeError() {
    const r = this.r;
    if (r.error.hidden && !this.errorPlace) return;
    const place = this.errorPlace || {};
    let control = null;
    if (place.key) control = this.root.querySelector(`[data-focus="${CSS.escape(place.key)}"]`);
    if (!control && place.control && place.control.isConnected) control = place.control;
    const item = control ? control.closest("li") : null;
    if (item) {
      if (r.error.parentElement !== item) item.append(r.error);
      return;
    }
    const anchor =
      (control && control.closest("section.controls, .actions, .panel-section, .stages-panel, .prompt-card, form")) ||
      r.actions;
    if (anchor.matches(".panel-section, .stages-panel")) {
      if (r.error.parentElement !== anchor) anchor.append(r.error);
    } else if (anchor.nextElementSibling !== r.error) {
      anchor.after(r.error);
    }
  }
}

/** The commands whose failure is said in words ("Raising your hand did not work: …"). */
const ACTIONS = new Set([
  "raise_hand",
  "lower_hand",
  "pass",
  "done",
  "draw_prompt",
  "start",
  "next_stage",
  "previous_stage",
  "jump_to_stage",
  "pause",
  "resume_session",
  "end_session",
  "adjust_timer",
  "give_floor",
  "take_floor",
  "next_turn",
  "set_presenter_order",
  "shuffle_presenters",
  "assign_role",
  "unassign_role",
  "remove_participant",
  "push_prompt",
  "clear_prompt",
  "delete_room",
  "rotate_link",
  "revoke_link",
  "leave",
  "propose_pairs",
  "swap_people",
  "lock_group",
  "confirm_pairs",
  "end_half",
  "confirm_switch",
  "move_everyone",
  "place_late",
  "record_commitment",
  "review_commitment",
  "give_feedback",
  "answer_survey",
  "my_items",
]);
