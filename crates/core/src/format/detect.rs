//! Picks the parser for an input from the options and its first lines.

use super::clf::{Clf, Variant};
use super::custom::Custom;
use super::json::Json;
use super::timing::TimeUnit;
use super::w3c::W3c;
use super::{FormatError, FormatKind, FormatOptions, Parser};

/// How many lines of an input detection looks at.
pub const SAMPLE_LINES: usize = 50;

/// Builds the parser for one input: the format the options name, or else the candidate that
/// reads the most of `sample` (ties go to the more specific format; combined when none fits).
pub fn detect(sample: &[&[u8]], opts: &FormatOptions) -> Result<Parser, FormatError> {
    if let Some(fmt) = &opts.log_format {
        return from_log_format(fmt, sample, opts);
    }
    if let Some(kind) = opts.kind {
        return build(kind, sample, opts);
    }
    let mut best: Option<(usize, Parser)> = None;
    for kind in [
        FormatKind::Traefik,
        FormatKind::VhostCombined,
        FormatKind::Combined,
        FormatKind::Json,
        FormatKind::W3c,
    ] {
        let mut parser = build(kind, sample, opts)?;
        let score = sample
            .iter()
            .filter(|l| matches!(parser.parse(**l), Ok(Some(_))))
            .count();
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, build(kind, sample, opts)?));
        }
    }
    match best {
        Some((score, p)) if score > 0 => Ok(p),
        // JSON that no known mapping reads is still JSON: its errors then name the missing
        // fields, and the hint names --json-field.
        _ if looks_like_json(sample) => build(FormatKind::Json, sample, opts),
        _ => build(FormatKind::Combined, sample, opts),
    }
}

/// The parser for the lines at the start of `data` (its first [`SAMPLE_LINES`] non-blank
/// lines): what batch runs and followed files both use. Fails only when `opts` themselves
/// are unusable, whatever the data.
pub fn detect_in(data: &[u8], opts: &FormatOptions) -> Result<Parser, FormatError> {
    let sample: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .take(SAMPLE_LINES)
        .collect();
    detect(&sample, opts)
}

/// True when most sample lines start like a JSON object.
fn looks_like_json(sample: &[&[u8]]) -> bool {
    let objects = sample
        .iter()
        .filter(|l| l.trim_ascii_start().starts_with(b"{"))
        .count();
    objects > 0 && objects * 2 > sample.len()
}

fn build(kind: FormatKind, sample: &[&[u8]], opts: &FormatOptions) -> Result<Parser, FormatError> {
    let clf = |v| {
        Parser::Clf(Clf::new(
            v,
            opts.time_unit.unwrap_or_else(|| guess_int_unit(sample)),
        ))
    };
    Ok(match kind {
        FormatKind::Combined => clf(Variant::Combined),
        FormatKind::VhostCombined => clf(Variant::VhostCombined),
        FormatKind::Traefik => clf(Variant::Traefik),
        FormatKind::Json => Parser::Json(Json::with_overrides(&opts.json_fields)?),
        FormatKind::W3c => Parser::W3c(W3c::from_sample(sample.iter().copied())),
        FormatKind::Custom => {
            return Err(FormatError::LogFormat(
                "the custom format needs --log-format".into(),
            ));
        }
    })
}

/// GoAccess preset names map to the native parsers; anything else is a format string.
fn from_log_format(
    fmt: &str,
    sample: &[&[u8]],
    opts: &FormatOptions,
) -> Result<Parser, FormatError> {
    let kind = match fmt {
        "COMBINED" | "COMMON" => Some(FormatKind::Combined),
        "VCOMBINED" | "VCOMMON" => Some(FormatKind::VhostCombined),
        "TRAEFIKCLF" => Some(FormatKind::Traefik),
        "W3C" => Some(FormatKind::W3c),
        "CADDY" => Some(FormatKind::Json),
        "CLOUDFRONT" | "CLOUDSTORAGE" | "AWSELB" | "AWSALB" | "SQUID" | "AWSS3" => {
            return Err(FormatError::LogFormat(format!(
                "the GoAccess preset {fmt} is not built in; pass its format string instead"
            )));
        }
        _ => None,
    };
    match kind {
        Some(k) => build(k, sample, opts),
        None => Ok(Parser::Custom(Custom::new(
            fmt,
            opts.date_format.as_deref(),
            opts.time_format.as_deref(),
        )?)),
    }
}

/// Bare-integer response times: Apache `%D` (µs) unless every sampled value is small enough
/// to be `%T` seconds.
fn guess_int_unit(sample: &[&[u8]]) -> TimeUnit {
    let values: Vec<u64> = sample
        .iter()
        .filter_map(|l| super::clf::plain_integer_timing(l))
        .collect();
    if !values.is_empty() && values.iter().all(|&v| v <= 100) {
        TimeUnit::Seconds
    } else {
        TimeUnit::Micros
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(lines: &[&str]) -> FormatKind {
        let sample: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        detect(&sample, &FormatOptions::default()).unwrap().kind()
    }

    #[test]
    fn detects_each_format() {
        let combined =
            r#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x" 0.1"#;
        assert_eq!(kind_of(&[combined, "garbage"]), FormatKind::Combined);
        assert_eq!(
            kind_of(&[&format!("h.example:80 {combined}")]),
            FormatKind::VhostCombined
        );
        assert_eq!(
            kind_of(&[
                r#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x" 3 "r@file" "http://b" 5ms"#
            ]),
            FormatKind::Traefik
        );
        assert_eq!(
            kind_of(&[r#"{"time":"2024-03-01T00:00:00Z","uri":"/","status":200}"#]),
            FormatKind::Json
        );
        assert_eq!(
            kind_of(&[
                "#Fields: date time cs-uri-stem sc-status",
                "2024-03-01 00:00:00 / 200"
            ]),
            FormatKind::W3c
        );
    }

    #[test]
    fn integer_timing_unit_guess() {
        let line = |t: u32| {
            format!(
                r#"1.1.1.1 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x" {t}"#
            )
        };
        let (a, b) = (line(2), line(3500));
        assert_eq!(guess_int_unit(&[a.as_bytes()]), TimeUnit::Seconds);
        assert_eq!(
            guess_int_unit(&[a.as_bytes(), b.as_bytes()]),
            TimeUnit::Micros
        );
    }

    #[test]
    fn presets_and_strings() {
        let opts = |f: &str| FormatOptions {
            log_format: Some(f.into()),
            ..Default::default()
        };
        assert_eq!(
            detect(&[], &opts("VCOMBINED")).unwrap().kind(),
            FormatKind::VhostCombined
        );
        assert_eq!(
            detect(&[], &opts(r#"%h [%d:%t] "%r" %s"#)).unwrap().kind(),
            FormatKind::Custom
        );
        assert!(detect(&[], &opts("CLOUDFRONT")).is_err());
    }
}
