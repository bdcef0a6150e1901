// El catálogo de llamadas (es): enlaces de llamada — el de la sala, el de cada pareja y el formulario de la consola.
export default {
  "calls.join_room": "Unirse a la llamada de la sala",
  "calls.join_pair": "Unirse a la llamada de tu pareja",
  "calls.join_triad": "Unirse a la llamada de tu trío",
  "calls.form.title": "Enlaces de llamada",
  "calls.form.room": "Enlace de llamada de la sala",
  "calls.form.room_hint": "Todas las personas de la sala lo ven. Debe empezar por https://.",
  "calls.form.template": "Plantilla del enlace de cada grupo",
  "calls.form.template_hint": "Cada grupo recibe su propio enlace: {room} se cambia por el id de la sala, {group} por el número del grupo y {session} por el número de la sesión en su serie.",
  "calls.form.list": "O pega los enlaces de los grupos, uno por línea",
  "calls.form.list_hint": "El grupo 1 recibe la primera línea, el grupo 2 la segunda. Los grupos después del final de la lista reciben el enlace de la plantilla, o ninguno.",
  "calls.form.save": "Guardar enlaces de llamada",
  "calls.form.saved": "Enlaces de llamada guardados. Ya los ve todo el mundo.",
  "calls.create.label": "Enlace de llamada (opcional)",
  "calls.create.hint": "Una dirección de videollamada que verán todas las personas de la sala, que empiece por https://.",
  "common.error.invalid_url": "No se puede usar este enlace de llamada: debe ser una sola dirección web que empiece por https://, sin espacios.",
};
