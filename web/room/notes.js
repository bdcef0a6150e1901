// What people write: looking back at earlier commitments, feedback to a coach and for me, my
// commitment, the survey; and my own items (`my_items`), which never come with the view. On a
// phone, a running check-out is steps (my commitment, the circle's, the survey) under the
// current speaker, not one long form. What I mark private is sealed here before it is sent and
// opened here when it comes back (`crypto.js`): the server only ever holds ciphertext.

import { actionButton, announce, h, setText, show } from "/dom.js";
import { loadRoomMemory } from "/connection.js";
import { isEnvelope, open, seal } from "/crypto.js";
import { formatNumber, t } from "/words.js";
import { formatDue, groupOf, pairsOf, today } from "/room/model.js";
import {
  COMMITMENT_KINDS,
  OUTCOMES,
  cleanText,
  outcomeLabel,
  outcomeName,
  outcomeWords,
  ratingField,
  textField,
  visibilityField,
  visibilityWords,
} from "/room/fields.js";

/** The steps of a phone's running check-out, in order. */
const CHECKOUT_STEPS = ["commit", "shared", "survey"];

/** The notes under each visibility choice saying what "only me" means here (set as the screen renders). */
const privateNotes = new Set();

/** One more such note. */
function privateNote() {
  const note = h("p", { class: "hint private-note", "data-test": "private-note" });
  privateNotes.add(note);
  return note;
}

/** A note's text; one that cannot be opened on this device says so. */
function noteText(c) {
  return h("p", { class: c.unreadable ? "note-text unreadable" : "note-text", "data-test": c.unreadable ? "unreadable" : null, text: c.text });
}

