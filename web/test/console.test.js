// Browser tests of the console: build kda, start `kda serve` on a free
// port with a temporary data directory, drive headless Chromium with
// playwright-core through a stream, a live windowed query, an SQL error
// and an application's start and stop. A failed test leaves a screenshot
// in web/test-results/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(web, '..');
const results = join(web, 'test-results');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20_000;

let tmp, server, serverLog = '', base, browser, page;

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitHealthy(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    if (server.exitCode != null) throw new Error(`kda serve exited (${server.exitCode}):\n${serverLog}`);
    if (Date.now() > end) throw new Error(`kda serve did not answer /healthz in ${ms} ms:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (!existsSync(join(web, 'dist', 'app.js'))) throw new Error('the console is not built: run `npm run build` in web/ first');
  tmp = mkdtempSync(join(tmpdir(), 'kda-console-'));
  const bin = join(tmp, 'kda');
  const go = process.env.GO || (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go');
  execFileSync(go, ['build', '-o', bin, './cmd/kda'], { cwd: repo, stdio: 'inherit' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data', join(tmp, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  await waitHealthy(base, 15_000);
  // A persistent context is how playwright takes a fresh --user-data-dir.
  browser = await chromium.launchPersistentContext(join(tmp, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] || (await browser.newPage());
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode == null) {
    server.kill('SIGTERM');
    await Promise.race([new Promise((r) => server.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
    if (server.exitCode == null) server.kill('SIGKILL');
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// step runs a test body and saves a screenshot when it fails.
function step(name, fn, opts = {}) {
  test(name, { timeout: 90_000, ...opts }, async () => {
    try {
      await fn();
    } catch (err) {
      if (page) {
        mkdirSync(results, { recursive: true });
        const file = join(results, `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.error(`screenshot of the failure: ${file}`);
        if (serverLog) console.error(`kda serve log (tail):\n${serverLog.slice(-2000)}`);
      }
      throw err;
    }
  });
}

const STREAM = 'clicks';
// Discovered JSON columns keep their case, so they are quoted.
const SQL = `SELECT STREAM "action", COUNT(*) AS n
FROM SOURCE_SQL_STREAM_001
GROUP BY "action", STEP(SOURCE_SQL_STREAM_001.ROWTIME BY INTERVAL '2' SECOND);`;
const BAD_SQL = `SELECT STREAM "action",
  COUNT(*) AS n
FROM SOURCE_SQL_STREAM_001
WHERE no_such_column > 1;`;

async function putRecord(pk, data) {
  await page.fill('input[name=partition-key]', pk);
  await page.fill('textarea[name=record-data]', data);
  await page.click('button:has-text("Put record")');
  await page.locator('.alert.ok:has-text("Put")').waitFor();
}

// setSQL replaces the editor's text the way a user would.
async function setSQL(text) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  assert.equal((await page.locator('.cm-content').innerText()).replace(/\u200b/g, '').trim(), text.trim());
}

step('the console opens on an empty server', async () => {
  await page.goto(base + '/');
  await page.locator('h1:has-text("Streams")').waitFor();
  await page.locator('.empty:has-text("No streams yet")').waitFor();
});

step('a stream is created and a record put through the UI', async () => {
  await page.fill('input[name=stream-name]', STREAM);
  await page.click('button:has-text("Create stream")');
  await page.locator(`#streams-table tr[data-stream="${STREAM}"]`).waitFor();
  await page.click(`#streams-table a:text-is("${STREAM}")`);
  await page.locator(`h1:text-is("${STREAM}")`).waitFor();
  await page.locator('#shards-table tbody tr').first().waitFor();
  await putRecord('u1', '{"action":"view","amount":1}');
  await page.locator('#records-table td:has-text("view")').first().waitFor();
});

