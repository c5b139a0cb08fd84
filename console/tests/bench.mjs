// The console's benchmark (not a test): first-load transferred size and the
// time to render the first dashboard from cached answers. Run by
// scripts/console-bench; environment DPQL_URL, DPQL_TOKEN, CHROMIUM, RUNS.
import http from 'node:http';
import https from 'node:https';
import { chromium } from 'playwright-core';

const base = process.env.DPQL_URL;
const token = process.env.DPQL_TOKEN;
const runs = Number(process.env.RUNS || 5);
if (!base || !token) throw new Error('bench.mjs: set DPQL_URL and DPQL_TOKEN (scripts/console-bench does)');

// Bytes on the wire for one GET with Accept-Encoding: gzip (headers excluded).
function get(path) {
  return new Promise((resolve, reject) => {
    const mod = base.startsWith('https') ? https : http;
    mod.get(base + path, { headers: { 'Accept-Encoding': 'gzip' }, rejectUnauthorized: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, encoding: res.headers['content-encoding'] || 'identity', body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

const index = await get('/');
if (index.status !== 200) throw new Error(`GET / answered ${index.status}: is the console built and served (scripts/console-build)?`);
const { gunzipSync } = await import('node:zlib');
const html = (index.encoding === 'gzip' ? gunzipSync(index.body) : index.body).toString();
const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
let wire = index.body.length, plain = html.length;
const lines = [`  /  ${index.body.length} bytes (${index.encoding})`];
for (const a of assets) {
  const r = await get(a);
  const size = r.encoding === 'gzip' ? gunzipSync(r.body).length : r.body.length;
  wire += r.body.length; plain += size;
  lines.push(`  ${a}  ${r.body.length} bytes (${r.encoding}; ${size} uncompressed)`);
}
console.log('First load, transferred (response bodies, compressed where the server compresses):');
console.log(lines.join('\n'));
console.log(`console first-load transferred: ${(wire / 1024).toFixed(1)} KB compressed (${(plain / 1024).toFixed(1)} KB uncompressed); target <= 300 KB: ${wire <= 300 * 1024 ? 'met' : 'NOT met'}`);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
await page.goto(base + '/');
await page.locator('#token').fill(token);
await page.locator('#signin button[type=submit]').click();
await page.locator('#nav-dashboards').waitFor();
await page.goto(base + '/#/dashboards');
const dash = page.locator('#dashboard');
await page.locator('#dashboard[data-pricing="done"]').waitFor({ timeout: 60000 });
if ((await dash.getAttribute('data-state')) !== 'rendered') {
  const cost = await page.locator('#total-cost').textContent();
  console.log(`Warming the cache: one refresh of the dashboard (${cost})`);
  await page.locator('#refresh').click();
  await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 120000 });
}
const panels = await page.locator('.panel').count();
const times = [];
for (let i = 0; i < runs; i++) {
  await page.goto('about:blank');
  await page.goto(base + '/#/dashboards');
  await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 60000 });
  const cached = await page.locator('.panel[data-cached="true"]').count();
  if (cached !== panels) throw new Error(`only ${cached} of ${panels} panels came from the cache`);
  times.push(await page.evaluate(() => performance.getEntriesByName('dpql-dashboard-rendered').at(-1).startTime));
}
await browser.close();
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`dashboard (${panels} panels) rendered from cached answers, page load to last chart drawn: median ${(median / 1000).toFixed(3)} s over ${runs} loads (min ${(times[0] / 1000).toFixed(3)} s, max ${(times.at(-1) / 1000).toFixed(3)} s); target < 1 s: ${median < 1000 ? 'met' : 'NOT met'}`);
