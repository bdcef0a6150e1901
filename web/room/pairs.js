// A participant's own pair or triad in the pairs stage, the note on where they stand before it,
// the pair's own countdown, the announcements of what changes in their group, and what the
// facilitator's proposal repeats from the series' earlier sessions.

import { announce, confirmDialog, h, setText, show } from "/dom.js";
import { formatNumber, t } from "/words.js";
import {
  formatClock,
  groupOf,
  isFacilitating,
  pairRoleIn,
  pairRoleWord,
  pairsOf,
  remainingMs,
  rotated,
} from "/room/model.js";
import { chime, soundEnabled } from "/room/sound.js";
import { countdown, timerTone } from "/room/timer.js";

/** `half` or `round`: what a pair's time is called (a triad has three rounds, a pair two halves). */
function unitOf(group) {
  return group.members.length === 3 ? "round" : "half";
}

/** The pair view and the pairing note. Mixed into RoomScreen: `this` is the screen (its context). */
export class PairsView {
  /** The pair view (my pair or triad, its clock and the client's feedback form) and the pairing note. */
  buildPairView() {
    const r = this.r;
    this.buildFeedbackForm();
    r.pairRound = h("p", { class: "pair-round", "data-test": "pair-round" });
    r.partner = h("span", { class: "partner", "data-test": "partner", dir: "auto" });
    r.pairRole = h("strong", { class: "pair-role", "data-test": "pair-role" });
    r.pairRoleLine = h("p", { class: "pair-role-line" }, t("room.pairs.you_are"), r.pairRole);
    r.pairHint = h("p", { class: "pair-hint", "data-test": "pair-hint" });
    r.pairSwitched = h("p", { class: "pair-switched", "data-test": "pair-switched" });
    r.pairClock = countdown("pair-timer");
    r.pairClock.box.classList.add("pair-clock");
    r.feedbackAsk = h("p", { class: "feedback-ask", "data-test": "feedback-ask" });
    r.pairNext = h("p", { class: "pair-next", "data-test": "pair-next" });
    r.switchWaiting = h("p", { class: "switch-waiting", "data-test": "switch-waiting" });
    r.pairDone = h("p", { class: "pair-done", "data-test": "pair-done" });
    r.pairView = h(
      "section",
      { class: "pair-view", "data-test": "pair-view", "aria-label": t("room.pairs.your_pair"), hidden: true },
      r.pairRound,
      h("p", { class: "pair-with" }, h("span", { class: "label", text: t("room.pairs.with") }), r.partner),
      r.pairRoleLine,
      r.pairCall,
      r.pairSwitched,
      r.pairHint,
      r.pairClock.box,
      r.feedbackAsk,
      r.feedbackForm,
      r.pairNext,
      r.switchWaiting,
      r.pairDone,
    );
    // Before the pairs stage, or without a pair: one line on where I stand.
    r.pairingNote = h("p", { class: "pairing-note", "data-test": "pairing-note", hidden: true });
  }

  renderPairView(group) {
    const r = this.r;
    show(r.pairView, Boolean(group));
    this.renderPairCall(group);
    if (!group) return;
    const you = this.conn.you;
    const role = pairRoleIn(group, you);
    const triad = group.members.length === 3;
    const unit = unitOf(group);
    const done = group.phase === "done";
    const observer = group.observer === null || group.observer === undefined ? null : group.observer;
    r.pairView.dataset.phase = group.phase;
    r.pairView.dataset.role = role;

    setText(
      r.pairRound,
      t(`room.pairs.${unit}_of`, { n: formatNumber(group.round + 1), total: formatNumber(group.rounds) }),
    );
    const partners = this.names(group.members.filter((m) => m !== you));
    setText(r.partner, partners);
    // A long name wraps; the whole of it is also the element's title.
    if (r.partner.title !== partners) r.partner.title = partners;
    setText(r.pairRole, pairRoleWord(role));
    show(r.pairRoleLine, !done);

    // What this role does now, in the words of the practice.
    const coach = this.name(group.coach);
    const client = this.name(group.client);
    let hint = "";
    if (group.phase === "coaching") {
      if (role === "coach") {
        hint = t("room.pairs.hint_coach", { client });
        if (observer !== null) hint += ` ${t("room.pairs.hint_observes", { name: this.name(observer) })}`;
      } else if (role === "client") {
        hint = t("room.pairs.hint_client", { coach });
        if (observer !== null) hint += ` ${t("room.pairs.hint_observes", { name: this.name(observer) })}`;
      } else {
        hint = t("room.pairs.hint_observer", { coach, client });
      }
    } else if (group.phase === "feedback") {
      const readyOthers = group.ready.filter((id) => id !== you);
      if (readyOthers.length && !group.ready.includes(you)) {
        const last = group.round + 1 >= group.rounds;
        hint = t(last ? "room.pairs.others_ready_finish" : "room.pairs.others_ready_switch", {
          count: readyOthers.length,
          names: this.names(readyOthers),
        });
      }
    }
    setText(r.pairHint, hint);
    show(r.pairHint, hint !== "");

    // Just after a switch: say so, on every screen of the group.
    const switched = group.phase === "coaching" && group.round > 0;
    setText(r.pairSwitched, switched ? t(`room.pairs.switched_${unit}`, { n: formatNumber(group.round + 1) }) : "");
    show(r.pairSwitched, switched);

    show(r.pairClock.box, !done && Boolean(group.timer));

    let ask = "";
    let next = "";
    let waiting = "";
    if (group.phase === "feedback") {
      if (role === "client") ask = t("room.pairs.ask_client", { coach });
      else if (role === "coach") ask = t("room.pairs.ask_coach", { client });
      else ask = t("room.pairs.ask_observer", { coach, client });
      if (group.round + 1 >= group.rounds) {
        next = triad ? t("room.pairs.last_round") : t("room.pairs.last_half");
      } else {
        const after = rotated(group);
        if (after.coach === you) next = t("room.pairs.next_coach", { client: this.name(after.client) });
        else if (after.client === you) next = t("room.pairs.next_client", { coach: this.name(after.coach) });
        else next = t("room.pairs.next_observer", { coach: this.name(after.coach), client: this.name(after.client) });
      }
      if (group.ready.includes(you)) {
        const missing = group.members.filter((m) => !group.ready.includes(m));
        waiting = t("room.pairs.you_ready", { names: this.names(missing) });
      }
    }
    setText(r.feedbackAsk, ask);
    show(r.feedbackAsk, ask !== "");
    setText(r.pairNext, next);
    show(r.pairNext, next !== "");
    setText(r.switchWaiting, waiting);
    show(r.switchWaiting, waiting !== "");
    setText(r.pairDone, done ? (triad ? t("room.pairs.done_triad") : t("room.pairs.done_pair")) : "");
    show(r.pairDone, done);
  }

