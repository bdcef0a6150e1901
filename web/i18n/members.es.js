// The members catalog (es): the end-of-cycle question on a member's page.
export default {
  "members.cycle.asking": "El ciclo {cycle} ha terminado. ¿Cómo te gustaría seguir: continuar, cambiar de pareja o dejarlo?",
  "members.cycle.progress": "Ciclo {cycle}: {done} de {total} sesiones hasta ahora.",
  "members.cycle.previousTitle": "Tus elecciones anteriores",
  "members.cycle.previousItem": "Ciclo {cycle}: {choice}",
};
