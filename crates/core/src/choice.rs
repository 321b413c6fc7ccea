//! Closed sets of values a user names — formats, time units, languages — each listing its
//! names once, for the command line and the configuration file alike.

/// A value picked by name from a closed set.
pub trait Choice: Copy + PartialEq + 'static {
    /// Every value a user may name: its name, a one-line description, the value.
    const CHOICES: &'static [(&'static str, &'static str, Self)];

    /// The value named `s` (ASCII case ignored).
    fn from_name(s: &str) -> Option<Self> {
        Self::CHOICES
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(s))
            .map(|c| c.2)
    }

    /// Its name.
    fn choice_name(self) -> &'static str {
        Self::CHOICES
            .iter()
            .find(|c| c.2 == self)
            .map_or("", |c| c.0)
    }
}
