//! The dashboard server: the page and its assets compiled in, the numbers as JSON under
//! `/api/`, live pushes over Server-Sent Events, and `/healthz`.

pub mod api;
pub mod assets;
pub mod auth;
pub mod error;
mod fleet;
pub mod history;
pub mod ingest;
pub mod metrics;
pub mod server;

use crate::lang::Lang;
use crate::live::Snapshot;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use tokio::sync::watch;

/// What every handler reads: the latest snapshot.
#[derive(Clone)]
pub struct AppState {
    /// Published by the aggregator.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// The summary JSON of the newest snapshot per language, serialized once for all
    /// clients.
    json: Arc<std::sync::Mutex<Vec<(u64, Lang, axum::body::Bytes)>>>,
    /// Where a page asks the live run for the analysis in the other language too.
    pub alt_wanted: Option<Arc<std::sync::atomic::AtomicI64>>,
    /// Where filtered views are asked for (a live run); without it filters are refused.
    pub queries: Option<tokio::sync::mpsc::Sender<crate::live::Query>>,
    /// Stored history, for ranges older than the live aggregate keeps.
    pub history: Option<history::History>,
    /// The live run's heartbeats, for `/healthz`.
    pub health: Option<Arc<crate::health::Health>>,
    /// Who may use the server (none: anyone who can reach it).
    pub auth: Option<Arc<auth::Auth>>,
    /// How connections are treated, and which host names are answered.
    pub limits: Arc<server::Limits>,
    /// Event streams open now.
    pub streams: Arc<server::Streams>,
    /// Where `POST /api/ingest` keeps what it accepts (none: ingest is off).
    pub spool: Option<Arc<ingest::Spool>>,
    /// ClickHouse, for ranges and filters past the live window.
    pub clickhouse: Option<crate::store::clickhouse::Client>,
    /// The run's ClickHouse sink, for its status.
    pub sink: Option<Arc<crate::store::clickhouse::sink::Sink>>,
    /// How the run makes routes and places clients: stored requests are counted so too.
    pub routes: Arc<crate::route::RouteOptions>,
}

impl AppState {
    /// State serving the snapshots published on `snapshots`.
    pub fn new(snapshots: watch::Receiver<Arc<Snapshot>>) -> Self {
        AppState {
            snapshots,
            json: Arc::default(),
            queries: None,
            history: None,
            health: None,
            alt_wanted: None,
            auth: None,
            limits: Arc::default(),
            streams: Arc::default(),
            spool: None,
            clickhouse: None,
            sink: None,
            routes: Arc::default(),
        }
    }

    /// Counts stored requests with the run's route options (routes, static files, places).
    pub fn with_routes(mut self, routes: Arc<crate::route::RouteOptions>) -> Self {
        self.routes = routes;
        self
    }

    /// Also answers ranges past the live window, with any filter, from ClickHouse; reports
    /// the sink's state on `/api/store`.
    pub fn with_clickhouse(
        mut self,
        client: crate::store::clickhouse::Client,
        sink: Option<Arc<crate::store::clickhouse::sink::Sink>>,
    ) -> Self {
        self.clickhouse = Some(client);
        self.sink = sink;
        self
    }

    /// Accepts log lines on `POST /api/ingest` into `spool`.
    pub fn with_ingest(mut self, spool: Arc<ingest::Spool>) -> Self {
        self.spool = Some(spool);
        self
    }

    /// Asks for the credentials of `cfg` (when it has any).
    pub fn with_auth(mut self, cfg: &auth::AuthConfig, tls: bool) -> Self {
        self.auth = cfg.is_on().then(|| {
            let mut a = auth::Auth::new(cfg);
            a.secure_cookies = tls || cfg.behind_https;
            Arc::new(a)
        });
        self
    }

    /// Treats connections and host names as `limits` say.
    pub fn with_limits(mut self, limits: server::Limits) -> Self {
        self.limits = Arc::new(limits);
        self
    }

    /// Also answers filtered views, through a live run's query channel.
    pub fn with_queries(mut self, queries: tokio::sync::mpsc::Sender<crate::live::Query>) -> Self {
        self.queries = Some(queries);
        self
    }

    /// Also serves the analysis in the other language, asking the live run for it.
    pub fn with_languages(mut self, wanted: Arc<std::sync::atomic::AtomicI64>) -> Self {
        self.alt_wanted = Some(wanted);
        self
    }

    /// Also reports the live run's heartbeats on `/healthz`.
    pub fn with_health(mut self, health: Arc<crate::health::Health>) -> Self {
        self.health = Some(health);
        self
    }

