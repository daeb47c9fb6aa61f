// docs/keys.md against the code it documents: every trust and signing flag of the CLI is described, every
// code in its table exists (and is in docs/errors.md), and its hand-check recipe for ssh-keygen runs.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as inspect from '../src/cli/commands/inspect.js';
import * as install from '../src/cli/commands/install.js';
import * as pack from '../src/cli/commands/pack.js';
import * as sign from '../src/cli/commands/sign.js';
import * as verify from '../src/cli/commands/verify.js';
import { helpText } from '../src/cli/help-text.js';
import { ERROR_TABLE } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';

const doc = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'keys.md'), 'utf8');
const errorsPage = readFileSync(path.join(PACKAGE_ROOT, 'docs', 'errors.md'), 'utf8');
const TRUST_FLAGS = new Set(['--key', '--agent', '--label', '--passphrase-file', '--trust', '--revoked', '--threshold', '--sign', '--sign-agent']);

t.test('every trust and signing flag in --help is documented in docs/keys.md', async (t) => {
  for (const [name, mod] of Object.entries({ sign, verify, inspect, install, pack })) {
    const flags = [...new Set(helpText(mod.spec).match(/--[a-z][a-z-]*/g) ?? [])].filter((f) => TRUST_FLAGS.has(f));
    t.ok(flags.length > 0, `${name} has trust flags`);
    for (const flag of flags) t.ok(doc.includes(flag), `${name} ${flag}`);
  }
});

t.test('every code in docs/keys.md exists, and is in the table of docs/errors.md', async (t) => {
  const table = doc.slice(doc.indexOf('## Error codes'));
  // the code column: the first cell of each table row
  const codes = [
    ...new Set(
      table
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .flatMap((l) => l.split('|')[1]!.match(/[A-Z][A-Z_]+/g) ?? []),
    ),
  ];
  t.ok(codes.length >= 15);
  const rows = errorsPage.split('\n').filter((l) => l.startsWith('| `'));
  for (const code of codes) {
    t.ok(code in ERROR_TABLE, `${code} is in ERROR_TABLE`);
    t.ok(
      rows.some((r) => r.startsWith(`| \`${code}\` |`)),
      `${code} has a row in docs/errors.md`,
    );
  }
});

t.test('the sed recipe that prepares allowed_signers for stock ssh-keygen works', async (t) => {
  const recipe = /^(sed -e .*\\\n\s+allowed_signers > allowed_signers\.openssh)$/m.exec(doc)?.[1];
  t.ok(recipe, 'the recipe is in the doc');
  const dir = t.testdir({
    allowed_signers: [
      'a@x verify-required,namespaces="airlock" ssh-ed25519 AAAA',
      'b@x namespaces="airlock",verify-required ssh-ed25519 BBBB',
      'c@x verify-required ssh-ed25519 CCCC',
      'd@x namespaces="airlock" ssh-ed25519 DDDD',
      '',
    ].join('\n'),
  });
  execFileSync('sh', ['-c', recipe!.replace(/\\\n\s+/, ' ')], { cwd: dir });
  t.equal(
    readFileSync(path.join(dir, 'allowed_signers.openssh'), 'utf8'),
    [
      'a@x namespaces="airlock" ssh-ed25519 AAAA',
      'b@x namespaces="airlock" ssh-ed25519 BBBB',
      'c@x ssh-ed25519 CCCC',
      'd@x namespaces="airlock" ssh-ed25519 DDDD',
      '',
    ].join('\n'),
  );
});
