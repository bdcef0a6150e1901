//! Call links: where a room's people talk when they are not in the same place. A room may have
//! one call link everyone sees, and in a coaching swap each group may get its own, made from a
//! template (`{room}`, `{group}`, `{session}`) or taken from a list in group order. The server
//! checks every link (`src/room/state/calls.rs`); these are only the shapes on the wire.

use serde::{Deserialize, Serialize};

/// A call link as the schema states it (`check_url` in `src/room/state/calls.rs`): `https://`
/// to a host of letters, digits, dots and dashes with an optional port, or `http://` to
/// localhost or 127.0.0.1; then printable ASCII without `"'<>\^`{|}`. The server also trims
/// surrounding whitespace; the schema asks for none.
#[cfg(feature = "schema")]
pub(crate) const CALL_URL: &str = r"^([hH][tT][tT][pP][sS]://[A-Za-z0-9][A-Za-z0-9.-]*|[hH][tT][tT][pP]://([lL][oO][cC][aA][lL][hH][oO][sS][tT]|127\.0\.0\.1))(:[0-9]{1,5})?([/?#][!#-&(-;=?-\[\]_a-z~]*)?$";

/// A group call template as the schema states it (`check_template`): a [`CALL_URL`] whose
/// path may also hold the placeholders `{room}`, `{group}` and `{session}`.
#[cfg(feature = "schema")]
pub(crate) const CALL_TEMPLATE: &str = r"^([hH][tT][tT][pP][sS]://[A-Za-z0-9][A-Za-z0-9.-]*|[hH][tT][tT][pP]://([lL][oO][cC][aA][lL][hH][oO][sS][tT]|127\.0\.0\.1))(:[0-9]{1,5})?([/?#]([!#-&(-;=?-\[\]_a-z~]|\{(room|group|session)\})*)?$";

/// The schema of a list of group call links: up to 32 [`CALL_URL`]s.
#[cfg(feature = "schema")]
pub(crate) fn call_url_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "maxItems": crate::limits::MAX_GROUP_CALL_URLS,
        "items": {
            "type": "string",
            "minLength": 1,
            "maxLength": crate::limits::MAX_URL_CHARS,
            "pattern": CALL_URL,
            "examples": ["https://meet.example.org/pair-1"],
        },
    })
}

/// A room's (or a series' default) call links, as set with `set_call_links`, `POST /api/rooms`
/// (`options`), `POST /api/series` or `POST /api/series/{id}/calls`. Each field may be left
/// out; a group's own link comes from `group_call_urls` first (group `n` gets the `n`-th), then
/// from `group_call_template`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CallLinks {
    /// The room's call link, shown to everyone in the room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = crate::limits::MAX_URL_CHARS), regex(pattern = CALL_URL), example = &"https://meet.example.org/circle"))]
    pub call_url: Option<String>,
    /// A template each group's link is made from: `{room}` (the room id), `{group}` (the
    /// group's number) and `{session}` (the session's number in its series, from 1; 1 outside a
    /// series).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = crate::limits::MAX_URL_CHARS), regex(pattern = CALL_TEMPLATE), example = &"https://meet.example.org/{room}-{group}"))]
    pub group_call_template: Option<String>,
    /// Links for the groups in order: group 1 gets the first. A group past the end of the list
    /// gets its link from the template, or none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "schema", schemars(schema_with = "call_url_list"))]
    pub group_call_urls: Vec<String>,
}

impl CallLinks {
    /// No link of any kind.
    pub fn is_empty(&self) -> bool {
        self.call_url.is_none()
            && self.group_call_template.is_none()
            && self.group_call_urls.is_empty()
    }
}

/// One group's call link, as `call_links_changed` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GroupCall {
    /// The group's number (`room.pairs.groups[].id`).
    pub group: u32,
    /// Its call link now, or `null` when it has none.
    pub call_url: Option<String>,
}

/// The body of `POST /api/series/{id}/calls`: the series' default call links, copied into each
/// room opened for it afterwards. Replaces all three (a field left out is cleared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SetSeriesCalls {
    /// The series' host key.
    pub key: String,
    /// Every session room's call link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_url: Option<String>,
    /// The template of each group's link (see [`CallLinks::group_call_template`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_call_template: Option<String>,
    /// Links for the groups in order (see [`CallLinks::group_call_urls`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_call_urls: Vec<String>,
}

impl SetSeriesCalls {
    /// The links it sets.
    pub fn links(&self) -> CallLinks {
        CallLinks {
            call_url: self.call_url.clone(),
            group_call_template: self.group_call_template.clone(),
            group_call_urls: self.group_call_urls.clone(),
        }
    }
}
