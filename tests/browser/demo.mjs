// Demo mode in a real browser: the login page shows the banner with the demo login, the visitor
// signs in with it, the banner stays, a terminal on a seeded server takes a command, and a change
// (saving a snippet) is refused with the gateway's own message on screen.
//
// usage: node demo.mjs <base_url> <server_name> <screenshot.png>
// Exit 0 when all of that was seen; otherwise print what the page showed and exit 1.

import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, serverName, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node demo.mjs <base_url> <server_name> <screenshot.png>');
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

  step = 'the login page shows the banner with the demo login';
  await page.goto(baseUrl);
  const banner = page.locator('[data-testid=demo-banner]');
  await banner.waitFor();
  const text = await banner.innerText();
  const login = text.match(/Sign in as (\S+) \/ (\S+)/);
  if (!login) throw new Error(`the banner does not show the demo login: ${JSON.stringify(text)}`);

  step = 'sign in with the login the banner shows';
  await signIn(page, baseUrl, login[1], login[2]);
  const item = page.locator('[data-testid=server-item]', { hasText: serverName }).first();
  await item.waitFor();
  await banner.waitFor();

  step = 'a terminal on the seeded server takes a command';
  await item.locator('[data-testid=open-terminal]').click();
  const pane = page.locator('[data-testid=terminal-pane]').last();
  await pane.locator('.xterm').waitFor();
  await pane.locator('.xterm').click();
  const rows = pane.locator('.xterm-rows');
  await page.waitForFunction((el) => el && /[$#]\s*$/m.test(el.innerText), await rows.elementHandle());
  await page.keyboard.type('echo "demo-$((20+1))"');
  await page.keyboard.press('Enter');
  await page.waitForFunction((el) => el && el.innerText.includes('demo-21'), await rows.elementHandle());

  step = 'saving a snippet is refused with the gateway\'s message';
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=open-snippets]').click();
  const dialog = page.locator('[data-testid=snippets-dialog]');
  await dialog.waitFor();
  await dialog.locator('[data-testid=snippet-name]').fill('Not in a demo');
  await dialog.locator('[data-testid=snippet-command]').fill('echo hi');
  await dialog.locator('[data-testid=snippet-save]').click();
  await page.getByText('this is a read-only demo').first().waitFor();
  await page.screenshot({ path: screenshot });

  await pass(browser, `ok: demo banner, sign-in with its login, terminal, refusal shown; screenshot at ${screenshot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
