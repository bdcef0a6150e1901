// The members catalog (en): the end-of-cycle question on a member's page.
export default {
  "members.cycle.asking": "Cycle {cycle} has ended. How would you like to go on: continue, rematch or stop?",
  "members.cycle.progress": "Cycle {cycle}: {done} of {total} sessions so far.",
  "members.cycle.previousTitle": "Your earlier choices",
  "members.cycle.previousItem": "Cycle {cycle}: {choice}",
};
