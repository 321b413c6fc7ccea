// tailpulse dashboard: renders the live summary pushed over Server-Sent Events.
// Everything shown comes from log lines, which are attacker-controlled: it is inserted as
// text (textContent), never as markup.
'use strict';

const I18N = {
  en: {
    connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', range: 'Range', route: 'Route',
    fleet: 'All servers', fleetAll: 'every instance, from ClickHouse',
    status: 'Status', any: 'any', theme: 'Theme', total: 'Total requests', rate: 'Requests/s now',
    avg: 'Avg response', p95: 'p95 response', success: 'Success rate', e4: '4xx rate', e5: '5xx rate',
    visitors: 'Unique visitors', overTime: 'Requests over time', statusDist: 'Status codes',
    hourOfDay: 'Traffic by hour of day (UTC)', latencyTime: 'Response time percentiles over time (ms)',
    perRoute: 'Requests and latency per route', routes: 'Routes', requests: 'Requests', bytes: 'Bytes',
    slowest: 'Slowest requests', recent: 'Most recent requests', time: 'Time', method: 'Method', path: 'Path',
    client: 'Client', agent: 'User agent', report: 'Report', copy: 'Copy', copied: 'Copied',
    avgMs: 'avg ms', p90Ms: 'p90 ms', noData: 'No requests yet.',
    machine: 'Machine-written analysis', machineBy: 'written by a machine — model', noAnswer: 'No answer yet.',
    lastError: 'last call failed', ongoing: 'ongoing since', resolved: 'resolved',
    catching_up: 'catching up', replay: 'replay (log time)', logTime: '(log time)',
    historyDown: 'history unavailable (ClickHouse); waiting on disk:',
    openAtEnd: 'open at the end of the data, since',
    server: 'Server', servers: 'Servers',
    visitorsByDay: 'Visitors per day', browsers: 'Browsers', osPanel: 'Operating systems', devices: 'Devices',
    remoteUsers: 'Authenticated users', user: 'User', cacheStatus: 'Cache', mimeTypes: 'Content types', tlsPanel: 'TLS', tlsCol: 'Version / cipher',
    countriesPanel: 'Countries', country: 'Country', networks: 'Networks (AS)', network: 'Network',
    crawlers: 'Crawlers', refSites: 'Referring sites', refPages: 'Referring pages', notFound: 'Not found (404)',
    staticFiles: 'Static files', topClients: 'Top clients', methodsProtocols: 'Methods and protocols',
    methods: 'Methods', protocols: 'Protocols', day: 'Day', visitorsCol: 'Visitors', browser: 'Browser',
    os: 'Operating system', device: 'Device', crawler: 'Crawler', site: 'Site', page: 'Page', clientsCol: 'Clients',
    protocol: 'Protocol', firstSeen: 'First seen', lastSeen: 'Last seen', staticReq: 'Static', dynamicReq: 'Dynamic',
    csvTitle: 'Download the rows shown as CSV', slowerThan: 'Slower than', msAtLeast: 'ms',
    pathPrefix: 'Path prefix', referer: 'Referring site', respTime: 'Response time', filters: 'Filters', clearAll: 'Clear all',
    removeFilter: 'Remove filter', filterBy: 'Click to filter by this row; click again to clear',
    topOf: 'top {n} of {m}', dev_desktop: 'Desktop', dev_mobile: 'Mobile', dev_tablet: 'Tablet', dev_bot: 'Bot',
    dev_other: 'Other', filterWindow: 'Filtered figures count the requests kept in memory, since',
    filterFailed: 'The filtered view is unavailable', loading: 'loading…',
    samplesUnfiltered: 'The samples below are not filtered by browser, operating system, device, referring site, country or client network.',
  },
  ko: {
    connecting: '연결 중…', live: '실시간', reconnecting: '재연결 중…', range: '기간', route: '경로',
    fleet: '모든 서버', fleetAll: 'ClickHouse의 모든 인스턴스',
    status: '상태', any: '전체', theme: '테마', total: '총 요청 수', rate: '현재 초당 요청',
    avg: '평균 응답시간', p95: 'p95 응답시간', success: '성공률', e4: '4xx 비율', e5: '5xx 비율',
    visitors: '순 방문자', overTime: '시간별 요청 건수', statusDist: '상태 코드 분포',
    hourOfDay: '시간대별 트래픽 (UTC)', latencyTime: '시간별 응답시간 백분위수 (ms)',
    perRoute: '엔드포인트별 요청 수와 응답시간', routes: '엔드포인트별 통계', requests: '요청', bytes: '전송량',
    slowest: '느린 요청', recent: '최근 요청', time: '시각', method: '메서드', path: '경로',
    client: '클라이언트', agent: '사용자 에이전트', report: '분석 리포트', copy: '복사', copied: '복사됨',
    avgMs: '평균 ms', p90Ms: 'p90 ms', noData: '아직 요청이 없습니다.',
    machine: '기계 작성 분석', machineBy: '기계가 작성함 — 모델', noAnswer: '아직 답변이 없습니다.',
    lastError: '마지막 호출 실패', ongoing: '진행 중, 시작', resolved: '해결됨',
    catching_up: '따라잡는 중', replay: '재생 (로그 시각)', logTime: '(로그 시각)',
    historyDown: '기록 저장소(ClickHouse) 사용 불가; 디스크 대기:',
    openAtEnd: '데이터 끝까지 진행 중, 시작',
    server: '서버', servers: '서버별',
    visitorsByDay: '일별 방문자', browsers: '브라우저', osPanel: '운영체제', devices: '기기',
    remoteUsers: '인증 사용자', user: '사용자', cacheStatus: '캐시', mimeTypes: '콘텐츠 유형', tlsPanel: 'TLS', tlsCol: '버전 / 암호',
    countriesPanel: '국가', country: '국가', networks: '네트워크 (AS)', network: '네트워크',
    crawlers: '크롤러', refSites: '유입 사이트', refPages: '유입 페이지', notFound: '찾을 수 없음 (404)',
    staticFiles: '정적 파일', topClients: '상위 클라이언트', methodsProtocols: '메서드와 프로토콜',
    methods: '메서드', protocols: '프로토콜', day: '날짜', visitorsCol: '방문자', browser: '브라우저',
    os: '운영체제', device: '기기', crawler: '크롤러', site: '사이트', page: '페이지', clientsCol: '클라이언트 수',
    protocol: '프로토콜', firstSeen: '첫 요청', lastSeen: '마지막 요청', staticReq: '정적', dynamicReq: '동적',
    csvTitle: '표시된 행을 CSV로 내려받기', slowerThan: '응답시간', msAtLeast: 'ms 이상',
    pathPrefix: '경로 접두사', referer: '유입 사이트', respTime: '응답시간', filters: '필터', clearAll: '모두 지우기',
    removeFilter: '필터 제거', filterBy: '클릭하면 이 행으로 필터링, 다시 클릭하면 해제',
    topOf: '전체 {m}개 중 상위 {n}개', dev_desktop: '데스크톱', dev_mobile: '모바일', dev_tablet: '태블릿', dev_bot: '봇',
    dev_other: '기타', filterWindow: '필터 결과는 메모리에 남아 있는 요청 기준, 시작',
    filterFailed: '필터 결과를 가져오지 못했습니다', loading: '불러오는 중…',
    samplesUnfiltered: '아래 표본은 브라우저, 운영체제, 기기, 유입 사이트, 국가, 클라이언트 대역으로는 필터링되지 않습니다.',
  },
};
const CLASS_COLORS = { '1xx': '#8e8e8e', '2xx': '#2e9d57', '3xx': '#3b7dd8', '4xx': '#e0a030', '5xx': '#d64545' };
const CLASSES = Object.keys(CLASS_COLORS);

