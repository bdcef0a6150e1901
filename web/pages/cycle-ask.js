// The end-of-cycle question in the room: when a member enters a session with their personal
// link and the series asks them about a cycle that has ended, a dialog on their own screen (and
// nobody else's) asks them to continue, rematch or stop, reminding them of their earlier choices.
// Their answer is `POST /api/series/{id}/me` with `choice`, as on their page; "Later" leaves it.

import { announce, h } from "/room.js";
import { t } from "/words.js";

const CHOICES = ["continue", "rematch", "end"];

/** Asks the member with `key` in `seriesId`, if the series asks them now. Never throws. */
export async function askCycle(seriesId, key) {
  if (!seriesId || !key || document.querySelector('[data-test="cycle-dialog"]')) return;
  const post = async (body) => {
    const response = await fetch(`/api/series/${encodeURIComponent(seriesId)}/me`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key, ...body }),
    });
    return response.ok ? response.json() : null;
  };
  let view;
  try {
    view = await post({});
  } catch {
    return;
  }
  const cycle = view && view.cycle;
  if (!cycle || !Number.isInteger(cycle.asking)) return;
  const previous = (Array.isArray(cycle.previous) ? cycle.previous : []).filter(
    (p) => Array.isArray(p) && CHOICES.includes(p[1]),
  );
  const status = h("p", { class: "hint", role: "status", "data-test": "cycle-dialog-status" });
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "cycle-dialog-title", "data-test": "cycle-dialog" },
    h("h2", { id: "cycle-dialog-title", text: t("members.cycle.asking", { cycle: cycle.asking }) }),
    previous.length
      ? h(
          "ul",
          { "aria-label": t("members.cycle.previousTitle") },
          previous.map(([n, choice]) =>
            h("li", { text: t("members.cycle.previousItem", { cycle: n, choice: t(`pages.member.choice.${choice}.label`) }) }),
          ),
        )
      : null,
    h(
      "div",
      { class: "row end" },
      ...CHOICES.map((choice) =>
        h("button", { type: "button", class: "secondary", value: choice, "data-test": "cycle-dialog-choice", text: t(`pages.member.choice.${choice}.label`) }),
      ),
      h("button", { type: "button", class: "primary", value: "", "data-test": "cycle-dialog-later", text: t("members.cycle.later") }),
    ),
    status,
  );
  const close = () => {
    if (dialog.open) dialog.close();
    dialog.remove();
  };
  dialog.addEventListener("cancel", (e) => {
    e.preventDefault();
    close();
  });
  dialog.addEventListener("click", async (e) => {
    const btn = e.target.closest("button");
    if (!btn) return;
    if (!btn.value) return close();
    let saved = null;
    try {
      saved = await post({ choice: btn.value });
    } catch {
      saved = null;
    }
    if (saved) {
      close();
      announce(t("pages.member.choiceSaved"));
    } else {
      status.textContent = t("pages.member.choiceFailed");
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector('[data-test="cycle-dialog-later"]').focus();
}
