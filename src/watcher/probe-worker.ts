// Worker-thread entry: probes candidates (probe.ts) off the daemon's event loop and, when the daemon verifies
// folder bundles while they arrive, hands each look to the stager (src/spool/stager.ts), which lives here too.
import { ArrivalStager } from '../spool/stager.js';
import { serveRequests } from '../util/request-worker.js';
import type { ProbeRequest, ProbeWorkerData } from './probe-pool.js';
import { observeCandidate } from './probe.js';

let stager: ArrivalStager | undefined;

serveRequests<ProbeRequest, unknown>(async (req, data) => {
  const config = data as ProbeWorkerData;
  if (config.staging) stager ??= new ArrivalStager(config.staging);
  if (req.kind === 'reclaim') return stager ? stager.reclaim() : [];
  if (req.kind === 'forget') {
    stager?.forget(req.location);
    return undefined;
  }
  const started = Date.now();
  const { probe, look } = await observeCandidate(req.candidate, config);
  probe.costMs = Date.now() - started;
  // Content already handed on (before a restart, say) is not verified again while nothing changes.
  if (stager && look && probe.fingerprint !== req.handedOff) probe.staging = await stager.advance(look);
  return probe;
});
