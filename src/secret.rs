//! Capability secrets: link keys and personal tokens.
//!
//! Secrets are 256 bits from the operating system's secure random source, written as unpadded
//! base64url (43 characters). Only their SHA-256 hashes are kept; comparisons run in constant
//! time. Secrets never reach logs, metrics or error messages.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Bytes of randomness in a secret (256 bits, twice the 128 the design asks for).
pub const SECRET_BYTES: usize = 32;

/// A fresh secret from the OS's random source.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A random 64-bit seed from the OS (for shuffles and prompt draws); 0 if the source fails.
pub fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => 0,
    }
}

/// A room's current join key as the server keeps it (inside the room's record, which the
/// store seals with the room's key), so a facilitator on another device can be shown the link
/// again (`show_link`). Its `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeptKey {
    /// Only the hash is known: the room was opened before keys were kept.
    #[default]
    Unknown,
    /// The link is turned off (`revoke_link`).
    Off,
    /// The current key.
    Key(String),
}

impl std::fmt::Debug for KeptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeptKey::Unknown => "Unknown",
            KeptKey::Off => "Off",
            KeptKey::Key(_) => "Key(…)",
        })
    }
}

/// The SHA-256 hash under which a secret is stored.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` hashes to `expected`, compared in constant time.
pub fn matches(secret: &str, expected: &[u8; 32]) -> bool {
    let actual = hash(secret);
    actual
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_match_only_their_hash() {
        let a = new_secret().expect("os random");
        let b = new_secret().expect("os random");
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(matches(&a, &hash(&a)));
        assert!(!matches(&b, &hash(&a)));
    }

    #[test]
    fn a_kept_key_never_prints_and_old_records_read_as_unknown() {
        let kept = KeptKey::Key("s3cret".into());
        assert!(!format!("{kept:?}").contains("s3cret"));
        #[derive(serde::Deserialize)]
        struct Old {
            #[serde(default)]
            k: KeptKey,
        }
        let old: Old = serde_json::from_str("{}").expect("old record");
        assert_eq!(old.k, KeptKey::Unknown);
        let back: KeptKey =
            serde_json::from_str(&serde_json::to_string(&kept).expect("json")).expect("read");
        assert_eq!(back, kept);
    }
}
