// A person's path through Gatehouse in a real browser: sign in, open a terminal on a registered
// server, type a command, read its output from the xterm screen, take a screenshot; then reload
// the page (the tab comes back with its output and still takes input), lose the connection (the
// tab reattaches by itself, without printing anything twice), and close the tab (the session
// ends in the gateway).
//
// usage: node terminal.mjs <base_url> <username> <password> <server_name> <screenshot.png>
// Exit 0 when the output showed up; otherwise print what the page showed and exit 1.
// Drives Debian's /usr/bin/chromium (never a downloaded browser).

import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, username, password, serverName, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node terminal.mjs <base_url> <username> <password> <server_name> <screenshot.png>');
  process.exit(2);
}
const failureShot = screenshot.replace(/\.png$/, '-failure.png');

const browser = await launch();

const problems = [];
let page;
let step = 'start';
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await openPage(context, problems);

  step = 'sign in';
  await signIn(page, baseUrl, username, password);

  step = `find server "${serverName}"`;
  const item = page.locator('[data-testid=server-item]', { hasText: serverName }).first();
  await item.waitFor();

  step = 'check that the session is not readable by scripts';
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'gatehouse_session');
  if (!session) throw new Error(`no gatehouse_session cookie after sign-in: ${JSON.stringify(cookies.map((c) => c.name))}`);
  if (!session.httpOnly) throw new Error('the session cookie is not HttpOnly');
  const exposed = await page.evaluate((value) => {
    const stores = [window.localStorage, window.sessionStorage];
    const held = stores.flatMap((s) => Object.keys(s).map((k) => s.getItem(k) ?? ''));
    return document.cookie.includes('gatehouse_session')
      || held.some((v) => v.includes(value))
      || window.location.href.includes(value);
  }, session.value);
  if (exposed) throw new Error('the session token is visible to page scripts, storage or the URL');

  // Every terminal socket goes through here, so the test can cut one as a network loss would.
  const sockets = [];
  await page.routeWebSocket(/\/api\/ws\/terminal\//, (ws) => {
    const server = ws.connectToServer();
    sockets.push({ ws, server });
  });

  step = 'open a terminal';
  await item.locator('[data-testid=open-terminal]').click();
  const pane = page.locator('[data-testid=terminal-pane]').last();
  await pane.locator('.xterm').waitFor();
  await pane.locator('.xterm').click();

  step = 'wait for the shell prompt';
  const rows = pane.locator('.xterm-rows');
  await page.waitForFunction((el) => el && /[$#]\s*$/m.test(el.innerText), await rows.elementHandle());

  step = 'type a command and read its output';
  // The shell computes the marker, so the echoed command line never matches it.
  await page.keyboard.type('echo "browser says $((6*7))"');
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (el) => el && el.innerText.includes('browser says 42'),
    await rows.elementHandle(),
  );

  // For the README's picture: GATEHOUSE_DEMO_COMMAND is typed too before the screenshot.
  if (process.env.GATEHOUSE_DEMO_COMMAND) {
    step = 'demo command';
    await page.keyboard.type(process.env.GATEHOUSE_DEMO_COMMAND);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1500);
  }

  step = 'screenshot';
  await page.screenshot({ path: screenshot });

  step = 'reload the page: the tab comes back with its output';
  await page.reload();
  await page.locator('[data-testid=terminal-tab]').first().waitFor();
  const restored = page.locator('[data-testid=terminal-pane][data-active=true]');
  const restoredRows = restored.locator('.xterm-rows');
  await page.waitForFunction(
    (el) => el && el.innerText.includes('browser says 42'),
    await restoredRows.elementHandle(),
  );
  const tabs = await page.locator('[data-testid=terminal-tab]').count();
  if (tabs !== 1) throw new Error(`expected the one tab back after the reload, found ${tabs}`);

  step = 'type into the restored tab';
  await restored.locator('.xterm').click();
  await page.keyboard.type('echo "after reload $((6*7+1))"');
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (el) => el && el.innerText.includes('after reload 43'),
    await restoredRows.elementHandle(),
  );

  step = 'lose the connection: the tab reattaches by itself';
  const cut = sockets.at(-1);
  cut.server.close();
  cut.ws.close({ code: 4000, reason: 'network loss' });
  const deadline = Date.now() + 20_000;
  while (sockets.length < 2 || sockets.at(-1) === cut) {
    if (Date.now() > deadline) throw new Error('no new socket after the connection was cut');
    await page.waitForTimeout(100);
  }
  await page.locator('[data-testid=terminal-tab] .dot.connected').waitFor();
  await page.keyboard.type('echo "reconnected $((6*7+2))"');
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (el) => el && el.innerText.includes('reconnected 44'),
    await restoredRows.elementHandle(),
  );
  const copies = await restoredRows.evaluate((el) => el.innerText.split('after reload 43').length - 1);
  if (copies !== 1) throw new Error(`the reattach printed old output again (${copies} copies)`);

  step = 'close the tab: the session ends';
  await page.locator('[data-testid=close-tab]').first().click();
  const ended = Date.now() + 15_000;
  for (;;) {
    const live = await page.evaluate(async () => (await (await fetch('api/terminal/sessions')).json()).length);
    if (live === 0) break;
    if (Date.now() > ended) throw new Error(`${live} session(s) still live after closing the tab`);
    await page.waitForTimeout(200);
  }
  await pass(browser, `ok: saw the command output, after a reload and after a reconnect; screenshot at ${screenshot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
