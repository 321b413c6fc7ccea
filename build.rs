//! Fetches the dashboard's front-end packages (Chart.js, from npm, pinned by
//! package-lock.json) so the binary can embed them: the page then works offline, with no CDN.
//! The same `npm ci` brings playwright-core, which the browser tests drive Chromium with.

use std::path::Path;
use std::process::Command;

const CHART_JS: &str = "node_modules/chart.js/dist/chart.umd.min.js";
/// The browser tests' driver (a dev dependency in package.json), installed by the same `npm ci`.
const PLAYWRIGHT: &str = "node_modules/playwright-core/package.json";

fn main() {
    println!("cargo:rerun-if-changed=package-lock.json");
    println!("cargo:rerun-if-changed={CHART_JS}");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let chart = Path::new(&root).join(CHART_JS);
    if !chart.exists() || !Path::new(&root).join(PLAYWRIGHT).exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&root)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("`npm ci` failed ({s}); the dashboard needs Chart.js from npm"),
            Err(e) => panic!("cannot run npm ({e}); install Node.js and npm to build tailpulse"),
        }
    }
    assert!(
        chart.exists(),
        "{} is missing after npm ci",
        chart.display()
    );
    println!("cargo:rustc-env=TAILPULSE_CHART_JS={}", chart.display());
    version(&root);
}

/// `--version`: the package version, and the git revision when built from a checkout.
fn version(root: &str) {
    let git = Path::new(root).join(".git");
    if git.exists() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        println!("cargo:rerun-if-changed=.git/refs/heads");
    }
    let pkg = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success() && git.exists())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|r| !r.is_empty());
    let v = match rev {
        Some(r) => format!("{pkg} (git {r})"),
        None => pkg,
    };
    println!("cargo:rustc-env=TAILPULSE_VERSION={v}");
}
