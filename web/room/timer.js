// The countdown ring, the stage timer and its controls, the speaker's timer and the time cue.

import { actionButton, h, setText, show } from "/dom.js";
import { serverText, t } from "/words.js";
import { formatClock, remainingMs, spokenDuration } from "/room/model.js";

const RING_R = 90;
const RING_C = 2 * Math.PI * RING_R;

/**
 * The countdown: a ring that empties as time runs, big digits and a note in words. Used for
 * the stage's timer and, in the pairs stage, for a pair's own timer. `test` names the digits'
 * `data-test` hook, which carries `data-remaining-ms`.
 */
export function countdown(test) {
  const progress = h("svg:circle", {
    class: "ring-progress",
    cx: "100",
    cy: "100",
    r: String(RING_R),
    "stroke-dasharray": RING_C.toFixed(2),
    "stroke-dashoffset": "0",
    transform: "rotate(-90 100 100)",
  });
  const ring = h(
    "svg:svg",
    { class: "ring", viewBox: "0 0 200 200", "aria-hidden": "true", focusable: "false" },
    h("svg:circle", { class: "ring-track", cx: "100", cy: "100", r: String(RING_R) }),
    progress,
  );
  const digits = h("span", { class: "timer-digits", "data-test": test });
  const note = h("span", { class: "timer-note" });
  const box = h(
    "div",
    { class: "timer-box", "data-tone": "idle" },
    ring,
    h("div", { class: "timer-face" }, digits, note),
  );
  return {
    box,
    digits,
    note,
    progress,
    /** Shows `remaining` ms (null: no timer) of `duration`, in `tone`, with `noteText`; an
     * `ended` tone shows the word instead of a frozen clock. */
    set(remaining, duration, tone, noteText) {
      digits.classList.toggle("word", tone === "ended");
      if (tone === "ended") {
        setText(digits, t("console.timer.ended"));
        digits.removeAttribute("data-remaining-ms");
      } else if (remaining === null) {
        setText(digits, "–:––");
        digits.removeAttribute("data-remaining-ms");
      } else {
        setText(digits, formatClock(remaining));
        digits.setAttribute("data-remaining-ms", String(Math.round(remaining)));
      }
      // Longer clocks (`+12:34`; an hour or more, `1:45:00`, `+1:02:03`) take smaller digits to
      // fit the ring (sized by the ring's width: see room.css).
      const length = digits.textContent.length;
      digits.classList.toggle("mid", tone !== "ended" && length === 6);
      digits.classList.toggle("long", tone !== "ended" && length > 6);
      setText(note, noteText);
      digits.setAttribute(
        "aria-label",
        tone === "ended"
          ? t("console.timer.ended")
          : remaining === null
          ? t("room.timer.no_timer")
          : remaining < 0
            ? t("room.timer.over_time", { clock: formatClock(remaining) })
            : t("room.timer.clock_note", { clock: formatClock(remaining), note: noteText }),
      );
      if (box.dataset.tone !== tone) box.dataset.tone = tone;
      const fraction = remaining === null || tone === "ended" ? 0 : Math.max(0, Math.min(1, remaining / (duration || 1)));
      const offset = (RING_C * (1 - (tone === "over" ? 1 : fraction))).toFixed(1);
      if (progress.getAttribute("stroke-dashoffset") !== offset) {
        progress.setAttribute("stroke-dashoffset", offset);
      }
    },
  };
}

/** `normal`, `warn`, `over` or `paused` for a running timer at `remaining` ms. */
export function timerTone(timer, remaining, warnBefore, paused) {
  const duration = timer.duration_ms || 1;
  const warned = timer.warned || (warnBefore < duration && remaining <= warnBefore);
  if (paused) return "paused";
  if (remaining < 0) return "over";
  if (warned) return "warn";
  return "normal";
}

/** Whether the session is under way (running or paused). */
function underWay(session) {
  return session === "running" || session === "paused";
}

/** The speaker's timer's tone: as the stage's, warned from the view's flag or the last fifth. */
function speakerTone(timer, remaining, warnBefore, paused) {
  if (paused) return "paused";
  if (remaining < 0) return "over";
  const duration = timer.duration_ms || 1;
  const warnAt = Math.min(warnBefore, duration / 5);
  return timer.warned || remaining <= warnAt ? "warn" : "normal";
}

