// End-to-end tests of the web console: Debian's headless Chromium, driven by
// playwright-core, against a real dpqld and PostgreSQL. Run by
// scripts/console-test, which loads the data, creates the analysts and starts
// dpqld. Environment: DPQL_URL, DPQL_PLANNER_TOKEN, DPQL_GUARDIAN_TOKEN,
// DPQL_SMALL_TOKEN (an analyst granted epsilon 0.1), DPQL_SCREENSHOTS (folder), DPQL_HOSTILE (the hostile ward name loaded),
// CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const URL_ = process.env.DPQL_URL;
const PLANNER = process.env.DPQL_PLANNER_TOKEN;
const GUARDIAN = process.env.DPQL_GUARDIAN_TOKEN;
const SHOTS = process.env.DPQL_SCREENSHOTS || 'console-test';
const HOSTILE = process.env.DPQL_HOSTILE;
const SMALL = process.env.DPQL_SMALL_TOKEN; // an analyst granted epsilon 0.1
for (const [k, v] of Object.entries({ DPQL_URL: URL_, DPQL_PLANNER_TOKEN: PLANNER, DPQL_GUARDIAN_TOKEN: GUARDIAN, DPQL_HOSTILE: HOSTILE, DPQL_SMALL_TOKEN: SMALL })) {
  if (!v) throw new Error(`console.test.mjs: ${k} is not set; run scripts/console-test`);
}
mkdirSync(SHOTS, { recursive: true });

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
let browser, page;
const cspViolations = [];
const pageErrors = [];

async function apiGet(path, token) {
  const r = await fetch(URL_ + path, { headers: { Authorization: 'Bearer ' + token } });
  return { status: r.status, body: await r.json() };
}

async function shot(name) { await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true }); }

async function signIn(token) {
  await page.goto(URL_ + '/');
  await page.locator('#token').fill(token);
  await page.locator('#signin button[type=submit]').click();
}

async function setQuery(text) {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

async function epsilonShown() {
  const v = await page.locator('#budget-badge').getAttribute('data-epsilon-remaining');
  return Number(v);
}

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'], headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
});

after(async () => { await browser?.close(); });

test('the console is served under the strict CSP', async () => {
  const response = await page.goto(URL_ + '/');
  const csp = response.headers()['content-security-policy'] || '';
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
  }
  assert.ok(!csp.includes('unsafe-inline'));
});

test('a wrong token is refused and nothing is kept', async () => {
  await signIn('dpql_' + 'A'.repeat(43));
  const refusal = page.locator('.signin-status .refusal');
  await refusal.waitFor();
  assert.equal(await refusal.getAttribute('data-code'), 'unauthorized');
  assert.equal(await page.locator('#nav-query').count(), 0, 'no page opens for a refused token');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dpql.token')), null);
  assert.ok(!page.url().includes('dpql_'), 'the token never appears in the URL');
  await shot('01-wrong-token');
});

test('sign in (keyboard only) keeps the token out of the URL and shows the budget', async () => {
  await page.goto(URL_ + '/');
  await page.locator('#token:focus').waitFor(); // the token field has the focus
  await page.keyboard.type(PLANNER);
  await page.keyboard.press('Enter');
  await page.locator('#nav-query').waitFor();
  assert.ok(!page.url().includes(PLANNER));
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dpql.token')), PLANNER);
  const budget = (await apiGet('/v1/budget', PLANNER)).body.budgets.find((b) => b.dataset === 'hospital');
  assert.equal(await epsilonShown(), budget.epsilon_remaining);
});

