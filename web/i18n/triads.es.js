// Tríos a lo largo de una serie: qué repite la propuesta y quién estuvo en un trío la última vez.
export default {
  "triads.repeats": { one: "Esta propuesta tiene {count} repetición", other: "Esta propuesta tiene {count} repeticiones" },
  "triads.no_repeats": "Esta propuesta no repite nada de sesiones anteriores.",
  "triads.repeats_detail": "{partners} ya se encontraron · {triad} otra vez en un trío",
  "triads.partners": { one: "{count} pareja de personas", other: "{count} parejas de personas" },
  "triads.members": { one: "{count} persona", other: "{count} personas" },
  "triads.partner_repeat": { one: "{a} y {b} ya se encontraron una vez (la última en la sesión {session}).", other: "{a} y {b} ya se encontraron {count} veces (la última en la sesión {session})." },
  "triads.triad_repeat": { one: "{name} ya estuvo en un trío una vez: {why}", other: "{name} ya estuvo en un trío {count} veces: {why}" },
  "triads.why.everyone_has_been": "todos los demás aquí han estado en uno las mismas veces.",
  "triads.why.locked": "bloqueaste este grupo.",
  "triads.why.continuing_pair": "su pareja continua está en el trío con esta persona.",
  "triads.why.adjusted": "alguien que ha estado en menos tríos podría ocupar su lugar: propón de nuevo o deshaz el intercambio.",
  "triads.why.no_one_else": "quienes han estado en menos tríos están en un grupo bloqueado o en una pareja continua, o pidieron no emparejarse con alguien del trío.",
  "triads.last_triad": "En el trío la última vez (sesión {session}): {names}",
  "triads.last_triad_none": "En el trío la última vez (sesión {session}): nadie de los presentes",
};