// The filters, in the order they appear in URLs and API queries. `route`, `status`, `host`
// and `min_ms` live in the header's controls; the others are set by clicking a panel's row.
const FILTER_KEYS = ['route', 'status', 'host', 'min_ms', 'browser', 'os', 'device', 'client', 'path', 'referer', 'country', 'scope'];
const DRILL_KEYS = ['browser', 'os', 'device', 'client', 'path', 'referer', 'country'];
const DEVICES = ['desktop', 'mobile', 'tablet', 'bot', 'other'];
const FILTER_LABELS = { scope: 'fleet', route: 'route', status: 'status', host: 'server', min_ms: 'respTime', browser: 'browser', os: 'os', device: 'device', client: 'client', path: 'pathPrefix', referer: 'referer', country: 'country' };
const MAX_VALUE = 200;
const DEFAULT_RANGE = '1h';
const PANEL_ROWS = 12;

const $ = (id) => document.getElementById(id);
const ui = {
  lang: ['en', 'ko'].includes(localStorage.getItem('tp-lang')) ? localStorage.getItem('tp-lang') : 'en',
  routeSort: 'requests',
  summary: null,
  filtered: null,
  filterError: null,
  lastFiltered: 0,
  drill: {},
  typingUntil: 0,
  seenRecent: new Set(),
  lastSeries: 0,
  charts: {},
};

function t(key) {
  return (I18N[ui.lang] && I18N[ui.lang][key]) || I18N.en[key] || key;
}

function applyI18n() {
  document.documentElement.lang = ui.lang;
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll('[data-i18n-title]').forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  $('lang').textContent = ui.lang === 'en' ? '한국어' : 'English';
  setConn($('conn').dataset.state);
}

function setConn(state) {
  const el = $('conn');
  el.dataset.state = state;
  const live = ui.summary && ui.summary.live;
  if (state === 'live' && live && live.mode && live.mode !== 'live') {
    el.dataset.state = live.mode;
    const pct = live.progress == null ? '' : ' ' + Math.floor(live.progress * 100) + '%';
    el.textContent = t(live.mode) + pct;
    return;
  }
  el.textContent = t(state);
}

// Requests per second: lines read per second while live; in log time otherwise.
function rateText(s) {
  const live = s && s.live;
  if (!live) return '–';
  if (live.mode === 'live') return live.lines_per_sec.toFixed(1);
  return live.log_rate == null ? '–' : live.log_rate.toFixed(1) + ' ' + t('logTime');
}

const fmtInt = (v) => (v == null ? '–' : Math.round(v).toLocaleString('en-US'));
const fmtMs = (v) => (v == null ? '–' : (v >= 10 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)) + ' ms');
const fmtPct = (v) => (v == null ? '–' : (v * 100).toFixed(1) + '%');
const fmtShare = (v) => (v > 0 && v < 0.001 ? '<0.1%' : fmtPct(v));
function fmtBytes(v) {
  if (v == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}
const fmtTime = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
// An RFC 3339 time as "2015-05-17 10:05" (UTC).
function fmtStamp(iso) {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? '–' : fmtTime(ms).slice(0, 16);
}

// A table cell. `raw`, when given, is what a CSV download holds instead of the shown text
// (the plain number behind "1.2 MiB" or "3,166").
function cell(text, cls, raw) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  if (raw !== undefined) td.dataset.v = raw == null ? '' : String(raw);
  return td;
}

function setText(id, value) {
  $(id).textContent = value;
}

function renderCards(s) {
  setText('c-total', fmtInt(s.requests));
  setText('c-rate', rateText(s));
  setText('c-avg', fmtMs(s.response_time_ms && s.response_time_ms.avg));
  setText('c-p95', fmtMs(s.response_time_ms && s.response_time_ms.p95));
  setText('c-success', fmtPct(s.success_rate));
  setText('c-4xx', fmtPct(s.error_rate_4xx));
  setText('c-5xx', fmtPct(s.error_rate_5xx));
  setText('c-visitors', fmtInt(s.unique_visitors));
  setText('period', s.period ? `${fmtTime(s.period.first_ms)} – ${fmtTime(s.period.last_ms)} UTC` : '');
}

function chart(id, config) {
  if (!window.Chart) return null;
  if (!ui.charts[id]) {
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    ui.charts[id] = new window.Chart($(id), config);
  }
  return ui.charts[id];
}

