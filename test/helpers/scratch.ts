// A scratch folder per test for anything a long-lived process (a daemon, a watcher) writes into.
// t.testdir() is removed before the test's teardowns run, so a daemon stopped in a teardown could still be
// writing there (ENOTEMPTY, and the teardown that would stop it never runs). This folder is removed by a
// teardown of its own; teardowns run last-in first-out, so it goes after everything registered later.
import { mkdirSync, mkdtempSync, promises as fsp } from 'node:fs';
import path from 'node:path';

export interface ScratchTest {
  teardown(fn: () => unknown): void;
}

// Under the checkout (not /tmp) so hard links, rename and disk space behave as for .tap/fixtures;
// short enough for a unix socket path.
const ROOT = path.resolve('.tap', 'scratch');
const dirs = new WeakMap<ScratchTest, string>();

/** The test's scratch folder: created on first use, the same folder on later calls, removed after the test. */
export function scratchDir(t: ScratchTest): string {
  const known = dirs.get(t);
  if (known) return known;
  mkdirSync(ROOT, { recursive: true });
  const dir = mkdtempSync(path.join(ROOT, 't-'));
  dirs.set(t, dir);
  t.teardown(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}
