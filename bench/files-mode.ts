// Files mode: every command N times on the same data, round-robin, each run in a fresh scratch folder.
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { BenchCase } from './cases.js';
import { residentFraction } from './page-cache.js';
import { dropPageCache, runTimed, type TimedRun } from './run-timed.js';
import type { Workspace } from './workspace.js';

export interface CaseRuns {
  id: string;
  label: string;
  kind: BenchCase['kind'];
  runs: TimedRun[];
}

export interface FilesModeOptions {
  runs: number;
  cold: boolean;
  log: (m: string) => void;
}

export async function runFilesMode(ws: Workspace, cases: BenchCase[], opts: FilesModeOptions): Promise<CaseRuns[]> {
  const results = cases.map((c) => ({ id: c.id, label: c.label, kind: c.kind, runs: [] as TimedRun[] }));
  for (let round = 1; round <= opts.runs; round++) {
    for (const [i, c] of cases.entries()) {
      const scratch = path.join(ws.scratch, `${c.id}-${round}`);
      await fsp.mkdir(scratch);
      if (opts.cold) await dropPageCache();
      const cached = await residentFraction(c.inputs(ws));
      const run = await runTimed(c.invocation(ws, scratch), path.join(ws.root, 'rss.txt'));
      if (cached !== undefined) run.inputCached = cached;
      results[i]?.runs.push(run);
      const cacheNote = cached === undefined ? '' : `  (input ${(100 * cached).toFixed(0)}% cached)`;
      opts.log(
        `round ${round}/${opts.runs}  ${c.label.padEnd(30)} ${(run.ms / 1000).toFixed(2)} s${cacheNote}${run.exitCode === 0 ? '' : `  FAILED (exit ${run.exitCode}): ${firstLine(run.errorTail)}`}`,
      );
      await fsp.rm(scratch, { recursive: true, force: true });
      // Flush what the run wrote so its write-back is not billed to the next command.
      await syncDisks();
    }
  }
  return results;
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
}

export function syncDisks(): Promise<void> {
  return new Promise((resolve) => {
    spawn('sync', [], { stdio: 'ignore' })
      .on('close', () => resolve())
      .on('error', () => resolve());
  });
}
