// Screenshot of a running dashboard for the README:
//   node scripts/screenshot.mjs http://127.0.0.1:5000/ docs/dashboard.png
// writes the top of the page there, the report's findings next to it (…-insights.png) and the
// panels (…-panels.png).
// Uses Debian's chromium through playwright-core (npm ci installs it).
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:5000/', out = 'docs/dashboard.png'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
  await page.goto(url);
  await page.waitForFunction(() => Number(document.body.dataset.generation || 0) > 1, null, { timeout: 30_000 });
  await page.selectOption('#range', '6h');
  await page.waitForTimeout(1500); // let the charts finish their animation
  await page.screenshot({ path: out });
  await page.locator('#insights').screenshot({ path: out.replace(/\.png$/, '-insights.png') });
  await page.locator('#panels').screenshot({ path: out.replace(/\.png$/, '-panels.png') });
} finally {
  await browser.close();
}
