// Run the real CLI (bin/airlock on the compiled dist) as a child process.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';

export const AIRLOCK_BIN = path.join(PACKAGE_ROOT, 'bin', 'airlock');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** the CODE of the `airlock: CODE: message` line on stderr, if any */
  errorCode: string | undefined;
}

/** The environment for child processes: tap's loader hooks (NODE_OPTIONS) must not leak into them. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // No test picks up the machine's /etc/airlock/config.json (the .deb test installs one for a while).
  // Nor the width of the terminal `npm test` runs in (airlock status fits COLUMNS): a test that wants one says so.
  const { COLUMNS: _columns, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = { AIRLOCK_SYSTEM_CONFIG: '/nonexistent/airlock/config.json', ...inherited, ...extra };
  delete env.NODE_OPTIONS;
  for (const k of Object.keys(env)) if (k.startsWith('TAP') || k.startsWith('_TAP')) delete env[k];
  return env;
}

/**
 * A child that has not finished after `timeoutMs` (default 2 minutes) is killed and reported with exit code
 * 124, as timeout(1) does: a hang (a FIFO opened for reading, say) fails its test instead of the whole run.
 */
export function airlock(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [AIRLOCK_BIN, ...args],
      {
        cwd: opts.cwd ?? PACKAGE_ROOT,
        env: childEnv(opts.env),
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        const killed = err !== null && (err as { killed?: boolean }).killed === true;
        const exitCode = killed ? 124 : err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ exitCode, stdout, stderr, errorCode: /^airlock: ([A-Z_]+):/m.exec(stderr)?.[1] });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
