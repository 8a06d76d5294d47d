/**
 * Debian's Chromium, driven by playwright-core, for tests that render a page. Where it is not
 * installed (`.ci/run` installs it) the tests skip with a visible message.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from './chromium-path';

export { CHROMIUM_PATH };

if (!CHROMIUM_PATH) {
  process.stderr.write('SKIPPED: chromium is not installed; the browser tests of the usage report are skipped (apt-get install chromium to run them).\n');
}

export const describeIfChromium = CHROMIUM_PATH ? describe : describe.skip;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Without the background-networking flags Chromium keeps trying Google's hosts on a closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
}

export interface PageWatch {
  /** Console errors and uncaught exceptions. */
  readonly errors: string[];
  /** Every request the page made other than for the page itself. */
  readonly requests: string[];
}

/** Opens a URL in a fresh page, recording console errors, page errors and every request but the page's own. */
export async function openWatched(browser: Browser, url: string): Promise<{ page: Page; watch: PageWatch }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const watch: PageWatch = { errors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') watch.errors.push(message.text());
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  page.on('request', (request) => {
    if (request.url() !== url) watch.requests.push(request.url());
  });
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  return { page, watch };
}
