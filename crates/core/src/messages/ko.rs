//! 한국어 (Korean, the language of the original report).

use super::{Msg, Text, per_min};
use crate::lang::{Lang, bytes, pct};

fn ms(v: f64) -> String {
    crate::lang::ms(Lang::Ko, v)
}

fn hour(h: u8) -> String {
    crate::lang::hour(Lang::Ko, h)
}

fn over(window_min: f64) -> String {
    if window_min > 0.0 {
        format!(" ({window_min:.0}분 기준)")
    } else {
        String::new()
    }
}

pub(super) fn text(t: Text) -> &'static str {
    match t {
        Text::ReportTitle => "tailpulse 로그 분석 리포트",
        Text::HtmlLang => "ko",
        Text::Period => "기간",
        Text::RequestsByHour => "시간대별 요청 수 (UTC)",
        Text::RequestsOverTime => "시간 흐름별 요청 수 (1시간 단위)",
        Text::StatusClasses => "상태 코드 분포",
        Text::RequestsPerEndpoint => "엔드포인트별 요청 수",
        Text::SlowestRequests => "느린 요청",
        Text::MostRecentRequests => "최근 요청",
        Text::LlmPrompts => "LLM 프롬프트",
        Text::TotalRequests => "총 요청 수",
        Text::SuccessRate => "성공률",
        Text::Rate4xx => "4xx 비율",
        Text::Rate5xx => "5xx 비율",
        Text::AvgResponse => "평균 응답시간",
        Text::P95Response => "p95 응답시간",
        Text::UniqueVisitors => "순 방문자",
        Text::Bandwidth => "전송량",
        Text::InsightsAndSuggestions => "개선 제안 및 인사이트",
        Text::Endpoints => "엔드포인트별 통계",
        Text::Route => "경로",
        Text::Requests => "요청",
        Text::Bytes => "전송량",
        Text::TimeUtc => "시각 (UTC)",
        Text::Method => "메서드",
        Text::Path => "경로",
        Text::Status => "상태",
        Text::ResponseTime => "응답시간",
        Text::Client => "클라이언트",
        Text::TopClients => "주요 클라이언트",
        Text::Servers => "서버별",
        Text::Server => "서버",
        Text::Errors => "에러",
        Text::Inputs => "입력 파일",
        Text::LinesReadParsedRejected => "읽은 줄 / 파싱 / 실패",
        Text::SectionInsights => "[개선 제안 및 인사이트]",
        Text::NoRequestsYet => "아직 분석할 요청이 없습니다.",
        Text::SectionPrompts => "[LLM 활용 자연어 요약/이상탐지 프롬프트 샘플]",
        Text::SectionLlm => "[기계 작성 분석 (LLM)]",
        Text::WrittenBy => "작성:",
        Text::NoAnswerYet => "아직 답변이 없습니다.",
        Text::LastCallFailed => "마지막 호출 실패",
        Text::SlowestHour => "가장 느린 시간대",
        Text::PeakHourUtc => "피크 시간대(UTC)",
        Text::StatusCodes => "상태 코드",
        Text::TopEndpoints => "주요 엔드포인트:",
        Text::PromptSummaryTitle => "리포트 자연어 요약 프롬프트",
        Text::PromptAnomalyTitle => "이상 패턴 탐지 프롬프트",
        Text::PromptDashboardTitle => "대시보드 자연어 설명 프롬프트",
        Text::TheWholeSite => "사이트 전체",
        Text::Resolved => " — 해결됨",
        Text::AdviceSlowestRoute => "DB 인덱스 추가, 캐싱, 쿼리 최적화, 비동기화 등을 고려하세요.",
        Text::AdviceRejected => {
            "로그 형식(--format, --log-format)을 확인하거나 손상된 기록이 있는지 점검하세요."
        }
        Text::AdviceMissingFile => {
            "요청되지만 제공되지 않는 파일입니다: 깨진 링크이거나 배포에서 빠진 파일입니다. 파일을 복구하거나 링크를 고치세요(또는 리다이렉트)."
        }
        Text::AdviceRefused => {
            "이 엔드포인트가 거절하는 요청(4xx)입니다: 클라이언트가 보내는 내용(바뀐 API, 누락된 인증, 잘못된 입력)과 응답 메시지를 확인하세요."
        }
        Text::AdviceServerErrorsRoute => {
            "서버 에러(5xx)입니다: 이 엔드포인트의 예외 처리와 의존 서비스 상태를 점검하세요."
        }
        Text::AdviceTailLatency => {
            "락 경합, 느린 외부 의존성, GC 일시정지, 콜드 캐시 등을 확인하세요."
        }
        Text::AdviceServerErrors => "해당 엔드포인트의 예외 처리와 의존 서비스 상태를 점검하세요.",
        Text::AdviceServerOutlier => {
            "그 서버부터 살펴보세요: 배포, 디스크, 메모리, 업스트림을 확인하고 계속 실패하면 로드 밸런서에서 제외하세요."
        }
        Text::AdviceBandwidth => "CDN, 압축, 캐시 헤더 적용을 고려하세요.",
        Text::AdviceScanner => "요청 속도 제한 또는 차단(fail2ban, WAF 규칙)을 고려하세요.",
        Text::AdviceErrorSpike => {
            "먼저 이 경로의 최근 5xx 로그와 시작 시점의 변경(배포, 설정, DB나 외부 API 같은 의존성)을 확인하고, 계속되면 롤백하거나 우회하세요."
        }
        Text::AdviceLatencyRegression => {
            "먼저 이 경로가 기다리는 것(느린 쿼리, 락 경합, 포화된 외부 서비스)과 시작 시점의 변경을 확인하고, 부하 때문이라면 확장하세요."
        }
        Text::AdviceTrafficSurge => {
            "먼저 이 시간대의 상위 클라이언트와 경로를 보고 캠페인, 재시도 폭주, 악용 여부를 확인한 뒤 용량과 요청 제한이 버티는지 점검하세요."
        }
        Text::AdviceTrafficDrop => {
            "먼저 DNS, 로드 밸런서, TLS 인증서, 상위 서비스 상태를 확인하세요. 사용자가 서비스에 도달하지 못하고 있을 수 있습니다."
        }
        Text::AdviceSiteQuiet => {
            "먼저 서비스와 로그 수집이 살아 있었는지 확인하세요: 프로세스, 디스크, 로그 회전, 네트워크."
        }
        Text::AdviceNewRouteFailing => {
            "새 배포나 미완성 엔드포인트 호출일 수 있습니다. 먼저 배포와 핸들러를 확인하세요."
        }
        Text::AdviceScannerIncident => {
            "해당 주소를 차단하거나 요청을 제한하고(방화벽, WAF, fail2ban), 탐색된 경로가 실제로 없는지 확인하세요."
        }
        Text::Overview => "개요",
        Text::VisitorsPerDay => "일별 방문자 (UTC)",
        Text::NotFound => "찾을 수 없음 (404)",
        Text::Day => "날짜",
        Text::Clients => "클라이언트 수",
        Text::StaticFiles => "정적 파일",
        Text::AllStatic => "(정적 파일 전체)",
        Text::AllDynamic => "(동적 요청)",
        Text::OperatingSystems => "운영체제",
        Text::Browsers => "브라우저",
        Text::Devices => "기기",
        Text::Crawlers => "크롤러와 스크립트",
        Text::ReferringSites => "유입 사이트",
        Text::Referrers => "유입 페이지",
        Text::Methods => "메서드",
        Text::Protocols => "프로토콜",
        Text::Name => "이름",
        Text::Site => "사이트",
        Text::Visitors => "방문자",
        Text::Page => "페이지",
        Text::FirstSeen => "처음",
        Text::LastSeen => "마지막",
        Text::Countries => "국가",
        Text::Networks => "네트워크 (AS)",
        Text::RemoteUsers => "인증 사용자",
        Text::CacheStatus => "캐시",
        Text::MimeTypes => "콘텐츠 유형",
        Text::Tls => "TLS",
        Text::AdviceBotSurge => {
            "먼저 어떤 크롤러인지 확인하고 robots.txt, 크롤링 허용량, 자동화 클라이언트 요청 제한을 점검하세요."
        }
    }
}

