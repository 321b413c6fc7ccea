//! The formats of what the database holds, each with a version: binary rows (rollups, route
//! rollups, visitor sketches) start with a version byte; JSON blobs (the saved aggregate, the
//! detection state, read positions) are `{"version": N, "body": …}`. Version 1 is what was
//! written before versions existed (binary rows were given their byte by schema step 5; JSON
//! blobs without the envelope are version 1); readers take every version up to the newest
//! and refuse a newer one.

use super::StoreError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Version of rollup and route rollup rows (layout unchanged since version 1).
pub(super) const ROWS: u8 = 1;
/// Version of visitor sketches: 2 hashes with the pinned hash; 1 with foldhash 0.2.0, whose
/// registers cannot be rehashed (an hour holding both counts a visitor seen before and after
/// the upgrade twice).
pub(super) const VISITORS: u8 = 2;
/// Version of an hour's panels: 2 adds the servers' panels after the rest (hosts and
/// virtual hosts); 1 has none.
pub(super) const PANELS: u8 = 2;
/// Version of the JSON blobs: 2 fingerprints and ids with the pinned hash ([`crate::hash`]).
pub(super) const JSON: u32 = 2;

/// A binary row: the version byte, then postcard.
pub(super) fn encode<T: Serialize>(version: u8, v: &T) -> Vec<u8> {
    let mut out = vec![version];
    postcard::to_io(v, &mut out).expect("rows serialize");
    out
}

/// Why a stored value cannot be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum FormatError {
    /// Written by a newer tailpulse.
    #[error("format version {found} is newer than this build reads ({known})")]
    TooNew { found: u32, known: u32 },
    /// The bytes do not decode.
    #[error(transparent)]
    Postcard(#[from] postcard::Error),
    /// The text does not decode.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// No version byte.
    #[error("empty row")]
    Empty,
}

/// A binary row of any version up to `newest`: its version and value.
pub(super) fn decode_row<T: DeserializeOwned>(
    b: &[u8],
    newest: u8,
) -> Result<(u8, T), FormatError> {
    let (&version, body) = b.split_first().ok_or(FormatError::Empty)?;
    if version == 0 || version > newest {
        return Err(FormatError::TooNew {
            found: version.into(),
            known: newest.into(),
        });
    }
    Ok((version, postcard::from_bytes(body)?))
}

/// An hour's panels as stored: the version byte, the panels, then the servers' panels.
pub(super) fn encode_panels(p: &crate::aggregate::rollup::HourPanels) -> Vec<u8> {
    let mut out = encode(PANELS, p);
    postcard::to_io(&p.servers, &mut out).expect("rows serialize");
    out
}

/// An hour's panels of any version (one stored before the servers' panels has none).
pub(super) fn decode_panels(b: &[u8]) -> Result<crate::aggregate::rollup::HourPanels, FormatError> {
    let (&version, body) = b.split_first().ok_or(FormatError::Empty)?;
    if version == 0 || version > PANELS {
        return Err(FormatError::TooNew {
            found: version.into(),
            known: PANELS.into(),
        });
    }
    let (mut panels, rest): (crate::aggregate::rollup::HourPanels, _) =
        postcard::take_from_bytes(body)?;
    if version >= 2 {
        panels.servers = postcard::from_bytes(rest)?;
    }
    Ok(panels)
}

/// `decode_row` with the error a store reports for row kind `what` of the database `path`.
pub(super) fn decode_body<T: DeserializeOwned>(
    path: &str,
    what: &'static str,
    b: &[u8],
    newest: u8,
) -> Result<T, StoreError> {
    decode_row(b, newest)
        .map(|(_, v)| v)
        .map_err(|e| StoreError::Decode {
            path: path.to_owned(),
            what,
            source: Box::new(e),
        })
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    version: u32,
    body: &'a T,
}

#[derive(Deserialize)]
struct Opened<T> {
    body: T,
}

#[derive(Deserialize)]
struct Version {
    version: u32,
}

/// A JSON blob of the newest version.
pub(super) fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(&Envelope {
        version: JSON,
        body: v,
    })
    .expect("stored values serialize")
}

