// A bundle's tar read once from a byte stream, such as standard input (`ssh host cat x.airlock.tar | airlock
// verify -`). Nothing is buffered beyond the head: the manifest and signatures (bounded, as for every tar) are
// kept while they are read, then replayed in front of the rest of the stream for the one walk over the payload.
import { AirlockError } from '../errors.js';
import { MAX_SIGNATURE_BYTES, MAX_SIGNATURES } from '../format/layout.js';
import { manifestDigest, parseManifest } from '../format/manifest.js';
import { streamedEntries } from './fs-source.js';
import { DEFAULT_READ_LIMITS, type BundleHeader, type BundleSource, type OpenedBundle, type ReadLimits } from './source.js';
import { readTarHead, streamedReader } from './tar-entries.js';
import { MAX_PAX_BYTES } from './tar-header.js';
import { StreamCursor } from './tar-reader.js';

/** `location` names the stream in messages and reports (`standard input`). */
export function streamSource(location: string, stream: AsyncIterable<Buffer>): BundleSource {
  return { location, open: (limits) => openStream(location, stream, limits ?? DEFAULT_READ_LIMITS) };
}

/** What the head of a tar can hold: the manifest, every signature, their headers and pax records, one more header. */
function headBound(limits: ReadLimits): number {
  return limits.maxManifestBytes + MAX_SIGNATURES * (MAX_SIGNATURE_BYTES + 2 * MAX_PAX_BYTES) + 4 * MAX_PAX_BYTES;
}

async function openStream(location: string, stream: AsyncIterable<Buffer>, limits: ReadLimits): Promise<BundleHeader> {
  const source = stream[Symbol.asyncIterator]();
  const head = new HeadRecorder(source, headBound(limits), location);
  const cursor = new StreamCursor(head);
  let tarHead;
  try {
    tarHead = await readTarHead(streamedReader(cursor, location), location, limits.maxManifestBytes);
  } catch (err) {
    await cursor.close();
    throw err;
  }
  const { manifestBytes, signatures } = tarHead;
  let walked = false;
  const base = {
    form: 'tar' as const,
    location,
    manifestBytes,
    digest: manifestDigest(manifestBytes),
    signatures,
    close: async () => void (await source.return?.()),
  };
  return {
    ...base,
    parse(): OpenedBundle {
      const manifest = parseManifest(manifestBytes, { maxBytes: limits.maxManifestBytes });
      return {
        ...base,
        manifest,
        entries: () => {
          // A stream is read once: a second walk would find it consumed.
          if (walked) throw new AirlockError('INTERNAL', `${location} can be walked only once`);
          walked = true;
          return streamedEntries(new StreamCursor(head.replay()), location, manifestBytes);
        },
      };
    },
  };
}

/** Passes the stream's chunks on, keeping those read so far (the head) until replay() hands them out again. */
class HeadRecorder implements AsyncIterator<Buffer> {
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private recording = true;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly bound: number,
    private readonly origin: string,
  ) {}

  async next(): Promise<IteratorResult<Buffer>> {
    const r = await this.source.next();
    if (r.done || !this.recording) return r;
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    this.keptBytes += chunk.length;
    // readTarHead is bounded already; this keeps the promise even if that ever changed.
    if (this.keptBytes > this.bound + chunk.length) {
      throw new AirlockError('TAR_INVALID', `${this.origin}: the manifest and signatures run past ${this.bound} bytes`, { path: this.origin });
    }
    this.kept.push(chunk);
    return { done: false, value: chunk };
  }

  async return(): Promise<IteratorResult<Buffer>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  /** The kept chunks, then the rest of the stream; recording stops. */
  replay(): AsyncIterator<Buffer> {
    this.recording = false;
    const kept = this.kept;
    this.kept = [];
    const source = this.source;
    return {
      next: async () => {
        const chunk = kept.shift();
        return chunk ? { done: false, value: chunk } : source.next();
      },
      return: async () => {
        await source.return?.();
        return { done: true, value: undefined };
      },
    };
  }
}
