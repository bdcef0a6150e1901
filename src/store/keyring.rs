//! The keyring: one random 256-bit data key per room and per series, kept outside the
//! database so that destroying a key removes its bytes from every file under the data
//! directory (sled keeps old values in its log segments; a file rewritten and renamed does
//! not).
//!
//! On disk the keys live in `keys/shard-00` … `keys/shard-63`; a key's shard is the first byte
//! of SHA-256(kind ‖ id) modulo [`SHARDS`]. A shard that changes is rewritten whole: written
//! to `shard-NN.tmp`, synced, renamed over the old file, and the directory synced, so a reader
//! sees the old shard or the new one, never a torn one. Shard format: the magic
//! [`MAGIC`], then per key `kind (1 byte) ‖ id length (u16, big-endian) ‖ id ‖ key (32
//! bytes)`, then SHA-256 of everything before it. Every key is also kept in memory.

use std::collections::{BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::StoreError;

/// Shard files of a keyring. Fixed: changing it would move keys to other files.
pub const SHARDS: usize = 64;

/// The first bytes of every shard file.
const MAGIC: &[u8; 8] = b"CKKEYS01";

/// A data key. Its bytes are overwritten when it is dropped.
pub type DataKey = Zeroizing<[u8; 32]>;

/// What a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A room: its record, events, snapshot and notes.
    Room,
    /// A series: its record.
    Series,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Room => b'r',
            Kind::Series => b's',
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            b'r' => Some(Kind::Room),
            b's' => Some(Kind::Series),
            _ => None,
        }
    }
}

/// A room or a series: the owner of a key and of the records sealed with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner {
    /// Room or series.
    pub kind: Kind,
    /// Its id.
    pub id: String,
}

impl Owner {
    /// A room.
    pub fn room(id: &str) -> Owner {
        Owner {
            kind: Kind::Room,
            id: id.to_string(),
        }
    }

    /// A series.
    pub fn series(id: &str) -> Owner {
        Owner {
            kind: Kind::Series,
            id: id.to_string(),
        }
    }

    /// `room:ID` or `series:ID`: how the owner is named in the PostgreSQL `leases` table.
    pub fn lease_key(&self) -> String {
        match self.kind {
            Kind::Room => format!("room:{}", self.id),
            Kind::Series => format!("series:{}", self.id),
        }
    }

    /// The inverse of [`Owner::lease_key`].
    pub fn from_lease_key(key: &str) -> Option<Owner> {
        if let Some(id) = key.strip_prefix("room:") {
            return Some(Owner::room(id));
        }
        key.strip_prefix("series:").map(Owner::series)
    }

    /// `kind ‖ id`: how the owner is named in a shard and in the tombstone tree.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.id.len() + 1);
        out.push(self.kind.byte());
        out.extend_from_slice(self.id.as_bytes());
        out
    }

    /// The inverse of [`Owner::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Option<Owner> {
        let (&kind, id) = bytes.split_first()?;
        Some(Owner {
            kind: Kind::from_byte(kind)?,
            id: String::from_utf8(id.to_vec()).ok()?,
        })
    }

    fn shard(&self) -> usize {
        let digest = Sha256::digest(self.to_bytes());
        usize::from(digest[0]) % SHARDS
    }
}

/// Every data key, in memory, and (unless the keyring is temporary) in shard files.
pub struct Keyring {
    /// The `keys/` directory; `None` keeps the keys in memory only.
    dir: Option<PathBuf>,
    keys: HashMap<Owner, DataKey>,
    /// Shards changed since the last [`Keyring::persist`].
    dirty: BTreeSet<usize>,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backend {
        reason: format!("keyring: {what} {}: {e}", path.display()),
    }
}

fn shard_path(dir: &Path, shard: usize) -> PathBuf {
    dir.join(format!("shard-{shard:02}"))
}

