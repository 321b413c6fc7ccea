//! Who may use the server, when `[auth]` in the configuration says so: bearer tokens with a
//! role (stored as SHA-256 hashes), and people who log in on `/login` (argon2 password
//! hashes) and get a session cookie. Repeated failures from one address slow it down.

use axum::extract::{Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The session cookie's name.
const COOKIE: &str = "tailpulse_session";
/// Failures from one address before it is slowed down.
const FREE_FAILURES: u32 = 5;
/// The longest wait imposed on an address after failures.
const MAX_LOCK_S: i64 = 900;
/// Addresses with failures remembered at most (the oldest are forgotten first).
const MAX_TRACKED: usize = 10_000;

/// What a credential allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The page, the read API, the event stream and `/metrics`.
    Viewer,
    /// Sending log lines (`POST /api/ingest`) only.
    Ingest,
    /// `/metrics` only (a Prometheus scraper).
    Metrics,
}

/// `[auth]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `[[auth.tokens]]`: bearer tokens (`tailpulse auth token` makes one).
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    /// `[[auth.users]]`: people who log in on the page, as viewers (`tailpulse auth
    /// password` hashes a password).
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// How long a login lasts (default 12h).
    #[serde(with = "crate::params::serde_duration", default = "default_session")]
    pub session: Duration,
    /// The page is reached over HTTPS through a proxy that ends TLS: session cookies are
    /// sent `Secure` although tailpulse itself speaks plain HTTP.
    #[serde(default)]
    pub behind_https: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            tokens: Vec::new(),
            users: Vec::new(),
            session: default_session(),
            behind_https: false,
        }
    }
}

fn default_session() -> Duration {
    Duration::from_secs(12 * 3600)
}

/// One bearer token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (named in the logs).
    pub name: String,
    /// What it allows.
    pub role: Role,
    /// SHA-256 of the token, in hex.
    pub sha256: String,
}

/// One person who logs in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The name typed on the login page.
    pub name: String,
    /// The password's argon2 hash (PHC string, `$argon2id$…`).
    pub password: String,
}

impl AuthConfig {
    /// Whether any credential is configured (none: the server is open).
    pub fn is_on(&self) -> bool {
        !self.tokens.is_empty() || !self.users.is_empty()
    }

    /// What is wrong with the section, if anything.
    pub fn check(&self) -> Result<(), String> {
        for t in &self.tokens {
            if digest_from_hex(&t.sha256).is_none() {
                return Err(format!(
                    "auth.tokens {:?}: sha256 must be 64 hex digits (tailpulse auth token makes one)",
                    crate::text::clip(&t.name, 40)
                ));
            }
        }
        for u in &self.users {
            if argon2::PasswordHash::new(&u.password).is_err() {
                return Err(format!(
                    "auth.users {:?}: password must be an argon2 hash (tailpulse auth password makes one)",
                    crate::text::clip(&u.name, 40)
                ));
            }
        }
        if self.session.is_zero() {
            return Err("auth.session must be longer than 0s".into());
        }
        Ok(())
    }
}

