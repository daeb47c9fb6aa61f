// A bundle's tar, read twice: first its head (the manifest, then the signatures right after it: every expected
// size and hash is known before the first payload byte, and reading stops at the first other entry), then,
// once the manifest is trusted, every entry after the head, in the order tar-layout.ts requires. Single tars
// are read at offsets; split parts as one stream.
import { AirlockError } from '../errors.js';
import { MANIFEST_NAME, MAX_SIGNATURE_BYTES, MAX_SIGNATURES, SIGNATURES_DIR } from '../format/layout.js';
import type { SignatureInput } from '../trust/policy.js';
import { isSignatureEntry, TarLayout } from './tar-layout.js';
import { fileCursor, type StreamCursor, tarHeaders, type TarCursor, type TarHeaderEntry } from './tar-reader.js';
import type { BundleEntry } from './source.js';

export interface TarHead {
  manifestBytes: Buffer;
  signatures: SignatureInput[];
}

/** How an entry's data is read: at its offset (single tar) or from the stream (split parts). */
interface DataReader {
  cursor: TarCursor;
  bytes(e: TarHeaderEntry): Promise<Buffer>;
}

/** A single tar, read by positional reads on an open descriptor of `size` bytes. */
export function indexedReader(
  fd: { read(buf: Buffer, off: number, len: number, pos: number): Promise<{ bytesRead: number }> },
  size: number,
): DataReader {
  const read = async (buf: Buffer, pos: number) => (await fd.read(buf, 0, buf.length, pos)).bytesRead;
  const cursor = fileCursor(read, size);
  return {
    cursor,
    async bytes(e) {
      const buf = Buffer.alloc(e.size);
      let got = 0;
      while (got < e.size) {
        const n = await read(buf.subarray(got), e.offset + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    },
  };
}

/** Split parts: one stream through the cursor; an entry's bytes are read from it before the next header. */
export function streamedReader(cursor: StreamCursor, origin: string): DataReader {
  return {
    cursor,
    async bytes(e) {
      const parts: Buffer[] = [];
      for await (const c of cursor.data(e.size, origin)) parts.push(Buffer.from(c));
      return Buffer.concat(parts);
    },
  };
}

/** The manifest and the signatures that follow it. Bounded: one manifest of at most `maxManifestBytes`, at most MAX_SIGNATURES small signatures. */
export async function readTarHead(reader: DataReader, origin: string, maxManifestBytes: number): Promise<TarHead> {
  const layout = new TarLayout(origin);
  let manifestBytes: Buffer | undefined;
  const signatures: SignatureInput[] = [];
  const headers = tarHeaders(reader.cursor, origin);
  try {
    for await (const e of headers) {
      if (manifestBytes === undefined) {
        const f = layout.next(e.path, e.kind);
        if (f) throw new AirlockError(f.code, f.message, { path: f.path ?? origin });
        if (e.size > maxManifestBytes)
          throw new AirlockError('MANIFEST_TOO_LARGE', `${MANIFEST_NAME} is ${e.size} bytes, over the ${maxManifestBytes}-byte limit`, {
            path: MANIFEST_NAME,
          });
        manifestBytes = await reader.bytes(e);
        continue;
      }
      // The head runs while entries are under signatures/; one there that is not a signature is refused.
      if (!e.path.startsWith(`${SIGNATURES_DIR}/`)) break;
      const f = layout.next(e.path, e.kind);
      if (f) throw new AirlockError(f.code, f.message, { path: f.path ?? origin });
      if (e.size > MAX_SIGNATURE_BYTES)
        throw new AirlockError('SIGNATURE_MALFORMED', `${e.path} is ${e.size} bytes, too large for a signature`, { path: e.path });
      if (signatures.length >= MAX_SIGNATURES)
        throw new AirlockError('SIGNATURE_MALFORMED', `${origin} holds more than ${MAX_SIGNATURES} signatures`, { path: e.path });
      signatures.push({ name: e.path, bytes: await reader.bytes(e) });
    }
  } finally {
    await headers.return(undefined);
  }
  if (manifestBytes === undefined) throw new AirlockError('MANIFEST_MISSING', `${origin} holds no ${MANIFEST_NAME}`, { path: origin });
  return { manifestBytes, signatures };
}

/**
 * Every entry after the head, each checked against the tar layout (a misplaced entry comes with its failure).
 * The manifest is read again and must be byte-identical to the one verified (MANIFEST_CHANGED).
 */
export async function* tarBodyEntries(
  reader: DataReader,
  origin: string,
  manifestBytes: Buffer,
  dataOf: (e: TarHeaderEntry) => Pick<BundleEntry, 'open' | 'body'>,
): AsyncGenerator<BundleEntry> {
  const layout = new TarLayout(origin);
  let first = true;
  let inHead = true;
  for await (const e of tarHeaders(reader.cursor, origin)) {
    const failure = layout.next(e.path, e.kind);
    if (first) {
      first = false;
      const again = !failure && e.size === manifestBytes.length ? await reader.bytes(e) : undefined;
      if (!again || !again.equals(manifestBytes)) {
        throw new AirlockError('MANIFEST_CHANGED', `${origin} changed while being read: ${MANIFEST_NAME} differs from the one verified`, {
          path: MANIFEST_NAME,
        });
      }
      continue;
    }
    if (inHead && !failure && isSignatureEntry(e.path)) continue;
    inHead = false;
    if (failure) {
      yield { path: e.path, kind: e.kind, size: e.size, failure };
      continue;
    }
    yield { path: e.path, kind: e.kind, size: e.size, ...(e.kind === 'file' ? dataOf(e) : {}) };
  }
}
