// The private catalog (de): what "nur ich" means now that private items are encrypted on the
// device, and what is lost with the link or the device.
export default {
  "private.write_member": "Was du als „nur ich“ markierst, wird auf diesem Gerät verschlüsselt, bevor es gesendet wird: Niemand sonst kann es lesen, auch nicht der Server. Es lässt sich nur dort öffnen, wo du deinen persönlichen Link verwendest. Verlierst du den Link, ist es verloren.",
  "private.write_device": "Was du als „nur ich“ markierst, wird auf diesem Gerät verschlüsselt, bevor es gesendet wird: Niemand sonst kann es lesen, auch nicht der Server. Es lässt sich nur in diesem Browser auf diesem Gerät öffnen. Löschst du ihn oder wechselst das Gerät, ist es verloren.",
  "private.join_note": "Was du als „nur ich“ markierst, wird auf diesem Gerät verschlüsselt und ist nur hier lesbar: Ein verlorenes Gerät oder ein gelöschter Browser bedeutet verlorene private Einträge.",
  "private.unreadable": "Auf diesem Gerät nicht lesbar (mit einem anderen Gerät oder Link geschrieben).",
  "private.seal_failed": "Dieser Browser konnte deinen privaten Eintrag nicht verschlüsseln, daher wurde er nicht gesendet. Wähle eine andere Sichtbarkeit oder versuche einen anderen Browser.",
  "private.link_title": "Speichere deinen vollständigen persönlichen Link",
  "private.link_text": "Dein Link hatte keinen Schlüssel für private Einträge, daher hat dieses Gerät einen erstellt. Speichere diesen vollständigen Link und verwende ihn ab jetzt: Private Einträge, die du damit schreibst, sind nur dort lesbar, wo dieser Link verwendet wird. Der alte Link öffnet sie nicht.",
  "private.link_copy": "Vollständigen Link kopieren",
  "private.link_saved": "Ich habe ihn gespeichert",
};
