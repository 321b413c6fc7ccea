//! Finds the dashboard's front-end package (Chart.js, from npm, pinned by package-lock.json)
//! so the binary can embed it: the page then works offline, with no CDN. A packaged crate
//! (`cargo package`, `cargo install`) carries the file in `assets/` and needs no Node.js; a
//! checkout fetches it with `npm ci`, which also brings playwright-core, the browser tests'
//! driver.

use std::path::Path;
use std::process::Command;

const CHART_JS: &str = "node_modules/chart.js/dist/chart.umd.min.js";
/// Where `scripts/package.sh` puts Chart.js for the crate's package (not kept in git).
const PACKAGED_CHART_JS: &str = "assets/chart.umd.min.js";
/// The git revision the package was made from, beside it.
const PACKAGED_REVISION: &str = "assets/revision";
/// The browser tests' driver (a dev dependency in package.json), installed by the same `npm ci`.
const PLAYWRIGHT: &str = "node_modules/playwright-core/package.json";

fn main() {
    println!("cargo:rerun-if-changed=package-lock.json");
    println!("cargo:rerun-if-changed={CHART_JS}");
    println!("cargo:rerun-if-changed={PACKAGED_CHART_JS}");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    version(&root);
    let chart = Path::new(&root).join(CHART_JS);
    let packaged = Path::new(&root).join(PACKAGED_CHART_JS);
    if !chart.exists() && packaged.exists() {
        println!("cargo:rustc-env=TAILPULSE_CHART_JS={}", packaged.display());
        return;
    }
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
        .filter(|r| !r.is_empty())
        // A packaged crate has no checkout: scripts/package.sh wrote the revision down.
        .or_else(|| {
            let packaged = Path::new(root).join(PACKAGED_REVISION);
            println!("cargo:rerun-if-changed={PACKAGED_REVISION}");
            std::fs::read_to_string(packaged)
                .ok()
                .map(|r| r.trim().to_owned())
        })
        .filter(|r| !r.is_empty());
    let v = match rev {
        Some(r) => format!("{pkg} (git {r})"),
        None => pkg,
    };
    println!("cargo:rustc-env=TAILPULSE_VERSION={v}");
}
