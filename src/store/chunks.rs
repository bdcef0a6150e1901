//! Records small enough for sled's log: a value longer than [`CHUNK_BYTES`] is stored as a
//! head record and continuation records, all in one batch of one tree (so atomically).
//!
//! sled 0.34 writes any log message longer than `segment_size / 4 − 20` bytes (131,052 with the
//! default 512 KiB segments) to its own file under `blobs/`, and neither syncs that file nor
//! its directory, so a flush could return with the value not on disk. A message is a whole
//! tree node when sled consolidates or moves a page, and a leaf holds up to about twenty
//! entries before it splits (16, plus what a merge brings), so every record must stay well
//! under a twentieth of that bound: [`CHUNK_BYTES`] keeps a full leaf near 84 KiB.
//!
//! Writes go through [`Batch`]: a batch whose every record is one key is applied key by key,
//! one holding a chunked record (put or removed) with sled's atomic `apply_batch`. sled 0.34
//! seals and writes out its log buffer twice for every `apply_batch` (a `pwrite` and a
//! `sync_file_range` each, on its IO pool, whose seven idle threads all wake for every job),
//! while a plain insert only reserves space in that buffer: at one command per second in
//! each of 1,000 rooms the batches cost more of the server's CPU than the disk's flushes.
//! A record of one key is atomic by itself; the records of one batch need not be atomic
//! together (each belongs to one room or series, whose acknowledgements wait for the flush
//! that follows, and sled recovers a prefix of its log).
//!
//! A chunked record: at `key`, `0x02 ‖ parts (u32, big-endian) ‖ first part`; at
//! `key ‖ 0x00 ‖ i (u32, big-endian)` for `i` in `1..parts`, the following parts. Ids never
//! contain `0x00` and event keys have a fixed length after it, so no other record's key starts
//! with `key ‖ 0x00`, and the continuations sort right after their head.

use sled::IVec;

use super::StoreError;

/// The longest record this store gives sled.
pub const CHUNK_BYTES: usize = 4096;

/// The first byte of a chunked record's head.
pub const CHUNKED: u8 = 0x02;

/// Head bytes before the first part: the marker and the number of parts.
const HEAD: usize = 5;

/// A sled error, named without the sled type.
pub fn db(e: sled::Error) -> StoreError {
    StoreError::Backend {
        reason: e.to_string(),
    }
}

/// A printable form of a key, for error messages: `room`, `room/seq`, or `room/…`.
pub fn printable(key: &[u8]) -> String {
    match key.iter().position(|&b| b == 0) {
        Some(i) if key.len() == i + 9 => {
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&key[i + 1..]);
            format!(
                "{}/{}",
                String::from_utf8_lossy(&key[..i]),
                u64::from_be_bytes(seq)
            )
        }
        Some(i) => format!("{}/…", String::from_utf8_lossy(&key[..i])),
        None => String::from_utf8_lossy(key).into_owned(),
    }
}

/// `key ‖ 0x00`: the prefix of a record's continuations.
fn continuations(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 5);
    out.extend_from_slice(key);
    out.push(0);
    out
}

fn continuation(key: &[u8], i: u32) -> Vec<u8> {
    let mut out = continuations(key);
    out.extend_from_slice(&i.to_be_bytes());
    out
}

/// Most writes a [`Batch`] applies key by key. Past this, sled's fixed cost per batch is
/// less than what its one guard and reservation save on each key: at 1,000 rooms in a burst,
/// with a hundred or more keys per batch, applying them singly cost 8 % of the events
/// delivered.
pub const SINGLY_MAX: usize = 16;

/// Writes to one tree, applied together by [`Batch::apply`]. As with `sled::Batch`, the
/// last write to a key wins.
#[derive(Default)]
pub struct Batch {
    /// In the order given; a write to the key of the one before it replaces that one.
    writes: Vec<(IVec, Option<IVec>)>,
    /// Some record in it spans several keys: apply it atomically.
    together: bool,
}

impl Batch {
    /// Put `value` at `key`.
    pub fn insert(&mut self, key: impl Into<IVec>, value: impl Into<IVec>) {
        self.push(key.into(), Some(value.into()));
    }

    /// Remove whatever is at `key`.
    pub fn remove(&mut self, key: impl Into<IVec>) {
        self.push(key.into(), None);
    }

