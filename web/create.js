// The open-a-room page: title, format (built-in or pasted JSON), options; then the two links.

import { announce, copyButton, h } from "/room.js";

const INVITE_PREFIX = "circlekeeper.invite.";
const CUSTOM = "custom";

/** The join link this device created for a room (so the console can offer it again). */
export function loadInviteUrl(roomId) {
  try {
    return localStorage.getItem(INVITE_PREFIX + roomId);
  } catch {
    return null;
  }
}

/** Keep the join link on this device for the console, or forget it (`url` null). */
export function saveInviteUrl(roomId, url) {
  try {
    if (url) localStorage.setItem(INVITE_PREFIX + roomId, url);
    else localStorage.removeItem(INVITE_PREFIX + roomId);
  } catch {
    /* not remembered */
  }
}

function minutes(ms) {
  const m = ms / 60000;
  return Number.isInteger(m) ? `${m} min` : `${m.toFixed(1)} min`;
}

const SPEAKING = {
  round: "in a round",
  hand_queue: "raised hands",
  presenter_only: "presenter speaks",
  open: "open floor",
  pairs: "in pairs or triads",
};

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

export function renderCreatePage(root) {
  document.title = "Open a circle · circlekeeper";
  let formats = [];

  const title = h("input", {
    id: "title",
    type: "text",
    "data-test": "create-title",
    maxlength: "500",
    required: true,
    autocomplete: "off",
    placeholder: "Tuesday action learning set",
  });
  const format = h("select", { id: "format", "data-test": "create-format" }, h("option", { value: "", text: "Loading formats…" }));
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
    h("label", { for: "custom", text: "Your format (JSON)" }),
    h("p", { class: "hint", id: "custom-help" }, "A name, a description and stages, as in the protocol's Formats section. ",
      h("button", { type: "button", class: "ghost small", "data-test": "custom-example", onclick: () => fillExample(), text: "Start from an example" })),
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
  const error = h("p", { class: "error", "data-test": "create-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary big", "data-test": "create-submit", text: "Open the room" });

  const titleField = h("div", { class: "field" }, h("label", { for: "title", text: "Title" }), title);
  const formatField = h(
    "div",
    { class: "field" },
    h("label", { for: "format", text: "Format" }),
    format,
    formatInfo,
  );
  const rulesField = h(
    "div",
    { class: "field" },
    h("label", { for: "rules", text: "Ground rules (optional)" }),
    h("p", { class: "hint", id: "rules-help", text: "Leave empty to use the standard confidentiality agreement. Everyone accepts these before taking part." }),
    groundRules,
  );
  const warnField = h(
    "div",
    { class: "field narrow" },
    h("label", { for: "warn", text: "Warn before the end (minutes)" }),
    h("p", { class: "hint", id: "warn-help", text: "Timers turn amber, with a gentle cue, this long before a stage ends." }),
    warn,
  );

  const form = h(
    "form",
    { class: "card create-form", novalidate: true },
    titleField,
    formatField,
    customBox,
    h("fieldset", {}, h("legend", { text: "Options" }), rulesField, warnField),
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
      h("div", {}, h("p", { class: "brand-name", text: "circlekeeper" }), h("p", { class: "hint", text: "Peer coaching circles, kept in time." })),
    ),
    h("h1", { text: "Open a circle" }),
    h("p", {
      class: "lead",
      text:
        "Choose a format and open a room. You get one link to share with the circle and one to keep: " +
        "nobody needs an account, and nothing anyone says is recorded.",
    }),
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
      h("p", { text: f.format.description || "" }),
      h(
        "details",
        {},
        h("summary", {}, `${stages.length} stages · about ${minutes(total)} before repeating per presenter`),
        h(
          "ol",
          { class: "format-stages" },
          stages.map((s) =>
            h(
              "li",
              {},
              h("strong", { text: s.title }),
              ` — ${minutes(s.timebox_ms)}, ${SPEAKING[s.speaking] || s.speaking}${s.per_presenter ? ", once per presenter" : ""}` +
                (s.speaking === "pairs" && s.half_ms
                  ? ` (two halves of ${minutes(s.half_ms)}${s.feedback_ms ? `, each with ${minutes(s.feedback_ms)} of feedback` : ""}, and a switch)`
                  : ""),
            ),
          ),
        ),
      ),
    );
  }

  format.addEventListener("change", showFormatInfo);
  custom.addEventListener("input", () => {
    if (custom.value.trim() && format.value !== CUSTOM) setFormat(CUSTOM);
  });

  function placeError(message, field) {
    error.textContent = message;
    error.hidden = false;
    field.append(error);
  }

  function clearError() {
    error.hidden = true;
    error.textContent = "";
    for (const el of [title, format, custom, groundRules, warn]) el.removeAttribute("aria-invalid");
  }

  /** Shows a refusal next to the field its path names (`format.stages[0]…`, `title`, …). */
  function showServerError(message) {
    const path = message.split(":")[0].trim();
    let field = submit.parentElement;
    let control = null;
    if (path.startsWith("format")) {
      if (format.value === CUSTOM) {
        field = customBox;
        control = custom;
      } else {
        field = formatField;
        control = format;
      }
    } else if (path.startsWith("title")) {
      field = titleField;
      control = title;
    } else if (path.startsWith("options.ground_rules")) {
      field = rulesField;
      control = groundRules;
    } else if (path.startsWith("options.warn_before_ms")) {
      field = warnField;
      control = warn;
    }
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-errormessage", "create-error");
    }
    error.id = "create-error";
    if (field === submit.parentElement) form.insertBefore(error, submit);
    else placeError(message, field);
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
        showServerError(`format: this is not valid JSON (${err.message})`);
        return;
      }
    } else if (!format.value) {
      showServerError("format: choose a format");
      return;
    }
    const options = {};
    if (groundRules.value.trim()) options.ground_rules = groundRules.value;
    const warnMinutes = Number(warn.value);
    if (warn.value.trim() !== "") {
      if (!Number.isFinite(warnMinutes) || warnMinutes < 0 || warnMinutes > 60) {
        showServerError("options.warn_before_ms: give a number of minutes from 0 to 60");
        return;
      }
      options.warn_before_ms = Math.round(warnMinutes * 60000);
    }
    if (Object.keys(options).length) body.options = options;

    submit.disabled = true;
    submit.textContent = "Opening…";
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
        const message = data && data.message ? data.message : `The server answered ${res.status}.`;
        showServerError(message);
        return;
      }
      saveInviteUrl(data.room_id, data.join_url);
      showResult(data, body);
    } catch {
      showServerError("Could not reach the server. Check your connection and try again.");
    } finally {
      submit.disabled = false;
      submit.textContent = "Open the room";
    }
  });

  function showResult(data, body) {
    const joinCode = h("code", { class: "link", "data-test": "join-link", text: data.join_url });
    const hostCode = h("code", { class: "link", "data-test": "host-link", text: data.host_url });
    result.replaceChildren(
      h("h2", { id: "result-title", tabindex: "-1", text: "Your circle is open" }),
      h("p", { class: "lead", text: `“${title.value.trim()}” is ready.` }),
      h(
        "div",
        { class: "link-box" },
        h("h3", { text: "Join link — share this with the circle" }),
        h("p", { class: "hint", text: "Anyone with this link can join as a participant." }),
        joinCode,
        h("div", { class: "row" }, copyButton(() => data.join_url, "Copy join link", "copy-join")),
      ),
      h(
        "div",
        { class: "link-box private" },
        h("h3", { text: "Host link — keep this private" }),
        h("p", { class: "private-note", text: "Keep this private: it makes whoever opens it a facilitator." }),
        hostCode,
        h("div", { class: "row" }, copyButton(() => data.host_url, "Copy host link", "copy-host")),
      ),
      h(
        "div",
        { class: "row wrap" },
        h("button", {
          type: "button",
          class: "primary big",
          "data-test": "open-host",
          onclick: () => location.assign(data.host_url),
          text: "Open the room as facilitator",
        }),
        h("button", {
          type: "button",
          class: "ghost",
          onclick: () => {
            result.hidden = true;
            form.hidden = false;
            title.focus();
          },
          text: "Open another room",
        }),
      ),
    );
    form.hidden = true;
    result.hidden = false;
    result.querySelector("h2").focus();
    announce("Your circle is open. Share the join link; keep the host link private.");
    void body;
  }

  // Built-in formats, in picker order.
  fetch("/api/formats", { headers: { accept: "application/json" } })
    .then((res) => (res.ok ? res.json() : Promise.reject(new Error(String(res.status)))))
    .then((list) => {
      formats = list;
      format.replaceChildren(
        ...list.map((f) => h("option", { value: f.id, text: f.format.name })),
        h("option", { value: CUSTOM, text: "Custom format (paste JSON)…" }),
      );
      showFormatInfo();
    })
    .catch(() => {
      format.replaceChildren(h("option", { value: CUSTOM, text: "Custom format (paste JSON)…" }));
      formatInfo.replaceChildren(h("p", { class: "error", text: "Could not load the built-in formats; you can paste a custom one." }));
      showFormatInfo();
    });

  title.focus();
}