  /**
   * What the facilitator's proposal repeats from the series' earlier sessions (how many, and
   * who repeats a triad and why), and who was in the triad last time: shown above the proposal.
   */
  buildProposalRepeats() {
    const r = this.r;
    r.repeatsCount = h("p", { class: "repeats-count", "data-test": "proposal-repeats" });
    r.repeatsDetail = h("p", { class: "hint repeats-detail" });
    r.repeatsList = h("ul", { class: "repeats-list", "data-test": "repeats-list" });
    r.lastTriad = h("p", { class: "hint last-triad", "data-test": "last-triad" });
    r.proposalRepeats = h(
      "div",
      { class: "proposal-repeats", role: "status" },
      r.repeatsCount,
      r.repeatsDetail,
      r.repeatsList,
      r.lastTriad,
    );
    return r.proposalRepeats;
  }

  renderProposalRepeats(proposal) {
    const r = this.r;
    const repeats = proposal.repeats || { partners: [], triad: [] };
    const partners = repeats.partners || [];
    const triad = repeats.triad || [];
    const count = partners.length + triad.length;
    r.repeatsCount.dataset.count = String(count);
    r.repeatsCount.dataset.partners = String(partners.length);
    r.repeatsCount.dataset.triad = String(triad.length);
    r.proposalRepeats.classList.toggle("has-repeats", count > 0);
    setText(r.repeatsCount, count ? t("triads.repeats", { count }) : t("triads.no_repeats"));
    setText(
      r.repeatsDetail,
      count
        ? t("triads.repeats_detail", {
            partners: t("triads.partners", { count: partners.length }),
            triad: t("triads.members", { count: triad.length }),
          })
        : "",
    );
    show(r.repeatsDetail, count > 0);
    const items = [
      ...triad.map((x) =>
        h("li", {
          class: `triad-repeat why-${x.why}`,
          "data-test": "triad-repeat",
          "data-participant": String(x.participant),
          "data-why": x.why,
          text: t("triads.triad_repeat", { name: this.name(x.participant), count: x.triads, why: t(`triads.why.${x.why}`) }),
        }),
      ),
      ...partners.map((x) =>
        h("li", {
          class: "partner-repeat",
          "data-test": "partner-repeat",
          text: t("triads.partner_repeat", {
            a: this.name(x.members[0]),
            b: this.name(x.members[1]),
            count: x.times,
            session: x.last_session + 1,
          }),
        }),
      ),
    ];
    r.repeatsList.replaceChildren(...items);
    show(r.repeatsList, items.length > 0);
    const last = proposal.last_triad;
    let line = "";
    if (last) {
      const session = last.session + 1;
      line = last.members.length
        ? t("triads.last_triad", { session, names: this.names(last.members) })
        : t("triads.last_triad_none", { session });
    }
    setText(r.lastTriad, line);
    show(r.lastTriad, line !== "");
  }

