// Every hostile bundle of the format is rejected by `airlock verify` with its own stable code.
import t from 'tap';
import path from 'node:path';
import { airlock } from './helpers/cli.js';
import { hostileCases } from './helpers/hostile.js';
import { makeKey, writeAllowedSigners } from './helpers/keys.js';

t.test('hostile bundles are rejected with their code', async (t) => {
  const root = t.testdir();
  const trusted = makeKey(path.join(root, 'keys'), 'trusted');
  const untrusted = makeKey(path.join(root, 'keys'), 'untrusted');
  const trust = writeAllowedSigners(path.join(root, 'allowed_signers'), [{ principals: 'release@test.invalid', key: trusted }]);
  for (const [i, c] of hostileCases().entries()) {
    await t.test(c.name, async (t) => {
      const location = await c.build(path.join(root, `case${i}`), { trusted, untrusted });
      const res = await airlock(['verify', location, '--trust', trust, '--threshold', String(c.threshold ?? 1), '--json']);
      t.equal(res.exitCode, 1, 'exit 1');
      t.equal(res.errorCode, c.code, `airlock: ${c.code}: on stderr (got ${res.stderr.trim()})`);
      // --json prints a report on every failure: the verify report, or the error for a bundle that would not open.
      const report = JSON.parse(res.stdout) as { ok: boolean; failures?: Array<{ code: string }>; error?: { failures: Array<{ code: string }> } };
      t.equal(report.ok, false);
      t.ok(
        (report.failures ?? report.error?.failures ?? []).some((f) => f.code === c.code),
        'the JSON report lists the code',
      );
    });
  }
});
