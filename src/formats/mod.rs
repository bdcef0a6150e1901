//! Circle formats: the built-in formats as data, and the checks every format passes before a
//! room opens with it.
//!
//! This module owns:
//! - the built-in formats ([`BUILTIN_IDS`], [`builtin`]): an action learning set and a lighter
//!   coaching circle, with titles, purposes and timeboxes in the words of the practice;
//! - validation ([`validate`]) of any format, built-in or custom, with a [`FormatError`] that
//!   names the refused field by a path such as `stages[2].timebox_ms`.
//!
//! Expanding a format per presenter into a room's plan is the room's job, not this module's.

use circlekeeper_protocol::{limits, Format, Role, SpeakingMode, StageKind, StageSpec};

/// Ids of the built-in formats, in the order a picker shows them.
pub const BUILTIN_IDS: &[&str] = &[
    "action_learning_set",
    "coaching_circle",
    "coaching_swap",
    "first_pair_session",
];

/// Longest format name, in characters (after trimming).
const MAX_NAME_CHARS: usize = 100;
/// Longest format description, in characters.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// Longest stage title, in characters.
const MAX_TITLE_CHARS: usize = 100;
/// Longest stage purpose, in characters.
const MAX_PURPOSE_CHARS: usize = 300;
/// Shortest stage timebox: one second.
const MIN_TIMEBOX_MS: u64 = 1_000;
/// Longest stage timebox: four hours.
const MAX_TIMEBOX_MS: u64 = 4 * 60 * 60 * 1_000;
/// Shortest per-speaker timebox: one second.
const MIN_PER_SPEAKER_MS: u64 = 1_000;
/// Longest per-speaker timebox: one hour.
const MAX_PER_SPEAKER_MS: u64 = 60 * 60 * 1_000;

/// One second, in milliseconds.
const SECOND: u64 = 1_000;
/// One minute, in milliseconds.
const MINUTE: u64 = 60 * SECOND;

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

/// A refused format: which field (a JSON-pointer-like path such as `stages[2].timebox_ms`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FormatError {
    /// The refused field, e.g. `name`, `stages`, `stages[3].title`, `stages[3].roles[1]`.
    pub field: String,
    /// Why it is refused, in a sentence a facilitator can act on.
    pub message: String,
}