pub(super) fn msg(m: &Msg) -> String {
    let site = |r: &Option<&str>| r.unwrap_or("사이트 전체").to_owned();
    match *m {
        Msg::SlowestEndpoint {
            route,
            avg_ms,
            p90_ms,
        } => format!(
            "가장 느린 엔드포인트: {route} (평균 {}, p90 {})",
            ms(avg_ms),
            ms(p90_ms)
        ),
        Msg::PeakHour { hour: h, requests } => {
            format!("트래픽 피크 시간대: {} UTC ({requests}건)", hour(h))
        }
        Msg::SlowestHour { hour: h, avg_ms } => format!(
            "평균 응답시간이 가장 높은 시간대: {} UTC, 평균 {}",
            hour(h),
            ms(avg_ms)
        ),
        Msg::Bots { share, requests } => format!(
            "봇/크롤러/스크립트 트래픽: 전체 요청의 {} ({requests}건)",
            pct(share)
        ),
        Msg::Rejected { lines, share } => format!(
            "파싱하지 못한 줄: {lines}줄 ({}) — 소스별 샘플을 확인하세요",
            pct(share)
        ),
        Msg::ErrorHotspots {
            list,
            min_errors,
            min_rate,
        } => format!(
            "4xx/5xx 에러 집중 엔드포인트: {list} (실패 {min_errors}건 이상이면서 요청의 {} 이상이면 경고)",
            pct(min_rate)
        ),
        Msg::TailLatency {
            route,
            p99_ms,
            p50_ms,
            ratio,
        } => format!(
            "꼬리 지연: {route}의 p99가 {}로 중앙값({})의 {ratio:.0}배입니다",
            ms(p99_ms),
            ms(p50_ms)
        ),
        Msg::ServerOutlier {
            host,
            rate,
            others,
            errors,
        } => format!(
            "서버 {host}의 요청 중 {}가 5xx 응답입니다 ({errors}건). 다른 서버들은 {}입니다",
            pct(rate),
            pct(others)
        ),
        Msg::ServerErrors {
            rate,
            total,
            route,
            share,
        } => format!(
            "5xx 응답이 전체 요청의 {} ({total}건)이며, 그중 {}가 {route}에서 발생했습니다 (1% 및 10건 이상이면 경고, 5% 이상이면 심각)",
            pct(rate),
            pct(share)
        ),
        Msg::BandwidthHog {
            route,
            share,
            bytes: b,
        } => format!(
            "대역폭: {route}가 전체 전송량의 {} ({})를 차지합니다",
            pct(share),
            bytes(b)
        ),
        Msg::ScannerClient {
            client,
            requests,
            not_found,
            share,
        } => format!(
            "스캐너로 의심되는 클라이언트: {client} — 요청 {requests}건 중 404가 {not_found}건 ({})",
            pct(share)
        ),
        Msg::ErrorSpike {
            ref route,
            since,
            errors,
            requests,
            rate,
            usual,
            window_min,
        } => format!(
            "{} 5xx 급증 ({since} UTC부터): 요청 {requests:.0}건 중 {errors:.0}건 실패 ({}){}, 평소 {}",
            site(route),
            pct(rate),
            over(window_min),
            pct(usual)
        ),
        Msg::LatencyRegression {
            ref route,
            since,
            typical_ms,
            usual_ms,
            ratio,
            avg_ms,
            usual_avg_ms,
            window_min,
        } => format!(
            "{} 응답 지연 ({since} UTC부터): 대표 응답 시간 {} (평소 {}, ×{ratio:.1}), 평균 {} (평소 {}){}",
            site(route),
            ms(typical_ms),
            ms(usual_ms),
            ms(avg_ms),
            ms(usual_avg_ms),
            over(window_min)
        ),
        Msg::TrafficSurge {
            since,
            per_min: n,
            usual,
            ratio,
        } => format!(
            "트래픽 급증 ({since} UTC부터): 분당 {}건 (평소 {}건, ×{ratio:.1})",
            per_min(n),
            per_min(usual)
        ),
        Msg::TrafficDrop {
            since,
            per_min: n,
            usual,
        } => format!(
            "트래픽 급감 ({since} UTC부터): 분당 {}건 (평소 {}건)",
            per_min(n),
            per_min(usual)
        ),
        Msg::SiteQuiet {
            since,
            minutes,
            usual,
            missing,
        } => format!(
            "{since} UTC부터 {minutes:.0}분 동안 요청 없음 (평소 분당 약 {}건, 약 {missing:.0}건 누락)",
            per_min(usual)
        ),
        Msg::NewRouteFailing {
            route,
            since,
            rate,
            requests,
        } => format!(
            "새 경로 {route} 실패 중 ({since} UTC부터): 요청 {requests:.0}건 중 {}가 5xx",
            pct(rate)
        ),
        Msg::ScannerIncident {
            client,
            since,
            per_min: n,
            paths,
        } => format!(
            "스캐너 {client} ({since} UTC부터): 분당 404 {n:.0}건, 서로 다른 경로 {paths:.0}개"
        ),
        Msg::BotSurge {
            since,
            share,
            usual,
        } => format!(
            "자동화 트래픽 비중 급증 ({since} UTC부터): {} (평소 {})",
            pct(share),
            pct(usual)
        ),
        Msg::MoreIncidents { n, kinds } => {
            format!("… 그 밖의 이상 징후 {n}건 ({kinds}); JSON 리포트에 모두 있습니다")
        }
        Msg::RouteCap {
            shown,
            more,
            requests,
            share,
        } => format!(
            "라우트: {shown}개 표시, 나머지 {more}개는 (other)로 집계: {requests}건 ({}); --max-routes를 늘리면 모두 볼 수 있습니다",
            pct(share)
        ),
        Msg::MoreRoutes { routes, requests } => format!(
            "… 그 밖의 라우트 {routes}개: {requests}건 (JSON 리포트에 --max-routes개까지 있습니다)"
        ),
        Msg::RequestsLine {
            requests,
            read,
            rejected,
        } => {
            format!("요청: {requests}건 | 읽은 줄: {read} | 파싱 실패: {rejected}")
        }
        Msg::ReadStopped { source, error } => {
            format!("{source} 읽기가 중간에 멈췄습니다 ({error}); 그 전까지의 줄은 집계했습니다")
        }
        Msg::TotalRequestsLine {
            requests,
            read,
            rejected,
        } => {
            format!("총 요청 수: {requests}건 (읽은 줄 {read}, 파싱 실패 {rejected})")
        }
        Msg::RatesLine { ok, e4, e5 } => {
            format!("성공률: {} | 4xx: {} | 5xx: {}", pct(ok), pct(e4), pct(e5))
        }
        Msg::ResponseTimesLine {
            avg,
            p50,
            p90,
            p95,
            p99,
            max,
        } => format!(
            "응답시간: 평균 {}, p50 {}, p90 {}, p95 {}, p99 {}, 최대 {}",
            ms(avg),
            ms(p50),
            ms(p90),
            ms(p95),
            ms(p99),
            ms(max)
        ),
        Msg::VisitorsLine {
            visitors,
            bytes: b,
            bots,
        } => format!(
            "순 방문자: {visitors} | 전송량: {} | 봇: {}",
            bytes(b),
            pct(bots)
        ),
        Msg::HourAvg { hour: h, avg_ms } => format!("{} ({})", hour(h), ms(avg_ms)),
        Msg::RouteTiming { avg_ms, p90_ms } => {
            format!(", 평균 {}, p90 {}", ms(avg_ms), ms(p90_ms))
        }
        Msg::RouteLine {
            route,
            requests,
            e4,
            e5,
            timing,
        } => {
            format!("- {route}: {requests}건, 4xx {e4}, 5xx {e5}{timing}")
        }
        Msg::PromptSummary { stats } => format!(
            "다음은 서버 로그 분석 결과 요약입니다.\n---\n{stats}\n---\n위 데이터를 바탕으로, 주요 문제점, 이상 징후, 개선 제안, 트래픽 특징을 관리자에게 보고하는 자연어 리포트를 작성해줘."
        ),
        Msg::PromptAnomaly { lines } => format!(
            "아래는 최근 서버 로그 일부입니다.\n---\n{lines}\n---\n이 로그에서 평소와 다른 점, 이상 징후, 에러 집중 구간, 응답시간 급증 등 특이사항을 찾아서 요약해줘."
        ),
        Msg::PromptDashboard { stats } => format!(
            "아래는 대시보드 주요 통계입니다.\n---\n{stats}\n---\n이 데이터를 바탕으로, 트래픽/에러/응답시간의 특징을 한눈에 알 수 있게 자연어로 설명해줘."
        ),
    }
}
