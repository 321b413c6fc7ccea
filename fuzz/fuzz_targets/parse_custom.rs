//! Fuzzes GoAccess-style format strings and the lines read with them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailpulse::format::{FormatOptions, detect};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (fmt, line) = data.split_at(split);
    let Ok(fmt) = std::str::from_utf8(fmt) else { return };
    let opts = FormatOptions { log_format: Some(fmt.to_owned()), ..FormatOptions::default() };
    if let Ok(mut parser) = detect(&[], &opts) {
        let _ = parser.parse(line);
    }
});