/// A JSON blob of any version: its version and value. `legacy` reads version 1 (text
/// without the envelope).
pub(super) fn from_json<T: DeserializeOwned>(
    text: &str,
    legacy: impl FnOnce(&str) -> serde_json::Result<T>,
) -> Result<(u32, T), FormatError> {
    if !text.starts_with("{\"version\":") {
        return Ok((1, legacy(text)?));
    }
    let Version { version } = serde_json::from_str(text)?;
    if version == 0 || version > JSON {
        return Err(FormatError::TooNew {
            found: version,
            known: JSON,
        });
    }
    let Opened { body } = serde_json::from_str(text)?;
    Ok((version, body))
}

/// Reads a version-1 aggregate. Those written before empty response-time sketches had a JSON
/// form hold `"min": null` for them; those are repaired (the sketch was empty) and read.
pub(super) fn legacy_state<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str(text).or_else(|first| {
        let mut v: serde_json::Value = serde_json::from_str(text)?;
        if repair_empty_sketches(&mut v) {
            serde_json::from_value(v)
        } else {
            Err(first)
        }
    })
}

/// Gives every sketch object with a `null` minimum or maximum (an empty one, as older
/// versions wrote it) a number there; true when anything changed.
fn repair_empty_sketches(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            let mut changed = false;
            if o.contains_key("zero_count") {
                for k in ["min", "max"] {
                    if o.get(k).is_some_and(Value::is_null) {
                        o.insert(k.to_owned(), Value::from(0.0));
                        changed = true;
                    }
                }
            }
            o.values_mut()
                .fold(changed, |c, x| repair_empty_sketches(x) | c)
        }
        Value::Array(a) => a
            .iter_mut()
            .fold(false, |c, x| repair_empty_sketches(x) | c),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An hour's panels stored before the servers' panels existed (version 1: the panels
    /// alone) still read, with no servers; version 2 keeps them.
    #[test]
    fn panels_stored_before_the_servers_panels_still_read() {
        use crate::aggregate::rollup::HourPanels;
        let mut p = HourPanels::default();
        *p.sites.entry("example.org") += 3;
        p.servers.hosts.entry("web-1").add(500, 10, Some(2000));
        *p.servers.vhosts.entry("shop.example") += 2;
        let old = decode_panels(&encode(1, &p)).unwrap();
        assert_eq!(old.sites.top().rows, p.sites.top().rows);
        assert!(old.servers.hosts.top().rows.is_empty());
        let now = decode_panels(&encode_panels(&p)).unwrap();
        assert_eq!(now.servers.hosts.top().rows[0].1.errors_5xx, 1);
        assert_eq!(now.servers.vhosts.top().rows, vec![("shop.example", &2)]);
        let mut newer = encode_panels(&p);
        newer[0] = PANELS + 1;
        assert!(matches!(
            decode_panels(&newer),
            Err(FormatError::TooNew { .. })
        ));
    }

    #[test]
    fn rows_carry_their_version_and_newer_ones_are_refused() {
        let row = encode(ROWS, &(7u64, "x".to_owned()));
        assert_eq!(row[0], ROWS);
        let (v, back): (u8, (u64, String)) = decode_row(&row, ROWS).unwrap();
        assert_eq!((v, back), (ROWS, (7, "x".to_owned())));
        let mut newer = row.clone();
        newer[0] = ROWS + 1;
        assert!(matches!(
            decode_row::<(u64, String)>(&newer, ROWS),
            Err(FormatError::TooNew { .. })
        ));
        assert!(matches!(
            decode_row::<u64>(&[], ROWS),
            Err(FormatError::Empty)
        ));
    }

    #[test]
    fn json_blobs_carry_their_version_and_bare_ones_are_version_1() {
        let text = to_json(&vec![1, 2]);
        assert_eq!(text, r#"{"version":2,"body":[1,2]}"#);
        let plain = |t: &str| serde_json::from_str(t);
        assert_eq!(from_json::<Vec<u8>>(&text, plain).unwrap(), (2, vec![1, 2]));
        assert_eq!(from_json::<Vec<u8>>("[3]", plain).unwrap(), (1, vec![3]));
        let newer = r#"{"version":3,"body":{"what":"else"}}"#;
        assert!(matches!(
            from_json::<Vec<u8>>(newer, plain),
            Err(FormatError::TooNew { found: 3, .. })
        ));
    }
}
