// The command line as people meet it, through the real CLI: a mistyped option or command is one
// `airlock: USAGE: …` line naming what was meant, every missing argument is named at once, --help and
// `airlock help CMD` print the generated text, and a usage error asked for as JSON is a document too.
import t, { type Test } from 'tap';
import { helpText } from '../src/cli/help-text.js';
import { spec as verifySpec } from '../src/cli/commands/verify.js';
import { schemaProblems } from '../src/util/schemas.js';
import { airlock } from './helpers/cli.js';

/** Exactly one line on stderr, and it is the USAGE line. */
function oneUsageLine(t: Test, res: { exitCode: number; stderr: string; errorCode: string | undefined }): string {
  t.equal(res.exitCode, 2, 'exit 2');
  t.equal(res.errorCode, 'USAGE');
  const lines = res.stderr.split('\n');
  t.same([lines.length, lines[1]], [2, ''], 'one line on stderr');
  return lines[0]!;
}

t.test('a mistyped option: one line, with the option meant', async (t) => {
  const line = oneUsageLine(t, await airlock(['verify', 'b', '--trsut', 'x']));
  t.equal(line, 'airlock: USAGE: airlock verify has no option --trsut; did you mean --trust? (airlock help verify lists the options)');
  t.match(oneUsageLine(t, await airlock(['install', 'b', '--stroe', 's', '--trust', 'x'])), 'did you mean --store?');
  t.match(oneUsageLine(t, await airlock(['pack', 'src', '--kind', 'nim_cache', '--out', 'o', '--name', 'n'])), 'did you mean nim-cache?');
  t.match(oneUsageLine(t, await airlock(['fetch', '--image', 'x', '--list', '--gpus', 'nvidia'])), '--gpus must be one of all, none');
});

t.test('a mistyped command: one line, with the command meant', async (t) => {
  t.match(oneUsageLine(t, await airlock(['verfy', 'x'])), 'unknown command "verfy"; did you mean verify?');
  t.match(oneUsageLine(t, await airlock(['instal'])), 'did you mean install?');
  t.match(oneUsageLine(t, await airlock(['help', 'deploi'])), 'did you mean deploy?');
});

t.test('missing arguments and required options: all named at once', async (t) => {
  t.match(oneUsageLine(t, await airlock(['install'])), 'airlock: USAGE: missing BUNDLE, --store DIR and --trust ALLOWED_SIGNERS');
  t.match(oneUsageLine(t, await airlock(['pack', 'src'])), 'missing --out DEST, --name NAME and --kind KIND');
  t.match(oneUsageLine(t, await airlock(['fetch', '--list'])), 'missing --image REF');
  t.match(oneUsageLine(t, await airlock(['gc', 'extra', '--store', 's'])), 'unexpected argument "extra": airlock gc takes no arguments');
});

t.test('--help, -h and airlock help CMD print the generated text', async (t) => {
  const expected = helpText(verifySpec);
  for (const args of [
    ['verify', '--help'],
    ['verify', '-h'],
    ['help', 'verify'],
    ['verify', 'x', '--trsut', '--help'],
  ]) {
    const res = await airlock(args);
    t.equal(res.exitCode, 0, args.join(' '));
    t.equal(res.stdout, expected, `${args.join(' ')} prints verify's help`);
  }
  const overview = await airlock(['help']);
  t.equal(overview.exitCode, 0);
  for (const name of ['pack', 'verify', 'install', 'daemon', 'completion']) t.match(overview.stdout, new RegExp(`^  ${name} +\\S`, 'm'));
  t.equal((await airlock([])).stdout, overview.stdout, 'no command: the overview');
});

t.test('a usage error with --json is a document on stdout too', async (t) => {
  const res = await airlock(['verify', '--json', '--trust']);
  t.equal(res.exitCode, 2);
  const doc = JSON.parse(res.stdout);
  t.same(schemaProblems('cli-error', doc), [], 'schema/cli-error.schema.json');
  t.match(doc, { ok: false, error: { code: 'USAGE', message: /--trust needs a value/ } });
  const noJson = await airlock(['daemon', '--json']);
  t.equal(noJson.stdout, '', 'a command without --json prints no document');
  t.match(noJson.stderr, 'airlock daemon has no option --json');
});
