//! Private texts as a client seals them (protocol: "Private texts are sealed on the device"):
//! AES-256-GCM under the author's own key, a fresh 12-byte IV each time, the fixed additional
//! data `circlekeeper private v1`, written `ck1:` + base64url(IV) + `:` + base64url(ciphertext
//! and tag), base64url without padding. The server never has the key: it checks the shape only.
//!
//! Included by path (`#[path = "common/envelope.rs"] mod envelope;`) by the tests that send
//! private texts.
#![allow(dead_code)]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use circlekeeper_protocol::{limits, Visibility};

/// The key the tests seal with when they need no particular one: 32 bytes, 0x00 to 0x1f (the
/// protocol's worked example uses it too).
pub const TEST_KEY: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};

/// Seal `text` under `key` with the given 12-byte IV (the worked example fixes it).
pub fn seal_with_iv(key: &[u8; 32], iv: &[u8; 12], text: &str) -> String {
    let cipher = Aes256Gcm::new_from_slice(key).expect("a 32-byte key");
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(iv),
            Payload {
                msg: text.as_bytes(),
                aad: limits::SEALED_AAD.as_bytes(),
            },
        )
        .expect("AES-GCM seals any text this short");
    format!(
        "{}{}:{}",
        limits::SEALED_PREFIX,
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(sealed)
    )
}

/// Seal `text` under `key` with a fresh random IV, as a client does.
pub fn seal_under(key: &[u8; 32], text: &str) -> String {
    let mut iv = [0u8; 12];
    getrandom::fill(&mut iv).expect("random bytes");
    seal_with_iv(key, &iv, text)
}

/// Seal `text` under [`TEST_KEY`].
pub fn sealed(text: &str) -> String {
    seal_under(&TEST_KEY, text)
}

/// `text` as a client sends it with `visibility`: sealed under [`TEST_KEY`] when private.
pub fn as_sent(text: &str, visibility: Visibility) -> String {
    if visibility == Visibility::Private {
        sealed(text)
    } else {
        text.to_string()
    }
}

/// Open an envelope with `key`: the text, or `None` when it is not an envelope or another key
/// (or other additional data) sealed it.
pub fn open_with(key: &[u8; 32], envelope: &str) -> Option<String> {
    let rest = envelope.strip_prefix(limits::SEALED_PREFIX)?;
    let (iv, sealed) = rest.split_once(':')?;
    let iv = URL_SAFE_NO_PAD.decode(iv).ok()?;
    if iv.len() != 12 {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    let plain = cipher
        .decrypt(
            Nonce::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: limits::SEALED_AAD.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

/// Open an envelope sealed under [`TEST_KEY`].
pub fn opened(envelope: &str) -> Option<String> {
    open_with(&TEST_KEY, envelope)
}
