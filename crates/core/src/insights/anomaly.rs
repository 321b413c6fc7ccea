//! Detected incidents as insights: what happened, the numbers against the baseline, and what
//! to do, in English and Korean.

use super::{Insight, InsightKind, Window, insight};
use crate::detect::{Anomaly, AnomalyKind};
use crate::lang::{Lang, ms, pct};

fn per_min(v: f64) -> String {
    format!("{v:.0}")
}

/// The insight for incident `a`; `client` names the address of a scanner.
/// The insights of `incidents` (found in the numbers of `agg`), open ones first, then the
/// most severe, then the newest; scanners are named by their address when `agg` tracks it.
pub fn incidents<'a>(
    agg: &crate::aggregate::Aggregate,
    incidents: impl IntoIterator<Item = &'a Anomaly>,
    lang: Lang,
) -> Vec<Insight> {
    let mut list: Vec<&Anomaly> = incidents.into_iter().collect();
    list.sort_by_key(|a| {
        (
            a.end_ms.is_some(),
            std::cmp::Reverse(a.severity),
            std::cmp::Reverse(a.start_ms),
        )
    });
    let wanted: Vec<u64> = list.iter().filter_map(|a| a.client).collect();
    let names: Vec<(u64, &str)> = if wanted.is_empty() {
        Vec::new()
    } else {
        agg.clients
            .top(usize::MAX)
            .into_iter()
            .map(|(name, _)| (crate::aggregate::recent::client_hash(name), name))
            .filter(|(h, _)| wanted.contains(h))
            .collect()
    };
    list.into_iter()
        .map(|a| {
            let name = a
                .client
                .and_then(|c| names.iter().find(|(h, _)| *h == c).map(|(_, n)| *n))
                .unwrap_or("(an untracked client)");
            insight_of(a, lang, name)
        })
        .collect()
}

