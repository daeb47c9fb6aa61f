// npm run gen-docs: (re)write docs/reference/ from the command definitions in src/cli/commands/; pages of
// commands that no longer exist are removed. `-- --check` writes nothing and exits 1 when a page is stale.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { REFERENCE_DIR } from '../../src/cli/reference-page.js';
import { PACKAGE_ROOT } from '../../src/util/schemas.js';
import { referenceFiles } from './reference-files.js';

const check = process.argv.includes('--check');
const dir = path.join(PACKAGE_ROOT, REFERENCE_DIR);
const files = await referenceFiles();
await mkdir(dir, { recursive: true });
const stale: string[] = [];
for (const name of await readdir(dir)) {
  if (files.has(name)) continue;
  stale.push(`${name} (no such command)`);
  if (!check) await rm(path.join(dir, name));
}
for (const [name, text] of files) {
  const now = await readFile(path.join(dir, name), 'utf8').catch(() => undefined);
  if (now === text) continue;
  stale.push(name);
  if (!check) await writeFile(path.join(dir, name), text);
}
for (const s of stale) process.stderr.write(`${check ? 'stale' : 'wrote'} ${REFERENCE_DIR}/${s}\n`);
process.exitCode = check && stale.length > 0 ? 1 : 0;
