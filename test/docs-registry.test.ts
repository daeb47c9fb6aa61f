// docs/registry.md against the code it documents: every flag of publish (and install's registry flags) in
// --help is described, every REGISTRY_* code and every key of a registries entry is in it, and its recipes
// run (```sh run blocks, in a scratch folder with airlock on PATH and a copy of the fixtures at $FIXTURES).
import t from 'tap';
import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as install from '../src/cli/commands/install.js';
import * as publish from '../src/cli/commands/publish.js';
import { ERROR_TABLE } from '../src/errors.js';
import { loadSchema, PACKAGE_ROOT } from '../src/util/schemas.js';
import { AIRLOCK_BIN, childEnv } from './helpers/cli.js';
import { requireRegistry } from './helpers/registry.js';
import { scratchDir } from './helpers/scratch.js';

const run = promisify(execFile);
const doc = await readFile(path.join(PACKAGE_ROOT, 'docs', 'registry.md'), 'utf8');

t.test('every flag of publish, and the registry flags of install, is documented', async (t) => {
  const flags = (usage: string) => [...new Set(usage.match(/--[a-z][a-z-]*/g) ?? [])];
  for (const flag of flags(publish.usage)) t.ok(doc.includes(flag), `publish ${flag}`);
  for (const flag of ['--registry', '--ca-file', '--basic-file', '--bearer-token-file', '--extra-host']) {
    t.ok(install.usage.includes(flag), `install --help names ${flag}`);
    t.ok(doc.includes(flag), `install ${flag}`);
  }
});

t.test('every REGISTRY_* code is in the table, with its exit code and HTTP status', async (t) => {
  const table = doc.slice(doc.indexOf('## Error codes'));
  const codes = Object.keys(ERROR_TABLE).filter((c) => c.startsWith('REGISTRY_'));
  t.ok(codes.length >= 6);
  for (const code of codes) {
    const row = table.split('\n').find((l) => l.startsWith(`| \`${code}\``));
    const { exit, http } = ERROR_TABLE[code as keyof typeof ERROR_TABLE];
    t.ok(row, `${code} has a row`);
    t.match(row, new RegExp(`\\| ${exit} \\| ${http} \\|`), `${code}: exit ${exit}, HTTP ${http}`);
  }
});

t.test('every key of a registries entry is documented', async (t) => {
  const items = ((loadSchema('config').properties as Record<string, any>).registries as any).items;
  for (const key of [...Object.keys(items.properties), ...Object.keys(items.properties.auth.properties)])
    t.ok(doc.includes(`\`${key}\``) || doc.includes(`auth.${key}`), key);
});

t.test('the recipes run', async (t) => {
  if (!requireRegistry(t)) return;
  const blocks = [...doc.matchAll(/```sh run\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.ok(blocks.length >= 1);
  const dir = scratchDir(t);
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  await symlink(AIRLOCK_BIN, path.join(bin, 'airlock'));
  for (const [i, script] of blocks.entries()) {
    const work = path.join(dir, `recipe-${i}`);
    const fixtures = path.join(work, 'fixtures');
    await mkdir(work);
    await cp(path.join(PACKAGE_ROOT, 'fixtures'), fixtures, { recursive: true, verbatimSymlinks: true });
    const env = childEnv({ PATH: `${bin}:${process.env['PATH'] ?? ''}`, FIXTURES: fixtures });
    const res = await run('sh', ['-e', '-c', script], { cwd: work, env, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    t.equal(res.code, 0, `recipe ${i + 1} runs:\n${script}\n${res.out}`);
  }
});
