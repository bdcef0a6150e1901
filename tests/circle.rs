//! A whole circle over real websockets: an action learning set from the room's creation to the
//! end of its session, and the promises that hold along the way (one history for everyone,
//! welcomes that carry the whole room, custom formats, timers that move with the clock).

mod common;

use std::time::Duration;

use circlekeeper::room::prompts;
use circlekeeper::room::state::shuffle;
use circlekeeper_protocol::{
    AckResult, Command, ErrorCode, Event, ParticipantChange, Presence, Role, SessionStatus,
    SpeakingMode, StageKind, Standing, TimerKind, TurnReason,
};
use common::{is_timer, Client, TestServer, EPOCH};
use serde_json::json;

/// Wait until every client named has seen the event with sequence number `seq`.
macro_rules! settle {
    ($seq:expr; $($client:expr),+ $(,)?) => {{
        let seq = $seq;
        $( $client.catch_up(seq).await; )+
    }};
}

const SECOND: u64 = 1_000;
const MINUTE: u64 = 60 * SECOND;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn is_participant(e: &Event, id: u32, change: ParticipantChange) -> bool {
    matches!(e, Event::ParticipantUpdated { participant, change: c } if participant.id == id && *c == change)
}

/// Every client saw the same events with the same sequence numbers, where their histories
/// overlap, and they all agree on the room.
fn assert_one_history(clients: &[&Client]) {
    let first = clients[0];
    for other in &clients[1..] {
        for seen in &other.log {
            if let Some(mine) = first.log.iter().find(|s| s.seq == seen.seq) {
                assert_eq!(
                    mine, seen,
                    "{} and {} saw different events at seq {}",
                    first.name, other.name, seen.seq
                );
            }
        }
        assert_eq!(
            first.seq, other.seq,
            "{} and {} are at different places in the history",
            first.name, other.name
        );
        assert_eq!(
            first.view, other.view,
            "{} and {} see different rooms",
            first.name, other.name
        );
    }
}