/** The stage timer, its cue and controls, the speaker timer. Mixed into RoomScreen: `this` is the screen (its context). */
export class TimerView {
  /** The stage's countdown, the speaker's timer and the cue (centre), and the timer controls. */
  buildTimer() {
    const r = this.r;
    r.stageClock = countdown("timer");
    r.timer = r.stageClock.digits;
    r.timerBox = r.stageClock.box;
    // In a round the speaker's own time is the big ring and the stage's the small one beside it.
    r.speakerClock = countdown("speaker-clock");
    r.speakerClock.box.classList.add("speaker-clock");
    r.speakerClock.box.hidden = true;
    r.timerBox.classList.add("stage-clock");
    r.stageCaption = h("span", { class: "clock-caption", text: t("console.timer.stage_time") });
    r.stageClockWrap = h("div", { class: "stage-clock-wrap" }, r.timerBox, r.stageCaption);
    r.speakerTimer = h("p", { class: "speaker-timer", "data-test": "speaker-timer" });
    r.cue = h("p", { class: "cue", "data-test": "time-cue" });
    r.clocks = h("div", { class: "clocks", "data-big": "stage" }, r.speakerClock.box, r.stageClockWrap);

    // Timekeeping (facilitators, co-facilitators, timekeepers).
    r.pause = actionButton("pause", t("room.timer.pause"), (e) => this.act(e.currentTarget, "pause"));
    r.resume = actionButton("resume", t("room.timer.resume"), (e) => this.act(e.currentTarget, "resume_session"));
    r.pause.setAttribute("aria-keyshortcuts", "P");
    r.resume.setAttribute("aria-keyshortcuts", "P");
    // Each takes the other's place: the focus follows (see act.js `keepFocus`).
    r.pause.dataset.focusNext = "resume";
    r.resume.dataset.focusNext = "pause";
    // The visible label is the button's name; what it does in full is its description (title).
    const adjust = (test, label, seconds, purpose) =>
      h("button", {
        type: "button",
        class: "secondary",
        "data-test": test,
        "data-focus": test,
        title: purpose,
        onclick: (e) => this.act(e.currentTarget, "adjust_timer", { timer: "stage", seconds }),
        text: label,
      });
    r.minus1 = adjust("timer-minus-1", t("room.timer.minus_1"), -60, t("room.timer.minus_1_purpose"));
    r.plus1 = adjust("timer-plus-1", t("room.timer.plus_1"), 60, t("room.timer.plus_1_purpose"));
    r.plus1.setAttribute("aria-keyshortcuts", "M");
    r.plus5 = adjust("timer-plus-5", t("room.timer.plus_5"), 300, t("room.timer.plus_5_purpose"));
    r.timeControls = h(
      "section",
      { class: "controls time-controls", "aria-label": t("room.timer.title") },
      h("h2", { class: "section-title", text: t("room.timer.title") }),
      h("div", { class: "row wrap" }, r.pause, r.resume, r.minus1, r.plus1, r.plus5),
    );
  }

  /** The timer controls: for timekeepers while the session runs or is paused. */
  renderTimeControls({ timekeeping, started, ended, session }) {
    const r = this.r;
    show(r.timeControls, Boolean(timekeeping) && !ended);
    const paused = session === "paused";
    show(r.pause, !paused);
    show(r.resume, paused);
    for (const b of [r.pause, r.resume, r.minus1, r.plus1, r.plus5]) b.disabled = !started;
  }
  /** The stage's countdown, the cue in words and the speaker's timer, against the server clock. */
  tickTimers() {
    const view = this.view;
    if (!view) return;
    const r = this.r;
    const now = this.conn.serverNow();
    const session = view.session.status;
    const stage = view.stage;
    const planned = stage ? view.plan[stage.index] : null;

    let remaining = null;
    let duration = 1;
    let tone = "normal";
    let note = t("room.timer.left");
    if (session === "lobby") {
      const first = view.plan[0];
      remaining = first ? first.timebox_ms : 0;
      duration = remaining || 1;
      tone = "idle";
      note = t("room.timer.not_started");
    } else if (stage) {
      remaining = remainingMs(stage.timer, now);
      duration = stage.timer.duration_ms || 1;
      const warnAt = view.warn_before_ms;
      const warned = stage.timer.warned || (warnAt < duration && remaining <= warnAt);
      if (session === "ended") {
        tone = "ended";
        note = "";
      } else if (session === "paused") {
        tone = "paused";
        note = remaining < 0 ? t("room.timer.over_paused") : t("room.timer.paused");
      } else if (remaining < 0) {
        tone = "over";
        note = t("console.timer.over_time");
      } else if (warned) {
        tone = "warn";
        note = remaining <= 60_000 ? t("room.timer.last_minute") : t("room.timer.nearly_up");
      }
    }

    r.stageClock.set(remaining, duration, tone, note);

    // The visible cue, in words as well as colour.
    let cue = "";
    if (session === "running" && stage && planned) {
      const stage = serverText(planned.title);
      if (tone === "warn") cue = t("room.timer.cue_warn", { stage, left: spokenDuration(Math.max(remaining, 0)) });
      else if (tone === "over") cue = t("room.timer.cue_over", { stage });
    } else if (session === "paused") {
      cue = t("room.timer.cue_paused");
    }
    if (this.pairMode) cue = "";
    setText(r.cue, cue);
    r.cue.dataset.tone = tone;
    show(r.cue, cue !== "");

    // The speaker's own timer: the big ring while someone holds a timed turn.
    const st = view.turn.speaker_timer;
    const floor = view.turn.floor;
    const speakerBig = Boolean(st && floor && underWay(session) && !this.pairMode);
    show(r.speakerClock.box, speakerBig);
    show(r.stageCaption, speakerBig);
    r.timerBox.classList.toggle("small-ring", speakerBig);
    if (r.clocks.dataset.big !== (speakerBig ? "speaker" : "stage")) r.clocks.dataset.big = speakerBig ? "speaker" : "stage";
    if (speakerBig) {
      const left = remainingMs(st, now);
      const turnTone = speakerTone(st, left, view.warn_before_ms, session === "paused");
      const turnNote =
        turnTone === "over"
          ? t("console.timer.over_time")
          : turnTone === "paused"
            ? t("room.timer.paused")
            : floor.participant === this.conn.you
              ? t("console.timer.your_time")
              : t("console.timer.turn_time");
      r.speakerClock.set(left, st.duration_ms || 1, turnTone, turnNote);
    }
    if (st && floor && session !== "ended" && session !== "lobby") {
      const left = remainingMs(st, now);
      const who =
        floor.participant === this.conn.you
          ? t("room.timer.your_turn")
          : t("room.timer.their_turn", { name: this.name(floor.participant) });
      const clock = formatClock(left);
      const text = left < 0 ? t("room.timer.turn_over", { who, clock }) : t("room.timer.turn_left", { who, clock });
      setText(r.speakerTimer, text);
      r.speakerTimer.dataset.tone = left < 0 ? "over" : st.warned ? "warn" : "normal";
      show(r.speakerTimer, true);
    } else {
      show(r.speakerTimer, false);
    }
  }
}

