// Runs documentation recipes as a reader would: bash with `set -euo pipefail`, in a scratch folder laid out like
// the top of a clone after `npm ci` (bin/airlock, package.json, a writable fixtures/ that is also $FIXTURES),
// `airlock` on PATH, HOME inside the scratch folder, and (where we may) a private network namespace with only a
// loopback: recipes prove they need no network, and a recipe's daemon on port 7480 meets no other.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, openSync, closeSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';
import { childEnv } from './cli.js';
import type { CodeBlock } from './doc-blocks.js';

/** Every process group a recipe started and the test has not stopped yet: none outlives the test process. */
const live = new Set<number>();
process.once('exit', () => {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function track(child: ChildProcess): ChildProcess {
  if (child.pid) {
    const pid = child.pid;
    live.add(pid);
    child.once('exit', () => {
      // the group may outlive its leader: forget it only once the test has killed what was left of it
      setImmediate(() => live.delete(pid));
    });
  }
  return child;
}

export interface Workspace {
  /** where the blocks run (the "clone") */
  work: string;
  fixtures: string;
  home: string;
  /** block scripts and their output, outside the work folder */
  logs: string;
  env: NodeJS.ProcessEnv;
  /** /proc/PID/ns/net of the private network namespace, when there is one */
  netns?: string;
  /** stops the namespace holder and every background block */
  close(): Promise<void>;
  background: Background[];
}

interface Background {
  block: CodeBlock;
  child: ChildProcess;
  log: string;
}

export interface BlockResult {
  code: number | null;
  timedOut: boolean;
  output: string;
  seconds: number;
}

/** A workspace in `dir` (which must exist and be empty). `network: 'private'` asks for a namespace of its own. */
export async function makeWorkspace(dir: string, opts: { network?: 'private' | 'host' } = {}): Promise<Workspace> {
  const work = path.join(dir, 'work');
  const fixtures = path.join(work, 'fixtures');
  const home = path.join(dir, 'home');
  const logs = path.join(dir, 'logs');
  for (const d of [work, home, logs, path.join(dir, 'tmp')]) mkdirSync(d, { recursive: true });
  // verbatimSymlinks: the NIM cache's snapshot links stay relative, as in the repository
  cpSync(path.join(PACKAGE_ROOT, 'fixtures'), fixtures, { recursive: true, verbatimSymlinks: true });
  mkdirSync(path.join(work, 'bin'));
  symlinkSync(path.join(PACKAGE_ROOT, 'bin', 'airlock'), path.join(work, 'bin', 'airlock'));
  symlinkSync(path.join(PACKAGE_ROOT, 'package.json'), path.join(work, 'package.json'));
  const env = childEnv({
    PATH: [path.join(PACKAGE_ROOT, 'bin'), path.dirname(process.execPath), process.env['PATH'] ?? '/usr/bin:/bin'].join(':'),
    FIXTURES: fixtures,
    HOME: home,
    TMPDIR: path.join(dir, 'tmp'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
  });
  // Nothing of the machine's own airlock or ssh-agent leaks in.
  delete env['AIRLOCK_CONFIG'];
  delete env['AIRLOCK_URL'];
  delete env['SSH_AUTH_SOCK'];
  delete env['NO_COLOR'];
  const ws: Workspace = { work, fixtures, home, logs, env, background: [], close: async () => {} };
  let holder: ChildProcess | undefined;
  if (opts.network === 'private') {
    holder = await privateNetwork();
    if (holder) ws.netns = `/proc/${holder.pid}/ns/net`;
  }
  ws.close = async () => {
    for (const b of ws.background) await stopGroup(b.child);
    if (holder) await stopGroup(holder);
  };
  return ws;
}

/** Whether this process may make a network namespace (root, util-linux's unshare and iproute2's ip). */
export function canUsePrivateNetwork(): boolean {
  return spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0;
}

/** A process holding a fresh network namespace with its loopback up; undefined where that is not allowed. */
async function privateNetwork(): Promise<ChildProcess | undefined> {
  if (!canUsePrivateNetwork()) return undefined;
  const child = track(
    spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && echo up && exec sleep 100000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    }),
  );
  const up = await new Promise<boolean>((resolve) => {
    child.stdout!.once('data', () => resolve(true));
    child.once('exit', () => resolve(false));
  });
  return up ? child : undefined;
}

/**
 * The script file for a block: an ERR trap naming the page's line, then blank lines so that each line of the
 * block sits at its own line number in the page (bash's own messages then name page lines).
 */
function writeScript(ws: Workspace, block: CodeBlock, index: number): string {
  const trap = `trap 'echo "docs-test: ${block.page} line $LINENO: exit $?" >&2' ERR`;
  const file = path.join(ws.logs, `block-${index}-line-${block.line}.sh`);
  writeFileSync(file, [trap, ...Array<string>(Math.max(0, block.line - 1)).fill(''), block.text, ''].join('\n'));
  return file;
}

function command(ws: Workspace, block: CodeBlock, script: string): [string, string[]] {
  const bash = ['bash', '-euo', 'pipefail', script];
  // Docker blocks need the Engine's published ports on the host's loopback.
  if (ws.netns && block.mode !== 'docker') return ['nsenter', [`--net=${ws.netns}`, '--', ...bash]];
  return [bash[0]!, bash.slice(1)];
}

/** Run one block to its end (or its timeout, when its whole process group is killed). */
export function runBlock(ws: Workspace, block: CodeBlock, index: number, timeoutMs: number): Promise<BlockResult> {
  const script = writeScript(ws, block, index);
  const log = `${script}.log`;
  const fd = openSync(log, 'w');
  const [cmd, args] = command(ws, block, script);
  const started = Date.now();
  const child = track(spawn(cmd, args, { cwd: ws.work, env: ws.env, stdio: ['ignore', fd, fd], detached: true }));
  closeSync(fd);
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      // whatever the block left running in its group goes with it
      killGroup(child, 'SIGKILL');
      resolve({ code, timedOut, output: readFileSync(log, 'utf8'), seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Start a `sh run background` block; it runs until the page's workspace is closed. */
export function startBackground(ws: Workspace, block: CodeBlock, index: number): void {
  const script = writeScript(ws, block, index);
  const log = `${script}.log`;
  const fd = openSync(log, 'w');
  const [cmd, args] = command(ws, block, script);
  const child = track(spawn(cmd, args, { cwd: ws.work, env: ws.env, stdio: ['ignore', fd, fd], detached: true }));
  closeSync(fd);
  ws.background.push({ block, child, log });
}

/** What the background blocks printed so far, for a failure report. */
export function backgroundOutput(ws: Workspace): string {
  return ws.background
    .map((b) => {
      const state = b.child.exitCode !== null || b.child.signalCode !== null ? `exited ${b.child.exitCode ?? b.child.signalCode}` : 'running';
      return `--- background block ${b.block.page}:${b.block.line} (${state}) ---\n${tail(readFileSync(b.log, 'utf8'), 40)}`;
    })
    .join('\n');
}

export function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return (all.length > lines ? [`… (${all.length - lines} lines before)`] : []).concat(all.slice(-lines)).join('\n');
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the whole group (a daemon shuts down cleanly), SIGKILL if it is still there after 15 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const gone = child.exitCode !== null || child.signalCode !== null;
  const exited = gone ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  killGroup(child, 'SIGKILL');
}
