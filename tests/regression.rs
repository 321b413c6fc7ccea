//! Real-world and fuzzer-found lines kept as named constants, each with what must hold for it.

use tailpulse::format::{FormatOptions, Parser, detect};
use tailpulse::request::Request;

fn parse(line: &[u8]) -> Option<Request<'_>> {
    let mut p: Parser = detect(&[line], &FormatOptions::default()).unwrap();
    p.parse(line).ok().flatten()
}

/// Found by `cargo fuzz` (parse_combined): status 905 was counted under 5xx.
const FUZZ_STATUS_905: &[u8] =
    b"108.239.63.60 - - [01/Mar/2024:00:04:26 +0000] \"GET /api/notifications?page=11 HTTP/1.1\" 905 44292 \"-\xc9\xc9\xc9\xc9\xc9\xc9\xc9\xc9\xc9\xc9\xc9\xc90000] \"GET /\"Mozilla/5.0 ( 0.013";

/// nginx with IPv6 client, HTTP/2, a zone east of UTC and both timing fields.
const NGINX_IPV6_H2: &str = r#"2001:db8:85a3::8a2e:370:7334 - alice [02/Mar/2024:01:02:03 +0900] "GET /v1/items/42?ref=x HTTP/2.0" 200 512 "https://example.org/" "Mozilla/5.0 (X11; Linux x86_64)" 0.250 0.248"#;

/// Apache with `%D` microseconds and a request without protocol.
const APACHE_NO_PROTOCOL: &str =
    r#"192.0.2.1 - - [02/Mar/2024:01:02:03 -0500] "GET /cgi-bin/x.cgi" 200 - "-" "-" 1250000"#;

/// A user agent that escapes quotes inside.
const ESCAPED_QUOTES: &str = r#"192.0.2.2 - - [02/Mar/2024:01:02:03 +0000] "POST /api/login HTTP/1.1" 401 18 "-" "evil \"quoted\" \\ agent" 0.003"#;

/// An odd method and a path full of markup.
const MARKUP_PATH: &str = r#"192.0.2.3 - - [02/Mar/2024:01:02:03 +0000] "PATCH /<img src=x onerror=alert(1)> HTTP/1.1" 404 0 "-" "<script>alert(1)</script>""#;

#[test]
fn fuzz_status_905_is_rejected() {
    assert!(parse(FUZZ_STATUS_905).is_none());
}

#[test]
fn nginx_ipv6_h2() {
    let r = parse(NGINX_IPV6_H2.as_bytes()).unwrap();
    assert_eq!(r.client, "2001:db8:85a3::8a2e:370:7334");
    assert_eq!(r.protocol, "HTTP/2.0");
    assert_eq!(r.response_ms, Some(250.0));
    assert_eq!(
        r.ts_ms,
        tailpulse::time::parse_iso("2024-03-01T16:02:03Z").unwrap()
    );
}

#[test]
fn apache_without_protocol_in_microseconds() {
    let r = parse(APACHE_NO_PROTOCOL.as_bytes()).unwrap();
    assert_eq!(
        (r.path.as_ref(), r.protocol.as_ref(), r.bytes),
        ("/cgi-bin/x.cgi", "", 0)
    );
    assert_eq!(r.response_ms, Some(1250.0));
    assert_eq!(
        r.ts_ms,
        tailpulse::time::parse_iso("2024-03-02T06:02:03Z").unwrap()
    );
}

#[test]
fn escaped_quotes_stay_in_the_agent() {
    let r = parse(ESCAPED_QUOTES.as_bytes()).unwrap();
    assert_eq!(r.user_agent, r#"evil \"quoted\" \\ agent"#);
    assert_eq!(r.response_ms, Some(3.0));
}

#[test]
fn markup_is_just_data() {
    let r = parse(MARKUP_PATH.as_bytes()).unwrap();
    assert_eq!(r.method, "PATCH");
    assert_eq!(r.path, "/<img src=x onerror=alert(1)>");
    assert_eq!(r.user_agent, "<script>alert(1)</script>");
}

/// Found by `cargo fuzz` (ingest_detect): byte counts near `u64::MAX` overflowed the totals.
const FUZZ_HUGE_BYTES: &str = r#"192.0.2.4 - - [02/Mar/2024:01:02:03 +0000] "GET / HTTP/1.1" 200 9999999999999999999 "-" "-" 99999999.999"#;

#[test]
fn fuzz_huge_byte_counts_saturate() {
    let line = format!("{FUZZ_HUGE_BYTES}\n{FUZZ_HUGE_BYTES}\n");
    let mut p: Parser = detect(&[FUZZ_HUGE_BYTES.as_bytes()], &FormatOptions::default()).unwrap();
    let mut agg = tailpulse::aggregate::Aggregate::default();
    tailpulse::ingest::ingest_block(&mut agg, "f", &mut p, line.as_bytes(), Default::default());
    assert_eq!(agg.totals.requests, 2);
    assert_eq!(agg.totals.bytes, u64::MAX);
}
