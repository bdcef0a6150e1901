//! The single entry point: each input's events, answer and effects — every effect exactly when
//! it is owed, and none with a rejection.

use circlekeeper_protocol::{CycleChoice, LinkKind, Presence};

use super::*;
use crate::room::state::{Effect, Input, MemberEntry, Outcome};

/// Handle `input`; a rejection must leave the room as it was, with no events and no effects.
fn handle(c: &mut Circle, now: u64, input: Input) -> Outcome {
    let before = c.room.clone();
    let outcome = c.room.handle(now, input);
    if outcome.answer.is_err() {
        assert_eq!(c.room, before, "a rejected input changed the room");
        assert!(outcome.events.is_empty() && outcome.effects.is_empty());
    }
    c.log.extend(outcome.events.iter().cloned());
    outcome
}

fn command(c: &mut Circle, from: ParticipantId, command: Command) -> Outcome {
    handle(c, T0, Input::Command { from, command })
}

fn by_host(c: &mut Circle, cmd: Command) -> Outcome {
    let host = c.host;
    command(c, host, cmd)
}

fn refusal(outcome: &Outcome) -> ErrorCode {
    outcome.answer.as_ref().expect_err("should be refused").code
}

fn member(id: &str, choice: Option<CycleChoice>) -> Input {
    Input::Member {
        member: Some(MemberEntry {
            id: id.into(),
            name: "Mo".into(),
            choice,
        }),
    }
}

/// A coaching swap that belongs to a series, in its pairing stage.
fn series_swap(n: usize) -> Circle {
    let mut setup = setup(formats::builtin("coaching_swap").expect("built-in"));
    setup.pairing.in_series = true;
    let mut c = Circle::from_setup(setup, n);
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::JumpToStage { index: 2 });
    c
}

#[test]
fn delete_room_by_a_facilitator_owes_the_delete_and_nothing_else() {
    let mut c = Circle::als(2);
    let ada = c.people[0];
    let refused = command(&mut c, ada, Command::DeleteRoom);
    assert_eq!(refusal(&refused), ErrorCode::Forbidden);
    let deleted = by_host(&mut c, Command::DeleteRoom);
    assert_eq!(deleted.answer, Ok(None));
    assert!(deleted.events.is_empty());
    assert_eq!(deleted.effects, [Effect::Delete]);
}

#[test]
fn each_link_admits_only_its_own_entry_with_a_token() {
    let mut c = Circle::als(1);
    let wrong = Input::Join {
        guest: None,
        name: "Gus".into(),
        link: Some(LinkKind::Host),
    };
    assert_eq!(refusal(&handle(&mut c, T0, wrong)), ErrorCode::InvalidKey);
    let none = Input::Host {
        name: "Gus".into(),
        link: None,
    };
    assert_eq!(refusal(&handle(&mut c, T0, none)), ErrorCode::InvalidKey);
    let joined = handle(
        &mut c,
        T0,
        Input::Join {
            guest: None,
            name: "Gus".into(),
            link: Some(LinkKind::Join),
        },
    );
    let gus = c.room.view().participants.last().expect("joined").id;
    assert_eq!(joined.answer, Ok(None));
    assert!(matches!(
        joined.events.as_slice(),
        [r] if matches!(r.event, Event::ParticipantJoined { .. })
    ));
    assert_eq!(
        joined.effects,
        [
            Effect::IssueToken { participant: gus },
            Effect::Admit { participant: gus }
        ]
    );
    assert_eq!(
        c.room.participant(gus).expect("there").standing,
        Standing::Participant
    );
    handle(
        &mut c,
        T0,
        Input::Host {
            name: "Hal".into(),
            link: Some(LinkKind::Host),
        },
    );
    let hal = c.room.view().participants.last().expect("joined");
    assert_eq!(hal.standing, Standing::Facilitator);
}

#[test]
fn a_member_is_one_participant_on_every_device_until_they_leave_the_series() {
    let mut c = Circle::als(1);
    let unknown = handle(&mut c, T0, Input::Member { member: None });
    assert_eq!(refusal(&unknown), ErrorCode::InvalidKey);
    let left = handle(&mut c, T0, member("m-1", Some(CycleChoice::End)));
    assert_eq!(refusal(&left), ErrorCode::Forbidden, "left the series");
    let first = handle(&mut c, T0, member("m-1", Some(CycleChoice::Continue)));
    let mo = c.room.view().participants.last().expect("joined").id;
    assert_eq!(
        c.room.participant(mo).expect("there").member.as_deref(),
        Some("m-1")
    );
    assert_eq!(
        first.effects,
        [
            Effect::IssueToken { participant: mo },
            Effect::Admit { participant: mo }
        ]
    );
    let count = c.room.view().participants.len();
    let again = handle(&mut c, T0, member("m-1", None));
    assert_eq!(
        c.room.view().participants.len(),
        count,
        "the same participant"
    );
    assert!(again.events.is_empty(), "already connected");
    assert_eq!(
        again.effects,
        [
            Effect::IssueToken { participant: mo },
            Effect::Admit { participant: mo }
        ],
        "a token for the new device"
    );
    let removed = by_host(&mut c, Command::RemoveParticipant { participant: mo });
    assert_eq!(removed.effects, [Effect::Disconnect { participant: mo }]);
    let back = handle(&mut c, T0, member("m-1", None));
    assert_eq!(refusal(&back), ErrorCode::Forbidden, "removed");
}

