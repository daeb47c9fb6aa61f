// docs/arrival.md against the code: its recipes run (airlock on PATH, a writable copy of the fixtures at
// $FIXTURES), every arrival setting it lists is in the config schema with the default it states, and every
// field it says the API shows is in the API schema.
import { execFile } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { defaultConfig } from '../src/config/defaults.js';
import { loadSchema, PACKAGE_ROOT } from '../src/util/schemas.js';
import { childEnv } from './helpers/cli.js';

const run = promisify(execFile);
const doc = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'arrival.md'), 'utf8');

t.test('every `sh run` recipe in docs/arrival.md runs', async (t) => {
  const blocks = [...doc.matchAll(/```sh run\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.ok(blocks.length > 0, 'there is a recipe');
  for (const [i, block] of blocks.entries()) {
    const dir = t.testdir();
    const bin = path.join(dir, '.bin');
    await fsp.mkdir(bin);
    await fsp.symlink(path.join(PACKAGE_ROOT, 'bin', 'airlock'), path.join(bin, 'airlock'));
    const fixtures = path.join(dir, '.fixtures');
    await fsp.cp(path.join(PACKAGE_ROOT, 'fixtures'), fixtures, { recursive: true });
    await fsp.chmod(path.join(fixtures, 'keys', 'demo_ed25519'), 0o600);
    const env = childEnv({ PATH: `${bin}:${process.env['PATH'] ?? ''}`, FIXTURES: fixtures });
    const res = await run('bash', ['-euo', 'pipefail', '-c', block], { cwd: dir, env }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
    t.equal(res.code, 0, `recipe ${i + 1} runs: ${res.stderr}`);
  }
});

t.test('the settings table matches the config schema and the defaults', async (t) => {
  const schema = loadSchema('config') as { properties: Record<string, { properties?: Record<string, unknown> }> };
  const arrival = defaultConfig.arrival as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(arrival)) {
    t.ok(schema.properties['arrival']?.properties?.[key], `arrival.${key} is in the schema`);
    // The parts spool's own keys are docs/parts.md's (its test checks them).
    if (typeof value === 'object') continue;
    t.match(doc, new RegExp(`\\| \`arrival\\.${key}\` \\| \`${String(value)}\` \\|`), `arrival.${key} documented with its default ${String(value)}`);
  }
  t.match(doc, new RegExp(`\\| \`quietPeriodMs\` \\| \`${defaultConfig.quietPeriodMs}\` \\|`));
});

t.test('the arrival fields it describes are the API schema', async (t) => {
  const api = loadSchema('api') as { $defs: { Bundle: { properties: Record<string, { properties?: Record<string, unknown> }> } } };
  const fields = Object.keys(api.$defs.Bundle.properties['arrival']?.properties ?? {});
  t.same(fields.sort(), ['bytesExpected', 'bytesPresent', 'bytesVerified', 'parts', 'staging']);
  for (const f of fields) t.match(doc, `| \`${f}\` |`, `${f} documented`);
  t.ok(api.$defs.Bundle.properties['install']?.properties?.['bytesPrestaged'], 'install.bytesPrestaged');
});
