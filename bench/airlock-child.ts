// How the benchmark runs airlock: the real CLI as a child process, as a user would.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/util/schemas.js';

export const AIRLOCK_BIN = path.join(PACKAGE_ROOT, 'bin', 'airlock');

/** The Node flags the launcher passes (its `exec "$n" --flag… "$r/bin/airlock"` line): airlock runs as `airlock …`
 *  would run it, with this very Node binary. */
export function launcherFlags(): string[] {
  const m = /^":" \/\/; exec "\$n"((?:\s+--\S+)*)\s+"\$r\/bin\/airlock" "\$@"$/m.exec(readFileSync(AIRLOCK_BIN, 'utf8'));
  if (!m) throw new Error(`${AIRLOCK_BIN}: no exec line with the Node flags found`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
}

export function airlockArgv(args: string[]): string[] {
  return [process.execPath, ...launcherFlags(), AIRLOCK_BIN, ...args];
}

/** The environment for children: loader hooks of a test runner must not slow them down. */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const k of Object.keys(env)) if (k.startsWith('TAP') || k.startsWith('_TAP')) delete env[k];
  return env;
}
