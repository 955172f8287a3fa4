// The file manager in a real browser: sign in, open Files, pick a server in the left pane, go to
// a prepared folder, upload a file by drag & drop (and drop it again: "Replace?" → Skip), open it
// in the editor (which must load only then), change it while someone else changes it too, save
// with Ctrl+S (conflict → Overwrite), reopen it to see the change, try to close with unsaved
// changes (the guard must ask), download it and compare the bytes, copy it to the other pane
// with F5, make a folder, rename (F2), chmod, delete, download a ZIP, sort, filter, preview, and
// take screenshots.
//
// usage: GATEHOUSE_FILES_DIR=<remote dir> node files.mjs <base_url> <username> <password> <server_name> <artifacts_dir>
// The remote dir must hold `readme.md`, a symlink `readme-link` -> `readme.md`, and a folder `sub`.
// Exit 0 when everything was seen; otherwise print what the page showed and exit 1.
// Drives Debian's /usr/bin/chromium (never a downloaded browser).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail, launch, openPage, pass, signIn } from './harness.mjs';

const [baseUrl, username, password, serverName, artifacts] = process.argv.slice(2);
const dir = process.env.GATEHOUSE_FILES_DIR;
if (!artifacts || !dir) {
  console.error('usage: GATEHOUSE_FILES_DIR=<remote dir> node files.mjs <base_url> <username> <password> <server_name> <artifacts_dir>');
  process.exit(2);
}
const FILE_NAME = 'notes.txt';
const ORIGINAL = 'first line from the drop\n';
const EDITED = 'edited in the browser\nsecond line: ünïcödé ✓\n';
const ELSEWHERE = 'changed by someone else\n';
const screenshot = join(artifacts, 'files.png');
const editorShot = join(artifacts, 'files-editor.png');
const downloaded = join(artifacts, 'files-download.txt');
const failureShot = join(artifacts, 'files-failure.png');

const browser = await launch();

