// `npm run release`: the release tree, the tarball and the .deb made from it, SHA256SUMS and its signature.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AirlockError } from '../../src/errors.js';
import { terminalPrompt } from '../../src/trust/passphrase-prompt.js';
import { fingerprint, loadPrivateKey, type PrivateKey } from '../../src/trust/ssh-key.js';
import { sha256File, signSums, sumsText } from './checksums.js';
import { buildDeb } from './deb-package.js';
import { findNodeRuntime } from './node-runtime.js';
import { normalizeTree } from './normalize-tree.js';
import { releaseNames, SIG_FILE, SUMS_FILE } from './release-layout.js';
import type { ReleaseOptions } from './release-options.js';
import { runTool } from './run-tool.js';
import { writeShareFiles } from './share-files.js';
import { stageTree } from './stage-tree.js';
import { writeTarball } from './tarball.js';

export interface ReleaseIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export interface ReleaseArtifact {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

export interface ReleaseReport {
  version: string;
  node: string;
  packages: number;
  /** The time every file carries (SOURCE_DATE_EPOCH or the last commit's). */
  sourceDateEpoch: number;
  out: string;
  tarball: ReleaseArtifact;
  deb: ReleaseArtifact;
  sums: string;
  signature?: { path: string; key: string };
  seconds: number;
}

export async function buildRelease(opts: ReleaseOptions, root: string, io: ReleaseIO): Promise<ReleaseReport> {
  const started = Date.now();
  // The key first: a wrong passphrase should cost a second, not the whole build.
  const key = opts.signKey ? await loadReleaseKey(opts, io) : undefined;
  await checkOut(opts.out);
  const node = await findNodeRuntime(process.execPath, process.version, opts.nodeLicense);
  const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const names = releaseNames(pkg.version);
  const epoch = await sourceDateEpoch(root, io);

  const work = await mkdtemp(path.join(os.tmpdir(), 'airlock-release-'));
  const written: string[] = [];
  const step = progress(io.stderr);
  try {
    const tree = path.join(work, names.topDir);
    const { modules } = await stageTree(root, tree, node);
    const shared = await writeShareFiles(tree, { version: names.version, date: new Date(epoch * 1000).toISOString().slice(0, 10) });
    const entries = await normalizeTree(tree, epoch);
    step(`staged ${entries.length} files and folders (${shared.length} man pages and completion scripts among them)`);
    await smokeTest(tree, names.version);
    step('the staged tree runs on its own Node.js');

    await mkdir(opts.out, { recursive: true });
    const tarball = path.join(opts.out, names.tarball);
    written.push(tarball);
    await writeTarball(tree, tarball, epoch);
    step(`wrote ${names.tarball}`);
    const deb = path.join(opts.out, names.deb);
    written.push(deb);
    await buildDeb({ tree, work: path.join(work, 'deb'), root, outFile: deb, debVersion: names.debVersion, maintainer: opts.maintainer, epoch, nodeVersion: node.version, modules, compression: opts.debCompression });
    step(`wrote ${names.deb}`);

    const artifacts = [await artifact(tarball), await artifact(deb)];
    const sums = Buffer.from(sumsText(artifacts));
    const sumsPath = path.join(opts.out, SUMS_FILE);
    written.push(sumsPath);
    await writeFile(sumsPath, sums, { mode: 0o644 });
    let signature: ReleaseReport['signature'];
    if (key) {
      const sigPath = path.join(opts.out, SIG_FILE);
      written.push(sigPath);
      await writeFile(sigPath, signSums(sums, key), { mode: 0o644 });
      signature = { path: sigPath, key: `${fingerprint(key.public)}${key.public.comment ? ` ${key.public.comment}` : ''}` };
    }
    return {
      version: names.version,
      node: node.version,
      packages: modules.length,
      sourceDateEpoch: epoch,
      out: opts.out,
      tarball: artifacts[0]!,
      deb: artifacts[1]!,
      sums: sumsPath,
      ...(signature ? { signature } : {}),
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } catch (err) {
    for (const f of written) await rm(f, { force: true });
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** One stderr line per finished step, with the time it took. */
function progress(out: NodeJS.WritableStream): (what: string) => void {
  let last = Date.now();
  return (what) => {
    const now = Date.now();
    out.write(`airlock-release: ${what} (${((now - last) / 1000).toFixed(1)} s)\n`);
    last = now;
  };
}

async function loadReleaseKey(opts: ReleaseOptions, io: ReleaseIO): Promise<PrivateKey> {
  const prompt = terminalPrompt(io.stdin, io.stderr);
  return loadPrivateKey(opts.signKey!, {
    ...(opts.passphraseFile ? { passphraseFile: opts.passphraseFile } : {}),
    ...(prompt ? { prompt } : {}),
    warn: (m) => io.stderr.write(`airlock-release: warning: ${m}\n`),
  });
}

/** Absent or empty, like `airlock pack --out`: a release never mixes with an earlier one's files. */
async function checkOut(out: string): Promise<void> {
  if (!existsSync(out)) return;
  if (!(await stat(out)).isDirectory() || (await readdir(out)).length > 0) {
    throw new AirlockError('USAGE', `--out ${out} is not an empty folder; remove the previous release first`, { path: '--out' });
  }
}

/** SOURCE_DATE_EPOCH when set (reproducible-builds.org), else the last commit's time. */
async function sourceDateEpoch(root: string, io: ReleaseIO): Promise<number> {
  const fromEnv = io.env['SOURCE_DATE_EPOCH'];
  if (fromEnv !== undefined) {
    if (!/^\d{1,12}$/.test(fromEnv)) throw new AirlockError('USAGE', `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(fromEnv)}`, { path: 'SOURCE_DATE_EPOCH' });
    return Number(fromEnv);
  }
  let committed: string;
  try {
    committed = (await runTool('git', ['log', '-1', '--format=%ct'], { cwd: root })).stdout.trim();
  } catch (err) {
    throw new AirlockError('RELEASE_INVALID', `not a git checkout, so no commit time: set SOURCE_DATE_EPOCH (${(err as Error).message})`, { cause: err });
  }
  const dirty = (await runTool('git', ['status', '--porcelain'], { cwd: root })).stdout.trim();
  if (dirty) io.stderr.write('airlock-release: warning: the working tree has uncommitted changes; this release is not the last commit\n');
  return Number(committed);
}

const run = promisify(execFile);

/** The staged tree must start on its own runtime: `--version` says the right version, `help` loads every command. */
async function smokeTest(tree: string, version: string): Promise<void> {
  const launcher = path.join(tree, 'bin', 'airlock');
  const env = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' };
  try {
    const v = await run(launcher, ['--version'], { env });
    if (v.stdout.trim() !== `airlock ${version}`) throw new Error(`--version printed ${JSON.stringify(v.stdout.trim())}`);
    await run(launcher, ['help'], { env, maxBuffer: 1024 * 1024 });
  } catch (err) {
    throw new AirlockError('RELEASE_INVALID', `the staged release does not run: ${(err as Error).message}`, { cause: err });
  }
}

async function artifact(file: string): Promise<ReleaseArtifact> {
  return { name: path.basename(file), path: file, size: (await stat(file)).size, sha256: await sha256File(file) };
}
