// Parse a tar byte stream with node-tar, one entry at a time, with backpressure.
// node-tar only parses here: airlock decides about and writes every byte itself.
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { AirlockError } from '../errors.js';
import type { EntryKind } from './entry-checker.js';

export interface TarEntry {
  path: string;
  kind: EntryKind;
  size: number;
  /** the entry's bytes; read it fully or call skip() before asking for the next entry */
  body: AsyncIterable<Buffer>;
  skip(): Promise<void>;
}

const KINDS: Record<string, EntryKind> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  GNUDumpDir: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  CharacterDevice: 'device',
  BlockDevice: 'device',
  FIFO: 'fifo',
};

/** airlock's name for a node-tar entry type ('other' for anything it does not handle). */
export function entryKind(type: string): EntryKind {
  return KINDS[type] ?? 'other';
}

/** Yield each tar entry in order. `origin` names the archive in errors. */
export async function* tarEntries(source: Readable, origin: string): AsyncGenerator<TarEntry> {
  const queue: Array<ReadEntry | Error | null> = [];
  let wake: (() => void) | undefined;
  const push = (item: ReadEntry | Error | null) => {
    queue.push(item);
    wake?.();
  };
  const parser = new Parser({ strict: true });
  parser.on('entry', (e: ReadEntry) => push(e));
  // Types node-tar does not know are dropped silently by it; for airlock they are hostile.
  parser.on('ignoredEntry', (e: ReadEntry) => {
    if (!e.meta) push(new AirlockError('WRONG_TYPE', `${origin}: entry ${e.path} has unsupported tar type ${e.type}`, { path: e.path }));
  });
  parser.on('error', (err: Error) => push(new AirlockError('TAR_INVALID', `${origin} is not a valid tar: ${err.message}`, { path: origin, cause: err })));
  // Without the end-of-archive blocks the archive was cut short (an interrupted copy).
  let sawEof = false;
  parser.on('eof', () => (sawEof = true));
  parser.on('end', () => push(sawEof ? null : new AirlockError('TAR_INVALID', `${origin} is truncated: the tar ends without its end-of-archive marker`, { path: origin })));
  source.on('error', (err: Error) => push(err));
  source.pipe(parser as unknown as NodeJS.WritableStream);
  try {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      const item = queue.shift();
      if (item === null || item === undefined) return;
      if (item instanceof Error) throw item;
      const path = item.type === 'Directory' ? item.path.replace(/\/$/, '') : item.path;
      const kind = entryKind(item.type);
      let consumed = false;
      const entry = item;
      yield {
        path,
        kind,
        size: entry.size,
        body: {
          [Symbol.asyncIterator]: () => {
            consumed = true;
            return entry[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
          },
        },
        skip: async () => {
          if (consumed || entry.emittedEnd) return;
          consumed = true;
          await new Promise<void>((r) => {
            entry.on('end', () => r());
            entry.resume();
          });
        },
      };
      if (!consumed && !entry.emittedEnd) {
        await new Promise<void>((r) => {
          entry.on('end', () => r());
          entry.resume();
        });
      }
    }
  } finally {
    source.unpipe(parser as unknown as NodeJS.WritableStream);
    source.destroy();
  }
}
