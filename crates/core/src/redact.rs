//! Numbers that leave the machine (prompts sent to an LLM) without client addresses or query
//! strings: redaction works on the fields of the analysis before anything is written, so
//! nothing depends on recognising an address in free text. Clients become stable pseudonyms
//! (`client-1`, `client-2`, … in order of first appearance), paths and routes lose their
//! query strings, and each sample log line is written anew from its redacted fields — the raw
//! line, which may carry addresses in other fields (forwarded-for headers, referrers, user
//! names), is not sent.

use crate::stats::{SampleRow, Stats};
use std::collections::HashMap;

/// `s` with client addresses replaced by pseudonyms and query strings dropped.
pub fn redacted(s: &Stats) -> Stats {
    let mut names = Pseudonyms::default();
    let mut out = s.clone();
    for r in &mut out.routes {
        r.route = crate::route::without_query(&r.route).to_owned();
    }
    for c in &mut out.clients {
        c.client = names.of(&c.client);
    }
    for rows in [&mut out.slowest, &mut out.recent, &mut out.recent_errors] {
        for r in rows.iter_mut() {
            redact_row(r, &mut names);
        }
    }
    out
}

#[derive(Default)]
struct Pseudonyms(HashMap<String, String>);

impl Pseudonyms {
    fn of(&mut self, client: &str) -> String {
        let n = self.0.len() + 1;
        self.0
            .entry(client.to_owned())
            .or_insert_with(|| format!("client-{n}"))
            .clone()
    }
}

fn redact_row(r: &mut SampleRow, names: &mut Pseudonyms) {
    r.client = names.of(&r.client);
    r.path = crate::route::without_query(&r.path).to_owned();
    let ms = r
        .response_ms
        .map_or(String::new(), |m| format!(" {m:.3}ms"));
    r.line = format!(
        "{} {} \"{} {}\" {} {}{ms}",
        r.client, r.time, r.method, r.path, r.status, r.bytes
    );
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
        assert_eq!(r.recent[0].client, "client-1");
        assert_eq!(r.recent[1].client, "client-2");
        assert_eq!(r.recent_errors[0].client, "client-1", "one name per client");
        assert_eq!(
            r.recent[0].line,
            r#"client-1 2024-03-01T12:00:01Z "GET /api/users" 200 5 12.500ms"#
        );
    }
}
