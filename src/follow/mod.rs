//! Following log files as `tail -F` should: rotation by rename, copytruncate, deletion and
//! re-creation, files that appear late, partial last lines, and checkpoints that let a restart
//! resume exactly where the last saved state stopped.

pub mod checkpoint;
pub mod tailer;

pub use checkpoint::{Checkpoints, FileId, FilePos};
pub use tailer::{Chunk, Tailer};
