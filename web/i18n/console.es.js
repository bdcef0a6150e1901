// The console catalog (es): the facilitator's console (its clocks, shortcuts, presence).
export default {
  "console.floor.give_to_away": "Dar la palabra a {name} (ausente)",
  "console.keys.button": "Atajos de teclado",
  "console.keys.close": "Cerrar",
  "console.keys.give_floor": "Dar la palabra a la primera mano levantada",
  "console.keys.help": "Mostrar estos atajos",
  "console.keys.intro": "En la consola, pulsa una tecla (no mientras escribes en un campo):",
  "console.keys.next_stage": "Siguiente etapa (pregunta antes donde el botón pregunta)",
  "console.keys.next_turn": "Siguiente turno en una ronda",
  "console.keys.pause": "Pausar, o reanudar si está en pausa",
  "console.keys.plus_1": "Un minuto más para la etapa",
  "console.keys.title": "Atajos de teclado",
  "console.timer.ended": "terminada",
  "console.timer.over_time": "tiempo excedido",
  "console.timer.stage_time": "tiempo de la etapa",
  "console.timer.turn_time": "este turno",
  "console.timer.your_time": "tu turno",
};