function renderTimeCharts(rows) {
  const labels = rows.map((r) => fmtTime(r.t_ms).slice(5, 16));
  const c = chart('ch-time', {
    type: 'bar',
    data: { labels: [], datasets: CLASSES.map((k) => ({ label: k, data: [], backgroundColor: CLASS_COLORS[k], stack: 's' })) },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  if (c) {
    c.data.labels = labels;
    c.data.datasets.forEach((d) => { d.data = rows.map((r) => r.status_class[d.label] || 0); });
    c.update();
  }
  const series = [['p50', 'p50_ms', '#2e9d57'], ['p95', 'p95_ms', '#e0a030'], ['p99', 'p99_ms', '#d64545'], ['avg', 'avg_ms', '#3b7dd8']];
  const l = chart('ch-latency', {
    type: 'line',
    data: { labels: [], datasets: series.map(([label, , color]) => ({ label, data: [], borderColor: color, pointRadius: 0, spanGaps: true })) },
    options: { scales: { y: { beginAtZero: true } } },
  });
  if (l) {
    l.data.labels = labels;
    l.data.datasets.forEach((d, i) => { d.data = rows.map((r) => r[series[i][1]]); });
    l.update();
  }
}

function renderCharts(s) {
  const st = chart('ch-status', {
    type: 'doughnut',
    data: { labels: [], datasets: [{ data: [], backgroundColor: [] }] },
  });
  if (st) {
    const codes = Object.keys(s.status || {});
    st.data.labels = codes;
    st.data.datasets[0].data = codes.map((c) => s.status[c]);
    st.data.datasets[0].backgroundColor = codes.map((c) => CLASS_COLORS[c[0] + 'xx'] || '#999');
    st.update();
  }
  const h = chart('ch-hours', {
    type: 'bar',
    data: { labels: [], datasets: [{ label: t('requests'), data: [], backgroundColor: '#3b7dd8' }] },
    options: { plugins: { legend: { display: false } } },
  });
  if (h) {
    const hours = s.by_hour || [];
    h.data.datasets[0].label = t('requests');
    h.data.labels = hours.map((r) => String(r.hour));
    h.data.datasets[0].data = hours.map((r) => r.requests);
    h.update();
  }
  const top = filteredRoutes(s).slice(0, 12);
  const r = chart('ch-routes', {
    type: 'bar',
    data: {
      labels: [],
      datasets: [
        { label: t('requests'), data: [], backgroundColor: '#3b7dd8', yAxisID: 'y' },
        { label: t('avgMs'), data: [], backgroundColor: '#e0a030', yAxisID: 'y1' },
        { label: t('p90Ms'), data: [], backgroundColor: '#d64545', yAxisID: 'y1' },
      ],
    },
    options: { scales: { y: { beginAtZero: true, position: 'left' }, y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false } } } },
  });
  if (r) {
    r.data.datasets[0].label = t('requests');
    r.data.datasets[1].label = t('avgMs');
    r.data.datasets[2].label = t('p90Ms');
    r.data.labels = top.map((x) => x.route);
    r.data.datasets[0].data = top.map((x) => x.requests);
    r.data.datasets[1].data = top.map((x) => x.avg_ms);
    r.data.datasets[2].data = top.map((x) => x.p90_ms);
    r.update();
  }
}

const isClass = (st) => /^[1-5]xx$/i.test(st);

function filteredRoutes(s) {
  const q = $('route-filter').value.trim();
  const st = $('status-filter').value;
  return (s.routes || []).filter((r) => (!q || r.route.includes(q))
    && (st !== '4xx' || r.errors_4xx > 0) && (st !== '5xx' || r.errors_5xx > 0));
}

const SORTS = {
  route: (a, b) => a.route.localeCompare(b.route),
  requests: (a, b) => b.requests - a.requests,
  errors_4xx: (a, b) => b.errors_4xx - a.errors_4xx,
  errors_5xx: (a, b) => b.errors_5xx - a.errors_5xx,
  avg: (a, b) => (b.avg_ms ?? -1) - (a.avg_ms ?? -1),
  p90: (a, b) => (b.p90_ms ?? -1) - (a.p90_ms ?? -1),
  p99: (a, b) => (b.p99_ms ?? -1) - (a.p99_ms ?? -1),
  bytes: (a, b) => b.bytes - a.bytes,
};

function renderRoutes(s) {
  const rows = filteredRoutes(s).slice().sort(SORTS[ui.routeSort]).slice(0, 200);
  const body = $('t-routes').tBodies[0];
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    tr.append(cell(r.route, 'path'), cell(fmtInt(r.requests), 'n', r.requests), cell(fmtInt(r.errors_4xx), 'n', r.errors_4xx),
      cell(fmtInt(r.errors_5xx), 'n', r.errors_5xx), cell(fmtMs(r.avg_ms), 'n', r.avg_ms), cell(fmtMs(r.p90_ms), 'n', r.p90_ms),
      cell(fmtMs(r.p99_ms), 'n', r.p99_ms), cell(fmtBytes(r.bytes), 'n', r.bytes));
    return tr;
  }));
  document.querySelectorAll('#t-routes th[data-sort]').forEach((th) => {
    th.classList.toggle('sorted', th.dataset.sort === ui.routeSort);
  });
}

// An IPv4 address as a number, or null.
function ipv4(s) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s || '');
  if (!m) return null;
  const p = m.slice(1).map(Number);
  return p.some((x) => x > 255) ? null : ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3];
}

// Whether `client` is in the client filter `f` (an address, an IPv4 network, or a name);
// null when the page cannot tell (an IPv6 network).
function clientMatches(f, client) {
  if (!f.includes('/')) return client === f;
  const [net, bits] = f.split('/');
  const a = ipv4(net);
  const n = Number(bits);
  if (a == null || !Number.isInteger(n) || n < 0 || n > 32) return null;
  const b = ipv4(client);
  if (b == null) return false;
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(b / size);
}

// The samples (slowest, most recent) carry no browser or referrer: the page filters them by
// what they do carry.
function sampleFilter(r) {
  const f = activeFilters();
  const st = f.status;
  if (f.route && !r.path.includes(f.route)) return false;
  if (st && (isClass(st) ? String(r.status)[0] !== st[0] : String(r.status) !== st)) return false;
  if (f.host && r.host !== f.host) return false;
  if (f.path && !r.path.split('?')[0].startsWith(f.path)) return false;
  if (f.min_ms && !(r.response_ms != null && r.response_ms >= Number(f.min_ms))) return false;
  if (f.client && clientMatches(f.client, r.client) === false) return false;
  return true;
}

