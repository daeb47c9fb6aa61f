// A one-line byte progress bar on stderr; silent unless stderr is a terminal.
import { humanBytes } from './human.js';

export interface Progress {
  /** Start a new phase (`hashing`, `writing tar`) counting up to `total` bytes. */
  phase(label: string, total: number): void;
  add(bytes: number): void;
  /** Erase the bar; call before printing anything else. */
  done(): void;
}

export const silentProgress: Progress = { phase() {}, add() {}, done() {} };

const REDRAW_MS = 200;

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): Progress {
  if (!stream.isTTY) return silentProgress;
  let label = '';
  let total = 0;
  let done = 0;
  let started = Date.now();
  let lastDraw = 0;
  const draw = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastDraw < REDRAW_MS) return;
    lastDraw = now;
    const line = formatProgress(label, done, total, (done * 1000) / Math.max(1, now - started));
    const width = stream.columns && stream.columns > 20 ? stream.columns : 80;
    stream.write(`\r${line.slice(0, width - 1)}\x1b[K`);
  };
  return {
    phase(l, t) {
      label = l;
      total = t;
      done = 0;
      started = Date.now();
      draw(true);
    },
    add(bytes) {
      done += bytes;
      draw(false);
    },
    done() {
      stream.write('\r\x1b[K');
    },
  };
}

/** `hashing  1.2 GiB / 16.0 GiB   7%  412.0 MiB/s` */
export function formatProgress(label: string, done: number, total: number, bytesPerSecond: number): string {
  const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 100;
  return `${label.padEnd(12)} ${humanBytes(done)} / ${humanBytes(total)} ${String(pct).padStart(3)}%  ${humanBytes(Math.round(bytesPerSecond))}/s`;
}
