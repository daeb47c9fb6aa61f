// Run one command as a child process: wall time from spawn to exit, and its peak resident memory
// from GNU time's %M (the kernel's ru_maxrss for the child, which covers its worker threads).
import { spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';

export interface Invocation {
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** keep the command's stdout here (a --json report); otherwise it is discarded */
  stdoutFile?: string;
}

export interface TimedRun {
  ms: number;
  exitCode: number;
  /** peak RSS in KiB, when /usr/bin/time is available */
  peakRssKiB?: number;
  /** the end of stderr when the command failed */
  errorTail?: string;
  /** share of the command's input bytes in the page cache just before it started (0..1) */
  inputCached?: number;
}

const GNU_TIME = '/usr/bin/time';
export const HAVE_GNU_TIME = existsSync(GNU_TIME);
const TAIL = 4000;

export async function runTimed(inv: Invocation, rssFile: string): Promise<TimedRun> {
  const [cmd, ...args] = inv.argv;
  if (cmd === undefined) throw new Error('empty command');
  const argv = HAVE_GNU_TIME ? [GNU_TIME, '-f', '%M', '-o', rssFile, cmd, ...args] : [cmd, ...args];
  let stderr = '';
  const out = inv.stdoutFile === undefined ? undefined : await fsp.open(inv.stdoutFile, 'w');
  const started = process.hrtime.bigint();
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0] ?? '', argv.slice(1), {
      cwd: inv.cwd,
      env: inv.env ?? process.env,
      stdio: ['ignore', out ? out.fd : 'ignore', 'pipe'],
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      stderr = (stderr + s).slice(-TAIL);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await out?.close();
  const run: TimedRun = { ms, exitCode };
  if (HAVE_GNU_TIME) {
    const text = await fsp.readFile(rssFile, 'utf8').catch(() => '');
    // On failure GNU time writes "Command exited with non-zero status N" before the figure.
    const kib = Number(text.trim().split('\n').pop());
    if (Number.isFinite(kib) && kib > 0) run.peakRssKiB = kib;
    await fsp.rm(rssFile, { force: true });
  }
  if (exitCode !== 0) run.errorTail = stderr.trim();
  return run;
}

/** Empty the page cache (root only): writes dirty pages first so the drop is complete. */
export async function dropPageCache(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    spawn('sync', [], { stdio: 'ignore' })
      .on('close', () => resolve())
      .on('error', reject);
  });
  await fsp.writeFile('/proc/sys/vm/drop_caches', '3\n');
}

export async function canDropPageCache(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  try {
    await fsp.access('/proc/sys/vm/drop_caches', 2);
    return true;
  } catch {
    return false;
  }
}

export function scratchName(dir: string, id: string, run: number): string {
  return path.join(dir, `${id}-${run}`);
}
