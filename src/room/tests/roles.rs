//! Roles: what the timekeeper and a co-facilitator may and may not do.

use super::*;

#[test]
fn the_timekeeper_may_pause_but_not_steer() {
    let mut c = Circle::als(2);
    let tk = c.people[1];
    c.ok(
        c.host,
        Command::AssignRole {
            participant: tk,
            role: Role::Timekeeper,
        },
    );
    c.ok(c.host, Command::Start);
    c.ok(tk, Command::Pause);
    c.ok(tk, Command::ResumeSession);
    assert_eq!(c.refused(tk, Command::NextStage), ErrorCode::Forbidden);
    c.ok(
        c.host,
        Command::RotateRole {
            role: Role::Timekeeper,
        },
    );
    let holders: Vec<_> = c
        .room
        .view()
        .participants
        .iter()
        .filter(|p| p.roles.contains(&Role::Timekeeper))
        .map(|p| p.id)
        .collect();
    assert_eq!(holders, vec![c.people[0]]);
    assert_eq!(c.refused(tk, Command::Pause), ErrorCode::Forbidden);
}

#[test]
fn a_co_facilitator_steers_but_cannot_remove_the_host() {
    let mut c = Circle::als(2);
    let co = c.people[0];
    assert_eq!(c.refused(co, Command::Start), ErrorCode::Forbidden);
    c.ok(
        c.host,
        Command::AssignRole {
            participant: co,
            role: Role::CoFacilitator,
        },
    );
    c.ok(co, Command::Start);
    assert_eq!(
        c.refused(
            co,
            Command::RemoveParticipant {
                participant: c.host
            }
        ),
        ErrorCode::Forbidden
    );
}
