//! The traffic model: routes with their weights, latencies and error rates, clients, agents
//! and the daily traffic curve.

/// One route the synthetic service serves.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path template: `{n}` becomes a number, `{h}` a hex id, `{u}` a UUID.
    pub template: &'static str,
    /// Relative share of traffic.
    pub weight: f64,
    /// Mean response time in milliseconds (log-normal spread).
    pub mean_ms: f64,
    /// Share of 4xx responses in normal operation.
    pub client_errors: f64,
    /// Share of 5xx responses in normal operation.
    pub server_errors: f64,
    /// Typical response size in bytes.
    pub bytes: u64,
}

const fn r(
    method: &'static str,
    template: &'static str,
    weight: f64,
    mean_ms: f64,
    e4: f64,
    e5: f64,
    bytes: u64,
) -> RouteSpec {
    RouteSpec {
        method,
        template,
        weight,
        mean_ms,
        client_errors: e4,
        server_errors: e5,
        bytes,
    }
}

/// The routes of the synthetic service, including the original demo's slow `/api/admin/stats`.
pub const ROUTES: &[RouteSpec] = &[
    r("GET", "/", 60.0, 18.0, 0.005, 0.001, 14_000),
    r("GET", "/index.html", 12.0, 8.0, 0.005, 0.0005, 14_000),
    r("GET", "/static/app.js", 30.0, 3.0, 0.002, 0.0, 180_000),
    r("GET", "/static/app.css", 28.0, 2.5, 0.002, 0.0, 40_000),
    r("GET", "/static/logo.svg", 20.0, 2.0, 0.002, 0.0, 6_000),
    r("GET", "/favicon.ico", 10.0, 1.5, 0.01, 0.0, 1_200),
    r("GET", "/images/{h}.jpg", 35.0, 6.0, 0.02, 0.0, 95_000),
    r("GET", "/videos/{n}.mp4", 1.5, 40.0, 0.01, 0.001, 8_000_000),
    r("GET", "/blog", 6.0, 25.0, 0.005, 0.002, 30_000),
    r("GET", "/blog/{n}", 14.0, 30.0, 0.02, 0.002, 24_000),
    r("GET", "/docs/{n}", 5.0, 20.0, 0.02, 0.001, 20_000),
    r("GET", "/api/users", 18.0, 60.0, 0.01, 0.003, 9_000),
    r("GET", "/api/users/{n}", 40.0, 35.0, 0.03, 0.002, 1_500),
    r("POST", "/api/users", 3.0, 120.0, 0.08, 0.004, 800),
    r("PUT", "/api/users/{n}", 3.0, 90.0, 0.05, 0.003, 800),
    r("DELETE", "/api/users/{n}", 0.6, 70.0, 0.04, 0.003, 200),
    r(
        "GET",
        "/api/users/{n}/orders",
        8.0,
        80.0,
        0.02,
        0.004,
        6_000,
    ),
    r("GET", "/api/products", 25.0, 55.0, 0.005, 0.002, 20_000),
    r("GET", "/api/products/{n}", 45.0, 30.0, 0.03, 0.002, 2_500),
    r(
        "GET",
        "/api/products/{n}/reviews",
        9.0,
        70.0,
        0.01,
        0.003,
        7_000,
    ),
    r(
        "POST",
        "/api/products/{n}/reviews",
        1.0,
        110.0,
        0.1,
        0.004,
        600,
    ),
    r("GET", "/api/categories", 10.0, 25.0, 0.002, 0.001, 3_000),
    r("GET", "/api/cart", 15.0, 25.0, 0.01, 0.002, 1_800),
    r("POST", "/api/cart/items", 10.0, 60.0, 0.04, 0.003, 400),
    r("DELETE", "/api/cart/items/{n}", 2.0, 45.0, 0.03, 0.002, 200),
    r("POST", "/api/checkout", 3.0, 320.0, 0.05, 0.01, 700),
    r("POST", "/api/orders", 3.0, 250.0, 0.04, 0.008, 900),
    r("GET", "/api/orders/{u}", 6.0, 60.0, 0.03, 0.003, 2_200),
    r("GET", "/api/search", 22.0, 280.0, 0.01, 0.004, 15_000),
    r(
        "GET",
        "/api/recommendations",
        7.0,
        350.0,
        0.002,
        0.006,
        8_000,
    ),
    r("POST", "/api/login", 7.0, 140.0, 0.12, 0.003, 500),
    r("POST", "/api/logout", 2.5, 15.0, 0.01, 0.001, 100),
    r("POST", "/api/password/reset", 0.5, 200.0, 0.1, 0.005, 200),
    r("GET", "/api/notifications", 12.0, 40.0, 0.04, 0.002, 3_500),
    r("GET", "/api/admin/stats", 1.2, 750.0, 0.05, 0.01, 12_000),
    r("GET", "/api/admin/users", 0.8, 420.0, 0.06, 0.006, 30_000),
    r("POST", "/api/upload", 1.5, 900.0, 0.04, 0.015, 300),
    r(
        "GET",
        "/api/export/{n}.csv",
        0.4,
        1500.0,
        0.02,
        0.02,
        2_000_000,
    ),
    r("POST", "/api/webhooks/payment", 1.0, 85.0, 0.02, 0.004, 100),
    r("GET", "/health", 20.0, 1.0, 0.0, 0.0005, 20),
    r("GET", "/metrics", 6.0, 4.0, 0.0, 0.0, 9_000),
];

/// Browser, crawler and script user agents with their weights.
pub const AGENTS: &[(&str, f64)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        30.0,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        14.0,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        8.0,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        18.0,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        12.0,
    ),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        5.0,
    ),
    (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        2.0,
    ),
    ("curl/8.5.0", 2.0),
    ("python-requests/2.31.0", 2.0),
    ("Go-http-client/1.1", 1.0),
];

/// Paths a vulnerability scanner tries.
pub const SCANNER_PATHS: &[&str] = &[
    "/wp-login.php",
    "/wp-admin/",
    "/.env",
    "/.git/config",
    "/phpmyadmin/",
    "/admin.php",
    "/xmlrpc.php",
    "/config.json",
    "/backup.zip",
    "/server-status",
    "/.aws/credentials",
    "/cgi-bin/luci",
    "/owa/auth/logon.aspx",
    "/actuator/env",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/solr/admin/info/system",
];

/// Traffic multiplier for an hour of the day (UTC): quiet at night, busy in the afternoon;
/// averages 1 over the day.
pub fn diurnal(hour_frac: f64) -> f64 {
    let x = (hour_frac - 15.0) / 24.0 * std::f64::consts::TAU;
    1.0 + 0.7 * x.cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_averages_one() {
        let mean: f64 = (0..2400).map(|i| diurnal(i as f64 / 100.0)).sum::<f64>() / 2400.0;
        assert!((mean - 1.0).abs() < 1e-6);
        assert!(diurnal(15.0) > diurnal(3.0));
    }

    #[test]
    fn enough_routes_and_the_slow_admin_route() {
        assert!(ROUTES.len() >= 40);
        let admin = ROUTES
            .iter()
            .find(|r| r.template == "/api/admin/stats")
            .unwrap();
        assert_eq!(admin.mean_ms, 750.0);
    }
}
