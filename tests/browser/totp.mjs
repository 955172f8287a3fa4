// Two-factor authentication and API keys, as a person does them: the admin opens the two-factor
// dialog from the user menu, scans (here: reads) the secret, confirms a code and gets 10 recovery
// codes; signs out and in again, and this time the sign-in form asks for a code; then creates a
// read-only API key, sees it once (and it works), and revokes it (and it stops working).
// Codes are computed here per RFC 6238 (HMAC-SHA1, 30 s steps, 6 digits).
//
// usage: node totp.mjs <base_url> <username> <password> <screenshot.png>
// Exit 0 when all of it happened; otherwise print what the page showed and exit 1.

import crypto from 'node:crypto';
import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, username, password, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node totp.mjs <base_url> <username> <password> <screenshot.png>');
  process.exit(2);
}
const failureShot = screenshot.replace(/\.png$/, '-failure.png');
const keyShot = screenshot.replace(/\.png$/, '-api-key.png');
const setupShot = screenshot.replace(/\.png$/, '-setup.png');
const loginShot = screenshot.replace(/\.png$/, '-login.png');
const usersShot = screenshot.replace(/\.png$/, '-users.png');

function base32decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(c);
    if (i < 0) throw new Error(`not base32: ${text}`);
    value = ((value << 5) | i) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// The code for the 30-s step `offset` steps from now.
function totp(secret, offset = 0) {
  const counter = Math.floor(Date.now() / 1000 / 30) + offset;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac('sha1', base32decode(secret)).update(message).digest();
  const at = mac[mac.length - 1] & 0xf;
  const number =
    ((mac[at] & 0x7f) << 24) | (mac[at + 1] << 16) | (mac[at + 2] << 8) | mac[at + 3];
  return String(number % 1_000_000).padStart(6, '0');
}

// The status of `GET api/servers` with `key` as the bearer token.
async function statusWithKey(key) {
  const response = await fetch(new URL('api/servers', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`), {
    headers: { Authorization: `Bearer ${key}` },
  });
  return response.status;
}

const browser = await launch();
const problems = [];
let page;
let step = 'start';

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await openPage(context, problems);

  step = 'sign in with the password alone';
  await signIn(page, baseUrl, username, password);
  await page.locator('[data-testid=nav-terminals]').waitFor();

  step = 'open the two-factor dialog and start';
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=open-2fa]').click();
  const dialog = page.locator('[data-testid=two-factor-dialog]');
  await dialog.locator('[data-testid=totp-status]').waitFor();
  if (!(await dialog.locator('[data-testid=totp-status]').innerText()).includes('Off')) {
    throw new Error('two-factor authentication was not off to begin with');
  }
  await dialog.locator('[data-testid=totp-start]').click();

  step = 'read the QR code and the secret';
  const qr = dialog.locator('[data-testid=totp-qr]');
  await qr.waitFor();
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await qr.elementHandle());
  const secret = (await dialog.locator('[data-testid=totp-secret]').innerText()).replace(/\s/g, '');
  if (!/^[A-Z2-7]{16,}=*$/.test(secret)) throw new Error(`not a base32 secret: ${secret}`);
  await page.screenshot({ path: setupShot });

  step = 'confirm a code and see the recovery codes';
  await dialog.locator('[data-testid=totp-code]').fill(totp(secret));
  await dialog.locator('[data-testid=totp-confirm]').click();
  const codes = dialog.locator('[data-testid=recovery-codes] [data-testid=recovery-code]');
  await codes.first().waitFor();
  const count = await codes.count();
  if (count !== 10) throw new Error(`${count} recovery codes instead of 10`);
  await page.screenshot({ path: screenshot });
  await dialog.locator('[data-testid=totp-done]').click();
  await page.waitForFunction(
    (el) => el && el.innerText.includes('On') && el.innerText.includes('10 recovery codes left'),
    await dialog.locator('[data-testid=totp-status]').elementHandle(),
  );
  await dialog.locator('button[title=Close]').click();
  await dialog.waitFor({ state: 'detached' });

  step = 'sign out';
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=sign-out]').click();
  await page.locator('#username').waitFor();

  step = 'sign in again: the form asks for a code';
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('button[type=submit]').click();
  const codeField = page.locator('[data-testid=login-totp]');
  await codeField.waitFor({ state: 'visible' });
  if ((await page.locator('#password').inputValue()) !== password) {
    throw new Error('the password was not kept for the second step');
  }
  // The current step's code was spent confirming; the gateway accepts one step ahead.
  await codeField.fill(totp(secret, 1));
  await page.screenshot({ path: loginShot });
  await page.locator('button[type=submit]').click();
  await page.locator('[data-testid=nav-terminals]').waitFor();

  step = 'the users panel shows the second factor';
  await page.locator('[data-testid=nav-users]').click();
  const me = page.locator('[data-testid=user-row][data-username="' + username + '"]');
  await me.locator('[data-testid=user-2fa]').waitFor();
  const source = await me.locator('[data-testid=user-auth-source]').innerText();
  if (source !== 'local') throw new Error(`auth source shown as ${source}`);
  await page.screenshot({ path: usersShot });
  await page.locator('[data-testid=nav-terminals]').click();

  step = 'create a read-only API key';
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=open-api-keys]').click();
  const keys = page.locator('[data-testid=api-keys-dialog]');
  await keys.locator('[data-testid=api-key-name]').fill('ci-read');
  await keys.locator('[data-testid=api-key-scope-read]').check();
  for (const scope of ['terminal', 'files', 'admin']) {
    await keys.locator(`[data-testid=api-key-scope-${scope}]`).uncheck();
  }
  await keys.locator('[data-testid=api-key-create]').click();
  const created = keys.locator('[data-testid=api-key-created]');
  await created.waitFor();
  const key = (await created.locator('[data-testid=api-key-value]').innerText()).replace(/\s/g, '');
  if (!key.startsWith('ghk_')) throw new Error(`not an API key: ${key}`);
  if (!(await created.innerText()).includes('not be shown again')) throw new Error('no warning that the key is shown once');
  const row = keys.locator('[data-testid=api-key-row][data-name="ci-read"]');
  await row.waitFor();
  if (!(await row.innerText()).includes('read')) throw new Error(`the row does not show the scope: ${await row.innerText()}`);
  await page.screenshot({ path: keyShot });
  const before = await statusWithKey(key);
  if (before !== 200) throw new Error(`the new key answered ${before}, not 200`);

  step = 'the key is shown once';
  await keys.locator('[data-testid=api-key-created-done]').click();
  await created.waitFor({ state: 'detached' });
  if ((await page.locator('body').innerText()).includes(key)) throw new Error('the key is still on the page');

  step = 'revoke the key';
  await row.locator('[data-testid=api-key-revoke]').click();
  await row.locator('[data-testid=api-key-revoke]', { hasText: 'Really revoke?' }).click();
  await row.waitFor({ state: 'detached' });
  const after = await statusWithKey(key);
  if (after !== 401) throw new Error(`the revoked key answered ${after}, not 401`);

  await pass(browser, `ok: 2FA set up, signed in with a code, API key created and revoked; screenshots at ${screenshot}, ${setupShot}, ${loginShot}, ${usersShot}, ${keyShot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
