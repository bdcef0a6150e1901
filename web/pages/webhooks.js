// A series' outgoing webhooks on the `/host` page: with the series host key (asked here, kept in
// this page only), the host adds a webhook (its signing secret is shown once, to copy), sends
// one a test delivery, removes one, and reads the delivery log (event, time, attempts, answer).
// Every change is `POST /api/series/{id}/webhooks`; the section is redrawn from its answer.

import { h } from "/room.js";
import { formatDate, serverText, t } from "/words.js";

const FORMATS = ["json", "slack", "mattermost"];

/** The webhooks section of series `seriesId`, folded until the host opens it. */
export function webhooksSection(seriesId) {
  const state = { key: "", secret: null };
  const body = h("div", { class: "webhooks-body" });
  const error = h("p", { class: "error", role: "alert", "data-test": "webhooks-error", hidden: true });
  const keyId = `webhooks-key-${seriesId}`;
  const keyInput = h("input", { id: keyId, type: "password", autocomplete: "off", "data-test": "webhooks-key" });
  const keyForm = h(
    "form",
    { class: "webhooks-key" },
    h("label", { for: keyId, text: t("webhooks.key") }),
    keyInput,
    h("button", { type: "submit", "data-test": "webhooks-open", text: t("webhooks.open") }),
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
      const response = await fetch(`/api/series/${encodeURIComponent(seriesId)}/webhooks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ key: state.key, ...fields }),
      });
      answer = await response.json();
      if (!response.ok) {
        fail(response.status === 403 && answer.code === "invalid_key" ? t("webhooks.wrongKey") : serverText(answer.message || ""));
        return false;
      }
    } catch {
      fail(t("webhooks.failed"));
      return false;
    }
    state.secret = answer.secret ? { hook: answer.hook, secret: answer.secret } : null;
    draw(answer);
    return true;
  };

  const button = (label, test, fields) =>
    h("button", { type: "button", class: "small", "data-test": test, text: label, onclick: () => send(fields) });

  const hookItem = (w) =>
    h(
      "li",
      { "data-hook": w.id },
      h("span", { class: "webhook-url", text: w.url }),
      " ",
      h("span", { class: "hint", text: t(`webhooks.format.${w.format}`) }),
      " ",
      button(t("webhooks.test"), "webhook-test", { action: "test", hook: w.id }),
      button(t("webhooks.remove"), "webhook-remove", { action: "remove", hook: w.id }),
    );

  const logItem = (e) => {
    const answerWords = e.status != null ? t("webhooks.log.status", { status: e.status }) : e.error ? serverText(e.error) : "";
    return h(
      "li",
      { "data-delivery": e.delivery, "data-outcome": e.outcome },
      h("span", { text: t(`webhooks.event.${e.event}`) }),
      " · ",
      h("span", { text: formatDate(e.at, { dateStyle: "medium", timeStyle: "short" }) }),
      " · ",
      h("span", { text: t(`webhooks.outcome.${e.outcome}`) }),
      " · ",
      h("span", { text: t("webhooks.log.attempts", { count: e.attempts }) }),
      answerWords ? ` · ${answerWords}` : "",
    );
  };

  const draw = (answer) => {
    const hooks = Array.isArray(answer.webhooks) ? answer.webhooks : [];
    const log = Array.isArray(answer.log) ? answer.log : [];
    const urlId = `webhooks-url-${seriesId}`;
    const formatId = `webhooks-format-${seriesId}`;
    const urlInput = h("input", { id: urlId, type: "url", maxlength: "2048", autocomplete: "off", "data-test": "webhook-url" });
    const formatSelect = h(
      "select",
      { id: formatId, "data-test": "webhook-format" },
      FORMATS.map((f) => h("option", { value: f, text: t(`webhooks.format.${f}`) })),
    );
    const addForm = h(
      "form",
      { class: "webhooks-add" },
      h("label", { for: urlId, text: t("webhooks.url") }),
      urlInput,
      h("label", { for: formatId, text: t("webhooks.formatLabel") }),
      formatSelect,
      h("button", { type: "submit", "data-test": "webhook-add", text: t("webhooks.add") }),
    );
    addForm.addEventListener("submit", (e) => {
      e.preventDefault();
      const url = urlInput.value.trim();
      if (url) send({ action: "add", url, format: formatSelect.value });
    });
    const secretId = `webhooks-secret-${seriesId}`;
    body.replaceChildren(
      answer.enabled === false ? h("p", { class: "hint", "data-test": "webhooks-off", text: t("webhooks.off") }) : null,
      h("ul", { class: "webhooks-list", "data-test": "webhooks-list" }, hooks.map(hookItem)),
      state.secret
        ? h(
            "div",
            {},
            h("label", { for: secretId, text: t("webhooks.secretOnce") }),
            h("input", { id: secretId, type: "text", readonly: true, value: state.secret.secret, "data-test": "webhook-secret" }),
          )
        : null,
      answer.enabled === false ? null : addForm,
      h("h4", { text: t("webhooks.log.title") }),
      log.length
        ? h("ul", { class: "webhooks-log", "data-test": "webhooks-log" }, log.map(logItem))
        : h("p", { class: "hint", text: t("webhooks.log.empty") }),
      h("button", { type: "button", class: "small", "data-test": "webhooks-refresh", text: t("webhooks.refresh"), onclick: () => send({ action: "list" }) }),
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
    { class: "webhooks", "data-test": "series-webhooks" },
    h("summary", { text: t("webhooks.title") }),
    h("p", { class: "hint", text: t("webhooks.hint") }),
    keyForm,
    error,
    body,
  );
}