// The servers of a fleet: a table (a row click filters by it) and the filter's choices,
// shown once requests come from more than one.
function renderServers(s) {
  const hosts = s.hosts || [];
  const select = $('host-filter');
  const chosen = select.value;
  $('servers').hidden = hosts.length < 2 && !chosen;
  $('host-control').hidden = hosts.length < 2 && !chosen;
  const names = hosts.map((h) => h.host).filter((h) => h !== '(other)');
  if (chosen && !names.includes(chosen)) names.push(chosen);
  const have = Array.from(select.options).slice(1).map((o) => o.value);
  if (have.join('\n') !== names.join('\n')) {
    select.replaceChildren(select.options[0], ...names.map((n) => {
      const o = document.createElement('option');
      o.value = n;
      o.textContent = n;
      return o;
    }));
    select.value = chosen;
  }
  const body = $('t-servers').tBodies[0];
  body.replaceChildren(...hosts.map((h) => {
    const tr = document.createElement('tr');
    tr.dataset.host = h.host;
    tr.className = h.host === chosen ? 'chosen' : '';
    tr.append(cell(h.host, 'path'), cell(fmtInt(h.requests), 'n', h.requests), cell(fmtInt(h.errors_4xx), 'n', h.errors_4xx),
      cell(fmtInt(h.errors_5xx), 'n', h.errors_5xx), cell(fmtMs(h.avg_ms), 'n', h.avg_ms), cell(fmtMs(h.p90_ms), 'n', h.p90_ms),
      cell(fmtBytes(h.bytes), 'n', h.bytes));
    return tr;
  }));
}

function renderSamples(id, rows, last) {
  const body = $(id).tBodies[0];
  const fresh = new Set();
  body.replaceChildren(...(rows || []).filter(sampleFilter).map((r) => {
    const tr = document.createElement('tr');
    const key = r.ts_ms + ' ' + r.line;
    if (id === 't-recent' && !ui.seenRecent.has(key)) fresh.add(key);
    if (id === 't-recent' && fresh.has(key) && ui.seenRecent.size > 0) tr.className = 'fresh';
    tr.append(cell(fmtTime(r.ts_ms)), cell(r.method), cell(r.path, 'path'),
      cell(String(r.status), 'n s' + String(r.status)[0]), cell(r.response_ms == null ? '–' : fmtMs(r.response_ms), 'n', r.response_ms),
      cell(last(r), last === agentOf ? 'agent' : ''));
    return tr;
  }));
  if (id === 't-recent') (rows || []).forEach((r) => ui.seenRecent.add(r.ts_ms + ' ' + r.line));
  if (ui.seenRecent.size > 5000) ui.seenRecent.clear();
}

const agentOf = (r) => r.user_agent;
const clientOf = (r) => r.client;

// ---------------------------------------------------------------------------------------
// Panels (GoAccess-style breakdowns). Each table: where its rows come from, its columns, and
// — for the ones that drill down — the filter a row click sets and the row's value for it.
// A column: header (an I18N key, or a literal), whether it is numeric, the text shown, the
// raw value a CSV holds, and an optional bar (0–1) drawn behind the cell.

const share = (r, c) => (c.total ? r.requests / c.total : null);
const textCol = (h, get, extra = {}) => Object.assign({ h, text: (r) => String(get(r) ?? '–'), raw: get, name: true }, extra);
const intCol = (h, get) => ({ h, n: true, text: (r) => fmtInt(get(r)), raw: get });
const bytesCol = (h, get) => ({ h, n: true, text: (r) => fmtBytes(get(r)), raw: get });
const shareCol = { h: '%', n: true, text: (r, c) => fmtShare(share(r, c)), raw: (r, c) => { const v = share(r, c); return v == null ? null : (v * 100).toFixed(2); } };
const shareBar = (r, c) => share(r, c);
const nameCols = (h, field = 'name', label = (r) => r[field]) => [
  textCol(h, label, { raw: label, bar: shareBar }), intCol('requests', (r) => r.requests), shareCol,
];

