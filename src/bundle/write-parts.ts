// Tar byte sinks: a single `.airlock.tar`, or `.000`, `.001`, … parts cut while writing (no full tar on disk first).
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { partName } from '../format/layout.js';
import { writeAll } from './write-all.js';
import type { ByteSink } from './write-tar.js';

export interface PartRecord {
  name: string;
  size: number;
  sha256: string;
}

export interface TarSink extends ByteSink {
  /** Flush to stable storage and close; returns what was written. */
  close(): Promise<{ size: number; sha256: string; parts: PartRecord[] }>;
  /** Close without caring about the result (on failure; the caller removes the files). */
  abort(): Promise<void>;
}

/** One tar file; its sha256 is tallied on the way out. */
export function fileSink(file: string): TarSink {
  return partsSink(path.dirname(file), Number.POSITIVE_INFINITY, () => path.basename(file));
}

/** Plain byte slices of at most `partSize` bytes named `<tarName>.000`, `.001`, …; parts are created only when bytes arrive. */
export function splitSink(dir: string, tarName: string, partSize: number): TarSink {
  return partsSink(dir, partSize, (i) => partName(tarName, i));
}

function partsSink(dir: string, partSize: number, nameOf: (index: number) => string): TarSink {
  const whole = createHash('sha256');
  const parts: PartRecord[] = [];
  let total = 0;
  let current: { fh: FileHandle; hash: Hash; size: number; name: string } | undefined;

  async function finishPart(): Promise<void> {
    if (!current) return;
    const c = current;
    current = undefined;
    await c.fh.sync();
    await c.fh.close();
    parts.push({ name: c.name, size: c.size, sha256: c.hash.digest('hex') });
  }

  return {
    async write(chunk) {
      whole.update(chunk);
      total += chunk.length;
      let rest = chunk;
      while (rest.length > 0) {
        if (!current) {
          const name = nameOf(parts.length);
          current = { fh: await open(path.join(dir, name), 'wx', 0o644), hash: createHash('sha256'), size: 0, name };
        }
        const piece = rest.subarray(0, Math.min(rest.length, partSize - current.size));
        await writeAll(current.fh, piece);
        current.hash.update(piece);
        current.size += piece.length;
        rest = rest.subarray(piece.length);
        if (current.size === partSize) await finishPart();
      }
    },
    async close() {
      await finishPart();
      return { size: total, sha256: whole.digest('hex'), parts };
    },
    async abort() {
      await current?.fh.close().catch(() => undefined);
      current = undefined;
    },
  };
}