    /// Also answers from the history database at `path`.
    pub fn with_history(
        mut self,
        path: &std::path::Path,
    ) -> Result<Self, crate::store::StoreError> {
        self.history = Some(history::History::open(path)?);
        Ok(self)
    }

    /// The summary JSON of `snap` with its insights and prompts in `lang` when it has them
    /// (the run's language, or the other one once a page has asked for it), from the cache
    /// when it is the snapshot last serialized.
    pub fn summary_json(&self, snap: &Snapshot, lang: Option<Lang>) -> axum::body::Bytes {
        let lang = lang.unwrap_or(snap.lang);
        let summary = if lang == snap.lang {
            &snap.analysis
        } else {
            if let Some(w) = &self.alt_wanted {
                let until = crate::clock::now_ms() + 600_000;
                w.fetch_max(until, std::sync::atomic::Ordering::Relaxed);
            }
            snap.alt.as_deref().unwrap_or(&snap.analysis)
        };
        let served = if std::ptr::eq(summary, &snap.analysis) {
            snap.lang
        } else {
            lang
        };
        let mut cache = self.json.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(g, _, _)| *g == snap.generation);
        if let Some((_, _, text)) = cache.iter().find(|(_, l, _)| *l == served) {
            return text.clone();
        }
        let text = axum::body::Bytes::from(api::summary_json(snap, summary, served));
        cache.push((snap.generation, served, text.clone()));
        text
    }
}

/// The policy sent with every response: only this origin's scripts, styles and connections,
/// no inline script, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// Runs a request's handler as the `web` part: a panic in it closes its connection and is
/// counted, the server goes on (see [`crate::health`]).
async fn in_web_part(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    crate::health::part("web", next.run(req)).await
}

/// Answers `408` to a request that is not done within its deadline
/// ([`server::Limits::request_deadline`]): a body trickled a byte at a time would otherwise
/// hold its connection and a decoding slot forever.
async fn deadline(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Ingest: the deadline is on receiving the body only. Once a batch is being kept it is
    // answered, however long the disk takes: a 408 for a batch that was kept would make the
    // sender send it again, and its lines would be counted twice.
    if req.uri().path() == "/api/ingest" && req.method() == axum::http::Method::POST {
        let limit = st.spool.as_ref().map_or(MAX_BODY, |s| s.max_body);
        let (parts, body) = req.into_parts();
        let read = axum::body::to_bytes(body, limit + 1);
        return match tokio::time::timeout(st.limits.request_deadline, read).await {
            Ok(Ok(bytes)) => {
                let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
                next.run(req).await
            }
            Ok(Err(_)) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "the body is too large\n").into_response()
            }
            Err(_) => too_slow(),
        };
    }
    match tokio::time::timeout(st.limits.request_deadline, next.run(req)).await {
        Ok(res) => res,
        Err(_) => too_slow(),
    }
}

/// The answer to a request past its deadline; its connection is closed.
fn too_slow() -> Response {
    tracing::warn!(target: "web", "a request took longer than the deadline; closed");
    let mut res = (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// All routes of the dashboard server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", axum::routing::post(auth::logout))
        .route("/assets/{name}", get(assets::asset))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/summary", get(api::summary))
        .route("/api/timeseries", get(api::timeseries))
        .route("/api/status", get(api::status))
        .route("/api/routes", get(api::routes))
        .route("/api/slow", get(api::slow))
        .route("/api/recent", get(api::recent))
        .route("/api/report", get(api::report))
        .route("/api/prompts", get(api::prompts))
        .route("/api/insights", get(api::insights))
        .route("/api/stream", get(api::stream))
        .route("/api/history/summary", get(history::summary))
        .route("/api/store", get(fleet::store))
        .route("/api/history/insights", get(history::insights))
        .route("/api/history/reports", get(history::reports))
        .route("/api/history/alerts", get(history::alerts))
        .route(
            "/api/ingest",
            axum::routing::post(ingest::ingest).layer(axum::extract::DefaultBodyLimit::max(
                state.spool.as_ref().map_or(MAX_BODY, |s| s.max_body),
            )),
        )
        .fallback(api::not_found)
        // Inside the credential check: nobody unknown gets a body read.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            server::check_host,
        ))
        .layer(axum::middleware::from_fn(in_web_part))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The largest request body accepted (the login form; ingest sets its own).
const MAX_BODY: usize = 64 * 1024;

/// Serves until `shutdown` resolves (open event streams end when the snapshots do).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = (*state.limits).clone();
    server::serve(listener, router(state), limits, shutdown).await
}
