//! The built-in texts in Spanish: informal "tú", in the words of Spanish-speaking coaching
//! practice ("conjunto de aprendizaje en acción", "preguntas aclaratorias", "quien presenta").
//! Keyed by the English text, exactly as the built-in data writes it (see the tests of
//! `texts`); the fixed words of exports are in [`exports`].

mod exports;
mod html;
mod reports;

pub(in crate::texts) use exports::EXPORTS;
pub(in crate::texts) use html::HTML;
pub(in crate::texts) use reports::REPORTS;

/// Every built-in English text of the formats, the prompt bank and a room, and its Spanish.
pub(in crate::texts) static TEXTS: &[(&str, &str)] = &[
    // The action learning set.
    ("Action learning set", "Conjunto de aprendizaje en acción"),
    ("A set of 4 to 8 peers works on real challenges, one presenter at a time: the presenter describes a challenge, the set asks clarifying questions (facts only), then open coaching questions (no advice), and the presenter reflects and commits to an action. The presenter role rotates.", "Un conjunto de 4 a 8 pares trabaja sobre retos reales, con una persona que presenta cada vez: describe un reto, el conjunto le hace preguntas aclaratorias (solo hechos) y después preguntas de coaching abiertas (sin consejos), y quien presenta reflexiona y se compromete con una acción. El papel de quien presenta va rotando."),
    ("Check-in", "Check-in"),
    ("Everyone in turn: how you are arriving, and how last time's commitment went.", "Por turnos, cada persona: cómo llegas y cómo te fue con el compromiso de la última vez."),
    ("Presentation", "Presentación"),
    ("The presenter describes a real challenge, uninterrupted: purpose, outcomes wanted, and how the set can help.", "Quien presenta describe un reto real, sin interrupciones: su propósito, los resultados que busca y cómo puede ayudar el conjunto."),
    ("Clarifying questions", "Preguntas aclaratorias"),
    ("Questions of fact only (what, who, when) to understand the situation; no advice hidden in a question.", "Solo preguntas sobre hechos (qué, quién, cuándo) para entender la situación; ningún consejo escondido en una pregunta."),
    ("Coaching questions", "Preguntas de coaching"),
    ("Open, transformational questions that invite new perspectives; no advice. The presenter talks far more than the coaches.", "Preguntas abiertas y transformadoras que invitan a nuevas perspectivas; sin consejos. Quien presenta habla mucho más que quienes hacen de coach."),
    ("Reflection", "Reflexión"),
    ("The presenter reflects on what they heard: what stood out, what has shifted.", "Quien presenta reflexiona sobre lo que ha escuchado: qué le ha llamado la atención, qué ha cambiado."),
    ("Commitment", "Compromiso"),
    ("The presenter states an action they commit to, by when: small steps and little wins.", "Quien presenta enuncia una acción con la que se compromete, y para cuándo: pasos pequeños y pequeñas victorias."),
    ("Check-out", "Check-out"),
    ("Everyone in turn names one learning they take with them.", "Por turnos, cada persona nombra un aprendizaje que se lleva."),
    // The coaching circle.
    ("Coaching circle", "Círculo de coaching"),
    ("A lighter peer coaching circle: a gentle welcome, then each presenter shares a challenge and the circle listens and asks open questions before the presenter names a next step. Exquisite listening and a founding belief in each other matter more than strict method.", "Un círculo de coaching entre pares más ligero: una bienvenida tranquila; después, cada persona que presenta comparte un reto y el círculo escucha y hace preguntas abiertas antes de que ella nombre un próximo paso. Una escucha exquisita y una confianza de fondo en cada persona importan más que un método estricto."),
    ("Welcome", "Bienvenida"),
    ("Settle in, affirm confidentiality, and share what we hope for as a circle.", "Acomodarnos, reafirmar la confidencialidad y compartir lo que esperamos como círculo."),
    ("Everyone in turn: how you are arriving today.", "Por turnos, cada persona: cómo llegas hoy."),
    ("The presenter shares a challenge, uninterrupted, and says how the circle can help.", "Quien presenta comparte un reto, sin interrupciones, y dice cómo puede ayudar el círculo."),
    ("Listen deeply and ask open questions that help the presenter find their own answers.", "Escucha a fondo y haz preguntas abiertas que ayuden a quien presenta a encontrar sus propias respuestas."),
    ("Reflection & commitment", "Reflexión y compromiso"),
    ("The presenter says what they take from the questions and names a next step.", "Quien presenta dice qué se lleva de las preguntas y nombra un próximo paso."),
    ("Discussion & feedback", "Conversación y feedback"),
    ("Open conversation with raised hands: what was most helpful, what was less helpful, what we learn as coaches.", "Conversación abierta pidiendo la palabra: qué ayudó más, qué ayudó menos, qué aprendemos como coaches."),
    // The coaching swap.
    ("Coaching swap", "Intercambio de coaching"),
    ("Everyone is paired (a triad when the count is odd) and coaches for 45 minutes each way, with the client's feedback after each half and an explicit role switch in between.", "Todo el mundo trabaja en pareja (en trío si el número es impar) y hace coaching 45 minutos en cada sentido, con el feedback de quien recibe el coaching después de cada mitad y un cambio de papeles explícito entre medias."),
    ("Why we are here, the ground rules, how the swap runs.", "Por qué estamos aquí, las reglas básicas y cómo funciona el intercambio."),
    ("One sentence each: how you arrive, and how last time's commitment went.", "Una frase cada persona: cómo llegas y cómo te fue con el compromiso de la última vez."),
    ("Pairing", "Emparejamiento"),
    ("You are paired with someone you have not met recently.", "Te emparejamos con alguien con quien no has coincidido últimamente."),
    ("Coaching in pairs", "Coaching en parejas"),
    ("One coaches, one is coached; the client says what helped; then you switch, explicitly.", "Una persona hace de coach y la otra recibe el coaching; quien lo recibe dice qué le ayudó; después se cambian los papeles, de forma explícita."),
    ("One learning, and what you commit to before next time.", "Un aprendizaje, y con qué te comprometes antes de la próxima vez."),
    // A new pair's first session.
    ("First session of a pair", "Primera sesión de una pareja"),
    ("The agenda a new peer coaching pair works through before the coaching itself starts.", "La agenda que recorre una nueva pareja de coaching entre pares antes de empezar el coaching propiamente dicho."),
    ("Confidentiality", "Confidencialidad"),
    ("Affirm the ground rule of confidentiality and say what it means to each of you.", "Reafirma la regla básica de la confidencialidad y di qué significa para ti."),
    ("Expectations", "Expectativas"),
    ("What you each hope to get from peer coaching; what tends to work for you when you are coached, and what does not.", "Qué esperas del coaching entre pares; qué suele funcionarte cuando recibes coaching y qué no."),
    ("Logistics", "Logística"),
    ("How often, how long, by phone or in person; what to do when one of you cannot make it.", "Con qué frecuencia, cuánto tiempo, por teléfono o en persona; qué hacer cuando una de las dos personas no pueda."),
    ("Schedule", "Calendario"),
    ("Put several sessions in your calendars now: do not leave without dates.", "Apunta ya varias sesiones en tu calendario: no te vayas sin fechas."),
    ("Goals", "Objetivos"),
    ("Name the goals or changes you would like to work on over the cycle.", "Nombra los objetivos o cambios en los que te gustaría trabajar a lo largo del ciclo."),
    // The prompt bank: the texts.
    ("What does confidentiality mean to each of us here?", "¿Qué significa la confidencialidad para cada persona de este círculo?"),
    ("What brings us together as a circle, and what do we hope for?", "¿Qué nos reúne como círculo y qué esperamos?"),
    ("How are you arriving today?", "¿Cómo llegas hoy?"),
    ("What do you hope to get out of today?", "¿Qué esperas llevarte de hoy?"),
    ("Last time you committed to something: how did it go?", "La última vez te comprometiste a algo: ¿cómo te fue?"),
    ("Purpose: why are you bringing this today?", "Propósito: ¿por qué traes esto hoy?"),
    ("Outcomes: what do you want to leave with by the end of your time?", "Resultados: ¿con qué quieres irte al final de tu tiempo?"),
    ("Process: how can the circle help you most — questions, reflections, a challenge?", "Proceso: ¿cómo puede ayudarte más el círculo: con preguntas, reflexiones, un desafío?"),
    ("Facts only: what, who, when — no advice hidden in a question.", "Solo hechos: qué, quién, cuándo; ningún consejo escondido en una pregunta."),
    ("What have you tried so far?", "¿Qué has probado hasta ahora?"),
    ("Who else is involved, and what is at stake for them?", "¿Quién más está implicado y qué está en juego para esas personas?"),
    ("Ask to understand the situation, not to solve it yet.", "Pregunta para entender la situación, no para resolverla todavía."),
    ("What else could this mean?", "¿Qué más podría significar esto?"),
    ("What potential positive value might there be in this?", "¿Qué valor positivo podría haber en esto?"),
    ("What is the opportunity here?", "¿Cuál es la oportunidad aquí?"),
    ("How could you make this work?", "¿Cómo podrías hacer que esto funcione?"),
    ("If you had to do this, how would you make it work?", "Si tuvieras que hacerlo, ¿cómo harías que funcionara?"),
    ("Are we on track for getting what you need?", "¿Vamos bien encaminados para conseguir lo que necesitas?"),
    ("What else do you need to feel complete?", "¿Qué más necesitas para sentir que está completo?"),
    ("What else would be helpful?", "¿Qué más te sería útil?"),
    ("Might it be useful to think of it this way?", "¿Podría ser útil pensarlo de esta manera?"),
    ("Reflect back what you hear: paraphrase and summarise, then listen.", "Devuelve lo que escuchas: parafrasea y resume, y después escucha."),
    ("No advice: help them find their own answer.", "Sin consejos: ayuda a la otra persona a encontrar su propia respuesta."),
    ("What stood out for you in the questions you heard?", "¿Qué te llamó la atención de las preguntas que escuchaste?"),
    ("What has shifted in how you see this?", "¿Qué ha cambiado en tu manera de verlo?"),
    ("Which question will you keep thinking about?", "¿Qué pregunta te vas a seguir haciendo?"),
    ("What will you do, by when?", "¿Qué vas a hacer, y para cuándo?"),
    ("What is the smallest next step?", "¿Cuál es el siguiente paso más pequeño?"),
    ("How sure are you that you will do it? What would make it more likely?", "¿Qué seguridad tienes de que lo harás? ¿Qué lo haría más probable?"),
    ("Who will you tell, and when will you report back?", "¿A quién se lo vas a contar y cuándo nos contarás cómo ha ido?"),
    ("Where did you see your own challenges mirrored in what you heard?", "¿Dónde viste tus propios retos reflejados en lo que escuchaste?"),
    ("What are we learning about asking good questions?", "¿Qué estamos aprendiendo sobre hacer buenas preguntas?"),
    ("What was most helpful? What was less helpful?", "¿Qué te ayudó más? ¿Qué te ayudó menos?"),
    ("Coaches: what worked for you as coach, and what will you try next time?", "Coaches: ¿qué te funcionó como coach y qué probarás la próxima vez?"),
    ("What did someone do well as coach that they should hear about?", "¿Qué hizo bien alguien como coach que merece escuchar?"),
    ("One learning you take with you.", "Un aprendizaje que te llevas."),
    ("One word for how you leave.", "Una palabra para cómo te vas."),
    ("One thing you appreciated in someone today.", "Algo que hoy has valorado de alguien."),
    // The prompt bank: where each comes from.
    ("transformational questions", "preguntas transformadoras"),
    ("the coach's role", "el papel del coach"),
    ("POP model", "modelo POP"),
    ("action learning", "aprendizaje en acción"),
    ("feedback at the end", "feedback al final"),
    ("the first session", "la primera sesión"),
    ("accountability", "seguimiento de compromisos"),
    ("peer coaching circles", "círculos de coaching entre pares"),
    // The default ground rules, and a series' session title when its host gives none.
    ("What is said in this circle stays in this circle: we do not repeat anyone's story or name outside it, and nothing said here is recorded. We listen fully and do not interrupt. We ask questions rather than give advice, unless advice is asked for. Each of us takes part by choice and may pass at any time. A commitment or feedback leaves the room only if its author marks it shareable.", "Lo que se dice en este círculo se queda en este círculo: no repetimos fuera la historia ni el nombre de nadie, y nada de lo que se dice aquí se graba. Escuchamos con plena atención y no interrumpimos. Hacemos preguntas en lugar de dar consejos, salvo que alguien pida consejo. Cada persona participa porque quiere y puede pasar en cualquier momento. Un compromiso o un feedback sale de la sala solo si quien lo escribió lo marca como compartible."),
    ("{title} — session {n}", "{title} — sesión {n}"),
];
