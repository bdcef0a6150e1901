// Form fields for what people write (commitments, feedback, the survey) and the words around them.

import { h } from "/dom.js";
import { t } from "/words.js";

/** Stages in which the server takes a commitment (src/room/state/notes.rs). */
export const COMMITMENT_KINDS = new Set(["reflection", "commitment", "pairs", "feedback", "check_out"]);

/** How a commitment went: the review's answers, in order. */
export const OUTCOMES = ["kept", "partly", "not", "changed"];

/** A review button's visible label ("Partly"). */
export function outcomeLabel(outcome) {
  return t(`room.notes.outcome.${outcome}.label`);
}

/** "Partly kept": a review button's full name, which begins with its visible label. */
export function outcomeName(outcome) {
  return t(`room.notes.outcome.${outcome}.name`);
}

/** How a commitment went, in a few words ("partly kept"). */
export function outcomeWords(outcome) {
  return OUTCOMES.includes(outcome) ? t(`room.notes.outcome.${outcome}.words`) : t("room.notes.outcome.none");
}

/** Who sees an item, said after it is saved. */
export function visibilityWords(visibility) {
  if (visibility === "circle") return t("room.notes.visibility.circle_words");
  if (visibility === "exportable") return t("room.notes.visibility.exportable_words");
  return t("room.notes.visibility.private_words");
}

/**
 * Who may see what I write: three radio options, each explained, "Only me" unless I choose
 * otherwise. `details` says what each means for this kind of item.
 */
export function visibilityField(prefix, test, legend, details) {
  const options = [
    ["private", t("room.notes.visibility.private")],
    ["circle", t("room.notes.visibility.circle")],
    ["exportable", t("room.notes.visibility.exportable")],
  ];
  const inputs = [];
  const el = h(
    "fieldset",
    { class: "choices visibility" },
    h("legend", { text: legend }),
    options.map(([value, label]) => {
      const id = `${prefix}-${value}`;
      const input = h("input", {
        type: "radio",
        name: prefix,
        id,
        value,
        "data-test": test,
        "aria-describedby": `${id}-detail`,
        checked: value === "private",
      });
      inputs.push(input);
      return h(
        "label",
        { class: "choice", for: id },
        input,
        h(
          "span",
          { class: "choice-text" },
          h("span", { class: "choice-label", text: label }),
          h("span", { class: "choice-detail", id: `${id}-detail`, text: details[value] }),
        ),
      );
    }),
  );
  return {
    el,
    get value() {
      const chosen = inputs.find((i) => i.checked);
      return chosen ? chosen.value : "private";
    },
    set value(v) {
      for (const i of inputs) i.checked = i.value === (v || "private");
    },
  };
}

/** A rating from 1 to 5: five radio buttons in a row, the ends explained. */
export function ratingField(prefix, test, legend, low, high) {
  const inputs = [];
  const scale = h(
    "span",
    { class: "rating-scale", id: `${prefix}-scale` },
    h("span", { text: t("room.notes.rating_end", { n: 1, words: low }) }),
    h("span", { text: t("room.notes.rating_end", { n: 5, words: high }) }),
  );
  const el = h(
    "fieldset",
    { class: "rating", "aria-describedby": `${prefix}-scale` },
    h("legend", { text: legend }),
    h(
      "span",
      { class: "rating-options" },
      [1, 2, 3, 4, 5].map((n) => {
        const id = `${prefix}-${n}`;
        const input = h("input", { type: "radio", name: prefix, id, value: String(n), "data-test": test });
        inputs.push(input);
        return h("label", { class: "rate", for: id }, input, h("span", { text: String(n) }));
      }),
    ),
    scale,
  );
  return {
    el,
    first: inputs[0],
    get value() {
      const chosen = inputs.find((i) => i.checked);
      return chosen ? Number(chosen.value) : null;
    },
    set value(v) {
      for (const i of inputs) i.checked = v !== null && v !== undefined && Number(i.value) === v;
    },
  };
}

/** What a person typed, as the server takes it: no tabs or other control characters but newlines. */
export function cleanText(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\t/g, " ").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "").trim();
}

/** A labelled multi-line text field. */
export function textField(
id, test, label, help = "", rows = 3) {
  const input = h("textarea", {
    id,
    class: "prose",
    rows: String(rows),
    maxlength: "500",
    "data-test": test,
    "aria-describedby": help ? `${id}-help` : null,
  });
  const el = h(
    "div",
    { class: "field" },
    h("label", { for: id, text: label }),
    help ? h("p", { class: "hint", id: `${id}-help`, text: help }) : null,
    input,
  );
  return { el, input };
}

// ---------------------------------------------------------------------------------------------
// The room screen.
