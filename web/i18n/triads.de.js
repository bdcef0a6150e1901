// Dreiergruppen über eine Reihe: was der Vorschlag wiederholt, und wer zuletzt in einer Dreiergruppe war.
export default {
  "triads.repeats": { one: "Dieser Vorschlag hat {count} Wiederholung", other: "Dieser Vorschlag hat {count} Wiederholungen" },
  "triads.no_repeats": "Dieser Vorschlag wiederholt nichts aus früheren Sitzungen.",
  "triads.repeats_detail": "{partners} hatten sich schon · {triad} wieder in einer Dreiergruppe",
  "triads.partners": { one: "{count} Paar", other: "{count} Paare" },
  "triads.members": { one: "{count} Person", other: "{count} Personen" },
  "triads.partner_repeat": { one: "{a} und {b} hatten sich schon einmal (zuletzt in Sitzung {session}).", other: "{a} und {b} hatten sich schon {count}-mal (zuletzt in Sitzung {session})." },
  "triads.triad_repeat": { one: "{name} war schon einmal in einer Dreiergruppe: {why}", other: "{name} war schon {count}-mal in einer Dreiergruppe: {why}" },
  "triads.why.everyone_has_been": "alle anderen hier waren ebenso oft in einer.",
  "triads.why.locked": "Sie haben diese Gruppe fixiert.",
  "triads.why.continuing_pair": "die feste Partnerin oder der feste Partner ist mit in der Dreiergruppe.",
  "triads.why.adjusted": "jemand, der seltener in einer Dreiergruppe war, könnte den Platz einnehmen – neu vorschlagen oder zurücktauschen.",
  "triads.why.no_one_else": "alle, die seltener in einer Dreiergruppe waren, sind in einer fixierten Gruppe oder einem festen Paar oder wollten nicht mit jemandem darin gepaart werden.",
  "triads.last_triad": "Zuletzt in der Dreiergruppe (Sitzung {session}): {names}",
  "triads.last_triad_none": "Zuletzt in der Dreiergruppe (Sitzung {session}): niemand, der jetzt hier ist",
};
