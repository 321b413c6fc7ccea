//! The server's connections: each one is given a time to send its request headers, is closed
//! after a while without any progress (an idle client, or a reader that stopped reading its
//! event stream), and past a number of open connections new ones get a short 503. Requests
//! must name a host the server knows (against DNS rebinding).

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How the server treats connections.
#[derive(Clone)]
pub struct Limits {
    /// Open connections at most; past it a new one gets a 503 and is closed.
    pub max_connections: usize,
    /// Open connections from one address at most (one client cannot take every slot).
    pub max_per_address: usize,
    /// Open event streams (`/api/stream`) at most; past it, 503.
    pub max_streams: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
    /// A connection that neither reads nor writes for this long is closed.
    pub idle_timeout: Duration,
    /// Time a request has to arrive whole and be answered (a streamed answer counts until
    /// it starts); past it, 408.
    pub request_deadline: Duration,
    /// Host names requests may name (`Host`), lowercase, without port; empty: any.
    pub allowed_hosts: Vec<String>,
    /// TLS, when the server speaks HTTPS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Why a certificate and key cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{what} {path}: {why}")]
pub struct TlsError {
    what: &'static str,
    path: String,
    why: String,
}

/// A TLS acceptor for the PEM certificate chain `cert` and private key `key`.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let err = |what, path: &std::path::Path, why: String| TlsError {
        what,
        path: path.display().to_string(),
        why,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<_, _>>())
        .map_err(|e| err("cannot read the certificate", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate in", cert, "expected PEM".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| err("cannot read the private key", key, e.to_string()))?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| err("TLS setup for", cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| err("the key does not fit the certificate", cert, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("max_connections", &self.max_connections)
            .field("max_per_address", &self.max_per_address)
            .field("max_streams", &self.max_streams)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            max_per_address: 64,
            max_streams: 64,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_deadline: Duration::from_secs(60),
            allowed_hosts: Vec::new(),
            tls: None,
        }
    }
}

/// The names a loopback server answers to by default.
pub const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Open event streams, counted by the streams themselves.
#[derive(Debug, Default)]
pub struct Streams(AtomicUsize);

/// One open event stream; counted until dropped.
#[derive(Debug)]
pub struct StreamSlot(Arc<Streams>);

impl Streams {
    /// A slot for a new stream, unless `max` are open.
    pub fn open(self: &Arc<Self>, max: usize) -> Option<StreamSlot> {
        let mut n = self.0.load(Ordering::Relaxed);
        loop {
            if n >= max {
                return None;
            }
            match self
                .0
                .compare_exchange(n, n + 1, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Some(StreamSlot(self.clone())),
                Err(now) => n = now,
            }
        }
    }

    /// Streams open now.
    pub fn open_now(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The host a request names, lowercase, without port or brackets.
fn host_of(req: &Request) -> Option<String> {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().host().map(str::to_owned))?;
    let host = match raw.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_owned(),
        None => raw
            .rsplit_once(':')
            .map_or(raw.as_str(), |(h, _)| h)
            .to_owned(),
    };
    Some(host.to_ascii_lowercase())
}

/// Refuses requests for a host the server does not know (421), so a page from another site
/// that resolves its own name to this server cannot read it.
pub async fn check_host(State(st): State<super::AppState>, req: Request, next: Next) -> Response {
    let allowed = &st.limits.allowed_hosts;
    if allowed.is_empty() || allowed.iter().any(|h| h == "*") {
        return next.run(req).await;
    }
    match host_of(&req) {
        Some(h) if allowed.contains(&h) => next.run(req).await,
        h => {
            tracing::warn!(target: "web", host = %crate::text::clip(h.as_deref().unwrap_or("(none)"), 80), "request for an unknown host refused");
            (
                StatusCode::MISDIRECTED_REQUEST,
                "unknown host: tailpulse answers only to the names it was told (--allowed-host)\n",
            )
                .into_response()
        }
    }
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One open connection of an address; counted until dropped.
struct AddressSlot(Arc<PerAddress>, std::net::IpAddr);

impl PerAddress {
    /// A slot for a connection from `ip`, unless it has `max` open.
    fn open(self: &Arc<Self>, ip: std::net::IpAddr, max: usize) -> Option<AddressSlot> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(AddressSlot(self.clone(), ip))
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut m = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

/// A connection that notes the time of its last read or write.
struct Watched<S> {
    inner: S,
    last: Arc<AtomicI64>,
}

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.last.store(now_ms(), Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let r = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.last.store(now_ms(), Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was taken: the
                    // server goes on.
                    tracing::warn!(target: "web", error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = per_address.open(peer.ip(), limits.max_per_address) else {
            if limits.tls.is_none() {
                tokio::spawn(turn_away(stream));
            }
            continue;
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            // Over TLS a plain answer would be noise: the connection is just closed.
            if limits.tls.is_none() {
                tokio::spawn(turn_away(stream));
            }
            continue;
        };
        let app = app.clone();
        let limits = limits.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match &limits.tls {
                None => connection(stream, peer, app, &limits, watcher).await,
                Some(tls) => {
                    // The handshake gets the time the headers get.
                    let shake = tokio::time::timeout(limits.header_timeout, tls.accept(stream));
                    match shake.await {
                        Ok(Ok(s)) => connection(s, peer, app, &limits, watcher).await,
                        Ok(Err(e)) => {
                            tracing::debug!(target: "web", %peer, error = %e, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(target: "web", %peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
            drop(slot);
        });
    }
    // Open event streams end with the snapshots; other requests get a moment to finish.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

/// Serves one connection until it ends, is idle past the limit, or the server shuts down.
async fn connection<S>(
    stream: S,
    peer: std::net::SocketAddr,
    app: axum::Router,
    limits: &Limits,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let last = Arc::new(AtomicI64::new(now_ms()));
    let io = TokioIo::new(Watched {
        inner: stream,
        last: last.clone(),
    });
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(super::auth::Peer(peer));
            tower::ServiceExt::oneshot(app.clone(), req.map(axum::body::Body::new))
        });
    // HTTP/1.1 only: the limits here (header time, one request at a time) are HTTP/1's.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = watcher.watch(builder.serve_connection(io, service));
    tokio::pin!(conn);
    let idle = limits.idle_timeout;
    let check = (idle / 4).max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = &mut conn => break,
            () = tokio::time::sleep(check) => {
                let quiet = now_ms() - last.load(Ordering::Relaxed);
                if quiet > idle.as_millis() as i64 {
                    tracing::debug!(target: "web", %peer, quiet_ms = quiet, "idle connection closed");
                    break;
                }
            }
        }
    }
}

/// A connection past the cap: a short 503, then closed.
async fn turn_away(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt;
    tracing::debug!(target: "web", "too many open connections; one turned away");
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        stream.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 32\r\nRetry-After: 5\r\nConnection: close\r\n\r\ntoo many connections; try later\n",
        ),
    )
    .await;
}