const PANELS = [
  {
    id: 'visitors_by_day', title: 'visitorsByDay', tables: [{
      // The newest days first.
      rows: (s) => (s.visitors_by_day || []).slice(-15).reverse(),
      limit: 15,
      cols: [
        textCol('day', (r) => r.day, { bar: (r, c) => (c.max ? r.visitors / c.max : 0) }),
        intCol('visitorsCol', (r) => r.visitors), intCol('requests', (r) => r.requests), bytesCol('bytes', (r) => r.bytes),
      ],
      context: (rows) => ({ max: Math.max(0, ...rows.map((r) => r.visitors || 0)) }),
    }],
  },
  { id: 'browsers', title: 'browsers', tables: [{ rows: (s) => s.browsers, filter: 'browser', value: (r) => r.name,
    cols: [...nameCols('browser'), intCol('visitorsCol', (r) => r.visitors)] }] },
  { id: 'os', title: 'osPanel', tables: [{ rows: (s) => s.os, filter: 'os', value: (r) => r.name,
    cols: [...nameCols('os'), intCol('visitorsCol', (r) => r.visitors)] }] },
  { id: 'devices', title: 'devices', tables: [{ rows: (s) => s.devices, filter: 'device', value: (r) => r.name,
    cols: [...nameCols('device', 'name', (r) => deviceName(r.name)), intCol('visitorsCol', (r) => r.visitors)] }] },
  { id: 'crawlers', title: 'crawlers', tables: [{ rows: (s) => s.crawlers,
    cols: [...nameCols('crawler'), intCol('visitorsCol', (r) => r.visitors)] }] },
  // With --geoip-db only (the lists are empty without).
  { id: 'countries', title: 'countriesPanel', tables: [{ rows: (s) => s.countries, filter: 'country', value: (r) => r.code,
    cols: [...nameCols('country', 'name', (r) => r.code + ' ' + r.name), intCol('visitorsCol', (r) => r.visitors)] }] },
  { id: 'asns', title: 'networks', tables: [{ rows: (s) => s.asns,
    cols: nameCols('network', 'org', (r) => 'AS' + r.asn + ' ' + r.org) }] },
  { id: 'referring_sites', title: 'refSites', tables: [{ rows: (s) => s.referring_sites, filter: 'referer', value: (r) => r.site,
    cols: nameCols('site', 'site') }] },
  { id: 'referrers', title: 'refPages', tables: [{ rows: (s) => s.referrers, cols: nameCols('page', 'url') }] },
  { id: 'not_found', title: 'notFound', tables: [{ rows: (s) => s.not_found, filter: 'path', value: (r) => r.path,
    cols: [textCol('path', (r) => r.path, { cls: 'mono' }), intCol('requests', (r) => r.requests), intCol('clientsCol', (r) => r.clients)] }] },
  { id: 'static', title: 'staticFiles', note: staticNote, tables: [{ rows: (s) => s.static && s.static.top, filter: 'path', value: (r) => r.path,
    cols: [textCol('path', (r) => r.path, { cls: 'mono', bar: (r, c) => (c.max ? r.requests / c.max : 0) }), intCol('requests', (r) => r.requests), bytesCol('bytes', (r) => r.bytes)],
    context: (rows) => ({ max: Math.max(0, ...rows.map((r) => r.requests || 0)) }) }] },
  { id: 'clients', title: 'topClients', wide: true, tables: [{ rows: (s) => s.clients, filter: 'client', value: (r) => r.client,
    cols: [
      textCol('client', (r) => r.client, { cls: 'mono', bar: shareBar }), intCol('requests', (r) => r.requests), shareCol,
      intCol('404', (r) => r.not_found), intCol('4xx', (r) => r.errors_4xx), intCol('5xx', (r) => r.errors_5xx),
      bytesCol('bytes', (r) => r.bytes),
      { h: 'firstSeen', n: true, text: (r) => fmtStamp(r.first), raw: (r) => r.first },
      { h: 'lastSeen', n: true, text: (r) => fmtStamp(r.last), raw: (r) => r.last },
    ] }] },
  // From formats that log them (the lists are empty otherwise).
  { id: 'remote_users', title: 'remoteUsers', tables: [{ rows: (s) => s.remote_users, cols: nameCols('user') }] },
  { id: 'cache_status', title: 'cacheStatus', tables: [{ rows: (s) => s.cache_status, cols: nameCols('cacheStatus') }] },
  { id: 'mime_types', title: 'mimeTypes', tables: [{ rows: (s) => s.mime_types, cols: nameCols('mimeTypes') }] },
  { id: 'tls', title: 'tlsPanel', tables: [{ rows: (s) => s.tls, cols: nameCols('tlsCol') }] },
  { id: 'methods', title: 'methodsProtocols', tables: [
    { name: 'methods', sub: 'methods', rows: (s) => s.methods, cols: nameCols('method') },
    { name: 'protocols', sub: 'protocols', rows: (s) => s.protocols, cols: nameCols('protocol') },
  ] },
];

function deviceName(d) {
  return DEVICES.includes(d) ? t('dev_' + d) : d;
}

function staticNote(s) {
  const st = s.static;
  const dy = s.dynamic;
  if (!st || !dy || !s.requests) return '';
  const part = (label, x) => `${t(label)} ${fmtInt(x.requests)} (${fmtShare(x.requests / s.requests)}) · ${fmtBytes(x.bytes)}`;
  return part('staticReq', st) + ' — ' + part('dynamicReq', dy);
}

const tableId = (name) => 't-' + name.replace(/_/g, '-');

function csvButton(table, name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'csv';
  b.textContent = 'CSV';
  b.dataset.table = table;
  b.dataset.name = name;
  b.dataset.i18nTitle = 'csvTitle';
  return b;
}

function headed(tag, key, table, name) {
  const head = document.createElement('div');
  head.className = 'ph';
  const h = document.createElement(tag);
  h.dataset.i18n = key;
  h.textContent = t(key);
  const more = document.createElement('span');
  more.className = 'muted more';
  more.id = 'more-' + name;
  head.append(h, more, csvButton(table, name));
  return head;
}

// The panels' boxes, tables and headers, made once.
function buildPanels() {
  const section = $('panels');
  section.replaceChildren(...PANELS.map((p) => {
    const box = document.createElement('div');
    box.className = 'box panel' + (p.wide ? ' wide2' : '');
    box.id = 'p-' + p.id.replace(/_/g, '-');
    box.hidden = true;
    const single = p.tables.length === 1;
    if (single) {
      box.append(headed('h2', p.title, tableId(p.id), p.id));
    } else {
      const h = document.createElement('h2');
      h.dataset.i18n = p.title;
      box.append(h);
    }
    if (p.note) {
      const note = document.createElement('p');
      note.className = 'muted note';
      box.append(note);
    }
    p.tables.forEach((spec) => {
      const name = spec.name || p.id;
      if (!single) box.append(headed('h3', spec.sub, tableId(name), name));
      const table = document.createElement('table');
      table.id = tableId(name);
      table.className = 'panel-table';
      if (spec.filter) table.dataset.filter = spec.filter;
      const tr = document.createElement('tr');
      spec.cols.forEach((c) => {
        const th = document.createElement('th');
        if (c.n) th.className = 'n';
        if (I18N.en[c.h]) th.dataset.i18n = c.h;
        th.textContent = t(c.h);
        tr.append(th);
      });
      table.createTHead().append(tr);
      table.createTBody();
      const scroll = document.createElement('div');
      scroll.className = 'scroll';
      scroll.append(table);
      box.append(scroll);
    });
    return box;
  }));
}

