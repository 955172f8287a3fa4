// Sharing a terminal between two people in two browser contexts: the owner opens a terminal,
// shares it read-write from the Share dialog and copies the link; the joiner (signed in) opens
// the link, sees the banner naming the owner and the owner's output, and types a command the
// owner sees run; the owner sees the joiner among the participants and kicks them, and the
// joiner's tab is told so.
//
// usage: node share.mjs <base_url> <owner> <owner_password> <joiner> <joiner_password> <server_name> <screenshot.png>
// Exit 0 when all of it happened; otherwise print what the page showed and exit 1.

import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, owner, ownerPassword, joiner, joinerPassword, serverName, screenshot] =
  process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node share.mjs <base_url> <owner> <owner_password> <joiner> <joiner_password> <server_name> <screenshot.png>');
  process.exit(2);
}
const failureShot = screenshot.replace(/\.png$/, '-failure.png');

const browser = await launch();
const problems = [];
let page;
let step = 'start';

async function screenIncludes(p, rows, text) {
  await p.waitForFunction(
    ([el, wanted]) => el && el.innerText.includes(wanted),
    [await rows.elementHandle(), text],
  );
}

try {
  const ownerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const ownerPage = await openPage(ownerContext, problems);
  page = ownerPage;

  step = 'owner signs in and opens a terminal';
  await signIn(ownerPage, baseUrl, owner, ownerPassword);
  const item = ownerPage.locator('[data-testid=server-item]', { hasText: serverName }).first();
  await item.locator('[data-testid=open-terminal]').click();
  const ownerPane = ownerPage.locator('[data-testid=terminal-pane]').last();
  const ownerRows = ownerPane.locator('.xterm-rows');
  await ownerPane.locator('.xterm').click();
  await ownerPage.waitForFunction((el) => el && /[$#]\s*$/m.test(el.innerText), await ownerRows.elementHandle());
  await ownerPage.keyboard.type('echo "owner says $((6*7))"');
  await ownerPage.keyboard.press('Enter');
  await screenIncludes(ownerPage, ownerRows, 'owner says 42');

  step = 'owner creates a read-write link';
  await ownerPane.locator('[data-testid=share-button]').click();
  const dialog = ownerPage.locator('[data-testid=share-dialog]');
  await dialog.locator('[data-testid=share-mode]').selectOption('rw');
  await dialog.locator('[data-testid=share-create]').click();
  const linkInput = dialog.locator('[data-testid=share-link]');
  await linkInput.waitFor();
  const link = await linkInput.inputValue();
  if (!link.includes('/#/join/')) throw new Error(`the link is not a join route: ${link}`);
  if (link.includes('?')) throw new Error(`the link carries a query string: ${link}`);
  await dialog.locator('[data-testid=share-item]').first().waitFor();

  step = 'joiner signs in and opens the link';
  const joinerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const joinerPage = await openPage(joinerContext, problems);
  page = joinerPage;
  await signIn(joinerPage, baseUrl, joiner, joinerPassword);
  await joinerPage.locator('[data-testid=nav-terminals]').waitFor();
  await joinerPage.goto(link);
  const banner = joinerPage.locator('[data-testid=join-banner]');
  await banner.waitFor();
  const bannerText = await banner.innerText();
  if (!bannerText.includes(`Shared with you by ${owner}`)) throw new Error(`banner: ${bannerText}`);
  if (joinerPage.url().includes('/join/')) throw new Error(`the token stayed in the address bar: ${joinerPage.url()}`);
  const joinerPane = joinerPage.locator('[data-testid=terminal-pane]').last();
  const joinerRows = joinerPane.locator('.xterm-rows');
  await screenIncludes(joinerPage, joinerRows, 'owner says 42');

  step = 'joiner types; the owner sees it run';
  await joinerPane.locator('.xterm').click();
  await joinerPage.keyboard.type('echo "joiner says $((6*7+1))"');
  await joinerPage.keyboard.press('Enter');
  await screenIncludes(joinerPage, joinerRows, 'joiner says 43');
  page = ownerPage;
  await screenIncludes(ownerPage, ownerRows, 'joiner says 43');

  step = 'owner sees the participant and kicks them';
  const participant = dialog.locator(`[data-testid=participant][data-username="${joiner}"]`);
  await participant.waitFor();
  await ownerPage.screenshot({ path: screenshot });
  await participant.locator('[data-testid=participant-kick]').click();
  await dialog.locator('[data-testid=participant]').waitFor({ state: 'detached' });
  page = joinerPage;
  await screenIncludes(joinerPage, joinerRows, 'removed you');

  await pass(browser, `ok: shared, joined, typed and kicked; screenshot at ${screenshot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
