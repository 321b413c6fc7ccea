//! Reading without client addresses or query strings, for runs that must not show or keep
//! them (`--redact`): each request is redacted as it is read, before it is counted, so the
//! numbers, the samples, the detection, the stored state and history, the page, the reports
//! and the prompts only ever hold what is left. Clients become pseudonyms (`client-` and 12
//! hex digits, the same for one client throughout a run, keyed by a secret of the run), paths
//! lose their query strings, referrers are dropped, and a sample's log line is written anew
//! from its redacted fields — the raw line may carry addresses in other fields
//! (forwarded-for headers, referrers, user names).

use crate::request::Request;
use std::borrow::Cow;

/// The secret a run's pseudonyms are made with (kept in its data directory, so that one
/// client keeps its pseudonym across restarts).
pub type Key = [u8; 16];

/// The pseudonym of `client` under `key`: the first 48 bits of SHA-256 over the key and the
/// address, so that without the key no address can be found by hashing candidates.
pub fn pseudonym(key: &Key, client: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(key);
    h.update(client.as_bytes());
    let d = h.finalize();
    let hex: String = d[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("client-{hex}")
}

/// Redacts `req` in place: its client becomes a pseudonym, its path loses the query string,
/// its referrer is dropped.
pub fn request(req: &mut Request<'_>, key: &Key) {
    req.client = Cow::Owned(pseudonym(key, &req.client));
    let bare = crate::route::without_query(&req.path);
    if bare.len() != req.path.len() {
        req.path = Cow::Owned(bare.to_owned());
    }
    req.referer = Cow::Borrowed("");
}

/// The log line shown for a redacted request: its redacted fields, not the raw line.
pub fn line(req: &Request<'_>) -> String {
    let ms = req
        .response_ms
        .map_or(String::new(), |m| format!(" {m:.3}ms"));
    format!(
        "{} {} \"{} {}\" {} {}{ms}",
        req.client,
        crate::time::format_rfc3339(req.ts_ms),
        req.method,
        req.path,
        req.status,
        req.bytes
    )
}

/// What a rejected line is shown as when lines are redacted or addresses anonymized.
pub const WITHHELD: &[u8] = b"(line withheld: --redact or --anonymize-ip)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_queries_and_referrers_are_gone() {
        let mut req = Request {
            ts_ms: 1_709_294_401_000,
            method: "GET".into(),
            path: "/api/users?token=secret".into(),
            status: 200,
            bytes: 5,
            response_ms: Some(12.5),
            client: "10.1.2.3".into(),
            referer: "https://x/?ref=10.9.9.9".into(),
            ..Default::default()
        };
        request(&mut req, &[7; 16]);
        let name = req.client.to_string();
        assert!(name.starts_with("client-") && name.len() == 19, "{name}");
        assert_eq!(req.path, "/api/users");
        assert_eq!(req.referer, "");
        let shown = line(&req);
        for secret in ["10.1.2.3", "10.9.9.9", "token=secret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(
            shown,
            format!(r#"{name} 2024-03-01T12:00:01.000Z "GET /api/users" 200 5 12.500ms"#)
        );
    }

    #[test]
    fn pseudonyms_depend_on_the_key() {
        let (a, b) = ([1; 16], [2; 16]);
        assert_eq!(pseudonym(&a, "10.0.0.1"), pseudonym(&a, "10.0.0.1"));
        assert_ne!(pseudonym(&a, "10.0.0.1"), pseudonym(&b, "10.0.0.1"));
        assert_ne!(pseudonym(&a, "10.0.0.1"), pseudonym(&a, "10.0.0.12"));
    }
}
