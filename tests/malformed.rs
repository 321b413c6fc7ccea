//! Bad input is normal input: every kind of broken line is counted, nothing panics, nothing
//! is lost.

mod common;

use tailpulse::aggregate::LineStats;

const GOOD: &str = r#"192.0.2.7 - - [01/Mar/2024:10:00:00 +0000] "GET /ok HTTP/1.1" 200 10 "-" "Mozilla/5.0" 0.010"#;

/// Line counts and analysis of `data`, read as a stream and as a file in chunks (which must
/// agree, line numbers of rejected lines included).
fn stats(data: &[u8]) -> (LineStats, serde_json::Value) {
    let agg = common::aggregate_bytes("in", data, 2, 4096);
    let json = common::json(&agg);
    let file = common::aggregate_written("in", data, 2, 4096);
    assert_eq!(common::json(&file), json, "file and stream disagree");
    (agg.lines, json)
}

#[test]
fn every_kind_of_garbage_is_counted() {
    let mut data = Vec::new();
    let mut bad = 0;
    let mut push_bad = |data: &mut Vec<u8>, line: &[u8]| {
        data.extend_from_slice(line);
        data.push(b'\n');
        bad += 1;
    };
    data.extend_from_slice(GOOD.as_bytes());
    data.push(b'\n');
    push_bad(&mut data, b"\x00\x00\x00\x00");
    push_bad(&mut data, &[0xff, 0xfe, 0xfd, 0x80, 0x81]);
    push_bad(&mut data, &vec![b'A'; 1 << 20]);
    push_bad(
        &mut data,
        br#"192.0.2.7 - - [01/Mar/2024:10:00:00 +0000] "GET /trunc"#,
    );
    push_bad(
        &mut data,
        br#"192.0.2.7 - - [32/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 1"#,
    );
    push_bad(
        &mut data,
        br#"192.0.2.7 - - [01/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 2000 1"#,
    );
    push_bad(&mut data, b"{\"not\": \"this format\"}");
    data.extend_from_slice(GOOD.as_bytes());
    data.push(b'\n');
    let (s, json) = stats(&data);
    assert_eq!(
        s,
        LineStats {
            read: 2 + bad,
            parsed: 2,
            rejected: bad,
            skipped: 0,
            future: 0,
            excluded: 0,
        }
    );
    let samples = json["sources"][0]["rejected_samples"].as_array().unwrap();
    assert_eq!(samples.len(), 5, "the first five are kept");
    assert_eq!(samples[0]["line"], 2);
    assert!(
        samples[2]["text"].as_str().unwrap().len() <= 3072,
        "samples are cut"
    );
}

#[test]
fn good_lines_with_bad_bytes_still_count() {
    let line = b"192.0.2.8 - - [01/Mar/2024:10:00:00 +0000] \"GET /caf\xe9\x00 HTTP/1.1\" 404 0 \"-\" \"ag\xffent\" 0.5\n";
    let (s, json) = stats(line);
    assert_eq!(s.parsed, 1);
    assert_eq!(json["recent"][0]["path"], "/caf\u{fffd}\u{0}");
    assert_eq!(json["recent"][0]["user_agent"], "ag\u{fffd}ent");
}

#[test]
fn truncated_user_agent_and_missing_newline() {
    let data = br#"192.0.2.9 - - [01/Mar/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (cut"#;
    let (s, json) = stats(data);
    assert_eq!((s.read, s.parsed), (1, 1));
    assert_eq!(json["recent"][0]["user_agent"], "Mozilla/5.0 (cut");
}

#[test]
fn markup_in_fields_is_kept_as_data() {
    let line = r#"192.0.2.10 - - [01/Mar/2024:10:00:00 +0000] "GET /<script>alert(1)</script> HTTP/1.1" 404 0 "-" "<img src=x onerror=alert(1)>""#;
    let (s, json) = stats(line.as_bytes());
    assert_eq!(s.parsed, 1);
    assert_eq!(json["recent"][0]["path"], "/<script>alert(1)</script>");
    let agg = common::aggregate_bytes("in", line.as_bytes(), 1, 4096);
    let summary = tailpulse::analysis::analyze(&agg, tailpulse::lang::Lang::En);
    let html = tailpulse::report::html::render(&summary, tailpulse::lang::Lang::En);
    assert!(
        !html.contains("<script>alert"),
        "path must be escaped in HTML"
    );
    assert!(
        !html.contains("<img src=x"),
        "agent must be escaped in HTML"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn a_line_over_the_limit_is_skipped_and_counted() {
    let mut data = GOOD.as_bytes().to_vec();
    data.push(b'\n');
    data.extend(std::iter::repeat_n(b'x', tailpulse::input::MAX_LINE + 10));
    data.push(b'\n');
    data.extend_from_slice(GOOD.as_bytes());
    data.push(b'\n');
    for agg in [
        common::aggregate_bytes("in", &data, 2, 1 << 20),
        common::aggregate_written("in", &data, 2, 1 << 20),
    ] {
        assert_eq!(
            agg.lines,
            LineStats {
                read: 3,
                parsed: 2,
                rejected: 1,
                skipped: 0,
                future: 0,
                excluded: 0,
            }
        );
        let rejected = agg.sources()["in"].rejected_samples();
        assert_eq!(rejected.len(), 1);
        assert_eq!(
            (rejected[0].line, rejected[0].error.as_str()),
            (2, "line too long")
        );
    }
}
