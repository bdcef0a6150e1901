// The home page, `/`: opening a room (a title, a format — built-in or pasted JSON — and options),
// then the room's two links. A language switch draws the page again with what was typed.

import { announce, copyButton, h } from "/room.js";
import { errorText, formatNumber, languageSwitch, serverText, t } from "/words.js";
import { saveInviteUrl } from "/storage.js";
import { app, onRedraw, setTitle } from "/pages/shell.js";

const CUSTOM = "custom";
const SPEAKING = ["round", "hand_queue", "presenter_only", "open", "pairs"];

/** `ms` in minutes, as the format picker says it ("5 min", "1.5 min"). */
function minutes(ms) {
  return t("pages.create.minutes", { m: formatNumber(ms / 60000, { maximumFractionDigits: 1 }) });
}

const EXAMPLE_FORMAT = {
  name: "Triad practice",
  description: "Each of us presents once; the others coach.",
  stages: [
    { kind: "check_in", title: "Check-in", timebox_ms: 300000, speaking: "round", per_speaker_ms: 60000 },
    { kind: "presentation", title: "Presentation", timebox_ms: 300000, speaking: "presenter_only", roles: ["presenter"], per_presenter: true },
    { kind: "coaching_questions", title: "Coaching questions", purpose: "Open questions, no advice.", timebox_ms: 900000, speaking: "hand_queue", per_speaker_ms: 120000, roles: ["presenter", "coach"], per_presenter: true },
    { kind: "check_out", title: "Check-out", timebox_ms: 300000, speaking: "round", per_speaker_ms: 60000 },
  ],
};

/** The built-in formats, fetched once per page load (a failure is tried again next time). */
let formatsRequest = null;
function builtInFormats() {
  if (!formatsRequest) {
    formatsRequest = fetch("/api/formats", { headers: { accept: "application/json" } }).then((res) =>
      res.ok ? res.json() : Promise.reject(new Error(String(res.status))),
    );
    formatsRequest.catch(() => {
      formatsRequest = null;
    });
  }
  return formatsRequest;
}

/** One stage of a format, as the picker lists it. */
function stageLine(s) {
  const speaking = SPEAKING.includes(s.speaking) ? t(`pages.create.speaking.${s.speaking}`) : s.speaking;
  let line = t(s.per_presenter ? "pages.create.stagePerPresenter" : "pages.create.stage", { time: minutes(s.timebox_ms), speaking });
  if (s.speaking === "pairs" && s.half_ms) {
    line += s.feedback_ms
      ? t("pages.create.halvesFeedback", { half: minutes(s.half_ms), feedback: minutes(s.feedback_ms) })
      : t("pages.create.halves", { half: minutes(s.half_ms) });
  }
  return line;
}

/** A field: its label, an optional hint (`id` for `aria-describedby`) and its control. */
function field(cls, id, label, hint, ...controls) {
  return h(
    "div",
    { class: cls },
    h("label", { for: id, text: label }),
    hint ? h("p", { class: "hint", id: `${id}-help`, text: hint }) : null,
    ...controls,
  );
}

/** Renders the home page into `root`; after a language switch, again with what was typed. */
export function renderCreatePage(root) {
  app.screen = "create";
  let kept = null;
  let shown = null;
  const draw = () => {
    shown = drawCreatePage(root, kept);
  };
  onRedraw(() => {
    kept = shown ? shown.state() : null;
    draw();
  });
  draw();
}

