//! Runs the dashboard's browser test (tests/browser/*.test.mjs: node's test runner driving
//! Debian's Chromium through playwright-core, both installed by `.ci/run` / `npm ci`).

use std::process::Command;

#[test]
fn dashboard_in_headless_chromium() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "tests/browser/"])
        .current_dir(root)
        .env("TAILPULSE_BIN", env!("CARGO_BIN_EXE_tailpulse"))
        .env(
            "TAILPULSE_SCREENSHOT_KO",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/dashboard-ko.png"),
        )
        .output()
        .expect("node runs (Node.js is needed for the browser test)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser test failed:\n{report}");
    assert!(report.contains("dashboard in a real browser"), "{report}");
}