#[tokio::test]
async fn a_five_person_action_learning_set_runs_from_creation_to_the_end() {
    let server = TestServer::start().await;

    // ----- the room opens -----------------------------------------------------------------
    let room = server.create_builtin_room("action_learning_set").await;
    let base = format!("{}/r/{}", server.url(), room.room_id);
    assert_eq!(room.join_url, format!("{base}#join={}", room.join_key));
    assert_eq!(room.host_url, format!("{base}#host={}", room.host_key));
    assert_ne!(room.join_key, room.host_key);

    // ----- people arrive ------------------------------------------------------------------
    let mut fran = server.host(&room, "Fran").await;
    let welcome = fran.welcome.clone().expect("welcomed");
    assert_eq!(welcome.protocol, 1);
    assert_eq!(welcome.server_time, EPOCH);
    assert_eq!(welcome.seq, 1, "Fran's arrival is the room's first event");
    assert_eq!(fran.you, 1);
    assert!(fran.token.len() >= 22, "a token carries at least 128 bits");
    assert_eq!(fran.view.id, room.room_id);
    assert_eq!(fran.view.format, "Action learning set");
    assert_eq!(
        fran.view.plan.len(),
        7,
        "one slot per stage until presenters are set"
    );
    assert_eq!(fran.view.session.status, SessionStatus::Lobby);
    assert_eq!(fran.participant(1).standing, Standing::Facilitator);
    assert!(!fran.view.ground_rules.is_empty());

    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    let mut cy = server.join(&room, "Cy").await;
    let mut dee = server.join(&room, "Dee").await;
    assert_eq!((ada.you, ben.you, cy.you, dee.you), (2, 3, 4, 5));
    assert_eq!(dee.participant(2).standing, Standing::Participant);
    assert_ne!(ada.token, ben.token);
    settle!(dee.seq; fran, ada, ben, cy);
    assert_eq!(fran.view.participants.len(), 5);
    for c in [&fran, &ada, &ben, &cy, &dee] {
        assert!(c
            .view
            .participants
            .iter()
            .all(|p| p.presence == Presence::Connected && !p.consented));
    }

    // ----- consent: everyone but Dee accepts the ground rules -----------------------------
    assert_eq!(ada.refused(Command::RaiseHand).await, ErrorCode::NotStarted);
    for c in [&mut fran, &mut ada, &mut ben, &mut cy] {
        c.ok(Command::AcceptGroundRules).await;
    }
    settle!(cy.seq; fran, ada, ben, cy, dee);
    assert!(dee.participant(4).consented && !dee.participant(5).consented);

    // ----- presenters: set, shuffled with a seed, set again -------------------------------
    fran.ok(Command::SetPresenterOrder {
        order: vec![2, 3, 4, 5],
    })
    .await;
    assert_eq!(fran.view.presenter_order, vec![2, 3, 4, 5]);
    assert_eq!(fran.view.plan.len(), 1 + 4 * 5 + 1);
    assert_eq!(fran.view.plan[1].presenter, Some(2));
    assert_eq!(fran.view.plan[6].presenter, Some(3));

    fran.ok(Command::ShufflePresenters { seed: Some(42) }).await;
    let mut expected = vec![2, 3, 4, 5];
    shuffle(&mut expected, 42);
    assert_eq!(fran.view.presenter_order, expected);
    match fran.take_new_events().last() {
        Some(Event::PlanChanged { seed, .. }) => assert_eq!(*seed, Some(42)),
        other => panic!("a shuffle reports its seed: {other:?}"),
    }

    let ack = fran
        .ok(Command::SetPresenterOrder {
            order: vec![2, 3, 4, 5],
        })
        .await;
    settle!(ack.seq; ada, ben, cy, dee);
    assert_eq!(dee.view.presenter_order, vec![2, 3, 4, 5]);

    // ----- start: the check-in round ------------------------------------------------------
    let ack = fran.ok(Command::Start).await;
    assert_eq!(ack.server_time, EPOCH);
    settle!(ack.seq; ada, ben, cy, dee);
    assert_eq!(dee.view.session.status, SessionStatus::Running);
    assert_eq!(dee.view.session.started_at, Some(EPOCH));
    assert_eq!(dee.stage_index(), 0);
    assert_eq!(dee.view.plan[0].speaking, SpeakingMode::Round);
    let round = dee.view.turn.round.clone().expect("a round");
    assert_eq!(round.order, vec![1, 2, 3, 4], "Dee has not consented yet");
    assert_eq!(dee.floor(), Some(1));
    let speaker = dee
        .view
        .turn
        .speaker_timer
        .clone()
        .expect("a speaker timer");
    assert_eq!(speaker.ends_at, Some(EPOCH + 90 * SECOND));
    assert_eq!(dee.stage_timer().ends_at, Some(EPOCH + 10 * MINUTE));

    // Taking a turn before consenting is refused; consenting joins the end of the round.
    assert_eq!(
        dee.refused(Command::RaiseHand).await,
        ErrorCode::ConsentRequired
    );
    let ack = dee.ok(Command::AcceptGroundRules).await;
    assert!(matches!(
        dee.take_new_events().as_slice(),
        [
            Event::ParticipantUpdated {
                change: ParticipantChange::Consented,
                ..
            },
            Event::TurnChanged {
                reason: TurnReason::Joined,
                participant: Some(5),
                ..
            },
        ]
    ));
    settle!(ack.seq; fran, ada, ben, cy);
    assert_eq!(
        fran.view.turn.round.as_ref().map(|r| r.order.clone()),
        Some(vec![1, 2, 3, 4, 5])
    );

    // Fran speaks and is done; Ada passes; Ben speaks for 30 seconds.
    assert_eq!(ada.refused(Command::Done).await, ErrorCode::NotYourTurn);
    fran.ok(Command::Done).await;
    ada.catch_up(fran.seq).await;
    assert_eq!(ada.floor(), Some(2));
    ada.ok(Command::Pass).await;
    assert_eq!(ada.refused(Command::Pass).await, ErrorCode::NotYourTurn);
    ben.catch_up(ada.seq).await;
    assert_eq!(ben.floor(), Some(3));
    assert_eq!(
        ben.view.turn.round.as_ref().map(|r| r.passed.clone()),
        Some(vec![2])
    );
    server.advance(ms(30 * SECOND));
    ben.ok(Command::Done).await;
    assert!(ben
        .view
        .floor_time
        .by_participant
        .contains(&(3, 30 * SECOND)));

    // Cy runs over: the speaker timer warns at a quarter of 90 s, then runs into overtime.
    cy.catch_up(ben.seq).await;
    assert_eq!(cy.floor(), Some(4));
    let cy_ends = cy
        .view
        .turn
        .speaker_timer
        .as_ref()
        .and_then(|t| t.ends_at)
        .expect("Cy's speaker timer runs");
    assert_eq!(cy_ends, server.now() + 90 * SECOND);
    server.advance(ms(90 * SECOND - 22_500));
    for c in [&mut fran, &mut cy] {
        c.expect_event(|e| is_timer(TimerKind::Speaker, e, false))
            .await;
    }
    let warned = cy.view.turn.speaker_timer.clone().expect("speaker timer");
    assert!(warned.warned && !warned.expired);
    assert_eq!(warned.remaining_ms(server.now()), 22_500);
    server.advance(ms(30 * SECOND));
    for c in [&mut fran, &mut cy] {
        c.expect_event(|e| is_timer(TimerKind::Speaker, e, true))
            .await;
    }
    let over = cy.view.turn.speaker_timer.clone().expect("speaker timer");
    assert!(over.expired);
    assert_eq!(
        over.remaining_ms(server.now()),
        -7_500,
        "overtime is negative"
    );
    assert_eq!(
        cy.floor(),
        Some(4),
        "an expired timer does not take the floor"
    );
    cy.ok(Command::Done).await;
    dee.catch_up(cy.seq).await;
    assert_eq!(dee.floor(), Some(5));
    dee.ok(Command::Done).await;
    fran.catch_up(dee.seq).await;
    assert_eq!(fran.floor(), None);
    assert_eq!(fran.view.turn.round.as_ref().map(|r| r.position), Some(5));
    assert_eq!(
        fran.refused(Command::NextTurn).await,
        ErrorCode::InvalidState
    );

    // ----- Ada presents: the floor is hers ------------------------------------------------
    fran.ok(Command::NextStage).await;
    settle!(fran.seq; ada, ben, cy, dee);
    assert_eq!(ben.stage_index(), 1);
    let stage = ben.view.plan[1].clone();
    assert_eq!(
        (stage.kind, stage.presenter),
        (StageKind::Presentation, Some(2))
    );
    let floor = ben
        .view
        .turn
        .floor
        .clone()
        .expect("the presenter holds the floor");
    assert_eq!((floor.participant, floor.role), (2, Role::Presenter));
    assert_eq!(ben.refused(Command::RaiseHand).await, ErrorCode::NotInStage);
    server.advance(ms(2 * MINUTE));

    // ----- clarifying questions: hands served in order ------------------------------------
    fran.ok(Command::NextStage).await;
    assert_eq!(fran.stage_index(), 2);
    assert!(fran
        .view
        .floor_time
        .by_participant
        .contains(&(2, 2 * MINUTE)));
    assert!(fran
        .view
        .floor_time
        .by_role
        .contains(&(Role::Presenter, 2 * MINUTE)));
    assert_eq!(
        fran.floor(),
        None,
        "a hand-queue stage starts with an open floor"
    );
    for c in [&mut ben, &mut cy, &mut dee] {
        c.ok(Command::RaiseHand).await;
    }
    assert_eq!(dee.view.turn.queue, vec![3, 4, 5]);
    assert_eq!(
        ben.refused(Command::RaiseHand).await,
        ErrorCode::InvalidState
    );
    ben.ok(Command::LowerHand { participant: None }).await;
    assert_eq!(
        cy.refused(Command::LowerHand {
            participant: Some(5)
        })
        .await,
        ErrorCode::Forbidden
    );
    fran.catch_up(ben.seq).await;
    assert_eq!(fran.view.turn.queue, vec![4, 5]);
    fran.ok(Command::GiveFloor { participant: None }).await;
    let floor = fran
        .view
        .turn
        .floor
        .clone()
        .expect("the first hand has the floor");
    assert_eq!((floor.participant, floor.role), (4, Role::Coach));
    assert_eq!(fran.view.turn.queue, vec![5]);
    server.advance(ms(20 * SECOND));
    fran.ok(Command::TakeFloor).await;
    assert_eq!(fran.floor(), None);
    assert!(
        fran.view
            .floor_time
            .by_participant
            .contains(&(4, 97_500 + 20 * SECOND)),
        "Cy's check-in and question add up"
    );
    assert!(fran
        .view
        .floor_time
        .by_role
        .contains(&(Role::Coach, 20 * SECOND)));
    fran.ok(Command::GiveFloor { participant: None }).await;
    assert_eq!(fran.floor(), Some(5));
    assert!(fran.view.turn.queue.is_empty());
    dee.catch_up(fran.seq).await;
    dee.ok(Command::Done).await;
    fran.catch_up(dee.seq).await;
    assert_eq!(fran.floor(), None);
    assert_eq!(
        fran.refused(Command::GiveFloor { participant: None }).await,
        ErrorCode::InvalidState,
        "no hand is raised"
    );

    // The stage timer warns a minute before the end and then runs into overtime.
    let ends = fran.stage_timer().ends_at.expect("the stage timer runs");
    server.advance_to(ends - MINUTE);
    for c in [&mut fran, &mut ada, &mut ben, &mut cy, &mut dee] {
        c.expect_event(|e| is_timer(TimerKind::Stage, e, false))
            .await;
    }
    assert_eq!(ada.stage_timer().remaining_ms(server.now()), MINUTE as i64);
    assert!(ada.stage_timer().warned);
    server.advance_to(ends + 10 * SECOND);
    for c in [&mut fran, &mut ada, &mut ben, &mut cy, &mut dee] {
        c.expect_event(|e| is_timer(TimerKind::Stage, e, true))
            .await;
    }
    assert!(ada.stage_timer().expired);
    assert_eq!(ada.stage_timer().remaining_ms(server.now()), -10_000);
    assert_eq!(
        ada.stage_index(),
        2,
        "the action learning set moves on by hand"
    );

    // ----- roles: a timekeeper, rotated -----------------------------------------------------
    fran.ok(Command::AssignRole {
        participant: 3,
        role: Role::Timekeeper,
    })
    .await;
    assert_eq!(fran.participant(3).roles, vec![Role::Timekeeper]);
    fran.ok(Command::RotateRole {
        role: Role::Timekeeper,
    })
    .await;
    assert!(fran.participant(3).roles.is_empty());
    assert_eq!(fran.participant(4).roles, vec![Role::Timekeeper]);

    // ----- coaching questions: the timekeeper pauses, resumes and adjusts ---------------------
    let ack = fran.ok(Command::NextStage).await;
    settle!(ack.seq; ada, ben, cy, dee);
    assert_eq!(cy.stage_index(), 3);
    assert_eq!(cy.view.plan[3].kind, StageKind::CoachingQuestions);
    assert_eq!(cy.stage_timer().ends_at, Some(server.now() + 15 * MINUTE));
    assert_eq!(ben.refused(Command::Pause).await, ErrorCode::Forbidden);
    server.advance(ms(5 * MINUTE));
    let ack = cy.ok(Command::Pause).await;
    assert_eq!(cy.view.session.status, SessionStatus::Paused);
    assert_eq!(cy.view.session.paused_at, Some(server.now()));
    assert_eq!(cy.stage_timer().ends_at, None);
    assert_eq!(
        cy.stage_timer().paused_remaining_ms,
        Some((10 * MINUTE) as i64)
    );
    server.advance(ms(7 * MINUTE));
    fran.assert_quiet_since(ack.seq).await;
    assert_eq!(
        fran.stage_timer().remaining_ms(server.now()),
        (10 * MINUTE) as i64,
        "a paused timer keeps its remaining time"
    );
    cy.ok(Command::ResumeSession).await;
    assert_eq!(cy.view.session.status, SessionStatus::Running);
    assert_eq!(cy.stage_timer().ends_at, Some(server.now() + 10 * MINUTE));
    cy.ok(Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds: 60,
    })
    .await;
    assert_eq!(
        cy.stage_timer().remaining_ms(server.now()),
        (11 * MINUTE) as i64
    );
    assert_eq!(cy.stage_timer().duration_ms, 16 * MINUTE);
    cy.ok(Command::AdjustTimer {
        timer: TimerKind::Stage,
        seconds: -30,
    })
    .await;
    assert_eq!(
        cy.stage_timer().remaining_ms(server.now()),
        (10 * MINUTE + 30 * SECOND) as i64
    );
    assert_eq!(cy.stage_timer().duration_ms, 15 * MINUTE + 30 * SECOND);
    assert_eq!(
        cy.refused(Command::NextStage).await,
        ErrorCode::Forbidden,
        "a timekeeper keeps time, nothing more"
    );

    // A coach draws a prompt suited to the stage; nobody else hears of it.
    let before = ben.sync().await.seq;
    let drawn = ben.ok(Command::DrawPrompt { seed: Some(7) }).await;
    let Some(AckResult::Prompt { prompt }) = drawn.result else {
        panic!("a drawn prompt comes in the ack: {drawn:?}");
    };
    assert!(prompts::for_stage(StageKind::CoachingQuestions).contains(&prompt));
    assert_eq!(
        Some(prompt),
        prompts::draw(StageKind::CoachingQuestions, 7),
        "the same seed draws the same prompt"
    );
    assert_eq!(drawn.seq, before, "drawing changes nothing in the room");
    assert_eq!(
        ada.refused(Command::DrawPrompt { seed: None }).await,
        ErrorCode::Forbidden,
        "the presenter does not draw coaching prompts"
    );

    // ----- Dee is promoted to co-facilitator and steers ---------------------------------------
    fran.ok(Command::AssignRole {
        participant: 5,
        role: Role::CoFacilitator,
    })
    .await;
    dee.catch_up(fran.seq).await;
    assert_eq!(dee.participant(5).standing, Standing::CoFacilitator);

    let bank = prompts::for_stage(StageKind::CoachingQuestions);
    let ack = dee
        .ok(Command::PushPrompt {
            prompt: Some(bank[0].id.clone()),
            text: None,
            to: None,
        })
        .await;
    for c in [&mut fran, &mut ada, &mut ben, &mut cy] {
        c.catch_up(ack.seq).await;
        let card = c.view.prompt.clone().expect("the card is shown");
        assert_eq!(
            (card.prompt, card.to, card.by),
            (bank[0].clone(), None, 5),
            "{} sees the card",
            c.name
        );
    }
    let ack = dee
        .ok(Command::PushPrompt {
            prompt: None,
            text: Some("  What would you try first?  ".into()),
            to: Some(Role::Coach),
        })
        .await;
    settle!(ack.seq; fran, ada, ben, cy);
    let card = ben.view.prompt.clone().expect("the card is shown");
    assert_eq!(card.prompt.id, "custom");
    assert_eq!(card.prompt.text, "What would you try first?");
    assert_eq!(card.to, Some(Role::Coach));
    dee.ok(Command::ClearPrompt).await;
    assert_eq!(dee.view.prompt, None);

    dee.ok(Command::JumpToStage { index: 6 }).await;
    assert_eq!(dee.stage_index(), 6);
    assert_eq!(dee.view.plan[6].presenter, Some(3));
    assert_eq!(dee.floor(), Some(3), "Ben presents now");
    dee.ok(Command::PreviousStage).await;
    assert_eq!(dee.stage_index(), 5);
    assert_eq!(dee.view.plan[5].kind, StageKind::Commitment);
    assert_eq!(dee.floor(), Some(2), "back to Ada's commitment");
    dee.ok(Command::NextStage).await;
    assert_eq!(dee.stage_index(), 6);
    assert_eq!(
        dee.refused(Command::JumpToStage { index: 99 }).await,
        ErrorCode::UnknownStage
    );

    // ----- Cy is removed: their socket closes with 4004, everyone sees it -------------------
    let ack = fran.ok(Command::RemoveParticipant { participant: 4 }).await;
    assert_eq!(cy.expect_close().await, Some(4004));
    assert!(cy
        .log
        .iter()
        .any(|s| is_participant(&s.event, 4, ParticipantChange::Removed)));
    for c in [&mut ada, &mut ben, &mut dee] {
        c.expect_event(|e| is_participant(e, 4, ParticipantChange::Removed))
            .await;
        c.catch_up(ack.seq).await;
        assert!(c.participant(4).removed);
        assert_eq!(
            c.view.presenter_order,
            vec![2, 3, 5],
            "Cy no longer presents"
        );
        assert_eq!(c.stage_index(), 6, "Ben's presentation goes on");
    }
    let mut again = server.connect("Cy again").await;
    let refused = again
        .enter_refused(Command::Resume {
            room: room.room_id.clone(),
            token: cy.token.clone(),
            last_seq: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert_eq!(again.expect_close().await, Some(4003));

    // ----- presence: Ada's connection drops, she resumes as herself ---------------------------
    let (ada_token, ada_seq) = (ada.token.clone(), ada.seq);
    ada.close().await;
    for c in [&mut fran, &mut ben, &mut dee] {
        c.expect_event(|e| is_participant(e, 2, ParticipantChange::Presence))
            .await;
        assert_eq!(c.participant(2).presence, Presence::Away);
    }
    let mut ada = server.resume("Ada", &room.room_id, &ada_token).await;
    assert_eq!(ada.you, 2);
    assert_eq!(ada.participant(2).presence, Presence::Connected);
    assert_eq!(ada.view.participants.len(), 5, "never a duplicate");
    assert_eq!(
        ada.view
            .participants
            .iter()
            .filter(|p| p.name == "Ada")
            .count(),
        1
    );
    assert_eq!(ada.seq, ada_seq + 2, "away, then back");
    for c in [&mut fran, &mut ben, &mut dee] {
        c.catch_up(ada.seq).await;
        assert_eq!(c.participant(2).presence, Presence::Connected);
    }
    ada.sync().await;

    // ----- the end ---------------------------------------------------------------------------
    let ack = fran.ok(Command::EndSession).await;
    settle!(ack.seq; ada, ben, dee);
    for c in [&ada, &ben, &dee] {
        assert_eq!(c.view.session.status, SessionStatus::Ended);
        assert_eq!(c.view.session.ended_at, Some(server.now()));
        assert_eq!(c.floor(), None);
    }
    assert_eq!(
        ada.refused(Command::RaiseHand).await,
        ErrorCode::SessionEnded
    );
    assert_eq!(
        dee.refused(Command::NextStage).await,
        ErrorCode::SessionEnded
    );
    let mut late = server.connect("Late").await;
    let refused = late
        .enter_refused(Command::Join {
            room: room.room_id.clone(),
            key: room.join_key.clone(),
            name: "Late".into(),
            guest: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::SessionEnded);
    assert_eq!(
        late.refused(Command::Sync).await,
        ErrorCode::NotAuthenticated,
        "the connection stays open"
    );

    // ----- one history, one room ---------------------------------------------------------------
    for c in [&mut fran, &mut ada, &mut ben, &mut dee] {
        c.sync().await;
    }
    assert_one_history(&[&fran, &ben, &dee, &ada]);
    assert_eq!(
        fran.log.len() as u64,
        fran.seq - 1,
        "Fran saw every event after her welcome"
    );
    // A fresh welcome carries exactly the room the events built.
    let fresh = server
        .resume("Fran again", &room.room_id, &fran.token)
        .await;
    assert_eq!(fresh.view, fran.view);
    assert_eq!(fresh.seq, fran.seq);
}

#[tokio::test]
async fn the_welcome_carries_the_server_time_and_the_whole_room() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    fran.ok(Command::AcceptGroundRules).await;
    fran.ok(Command::PushPrompt {
        prompt: None,
        text: Some("Welcome, everyone".into()),
        to: None,
    })
    .await;
    server.advance(ms(90 * SECOND));

    let ada = server.join(&room, "Ada").await;
    let welcome = ada.welcome.clone().expect("welcomed");
    assert_eq!(welcome.server_time, EPOCH + 90 * SECOND);
    assert_eq!(welcome.protocol, 1);
    assert!(!ada.token.is_empty());
    assert_eq!(ada.participant(2).joined_at, EPOCH + 90 * SECOND);
    assert_eq!(ada.view.title, "Tuesday set");
    assert_eq!(ada.view.format, "Coaching circle");
    assert_eq!(ada.view.warn_before_ms, 60_000);
    assert_eq!(
        ada.view.prompt.as_ref().map(|p| p.prompt.text.as_str()),
        Some("Welcome, everyone")
    );

    fran.catch_up(welcome.seq).await;
    assert_eq!(
        ada.view, fran.view,
        "the welcome is the room the events built"
    );
    assert!(
        ada.log.is_empty(),
        "the newcomer's arrival is in the welcome"
    );

    // A resumed welcome names no token: the client keeps its own.
    let mut again = server.connect("Ada again").await;
    again
        .send_with_id(
            "r1",
            Command::Resume {
                room: room.room_id.clone(),
                token: ada.token.clone(),
                last_seq: None,
            },
        )
        .await;
    let frame = again.next_frame().await.expect("a welcome");
    let value: serde_json::Value =
        serde_json::from_str(frame.to_text().expect("a text frame")).expect("JSON");
    assert_eq!(value["type"], "welcome");
    assert_eq!(value["id"], "r1");
    assert_eq!(value["you"], 2);
    assert!(value.get("token").is_none(), "{value}");
}

#[tokio::test]
async fn everyone_sees_the_same_events_in_the_same_order_when_commands_race() {
    let server = TestServer::start().await;
    let room = server.create_room(json!({
        "title": "Open floor",
        "format": {
            "name": "Open floor",
            "stages": [{ "kind": "discussion", "title": "Talk", "timebox_ms": 600_000, "speaking": "hand_queue" }]
        }
    }))
    .await;
    let mut fran = server.host(&room, "Fran").await;
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Cy", "Dee", "Eve", "Gus"] {
        people.push(server.join(&room, name).await);
    }
    for c in people.iter_mut() {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;

    // Everyone raises a hand at once, without waiting for an answer.
    let mut ids = Vec::new();
    for c in people.iter_mut() {
        ids.push(c.send(Command::RaiseHand).await);
    }
    for (c, id) in people.iter_mut().zip(&ids) {
        c.answer(id).await.expect("a hand goes up");
    }
    let last = people.iter().map(|c| c.seq).max().expect("people");
    fran.catch_up(last).await;
    for c in people.iter_mut() {
        c.catch_up(last).await;
    }
    let queue = fran.view.turn.queue.clone();
    assert_eq!(queue.len(), 6);
    // The queue is the order the hands went up in, as the events tell it.
    let raised: Vec<u32> = fran
        .log
        .iter()
        .filter_map(|s| match &s.event {
            Event::TurnChanged {
                reason: TurnReason::HandRaised,
                participant,
                ..
            } => *participant,
            _ => None,
        })
        .collect();
    assert_eq!(raised, queue);

    // Hands are served in that order.
    for &next in &queue {
        fran.ok(Command::GiveFloor { participant: None }).await;
        assert_eq!(fran.floor(), Some(next));
    }
    let mut all: Vec<&Client> = vec![&fran];
    for c in people.iter_mut() {
        c.catch_up(fran.seq).await;
    }
    all.extend(people.iter());
    assert_one_history(&all);
}

#[tokio::test]
async fn shuffling_presenters_with_the_same_seed_gives_the_same_order() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("action_learning_set").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut people = Vec::new();
    for name in ["Ada", "Ben", "Cy", "Dee", "Eve"] {
        let mut c = server.join(&room, name).await;
        c.ok(Command::AcceptGroundRules).await;
        people.push(c);
    }
    fran.sync().await;

    // With no order yet, everyone who consented (facilitators excepted) is shuffled.
    fran.ok(Command::ShufflePresenters { seed: Some(2024) })
        .await;
    let first = fran.view.presenter_order.clone();
    let mut expected = vec![2, 3, 4, 5, 6];
    shuffle(&mut expected, 2024);
    assert_eq!(first, expected);

    for _ in 0..2 {
        fran.ok(Command::SetPresenterOrder {
            order: vec![2, 3, 4, 5, 6],
        })
        .await;
        fran.ok(Command::ShufflePresenters { seed: Some(2024) })
            .await;
        assert_eq!(fran.view.presenter_order, first);
    }
    fran.ok(Command::SetPresenterOrder {
        order: vec![2, 3, 4, 5, 6],
    })
    .await;
    fran.ok(Command::ShufflePresenters { seed: Some(7) }).await;
    let mut other = vec![2, 3, 4, 5, 6];
    shuffle(&mut other, 7);
    assert_eq!(fran.view.presenter_order, other);

    // Without a seed the server picks one and reports it, so the draw can be replayed.
    fran.ok(Command::SetPresenterOrder {
        order: vec![2, 3, 4, 5, 6],
    })
    .await;
    fran.ok(Command::ShufflePresenters { seed: None }).await;
    let Some(Event::PlanChanged {
        seed: Some(seed),
        presenter_order,
        ..
    }) = fran.take_new_events().pop()
    else {
        panic!("a shuffle reports the seed it used");
    };
    let mut replayed = vec![2, 3, 4, 5, 6];
    shuffle(&mut replayed, seed);
    assert_eq!(presenter_order, replayed);
}

