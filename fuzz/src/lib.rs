//! What every parser fuzz target checks: any bytes give a request or an error, and a
//! request holds only sane values.

use tailpulse::format::{FormatKind, FormatOptions, detect};

/// Parses `data` as each of `kinds` and checks what comes out.
pub fn parse_as(kinds: &[FormatKind], data: &[u8]) {
    for &kind in kinds {
        let opts = FormatOptions { kind: Some(kind), ..FormatOptions::default() };
        let mut parser = detect(&[data], &opts).unwrap();
        if let Ok(Some(req)) = parser.parse(data) {
            assert!((100..=599).contains(&req.status));
            assert!(req.response_ms.is_none_or(|ms| ms.is_finite() && ms >= 0.0));
        }
    }
}
