//! The saved state of a live run: the aggregate and the read positions, written together so
//! that a restart (even after `kill -9`) counts every line exactly once.

use crate::aggregate::Aggregate;
use crate::follow::Checkpoints;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the state file; a different one is ignored (the logs are read again).
pub const STATE_VERSION: u32 = 1;

/// What a restart needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// [`STATE_VERSION`].
    pub version: u32,
    /// Everything counted so far.
    pub aggregate: Aggregate,
    /// Where each followed file was read up to — exactly the lines in `aggregate`.
    pub checkpoints: Checkpoints,
}

/// Why the state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("state file {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a state file of this version.
    #[error("state file {path} is unreadable")]
    Corrupt {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl State {
    /// Loads the state at `path`; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<State>, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let state: State =
            serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt {
                path: path.display().to_string(),
                source,
            })?;
        Ok((state.version == STATE_VERSION).then_some(state))
    }

    /// Saves atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let bytes = serde_json::to_vec(self).expect("state serializes");
        crate::fsutil::atomic_write(path, &bytes).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{FormatOptions, detect};
    use crate::ingest::{BlockPos, ingest_block};

    #[test]
    fn round_trip_keeps_every_number() {
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/combined.log"
        ))
        .unwrap();
        let mut parser = detect(&[&data[..200]], &FormatOptions::default()).unwrap();
        let mut agg = Aggregate::default();
        ingest_block(
            &mut agg,
            "f",
            &mut parser,
            &data,
            BlockPos {
                first_line: 1,
                offset: 0,
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        State {
            version: STATE_VERSION,
            aggregate: agg.clone(),
            checkpoints: Checkpoints::default(),
        }
        .save(&p)
        .unwrap();
        let back = State::load(&p).unwrap().unwrap();
        let a =
            serde_json::to_value(crate::analysis::analyze(&agg, crate::lang::Lang::En)).unwrap();
        let b = serde_json::to_value(crate::analysis::analyze(
            &back.aggregate,
            crate::lang::Lang::En,
        ))
        .unwrap();
        assert_eq!(a, b);
        std::fs::write(&p, b"{not json").unwrap();
        assert!(matches!(State::load(&p), Err(StateError::Corrupt { .. })));
        assert!(State::load(&dir.path().join("none")).unwrap().is_none());
    }
}
