// The production Installer. `identify` reads a drop's head in a worker thread (identify.ts): everything done
// before the signatures are judged is work on untrusted input and never runs on the event loop. `install`
// hashes a multi-GB bundle without blocking the event loop the API answers on: directory and single-tar
// bundles are hashed by installBundle's own pool of hash workers, so they install in-process (one set of
// workers, less memory); split parts, and sources of any kind but fs, are parsed and hashed as one stream, in a
// worker thread of their own. Every read of a drop is confined below the watched root it lies in.
import { Worker } from 'node:worker_threads';
import { isInside, locateBundle } from '../bundle/locate.js';
import type { PrestagedPayload } from '../bundle/prestaged.js';
import type { SourceRef } from '../bundle/source.js';
import { fsRef, sourceFromRef } from '../bundle/sources.js';
import { installBundle } from '../ops/install.js';
import { prestagedFor } from '../spool/prestaged.js';
import { removeSpool } from '../spool/spool.js';
import { AirlockError, ERROR_TABLE, type ErrorCode } from '../errors.js';
import { loadTrust, type TrustFiles, type TrustSet } from '../trust/load-trust.js';
import { systemClock, type Clock } from '../util/clock.js';
import { RequestWorker } from '../util/request-worker.js';
import { identifyBundle, type IdentifyRequest } from './identify.js';
import type { BundleIdentity, InstallCallOptions, InstallOutcome, Installer } from './ports.js';
import { throttled } from './throttle-progress.js';
import { DAEMON_DOWNGRADE_HINT, type WorkerMessage, type WorkerRequest } from './worker-protocol.js';

export interface WorkerInstallerOptions {
  store: string;
  /** allowed_signers and (optionally) revoked keys: read again for every bundle */
  trust: TrustFiles;
  threshold: number;
  /** lines skipped in the trust file, each time it is read */
  onTrustWarnings?: (warnings: string[]) => void;
  retention: number;
  maxManifestBytes: number;
  /** the watched roots (drop folders, media roots): a drop is read confined below the one it lies in */
  roots: string[];
  /** how long an aborted install may take to wind down before its worker is terminated */
  abortGraceMs?: number;
  /** where the copies verified while folder drops arrived are (src/spool/stager.ts): an install takes them instead of reading again */
  spoolRoot?: string;
  /** a split bundle's payload the daemon verified already (its parts spool), to link instead of read */
  unpackedFor?: (source: SourceRef) => Promise<PrestagedPayload | undefined>;
  /** the daemon's clock (default: the system's) */
  clock?: Clock;
}

const INSTALL_WORKER_URL = new URL('./install-worker.js', import.meta.url);
const IDENTIFY_WORKER_URL = new URL('./identify-worker.js', import.meta.url);

/** An error that crossed a thread boundary, as the AirlockError it was. */
export function reviveError(e: { message: string; code?: string; path?: string; failures?: unknown; failureCount?: number }): Error {
  if (e.code === undefined || !(e.code in ERROR_TABLE)) return Object.assign(new Error(e.message), e);
  return new AirlockError(e.code as ErrorCode, e.message, {
    ...(e.path === undefined ? {} : { path: e.path }),
    ...(Array.isArray(e.failures) ? { failures: e.failures } : {}),
    ...(e.failureCount === undefined ? {} : { failureCount: e.failureCount }),
  });
}

export class WorkerInstaller implements Installer {
  private readonly workers = new Set<Worker>();
  private readonly identifier = new RequestWorker<IdentifyRequest, BundleIdentity>(IDENTIFY_WORKER_URL, undefined, reviveError);

  constructor(private readonly o: WorkerInstallerOptions) {}

  async identify(source: SourceRef): Promise<BundleIdentity> {
    const request = {
      source: this.confined(source),
      trust: this.o.trust,
      threshold: this.o.threshold,
      maxManifestBytes: this.o.maxManifestBytes,
      now: this.now(),
    };
    // A bundle the parts spool verified already (its signatures held before its payload was unpacked) is read here.
    const identity = (await this.o.unpackedFor?.(request.source)) ? await identifyBundle(request) : await this.identifier.request(request);
    if (identity.trustWarnings?.length) this.o.onTrustWarnings?.(identity.trustWarnings);
    return identity;
  }

  // The trust files are read each time: an operator's edit (a newly revoked key) applies to the next bundle without a restart.
  private async trustNow(): Promise<TrustSet> {
    const set = await loadTrust(this.o.trust);
    this.o.onTrustWarnings?.(set.warnings);
    return set;
  }

