//! Lines per second of each parser on realistic lines.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tailpulse::format::{FormatKind, FormatOptions, Parser, detect};

const COMBINED: &str = r#"203.0.113.9 - - [01/Mar/2024:13:55:36 +0000] "GET /api/users/12345?page=2 HTTP/1.1" 200 2326 "https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0" 0.042"#;
const VHOST: &str = r#"example.com:443 203.0.113.9 - - [01/Mar/2024:13:55:36 +0000] "GET /api/users/12345 HTTP/1.1" 200 2326 "-" "Mozilla/5.0 (X11; Linux x86_64)" 42000"#;
const TRAEFIK: &str = r#"203.0.113.9 - - [01/Mar/2024:13:55:36 +0000] "GET /api/users/12345 HTTP/2.0" 200 2326 "-" "Mozilla/5.0 (X11; Linux x86_64)" 8 "web@docker" "http://172.17.0.3:80" 42ms"#;
const NGINX_JSON: &str = r#"{"time_iso8601":"2024-03-01T13:55:36+00:00","remote_addr":"203.0.113.9","request":"GET /api/users/12345 HTTP/1.1","status":"200","body_bytes_sent":"2326","request_time":"0.042","http_referer":"","http_user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}"#;
const CADDY: &str = r#"{"level":"info","ts":1709301336.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"203.0.113.9","proto":"HTTP/2.0","method":"GET","host":"example.com","uri":"/api/users/12345","headers":{"User-Agent":["Mozilla/5.0"]}},"duration":0.042,"size":2326,"status":200}"#;
const W3C: &str = "2024-03-01 13:55:36 10.0.0.1 GET /api/users/12345 page=2 443 - 203.0.113.9 Mozilla/5.0+(X11;+Linux+x86_64) - 200 0 0 42";
const CUSTOM_FMT: &str = r#"%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T"#;

fn parser(kind: Option<FormatKind>, log_format: Option<&str>, sample: &str) -> Parser {
    let opts = FormatOptions {
        kind,
        log_format: log_format.map(str::to_owned),
        ..FormatOptions::default()
    };
    detect(&[sample.as_bytes()], &opts).unwrap()
}

fn bench(c: &mut Criterion) {
    let cases = [
        ("combined", parser(None, None, COMBINED), COMBINED),
        ("vhost-combined", parser(None, None, VHOST), VHOST),
        ("traefik", parser(None, None, TRAEFIK), TRAEFIK),
        ("json-nginx", parser(None, None, NGINX_JSON), NGINX_JSON),
        ("json-caddy", parser(None, None, CADDY), CADDY),
        ("w3c", parser(Some(FormatKind::W3c), None, W3C), W3C),
        ("custom", parser(None, Some(CUSTOM_FMT), COMBINED), COMBINED),
    ];
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    for (name, mut p, line) in cases {
        assert!(
            matches!(p.parse(line.as_bytes()), Ok(Some(_))),
            "{name} parses its sample"
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(p.parse(black_box(line.as_bytes())).is_ok()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
