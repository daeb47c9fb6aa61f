// The production Installer: identify in-process (manifest and signatures only); install so that hashing a
// multi-GB bundle never blocks the event loop the API answers on. Directory and single-tar bundles are hashed
// by installBundle's own pool of hash workers, so they install in-process (one set of workers, less memory);
// split parts are parsed and hashed as one stream, so they install in a worker thread of their own.
import { Worker } from 'node:worker_threads';
import { locateBundle } from '../bundle/locate.js';
import { openBundle } from '../bundle/open-bundle.js';
import { installBundle } from '../store/install.js';
import { AirlockError } from '../errors.js';
import { loadAllowedSigners } from '../trust/allowed-signers.js';
import { evaluateSignatures } from '../trust/policy.js';
import type { BundleIdentity, InstallCallOptions, InstallOutcome, Installer } from './ports.js';
import { throttled } from './throttle-progress.js';
import type { WorkerMessage, WorkerRequest } from './worker-protocol.js';

export interface WorkerInstallerOptions {
  store: string;
  allowedSignersFile: string;
  threshold: number;
  retention: number;
  /** how long an aborted install may take to wind down before its worker is terminated */
  abortGraceMs?: number;
}

const WORKER_URL = new URL('./install-worker.js', import.meta.url);

export class WorkerInstaller implements Installer {
  private readonly workers = new Set<Worker>();

  constructor(private readonly o: WorkerInstallerOptions) {}

  async identify(location: string): Promise<BundleIdentity> {
    const opened = await openBundle(location);
    // The trust file is read each time: an operator's edit applies to the next bundle without a restart.
    const signers = await loadAllowedSigners(this.o.allowedSignersFile);
    const trust = evaluateSignatures(opened.manifestBytes, opened.signatures, signers, { threshold: this.o.threshold, now: new Date() });
    const m = opened.manifest;
    return { bundleId: m.id, name: m.name, kind: m.kind, channel: m.channel, sequence: m.sequence, manifestDigest: opened.digest, signers: trust.signers };
  }

  async install(location: string, opts: InstallCallOptions): Promise<InstallOutcome> {
    const where = await locateBundle(location);
    return where.form === 'split' ? this.installInWorker(location, opts) : this.installHere(location, opts);
  }

  private async installHere(location: string, opts: InstallCallOptions): Promise<InstallOutcome> {
    const onProgress = opts.onProgress ? throttled(opts.onProgress) : undefined;
    const result = await installBundle(location, {
      store: this.o.store,
      allowedSigners: await loadAllowedSigners(this.o.allowedSignersFile),
      threshold: this.o.threshold,
      retention: this.o.retention,
      now: new Date(),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
    const { status, bundleId, name, channel, sequence, manifestDigest, path, trust, bytesVerified, durationMs } = result;
    return { status, bundleId, name, channel, sequence, manifestDigest, path, trust, bytesVerified, durationMs };
  }

  private installInWorker(location: string, opts: InstallCallOptions): Promise<InstallOutcome> {
    const request: WorkerRequest = { location, store: this.o.store, allowedSignersFile: this.o.allowedSignersFile, threshold: this.o.threshold, retention: this.o.retention };
    const worker = new Worker(WORKER_URL, { workerData: request });
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
        else settle(() => reject(new AirlockError(m.error.code, m.error.message, { failures: m.error.failures, failureCount: m.error.failureCount, ...(m.error.path === undefined ? {} : { path: m.error.path }) })));
      });
      worker.on('error', (err) => settle(() => reject(err)));
      worker.on('exit', (code) => {
        this.workers.delete(worker);
        opts.signal?.removeEventListener('abort', onAbort);
        settle(() => reject(new AirlockError('INTERNAL', `install worker exited (${code}) before answering`)));
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }
}
