// What is generated from the command specs stays true: the committed docs/reference/ pages are exactly what
// `npm run gen-docs` writes, every man page formats without a warning and has a whatis line, and shell
// completion really completes in bash (run for real) and loads in zsh.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { allSpecs, commandListing } from '../src/cli/registry.js';
import { REFERENCE_DIR } from '../src/cli/reference-page.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { referenceFiles } from '../tools/docs/reference-files.js';
import { manPages } from '../tools/release/man-page.js';
import { AIRLOCK_BIN, childEnv } from './helpers/cli.js';

const run = promisify(execFile);

t.test('docs/reference/ is what npm run gen-docs writes', async (t) => {
  const files = await referenceFiles();
  const dir = path.join(PACKAGE_ROOT, REFERENCE_DIR);
  for (const [name, text] of files) {
    const committed = existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), 'utf8') : undefined;
    t.ok(committed === text, `${REFERENCE_DIR}/${name} is up to date (run npm run gen-docs)`);
  }
  t.same(
    readdirSync(dir).filter((n) => !files.has(n)),
    [],
    'no page for a command that does not exist',
  );
  for (const spec of await allSpecs()) {
    const page = files.get(`airlock-${spec.name}.md`);
    if (spec.name === 'help') continue;
    for (const o of spec.options) t.ok(page?.includes(`\`${o.flag}`), `airlock-${spec.name}.md documents ${o.flag}`);
  }
});

t.test('man pages: every page formats without a warning and has a whatis line', async (t) => {
  const dir = mkdtempSync(path.join(t.testdir(), 'man-'));
  const pages = manPages(await allSpecs(), await commandListing(), { version: '0.1.0', date: '2026-01-01' });
  t.ok(pages.length >= 19, `${pages.length} pages`);
  for (const page of pages) {
    const file = path.join(dir, page.file);
    writeFileSync(file, page.text);
    // man-db's own check, as lintian runs it: groff with every warning on, and the NAME line lexgrog reads.
    const formatted = await run('man', ['--warnings', '-E', 'UTF-8', '-l', '-Tutf8', '-Z', file], {
      env: { ...childEnv(), LC_ALL: 'C.UTF-8', MANWIDTH: '80' },
      maxBuffer: 16 * 1024 * 1024,
    });
    t.equal(formatted.stderr, '', `${page.file}: no warning from man --warnings`);
    const whatis = await run('lexgrog', [file]);
    t.match(whatis.stdout, new RegExp(`^${file.replace(/[.]/g, '\\.')}: "${page.file.replace(/\.1$/, '')} - \\S`), `${page.file}: whatis line`);
  }
  const verify = pages.find((p) => p.file === 'airlock-verify.1')!.text;
  t.match(verify, /^\\fB\\-\\-trust\\fR \\fIALLOWED_SIGNERS\\fR$/m, 'options as bold flags with italic values');
});

/** Run bash's completion function on a command line (the word under the cursor last) and return the candidates. */
async function complete(script: string, words: string[], cwd: string): Promise<string[]> {
  const program = [
    'source "$1"; shift',
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
    '_airlock airlock "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', program, 'complete-test', script, ...words], { cwd });
  return stdout.split('\n').filter(Boolean).sort();
}

t.test('bash completion, run for real', async (t) => {
  const dir = t.testdir({ 'model.airlock.tar': '', 'keys.pub': '', sub: { 'inner.txt': '' } });
  const script = path.join(dir, 'airlock.bash');
  writeFileSync(script, (await run(process.execPath, [AIRLOCK_BIN, 'completion', 'bash'], { env: childEnv() })).stdout);
  t.same(await complete(script, ['airlock', 've'], dir), ['verify'], 'a command');
  t.same(await complete(script, ['airlock', 'd'], dir), ['daemon', 'deploy', 'deployments', 'doctor'], 'every command it may be');
  t.same(await complete(script, ['airlock', 'verify', '--t'], dir), ['--threshold', '--trust'], "the command's own options");
  t.same(await complete(script, ['airlock', 'install', '--allow-'], dir), ['--allow-downgrade']);
  t.same(await complete(script, ['airlock', 'pack', 'src', '--kind', ''], dir), ['files', 'model-dir', 'model-store', 'nim-cache'], 'choices');
  t.same(await complete(script, ['airlock', 'pack', 'src', '--format', 't'], dir), ['tar']);
  t.same(await complete(script, ['airlock', 'fetch', '--gpus', '=', ''], dir), ['all', 'none'], '--gpus=<TAB>');
  t.same(await complete(script, ['airlock', 'verify', 'model.airlock.tar', '--trust', 'k'], dir), ['keys.pub'], 'a file for --trust');
  t.same(await complete(script, ['airlock', 'verify', 'mo'], dir), ['model.airlock.tar'], 'a file for BUNDLE');
  t.same(await complete(script, ['airlock', 'pack', 's'], dir), ['sub'], 'a folder for SOURCE');
  t.same(await complete(script, ['airlock', 'verify', 'model.airlock.tar', ''], dir), [], 'nothing after the last argument');
  t.same(
    await complete(script, ['airlock', 'install', '--store', 'sub', 'mo'], dir),
    ['model.airlock.tar'],
    'an option value is skipped when counting',
  );
  t.same(await complete(script, ['airlock', 'completion', ''], dir), ['bash', 'zsh']);
  t.same(await complete(script, ['airlock', 'help', 'ro'], dir), ['rollback']);
  t.same(await complete(script, ['airlock', 'status', '--w'], dir), ['--wide']);
});

t.test('zsh completion: valid zsh that defines _airlock for airlock', async (t) => {
  const zsh = await run('zsh', ['--version']).catch(() => undefined);
  if (!zsh) {
    t.fail('zsh is not installed (.ci/run installs it)');
    return;
  }
  const dir = t.testdir();
  const script = path.join(dir, '_airlock');
  writeFileSync(script, (await run(process.execPath, [AIRLOCK_BIN, 'completion', 'zsh'], { env: childEnv() })).stdout);
  await run('zsh', ['-n', script]);
  const { stdout } = await run(
    'zsh',
    ['-f', '-c', `autoload -Uz compinit && compinit -u -D && source ${script} && print -r -- $_comps[airlock] && whence -w _airlock`],
    {
      env: { ...childEnv(), HOME: dir },
    },
  );
  t.same(stdout.split('\n').filter(Boolean), ['_airlock', '_airlock: function']);
});