function drawCreatePage(root, kept) {
  setTitle(t("pages.create.title"));
  let formats = [];
  let opened = kept ? kept.opened : null;

  const title = h("input", {
    id: "title",
    type: "text",
    "data-test": "create-title",
    maxlength: "500",
    required: true,
    autocomplete: "off",
    placeholder: t("pages.create.titlePlaceholder"),
  });
  const format = h("select", { id: "format", "data-test": "create-format" }, h("option", { value: "", text: t("pages.create.formatsLoading") }));
  const formatInfo = h("div", { class: "format-info", "aria-live": "polite" });
  const custom = h("textarea", {
    id: "custom",
    "data-test": "create-custom",
    rows: "12",
    spellcheck: "false",
    autocapitalize: "off",
    "aria-describedby": "custom-help",
    placeholder: JSON.stringify(EXAMPLE_FORMAT, null, 2),
  });
  const customBox = h(
    "div",
    { class: "field custom-box", hidden: true },
    h("label", { for: "custom", text: t("pages.create.custom") }),
    h("p", { class: "hint", id: "custom-help" }, t("pages.create.customHelp"),
      h("button", { type: "button", class: "ghost small", "data-test": "custom-example", onclick: () => fillExample(), text: t("pages.create.example") })),
    custom,
  );
  const groundRules = h("textarea", {
    id: "rules",
    rows: "4",
    maxlength: "4000",
    "data-test": "create-ground-rules",
    "aria-describedby": "rules-help",
  });
  const warn = h("input", {
    id: "warn",
    type: "number",
    min: "0",
    max: "60",
    step: "0.5",
    value: "1",
    inputmode: "decimal",
    "data-test": "create-warn",
    "aria-describedby": "warn-help",
  });
  const callUrl = h("input", {
    id: "call-url",
    type: "url",
    maxlength: "500",
    autocomplete: "off",
    spellcheck: "false",
    "data-test": "create-call-url",
    "aria-describedby": "call-url-help",
    placeholder: "https://",
  });
  const error = h("p", { class: "error", "data-test": "create-error", role: "alert", hidden: true });
  const submitText = t("pages.create.submit");
  const submit = h("button", { type: "submit", class: "primary big", "data-test": "create-submit", text: submitText });

  const titleField = field("field", "title", t("pages.create.titleLabel"), null, title);
  const formatField = field("field", "format", t("pages.create.format"), null, format, formatInfo);
  const rulesField = field("field", "rules", t("pages.create.rules"), t("pages.create.rulesHelp"), groundRules);
  const warnField = field("field narrow", "warn", t("pages.create.warn"), t("pages.create.warnHelp"), warn);
  const callField = field("field", "call-url", t("calls.create.label"), t("calls.create.hint"), callUrl);

  const form = h(
    "form",
    { class: "card create-form", novalidate: true },
    titleField,
    formatField,
    customBox,
    h("fieldset", {}, h("legend", { text: t("pages.create.options") }), rulesField, warnField, callField),
    submit,
  );

  const result = h("section", { class: "card result", hidden: true, "aria-labelledby": "result-title" });

  const main = h(
    "main",
    { class: "create", id: "main" },
    h(
      "header",
      { class: "create-head" },
      h("img", { src: "/icon.svg", alt: "", width: "40", height: "40" }),
      h("div", {}, h("p", { class: "brand-name", text: "circlekeeper" }), h("p", { class: "hint", text: t("pages.create.tagline") })),
      languageSwitch(h),
    ),
    h("h1", { text: t("pages.create.title") }),
    h("p", { class: "lead", text: t("pages.create.lead") }),
    form,
    result,
  );
  root.replaceChildren(main);

  function fillExample() {
    const selected = formats.find((f) => f.id === format.value);
    custom.value = JSON.stringify(selected ? selected.format : EXAMPLE_FORMAT, null, 2);
    setFormat(CUSTOM);
    custom.focus();
  }

  function setFormat(value) {
    format.value = value;
    showFormatInfo();
  }

  function showFormatInfo() {
    const isCustom = format.value === CUSTOM;
    customBox.hidden = !isCustom;
    const f = formats.find((x) => x.id === format.value);
    if (!f) {
      formatInfo.replaceChildren();
      return;
    }
    const stages = f.format.stages;
    const total = stages.reduce((sum, s) => sum + s.timebox_ms, 0);
    formatInfo.replaceChildren(
      h("p", { text: serverText(f.format.description || "") }),
      h(
        "details",
        {},
        h("summary", {}, t("pages.create.stages", { count: stages.length, time: minutes(total) })),
        h(
          "ol",
          { class: "format-stages" },
          stages.map((s) => h("li", {}, h("strong", { text: serverText(s.title) }), stageLine(s))),
        ),
      ),
    );
  }

  format.addEventListener("change", showFormatInfo);
  custom.addEventListener("input", () => {
    if (custom.value.trim() && format.value !== CUSTOM) setFormat(CUSTOM);
  });

  function placeError(message, place) {
    error.textContent = message;
    error.hidden = false;
    place.append(error);
  }

  function clearError() {
    error.hidden = true;
    error.textContent = "";
    for (const el of [title, format, custom, groundRules, warn, callUrl]) el.removeAttribute("aria-invalid");
  }

  /**
   * Shows a refusal next to the field its path names (`format.stages[0]…`, `title`, …): the
   * server's message starts with the path; a check here gives the path and its own words.
   */
  function showServerError(message, path = message.split(":")[0].trim()) {
    let place = submit.parentElement;
    let control = null;
    if (path.startsWith("format")) {
      if (format.value === CUSTOM) {
        place = customBox;
        control = custom;
      } else {
        place = formatField;
        control = format;
      }
    } else if (path.startsWith("title")) {
      place = titleField;
      control = title;
    } else if (path.startsWith("options.ground_rules")) {
      place = rulesField;
      control = groundRules;
    } else if (path.startsWith("options.warn_before_ms")) {
      place = warnField;
      control = warn;
    } else if (path.startsWith("options.call_url")) {
      place = callField;
      control = callUrl;
    }
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-errormessage", "create-error");
    }
    error.id = "create-error";
    if (place === submit.parentElement) form.insertBefore(error, submit);
    else placeError(message, place);
    error.textContent = message;
    error.hidden = false;
    if (control) control.focus();
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearError();
    const body = { title: title.value, format: format.value };
    if (format.value === CUSTOM) {
      try {
        body.format = JSON.parse(custom.value);
      } catch (err) {
        showServerError(t("pages.create.badJson", { error: err.message }), "format");
        return;
      }
    } else if (!format.value) {
      showServerError(t("pages.create.chooseFormat"), "format");
      return;
    }
    const options = {};
    if (groundRules.value.trim()) options.ground_rules = groundRules.value;
    const warnMinutes = Number(warn.value);
    if (warn.value.trim() !== "") {
      if (!Number.isFinite(warnMinutes) || warnMinutes < 0 || warnMinutes > 60) {
        showServerError(t("pages.create.badWarn"), "options.warn_before_ms");
        return;
      }
      options.warn_before_ms = Math.round(warnMinutes * 60000);
    }
    if (callUrl.value.trim()) options.call_url = callUrl.value.trim();
    if (Object.keys(options).length) body.options = options;

    submit.disabled = true;
    submit.textContent = t("pages.create.opening");
    try {
      const res = await fetch("/api/rooms", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
      });
      let data = null;
      try {
        data = await res.json();
      } catch {
        data = null;
      }
      if (!res.ok) {
        showServerError(data && data.message ? errorText(data.code, data.message) : t("pages.create.serverAnswered", { status: String(res.status) }));
        return;
      }
      saveInviteUrl(data.room_id, data.join_url);
      opened = { data, title: title.value.trim() };
      showResult(true);
    } catch {
      showServerError(t("pages.create.unreachable"));
    } finally {
      submit.disabled = false;
      submit.textContent = submitText;
    }
  });

  function showResult(now) {
    const { data } = opened;
    const joinCode = h("code", { class: "link", "data-test": "join-link", text: data.join_url });
    const hostCode = h("code", { class: "link", "data-test": "host-link", text: data.host_url });
    result.replaceChildren(
      h("h2", { id: "result-title", tabindex: "-1", text: t("pages.create.open") }),
      h("p", { class: "lead", text: t("pages.create.ready", { title: opened.title }) }),
      h(
        "div",
        { class: "link-box" },
        h("h3", { text: t("pages.create.joinTitle") }),
        h("p", { class: "hint", text: t("pages.create.joinHint") }),
        joinCode,
        h("div", { class: "row" }, copyButton(() => data.join_url, t("pages.create.copyJoin"), "copy-join")),
      ),
      h(
        "div",
        { class: "link-box private" },
        h("h3", { text: t("pages.create.hostTitle") }),
        h("p", { class: "private-note", text: t("pages.create.hostNote") }),
        hostCode,
        h("div", { class: "row" }, copyButton(() => data.host_url, t("pages.create.copyHost"), "copy-host")),
      ),
      h(
        "div",
        { class: "row wrap" },
        h("button", {
          type: "button",
          class: "primary big",
          "data-test": "open-host",
          onclick: () => location.assign(data.host_url),
          text: t("pages.create.openHost"),
        }),
        h("button", {
          type: "button",
          class: "ghost",
          onclick: () => {
            opened = null;
            result.hidden = true;
            form.hidden = false;
            title.focus();
          },
          text: t("pages.create.another"),
        }),
      ),
    );
    form.hidden = true;
    result.hidden = false;
    if (now) {
      result.querySelector("h2").focus();
      announce(t("pages.create.announceOpen"));
    }
  }

  // What was typed before a language switch.
  if (kept) {
    title.value = kept.title;
    custom.value = kept.custom;
    groundRules.value = kept.rules;
    warn.value = kept.warn;
    callUrl.value = kept.callUrl || "";
    if (opened) showResult(false);
  }

  const listFormats = (list) => {
    formats = list;
    format.replaceChildren(
      ...list.map((f) => h("option", { value: f.id, text: serverText(f.format.name) })),
      h("option", { value: CUSTOM, text: t("pages.create.customOption") }),
    );
    if (kept && kept.format && [...format.options].some((o) => o.value === kept.format)) format.value = kept.format;
    showFormatInfo();
  };
  builtInFormats()
    .then(listFormats)
    .catch(() => {
      format.replaceChildren(h("option", { value: CUSTOM, text: t("pages.create.customOption") }));
      formatInfo.replaceChildren(h("p", { class: "error", text: t("pages.create.formatsFailed") }));
      showFormatInfo();
    });

  if (!kept) title.focus();
  return {
    /** What was typed, to draw the page again with it. */
    state: () => ({
      title: title.value,
      format: format.value,
      custom: custom.value,
      rules: groundRules.value,
      warn: warn.value,
      callUrl: callUrl.value,
      opened,
    }),
  };
}
