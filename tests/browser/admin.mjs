// The admin screens for identity, as an admin uses them: edits a user's role and server groups
// and sets a new password in the Edit dialog, and the user signs in with that password in a second
// browser; then the Sign-in view shows LDAP and OIDC as not configured (the test gateway has
// neither), and the LDAP and OIDC tests report the failing `settings` step in words.
//
// usage: node admin.mjs <base_url> <admin> <admin_password> <user> <new_password> <screenshot.png>
// Exit 0 when all of it happened; otherwise print what the page showed and exit 1.

import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, admin, adminPassword, user, newPassword, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error(
    'usage: node admin.mjs <base_url> <admin> <admin_password> <user> <new_password> <screenshot.png>',
  );
  process.exit(2);
}
const failureShot = screenshot.replace(/\.png$/, '-failure.png');
const editShot = screenshot.replace(/\.png$/, '-edit-user.png');
const usersShot = screenshot.replace(/\.png$/, '-users.png');
const themedShot = screenshot.replace(/\.png$/, '-other-theme.png');

const browser = await launch();
const problems = [];
let page;
let step = 'start';

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await openPage(context, problems);

  step = 'sign in as the admin';
  await signIn(page, baseUrl, admin, adminPassword);
  await page.locator('[data-testid=nav-users]').click();

  step = 'open the Edit dialog of the user';
  const row = page.locator(`[data-testid=user-row][data-username="${user}"]`);
  await row.locator('[data-testid=edit-user]').click();
  const dialog = page.locator('[data-testid=edit-user-dialog]');
  await dialog.waitFor();

  step = 'change role, groups and password';
  await dialog.locator('[data-testid=edit-user-role]').selectOption('auditor');
  await dialog.locator('[data-testid=edit-user-groups]').fill('ops, dev');
  await dialog.locator('[data-testid=edit-user-password]').fill(newPassword);
  await page.screenshot({ path: editShot });
  await dialog.locator('[data-testid=edit-user-save]').click();
  await dialog.waitFor({ state: 'detached' });

  step = 'the row shows the new role and groups';
  await row.locator('td', { hasText: 'auditor' }).first().waitFor();
  await row.locator('td', { hasText: /ops/ }).first().waitFor();
  const rowText = await row.innerText();
  if (!rowText.includes('dev') || !rowText.includes('ops')) {
    throw new Error(`the row does not show the groups: ${rowText}`);
  }
  await page.screenshot({ path: usersShot });

  step = 'the user signs in with the new password in a second browser';
  const other = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const userPage = await openPage(other, problems);
  await signIn(userPage, baseUrl, user, newPassword);
  await userPage.locator('[data-testid=user-menu]').waitFor();
  await other.close();

  step = 'the Sign-in view shows both providers as not configured';
  await page.locator('[data-testid=nav-identity]').click();
  const ldap = page.locator('[data-testid=ldap-status]');
  const oidc = page.locator('[data-testid=oidc-status]');
  await ldap.getByText('Not configured').waitFor();
  await oidc.getByText('Not configured').waitFor();
  for (const [what, card, setting] of [['LDAP', ldap, 'ldap_url'], ['OIDC', oidc, 'oidc_issuer']]) {
    const text = await card.innerText();
    if (!text.includes(setting)) throw new Error(`${what} status does not name ${setting}: ${text}`);
  }

  step = 'the LDAP test reports the settings step failing';
  await page.locator('[data-testid=ldap-test]').click();
  const ldapResult = page.locator('[data-testid=ldap-test-result]');
  const ldapStep = ldapResult.locator('[data-testid=test-step][data-step=settings]');
  await ldapStep.waitFor();
  if ((await ldapStep.getAttribute('data-ok')) !== 'false') throw new Error('the settings step passed');
  const ldapText = await ldapStep.innerText();
  if (!ldapText.includes('ldap_url is not set')) {
    throw new Error(`the LDAP settings step does not say why: ${ldapText}`);
  }
  await ldapResult.getByText('Failed').waitFor();

  step = 'the OIDC test reports the settings step failing';
  await page.locator('[data-testid=oidc-test]').click();
  const oidcStep = page.locator(
    '[data-testid=oidc-test-result] [data-testid=test-step][data-step=settings]',
  );
  await oidcStep.waitFor();
  if ((await oidcStep.getAttribute('data-ok')) !== 'false') throw new Error('the OIDC settings step passed');
  await page.screenshot({ path: screenshot, fullPage: true });

  step = 'the Sign-in view in the other theme';
  await page.locator('[data-testid=theme-toggle]').click();
  await page.screenshot({ path: themedShot, fullPage: true });

  await pass(
    browser,
    `ok: user edited and signed in with the new password; providers not configured, tests failed at settings; screenshots at ${screenshot}, ${editShot}, ${usersShot}, ${themedShot}`,
    problems,
  );
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