fn digest_from_hex(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

fn sha256(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// A new random secret, as URL-safe text.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tp_{hex}")
}

/// The hex SHA-256 of `token`, as `[[auth.tokens]] sha256` holds it.
pub fn token_hash(token: &str) -> String {
    sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The argon2id hash of `password`, as `[[auth.users]] password` holds it.
pub fn password_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

/// The credentials a server accepts, its sessions, and the failures it has seen.
#[derive(Debug)]
pub struct Auth {
    tokens: Vec<(String, Role, [u8; 32])>,
    users: Vec<(String, String)>,
    session_ttl_ms: i64,
    /// Sessions by the SHA-256 of their cookie: (user, expiry in UTC ms).
    sessions: Mutex<HashMap<[u8; 32], (String, i64)>>,
    /// Failures by address: (count, locked until UTC ms).
    failures: Mutex<HashMap<Failing, (u32, i64)>>,
    /// Whether cookies are sent with `Secure` (the server speaks TLS).
    pub secure_cookies: bool,
    dummy: std::sync::OnceLock<String>,
}

impl Auth {
    /// The credentials of `cfg` (checked by [`AuthConfig::check`]).
    pub fn new(cfg: &AuthConfig) -> Auth {
        Auth {
            tokens: cfg
                .tokens
                .iter()
                .filter_map(|t| Some((t.name.clone(), t.role, digest_from_hex(&t.sha256)?)))
                .collect(),
            users: cfg
                .users
                .iter()
                .map(|u| (u.name.clone(), u.password.clone()))
                .collect(),
            session_ttl_ms: cfg.session.as_millis().min(i64::MAX as u128) as i64,
            sessions: Mutex::default(),
            failures: Mutex::default(),
            secure_cookies: false,
            dummy: std::sync::OnceLock::new(),
        }
    }

    /// A made-up hash with the algorithm and cost of the first user's, checked for names that
    /// are no user: an unknown name takes as long as a wrong password.
    fn dummy_hash(&self) -> &str {
        self.dummy.get_or_init(|| {
            use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
            let like = self
                .users
                .first()
                .and_then(|(_, h)| argon2::PasswordHash::new(h).ok())
                .and_then(|h| {
                    let alg = argon2::Algorithm::try_from(h.algorithm).ok()?;
                    let version = argon2::Version::try_from(h.version?).ok()?;
                    let params = argon2::Params::try_from(&h).ok()?;
                    Some(argon2::Argon2::new(alg, version, params))
                })
                .unwrap_or_default();
            let salt = SaltString::generate(&mut OsRng);
            like.hash_password(b"not a password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_else(|_| password_hash("not a password"))
        })
    }

    /// The holder and role of the bearer `token`, compared in constant time.
    fn token(&self, token: &str) -> Option<(&str, Role)> {
        let d = sha256(token.as_bytes());
        let mut found = None;
        for (name, role, digest) in &self.tokens {
            if bool::from(digest.ct_eq(&d)) {
                found = Some((name.as_str(), *role));
            }
        }
        found
    }

    /// The user whose session the cookie `id` is, while it lasts.
    pub fn session(&self, id: &str) -> Option<String> {
        let now = crate::clock::now_ms();
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let key = sha256(id.as_bytes());
        match s.get(&key) {
            Some((user, until)) if *until > now => Some(user.clone()),
            Some(_) => {
                s.remove(&key);
                None
            }
            None => None,
        }
    }

    /// A new session for `user`: the cookie's value.
    fn open_session(&self, user: &str) -> String {
        let id = new_secret();
        let now = crate::clock::now_ms();
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.retain(|_, (_, until)| *until > now);
        s.insert(
            sha256(id.as_bytes()),
            (user.to_owned(), now + self.session_ttl_ms),
        );
        id
    }

    fn close_session(&self, id: &str) {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.remove(&sha256(id.as_bytes()));
    }

    /// Seconds `who` must still wait after its failures, if any.
    fn locked(&self, who: &Failing) -> Option<i64> {
        let f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::clock::now_ms();
        f.get(who)
            .filter(|(_, until)| *until > now)
            .map(|(_, until)| (until - now + 999) / 1000)
    }

    /// Counts a failure of `who`: past [`FREE_FAILURES`], each doubles its wait. When the
    /// table is full, the entries with the fewest failures go first (whoever floods it from
    /// many addresses does not wipe the waits of the others).
    fn failed(&self, who: Failing) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = crate::clock::now_ms();
        if f.len() >= MAX_TRACKED && !f.contains_key(&who) {
            // Expired waits of few failures go first; then the fewest failures.
            f.retain(|_, (n, until)| *until > now || *n > FREE_FAILURES);
            if f.len() >= MAX_TRACKED {
                let mut order: Vec<(u32, i64, Failing)> =
                    f.iter().map(|(k, (n, u))| (*n, *u, k.clone())).collect();
                order.sort_unstable_by_key(|(n, u, _)| (*n, *u));
                for (_, _, k) in order.into_iter().take(MAX_TRACKED / 10) {
                    f.remove(&k);
                }
            }
        }
        let e = f.entry(who).or_insert((0, 0));
        e.0 = e.0.saturating_add(1);
        if e.0 > FREE_FAILURES {
            let wait = 1i64 << (e.0 - FREE_FAILURES - 1).min(10);
            e.1 = now + wait.min(MAX_LOCK_S) * 1000;
        }
    }

    fn succeeded(&self, who: &Failing) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.remove(who);
    }
}

/// What failures are counted against: a network (an IPv4 address, or the /64 of an IPv6
/// address, which one host can hold whole), or a user name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Failing {
    /// An address, or an IPv6 /64.
    Net(IpAddr),
    /// A user name tried at the login (every name alike, so that the answers do not tell
    /// which names are users), by its SHA-256.
    User([u8; 32]),
}

impl Failing {
    /// The network of `ip`.
    pub fn net(ip: IpAddr) -> Failing {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Failing::Net(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Failing::Net(IpAddr::V6(prefix.into()))
                }
            },
            v4 => Failing::Net(v4),
        }
    }
}

