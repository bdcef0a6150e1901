// Der Katalog für Anrufe (de): Anruf-Links — der des Raums, der jedes Paars und das Formular der Konsole.
export default {
  "calls.join_room": "Dem Anruf des Raums beitreten",
  "calls.join_pair": "Dem Anruf deines Paars beitreten",
  "calls.join_triad": "Dem Anruf deines Trios beitreten",
  "calls.form.title": "Anruf-Links",
  "calls.form.room": "Anruf-Link des Raums",
  "calls.form.room_hint": "Alle im Raum sehen ihn. Er muss mit https:// beginnen.",
  "calls.form.template": "Vorlage für die Links der Gruppen",
  "calls.form.template_hint": "Jede Gruppe bekommt ihren eigenen Link: {room} wird zur Kennung des Raums, {group} zur Nummer der Gruppe, {session} zur Nummer der Sitzung in ihrer Reihe.",
  "calls.form.list": "Oder Links der Gruppen einfügen, einer pro Zeile",
  "calls.form.list_hint": "Gruppe 1 bekommt die erste Zeile, Gruppe 2 die zweite. Gruppen nach dem Ende der Liste bekommen den Link der Vorlage oder keinen.",
  "calls.form.save": "Anruf-Links speichern",
  "calls.form.saved": "Anruf-Links gespeichert. Alle sehen sie jetzt.",
  "calls.create.label": "Anruf-Link (optional)",
  "calls.create.hint": "Eine Videoanruf-Adresse, die alle im Raum sehen, beginnend mit https://.",
  "common.error.invalid_url": "Dieser Anruf-Link geht nicht: Er muss eine einzige Webadresse sein, die mit https:// beginnt, ohne Leerzeichen.",
};