/// A short custom format: an open welcome that moves on by itself, a timed round, a question
/// block per presenter, and a check-out that ends the session by itself.
fn quick_format() -> serde_json::Value {
    json!({
        "name": "Quick circle",
        "description": "A short circle for a lunch break.",
        "stages": [
            { "kind": "welcome", "title": "Arrive", "timebox_ms": 60_000, "speaking": "open",
              "auto_advance": true },
            { "kind": "check_in", "title": "Round", "timebox_ms": 120_000, "speaking": "round",
              "per_speaker_ms": 30_000, "auto_advance": true },
            { "kind": "coaching_questions", "title": "Questions", "timebox_ms": 300_000,
              "speaking": "hand_queue", "roles": ["presenter", "coach"], "per_presenter": true },
            { "kind": "check_out", "title": "Out", "timebox_ms": 60_000, "speaking": "open",
              "auto_advance": true }
        ]
    })
}

#[tokio::test]
async fn a_room_with_a_custom_format_runs_its_own_stages() {
    let server = TestServer::start().await;
    let room = server
        .create_room(json!({
            "title": "Lunch circle",
            "format": quick_format(),
            "options": { "warn_before_ms": 10_000, "ground_rules": "Be kind." }
        }))
        .await;
    let mut fran = server.host(&room, "Fran").await;
    assert_eq!(fran.view.format, "Quick circle");
    assert_eq!(fran.view.ground_rules, "Be kind.");
    assert_eq!(fran.view.warn_before_ms, 10_000);
    assert_eq!(fran.view.plan.len(), 4);
    let mut ada = server.join(&room, "Ada").await;
    let mut ben = server.join(&room, "Ben").await;
    for c in [&mut fran, &mut ada, &mut ben] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    assert_eq!(
        fran.view.presenter_order,
        vec![2, 3],
        "consented participants present"
    );
    let titles: Vec<&str> = fran.view.plan.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Arrive", "Round", "Questions", "Questions", "Out"]);
    assert_eq!(fran.view.plan[2].presenter, Some(2));
    assert_eq!(fran.view.plan[3].presenter, Some(3));

    // Open stage: hands may go up, nobody holds the floor.
    ada.catch_up(fran.seq).await;
    assert_eq!(ada.floor(), None);
    ada.ok(Command::RaiseHand).await;
    fran.ok(Command::JumpToStage { index: 2 }).await;
    assert_eq!(fran.floor(), None);
    ben.catch_up(fran.seq).await;
    ben.ok(Command::RaiseHand).await;
    fran.ok(Command::GiveFloor { participant: None }).await;
    let floor = fran.view.turn.floor.clone().expect("Ben has the floor");
    assert_eq!((floor.participant, floor.role), (3, Role::Coach));
    let drawn = ben.ok(Command::DrawPrompt { seed: Some(1) }).await;
    assert!(matches!(drawn.result, Some(AckResult::Prompt { .. })));
    fran.ok(Command::NextStage).await;
    assert_eq!(fran.view.plan[3].presenter, Some(3));
    assert_eq!(fran.floor(), None);
    ada.catch_up(fran.seq).await;
    ada.ok(Command::RaiseHand).await;
    fran.ok(Command::GiveFloor {
        participant: Some(2),
    })
    .await;
    assert_eq!(
        fran.view.turn.floor.as_ref().map(|f| f.role),
        Some(Role::Coach)
    );
    fran.ok(Command::EndSession).await;
    assert_eq!(fran.view.session.status, SessionStatus::Ended);
}

