// Install progress arrives per chunk; a few updates a second are plenty (each is published to every subscriber).
import type { InstallProgress } from './ports.js';

/** Pass on at most one payload update per `everyMs`, plus the last one and every phase change. */
export function throttled(report: (p: InstallProgress) => void, everyMs = 100): (p: InstallProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last >= everyMs || p.bytesDone === p.bytesTotal || p.phase !== 'payload') {
      last = now;
      report({ phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal });
    }
  };
}