function renderPanels(view) {
  let any = false;
  PANELS.forEach((p) => {
    const box = $('p-' + p.id.replace(/_/g, '-'));
    let shown = 0;
    p.tables.forEach((spec) => {
      const name = spec.name || p.id;
      const all = spec.rows(view) || [];
      const rows = all.slice(0, spec.limit || PANEL_ROWS);
      shown += rows.length;
      const ctx = Object.assign({ total: view.requests || 0 }, spec.context ? spec.context(rows) : {});
      const chosen = spec.filter ? ui.drill[spec.filter] : undefined;
      const data = rows.map((r) => {
        const pick = spec.filter && spec.value(r) !== '(other)' && spec.value(r) != null ? String(spec.value(r)) : null;
        return {
          pick,
          chosen: pick != null && pick === chosen,
          cells: spec.cols.map((c) => {
            const bar = c.bar ? c.bar(r, ctx) : null;
            const raw = c.raw ? c.raw(r, ctx) : undefined;
            return { text: c.text(r, ctx), raw: raw === undefined ? undefined : raw, n: !!c.n, name: !!c.name || !!c.cls, cls: c.cls || '', bar: bar == null ? null : Math.max(0, Math.min(1, bar)) };
          }),
        };
      });
      fillTable($(tableId(name)), data);
      const more = $('more-' + name);
      if (more) more.textContent = all.length > rows.length ? t('topOf').replace('{n}', rows.length).replace('{m}', all.length) : '';
    });
    if (p.note) box.querySelector('.note').textContent = p.note(view);
    box.hidden = shown === 0;
    any = any || shown > 0;
  });
  $('panels').hidden = !any;
}

// Replaces a table's rows, unless they are the same as already shown (so that a row keeps
// its focus and hover between snapshots).
const shownRows = new WeakMap();
function fillTable(table, data) {
  const sig = JSON.stringify(data) + ui.lang;
  if (shownRows.get(table) === sig) return;
  shownRows.set(table, sig);
  table.tBodies[0].replaceChildren(...data.map((d) => {
    const tr = document.createElement('tr');
    if (d.pick != null) {
      tr.dataset.pick = d.pick;
      tr.className = 'pick' + (d.chosen ? ' chosen' : '');
      tr.tabIndex = 0;
      tr.title = t('filterBy');
    }
    d.cells.forEach((c) => {
      const td = cell(c.text, [c.n ? 'n' : '', c.name ? 'name' : '', c.cls].filter(Boolean).join(' '), c.raw);
      if (c.name) td.title = c.text;
      if (c.bar != null) {
        td.classList.add('bar');
        td.style.setProperty('--w', (c.bar * 100).toFixed(1) + '%');
      }
      tr.append(td);
    });
    return tr;
  }));
}

// ---------------------------------------------------------------------------------------
// CSV downloads: exactly the rows a table shows, with its header line (RFC 4180). A cell a
// spreadsheet would read as a formula gets a leading ' (paths and agents come from anyone).

