//! Bounds: what people write is limited per person and per room, events carry only what
//! changed, a series room carries its most recent earlier commitments only, and a plan has a
//! bounded length, so no room grows a frame without end.

use circlekeeper_protocol::{limits, Commitment, Feedback, FeedbackKey};

use super::*;

/// Someone new enters and accepts the ground rules.
fn arrive(c: &mut Circle, name: &str) -> ParticipantId {
    let (id, events) = c.room.join(T0, name, Standing::Participant).expect("joins");
    c.log.extend(events);
    c.ok(id, Command::AcceptGroundRules);
    id
}

fn commit(text: &str, visibility: Visibility) -> Command {
    Command::RecordCommitment {
        text: note(text, visibility),
        due: None,
        visibility,
    }
}

fn feedback(rating: u8, visibility: Visibility) -> Command {
    Command::GiveFeedback {
        rating,
        helped: note("The silence", visibility),
        helped_less: String::new(),
        visibility,
    }
}

/// The room's shared feedback as the notes hold it, in their order.
fn shared_feedback(c: &Circle) -> Vec<Feedback> {
    c.room
        .notes()
        .feedback
        .iter()
        .filter(|f| f.visibility != Visibility::Private)
        .cloned()
        .collect()
}

/// The one `notes_changed` an accepted command made.
fn notes_event(applied: &Applied) -> Event {
    match applied.events.as_slice() {
        [r] if matches!(r.event, Event::NotesChanged { .. }) => r.event.clone(),
        other => panic!("one notes_changed, not {other:?}"),
    }
}

#[test]
fn a_shared_commitment_or_review_sends_that_commitment_alone() {
    let mut c = Circle::new(formats::builtin("coaching_swap").expect("built-in"), 2);
    c.ok(c.host, Command::Start);
    let last = c.room.view().plan.len() - 1;
    c.ok(c.host, Command::JumpToStage { index: last }); // the check-out
    for k in 0..3 {
        c.ok(
            c.people[0],
            commit(&format!("Shared {k}"), Visibility::Circle),
        );
    }
    let fourth = c.ok(c.people[1], commit("Mine to share", Visibility::Exportable));
    let Event::NotesChanged {
        commitments,
        carried,
        feedback,
        feedback_removed,
    } = notes_event(&fourth)
    else {
        unreachable!()
    };
    assert_eq!(commitments.len(), 1, "only the new commitment");
    assert_eq!(commitments[0].text, "Mine to share");
    assert!(carried.is_empty() && feedback.is_empty() && feedback_removed.is_empty());
    assert_eq!(c.room.view().commitments.len(), 4);
    let id = c.room.view().commitments[1].id.clone();
    let reviewed = c.ok(
        c.people[0],
        Command::ReviewCommitment {
            commitment: id.clone(),
            outcome: Outcome::Kept,
        },
    );
    let Event::NotesChanged { commitments, .. } = notes_event(&reviewed) else {
        unreachable!()
    };
    assert_eq!(commitments.len(), 1);
    assert_eq!(
        (&commitments[0].id, commitments[0].outcome),
        (&id, Some(Outcome::Kept))
    );
    assert_eq!(
        c.room.view().commitments[1].outcome,
        Some(Outcome::Kept),
        "in place"
    );
    // The same review again changes nothing the room sees.
    let again = c.ok(
        c.people[0],
        Command::ReviewCommitment {
            commitment: id,
            outcome: Outcome::Kept,
        },
    );
    assert!(again.events.is_empty());
}

#[test]
fn a_room_holds_at_most_its_share_of_commitments_and_newcomers_share_what_remains() {
    let mut c = Circle::new(formats::builtin("coaching_swap").expect("built-in"), 0);
    let mut everyone = vec![c.host];
    for i in 1..limits::MAX_PARTICIPANTS {
        everyone.push(arrive(&mut c, &format!("P{i}")));
    }
    c.ok(c.host, Command::Start);
    let last = c.room.view().plan.len() - 1;
    c.ok(c.host, Command::JumpToStage { index: last });
    // Straight to the room (no clone per command): 64 people, 20 commitments each.
    for &who in &everyone {
        for k in 0..limits::MAX_COMMITMENTS_PER_PERSON {
            let visibility = if k % 2 == 0 {
                Visibility::Private
            } else {
                Visibility::Circle
            };
            c.room
                .apply(T0, who, &commit(&format!("{who}-{k}"), visibility))
                .expect("recorded");
        }
    }
    assert_eq!(
        c.room.notes().commitments.len(),
        limits::MAX_COMMITMENTS_PER_ROOM
    );
    // Someone leaves; a newcomer takes the seat but the room has no commitment left to give.
    c.ok(everyone[1], Command::Leave);
    let newcomer = arrive(&mut c, "Newcomer");
    assert_eq!(
        c.refused(newcomer, commit("One more", Visibility::Private)),
        ErrorCode::TooManyItems
    );
    // Reviews still work.
    let id = c.room.notes().commitments[0].id.clone();
    c.ok(
        c.host,
        Command::ReviewCommitment {
            commitment: id,
            outcome: Outcome::Not,
        },
    );
}

