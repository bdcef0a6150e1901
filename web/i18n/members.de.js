// The members catalog (de): the end-of-cycle question on a member's page.
export default {
  "members.cycle.asking": "Zyklus {cycle} ist zu Ende. Wie möchtest du weitermachen: fortsetzen, neu zuordnen oder aufhören?",
  "members.cycle.progress": "Zyklus {cycle}: bisher {done} von {total} Sitzungen.",
  "members.cycle.previousTitle": "Deine bisherigen Entscheidungen",
  "members.cycle.previousItem": "Zyklus {cycle}: {choice}",
};
