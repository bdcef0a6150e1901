// Replays recorded event streams with the web client's own reducer, for tests/reducer.rs.
//
// Reads `{"streams": [{"room": <room from a welcome>, "events": [<event>, ...]}, ...]}` on stdin
// and prints, for each stream in the same order, the view it starts from and the view after each
// of its events, as one JSON array of arrays. Each view is built as
// web/connection.js builds it: `normalView` of the welcome's room, then `applyEvent` for every
// event in order.

import { readFileSync } from "node:fs";

const client = new URL("../web/connection.js", import.meta.url);
const { applyEvent, normalView } = await import(client.href);

const input = JSON.parse(readFileSync(0, "utf8"));
const steps = input.streams.map(({ room, events }) => {
  const view = normalView(room);
  const after = [JSON.stringify(view)];
  for (const event of events) {
    applyEvent(view, event);
    after.push(JSON.stringify(view));
  }
  return after;
});
process.stdout.write(`[${steps.map((after) => `[${after.join(",")}]`).join(",")}]`);
