// What the pages keep on this device: the one module that reads and writes `localStorage` and
// `sessionStorage` for them. Every read and write survives storage being unavailable (private
// mode, a full quota): a read then finds nothing, a write keeps nothing.
//
// Keys (all prefixed `circlekeeper.`):
// - `name` (local): the display name typed last, offered again on the next join form.
// - `key.{room}` (session): the link a tab is entering a room with (`{mode, key, series?}`),
//   until the welcome.
// - `member.{series}` (local): a series member's personal key.
// - `guest.{series}` (local): the series guest key a welcome gave this device as a guest.
// - `hostkey.{room}` (local): a room's host key, once its facilitator entered here.
// - `invite.{room}` (local): the join link this device created or replaced for a room.
// - `community-host` (session): the community host key, for this tab only.
// - `private.{scope}` (local): a private-items key (`{key, made}`, see `crypto.js`): scope
//   `series.{series}` for a series member's, `device` for this device's own.
// (`connection.js` keeps the room tokens, `room.js` the sound choice and `words.js` the language
// under their own keys.)

const NAME_KEY = "circlekeeper.name";
const LINK_PREFIX = "circlekeeper.key.";
const MEMBER_PREFIX = "circlekeeper.member.";
const GUEST_PREFIX = "circlekeeper.guest.";
const HOST_KEY_PREFIX = "circlekeeper.hostkey.";
const INVITE_PREFIX = "circlekeeper.invite.";
const COMMUNITY_KEY = "circlekeeper.community-host";
const PRIVATE_PREFIX = "circlekeeper.private.";

function read(store, key) {
  try {
    return store().getItem(key);
  } catch {
    return null;
  }
}

/** Writes `value`, or removes the key when `value` is null or empty. */
function write(store, key, value) {
  try {
    if (value) store().setItem(key, value);
    else store().removeItem(key);
  } catch {
    /* not kept */
  }
}

const local = () => localStorage;
const session = () => sessionStorage;

/** The display name typed last on this device, or "". */
export function rememberedName() {
  return read(local, NAME_KEY) || "";
}

/** Keeps the display name for the next join form. */
export function rememberName(name) {
  write(local, NAME_KEY, name);
}

/** The link this tab is entering `roomId` with (`{mode, key, series?}`), or null. */
export function loadLink(roomId) {
  const raw = read(session, LINK_PREFIX + roomId);
  if (!raw) return null;
  try {
    const saved = JSON.parse(raw);
    if (!saved || typeof saved.key !== "string") return null;
    if (saved.mode === "join" || saved.mode === "host") return saved;
    if (saved.mode === "member" && typeof saved.series === "string") return saved;
  } catch {
    /* nothing usable kept */
  }
  return null;
}

/** Keeps the link for this tab (a reload before entering still works); null forgets it. */
export function keepLink(roomId, link) {
  write(session, LINK_PREFIX + roomId, link ? JSON.stringify(link) : null);
}

/** Forgets the link this tab kept for `roomId`. */
export function dropLink(roomId) {
  keepLink(roomId, null);
}

/** A series member's personal key on this device, or null. */
export function loadMemberKey(seriesId) {
  return read(local, MEMBER_PREFIX + seriesId);
}

/** Keeps (or, with null, forgets) a series member's personal key. */
export function saveMemberKey(seriesId, key) {
  write(local, MEMBER_PREFIX + seriesId, key);
}

/** A room's host key, kept once its facilitator entered through the host link here. */
export function loadHostKey(roomId) {
  return read(local, HOST_KEY_PREFIX + roomId);
}

/** Keeps (or, with null, forgets) a room's host key. It is never shown. */
export function saveHostKey(roomId, key) {
  write(local, HOST_KEY_PREFIX + roomId, key);
}

/** The join link this device created for a room (so the console can offer it again). */
export function loadInviteUrl(roomId) {
  return read(local, INVITE_PREFIX + roomId);
}

/** Keeps the join link on this device for the console, or forgets it (`url` null). */
export function saveInviteUrl(roomId, url) {
  write(local, INVITE_PREFIX + roomId, url);
}

/** The community host key this tab was given, or null. */
export function loadCommunityKey() {
  return read(session, COMMUNITY_KEY);
}

/** Keeps the community host key for this tab, or forgets it (`key` null). */
export function saveCommunityKey(key) {
  write(session, COMMUNITY_KEY, key);
}

/**
 * The private-items key kept for `scope` (`series.{id}` or `device`): `{key, made}`, where
 * `made` says it was made on this device and its link not yet saved; or null.
 */
export function loadPrivateKey(scope) {
  const raw = read(local, PRIVATE_PREFIX + scope);
  if (!raw) return null;
  try {
    const kept = JSON.parse(raw);
    if (kept && typeof kept.key === "string") return { key: kept.key, made: Boolean(kept.made) };
  } catch {
    /* nothing usable kept */
  }
  return null;
}

/** Keeps a private-items key for `scope`; `made` while its complete link is not saved. */
export function savePrivateKey(scope, key, made) {
  write(local, PRIVATE_PREFIX + scope, key ? JSON.stringify({ key, made: Boolean(made) }) : null);
}

/** The series guest key this device was given in `seriesId`, or null. */
export function loadGuestKey(seriesId) {
  return seriesId ? read(local, GUEST_PREFIX + seriesId) : null;
}

/** Keeps the series guest key a welcome gave (a returning guest is known by it). */
export function saveGuestKey(seriesId, key) {
  if (seriesId && key) write(local, GUEST_PREFIX + seriesId, key);
}
