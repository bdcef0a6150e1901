// The room's links (join and host: share, show again, replace, turn off) and the room section
// (delete, leave).

import { actionButton, announce, confirmDialog, copyButton, h, setText, show } from "/dom.js";
import { t } from "/words.js";

/** The links and room sections. Mixed into RoomScreen: `this` is the screen (its context). */
export class LinksView {
  /** The console's links section: the join link to share, replace or turn off, and the host link. */
  buildLinks() {
    const r = this.r;
    r.linkNotice = h("p", { class: "notice", role: "status", "data-test": "link-notice", hidden: true });
    r.inviteHint = h("p", { class: "hint", "data-test": "invite-hint" });
    r.inviteCode = h("code", { class: "link", "data-test": "invite-link", tabindex: "-1" });
    r.inviteCopy = h("div", { class: "row" }, copyButton(() => this.inviteUrl, t("room.links.copy_join")));
    r.revokeJoin = actionButton(
      "revoke-join",
      t("room.links.join.turn_off"),
      (e) => this.revokeLink(e.currentTarget, "join"),
      "ghost",
    );
    // Any facilitator's device can show the current join link again without replacing it.
    r.showJoin = actionButton("show-join", t("join.links.show"), (e) => this.showJoinLink(e.currentTarget));
    r.joinLinkControls = h(
      "div",
      { class: "row wrap" },
      r.showJoin,
      actionButton("rotate-join", t("room.links.join.replace"), (e) => this.rotateLink(e.currentTarget, "join")),
      r.revokeJoin,
    );
    r.hostLinkCode = h("code", { class: "link", "data-test": "new-host-link" });
    r.hostLinkBox = h(
      "div",
      { hidden: true },
      h("p", { class: "hint", text: t("room.links.new_host_hint") }),
      r.hostLinkCode,
      h("div", { class: "row" }, copyButton(() => this.newHostUrl, t("room.links.copy_host"))),
    );
    r.inviteSection = h(
      "section",
      { class: "panel-section", "data-test": "links" },
      h("h2", { text: t("room.links.title") }),
      r.linkNotice,
      r.inviteHint,
      r.inviteCode,
      r.inviteCopy,
      r.joinLinkControls,
      h("p", { class: "hint", text: t("room.links.host_hint") }),
      r.hostLinkBox,
      h(
        "div",
        { class: "row wrap" },
        actionButton("rotate-host", t("room.links.host.replace"), (e) => this.rotateLink(e.currentTarget, "host")),
        actionButton("revoke-host", t("room.links.host.turn_off"), (e) => this.revokeLink(e.currentTarget, "host"), "ghost"),
      ),
    );

    r.deleteRoom = actionButton("delete-room", t("room.links.delete"), (e) => this.deleteRoom(e.currentTarget), "quiet-danger");
    r.leave = actionButton("leave", t("room.links.leave"), (e) => this.leaveRoom(e.currentTarget), "ghost");
    r.roomSection = h(
      "section",
      { class: "panel-section" },
      h("h2", { text: t("room.links.room") }),
      h("p", { class: "hint", text: t("room.links.delete_hint") }),
      r.deleteRoom,
    );
  }

  /** The links section: the join link to share (when this device has it) and the controls. */
  renderLinks(ended) {
    const r = this.r;
    setText(r.inviteCode, this.inviteUrl || "");
    show(r.inviteCode, Boolean(this.inviteUrl) && !ended);
    show(r.inviteCopy, Boolean(this.inviteUrl) && !ended);
    show(r.joinLinkControls, !ended);
    // Already off: replacing it is the only thing left to do.
    show(r.revokeJoin, !this.joinLinkOff);
    show(r.showJoin, !this.inviteUrl && !this.joinLinkOff);
    let hint = t("join.links.hint_show");
    if (ended) hint = t("room.links.hint_ended");
    else if (this.inviteUrl) hint = t("room.links.hint_share");
    else if (this.joinLinkOff) hint = t("room.links.hint_off");
    setText(r.inviteHint, hint);
    if (this.newHostUrl) setText(r.hostLinkCode, this.newHostUrl);
    show(r.hostLinkBox, Boolean(this.newHostUrl));
  }

