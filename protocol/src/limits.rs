//! Size and length limits every client must respect. The server refuses anything larger.

/// Largest text frame the server reads, in bytes. A larger frame closes the connection with
/// close code 1009 (message too big). Commands are small; 16 KiB leaves room for a custom
/// format sent over HTTP, which has its own limit.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;
/// Most commitments one person records in one room (`too_many_items` after that): what a
/// room holds, and so its welcome, stays bounded whatever people write. Also the most of a
/// series member's earlier commitments a room carries (the most recent ones).
pub const MAX_COMMITMENTS_PER_PERSON: usize = 20;
/// Most commitments one room holds, all visibilities and authors together
/// (`too_many_items` after that): a full room where everyone records their 20. People who
/// join after others left share what remains. Also the most earlier commitments of a series
/// a room carries (the most recent ones).
pub const MAX_COMMITMENTS_PER_ROOM: usize = MAX_PARTICIPANTS * MAX_COMMITMENTS_PER_PERSON;
/// Most feedback one person gives in one room, one per group and round they were the client
/// in (`too_many_items` after that; giving it again in the same group and round replaces
/// it and always works). A pair or triad makes each person the client once; the rest is for
/// people placed in a new group after theirs broke up.
pub const MAX_FEEDBACK_PER_PERSON: usize = 4;
/// Most feedback one room holds (`too_many_items` after that): a full room where everyone
/// gives their 4.
pub const MAX_FEEDBACK_PER_ROOM: usize = MAX_PARTICIPANTS * MAX_FEEDBACK_PER_PERSON;
/// Most stages a plan holds once per-presenter stages are expanded (`too_many_items` for a
/// presenter order that would make it longer): a block of 8 per-presenter stages for each
/// of 64 presenters. The plan is in every welcome and every `plan_changed`.
pub const MAX_PLAN_STAGES: usize = 512;
/// Largest frame the server sends, in bytes. Clients must accept frames this large. Within
/// the other limits a room's largest frame (the welcome of the fullest possible room) stays
/// far below it; a frame that would still be larger is logged by the server and replaced by
/// an `internal` error rather than sent.
pub const MAX_SERVER_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// Longest command id, in characters.
pub const MAX_COMMAND_ID_CHARS: usize = 64;
/// Longest free text (a pushed custom prompt, a room title), in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// What every sealed private text (an envelope) starts with: the envelope's version.
pub const SEALED_PREFIX: &str = "ck1:";
/// The additional authenticated data every envelope is sealed with (AES-256-GCM).
pub const SEALED_AAD: &str = "circlekeeper private v1";
/// Longest sealed private text (an envelope), in characters: `ck1:`, 16 characters of IV,
/// `:`, and the base64url (unpadded) of the ciphertext and its 16-byte tag, for a plaintext
/// of at most [`MAX_TEXT_CHARS`] characters of up to 4 UTF-8 bytes each (2000 + 16 bytes:
/// 2688 characters).
pub const MAX_SEALED_CHARS: usize = 4 + 16 + 1 + 2688;
/// Longest ground-rules text, in characters.
pub const MAX_GROUND_RULES_CHARS: usize = 4000;
/// Most stages a format may have before expansion per presenter.
pub const MAX_FORMAT_STAGES: usize = 40;
/// Most participants one room holds (facilitators included).
pub const MAX_PARTICIPANTS: usize = 64;
/// Largest HTTP request body any route accepts, in bytes (413 `invalid_message` over it).
pub const MAX_CREATE_BODY_BYTES: usize = 64 * 1024;
/// Longest call link or group call template, in characters (`invalid_url` over it).
pub const MAX_URL_CHARS: usize = 500;
/// Most group call links in a list (`invalid_url` over it): the most groups a full room
/// makes. A `set_call_links` frame must still fit in [`MAX_FRAME_BYTES`].
pub const MAX_GROUP_CALL_URLS: usize = MAX_PARTICIPANTS / 2;
