// The console's benchmark (not a test): first-load transferred size and the
// time to render the first dashboard from cached answers. Run by
// scripts/console-bench; environment DPQL_URL, DPQL_TOKEN, CHROMIUM, RUNS.
import { chromium } from 'playwright-core';

const base = process.env.DPQL_URL;
const token = process.env.DPQL_TOKEN;
const runs = Number(process.env.RUNS || 5);
if (!base || !token) throw new Error('bench.mjs: set DPQL_URL and DPQL_TOKEN (scripts/console-bench does)');

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
await page.goto(base + '/');
await page.locator('#token').fill(token);
await page.locator('#signin button[type=submit]').click();
await page.locator('#nav-dashboards').waitFor();
await page.locator('#editor[data-ready="true"]').waitFor(); // the query page, editor chunk included
// First load: the page and every asset it fetched (the editor's chunk too), as
// bytes on the wire (encodedBodySize: compressed when the server compressed).
const loaded = await page.evaluate(() => [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]
  .filter((e) => e.entryType === 'navigation' || new URL(e.name).pathname.startsWith('/assets/'))
  .map((e) => ({ path: new URL(e.name).pathname, wire: e.encodedBodySize, plain: e.decodedBodySize })));
let wire = 0, plain = 0;
console.log('First load of the console (sign-in, then the query page), bytes on the wire:');
for (const e of loaded) { wire += e.wire; plain += e.plain; console.log(`  ${e.path}  ${e.wire} bytes (${e.plain} decoded)`); }
console.log(`console first-load transferred: ${(wire / 1024).toFixed(1)} KB compressed (${(plain / 1024).toFixed(1)} KB uncompressed); target <= 300 KB: ${wire <= 300 * 1024 ? 'met' : 'NOT met'}`);
await page.goto(base + '/#/dashboards');
const dash = page.locator('#dashboard');
await page.locator('#dashboard[data-pricing="done"]').waitFor({ timeout: 60000 });
if (!/free/.test(await page.locator('#total-cost').textContent())) {
  const cost = await page.locator('#total-cost').textContent();
  console.log(`Warming the cache: one refresh of the dashboard (${cost})`);
  await page.locator('#refresh').click();
}
await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 120000 });
const panels = await page.locator('.panel').count();
const times = [];
for (let i = 0; i < runs; i++) {
  await page.goto('about:blank');
  await page.goto(base + '/#/dashboards');
  await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 60000 });
  const cached = await page.locator('.panel[data-cached="true"]').count();
  if (cached !== panels) throw new Error(`only ${cached} of ${panels} panels came from the cache`);
  times.push(await page.evaluate(() => performance.getEntriesByName('dpql-dashboard-rendered').at(-1).startTime));
  if (process.env.DPQL_BENCH_DETAIL) {
    console.log(await page.evaluate(() => performance.getEntriesByType('resource').map((e) => `${e.name.replace(location.origin, '')} ${e.startTime.toFixed(0)}-${e.responseEnd.toFixed(0)}`).join('\n')));
  }
}
await browser.close();
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`dashboard (${panels} panels) rendered from cached answers, page load to last chart drawn: median ${(median / 1000).toFixed(3)} s over ${runs} loads (min ${(times[0] / 1000).toFixed(3)} s, max ${(times.at(-1) / 1000).toFixed(3)} s); target < 1 s: ${median < 1000 ? 'met' : 'NOT met'}`);
