// Takes the screenshots in docs/console/ from the running demo (scripts/demo):
//   DPQL_URL=http://127.0.0.1:8765 DPQL_TOKEN=$(sed -n 's/^planner=//p' ../.dpql/tokens) \
//     node tests/docs-screenshots.mjs ../docs/console
// Spends the dashboard's cost (about epsilon 1) and the example query's from
// that analyst's budget the first time; later runs are answered from the cache.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const url = process.env.DPQL_URL;
const token = process.env.DPQL_TOKEN;
const out = process.argv[2] || '.';
if (!url || !token) throw new Error('docs-screenshots.mjs: set DPQL_URL and DPQL_TOKEN');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
await page.goto(url + '/');
await page.locator('#token').fill(token);
await page.locator('#signin button[type=submit]').click();
await page.locator('#nav-query').waitFor();

await page.locator('#nav-dashboards').click();
await page.locator('#dashboard[data-pricing="done"]').waitFor();
if (await page.locator('#dashboard[data-state="rendered"]').count() === 0) {
  await page.locator('#refresh').click();
}
await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 120000 });
await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });

await page.locator('#nav-query').click();
await page.locator('.cm-content').click();
await page.keyboard.press('Control+A');
await page.keyboard.press('Delete');
await page.keyboard.insertText(
  "SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = DATE '2026-11-27' GROUP BY ward_code;");
await page.locator('#estimate[data-state="ok"]').waitFor();
await page.locator('#run').click();
await page.locator('#output .result[data-rendered="true"]').waitFor({ timeout: 120000 });
await page.screenshot({ path: join(out, 'query.png'), fullPage: true });
await browser.close();