#[tokio::test]
async fn auto_advance_moves_to_the_next_stage_when_the_clock_passes_the_deadline() {
    let server = TestServer::start().await;
    let room = server
        .create_room(json!({
            "title": "Lunch circle",
            "format": quick_format(),
            "options": { "warn_before_ms": 10_000 }
        }))
        .await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    for c in [&mut fran, &mut ada] {
        c.ok(Command::AcceptGroundRules).await;
    }
    fran.ok(Command::Start).await;
    ada.catch_up(fran.seq).await;
    assert_eq!(ada.stage_index(), 0);

    // Nothing moves before the warning point.
    server.advance(ms(49_999));
    let seq = fran.seq;
    fran.assert_quiet_since(seq).await;

    server.advance(ms(1));
    for c in [&mut fran, &mut ada] {
        c.expect_event(|e| is_timer(TimerKind::Stage, e, false))
            .await;
    }
    server.advance(ms(10 * SECOND));
    for c in [&mut fran, &mut ada] {
        c.expect_event(|e| is_timer(TimerKind::Stage, e, true))
            .await;
        let entered = c
            .expect_event(|e| matches!(e, Event::StageEntered { .. }))
            .await;
        let Event::StageEntered { stage, turn } = entered else {
            unreachable!()
        };
        assert_eq!(stage.index, 1);
        assert_eq!(stage.entered_at, EPOCH + 60 * SECOND);
        assert_eq!(stage.timer.ends_at, Some(EPOCH + 180 * SECOND));
        assert_eq!(
            turn.floor.map(|f| f.participant),
            Some(1),
            "the round begins"
        );
    }

    // The round's stage runs out with a speaker still talking: everything fires at once and
    // the next stage begins.
    server.advance(ms(150 * SECOND));
    for c in [&mut fran, &mut ada] {
        c.expect_event(|e| matches!(e, Event::StageEntered { stage, .. } if stage.index == 2))
            .await;
        assert_eq!(c.stage_index(), 2);
        assert_eq!(c.view.plan[2].title, "Questions");
        assert!(!c.stage_timer().expired);
    }
    let fired: Vec<&Event> = fran
        .log
        .iter()
        .map(|s| &s.event)
        .filter(|e| matches!(e, Event::TimerWarning { .. } | Event::TimerExpired { .. }))
        .collect();
    // The clock jumped past both warning points: the round's timers only expire.
    assert_eq!(fired.len(), 2 + 2, "{fired:?}");
    assert!(fran
        .view
        .floor_time
        .by_participant
        .contains(&(1, 150 * SECOND)));

    // A stage without auto_advance stays put in overtime.
    server.advance(ms(400 * SECOND));
    fran.expect_event(|e| is_timer(TimerKind::Stage, e, true))
        .await;
    fran.sync().await;
    assert_eq!(fran.stage_index(), 2);
    assert_eq!(
        fran.stage_timer().remaining_ms(server.now()),
        -100_000,
        "overtime counts on"
    );

    // The last stage moving on by itself ends the session.
    fran.ok(Command::JumpToStage { index: 3 }).await;
    assert_eq!(fran.view.plan[3].title, "Out");
    server.advance(ms(60 * SECOND));
    for c in [&mut fran, &mut ada] {
        c.expect_event(
            |e| matches!(e, Event::SessionChanged { session, .. } if session.status == SessionStatus::Ended),
        )
        .await;
        assert_eq!(c.view.session.ended_at, Some(server.now()));
    }
}