  async install(source: SourceRef, opts: InstallCallOptions): Promise<InstallOutcome> {
    const ref = this.confined(source);
    // Streams (split parts, any source that is not a folder or a single tar on disk) are parsed and hashed on
    // one thread: that thread is a worker of its own. Folders and tars use the hash pool from here.
    // A payload the parts spool verified already is linked, not read: no hashing, so no thread of its own either.
    const unpacked = await this.o.unpackedFor?.(ref);
    if (unpacked) return this.installHere(ref, opts, unpacked);
    const streamed = ref.kind !== 'fs' || (await locateBundle(ref.location, withinOf(ref))).form === 'split';
    return streamed ? this.installInWorker(ref, opts) : this.installHere(ref, opts);
  }

  /** A drop on disk is read confined below the watched root it lies in (the deepest, when roots nest). */
  private confined(source: SourceRef): SourceRef {
    if (source.kind !== 'fs' || withinOf(source) !== undefined) return source;
    const root = this.o.roots.filter((r) => isInside(r, source.location)).sort((a, b) => b.length - a.length)[0];
    return fsRef(source.location, root);
  }

  private async installHere(source: SourceRef, opts: InstallCallOptions, unpacked?: PrestagedPayload): Promise<InstallOutcome> {
    const onProgress = opts.onProgress ? throttled(opts.onProgress) : undefined;
    const set = await this.trustNow();
    const spoolRoot = source.kind === 'fs' ? this.o.spoolRoot : undefined;
    const result = await installBundle(sourceFromRef(source), {
      store: this.o.store,
      allowedSigners: set.signers,
      ...(set.revoked ? { revokedKeys: set.revoked } : {}),
      threshold: this.o.threshold,
      retention: this.o.retention,
      limits: { maxManifestBytes: this.o.maxManifestBytes },
      downgradeHint: DAEMON_DOWNGRADE_HINT,
      now: this.now(),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(spoolRoot ? { prestaged: (digest: string) => prestagedFor(spoolRoot, source.location, digest) } : {}),
      ...(unpacked ? { unpacked } : {}),
    });
    // The copies are store content now (or were not needed): the drop's spool has served.
    if (spoolRoot) await removeSpool(spoolRoot, source.location).catch(() => undefined);
    const { status, bundleId, name, channel, sequence, manifestDigest, path, trust, bytesVerified, filesVerified, bytesPrestaged, durationMs } =
      result;
    return {
      status,
      bundleId,
      name,
      channel,
      sequence,
      manifestDigest,
      path,
      trust,
      bytesVerified,
      filesVerified,
      ...(bytesPrestaged === undefined ? {} : { bytesPrestaged }),
      durationMs,
    };
  }

  private installInWorker(source: SourceRef, opts: InstallCallOptions): Promise<InstallOutcome> {
    const request: WorkerRequest = {
      source,
      store: this.o.store,
      trust: this.o.trust,
      threshold: this.o.threshold,
      retention: this.o.retention,
      maxManifestBytes: this.o.maxManifestBytes,
      now: this.now(),
    };
    const worker = new Worker(INSTALL_WORKER_URL, { workerData: request });
    this.workers.add(worker);
    return new Promise<InstallOutcome>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      const onAbort = () => {
        worker.postMessage({ type: 'abort' });
        // A worker deep in a read may take a moment; past the grace period it is terminated (the store recovers its staging).
        setTimeout(() => void worker.terminate(), this.o.abortGraceMs ?? 5000).unref();
      };
      if (opts.signal?.aborted) onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') opts.onProgress?.(m.progress);
        else if (m.type === 'result') settle(() => resolve(m.result));
        else settle(() => reject(reviveError(m.error)));
      });
      worker.on('error', (err) => settle(() => reject(err)));
      worker.on('exit', (code) => {
        this.workers.delete(worker);
        opts.signal?.removeEventListener('abort', onAbort);
        settle(() => reject(new AirlockError('INTERNAL', `install worker exited (${code}) before answering`)));
      });
    });
  }

  private now(): Date {
    return (this.o.clock ?? systemClock)();
  }

  async close(): Promise<void> {
    await this.identifier.close();
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }
}

function withinOf(ref: SourceRef): string | undefined {
  const w = ref.params?.['within'];
  return typeof w === 'string' ? w : undefined;
}
