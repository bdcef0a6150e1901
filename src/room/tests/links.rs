//! Links: rotating and revoking them, as facilitators only, without keys in events.

use super::*;

#[test]
fn a_link_change_is_a_facilitators_event_without_a_key_and_leaves_the_view_alone() {
    use circlekeeper_protocol::LinkKind;
    let mut c = Circle::als(1);
    let ada = c.people[0];
    let before = c.room.view().clone();
    for link in [LinkKind::Join, LinkKind::Host] {
        assert_eq!(
            c.refused(ada, Command::RotateLink { link }),
            ErrorCode::Forbidden
        );
        assert_eq!(
            c.refused(ada, Command::RevokeLink { link }),
            ErrorCode::Forbidden
        );
    }
    let rotated = c.ok(
        c.host,
        Command::RotateLink {
            link: LinkKind::Join,
        },
    );
    // The state machine knows no keys: the actor adds the new one to the ack.
    assert_eq!(rotated.result, None);
    let events: Vec<&Event> = rotated.events.iter().map(|r| &r.event).collect();
    assert_eq!(
        events,
        [&Event::LinkChanged {
            link: LinkKind::Join,
            revoked: false,
            by: c.host
        }]
    );
    assert_eq!(c.room.view(), &before, "the view holds no links");
    // Also after the end: the host link still exports the room.
    c.ok(c.host, Command::Start);
    c.ok(c.host, Command::EndSession);
    let revoked = c.ok(
        c.host,
        Command::RevokeLink {
            link: LinkKind::Host,
        },
    );
    assert!(matches!(
        revoked.events.as_slice(),
        [r] if r.event == Event::LinkChanged { link: LinkKind::Host, revoked: true, by: c.host }
    ));
    let mut fresh = Room::new(setup(
        formats::builtin("action_learning_set").expect("built-in"),
    ));
    for r in &c.log {
        fresh.replay(r);
    }
    assert_eq!(fresh.view(), c.room.view());
    assert_eq!(fresh.seq(), c.room.seq());
}
