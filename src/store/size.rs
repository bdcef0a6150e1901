//! The store's size on disk, for `circlekeeper_store_bytes` on `/metrics`: for sled, the bytes
//! of its log file and blob files as sled counts them (a `stat` of the log and a listing of
//! `blobs/`, no read of any record). The small `conf` and `snap.*` files and the `keys/`
//! shards beside them are not counted. Callers cache the answer (see
//! [`crate::metrics::STORE_SIZE_EVERY`]).

/// sled's size on disk in bytes, or `None` if its files cannot be listed.
pub(super) fn sled_bytes(db: &sled::Db) -> Option<u64> {
    db.size_on_disk().ok()
}

#[cfg(test)]
mod tests {
    use crate::store::{SledStore, Store};

    #[test]
    fn a_sled_store_reports_its_size_and_grows_with_what_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path()).expect("opens");
        assert!(
            store.size_on_disk().is_some(),
            "the sled store tells its size"
        );
        let db = sled::Config::new().temporary(true).open().expect("sled");
        let before = super::sled_bytes(&db).expect("a size");
        let tree = db.open_tree("t").expect("tree");
        for i in 0u32..2000 {
            tree.insert(i.to_be_bytes(), vec![7u8; 512])
                .expect("insert");
        }
        db.flush().expect("flush");
        let after = super::sled_bytes(&db).expect("a size");
        assert!(after > before + 500_000, "{before} -> {after}");
    }
}
