// The benchmark's output for people: a fixed-width table, ratios, API latencies, target lines. Pure.
import type { ApiReport, ComparisonReport, RowReport, TargetReport } from './report.js';
import type { SticksReport } from './sticks-mode.js';

export interface TableInput {
  header: string[];
  rows: RowReport[];
  comparisons: ComparisonReport[];
  api?: ApiReport;
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
  const ratiosBySubject = new Map<string, string[]>();
  for (const c of input.comparisons) {
    if (c.timeRatio === undefined) continue;
    const base = input.rows.find((r) => r.id === c.baseline)?.label ?? c.baseline;
    ratiosBySubject.set(c.subject, [...(ratiosBySubject.get(c.subject) ?? []), `${c.timeRatio.toFixed(2)}× ${base}`]);
  }
  const lines = [['command', 'median s', 'min–max s', 'MB/s', '× floor', 'peak RSS MB', 'cached %', 'time vs baseline']];
  for (const r of input.rows) {
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
  out.push(...grid(lines));
  out.push("(cached %: the lowest share of the command's input found in the page cache just before a run)");
  if (input.api) out.push('', ...formatApi(input.api));
  if (input.sticks) out.push('', ...formatSticks(input.sticks));
  out.push('', 'targets:');
  for (const t of input.targets) out.push(`  ${t.verdict.padEnd(4)}  ${t.text}: ${t.measured}`);
  return out.join('\n');
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