    fn push(&mut self, key: IVec, value: Option<IVec>) {
        match self.writes.last_mut() {
            Some(last) if last.0 == key => last.1 = value,
            _ => self.writes.push((key, value)),
        }
    }

    /// Apply this batch with sled's atomic `apply_batch`, even if each of its records is one
    /// key (for a delete's removals, which are finished as one step).
    pub fn keep_together(&mut self) {
        self.together = true;
    }

    /// Apply it to `tree`: nothing if it is empty (sled 0.34 writes out its log buffer at the
    /// start of every `apply_batch`, empty or not); key by key, in order, if every record is
    /// one key and there are at most [`SINGLY_MAX`] writes; else atomically.
    pub fn apply(self, tree: &sled::Tree) -> Result<(), StoreError> {
        if self.writes.is_empty() {
            return Ok(());
        }
        if self.together || self.writes.len() > SINGLY_MAX {
            let mut batch = sled::Batch::default();
            for (key, value) in self.writes {
                match value {
                    Some(value) => batch.insert(key, value),
                    None => batch.remove(key),
                }
            }
            return tree.apply_batch(batch).map_err(db);
        }
        for (key, value) in self.writes {
            match value {
                Some(value) => tree.insert(key, value).map(drop).map_err(db)?,
                None => tree.remove(key).map(drop).map_err(db)?,
            }
        }
        Ok(())
    }
}

/// Add `value` at `key` to `batch`: one record, or a head and its continuations.
pub fn put(batch: &mut Batch, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
    if value.len() <= CHUNK_BYTES {
        batch.insert(key, value);
        return Ok(());
    }
    let (first, rest) = value.split_at(CHUNK_BYTES - HEAD);
    let parts =
        u32::try_from(1 + rest.len().div_ceil(CHUNK_BYTES)).map_err(|_| StoreError::Record {
            key: printable(key),
            reason: "is too long to store".into(),
        })?;
    batch.keep_together();
    let mut head = Vec::with_capacity(CHUNK_BYTES);
    head.push(CHUNKED);
    head.extend_from_slice(&parts.to_be_bytes());
    head.extend_from_slice(first);
    batch.insert(key, head);
    for (i, part) in (1..).zip(rest.chunks(CHUNK_BYTES)) {
        batch.insert(continuation(key, i), part);
    }
    Ok(())
}

/// Add to `batch` the removal of the record at `key` and of every continuation it has.
pub fn remove(tree: &sled::Tree, batch: &mut Batch, key: &[u8]) -> Result<(), StoreError> {
    batch.remove(key);
    for k in tree.scan_prefix(continuations(key)).keys() {
        batch.keep_together();
        batch.remove(k.map_err(db)?);
    }
    Ok(())
}

/// [`remove`] then [`put`]: a new value that leaves no part of the old one behind.
pub fn replace(
    tree: &sled::Tree,
    batch: &mut Batch,
    key: &[u8],
    value: &[u8],
) -> Result<(), StoreError> {
    remove(tree, batch, key)?;
    put(batch, key, value)
}

/// The whole value whose head is `head` at `key`, its continuations taken from `next`.
fn assemble(
    tree: &str,
    key: &[u8],
    head: IVec,
    mut next: impl FnMut() -> Option<sled::Result<(IVec, IVec)>>,
) -> Result<Vec<u8>, StoreError> {
    let bad = |reason: String| StoreError::Record {
        key: format!("{tree}:{}", printable(key)),
        reason,
    };
    let Some((&CHUNKED, rest)) = head.split_first() else {
        return Ok(head.to_vec());
    };
    let Some((parts, first)) = rest.split_first_chunk::<4>() else {
        return Err(bad("holds a truncated chunk head".into()));
    };
    let parts = u32::from_be_bytes(*parts);
    // The count comes from disk: reserve for a sane number of parts, grow past it if real.
    let mut value = Vec::with_capacity(CHUNK_BYTES * parts.min(256) as usize);
    value.extend_from_slice(first);
    for i in 1..parts {
        match next().transpose().map_err(db)? {
            Some((k, part)) if k.as_ref() == continuation(key, i).as_slice() => {
                value.extend_from_slice(&part);
            }
            _ => return Err(bad(format!("lacks part {i} of {parts}"))),
        }
    }
    Ok(value)
}

