// The documentation against the code it describes, so that neither can drift without a failing test: links and
// anchors resolve, every option an `airlock` command line in the docs uses is in that command's --help, the
// error table is ERROR_TABLE, and the configuration and manifest tables name every key of their schemas with the
// defaults the code really has.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultConfig } from '../src/config/defaults.js';
import { ERROR_TABLE, type ErrorCode } from '../src/errors.js';
import { outcomeForError } from '../src/pipeline/decisions.js';
import { defaultDeploySettings } from '../src/runtime/config.js';
import { PACKAGE_ROOT } from '../src/util/schemas.js';
import { AIRLOCK_BIN, childEnv } from './helpers/cli.js';
import { codeBlocks, docPages, readPage } from './helpers/doc-blocks.js';

/**
 * Pages other branches bring (the CLI reference, arrival, parts, registry, Kubernetes, observability, the
 * architecture): a link to one may dangle until it is merged. Once a page exists, its links are checked like
 * any other; remove it from here then.
 */
const PENDING_PAGES = new Set<string>();

const pages = docPages();

/** The text outside fenced blocks, with inline code spans blanked (links inside them are not links). */
function prose(page: string): string {
  const lines = readPage(page).split('\n');
  for (const b of codeBlocks(page)) for (let i = b.line - 1; i < b.line + b.text.split('\n').length + 1 && i < lines.length; i++) lines[i] = '';
  return lines.join('\n').replace(/`[^`\n]*`/g, '``');
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats numbered. */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  const text = readPage(page).split('\n');
  const fenced = new Set(codeBlocks(page).flatMap((b) => Array.from({ length: b.text.split('\n').length + 2 }, (_, i) => b.line - 1 + i)));
  for (const [i, line] of text.entries()) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m || fenced.has(i)) continue;
    const base = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

t.test('every relative link and anchor resolves', async (t) => {
  const pending: string[] = [];
  for (const page of pages) {
    for (const m of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file)).replace(/\/$/, '');
      const abs = path.join(PACKAGE_ROOT, resolved);
      if (!existsSync(abs)) {
        const waiting = [...PENDING_PAGES].some((p) => resolved === p || resolved.startsWith(`${p}/`));
        if (waiting) pending.push(`${page} → ${resolved}`);
        else t.fail(`${page}: link to ${target}: ${resolved} does not exist`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!statSync(abs).isFile() || !resolved.endsWith('.md')) {
        t.fail(`${page}: anchor #${anchor} on ${resolved}, which is not a Markdown page`);
        continue;
      }
      t.ok(anchors(resolved).has(anchor), `${page}: ${target}`);
    }
  }
  if (pending.length > 0) t.comment(`links to pages not merged yet:\n${[...new Set(pending)].join('\n')}`);
});

t.test('every page of docs/ is in the index, docs/README.md', async (t) => {
  const index = prose('docs/README.md');
  for (const page of pages.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md' && !p.startsWith('docs/reference/'))) {
    t.ok(index.includes(`](${path.posix.relative('docs', page)})`), `${page} is linked from docs/README.md`);
  }
});

