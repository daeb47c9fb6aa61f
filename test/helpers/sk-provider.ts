// Build test/helpers/sk-middleware.c into an OpenSSH security-key provider (SSH_SK_PROVIDER) for this test
// run: real ssh-keygen / ssh-agent then make real sk keys and sk signatures without a token.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';

const SOURCE = path.join(PACKAGE_ROOT, 'test', 'helpers', 'sk-middleware.c');

interface TestLike {
  fail(message: string): unknown;
  pass(message: string, extra: { skip: string }): unknown;
}

/** The provider's path, or undefined (skipped on a developer machine, failed under CI) when it cannot be built. */
export function buildSkProvider(t: TestLike, dir: string): string | undefined {
  const out = path.join(dir, 'sk-middleware.so');
  const r = spawnSync('cc', ['-shared', '-fPIC', '-o', out, SOURCE, '-lcrypto'], { encoding: 'utf8' });
  if (r.status === 0) return out;
  const reason = `cannot build the test security-key provider (needs cc and libssl-dev: apt-get install gcc libc6-dev libssl-dev): ${r.error?.message ?? r.stderr.trim()}`;
  if (process.env['CI'] === 'true') t.fail(reason);
  else t.pass('security-key provider tests', { skip: reason });
  return undefined;
}
