// The command specs and what is generated from them, in process: strict parsing (typos named with what was
// meant, every missing argument at once), help that lists every option, and the promises every command keeps
// (--json with a schema, --quiet where there is progress).
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineCommand, type CommandSpec } from '../src/cli/command.js';
import { helpText } from '../src/cli/help-text.js';
import { listed, parseCommandLine } from '../src/cli/parse-args.js';
import { allSpecs } from '../src/cli/registry.js';
import { closest, editDistance } from '../src/cli/suggest.js';
import { AirlockError } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';

const spec = defineCommand({
  name: 'demo',
  summary: 'a command for the parser',
  description: [],
  positionals: [{ name: 'BUNDLE', description: 'the bundle' }],
  options: [
    { flag: '--trust', value: 'FILE', required: true, description: 'trust' },
    { flag: '--store', value: 'DIR', required: true, description: 'store' },
    { flag: '--threshold', value: 'K', description: 'threshold' },
    { flag: '--sign', value: 'KEY', repeatable: true, description: 'keys' },
    { flag: '--format', value: 'F', choices: ['dir', 'tar'], description: 'format' },
    { flag: '--json', description: 'json' },
    { flag: '--quiet', short: '-q', description: 'quiet' },
    { flag: '--out', short: '-o', value: 'DIR', description: 'out' },
  ],
});

function usageError(t: Test, argv: string[]): string {
  try {
    parseCommandLine(spec, argv);
  } catch (err) {
    t.ok(err instanceof AirlockError && err.code === 'USAGE', `USAGE for ${argv.join(' ')}`);
    return (err as Error).message;
  }
  t.fail(`no error for ${argv.join(' ')}`);
  return '';
}

t.test('a whole command line: values, switches, repeats, clusters, = and --', async (t) => {
  const args = parseCommandLine(spec, ['b', '--trust=t', '--store', 's', '--sign', 'k1', '--sign=k2', '-qoOUT', '--format', 'tar']);
  t.same(args.positionals, { BUNDLE: 'b' });
  t.same(args.values, { trust: 't', store: 's', sign: ['k1', 'k2'], quiet: true, out: 'OUT', format: 'tar', json: false });
  t.same(parseCommandLine(spec, ['--trust', 't', '--store', 's', '--', '-']).positionals, { BUNDLE: '-' }, 'after --, a dash is a word');
  t.same(parseCommandLine(spec, ['-', '--trust', 't', '--store', 's']).positionals, { BUNDLE: '-' }, '- alone is standard input');
  t.same(parseCommandLine(spec, ['b', '--trust', 't', '--store', 's', '-o', 'x']).values.out, 'x');
});

t.test('mistyped options are named with the one meant', async (t) => {
  t.match(usageError(t, ['b', '--trsut', 't', '--store', 's']), 'airlock demo has no option --trsut; did you mean --trust?');
  t.match(usageError(t, ['b', '--thresh', '2']), 'did you mean --threshold?', 'a unique prefix');
  t.match(usageError(t, ['b', '-json']), 'did you mean --json?', 'one dash too few');
  t.match(usageError(t, ['b', '--quite']), 'did you mean --quiet?', 'swapped letters');
  t.notMatch(usageError(t, ['b', '--frobnicate']), 'did you mean', 'nothing close: no guess');
  t.match(usageError(t, ['b', '-x']), 'has no option -x');
  t.match(usageError(t, ['b', '--format', 'tra', '--trust', 't', '--store', 's']), '--format must be one of dir, tar, not "tra"; did you mean tar?');
});

t.test('every missing argument and required option is named at once', async (t) => {
  t.match(usageError(t, []), 'missing BUNDLE, --trust FILE and --store DIR');
  t.match(usageError(t, ['b', '--store', 's']), /^missing --trust FILE$/);
  t.match(usageError(t, ['b', '--trust', '', '--store', 's']), 'missing --trust FILE', 'an empty value is no value');
});

t.test('values are where they belong', async (t) => {
  t.match(usageError(t, ['b', '--trust']), '--trust needs a value: --trust FILE');
  t.match(usageError(t, ['b', '--trust', '--json', '--store', 's']), '--trust needs a value', 'an option is not a value');
  t.match(usageError(t, ['b', '--json=yes']), '--json takes no value');
  t.match(usageError(t, ['b', '--trust', 'a', '--trust', 'b', '--store', 's']), '--trust given twice');
  t.match(usageError(t, ['a', 'b', '--trust', 't', '--store', 's']), 'unexpected argument "b": airlock demo takes BUNDLE');
});

t.test('edit distance and the guess', async (t) => {
  t.equal(editDistance('trust', 'trsut'), 1, 'a swap is one edit');
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(closest('stroe', ['store', 'trust']), 'store');
  t.equal(closest('zzzzzz', ['store', 'trust']), undefined);
  t.equal(listed(['a', 'b', 'c']), 'a, b and c');
});

t.test('every command: help lists each option, --json has a schema, progress has --quiet', async (t) => {
  const specs: CommandSpec[] = await allSpecs();
  t.ok(specs.length >= 19, `${specs.length} commands`);
  for (const s of specs) {
    const help = helpText(s);
    for (const o of s.options) t.ok(help.includes(o.flag), `${s.name} --help lists ${o.flag}`);
    const long = help.split('\n').filter((l) => l.length > 100 && l.trim().includes(' '));
    t.same(long, [], `${s.name}: help lines fit 100 columns`);
    const json = s.options.some((o) => o.flag === '--json');
    if (!['daemon', 'completion', 'help'].includes(s.name)) t.ok(json, `${s.name} has --json`);
    if (json) {
      t.ok(s.jsonSchema, `${s.name} names the schema of its --json`);
      t.ok(existsSync(path.join(PACKAGE_ROOT, 'schema', `${s.jsonSchema}.schema.json`)), `schema/${s.jsonSchema}.schema.json exists`);
    }
    if (['pack', 'verify', 'install', 'fetch', 'deploy', 'stop'].includes(s.name)) t.ok(help.includes('--quiet'), `${s.name} has --quiet`);
    const flags = s.options.map((o) => o.flag);
    t.same(flags, [...new Set(flags)], `${s.name}: no option defined twice`);
    for (const o of s.options) t.notMatch(o.description, /[^\x20-\x7e…]/u, `${s.name} ${o.flag}: plain text for man and help`);
    for (const p of s.description) t.notMatch(p, /[^\x20-\x7e…]/u, `${s.name}: description in plain text`);
  }
});
