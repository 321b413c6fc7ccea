//! An analysis without client addresses or query strings, for runs that must not show or
//! send them (`--redact`): the page, the API, the reports, the history and the prompts.
//! Redaction works on the fields of the analysis before anything is written: clients become
//! pseudonyms (`client-3fa2c1`, the same for one client throughout a run), paths and routes
//! lose their query strings, each sample log line is written anew from its redacted fields —
//! the raw line, which may carry addresses in other fields (forwarded-for headers, referrers,
//! user names), is not kept — and the insights name clients by their pseudonyms.

use crate::insights::{Insight, InsightKind};
use crate::stats::{SampleRow, Stats};
use std::collections::HashMap;

/// `s` with client addresses replaced by pseudonyms and query strings dropped.
pub fn redacted(s: &Stats) -> Stats {
    Redactor::new(0).stats(s)
}

/// Turns client addresses into pseudonyms, remembering the ones it met so that texts naming
/// them can be redacted too.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    key: u64,
    names: HashMap<String, String>,
}

impl Redactor {
    /// A redactor whose pseudonyms depend on `key` (a secret of the run: a pseudonym cannot
    /// be turned back into its address by hashing candidate addresses).
    pub fn new(key: u64) -> Self {
        Redactor {
            key,
            names: HashMap::new(),
        }
    }

    /// The pseudonym of `client`.
    pub fn client(&mut self, client: &str) -> String {
        let key = self.key;
        self.names
            .entry(client.to_owned())
            .or_insert_with(|| {
                let h = crate::hash::stable(crate::hash::Purpose::Client, client.as_bytes());
                let mixed = (h ^ key).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                format!("client-{:06x}", mixed >> 40)
            })
            .clone()
    }

    /// `s` with client addresses replaced by pseudonyms and query strings dropped.
    pub fn stats(&mut self, s: &Stats) -> Stats {
        let mut out = s.clone();
        for r in &mut out.routes {
            r.route = crate::route::without_query(&r.route).to_owned();
        }
        for c in &mut out.clients {
            c.client = self.client(&c.client);
        }
        for rows in [&mut out.slowest, &mut out.recent, &mut out.recent_errors] {
            for r in rows.iter_mut() {
                self.row(r);
            }
        }
        out
    }

    fn row(&mut self, r: &mut SampleRow) {
        r.client = self.client(&r.client);
        r.path = crate::route::without_query(&r.path).to_owned();
        let ms = r
            .response_ms
            .map_or(String::new(), |m| format!(" {m:.3}ms"));
        r.line = format!(
            "{} {} \"{} {}\" {} {}{ms}",
            r.client, r.time, r.method, r.path, r.status, r.bytes
        );
    }

    /// `i` naming clients by their pseudonyms: its subject when it is a client, and every
    /// client met so far in its texts.
    pub fn insight(&mut self, i: &Insight) -> Insight {
        let mut out = i.clone();
        if matches!(i.kind, InsightKind::Scanner | InsightKind::ScannerActivity)
            && let Some(subject) = &i.subject
        {
            out.subject = Some(self.client(subject));
        }
        out.message = self.text(&out.message);
        out.advice = out.advice.as_deref().map(|a| self.text(a));
        out
    }

    /// `text` with every client met so far replaced by its pseudonym (longest first, so an
    /// address is not cut by a shorter one it contains).
    pub fn text(&self, text: &str) -> String {
        let mut known: Vec<(&String, &String)> = self.names.iter().collect();
        known.sort_by_key(|(a, _)| std::cmp::Reverse(a.len()));
        let mut out = text.to_owned();
        for (addr, name) in known {
            if !addr.is_empty() && out.contains(addr.as_str()) {
                out = out.replace(addr.as_str(), name);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(client: &str, path: &str, line: &str) -> SampleRow {
        SampleRow {
            time: "2024-03-01T12:00:01Z".into(),
            ts_ms: 1_709_294_401_000,
            method: "GET".into(),
            path: path.into(),
            status: 200,
            bytes: 5,
            response_ms: Some(12.5),
            client: client.into(),
            user_agent: "x".into(),
            vhost: String::new(),
            host: String::new(),
            line: line.into(),
        }
    }

    #[test]
    fn clients_and_queries_are_hidden_in_every_field() {
        let raw = r#"10.1.2.3 - bob [01/Mar/2024:12:00:01 +0000] "GET /api/users?token=secret HTTP/1.1" 200 5 "https://x/?ref=10.9.9.9" "x" 2001:db8::1"#;
        let mut s = Stats::of(&crate::aggregate::Aggregate::default());
        s.recent = vec![
            row("10.1.2.3", "/api/users?token=secret", raw),
            row("2001:db8::1", "/", "-"),
        ];
        s.recent_errors = vec![row("10.1.2.3", "/a?b=c", "-")];
        let r = redacted(&s);
        let all = serde_json::to_string(&r).unwrap();
        for secret in ["10.1.2.3", "2001:db8::1", "10.9.9.9", "token=secret", "bob"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        let name = &r.recent[0].client;
        assert!(name.starts_with("client-") && name.len() == 13, "{name}");
        assert_ne!(&r.recent[1].client, name);
        assert_eq!(&r.recent_errors[0].client, name, "one name per client");
        assert_eq!(
            r.recent[0].line,
            format!(r#"{name} 2024-03-01T12:00:01Z "GET /api/users" 200 5 12.500ms"#)
        );
    }
}

#[cfg(test)]
mod keyed {
    use super::*;

    #[test]
    fn pseudonyms_depend_on_the_key_and_texts_follow_them() {
        let (mut a, mut b) = (Redactor::new(1), Redactor::new(2));
        assert_eq!(a.client("10.0.0.1"), a.client("10.0.0.1"));
        assert_ne!(a.client("10.0.0.1"), b.client("10.0.0.1"));
        assert_ne!(a.client("10.0.0.1"), a.client("10.0.0.12"));
        let twelve = a.client("10.0.0.12");
        assert_eq!(
            a.text("10.0.0.12 asked 900 times"),
            format!("{twelve} asked 900 times"),
            "the longer address is replaced whole"
        );
    }
}
