// End-to-end test of the dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): the page loads without console errors, the cards match /api/summary, the
// charts are drawn, an appended log line shows up within 2 s without a reload, and markup in
// log lines is shown as text and runs nothing.
//
// Run by `cargo test` (tests/browser.rs), which passes the binary in TAILPULSE_BIN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, appendFileSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BIN = process.env.TAILPULSE_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function clf(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function line(i, path = `/api/items/${i}`, status = 200, agent = 'Mozilla/5.0') {
  const t = new Date(Date.now() - (300 - i) * 1000);
  return `10.0.0.${i % 250} - - [${clf(t)}] "GET ${path} HTTP/1.1" ${status} ${100 + i} "-" "${agent}" 0.${String(10 + (i % 90)).padStart(3, '0')}\n`;
}

// Debian's Chromium, headless, with nothing that reaches the network.
function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

function startServer(log, dir, extra = []) {
  const child = spawn(BIN, ['run', log, '--port', '0', '--no-db', '--out-dir', dir, '--logs', join(dir, 'logs'), '--report-every', '1s', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/dashboard on (http:\/\/[^\s]+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`tailpulse exited with ${code}: ${out}`)));
  });
}

test('dashboard in a real browser', { timeout: 90_000 }, async () => {
  assert.ok(BIN, 'TAILPULSE_BIN is set');
  const dir = mkdtempSync(join(tmpdir(), 'tailpulse-browser-'));
  const log = join(dir, 'access.log');
  let text = '';
  for (let i = 0; i < 200; i += 1) text += line(i, `/api/items/${i}`, i % 17 === 0 ? 500 : i % 11 === 0 ? 404 : 200);
  writeFileSync(log, text);
  const { child, url } = await startServer(log, dir);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
    await page.goto(url);
    await page.waitForSelector('#conn[data-state="live"]');
    await page.waitForFunction(() => document.getElementById('c-total').textContent === '200');

    // The cards show what the API says.
    const summary = await (await fetch(url + 'api/summary')).json();
    const card = (id) => page.textContent('#' + id);
    assert.equal(await card('c-total'), summary.requests.toLocaleString('en-US'));
    assert.equal(await card('c-success'), (summary.success_rate * 100).toFixed(1) + '%');
    assert.equal(await card('c-5xx'), (summary.error_rate_5xx * 100).toFixed(1) + '%');
    assert.equal(await card('c-p95'), Math.round(summary.response_time_ms.p95) + ' ms');
    assert.equal(await card('c-visitors'), summary.unique_visitors.toLocaleString('en-US'));

    // Every chart exists and has data.
    await page.waitForFunction(() => window.Chart && ['ch-time', 'ch-status', 'ch-hours', 'ch-latency', 'ch-routes']
      .every((id) => { const c = window.Chart.getChart(id); return c && c.data.datasets.some((d) => d.data.some((v) => v > 0)); }));
    const routeRows = await page.$$eval('#t-routes tbody tr', (rows) => rows.length);
    assert.equal(routeRows, summary.routes.length);
    assert.equal(await page.$$eval('#prompts .prompt', (p) => p.length), 3);

    // A line appended to the followed file appears without a reload, within 2 s.
    appendFileSync(log, line(250, '/api/fresh-line'));
    await page.waitForFunction(() => document.getElementById('c-total').textContent === '201', null, { timeout: 2000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#t-recent td.path')].some((td) => td.textContent === '/api/fresh-line'), null, { timeout: 2000 });

    // Markup in a path and a user agent is shown as text and runs nothing.
    const evilPath = '/<script>window.__xss=1</script>';
    const evilAgent = '<img src=x onerror=window.__xss=2>';
    appendFileSync(log, line(251, evilPath, 404, evilAgent));
    await page.waitForFunction((p) => [...document.querySelectorAll('#t-recent td.path')].some((td) => td.textContent === p), evilPath, { timeout: 2000 });
    const agents = await page.$$eval('#t-recent td.agent', (tds) => tds.map((td) => td.textContent));
    assert.ok(agents.includes(evilAgent));
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval('main img, main script', (els) => els.length), 0);

    // A status filter: the cards count only the matching requests, as the API does.
    await page.selectOption('#status-filter', '5xx');
    const failed = await (await fetch(url + 'api/summary?status=5xx')).json();
    assert.ok(failed.requests > 0 && failed.requests < summary.requests);
    await page.waitForFunction((n) => document.getElementById('c-total').textContent === n, failed.requests.toLocaleString('en-US'), { timeout: 3000 });
    await page.selectOption('#status-filter', '');
    await page.waitForFunction(() => document.getElementById('c-total').textContent === '202', null, { timeout: 3000 });

    // Language switch.
    await page.click('#lang');
    assert.equal(await page.textContent('[data-i18n="total"]'), '총 요청 수');
    await page.click('#lang');

    if (process.env.TAILPULSE_SCREENSHOT) {
      await page.waitForTimeout(300);
      await page.screenshot({ path: process.env.TAILPULSE_SCREENSHOT, fullPage: false });
    }
    assert.deepEqual(problems, [], 'no console errors');
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
});

// The panels drill down: a click on a Browsers row filters the whole page by that browser
// (cards from /api/summary?browser=…), the URL keeps the filter, Back restores the unfiltered
// view, a shared URL opens the filtered one, and a panel's CSV holds the rows it shows.
test('panels, drill-down, URL state and CSV', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailpulse-panels-'));
  const log = join(dir, 'access.log');
  const agents = [
    ...Array(5).fill('Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'),
    ...Array(3).fill('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36'),
    'curl/8.5.0',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  ];
  let text = '';
  for (let i = 0; i < 200; i += 1) text += line(i, `/api/items/${i % 20}`, i % 13 === 0 ? 404 : 200, agents[i % agents.length]);
  writeFileSync(log, text);
  const { child, url } = await startServer(log, dir);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const problems = [];
    const summaries = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
    page.on('request', (r) => { if (r.url().includes('/api/summary?')) summaries.push(new URL(r.url()).searchParams); });
    await page.goto(url);
    await page.waitForSelector('#conn[data-state="live"]');
    await page.waitForFunction(() => document.getElementById('c-total').textContent === '200');
    const unfiltered = await page.textContent('#c-total');

    // The Browsers panel: its first (largest) row can be clicked.
    const row = page.locator('#p-browsers:not([hidden]) #t-browsers tbody tr[data-pick]').first();
    await row.waitFor();
    const name = await row.getAttribute('data-pick');
    assert.ok(name && name !== '(other)');
    const filtered = await (await fetch(url + 'api/summary?browser=' + encodeURIComponent(name))).json();
    assert.ok(filtered.requests > 0 && filtered.requests < 200, `${name}: ${filtered.requests} of 200`);

    await row.click();
    await page.waitForFunction((n) => new URLSearchParams(location.search).get('browser') === n, name);
    await page.waitForFunction((n) => document.getElementById('c-total').textContent === n, filtered.requests.toLocaleString('en-US'), { timeout: 3000 });
    assert.ok(summaries.some((p) => p.get('browser') === name), 'the filtered summary is asked with browser=…');
    assert.equal(await page.textContent('#chips .chip[data-filter="browser"] .chip-value'), name);
    assert.equal(Number((await page.textContent('#c-total')).replace(/,/g, '')) < Number(unfiltered.replace(/,/g, '')), true);

    // Back: no filter, the whole count again; Forward: filtered again.
    await page.goBack();
    await page.waitForFunction(() => location.search === '');
    await page.waitForFunction((n) => document.getElementById('c-total').textContent === n, unfiltered, { timeout: 3000 });
    assert.equal(await page.locator('#chips .chip').count(), 0);
    await page.goForward();
    await page.waitForFunction((n) => document.getElementById('c-total').textContent === n, filtered.requests.toLocaleString('en-US'), { timeout: 3000 });
    // Its chip's ✕ clears it.
    await page.click('#chips .chip[data-filter="browser"] .chip-x');
    await page.waitForFunction(() => location.search === '');
    await page.waitForFunction((n) => document.getElementById('c-total').textContent === n, unfiltered, { timeout: 3000 });

    // A shared URL opens the same view.
    const shared = await browser.newPage();
    await shared.goto(url + '?browser=' + encodeURIComponent(name));
    await shared.waitForFunction((n) => document.getElementById('c-total').textContent === n, filtered.requests.toLocaleString('en-US'), { timeout: 5000 });
    await shared.close();

    // The Browsers panel's CSV: a header line, then the rows shown.
    const shown = await page.$$eval('#t-browsers tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#p-browsers button.csv')]);
    assert.equal(download.suggestedFilename(), 'browsers.csv');
    const lines = readFileSync(await download.path(), 'utf8').replace(/\r\n$/, '').split('\r\n');
    assert.match(lines[0], /^Browser,Requests,/);
    assert.equal(lines.length, shown.length + 1);
    assert.equal(lines[1].split(',')[0], shown[0]);

    assert.deepEqual(problems, [], 'no console errors');
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
});