const COMMANDS = (() => {
  const help = spawnSync(process.execPath, [AIRLOCK_BIN, 'help'], { encoding: 'utf8', env: childEnv() }).stdout;
  return [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
})();

const usageCache = new Map<string, string>();
function usage(command: string): string {
  let text = usageCache.get(command);
  if (text === undefined) {
    text = spawnSync(process.execPath, [AIRLOCK_BIN, command, '--help'], { encoding: 'utf8', env: childEnv() }).stdout;
    usageCache.set(command, text);
  }
  return text;
}

/** `airlock CMD …` command lines in a text: the command and the options it is given. */
function commandLines(text: string): Array<{ command: string; flags: string[]; line: string }> {
  const out: Array<{ command: string; flags: string[]; line: string }> = [];
  const joined = text.replace(/\\\n\s*/g, ' ');
  for (const line of joined.split('\n')) {
    for (const m of line.matchAll(/(?:^|[\s(;|&`$])(?:\.\/bin\/)?airlock\s+([a-z]+)\b([^\n]*)/g)) {
      if (!COMMANDS.includes(m[1]!)) continue;
      // the options of this command: up to the end of its pipeline stage or comment
      const rest = m[2]!.split(/\s(?:\||;|&&|\|\||#)\s|[`)]/)[0]!;
      out.push({ command: m[1]!, flags: [...new Set(rest.match(/(?<![\w-])--[a-z][a-z-]*/g) ?? [])], line: line.trim() });
    }
  }
  return out;
}

t.test('every option a documented airlock command line uses is in its --help', async (t) => {
  t.ok(COMMANDS.length >= 15, `airlock help lists the commands (${COMMANDS.join(' ')})`);
  let checked = 0;
  for (const page of pages) {
    const texts = [
      ...codeBlocks(page)
        .filter((b) => b.info === '' || b.info.startsWith('sh'))
        .map((b) => b.text),
      ...[...readPage(page).matchAll(/`(airlock [^`\n]+)`/g)].map((m) => m[1]!),
    ];
    for (const text of texts) {
      for (const c of commandLines(text)) {
        for (const flag of c.flags) {
          checked++;
          if (flag === '--help') continue;
          if (!usage(c.command).includes(flag)) t.fail(`${page}: airlock ${c.command} has no ${flag}: ${c.line}`);
        }
      }
    }
  }
  t.ok(checked > 100, `${checked} options checked`);
});

t.test('docs/errors.md has one row per code, with the exit code, HTTP status and daemon outcome of the code', async (t) => {
  const rows = readPage('docs/errors.md')
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => l.split('|').map((c) => c.trim()));
  const documented = new Map(rows.map((r) => [r[1]!.replace(/`/g, ''), r]));
  t.equal(documented.size, rows.length, 'no code twice');
  for (const code of Object.keys(ERROR_TABLE) as ErrorCode[]) {
    const row = documented.get(code);
    if (!row) {
      t.fail(`${code} (src/errors.ts) has no row in docs/errors.md`);
      continue;
    }
    t.equal(row[2], String(ERROR_TABLE[code].exit), `${code}: exit code`);
    t.equal(row[3], String(ERROR_TABLE[code].http), `${code}: HTTP status`);
    if (row[4] !== '') t.equal(row[4], outcomeForError(code), `${code}: what the daemon makes of it`);
    if (outcomeForError(code) === 'failed') t.equal(row[4], 'failed', `${code}: the daemon's "failed" is said`);
    t.ok((row[5] ?? '').length > 10, `${code}: says when`);
  }
  for (const code of documented.keys()) t.ok(code in ERROR_TABLE, `${code} (docs/errors.md) is a code of src/errors.ts`);
});

/** The rows `| \`key\` | default | meaning |` of the table that follows `heading`. */
function table(page: string, heading: string): Map<string, string> {
  const text = readPage(page);
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`${page} has no "${heading}"`);
  const lines = text.slice(start + heading.length + 2).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows = new Map<string, string>();
  for (const l of lines.slice(first)) {
    if (!l.startsWith('|')) break;
    const cells = l.split(/(?<!\\)\|/).map((c) => c.trim());
    const key = /^`([^`]+)`$/.exec(cells[1]!)?.[1];
    if (key) rows.set(key, cells[2]!);
  }
  return rows;
}

interface Schema {
  properties?: Record<string, Schema>;
  $defs?: Record<string, Schema>;
  type?: string;
}

function schemaKeys(s: Schema, prefix = ''): string[] {
  return Object.entries(s.properties ?? {}).flatMap(([k, v]) =>
    k === '$schema' ? [] : v.type === 'object' && v.properties ? schemaKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

const schema = (name: string) => JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'schema', name), 'utf8')) as Schema;

/** The default a table cell states: JSON in a code span, or undefined for prose ("(required)", "none"). */
function stated(cell: string): unknown {
  const m = /^`(.+)`$/.exec(cell);
  if (!m) return undefined;
  try {
    return JSON.parse(m[1]!);
  } catch {
    return undefined;
  }
}

function valueAt(obj: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

t.test('the configuration reference names every key of schema/config.schema.json with its default', async (t) => {
  const rows = table('docs/guide-operator.md', '## Configuration reference');
  const keys = schemaKeys(schema('config.schema.json'));
  t.same([...rows.keys()].sort(), keys.sort(), 'the same keys as the schema');
  for (const [key, cell] of rows) {
    const code = valueAt(defaultConfig, key);
    if (code === undefined) continue;
    t.same(stated(cell), code, `${key}: the default is ${JSON.stringify(code)} (src/config/defaults.ts)`);
  }
});

t.test('the runtime table names every key of schema/runtime-config.schema.json with its default', async (t) => {
  const rows = table('docs/guide-operator.md', '### Runtime configuration');
  // The docker branch takes the shared deploySettings by $ref and adds its own keys.
  const defs = schema('runtime-config.schema.json').$defs!;
  const keys = new Set([...Object.keys(defs['deploySettings']!.properties!), ...Object.keys(defs['docker']!.properties!)]);
  t.same([...rows.keys()].sort(), [...keys].sort(), 'the same keys as the schema');
  for (const [key, cell] of rows) {
    const code = (defaultDeploySettings as unknown as Record<string, unknown>)[key];
    if (code === undefined) continue;
    t.same(stated(cell), code, `${key}: the default is ${JSON.stringify(code)} (src/runtime/config.ts)`);
  }
});

t.test('the manifest table of docs/format.md names every field of schema/manifest.schema.json', async (t) => {
  const rows = table('docs/format.md', '## The manifest: `airlock.json`');
  t.same([...rows.keys()].sort(), Object.keys(schema('manifest.schema.json').properties!).sort());
});