#[tokio::test]
async fn a_participant_on_two_connections_stays_connected_until_the_last_one_closes() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    let ada = server.join(&room, "Ada").await;
    fran.catch_up(ada.seq).await;

    let phone = server.resume("Phone", &room.room_id, &ada.token).await;
    assert_eq!(phone.you, ada.you);
    assert_eq!(phone.seq, ada.seq, "Ada was here already: nothing happened");
    assert_eq!(phone.view.participants.len(), 2);

    // The server has told the room by the time it drops the socket.
    phone.close().await;
    fran.assert_quiet_since(ada.seq).await;
    assert_eq!(fran.participant(ada.you).presence, Presence::Connected);

    ada.close().await;
    let away = fran
        .expect_event(|e| is_participant(e, 2, ParticipantChange::Presence))
        .await;
    assert!(
        matches!(away, Event::ParticipantUpdated { participant, .. } if participant.presence == Presence::Away)
    );
}

#[tokio::test]
async fn a_participant_who_leaves_is_gone_for_good() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let mut fran = server.host(&room, "Fran").await;
    let mut ada = server.join(&room, "Ada").await;
    ada.ok(Command::AcceptGroundRules).await;
    let ack = ada.ok(Command::Leave).await;
    assert!(ada.participant(2).removed, "Ada saw her own leaving");
    assert_eq!(ada.expect_close().await, Some(4004));
    fran.catch_up(ack.seq).await;
    assert!(fran.participant(2).removed);
    assert_eq!(fran.view.participants.len(), 2, "attendance keeps her");

    let mut again = server.connect("Ada again").await;
    let refused = again
        .enter_refused(Command::Resume {
            room: room.room_id.clone(),
            token: ada.token.clone(),
            last_seq: None,
        })
        .await;
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert_eq!(again.expect_close().await, Some(4003));
    fran.assert_quiet_since(ack.seq).await;
}

#[tokio::test]
async fn a_link_previews_the_room_and_its_ground_rules_before_anyone_enters() {
    let server = TestServer::start().await;
    let room = server.create_builtin_room("coaching_circle").await;
    let path = format!("/api/rooms/{}/preview", room.room_id);
    for key in [&room.join_key, &room.host_key] {
        let answer = server
            .http(
                "POST",
                &path,
                serde_json::json!({ "key": key }).to_string().as_bytes(),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json["title"], "Tuesday set");
        assert_eq!(answer.json["status"], "lobby");
        let rules = answer.json["ground_rules"].as_str().expect("ground rules");
        assert!(rules.contains("stays in this circle"), "{rules}");
    }
    let wrong = server
        .http("POST", &path, br#"{"key":"not-the-key"}"#)
        .await;
    assert_eq!(wrong.status, 403);
    assert_eq!(wrong.json["code"], "invalid_key");
    let missing = server
        .http("POST", "/api/rooms/nope/preview", br#"{"key":"x"}"#)
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json["code"], "room_not_found");
    let malformed = server.http("POST", &path, b"{}").await;
    assert_eq!(malformed.status, 400);
}
