// The store's pure decisions: rollback protection, activation with retention, operator rollback,
// layout names, disk-space arithmetic, and the lock file's owner line.
import t from 'tap';
import { schemaProblems } from '../src/util/schemas.js';
import { modelSlug, blobRelPath, currentLinkTarget, deploymentRelDir } from '../src/store/layout.js';
import { formatOwner, isAlive, parseOwner } from '../src/store/lock.js';
import { checkSpace, spaceNeeded } from '../src/store/space.js';
import { applyInstall, applyRollback, decideInstall, emptyState, stateProblems, type DeploymentRecord, type StoreState } from '../src/store/state.js';

const NOW = new Date('2026-03-01T00:00:00Z');
const digest = (c: string) => c.repeat(64);

function record(id: string, sequence: number, d: string, over: Partial<DeploymentRecord> = {}): DeploymentRecord {
  const name = over.name ?? 'meta/llama';
  return {
    bundleId: id,
    name,
    channel: 'stable',
    sequence,
    manifestDigest: digest(d),
    kind: 'nim-cache',
    dir: deploymentRelDir(name, id),
    installedAt: NOW.toISOString(),
    hints: { profiles: [] },
    images: [],
    files: 1,
    symlinks: 0,
    bytes: 1,
    linkMode: 'hardlink',
    ...over,
  };
}

function facts(r: DeploymentRecord) {
  return { bundleId: r.bundleId, name: r.name, channel: r.channel, sequence: r.sequence, manifestDigest: r.manifestDigest };
}

function installed(...records: DeploymentRecord[]): StoreState {
  let s = emptyState();
  for (const r of records) s = applyInstall(s, r, 2, NOW).state;
  return s;
}

t.test('rollback protection is decided from the manifest facts alone', async (t) => {
  const a = record('a', 5, 'a');
  const s = installed(a);
  t.same(decideInstall(s, facts(record('b', 6, 'b')), false), { action: 'install' }, 'a higher sequence installs');
  t.equal(decideInstall(s, facts(a), false).action, 'already-installed', 'the very same bundle is a no-op');
  const lower = decideInstall(s, facts(record('c', 4, 'c')), false);
  t.equal(lower.action === 'reject' && lower.failure.code, 'ROLLBACK', 'a lower sequence is a rollback');
  t.same(decideInstall(s, facts(record('c', 4, 'c')), true), { action: 'install' }, 'unless downgrades are allowed');
  const same = decideInstall(s, facts(record('d', 5, 'd')), true);
  t.equal(same.action === 'reject' && same.failure.code, 'SEQUENCE_CONFLICT', 'another bundle at the same sequence, even with downgrades allowed');
  const clash = decideInstall(s, facts(record('a', 9, 'e')), false);
  t.equal(clash.action === 'reject' && clash.failure.code, 'SEQUENCE_CONFLICT', 'a kept bundle id reused by another manifest');
  t.same(decideInstall(s, facts(record('x', 1, 'f', { channel: 'beta' })), false), { action: 'install' }, 'channels are independent');
  t.same(decideInstall(s, facts(record('y', 1, 'f', { name: 'other/model' })), false), { action: 'install' }, 'models are independent');
});

t.test('activation: newest first, retention counts earlier deployments, the highest sequence never drops', async (t) => {
  const [a, b, c, d] = [record('a', 1, 'a'), record('b', 2, 'b'), record('c', 3, 'c'), record('d', 4, 'd')];
  let s = installed(a, b, c);
  t.same(
    s.models[0]!.deployments.map((x) => x.bundleId),
    ['c', 'b', 'a'],
    'current plus two earlier (default retention 2)',
  );
  const act = applyInstall(s, d, 2, NOW);
  t.same(
    act.state.models[0]!.deployments.map((x) => x.bundleId),
    ['d', 'c', 'b'],
  );
  t.same(
    act.evicted.map((x) => x.bundleId),
    ['a'],
    'the oldest falls out',
  );
  t.equal(act.state.generation, s.generation + 1, 'every commit bumps the generation');
  t.same(
    applyInstall(s, d, 0, NOW).state.models[0]!.deployments.map((x) => x.bundleId),
    ['d'],
    'retention 0 keeps only the current one',
  );
  s = applyInstall(s, record('old', 0, '0'), 2, NOW).state;
  t.equal(s.sequences[0]!.sequence, 3, 'a downgrade does not lower the highest sequence');
  t.same(stateProblems(s), []);
  t.same(schemaProblems('store-state', s), [], 'the state matches schema/store-state.schema.json');
});

