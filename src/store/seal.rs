//! Encryption at rest: XChaCha20-Poly1305 under the owner's data key, a fresh random 192-bit
//! nonce per value, and the record's place (tree name ‖ `0x00` ‖ key) as associated data, so
//! a sealed value moved to another record fails to open.
//!
//! A sealed value is `0x01 ‖ nonce (24 bytes) ‖ ciphertext ‖ tag (16 bytes)`. Values written
//! by earlier versions are plain JSON (they start with `{` or `[`) and still read.

use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::keyring::DataKey;
use super::StoreError;

/// The first byte of a sealed value.
pub const SEALED: u8 = 0x01;

const NONCE: usize = 24;

/// Bytes of the authentication tag.
const TAG: usize = 16;

/// The associated data of a record: where it is stored.
fn place(tree: &str, key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(tree.len() + 1 + key.len());
    aad.extend_from_slice(tree.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key);
    aad
}

/// Seal `plain` for the record `key` of `tree`.
pub fn seal(
    data_key: &DataKey,
    tree: &str,
    key: &[u8],
    plain: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let mut nonce = [0u8; NONCE];
    getrandom::fill(&mut nonce).map_err(|e| StoreError::Backend {
        reason: format!("no randomness for a nonce: {e}"),
    })?;
    let cipher = XChaCha20Poly1305::new(Key::from_slice(data_key.as_slice()));
    let aad = place(tree, key);
    // Encrypted where it is stored: one allocation, no copy of the ciphertext.
    let mut out = Vec::with_capacity(1 + NONCE + plain.len() + TAG);
    out.push(SEALED);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = cipher
        .encrypt_in_place_detached(XNonce::from_slice(&nonce), &aad, &mut out[1 + NONCE..])
        .map_err(|_| StoreError::Backend {
            reason: "a value could not be sealed".into(),
        })?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Whether a value is plain JSON written by an earlier version.
pub fn is_legacy(value: &[u8]) -> bool {
    matches!(
        value.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// The plain bytes of the value stored at `key` of `tree`: a legacy value as it is, a sealed
/// one opened with `data_key`. `Err` names why, never the contents; `name` is the record's
/// printable key.
pub fn open(
    data_key: Option<&DataKey>,
    tree: &str,
    key: &[u8],
    value: Vec<u8>,
    name: impl FnOnce() -> String,
) -> Result<Vec<u8>, StoreError> {
    let bad = |reason: &str| StoreError::Record {
        key: format!("{tree}:{}", name()),
        reason: reason.into(),
    };
    if is_legacy(&value) {
        return Ok(value);
    }
    let Some((&SEALED, rest)) = value.split_first() else {
        return Err(bad("is in no known format"));
    };
    let Some(data_key) = data_key else {
        return Err(bad("is sealed with a key that no longer exists"));
    };
    let Some((nonce, sealed)) = rest.split_first_chunk::<NONCE>() else {
        return Err(bad("is too short to be sealed"));
    };
    let cipher = XChaCha20Poly1305::new(Key::from_slice(data_key.as_slice()));
    let aad = place(tree, key);
    cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| bad("does not open with its key (damaged, or moved from another record)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> DataKey {
        zeroize::Zeroizing::new([b; 32])
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_in_its_place() {
        let sealed = seal(&key(1), "t", b"k", b"{\"secret\":1}").expect("seal");
        assert_eq!(sealed[0], SEALED);
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        let open_at = |k: &DataKey, tree: &str, rec: &[u8]| {
            open(Some(k), tree, rec, sealed.clone(), || "k".into())
        };
        assert_eq!(
            open_at(&key(1), "t", b"k").expect("open"),
            b"{\"secret\":1}"
        );
        assert!(open_at(&key(2), "t", b"k").is_err());
        assert!(open_at(&key(1), "u", b"k").is_err());
        assert!(open_at(&key(1), "t", b"j").is_err());
        let err = open(None, "t", b"k", sealed.clone(), || "k".into()).expect_err("no key");
        assert!(err.to_string().contains("t:k"), "{err}");
        // Each value gets its own nonce.
        assert_ne!(
            sealed,
            seal(&key(1), "t", b"k", b"{\"secret\":1}").expect("seal")
        );
    }

    #[test]
    fn legacy_plain_json_still_reads() {
        let v = b" [1,2]".to_vec();
        assert_eq!(
            open(None, "t", b"k", v.clone(), String::new).expect("legacy"),
            v
        );
        assert!(open(None, "t", b"k", vec![9, 9], String::new).is_err());
    }
}
