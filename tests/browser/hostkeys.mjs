// An admin's path through host-key trust and reachability in a real browser, on a gateway with
// the strict host-key policy and a fast connectivity monitor: the server shows online; the form
// shows "not pinned"; "Test connection" makes the host present its key, which the form shows for
// approval with its fingerprint; approving pins it; an SSH config pasted into the import dialog
// previews the servers it would create.
//
// usage: node hostkeys.mjs <base_url> <username> <password> <server_name> <fingerprint> <screenshot.png>
// Exit 0 when every step showed what it should; otherwise print what the page showed and exit 1.

import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, username, password, serverName, fingerprint, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node hostkeys.mjs <base_url> <username> <password> <server_name> <fingerprint> <screenshot.png>');
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
  const item = page.locator('[data-testid=server-item]', { hasText: serverName }).first();
  await item.waitFor();

  step = 'the monitor badge turns online';
  // The list polls every 15 s; the monitor probes every second.
  await item.locator('[data-testid=server-status][data-status=online]').waitFor({ timeout: 45_000 });

  step = 'open the server form';
  await item.locator('[data-testid=edit-server]').click();
  const form = page.locator('[data-testid=server-form]');
  await form.waitFor();
  await form.locator('[data-testid=host-key]', { hasText: 'Strict policy' }).waitFor();

  step = 'test the connection: the key is held for approval';
  await form.locator('[data-testid=test-connection]').click();
  const pending = form.locator('[data-testid=pending-fingerprint]');
  await pending.waitFor();
  const shown = (await pending.innerText()).trim();
  if (shown !== fingerprint) throw new Error(`pending fingerprint ${shown}, expected ${fingerprint}`);

  step = 'approve the key';
  await form.locator('[data-testid=approve-host-key]').click();
  const pinned = form.locator('[data-testid=host-key-fingerprint]');
  await pinned.waitFor();
  const pinnedText = (await pinned.innerText()).trim();
  if (pinnedText !== fingerprint) throw new Error(`pinned ${pinnedText}, expected ${fingerprint}`);

  step = 'test the connection again: it now succeeds';
  await form.locator('[data-testid=test-connection]').click();
  await form.locator('.test-report li', { hasText: '✓' }).first().waitFor();
  await page.screenshot({ path: screenshot });
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });

  step = 'preview an SSH config import';
  await page.locator('[data-testid=import-ssh-config]').click();
  await page.locator('[data-testid=import-config]').fill(
    'Host imported-web\n  HostName web.internal\n  User deploy\n  ProxyJump ' + serverName + '\n',
  );
  await page.locator('[data-testid=import-preview]').click();
  await page.locator('[data-testid=import-result]', { hasText: 'imported-web' }).waitFor();

  await pass(browser, `ok: online badge, held key ${fingerprint} approved and pinned, import previewed`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
