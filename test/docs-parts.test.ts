// docs/parts.md against the code it documents: every runnable recipe runs (airlock on PATH, a writable copy of the
// fixtures at $FIXTURES), every spool config key and every code it names exist, --parts-from is in --help.
import t from 'tap';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { helpText } from '../src/cli/help-text.js';
import * as install from '../src/cli/commands/install.js';
import * as verify from '../src/cli/commands/verify.js';
import { ERROR_TABLE } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { childEnv } from './helpers/cli.js';

const run = promisify(execFile);
const doc = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'parts.md'), 'utf8');
const recipes = [...doc.matchAll(/^```sh run\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);

t.ok(recipes.length >= 5, `the doc has runnable recipes (${recipes.length})`);

for (const [i, script] of recipes.entries()) {
  t.test(
    `recipe ${i + 1}: ${script
      .split('\n')
      .find((l) => !l.startsWith('#'))
      ?.slice(0, 60)}`,
    async (t) => {
      const dir = t.testdir();
      const fixtures = mkdtempSync(path.join(dir, 'fixtures-'));
      cpSync(path.join(PACKAGE_ROOT, 'fixtures'), fixtures, { recursive: true });
      const env = childEnv({ FIXTURES: fixtures, PATH: `${path.join(PACKAGE_ROOT, 'bin')}:${process.env.PATH ?? ''}` });
      const work = mkdtempSync(path.join(dir, 'work-'));
      const r = await run('sh', ['-eu', '-c', script], { cwd: work, env, maxBuffer: 16 * 1024 * 1024 }).then(
        (o) => ({ code: 0, ...o }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
      );
      t.equal(r.code, 0, `exit 0\n${r.stdout}\n${r.stderr}`);
    },
  );
}

t.test('every parts spool config key is documented, with its default', async (t) => {
  const schema = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'schema', 'config.schema.json'), 'utf8')) as {
    properties: { arrival: { properties: { parts: { properties: Record<string, unknown> } } } };
  };
  const { defaultConfig } = await import('../src/config/defaults.js');
  for (const key of Object.keys(schema.properties.arrival.properties.parts.properties)) {
    const value = (defaultConfig.arrival.parts as unknown as Record<string, unknown>)[key];
    t.match(doc, new RegExp(`\\| \`arrival\\.parts\\.${key}\` \\| \`${String(value)}\` \\|`), `arrival.parts.${key} (default ${String(value)})`);
  }
  t.match(doc, new RegExp(`\\| \`arrival\\.settleMs\` \\| \`${defaultConfig.arrival.settleMs}\` \\|`), 'the settle time both share');
});

t.test('every code the doc names exists', async (t) => {
  const table = doc.slice(doc.indexOf('| code | where |'));
  const codes = [...new Set(table.match(/`[A-Z][A-Z_]+`/g)?.map((c) => c.slice(1, -1)) ?? [])];
  t.ok(codes.length >= 10);
  for (const code of codes) t.ok(code in ERROR_TABLE, code);
});

t.test('the flags the doc shows are in --help', async (t) => {
  for (const mod of [verify, install]) t.match(helpText(mod.spec), /--parts-from DIR/);
  t.match(doc, /--parts-from DIR/);
});