/** Looking back, feedback, commitments and the survey. Mixed into RoomScreen: `this` is the screen (its context). */
export class NotesView {
  /** The client's feedback to their coach, inside the pair view (built once, kept while typed). */
  buildFeedbackForm() {
    const r = this.r;
    r.feedbackRating = ratingField("feedback-rating", "feedback-rating", t("room.notes.feedback_rating"), t("room.notes.not_much"), t("room.notes.a_lot"));
    r.feedbackHelped = textField("feedback-helped", "feedback-helped", t("room.notes.helped"));
    r.feedbackHelpedLess = textField("feedback-helped-less", "feedback-helped-less", t("room.notes.helped_less"));
    r.feedbackVisibility = visibilityField("feedback-visibility", "feedback-visibility", t("room.notes.who_may_see"), {
      private: t("room.notes.feedback_private"),
      circle: t("room.notes.feedback_circle"),
      exportable: t("room.notes.feedback_exportable"),
    });
    r.feedbackSave = h("button", {
      type: "submit",
      class: "primary",
      "data-test": "feedback-save",
      "data-focus": "feedback-save",
      text: t("room.notes.feedback_save"),
    });
    r.feedbackSaved = h("p", { class: "saved-note", "data-test": "feedback-saved", role: "status", hidden: true });
    r.feedbackForm = h(
      "form",
      { class: "note-form feedback-form", novalidate: true, "aria-label": t("room.notes.your_feedback"), hidden: true },
      r.feedbackRating.el,
      r.feedbackHelped.el,
      r.feedbackHelpedLess.el,
      r.feedbackVisibility.el,
      privateNote(),
      r.feedbackSaved,
      h("div", { class: "row end" }, r.feedbackSave),
    );
    r.feedbackForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveFeedback();
    });
  }

  /** Looking back, my commitment, feedback for me, the survey: built once. */
  buildNotes() {
    const r = this.r;

    // Looking back at the series' last session (lobby and check-in).
    r.earlierList = h("ul", { class: "note-list", "data-test": "earlier-commitments" });
    r.earlierBox = h(
      "div",
      { class: "note-block" },
      h("p", { class: "hint", text: t("room.notes.look_back_hint") }),
      r.earlierList,
    );
    r.carriedList = h("ul", { class: "note-list", "data-test": "carried" });
    r.carriedBox = h(
      "div",
      { class: "note-block" },
      h("h3", { text: t("room.notes.carried") }),
      r.carriedList,
    );
    r.lookBackTitle = h("h2", { id: "look-back-title" });
    r.lookBack = h(
      "section",
      { class: "notes look-back", "data-test": "look-back", "aria-labelledby": "look-back-title", hidden: true },
      r.lookBackTitle,
      r.earlierBox,
      r.carriedBox,
    );

    // Feedback my clients shared with me.
    r.feedbackReceived = h("ul", { class: "note-list", "data-test": "feedback-received" });
    r.feedbackBox = h(
      "section",
      { class: "notes", "aria-labelledby": "feedback-received-title", hidden: true },
      h("h2", { id: "feedback-received-title", text: t("room.notes.for_you") }),
      r.feedbackReceived,
    );

    // My commitment.
    r.commitText = textField(
      "commitment-text",
      "commitment-text",
      t("room.notes.commit_what"),
      t("room.notes.commit_help"),
    );
    r.commitDue = h("input", { type: "date", id: "commitment-due", "data-test": "commitment-due", min: today() });
    r.commitVisibility = visibilityField("commitment-visibility", "commitment-visibility", t("room.notes.who_may_see"), {
      private: t("room.notes.commit_private"),
      circle: t("room.notes.commit_circle"),
      exportable: t("room.notes.commit_exportable"),
    });
    r.commitSave = h("button", {
      type: "submit",
      class: "primary",
      "data-test": "commitment-save",
      "data-focus": "commitment-save",
      text: t("room.notes.commit_save"),
    });
    r.commitForm = h(
      "form",
      { class: "note-form", novalidate: true, "aria-label": t("room.notes.my_commitment") },
      r.commitText.el,
      h(
        "div",
        { class: "field narrow" },
        h("label", { for: "commitment-due", text: t("room.notes.due") }),
        r.commitDue,
      ),
      r.commitVisibility.el,
      privateNote(),
      h("div", { class: "row end" }, r.commitSave),
    );
    r.commitForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveCommitment();
    });
    r.myCommitments = h("ul", { class: "note-list", "data-test": "my-commitments" });
    r.myCommitmentsBox = h("div", { class: "note-block", hidden: true }, h("h3", { text: t("room.notes.my_commitments") }), r.myCommitments);
    r.circleCommitments = h("ul", { class: "note-list", "data-test": "circle-commitments" });
    r.circleCommitmentsBox = h(
      "div",
      { class: "note-block", hidden: true },
      h("h3", { text: t("room.notes.circle_commitments") }),
      r.circleCommitments,
    );
    r.commitTitle = h("h2", { id: "commitment-title" });
    r.commitBox = h(
      "section",
      { class: "notes commitment-box", "aria-labelledby": "commitment-title", hidden: true },
      r.commitTitle,
      r.commitForm,
      r.myCommitmentsBox,
      r.circleCommitmentsBox,
    );

    // The survey.
    r.surveyRating = ratingField("survey-rating", "survey-rating", t("room.notes.survey_rating"), t("room.notes.not_good"), t("room.notes.very_good"));
    r.surveyComment = textField("survey-comment", "survey-comment", t("room.notes.survey_comment"), "", 2);
    r.surveyVisibility = visibilityField("survey-visibility", "survey-visibility", t("room.notes.who_may_read"), {
      private: t("room.notes.survey_private"),
      circle: t("room.notes.survey_circle"),
      exportable: t("room.notes.survey_exportable"),
    });
    r.surveySave = h("button", {
      type: "submit",
      class: "primary",
      "data-test": "survey-save",
      "data-focus": "survey-save",
      text: t("room.notes.survey_send"),
    });
    r.surveyForm = h(
      "form",
      { class: "note-form", novalidate: true, "aria-label": t("room.notes.survey") },
      r.surveyRating.el,
      r.surveyComment.el,
      r.surveyVisibility.el,
      privateNote(),
      h("div", { class: "row end" }, r.surveySave),
    );
    r.surveyForm.addEventListener("submit", (e) => {
      e.preventDefault();
      this.saveSurvey();
    });
    r.surveyThanksText = h("p", { class: "thanks-detail" });
    r.surveyThanks = h(
      "div",
      { class: "thanks", "data-test": "survey-thanks", hidden: true },
      h("p", { class: "thanks-title", text: t("room.notes.thanks") }),
      r.surveyThanksText,
      h("button", {
        type: "button",
        class: "ghost small",
        "data-test": "survey-change",
        onclick: () => {
          this.editingSurvey = true;
          this.fillSurvey();
          this.update();
          r.surveyRating.first.focus();
        },
        text: t("room.notes.survey_change"),
      }),
    );
    r.surveyBox = h(
      "section",
      { class: "notes survey", "aria-labelledby": "survey-title", hidden: true },
      h("h2", { id: "survey-title", text: t("room.notes.survey_title") }),
      r.surveyForm,
      r.surveyThanks,
    );
    this.buildCheckoutSteps();
  }

  /** The step bar of a phone's check-out: where I am, back and next. */
  buildCheckoutSteps() {
    const r = this.r;
    this.checkoutStep = 0;
    r.stepLabel = h("p", { class: "step-label", id: "checkout-step", "data-test": "checkout-step", tabindex: "-1", "aria-live": "polite" });
    r.stepBack = actionButton("checkout-back", t("join.steps.back"), () => this.moveStep(-1));
    r.stepNext = actionButton("checkout-next", t("join.steps.next"), () => this.moveStep(1));
    r.checkoutSteps = h(
      "nav",
      { class: "checkout-steps", "data-test": "checkout-steps", "aria-label": t("join.steps.label"), hidden: true },
      r.stepLabel,
      h("div", { class: "row" }, r.stepBack, r.stepNext),
    );
    r.circleEmpty = h("p", { class: "hint", "data-test": "circle-commitments-empty", text: t("join.steps.none_shared") });
    r.circleCommitmentsBox.append(r.circleEmpty);
    if (!this.phoneQuery && typeof matchMedia === "function") {
      this.phoneQuery = matchMedia("(max-width: 40rem)");
      this.phoneQuery.addEventListener("change", () => this.update());
    }
  }

  /** One step on (`+1`) or back (`-1`) in a phone's check-out; the focus goes to where I am. */
  moveStep(by) {
    this.checkoutStep = Math.max(0, Math.min(CHECKOUT_STEPS.length - 1, this.checkoutStep + by));
    this.update();
    this.r.stepLabel.focus({ preventScroll: true });
    this.r.checkoutSteps.scrollIntoView({ block: "nearest" });
  }

  /**
   * A phone's running check-out as steps: only the current step's parts show, the step bar says
   * which, and the current speaker's line stays at the top (`checkout-stepping`, notes.css).
   */
  renderCheckoutSteps(stepping) {
    const r = this.r;
    const parts = {
      commit: [r.commitTitle, r.commitForm, r.myCommitmentsBox],
      shared: [r.circleCommitmentsBox],
      survey: [r.surveyBox],
    };
    show(r.checkoutSteps, stepping);
    r.centre.classList.toggle("checkout-stepping", stepping);
    // The speaker's line sticks just under the top bar, however tall the bar has wrapped.
    const bar = stepping ? document.querySelector(".topbar") : null;
    const top = bar ? `${Math.ceil(bar.getBoundingClientRect().height)}px` : "";
    if (r.centre.style.getPropertyValue("--sticky-top") !== top) r.centre.style.setProperty("--sticky-top", top);
    const current = CHECKOUT_STEPS[this.checkoutStep];
    for (const step of CHECKOUT_STEPS) {
      for (const el of parts[step]) el.classList.toggle("step-away", stepping && step !== current);
    }
    if (!stepping) return;
    show(r.circleCommitmentsBox, true);
    setText(
      r.stepLabel,
      t("join.steps.of", { n: this.checkoutStep + 1, total: CHECKOUT_STEPS.length, title: t(`join.steps.${current}`) }),
    );
    r.stepLabel.dataset.step = current;
    show(r.stepBack, this.checkoutStep > 0);
    show(r.stepNext, this.checkoutStep < CHECKOUT_STEPS.length - 1);
  }

  /** Asks for my items (`my_items`) once entered, and again after a failure, a little later. */
  maybeLoadMine(live) {
    if (!live || this.mine !== null || this.mineLoading || Date.now() < this.mineRetryAt) return;
    this.mineLoading = true;
    this.conn
      .send("my_items")
      .then((ack) => this.takeMine(ack))
      .catch(() => {
        this.mineRetryAt = Date.now() + 5000;
      })
      .finally(() => {
        this.mineLoading = false;
      });
  }

  /** Whose key seals my private items here: my series' (entered with my personal link), or this device's (null). */
  privateScope() {
    const memory = loadRoomMemory(this.view.id);
    return memory && memory.via === "member" && typeof memory.series === "string" ? memory.series : null;
  }

  /** Seals a private text here; null (and the problem shown) when this browser cannot. */
  async sealed(text, control) {
    try {
      return await seal(text, this.privateScope());
    } catch {
      this.showError({ message: t("private.seal_failed") }, control, null, true);
      return null;
    }
  }

  /**
   * My items with their sealed texts opened on this device. A text another key sealed (another
   * device, another link) reads "can't be read on this device" and is marked `unreadable`.
   */
  async openMine(mine) {
    const scope = this.privateScope();
    let unreadable = false;
    const opened = async (value) => {
      if (!isEnvelope(value)) return value;
      const plain = await open(value, scope);
      if (plain !== null) return plain;
      unreadable = true;
      return t("private.unreadable");
    };
    const commitments = [];
    for (const c of Array.isArray(mine.commitments) ? mine.commitments : []) {
      unreadable = false;
      const text = await opened(c.text);
      commitments.push({ ...c, text, unreadable });
    }
    const feedback = [];
    for (const f of Array.isArray(mine.feedback) ? mine.feedback : []) {
      unreadable = false;
      const helped = await opened(f.helped);
      const helpedLess = await opened(f.helped_less);
      feedback.push({ ...f, helped, helped_less: helpedLess, unreadable });
    }
    let survey = mine.survey || null;
    if (survey && survey.comment) {
      unreadable = false;
      const comment = await opened(survey.comment);
      survey = { ...survey, comment, unreadable };
    }
    return { commitments, feedback, survey };
  }

  /** Keeps my items from an ack (`result.type === "mine"`), their private texts opened here. */
  takeMine(ack) {
    const mine = ack && ack.result && ack.result.type === "mine" ? ack.result.mine : null;
    if (!mine) {
      // A repeated ack after a server restart comes without `result`: ask for my items.
      if (this.mine !== null && !this.mineLoading) {
        this.mine = null;
        this.mineRetryAt = 0;
        this.update();
      }
      return Promise.resolve();
    }
    // The latest ack wins, however long opening the one before takes.
    const turn = (this.mineTurn = (this.mineTurn || 0) + 1);
    return this.openMine(mine).then((opened) => {
      if (turn !== this.mineTurn) return;
      const first = this.mine === null;
      this.mine = opened;
      // Coming back to a form I filled in before (a reload): show what I gave.
      if (first) this.feedbackKey = null;
      this.update();
    });
  }

  /** My feedback for `group`'s current round, if I gave it. */
  savedFeedback(group) {
    if (!this.mine || !group) return null;
    return this.mine.feedback.find((f) => f.group === group.id && f.round === group.round) || null;
  }

  fillSurvey() {
    const r = this.r;
    const s = this.mine && this.mine.survey;
    r.surveyRating.value = s ? s.rating : null;
    r.surveyComment.input.value = s && s.comment && !s.unreadable ? s.comment : "";
    r.surveyVisibility.value = s ? s.visibility : "private";
  }

  renderNotes({ me, planned, session, started, ended, facilitating, pairGroup }) {
    const r = this.r;
    const view = this.view;
    const you = this.conn.you;
    const kind = planned && session !== "lobby" ? planned.kind : null;
    const present = Boolean(me) && !me.removed;
    const consented = present && me.consented;
    const mine = this.mine || { commitments: [], feedback: [], survey: null };
    const here = `${view.id}-`;
    const earlier = mine.commitments.filter((c) => !String(c.id).startsWith(here));
    const made = mine.commitments.filter((c) => String(c.id).startsWith(here));
    const coaching = Boolean(pairGroup) && pairGroup.phase === "coaching";
    const privateWords = t(this.privateScope() ? "private.write_member" : "private.write_device");
    for (const note of privateNotes) setText(note, privateWords);

    // -- looking back: "last time you committed to …"
    const lookingBack = !ended && (session === "lobby" || kind === "check_in");
    const showEarlier = lookingBack && present && earlier.length > 0;
    const showCarried = lookingBack && view.carried.length > 0;
    show(r.lookBack, showEarlier || showCarried);
    if (showEarlier || showCarried) {
      setText(r.lookBackTitle, showEarlier ? t("room.notes.look_back_mine") : t("room.notes.look_back_circle"));
      show(r.earlierBox, showEarlier);
      if (showEarlier) r.earlierList.replaceChildren(...earlier.map((c) => this.earlierItem(c)));
      show(r.carriedBox, showCarried);
      if (showCarried) {
        r.carriedList.replaceChildren(
          ...view.carried.map((c) =>
            h(
              "li",
              { class: "note", "data-commitment": c.id, "data-outcome": c.outcome || "" },
              h("p", { class: "note-who", text: c.member && me && c.member === me.member ? t("room.notes.name_you", { name: c.name }) : c.name }),
              h("p", { class: "note-text", text: c.text }),
              h(
                "p",
                { class: "note-meta" },
                c.due ? `${t("room.notes.by", { date: formatDue(c.due) })} · ` : "",
                h("span", { class: `outcome${c.outcome ? "" : " open"}`, text: outcomeWords(c.outcome) }),
              ),
            ),
          ),
        );
      }
    }

    // -- feedback my clients shared with me
    const toMe = view.feedback.filter((f) => f.to === you);
    const showReceived = toMe.length > 0 && !coaching && session !== "lobby";
    show(r.feedbackBox, showReceived);
    if (showReceived) {
      r.feedbackReceived.replaceChildren(
        ...toMe.map((f) => {
          const group = pairsOf(view).groups.find((g) => g.id === f.group);
          const unit = group && group.members.length === 3 ? "round" : "half";
          const n = formatNumber(f.round + 1);
          return h(
            "li",
            { class: "note", "data-from": String(f.from) },
            h("p", { class: "note-who", text: t(`room.notes.from_${unit}`, { name: this.name(f.from), n, rating: f.rating }) }),
            f.helped ? h("p", { class: "note-text" }, h("span", { class: "note-label", text: t("room.notes.helped_label") }), f.helped) : null,
            f.helped_less
              ? h("p", { class: "note-text" }, h("span", { class: "note-label", text: t("room.notes.helped_less_label") }), f.helped_less)
              : null,
          );
        }),
      );
    }

    // -- the client's feedback form, in the pair view
    const giving = Boolean(pairGroup) && pairGroup.phase === "feedback" && pairGroup.client === you;
    show(r.feedbackForm, giving);
    if (giving) {
      const key = `${pairGroup.id}:${pairGroup.round}`;
      const saved = this.savedFeedback(pairGroup);
      if (this.feedbackKey !== key) {
        this.feedbackKey = key;
        r.feedbackRating.value = saved ? saved.rating : null;
        r.feedbackHelped.input.value = saved && !saved.unreadable ? saved.helped : "";
        r.feedbackHelpedLess.input.value = saved && !saved.unreadable ? saved.helped_less : "";
        r.feedbackVisibility.value = saved ? saved.visibility : "private";
      }
      const coachName = this.name(pairGroup.coach);
      setText(r.feedbackRating.el.querySelector("legend"), t("room.notes.feedback_rating_named", { coach: coachName }));
      setText(r.feedbackSave, saved ? t("room.notes.feedback_update") : t("room.notes.feedback_save"));
      setText(
        r.feedbackSaved,
        saved
          ? saved.visibility === "private"
            ? t("room.notes.feedback_saved_private")
            : saved.visibility === "exportable"
              ? t("room.notes.feedback_saved_exportable", { coach: coachName })
              : t("room.notes.feedback_saved_circle", { coach: coachName })
          : "",
      );
      show(r.feedbackSaved, Boolean(saved));
    }

    // -- my commitment
    const commitStage = COMMITMENT_KINDS.has(kind) && started && !ended;
    const canCommit = commitStage && consented && (kind !== "pairs" || (Boolean(pairGroup) && !coaching));
    const showMade = made.length > 0 && !coaching;
    const showCircle = view.commitments.length > 0 && !coaching && (commitStage || ended || kind === "check_out");
    show(r.commitBox, canCommit || showMade || showCircle);
    setText(r.commitTitle, canCommit ? t("room.notes.my_commitment") : t("room.notes.commitments"));
    setText(r.commitText.el.querySelector("label"), made.length ? t("room.notes.commit_more") : t("room.notes.commit_what"));
    setText(r.commitSave, made.length ? t("room.notes.commit_save_another") : t("room.notes.commit_save"));
    show(r.commitForm, canCommit);
    show(r.myCommitmentsBox, showMade);
    if (showMade) {
      r.myCommitments.replaceChildren(
        ...made.map((c) =>
          h(
            "li",
            { class: "note", "data-commitment": c.id, "data-visibility": c.visibility },
            noteText(c),
            h("p", { class: "note-meta", text: [c.due ? t("room.notes.by", { date: formatDue(c.due) }) : "", visibilityWords(c.visibility)].filter(Boolean).join(" · ") }),
          ),
        ),
      );
    }
    show(r.circleCommitmentsBox, showCircle);
    show(r.circleEmpty, view.commitments.length === 0);
    if (showCircle) {
      r.circleCommitments.replaceChildren(
        ...view.commitments.map((c) =>
          h(
            "li",
            { class: "note", "data-commitment": c.id },
            h("p", { class: "note-who", text: c.author === you ? t("room.notes.name_you", { name: c.name }) : c.name }),
            h("p", { class: "note-text", text: c.text }),
            c.due ? h("p", { class: "note-meta", text: t("room.notes.by", { date: formatDue(c.due) }) }) : null,
          ),
        ),
      );
    }

    // -- the survey, at the check-out and after the end
    const surveyTime = present && ((kind === "check_out" && started) || ended);
    const answered = Boolean(mine.survey);
    show(r.surveyBox, surveyTime);
    show(r.surveyForm, surveyTime && (!answered || this.editingSurvey));
    show(r.surveyThanks, surveyTime && answered && !this.editingSurvey);
    if (answered) {
      const s = mine.survey;
      setText(
        r.surveyThanksText,
        s.comment
          ? t("room.notes.rated_comment", { rating: s.rating, visibility: visibilityWords(s.visibility) })
          : t("room.notes.rated", { rating: s.rating }),
      );
    }
    setText(r.surveySave, answered ? t("room.notes.survey_update") : t("room.notes.survey_send"));

    const phone = Boolean(this.phoneQuery && this.phoneQuery.matches);
    const running = session === "running" || session === "paused";
    this.renderCheckoutSteps(phone && kind === "check_out" && running && consented && !facilitating);

    // One primary action per moment: the room's own first, then what I write.
    const actionPrimary = !r.actions.hidden && [...r.actions.children].some((b) => !b.hidden && b.classList.contains("primary"));
    const candidates = [
      [r.feedbackSave, giving && !this.savedFeedback(pairGroup)],
      [r.commitSave, canCommit && made.length === 0],
      [r.surveySave, surveyTime && (!answered || this.editingSurvey)],
      [r.feedbackSave, giving],
    ];
    const lead = facilitating || actionPrimary ? null : (candidates.find(([, on]) => on) || [null])[0];
    for (const b of [r.feedbackSave, r.commitSave, r.surveySave]) {
      b.classList.toggle("primary", b === lead);
      b.classList.toggle("secondary", b !== lead);
    }
  }

  /** One of my commitments from an earlier session, with how it went. */
  earlierItem(c) {
    const buttons = OUTCOMES.map((value) =>
      h("button", {
        type: "button",
        class: "toggle small",
        "aria-pressed": c.outcome === value ? "true" : "false",
        "data-test": `review-${value}`,
        "data-focus": `review-${c.id}-${value}`,
        "aria-label": outcomeName(value),
        onclick: (e) => this.review(e.currentTarget, c, value),
        text: outcomeLabel(value),
      }),
    );
    return h(
      "li",
      { class: "note", "data-commitment": c.id, "data-outcome": c.outcome || "" },
      noteText(c),
      h("p", { class: "note-meta", text: [c.due ? t("room.notes.by", { date: formatDue(c.due) }) : "", visibilityWords(c.visibility)].filter(Boolean).join(" · ") }),
      h("div", { class: "row wrap review", role: "group", "aria-label": t("room.notes.how_did_it_go", { text: c.text }) }, buttons),
    );
  }

  async review(control, commitment, outcome) {
    const ack = await this.act(control, "review_commitment", { commitment: commitment.id, outcome });
    if (!ack) return;
    this.takeMine(ack);
    announce(t("room.notes.said_reviewed", { outcome: outcomeWords(outcome) }));
  }

  async saveCommitment() {
    const r = this.r;
    const text = cleanText(r.commitText.input.value);
    if (!text) {
      this.showError({ message: t("room.notes.commit_empty") }, r.commitSave, null, true);
      r.commitText.input.focus();
      return;
    }
    const visibility = r.commitVisibility.value;
    const fields = { text, visibility };
    if (visibility === "private") {
      fields.text = await this.sealed(text, r.commitSave);
      if (!fields.text) return;
    }
    if (r.commitDue.value) fields.due = r.commitDue.value;
    const ack = await this.act(r.commitSave, "record_commitment", fields);
    if (!ack) return;
    r.commitText.input.value = "";
    r.commitDue.value = "";
    r.commitVisibility.value = "private";
    this.takeMine(ack);
    announce(t("room.notes.said_commitment", { visibility: visibilityWords(visibility) }));
  }

  async saveFeedback() {
    const r = this.r;
    const group = groupOf(this.view, this.conn.you);
    if (!group) return;
    const rating = r.feedbackRating.value;
    if (!rating) {
      this.showError({ message: t("room.notes.feedback_no_rating") }, r.feedbackSave, null, true);
      r.feedbackRating.first.focus();
      return;
    }
    const visibility = r.feedbackVisibility.value;
    const texts = [cleanText(r.feedbackHelped.input.value), cleanText(r.feedbackHelpedLess.input.value)];
    if (visibility === "private") {
      for (let i = 0; i < texts.length; i++) {
        if (!texts[i]) continue; // an empty text stays empty: there is nothing to hide
        texts[i] = await this.sealed(texts[i], r.feedbackSave);
        if (!texts[i]) return;
      }
    }
    const ack = await this.act(r.feedbackSave, "give_feedback", {
      rating,
      helped: texts[0],
      helped_less: texts[1],
      visibility,
    });
    if (!ack) return;
    this.takeMine(ack);
    announce(
      visibility === "private"
        ? t("room.notes.said_feedback_private")
        : t("room.notes.said_feedback_shared", { coach: this.name(group.coach) }),
    );
  }

  async saveSurvey() {
    const r = this.r;
    const rating = r.surveyRating.value;
    if (!rating) {
      this.showError({ message: t("room.notes.survey_no_rating") }, r.surveySave, null, true);
      r.surveyRating.first.focus();
      return;
    }
    const fields = { rating, visibility: r.surveyVisibility.value };
    const comment = cleanText(r.surveyComment.input.value);
    if (comment) fields.comment = fields.visibility === "private" ? await this.sealed(comment, r.surveySave) : comment;
    if (comment && !fields.comment) return;
    const ack = await this.act(r.surveySave, "answer_survey", fields);
    if (!ack) return;
    this.editingSurvey = false;
    this.takeMine(ack);
    announce(t("room.notes.said_survey"));
  }
}

