//! Response-time fields as servers write them: `0.123` (s), `123ms`, `%D` µs, `"0.1, 0.2"`.

use serde::Serialize;

/// The unit of a plain number that holds a response time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimeUnit {
    /// Seconds (nginx `$request_time`, Apache `%T`, Caddy `duration`).
    Seconds,
    /// Milliseconds (IIS `time-taken`).
    Millis,
    /// Microseconds (Apache `%D`).
    Micros,
    /// Nanoseconds (Traefik JSON `Duration`).
    Nanos,
}

impl crate::choice::Choice for TimeUnit {
    const CHOICES: &'static [(&'static str, &'static str, Self)] = &[
        (
            "s",
            "Seconds (nginx `$request_time`, Apache `%T`, Caddy `duration`)",
            TimeUnit::Seconds,
        ),
        ("ms", "Milliseconds (IIS `time-taken`)", TimeUnit::Millis),
        ("us", "Microseconds (Apache `%D`)", TimeUnit::Micros),
        (
            "ns",
            "Nanoseconds (Traefik JSON `Duration`)",
            TimeUnit::Nanos,
        ),
    ];
}

impl TimeUnit {
    /// Converts a value in this unit to milliseconds.
    pub fn to_ms(self, v: f64) -> f64 {
        match self {
            TimeUnit::Seconds => v * 1e3,
            TimeUnit::Millis => v,
            TimeUnit::Micros => v / 1e3,
            TimeUnit::Nanos => v / 1e6,
        }
    }

    /// Reads a unit suffix name (`s`, `ms`, `us`, `µs`, `ns`).
    pub fn from_suffix(s: &str) -> Option<TimeUnit> {
        match s {
            "s" => Some(TimeUnit::Seconds),
            "ms" => Some(TimeUnit::Millis),
            "us" | "µs" => Some(TimeUnit::Micros),
            "ns" => Some(TimeUnit::Nanos),
            _ => None,
        }
    }
}

fn number(b: &[u8]) -> Option<f64> {
    crate::request::parse_f64(b)
}

/// Reads one response-time token into milliseconds.
///
/// A number with a unit suffix (`12ms`, `0.5s`, `300us`) uses it; a decimal number is seconds
/// (as nginx writes it); a plain integer is in `int_unit`; a comma-separated list (nginx
/// upstream times across retries) is summed; `-` is no value.
pub fn token_ms(tok: &[u8], int_unit: TimeUnit) -> Option<f64> {
    let tok = tok.trim_ascii();
    if tok.is_empty() || tok == b"-" {
        return None;
    }
    if let Some(ms) = decimal_seconds_ms(tok) {
        return Some(ms);
    }
    if tok.contains(&b',') || tok.contains(&b':') && !tok.ends_with(b"s") {
        let parts = tok.split(|&b| b == b',' || b == b':');
        let mut sum = None;
        for p in parts {
            if let Some(v) = token_ms(p, int_unit) {
                sum = Some(sum.unwrap_or(0.0) + v);
            }
        }
        return sum;
    }
    for (suffix, unit) in [
        (&b"ms"[..], TimeUnit::Millis),
        ("µs".as_bytes(), TimeUnit::Micros),
        (b"us", TimeUnit::Micros),
        (b"ns", TimeUnit::Nanos),
        (b"s", TimeUnit::Seconds),
    ] {
        if let Some(n) = tok.strip_suffix(suffix) {
            return number(n).map(|v| unit.to_ms(v));
        }
    }
    let v = number(tok)?;
    if tok.contains(&b'.') {
        Some(TimeUnit::Seconds.to_ms(v))
    } else {
        Some(int_unit.to_ms(v))
    }
}

/// The common case read without float parsing: `12.345` (seconds, up to 6 decimals), in
/// milliseconds.
pub fn decimal_seconds_ms(tok: &[u8]) -> Option<f64> {
    /// The value of the decimal digits at the front of `digits` (at most `max` of them),
    /// and how many there were.
    fn digits(digits: &[u8], max: usize) -> (u64, usize) {
        let mut value = 0u64;
        for (i, &b) in digits.iter().take(max).enumerate() {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return (value, i);
            }
            value = value * 10 + u64::from(d);
        }
        (value, digits.len().min(max))
    }
    let (int, int_len) = digits(tok, 10);
    if int_len == 0 || int_len > 9 || tok.get(int_len) != Some(&b'.') {
        return None;
    }
    let frac = &tok[int_len + 1..];
    let (f, frac_len) = digits(frac, 7);
    if frac_len == 0 || frac_len > 6 || frac_len != frac.len() {
        return None;
    }
    let f = f * 10u64.pow(6 - frac_len as u32);
    Some((int * 1_000_000 + f) as f64 / 1000.0)
}

/// True when the token is a bare integer (its unit has to be told or guessed).
pub fn is_plain_integer(tok: &[u8]) -> bool {
    !tok.is_empty() && tok.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let us = TimeUnit::Micros;
        assert_eq!(token_ms(b"0.123", us), Some(123.0));
        assert_eq!(token_ms(b"12ms", us), Some(12.0));
        assert_eq!(token_ms(b"1500", us), Some(1.5));
        assert_eq!(token_ms(b"2", TimeUnit::Seconds), Some(2000.0));
        assert_eq!(token_ms(b"0.100, 0.200", us), Some(300.0));
        assert_eq!(token_ms(b"0.100 : 0.050", us), Some(150.0));
        assert_eq!(token_ms(b"-", us), None);
        assert_eq!(token_ms(b"abc", us), None);
        assert_eq!(token_ms(b"3s", us), Some(3000.0));
        assert_eq!(token_ms(b"0.0005", us), Some(0.5));
        assert_eq!(token_ms(b"12.5", us), Some(12500.0));
        assert_eq!(token_ms(b"1.2.3", us), None);
        assert_eq!(token_ms(b"123456789.000001", us), Some(123456789000.001));
        assert_eq!(token_ms(b"1234567890.5", us), Some(1234567890500.0));
        assert_eq!(token_ms(b".5", us), Some(500.0));
        assert_eq!(token_ms(b"5.", us), Some(5000.0));
    }

    #[test]
    fn decimal_fast_path_agrees_with_float_parsing() {
        let us = crate::aggregate::latency::ms_to_us;
        let digits = b"9081726354";
        for int_len in 0..=11 {
            for frac_len in 0..=8 {
                for tail in [&b""[..], b"x", b".", b"5", b" "] {
                    let mut tok = digits[..int_len.min(10)].to_vec();
                    tok.extend(std::iter::repeat_n(b'7', int_len.saturating_sub(10)));
                    tok.push(b'.');
                    tok.extend(&digits[..frac_len.min(10)]);
                    tok.extend(tail);
                    let fast = decimal_seconds_ms(&tok);
                    let well_formed = (1..=9).contains(&int_len)
                        && (1..=6).contains(&(frac_len + usize::from(tail == b"5")))
                        && (tail.is_empty() || tail == b"5");
                    assert_eq!(fast.is_some(), well_formed, "{}", tok.escape_ascii());
                    if let Some(ms) = fast {
                        let slow = TimeUnit::Seconds.to_ms(number(&tok).unwrap());
                        assert_eq!(us(ms), us(slow), "{}", tok.escape_ascii());
                    }
                }
            }
        }
        assert_eq!(decimal_seconds_ms(b"0.109"), Some(109.0));
        assert_eq!(decimal_seconds_ms(b"-0.1"), None);
        assert_eq!(decimal_seconds_ms(b"0.1e3"), None);
    }
}
