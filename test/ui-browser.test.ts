// The status page in a real headless Chromium against the real daemon: bundles arrive, verify and install
// live; a tampered one shows `rejected` with its code, first in the summary and above the fold; a tampered copy
// of an installed one shows `duplicate`, never installed; a bundle its model no longer serves is labelled replaced;
// actions need the token and a confirmation; the page works on a narrow window (models before the history),
// dates old times, keeps its contrast, warns when the daemon goes away, and talks to no one else.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { recordIdFor } from '../src/pipeline/decisions.js';
import {
  contrastProblems,
  foreignRequests,
  openBrowser,
  requireBrowser,
  screenshot,
  waitForExpression,
  type BrowserSession,
} from './helpers/browser.js';
import { manifestFor, writeDirBundle, type SourceFile } from './helpers/bundle-builder.js';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.js';
import { scratchDir } from './helpers/scratch.js';
import { makeKey, writeAllowedSigners, type TestKey } from './helpers/keys.js';

const run = promisify(execFile);
const PRINCIPAL = 'release@airlock.test';
const MODEL = 'test/ui-model';

interface Sample {
  id: string;
  value: number | null;
  max: number;
}

// Runs in the page: every value/max the progress bars take, so a test sees them move, not just end.
const RECORD_PROGRESS = `(() => {
  window.__samples = [];
  const record = (p) => window.__samples.push({ id: p.id, value: p.hasAttribute('value') ? Number(p.getAttribute('value')) : null, max: Number(p.getAttribute('max')) });
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes' && m.target.tagName === 'PROGRESS') record(m.target);
      for (const n of m.addedNodes) if (n.querySelectorAll) n.querySelectorAll('progress').forEach(record);
    }
  }).observe(document.getElementById('bundles'), { subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'max'] });
})()`;

