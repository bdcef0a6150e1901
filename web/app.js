// Entry point: loads the reader's words, then routes by URL to a page module under `pages/`:
// `/` opens a room (pages/create.js); `/r/{room}#join=KEY` or `#host=KEY` enters one
// (pages/room.js); `/s/{series}#member=KEY` is a series member's own page (pages/member.js);
// `/host` is the community host's page (pages/host.js). Also keeps `window.circlekeeper`, the
// read-only state tests and debugging look at.

import { connectionLabel, h, isFacilitating, lastExport, participantById, stageRoleOf } from "/room.js";
import { loadServerTexts, t } from "/words.js";
import { app, onRedraw, pageWords, setTitle } from "/pages/shell.js";
import { renderCreatePage } from "/pages/create.js";
import { RoomPage } from "/pages/room.js";
import { MemberPage } from "/pages/member.js";
import { HostPage } from "/pages/host.js";

// Read-only-ish debugging and test access: `window.circlekeeper.state`.
Object.defineProperty(window, "circlekeeper", {
  value: Object.freeze({
    get state() {
      const c = app.conn;
      const view = c && c.view ? structuredClone(c.view) : null;
      const you = c ? c.you : null;
      const me = view && you !== null ? participantById(view, you) : null;
      return Object.freeze({
        page: app.page,
        screen: app.screen,
        roomId: app.roomId,
        seriesId: app.seriesId,
        view,
        seq: c ? c.seq : 0,
        you,
        connection: c ? connectionLabel(c.status) : "offline",
        status: c ? c.status : null,
        clockOffsetMs: c ? c.clock.offset() : 0,
        serverNow: c ? Math.round(c.serverNow()) : Date.now(),
        stageRole: view && you !== null ? stageRoleOf(view, you) : null,
        facilitating: isFacilitating(me),
        pendingCommands: c ? c.pending.size : 0,
      });
    },
    /** The last summary or report downloaded on this page: `{format, filename, text}`. */
    get lastExport() {
      return lastExport();
    },
  }),
  writable: false,
  configurable: false,
});

function notFound(root) {
  app.page = "not-found";
  const draw = () => {
    setTitle("");
    root.replaceChildren(
      h(
        "main",
        { class: "entry", id: "main" },
        h("h1", { text: t("pages.notFound.title") }),
        h("p", {}, t("pages.notFound.text"), h("a", { href: "/", text: t("pages.notFound.create") }), t("pages.notFound.end")),
      ),
    );
  };
  onRedraw(draw);
  draw();
}

function route() {
  const root = document.getElementById("app");
  const path = location.pathname;
  if (path === "/" || path === "/index.html") {
    app.page = "create";
    app.screen = "create";
    renderCreatePage(root);
    return;
  }
  if (path === "/host" || path === "/host/") {
    app.page = "host";
    new HostPage(root).start();
    return;
  }
  const series = path.match(/^\/s\/([A-Za-z0-9_-]{1,128})\/?$/);
  if (series) {
    app.page = "member";
    app.seriesId = series[1];
    new MemberPage(root, series[1]).start();
    window.addEventListener("hashchange", () => {
      if (/(^|[#&])member=/.test(location.hash)) location.reload();
    });
    // Back from a session entered here: show the series page again.
    window.addEventListener("popstate", () => location.reload());
    return;
  }
  const match = path.match(/^\/r\/([A-Za-z0-9_-]{1,128})\/?$/);
  if (!match) {
    notFound(root);
    return;
  }
  app.page = "room";
  app.roomId = match[1];
  const page = new RoomPage(root, match[1]);
  page.start();
  // Opening another link of this room in the same tab changes only the fragment: start over.
  window.addEventListener("hashchange", () => {
    if (/(^|[#&])(join|host)=/.test(location.hash)) location.reload();
  });
}

pageWords();
await loadServerTexts();
route();
