// airlock status: the running daemon's state as a table for a person (or its JSON).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { apiRequest } from '../../api/client.js';
import type { ModelView } from '../../api/context.js';
import { defaultConfig } from '../../config/defaults.js';
import { apiUrl, describeConfig, discoverApi } from '../../config/discover.js';
import { AirlockError, type ErrorCode } from '../../errors.js';
import type { BundleRecord } from '../../pipeline/types.js';
import { escapeText } from '../../util/escape-text.js';
import { humanBytes } from '../../util/human.js';
import { paintFor, type Paint } from '../colour.js';
import { defineCommand, writeJson, type CliIO, type ParsedArgs } from '../command.js';
import { JSON_OPTION } from '../common-options.js';

export const DEFAULT_URL = apiUrl(defaultConfig.api, 'the defaults');

export const spec = defineCommand({
  name: 'status',
  summary: "show the daemon's watched folders, bundles and deployments",
  description: [
    'Asks the running daemon (its API) for its state: the config it runs, the folders it watches, its queue, the newest 100 bundles (oldest first) and the models with their containers.',
    'On a terminal the tables are fitted to its width, each cut cell ending in …; --wide prints every cell whole. Output into a pipe or a file is never cut, unless COLUMNS is set.',
  ],
  positionals: [],
  options: [
    {
      flag: '--config',
      value: 'FILE',
      complete: 'file',
      description:
        'ask the daemon of this config (its api section); without --config or --url the config is found as for every command ($AIRLOCK_CONFIG, /etc/airlock/config.json, else the embedded one)',
    },
    {
      flag: '--url',
      value: 'URL',
      complete: 'none',
      description: `the daemon's API (default $AIRLOCK_URL, else ${DEFAULT_URL}; unix:/path for a socket)`,
    },
    { flag: '--token-file', value: 'FILE', complete: 'file', description: 'send the API token (not needed to read status)' },
    { flag: '--wide', description: 'never cut a cell to fit the terminal', group: 'Output' },
    JSON_OPTION,
  ],
  jsonSchema: 'status-report',
  environment: [
    { name: 'AIRLOCK_URL', description: 'the daemon API when --url is not given' },
    { name: 'COLUMNS', description: 'the width to fit when stdout is not a terminal' },
  ],
  exitStatus: '0 when the daemon answered, 1 with DAEMON_UNREACHABLE when none does.',
  seeAlso: ['daemon', 'doctor'],
});

interface StatusDoc {
  version: string;
  uptimeSeconds: number;
  config: { source: string; demoTrust: boolean; store: string; runtime: string };
  watched: Array<{ path: string; kind: string; watching: boolean }>;
  queue: { verifying?: string; queued: string[] };
  models: ModelView[];
}

export async function run({ values }: ParsedArgs<typeof spec>, io: CliIO): Promise<number> {
  if (values.url !== undefined && values.config !== undefined) throw new AirlockError('USAGE', '--url and --config name two daemons; give one');
  const explicit = values.url ?? (values.config === undefined ? io.env.AIRLOCK_URL : undefined);
  const url = explicit ?? (await configuredUrl(values.config, io, !values.json));
  const token = values['token-file'] ? (await readFile(path.resolve(io.cwd, values['token-file']), 'utf8')).trim() : undefined;
  const status = await get<StatusDoc>(url, '/v1/status', token);
  // The newest page (100); --json shows the same page with `total` so a script knows whether there is more.
  const { bundles, total } = await get<{ bundles: BundleRecord[]; total: number }>(url, '/v1/bundles', token);
  if (values.json) writeJson(io, { url, status, bundles, total });
  else
    io.stdout.write(
      formatStatus(url, status, bundles, total, { width: values.wide ? Infinity : outputWidth(io), paint: paintFor(io.stdout, io.env) }),
    );
  return 0;
}

/** The API of the daemon the discovered config describes, said on stderr for a person. */
async function configuredUrl(flag: string | undefined, io: CliIO, say: boolean): Promise<string> {
  const found = await discoverApi(flag, io.env, io.cwd);
  if (say) io.stderr.write(escapeText(`airlock: config ${describeConfig(found)}: API ${found.url}`) + '\n');
  return found.url;
}

/** The terminal's width; COLUMNS when stdout is not a terminal; else no limit (a pipe gets every character). */
export function outputWidth(io: Pick<CliIO, 'stdout' | 'env'>): number {
  if (io.stdout.isTTY) return io.stdout.columns && io.stdout.columns > 0 ? io.stdout.columns : 80;
  const columns = Number(io.env['COLUMNS']);
  return Number.isSafeInteger(columns) && columns > 0 ? columns : Infinity;
}

async function get<T>(url: string, route: string, token: string | undefined): Promise<T> {
  const answer = await apiRequest<T & { code?: string; message?: string }>(url, route, token ? { token } : {});
  if (answer.status !== 200) {
    const code = (answer.body?.code ?? 'DAEMON_UNREACHABLE') as ErrorCode;
    throw new AirlockError(code, `${route}: ${answer.status} ${answer.body?.message ?? ''}`.trim());
  }
  return answer.body;
}

export interface StatusLayout {
  /** characters per line; Infinity: nothing is cut */
  width: number;
  paint: Paint;
}

const WHOLE: StatusLayout = { width: Infinity, paint: paintFor({}, {}) };

/**
 * The report (pure): bundles oldest first, as they arrived; `total` says how many the daemon holds. Bundle names,
 * paths and error messages come from drops: every cell is escaped before it is measured, cut or coloured.
 */
