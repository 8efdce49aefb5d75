/**
 * A headless Chromium for the status page's tests, driven by playwright-core. Playwright's own
 * browser downloads are not used: the tests run the system's Chromium (the Debian package that
 * scripts/setup.sh installs), found on PATH or named by CHROMIUM_PATH.
 *
 *     const browser = await launchChromium(t);
 *     const page = await browser.newPage();
 *     const watch = watchPage(page, origin);
 *     await page.goto(`${origin}/`);
 *     assert.deepEqual(watch.problems(), []);
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/** The Chromium executable: CHROMIUM_PATH, or the first of the usual names on PATH. */
export function chromiumPath(): string {
  const candidates = process.env.CHROMIUM_PATH
    ? [process.env.CHROMIUM_PATH]
    : (process.env.PATH ?? '').split(delimiter).flatMap((dir) => NAMES.map((name) => join(dir, name)));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not this one.
    }
  }
  throw new Error(
    `no Chromium found (${NAMES.join(', ')} on PATH, or CHROMIUM_PATH): scripts/setup.sh installs the chromium package`,
  );
}

/** Launches a headless Chromium, closed when the test ends. */
export async function launchChromium(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Chromium's sandbox refuses to run as root (CI here runs as root); /dev/shm may be small in a container.
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
  });
  t.after(() => browser.close());
  return browser;
}

/** What a page did that a test wants to see none of. */
export interface PageWatch {
  /** Every URL the page requested. */
  readonly requests: string[];
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  /** alert(), confirm(), prompt() texts: a script that should not run, did. */
  readonly dialogs: string[];
  /** Requests to anything but `origin`, console errors, uncaught errors and dialogs. */
  problems(): string[];
}

/** Records the page's requests, console errors, uncaught exceptions and dialogs from now on. */
export function watchPage(page: Page, origin: string): PageWatch {
  const watch = {
    requests: [] as string[],
    consoleErrors: [] as string[],
    pageErrors: [] as string[],
    dialogs: [] as string[],
    problems() {
      return [
        ...watch.requests.filter((url) => new URL(url).origin !== origin).map((url) => `request to ${url}`),
        ...watch.consoleErrors.map((text) => `console error: ${text}`),
        ...watch.pageErrors.map((text) => `uncaught: ${text}`),
        ...watch.dialogs.map((text) => `dialog: ${text}`),
      ];
    },
  };
  page.on('request', (request) => watch.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') watch.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => watch.pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    watch.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return watch;
}