test('a GROUP BY query draws one bar and one error bar per group, and the budget drops by exactly the cost', async () => {
  await page.goto(URL_ + '/#/query');
  const q = 'SELECT sex, COUNT(*) AS admissions FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.25)';
  await setQuery(q);
  // The cost is shown before running.
  await page.locator('#estimate[data-state="ok"]', { hasText: 'Cost if run: ε 0.25' }).waitFor();
  const before = await epsilonShown();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/query')),
    page.locator('#run').click(),
  ]);
  const r = await response.json();
  assert.equal(response.status(), 200);
  assert.equal(r.cached, false);
  await page.locator('#output .result[data-rendered="true"]').waitFor();

  const bars = page.locator('#output svg.dpql-chart g.mark-values rect');
  const errorBars = page.locator('#output svg.dpql-chart g.mark-error-bars line');
  assert.equal(await bars.count(), r.rows.length, 'one bar per group');
  assert.equal(await errorBars.count(), r.rows.length, 'one error bar per group');
  const ci = r.accuracy.filter((a) => a.column === 'admissions').sort((a, b) => a.row - b.row).map((a) => a.ci);
  const geometry = [];
  for (let i = 0; i < r.rows.length; i++) {
    const [key, value] = r.rows[i];
    assert.equal(await bars.nth(i).locator('title').textContent(), `${key}: ${fmt.format(value)}`);
    assert.equal(await errorBars.nth(i).locator('title').textContent(), `${key}: 95% interval ${fmt.format(ci[i][0])} to ${fmt.format(ci[i][1])}`);
    geometry.push({
      height: Number(await bars.nth(i).getAttribute('height')),
      y1: Number(await errorBars.nth(i).getAttribute('y1')), y2: Number(await errorBars.nth(i).getAttribute('y2')),
      value, lo: ci[i][0], hi: ci[i][1],
    });
  }
  // Heights are to scale: pixels per unit agree for every bar and error bar.
  const k = Math.max(...geometry.map((g) => g.height)) / Math.max(...geometry.map((g) => Math.abs(g.value)));
  for (const g of geometry) {
    assert.ok(Math.abs(g.height - Math.abs(g.value) * k) < 1.5, `bar height ${g.height} fits value ${g.value}`);
    assert.ok(Math.abs(Math.abs(g.y1 - g.y2) - (g.hi - g.lo) * k) < 1.5, `error bar ${g.y1}-${g.y2} fits [${g.lo}, ${g.hi}]`);
  }
  // What the bounds may leave out is said under the result, one line per note.
  assert.ok(r.bias.some((b) => b.code === 'rows_capped'), 'COUNT(*) is capped at max_rows per person');
  const biasLines = page.locator('#output .result p.bias');
  assert.equal(await biasLines.count(), r.bias.length);
  for (let i = 0; i < r.bias.length; i++) {
    assert.equal(await biasLines.nth(i).getAttribute('data-code'), r.bias[i].code);
    assert.equal(await biasLines.nth(i).textContent(), 'Bias: ' + r.bias[i].message);
  }
  // The table shows each value with its interval.
  const firstRow = page.locator('#output table.results tbody tr').first();
  assert.match(await firstRow.textContent(), new RegExp(`${r.rows[0][0]}.*${fmt.format(r.rows[0][1])}`));

  const after = await epsilonShown();
  assert.equal(r.cost.epsilon, 0.25);
  assert.ok(Math.abs((before - after) - r.cost.epsilon) < 1e-9, `budget ${before} -> ${after} drops by ${r.cost.epsilon}`);
  assert.equal(after, r.budget.epsilon_remaining);
  await shot('02-query');

  // Downloads: CSV with the values and interval bounds, the chart as SVG and PNG.
  const save = async (label) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#output button', { hasText: label }).click()]);
    return { name: dl.suggestedFilename(), bytes: readFileSync(await dl.path()) };
  };
  const csv = await save('Download CSV');
  const csvLines = csv.bytes.toString().trim().split('\r\n');
  assert.equal(csvLines[0], 'sex,admissions,admissions_ci_low,admissions_ci_high');
  assert.deepEqual(csvLines.slice(1), r.rows.map(([key, value], i) => `${key},${value},${ci[i][0]},${ci[i][1]}`));
  const svgFile = await save('Download SVG');
  assert.match(svgFile.name, /\.svg$/);
  assert.equal((svgFile.bytes.toString().match(/<rect/g) || []).length >= r.rows.length, true);
  const png = await save('Download PNG');
  assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
  // Now it is cached: the page says so, and the estimate is free.
  await page.locator('#estimate[data-cached="true"]').waitFor();
});

test('an invalid query shows the message and a caret at the right column', async () => {
  const q = 'SELECT sex, COUNT(*) FROM admissions WHERE agee > 30 GROUP BY sex';
  await setQuery(q);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/query')),
    page.keyboard.press('Control+Enter'), // runs from the editor, no mouse
  ]);
  const body = await response.json();
  assert.equal(response.status(), 400);
  const expectedColumn = q.indexOf('agee') + 1;
  assert.equal(body.error.column, expectedColumn, 'the server locates the unknown column');
  await page.locator('#output .refusal').waitFor();
  assert.equal(await page.locator('#output .refusal-message').textContent(), body.error.message);
  const caret = page.locator('.cm-dpql-caret');
  assert.equal(await caret.getAttribute('data-column'), String(expectedColumn));
  assert.equal(await caret.locator('.cm-dpql-caret-mark').textContent(), ' '.repeat(expectedColumn - 1) + '^');
  assert.equal(await page.locator('.cm-dpql-error').textContent(), 'agee', 'the offending text is marked');
  // The caret sits under the offending text on screen.
  const markBox = await page.locator('.cm-dpql-error').boundingBox();
  const caretBox = await caret.locator('.cm-dpql-caret-mark').boundingBox();
  assert.ok(Math.abs((caretBox.x + caretBox.width) - markBox.x) < markBox.width, `caret ends at x=${caretBox.x + caretBox.width}, text starts at ${markBox.x}`);
  await shot('03-refusal');
});

