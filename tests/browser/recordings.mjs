// Replaying a recorded session in the browser: sign in, open a terminal on a registered server,
// type a command, close the tab (the session ends and its recording is finalised); open
// Recordings, see the row, check its Download link, press Play and read the command's output off
// the player's screen. The player's script is not on the page until then. Then the audit log:
// filter to terminal events, find the session's rows (target = the session, outcome success),
// check the export link carries the filter, and press Replay to reach the same recording.
//
// usage: node recordings.mjs <base_url> <username> <password> <server_name> <screenshot.png>
// Exit 0 when the replay showed the output; otherwise print what the page showed and exit 1.

import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, username, password, serverName, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node recordings.mjs <base_url> <username> <password> <server_name> <screenshot.png>');
  process.exit(2);
}
const failureShot = screenshot.replace(/\.png$/, '-failure.png');
const MARKER = 'hello-recording';

const browser = await launch();
const problems = [];
let page;
let step = 'start';

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await openPage(context, problems);

  step = 'sign in and open a terminal';
  await signIn(page, baseUrl, username, password);
  const item = page.locator('[data-testid=server-item]', { hasText: serverName }).first();
  await item.locator('[data-testid=open-terminal]').click();
  const pane = page.locator('[data-testid=terminal-pane]').last();
  const rows = pane.locator('.xterm-rows');
  await pane.locator('.xterm').click();
  await page.waitForFunction((el) => el && /[$#]\s*$/m.test(el.innerText), await rows.elementHandle());

  step = 'type a command';
  await page.keyboard.type(`echo ${MARKER}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    ([el, wanted]) => el && el.innerText.split(wanted).length > 2,
    [await rows.elementHandle(), MARKER],
  );

  step = 'close the tab: the session ends';
  await page.locator('[data-testid=close-tab]').first().click();
  const ended = Date.now() + 15_000;
  for (;;) {
    const live = await page.evaluate(async () => (await (await fetch('api/terminal/sessions')).json()).length);
    if (live === 0) break;
    if (Date.now() > ended) throw new Error(`${live} session(s) still live after closing the tab`);
    await page.waitForTimeout(200);
  }

  step = 'open Recordings';
  await page.locator('[data-testid=nav-recordings]').click();
  await page.locator('[data-testid=recordings-filter-user]').fill(username);
  await page.locator('[data-testid=recordings-apply]').click();
  const table = page.locator('[data-testid=recordings-table]');
  const row = table.locator('[data-testid=recording-row]', { hasText: serverName }).first();
  // The recording is finalised as the session ends; Apply again until the row says so.
  const finished = Date.now() + 20_000;
  for (;;) {
    if ((await row.count()) > 0 && (await row.getAttribute('data-state')) !== 'recording') break;
    if (Date.now() > finished) throw new Error('no finished recording of the session in the list');
    await page.waitForTimeout(500);
    await page.locator('[data-testid=recordings-apply]').click();
  }
  const id = await row.getAttribute('data-recording-id');
  if (!id) throw new Error('the row has no data-recording-id');

  step = 'check the Download link';
  const href = await row.locator('[data-testid=recording-download]').getAttribute('href');
  if (!href || !href.endsWith(`/api/recordings/${id}/cast`)) throw new Error(`download href: ${href}`);
  if (href.includes('?')) throw new Error(`the download link carries a query string: ${href}`);
  if (await page.locator('script[src*="player.js"]').count()) {
    throw new Error('the player script was loaded before anything was played');
  }

  step = 'play the recording';
  await row.locator('[data-testid=recording-play]').click();
  const player = page.locator('[data-testid=recording-player]');
  await player.waitFor();
  await player.locator('.ap-player').waitFor();
  await page.waitForFunction(
    ([el, wanted]) => el && el.innerText.includes(wanted),
    [await player.elementHandle(), MARKER],
  );
  await page.screenshot({ path: screenshot });

  step = 'change the speed: the player is recreated';
  await page.locator('[data-testid=recording-speed]').selectOption('2');
  await player.locator('.ap-player').waitFor();

  step = 'close the player';
  await page.locator('[data-testid=recording-player-close]').click();
  await player.waitFor({ state: 'detached' });

  step = 'find the session in the audit log';
  await page.locator('[data-testid=nav-audit]').click();
  await page.locator('[data-testid=audit-filter-action]').selectOption('terminal.');
  await page.locator('[data-testid=audit-apply]').click();
  const opened = page.locator('[data-testid=audit-row][data-action="terminal.open"]').first();
  await opened.waitFor();
  const sessionId = (await opened.locator('[data-testid=audit-target]').innerText()).trim();
  const rec = await page.evaluate(async (rid) => (await (await fetch(`api/recordings/${rid}`)).json()), id);
  if (sessionId !== rec.session_id) throw new Error(`audit target ${sessionId} is not the session ${rec.session_id}`);
  const outcome = await opened.getAttribute('data-outcome');
  if (outcome !== 'success') throw new Error(`terminal.open outcome: ${outcome}`);
  const others = await page.locator('[data-testid=audit-row]:not([data-action^="terminal."])').count();
  if (others) throw new Error(`${others} non-terminal rows under the Terminals filter`);
  const csv = await page.locator('[data-testid=audit-export-csv]').getAttribute('href');
  if (!csv || !csv.includes('/api/audit/export?') || !csv.includes('action=terminal.') || !csv.includes('format=csv')) {
    throw new Error(`export link: ${csv}`);
  }

  step = 'unfold a row and replay from the audit log';
  await opened.click();
  await page.locator('[data-testid=audit-details]').first().waitFor();
  await opened.locator('[data-testid=audit-replay]').click();
  await player.waitFor();
  await player.locator('.ap-player').waitFor();
  await page.waitForFunction(
    ([el, wanted]) => el && el.innerText.includes(wanted),
    [await player.elementHandle(), MARKER],
  );

  step = 'page through the audit log';
  // Every fetch of a cast is audited: 60 more rows make the unfiltered log span pages of 50.
  await page.evaluate(async (rid) => {
    for (let i = 0; i < 60; i++) await fetch(`api/recordings/${rid}/cast`);
  }, id);
  await page.locator('[data-testid=nav-audit]').click();
  await page.locator('[data-testid=audit-clear]').click();
  const pager = page.locator('[data-testid=audit-pager]');
  await pager.waitFor();
  if ((await page.locator('[data-testid=audit-row]').count()) !== 50) throw new Error('the first page is not 50 rows');
  await page.locator('[data-testid=audit-next]').click();
  await page.waitForFunction((el) => el && /^51–/.test(el.innerText.trim()), await pager.locator('span').elementHandle());
  const prevEnabled = await page.locator('[data-testid=audit-prev]').isEnabled();
  if (!prevEnabled) throw new Error('Prev is disabled on the second page');

  await pass(browser, `ok: recorded, listed and replayed recording ${id}, also from the audit log; screenshot at ${screenshot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
