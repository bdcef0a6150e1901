//! The built-in formats as data: an action learning set, a lighter coaching circle, a coaching
//! swap and a new pair's first session, with titles, purposes and timeboxes in the words of the
//! practice. Each passes [`super::validate`] (a test checks it).

use circlekeeper_protocol::{Format, Role, SpeakingMode, StageKind, StageSpec};

/// Ids of the built-in formats, in the order a picker shows them.
pub const BUILTIN_IDS: &[&str] = &[
    "action_learning_set",
    "coaching_circle",
    "coaching_swap",
    "first_pair_session",
];

/// One second, in milliseconds.
pub(super) const SECOND: u64 = 1_000;
/// One minute, in milliseconds.
pub(super) const MINUTE: u64 = 60 * SECOND;

/// A built-in format by id.
pub fn builtin(id: &str) -> Option<Format> {
    match id {
        "action_learning_set" => Some(action_learning_set()),
        "coaching_circle" => Some(coaching_circle()),
        "coaching_swap" => Some(coaching_swap()),
        "first_pair_session" => Some(first_pair_session()),
        _ => None,
    }
}

/// A stage with the fields built-ins share: no auto-advance.
pub(super) fn stage(
    kind: StageKind,
    title: &str,
    purpose: &str,
    timebox_ms: u64,
    speaking: SpeakingMode,
) -> StageSpec {
    StageSpec {
        kind,
        title: title.to_owned(),
        purpose: purpose.to_owned(),
        timebox_ms,
        speaking,
        per_speaker_ms: None,
        roles: Vec::new(),
        auto_advance: false,
        per_presenter: false,
        half_ms: None,
        feedback_ms: None,
    }
}

/// A round: everyone in order, each with `per_speaker_ms`.
pub(super) fn round(
    kind: StageKind,
    title: &str,
    purpose: &str,
    timebox_ms: u64,
    per_speaker_ms: u64,
) -> StageSpec {
    StageSpec {
        per_speaker_ms: Some(per_speaker_ms),
        ..stage(kind, title, purpose, timebox_ms, SpeakingMode::Round)
    }
}

/// A stage of the per-presenter block, with the roles it needs.
pub(super) fn for_each_presenter(
    kind: StageKind,
    title: &str,
    purpose: &str,
    timebox_ms: u64,
    speaking: SpeakingMode,
    roles: &[Role],
) -> StageSpec {
    StageSpec {
        roles: roles.to_vec(),
        per_presenter: true,
        ..stage(kind, title, purpose, timebox_ms, speaking)
    }
}

/// The action learning set: check-in, then per presenter a presentation, clarifying
/// questions, coaching questions, reflection and commitment; check-out closes.
fn action_learning_set() -> Format {
    Format {
        name: "Action learning set".to_owned(),
        description: "A set of 4 to 8 peers works on real challenges, one presenter at a time: \
                      the presenter describes a challenge, the set asks clarifying questions \
                      (facts only), then open coaching questions (no advice), and the presenter \
                      reflects and commits to an action. The presenter role rotates."
            .to_owned(),
        stages: vec![
            round(
                StageKind::CheckIn,
                "Check-in",
                "Everyone in turn: how you are arriving, and how last time's commitment went.",
                10 * MINUTE,
                90 * SECOND,
            ),
            for_each_presenter(
                StageKind::Presentation,
                "Presentation",
                "The presenter describes a real challenge, uninterrupted: purpose, outcomes \
                 wanted, and how the set can help.",
                10 * MINUTE,
                SpeakingMode::PresenterOnly,
                &[Role::Presenter],
            ),
            for_each_presenter(
                StageKind::ClarifyingQuestions,
                "Clarifying questions",
                "Questions of fact only (what, who, when) to understand the situation; \
                 no advice hidden in a question.",
                5 * MINUTE,
                SpeakingMode::HandQueue,
                &[Role::Presenter, Role::Coach],
            ),
            for_each_presenter(
                StageKind::CoachingQuestions,
                "Coaching questions",
                "Open, transformational questions that invite new perspectives; no advice. \
                 The presenter talks far more than the coaches.",
                15 * MINUTE,
                SpeakingMode::HandQueue,
                &[Role::Presenter, Role::Coach],
            ),
            for_each_presenter(
                StageKind::Reflection,
                "Reflection",
                "The presenter reflects on what they heard: what stood out, what has shifted.",
                5 * MINUTE,
                SpeakingMode::PresenterOnly,
                &[Role::Presenter],
            ),
            for_each_presenter(
                StageKind::Commitment,
                "Commitment",
                "The presenter states an action they commit to, by when: small steps and \
                 little wins.",
                3 * MINUTE,
                SpeakingMode::PresenterOnly,
                &[Role::Presenter],
            ),
            round(
                StageKind::CheckOut,
                "Check-out",
                "Everyone in turn names one learning they take with them.",
                8 * MINUTE,
                60 * SECOND,
            ),
        ],
    }
}

