// A series' calendar in the client: the member page's calendar card (subscribe to my feed,
// each planned session's "Add to calendar" download, a new address) and the small form a pair
// uses to plan its own sessions (on the member page, and in the scheduling stage of a
// first-session room). The card draws from the member page's `POST /me` answer, at once (no
// request of its own); a new address comes from `POST /api/series/{id}/calendar/feed`.

import { announce, confirmDialog, copyButton, h } from "/dom.js";
import { formatDate, formatList, t } from "/words.js";

/** `POST` JSON to the server: `{ data }` on success, `{ problem, message }` otherwise. */
async function postJson(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    return { problem: "network" };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok && data) return { data };
  return { problem: (data && data.code) || "server", message: data && data.message };
}

/** What the member's page shows (`POST /me` with the key alone): `{ data }` or `{ problem }`. */
export function memberView(seriesId, key) {
  return postJson(`/api/series/${encodeURIComponent(seriesId)}/me`, { key });
}

/** The member's feed address and planned sessions (`rotate` makes a new address). */
function feedAddress(seriesId, key, rotate = false) {
  return postJson(`/api/series/${encodeURIComponent(seriesId)}/calendar/feed`, { key, rotate });
}

/** A planned session's day and time in the reader's words: "Thu, Mar 26, 2026, 18:00". */
export function sessionWhen(session) {
  const day = formatDate(session.date, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  return t("calendar.when", { day, time: session.time });
}

/**
 * The card of the member page, drawn from what `POST /me` answered (`page.data`: its
 * `calendar_feed`, `planned_sessions` and `time_zone`); `page` is the MemberPage.
 */
export function calendarSection(page) {
  const body = h("div", { class: "calendar-body", "data-test": "calendar-body" });
  const draw = () => body.replaceChildren(...feedBody(page, draw));
  draw();
  return h(
    "section",
    { class: "card calendar", "aria-labelledby": "calendar-title", "data-test": "calendar-section" },
    h("h2", { id: "calendar-title", text: t("calendar.title") }),
    body,
  );
}

/** The card's contents; `redraw()` draws them again from `page.data`. */
function feedBody(page, redraw) {
  const d = page.data;
  const feed = d.calendar_feed || {};
  const others = new Map(Array.isArray(d.others) ? d.others : []);
  const me = d.member_id;
  const sessions = Array.isArray(d.planned_sessions) ? d.planned_sessions : [];
  const list = sessions.map((s) => {
    const partners = (s.with || []).filter((id) => id !== me).map((id) => others.get(id) || id);
    const when = sessionWhen(s);
    const href = `/api/series/${encodeURIComponent(page.seriesId)}/calendar/${encodeURIComponent(feed.feed_key)}/${encodeURIComponent(s.id)}.ics`;
    return h(
      "li",
      { "data-test": "calendar-session", "data-uid": s.uid },
      h("span", { class: "session-name", text: when }),
      h("span", { class: "hint", text: t("calendar.minutes", { count: s.minutes }) }),
      partners.length ? h("span", { class: "chip", text: t("calendar.withPair", { names: formatList(partners) }) }) : null,
      feed.feed_key
        ? h("a", {
            class: "button-link small",
            href,
            download: `session-${s.date}.ics`,
            "data-test": "calendar-add",
            "aria-label": t("calendar.addLabel", { when }),
            text: t("calendar.add"),
          })
        : null,
    );
  });
  const status = h("p", { class: "hint", role: "status", "data-test": "calendar-status" });
  const rotate = h("button", {
    type: "button",
    class: "ghost small",
    "data-test": "calendar-rotate",
    text: t("calendar.rotate"),
    onclick: async () => {
      const ok = await confirmDialog(t("calendar.rotateConfirm"), t("calendar.rotateButton"), t("calendar.rotateDetail"));
      if (!ok) return;
      const { data, message } = await feedAddress(page.seriesId, page.key, true);
      if (!data) {
        status.textContent = message || t("calendar.failed");
        return;
      }
      page.data.calendar_feed = { feed_key: data.feed_key, url: data.url, webcal_url: data.webcal_url };
      page.data.planned_sessions = data.planned;
      redraw();
      announce(t("calendar.rotated"));
    },
  });
  return [
    h("p", { class: "hint", text: t("calendar.hint", { zone: d.time_zone || "UTC" }) }),
    feed.url
      ? h(
          "div",
          { class: "row wrap" },
          h("a", { class: "button-link", href: feed.webcal_url, "data-test": "calendar-subscribe", "data-url": feed.url, text: t("calendar.subscribe") }),
          copyButton(() => feed.url, t("calendar.copy"), "calendar-copy"),
        )
      : null,
    h("p", { class: "hint", text: t("calendar.private") }),
    sessions.length
      ? h("ul", { class: "sessions calendar-sessions", "data-test": "calendar-sessions" }, list)
      : h("p", { class: "hint", "data-test": "calendar-none", text: t("calendar.none") }),
    pairForm(page, (view) => {
      page.data = view;
      redraw();
    }),
    rotate,
    status,
  ];
}

/**
 * The form a pair plans its own sessions with: a partner (when there is a choice), a day, a
 * start and a length. Adds one session to the pair's list (`pair` of `POST /me`), keeping the
 * ones it has. `partners` is `[[id, name], …]`; `onSaved` runs after a save.
 */
export function pairForm(page, onSaved, partners = null) {
  const choices = partners || (Array.isArray(page.data.others) ? page.data.others : []);
  const status = h("p", { class: "hint", role: "status", "data-test": "pair-plan-status" });
  const field = (id, label, input) => h("label", { class: "field", for: id }, h("span", { text: label }), input);
  const partner = h(
    "select",
    { id: "plan-partner", "data-test": "pair-plan-partner" },
    choices.map(([id, name]) => h("option", { value: id, text: name })),
  );
  const date = h("input", { id: "plan-date", type: "date", required: true, "data-test": "pair-plan-date" });
  const time = h("input", { id: "plan-time", type: "time", required: true, value: page.data.start_time || "18:00", "data-test": "pair-plan-time" });
  const minutes = h("input", { id: "plan-minutes", type: "number", min: "5", max: "720", step: "5", value: "60", "data-test": "pair-plan-minutes" });
  const form = h(
    "form",
    { class: "pair-plan", "data-test": "pair-plan" },
    h("h3", { text: t("calendar.pairTitle") }),
    h("p", { class: "hint", text: t("calendar.pairHint") }),
    choices.length > 1 ? field("plan-partner", t("calendar.partner"), partner) : null,
    h("div", { class: "row wrap" }, field("plan-date", t("calendar.date"), date), field("plan-time", t("calendar.time"), time), field("plan-minutes", t("calendar.length"), minutes)),
    h("button", { type: "submit", class: "secondary", "data-test": "pair-plan-add", text: t("calendar.pairAdd") }),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const withId = choices.length > 1 ? partner.value : choices[0] && choices[0][0];
    if (!withId || !date.value) {
      status.textContent = t("calendar.pairMissing");
      return;
    }
    // The pair's list as the server has it, plus this one.
    const current = await memberView(page.seriesId, page.key);
    if (!current.data) {
      status.textContent = current.message || t("calendar.failed");
      return;
    }
    const me = current.data.member_id;
    const pair = [me, withId].sort().join(" ");
    const kept = (current.data.planned_sessions || [])
      .filter((s) => (s.with || []).slice().sort().join(" ") === pair)
      .map((s) => ({ id: s.id, date: s.date, time: s.time, minutes: s.minutes }));
    kept.push({ date: date.value, time: time.value, minutes: Number(minutes.value) || 60 });
    const saved = await postJson(`/api/series/${encodeURIComponent(page.seriesId)}/me`, {
      key: page.key,
      pair: { with: [withId], planned: kept },
    });
    if (saved.data) {
      status.textContent = t("calendar.pairSaved");
      announce(t("calendar.pairSaved"));
      onSaved(saved.data);
    } else {
      status.textContent = saved.message || t("calendar.failed");
    }
  });
  return form;
}
