//! Small helpers for text shown to users.

/// `s` cut to at most `max` bytes on a character boundary, with `…` and the full length when
/// cut: for quoting attacker- or user-supplied values in messages.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &s[..cut], s.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        assert_eq!(super::clip("short", 10), "short");
        assert_eq!(super::clip("ééé", 3), "é… (6 bytes)");
        assert!(super::clip(&"x".repeat(20_000_000), 100).len() < 130);
    }
}
