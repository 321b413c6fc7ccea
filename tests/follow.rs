//! The file follower against real files that grow, rotate, truncate and disappear.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::time::{Duration, Instant};
use tailpulse::follow::{Checkpoints, Chunk, Tailer};

fn append(path: &std::path::Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Polls until no new data arrives, with a clock that runs past the rotation grace period.
struct Reader {
    tailer: Tailer,
    lines: Vec<String>,
    checkpoints: Checkpoints,
    clock: Instant,
}

impl Reader {
    fn new(path: &std::path::Path, checkpoints: Checkpoints, from_end: bool) -> Self {
        let resume = checkpoints.for_path(&path.to_string_lossy());
        Reader {
            tailer: Tailer::new(path, resume, from_end),
            lines: Vec::new(),
            checkpoints,
            clock: Instant::now(),
        }
    }

    fn poll(&mut self) {
        let mut out: Vec<Chunk> = Vec::new();
        self.tailer.poll(self.clock, &mut out).unwrap();
        for c in out {
            let text = String::from_utf8(c.data).unwrap();
            self.lines.extend(text.lines().map(str::to_owned));
            self.checkpoints.update(&c.path, c.pos, c.finished);
        }
    }

    /// Polls enough times, letting the grace period pass, to drain everything.
    fn drain(&mut self) {
        for _ in 0..3 {
            self.poll();
            self.clock += Duration::from_secs(3);
        }
        self.poll();
    }
}

fn numbered(from: usize, to: usize) -> String {
    (from..to).map(|i| format!("line {i}\n")).collect()
}

fn expect(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("line {i}")).collect()
}

#[test]
fn reads_existing_then_follows_and_holds_partial_lines() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &numbered(0, 3));
    let mut r = Reader::new(&p, Checkpoints::default(), false);
    r.poll();
    assert_eq!(r.lines, expect(0, 3));
    append(&p, "line 3\nline ");
    r.poll();
    assert_eq!(
        r.lines,
        expect(0, 4),
        "the partial line waits for its newline"
    );
    append(&p, "4\n");
    r.poll();
    assert_eq!(r.lines, expect(0, 5));
}

#[test]
fn from_end_skips_what_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &numbered(0, 3));
    let mut r = Reader::new(&p, Checkpoints::default(), true);
    r.poll();
    assert!(r.lines.is_empty());
    append(&p, &numbered(3, 5));
    r.poll();
    assert_eq!(r.lines, expect(3, 5));
}

#[test]
fn rename_rotation_finishes_the_old_file_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &numbered(0, 2));
    let mut r = Reader::new(&p, Checkpoints::default(), false);
    r.poll();
    fs::rename(&p, dir.path().join("a.log.1")).unwrap();
    append(&dir.path().join("a.log.1"), &numbered(2, 4));
    append(&p, &numbered(4, 6));
    r.drain();
    assert_eq!(r.lines, expect(0, 6));
    assert_eq!(
        r.checkpoints.files.values().next().unwrap().len(),
        1,
        "the old file is forgotten once done"
    );
}

#[test]
fn copytruncate_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &numbered(0, 3));
    let mut r = Reader::new(&p, Checkpoints::default(), false);
    r.poll();
    fs::copy(&p, dir.path().join("a.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    append(&p, &numbered(3, 4));
    r.drain();
    assert_eq!(r.lines, expect(0, 4));
}

#[test]
fn truncate_and_refill_beyond_the_old_size_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, "old 0\n");
    let mut r = Reader::new(&p, Checkpoints::default(), false);
    r.poll();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .unwrap();
    append(&p, &numbered(0, 3));
    r.drain();
    assert_eq!(r.lines[1..], expect(0, 3));
    assert_eq!(r.lines[0], "old 0");
}

#[test]
fn delete_and_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &numbered(0, 2));
    let mut r = Reader::new(&p, Checkpoints::default(), false);
    r.poll();
    fs::remove_file(&p).unwrap();
    r.drain();
    append(&p, &numbered(2, 4));
    r.drain();
    assert_eq!(r.lines, expect(0, 4));
}

#[test]
fn a_file_that_appears_late_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("late.log");
    let mut r = Reader::new(&p, Checkpoints::default(), true);
    r.poll();
    append(&p, &numbered(0, 2));
    r.poll();
    assert_eq!(r.lines, expect(0, 2));
}

#[test]
fn restart_from_checkpoint_resumes_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &numbered(0, 3));
    append(&p, "line 3 is par");
    let mut r = Reader::new(&p, Checkpoints::default(), false);
    r.poll();
    let saved = r.checkpoints.clone();
    let mut seen = r.lines.clone();
    drop(r);
    append(&p, "tial\n");
    append(&p, &numbered(4, 6));
    let mut r = Reader::new(&p, saved, true);
    r.poll();
    seen.extend(r.lines);
    let mut want = expect(0, 6);
    want[3] = "line 3 is partial".into();
    assert_eq!(seen, want);
}

