// The formatter and the linter are part of the suite, so CI fails on a misformatted file or a lint finding
// exactly as it fails on a broken test (`npm run format` fixes the first, `npm run lint` names the second).
import { execFile } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { childEnv } from './helpers/cli.js';

function run(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(PACKAGE_ROOT, 'node_modules', bin), ...args],
      { cwd: PACKAGE_ROOT, env: childEnv(), maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

t.test('every source file is formatted as prettier formats it', async (t) => {
  const res = await run('prettier/bin/prettier.cjs', ['--check', '.']);
  t.equal(res.code, 0, res.out.split('\n').slice(-40).join('\n'));
});

t.test('eslint finds nothing, not even a warning', async (t) => {
  const res = await run('eslint/bin/eslint.js', ['--max-warnings', '0', '.']);
  t.equal(res.code, 0, res.out.split('\n').slice(-60).join('\n'));
});
