// Tar byte sinks: a single `.airlock.tar`, or `.000`, `.001`, … parts cut while writing (no full tar on disk first).
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { partName } from '../format/layout.js';
import { writeAll } from '../util/write-all.js';
import type { ByteSink } from './write-tar.js';

export interface PartRecord {
  name: string;
  size: number;
  sha256: string;
}

export interface TarSink extends ByteSink {
  /** Flush to stable storage and close; returns what was written (sha256s are empty for a single tar file). */
  close(): Promise<{ size: number; sha256: string; parts: PartRecord[] }>;
  /** Close without caring about the result (on failure; the caller removes the files). */
  abort(): Promise<void>;
}

/** One tar file. Nothing needs its digest (the manifest inside is what is signed), so none is computed. */
export function fileSink(file: string): TarSink {
  return partsSink(path.dirname(file), Number.POSITIVE_INFINITY, () => path.basename(file), false);
}

/** Plain byte slices of at most `partSize` bytes named `<tarName>.000`, `.001`, …; parts are created only when bytes arrive. */
export function splitSink(dir: string, tarName: string, partSize: number): TarSink {
  return partsSink(dir, partSize, (i) => partName(tarName, i), true);
}

function partsSink(dir: string, partSize: number, nameOf: (index: number) => string, hashing: boolean): TarSink {
  const whole = hashing ? createHash('sha256') : undefined;
  const parts: PartRecord[] = [];
  let total = 0;
  let current: { fh: FileHandle; hash: Hash | undefined; size: number; name: string } | undefined;

  async function finishPart(): Promise<void> {
    if (!current) return;
    const c = current;
    current = undefined;
    await c.fh.sync();
    await c.fh.close();
    parts.push({ name: c.name, size: c.size, sha256: c.hash?.digest('hex') ?? '' });
  }

  return {
    async write(chunk) {
      whole?.update(chunk);
      total += chunk.length;
      let rest = chunk;
      while (rest.length > 0) {
        if (!current) {
          const name = nameOf(parts.length);
          current = { fh: await open(path.join(dir, name), 'wx', 0o644), hash: hashing ? createHash('sha256') : undefined, size: 0, name };
        }
        const piece = rest.subarray(0, Math.min(rest.length, partSize - current.size));
        await writeAll(current.fh, piece);
        current.hash?.update(piece);
        current.size += piece.length;
        rest = rest.subarray(piece.length);
        if (current.size === partSize) await finishPart();
      }
    },
    async close() {
      await finishPart();
      return { size: total, sha256: whole?.digest('hex') ?? '', parts };
    },
    async abort() {
      await current?.fh.close().catch(() => undefined);
      current = undefined;
    },
  };
}