/// The whole value stored at `key` of `tree`, if any.
pub fn get(tree: &sled::Tree, name: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    let Some(head) = tree.get(key).map_err(db)? else {
        return Ok(None);
    };
    let mut rest = tree.scan_prefix(continuations(key));
    assemble(name, key, head, || rest.next()).map(Some)
}

/// Whole records from a scan of a tree: each head with its continuations put back together.
pub struct Records {
    name: &'static str,
    inner: sled::Iter,
}

impl Records {
    /// The records `inner` scans in the tree called `name`.
    pub fn new(name: &'static str, inner: sled::Iter) -> Records {
        Records { name, inner }
    }
}

impl Iterator for Records {
    type Item = Result<(IVec, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, head) = match self.inner.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(db(e))),
        };
        let inner = &mut self.inner;
        Some(assemble(self.name, &key, head, || inner.next()).map(|v| (key, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_stored_in_parts_and_read_back_whole() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree("t").expect("tree");
        let long: Vec<u8> = (0..3 * CHUNK_BYTES + 7).map(|i| (i % 251) as u8).collect();
        for (key, value) in [(&b"a"[..], &long[..]), (b"b", b"short")] {
            let mut batch = Batch::default();
            replace(&tree, &mut batch, key, value).expect("put");
            batch.apply(&tree).expect("apply");
        }
        assert!(tree
            .iter()
            .values()
            .all(|v| v.expect("v").len() <= CHUNK_BYTES));
        assert_eq!(tree.len(), 5);
        assert_eq!(get(&tree, "t", b"a").expect("get"), Some(long.clone()));
        let all: Vec<(IVec, Vec<u8>)> = Records::new("t", tree.iter())
            .collect::<Result<_, _>>()
            .expect("scan");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1, long);
        assert_eq!(all[1].1, b"short");
        // A shorter value in its place leaves no part of the longer one.
        let mut batch = Batch::default();
        replace(&tree, &mut batch, b"a", b"tiny").expect("put");
        assert!(batch.together, "removing a chunked record is atomic");
        batch.apply(&tree).expect("apply");
        assert_eq!(tree.len(), 2);
        // A lost part is reported, not skipped.
        let mut batch = Batch::default();
        replace(&tree, &mut batch, b"a", &long).expect("put");
        assert!(batch.together, "putting a chunked record is atomic");
        batch.apply(&tree).expect("apply");
        tree.remove(continuation(b"a", 2)).expect("remove");
        let err = get(&tree, "t", b"a").expect_err("lost part");
        assert!(err.to_string().contains("lacks part 2 of 4"), "{err}");
    }

    #[test]
    fn one_key_records_are_written_singly_and_the_last_write_to_a_key_wins() {
        let db = sled::Config::new().temporary(true).open().expect("db");
        let tree = db.open_tree("t").expect("tree");
        let mut batch = Batch::default();
        replace(&tree, &mut batch, b"a", b"first").expect("put");
        // `replace` removes, then puts: one write to the key, not two.
        assert_eq!(batch.writes.len(), 1);
        put(&mut batch, b"b", b"second").expect("put");
        batch.remove(b"gone".to_vec());
        assert!(!batch.together, "one-key records need no atomic batch");
        batch.apply(&tree).expect("apply");
        assert_eq!(get(&tree, "t", b"a").expect("get"), Some(b"first".to_vec()));
        assert_eq!(
            get(&tree, "t", b"b").expect("get"),
            Some(b"second".to_vec())
        );
        // A batch larger than SINGLY_MAX, and one removing records, come out the same.
        let mut batch = Batch::default();
        for i in 0..=SINGLY_MAX {
            batch.insert(format!("k{i:03}").into_bytes(), b"v".to_vec());
        }
        batch.apply(&tree).expect("apply");
        assert_eq!(tree.len(), 2 + SINGLY_MAX + 1);
        let mut batch = Batch::default();
        batch.keep_together();
        for i in 0..=SINGLY_MAX {
            batch.remove(format!("k{i:03}").into_bytes());
        }
        batch.apply(&tree).expect("apply");
        assert_eq!(tree.len(), 2);
    }
}
