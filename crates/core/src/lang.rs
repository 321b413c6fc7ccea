//! Report languages and how numbers are written in each (the words are in
//! [`crate::messages`]).

use serde::Serialize;

/// Language of the report, insights and prompts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Korean (the original report's language).
    Ko,
}

impl crate::choice::Choice for Lang {
    const CHOICES: &'static [(&'static str, &'static str, Self)] = &[
        ("en", "English", Lang::En),
        ("ko", "Korean (the original report's language)", Lang::Ko),
    ];
}

impl Lang {
    /// The other language.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ko,
            Lang::Ko => Lang::En,
        }
    }
}

/// Milliseconds as `755 ms` (en) or `755ms` (ko), whole numbers above 10 ms.
pub fn ms(lang: Lang, v: f64) -> String {
    let n = if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    match lang {
        Lang::En => format!("{n} ms"),
        Lang::Ko => format!("{n}ms"),
    }
}

/// A share (0–1) as a percentage with one decimal.
pub fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// Bytes in binary units (`1.2 GiB`).
pub fn bytes(v: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = v as f64;
    let mut i = 0;
    while x >= 1024.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v} B")
    } else {
        format!("{x:.1} {}", UNITS[i])
    }
}

/// An hour of the day as `6:00` (en) or `6시` (ko).
pub fn hour(lang: Lang, h: u8) -> String {
    match lang {
        Lang::En => format!("{h}:00"),
        Lang::Ko => format!("{h}시"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(ms(Lang::En, 755.4), "755 ms");
        assert_eq!(ms(Lang::Ko, 1.25), "1.2ms");
        assert_eq!(pct(0.0234), "2.3%");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(hour(Lang::Ko, 6), "6시");
    }
}
