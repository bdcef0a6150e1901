// Private items, sealed on this device: what a person marks "only me" is encrypted here before
// it is sent, with a key the server never sees, and opened here when it comes back.
//
// The envelope (protocol/notes-and-series.md, "Sealing a private text"):
//   ck1:<base64url(12-byte IV)>:<base64url(ciphertext and 16-byte tag)>
// AES-256-GCM (WebCrypto), a fresh random IV for every text, the additional data fixed to
// "circlekeeper private v1", base64url without padding.
//
// Whose key:
// - a series member's key travels in their personal link, `#member=KEY&private=PKEY` (32 random
//   bytes, base64url), so every device that opens the link reads their private items. The
//   browser that makes the links adds it (`withPrivateKey`); a link without one makes the member
//   page create one here (`takeMemberPrivateKey`) and show the complete link to keep.
// - anyone else (who joined with a room's link) has one key per device, made on first use.
// Both are kept in this device's storage (`storage.js`).

import { loadPrivateKey, savePrivateKey } from "/storage.js";

/** What every envelope starts with. */
export const PREFIX = "ck1:";
/** The personal link's fragment parameter that carries a member's private key. */
export const LINK_PARAM = "private";
const AAD = new TextEncoder().encode("circlekeeper private v1");
const ENVELOPE = /^ck1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{23,2688}$/;

function toBase64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A new private key: 32 random bytes, base64url (43 characters). */
export function newKeyText() {
  return toBase64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Whether `text` is a key as links carry them (32 bytes, base64url). */
export function isKeyText(text) {
  return typeof text === "string" && /^[A-Za-z0-9_-]{43}$/.test(text);
}

/** Whether `text` has the shape of an envelope. */
export function isEnvelope(text) {
  return typeof text === "string" && ENVELOPE.test(text);
}

/**
 * A member's personal link with a new private key added to its fragment
 * (`…#member=KEY` → `…#member=KEY&private=PKEY`); a link that has one already is returned as it
 * is. For whoever makes or shows members' links: the key must be made here, never by the server.
 */
export function withPrivateKey(url) {
  if (new RegExp(`[#&]${LINK_PARAM}=`).test(url)) return url;
  return `${url}${url.includes("#") ? "&" : "#"}${LINK_PARAM}=${newKeyText()}`;
}

/**
 * Takes the member's private key from the link's fragment parameters and keeps it for the
 * series. Without one, the key kept here is used, or a new one is made and kept.
 * Returns `{key, made}`: `made` is true while the key was made on this device and its
 * complete link has not been saved (see `markLinkSaved`).
 */
export function takeMemberPrivateKey(seriesId, params) {
  const fromLink = params.get(LINK_PARAM);
  if (isKeyText(fromLink)) {
    savePrivateKey(`series.${seriesId}`, fromLink, false);
    return { key: fromLink, made: false };
  }
  const kept = loadPrivateKey(`series.${seriesId}`);
  if (kept) return kept;
  const key = newKeyText();
  savePrivateKey(`series.${seriesId}`, key, true);
  return { key, made: true };
}

/** The member saved the complete link with their private key: stop asking. */
export function markLinkSaved(seriesId) {
  const kept = loadPrivateKey(`series.${seriesId}`);
  if (kept) savePrivateKey(`series.${seriesId}`, kept.key, false);
}

/** The key's text for a series member (`series`), or this device's own key (null), made if missing. */
function keyText(series) {
  const scope = series ? `series.${series}` : "device";
  const kept = loadPrivateKey(scope);
  if (kept) return kept.key;
  const key = newKeyText();
  savePrivateKey(scope, key, Boolean(series));
  return key;
}

const imported = new Map();

/** The AES-GCM key private items are sealed with: a series member's (`series`), or this device's. */
export function privateKey(series = null) {
  const text = keyText(series);
  if (!imported.has(text)) {
    imported.set(text, crypto.subtle.importKey("raw", fromBase64url(text), "AES-GCM", false, ["encrypt", "decrypt"]));
  }
  return imported.get(text);
}

/** Seals `text` into an envelope, under the member's key of `series` or this device's. */
export async function seal(text, series = null) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await privateKey(series);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: AAD }, key, new TextEncoder().encode(text));
  return `${PREFIX}${toBase64url(iv)}:${toBase64url(new Uint8Array(sealed))}`;
}

/**
 * Opens an envelope: the text, or null when it cannot be read here (another device's or
 * link's key, or not an envelope).
 */
export async function open(envelope, series = null) {
  if (!isEnvelope(envelope)) return null;
  try {
    const [, iv, sealed] = envelope.split(":");
    const key = await privateKey(series);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64url(iv), additionalData: AAD }, key, fromBase64url(sealed));
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    return null;
  }
}