// A chat-completions endpoint whose answer carries markup, like a model repeating log lines.
function fakeLlm() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: 'Checkout failed <img src=x onerror="window.__llmPwned=1"> for four minutes.' } }] }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('detected incidents and the machine-written answer', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailpulse-browser-'));
  const log = join(dir, 'access.log');
  // 40 minutes ending now, one request a second; /api/pay fails half the time in minutes 25–28.
  let text = '';
  for (let i = 0; i < 2400; i += 1) {
    const t = new Date(Date.now() - (2400 - i) * 1000);
    const pay = i % 2 === 0;
    const minute = Math.floor(i / 60);
    const status = pay && minute >= 25 && minute < 29 && i % 4 === 0 ? 503 : 200;
    text += `10.0.0.${i % 250} - - [${clf(t)}] "POST ${pay ? '/api/pay' : '/api/items/7'} HTTP/1.1" ${status} 10 "-" "Mozilla/5.0" 0.020\n`;
  }
  writeFileSync(log, text);
  const llm = await fakeLlm();
  const config = join(dir, 'tailpulse.toml');
  writeFileSync(config, `[llm]\nbase_url = "http://127.0.0.1:${llm.address().port}/v1"\nmodel = "fixture"\n`);
  const { child, url } = await startServer(log, dir, ['--config', config]);
  const browser = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(url);
    const spike = page.locator('#insights li[data-kind="error_spike"]');
    await spike.waitFor({ timeout: 20_000 });
    assert.match(await spike.textContent(), /5xx spike on \/api\/pay/);
    assert.match(await spike.locator('.when').textContent(), /resolved/);
    await page.waitForFunction(() => !document.getElementById('llm').hidden && /Checkout failed/.test(document.getElementById('llm').textContent), null, { timeout: 20_000 });
    const answer = await page.locator('#llm pre').textContent();
    assert.ok(answer.includes('<img src=x onerror='), 'markup in the answer is shown as text');
    assert.equal(await page.locator('#llm img').count(), 0);
    assert.equal(await page.evaluate(() => window.__llmPwned), undefined);
    assert.match(await page.locator('#llm .machine').textContent(), /machine.*fixture/);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    llm.close();
  }
});

