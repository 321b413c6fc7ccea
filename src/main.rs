//! The `tailpulse` binary: parses arguments and hands over to the library.

fn main() {
    let parsed = tailpulse::cli::settings::parse(std::env::args_os().collect());
    if let Err(e) = parsed.and_then(tailpulse::cli::run) {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}