/// The coaching circle: a lighter circle with a welcome, a check-in, per presenter a
/// presentation, coaching questions and a reflection with a commitment, then discussion and
/// feedback, and a check-out.
fn coaching_circle() -> Format {
    Format {
        name: "Coaching circle".to_owned(),
        description: "A lighter peer coaching circle: a gentle welcome, then each presenter \
                      shares a challenge and the circle listens and asks open questions before \
                      the presenter names a next step. Exquisite listening and a founding belief \
                      in each other matter more than strict method."
            .to_owned(),
        stages: vec![
            stage(
                StageKind::Welcome,
                "Welcome",
                "Settle in, affirm confidentiality, and share what we hope for as a circle.",
                5 * MINUTE,
                SpeakingMode::Open,
            ),
            round(
                StageKind::CheckIn,
                "Check-in",
                "Everyone in turn: how you are arriving today.",
                8 * MINUTE,
                60 * SECOND,
            ),
            for_each_presenter(
                StageKind::Presentation,
                "Presentation",
                "The presenter shares a challenge, uninterrupted, and says how the circle \
                 can help.",
                8 * MINUTE,
                SpeakingMode::PresenterOnly,
                &[Role::Presenter],
            ),
            for_each_presenter(
                StageKind::CoachingQuestions,
                "Coaching questions",
                "Listen deeply and ask open questions that help the presenter find their own \
                 answers.",
                15 * MINUTE,
                SpeakingMode::HandQueue,
                &[Role::Presenter, Role::Coach],
            ),
            for_each_presenter(
                StageKind::Commitment,
                "Reflection & commitment",
                "The presenter says what they take from the questions and names a next step.",
                5 * MINUTE,
                SpeakingMode::PresenterOnly,
                &[Role::Presenter],
            ),
            stage(
                StageKind::Feedback,
                "Discussion & feedback",
                "Open conversation with raised hands: what was most helpful, what was less \
                 helpful, what we learn as coaches.",
                10 * MINUTE,
                SpeakingMode::HandQueue,
            ),
            round(
                StageKind::CheckOut,
                "Check-out",
                "Everyone in turn names one learning they take with them.",
                8 * MINUTE,
                60 * SECOND,
            ),
        ],
    }
}

/// The monthly coaching swap: plenary welcome and check-in, pairing, coaching in pairs (A
/// coaches B, the client's feedback, an explicit role switch, B coaches A, feedback; a triad
/// runs three shorter rounds in the same time), plenary check-out.
fn coaching_swap() -> Format {
    Format {
        name: "Coaching swap".to_owned(),
        description:
            "Everyone is paired (a triad when the count is odd) and coaches for 45 minutes \
                      each way, with the client's feedback after each half and an explicit \
                      role switch in between."
                .to_owned(),
        stages: vec![
            stage(
                StageKind::Welcome,
                "Welcome",
                "Why we are here, the ground rules, how the swap runs.",
                10 * MINUTE,
                SpeakingMode::Open,
            ),
            round(
                StageKind::CheckIn,
                "Check-in",
                "One sentence each: how you arrive, and how last time's commitment went.",
                15 * MINUTE,
                MINUTE,
            ),
            stage(
                StageKind::Pairing,
                "Pairing",
                "You are paired with someone you have not met recently.",
                5 * MINUTE,
                SpeakingMode::Open,
            ),
            StageSpec {
                roles: vec![Role::Coach, Role::Client],
                half_ms: Some(45 * MINUTE),
                feedback_ms: Some(5 * MINUTE),
                ..stage(
                    StageKind::Pairs,
                    "Coaching in pairs",
                    "One coaches, one is coached; the client says what helped; then you switch, \
                     explicitly.",
                    105 * MINUTE,
                    SpeakingMode::Pairs,
                )
            },
            round(
                StageKind::CheckOut,
                "Check-out",
                "One learning, and what you commit to before next time.",
                15 * MINUTE,
                MINUTE,
            ),
        ],
    }
}

/// The first session of an ongoing pair: affirm confidentiality, share expectations and how
/// each likes to be coached, agree logistics, schedule the next sessions, name goals.
fn first_pair_session() -> Format {
    Format {
        name: "First session of a pair".to_owned(),
        description: "The agenda a new peer coaching pair works through before the coaching \
                      itself starts."
            .to_owned(),
        stages: vec![
            stage(
                StageKind::Welcome,
                "Confidentiality",
                "Affirm the ground rule of confidentiality and say what it means to each of you.",
                10 * MINUTE,
                SpeakingMode::Open,
            ),
            stage(
                StageKind::Discussion,
                "Expectations",
                "What you each hope to get from peer coaching; what tends to work for you when \
                 you are coached, and what does not.",
                15 * MINUTE,
                SpeakingMode::Open,
            ),
            stage(
                StageKind::Discussion,
                "Logistics",
                "How often, how long, by phone or in person; what to do when one of you cannot \
                 make it.",
                10 * MINUTE,
                SpeakingMode::Open,
            ),
            stage(
                StageKind::Discussion,
                "Schedule",
                "Put several sessions in your calendars now: do not leave without dates.",
                10 * MINUTE,
                SpeakingMode::Open,
            ),
            stage(
                StageKind::Commitment,
                "Goals",
                "Name the goals or changes you would like to work on over the cycle.",
                15 * MINUTE,
                SpeakingMode::Open,
            ),
        ],
    }
}