export function formatStatus(
  url: string,
  s: StatusDoc,
  newestFirst: BundleRecord[],
  total = newestFirst.length,
  layout: StatusLayout = WHOLE,
): string {
  const bundles = [...newestFirst].reverse();
  const fit = (line: string) => cut(escapeText(line), layout.width);
  const out: string[] = [];
  out.push(
    fit(
      `airlock ${s.version} at ${url}, up ${uptime(s.uptimeSeconds)}; config ${s.config.source}; store ${s.config.store}; runtime ${s.config.runtime}`,
    ),
  );
  if (s.config.demoTrust)
    out.push(layout.paint.warn(fit('WARNING: the demo key is trusted (its private half is published); do not use this daemon for real bundles')));
  out.push(fit(`watching: ${s.watched.map((w) => `${w.path} (${w.kind}${w.watching ? '' : ', absent'})`).join(', ') || 'nothing'}`));
  out.push(
    fit(
      `queue: ${s.queue.verifying ? `verifying ${s.queue.verifying}` : 'idle'}${s.queue.queued.length ? `, waiting ${s.queue.queued.join(' ')}` : ''}`,
    ),
  );
  out.push('');
  if (bundles.length === 0) out.push('no bundles seen yet');
  else {
    const paintState = (cell: string, column: number) => (column === BUNDLE_STATE_COLUMN ? stateColour(layout.paint, cell) : cell);
    out.push(...table(['BUNDLE', 'NAME', 'CHANNEL', 'SEQ', 'STATE', 'PROGRESS', 'DETAIL'], bundles.map(bundleRow), layout.width, paintState));
  }
  if (total > bundles.length) out.push(fit(`(the newest ${bundles.length} of ${total} bundles; GET /v1/bundles?before=… pages through the rest)`));
  if (s.models.length > 0) {
    out.push('');
    out.push(
      ...table(
        ['MODEL', 'CURRENT', 'CHANNEL', 'SEQ', 'KEPT', 'CONTAINER'],
        s.models.map((m) => [
          m.name,
          m.current?.bundleId ?? '-',
          m.current?.channel ?? '-',
          m.current ? String(m.current.sequence) : '-',
          String(m.kept.length),
          m.runtime ? m.runtime.state : '-',
        ]),
        layout.width,
      ),
    );
  }
  return out.join('\n') + '\n';
}

const BUNDLE_STATE_COLUMN = 4;

/** Trouble in red, work in progress in yellow, done in green; a state this table does not know stays plain. */
function stateColour(paint: Paint, cell: string): string {
  const state = cell.trimEnd();
  if (state === 'installed' || state === 'ready') return paint.good(cell);
  if (state === 'rejected' || state === 'failed') return paint.bad(cell);
  if (['arriving', 'queued', 'verifying', 'deploying', 'duplicate'].includes(state)) return paint.warn(cell);
  return cell;
}

function bundleRow(b: BundleRecord): string[] {
  return [b.id, b.name ?? '?', b.channel ?? '-', b.sequence === undefined ? '-' : String(b.sequence), b.state, progress(b), detail(b)];
}

function progress(b: BundleRecord): string {
  if (b.state === 'arriving') {
    const a = b.arrival;
    return a.bytesExpected ? `${humanBytes(a.bytesPresent)} of ${humanBytes(a.bytesExpected)}` : `${humanBytes(a.bytesPresent)} so far`;
  }
  if (b.state === 'verifying') {
    const v = b.verification;
    const pct = v.bytesTotal > 0 ? ` (${Math.floor((100 * v.bytesDone) / v.bytesTotal)}%)` : '';
    return `${humanBytes(v.bytesDone)} of ${humanBytes(v.bytesTotal)}${pct}${v.rate ? ` at ${humanBytes(v.rate)}/s` : ''}`;
  }
  if (b.install) return `${humanBytes(b.install.bytesVerified)} verified`;
  return '';
}

function detail(b: BundleRecord): string {
  if (b.error) return `${b.error.code}: ${b.error.message}`;
  if (b.note) return b.note;
  const principals = (b.trust?.signers ?? []).filter((s) => s.status === 'trusted').flatMap((s) => s.principals);
  if (principals.length) return `signed by ${principals.join(', ')}`;
  return b.location;
}

/** `text` cut to `width` characters, the cut marked with …. */
export function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? '…'.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/** Columns cut to the narrowest they may be, widest first, so that a row fits `width`. */
const MIN_COLUMN = 6;

function table(head: string[], rows: string[][], width: number, decorate: (cell: string, column: number) => string = (c) => c): string[] {
  // Escaped before measuring, so the columns line up with what is shown.
  rows = rows.map((r) => r.map(escapeText));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    // The widest column gives up a character; columns at their floor (header or MIN_COLUMN) keep theirs.
    let widest = -1;
    widths.forEach((w, i) => {
      if (w > Math.max(MIN_COLUMN, head[i]!.length) && (widest < 0 || w > widths[widest]!)) widest = i;
    });
    if (widest < 0) break;
    widths[widest]!--;
  }
  const fmt = (r: string[], paint: boolean) =>
    r
      .map((c, i) => {
        const cell = cut(c, widths[i] ?? 0);
        const padded = i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
        return paint ? decorate(padded, i) : padded;
      })
      .join('  ')
      .trimEnd();
  return [fmt(head, false), ...rows.map((r) => fmt(r, true))];
}

function uptime(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
