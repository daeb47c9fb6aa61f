// The benchmark's output for people: a fixed-width table, ratios, API latencies, target lines. Pure.
import {
  sizeLabel,
  type ApiReport,
  type ArrivalReport,
  type ComparisonReport,
  type RowReport,
  type ScaleReport,
  type TargetReport,
} from './report.js';
import type { SticksReport } from './sticks-mode.js';

export interface TableInput {
  header: string[];
  rows: RowReport[];
  comparisons: ComparisonReport[];
  api?: ApiReport;
  arrival?: ArrivalReport[];
  scale?: ScaleReport;
  sticks?: SticksReport;
  targets: TargetReport[];
}

function grid(lines: string[][]): string[] {
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  return lines.map((l) =>
    l
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

const num = (v: number | undefined, digits = 2) => (v === undefined ? '-' : v.toFixed(digits));

export function formatTable(input: TableInput): string {
  const out = [...input.header, ''];
  if (input.rows.length > 0) {
    out.push(...commandTable(input.rows, input.comparisons));
    out.push("(cached %: the lowest share of the command's input found in the page cache just before a run)");
  }
  if (input.api) out.push('', ...formatApi(input.api));
  if (input.arrival?.length) out.push('', ...formatArrival(input.arrival));
  if (input.sticks) out.push('', ...formatSticks(input.sticks));
  if (input.scale) {
    const sc = input.scale;
    out.push('', `scale: ${sc.files.toLocaleString('en-US')} files of ${sc.fileSize / 1024} KiB (${sizeLabel(sc.files * sc.fileSize)})`);
    out.push(...commandTable(sc.rows, sc.comparisons));
  }
  out.push('', 'targets:');
  for (const t of input.targets) out.push(`  ${t.verdict.padEnd(4)}  ${t.text}: ${t.measured}`);
  return out.join('\n');
}

function commandTable(rows: RowReport[], comparisons: ComparisonReport[]): string[] {
  const ratiosBySubject = new Map<string, string[]>();
  for (const c of comparisons) {
    if (c.timeRatio === undefined) continue;
    const base = rows.find((r) => r.id === c.baseline)?.label ?? c.baseline;
    ratiosBySubject.set(c.subject, [...(ratiosBySubject.get(c.subject) ?? []), `${c.timeRatio.toFixed(2)}× ${base}`]);
  }
  const lines = [['command', 'median s', 'min–max s', 'MB/s', '× floor', 'peak RSS MB', 'cached %', 'time vs baseline']];
  for (const r of rows) {
    if (!r.ok || !r.seconds) {
      lines.push([r.label, 'FAILED', '', '', '', '', '', (r.error ?? '').split('\n')[0]?.slice(0, 70) ?? '']);
      continue;
    }
    lines.push([
      r.label,
      num(r.seconds.median),
      `${num(r.seconds.min)}–${num(r.seconds.max)}`,
      String(r.mbPerSec ?? '-'),
      num(r.overFloor),
      num(r.peakRssMB, 0),
      num(r.inputCachedMinPct, 0),
      (ratiosBySubject.get(r.id) ?? []).join('; '),
    ]);
  }
  return grid(lines);
}

const span = (s: { n: number; median: number; min: number; max: number } | undefined) =>
  s === undefined ? '-' : s.n > 1 ? `${num(s.median)} (${num(s.min)}–${num(s.max)})` : num(s.median);

function formatArrival(arrival: ArrivalReport[]): string[] {
  const out = ['last byte → installed, seconds (a folder bundle arriving by rsync --bwlimit into a watched drop folder; median (min–max))'];
  const lines = [
    ['bundle', 'files', 'arrival MB/s', 'verified while arriving', 'verified after arrival', 'copy, then install', 'daemon RSS MB', 'status p99 ms'],
  ];
  for (const a of arrival) {
    const failed = a.early.failures.length ? ` FAILED ${a.early.failures.length}` : '';
    lines.push([
      sizeLabel(a.size),
      String(a.files),
      String(a.rateMBs ?? '-'),
      `${span(a.early.seconds)}${failed}`,
      span(a.after.seconds),
      span(a.serial.seconds),
      num(a.daemonPeakRssMB, 0),
      `${num(a.api.p99, 1)} (${a.api.count})`,
    ]);
  }
  out.push(...grid(lines));
  out.push(
    '(verified while arriving: the default daemon; verified after arrival: arrival.verifyWhileArriving off, the 3 s quiet period then a whole install;',
    ' copy, then install: `airlock install` run once the copy ended, node start-up included; status p99: GET /v1/status every 25 ms throughout, requests in brackets)',
  );
  for (const a of arrival) {
    if (a.early.seconds && !a.early.allPrestaged) out.push(`  ${sizeLabel(a.size)}: not every byte was verified while arriving (see bytesPrestaged)`);
    for (const f of [...a.early.failures, ...a.after.failures, ...a.serial.failures]) out.push(`  ${sizeLabel(a.size)}: ${f}`);
  }
  return out;
}

function formatApi(api: ApiReport): string[] {
  const lines = [['GET /v1/status', 'requests', 'errors', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms']];
  for (const p of api.phases) {
    const l = p.latencyMs;
    lines.push([p.label, String(l.count), String(p.errors), num(l.p50, 1), num(l.p90, 1), num(l.p99, 1), num(l.max, 1)]);
  }
  const out = grid(lines);
  const busy = api.phases.find((p) => p.install)?.install;
  if (busy)
    out.push(
      `  install by the daemon: ${busy.state} after ${busy.seconds.toFixed(1)} s; ${busy.requestsDuringInstall} requests answered while it ran`,
    );
  if (api.daemonPeakRssMB !== undefined) out.push(`  daemon peak RSS (VmHWM from /proc): ${api.daemonPeakRssMB.toFixed(0)} MB`);
  if (api.note) out.push(`  ${api.note}`);
  return out;
}

function formatSticks(s: SticksReport): string[] {
  const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
  const l = s.api.latencyMs;
  return [
    `split parts on two sticks (${s.parts} parts of ${mib(s.partBytes)}; the second stick appears ${s.gapSeconds} s after the first is done):`,
    `  stick A: index + ${s.stickA.parts} part(s), ${mib(s.stickA.bytes)}, mounted at start-up: spooled and unpacked ${s.stickA.seconds ?? '-'} s after the daemon started`,
    `  stick B: ${s.stickB.parts} part(s), ${mib(s.stickB.bytes)}: appears → ${s.state} in ${s.lastStickToInstalledSeconds ?? '-'} s (${s.lastStickMBps ?? '-'} MB/s); its last part spooled → installed ${s.lastPartSpooledToInstalledSeconds ?? '-'} s`,
    `  daemon peak RSS ${s.daemonPeakRssMB ?? '-'} MB; GET /v1/status throughout: ${l.count} requests, ${s.api.errors} errors, p50 ${num(l.p50, 1)} ms, p99 ${num(l.p99, 1)} ms, max ${num(l.max, 1)} ms`,
  ];
}
