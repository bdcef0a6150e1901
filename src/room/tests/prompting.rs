//! Prompts: drawing, pushing to everyone or one role, a clear card per stage.

use super::*;

#[test]
fn coaches_draw_prompts_suited_to_the_stage_and_presenters_do_not() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 3 });
    assert_eq!(c.stage_kind(), StageKind::CoachingQuestions);
    let applied = c.ok(c.people[1], Command::DrawPrompt { seed: Some(7) });
    assert!(applied.events.is_empty(), "a drawn prompt is private");
    let Some(AckResult::Prompt { prompt }) = applied.result else {
        panic!("no prompt in the ack");
    };
    let suited = crate::room::prompts::for_stage(StageKind::CoachingQuestions);
    assert!(suited.contains(&prompt));
    assert_eq!(
        c.refused(c.people[0], Command::DrawPrompt { seed: Some(7) }),
        ErrorCode::Forbidden
    );
}

#[test]
fn a_pushed_prompt_reaches_everyone_or_one_role() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::PushPrompt {
            prompt: Some("tq_what_else_could_this_mean".into()),
            text: None,
            to: Some(Role::Coach),
        },
    );
    let card = c.room.view().prompt.clone().expect("a card");
    assert_eq!(card.to, Some(Role::Coach));
    assert_eq!(card.prompt.text, "What else could this mean?");
    assert_eq!(
        c.refused(
            c.host,
            Command::PushPrompt {
                prompt: Some("nope".into()),
                text: None,
                to: None
            }
        ),
        ErrorCode::UnknownPrompt
    );
    assert_eq!(
        c.refused(
            c.host,
            Command::PushPrompt {
                prompt: None,
                text: Some("x".repeat(501)),
                to: None
            }
        ),
        ErrorCode::InvalidText
    );
    c.ok(c.host, Command::ClearPrompt);
    assert!(c.room.view().prompt.is_none());
}

#[test]
fn a_new_stage_starts_with_a_clear_prompt_card() {
    let mut c = Circle::als(2);
    c.ok(c.host, Command::Start);
    c.ok(
        c.host,
        Command::PushPrompt {
            prompt: Some("tq_what_else_could_this_mean".into()),
            text: None,
            to: None,
        },
    );
    assert!(c.room.view().prompt.is_some());
    c.ok(c.host, Command::NextStage);
    assert!(c.room.view().prompt.is_none());
}
