// `node dist/bench/profile-summary.js FILE.cpuprofile [TOP]`: self time per function of a
// `node --cpu-prof` profile, to see where a slow command spends its CPU.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function selfTimes(p: Profile): Array<{ name: string; ms: number }> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    if (!n) return;
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const name = `${f.functionName || '(anonymous)'} ${where}`.trim();
    totals.set(name, (totals.get(name) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
}

const [file, top] = process.argv.slice(2);
if (file) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const wall = (p.endTime - p.startTime) / 1000;
  process.stdout.write(`${file}: ${wall.toFixed(0)} ms profiled\n`);
  for (const { name, ms } of selfTimes(p).slice(0, Number(top ?? 25))) {
    process.stdout.write(`${ms.toFixed(0).padStart(7)} ms  ${((100 * ms) / wall).toFixed(1).padStart(5)}%  ${name}\n`);
  }
}