  /** Shows a short notice in the links section, and says it to screen readers. */
  linkNotice(text) {
    setText(this.r.linkNotice, text);
    show(this.r.linkNotice, true);
    announce(text);
  }

  /** Keep (or, with a null key, forget) one of the room's links on this device. */
  setLink(link, key) {
    const url = key ? `${location.origin}/r/${encodeURIComponent(this.conn.roomId)}#${link}=${key}` : null;
    if (link === "join") {
      this.inviteUrl = url;
      this.joinLinkOff = !key;
    } else {
      this.hostKey = key;
      this.newHostUrl = url;
    }
    this.keepLink(link, url, key);
  }

  /** Asks before a link changes; gives the focus back to `control` when the answer is no. */
  async confirmLink(control, question, verb, detail) {
    const ok = await confirmDialog(question, verb, detail);
    if (!ok) control.focus();
    return ok;
  }

  async rotateLink(control, link) {
    const detail =
      link === "join"
        ? t("room.links.join.replace_detail")
        : t("room.links.host.replace_detail");
    const ask = t(`room.links.${link}.replace_ask`);
    if (!(await this.confirmLink(control, ask, t("room.links.replace"), detail))) return;
    const ack = await this.act(control, "rotate_link", { link });
    if (!ack) return;
    const result = ack.result;
    if (result && result.type === "link" && result.link === link && result.key) {
      this.setLink(link, result.key);
      this.linkNotice(
        link === "join"
          ? t("room.links.join.replaced")
          : t("room.links.host.replaced"),
      );
    } else {
      // A retried command after a server restart is acknowledged without the key.
      this.setLink(link, null);
      this.linkNotice(t(`room.links.${link}.replaced_lost`));
    }
    this.update();
  }

  /** `show_link`: the room's current join link, on this device too; it is not replaced. */
  async showJoinLink(control) {
    this.clearError();
    control.disabled = true;
    let ack;
    try {
      ack = await this.conn.send("show_link");
    } catch (err) {
      control.disabled = false;
      if (err && err.code === "link_unknown") this.linkNotice(t("join.links.unknown"));
      else this.showError(err, control, "show_link");
      return;
    }
    control.disabled = false;
    const result = ack && ack.result;
    if (result && result.type === "join_key") {
      this.setLink("join", result.join_key || null);
      this.linkNotice(result.join_key ? t("join.links.shown") : t("room.links.join.said_off"));
    }
    this.update();
    // The focus goes to what was asked for (the button is hidden now).
    if (this.inviteUrl) this.r.inviteCode.focus();
  }

  async revokeLink(control, link) {
    const detail =
      link === "join"
        ? t("room.links.join.turn_off_detail")
        : t("room.links.host.turn_off_detail");
    const ask = t(`room.links.${link}.turn_off_ask`);
    if (!(await this.confirmLink(control, ask, t("room.links.turn_off"), detail))) return;
    if (await this.act(control, "revoke_link", { link })) {
      this.setLink(link, null);
      show(this.r.linkNotice, false); // the section says it is off
      announce(t(`room.links.${link}.said_off`));
      this.update();
    }
  }

  async deleteRoom(control) {
    const ok = await confirmDialog(
      t("room.links.delete_ask"),
      t("room.links.delete"),
      t("room.links.delete_detail"),
    );
    if (ok) {
      this.conn.deleting = true;
      await this.act(control, "delete_room");
    } else control.focus();
  }

  async leaveRoom(control) {
    const ok = await confirmDialog(t("room.links.leave_ask"), t("room.links.leave_confirm"), t("room.links.leave_detail"));
    if (ok) await this.act(control, "leave");
  }
}

