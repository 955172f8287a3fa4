// A person's path through Gatehouse in a real browser: sign in, open a terminal on a registered
// server, type a command, read its output from the xterm screen, take a screenshot.
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
  await pass(browser, `ok: saw the command output; screenshot at ${screenshot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