function csvField(v) {
  let s = v == null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

function tableCsv(table) {
  const head = Array.from(table.tHead.rows[0].cells, (th) => th.textContent.trim());
  const rows = Array.from(table.tBodies[0].rows, (tr) => Array.from(tr.cells, (td) => (td.dataset.v !== undefined ? td.dataset.v : td.textContent)));
  return [head, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function downloadCsv(table, name) {
  const url = URL.createObjectURL(new Blob([tableCsv(table)], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name + '.csv';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------

function renderReport(s) {
  const list = $('insights');
  const insights = s.insights || [];
  list.replaceChildren(...(insights.length ? insights : [{ message: t('noData'), severity: 'info' }]).map((i) => {
    const li = document.createElement('li');
    li.className = i.severity;
    if (i.kind) li.dataset.kind = i.kind;
    if (i.window) {
      const when = document.createElement('span');
      when.className = 'when';
      const w = i.window;
      const replaying = s.live && s.live.mode !== 'live';
      when.textContent = w.end_ms == null
        ? t(replaying ? 'openAtEnd' : 'ongoing') + ' ' + fmtTime(w.start_ms)
        : fmtTime(w.start_ms) + ' – ' + fmtTime(w.end_ms).slice(11) + ' (' + t('resolved') + ')';
      li.append(when, document.createTextNode(' '));
    }
    li.append(document.createTextNode(i.message));
    if (i.advice) {
      li.append(document.createElement('br'), document.createTextNode('→ ' + i.advice));
    }
    return li;
  }));
  renderLlm(s.llm);
  const box = $('prompts');
  box.replaceChildren(...(s.prompts || []).map((p) => {
    const div = document.createElement('div');
    div.className = 'prompt';
    div.dataset.prompt = p.id;
    const h = document.createElement('h3');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = t('copy');
    button.addEventListener('click', () => copy(p.text, button));
    h.append(document.createTextNode(p.title), button);
    const pre = document.createElement('pre');
    pre.textContent = p.text;
    div.append(h, pre);
    return div;
  }));
}

// The LLM's answer, when an endpoint is configured; always marked as machine-written.
function renderLlm(l) {
  const box = $('llm');
  box.hidden = !l;
  if (!l) return;
  const h = document.createElement('h3');
  h.textContent = t('machine');
  const by = document.createElement('p');
  by.className = 'machine';
  by.textContent = t('machineBy') + ' ' + l.model + (l.answered_ms ? ', ' + fmtTime(l.answered_ms) : '');
  const pre = document.createElement('pre');
  pre.textContent = l.answer || t('noAnswer');
  box.replaceChildren(h, by, pre);
  if (l.last_error) {
    const e = document.createElement('p');
    e.className = 'muted';
    e.textContent = t('lastError') + ': ' + l.last_error;
    box.append(e);
  }
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) {
    const range = document.createRange();
    range.selectNodeContents(button.parentElement.nextElementSibling);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    document.execCommand('copy');
  }
  button.textContent = t('copied');
  setTimeout(() => { button.textContent = t('copy'); }, 1500);
}

// ---------------------------------------------------------------------------------------
// Filters: the header's controls and the panels' drill-downs. The server counts the matching
// requests (GET /api/summary?…, all filters combined with AND); the page's URL keeps them.

// A positive number of milliseconds as typed, or ''.
function minMsValue() {
  const v = $('min-ms').value.trim();
  const n = Number(v);
  return v !== '' && Number.isFinite(n) && n > 0 ? String(n) : '';
}

function activeFilters() {
  const f = {
    route: $('route-filter').value.trim(),
    status: $('status-filter').value,
    host: $('host-filter').value,
    min_ms: minMsValue(),
    // The fleet's view: every instance's requests, from ClickHouse (only offered with it).
    scope: $('fleet').checked ? 'fleet' : '',
  };
  DRILL_KEYS.forEach((k) => { f[k] = ui.drill[k] || ''; });
  return f;
}

function filterParams() {
  const p = new URLSearchParams();
  const f = activeFilters();
  FILTER_KEYS.forEach((k) => { if (f[k]) p.set(k, f[k]); });
  return p;
}

// What the page's URL holds: the filters and a range other than the default.
function urlParams() {
  const p = filterParams();
  const range = $('range').value;
  if (range !== DEFAULT_RANGE) p.set('range', range);
  return p;
}

// A select's value, adding the choice when it is not there yet (a server not seen yet, a
// status code).
function choose(select, value) {
  if (value && !Array.from(select.options).some((o) => o.value === value)) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = value;
    select.append(o);
  }
  select.value = value;
}

const clip = (v) => Array.from(v.trim()).slice(0, MAX_VALUE).join('');

// Reads the filters and the range from the URL's query: known keys only, values clipped.
function readUrl() {
  const q = new URLSearchParams(location.search);
  const get = (k) => clip(q.get(k) || '');
  $('route-filter').value = get('route');
  const status = get('status');
  choose($('status-filter'), /^[1-5]xx$/.test(status) || /^[1-5]\d\d$/.test(status) ? status : '');
  choose($('host-filter'), get('host'));
  const ms = Number(get('min_ms'));
  $('min-ms').value = get('min_ms') && Number.isFinite(ms) && ms > 0 ? String(ms) : '';
  $('fleet').checked = get('scope') === 'fleet';
  const range = get('range');
  $('range').value = Array.from($('range').options).some((o) => o.value === range) ? range : DEFAULT_RANGE;
  ui.drill = {};
  DRILL_KEYS.forEach((k) => {
    const v = get(k);
    if (v && (k !== 'device' || DEVICES.includes(v))) ui.drill[k] = v;
  });
}

// Puts the filters in the URL: a new history entry for each change, except while one types
// into a field (the first key makes the entry, the next ones update it).
function syncUrl(mode) {
  const qs = urlParams().toString();
  const url = location.pathname + (qs ? '?' + qs : '') + location.hash;
  if (url === location.pathname + location.search + location.hash) return;
  if (mode === 'replace') history.replaceState(null, '', url);
  else history.pushState(null, '', url);
}

function changed(mode = 'push') {
  if (mode === 'typing') {
    const now = Date.now();
    syncUrl(now < ui.typingUntil ? 'replace' : 'push');
    ui.typingUntil = now + 1500;
  } else {
    ui.typingUntil = 0;
    syncUrl(mode);
  }
  rerender();
}

function clearFilter(key) {
  if (DRILL_KEYS.includes(key)) delete ui.drill[key];
  else if (key === 'route') $('route-filter').value = '';
  else if (key === 'status') $('status-filter').value = '';
  else if (key === 'host') $('host-filter').value = '';
  else if (key === 'min_ms') $('min-ms').value = '';
  else if (key === 'scope') $('fleet').checked = false;
}

function toggleDrill(key, value) {
  if (ui.drill[key] === value) delete ui.drill[key];
  else ui.drill[key] = clip(value);
  changed();
}

function chipText(key, value) {
  if (key === 'device') return deviceName(value);
  if (key === 'min_ms') return '≥ ' + value + ' ms';
  if (key === 'scope') return t('fleetAll');
  return value;
}

// The active filters as chips, each with an ✕ that removes it.
function renderChips() {
  const f = activeFilters();
  const keys = FILTER_KEYS.filter((k) => f[k]);
  const box = $('filters');
  box.hidden = keys.length === 0;
  const list = $('chips');
  const chips = keys.map((k) => {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.dataset.filter = k;
    const label = document.createElement('span');
    label.className = 'chip-key';
    label.textContent = t(FILTER_LABELS[k]);
    const value = document.createElement('span');
    value.className = 'chip-value';
    value.textContent = chipText(k, f[k]);
    value.title = f[k];
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'chip-x';
    x.textContent = '✕';
    x.title = t('removeFilter');
    x.setAttribute('aria-label', t('removeFilter') + ': ' + t(FILTER_LABELS[k]));
    x.addEventListener('click', () => { clearFilter(k); changed(); });
    chip.append(label, value, x);
    return chip;
  });
  if (keys.length > 1) {
    const all = document.createElement('button');
    all.type = 'button';
    all.className = 'chip-clear';
    all.textContent = t('clearAll');
    all.addEventListener('click', () => { keys.forEach(clearFilter); changed(); });
    chips.push(all);
  }
  list.replaceChildren(...chips);
  const f2 = activeFilters();
  const partial = f2.browser || f2.os || f2.device || f2.referer || f2.country || (f2.client && clientMatches(f2.client, '') === null);
  $('samples-note').hidden = !partial;
}

// Under the chips: how the filtered figures were counted, or why there are none.
function renderFilterNote(view, filtering) {
  const note = $('filter-note');
  note.classList.toggle('error', !!ui.filterError);
  if (!filtering) {
    note.textContent = '';
  } else if (ui.filterError) {
    note.textContent = t('filterFailed') + ': ' + ui.filterError;
  } else if (!ui.filtered) {
    note.textContent = t('loading');
  } else {
    const from = view.filter && view.filter.window_from_ms;
    const first = ui.summary && ui.summary.period && ui.summary.period.first_ms;
    note.textContent = from && first && from > first ? t('filterWindow') + ' ' + fmtTime(from) + ' UTC' : '';
  }
}

async function refreshFiltered(force) {
  const params = filterParams();
  if (!params.toString()) {
    ui.filtered = null;
    ui.filterError = null;
    return;
  }
  const now = Date.now();
  if (!force && now - ui.lastFiltered < 1000) return;
  ui.lastFiltered = now;
  try {
    const res = await fetch('/api/summary?' + params);
    if (filterParams().toString() !== params.toString()) return;
    if (!res.ok) {
      let why = res.status + ' ' + res.statusText;
      try { why = (await res.json()).error || why; } catch (_) { /* not JSON */ }
      if (filterParams().toString() !== params.toString()) return;
      ui.filterError = String(why);
      renderView();
      return;
    }
    const view = await res.json();
    if (filterParams().toString() !== params.toString()) return;
    ui.filtered = view;
    ui.filterError = null;
    renderView();
  } catch (_) { /* the next snapshot retries */ }
}

async function refreshSeries(force) {
  const now = Date.now();
  if (!force && now - ui.lastSeries < 1000) return;
  ui.lastSeries = now;
  try {
    const params = filterParams();
    params.set('range', $('range').value);
    const res = await fetch('/api/timeseries?' + params);
    if (res.ok) renderTimeCharts(await res.json());
  } catch (_) { /* the next snapshot retries */ }
}

// Cards, charts and the routes table: the whole summary, or the filtered view.
function renderNumbers(view) {
  renderCards(view);
  if (ui.summary && ui.summary.live) setText('c-rate', rateText(ui.summary));
  renderCharts(view);
  renderRoutes(view);
}

// Everything a filter changes: the filtered view once it has come, else the whole summary
// (dimmed while the filtered one is on its way).
function renderView() {
  const filtering = filterParams().toString() !== '';
  const view = filtering && ui.filtered ? ui.filtered : ui.summary;
  document.body.classList.toggle('pending', filtering && !ui.filtered);
  renderFilterNote(view || {}, filtering);
  if (!view) return;
  renderNumbers(view);
  renderPanels(view);
  // The fleet's servers come with the fleet's view.
  if (activeFilters().scope && ui.filtered) renderServers(ui.filtered);
}

function render(s) {
  ui.summary = s;
  const filtering = filterParams().toString() !== '';
  renderView();
  if (filtering) refreshFiltered(false);
  if (!activeFilters().scope) renderServers(s);
  renderSamples('t-slow', s.slowest, clientOf);
  renderSamples('t-recent', s.recent, agentOf);
  renderReport(s);
  refreshSeries(false);
  document.body.dataset.generation = String(s.live ? s.live.generation : 0);
}

function rerender() {
  ui.filtered = null;
  ui.filterError = null;
  // The forced fetches below stand for the ones a render would start.
  ui.lastFiltered = Date.now();
  ui.lastSeries = Date.now();
  renderChips();
  if (ui.summary) render(ui.summary);
  else renderView();
  refreshFiltered(true);
  refreshSeries(true);
}

// The ClickHouse sink's state: while the server is away, the page says that history is
// unavailable and how much waits in the disk queue.
async function pollStore() {
  try {
    const res = await fetch('/api/store');
    const ch = res.ok ? (await res.json()).clickhouse : null;
    const el = $('store');
    el.hidden = !ch || ch.available !== false;
    // With ClickHouse the page can show every instance's requests (or when the URL asks).
    $('scope-control').hidden = !ch && !$('fleet').checked;
    if (ch && ch.available === false) el.textContent = t('historyDown') + ' ' + fmtBytes(ch.queued_bytes);
  } catch (_) { /* the connection badge says the server is away */ }
}

// The event stream, in the page's language: the server writes the insights and prompts in
// it (it starts doing so when a page asks, so the first event may still be in the run's).
function connect() {
  if (ui.es) ui.es.close();
  const es = new EventSource('/api/stream?lang=' + ui.lang);
  ui.es = es;
  es.addEventListener('snapshot', (e) => {
    render(JSON.parse(e.data));
    setConn('live');
  });
  es.addEventListener('open', () => setConn('live'));
  es.addEventListener('error', () => setConn('reconnecting'));
}

function init() {
  pollStore();
  setInterval(pollStore, 10000);
  const theme = localStorage.getItem('tp-theme');
  if (theme) document.documentElement.dataset.theme = theme;
  $('theme').addEventListener('click', () => {
    const dark = getComputedStyle(document.documentElement).getPropertyValue('--bg').trim() === '#15181d';
    document.documentElement.dataset.theme = dark ? 'light' : 'dark';
    localStorage.setItem('tp-theme', document.documentElement.dataset.theme);
  });
  $('lang').addEventListener('click', () => {
    ui.lang = ui.lang === 'en' ? 'ko' : 'en';
    localStorage.setItem('tp-lang', ui.lang);
    applyI18n();
    rerender();
    connect();
  });
  buildPanels();
  document.querySelectorAll('#t-routes th[data-sort]').forEach((th) => {
    th.addEventListener('click', () => { ui.routeSort = th.dataset.sort; rerender(); });
  });
  ['range', 'status-filter', 'host-filter', 'fleet'].forEach((id) => $(id).addEventListener('change', () => changed()));
  $('t-servers').addEventListener('click', (e) => {
    const row = e.target.closest('tr[data-host]');
    if (!row || row.dataset.host === '(other)') return;
    const select = $('host-filter');
    select.value = select.value === row.dataset.host ? '' : row.dataset.host;
    changed();
  });
  // A click on a panel's row (or Enter / Space on it) sets its filter, or clears it.
  const pick = (e) => {
    const row = e.target.closest('tr[data-pick]');
    const table = row && row.closest('table[data-filter]');
    if (!table) return;
    e.preventDefault();
    toggleDrill(table.dataset.filter, row.dataset.pick);
  };
  $('panels').addEventListener('click', pick);
  $('panels').addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') pick(e); });
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button.csv');
    if (b) downloadCsv($(b.dataset.table), b.dataset.name);
  });
  $('route-filter').addEventListener('input', () => changed('typing'));
  $('min-ms').addEventListener('input', () => changed('typing'));
  ['route-filter', 'min-ms'].forEach((id) => $(id).addEventListener('change', () => { ui.typingUntil = 0; }));
  window.addEventListener('popstate', () => {
    readUrl();
    ui.typingUntil = 0;
    rerender();
  });
  readUrl();
  syncUrl('replace');
  applyI18n();
  renderChips();
  setConn('connecting');
  connect();
  refreshFiltered(true);
}

document.addEventListener('DOMContentLoaded', init);