impl FormatError {
    /// A refusal of `field` because of `message`.
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FormatError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Check a format (built-in or custom) before a room opens.
///
/// The first refused field is reported; fields are checked in document order (name,
/// description, stages, then each stage's fields in turn).
pub fn validate(format: &Format) -> Result<(), FormatError> {
    no_controls("name", &format.name, false)?;
    no_controls("description", &format.description, true)?;
    let name_chars = format.name.trim().chars().count();
    if name_chars == 0 {
        return Err(FormatError::new("name", "must not be empty"));
    }
    if name_chars > MAX_NAME_CHARS {
        return Err(FormatError::new(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters (has {name_chars})"),
        ));
    }

    let description_chars = format.description.chars().count();
    if description_chars > MAX_DESCRIPTION_CHARS {
        return Err(FormatError::new(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters (has {description_chars})"),
        ));
    }

    if format.stages.is_empty() {
        return Err(FormatError::new("stages", "must hold at least one stage"));
    }
    if format.stages.len() > limits::MAX_FORMAT_STAGES {
        return Err(FormatError::new(
            "stages",
            format!(
                "must hold at most {} stages (has {})",
                limits::MAX_FORMAT_STAGES,
                format.stages.len()
            ),
        ));
    }

    format
        .stages
        .iter()
        .enumerate()
        .try_for_each(|(index, stage)| validate_stage(index, stage))
}

/// Refuse control characters in a text people see (line feeds allowed where `lines`), as
/// everything else people type is refused: they would garble every screen that shows it.
fn no_controls(field: &str, text: &str, lines: bool) -> Result<(), FormatError> {
    if text
        .chars()
        .any(|c| c.is_control() && !(lines && c == '\n'))
    {
        return Err(FormatError::new(
            field,
            "must not contain control characters (line breaks are allowed in descriptions and purposes)",
        ));
    }
    Ok(())
}

/// Check one stage; `index` is its place in `stages`, for the field path.
fn validate_stage(index: usize, stage: &StageSpec) -> Result<(), FormatError> {
    let field = |name: &str| format!("stages[{index}].{name}");
    no_controls(&field("title"), &stage.title, false)?;
    no_controls(&field("purpose"), &stage.purpose, true)?;

    let title_chars = stage.title.trim().chars().count();
    if title_chars == 0 {
        return Err(FormatError::new(field("title"), "must not be empty"));
    }
    let title_chars = stage.title.chars().count();
    if title_chars > MAX_TITLE_CHARS {
        return Err(FormatError::new(
            field("title"),
            format!("must be at most {MAX_TITLE_CHARS} characters (has {title_chars})"),
        ));
    }

    let purpose_chars = stage.purpose.chars().count();
    if purpose_chars > MAX_PURPOSE_CHARS {
        return Err(FormatError::new(
            field("purpose"),
            format!("must be at most {MAX_PURPOSE_CHARS} characters (has {purpose_chars})"),
        ));
    }

    if !(MIN_TIMEBOX_MS..=MAX_TIMEBOX_MS).contains(&stage.timebox_ms) {
        return Err(FormatError::new(
            field("timebox_ms"),
            format!(
                "must be between {MIN_TIMEBOX_MS} ms (one second) and {MAX_TIMEBOX_MS} ms \
                 (four hours), not {}",
                stage.timebox_ms
            ),
        ));
    }

    match stage.per_speaker_ms {
        Some(per_speaker) => {
            if !(MIN_PER_SPEAKER_MS..=MAX_PER_SPEAKER_MS).contains(&per_speaker) {
                return Err(FormatError::new(
                    field("per_speaker_ms"),
                    format!(
                        "must be between {MIN_PER_SPEAKER_MS} ms (one second) and \
                         {MAX_PER_SPEAKER_MS} ms (one hour), not {per_speaker}"
                    ),
                ));
            }
            if per_speaker > stage.timebox_ms {
                return Err(FormatError::new(
                    field("per_speaker_ms"),
                    format!(
                        "must not exceed the stage's timebox_ms ({} ms), not {per_speaker}",
                        stage.timebox_ms
                    ),
                ));
            }
        }
        None if stage.speaking == SpeakingMode::Round => {
            return Err(FormatError::new(
                field("per_speaker_ms"),
                "is required when speaking is `round`: each speaker in a round gets a timebox",
            ));
        }
        None => {}
    }

    for (role_index, role) in stage.roles.iter().enumerate() {
        let role_field = || format!("stages[{index}].roles[{role_index}]");
        match role {
            Role::Presenter | Role::Coach | Role::Client | Role::Observer | Role::Member => {}
            Role::Facilitator | Role::CoFacilitator | Role::Timekeeper => {
                return Err(FormatError::new(
                    role_field(),
                    format!(
                        "`{}` is assigned to people, not to stages",
                        role_name(*role)
                    ),
                ));
            }
        }
        if stage.roles[..role_index].contains(role) {
            return Err(FormatError::new(
                role_field(),
                format!(
                    "`{}` appears more than once in this stage's roles",
                    role_name(*role)
                ),
            ));
        }
    }

    let pairs_kind = stage.kind == StageKind::Pairs;
    let pairs_mode = stage.speaking == SpeakingMode::Pairs;
    if pairs_kind != pairs_mode {
        return Err(FormatError::new(
            field("speaking"),
            "a `pairs` stage has `pairs` speaking, and only a `pairs` stage has it",
        ));
    }
    for (name, value) in [
        ("half_ms", stage.half_ms),
        ("feedback_ms", stage.feedback_ms),
    ] {
        let Some(ms) = value else { continue };
        if !pairs_kind {
            return Err(FormatError::new(field(name), "is for `pairs` stages only"));
        }
        if !(MIN_TIMEBOX_MS..=MAX_TIMEBOX_MS).contains(&ms) {
            return Err(FormatError::new(
                field(name),
                format!("must be between {MIN_TIMEBOX_MS} ms and {MAX_TIMEBOX_MS} ms, not {ms}"),
            ));
        }
    }
    if pairs_kind && stage.per_presenter {
        return Err(FormatError::new(
            field("per_presenter"),
            "a `pairs` stage runs once for every pair, not once per presenter",
        ));
    }

    if !stage.per_presenter {
        if stage.roles.contains(&Role::Presenter) {
            return Err(FormatError::new(
                field("per_presenter"),
                "must be true: a stage with the `presenter` role runs once per presenter",
            ));
        }
        if stage.speaking == SpeakingMode::PresenterOnly {
            return Err(FormatError::new(
                field("per_presenter"),
                "must be true: a `presenter_only` stage runs once per presenter",
            ));
        }
    }

    Ok(())
}

/// A role's name as it appears on the wire.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Facilitator => "facilitator",
        Role::CoFacilitator => "co_facilitator",
        Role::Presenter => "presenter",
        Role::Coach => "coach",
        Role::Client => "client",
        Role::Observer => "observer",
        Role::Timekeeper => "timekeeper",
        Role::Member => "member",
    }
}

