// Snippets in a real browser: open a terminal, press Ctrl+K, pick a snippet by typing part of its
// name, fill in its {param}, and read the command's output off the xterm screen; a snippet that
// asks for confirmation shows the command and runs only after "Run"; Escape closes the palette
// and gives the keyboard back to the terminal; a snippet added in the Snippets dialog (user menu)
// runs from the palette too.
//
// usage: node snippets.mjs <base_url> <username> <password> <server_name> <screenshot.png>
// The gateway already holds two snippets (made through the API by the test):
//   "Greet someone": echo "snippet-{word}-$((6*7))"
//   "Confirm me" (confirm): echo "confirmed-$((40+2))"
// Every marker is computed by the shell, so the echoed command line never matches it.

import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, username, password, serverName, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node snippets.mjs <base_url> <username> <password> <server_name> <screenshot.png>');
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

  step = 'open a terminal';
  const item = page.locator('[data-testid=server-item]', { hasText: serverName }).first();
  await item.locator('[data-testid=open-terminal]').click();
  const pane = page.locator('[data-testid=terminal-pane]').last();
  await pane.locator('.xterm').waitFor();
  await pane.locator('.xterm').click();
  const rows = pane.locator('.xterm-rows');
  const screenHas = async (text) => page.waitForFunction(
    ([el, t]) => el && el.innerText.includes(t),
    [await rows.elementHandle(), text],
  );
  const screenLacks = async (text) => {
    const has = await rows.evaluate((el, t) => el.innerText.includes(t), text);
    if (has) throw new Error(`the terminal already shows "${text}"`);
  };
  await page.waitForFunction((el) => el && /[$#]\s*$/m.test(el.innerText), await rows.elementHandle());
  // Where the keyboard is: the element with this data-testid has the focus.
  const focused = (testid) => page.waitForFunction((t) => document.activeElement?.dataset?.testid === t, testid);

  step = 'Ctrl+K in the terminal opens the palette';
  const palette = page.locator('[data-testid=snippet-palette]');
  await page.keyboard.press('Control+k');
  await palette.waitFor();
  await page.locator('[data-testid=snippet-item]').first().waitFor();

  step = 'filter by part of the name and pick with Enter';
  await page.keyboard.type('greet');
  const items = page.locator('[data-testid=snippet-item]');
  const names = await items.evaluateAll((els) => els.map((e) => e.dataset.name));
  if (names.length !== 1 || names[0] !== 'Greet someone') {
    throw new Error(`"greet" should leave only "Greet someone", the palette shows ${JSON.stringify(names)}`);
  }
  await page.keyboard.press('Enter');

  step = 'fill in the {word} parameter';
  // The first parameter takes the keyboard by itself.
  await focused('snippet-param-word');
  await page.keyboard.type('hello');
  const preview = await page.locator('[data-testid=snippet-preview]').innerText();
  if (!preview.includes('echo "snippet-hello-$((6*7))"')) {
    throw new Error(`the preview shows ${JSON.stringify(preview)}`);
  }
  await page.keyboard.press('Enter');

  step = 'the command ran in the terminal';
  await palette.waitFor({ state: 'detached' });
  await screenHas('snippet-hello-42');

  step = 'a snippet with confirmation shows the command and waits';
  await page.keyboard.press('Control+k');
  await palette.waitFor();
  await page.keyboard.type('confirm');
  await page.keyboard.press('Enter');
  await focused('snippet-confirm-run');
  const shown = await page.locator('[data-testid=snippet-confirm-command]').innerText();
  if (!shown.includes('echo "confirmed-$((40+2))"')) throw new Error(`the confirmation shows ${JSON.stringify(shown)}`);
  await page.waitForTimeout(500);
  await screenLacks('confirmed-42');
  await page.locator('[data-testid=snippet-confirm-run]').click();
  await palette.waitFor({ state: 'detached' });
  await screenHas('confirmed-42');

  step = 'Escape closes the palette and the terminal has the keyboard again';
  await page.keyboard.press('Control+k');
  await palette.waitFor();
  await page.keyboard.press('Escape');
  await palette.waitFor({ state: 'detached' });
  await page.keyboard.type('echo "back-$((1+1))"');
  await page.keyboard.press('Enter');
  await screenHas('back-2');

  step = 'add a snippet in the Snippets dialog';
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=open-snippets]').click();
  const dialog = page.locator('[data-testid=snippets-dialog]');
  await dialog.waitFor();
  await dialog.locator('[data-testid=snippet-row][data-name="Greet someone"]').waitFor();
  await dialog.locator('[data-testid=snippet-name]').fill('Made in the UI');
  await dialog.locator('[data-testid=snippet-command]').fill('echo {bad');
  await dialog.locator('[data-testid=snippet-command-error]').waitFor();
  await dialog.locator('[data-testid=snippet-command]').fill('echo "ui-{n}-$((3*3))"');
  const found = await dialog.locator('[data-testid=snippet-params-found]').innerText();
  if (!found.includes('{n}')) throw new Error(`the form says ${JSON.stringify(found)} about the parameters`);
  await dialog.locator('[data-testid=snippet-save]').click();
  await dialog.locator('[data-testid=snippet-row][data-name="Made in the UI"]').waitFor();
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-dialog.png') });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });

  step = 'run it from the palette';
  await pane.locator('.xterm').click();
  await page.keyboard.press('Control+k');
  await palette.waitFor();
  await page.keyboard.type('made ui');
  await page.locator('[data-testid=snippet-item][data-name="Made in the UI"]').waitFor();
  await page.keyboard.press('Enter');
  await focused('snippet-param-n');
  await page.keyboard.type('7');
  await page.keyboard.press('Enter');
  await screenHas('ui-7-9');

  step = 'screenshot';
  await page.keyboard.press('Control+k');
  await palette.waitFor();
  await page.screenshot({ path: screenshot });
  await page.keyboard.press('Escape');

  await pass(browser, `ok: snippets ran from the palette (param, confirm, dialog-made); screenshot at ${screenshot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
