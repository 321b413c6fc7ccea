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

/// `s` with every control character (ESC, BEL, NUL, TAB, …) replaced by `�`: text from a log
/// line printed to a terminal or put in a page cannot move the cursor, recolour the screen or
/// hide what follows.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    replace_control(s, |_| false)
}

/// [`printable`] for a whole report: its own line breaks kept.
pub fn printable_lines(s: String) -> String {
    match replace_control(&s, |c| c == '\n') {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(o) => o,
    }
}

fn replace_control(s: &str, keep: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| c.is_control() && !keep(c);
    if s.chars().any(bad) {
        std::borrow::Cow::Owned(
            s.chars()
                .map(|c| if bad(c) { '\u{fffd}' } else { c })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_not_printed() {
        assert_eq!(
            super::printable("/ctl\u{1b}[31mRED\u{7}"),
            "/ctl\u{fffd}[31mRED\u{fffd}"
        );
        assert!(matches!(
            super::printable("/plain é"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn long_values_are_cut_on_a_char_boundary() {
        assert_eq!(super::clip("short", 10), "short");
        assert_eq!(super::clip("ééé", 3), "é… (6 bytes)");
        assert!(super::clip(&"x".repeat(20_000_000), 100).len() < 130);
    }
}
