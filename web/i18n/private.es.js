// The private catalog (es): what "solo yo" means now that private items are encrypted on the
// device, and what is lost with the link or the device.
export default {
  "private.write_member": "Lo que marcas como «solo yo» se cifra en este dispositivo antes de enviarse: nadie más puede leerlo, ni siquiera el servidor. Solo se abre donde uses tu enlace personal. Si pierdes tu enlace, lo pierdes.",
  "private.write_device": "Lo que marcas como «solo yo» se cifra en este dispositivo antes de enviarse: nadie más puede leerlo, ni siquiera el servidor. Solo se abre en este navegador y este dispositivo. Si lo borras o cambias de dispositivo, lo pierdes.",
  "private.join_note": "Lo que marques como «solo yo» se cifra en este dispositivo y solo puede leerse aquí: si pierdes el dispositivo o borras el navegador, pierdes lo privado.",
  "private.unreadable": "No se puede leer en este dispositivo (se escribió con otro dispositivo u otro enlace).",
  "private.seal_failed": "Este navegador no pudo cifrar lo privado, así que no se envió. Elige otra visibilidad o prueba con otro navegador.",
  "private.link_title": "Guarda tu enlace personal completo",
  "private.link_text": "Tu enlace no tenía clave para lo privado, así que este dispositivo creó una. Guarda este enlace completo y úsalo desde ahora: lo privado que escribas con él solo puede leerse donde uses este enlace. El enlace antiguo no lo abre.",
  "private.link_copy": "Copiar el enlace completo",
  "private.link_saved": "Ya lo guardé",
};
