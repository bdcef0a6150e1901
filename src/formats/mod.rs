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

mod builtin;

pub use builtin::{builtin, BUILTIN_IDS};
use circlekeeper_protocol::{limits, Format, Role, SpeakingMode, StageKind, StageSpec};

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

#[cfg(test)]
mod tests;
