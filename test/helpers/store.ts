// Helpers for the store and install tests: a signing key with its trust file, snapshots of whole trees
// (to prove a rejected install changed nothing), tree comparison, and the install CLI with its JSON report.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { airlock, type CliResult } from './cli.js';
import { makeKey, writeAllowedSigners, type TestKey } from './keys.js';

const run = promisify(execFile);

export interface Signer {
  key: TestKey;
  /** allowed_signers file trusting `key` */
  trust: string;
}

export async function makeSigner(dir: string, name = 'release'): Promise<Signer> {
  const key = makeKey(path.join(dir, 'keys'), name);
  const trust = writeAllowedSigners(path.join(dir, 'keys', `${name}.allowed_signers`), [{ principals: `${name}@airlock.test`, key }]);
  return { key, trust };
}

export async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  size?: number;
  sha256?: string;
  target?: string;
}

/** Every entry under `root` by relative path: type, and for files size and sha256, for symlinks the target. */
export async function treeListing(root: string): Promise<Record<string, TreeEntry>> {
  const out: Record<string, TreeEntry> = {};
  async function walk(rel: string): Promise<void> {
    for (const name of (await fsp.readdir(path.join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, p);
      const st = await fsp.lstat(abs);
      if (st.isDirectory()) {
        out[p] = { type: 'dir' };
        await walk(p);
      } else if (st.isFile()) out[p] = { type: 'file', size: st.size, sha256: await fileSha256(abs) };
      else if (st.isSymbolicLink()) out[p] = { type: 'symlink', target: await fsp.readlink(abs) };
      else out[p] = { type: 'other' };
    }
  }
  await walk('');
  return out;
}

/**
 * A snapshot of a store (or any folder) that any change shows up in: each path with its type, size,
 * mode, link target and inode number, plus the exact bytes of state.json.
 */
export async function snapshotStore(root: string, opts: { times?: boolean } = {}): Promise<string[]> {
  const lines: string[] = [];
  async function walk(rel: string): Promise<void> {
    for (const name of (await fsp.readdir(path.join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, p);
      const st = await fsp.lstat(abs);
      const kind = st.isDirectory() ? 'd' : st.isFile() ? 'f' : st.isSymbolicLink() ? 'l' : '?';
      let line = `${kind} ${p} mode=${(st.mode & 0o7777).toString(8)} ino=${st.ino}`;
      if (st.isFile()) line += ` size=${st.size}`;
      if (st.isSymbolicLink()) line += ` -> ${await fsp.readlink(abs)}`;
      if (opts.times) line += ` mtime=${st.mtimeMs} ctime=${st.ctimeMs}`;
      if (p === 'state.json') line += ` sha256=${await fileSha256(abs)}`;
      lines.push(line);
      if (st.isDirectory()) await walk(p);
    }
  }
  await walk('');
  return lines;
}

export interface InstallRun extends CliResult {
  /** the --json report on stdout, when there was one */
  report: Record<string, any> | undefined;
}

export async function installCli(bundle: string, store: string, trust: string, extra: string[] = []): Promise<InstallRun> {
  const res = await airlock(['install', bundle, '--store', store, '--trust', trust, '--json', ...extra]);
  let report: Record<string, any> | undefined;
  try {
    report = JSON.parse(res.stdout) as Record<string, any>;
  } catch {
    report = undefined;
  }
  return { ...res, report };
}

export async function cliJson(args: string[]): Promise<{ res: CliResult; json: any }> {
  const res = await airlock(args);
  let json: any;
  try {
    json = JSON.parse(res.stdout);
  } catch {
    json = undefined;
  }
  return { res, json };
}

/** A minimal `docker save`-shaped archive (manifest.json + config), made with the real tar. */
export async function imageArchive(dir: string, ref: string, salt = ''): Promise<{ file: string; id: string }> {
  const root = await fsp.mkdtemp(path.join(dir, 'img-'));
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: [`SALT=${salt}`] }, rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const id = createHash('sha256').update(config).digest('hex');
  await fsp.writeFile(path.join(root, `${id}.json`), config);
  await fsp.writeFile(path.join(root, 'manifest.json'), JSON.stringify([{ Config: `${id}.json`, RepoTags: [ref], Layers: [] }]));
  const file = path.join(dir, `image-${id.slice(0, 8)}.tar`);
  await run('tar', ['-cf', file, '-C', root, 'manifest.json', `${id}.json`]);
  return { file, id: `sha256:${id}` };
}

/** Try a privileged command (mount, umount); false when this environment does not allow it. */
export async function tryRun(cmd: string, args: string[]): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch {
    return false;
  }
}
