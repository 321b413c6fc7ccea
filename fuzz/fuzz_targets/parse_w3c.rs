//! Fuzzes the w3c parser: any bytes give a request or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailpulse::format::FormatKind;

fuzz_target!(|data: &[u8]| tailpulse_fuzz::parse_as(&[FormatKind::W3c], data));
