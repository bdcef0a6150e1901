// Triads across a series: what the facilitator's proposal repeats, and who was in a triad last time.
export default {
  "triads.repeats": { one: "This proposal has {count} repeat", other: "This proposal has {count} repeats" },
  "triads.no_repeats": "This proposal repeats nothing from earlier sessions.",
  "triads.repeats_detail": "{partners} met before · {triad} in a triad again",
  "triads.partners": { one: "{count} pair of people", other: "{count} pairs of people" },
  "triads.members": { one: "{count} person", other: "{count} people" },
  "triads.partner_repeat": { one: "{a} and {b} met once before (last in session {session}).", other: "{a} and {b} met {count} times before (last in session {session})." },
  "triads.triad_repeat": { one: "{name} was in a triad once before: {why}", other: "{name} was in a triad {count} times before: {why}" },
  "triads.why.everyone_has_been": "everyone else here has been in one as often.",
  "triads.why.locked": "you locked this group.",
  "triads.why.continuing_pair": "their continuing partner is in the triad with them.",
  "triads.why.adjusted": "someone who has been in fewer triads could take their place — propose again or swap back.",
  "triads.why.no_one_else": "everyone who has been in fewer triads is in a locked group or a continuing pair, or asked not to be paired with someone in it.",
  "triads.last_triad": "In the triad last time (session {session}): {names}",
  "triads.last_triad_none": "In the triad last time (session {session}): nobody here now",
};