#[test]
fn a_resume_admits_a_known_participant_without_a_new_token() {
    let mut c = Circle::als(2);
    let [ada, ben] = [c.people[0], c.people[1]];
    let unknown = handle(&mut c, T0, Input::Resume { participant: None });
    assert_eq!(refusal(&unknown), ErrorCode::InvalidToken);
    let away = handle(
        &mut c,
        T0,
        Input::Presence {
            participant: ada,
            presence: Presence::Away,
        },
    );
    assert_eq!(away.answer, Ok(None));
    assert_eq!(away.events.len(), 1);
    assert!(away.effects.is_empty());
    let resumed = handle(
        &mut c,
        T0,
        Input::Resume {
            participant: Some(ada),
        },
    );
    assert_eq!(resumed.answer, Ok(None));
    assert_eq!(resumed.events.len(), 1, "connected again");
    assert_eq!(resumed.effects, [Effect::Admit { participant: ada }]);
    let left = command(&mut c, ben, Command::Leave);
    assert_eq!(left.effects, [Effect::Disconnect { participant: ben }]);
    let back = handle(
        &mut c,
        T0,
        Input::Resume {
            participant: Some(ben),
        },
    );
    assert_eq!(refusal(&back), ErrorCode::Forbidden);
}

#[test]
fn rotating_a_link_gives_the_new_key_to_the_sender_and_revoking_does_not() {
    let mut c = Circle::als(1);
    let ada = c.people[0];
    let link = LinkKind::Join;
    assert_eq!(
        refusal(&command(&mut c, ada, Command::RotateLink { link })),
        ErrorCode::Forbidden
    );
    let rotated = by_host(&mut c, Command::RotateLink { link });
    assert_eq!(
        rotated.answer,
        Ok(None),
        "the runtime puts the key in the ack"
    );
    assert_eq!(
        rotated.effects,
        [Effect::ReplaceLinkKey {
            link,
            give_to_sender: true
        }]
    );
    let revoked = by_host(
        &mut c,
        Command::RevokeLink {
            link: LinkKind::Host,
        },
    );
    assert_eq!(
        revoked.effects,
        [Effect::ReplaceLinkKey {
            link: LinkKind::Host,
            give_to_sender: false
        }]
    );
}

#[test]
fn confirming_pairs_in_a_series_owes_the_series_its_groups() {
    let mut c = series_swap(4);
    let proposed = by_host(&mut c, Command::ProposePairs { seed: Some(3) });
    assert!(proposed.effects.is_empty(), "a proposal is not a record");
    let confirmed = by_host(&mut c, Command::ConfirmPairs);
    let groups = c.room.groups_as_people();
    assert_eq!(groups.len(), 2);
    assert_eq!(confirmed.effects, [Effect::RecordPairs { groups }]);
    // A late joiner who makes a pair a triad changes the record; one left waiting does not.
    let (late, _) = c
        .room
        .join(T0, "Gus", Standing::Participant)
        .expect("joins");
    c.ok(late, Command::AcceptGroundRules);
    let placed = by_host(&mut c, Command::PlaceLate { participant: late });
    assert_eq!(
        placed.effects,
        [Effect::RecordPairs {
            groups: c.room.groups_as_people()
        }]
    );
    // Outside a series there is nothing to record.
    let mut lone = swap(4);
    by_host(&mut lone, Command::ProposePairs { seed: Some(3) });
    let confirmed = by_host(&mut lone, Command::ConfirmPairs);
    assert!(confirmed.effects.is_empty());
}

