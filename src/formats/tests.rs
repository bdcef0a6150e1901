//! Tests of format validation and the built-in formats.

use super::builtin::{for_each_presenter, round, stage, MINUTE, SECOND};
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