impl Keyring {
    /// A keyring that lives in memory only (for a temporary store).
    pub fn memory() -> Keyring {
        Keyring {
            dir: None,
            keys: HashMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// Open the keyring in `dir`, creating the directory if needed. Also answers whether it
    /// is new: no shard file at all, not even an emptied one (a store that has sealed
    /// records but a new keyring has lost its keys). Leftover temporary files of an
    /// interrupted rewrite are removed.
    pub fn open(dir: &Path) -> Result<(Keyring, bool), StoreError> {
        let mut created = true;
        std::fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))?;
        let mut keys = HashMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| io_error("cannot list", dir, e))?;
        for entry in entries {
            let path = entry.map_err(|e| io_error("cannot list", dir, e))?.path();
            if path.extension().is_some_and(|x| x == "tmp") {
                std::fs::remove_file(&path).map_err(|e| io_error("cannot remove", &path, e))?;
            }
        }
        for shard in 0..SHARDS {
            let path = shard_path(dir, shard);
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("cannot read", &path, e)),
            };
            created = false;
            let parsed = parse(&bytes).ok_or_else(|| StoreError::Backend {
                reason: format!("keyring: {} is damaged", path.display()),
            })?;
            for (owner, key) in parsed {
                if owner.shard() != shard {
                    return Err(StoreError::Backend {
                        reason: format!("keyring: {} holds a key of another shard", path.display()),
                    });
                }
                keys.insert(owner, key);
            }
        }
        let ring = Keyring {
            dir: Some(dir.to_path_buf()),
            keys,
            dirty: BTreeSet::new(),
        };
        Ok((ring, created))
    }

    /// The key of `owner`, if it has one.
    pub fn get(&self, owner: &Owner) -> Option<DataKey> {
        self.keys.get(owner).cloned()
    }

    /// How many keys belong to owners of this kind.
    pub fn count(&self, kind: Kind) -> usize {
        self.keys.keys().filter(|o| o.kind == kind).count()
    }

    /// Whether `owner` has a key.
    pub fn has(&self, owner: &Owner) -> bool {
        self.keys.contains_key(owner)
    }

    /// The key of `owner`, made now if it has none (persisted by the next
    /// [`Keyring::persist`]).
    pub fn get_or_create(&mut self, owner: &Owner) -> Result<DataKey, StoreError> {
        if let Some(key) = self.keys.get(owner) {
            return Ok(key.clone());
        }
        let mut key: DataKey = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut_slice()).map_err(|e| StoreError::Backend {
            reason: format!("keyring: no randomness for a new key: {e}"),
        })?;
        self.dirty.insert(owner.shard());
        self.keys.insert(owner.clone(), key.clone());
        Ok(key)
    }

    /// Forget the key of `owner` (gone from disk after the next [`Keyring::persist`]).
    pub fn destroy(&mut self, owner: &Owner) {
        if self.keys.remove(owner).is_some() {
            self.dirty.insert(owner.shard());
        }
    }

    /// Rewrite every shard changed since the last call, each once, and sync the directory:
    /// when this returns, created keys are on disk and destroyed ones in no file.
    pub fn persist(&mut self) -> Result<(), StoreError> {
        let Some(dir) = &self.dir else {
            self.dirty.clear();
            return Ok(());
        };
        if self.dirty.is_empty() {
            return Ok(());
        }
        let mut shards: HashMap<usize, Vec<(&Owner, &DataKey)>> = HashMap::new();
        for (owner, key) in &self.keys {
            let shard = owner.shard();
            if self.dirty.contains(&shard) {
                shards.entry(shard).or_default().push((owner, key));
            }
        }
        for &shard in &self.dirty {
            let mut entries = shards.remove(&shard).unwrap_or_default();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let bytes = Zeroizing::new(serialize(&entries)?);
            let path = shard_path(dir, shard);
            let tmp = path.with_extension("tmp");
            let mut file =
                std::fs::File::create(&tmp).map_err(|e| io_error("cannot create", &tmp, e))?;
            file.write_all(&bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_error("cannot write", &tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| io_error("cannot rename", &tmp, e))?;
        }
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("cannot sync", dir, e))?;
        self.dirty.clear();
        Ok(())
    }
}

fn serialize(entries: &[(&Owner, &DataKey)]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(MAGIC.len() + entries.len() * 64 + 32);
    out.extend_from_slice(MAGIC);
    for (owner, key) in entries {
        let len = u16::try_from(owner.id.len()).map_err(|_| StoreError::Backend {
            reason: "keyring: an id is longer than 65,535 bytes".into(),
        })?;
        out.push(owner.kind.byte());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(owner.id.as_bytes());
        out.extend_from_slice(key.as_slice());
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// The keys of a shard file, or `None` if it is damaged.
fn parse(bytes: &[u8]) -> Option<Vec<(Owner, DataKey)>> {
    let (body, digest) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if Sha256::digest(body).as_slice() != digest {
        return None;
    }
    let mut rest = body.strip_prefix(MAGIC.as_slice())?;
    let mut out = Vec::new();
    while let Some((&kind, after)) = rest.split_first() {
        let (len, after) = after.split_first_chunk::<2>()?;
        let (id, after) = after.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
        let (key, after) = after.split_first_chunk::<32>()?;
        out.push((
            Owner {
                kind: Kind::from_byte(kind)?,
                id: String::from_utf8(id.to_vec()).ok()?,
            },
            Zeroizing::new(*key),
        ));
        rest = after;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_a_reopen_and_destroyed_ones_leave_no_bytes_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("keys");
        let (mut ring, created) = Keyring::open(&keys).expect("open");
        assert!(created);
        let a = ring.get_or_create(&Owner::room("a")).expect("key");
        let b = ring.get_or_create(&Owner::series("a")).expect("key");
        assert_ne!(a, b);
        ring.persist().expect("persist");
        let (mut ring, created) = Keyring::open(&keys).expect("reopen");
        assert!(!created);
        assert_eq!(ring.get(&Owner::room("a")), Some(a.clone()));
        assert_eq!(ring.get(&Owner::series("a")), Some(b));
        ring.destroy(&Owner::room("a"));
        ring.persist().expect("persist");
        for entry in std::fs::read_dir(&keys).expect("list") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            assert!(!bytes.windows(32).any(|w| w == a.as_slice()));
        }
        let (mut ring, _) = Keyring::open(&keys).expect("reopen");
        assert!(!ring.has(&Owner::room("a")));
        assert!(ring.has(&Owner::series("a")));
        // A keyring emptied by deletes is not a new one.
        ring.destroy(&Owner::series("a"));
        ring.persist().expect("persist");
        assert!(!Keyring::open(&keys).expect("reopen").1);
    }

    #[test]
    fn a_damaged_shard_is_refused_not_read_as_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut ring, _) = Keyring::open(dir.path()).expect("open");
        let owner = Owner::room("a");
        ring.get_or_create(&owner).expect("key");
        ring.persist().expect("persist");
        let path = shard_path(dir.path(), owner.shard());
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[10] ^= 1;
        std::fs::write(&path, bytes).expect("write");
        assert!(Keyring::open(dir.path()).is_err());
    }
}