/// A coaching swap of four, running, with both pairs past their first half (so that late
/// joiners are paired with whoever waits); returns the groups.
fn swap_in_feedback() -> (Circle, Vec<circlekeeper_protocol::GroupState>) {
    let mut c = swap(4);
    c.ok(c.host, Command::ProposePairs { seed: Some(3) });
    c.ok(c.host, Command::ConfirmPairs);
    c.ok(c.host, Command::NextStage);
    let groups = c.room.view().pairs.groups.clone();
    for g in &groups {
        c.ok(g.coach, Command::EndHalf { group: None });
    }
    (c, groups)
}

/// The client's coach leaves, and a newcomer is paired with the client (who is the client
/// again) and ends the half at once. Two more newcomers make a pair first (past its half, so
/// that nobody joins it), so that the client is paired with the third newcomer.
fn pair_again(c: &mut Circle, client: ParticipantId, name: &str) {
    for other in ["A", "B"] {
        let newcomer = arrive(c, &format!("{name} {other}"));
        c.ok(
            c.host,
            Command::PlaceLate {
                participant: newcomer,
            },
        );
    }
    let last = c
        .room
        .view()
        .pairs
        .groups
        .last()
        .cloned()
        .expect("a new pair");
    c.ok(last.coach, Command::EndHalf { group: None });
    let coach = group_of(c, client).coach;
    c.ok(coach, Command::Leave);
    assert!(c.room.view().pairs.waiting.contains(&client));
    let newcomer = arrive(c, name);
    c.ok(
        c.host,
        Command::PlaceLate {
            participant: newcomer,
        },
    );
    let g = group_of(c, client);
    assert_eq!((g.client, g.coach), (client, newcomer));
    c.ok(newcomer, Command::EndHalf { group: None });
}

#[test]
fn one_person_gives_at_most_four_feedback_items_and_may_always_replace_one() {
    let (mut c, groups) = swap_in_feedback();
    let client = groups[0].client;
    for n in 0..limits::MAX_FEEDBACK_PER_PERSON {
        if n > 0 {
            pair_again(&mut c, client, &format!("New {n}"));
        }
        c.ok(client, feedback(4, Visibility::Private));
    }
    // Feedback for this group and round is replaced, however many there are.
    let replaced = c.ok(client, feedback(5, Visibility::Circle));
    assert_eq!(notes_event(&replaced), {
        let f = c.room.view().feedback[0].clone();
        assert_eq!((f.from, f.rating), (client, 5));
        Event::NotesChanged {
            commitments: vec![],
            carried: vec![],
            feedback: vec![f],
            feedback_removed: vec![],
        }
    });
    assert_eq!(
        c.room.notes().feedback.len(),
        limits::MAX_FEEDBACK_PER_PERSON
    );
    // A fifth group and round: refused.
    pair_again(&mut c, client, "One too many");
    let seq = c.room.seq();
    assert_eq!(
        c.refused(client, feedback(4, Visibility::Circle)),
        ErrorCode::TooManyItems
    );
    assert_eq!(c.room.seq(), seq);
}

#[test]
fn feedback_made_private_leaves_the_room_and_comes_back_last_in_the_same_order_as_the_notes() {
    let (mut c, groups) = swap_in_feedback();
    let (a, b) = (groups[0].client, groups[1].client);
    c.ok(a, feedback(3, Visibility::Circle));
    c.ok(b, feedback(4, Visibility::Circle));
    let private = c.ok(a, feedback(2, Visibility::Private));
    let Event::NotesChanged {
        feedback_removed, ..
    } = notes_event(&private)
    else {
        unreachable!()
    };
    assert_eq!(
        feedback_removed,
        [FeedbackKey {
            from: a,
            group: groups[0].id,
            round: 0
        }]
    );
    assert_eq!(c.room.view().feedback.len(), 1);
    let shared_again = c.ok(a, feedback(5, Visibility::Exportable));
    let Event::NotesChanged { feedback: put, .. } = notes_event(&shared_again) else {
        unreachable!()
    };
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].rating, 5);
    let order: Vec<ParticipantId> = c.room.view().feedback.iter().map(|f| f.from).collect();
    assert_eq!(order, [b, a], "shared again: last");
    assert_eq!(
        c.room.view().feedback,
        shared_feedback(&c),
        "as the notes list them"
    );
    // Replacing shared feedback keeps its place.
    c.ok(b, feedback(1, Visibility::Circle));
    assert_eq!(c.room.view().feedback[0].rating, 1);
    assert_eq!(c.room.view().feedback, shared_feedback(&c));
    // A restored room shows the same.
    let mut restored = c.room.clone();
    restored.restore_notes(c.room.notes().clone());
    assert_eq!(restored.view(), c.room.view());
}

fn earlier(member: &str, n: usize, made_at: u64) -> Commitment {
    Commitment {
        id: format!("old-{member}-{n}"),
        author: 1,
        name: member.into(),
        member: Some(member.into()),
        text: format!("{member} {n}"),
        due: None,
        visibility: Visibility::Circle,
        made_at,
        outcome: None,
    }
}