step('a tumbling-window query streams rows into a table and a chart', async () => {
  await page.click('nav a:has-text("SQL editor")');
  await page.locator('.cm-content').waitFor();
  await page.locator(`select[name=stream] option[value="${STREAM}"]`).waitFor({ state: 'attached' });
  await page.selectOption('select[name=stream]', STREAM);
  await page.selectOption('select[name=from]', 'TRIM_HORIZON');
  await setSQL(SQL);
  await page.click('#run');
  await page.locator('#results section.result').first().waitFor();
  // Windows close as time passes: keep putting records until rows arrive.
  const api = async (action) =>
    page.evaluate(
      ([s, a]) => fetch(`/v1/streams/${s}/records`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ records: [{ partitionKey: a, data: JSON.stringify({ action: a, amount: 2 }) }] }) }).then((r) => r.status),
      [STREAM, action],
    );
  const deadline = Date.now() + 30_000;
  while (!(await page.locator('#results .table-scroll tbody tr').count())) {
    assert.ok(Date.now() < deadline, 'no result rows within 30 s');
    await api('click');
    await api('view');
    await page.waitForTimeout(500); // polling interval, not a wait for a result
  }
  const row = await page.locator('#results .table-scroll tbody tr').first().innerText();
  assert.match(row, /view|click/i);
  await page.locator('#results .chart[data-kind="bar"] canvas').first().waitFor();
  await page.click('#stop');
  await page.locator('#run:not([disabled])').waitFor();
});

step('an SQL error is marked at its line with the message', async () => {
  await setSQL(BAD_SQL);
  await page.click('#run');
  const banner = page.locator('#sql-error');
  await banner.waitFor();
  const message = await banner.innerText();
  assert.match(message, /no_such_column/i);
  assert.equal(await banner.getAttribute('data-line'), '4');
  const mark = page.locator('.cm-lintRange-error').first();
  await mark.waitFor();
  const markedLine = await mark.evaluate((el) => {
    const line = el.closest('.cm-line');
    return [...line.parentElement.querySelectorAll(':scope > .cm-line')].indexOf(line) + 1;
  });
  assert.equal(markedLine, 4);
  assert.match(await mark.innerText(), /no_such_column/i);
});

step('the query is saved as an application, started and stopped', async () => {
  await setSQL(SQL);
  await page.click('#run');
  await page.locator('#results section.result').first().waitFor();
  await page.click('#stop');
  await page.click('#discover');
  await page.locator('#schema-table input[aria-label=name]').first().waitFor();
  await page.fill('input[name=app-name]', 'clicks-per-action');
  await page.fill('input[name=output-stream]', 'clicks-per-action-out');
  await page.click('#save-app');
  await page.locator('h1:text-is("clicks-per-action")').waitFor();
  await page.locator('#app-status [data-status="RUNNING"]').waitFor({ timeout: 30_000 });
  await page.locator('#dag .node.pump').first().waitFor();
  await page.click('button[data-action=stop]');
  await page.locator('#app-status [data-status]:not([data-status="RUNNING"])').waitFor({ timeout: 30_000 });
  await page.click('button[data-action=start]');
  await page.locator('#app-status [data-status="RUNNING"]').waitFor({ timeout: 30_000 });
  await page.click('nav a:has-text("Applications")');
  await page.locator('#apps-table tr[data-app="clicks-per-action"] [data-status="RUNNING"]').waitFor();
});

// SCREENSHOTS=1 npm test saves each page into web/test-results/ for a look.
step('screenshots of each page (SCREENSHOTS=1)', async () => {
  mkdirSync(results, { recursive: true });
  for (const [name, path, ready] of [
    ['streams', '/streams', '#streams-table'],
    ['stream', `/streams/${STREAM}`, '#records-table'],
    ['apps', '/apps', '#apps-table'],
    ['app', '/apps/clicks-per-action', '#dag'],
  ]) {
    await page.goto(base + path);
    await page.locator(ready).waitFor();
    await page.screenshot({ path: join(results, `page-${name}.png`), fullPage: true });
  }
}, { skip: !process.env.SCREENSHOTS && 'set SCREENSHOTS=1 to save a screenshot of each page' });
