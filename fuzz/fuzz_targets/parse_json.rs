//! Fuzzes the json parser (and its CLF relatives): any bytes give a request or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tailpulse::format::{FormatKind, FormatOptions, detect};

fuzz_target!(|data: &[u8]| {
    let kinds: &[FormatKind] = match FormatKind::Json {
        FormatKind::Combined => &[FormatKind::Combined, FormatKind::VhostCombined, FormatKind::Traefik],
        k => &[k],
    };
    for &kind in kinds {
        let opts = FormatOptions { kind: Some(kind), ..FormatOptions::default() };
        let mut parser = detect(&[data], &opts).unwrap();
        if let Ok(Some(req)) = parser.parse(data) {
            assert!((100..=599).contains(&req.status));
            assert!(req.response_ms.is_none_or(|ms| ms.is_finite() && ms >= 0.0));
        }
    }
});
