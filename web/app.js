// tailpulse dashboard: renders the live summary pushed over Server-Sent Events.
// Everything shown comes from log lines, which are attacker-controlled: it is inserted as
// text (textContent), never as markup.
'use strict';

const I18N = {
  en: {
    connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', range: 'Range', route: 'Route',
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
    openAtEnd: 'open at the end of the data, since',
    server: 'Server', servers: 'Servers',
  },
  ko: {
    connecting: '연결 중…', live: '실시간', reconnecting: '재연결 중…', range: '기간', route: '경로',
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
    openAtEnd: '데이터 끝까지 진행 중, 시작',
    server: '서버', servers: '서버별',
  },
};
const CLASS_COLORS = { '1xx': '#8e8e8e', '2xx': '#2e9d57', '3xx': '#3b7dd8', '4xx': '#e0a030', '5xx': '#d64545' };
const CLASSES = Object.keys(CLASS_COLORS);

const $ = (id) => document.getElementById(id);
const ui = {
  lang: ['en', 'ko'].includes(localStorage.getItem('tp-lang')) ? localStorage.getItem('tp-lang') : 'en',
  routeSort: 'requests',
  summary: null,
  filtered: null,
  lastFiltered: 0,
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
  $('lang').textContent = ui.lang === 'en' ? '한국어' : 'English';
  setConn($('conn').dataset.state);
}

function setConn(state) {
  const el = $('conn');
  el.dataset.state = state;
  const live = ui.summary && ui.summary.live;
  if (state === 'live' && live && live.mode !== 'live') {
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
function fmtBytes(v) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}
const fmtTime = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
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
    const codes = Object.keys(s.status);
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
    h.data.datasets[0].label = t('requests');
    h.data.labels = s.by_hour.map((r) => String(r.hour));
    h.data.datasets[0].data = s.by_hour.map((r) => r.requests);
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

function filteredRoutes(s) {
  const q = $('route-filter').value.trim();
  const st = $('status-filter').value;
  return s.routes.filter((r) => (!q || r.route.includes(q))
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
    tr.append(cell(r.route, 'path'), cell(fmtInt(r.requests), 'n'), cell(fmtInt(r.errors_4xx), 'n'),
      cell(fmtInt(r.errors_5xx), 'n'), cell(fmtMs(r.avg_ms), 'n'), cell(fmtMs(r.p90_ms), 'n'),
      cell(fmtMs(r.p99_ms), 'n'), cell(fmtBytes(r.bytes), 'n'));
    return tr;
  }));
  document.querySelectorAll('#t-routes th[data-sort]').forEach((th) => {
    th.classList.toggle('sorted', th.dataset.sort === ui.routeSort);
  });
}

function sampleFilter(r) {
  const q = $('route-filter').value.trim();
  const st = $('status-filter').value;
  const host = $('host-filter').value;
  return (!q || r.path.includes(q)) && (!st || String(r.status)[0] === st[0])
    && (!host || r.host === host);
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
    tr.append(cell(h.host, 'path'), cell(fmtInt(h.requests), 'n'), cell(fmtInt(h.errors_4xx), 'n'),
      cell(fmtInt(h.errors_5xx), 'n'), cell(fmtMs(h.avg_ms), 'n'), cell(fmtMs(h.p90_ms), 'n'),
      cell(fmtBytes(h.bytes), 'n'));
    return tr;
  }));
}

function renderSamples(id, rows, last) {
  const body = $(id).tBodies[0];
  const fresh = new Set();
  body.replaceChildren(...rows.filter(sampleFilter).map((r) => {
    const tr = document.createElement('tr');
    const key = r.ts_ms + ' ' + r.line;
    if (id === 't-recent' && !ui.seenRecent.has(key)) fresh.add(key);
    if (id === 't-recent' && fresh.has(key) && ui.seenRecent.size > 0) tr.className = 'fresh';
    tr.append(cell(fmtTime(r.ts_ms)), cell(r.method), cell(r.path, 'path'),
      cell(String(r.status), 'n s' + String(r.status)[0]), cell(r.response_ms == null ? '–' : fmtMs(r.response_ms), 'n'),
      cell(last(r), last === agentOf ? 'agent' : ''));
    return tr;
  }));
  if (id === 't-recent') rows.forEach((r) => ui.seenRecent.add(r.ts_ms + ' ' + r.line));
  if (ui.seenRecent.size > 5000) ui.seenRecent.clear();
}

const agentOf = (r) => r.user_agent;
const clientOf = (r) => r.client;

function renderReport(s) {
  const list = $('insights');
  list.replaceChildren(...(s.insights.length ? s.insights : [{ message: t('noData'), severity: 'info' }]).map((i) => {
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
  box.replaceChildren(...s.prompts.map((p) => {
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

// Route and status filters: the server counts the matching requests (GET /api/summary?…).
function filterParams() {
  const p = new URLSearchParams();
  const route = $('route-filter').value.trim();
  const status = $('status-filter').value;
  const host = $('host-filter').value;
  if (route) p.set('route', route);
  if (status) p.set('status', status);
  if (host) p.set('host', host);
  return p;
}

async function refreshFiltered(force) {
  const params = filterParams();
  if (!params.toString()) {
    ui.filtered = null;
    return;
  }
  const now = Date.now();
  if (!force && now - ui.lastFiltered < 1000) return;
  ui.lastFiltered = now;
  try {
    const res = await fetch('/api/summary?' + params);
    if (!res.ok) return;
    const view = await res.json();
    if (filterParams().toString() !== params.toString()) return;
    ui.filtered = view;
    renderNumbers(view);
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

function render(s) {
  ui.summary = s;
  const filtering = filterParams().toString() !== '';
  renderNumbers(filtering && ui.filtered ? ui.filtered : s);
  if (filtering) refreshFiltered(false);
  renderServers(s);
  renderSamples('t-slow', s.slowest, clientOf);
  renderSamples('t-recent', s.recent, agentOf);
  renderReport(s);
  refreshSeries(false);
  document.body.dataset.generation = String(s.live ? s.live.generation : 0);
}

function rerender() {
  ui.filtered = null;
  if (ui.summary) render(ui.summary);
  refreshFiltered(true);
  refreshSeries(true);
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
  document.querySelectorAll('#t-routes th[data-sort]').forEach((th) => {
    th.addEventListener('click', () => { ui.routeSort = th.dataset.sort; rerender(); });
  });
  ['range', 'status-filter', 'host-filter'].forEach((id) => $(id).addEventListener('change', rerender));
  $('t-servers').addEventListener('click', (e) => {
    const row = e.target.closest('tr[data-host]');
    if (!row || row.dataset.host === '(other)') return;
    const select = $('host-filter');
    select.value = select.value === row.dataset.host ? '' : row.dataset.host;
    rerender();
  });
  $('route-filter').addEventListener('input', rerender);
  applyI18n();
  setConn('connecting');
  connect();
}

document.addEventListener('DOMContentLoaded', init);
