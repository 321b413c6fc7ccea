//! The report files a run rewrites: `analysis_report.{txt,json}` and `prompt_log.md`.

use crate::analysis::Analysis;
use crate::lang::Lang;
use std::path::Path;

/// File names of the reports in `out_dir`.
pub const REPORT_TXT: &str = "analysis_report.txt";
/// JSON report.
pub const REPORT_JSON: &str = "analysis_report.json";
/// Prompts as Markdown.
pub const PROMPT_LOG: &str = "prompt_log.md";

/// Writes `analysis_report.txt`, `analysis_report.json` and `prompt_log.md` atomically; a
/// failure keeps the last good files and is logged.
pub fn write_reports(dir: &Path, s: &Analysis, lang: Lang) {
    let json = serde_json::to_vec_pretty(s).expect("summary serializes");
    let files: [(&str, Vec<u8>); 3] = [
        (
            REPORT_TXT,
            crate::report::text::render(s, lang).into_bytes(),
        ),
        (REPORT_JSON, json),
        (
            PROMPT_LOG,
            crate::report::text::prompt_log(s, lang).into_bytes(),
        ),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Err(e) = crate::fsutil::atomic_write(&path, &bytes) {
            tracing::error!(target: "analysis", path = %path.display(), error = %e, "cannot write report; keeping the last good one");
        }
    }
    tracing::debug!(target: "analysis", requests = s.stats.requests, "reports written");
}