t.test('operator rollback reorders kept deployments and leaves sequences alone', async (t) => {
  const s = installed(record('a', 1, 'a'), record('b', 2, 'b'), record('c', 3, 'c'));
  const back = applyRollback(s, 'meta/llama', undefined, NOW);
  t.equal(back.target.bundleId, 'b', 'without --to: the one current before');
  t.same(
    back.state.models[0]!.deployments.map((x) => x.bundleId),
    ['b', 'c', 'a'],
  );
  t.same(back.state.sequences, s.sequences, 'highest sequence unchanged');
  t.equal(applyRollback(s, 'meta/llama', 'a', NOW).target.bundleId, 'a', '--to a bundle id');
  t.equal(applyRollback(s, 'meta/llama', digest('a'), NOW).target.bundleId, 'a', '--to a manifest digest');
  t.throws(() => applyRollback(s, 'meta/llama', 'zzz', NOW), { code: 'NO_SUCH_DEPLOYMENT' });
  t.throws(() => applyRollback(s, 'nobody/here', undefined, NOW), { code: 'NO_SUCH_DEPLOYMENT' });
  t.throws(() => applyRollback(installed(record('a', 1, 'a')), 'meta/llama', undefined, NOW), { code: 'NO_SUCH_DEPLOYMENT' }, 'nothing earlier kept');
});

t.test('layout names are injective and stay inside the store', async (t) => {
  t.equal(modelSlug('meta/llama-3.1-8b-instruct'), 'meta_llama-3.1-8b-instruct');
  t.not(modelSlug('a/b-c'), modelSlug('a-b/c'));
  t.equal(blobRelPath('ab'.repeat(32)), `content/sha256/ab/${'ab'.repeat(32)}`);
  t.throws(() => blobRelPath('../../etc/passwd'));
  t.equal(currentLinkTarget('meta/llama', 'x-1'), '../../deployments/meta_llama/x-1', 'relative, so the store can move');
});

t.test('disk space: block-rounded, compared with what is free, both numbers in the error', async (t) => {
  const need = spaceNeeded({ newBlobs: [1, 4096, 5000], copies: [10], dirs: 3, symlinks: 2, linkedFiles: 4, stateBytes: 100 }, 4096);
  t.equal(need.bytes, 4096 + 4096 + 8192 + 4096 + 5 * 4096 + 2 * 8192);
  t.doesNotThrow(() => checkSpace(need, { bytes: need.bytes, inodes: 1000, blockSize: 4096 }, '/s'));
  t.throws(() => checkSpace(need, { bytes: need.bytes - 1, inodes: 1000, blockSize: 4096 }, '/s'), { code: 'INSUFFICIENT_SPACE' });
  t.throws(() => checkSpace(need, { bytes: 1e12, inodes: 3, blockSize: 4096 }, '/s'), { code: 'INSUFFICIENT_SPACE' }, 'inodes too');
});

t.test('the lock names its holder; a dead or recycled pid is stale', async (t) => {
  const me = { pid: process.pid, startTime: '-', host: (await import('node:os')).hostname(), nonce: 'abcd' };
  t.same(parseOwner(formatOwner(me)), me);
  t.equal(parseOwner('garbage'), undefined);
  t.ok(isAlive(me), 'this process is alive');
  t.notOk(isAlive({ ...me, startTime: '1' }), 'same pid, other start time: a recycled pid');
  t.notOk(isAlive({ ...me, pid: 2 ** 22 + 7 }), 'no such pid');
  t.ok(isAlive({ ...me, host: 'elsewhere.invalid' }), 'another host is assumed alive');
});
