// What the room view means for one person: roles, pairs, timers, names of things. Pure helpers
// over the view kept by connection.js, shared by the room's views.

import { formatDate, formatDuration, formatNumber, t } from "/words.js";

/** The roles the client has words for (others are shown by their wire name). */
const ROLES = new Set([
  "facilitator",
  "co_facilitator",
  "presenter",
  "coach",
  "client",
  "observer",
  "timekeeper",
  "member",
  "participant",
]);

/** What someone does in their pair, as the pair view says it ("You are coaching"). */
export function pairRoleWord(role) {
  return t(`room.pair_role.${role === "coach" || role === "client" ? role : "observer"}`);
}

/** A role in words ("co-facilitator"). */
export function roleWord(role) {
  return ROLES.has(role) ? t(`room.role.${role}`) : String(role).replace(/_/g, " ");
}

/** A role's people in words ("coaches"), as a prompt is addressed to them. */
export function rolePlural(role) {
  return ROLES.has(role) ? t(`room.role_plural.${role}`) : String(role).replace(/_/g, " ");
}

/** `7:42`, `1:02:03`, or `+0:35` in overtime (negative ms). */
export function formatClock(ms) {
  const over = ms < 0;
  const total = over ? Math.floor(-ms / 1000) : Math.ceil(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const ss = String(seconds).padStart(2, "0");
  const text = hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${ss}` : `${minutes}:${ss}`;
  return over ? `+${text}` : text;
}

/** "1 minute", "90 seconds", "2 minutes" — for spoken announcements. */
export function spokenDuration(ms) {
  return formatDuration(ms);
}

/** A stage's timebox, short: "5 min", "7.5 min", "45 s". */
export function minutesLabel(ms) {
  const m = ms / 60000;
  if (m >= 1) return t("room.duration.minutes_short", { count: formatNumber(m, { maximumFractionDigits: 1 }) });
  return t("room.duration.seconds_short", { count: formatNumber(Math.round(ms / 1000)) });
}

/** Remaining ms of a timer at `now` (negative in overtime), or null without a timer. */
export function remainingMs(timer, now) {
  if (!timer) return null;
  if (timer.ends_at !== null && timer.ends_at !== undefined) return timer.ends_at - now;
  if (timer.paused_remaining_ms !== null && timer.paused_remaining_ms !== undefined) {
    return timer.paused_remaining_ms;
  }
  return timer.duration_ms;
}

/** The participant with `id` in the view, or null. */
export function participantById(view, id) {
  return view.participants.find((p) => p.id === id) || null;
}

/** Whether `p` steers the room (facilitator or co-facilitator). */
export function isFacilitating(p) {
  return Boolean(p) && (p.standing === "facilitator" || p.standing === "co_facilitator");
}

/** `room.pairs`, with its defaults (the server leaves it out of the view while empty). */
export function pairsOf(view) {
  const p = view && view.pairs;
  return {
    proposal: (p && p.proposal) || null,
    groups: (p && p.groups) || [],
    waiting: (p && p.waiting) || [],
  };
}

/** The confirmed group participant `id` is in, or null. */
export function groupOf(view, id) {
  return pairsOf(view).groups.find((g) => g.members.includes(id)) || null;
}

/** Whether the current stage is the one where pairs work on their own. */
export function inPairsStage(view) {
  const planned = view.stage ? view.plan[view.stage.index] : null;
  return Boolean(planned) && planned.speaking === "pairs";
}

/** `coach`, `client` or `observer`: what `id` does in `group` this round. */
export function pairRoleIn(group, id) {
  if (group.coach === id) return "coach";
  if (group.client === id) return "client";
  return "observer";
}

/** A group's roles after the switch: the coach becomes the client, the observer the coach, the
 * client the observer (a pair simply swaps), as src/room/state/pairs.rs `rotate` does. */
export function rotated(group) {
  const observer = group.observer === null || group.observer === undefined ? null : group.observer;
  return observer === null
    ? { coach: group.client, client: group.coach, observer: null }
    : { coach: observer, client: group.coach, observer: group.client };
}

/** The stage role of participant `id`, exactly as the server's `stage_role` decides it. */
export function stageRoleOf(view, id) {
  const p = participantById(view, id);
  const planned = view.stage ? view.plan[view.stage.index] : null;
  if (planned && planned.presenter === id) return "presenter";
  if (p && p.roles.includes("observer")) return "observer";
  if (inPairsStage(view)) {
    const group = groupOf(view, id);
    if (group) return pairRoleIn(group, id);
    // Someone waiting for a group takes part as a member, not as anyone's coach.
    if (p && !isFacilitating(p)) return "member";
  }
  if (isFacilitating(p)) return "facilitator";
  if (planned && planned.roles.includes("coach")) return "coach";
  if (planned && planned.roles.includes("client")) return "client";
  return "member";
}

/** `2027-03-01` → "1 Mar 2027" in the reader's language (a local date: no time zone shift). */
export function formatDue(due) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(due || "")) return due || "";
  return formatDate(due, { day: "numeric", month: "short", year: "numeric" });
}

/** Today as `YYYY-MM-DD`, on this device's calendar. */
export function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** How a stage gives the floor, in a word ("round", "hands"). */
export function speakingWord(mode) {
  const known = ["round", "hand_queue", "presenter_only", "open", "pairs"];
  return known.includes(mode) ? t(`room.speaking.${mode}`) : mode;
}
