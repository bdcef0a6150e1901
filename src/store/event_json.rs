//! An event's JSON made once: the room serializes each event for its frame, and the store
//! writes that same JSON (a slice of the frame, not a copy) instead of serializing the event
//! again on the commit thread. The stored bytes are exactly what `serde_json` makes of a
//! [`StoredEvent`] or a run of them (`encode`), so the format does not change.

use std::io::Write as _;

use bytes::Bytes;

use super::{StoreError, StoredEvent};

/// The JSON of a [`StoredEvent`]'s `event`, if it was already made (see the module docs).
/// Never stored as such, and never compared: two stored events are equal whatever their
/// caches hold.
#[derive(Clone, Debug, Default)]
pub struct EventJson(Option<Bytes>);

impl PartialEq for EventJson {
    fn eq(&self, _: &EventJson) -> bool {
        true
    }
}

/// What an event frame starts with (`ServerMessage::Event`): `type`, then `seq` and `at`
/// (numbers), then `event`, its last field.
const FRAME_HEAD: &str = r#"{"type":"event","seq":"#;
const EVENT_FIELD: &str = r#","event":"#;

impl EventJson {
    /// The event's JSON inside `frame`, the frame of a `ServerMessage::Event` (its last field);
    /// none if `frame` is not one (a frame too large to send is replaced by an error).
    pub fn from_frame(frame: impl Into<Bytes>) -> EventJson {
        let frame: Bytes = frame.into();
        let Ok(text) = std::str::from_utf8(&frame) else {
            return EventJson(None);
        };
        if !text.starts_with(FRAME_HEAD) || !text.ends_with('}') {
            return EventJson(None);
        }
        // `seq` and `at` are numbers: the first `,"event":` is the field.
        match text.find(EVENT_FIELD) {
            Some(i) => EventJson(Some(frame.slice(i + EVENT_FIELD.len()..frame.len() - 1))),
            None => EventJson(None),
        }
    }

    /// The JSON, if made.
    pub fn get(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

/// `events` as stored: one event as its JSON object, a run of several as a JSON array of
/// them, byte for byte what `serde_json::to_vec` makes, each event's JSON reused when made.
pub(super) fn encode(events: &[&StoredEvent], out: &mut Vec<u8>) -> Result<(), StoreError> {
    let failed = |e: serde_json::Error| StoreError::Record {
        key: "event".into(),
        reason: e.to_string(),
    };
    let run = events.len() != 1;
    if run {
        out.push(b'[');
    }
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Infallible writes into a vector.
        let _ = write!(out, r#"{{"seq":{},"at":{},"event":"#, e.seq, e.at);
        match e.json.get() {
            Some(json) => out.extend_from_slice(json),
            None => serde_json::to_writer(&mut *out, &e.event).map_err(failed)?,
        }
        if let Some(origin) = &e.origin {
            out.extend_from_slice(br#","origin":"#);
            serde_json::to_writer(&mut *out, origin).map_err(failed)?;
        }
        out.push(b'}');
    }
    if run {
        out.push(b']');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use circlekeeper_protocol::{Event, ServerMessage};

    use super::*;
    use crate::store::conformance::event;
    use crate::store::Origin;

    fn frame(e: &StoredEvent) -> String {
        serde_json::to_string(&ServerMessage::Event {
            seq: e.seq,
            at: e.at,
            event: e.event.clone(),
        })
        .expect("a frame")
    }

    #[test]
    fn the_stored_json_is_what_serde_makes_with_or_without_the_frame() {
        let mut plain = event(7);
        plain.event = Event::PlanChanged {
            presenter_order: vec![3, 1],
            plan: Vec::new(),
            seed: None,
            stage_index: Some(2),
        };
        let mut with_origin = event(8);
        with_origin.origin = Some(Origin {
            participant: 4,
            id: "cmd-\"quoted\"-é".into(),
        });
        for framed in [false, true] {
            let (mut a, mut b) = (plain.clone(), with_origin.clone());
            if framed {
                a.json = EventJson::from_frame(frame(&a));
                b.json = EventJson::from_frame(frame(&b));
                assert!(a.json.get().is_some() && b.json.get().is_some());
            }
            for (events, expected) in [
                (vec![&a], serde_json::to_vec(&a)),
                (vec![&b], serde_json::to_vec(&b)),
                (vec![&a, &b], serde_json::to_vec(&[&a, &b])),
            ] {
                let mut out = Vec::new();
                encode(&events, &mut out).expect("encoded");
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&expected.expect("serde")),
                    "framed: {framed}"
                );
            }
        }
    }

    #[test]
    fn a_frame_that_is_not_an_event_gives_no_json() {
        for other in [
            r#"{"type":"error","code":"internal","message":"too large"}"#,
            r#"{"type":"event","seq":1,"at":2"#,
            "",
        ] {
            assert!(
                EventJson::from_frame(other.to_string()).get().is_none(),
                "{other}"
            );
        }
    }
}
