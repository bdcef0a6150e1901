// The scheduling step of a pair's first session (built-in format `first_pair_session`, its
// "Schedule" stage): a member who entered with their personal link gets a small form to put
// the pair's next sessions in both partners' calendars, with the other members in the room as
// the partner. It saves through `POST /api/series/{id}/me` (`pair`), like the member page.

import { h } from "/dom.js";
import { loadMemberKey } from "/storage.js";
import { memberView, pairForm, sessionWhen } from "/pages/calendar.js";
import { t } from "/words.js";

/** The built-in stage whose time is for agreeing dates (its English title, as the server sends it). */
const SCHEDULE_STAGE = "Schedule";

/** The scheduling card of a room page; `update()` after every view shows or removes it. */
export class ScheduleCard {
  /** `page` is the RoomPage: its `conn`, `link` and `memory`. */
  constructor(page) {
    this.page = page;
    this.el = null;
    this.key = null;
  }

  /** The series and member key this device entered the room with, if it was a member link. */
  member() {
    const { link, memory } = this.page;
    const series = (link && link.series) || (memory && memory.series) || null;
    if (!series) return null;
    const key = (link && link.mode === "member" && link.key) || loadMemberKey(series);
    return key ? { series, key } : null;
  }

  update() {
    const conn = this.page.conn;
    const view = conn && conn.view;
    const planned = view && view.stage ? view.plan[view.stage.index] : null;
    const member = this.member();
    const partners = view
      ? view.participants.filter((p) => p.member && p.id !== conn.you).map((p) => [p.member, p.name])
      : [];
    const wanted =
      member && planned && planned.title === SCHEDULE_STAGE && view.session.status === "running" && partners.length > 0;
    if (!wanted) {
      if (this.el) this.el.remove();
      this.el = null;
      return;
    }
    const main = document.getElementById("main");
    if (!main) return;
    const key = `${view.stage.index}:${partners.map((p) => p[0]).join(",")}`;
    if (this.el && main.contains(this.el) && this.key === key) return;
    if (this.el) this.el.remove();
    this.key = key;
    const list = h("ul", { class: "sessions", "data-test": "schedule-sessions" });
    const show = (data) => {
      const ours = (s) => (s.with || []).some((id) => partners.some(([partner]) => partner === id));
      const mine = (data.planned_sessions || []).filter(ours);
      list.replaceChildren(...mine.map((s) => h("li", { text: sessionWhen(s) })));
    };
    const page = { seriesId: member.series, key: member.key, data: { others: partners } };
    this.el = h(
      "section",
      { class: "card schedule", "aria-labelledby": "schedule-title", "data-test": "schedule-card" },
      h("h2", { id: "schedule-title", text: t("calendar.scheduleTitle") }),
      list,
      pairForm(page, show, partners),
    );
    main.append(this.el);
    // The pair's sessions planned before (on the member page, or earlier in this stage).
    memberView(member.series, member.key).then(({ data }) => {
      if (data) show(data);
    });
  }
}
