// The console catalog (en): the facilitator's console (its clocks, shortcuts, presence).
export default {
  "console.floor.give_to_away": "Give floor to {name} (away)",
  "console.keys.button": "Keyboard shortcuts",
  "console.keys.close": "Close",
  "console.keys.give_floor": "Give the floor to the first raised hand",
  "console.keys.help": "Show these shortcuts",
  "console.keys.intro": "On the console, press one key (not while typing in a field):",
  "console.keys.next_stage": "Next stage (asks first where the button asks)",
  "console.keys.next_turn": "Next turn in a round",
  "console.keys.pause": "Pause, or resume while paused",
  "console.keys.plus_1": "One more minute for the stage",
  "console.keys.title": "Keyboard shortcuts",
  "console.timer.ended": "ended",
  "console.timer.over_time": "over time",
  "console.timer.stage_time": "stage time",
  "console.timer.turn_time": "this turn",
  "console.timer.your_time": "your turn",
};