/// A stage with the fields built-ins share: no auto-advance.
fn stage(
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
fn round(
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
fn for_each_presenter(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid custom format to break one field at a time.
    fn custom() -> Format {
        Format {
            name: "Practice triad".to_owned(),
            description: String::new(),
            stages: vec![
                round(StageKind::CheckIn, "Check-in", "", 5 * MINUTE, MINUTE),
                for_each_presenter(
                    StageKind::CoachingQuestions,
                    "Coaching",
                    "",
                    20 * MINUTE,
                    SpeakingMode::HandQueue,
                    &[Role::Presenter, Role::Coach, Role::Observer],
                ),
            ],
        }
    }

    /// The field path of the refusal, panicking if the format was accepted.
    fn refused_field(format: &Format) -> String {
        validate(format)
            .expect_err("format should be refused")
            .field
    }

    #[test]
    fn control_characters_are_refused_in_every_text_and_line_breaks_only_in_long_ones() {
        let mut f = custom();
        f.name = "Practice\u{7}triad".into();
        assert_eq!(refused_field(&f), "name");
        let mut f = custom();
        f.description = "Two lines\nare fine".into();
        assert_eq!(validate(&f), Ok(()));
        f.description = "A bell\u{7}".into();
        assert_eq!(refused_field(&f), "description");
        let mut f = custom();
        f.stages[0].title = "Check\nin".into();
        assert_eq!(refused_field(&f), "stages[0].title");
        let mut f = custom();
        f.stages[1].purpose = "Ask\nthen listen".into();
        assert_eq!(validate(&f), Ok(()));
        f.stages[1].purpose = "Escape\u{1b}[2J".into();
        assert_eq!(refused_field(&f), "stages[1].purpose");
    }

    #[test]
    fn every_builtin_id_names_a_format_that_validates() {
        for id in BUILTIN_IDS {
            let format = builtin(id).expect("built-in id resolves");
            assert_eq!(validate(&format), Ok(()), "{id}");
        }
    }

    #[test]
    fn builtins_have_the_expected_names() {
        let names: Vec<String> = BUILTIN_IDS
            .iter()
            .filter_map(|id| builtin(id))
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [
                "Action learning set",
                "Coaching circle",
                "Coaching swap",
                "First session of a pair"
            ]
        );
    }

    #[test]
    fn an_unknown_id_is_not_a_builtin() {
        assert_eq!(builtin("speed_dating"), None);
    }

    #[test]
    fn no_builtin_stage_advances_by_itself() {
        for id in BUILTIN_IDS {
            let format = builtin(id).expect("built-in id resolves");
            assert!(format.stages.iter().all(|s| !s.auto_advance), "{id}");
        }
    }

    #[test]
    fn the_action_learning_set_runs_its_stages_in_the_practice_order() {
        let format = builtin("action_learning_set").expect("built-in");
        let kinds: Vec<StageKind> = format.stages.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StageKind::CheckIn,
                StageKind::Presentation,
                StageKind::ClarifyingQuestions,
                StageKind::CoachingQuestions,
                StageKind::Reflection,
                StageKind::Commitment,
                StageKind::CheckOut,
            ]
        );
        let per_presenter: Vec<bool> = format.stages.iter().map(|s| s.per_presenter).collect();
        assert_eq!(per_presenter, [false, true, true, true, true, true, false]);
        assert_eq!(format.stages[0].per_speaker_ms, Some(90 * SECOND));
    }

    #[test]
    fn the_coaching_circle_opens_with_a_welcome_and_closes_with_a_check_out() {
        let format = builtin("coaching_circle").expect("built-in");
        let first = format.stages.first().expect("has stages");
        let last = format.stages.last().expect("has stages");
        assert_eq!(first.kind, StageKind::Welcome);
        assert_eq!(first.speaking, SpeakingMode::Open);
        assert_eq!(last.kind, StageKind::CheckOut);
        assert!(format
            .stages
            .iter()
            .any(|s| s.kind == StageKind::Commitment && s.per_presenter));
    }

    #[test]
    fn a_valid_custom_format_passes() {
        assert_eq!(validate(&custom()), Ok(()));
    }

    #[test]
    fn a_blank_name_is_refused() {
        let mut format = custom();
        format.name = "   ".to_owned();
        assert_eq!(refused_field(&format), "name");
    }

    #[test]
    fn a_name_over_a_hundred_characters_is_refused_but_surrounding_spaces_do_not_count() {
        let mut format = custom();
        format.name = format!("  {}  ", "é".repeat(100));
        assert_eq!(validate(&format), Ok(()));
        format.name = "n".repeat(101);
        assert_eq!(refused_field(&format), "name");
    }

    #[test]
    fn a_description_over_five_hundred_characters_is_refused() {
        let mut format = custom();
        format.description = "d".repeat(500);
        assert_eq!(validate(&format), Ok(()));
        format.description = "d".repeat(501);
        assert_eq!(refused_field(&format), "description");
    }

    #[test]
    fn a_format_without_stages_is_refused() {
        let mut format = custom();
        format.stages.clear();
        assert_eq!(refused_field(&format), "stages");
    }

    #[test]
    fn a_format_with_too_many_stages_is_refused() {
        let mut format = custom();
        let check_in = format.stages[0].clone();
        format.stages = vec![check_in; limits::MAX_FORMAT_STAGES];
        assert_eq!(validate(&format), Ok(()));
        format.stages.push(format.stages[0].clone());
        assert_eq!(refused_field(&format), "stages");
    }

    #[test]
    fn a_blank_or_long_stage_title_is_refused_with_its_index() {
        let mut format = custom();
        format.stages[1].title = " ".to_owned();
        assert_eq!(refused_field(&format), "stages[1].title");
        format.stages[1].title = "t".repeat(101);
        assert_eq!(refused_field(&format), "stages[1].title");
    }

    #[test]
    fn a_purpose_over_three_hundred_characters_is_refused() {
        let mut format = custom();
        format.stages[0].purpose = "p".repeat(301);
        assert_eq!(refused_field(&format), "stages[0].purpose");
    }

    #[test]
    fn a_timebox_under_a_second_or_over_four_hours_is_refused() {
        let mut format = custom();
        format.stages[1].timebox_ms = 999;
        assert_eq!(refused_field(&format), "stages[1].timebox_ms");
        format.stages[1].timebox_ms = 14_400_001;
        assert_eq!(refused_field(&format), "stages[1].timebox_ms");
        format.stages[1].timebox_ms = 14_400_000;
        assert_eq!(validate(&format), Ok(()));
    }

    #[test]
    fn a_per_speaker_timebox_out_of_range_is_refused() {
        let mut format = custom();
        format.stages[0].timebox_ms = MAX_TIMEBOX_MS;
        format.stages[0].per_speaker_ms = Some(999);
        assert_eq!(refused_field(&format), "stages[0].per_speaker_ms");
        format.stages[0].per_speaker_ms = Some(3_600_001);
        assert_eq!(refused_field(&format), "stages[0].per_speaker_ms");
        format.stages[0].per_speaker_ms = Some(3_600_000);
        assert_eq!(validate(&format), Ok(()));
    }

    #[test]
    fn a_per_speaker_timebox_longer_than_the_stage_is_refused() {
        let mut format = custom();
        format.stages[0].timebox_ms = 2 * MINUTE;
        format.stages[0].per_speaker_ms = Some(3 * MINUTE);
        assert_eq!(refused_field(&format), "stages[0].per_speaker_ms");
    }

    #[test]
    fn a_round_without_per_speaker_ms_is_refused() {
        let mut format = custom();
        format.stages[0].per_speaker_ms = None;
        let error = validate(&format).expect_err("refused");
        assert_eq!(error.field, "stages[0].per_speaker_ms");
        assert!(error.message.contains("round"), "{}", error.message);
    }

    #[test]
    fn a_hand_queue_stage_may_do_without_per_speaker_ms() {
        let format = custom();
        assert_eq!(format.stages[1].per_speaker_ms, None);
        assert_eq!(validate(&format), Ok(()));
    }

    #[test]
    fn a_standing_role_in_a_stage_is_refused_as_assigned_to_people() {
        for standing in [Role::Facilitator, Role::CoFacilitator, Role::Timekeeper] {
            let mut format = custom();
            format.stages[1].roles = vec![Role::Presenter, standing];
            let error = validate(&format).expect_err("refused");
            assert_eq!(error.field, "stages[1].roles[1]");
            assert!(
                error
                    .message
                    .contains("is assigned to people, not to stages"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn a_role_named_twice_in_one_stage_is_refused_at_its_second_place() {
        let mut format = custom();
        format.stages[1].roles = vec![Role::Coach, Role::Presenter, Role::Coach];
        assert_eq!(refused_field(&format), "stages[1].roles[2]");
    }

    #[test]
    fn a_stage_with_a_presenter_must_run_per_presenter() {
        let mut format = custom();
        format.stages[1].per_presenter = false;
        assert_eq!(refused_field(&format), "stages[1].per_presenter");
    }

    #[test]
    fn a_presenter_only_stage_must_run_per_presenter() {
        let mut format = custom();
        format.stages.push(stage(
            StageKind::Reflection,
            "Reflection",
            "",
            5 * MINUTE,
            SpeakingMode::PresenterOnly,
        ));
        assert_eq!(refused_field(&format), "stages[2].per_presenter");
    }

    #[test]
    fn the_error_displays_field_and_message() {
        let error = FormatError::new("stages[2].timebox_ms", "too long");
        assert_eq!(error.to_string(), "stages[2].timebox_ms: too long");
    }

    #[test]
    fn a_custom_format_parses_from_json_and_validates() {
        let json = r#"{
            "name": "Coaching swap half",
            "description": "A coaches B, then the client says what helped.",
            "stages": [
                {"kind": "check_in", "title": "Arrive", "timebox_ms": 300000,
                 "speaking": "round", "per_speaker_ms": 60000},
                {"kind": "coaching_questions", "title": "Coaching", "timebox_ms": 2700000,
                 "speaking": "open", "roles": ["coach", "client", "observer"]},
                {"kind": "feedback", "title": "What helped", "purpose": "Most and less helpful.",
                 "timebox_ms": 300000, "speaking": "hand_queue"}
            ]
        }"#;
        let format: Format = serde_json::from_str(json).expect("parses");
        assert_eq!(format.stages.len(), 3);
        assert!(!format.stages[1].per_presenter);
        assert_eq!(validate(&format), Ok(()));
    }

    #[test]
    fn a_custom_format_from_json_with_a_timekeeper_stage_role_is_refused() {
        let json = r#"{
            "name": "Odd",
            "stages": [
                {"kind": "discussion", "title": "Talk", "timebox_ms": 600000,
                 "speaking": "hand_queue", "roles": ["member", "timekeeper"]}
            ]
        }"#;
        let format: Format = serde_json::from_str(json).expect("parses");
        assert_eq!(refused_field(&format), "stages[0].roles[1]");
    }

    #[test]
    fn builtins_survive_a_json_round_trip() {
        for id in BUILTIN_IDS {
            let format = builtin(id).expect("built-in");
            let json = serde_json::to_string(&format).expect("serialises");
            let back: Format = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, format);
        }
    }
}