/// The insight of one incident; `client` names a scanner.
pub fn insight_of(a: &Anomaly, lang: Lang, client: &str) -> Insight {
    let ev = |k: &str| a.evidence.get(k).copied().unwrap_or(0.0);
    let (now, base) = (ev("now"), ev("baseline"));
    let site = a.route.is_empty();
    let route = if site {
        lang.pick("the whole site", "사이트 전체")
    } else {
        &a.route
    };
    let since = crate::time::format_utc(a.start_ms);
    let window = ev("window_min");
    let over = if window > 0.0 {
        lang.pick(
            format!(" over {window:.0} min"),
            format!(" ({window:.0}분 기준)"),
        )
    } else {
        String::new()
    };
    let (kind, message, advice) = match a.kind {
        AnomalyKind::ErrorSpike => (
            InsightKind::ErrorSpike,
            lang.pick(
                format!(
                    "5xx spike on {route} since {since} UTC: {:.0} of {:.0} requests failed ({}){} where {} is usual",
                    ev("errors"), ev("requests"), pct(now), over, pct(base)
                ),
                format!(
                    "{route} 5xx 급증 ({since} UTC부터): 요청 {:.0}건 중 {:.0}건 실패 ({}){}, 평소 {}",
                    ev("requests"), ev("errors"), pct(now), over, pct(base)
                ),
            ),
            lang.pick(
                "Look first at this route's recent 5xx lines and at what changed when it began (a deploy, a config change, a dependency such as the database or an upstream API); roll back or fail over if it continues.",
                "먼저 이 경로의 최근 5xx 로그와 시작 시점의 변경(배포, 설정, DB나 외부 API 같은 의존성)을 확인하고, 계속되면 롤백하거나 우회하세요.",
            ),
        ),
        AnomalyKind::LatencyRegression => (
            InsightKind::LatencyRegression,
            lang.pick(
                format!(
                    "{route} slowed down since {since} UTC: typical response {} where {} is usual (×{:.1}), average {} (usually {}){}",
                    ms(lang, now), ms(lang, base), ev("ratio"), ms(lang, ev("avg_ms")), ms(lang, ev("baseline_avg_ms")), over
                ),
                format!(
                    "{route} 응답 지연 ({since} UTC부터): 대표 응답 시간 {} (평소 {}, ×{:.1}), 평균 {} (평소 {}){}",
                    ms(lang, now), ms(lang, base), ev("ratio"), ms(lang, ev("avg_ms")), ms(lang, ev("baseline_avg_ms")), over
                ),
            ),
            lang.pick(
                "Look first at what this route waits on (slow queries, lock contention, a saturated upstream) and at changes made when it began; scale out if load explains it.",
                "먼저 이 경로가 기다리는 것(느린 쿼리, 락 경합, 포화된 외부 서비스)과 시작 시점의 변경을 확인하고, 부하 때문이라면 확장하세요.",
            ),
        ),
        AnomalyKind::TrafficSurge => (
            InsightKind::TrafficSurge,
            lang.pick(
                format!("Traffic surge since {since} UTC: {} requests/min where {} is usual (×{:.1})", per_min(now), per_min(base), ev("ratio")),
                format!("트래픽 급증 ({since} UTC부터): 분당 {}건 (평소 {}건, ×{:.1})", per_min(now), per_min(base), ev("ratio")),
            ),
            lang.pick(
                "Look first at the top clients and routes of these minutes: a campaign, a retry storm or abuse; make sure capacity and rate limits hold.",
                "먼저 이 시간대의 상위 클라이언트와 경로를 보고 캠페인, 재시도 폭주, 악용 여부를 확인한 뒤 용량과 요청 제한이 버티는지 점검하세요.",
            ),
        ),
        AnomalyKind::TrafficDrop => (
            InsightKind::TrafficDrop,
            lang.pick(
                format!("Traffic dropped since {since} UTC: {} requests/min where {} is usual", per_min(now), per_min(base)),
                format!("트래픽 급감 ({since} UTC부터): 분당 {}건 (평소 {}건)", per_min(now), per_min(base)),
            ),
            lang.pick(
                "Look first at DNS, the load balancer, TLS certificates and upstream health: users may not be reaching the service.",
                "먼저 DNS, 로드 밸런서, TLS 인증서, 상위 서비스 상태를 확인하세요. 사용자가 서비스에 도달하지 못하고 있을 수 있습니다.",
            ),
        ),
        AnomalyKind::SiteQuiet => (
            InsightKind::SiteQuiet,
            lang.pick(
                format!(
                    "No requests for {:.0} minutes from {since} UTC, where about {} a minute are usual (some {:.0} requests missing)",
                    ev("quiet_minutes"), per_min(base), base * ev("quiet_minutes")
                ),
                format!(
                    "{since} UTC부터 {:.0}분 동안 요청 없음 (평소 분당 약 {}건, 약 {:.0}건 누락)",
                    ev("quiet_minutes"), per_min(base), base * ev("quiet_minutes")
                ),
            ),
            lang.pick(
                "Look first at whether the service and the log pipeline were up: process, disk, log rotation, network.",
                "먼저 서비스와 로그 수집이 살아 있었는지 확인하세요: 프로세스, 디스크, 로그 회전, 네트워크.",
            ),
        ),
        AnomalyKind::NewRouteFailing => (
            InsightKind::NewRouteFailing,
            lang.pick(
                format!("New route {route} is failing since {since} UTC: {} of {:.0} requests are 5xx", pct(now), ev("requests")),
                format!("새 경로 {route} 실패 중 ({since} UTC부터): 요청 {:.0}건 중 {}가 5xx", ev("requests"), pct(now)),
            ),
            lang.pick(
                "A new release or a client calling an unfinished endpoint: look first at the deploy and the route's handler.",
                "새 배포나 미완성 엔드포인트 호출일 수 있습니다. 먼저 배포와 핸들러를 확인하세요.",
            ),
        ),
        AnomalyKind::Scanner => (
            InsightKind::ScannerActivity,
            lang.pick(
                format!("Scanner at {client} since {since} UTC: {:.0} 404s a minute over {:.0} distinct paths", now, ev("distinct_paths")),
                format!("스캐너 {client} ({since} UTC부터): 분당 404 {:.0}건, 서로 다른 경로 {:.0}개", now, ev("distinct_paths")),
            ),
            lang.pick(
                "Block or rate-limit the address (firewall, WAF, fail2ban) and make sure none of the probed paths exist.",
                "해당 주소를 차단하거나 요청을 제한하고(방화벽, WAF, fail2ban), 탐색된 경로가 실제로 없는지 확인하세요.",
            ),
        ),
        AnomalyKind::BotSurge => (
            InsightKind::BotSurge,
            lang.pick(
                format!("Automated traffic jumped to {} of requests since {since} UTC ({} is usual)", pct(now), pct(base)),
                format!("자동화 트래픽 비중 급증 ({since} UTC부터): {} (평소 {})", pct(now), pct(base)),
            ),
            lang.pick(
                "Look first at which crawlers they are; check robots.txt, crawl budgets and rate limits for automated clients.",
                "먼저 어떤 크롤러인지 확인하고 robots.txt, 크롤링 허용량, 자동화 클라이언트 요청 제한을 점검하세요.",
            ),
        ),
    };
    let message = match a.end_ms {
        Some(_) => format!("{message}{}", lang.pick(" — resolved", " — 해결됨")),
        None => message,
    };
    let subject = match a.kind {
        AnomalyKind::Scanner => Some(client),
        _ if site => None,
        _ => Some(a.route.as_str()),
    };
    let mut i = insight(kind, a.severity, subject, message, Some(advice.to_owned()));
    for (k, v) in &a.evidence {
        i.evidence.insert(k.clone(), *v);
    }
    i.window = Some(Window {
        start_ms: a.start_ms,
        detected_ms: a.detected_ms,
        last_ms: a.last_ms,
        end_ms: a.end_ms,
    });
    i
}
