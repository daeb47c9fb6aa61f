// The real daemon with trust.revokedKeys: a key revoked while it runs no longer counts for the next bundle
// (no restart), in every form; skipped trust-file lines are logged; a KRL stops it at start-up.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import type { BundleRecord } from '../src/pipeline/types.js';
import { airlock } from './helpers/cli.js';
import { startTestDaemon, testConfig } from './helpers/daemon.js';
import { packFixture } from './helpers/fixtures.js';
import { makeKey } from './helpers/keys.js';
import { scratchDir } from './helpers/scratch.js';

// By drop location: a bundle whose signatures do not hold is never parsed, so its record has no name.
const settled = (dropName: string) => (bs: BundleRecord[]) =>
  bs.find((b) => b.location.includes(`/${dropName}`) && ['installed', 'rejected', 'failed'].includes(b.state));

t.test('a key revoked while the daemon runs no longer counts for the next bundle', async (t) => {
  const work = scratchDir(t);
  const alice = makeKey(work, 'alice');
  const rsa = makeKey(work, 'rsa', { type: 'rsa' });
  const trust = path.join(work, 'allowed_signers');
  const revoked = path.join(work, 'revoked');
  writeFileSync(trust, `alice@x ${alice.publicLine}\nold@x ${rsa.publicLine}\n`);
  writeFileSync(revoked, '# nothing revoked yet\n');
  const d = await startTestDaemon(t, {
    dir: path.join(work, 'daemon'),
    config: { trust: { allowedSigners: trust, revokedKeys: revoked, threshold: 1 } },
  });
  t.ok(
    d.lines().some((l) => l.msg === 'trust file loaded' && l['revokedKeys'] === 0 && l['revokedKeysFile'] === revoked),
    'start-up log names the revoked keys',
  );
  t.ok(
    d.lines().some((l) => l.msg === 'trust file line skipped' && String(l['warning']).includes(`${trust}:2`)),
    'the skipped rsa line is logged',
  );

  const before = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/before' });
  await cp(before.location, path.join(d.drop, 'before'), { recursive: true });
  t.match(await d.waitFor(settled('before'), { what: 'first bundle' }), { state: 'installed', name: 'test/before' });

  writeFileSync(revoked, `# alice's laptop was stolen\n${alice.publicLine}\n`);
  const dir = await packFixture(t, { fixture: 'model-dir', signKeys: [alice.privatePath], name: 'test/after-dir' });
  const split = await packFixture(t, { fixture: 'nim-cache', signKeys: [alice.privatePath], name: 'test/after-split', split: '8K' });
  await cp(dir.location, path.join(d.drop, 'after-dir'), { recursive: true });
  await cp(path.dirname(split.location), path.join(d.drop, 'after-split'), { recursive: true });
  for (const name of ['after-dir', 'after-split']) {
    const b = await d.waitFor(settled(name), { what: name });
    t.equal(b.name, undefined, `${name}: rejected from its signatures alone, the manifest never parsed`);
    t.equal(b.state, 'rejected', name);
    t.equal(b.error?.code, 'KEY_REVOKED', `${name}: rejected as revoked`);
    t.match(b.trust?.signers ?? b.signers, [{ status: 'revoked', code: 'KEY_REVOKED' }]);
  }
  t.equal(d.lines().filter((l) => l.msg === 'trust file line skipped').length, 1, 'an unchanged skipped line is logged once, not per bundle');
  t.equal((await d.stop()).code, 0);
});

t.test('a KRL as trust.revokedKeys stops the daemon at start-up with KRL_UNSUPPORTED', async (t) => {
  const work = scratchDir(t);
  const alice = makeKey(work, 'alice');
  writeFileSync(path.join(work, 'as'), `alice@x ${alice.publicLine}\n`);
  writeFileSync(path.join(work, 'krl'), 'SSHKRL\n\0');
  const config = path.join(work, 'config.json');
  writeFileSync(config, JSON.stringify(testConfig(work, { trust: { allowedSigners: path.join(work, 'as'), revokedKeys: path.join(work, 'krl') } })));
  const res = await airlock(['daemon', '--config', config]);
  t.equal(res.exitCode, 2);
  t.match(res.stdout + res.stderr, /KRL_UNSUPPORTED/);
});
