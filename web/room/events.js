// Events as people hear them: announcements through the live region and the chime.

import { announce } from "/dom.js";
import { formatList, formatNumber, serverText, t } from "/words.js";
import { groupOf, isFacilitating, pairRoleIn, pairRoleWord, roleWord, stageRoleOf } from "/room/model.js";
import { chime, soundEnabled } from "/room/sound.js";

/** Announcements of events. Mixed into RoomScreen: `this` is the screen (its context). */
export class EventsView {
  handleEvent(event, replayed) {
    try {
      this.announceEvent(event, replayed);
    } finally {
      const floor = this.view.turn.floor;
      this.prevFloorId = floor ? floor.participant : null;
      this.lastStatus = this.view.session.status;
      this.prevGroup = groupOf(this.view, this.conn.you);
      this.prevFeedbackToMe = this.view.feedback.filter((f) => f.to === this.conn.you).length;
    }
  }

  announceEvent(event, replayed) {
    if (event.type === "prompt_changed" && event.prompt) this.cardSource = "pushed";
    if (event.type === "stage_entered") {
      // A drawn prompt belongs to the stage it was drawn in.
      this.drawn = null;
    }
    if (event.type === "pairs_changed") {
      const before = this.prevGroup || null;
      const after = groupOf(this.view, this.conn.you);
      // A drawn prompt belongs to the coach of the round it was drawn in.
      if (before && after && after.round !== before.round) this.drawn = null;
      if (!replayed) this.announcePairs(event, before);
      return;
    }
    if (event.type === "link_changed") {
      // Someone else replaced or turned off a link: the one this device kept no longer works.
      if (event.by === this.conn.you) return;
      this.setLink(event.link, null);
      if (!replayed && isFacilitating(this.me)) {
        this.linkNotice(
          t(`room.links.${event.link === "host" ? "host" : "join"}.${event.revoked ? "changed_off" : "changed_replaced"}`, {
            name: this.name(event.by),
          }),
        );
      }
      return;
    }
    if (replayed) return;
    const view = this.view;
    const you = this.conn.you;
    const planned = view.stage ? view.plan[view.stage.index] : null;
    switch (event.type) {
      case "stage_entered": {
        if (!planned) break;
        let text = t("room.said.stage", {
          n: formatNumber(view.stage.index + 1),
          total: formatNumber(view.plan.length),
          title: serverText(planned.title),
        });
        const group = planned.speaking === "pairs" ? groupOf(view, you) : null;
        if (group) {
          const others = this.names(group.members.filter((m) => m !== you));
          text += ` ${t("room.said.stage_pair", { names: others, role: pairRoleWord(pairRoleIn(group, you)) })}`;
        }
        if (event.turn.floor) {
          text += ` ${
            event.turn.floor.participant === you
              ? t("room.said.your_turn")
              : t("room.said.has_floor", { name: this.name(event.turn.floor.participant) })
          }`;
        }
        announce(text);
        break;
      }
      case "turn_changed": {
        const floor = event.turn.floor;
        const floorId = floor ? floor.participant : null;
        const moved = floorId !== this.lastFloorId;
        if (moved) {
          if (floor && floor.participant === you) announce(t("room.said.your_turn"));
          else if (floor) announce(t("room.said.has_floor_role", { name: this.name(floor.participant), role: roleWord(floor.role) }));
          else if (event.turn.round && event.turn.round.position >= event.turn.round.order.length) announce(t("room.said.round_complete"));
          else announce(t("room.said.nobody_floor"));
        } else if (event.reason === "hand_raised") {
          if (event.participant === you) announce(t("room.said.hand_up"));
          else if (isFacilitating(this.me)) announce(t("room.said.raised", { name: this.name(event.participant) }));
        } else if (event.reason === "hand_lowered" && event.participant === you) {
          announce(t("room.said.hand_down"));
        }
        break;
      }
      case "timer_warning": {
        if (event.timer === "stage" && planned) {
          announce(t("room.said.nearly_up", { stage: serverText(planned.title) }));
          if (soundEnabled()) chime();
        } else if (event.timer === "speaker" && view.turn.floor && view.turn.floor.participant === you) {
          announce(t("room.said.speaker_nearly_up"));
          if (soundEnabled()) chime();
        }
        break;
      }
      case "timer_expired":
        if (event.timer === "stage" && planned) announce(t("room.said.up", { stage: serverText(planned.title) }));
        else if (event.timer === "speaker" && view.turn.floor && view.turn.floor.participant === you) announce(t("room.said.speaker_up"));
        break;
      case "session_changed":
        if (event.session.status === "paused") announce(t("room.said.paused"));
        else if (event.session.status === "running" && event.session.started_at !== null && event.stage && this.lastStatus === "paused") announce(t("room.said.resumed"));
        else if (event.session.status === "ended") announce(t("room.said.ended"));
        break;
      case "prompt_changed":
        if (event.prompt && this.pushedVisibleToMe(stageRoleOf(view, you), isFacilitating(this.me))) {
          announce(t("room.said.prompt", { text: serverText(event.prompt.prompt.text) }));
        }
        break;
      case "notes_changed": {
        // The event carries only what changed; the view holds all the feedback shared with me.
        const toMe = view.feedback.filter((f) => f.to === you);
        if (toMe.length > this.prevFeedbackToMe) {
          const newest = toMe[toMe.length - 1];
          announce(t("room.said.feedback", { name: this.name(newest.from) }));
        }
        break;
      }
      case "participant_updated":
        if (event.participant.id === you && event.change === "roles") {
          const p = event.participant;
          const held = [
            p.standing === "co_facilitator" ? roleWord("co_facilitator") : null,
            ...p.roles.map(roleWord),
          ].filter(Boolean);
          announce(held.length ? t("room.said.roles", { roles: formatList(held) }) : t("room.said.no_role"));
        }
        break;
      default:
        break;
    }
  }

  get lastFloorId() {
    return this.prevFloorId === undefined ? null : this.prevFloorId;
  }
}