test('a hostile ward name renders as text', async () => {
  await page.locator('#catalog details:has(.table-name:text-is("wards")) summary').click();
  await page.locator('#catalog button:has-text("Show wards rows")').click();
  const cell = page.locator('#catalog .public-rows td', { hasText: HOSTILE });
  await cell.first().waitFor();
  assert.equal(await cell.first().textContent(), HOSTILE);
  assert.equal(await page.locator('img').count(), 0, 'no img element was created');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script ran');
  await shot('04-hostile-name');
});

test('the dashboard renders all panels, and a second refresh costs nothing', async () => {
  const { body } = await apiGet('/v1/dashboards', PLANNER);
  const d = body.dashboards[0];
  assert.ok(d && d.panels.length >= 1, 'the server lists a dashboard');
  await page.goto(URL_ + '/#/dashboards');
  await page.locator('#dashboard[data-pricing="done"]').waitFor();
  // Every panel shows its cost before refresh.
  for (const p of d.panels) assert.match(await page.locator(`#panel-${p.id} .panel-cost`).textContent(), /costs ε|free/);
  await page.locator('#refresh').click();
  await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 60000 });
  assert.equal(await page.locator('.panel[data-state="rendered"]').count(), d.panels.length, 'every panel rendered');
  for (const p of d.panels) {
    if (p.chart !== 'table') assert.equal(await page.locator(`#panel-${p.id} svg.dpql-chart`).count(), 1, `panel ${p.id} has its chart`);
    if (p.capacity) assert.ok(await page.locator(`#panel-${p.id} g.mark-capacity line, #panel-${p.id} g.mark-capacity path`).count() > 0, `panel ${p.id} has its capacity marker`);
  }
  await shot('05-dashboard');
  const budgetBefore = (await apiGet('/v1/budget', PLANNER)).body.budgets.find((b) => b.dataset === d.dataset);
  const shownBefore = await epsilonShown();
  await page.locator('#dashboard[data-pricing="done"]').waitFor();
  assert.match(await page.locator('#total-cost').textContent(), /free/);
  await page.evaluate(() => { document.getElementById('dashboard').dataset.state = 'again'; });
  const charged = [];
  const onResponse = async (resp) => {
    if (resp.url().endsWith('/v1/query')) charged.push((await resp.json()).cost?.epsilon ?? 'refused');
  };
  page.on('response', onResponse);
  await page.locator('#refresh').click();
  await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 60000 });
  for (let i = 0; i < 50 && charged.length < d.panels.length; i++) await page.waitForTimeout(100);
  assert.equal(charged.length, d.panels.length);
  page.off('response', onResponse);
  assert.deepEqual(charged, d.panels.map(() => 0), 'every panel answered at no cost');
  assert.equal(await page.locator('.panel[data-cached="true"]').count(), d.panels.length);
  const budgetAfter = (await apiGet('/v1/budget', PLANNER)).body.budgets.find((b) => b.dataset === d.dataset);
  assert.equal(budgetAfter.epsilon_spent, budgetBefore.epsilon_spent);
  assert.equal(await epsilonShown(), shownBefore);
});

test('the budget page shows the grant and the history of this analyst', async () => {
  await page.goto(URL_ + '/#/budget');
  await page.locator('#budgets table').waitFor();
  await page.locator('#history table').waitFor();
  const b = (await apiGet('/v1/budget', PLANNER)).body.budgets.find((x) => x.dataset === 'hospital');
  assert.match(await page.locator('#budgets tr[data-dataset="hospital"]').textContent(), new RegExp(String(b.epsilon_total)));
  assert.ok(await page.locator('#history td code', { hasText: 'GROUP BY sex WITH PRIVACY (epsilon = 0.25)' }).count() >= 1);
  await shot('06-budget');
});

test('the guardian page is refused to a non-admin and lists analysts for an admin', async () => {
  await page.goto(URL_ + '/#/guardian');
  const refusal = page.locator('#analysts .refusal');
  await refusal.waitFor();
  assert.equal(await refusal.getAttribute('data-code'), 'forbidden');
  await shot('07-guardian-refused');
  await page.locator('#sign-out').click();
  await page.locator('#token').waitFor();
  await signIn(GUARDIAN);
  await page.locator('#nav-guardian').waitFor();
  await page.goto(URL_ + '/#/guardian');
  await page.locator('#analyst-table').waitFor();
  const { body } = await apiGet('/v1/admin/analysts', GUARDIAN);
  assert.equal(await page.locator('#analyst-table tbody tr').count(), body.analysts.length);
  for (const name of ['guardian', 'planner']) assert.equal(await page.locator(`#analyst-table th.analyst-name:text-is("${name}")`).count(), 1);
  await page.locator('#audit table').waitFor();
  assert.ok(await page.locator('#audit tbody tr').count() > 0, 'the audit log has rows');
  await shot('08-guardian');
});