const problems = [];
let page;
let step = 'start';
try {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 860 },
    colorScheme: 'dark',
    acceptDownloads: true,
  });
  page = await openPage(context, problems);

  step = 'sign in';
  await signIn(page, baseUrl, username, password);
  await page.locator('[data-testid=server-item]', { hasText: serverName }).first().waitFor();

  step = 'open Files';
  await page.locator('[data-testid=nav-files]').click();
  const left = page.locator('[data-testid=file-pane][data-side=left]');
  await left.waitFor();

  step = `pick "${serverName}" in the left pane`;
  await left.locator('[data-testid=pane-server]').selectOption({ label: serverName });
  // The login directory is listed first: the breadcrumb gets crumbs beyond "/".
  await left.locator('[data-testid=crumb]').nth(1).waitFor();

  step = `go to ${dir}`;
  await left.locator('[data-testid=edit-path]').click();
  await left.locator('[data-testid=path-input]').fill(dir);
  await left.locator('[data-testid=path-input]').press('Enter');
  await left.locator(`[data-testid=crumb][data-path="${dir}"]`).waitFor();
  const row = (name) => left.locator(`[data-testid=file-row][data-name="${name}"]`);
  await row('readme.md').waitFor();

  step = 'see the symlink as a symlink';
  const link = row('readme-link');
  if ((await link.getAttribute('data-kind')) !== 'symlink') throw new Error('readme-link is not shown as a symlink');
  const target = await link.locator('[data-testid=link-target]').innerText();
  if (!target.includes('readme.md')) throw new Error(`the link target shows "${target}"`);

  const drop = (name, text) => left.locator('[data-testid=pane-drop]').evaluate((zone, file) => {
    const data = new DataTransfer();
    data.items.add(new File([file.text], file.name, { type: 'text/plain' }));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
  }, { name, text });

  step = 'drop a file on the pane';
  await drop(FILE_NAME, ORIGINAL);
  await row(FILE_NAME).waitFor();
  await page.locator('[data-testid=transfer][data-kind=upload][data-state=done]').first().waitFor();

  step = 'drop it again: the existing file is not replaced without asking';
  await drop(FILE_NAME, 'must not land\n');
  const dialog = page.locator('[data-testid=file-dialog]');
  await dialog.waitFor();
  await dialog.locator('[data-testid=skip]').click();
  await page.locator('[data-testid=transfer][data-kind=upload][data-state=skipped]').waitFor();

  step = 'the editor is not loaded before it is needed';
  const loadedBefore = await page.evaluate(() => ({
    global: typeof window.GatehouseEditor !== 'undefined',
    script: !!document.querySelector('script[src*="editor.js"]'),
  }));
  if (loadedBefore.global || loadedBefore.script) {
    throw new Error(`the editor bundle was loaded with the page: ${JSON.stringify(loadedBefore)}`);
  }

  step = 'open the uploaded file in the editor';
  await row(FILE_NAME).dblclick();
  const editor = page.locator('[data-testid=editor][data-state=ready]');
  await editor.waitFor();
  const content = editor.locator('.cm-content');
  const shown = await content.innerText();
  if (!shown.includes(ORIGINAL.trim())) throw new Error(`the editor shows "${shown}"`);
  if (!(await page.evaluate(() => typeof window.GatehouseEditor?.create === 'function'))) {
    throw new Error('window.GatehouseEditor.create is missing after the editor opened');
  }

  step = 'someone else changes the file while it is open';
  const serverId = await page.locator('[data-testid=server-item]', { hasText: serverName })
    .first().getAttribute('data-server-id');
  // Modification times have one-second resolution: let the clock move on first.
  await page.waitForTimeout(1100);
  const status = await page.evaluate(async ({ id, path, content }) => {
    const res = await fetch(`api/files/${id}/write`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path, content }),
    });
    return res.status;
  }, { id: serverId, path: `${dir}/${FILE_NAME}`, content: ELSEWHERE });
  if (status !== 200) throw new Error(`the concurrent write answered ${status}`);

  step = 'edit and save with Ctrl+S: a conflict, then overwrite';
  await content.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(EDITED);
  await editor.locator('[data-testid=editor-dirty]').waitFor();
  await page.keyboard.press('Control+S');
  await editor.locator('[data-testid=editor-conflict]').waitFor();
  await editor.locator('[data-testid=editor-overwrite]').click();
  await page.locator('[data-testid=toast]', { hasText: `Saved ${FILE_NAME}` }).waitFor();
  await editor.locator('[data-testid=editor-conflict]').waitFor({ state: 'detached' });
  await editor.locator('[data-testid=editor-dirty]').waitFor({ state: 'detached' });
  await page.screenshot({ path: editorShot });
  await editor.locator('[data-testid=editor-close]').click();
  await page.locator('[data-testid=editor]').waitFor({ state: 'detached' });

  step = 'reopen: the saved text comes back from the server';
  await row(FILE_NAME).dblclick();
  await editor.waitFor();
  const reread = await editor.locator('.cm-content').innerText();
  if (!reread.includes('edited in the browser') || !reread.includes('second line: ünïcödé ✓')) {
    throw new Error(`after reopening, the editor shows "${reread}"`);
  }

  step = 'closing with unsaved changes asks first';
  await editor.locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.insertText('not saved');
  await editor.locator('[data-testid=editor-close]').click();
  await page.locator('[data-testid=editor-unsaved]').waitFor();
  await page.locator('[data-testid=editor-discard]').click();
  await page.locator('[data-testid=editor]').waitFor({ state: 'detached' });

  step = 'download it from the context menu';
  await row(FILE_NAME).click();
  await row(FILE_NAME).click({ button: 'right' });
  await page.locator('[data-testid=context-menu]').waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('[data-testid=menu-download]').click(),
  ]);
  await download.saveAs(downloaded);
  const bytes = await readFile(downloaded, 'utf8');
  if (bytes !== EDITED) throw new Error(`the download holds ${JSON.stringify(bytes)}`);
  if (download.suggestedFilename() !== FILE_NAME) {
    throw new Error(`the download is named "${download.suggestedFilename()}"`);
  }

  step = 'open the sub folder in the right pane';
  const right = page.locator('[data-testid=file-pane][data-side=right]');
  await right.locator('[data-testid=pane-server]').selectOption({ label: serverName });
  await right.locator('[data-testid=crumb]').nth(1).waitFor();
  await right.locator('[data-testid=edit-path]').click();
  await right.locator('[data-testid=path-input]').fill(`${dir}/sub`);
  await right.locator('[data-testid=path-input]').press('Enter');
  await right.locator(`[data-testid=crumb][data-path="${dir}/sub"]`).waitFor();

  step = 'copy the file to the right pane with F5';
  await row(FILE_NAME).click();
  await page.keyboard.press('F5');
  await page.locator('[data-testid=transfer][data-kind=copy][data-state=done]').waitFor();
  await right.locator(`[data-testid=file-row][data-name="${FILE_NAME}"]`).waitFor();

  step = 'new folder, rename (F2), chmod and delete in the right pane';
  const rrow = (name) => right.locator(`[data-testid=file-row][data-name="${name}"]`);
  const answer = async (text) => {
    await dialog.locator('[data-testid=dialog-input]').fill(text);
    await dialog.locator('[data-testid=dialog-input]').press('Enter');
    await dialog.waitFor({ state: 'detached' });
  };
  await right.locator('[data-testid=new-folder]').click();
  await answer('made-here');
  await rrow('made-here').waitFor();
  if ((await rrow('made-here').getAttribute('data-kind')) !== 'dir') throw new Error('the new folder is not a folder');
  await rrow(FILE_NAME).click();
  await page.keyboard.press('F2');
  await answer('renamed.txt');
  await rrow('renamed.txt').waitFor();
  await rrow('renamed.txt').click({ button: 'right' });
  await page.locator('[data-testid=menu-chmod]').click();
  await answer('600');
  await right.locator('[data-testid=file-row][data-name="renamed.txt"] .col-mode', { hasText: '-rw-------' }).waitFor();
  await rrow('made-here').click();
  await page.keyboard.press('Delete');
  await dialog.locator('[data-testid=confirm-delete]').click();
  await rrow('made-here').waitFor({ state: 'detached' });

  step = 'download a selection as ZIP';
  await rrow('renamed.txt').click({ button: 'right' });
  const [zip] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('[data-testid=menu-download-zip]').click(),
  ]);
  const zipPath = join(artifacts, 'files-download.zip');
  await zip.saveAs(zipPath);
  const zipBytes = await readFile(zipPath);
  if (zipBytes.subarray(0, 2).toString() !== 'PK') throw new Error('the ZIP download is not a ZIP');

  step = 'sort, filter, preview';
  await left.locator('[data-testid=sort-column][data-sort=size]').click();
  await left.locator('[data-testid=sort-column][data-sort=size][aria-sort=ascending]').waitFor();
  await left.locator('[data-testid=pane-filter]').fill('read');
  await row(FILE_NAME).waitFor({ state: 'detached' });
  await row('readme.md').click({ button: 'right' });
  await page.locator('[data-testid=menu-preview]').click();
  await page.locator('[data-testid=preview] [data-testid=preview-frame]').waitFor();
  await page.locator('[data-testid=preview-close]').click();
  await page.locator('[data-testid=preview]').waitFor({ state: 'detached' });
  await left.locator('[data-testid=pane-filter]').fill('');
  await left.locator('[data-testid=sort-column][data-sort=name]').click();

  step = 'screenshot';
  await row(FILE_NAME).click();
  await page.screenshot({ path: screenshot });
  await pass(browser, `ok: uploaded, edited, saved, reopened, downloaded, copied and renamed ${FILE_NAME}; screenshots at ${screenshot}, ${editorShot}`, problems);
} catch (err) {
  await fail(browser, page, step, err, problems, failureShot);
}
