// Worker-thread entry: runs the install use case (src/ops/install.ts) for a bundle that streams (split parts, a
// source of another kind) off the daemon's event loop, and posts progress back.
import { parentPort, workerData } from 'node:worker_threads';
import { toAirlockError } from '../errors.js';
import { sourceFromRef } from '../bundle/sources.js';
import { installBundle } from '../ops/install.js';
import { loadTrust } from '../trust/load-trust.js';
import { DAEMON_DOWNGRADE_HINT, type WorkerMessage, type WorkerRequest } from './worker-protocol.js';
import { throttled } from './throttle-progress.js';

async function run(req: WorkerRequest): Promise<void> {
  const port = parentPort!;
  const controller = new AbortController();
  port.on('message', (m: { type?: string }) => {
    if (m.type === 'abort') controller.abort();
  });
  const post = (m: WorkerMessage) => port.postMessage(m);
  try {
    const trustSet = await loadTrust(req.trust);
    const report = throttled((progress) => post({ type: 'progress', progress }));
    const result = await installBundle(sourceFromRef(req.source), {
      store: req.store,
      allowedSigners: trustSet.signers,
      ...(trustSet.revoked ? { revokedKeys: trustSet.revoked } : {}),
      threshold: req.threshold,
      retention: req.retention,
      limits: { maxManifestBytes: req.maxManifestBytes },
      downgradeHint: DAEMON_DOWNGRADE_HINT,
      now: req.now,
      signal: controller.signal,
      onProgress: report,
    });
    const { status, bundleId, name, channel, sequence, manifestDigest, path, trust, bytesVerified, filesVerified, durationMs } = result;
    post({
      type: 'result',
      result: { status, bundleId, name, channel, sequence, manifestDigest, path, trust, bytesVerified, filesVerified, durationMs },
    });
  } catch (err) {
    const e = toAirlockError(err);
    post({
      type: 'error',
      error: {
        code: e.code,
        message: e.message,
        failures: e.failures,
        failureCount: e.failureCount,
        ...(e.path === undefined ? {} : { path: e.path }),
      },
      aborted: controller.signal.aborted,
    });
  } finally {
    port.close();
  }
}

void run(workerData as WorkerRequest);
