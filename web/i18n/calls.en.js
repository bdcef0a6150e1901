// The calls catalog (en): call links — the room's, each pair's, and the console's form for them.
export default {
  "calls.join_room": "Join the room's call",
  "calls.join_pair": "Join your pair's call",
  "calls.join_triad": "Join your triad's call",
  "calls.form.title": "Call links",
  "calls.form.room": "Room call link",
  "calls.form.room_hint": "Everyone in the room sees it. It must start with https://.",
  "calls.form.template": "Group call link template",
  "calls.form.template_hint": "Each group gets its own link: {room} becomes the room's id, {group} the group's number, {session} the session's number in its series.",
  "calls.form.list": "Or paste group call links, one per line",
  "calls.form.list_hint": "Group 1 gets the first line, group 2 the second. Groups past the end of the list get the template's link, or none.",
  "calls.form.save": "Save call links",
  "calls.form.saved": "Call links saved. Everyone sees them now.",
  "calls.create.label": "Call link (optional)",
  "calls.create.hint": "A video call address everyone in the room will see, starting with https://.",
  "common.error.invalid_url": "This call link cannot be used: it must be one web address starting with https://, with no spaces.",
};
