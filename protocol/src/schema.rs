//! What the JSON Schema of the wire types says beyond the types themselves (only with the
//! `schema` feature): the text rules, the date format and the roles the server accepts, written
//! as schema keywords, and the one reshaping the derived schema of [`crate::ClientMessage`]
//! needs. The server's own checks are the truth; each item here names the check it mirrors.

use schemars::{Schema, SchemaGenerator};
use serde_json::{json, Value};

/// One-line text (a display name): at least one character that is not whitespace, no control
/// character at all, and none of the invisible or text-direction characters a name may not
/// hold (`HIDDEN_IN_NAMES`). The server trims the text first, so it also takes leading or
/// trailing whitespace controls (a tab); the schema asks for none (`clean_name` in
/// `src/room/state/text.rs`).
pub(crate) const ONE_LINE_TEXT: &str = r"^[^\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\uFFF9-\uFFFB]*[^\s\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\uFFF9-\uFFFB][^\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\uFFF9-\uFFFB]*$";

/// Text that may hold line breaks (a prompt, a commitment): at least one character that is not
/// whitespace, and no control character but the line feed (`clean_paragraphs`).
pub(crate) const PARAGRAPHS: &str = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$";

/// Text that may be left empty (feedback, a survey comment): no control character but the
/// line feed. Blank text counts as none.
pub(crate) const OPTIONAL_PARAGRAPHS: &str = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$";

/// A commitment's `due` date, `YYYY-MM-DD`: year 2000 to 2200, month 01 to 12, day 01 to 31
/// (the day is not checked against the month; `check_due` in `src/room/state/notes.rs`).
pub(crate) const DUE_DATE: &str =
    r"^(20[0-9]{2}|21[0-9]{2}|2200)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";

/// The roles `assign_role` and `unassign_role` take; the others follow from the stage
/// (`set_role` in `src/room/state/roles.rs`).
pub(crate) fn assignable_role(generator: &mut SchemaGenerator) -> Schema {
    role_among(generator, &["co_facilitator", "observer", "timekeeper"])
}

/// The roles `rotate_role` takes (`rotate_role` in `src/room/state/roles.rs`).
pub(crate) fn rotating_role(generator: &mut SchemaGenerator) -> Schema {
    role_among(generator, &["observer", "timekeeper"])
}

/// A [`crate::Role`], limited to `names`.
fn role_among(generator: &mut SchemaGenerator, names: &[&str]) -> Schema {
    let mut schema = generator.subschema_for::<crate::Role>();
    schema.insert("enum".into(), json!(names));
    schema
}

/// A private text sealed on its author's device: `ck1:`, the IV, `:`, the ciphertext and tag,
/// base64url without padding (the server's check: `src/room/state/envelope.rs`).
pub(crate) const ENVELOPE: &str = r"^ck1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{23,2688}$";

/// The protocol's worked example of an envelope ("Sealing a private text").
const EXAMPLE_ENVELOPE: &str =
    "ck1:oKGio6Slpqeoqaqr:on0fRCGuIsgKAPO7Ygjgl1DfLXn-22Ib_WBSpgvDHHLyHCid6M9fI6z-LcpA-SFVo7M9vg";

/// A text a person writes that is sealed when `private`: the plain text as `plain` says, or an
/// envelope of at most [`crate::limits::MAX_SEALED_CHARS`] characters (which one the
/// `visibility` beside it says; the schema cannot). The examples: an envelope (for `private`),
/// then `example` (for `circle` and `exportable`).
fn sealable(schema: &mut Schema, plain: Value, example: &str) {
    let nullable = schema
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|types| types.contains(&json!("null")));
    let mut choices = vec![
        plain,
        json!({"type": "string", "maxLength": crate::limits::MAX_SEALED_CHARS, "pattern": ENVELOPE}),
    ];
    if nullable {
        choices.push(json!({"type": "null"}));
    }
    for keyword in ["type", "minLength", "maxLength", "pattern"] {
        schema.remove(keyword);
    }
    schema.insert("anyOf".into(), json!(choices));
    schema.insert("examples".into(), json!([EXAMPLE_ENVELOPE, example]));
}

/// A required text of 1–500 characters (line breaks allowed), or its envelope when private.
pub(crate) fn sealable_text(schema: &mut Schema) {
    let plain = json!({"type": "string", "minLength": 1, "maxLength": crate::limits::MAX_TEXT_CHARS, "pattern": PARAGRAPHS});
    sealable(schema, plain, "Call the funder before the next session");
}

/// An optional text of at most 500 characters (may be empty), or its envelope when private.
pub(crate) fn sealable_optional_text(schema: &mut Schema) {
    let plain = json!({"type": "string", "maxLength": crate::limits::MAX_TEXT_CHARS, "pattern": OPTIONAL_PARAGRAPHS});
    sealable(schema, plain, "Your silences gave me room to think.");
}

/// `push_prompt` takes exactly one of a prompt id and a text (`null` counts as absent).
pub(crate) fn prompt_or_text(schema: &mut Schema) {
    let present =
        |field: &str| json!({"required": [field], "properties": {field: {"type": "string"}}});
    schema.insert("oneOf".into(), json!([present("prompt"), present("text")]));
}

/// Put the `id` of a client frame into every variant of the command it carries.
///
/// Derived, the schema of [`crate::ClientMessage`] holds `id` beside a `oneOf` of the commands,
/// which is valid JSON Schema but lost by code generators that build one type per `oneOf`
/// entry. Each variant is made whole instead: its own `id`, required. A schema of another shape
/// is left as it is (`tests/schema.rs` checks that every variant requires `id`).
pub(crate) fn id_in_every_variant(schema: &mut Schema) {
    let id = schema.get("properties").and_then(|p| p.get("id")).cloned();
    let (Some(id), Some(Value::Array(variants))) = (id, schema.get_mut("oneOf")) else {
        return;
    };
    for variant in variants.iter_mut() {
        if let Some(properties) = variant.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert("id".into(), id.clone());
        }
        if let Some(required) = variant.get_mut("required").and_then(Value::as_array_mut) {
            required.insert(0, "id".into());
        }
    }
    schema.remove("properties");
    schema.remove("required");
}
