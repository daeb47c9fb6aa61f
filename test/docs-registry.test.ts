// docs/registry.md against the code it documents: every flag of publish (and install's registry flags) in
// --help is described, and every REGISTRY_* code and every key of a registries entry is in it. Its recipes run
// in test/docs-recipes.test.ts with every page's.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as install from '../src/cli/commands/install.js';
import * as publish from '../src/cli/commands/publish.js';
import { ERROR_TABLE } from '../src/errors.js';
import { loadSchema, PACKAGE_ROOT } from '../src/util/schemas.js';
const doc = await readFile(path.join(PACKAGE_ROOT, 'docs', 'registry.md'), 'utf8');

t.test('every flag of publish, and the registry flags of install, is documented', async (t) => {
  const common = new Set(['--json', '--quiet']); // documented once for every command in docs/cli.md
  for (const { flag } of publish.spec.options) if (!common.has(flag)) t.ok(doc.includes(flag), `publish ${flag}`);
  const installFlags = install.spec.options.map((o) => o.flag as string);
  for (const flag of ['--registry', '--ca-file', '--basic-file', '--bearer-token-file', '--extra-host']) {
    t.ok(installFlags.includes(flag), `install --help names ${flag}`);
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