/** The DOM id the page gives a bundle card (ui/dom.js domId). */
const cardDomId = (recordId: string) => `bundle-${recordId.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** Deterministic incompressible-looking bytes, big enough that arrival takes several probes. */
function weights(size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update('ui-weights').digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Copy a directory bundle the way a slow USB stick would: manifest first, the big file in pieces. */
/** Copy a folder bundle in chunks; `midway` runs once, halfway through the largest file, while the copy waits. */
async function copySlowly(src: string, dest: string, chunk: number, pauseMs: number, midway?: () => Promise<void>): Promise<void> {
  await fsp.mkdir(dest, { recursive: true });
  await fsp.copyFile(path.join(src, 'airlock.json'), path.join(dest, 'airlock.json'));
  await fsp.cp(path.join(src, 'signatures'), path.join(dest, 'signatures'), { recursive: true });
  for (const rel of await fsp.readdir(path.join(src, 'payload'), { recursive: true })) {
    const from = path.join(src, 'payload', rel);
    if (!(await fsp.stat(from)).isFile()) continue;
    const to = path.join(dest, 'payload', rel);
    await fsp.mkdir(path.dirname(to), { recursive: true });
    const data = await fsp.readFile(from);
    const fh = await fsp.open(to, 'w');
    let held = false;
    for (let off = 0; off < data.length; off += chunk) {
      await fh.write(data, off, Math.min(chunk, data.length - off));
      if (data.length > chunk) await new Promise((r) => setTimeout(r, pauseMs));
      // On a loaded machine the whole copy can end between two looks of the daemon: hold it until the page saw it.
      if (midway && !held && off + chunk >= data.length / 2 && off + chunk < data.length) {
        held = true;
        await midway();
      }
    }
    await fh.close();
  }
}

async function modelBundle(dir: string, key: TestKey, sequence: number, files: SourceFile[]): Promise<string> {
  await writeDirBundle(dir, { files, manifest: manifestFor(files, { id: `ui-model-${sequence}`, name: MODEL, sequence }), signers: [key] });
  return dir;
}

async function fingerprintOf(key: TestKey): Promise<string> {
  const { stdout } = await run('ssh-keygen', ['-l', '-f', `${key.privatePath}.pub`]);
  return /SHA256:\S+/.exec(stdout)![0];
}

if (requireBrowser(t)) {
  const base = scratchDir(t);
  const key = makeKey(path.join(base, 'keys'), 'release');
  const allowedSigners = writeAllowedSigners(path.join(base, 'allowed_signers'), [{ principals: PRINCIPAL, key }]);
  const fingerprint = await fingerprintOf(key);
  const daemonDir = path.join(base, 'daemon');
  const daemonConfig = { trust: { allowedSigners, threshold: 1 }, quietPeriodMs: 500 };
  let d: TestDaemon = await startTestDaemon(t, { dir: daemonDir, config: daemonConfig });
  const origin = new URL(d.url).origin;
  const b: BrowserSession = await openBrowser({ width: 1280, height: 800 });
  t.teardown(() => b.close());
  const { page } = b;
  const card = (location: string) => page.locator(`#${cardDomId(recordIdFor(location))}`);
  const cardState = (location: string, state: string) => `#${cardDomId(recordIdFor(location))}[data-state="${state}"]`;

  t.test('the page loads from the daemon and goes live', async (t) => {
    await page.goto(`${d.url}/`);
    await page.waitForSelector('#connection[data-state="live"]');
    t.equal(await page.title(), 'airlock status');
    t.ok(await page.locator('#bundles-empty').isVisible(), 'says no bundle yet');
    t.equal(await page.locator('h1').count(), 1, 'one h1');
    for (const landmark of ['banner', 'main', 'contentinfo'] as const) t.equal(await page.getByRole(landmark).count(), 1, `${landmark} landmark`);
    t.equal(await page.locator('#announcer[aria-live="polite"]').count(), 1, 'a live region announces state changes');
    await page.evaluate(RECORD_PROGRESS);
  });

  const s1 = path.join(d.drop, 'model-s1');
  t.test('a bundle arrives, verifies and installs live', async (t) => {
    const files = [
      { path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}\n') },
      { path: 'weights/model.safetensors', data: weights(48 * 1024 * 1024) },
    ];
    const staged = await modelBundle(path.join(base, 'staging', 'model-s1'), key, 1, files);
    const bar = `document.getElementById('${cardDomId(recordIdFor(s1))}-arrival')`;
    await copySlowly(staged, s1, 6 * 1024 * 1024, 150, async () => {
      await page.waitForSelector(cardState(s1, 'arriving'), { timeout: 30_000 });
      await waitForExpression(page, `${bar} && ${bar}.value > ${bar}.max / 3 && ${bar}.value < ${bar}.max`);
      t.comment(`screenshot: ${await screenshot(page, 'ui-status-arriving.png', false)}`);
    });
    await page.waitForSelector(cardState(s1, 'installed'), { timeout: 60_000 });

    const id = cardDomId(recordIdFor(s1));
    const samples = (await page.evaluate('window.__samples')) as Sample[];
    const arrival = samples.filter((s) => s.id === `${id}-arrival`);
    const verification = samples.filter((s) => s.id === `${id}-verification`);
    const expected = 48 * 1024 * 1024 + files[0]!.data.length;
    t.ok(
      arrival.some((s) => s.value !== null && s.value > 0 && s.value < expected && s.max === expected),
      'the arrival bar stood part-way while the copy ran',
    );
    t.same(arrival.at(-1), { id: `${id}-arrival`, value: expected, max: expected }, 'arrival ends full');
    t.ok(new Set(verification.map((s) => s.value)).size >= 2, 'the verification bar moved');
    t.ok(
      verification.some((s) => s.value !== null && s.value > 0 && s.value < expected && s.max === expected),
      'while the weights still arrived, the verification bar showed the bytes verified so far, apart from the arrival bar',
    );
    t.equal(verification.at(-1)?.value, expected, 'verification ends with every byte hashed');
    t.equal(verification.at(-1)?.max, expected);
    t.comment(
      `arrival samples ${arrival.length}: ${arrival.map((s) => `${s.value}/${s.max}`).join(' ')}; verification samples ${verification.length}: ${verification.map((s) => s.value).join(' ')}`,
    );

    const c = card(s1);
    t.equal((await c.locator('h3').textContent())?.trim(), MODEL);
    t.match(await c.locator('[data-role="state"]').textContent(), /installed/);
    t.match(await c.locator('.meta').textContent(), /channel stable · sequence 1/);
    const signers = (await c.locator('[data-role="signers"]').textContent()) ?? '';
    t.match(signers, PRINCIPAL, 'signer principal shown');
    t.match(signers, fingerprint, 'signer fingerprint shown as ssh-keygen -l prints it');
    t.equal(await c.getByRole('progressbar', { name: 'Arrival' }).count(), 1, 'the arrival bar is labelled');
    t.equal(await c.getByRole('progressbar', { name: 'Verification' }).count(), 1, 'the verification bar is labelled');
    t.match(await page.locator('#announcer').textContent(), /installed/, 'the state change was announced');
    await page.waitForSelector(`#models [data-model="${MODEL}"]`);
    t.match(await page.locator(`#models [data-model="${MODEL}"]`).textContent(), /sequence 1/);
    const top = page.locator('#audit li').first();
    t.equal(await top.getAttribute('data-event'), 'installed', 'newest audit event first');
    t.match(await c.locator('[data-role="when"]').textContent(), /^installed \d{2}:\d{2}:\d{2}$/, 'today: the time alone');
    await page.locator('#summary [data-state="installed"]', { hasText: '1 installed' }).waitFor();
  });

  const bad = path.join(d.drop, 'tampered');
  t.test('a tampered bundle shows rejected with its code', async (t) => {
    const files = [{ path: 'config.json', data: Buffer.from('{"architectures":["LlamaForCausalLM"]}\n') }];
    const staged = path.join(base, 'staging', 'tampered');
    await writeDirBundle(staged, {
      files,
      manifest: manifestFor(files, { id: 'ui-tampered-1', name: 'test/ui-tampered', sequence: 1 }),
      signers: [key],
    });
    const victim = path.join(staged, 'payload', 'config.json');
    const bytes = await fsp.readFile(victim);
    bytes[3] = bytes[3]! ^ 0x20;
    await fsp.writeFile(victim, bytes);
    await fsp.cp(staged, bad, { recursive: true });
    await page.waitForSelector(cardState(bad, 'rejected'), { timeout: 60_000 }).catch(async (err: unknown) => {
      // Say what the daemon made of it: the page only shows what the API says.
      t.comment(`bundles: ${JSON.stringify(await d.bundles())}`);
      t.comment(
        `daemon log: ${d
          .lines()
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
      );
      throw err;
    });
    const error = card(bad).locator('[data-role="error"]');
    t.ok(await error.isVisible());
    t.match(await error.locator('h4').textContent(), /Rejected: HASH_MISMATCH/);
    t.match(await error.textContent(), /payload\/config\.json/, 'names the file');
    await page.waitForSelector('#audit li[data-event="rejected"]');
    t.equal(await page.locator('#audit li').first().getAttribute('data-event'), 'rejected');
    const times = await page.locator('#audit time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime') ?? ''));
    t.same(times, [...times].sort().reverse(), 'audit events newest first');
    // Trouble first: the summary leads with it, and the rejected bundle is named at the top of the page.
    await page.locator('#summary [data-state="rejected"]').waitFor();
    const order = await page.locator('#summary .count').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
    t.same(order, ['rejected', 'installed'], 'rejected before installed');
    const attention = page.locator('#attention');
    t.ok(await attention.isVisible(), 'a needs-attention box');
    t.match(await attention.locator('li').first().textContent(), /test\/ui-tampered rejected HASH_MISMATCH/);
    const box = (await attention.boundingBox())!;
    t.ok(box.y + box.height <= 800, `above the fold at 1280×800 (bottom at ${Math.round(box.y + box.height)} px)`);
    await attention.getByRole('link', { name: 'test/ui-tampered' }).click();
    t.match(page.url(), new RegExp(`#${cardDomId(recordIdFor(bad))}$`), 'its link leads to the card');
    await page.evaluate('window.scrollTo(0, 0)');
    const shot = await screenshot(page, 'ui-status-1280x800.png');
    t.comment(`screenshot: ${shot}`);
  });

  const copyOfS1 = path.join(d.drop, 'model-s1-tampered-copy');
  t.test('a tampered copy of the installed bundle shows duplicate: never installed, never verified', async (t) => {
    const staged = path.join(base, 'staging', 'model-s1-copy');
    await fsp.cp(path.join(base, 'staging', 'model-s1'), staged, { recursive: true });
    const weightsFile = path.join(staged, 'payload', 'weights', 'model.safetensors');
    const fh = await fsp.open(weightsFile, 'r+');
    await fh.write(Buffer.from('tampered'), 0, 8, 1024);
    await fh.close();
    await fsp.cp(staged, copyOfS1, { recursive: true });
    await page.waitForSelector(cardState(copyOfS1, 'duplicate'), { timeout: 60_000 });
    const c = card(copyOfS1);
    const badge = c.locator('[data-role="state"]');
    t.match(await badge.textContent(), /duplicate/);
    t.notMatch(await badge.textContent(), /installed/);
    t.match(await badge.getAttribute('class'), /tone-muted/, 'not the green of an install');
    const line = (await c.locator('[data-role="duplicate"]').textContent()) ?? '';
    t.match(line, /Duplicate of ui-model-1, installed before from .*model-s1 at \d{2}:\d{2}:\d{2}/);
    t.match(line, /payload was not read: it is not verified/);
    t.match(await c.locator('.meter-text').nth(1).textContent(), /Payload not read/, 'the verification bar does not claim a check');
    t.notMatch(await c.textContent(), /Not verified|took/, 'no byte count, no duration');
    await page.locator('#summary [data-state="duplicate"]', { hasText: '1 duplicate' }).waitFor();
    t.comment(`screenshot: ${await screenshot(page, 'ui-status-duplicate.png')}`);
  });

  t.test('1280×800: no horizontal scrolling, AA contrast in light and dark', async (t) => {
    t.ok(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), 'no horizontal scroll');
    const text = [
      'h1',
      'h2',
      'h3',
      'h4',
      'p',
      'dt',
      'dd',
      'li',
      'a',
      'summary',
      'label',
      'button',
      '.badge',
      '.count',
      '.meter-text',
      '.error',
      'code',
      'time',
    ];
    t.same(await contrastProblems(page, text), [], 'light scheme');
    await page.emulateMedia({ colorScheme: 'dark' });
    t.same(await contrastProblems(page, text), [], 'dark scheme');
    t.comment(`screenshot: ${await screenshot(page, 'ui-status-1280x800-dark.png')}`);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  const s2 = path.join(d.drop, 'model-s2');
  t.test('read-only until the token is pasted; retry and rollback ask first', async (t) => {
    await fsp.cp(await modelBundle(path.join(base, 'staging', 'model-s2'), key, 2, [{ path: 'config.json', data: Buffer.from('{"v":2}\n') }]), s2, {
      recursive: true,
    });
    await page.waitForSelector(cardState(s2, 'installed'), { timeout: 60_000 });
    const model = page.locator(`#models [data-model="${MODEL}"]`);
    await model.locator('.kept', { hasText: 'sequence 1' }).waitFor();
    t.match(await model.locator('dd').first().textContent(), /sequence 2/, 'current is sequence 2, sequence 1 kept');
    await page.waitForSelector(`#${cardDomId(recordIdFor(s1))}[data-replaced="true"]`);
    t.match(await card(s1).locator('[data-role="state"]').textContent(), /replaced/, 'sequence 1 is labelled replaced');
    t.match(
      await card(s1).locator('[data-role="replaced"]').textContent(),
      /sequence 2 \(ui-model-2\) is current now; this one is kept for rollback/,
    );
    t.equal(await card(s2).getAttribute('data-replaced'), 'false', 'the current one is not');
    t.equal(await page.locator('button[data-action]:visible').count(), 0, 'no action buttons without a token');

    // A wrong token: the daemon refuses it (401), the page says so and locks again.
    await page.getByText('Operator actions').click();
    await page.getByLabel('API token').fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Unlock actions' }).click();
    await card(bad).getByRole('button', { name: 'Retry verification' }).click();
    await page.getByRole('dialog', { name: 'Retry this bundle?' }).getByRole('button', { name: 'Retry' }).click();
    await page.locator('#action-result', { hasText: 'UNAUTHORIZED' }).waitFor();
    t.equal(await page.locator('button[data-action]:visible').count(), 0, 'locked again after a refused token');

    await page.getByLabel('API token').fill(d.token);
    await page.getByRole('button', { name: 'Unlock actions' }).click();
    t.ok(await card(bad).getByRole('button', { name: 'Retry verification' }).isVisible(), 'retry offered on the rejected bundle');
    t.ok(await card(copyOfS1).getByRole('button', { name: 'Retry verification' }).isVisible(), 'and on the duplicate');
    t.notOk(await card(s1).getByRole('button', { name: 'Retry verification' }).isVisible(), 'not on an installed one');
    const rollbackButton = model.getByRole('button', { name: 'Roll back to sequence 1' });
    t.ok(await rollbackButton.isVisible(), 'rollback offered for the kept version');
    t.notOk(await page.evaluate(`sessionStorage.getItem('airlock.apiToken') === null`), 'token kept in this tab');
    t.ok(await page.evaluate(`localStorage.length === 0`), 'never in localStorage');

    // Cancel changes nothing.
    await card(bad).getByRole('button', { name: 'Retry verification' }).click();
    const dialog = page.getByRole('dialog', { name: 'Retry this bundle?' });
    await dialog.waitFor();
    t.comment(`screenshot: ${await screenshot(page, 'ui-confirm-dialog.png', false)}`);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForTimeout(300);
    t.equal(
      (await d.api<{ events: Array<{ event: string }> }>('/v1/audit')).body.events.filter((e) => e.event === 'retry').length,
      0,
      'cancel sent nothing',
    );

    await card(bad).getByRole('button', { name: 'Retry verification' }).click();
    await dialog.getByRole('button', { name: 'Retry' }).click();
    await page.waitForSelector('#audit li[data-event="retry"]');
    await page.waitForSelector(cardState(bad, 'rejected'), { timeout: 30_000 });
    t.match(await page.locator('#action-result').textContent(), /done/);

    await rollbackButton.click();
    await page
      .getByRole('dialog', { name: `Roll back ${MODEL}?` })
      .getByRole('button', { name: 'Roll back' })
      .click();
    await page.waitForSelector('#audit li[data-event="rolled-back"]');
    await model.locator('dd', { hasText: 'sequence 1 · channel stable' }).waitFor();
    const models = (await d.api<{ models: Array<{ name: string; current?: { sequence: number } }> }>('/v1/deployments')).body.models;
    t.equal(models.find((m) => m.name === MODEL)?.current?.sequence, 1, 'the daemon rolled back');
    await page.waitForSelector(`#${cardDomId(recordIdFor(s2))}[data-replaced="true"]`);
    t.equal(await card(s1).getAttribute('data-replaced'), 'false', 'sequence 1 serves again: no longer replaced');
    t.match(await card(s1).locator('[data-role="state"]').textContent(), /installed/);
    t.comment(`screenshot: ${await screenshot(page, 'ui-status-unlocked.png')}`);
  });

  t.test('an older sequence is refused with advice the daemon can follow', async (t) => {
    const s0 = path.join(d.drop, 'model-s0');
    await fsp.cp(await modelBundle(path.join(base, 'staging', 'model-s0'), key, 0, [{ path: 'config.json', data: Buffer.from('{"v":0}\n') }]), s0, {
      recursive: true,
    });
    await page.waitForSelector(cardState(s0, 'rejected'), { timeout: 60_000 });
    const error = (await card(s0).locator('[data-role="error"]').textContent()) ?? '';
    t.match(error, /Rejected: ROLLBACK/);
    t.match(error, /the daemon never installs a lower sequence/);
    t.match(error, /roll back to it \(the status page/, 'points at what the daemon offers');
    t.notMatch(error, /use --allow-downgrade to install it anyway/, 'no daemon option that does not exist');
  });

  t.test('a narrow window (390×844): no horizontal scrolling, trouble and models first', async (t) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate('window.scrollTo(0, 0)');
    await page.waitForTimeout(200);
    const widths = (await page.evaluate('[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]')) as number[];
    t.ok(widths[0]! <= widths[2]! && widths[1]! <= widths[2]!, `page fits: ${widths.join(' ')}`);
    const top = async (selector: string) => (await page.locator(selector).boundingBox())!.y;
    t.ok((await top('#models-heading')) < (await top('#bundles-heading')), 'the models come before the bundle history');
    const attention = (await page.locator('#attention').boundingBox())!;
    t.ok(attention.y + attention.height <= 844, `rejected bundles above the fold (bottom at ${Math.round(attention.y + attention.height)} px)`);
    t.ok((await top('#summary')) < attention.y, 'under the summary line');
    t.comment(`screenshot: ${await screenshot(page, 'ui-status-390x844.png')}`);
    await page.setViewportSize({ width: 1280, height: 800 });
    const bundlesBox = (await page.locator('#bundles-heading').boundingBox())!;
    const modelsBox = (await page.locator('#models-heading').boundingBox())!;
    t.ok(bundlesBox.x < modelsBox.x, 'a wide window keeps bundles on the left, models on the right');
  });

  t.test('times from before today carry their date', async (t) => {
    // A second tab whose clock runs two days ahead: everything the daemon reported is from "the day before yesterday".
    const later = await b.context.newPage();
    t.teardown(() => later.close());
    await later.clock.install({ time: new Date(Date.now() + 2 * 86_400_000) });
    await later.goto(`${d.url}/`);
    await later.waitForSelector(`#${cardDomId(recordIdFor(s1))}`);
    const dated = /\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
    t.match(await later.locator(`#${cardDomId(recordIdFor(s1))} [data-role="when"]`).textContent(), dated, 'a card');
    await later.locator('#audit time').first().waitFor();
    const times = await later.locator('#audit time').allTextContents();
    t.ok(times.length > 0 && times.every((x) => dated.test(x)), `audit times: ${times.slice(0, 3).join(', ')}`);
    t.match(await later.locator(`#models [data-model="${MODEL}"]`).textContent(), /Installed\d{4}-\d{2}-\d{2} /, 'the model');
  });

  t.test('the page asked no one but the daemon, and broke no policy', async (t) => {
    t.ok(b.requests.length > 5, `${b.requests.length} requests seen`);
    t.same(foreignRequests(b.requests, origin), [], 'every request went to the daemon');
    // The refused token above is the one error the test provokes on purpose.
    t.same(
      b.errors.filter((e) => !/status of 401/.test(e)),
      [],
      'no console errors (a CSP violation would be one)',
    );
  });

  t.test('losing the daemon shows a banner; it goes when the daemon is back', async (t) => {
    const port = Number(new URL(d.url).port);
    await d.stop();
    await page.getByRole('alert').filter({ hasText: 'Connection to the daemon lost' }).waitFor({ timeout: 15_000 });
    t.equal(await page.locator('#connection').getAttribute('data-state'), 'lost');
    t.comment(`screenshot: ${await screenshot(page, 'ui-status-disconnected.png', false)}`);
    d = await startTestDaemon(t, {
      dir: daemonDir,
      config: { ...daemonConfig, api: { host: '127.0.0.1', port, tokenFile: path.join(daemonDir, 'api-token') } },
    });
    await page.waitForSelector('#connection-banner', { state: 'hidden', timeout: 20_000 });
    t.equal(await page.locator('#connection').getAttribute('data-state'), 'live');
    t.ok(await page.locator(cardState(s1, 'installed')).isVisible(), 'state reloaded after reconnecting');
    t.same(foreignRequests(b.requests, origin), [], 'still only the daemon');
    await d.stop();
  });
}
