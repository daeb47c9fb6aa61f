// pack --against INVENTORY: content the receiving store holds is listed `omitted` and left out of the payload.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FileEntry, Manifest } from '../src/format/manifest.js';
import { airlock } from './helpers/cli.js';
import { fixturePath, packArgs, packFixture } from './helpers/fixtures.js';

const run = promisify(execFile);

async function sha256sum(file: string): Promise<string> {
  return (await run('sha256sum', [file])).stdout.slice(0, 64);
}

t.test('files the inventory lists are omitted; the rest are carried', async (t) => {
  const dir = t.testdir();
  const src = fixturePath('model-dir');
  const held = ['model-00001-of-00002.safetensors', 'tokenizer.json'];
  const content = [];
  for (const f of held) content.push({ sha256: await sha256sum(path.join(src, f)), size: (await fsp.stat(path.join(src, f))).size });
  // Same size as a carried file but other bytes: must be hashed, found new, and carried.
  content.push({ sha256: 'f'.repeat(64), size: (await fsp.stat(path.join(src, 'config.json'))).size });
  const inventory = path.join(dir, 'inventory.json');
  await fsp.writeFile(inventory, JSON.stringify({ schema: 'airlock.inventory/v1', created: '2025-01-01T00:00:00Z', content, bundles: [] }));

  for (const format of ['dir', 'tar'] as const) {
    const packed = await packFixture(t, { fixture: 'model-dir', format, against: inventory });
    let root = packed.location;
    if (format === 'tar') {
      root = path.join(packed.out, 'x');
      await fsp.mkdir(root);
      await run('tar', ['-xf', packed.location, '-C', root]);
    }
    const m = JSON.parse(await fsp.readFile(path.join(root, 'airlock.json'), 'utf8')) as Manifest;
    const files = m.files as FileEntry[];
    t.same(
      files
        .filter((f) => f.omitted)
        .map((f) => f.path)
        .sort(),
      held.sort(),
      `${format}: held files are marked omitted`,
    );
    for (const f of files) {
      t.equal(f.sha256, await sha256sum(path.join(src, f.path)), `${format}: ${f.path} still hashed from the source`);
      const inPayload = await fsp.stat(path.join(root, 'payload', f.path)).then(
        () => true,
        () => false,
      );
      t.equal(inPayload, !f.omitted, `${format}: ${f.path} ${f.omitted ? 'left out of' : 'carried in'} the payload`);
    }
    t.equal(packed.totals.omittedFiles, 2);
  }
});

t.test('an unreadable or malformed inventory is a configuration error', async (t) => {
  const dir = t.testdir({
    'bad.json': '{"schema":"airlock.inventory/v1"',
    'wrong.json': JSON.stringify({ schema: 'airlock.inventory/v1', created: 'x', content: [{ sha256: 'nope' }], bundles: [] }),
  });
  for (const f of ['bad.json', 'wrong.json', 'missing.json']) {
    const res = await airlock(packArgs({ fixture: 'model-dir', against: path.join(dir, f) }, path.join(dir, 'out')));
    t.equal(res.exitCode, 2, f);
    t.equal(res.errorCode, 'CONFIG_INVALID', f);
  }
  t.notOk((await fsp.readdir(dir)).includes('out'), 'nothing written');
});