// The page in Korean is Korean — the report panel (written by the server in the page's
// language), the legends and the headers — and the HTML report fits a phone screen.
test('Korean page and a phone-sized HTML report', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailpulse-ko-'));
  const log = join(dir, 'access.log');
  let text = '';
  for (let i = 0; i < 300; i += 1) {
    const missing = i % 5 === 0;
    text += line(i, missing ? '/files/tool-1.1.0.jar' : `/blog/posts/a-long-slug-with-words-${i % 40}`, missing ? 404 : 200);
  }
  writeFileSync(log, text);
  const { child, url } = await startServer(log, dir);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    await page.addInitScript(() => localStorage.setItem('tp-lang', 'ko'));
    await page.goto(url);
    const hangul = /[\uac00-\ud7a3]/;
    await page.waitForFunction((re) => new RegExp(re).test(document.getElementById('insights').textContent), hangul.source, { timeout: 20_000 });
    assert.equal(await page.locator('[data-i18n="total"]').textContent(), '총 요청 수');
    const legend = await page.evaluate(() => window.Chart.getChart('ch-routes').data.datasets.map((d) => d.label));
    assert.deepEqual(legend, ['요청', '평균 ms', 'p90 ms']);
    assert.ok(hangul.test(await page.locator('#prompts').textContent()), 'the prompts are Korean too');
    if (process.env.TAILPULSE_SCREENSHOT_KO) {
      await page.screenshot({ path: process.env.TAILPULSE_SCREENSHOT_KO, fullPage: false });
    }
    const html = join(dir, 'report.html');
    const made = spawnSync(BIN, ['analyze', '--output', 'html', '--lang', 'ko', '--out', html, log]);
    assert.equal(made.status, 0, String(made.stderr));
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto('file://' + html);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `the report is ${width}px wide on a 390px screen`);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
});

// With [auth], the page asks for a login first; after it, the dashboard runs on a session
// cookie the page's scripts cannot read, and no secret is ever in a URL.
test('logging in through the page', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tailpulse-login-'));
  const log = join(dir, 'access.log');
  let text = '';
  // The last 50 seconds: live data.
  for (let i = 250; i < 300; i += 1) text += line(i);
  writeFileSync(log, text);
  const hashed = spawnSync(BIN, ['auth', 'password', '--name', 'ops'], { input: 'correct horse battery\n' });
  assert.equal(hashed.status, 0, String(hashed.stderr));
  const config = join(dir, 'tailpulse.toml');
  writeFileSync(config, String(hashed.stdout));
  const { child, url } = await startServer(log, dir, ['--config', config]);
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const urls = [];
    page.on('request', (r) => urls.push(r.url()));
    await page.goto(url);
    assert.match(page.url(), /\/login$/);
    await page.fill('input[name=user]', 'ops');
    await page.fill('input[name=password]', 'wrong password');
    await page.click('button[type=submit]');
    assert.match(await page.textContent('.login-error'), /Wrong name or password/);
    await page.fill('input[name=user]', 'ops');
    await page.fill('input[name=password]', 'correct horse battery');
    await page.click('button[type=submit]');
    await page.waitForSelector('#conn[data-state="live"]');
    await page.waitForFunction(() => document.getElementById('c-total').textContent === '50');
    const [cookie] = await context.cookies();
    assert.equal(cookie.name, 'tailpulse_session');
    assert.ok(cookie.httpOnly && cookie.sameSite === 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session');
    assert.ok(urls.every((u) => !u.includes('tp_') && !u.includes('password') && !u.includes(cookie.value)), urls.join('\n'));
    // Without the cookie, the API answers nothing.
    assert.equal((await fetch(url + 'api/summary')).status, 401);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
});
