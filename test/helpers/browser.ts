// A real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the status page tests.
// Under CI=true a missing browser is a failure, elsewhere a skip with the reason.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';

export const CHROMIUM_PATH = process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots and other things a person should look at after a run (git-ignored). */
export const ARTIFACT_DIR = path.join(PACKAGE_ROOT, 'test-artifacts');

// Nothing that phones home: the page must be the only source of requests.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-default-browser-check',
];

interface TapLike {
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
  comment(...args: unknown[]): unknown;
}

/**
 * True when the browser is there. Otherwise ends the test: a failure under CI=true (CI installs
 * chromium, so its absence is a broken runner), a skip with the reason elsewhere.
 */
export function requireBrowser(t: TapLike): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const reason = `${CHROMIUM_PATH} is missing (Debian package chromium; set AIRLOCK_CHROMIUM to use another)`;
  if (process.env.CI === 'true') t.fail(`browser tests need a browser under CI: ${reason}`);
  else t.plan(0, reason);
  return false;
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** every URL the page requested, in order */
  requests: string[];
  /** console errors and uncaught page errors (CSP violations land here) */
  errors: string[];
  close(): Promise<void>;
}

/** A fresh profile each time, so no cache or storage leaks between runs. */
export async function openBrowser(viewport = { width: 1280, height: 800 }): Promise<BrowserSession> {
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'airlock-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    reducedMotion: 'reduce',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return {
    context,
    page,
    requests,
    errors,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** URLs that do not belong to `origin` (e.g. http://127.0.0.1:7480). */
export function foreignRequests(urls: string[], origin: string): string[] {
  return urls.filter((u) => new URL(u).origin !== origin);
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  await mkdir(ARTIFACT_DIR, { recursive: true });
  const file = path.join(ARTIFACT_DIR, name);
  await page.screenshot({ path: file, fullPage });
  return file;
}

export interface ContrastProblem {
  selector: string;
  text: string;
  ratio: number;
  needed: number;
}

// Runs in the page (kept as source text: this project compiles without the DOM library).
const CONTRAST_PROBE = String.raw`(selectors) => {
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p[3] ?? 1];
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg[3] >= 0.99) return bg;
    }
    return [255, 255, 255, 1];
  };
  const out = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      const style = getComputedStyle(el);
      const rect = el.getBoundingClientRect();
      if (!el.textContent.trim() || rect.width === 0 || style.visibility === 'hidden') continue;
      const l1 = lum(parse(style.color));
      const l2 = lum(background(el));
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
      const size = parseFloat(style.fontSize);
      const needed = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700) ? 3 : 4.5;
      if (ratio < needed) out.push({ selector, text: el.textContent.trim().slice(0, 60), ratio: Math.round(ratio * 100) / 100, needed });
    }
  }
  return out;
}`;

/**
 * WCAG 2 contrast of the visible text matched by `selectors` against the first opaque background
 * behind it: 4.5:1, or 3:1 for large text (24px, or 18.66px bold).
 */
export async function contrastProblems(page: Page, selectors: string[]): Promise<ContrastProblem[]> {
  return page.evaluate(`(${CONTRAST_PROBE})(${JSON.stringify(selectors)})`) as Promise<ContrastProblem[]>;
}

/**
 * Poll a JavaScript expression in the page until it is truthy. (page.waitForFunction with a string
 * evaluates it with eval, which the page's CSP forbids; page.evaluate does not.)
 */
export async function waitForExpression(page: Page, expression: string, timeoutMs = 30_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v: unknown = await page.evaluate(expression);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
