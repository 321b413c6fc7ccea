//! The LLM loop against a local server that speaks the chat-completions protocol: answers,
//! retries after 429 and 500, malformed JSON, timeouts, the spend limit, and the answer in a
//! live run's report, marked as machine-written.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tailpulse::llm::{Llm, LlmConfig, LlmStatus};

/// What the fixture answers, in order; the last one repeats.
#[derive(Clone, Debug)]
enum Reply {
    Ok(&'static str),
    Status(u16),
    Garbage,
    Slow,
}

/// A request as the fixture saw it: its Authorization header and its body.
type Seen = (Option<String>, serde_json::Value);

#[derive(Clone, Default)]
struct Fixture {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn completions(
    State(f): State<Fixture>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let auth = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    f.seen.lock().unwrap().push((auth, v));
    let reply = {
        let mut q = f.replies.lock().unwrap();
        if q.len() > 1 {
            q.pop_front()
        } else {
            q.front().cloned()
        }
    };
    match reply.unwrap_or(Reply::Status(500)) {
        Reply::Ok(text) => axum::Json(serde_json::json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }))
        .into_response(),
        Reply::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Reply::Garbage => "{\"choices\": [oops".into_response(),
        Reply::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            StatusCode::OK.into_response()
        }
    }
}

async fn fixture(replies: Vec<Reply>) -> (String, Fixture) {
    let f = Fixture {
        replies: Arc::new(Mutex::new(replies.into())),
        ..Fixture::default()
    };
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/v1"), f)
}

fn config(base_url: &str) -> LlmConfig {
    LlmConfig {
        base_url: base_url.to_owned(),
        model: "test-model".into(),
        api_key_env: "TAILPULSE_TEST_LLM_KEY".into(),
        every: Duration::from_secs(3600),
        on_incident: true,
        max_calls_per_hour: 10,
        timeout: Duration::from_secs(2),
        attempts: 3,
        backoff: Duration::from_millis(20),
    }
}

async fn until(llm: &Llm, what: &str, f: impl Fn(&LlmStatus) -> bool) -> LlmStatus {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let s = llm.status();
            if f(&s) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}: {:?}", llm.status()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_arrives_after_429_and_500_are_retried() {
    // SAFETY: set before any thread of this test reads the environment; no other test in
    // this binary reads this variable.
    unsafe { std::env::set_var("TAILPULSE_TEST_LLM_KEY", "sk-local-test") };
    let (url, f) = fixture(vec![
        Reply::Status(429),
        Reply::Status(500),
        Reply::Ok("All is well."),
    ])
    .await;
    let mut llm = Llm::start(&config(&url));
    llm.offer(true, || "How is the site doing? Total requests: 42".into());
    let s = until(&llm, "an answer", |s| s.answer.is_some()).await;
    assert_eq!(s.answer.as_deref(), Some("All is well."));
    assert!(s.machine_written && s.last_error.is_none() && s.answered_ms.is_some());
    let seen = f.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two failures retried");
    assert_eq!(seen[2].0.as_deref(), Some("Bearer sk-local-test"));
    assert_eq!(seen[2].1["model"], "test-model");
    let user = &seen[2].1["messages"][1];
    assert_eq!(user["role"], "user");
    assert!(
        user["content"]
            .as_str()
            .unwrap()
            .contains("Total requests: 42")
    );
    // The schedule is an hour: a second offer without an incident sends nothing.
    llm.offer(false, || unreachable!("not asked again so soon"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_and_timeouts_are_errors_not_crashes() {
    let (url, f) = fixture(vec![Reply::Garbage]).await;
    let mut llm = Llm::start(&config(&url));
    llm.offer(true, || "prompt".into());
    let s = until(&llm, "an error", |s| s.last_error.is_some()).await;
    assert!(s.last_error.unwrap().contains("not a chat completion"));
    assert!(s.answer.is_none());
    assert_eq!(
        f.seen.lock().unwrap().len(),
        1,
        "a malformed answer is not retried"
    );

    let (url, f) = fixture(vec![Reply::Slow]).await;
    let mut cfg = config(&url);
    cfg.timeout = Duration::from_millis(300);
    cfg.attempts = 2;
    let mut llm = Llm::start(&cfg);
    llm.offer(true, || "prompt".into());
    let s = until(&llm, "a timeout", |s| s.last_error.is_some()).await;
    assert!(s.last_error.unwrap().to_lowercase().contains("timeout"));
    assert_eq!(f.seen.lock().unwrap().len(), 2, "a timeout is retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spend_limit_holds() {
    let (url, f) = fixture(vec![Reply::Status(500)]).await;
    let mut cfg = config(&url);
    cfg.max_calls_per_hour = 2;
    cfg.attempts = 5;
    let mut llm = Llm::start(&cfg);
    llm.offer(true, || "prompt".into());
    let s = until(&llm, "the limit", |s| {
        s.last_error
            .as_deref()
            .is_some_and(|e| e.contains("spend limit"))
    })
    .await;
    assert_eq!(s.calls_last_hour, 2);
    assert_eq!(f.seen.lock().unwrap().len(), 2, "no call beyond the limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_run_shows_the_answer_marked_as_machine_written() {
    let (url, f) = fixture(vec![Reply::Ok(
        "Traffic is normal; /api/admin/stats is slow.",
    )])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/combined.log"),
        &log,
    )
    .unwrap();
    let config = tailpulse::config::Config::parse(
        &format!("[prompts]\nredact = true\n\n[llm]\nbase_url = \"{url}\"\nmodel = \"local\"\nbackoff = \"10ms\"\n"),
        "t.toml",
    )
    .unwrap();
    let live = tailpulse::live::start(tailpulse::live::RunOptions {
        inputs: vec![log.to_string_lossy().into()],
        out_dir: dir.path().to_path_buf(),
        db: None,
        config,
        publish_every: Duration::from_millis(50),
        report_every: Duration::from_millis(100),
        ..Default::default()
    })
    .unwrap();
    let mut rx = live.snapshots.clone();
    let snap = tokio::time::timeout(
        Duration::from_secs(20),
        rx.wait_for(|s| s.analysis.llm.as_ref().is_some_and(|l| l.answer.is_some())),
    )
    .await
    .expect("answer shown")
    .unwrap()
    .clone();
    let l = snap.analysis.llm.clone().unwrap();
    assert!(l.machine_written);
    assert_eq!(l.model, "local");
    let text = tailpulse::report::text::render(&snap.analysis, tailpulse::lang::Lang::En);
    assert!(text.contains("[Machine-written analysis (LLM)]"));
    assert!(text.contains("Traffic is normal; /api/admin/stats is slow."));
    // What was sent is the summary prompt, redacted: no client address, no query string.
    let sent = f.seen.lock().unwrap()[0].1["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.contains("summary of server log analysis"), "{sent}");
    let addr = regex::Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b").unwrap();
    assert!(!addr.is_match(&sent), "{sent}");
    let anomaly_prompt = &snap.analysis.prompts[1].text;
    assert!(
        !addr.is_match(anomaly_prompt) && !anomaly_prompt.contains("?page="),
        "{anomaly_prompt}"
    );
    live.shutdown().await;
}
