// The reviewer's hand check (docs/guide-reviewer.md, "Every file against the manifest") against tampered
// bundles: wherever `airlock verify` rejects a bundle's files, the stock-tools script must fail too. It once
// hashed only payload/ and never looked for extra files, so a flipped byte in an image archive passed it.
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { airlock, childEnv } from './helpers/cli.js';
import { codeBlocks } from './helpers/doc-blocks.js';
import { DEMO_KEY } from './helpers/nim-bundles.js';
import { fixturePath } from './helpers/fixtures.js';

const run = promisify(execFile);
const TRUST = fixturePath('keys/allowed_signers.demo');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const block = codeBlocks('docs/guide-reviewer.md').find((b) => b.mode && b.marker?.includes('docs-hand-check'));

/** A `docker save` archive of one tiny image (legacy layout), made with GNU tar: no Docker needed. */
async function imageArchive(dir: string): Promise<string> {
  const root = path.join(dir, 'image-src');
  mkdirSync(path.join(root, 'layer'), { recursive: true });
  writeFileSync(path.join(root, 'layer', 'hello.txt'), 'a layer\n');
  await run('tar', ['-cf', path.join(root, 'layer.tar'), '-C', path.join(root, 'layer'), 'hello.txt']);
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(readFileSync(path.join(root, 'layer.tar')))}`] },
  });
  const hex = sha256(config);
  writeFileSync(path.join(root, `${hex}.json`), config);
  mkdirSync(path.join(root, 'l1'));
  cpSync(path.join(root, 'layer.tar'), path.join(root, 'l1', 'layer.tar'));
  writeFileSync(path.join(root, 'manifest.json'), JSON.stringify([{ Config: `${hex}.json`, RepoTags: ['demo/image:1'], Layers: ['l1/layer.tar'] }]));
  const file = path.join(dir, 'image.tar');
  await run('tar', ['-cf', file, '-C', root, 'manifest.json', `${hex}.json`, 'l1/layer.tar']);
  return file;
}

/** The script's exit status on DIR (60 s at most: a FIFO must never make it wait). */
function handCheck(work: string, dir: string): { status: number | null; output: string } {
  const r = spawnSync('sh', ['check-bundle.sh', dir], { cwd: work, env: childEnv(), encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

t.test('the hand check fails wherever airlock verify rejects the files', async (t) => {
  t.ok(block, 'docs/guide-reviewer.md has the marked check-bundle.sh block');
  if (!block) return;
  const work = t.testdir();
  const archive = await imageArchive(work);
  const packed = await airlock(
    [
      'pack',
      fixturePath('nim-cache'),
      '--kind',
      'nim-cache',
      '--name',
      'demo/hand-check',
      '--profile',
      (JSON.parse(readFileSync(fixturePath('nim-cache.profile.json'), 'utf8')) as { profile: { id: string } }).profile.id,
      '--image-archive',
      archive,
      '--sign',
      DEMO_KEY,
      '--out',
      path.join(work, 'bundle'),
    ],
    { cwd: work },
  );
  t.equal(packed.exitCode, 0, `pack: ${packed.stderr}`);
  const manifest = JSON.parse(readFileSync(path.join(work, 'bundle', 'airlock.json'), 'utf8')) as {
    images: { archive: string }[];
    files: { path: string; type?: string; size?: number }[];
  };
  t.equal(manifest.images.length, 1, 'the bundle carries an image archive');
  const payload = path.join('payload', manifest.files.find((f) => f.type !== 'symlink' && (f.size ?? 0) > 0)!.path);

  // The page's own block writes check-bundle.sh and runs it on the good bundle.
  const page = spawnSync('bash', ['-euo', 'pipefail', '-c', block.text], { cwd: work, env: childEnv(), encoding: 'utf8', timeout: 60_000 });
  t.equal(page.status, 0, `the page's block passes on a good bundle: ${page.stdout}${page.stderr}`);
  t.match(page.stdout, /^OK: \d+ files match airlock\.json$/m);

  const image = path.join('images', readdirSync(path.join(work, 'bundle', 'images'))[0]!);
  const flip = (file: string) => {
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(file, bytes);
  };
  const cases: Array<{ name: string; code: string; tamper: (dir: string) => void }> = [
    { name: 'one flipped byte in the image archive', code: 'HASH_MISMATCH', tamper: (d) => flip(path.join(d, image)) },
    { name: 'one flipped byte in a payload file', code: 'HASH_MISMATCH', tamper: (d) => flip(path.join(d, payload)) },
    { name: 'an image archive one byte longer', code: 'SIZE_MISMATCH', tamper: (d) => appendFileSync(path.join(d, image), 'x') },
    { name: 'a truncated image archive', code: 'SIZE_MISMATCH', tamper: (d) => truncateSync(path.join(d, image), 512) },
    { name: 'an extra payload file', code: 'UNLISTED_FILE', tamper: (d) => writeFileSync(path.join(d, 'payload', 'extra.txt'), 'unsigned') },
    { name: 'an extra image archive', code: 'UNLISTED_FILE', tamper: (d) => writeFileSync(path.join(d, 'images', 'extra.tar'), 'unsigned') },
    { name: 'an extra file beside the manifest', code: 'UNLISTED_FILE', tamper: (d) => writeFileSync(path.join(d, 'run-me.sh'), 'unsigned') },
    { name: 'a missing image archive', code: 'MISSING_FILE', tamper: (d) => rmSync(path.join(d, image)) },
    { name: 'a missing payload file', code: 'MISSING_FILE', tamper: (d) => rmSync(path.join(d, payload)) },
    {
      name: 'a symlink in place of the image archive',
      code: 'WRONG_TYPE',
      tamper: (d) => {
        rmSync(path.join(d, image));
        symlinkSync('/etc/hostname', path.join(d, image));
      },
    },
    {
      name: 'a FIFO in place of the image archive',
      code: 'WRONG_TYPE',
      tamper: (d) => {
        rmSync(path.join(d, image));
        spawnSync('mkfifo', [path.join(d, image)]);
      },
    },
  ];
  for (const c of cases) {
    const dir = path.join(work, `case-${cases.indexOf(c)}`);
    cpSync(path.join(work, 'bundle'), dir, { recursive: true });
    c.tamper(dir);
    const verdict = await airlock(['verify', dir, '--trust', TRUST], { cwd: work });
    t.equal(verdict.exitCode, 1, `${c.name}: airlock verify rejects it`);
    t.equal(verdict.errorCode, c.code, `${c.name}: airlock verify says ${c.code}`);
    const hand = handCheck(work, dir);
    t.not(hand.status, 0, `${c.name}: the hand check fails too`);
    t.notMatch(hand.output, /^OK:/m, `${c.name}: and does not print OK`);
  }
  // The same script on a tar bundle extracted by GNU tar, with one flipped byte in the image archive inside.
  const tarPack = await airlock(
    [
      'pack',
      fixturePath('nim-cache'),
      '--kind',
      'nim-cache',
      '--name',
      'demo/hand-check',
      '--profile',
      (JSON.parse(readFileSync(fixturePath('nim-cache.profile.json'), 'utf8')) as { profile: { id: string } }).profile.id,
      '--image-archive',
      archive,
      '--sign',
      DEMO_KEY,
      '--format',
      'tar',
      '--out',
      path.join(work, 'tar'),
    ],
    { cwd: work },
  );
  t.equal(tarPack.exitCode, 0, `pack --format tar: ${tarPack.stderr}`);
  const tarFile = path.join(
    work,
    'tar',
    readdirSync(path.join(work, 'tar')).find((n) => n.endsWith('.airlock.tar'))!,
  );
  mkdirSync(path.join(work, 'review'));
  await run('tar', ['-xf', tarFile, '-C', path.join(work, 'review')]);
  t.equal(handCheck(work, 'review').status, 0, 'an extracted tar bundle passes');
  flip(path.join(work, 'review', image));
  t.not(handCheck(work, 'review').status, 0, 'and fails with one flipped byte in its image archive');
});