#[test]
fn a_series_room_carries_each_members_most_recent_commitments_up_to_the_room_limit() {
    let mut series = Vec::new();
    // Ada's 30, oldest first; Ben's 5, older than all of Ada's.
    for n in 0..5 {
        series.push(earlier("ben", n, T0 + n as u64));
    }
    for n in 0..30 {
        series.push(earlier("ada", n, T0 + 100 + n as u64));
    }
    let mut s = setup(formats::builtin("coaching_swap").expect("built-in"));
    s.earlier = series;
    let room = Room::new(s);
    let carried: Vec<&str> = room.view().carried.iter().map(|c| c.id.as_str()).collect();
    let mut expected: Vec<String> = (0..5).map(|n| format!("old-ben-{n}")).collect();
    expected.extend((10..30).map(|n| format!("old-ada-{n}")));
    assert_eq!(
        carried, expected,
        "Ada's 20 most recent, Ben's 5, in the series' order"
    );
    assert_eq!(room.notes().earlier.len(), 25);

    // Many members: the room keeps the most recent ones, at most its own limit.
    let members = limits::MAX_COMMITMENTS_PER_ROOM / limits::MAX_COMMITMENTS_PER_PERSON + 3;
    let mut series = Vec::new();
    for m in 0..members {
        for n in 0..limits::MAX_COMMITMENTS_PER_PERSON {
            series.push(earlier(&format!("m{m}"), n, T0 + m as u64));
        }
    }
    let mut s = setup(formats::builtin("coaching_swap").expect("built-in"));
    s.earlier = series;
    let room = Room::new(s);
    assert_eq!(room.view().carried.len(), limits::MAX_COMMITMENTS_PER_ROOM);
    assert!(
        room.view().carried.iter().all(|c| c.made_at >= T0 + 3),
        "the three oldest members' commitments are left behind"
    );
}

#[test]
fn a_presenter_order_that_would_make_the_plan_too_long_is_refused() {
    // One stage, then a block of nine per presenter.
    let mut stages = vec![quick_stage("Opening")];
    for k in 0..9 {
        stages.push(StageSpec {
            per_presenter: true,
            ..quick_stage(&format!("Block {k}"))
        });
    }
    let format = Format {
        stages,
        ..formats::builtin("action_learning_set").expect("built-in")
    };
    let mut c = Circle::new(format, 0);
    let mut people = Vec::new();
    for i in 0..60 {
        people.push(arrive(&mut c, &format!("P{i}")));
    }
    let fits = (limits::MAX_PLAN_STAGES - 1) / 9;
    assert!(people.len() > fits);
    assert_eq!(
        c.refused(c.host, Command::ShufflePresenters { seed: Some(1) }),
        ErrorCode::TooManyItems,
        "everyone would present"
    );
    c.ok(
        c.host,
        Command::SetPresenterOrder {
            order: people[..fits].to_vec(),
        },
    );
    assert_eq!(c.room.view().plan.len(), 1 + 9 * fits);
    assert_eq!(
        c.refused(
            c.host,
            Command::SetPresenterOrder {
                order: people[..fits + 1].to_vec(),
            }
        ),
        ErrorCode::TooManyItems
    );
    assert_eq!(c.room.view().plan.len(), 1 + 9 * fits, "unchanged");
}

#[test]
fn a_group_made_after_another_broke_up_never_takes_a_number_that_feedback_was_given_in() {
    let (mut c, groups) = swap_in_feedback();
    // The client of the highest-numbered group, whose number is the one that was given again.
    let client = groups
        .iter()
        .max_by_key(|g| g.id)
        .map(|g| g.client)
        .expect("groups");
    let first = group_of(&c, client).id;
    c.ok(client, feedback(4, Visibility::Circle));
    // The coach leaves: the group breaks up and the client waits; a newcomer is paired with
    // them. Before, the new group took the highest number at work plus one, which could be
    // the broken group's, and the client's next feedback replaced the first one.
    let coach = group_of(&c, client).coach;
    c.ok(coach, Command::Leave);
    assert!(c.room.view().pairs.waiting.contains(&client));
    let newcomer = arrive(&mut c, "Late");
    c.ok(
        c.host,
        Command::PlaceLate {
            participant: newcomer,
        },
    );
    let again = group_of(&c, client);
    assert_eq!((again.client, again.coach), (client, newcomer));
    assert!(
        again.id > first && again.id > groups.iter().map(|g| g.id).max().unwrap_or(0),
        "group {} reuses a number ({first} broke up)",
        again.id
    );
    c.ok(newcomer, Command::EndHalf { group: None });
    c.ok(client, feedback(5, Visibility::Circle));
    let given: Vec<(u32, u8)> = c
        .room
        .notes()
        .feedback
        .iter()
        .filter(|f| f.from == client)
        .map(|f| (f.group, f.rating))
        .collect();
    assert_eq!(
        given,
        vec![(first, 4), (again.id, 5)],
        "both feedback items are kept"
    );
}
