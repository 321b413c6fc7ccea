//! `cargo run --release -- REGEXES_YAML LOG...`: parses every distinct user agent of the
//! logs (combined format: the last quoted field) with woothee and with uaparser (uap-core's
//! `regexes.yaml`), and prints the time to set each up, the time per distinct agent, the time
//! per line with a cache of parsed agents, and how many agents each names a browser and a
//! system for.

use std::collections::HashMap;
use std::time::Instant;
use uaparser::Parser as _;

fn agent(line: &str) -> Option<&str> {
    let end = line.rfind('"')?;
    let start = line[..end].rfind('"')? + 1;
    Some(&line[start..end])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (yaml, logs) = args
        .split_first()
        .expect("usage: ua-bench REGEXES_YAML LOG...");
    let text: String = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap())
        .collect();
    let lines: Vec<&str> = text.lines().filter_map(agent).collect();
    let mut distinct: Vec<&str> = lines.clone();
    distinct.sort_unstable();
    distinct.dedup();
    println!(
        "{} lines, {} distinct user agents",
        lines.len(),
        distinct.len()
    );

    let t = Instant::now();
    let w = woothee::parser::Parser::new();
    let _ = w.parse("warm up");
    let w_setup = t.elapsed();
    let t = Instant::now();
    let u = uaparser::UserAgentParser::builder()
        .build_from_yaml(yaml)
        .expect("uap-core regexes.yaml");
    let u_setup = t.elapsed();

    let t = Instant::now();
    let mut w_named = (0, 0);
    for a in &distinct {
        if let Some(r) = w.parse(a) {
            w_named.0 += usize::from(r.name != "UNKNOWN");
            w_named.1 += usize::from(r.os != "UNKNOWN");
        }
    }
    let w_each = t.elapsed() / distinct.len() as u32;
    let t = Instant::now();
    let mut u_named = (0, 0);
    for a in &distinct {
        let c = u.parse(a);
        u_named.0 += usize::from(c.user_agent.family != "Other");
        u_named.1 += usize::from(c.os.family != "Other");
    }
    let u_each = t.elapsed() / distinct.len() as u32;

    // Per line, as tailpulse counts: each distinct agent parsed once, then looked up.
    let per_line = |parse: &dyn Fn(&str) -> String| {
        let mut cache: HashMap<&str, String> = HashMap::new();
        let t = Instant::now();
        let mut n = 0usize;
        for a in &lines {
            n += cache.entry(a).or_insert_with(|| parse(a)).len();
        }
        (t.elapsed() / lines.len() as u32, n)
    };
    let (w_line, _) = per_line(&|a| w.parse(a).map_or(String::new(), |r| r.name.to_owned()));
    let (u_line, _) = per_line(&|a| u.parse_user_agent(a).family.into_owned());

    println!(
        "parser     set-up      per distinct agent  per line (cached)  browser named  system named"
    );
    println!(
        "woothee    {w_setup:>9.1?}  {w_each:>18.1?}  {w_line:>17.1?}  {:>13}  {:>12}",
        w_named.0, w_named.1
    );
    println!(
        "uaparser   {u_setup:>9.1?}  {u_each:>18.1?}  {u_line:>17.1?}  {:>13}  {:>12}",
        u_named.0, u_named.1
    );
}