test('the guardian page runs research projects and decides budget requests', async () => {
  // Signed in as the guardian, on the guardian page (the test above).
  await page.locator('#project-table').waitFor();
  await page.locator('#project-name').fill('console-study');
  await page.locator('#project-epsilon').fill('2');
  await page.locator('#project-renew').selectOption('month');
  await page.locator('#project-start').fill('2026-01-01');
  await page.locator('#project-end').fill('2027-03-31');
  await page.locator('#project-create button[type=submit]').click();
  const row = page.locator('#project-table tr[data-project="console-study"]');
  await row.waitFor();
  assert.equal(await row.locator('.project-status').textContent(), 'open');

  await row.locator('select').selectOption('planner');
  await row.locator('button.add-member').click();
  await page.locator('#project-table tr[data-project="console-study"] .member[data-member="planner"]').waitFor();

  // The planner files two requests; the guardian approves one and declines the other.
  const file = async (epsilon) => {
    const r = await fetch(URL_ + '/v1/budget-requests', {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + PLANNER, 'Content-Type': 'application/json' },
      body: JSON.stringify({ project: 'console-study', epsilon, justification: 'winter pressure review' }),
    });
    assert.equal(r.status, 201);
    return (await r.json()).request.id;
  };
  const approveId = await file('0.5');
  const declineId = await file('3');
  await page.goto(URL_ + '/#/budget');
  await page.goto(URL_ + '/#/guardian');
  const approveRow = page.locator(`#request-table tr[data-request="${approveId}"]`);
  await approveRow.locator('button.approve').click();
  await page.locator(`#request-table tr[data-request="${approveId}"] .request-status:text-is("approved")`).waitFor();
  let projects = (await apiGet('/v1/admin/projects', GUARDIAN)).body.projects;
  assert.equal(Number(projects.find((p) => p.project === 'console-study').epsilon_total), 2.5);

  // Declining needs a reason: without one the server's refusal is shown and nothing changes.
  await page.locator(`#request-table tr[data-request="${declineId}"] button.decline`).click();
  await page.locator('.action-status .refusal').waitFor();
  await page.locator(`#request-table tr[data-request="${declineId}"] input`).fill('beyond the approved protocol');
  await page.locator(`#request-table tr[data-request="${declineId}"] button.decline`).click();
  await page.locator(`#request-table tr[data-request="${declineId}"] .request-status:text-is("declined")`).waitFor();
  projects = (await apiGet('/v1/admin/projects', GUARDIAN)).body.projects;
  assert.equal(Number(projects.find((p) => p.project === 'console-study').epsilon_total), 2.5);
  await shot('09-guardian-projects');

  await page.locator('#project-table tr[data-project="console-study"] button.close').click();
  await page.locator('#project-table tr[data-project="console-study"] .project-status:text-is("closed")').waitFor();
});

test('tablet width: the query page stays usable', async () => {
  await page.setViewportSize({ width: 820, height: 1180 });
  await page.goto(URL_ + '/#/query');
  await page.locator('.cm-content').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
  await shot('09-tablet-query');
  await page.goto(URL_ + '/#/dashboards');
  await page.locator('#dashboard[data-state="rendered"]').waitFor({ timeout: 60000 });
  const dashOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(dashOverflow <= 0, `the dashboard does not scroll sideways (${dashOverflow}px too wide)`);
  await shot('10-tablet-dashboard');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('budget exhausted says what is left and how to get more; nothing is spent', async () => {
  await page.locator('#sign-out').click();
  await signIn(SMALL);
  await page.locator('#nav-query').waitFor();
  await page.goto(URL_ + '/#/query');
  const before = (await apiGet('/v1/budget', SMALL)).body.budgets[0];
  await setQuery('SELECT COUNT(*) AS n FROM admissions WITH PRIVACY (epsilon = 0.5)');
  await page.locator('#estimate[data-state="ok"]', { hasText: 'ε 0.5' }).waitFor();
  assert.match(await page.locator('#estimate').textContent(), /Budget after: ε -0\.4/);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/query')),
    page.locator('#run').click(),
  ]);
  assert.equal(response.status(), 409);
  const refusal = page.locator('#output .refusal[data-code="budget_exhausted"]');
  await refusal.waitFor();
  const text = await refusal.textContent();
  assert.match(text, /You have ε 0\.1, δ 0 left/);
  assert.match(text, /dpqld admin grant/);
  const after = (await apiGet('/v1/budget', SMALL)).body.budgets[0];
  assert.equal(after.epsilon_spent, before.epsilon_spent);
  await shot('11-budget-exhausted');
});

test('no Content-Security-Policy violation and no script error', () => {
  assert.deepEqual(cspViolations, []);
  assert.deepEqual(pageErrors, []);
});