/// The address of the client, as the server's accept loop recorded it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

fn peer_ip(req: &Request) -> IpAddr {
    req.extensions()
        .get::<Peer>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.ip())
}

/// The role a path needs; `None`: open to all (the login page, assets, `/healthz`).
fn needs(path: &str, method: &axum::http::Method) -> Option<&'static [Role]> {
    match path {
        "/login" | "/logout" | "/healthz" => None,
        p if p.starts_with("/assets/") && method == axum::http::Method::GET => None,
        "/metrics" => Some(&[Role::Viewer, Role::Metrics]),
        "/api/ingest" => Some(&[Role::Ingest]),
        _ => Some(&[Role::Viewer]),
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Whether `headers` carry a credential that may read the run's figures (a viewer's or a
/// metrics token, or a session); failures are not counted, nothing is refused.
pub fn may_read(auth: &Auth, headers: &HeaderMap) -> bool {
    if let Some(token) = bearer(headers) {
        return auth
            .token(token)
            .is_some_and(|(_, role)| matches!(role, Role::Viewer | Role::Metrics));
    }
    cookie(headers, COOKIE).is_some_and(|id| auth.session(id).is_some())
}

/// The session a request came with, when it came with no bearer token: an event stream it
/// opened ends when the session does (logout, expiry).
pub fn session_of(headers: &HeaderMap) -> Option<String> {
    if bearer(headers).is_some() {
        return None;
    }
    cookie(headers, COOKIE).map(str::to_owned)
}

/// Lets a request through when its credentials allow its path (see [`needs`]).
pub async fn require(State(st): State<super::AppState>, req: Request, next: Next) -> Response {
    let Some(auth) = st.auth.clone() else {
        return next.run(req).await;
    };
    let Some(roles) = needs(req.uri().path(), req.method()) else {
        return next.run(req).await;
    };
    let ip = peer_ip(&req);
    let path = req.uri().path().to_owned();
    // A valid credential passes even from an address that is waiting: behind a proxy or a
    // NAT, an attacker's failures must not lock out everyone else.
    if let Some(token) = bearer(req.headers()) {
        return match auth.token(token) {
            Some((_, role)) if roles.contains(&role) => next.run(req).await,
            Some((name, role)) => {
                tracing::warn!(target: "web", client = %ip, path = ?path, token = ?name, ?role, "token not allowed here");
                refuse(StatusCode::FORBIDDEN, "this token is not allowed here")
            }
            None => {
                if let Some(wait) = auth.locked(&Failing::net(ip)) {
                    return too_many(wait);
                }
                auth.failed(Failing::net(ip));
                tracing::warn!(target: "web", client = %ip, path = ?path, "unknown bearer token");
                refuse(StatusCode::UNAUTHORIZED, "unknown token")
            }
        };
    }
    if let Some(id) = cookie(req.headers(), COOKIE) {
        if auth.session(id).is_some() && roles.contains(&Role::Viewer) {
            return next.run(req).await;
        }
        tracing::info!(target: "web", client = %ip, path = ?path, "expired or unknown session");
    }
    if let Some(wait) = auth.locked(&Failing::net(ip)) {
        return too_many(wait);
    }
    let wants_page = req.method() == axum::http::Method::GET && path == "/";
    if wants_page {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    }
    refuse(StatusCode::UNAUTHORIZED, "authentication required")
}

fn refuse(status: StatusCode, why: &str) -> Response {
    let mut res = (status, axum::Json(serde_json::json!({ "error": why }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tailpulse\""),
        );
    }
    res
}

fn too_many(wait_s: i64) -> Response {
    let mut res = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed attempts from this address; wait",
    );
    if let Ok(v) = HeaderValue::from_str(&wait_s.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct Login {
    user: String,
    password: String,
}

/// `GET /login`: the form.
pub async fn login_page() -> Response {
    page(StatusCode::OK, "")
}

fn page(status: StatusCode, message: &str) -> Response {
    let html = include_str!("../../web/login.html").replace("{{message}}", message);
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// `POST /login`: a session cookie for a right name and password.
pub async fn login(
    State(st): State<super::AppState>,
    peer: Option<axum::Extension<Peer>>,
    Form(f): Form<Login>,
) -> Response {
    let Some(auth) = st.auth.clone() else {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    };
    let ip = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.0.ip());
    // Failures count against the address and against the user: guesses spread over many
    // addresses still slow down on the one account they aim at.
    let failing = [Failing::net(ip), Failing::User(sha256(f.user.as_bytes()))];
    if let Some(wait) = failing.iter().filter_map(|w| auth.locked(w)).max() {
        return too_many(wait);
    }
    // argon2 takes ~19 MiB and tens of milliseconds: a few at a time, the rest wait.
    static VERIFYING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let Ok(_turn) = VERIFYING.try_acquire() else {
        return too_many(1);
    };
    // Counted before the check, forgiven on success: parallel guesses count too.
    for w in &failing {
        auth.failed(w.clone());
    }
    if auth.users.is_empty() {
        return page(StatusCode::UNAUTHORIZED, "Wrong name or password.");
    }
    let checker = auth.clone();
    let user = f.user.clone();
    // argon2 takes tens of milliseconds: off the server's threads. An unknown name is
    // checked against a made-up hash, so it takes as long as a wrong password.
    let ok = tokio::task::spawn_blocking(move || {
        crate::health::as_part("web", || {
            use argon2::PasswordVerifier;
            let stored = checker
                .users
                .iter()
                .find(|(n, _)| n == &user)
                .map(|(_, h)| h.as_str());
            let known = stored.is_some();
            let hash = stored.unwrap_or_else(|| checker.dummy_hash());
            // The hash names its own parameters; verification follows them.
            let right = argon2::PasswordHash::new(hash).is_ok_and(|h| {
                argon2::Argon2::default()
                    .verify_password(f.password.as_bytes(), &h)
                    .is_ok()
            });
            known && right
        })
    })
    .await
    .unwrap_or(false);
    let name = crate::text::clip(&f.user, 64);
    if !ok {
        tracing::warn!(target: "web", client = %ip, user = ?name, "failed login");
        return page(StatusCode::UNAUTHORIZED, "Wrong name or password.");
    }
    for w in &failing {
        auth.succeeded(w);
    }
    tracing::info!(target: "web", client = %ip, user = ?name, "logged in");
    let id = auth.open_session(&f.user);
    let secure = if auth.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        auth.session_ttl_ms / 1000
    );
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /logout`: the session ends.
pub async fn logout(State(st): State<super::AppState>, headers: HeaderMap) -> Response {
    if let (Some(auth), Some(id)) = (&st.auth, cookie(&headers, COOKIE)) {
        auth.close_session(id);
    }
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "tailpulse_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_slow_an_address_down_and_success_forgives() {
        let a = Auth::new(&AuthConfig::default());
        let ip = Failing::net([10, 0, 0, 1].into());
        for _ in 0..FREE_FAILURES {
            a.failed(ip.clone());
        }
        assert_eq!(a.locked(&ip), None, "the first failures are free");
        a.failed(ip.clone());
        assert_eq!(a.locked(&ip), Some(1));
        a.failed(ip.clone());
        assert_eq!(a.locked(&ip), Some(2), "each failure doubles the wait");
        a.succeeded(&ip);
        assert_eq!(a.locked(&ip), None);
    }

    #[test]
    fn an_ipv6_host_is_its_64_and_a_flood_does_not_wipe_the_waits() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(Failing::net(one), Failing::net(other));
        assert_ne!(
            Failing::net(one),
            Failing::net("2001:db8:1:3::1".parse().unwrap())
        );
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(Failing::net(mapped), Failing::net([10, 0, 0, 1].into()));
        let a = Auth::new(&AuthConfig::default());
        let attacker = Failing::net([10, 9, 9, 9].into());
        for _ in 0..FREE_FAILURES + 3 {
            a.failed(attacker.clone());
        }
        assert!(a.locked(&attacker).is_some());
        // One failure each from more addresses than the table holds.
        for i in 0..(MAX_TRACKED as u32 + 100) {
            a.failed(Failing::net(IpAddr::from(i.to_be_bytes())));
        }
        assert!(
            a.locked(&attacker).is_some(),
            "the locked address is still waiting"
        );
    }

    #[test]
    fn tokens_are_found_by_their_hash_and_hashes_are_checked() {
        let token = new_secret();
        let cfg = AuthConfig {
            tokens: vec![TokenConfig {
                name: "grafana".into(),
                role: Role::Metrics,
                sha256: token_hash(&token),
            }],
            ..AuthConfig::default()
        };
        assert!(cfg.check().is_ok());
        let a = Auth::new(&cfg);
        assert_eq!(a.token(&token), Some(("grafana", Role::Metrics)));
        assert_eq!(a.token("tp_guess"), None);
        let bad = AuthConfig {
            tokens: vec![TokenConfig {
                sha256: "xyz".into(),
                ..cfg.tokens[0].clone()
            }],
            ..AuthConfig::default()
        };
        assert!(bad.check().is_err());
    }
}
