//! Detected incidents as insights: what happened, the numbers against the baseline, and what
//! to do, in the language asked.

use super::{Insight, InsightKind, Window, insight};
use crate::detect::{Anomaly, AnomalyKind};
use crate::lang::Lang;
use crate::messages::{Msg, Text};

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
    let route = (!site).then_some(a.route.as_str());
    let since = &crate::time::format_utc(a.start_ms);
    let window_min = ev("window_min");
    let (kind, message, advice) = match a.kind {
        AnomalyKind::ErrorSpike => (
            InsightKind::ErrorSpike,
            Msg::ErrorSpike {
                route,
                since,
                errors: ev("errors"),
                requests: ev("requests"),
                rate: now,
                usual: base,
                window_min,
            },
            Text::AdviceErrorSpike,
        ),
        AnomalyKind::LatencyRegression => (
            InsightKind::LatencyRegression,
            Msg::LatencyRegression {
                route,
                since,
                typical_ms: now,
                usual_ms: base,
                ratio: ev("ratio"),
                avg_ms: ev("avg_ms"),
                usual_avg_ms: ev("baseline_avg_ms"),
                window_min,
            },
            Text::AdviceLatencyRegression,
        ),
        AnomalyKind::TrafficSurge => (
            InsightKind::TrafficSurge,
            Msg::TrafficSurge {
                since,
                per_min: now,
                usual: base,
                ratio: ev("ratio"),
            },
            Text::AdviceTrafficSurge,
        ),
        AnomalyKind::TrafficDrop => (
            InsightKind::TrafficDrop,
            Msg::TrafficDrop {
                since,
                per_min: now,
                usual: base,
            },
            Text::AdviceTrafficDrop,
        ),
        AnomalyKind::SiteQuiet => (
            InsightKind::SiteQuiet,
            Msg::SiteQuiet {
                since,
                minutes: ev("quiet_minutes"),
                usual: base,
                missing: base * ev("quiet_minutes"),
            },
            Text::AdviceSiteQuiet,
        ),
        AnomalyKind::NewRouteFailing => (
            InsightKind::NewRouteFailing,
            Msg::NewRouteFailing {
                route: route.unwrap_or_default(),
                since,
                rate: now,
                requests: ev("requests"),
            },
            Text::AdviceNewRouteFailing,
        ),
        AnomalyKind::Scanner => (
            InsightKind::ScannerActivity,
            Msg::ScannerIncident {
                client,
                since,
                per_min: now,
                paths: ev("distinct_paths"),
            },
            Text::AdviceScannerIncident,
        ),
        AnomalyKind::BotSurge => (
            InsightKind::BotSurge,
            Msg::BotSurge {
                since,
                share: now,
                usual: base,
            },
            Text::AdviceBotSurge,
        ),
    };
    let mut message = message.text(lang);
    if a.end_ms.is_some() {
        message.push_str(Text::Resolved.get(lang));
    }
    let subject = match a.kind {
        AnomalyKind::Scanner => Some(client),
        _ if site => None,
        _ => Some(a.route.as_str()),
    };
    let advice = Some(advice.get(lang).to_owned());
    let mut i = insight(kind, a.severity, subject, message, advice);
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
