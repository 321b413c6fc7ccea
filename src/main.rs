//! The `tailpulse` binary: parses arguments and hands over to the library.

use clap::Parser;

fn main() {
    let cli = tailpulse::cli::Cli::parse();
    if let Err(e) = tailpulse::cli::run(cli) {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}
