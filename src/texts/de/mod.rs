//! The built-in texts in German: informal "du" ("ihr" to a pair), in the words of German-speaking
//! coaching practice ("Action-Learning-Set", "Verständnisfragen", "fallgebende Person").
//! Keyed by the English text, exactly as the built-in data writes it (see the tests of
//! `texts`); the fixed words of exports are in [`exports`].

mod exports;
mod html;
mod reports;

pub(in crate::texts) use exports::EXPORTS;
pub(in crate::texts) use html::HTML;
pub(in crate::texts) use reports::REPORTS;

/// Every built-in English text of the formats, the prompt bank and a room, and its German.
pub(in crate::texts) static TEXTS: &[(&str, &str)] = &[
    // The action learning set.
    ("Action learning set", "Action-Learning-Set"),
    ("A set of 4 to 8 peers works on real challenges, one presenter at a time: the presenter describes a challenge, the set asks clarifying questions (facts only), then open coaching questions (no advice), and the presenter reflects and commits to an action. The presenter role rotates.", "Ein Set aus 4 bis 8 Peers arbeitet an echten Herausforderungen, mit jeweils einer fallgebenden Person: Sie beschreibt eine Herausforderung, das Set stellt Verständnisfragen (nur Fakten), dann offene Coachingfragen (keine Ratschläge), und die fallgebende Person reflektiert und nimmt sich einen Schritt vor. Die Rolle der fallgebenden Person wechselt."),
    ("Check-in", "Check-in"),
    ("Everyone in turn: how you are arriving, and how last time's commitment went.", "Reihum: Wie kommst du an, und wie ist dein Vorhaben vom letzten Mal gelaufen?"),
    ("Presentation", "Falldarstellung"),
    ("The presenter describes a real challenge, uninterrupted: purpose, outcomes wanted, and how the set can help.", "Die fallgebende Person beschreibt eine echte Herausforderung, ohne Unterbrechung: Anliegen, gewünschte Ergebnisse und wie das Set helfen kann."),
    ("Clarifying questions", "Verständnisfragen"),
    ("Questions of fact only (what, who, when) to understand the situation; no advice hidden in a question.", "Nur Fragen nach Fakten (was, wer, wann), um die Situation zu verstehen; keine Ratschläge, die in einer Frage versteckt sind."),
    ("Coaching questions", "Coachingfragen"),
    ("Open, transformational questions that invite new perspectives; no advice. The presenter talks far more than the coaches.", "Offene, transformierende Fragen, die neue Perspektiven eröffnen; keine Ratschläge. Die fallgebende Person spricht weit mehr als die Coaches."),
    ("Reflection", "Reflexion"),
    ("The presenter reflects on what they heard: what stood out, what has shifted.", "Die fallgebende Person reflektiert, was sie gehört hat: Was ist ihr aufgefallen, was hat sich verschoben?"),
    ("Commitment", "Vorhaben"),
    ("The presenter states an action they commit to, by when: small steps and little wins.", "Die fallgebende Person benennt einen Schritt, den sie sich vornimmt, und bis wann: kleine Schritte und kleine Erfolge."),
    ("Check-out", "Check-out"),
    ("Everyone in turn names one learning they take with them.", "Reihum nennt jede Person eine Erkenntnis, die sie mitnimmt."),
    // The coaching circle.
    ("Coaching circle", "Coaching-Kreis"),
    ("A lighter peer coaching circle: a gentle welcome, then each presenter shares a challenge and the circle listens and asks open questions before the presenter names a next step. Exquisite listening and a founding belief in each other matter more than strict method.", "Ein leichterer Kreis für kollegiales Coaching: ein behutsames Ankommen, dann teilt jede fallgebende Person eine Herausforderung, und der Kreis hört zu und stellt offene Fragen, bevor sie einen nächsten Schritt benennt. Hingebungsvolles Zuhören und ein grundlegendes Vertrauen ineinander zählen mehr als strenge Methode."),
    ("Welcome", "Willkommen"),
    ("Settle in, affirm confidentiality, and share what we hope for as a circle.", "Ankommen, Vertraulichkeit bekräftigen und teilen, was wir uns als Kreis erhoffen."),
    ("Everyone in turn: how you are arriving today.", "Reihum: Wie kommst du heute an?"),
    ("The presenter shares a challenge, uninterrupted, and says how the circle can help.", "Die fallgebende Person teilt eine Herausforderung, ohne Unterbrechung, und sagt, wie der Kreis helfen kann."),
    ("Listen deeply and ask open questions that help the presenter find their own answers.", "Hör tief zu und stell offene Fragen, die der fallgebenden Person helfen, ihre eigenen Antworten zu finden."),
    ("Reflection & commitment", "Reflexion & Vorhaben"),
    ("The presenter says what they take from the questions and names a next step.", "Die fallgebende Person sagt, was sie aus den Fragen mitnimmt, und benennt einen nächsten Schritt."),
    ("Discussion & feedback", "Austausch & Feedback"),
    ("Open conversation with raised hands: what was most helpful, what was less helpful, what we learn as coaches.", "Offenes Gespräch mit Handzeichen: Was hat am meisten geholfen, was weniger, was lernen wir als Coaches?"),
    // The coaching swap.
    ("Coaching swap", "Coaching-Tausch"),
    ("Everyone is paired (a triad when the count is odd) and coaches for 45 minutes each way, with the client's feedback after each half and an explicit role switch in between.", "Alle werden zu Paaren eingeteilt (ein Trio, wenn die Zahl ungerade ist) und coachen sich 45 Minuten in jede Richtung, mit dem Feedback der gecoachten Person nach jeder Hälfte und einem ausdrücklichen Rollenwechsel dazwischen."),
    ("Why we are here, the ground rules, how the swap runs.", "Warum wir hier sind, die Grundregeln, wie der Tausch abläuft."),
    ("One sentence each: how you arrive, and how last time's commitment went.", "Ein Satz pro Person: Wie kommst du an, und wie ist dein Vorhaben vom letzten Mal gelaufen?"),
    ("Pairing", "Paarbildung"),
    ("You are paired with someone you have not met recently.", "Du kommst mit jemandem zusammen, den du in letzter Zeit nicht getroffen hast."),
    ("Coaching in pairs", "Coaching in Paaren"),
    ("One coaches, one is coached; the client says what helped; then you switch, explicitly.", "Eine Person coacht, eine wird gecoacht; die gecoachte Person sagt, was geholfen hat; dann wechselt ihr, ausdrücklich."),
    ("One learning, and what you commit to before next time.", "Eine Erkenntnis, und was du dir bis zum nächsten Mal vornimmst."),
    // A new pair's first session.
    ("First session of a pair", "Erste Sitzung eines Paars"),
    ("The agenda a new peer coaching pair works through before the coaching itself starts.", "Die Agenda, die ein neues Peer-Coaching-Paar durchgeht, bevor das eigentliche Coaching beginnt."),
    ("Confidentiality", "Vertraulichkeit"),
    ("Affirm the ground rule of confidentiality and say what it means to each of you.", "Bekräftigt die Grundregel der Vertraulichkeit und sagt, was sie für jede und jeden von euch bedeutet."),
    ("Expectations", "Erwartungen"),
    ("What you each hope to get from peer coaching; what tends to work for you when you are coached, and what does not.", "Was ihr euch jeweils vom Peer-Coaching erhofft; was euch meist hilft, wenn ihr gecoacht werdet, und was nicht."),
    ("Logistics", "Organisatorisches"),
    ("How often, how long, by phone or in person; what to do when one of you cannot make it.", "Wie oft, wie lange, per Telefon oder persönlich; was ihr tut, wenn jemand von euch nicht kann."),
    ("Schedule", "Termine"),
    ("Put several sessions in your calendars now: do not leave without dates.", "Tragt jetzt mehrere Sitzungen in eure Kalender ein: Geht nicht ohne Termine auseinander."),
    ("Goals", "Ziele"),
    ("Name the goals or changes you would like to work on over the cycle.", "Benennt die Ziele oder Veränderungen, an denen ihr im Lauf des Zyklus arbeiten möchtet."),
    // The prompt bank: the texts.
    ("What does confidentiality mean to each of us here?", "Was bedeutet Vertraulichkeit für jede und jeden von uns hier?"),
    ("What brings us together as a circle, and what do we hope for?", "Was bringt uns als Kreis zusammen, und was erhoffen wir uns?"),
    ("How are you arriving today?", "Wie kommst du heute an?"),
    ("What do you hope to get out of today?", "Was erhoffst du dir von heute?"),
    ("Last time you committed to something: how did it go?", "Letztes Mal hast du dir etwas vorgenommen: Wie ist es gelaufen?"),
    ("Purpose: why are you bringing this today?", "Zweck: Warum bringst du das heute ein?"),
    ("Outcomes: what do you want to leave with by the end of your time?", "Ergebnisse: Womit möchtest du am Ende deiner Zeit gehen?"),
    ("Process: how can the circle help you most — questions, reflections, a challenge?", "Prozess: Wie kann dir der Kreis am meisten helfen – mit Fragen, Reflexionen, einer Herausforderung?"),
    ("Facts only: what, who, when — no advice hidden in a question.", "Nur Fakten: was, wer, wann – keine Ratschläge, die in einer Frage versteckt sind."),
    ("What have you tried so far?", "Was hast du bisher versucht?"),
    ("Who else is involved, and what is at stake for them?", "Wer ist noch beteiligt, und was steht für diese Menschen auf dem Spiel?"),
    ("Ask to understand the situation, not to solve it yet.", "Frag, um die Situation zu verstehen, nicht schon, um sie zu lösen."),
    ("What else could this mean?", "Was könnte das noch bedeuten?"),
    ("What potential positive value might there be in this?", "Welchen positiven Wert könnte das möglicherweise haben?"),
    ("What is the opportunity here?", "Worin liegt hier die Chance?"),
    ("How could you make this work?", "Wie könntest du das zum Gelingen bringen?"),
    ("If you had to do this, how would you make it work?", "Wenn du das tun müsstest, wie würdest du es gelingen lassen?"),
    ("Are we on track for getting what you need?", "Sind wir auf einem guten Weg zu dem, was du brauchst?"),
    ("What else do you need to feel complete?", "Was brauchst du noch, damit es für dich rund ist?"),
    ("What else would be helpful?", "Was wäre noch hilfreich?"),
    ("Might it be useful to think of it this way?", "Könnte es hilfreich sein, es so zu sehen?"),
    ("Reflect back what you hear: paraphrase and summarise, then listen.", "Spiegle, was du hörst: paraphrasiere und fasse zusammen, dann hör zu."),
    ("No advice: help them find their own answer.", "Keine Ratschläge: Hilf der Person, ihre eigene Antwort zu finden."),
    ("What stood out for you in the questions you heard?", "Was ist dir an den Fragen, die du gehört hast, aufgefallen?"),
    ("What has shifted in how you see this?", "Was hat sich daran verschoben, wie du das siehst?"),
    ("Which question will you keep thinking about?", "Über welche Frage wirst du weiter nachdenken?"),
    ("What will you do, by when?", "Was wirst du tun, und bis wann?"),
    ("What is the smallest next step?", "Was ist der kleinste nächste Schritt?"),
    ("How sure are you that you will do it? What would make it more likely?", "Wie sicher bist du, dass du es tust? Was würde es wahrscheinlicher machen?"),
    ("Who will you tell, and when will you report back?", "Wem erzählst du davon, und wann berichtest du zurück?"),
    ("Where did you see your own challenges mirrored in what you heard?", "Wo hast du deine eigenen Herausforderungen im Gehörten gespiegelt gesehen?"),
    ("What are we learning about asking good questions?", "Was lernen wir darüber, gute Fragen zu stellen?"),
    ("What was most helpful? What was less helpful?", "Was war am hilfreichsten? Was war weniger hilfreich?"),
    ("Coaches: what worked for you as coach, and what will you try next time?", "Coaches: Was hat für dich als Coach funktioniert, und was probierst du nächstes Mal aus?"),
    ("What did someone do well as coach that they should hear about?", "Was hat jemand als Coach gut gemacht, das die Person hören sollte?"),
    ("One learning you take with you.", "Eine Erkenntnis, die du mitnimmst."),
    ("One word for how you leave.", "Ein Wort dafür, wie du gehst."),
    ("One thing you appreciated in someone today.", "Etwas, das du heute an jemandem geschätzt hast."),
    // The prompt bank: where each comes from.
    ("transformational questions", "transformierende Fragen"),
    ("the coach's role", "die Rolle des Coachs"),
    ("POP model", "POP-Modell"),
    ("action learning", "Action Learning"),
    ("feedback at the end", "Feedback am Ende"),
    ("the first session", "die erste Sitzung"),
    ("accountability", "Verbindlichkeit"),
    ("peer coaching circles", "Peer-Coaching-Kreise"),
    // The default ground rules, and a series' session title when its host gives none.
    ("What is said in this circle stays in this circle: we do not repeat anyone's story or name outside it, and nothing said here is recorded. We listen fully and do not interrupt. We ask questions rather than give advice, unless advice is asked for. Each of us takes part by choice and may pass at any time. A commitment or feedback leaves the room only if its author marks it shareable.", "Was in diesem Kreis gesagt wird, bleibt in diesem Kreis: Wir erzählen niemandes Geschichte weiter und nennen draußen keine Namen, und nichts, was hier gesagt wird, wird aufgezeichnet. Wir hören ganz zu und unterbrechen nicht. Wir stellen Fragen, statt Ratschläge zu geben, außer jemand bittet um Rat. Alle nehmen freiwillig teil und dürfen jederzeit aussetzen. Ein Vorhaben oder Feedback verlässt den Raum nur, wenn die Person, die es geschrieben hat, es als teilbar markiert."),
    ("{title} — session {n}", "{title} — Sitzung {n}"),
];