#[test]
fn writing_notes_owes_saving_them_and_commitments_go_to_the_series() {
    let mut c = series_swap(2);
    let ada = c.people[0];
    let commit = |visibility| Command::RecordCommitment {
        text: note("Call the supplier", visibility),
        due: None,
        visibility,
    };
    let early = command(&mut c, ada, commit(Visibility::Private));
    assert_eq!(refusal(&early), ErrorCode::NotInStage);
    c.ok(c.host, Command::JumpToStage { index: 4 }); // check-out
    let private = command(&mut c, ada, commit(Visibility::Private));
    assert!(private.events.is_empty());
    assert!(matches!(private.answer, Ok(Some(AckResult::Mine { .. }))));
    assert_eq!(
        private.effects,
        [Effect::SaveNotes, Effect::RecordCommitments]
    );
    let mine = command(&mut c, ada, Command::MyItems);
    assert!(mine.effects.is_empty(), "reading writes nothing");
    let survey = command(
        &mut c,
        ada,
        Command::AnswerSurvey {
            rating: 4,
            comment: None,
            visibility: Visibility::Private,
        },
    );
    assert_eq!(survey.effects, [Effect::SaveNotes], "no commitment changed");
    // Outside a series the notes are saved and nothing is recorded.
    let mut lone = swap(2);
    lone.ok(lone.host, Command::JumpToStage { index: 4 });
    let who = lone.people[0];
    let shared = command(&mut lone, who, commit(Visibility::Circle));
    assert_eq!(shared.events.len(), 1);
    assert_eq!(shared.effects, [Effect::SaveNotes]);
}

#[test]
fn the_end_is_owed_whether_a_facilitator_ends_or_time_runs_out() {
    let mut c = Circle::als(1);
    c.ok(c.host, Command::Start);
    let ended = by_host(&mut c, Command::EndSession);
    assert_eq!(ended.effects, [Effect::Ended { at: T0 }]);
    let format = Format {
        name: "One quick stage".into(),
        description: String::new(),
        stages: vec![quick_stage("Only")],
    };
    let mut c = Circle::new(format, 1);
    c.ok(c.host, Command::Start);
    let early = handle(&mut c, T0 + MIN / 2, Input::Tick);
    assert!(early.events.is_empty() && early.effects.is_empty());
    let over = handle(&mut c, T0 + MIN, Input::Tick);
    assert_eq!(over.answer, Ok(None));
    assert_eq!(over.effects, [Effect::Ended { at: T0 + MIN }]);
    assert_eq!(c.room.view().session.status, SessionStatus::Ended);
}

#[test]
fn commands_that_owe_nothing_return_no_effects() {
    let mut c = Circle::als(3);
    for cmd in [
        Command::Start,
        Command::Done,
        Command::NextStage,
        Command::Pause,
        Command::ResumeSession,
    ] {
        let outcome = by_host(&mut c, cmd);
        assert!(outcome.answer.is_ok());
        assert!(!outcome.events.is_empty());
        assert!(outcome.effects.is_empty());
    }
    let again = by_host(&mut c, Command::Start);
    assert_eq!(refusal(&again), ErrorCode::InvalidState);
}

#[test]
fn a_name_that_reads_the_same_as_someone_elses_is_refused_and_changes_nothing() {
    let mut c = Circle::als(2);
    let join = |name: &str| Input::Join {
        guest: None,
        name: name.into(),
        link: Some(LinkKind::Join),
    };
    for same in ["ADA", " ada ", "Ａｄａ", "fran"] {
        let refused = handle(&mut c, T0, join(same));
        assert_eq!(refusal(&refused), ErrorCode::NameTaken, "{same:?}");
        let message = refused.answer.expect_err("refused").message;
        assert!(message.contains("add an initial"), "{message}");
    }
    let host = Input::Host {
        name: "BEN".into(),
        link: Some(LinkKind::Host),
    };
    assert_eq!(refusal(&handle(&mut c, T0, host)), ErrorCode::NameTaken);
    // Someone away still holds their name; someone who left frees it.
    let ada = c.people[0];
    c.room.set_presence(T0, ada, Presence::Away);
    assert_eq!(
        refusal(&handle(&mut c, T0, join("Ada"))),
        ErrorCode::NameTaken
    );
    command(&mut c, ada, Command::Leave);
    assert_eq!(handle(&mut c, T0, join("Ada")).answer, Ok(None));
    assert_eq!(handle(&mut c, T0, join("Ada B.")).answer, Ok(None));
}

#[test]
fn a_member_enters_under_their_series_name_even_when_a_guest_took_it() {
    let mut c = Circle::als(1);
    let guest = Input::Join {
        guest: None,
        name: "mo".into(),
        link: Some(LinkKind::Join),
    };
    assert_eq!(handle(&mut c, T0, guest).answer, Ok(None));
    // "Mo" is the member's name in the series: they are not kept out of their own session.
    let entered = handle(&mut c, T0, member("m-1", None));
    assert_eq!(entered.answer, Ok(None));
    let mo = c.room.view().participants.last().expect("entered");
    assert_eq!(
        (mo.name.as_str(), mo.member.as_deref()),
        ("Mo", Some("m-1"))
    );
    // On another device they are the same participant: their own name does not clash.
    let again = handle(&mut c, T0, member("m-1", None));
    assert_eq!(again.answer, Ok(None));
    // A newcomer may not take the member's name.
    let another = Input::Join {
        guest: None,
        name: "MO".into(),
        link: Some(LinkKind::Join),
    };
    assert_eq!(refusal(&handle(&mut c, T0, another)), ErrorCode::NameTaken);
}
