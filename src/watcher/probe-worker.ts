// Worker-thread entry: probes candidates (probe.ts) off the daemon's event loop.
import { serveRequests } from '../util/request-worker.js';
import type { Candidate } from './candidates.js';
import { probeCandidate, type ProbeOptions } from './probe.js';

serveRequests<Candidate, unknown>((candidate, data) => probeCandidate(candidate, data as ProbeOptions));
