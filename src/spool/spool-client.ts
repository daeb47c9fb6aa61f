// The daemon's side of the spool worker (spool-worker.ts): one request per message, Buffers made Buffers again.
import { reviveError } from '../pipeline/worker-installer.js';
import type { SignatureInput } from '../trust/policy.js';
import { RequestWorker } from '../util/request-worker.js';
import type { CopyOpenRequest, CopyProgress } from './copy-part.js';
import type { IndexRead, IndexReadRequest } from './read-index.js';
import type { UnpackStatus } from './unpack-jobs.js';
import type { UnpackRequest } from './unpacker.js';

export type SpoolRequest =
  | { op: 'read-index'; req: IndexReadRequest }
  | { op: 'copy-open'; req: CopyOpenRequest }
  | { op: 'copy-step'; id: number; maxBytes: number }
  | { op: 'copy-cancel'; id: number }
  | { op: 'unpack-start'; req: UnpackRequest }
  | { op: 'unpack-part'; id: number; name: string }
  | { op: 'unpack-wait'; id: number; seen: number }
  | { op: 'unpack-stop'; id: number };

/** What the spool asks of its worker; tests may answer in-process. */
export interface SpoolIo {
  readIndex(req: IndexReadRequest): Promise<IndexRead>;
  copyOpen(req: CopyOpenRequest): Promise<number>;
  copyStep(id: number, maxBytes: number): Promise<CopyProgress>;
  copyCancel(id: number): Promise<void>;
  unpackStart(req: UnpackRequest): Promise<number>;
  unpackPart(id: number, name: string): Promise<void>;
  /** answered once the run's status differs from `seen` */
  unpackWait(id: number, seen: number): Promise<UnpackStatus>;
  unpackStop(id: number): Promise<void>;
  /** Nothing to read for now: the worker's memory may be given back (it starts again on the next request). */
  release?(): Promise<void>;
  close(): Promise<void>;
}

const WORKER_URL = new URL('./spool-worker.js', import.meta.url);

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const signatures = (list: SignatureInput[]) => list.map((s) => ({ name: s.name, bytes: asBuffer(s.bytes) }));

export class SpoolWorker implements SpoolIo {
  private worker = new RequestWorker<SpoolRequest, unknown>(WORKER_URL, undefined, reviveError);

  async readIndex(req: IndexReadRequest): Promise<IndexRead> {
    const r = (await this.worker.request({ op: 'read-index', req })) as IndexRead;
    return {
      ...r,
      ...(r.bytes ? { bytes: asBuffer(r.bytes) } : {}),
      partsSignatures: signatures(r.partsSignatures),
      countersignatures: signatures(r.countersignatures),
    };
  }

  async copyOpen(req: CopyOpenRequest): Promise<number> {
    return (await this.worker.request({ op: 'copy-open', req })) as number;
  }

  async copyStep(id: number, maxBytes: number): Promise<CopyProgress> {
    return (await this.worker.request({ op: 'copy-step', id, maxBytes })) as CopyProgress;
  }

  async copyCancel(id: number): Promise<void> {
    await this.worker.request({ op: 'copy-cancel', id });
  }

  async unpackStart(req: UnpackRequest): Promise<number> {
    return (await this.worker.request({ op: 'unpack-start', req })) as number;
  }

  async unpackPart(id: number, name: string): Promise<void> {
    await this.worker.request({ op: 'unpack-part', id, name });
  }

  async unpackWait(id: number, seen: number): Promise<UnpackStatus> {
    return (await this.worker.request({ op: 'unpack-wait', id, seen })) as UnpackStatus;
  }

  async unpackStop(id: number): Promise<void> {
    await this.worker.request({ op: 'unpack-stop', id });
  }

  /** A worker stuck on a hung stick is given up: a new one answers from now on (its open jobs are gone). */
  async restart(): Promise<void> {
    const old = this.worker;
    this.worker = new RequestWorker<SpoolRequest, unknown>(WORKER_URL, undefined, reviveError);
    await old.close();
  }

  /** An idle worker is ended; the next request starts another (a thread costs tens of MB the daemon need not hold). */
  release(): Promise<void> {
    return this.restart();
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
