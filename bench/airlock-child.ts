// How the benchmark runs airlock: the real CLI as a child process, as a user would.
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/util/schemas.js';

export const AIRLOCK_BIN = path.join(PACKAGE_ROOT, 'bin', 'airlock');

export function airlockArgv(args: string[]): string[] {
  return [process.execPath, AIRLOCK_BIN, ...args];
}

/** The environment for children: loader hooks of a test runner must not slow them down. */
export function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const k of Object.keys(env)) if (k.startsWith('TAP') || k.startsWith('_TAP')) delete env[k];
  return env;
}
