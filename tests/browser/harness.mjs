// What every browser script shares: Debian's /usr/bin/chromium driven by playwright-core (never a
// downloaded browser), page errors collected as they happen, and on failure the step, the page's
// text and a screenshot, so a red test says what the person would have seen.

import { chromium } from 'playwright-core';

export const STEP_TIMEOUT = 30_000;

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // playwright gives every launch a new, empty profile directory of its own.
  });
}

// A new page with the step timeout, whose errors and console errors land in `problems`.
export async function openPage(context, problems) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return page;
}

export async function signIn(page, baseUrl, username, password) {
  await page.goto(baseUrl);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.locator('button[type=submit]').click();
}

// Prints why `step` failed and what the page showed, saves `failureShot`, closes the browser and
// exits 1.
export async function fail(browser, page, step, err, problems, failureShot) {
  console.error(`failed at step "${step}": ${err.message}`);
  for (const p of problems) console.error(p);
  if (page) {
    try {
      console.error(`url: ${page.url()}`);
      const text = await page.locator('body').innerText({ timeout: 2000 });
      console.error(`page text:\n${text.slice(0, 4000)}`);
      await page.screenshot({ path: failureShot });
      console.error(`failure screenshot at ${failureShot}`);
    } catch (e) {
      console.error(`could not capture the page: ${e.message}`);
    }
  }
  await browser.close();
  process.exit(1);
}

// Prints the success line and the notes, closes the browser and exits 0.
export async function pass(browser, message, problems) {
  // A Content-Security-Policy violation is a defect even when the flow got through.
  const blocked = problems.filter((p) => p.includes('Content Security Policy'));
  if (blocked.length) {
    for (const p of blocked) console.error(p);
    console.error('the page broke the Content-Security-Policy');
    await browser.close();
    process.exit(1);
  }
  console.log(message);
  for (const p of problems) console.log(`note: ${p}`);
  await browser.close();
  process.exit(0);
}
