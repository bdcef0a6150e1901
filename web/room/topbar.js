// The top bar: room title, format, connection state and the sound switch. Its words follow the
// reader's language: a switch re-renders them.

import { h } from "/dom.js";
import { onLanguageChange, serverText, t } from "/words.js";
import { chime, setSoundEnabled, soundEnabled } from "/room/sound.js";

/** `live`, `reconnecting` or `offline`: the connection state a page shows (`data-state`). */
export function connectionLabel(status) {
  if (status === "live") return "live";
  if (status === "reconnecting" || status === "connecting") return "reconnecting";
  return "offline";
}

/** The top bar: room title, connection state, sound switch. */
export function topBar() {
  const title = h("span", { class: "room-title" });
  const format = h("span", { class: "room-format" });
  const stateText = h("span", { "data-test": "connection-state", text: t("common.connection.offline") });
  const state = h(
    "span",
    { class: "conn", "data-state": "offline", role: "status" },
    h("span", { class: "dot", "aria-hidden": "true" }),
    stateText,
  );
  const soundState = h("span", { class: "sound-state" });
  const soundLabel = h("span", { class: "sound-label" });
  // The button's name is its visible text ("Sound on"); the longer purpose is its description.
  const sound = h(
    "button",
    {
      type: "button",
      class: "ghost sound",
      "aria-pressed": soundEnabled() ? "true" : "false",
      "data-test": "sound-toggle",
      onclick: () => {
        const on = sound.getAttribute("aria-pressed") !== "true";
        setSoundEnabled(on);
        sound.setAttribute("aria-pressed", on ? "true" : "false");
        soundState.textContent = on ? t("room.sound.on") : t("room.sound.off");
        if (on) chime();
      },
    },
    soundLabel,
    h("span", { "aria-hidden": "true", class: "sound-note", text: "♪ " }),
    soundState,
  );
  const el = h(
    "header",
    { class: "topbar" },
    h(
      "div",
      { class: "brand" },
      h("img", { src: "/icon.svg", alt: "", width: "28", height: "28" }),
      h("span", { class: "titles" }, title, format),
    ),
    h("div", { class: "bar-right" }, state, sound),
  );
  let shown = { roomTitle: null, formatName: null, status: null };
  const words = () => {
    sound.title = t("room.sound.purpose");
    soundLabel.textContent = `${t("room.sound.label")} `;
    soundState.textContent = sound.getAttribute("aria-pressed") === "true" ? t("room.sound.on") : t("room.sound.off");
  };
  const render = () => {
    const { roomTitle, formatName, status } = shown;
    title.textContent = roomTitle || "circlekeeper";
    format.textContent = formatName ? ` · ${serverText(formatName)}` : "";
    const right = el.querySelector(".bar-right");
    right.hidden = status === null;
    if (status === null) return;
    const label = connectionLabel(status);
    state.dataset.state = label;
    const text = t(`common.connection.${label}`);
    if (stateText.textContent !== text) stateText.textContent = text;
  };
  words();
  onLanguageChange(() => {
    words();
    render();
  });
  return {
    el,
    /** `status` null hides the connection state and sound switch (before entering). */
    set(roomTitle, formatName, status) {
      shown = { roomTitle, formatName, status };
      render();
    },
  };
}
