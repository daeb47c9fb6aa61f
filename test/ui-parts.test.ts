// The status page with a split bundle carried on two sticks (headless Chromium against the real daemon): the
// card says how many parts are in and that the first stick may be removed, lists a refused copy with its code,
// and ends installed once the second stick brings the rest.
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { recordIdFor } from '../src/pipeline/decisions.js';
import { spoolIndexPath } from '../src/spool/layout.js';
import { createHash } from 'node:crypto';
import { openBrowser, requireBrowser, screenshot, type BrowserSession } from './helpers/browser.js';
import { startTestDaemon } from './helpers/daemon.js';
import { packFixture } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const DEMO_KEY = path.resolve('fixtures', 'keys', 'demo_ed25519');
const cardDomId = (recordId: string) => `bundle-${recordId.replace(/[^A-Za-z0-9_-]/g, '_')}`;

if (requireBrowser(t)) {
  t.test('the card says which stick may be removed, shows a refused copy, then the install', async (t) => {
    const dir = scratchDir(t);
    const media = path.join(dir, 'media');
    await fsp.mkdir(media, { recursive: true });
    const d = await startTestDaemon(t, { dir, config: { mediaRoots: [media], mediaDepth: 3 } });
    t.teardown(() => d.stop());
    const b: BrowserSession = await openBrowser({ width: 1280, height: 900 });
    t.teardown(() => b.close());
    const { page } = b;
    await page.goto(`${d.url}/`);
    await page.waitForSelector('#connection[data-state="live"]');

    const packed = await packFixture(t, { fixture: 'model-dir', signKeys: [DEMO_KEY], name: 'test/ui-parts', split: '4K' });
    const from = path.dirname(packed.location);
    const names = (JSON.parse(readFileSync(packed.location, 'utf8')) as { parts: Array<{ name: string }> }).parts.map((p) => p.name);
    const indexBytes = readFileSync(packed.location);
    const key = createHash('sha256').update(indexBytes).digest('hex');
    const location = spoolIndexPath(path.join(d.store, 'daemon', 'spool', 'parts'), key, path.basename(packed.location));
    const card = page.locator(`#${cardDomId(recordIdFor(location))}`);

    const mount = async (label: string, parts: number[], corrupt?: number) => {
      const prep = path.join(dir, `.prep-${label}`);
      await fsp.mkdir(prep);
      await fsp.copyFile(packed.location, path.join(prep, path.basename(packed.location)));
      execFileSync('cp', ['-r', packed.location.replace(/\.parts\.json$/, '.parts.signatures'), prep]);
      for (const i of parts) await fsp.copyFile(path.join(from, names[i]!), path.join(prep, names[i]!));
      if (corrupt !== undefined) {
        const f = path.join(prep, names[corrupt]!);
        const bytes = readFileSync(f);
        bytes[7] = bytes[7]! ^ 1;
        await fsp.writeFile(f, bytes);
      }
      await fsp.rename(prep, path.join(media, label));
    };
    await mount('STICK-A', [0, 1, 2], 2);
    const message = card.locator('[data-role="parts-message"]');
    await message.filter({ hasText: `parts 2 of ${names.length} received; stick STICK-A may be removed` }).waitFor({ timeout: 60_000 });
    await card.locator('[data-role="parts-rejected"]').waitFor({ timeout: 30_000 });
    t.match(
      await card.locator('[data-role="parts-rejected"]').innerText(),
      new RegExp(`PART_CORRUPT\\s+part ${names[2]!.replace(/\./g, '\\.')} on stick STICK-A`),
    );
    t.match(await card.locator('.stick').first().innerText(), /^stick STICK-A: 2 parts received · may be removed$/);
    t.equal(await card.getAttribute('data-state'), 'arriving');
    t.comment(`screenshot: ${await screenshot(page, 'ui-parts-stick-a.png', false)}`);

    await mount('STICK-B', [...names.keys()].slice(2));
    await page.waitForSelector(`#${cardDomId(recordIdFor(location))}[data-state="installed"]`, { timeout: 120_000 });
    t.match(await message.innerText(), new RegExp(`^parts ${names.length} of ${names.length} received`));
    t.comment(`screenshot: ${await screenshot(page, 'ui-parts-installed.png', false)}`);
  });
}
