// Walk a single tar file by its headers only: every entry comes with the offset of its data, so hash
// workers can read file bodies straight from the archive, in parallel, each byte once (see FileJob.offset).
// The checks are those of node-tar's strict Parser (tar-entries.ts), built from node-tar's own Header,
// Pax and ReadEntry, so paths, sizes and types come out exactly as the streaming parser gives them.
import { promises as fsp } from 'node:fs';
import { Header, Pax, ReadEntry } from 'tar';
import { AirlockError } from '../errors.js';
import { entryKind } from './tar-entries.js';
import type { EntryKind } from './entry-checker.js';

export interface IndexedTarEntry {
  path: string;
  kind: EntryKind;
  size: number;
  /** byte offset of the entry's data in the archive */
  offset: number;
}

const BLOCK = 512;
// node-tar's Parser default: larger meta entries are ignored, not applied.
const MAX_META_ENTRY_SIZE = 1024 * 1024;

// node-tar keeps GNU long names in a plain object in the same slot as pax records.
type Extended = Pax | undefined;

/** Yield each entry of the tar at `file` in order. `origin` names the archive in errors. */
export async function* indexTar(file: string, origin: string): AsyncGenerator<IndexedTarEntry> {
  const fh = await fsp.open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const block = Buffer.alloc(BLOCK);
    const invalid = (why: string) => new AirlockError('TAR_INVALID', `${origin} is not a valid tar: ${why}`, { path: origin });
    const truncated = () => new AirlockError('TAR_INVALID', `${origin} is truncated: the tar ends without its end-of-archive marker`, { path: origin });
    let ex: Extended;
    let gex: Extended;
    let sawNullBlock = false;
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(block, 0, BLOCK, pos);
      if (bytesRead < BLOCK) throw truncated();
      pos += BLOCK;
      let header: Header;
      try {
        header = new Header(block, 0, ex, gex);
      } catch (err) {
        throw invalid((err as Error).message);
      }
      if (header.nullBlock) {
        if (sawNullBlock) return;
        sawNullBlock = true;
        continue;
      }
      sawNullBlock = false;
      if (!header.cksumValid) throw invalid('checksum failure');
      if (!header.path) throw invalid('path is required');
      const linkish = /^(Symbolic)?Link$/.test(header.type);
      if (linkish && !header.linkpath) throw invalid('linkpath required');
      if (!linkish && !/^(Global)?ExtendedHeader$/.test(header.type) && header.linkpath) throw invalid('linkpath forbidden');
      const entry = new ReadEntry(header, ex, gex);
      const offset = pos;
      const size = entry.size;
      pos += BLOCK * Math.ceil(size / BLOCK);
      if (offset + size > fileSize) throw truncated();
      if (entry.meta) {
        if (size > MAX_META_ENTRY_SIZE || size === 0) continue;
        const body = Buffer.alloc(size);
        await fh.read(body, 0, size, offset);
        const meta = body.toString();
        switch (entry.type) {
          case 'ExtendedHeader':
          case 'OldExtendedHeader':
            ex = Pax.parse(meta, ex, false);
            break;
          case 'GlobalExtendedHeader':
            gex = Pax.parse(meta, gex, true);
            break;
          case 'NextFileHasLongPath':
          case 'OldGnuLongPath':
            ex = Object.assign(ex ?? Object.create(null), { path: meta.replace(/\0.*/, '') }) as Extended;
            break;
          case 'NextFileHasLongLinkpath':
            ex = Object.assign(ex ?? Object.create(null), { linkpath: meta.replace(/\0.*/, '') }) as Extended;
            break;
        }
        continue;
      }
      ex = undefined;
      if (entry.ignore) throw new AirlockError('WRONG_TYPE', `${origin}: entry ${entry.path} has unsupported tar type ${entry.type}`, { path: entry.path });
      const path = entry.type === 'Directory' ? entry.path.replace(/\/$/, '') : entry.path;
      yield { path, kind: entryKind(entry.type), size, offset };
    }
  } finally {
    await fh.close();
  }
}
