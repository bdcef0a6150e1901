//! Notes: commitments (private and shared), feedback to the coach, the survey.

use super::*;

#[test]
fn a_private_commitment_makes_no_event_and_a_shared_one_does() {
    let mut c = Circle::als(2);
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: vec![c.people[0]],
        },
    );
    c.ok(c.host, Command::Start);
    assert_eq!(
        c.refused(
            c.people[0],
            Command::RecordCommitment {
                text: note("x", Visibility::Private),
                due: None,
                visibility: Visibility::Private
            }
        ),
        ErrorCode::NotInStage,
        "not in the check-in"
    );
    c.ok(c.host, Command::JumpToStage { index: 5 }); // Ada's commitment
    let plain = Command::RecordCommitment {
        text: "Talk to my manager about the budget".into(),
        due: None,
        visibility: Visibility::Private,
    };
    assert_eq!(
        c.refused(c.people[0], plain),
        ErrorCode::InvalidText,
        "a private text must come sealed"
    );
    let sealed_shared = Command::RecordCommitment {
        text: note("Ask for help", Visibility::Private),
        due: None,
        visibility: Visibility::Circle,
    };
    assert_eq!(
        c.refused(c.people[0], sealed_shared),
        ErrorCode::InvalidText,
        "the room could not read a sealed shared text"
    );
    assert!(c.room.notes().commitments.is_empty());
    let private = c.ok(
        c.people[0],
        Command::RecordCommitment {
            text: note("Talk to my manager about the budget", Visibility::Private),
            due: Some("2027-02-01".into()),
            visibility: Visibility::Private,
        },
    );
    assert!(
        private.events.is_empty(),
        "a private commitment is never broadcast"
    );
    let Some(AckResult::Mine { mine }) = private.result else {
        panic!("my items in the ack")
    };
    assert_eq!(mine.commitments.len(), 1);
    assert!(c.room.view().commitments.is_empty());
    let shared = c.ok(
        c.people[0],
        Command::RecordCommitment {
            text: "Ask for help".into(),
            due: None,
            visibility: Visibility::Circle,
        },
    );
    assert!(
        matches!(shared.events.as_slice(), [r] if matches!(r.event, Event::NotesChanged { .. }))
    );
    assert_eq!(c.room.view().commitments.len(), 1);
    assert_eq!(c.room.view().commitments[0].text, "Ask for help");
    for due in [
        "next week",
        "2030-+6-01",
        "+030-06-01",
        "2030-06-+1",
        "1999-06-01",
        "2030-13-01",
    ] {
        assert_eq!(
            c.refused(
                c.people[0],
                Command::RecordCommitment {
                    text: "x".into(),
                    due: Some(due.into()),
                    visibility: Visibility::Circle
                }
            ),
            ErrorCode::InvalidText,
            "{due}"
        );
    }
    // Someone else's items are not mine.
    let other = c.ok(c.people[1], Command::MyItems);
    let Some(AckResult::Mine { mine }) = other.result else {
        panic!("my items")
    };
    assert!(mine.commitments.is_empty());
    // Reviewing my own commitment.
    let id = c.room.view().commitments[0].id.clone();
    assert_eq!(
        c.refused(
            c.people[1],
            Command::ReviewCommitment {
                commitment: id.clone(),
                outcome: Outcome::Kept
            }
        ),
        ErrorCode::InvalidMessage
    );
    c.ok(
        c.people[0],
        Command::ReviewCommitment {
            commitment: id,
            outcome: Outcome::Partly,
        },
    );
    assert_eq!(c.room.view().commitments[0].outcome, Some(Outcome::Partly));
}

#[test]
fn only_the_client_gives_feedback_after_a_half_and_the_survey_comes_at_the_end() {
    let mut c = swap(2);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let g = group_of(&c, c.people[0]);
    let fb = |rating| Command::GiveFeedback {
        rating,
        helped: note("Your silence gave me room", Visibility::Private),
        helped_less: String::new(),
        visibility: Visibility::Private,
    };
    assert_eq!(
        c.refused(g.client, fb(4)),
        ErrorCode::InvalidState,
        "not during the half"
    );
    c.ok(g.coach, Command::EndHalf { group: None });
    assert_eq!(c.refused(g.coach, fb(4)), ErrorCode::Forbidden);
    assert_eq!(c.refused(g.client, fb(9)), ErrorCode::InvalidMessage);
    let given = c.ok(g.client, fb(4));
    assert!(given.events.is_empty(), "private feedback is not broadcast");
    assert_eq!(c.room.notes().feedback[0].to, g.coach);
    let survey = Command::AnswerSurvey {
        rating: 5,
        comment: Some("Calm".into()),
        visibility: Visibility::Exportable,
    };
    assert_eq!(c.refused(g.client, survey.clone()), ErrorCode::NotInStage);
    c.ok(c.host, Command::EndSession);
    let answered = c.ok(g.client, survey);
    let Some(AckResult::Mine { mine }) = answered.result else {
        panic!("my items")
    };
    assert_eq!(mine.survey.map(|s| s.rating), Some(5));
    assert_eq!(mine.feedback.len(), 1);
}
