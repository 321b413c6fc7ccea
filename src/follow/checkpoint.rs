//! Where reading stopped in each followed file, keyed by path and file identity.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::Metadata;
use std::hash::BuildHasher;

/// Identity of a file: device and inode, which survive a rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// How many leading bytes fingerprint a file (to notice a reused inode or replaced content).
pub const HEAD_LEN: usize = 64;

/// Fingerprint of a file's first bytes.
pub fn head_hash(head: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6865_6164).hash_one(head)
}

/// The read position in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePos {
    /// Which file.
    pub id: FileId,
    /// Bytes consumed (always at a line boundary).
    pub offset: u64,
    /// Lines consumed.
    pub lines: u64,
    /// Fingerprint of the first `head_len` bytes.
    pub head: u64,
    /// How many bytes the fingerprint covers.
    pub head_len: u32,
}

/// Read positions of every followed path: the current file and any rotated one still being
/// finished.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// Path → positions.
    pub files: BTreeMap<String, Vec<FilePos>>,
}

impl Checkpoints {
    /// Records that `path`'s file has been consumed up to `pos`; `finished` forgets it.
    pub fn update(&mut self, path: &str, pos: FilePos, finished: bool) {
        let list = self.files.entry(path.to_owned()).or_default();
        list.retain(|p| p.id != pos.id);
        if !finished {
            list.push(pos);
        }
        if list.is_empty() {
            self.files.remove(path);
        }
    }

    /// Positions recorded for `path`.
    pub fn for_path(&self, path: &str) -> Vec<FilePos> {
        self.files.get(path).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_replaces_and_forgets() {
        let id = FileId { dev: 1, ino: 2 };
        let pos = |offset| FilePos {
            id,
            offset,
            lines: 0,
            head: 0,
            head_len: 0,
        };
        let mut c = Checkpoints::default();
        c.update("a", pos(10), false);
        c.update("a", pos(20), false);
        assert_eq!(c.for_path("a"), vec![pos(20)]);
        c.update("a", pos(30), true);
        assert!(c.files.is_empty());
    }
}
