// Every command the benchmark times: airlock's, and the standard tools a user would otherwise run.
import path from 'node:path';
import { airlockArgv, childEnv } from './airlock-child.js';
import type { Invocation } from './run-timed.js';
import { dirPayloadFiles, packArgs, sourceFiles, type Workspace } from './workspace.js';

export interface BenchCase {
  id: string;
  label: string;
  kind: 'airlock' | 'baseline';
  /** the command for one run; `scratch` is a fresh empty folder, removed after the run */
  invocation(ws: Workspace, scratch: string): Invocation;
  /** the files it reads (for the page-cache measurement) */
  inputs(ws: Workspace): string[];
}

const source = (ws: Workspace) => sourceFiles(ws);
const dir = (ws: Workspace) => dirPayloadFiles(ws);
const tar = (ws: Workspace) => [ws.tarBundle];
const parts = (ws: Workspace) => ws.partFiles;

const airlock = (args: string[]): Invocation => ({ argv: airlockArgv(args), env: childEnv() });
const sh = (script: string, args: string[], cwd?: string): Invocation => ({ argv: ['sh', '-c', script, 'sh', ...args], ...(cwd ? { cwd } : {}) });

export const CASES: BenchCase[] = [
  {
    id: 'pack-dir',
    label: 'airlock pack (dir)',
    kind: 'airlock',
    inputs: source,
    invocation: (ws, s) => airlock(packArgs(ws, ['--out', path.join(s, 'bundle')])),
  },
  {
    id: 'pack-tar',
    label: 'airlock pack (tar)',
    kind: 'airlock',
    inputs: source,
    invocation: (ws, s) => airlock(packArgs(ws, ['--format', 'tar', '--out', s])),
  },
  {
    id: 'verify-dir',
    label: 'airlock verify (dir)',
    kind: 'airlock',
    inputs: dir,
    invocation: (ws) => airlock(['verify', ws.dirBundle, '--trust', ws.allowedSigners]),
  },
  {
    id: 'verify-tar',
    label: 'airlock verify (tar)',
    kind: 'airlock',
    inputs: tar,
    invocation: (ws) => airlock(['verify', ws.tarBundle, '--trust', ws.allowedSigners]),
  },
  {
    id: 'verify-split',
    label: 'airlock verify (split)',
    kind: 'airlock',
    inputs: parts,
    invocation: (ws) => airlock(['verify', ws.partsIndex, '--trust', ws.allowedSigners]),
  },
  {
    id: 'install-tar',
    label: 'airlock install (tar)',
    kind: 'airlock',
    inputs: tar,
    invocation: (ws, s) => airlock(['install', ws.tarBundle, '--store', path.join(s, 'store'), '--trust', ws.allowedSigners]),
  },
  {
    id: 'install-dir',
    label: 'airlock install (dir)',
    kind: 'airlock',
    inputs: dir,
    invocation: (ws, s) => airlock(['install', ws.dirBundle, '--store', path.join(s, 'store'), '--trust', ws.allowedSigners]),
  },
  {
    id: 'sha256sum',
    label: 'sha256sum -c',
    kind: 'baseline',
    inputs: dir,
    invocation: (ws) => ({ argv: ['sha256sum', '--quiet', '--strict', '-c', ws.sumsFile], cwd: ws.dirBundle }),
  },
  { id: 'tar-x', label: 'tar -xf', kind: 'baseline', inputs: tar, invocation: (ws, s) => ({ argv: ['tar', '-xf', ws.tarBundle, '-C', s] }) },
  {
    id: 'tar-x-sha256sum',
    label: 'tar -xf && sha256sum -c',
    kind: 'baseline',
    inputs: tar,
    invocation: (ws, s) => sh('tar -xf "$1" -C "$2" && cd "$2" && exec sha256sum --quiet --strict -c "$3"', [ws.tarBundle, s, ws.sumsFile]),
  },
  // tar does not fsync; airlock's install does (crash safety), so this shows what durability costs.
  {
    id: 'tar-x-sync',
    label: 'tar -xf && sync',
    kind: 'baseline',
    inputs: tar,
    invocation: (ws, s) => sh('tar -xf "$1" -C "$2" && exec sync -f "$2"', [ws.tarBundle, s]),
  },
  {
    id: 'tar-c',
    label: 'tar -cf',
    kind: 'baseline',
    inputs: source,
    invocation: (ws, s) => ({ argv: ['tar', '-cf', path.join(s, 'out.tar'), '-C', ws.source, '.'] }),
  },
  { id: 'cp-r', label: 'cp -r', kind: 'baseline', inputs: source, invocation: (ws, s) => ({ argv: ['cp', '-r', ws.source, path.join(s, 'copy')] }) },
  {
    id: 'cat',
    label: 'cat FILES > /dev/null (floor)',
    kind: 'baseline',
    inputs: dir,
    invocation: (ws) => sh('exec cat -- "$@" > /dev/null', ws.payloadFiles, ws.dirBundle),
  },
];

/** Each airlock command against the standard commands it replaces; the ratio is time over time. */
export const COMPARISONS: Array<{ subject: string; baseline: string }> = [
  { subject: 'pack-dir', baseline: 'cp-r' },
  { subject: 'pack-tar', baseline: 'tar-c' },
  { subject: 'verify-dir', baseline: 'sha256sum' },
  { subject: 'verify-tar', baseline: 'sha256sum' },
  { subject: 'verify-split', baseline: 'sha256sum' },
  { subject: 'install-tar', baseline: 'tar-x' },
  { subject: 'install-tar', baseline: 'tar-x-sha256sum' },
  { subject: 'install-tar', baseline: 'tar-x-sync' },
  { subject: 'install-dir', baseline: 'cp-r' },
  // registry mode (bench/registry-mode.ts)
  { subject: 'publish', baseline: 'skopeo-copy' },
  { subject: 'pull-install', baseline: 'curl-blobs' },
  { subject: 'pull-install', baseline: 'curl-blobs-sync' },
];

const byId = (id: string): BenchCase => {
  const c = CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no bench case ${id}`);
  return c;
};

/** Many small files (the scale rows): the same commands on a tree of 4 KiB files, under ids of their own. */
export const SCALE_CASES: BenchCase[] = ['verify-dir', 'sha256sum', 'install-tar', 'install-dir', 'tar-x', 'tar-x-sync'].map((id) => {
  const c = byId(id);
  // Page-cache residency over 100,000 files would cost more than the commands: not measured here.
  return { ...c, id: `scale-${id}`, label: c.label, inputs: () => [] };
});

export const SCALE_COMPARISONS: Array<{ subject: string; baseline: string }> = [
  { subject: 'scale-verify-dir', baseline: 'scale-sha256sum' },
  { subject: 'scale-install-tar', baseline: 'scale-tar-x' },
  { subject: 'scale-install-tar', baseline: 'scale-tar-x-sync' },
  { subject: 'scale-install-dir', baseline: 'scale-tar-x' },
];
