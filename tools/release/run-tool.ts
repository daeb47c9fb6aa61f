// Run one of the build machine's own tools (npm, tar, gzip, dpkg-deb, dpkg-shlibdeps, git) and collect its output.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { AirlockError } from '../../src/errors.js';

export interface RunToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Write stdout to this file instead of collecting it. */
  stdoutFile?: string;
  /** The Debian package that provides the tool, for the message when it is missing. */
  providedBy?: string;
}

export interface ToolOutput {
  stdout: string;
  stderr: string;
}

const MAX_COLLECTED = 64 * 1024 * 1024;

export function runTool(command: string, args: string[], opts: RunToolOptions = {}): Promise<ToolOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (c: Buffer) => {
      size += c.length;
      if (size <= MAX_COLLECTED) into.push(c);
    };
    const sink = opts.stdoutFile ? createWriteStream(opts.stdoutFile, { mode: 0o644 }) : undefined;
    if (sink) child.stdout.pipe(sink);
    else child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const hint = opts.providedBy ? ` (Debian package ${opts.providedBy})` : '';
      reject(new AirlockError('RELEASE_INVALID', e.code === 'ENOENT' ? `${command} is not installed${hint}; the release build needs it` : `${command}: ${e.message}`, { cause: e }));
    });
    const finished = sink ? new Promise<void>((r, j) => sink.on('finish', r).on('error', j)) : Promise.resolve();
    child.on('close', (code, signal) => {
      void finished.then(() => {
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0) resolve({ stdout, stderr });
        else reject(new AirlockError('RELEASE_INVALID', `${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-2000)}`));
      }, reject);
    });
  });
}
