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
import { parseCommandArgs, writeJson, type CliIO } from '../command.js';

export const summary = "show the daemon's watched folders, bundles and deployments";
export const usage = `usage: airlock status [--config FILE | --url URL] [--token-file FILE] [--json]

  --config FILE      ask the daemon of this config (its api section); without --config or --url the config is
                     found as for every command ($AIRLOCK_CONFIG, /etc/airlock/config.json, else the embedded
                     quick-start config, whose API is http://127.0.0.1:7480)
  --url URL          ask the daemon at URL instead (also $AIRLOCK_URL; unix:/path for a socket)
  --token-file FILE  send the API token (not needed to read status)
  --json             print {status, bundles, total} as JSON (the newest 100 bundles, newest first)
Exit 1 with DAEMON_UNREACHABLE when no daemon answers.`;

export const DEFAULT_URL = apiUrl(defaultConfig.api, 'the defaults');

interface StatusDoc {
  version: string;
  uptimeSeconds: number;
  config: { source: string; demoTrust: boolean; store: string; runtime: string };
  watched: Array<{ path: string; kind: string; watching: boolean }>;
  queue: { verifying?: string; queued: string[] };
  models: ModelView[];
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { url: { type: 'string' }, config: { type: 'string' }, 'token-file': { type: 'string' }, json: { type: 'boolean' } },
    usage,
  );
  if (positionals.length > 0) throw new AirlockError('USAGE', `unexpected ${positionals[0]}\n${usage}`);
  if (values.url !== undefined && values.config !== undefined)
    throw new AirlockError('USAGE', `--url and --config name two daemons; give one\n${usage}`);
  const explicit = values.url ?? (values.config === undefined ? io.env.AIRLOCK_URL : undefined);
  const url = explicit ?? (await configuredUrl(values.config, io, !values.json));
  const token = values['token-file'] ? (await readFile(path.resolve(io.cwd, values['token-file']), 'utf8')).trim() : undefined;
  const status = await get<StatusDoc>(url, '/v1/status', token);
  // The newest page (100); --json shows the same page with `total` so a script knows whether there is more.
  const { bundles, total } = await get<{ bundles: BundleRecord[]; total: number }>(url, '/v1/bundles', token);
  if (values.json) writeJson(io, { url, status, bundles, total });
  else io.stdout.write(formatStatus(url, status, bundles, total));
  return 0;
}

/** The API of the daemon the discovered config describes, said on stderr for a person. */
async function configuredUrl(flag: string | undefined, io: CliIO, say: boolean): Promise<string> {
  const found = await discoverApi(flag, io.env, io.cwd);
  if (say) io.stderr.write(escapeText(`airlock: config ${describeConfig(found)}: API ${found.url}`) + '\n');
  return found.url;
}

async function get<T>(url: string, route: string, token: string | undefined): Promise<T> {
  const answer = await apiRequest<T & { code?: string; message?: string }>(url, route, token ? { token } : {});
  if (answer.status !== 200) {
    const code = (answer.body?.code ?? 'DAEMON_UNREACHABLE') as ErrorCode;
    throw new AirlockError(code, `${route}: ${answer.status} ${answer.body?.message ?? ''}`.trim());
  }
  return answer.body;
}

/** The table (pure): bundles oldest first, as they arrived; `total` says how many the daemon holds. Bundle names,
 * paths and error messages come from drops: every line is escaped. */
export function formatStatus(url: string, s: StatusDoc, newestFirst: BundleRecord[], total = newestFirst.length): string {
  const bundles = [...newestFirst].reverse();
  const out: string[] = [];
  out.push(
    `airlock ${s.version} at ${url}, up ${uptime(s.uptimeSeconds)}; config ${s.config.source}; store ${s.config.store}; runtime ${s.config.runtime}`,
  );
  if (s.config.demoTrust) out.push('WARNING: the demo trust file is in use; do not use this daemon for real bundles');
  out.push(`watching: ${s.watched.map((w) => `${w.path} (${w.kind}${w.watching ? '' : ', absent'})`).join(', ') || 'nothing'}`);
  out.push(
    `queue: ${s.queue.verifying ? `verifying ${s.queue.verifying}` : 'idle'}${s.queue.queued.length ? `, waiting ${s.queue.queued.join(' ')}` : ''}`,
  );
  out.push('');
  if (bundles.length === 0) out.push('no bundles seen yet');
  else out.push(...table(['BUNDLE', 'NAME', 'CHANNEL', 'SEQ', 'STATE', 'PROGRESS', 'DETAIL'], bundles.map(bundleRow)));
  if (total > bundles.length) out.push(`(the newest ${bundles.length} of ${total} bundles; GET /v1/bundles?before=… pages through the rest)`);
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
      ),
    );
  }
  return out.map(escapeText).join('\n') + '\n';
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

function table(head: string[], rows: string[][]): string[] {
  // Escaped before measuring, so the columns line up with what is shown.
  rows = rows.map((r) => r.map(escapeText));
  const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

function uptime(seconds: number): string {
  const s = Math.floor(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
