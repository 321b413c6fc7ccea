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
    let (kind, message, advice) = match a.kind {
        AnomalyKind::ErrorSpike => (
            InsightKind::ErrorSpike,
            lang.pick(
                format!("5xx spike on {route}: {} of requests failing (baseline {})", pct(now), pct(base)),
                format!("{route} 5xx 급증: 요청의 {} 실패 (평소 {})", pct(now), pct(base)),
            ),
            lang.pick(
                "Check recent deploys and this route's dependencies (database, upstream APIs); roll back or fail over if it continues.",
                "최근 배포와 이 경로의 의존성(DB, 외부 API)을 확인하고, 계속되면 롤백하거나 우회하세요.",
            ),
        ),
        AnomalyKind::LatencyRegression => (
            InsightKind::LatencyRegression,
            lang.pick(
                format!(
                    "{route} slowed down: p95 {} (baseline {}), p50 {} (baseline {})",
                    ms(lang, now),
                    ms(lang, base),
                    ms(lang, ev("p50_ms")),
                    ms(lang, ev("baseline_p50_ms"))
                ),
                format!(
                    "{route} 응답 지연: p95 {} (평소 {}), p50 {} (평소 {})",
                    ms(lang, now),
                    ms(lang, base),
                    ms(lang, ev("p50_ms")),
                    ms(lang, ev("baseline_p50_ms"))
                ),
            ),
            lang.pick(
                "Look for slow queries, lock contention, a saturated upstream or a recent change on this route; scale out if load explains it.",
                "느린 쿼리, 락 경합, 포화된 외부 서비스, 최근 변경을 확인하고, 부하 때문이라면 확장하세요.",
            ),
        ),
        AnomalyKind::TrafficSurge => (
            InsightKind::TrafficSurge,
            lang.pick(
                format!("Traffic surge: {} requests/min (expected {}, ×{:.1})", per_min(now), per_min(base), ev("ratio")),
                format!("트래픽 급증: 분당 {}건 (예상 {}건, ×{:.1})", per_min(now), per_min(base), ev("ratio")),
            ),
            lang.pick(
                "Check whether it is a campaign, a retry storm or abuse; make sure capacity and rate limits hold.",
                "캠페인, 재시도 폭주, 악용 여부를 확인하고 용량과 요청 제한이 버티는지 점검하세요.",
            ),
        ),
        AnomalyKind::TrafficDrop => (
            InsightKind::TrafficDrop,
            lang.pick(
                format!("Traffic dropped: {} requests/min (expected {})", per_min(now), per_min(base)),
                format!("트래픽 급감: 분당 {}건 (예상 {}건)", per_min(now), per_min(base)),
            ),
            lang.pick(
                "Check DNS, the load balancer, TLS certificates and upstream health: users may not be reaching the service.",
                "DNS, 로드 밸런서, TLS 인증서, 상위 서비스 상태를 확인하세요. 사용자가 서비스에 도달하지 못하고 있을 수 있습니다.",
            ),
        ),
        AnomalyKind::SiteQuiet => (
            InsightKind::SiteQuiet,
            lang.pick(
                format!("The site went quiet: no requests for {:.0} minutes (expected {} a minute)", ev("quiet_minutes"), per_min(base)),
                format!("사이트가 조용해졌습니다: {:.0}분 동안 요청 없음 (예상 분당 {}건)", ev("quiet_minutes"), per_min(base)),
            ),
            lang.pick(
                "Check that the service and the log pipeline are up: process, disk, log rotation, network.",
                "서비스와 로그 수집이 살아 있는지 확인하세요: 프로세스, 디스크, 로그 회전, 네트워크.",
            ),
        ),
        AnomalyKind::NewRouteFailing => (
            InsightKind::NewRouteFailing,
            lang.pick(
                format!("New route {route} is failing: {} of {:.0} requests are 5xx", pct(now), ev("requests")),
                format!("새 경로 {route} 실패 중: 요청 {:.0}건 중 {}가 5xx", ev("requests"), pct(now)),
            ),
            lang.pick(
                "A new release or a client calling an unfinished endpoint: check the deploy and the route's handler.",
                "새 배포나 미완성 엔드포인트 호출일 수 있습니다. 배포와 핸들러를 확인하세요.",
            ),
        ),
        AnomalyKind::Scanner => (
            InsightKind::ScannerActivity,
            lang.pick(
                format!("Scanner at {client}: {:.0} 404s a minute over {:.0} distinct paths", now, ev("distinct_paths")),
                format!("스캐너 {client}: 분당 404 {:.0}건, 서로 다른 경로 {:.0}개", now, ev("distinct_paths")),
            ),
            lang.pick(
                "Block or rate-limit the address (firewall, WAF, fail2ban) and make sure none of the probed paths exist.",
                "해당 주소를 차단하거나 요청을 제한하고(방화벽, WAF, fail2ban), 탐색된 경로가 실제로 없는지 확인하세요.",
            ),
        ),
        AnomalyKind::BotSurge => (
            InsightKind::BotSurge,
            lang.pick(
                format!("Automated traffic jumped to {} of requests (baseline {})", pct(now), pct(base)),
                format!("자동화 트래픽 비중 급증: {} (평소 {})", pct(now), pct(base)),
            ),
            lang.pick(
                "Check robots.txt, crawl budgets and rate limits for automated clients.",
                "robots.txt, 크롤링 허용량, 자동화 클라이언트 요청 제한을 점검하세요.",
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
