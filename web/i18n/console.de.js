// The console catalog (de): the facilitator's console (its clocks, shortcuts, presence).
export default {
  "console.floor.give_to_away": "{name} das Wort geben (abwesend)",
  "console.keys.button": "Tastenkürzel",
  "console.keys.close": "Schließen",
  "console.keys.give_floor": "Der ersten gehobenen Hand das Wort geben",
  "console.keys.help": "Diese Tastenkürzel zeigen",
  "console.keys.intro": "Drück in der Konsole eine Taste (nicht, während du in einem Feld tippst):",
  "console.keys.next_stage": "Nächste Phase (fragt vorher, wo die Schaltfläche fragt)",
  "console.keys.next_turn": "Nächster Beitrag in einer Runde",
  "console.keys.pause": "Pausieren, oder in der Pause fortsetzen",
  "console.keys.plus_1": "Eine Minute mehr für die Phase",
  "console.keys.title": "Tastenkürzel",
  "console.timer.ended": "beendet",
  "console.timer.over_time": "überzogen",
  "console.timer.stage_time": "Zeit der Phase",
  "console.timer.turn_time": "dieser Beitrag",
  "console.timer.your_time": "du bist dran",
};
