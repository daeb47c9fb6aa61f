// The benchmark's temporary folder: signing key, trust file, synthetic source, the reference bundles
// every verify and install run reads, and the checksum file the coreutils baselines check.
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { writeSource } from './generate.js';
import { airlockArgv, childEnv } from './airlock-child.js';
import { planSource, type PlannedFile } from './source-plan.js';

const run = promisify(execFile);

export const BUNDLE_NAME = 'bench/synthetic-model';
const PRINCIPAL = 'bench@airlock.invalid';

export interface Workspace {
  root: string;
  source: string;
  plan: PlannedFile[];
  payloadBytes: number;
  key: string;
  allowedSigners: string;
  /** reference bundles, packed once */
  dirBundle: string;
  tarBundle: string;
  partsIndex: string;
  /** the split bundle's part files */
  partFiles: string[];
  splitSize: number;
  /** `sha256  payload/PATH` lines for every payload file, relative to a bundle or an extracted tar */
  sumsFile: string;
  /** payload files relative to dirBundle, for the `cat` floor */
  payloadFiles: string[];
  /** a fresh folder per timed run goes under here */
  scratch: string;
}

export interface WorkspaceOptions {
  /** the files to write (default: the synthetic model tree of the given size) */
  plan?: PlannedFile[];
  /** which reference bundles to pack (default all three) */
  forms?: Array<'dir' | 'tar' | 'split'>;
  /** remove the source once packed (it is not read again): a large tree then needs half the disk */
  dropSource?: boolean;
}

export async function createWorkspace(
  parent: string | undefined,
  size: number,
  log: (m: string) => void,
  o: WorkspaceOptions = {},
): Promise<Workspace> {
  const root = await fsp.mkdtemp(path.join(parent ?? os.tmpdir(), 'airlock-bench-'));
  const plan = o.plan ?? planSource(size);
  const forms = new Set(o.forms ?? ['dir', 'tar', 'split']);
  const ws: Workspace = {
    root,
    source: path.join(root, 'source'),
    plan,
    payloadBytes: plan.reduce((n, f) => n + f.size, 0),
    key: path.join(root, 'bench-key'),
    allowedSigners: path.join(root, 'allowed_signers'),
    dirBundle: path.join(root, 'ref', 'dir'),
    tarBundle: '',
    partsIndex: '',
    partFiles: [],
    splitSize: splitSizeFor(size),
    sumsFile: path.join(root, 'payload.sha256'),
    payloadFiles: plan.map((f) => `payload/${f.path}`),
    scratch: path.join(root, 'scratch'),
  };
  await fsp.mkdir(ws.scratch);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', PRINCIPAL, '-f', ws.key]);
  const pub = (await fsp.readFile(`${ws.key}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await fsp.writeFile(ws.allowedSigners, `${PRINCIPAL} namespaces="airlock,airlock-parts" ${pub}\n`);

  log(`writing ${plan.length} files (${(ws.payloadBytes / 1024 ** 3).toFixed(2)} GiB) to ${ws.source}`);
  await writeSource(ws.source, plan);
  log(`packing the reference bundles (${[...forms].join(', ')}); not timed`);
  // The folder bundle is always packed: the checksum file comes from its manifest.
  await packReference(ws, ['--out', ws.dirBundle]);
  if (forms.has('tar')) {
    const tarDir = path.join(root, 'ref', 'tar');
    await packReference(ws, ['--format', 'tar', '--out', tarDir]);
    ws.tarBundle = await findOne(tarDir, '.airlock.tar');
  }
  if (forms.has('split')) {
    const splitDir = path.join(root, 'ref', 'split');
    await packReference(ws, ['--split-size', String(ws.splitSize), '--out', splitDir]);
    ws.partsIndex = await findOne(splitDir, '.airlock.parts.json');
    ws.partFiles = (await fsp.readdir(splitDir)).filter((n) => /\.airlock\.tar\.\d+$/.test(n)).map((n) => path.join(splitDir, n));
  }
  await writeSums(ws);
  if (o.dropSource) await fsp.rm(ws.source, { recursive: true, force: true });
  return ws;
}

/** Four or so parts, like a bundle cut to fit removable media. */
function splitSizeFor(size: number): number {
  return Math.max(1024 * 1024, Math.ceil(size / 4 / (1024 * 1024)) * 1024 * 1024);
}

/** The `airlock pack` argv shared by the reference bundles and the timed pack runs. */
export function packArgs(ws: Workspace, extra: string[]): string[] {
  return ['pack', ws.source, '--name', BUNDLE_NAME, '--kind', 'model-dir', '--sequence', '1', '--sign', ws.key, ...extra];
}

async function packReference(ws: Workspace, extra: string[]): Promise<void> {
  const [cmd, ...args] = airlockArgv(packArgs(ws, extra));
  try {
    await run(cmd ?? '', args, { env: childEnv(), maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`airlock pack ${extra.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
}

async function findOne(dir: string, suffix: string): Promise<string> {
  const hit = (await fsp.readdir(dir)).find((n) => n.endsWith(suffix));
  if (!hit) throw new Error(`no *${suffix} in ${dir}`);
  return path.join(dir, hit);
}

/** The checksum file comes from the signed manifest, so the baselines check exactly what airlock checks. */
async function writeSums(ws: Workspace): Promise<void> {
  const manifest = JSON.parse(await fsp.readFile(path.join(ws.dirBundle, 'airlock.json'), 'utf8')) as {
    files: Array<{ path: string; sha256?: string; type?: string }>;
  };
  const lines = manifest.files.filter((f) => f.type !== 'symlink' && f.sha256).map((f) => `${f.sha256}  payload/${f.path}`);
  await fsp.writeFile(ws.sumsFile, lines.join('\n') + '\n');
}

/** Absolute paths of the files a command reads, for the page-cache measurement. */
export function sourceFiles(ws: Workspace): string[] {
  return ws.plan.map((f) => path.join(ws.source, f.path));
}

export function dirPayloadFiles(ws: Workspace): string[] {
  return ws.payloadFiles.map((f) => path.join(ws.dirBundle, f));
}

export async function removeWorkspace(ws: Workspace): Promise<void> {
  await fsp.rm(ws.root, { recursive: true, force: true });
}
