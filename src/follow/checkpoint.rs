//! Where reading stopped in each followed file, keyed by path and file identity.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::Metadata;

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
    crate::hash::stable(crate::hash::Purpose::FileHead, head)
}

/// The hash a position's fingerprint was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadHash {
    /// [`head_hash`]: every position written now.
    Xxh3,
    /// [`crate::hash::legacy::file_head`]: positions stored in version 1, which had no
    /// such field.
    Foldhash,
}

impl HeadHash {
    fn legacy() -> Self {
        HeadHash::Foldhash
    }
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
    /// How the fingerprint was made.
    #[serde(default = "HeadHash::legacy")]
    pub hash: HeadHash,
}

impl FilePos {
    /// Whether `head` (the first `head_len` bytes of a file) has this position's fingerprint.
    pub fn head_matches(&self, head: &[u8]) -> bool {
        let hash = match self.hash {
            HeadHash::Xxh3 => head_hash(head),
            HeadHash::Foldhash => crate::hash::legacy::file_head(head),
        };
        head.len() == self.head_len as usize && hash == self.head
    }
}

/// Read positions of every followed path: the current file and any rotated one still being
/// finished. A file has one position, whatever the path it was found under: the path (made
/// absolute, links resolved) is the key it is listed by, its device and inode are what it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// Path → positions.
    pub files: BTreeMap<String, Vec<FilePos>>,
    /// Files read to their end and let go (rotated away, deleted), newest last: a pattern
    /// that later matches one of them (`access.log.1`) resumes at its end instead of reading
    /// it again.
    #[serde(default)]
    pub finished: Vec<FilePos>,
}

/// Finished files remembered.
const FINISHED_KEPT: usize = 64;

/// The key the finished files are stored under with the positions (a path is absolute, so
/// it never looks like this).
pub const FINISHED_KEY: &str = "(finished)";

impl Checkpoints {
    /// Records that `path`'s file has been consumed up to `pos`; `finished` forgets it.
    pub fn update(&mut self, path: &str, pos: FilePos, finished: bool) {
        self.files.retain(|k, list| {
            if k != path {
                list.retain(|p| p.id != pos.id);
            }
            !list.is_empty()
        });
        let list = self.files.entry(path.to_owned()).or_default();
        list.retain(|p| p.id != pos.id);
        self.finished.retain(|p| p.id != pos.id);
        if finished {
            self.finished.push(pos);
            if self.finished.len() > FINISHED_KEPT {
                self.finished.remove(0);
            }
        } else {
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

    /// Positions to resume `path` from: those recorded under it, and the position of the file
    /// `current` (the one now at `path`) wherever it was recorded — under another spelling
    /// of the path, a link, or a bind mount. One position per file, the furthest.
    pub fn for_file(&self, path: &str, current: Option<FileId>) -> Vec<FilePos> {
        let mut out: Vec<FilePos> = Vec::new();
        let found = self
            .files
            .iter()
            .flat_map(|(k, list)| {
                list.iter()
                    .filter(move |p| k == path || Some(p.id) == current)
            })
            .chain(self.finished.iter().filter(|p| Some(p.id) == current));
        for p in found {
            match out.iter_mut().find(|o| o.id == p.id) {
                Some(o) if o.offset < p.offset => *o = *p,
                Some(_) => {}
                None => out.push(*p),
            }
        }
        out
    }
}

/// The key a followed path's positions are kept under: the path made absolute, with links
/// resolved when the file exists, so that `a.log`, `./a.log` and `/abs/a.log` are one.
pub fn path_key(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A position `offset` bytes into file `id`.
    fn at(id: FileId, offset: u64) -> FilePos {
        FilePos {
            id,
            offset,
            lines: 0,
            head: 0,
            head_len: 0,
            hash: HeadHash::Xxh3,
        }
    }

    #[test]
    fn update_replaces_and_forgets() {
        let id = FileId { dev: 1, ino: 2 };
        let pos = |offset| at(id, offset);
        let mut c = Checkpoints::default();
        c.update("a", pos(10), false);
        c.update("a", pos(20), false);
        assert_eq!(c.for_path("a"), vec![pos(20)]);
        c.update("a", pos(30), true);
        assert!(c.files.is_empty());
        assert_eq!(
            c.for_file("/b/a.1", Some(id)),
            vec![pos(30)],
            "found again at its end"
        );
    }

    /// Regression: the same file followed as `a.log`, then `/abs/a.log`, then `./a.log`
    /// was counted three times, its positions being kept by the spelling of its path.
    #[test]
    fn a_file_has_one_position_whatever_its_path() {
        let id = FileId { dev: 1, ino: 2 };
        let other = FileId { dev: 1, ino: 3 };
        let pos = at;
        let mut c = Checkpoints::default();
        c.update("a.log", pos(id, 10), false);
        c.update("b.log", pos(other, 5), false);
        assert_eq!(c.for_file("/abs/a.log", Some(id)), vec![pos(id, 10)]);
        c.update("/abs/a.log", pos(id, 20), false);
        assert_eq!(c.for_path("a.log"), vec![], "moved to the new key");
        assert_eq!(c.for_file("/abs/a.log", Some(id)), vec![pos(id, 20)]);
        assert_eq!(c.for_file("b.log", None), vec![pos(other, 5)]);
        // An older state could hold the same file under two keys: the furthest wins.
        c.files.insert("./a.log".into(), vec![pos(id, 15)]);
        assert_eq!(c.for_file("/abs/a.log", Some(id)), vec![pos(id, 20)]);
    }

    /// A position stored before fingerprints were pinned (no `hash` field) is checked with
    /// the hash it was made with; one written now with the pinned hash.
    #[test]
    fn a_position_is_checked_with_the_hash_it_was_made_with() {
        let head = b"216.6.206.253 - - [17/May/2015:10:05:03 +0000]";
        let old = format!(
            r#"{{"id":{{"dev":1,"ino":2}},"offset":9,"lines":1,"head":{},"head_len":{}}}"#,
            crate::hash::legacy::file_head(head),
            head.len()
        );
        let old: FilePos = serde_json::from_str(&old).unwrap();
        assert_eq!(old.hash, HeadHash::Foldhash);
        assert!(old.head_matches(head));
        assert!(!old.head_matches(b"216.6.206.253 - - [17/May/2015:10:05:04 +0000]"));
        let new = FilePos {
            head: head_hash(head),
            head_len: head.len() as u32,
            ..at(FileId { dev: 1, ino: 2 }, 9)
        };
        let back: FilePos = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(back, new);
        assert!(back.head_matches(head));
    }
}