#[test]
fn restart_after_rotation_while_stopped_finishes_the_rotated_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.log");
    append(&p, &numbered(0, 2));
    let mut r = Reader::new(&p, Checkpoints::default(), false);
    r.poll();
    let saved = r.checkpoints.clone();
    let mut seen = r.lines.clone();
    drop(r);
    append(&p, &numbered(2, 3));
    fs::rename(&p, dir.path().join("a.log.1")).unwrap();
    append(&p, &numbered(3, 5));
    let mut r = Reader::new(&p, saved, false);
    r.drain();
    seen.extend(r.lines);
    assert_eq!(seen, expect(0, 5));
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Append(u8, bool),
        Poll,
        Rotate,
        CopyTruncate,
        DeleteRecreate,
        Restart,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (1u8..20, any::<bool>()).prop_map(|(n, partial)| Op::Append(n, partial)),
            4 => Just(Op::Poll),
            1 => Just(Op::Rotate),
            1 => Just(Op::CopyTruncate),
            1 => Just(Op::DeleteRecreate),
            2 => Just(Op::Restart),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever happens to the file, every line written is read exactly once.
        #[test]
        fn every_line_exactly_once(ops in prop::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("m.log");
            let mut r = Reader::new(&p, Checkpoints::default(), false);
            let (mut written, mut seen) = (Vec::new(), Vec::new());
            let mut partial: Option<String> = None;
            let (mut next, mut rotations) = (0usize, 0);
            for op in ops {
                match op {
                    Op::Append(n, leave_partial) => {
                        let mut text = String::new();
                        if let Some(p) = partial.take() {
                            text.push_str(" end\n");
                            written.push(format!("{p} end"));
                        }
                        for _ in 0..n {
                            text.push_str(&format!("line {next}\n"));
                            written.push(format!("line {next}"));
                            next += 1;
                        }
                        if leave_partial {
                            let p = format!("part {next}");
                            next += 1;
                            text.push_str(&p);
                            partial = Some(p);
                        }
                        append(&p, &text);
                    }
                    Op::Poll => r.poll(),
                    Op::Rotate => {
                        // The follower has seen the file before it is rotated away (it polls
                        // far more often than logs rotate); what comes after is read from the
                        // renamed file.
                        r.poll();
                        if let Some(p) = partial.take() {
                            written.push(p);
                        }
                        rotations += 1;
                        if p.exists() {
                            fs::rename(&p, dir.path().join(format!("m.log.{rotations}"))).unwrap();
                        }
                    }
                    Op::CopyTruncate | Op::DeleteRecreate => {
                        // Writers end their line before copytruncate or deletion; lines still
                        // unread when the file is emptied are lost by design of copytruncate.
                        if let Some(p) = partial.take() {
                            append(&p_path(&dir), " end\n");
                            written.push(format!("{p} end"));
                        }
                        r.drain();
                        if matches!(op, Op::DeleteRecreate) {
                            let _ = fs::remove_file(&p);
                        }
                        OpenOptions::new().create(true).write(true).truncate(true).open(&p).unwrap();
                    }
                    Op::Restart => {
                        let saved = r.checkpoints.clone();
                        seen.append(&mut r.lines);
                        r = Reader::new(&p, saved, false);
                    }
                }
            }
            if let Some(p) = partial.take() {
                r.poll();
                written.push(p);
                rotations += 1;
                if p_path(&dir).exists() {
                    fs::rename(p_path(&dir), dir.path().join(format!("m.log.{rotations}"))).unwrap();
                }
            }
            r.drain();
            seen.append(&mut r.lines);
            written.sort();
            seen.sort();
            prop_assert_eq!(seen, written);
        }
    }

    fn p_path(dir: &tempfile::TempDir) -> std::path::PathBuf {
        dir.path().join("m.log")
    }
}

/// Regression: a backlog was read whole in one poll (a 172 MB file held in memory, and
/// nothing counted, stored or shown until its end); a poll now hands over one chunk.
#[test]
fn a_backlog_is_handed_over_one_chunk_per_poll() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let lines = 3 * tailpulse::follow::tailer::MAX_CHUNK / 10;
    append(&path, &numbered(0, lines));
    let mut r = Reader::new(&path, Checkpoints::default(), false);
    let mut out: Vec<Chunk> = Vec::new();
    r.tailer.poll(r.clock, &mut out).unwrap();
    let first: usize = out.iter().map(|c| c.data.len()).sum();
    assert!(
        first > 0 && first <= tailpulse::follow::tailer::MAX_CHUNK,
        "one chunk, not the whole file: {first} bytes"
    );
    for c in out {
        let text = String::from_utf8(c.data).unwrap();
        r.lines.extend(text.lines().map(str::to_owned));
    }
    for _ in 0..10 {
        r.poll();
    }
    assert_eq!(r.lines, expect(0, lines));
}