  /** One line outside the pair view: who my partner will be, or that I wait to be placed. */
  renderPairingNote({ facilitating, started, ended, planned, myGroup }) {
    const r = this.r;
    const view = this.view;
    const you = this.conn.you;
    let text = "";
    if (!facilitating && started && !ended && planned) {
      const me = this.me;
      const pairable = me && !me.roles.includes("observer");
      if (planned.kind === "pairing" && pairable) {
        if (myGroup) {
          const others = this.names(myGroup.members.filter((m) => m !== you));
          const first =
            myGroup.coach === you
              ? t("room.pairs.first_coach")
              : myGroup.client === you
                ? t("room.pairs.first_client", { coach: this.name(myGroup.coach) })
                : t("room.pairs.first_observer");
          text = t("room.pairs.paired_with", { names: others, first });
        } else {
          text = t("room.pairs.being_made");
        }
      } else if (planned.speaking === "pairs" && !myGroup && pairable) {
        text = pairsOf(view).waiting.includes(you) ? t("room.pairs.waiting_placed") : t("room.pairs.not_placed");
      }
    }
    setText(r.pairingNote, text);
    show(r.pairingNote, text !== "");
  }

  async endHalf(control) {
    const group = groupOf(this.view, this.conn.you);
    const left = group && group.timer ? remainingMs(group.timer, this.conn.serverNow()) : 0;
    if (left > 0) {
      const unit = unitOf(group);
      const ok = await confirmDialog(
        t(`room.pairs.end_${unit}_ask`),
        t(`room.pairs.end_${unit}_confirm`),
        t("room.pairs.end_detail", { clock: formatClock(left) }),
      );
      if (!ok) {
        control.focus();
        return;
      }
    }
    await this.act(control, "end_half");
  }

  /** The pair's own countdown, against the server clock. */
  tickPairClock(now) {
    const view = this.view;
    if (!this.pairMode) return;
    const g = groupOf(view, this.conn.you);
    if (!g || !g.timer || g.phase === "done") return;
    const paused = view.session.status === "paused";
    const left = remainingMs(g.timer, now);
    const stopped = paused || g.timer.ends_at === null || g.timer.ends_at === undefined;
    const tone = timerTone(g.timer, left, view.warn_before_ms, stopped);
    let note = g.phase === "feedback" ? t("room.pairs.clock_feedback") : t(`room.pairs.clock_left_${unitOf(g)}`);
    if (tone === "paused") note = t("room.timer.paused");
    else if (tone === "over") note = t("room.timer.over");
    else if (tone === "warn") note = left <= 60_000 ? t("room.timer.last_minute") : t("room.timer.nearly_up");
    this.r.pairClock.set(left, g.timer.duration_ms, tone, note);
  }

  /** Announces what changed in my own group, by comparing it with what it was. */
  announcePairs(event, before) {
    const view = this.view;
    const you = this.conn.you;
    const after = groupOf(view, you);
    if (isFacilitating(this.me)) {
      const proposal = pairsOf(view).proposal;
      if (event.reason === "proposed") {
        const count = proposal ? proposal.groups.length : 0;
        announce(t("room.pairs.said_proposed", { count }));
      } else if (event.reason === "confirmed") announce(t("room.pairs.said_confirmed"));
      else if (event.reason === "finished" && pairsOf(view).groups.every((g) => g.phase === "done")) {
        announce(t("room.pairs.said_all_done"));
      }
      return;
    }
    if (!after) return;
    const unit = unitOf(after);
    const role = pairRoleWord(pairRoleIn(after, you));
    const others = this.names(after.members.filter((m) => m !== you));
    if (!before || before.id !== after.id) {
      announce(t("room.pairs.said_paired", { names: others, role }));
      return;
    }
    if (after.members.length > before.members.length) {
      const joined = after.members.filter((m) => !before.members.includes(m));
      announce(t("room.pairs.said_joins", { count: joined.length, names: this.names(joined) }));
      return;
    }
    if (after.phase === "done" && before.phase !== "done") {
      announce(`${after.members.length === 3 ? t("room.pairs.done_triad") : t("room.pairs.done_pair")}.`);
    } else if (after.round > before.round) {
      // The switch: a deliberate act everyone in the group hears about.
      announce(t(`room.pairs.said_switched_${unit}`, { n: formatNumber(after.round + 1), role }));
    } else if (after.phase === "feedback" && before.phase === "coaching") {
      const coach = this.name(after.coach);
      announce(
        after.client === you
          ? t(`room.pairs.said_over_client_${unit}`, { coach })
          : t(`room.pairs.said_over_${unit}`),
      );
    } else if (after.phase === "feedback" && after.ready.length > before.ready.length) {
      const newly = after.ready.filter((m) => !before.ready.includes(m) && m !== you);
      if (newly.length) announce(t("room.pairs.said_ready", { count: newly.length, names: this.names(newly) }));
    } else if (event.group === after.id && event.reason === "timer_warning") {
      announce(t(`room.pairs.said_nearly_up_${unit}`));
      if (soundEnabled()) chime();
    } else if (event.group === after.id && event.reason === "timer_expired") {
      announce(t(`room.pairs.said_up_${unit}`));
    }
  }
}

