// Worker-thread entry: identifies bundles (identify.ts) off the daemon's event loop.
import { serveRequests } from '../util/request-worker.js';
import { identifyBundle, type IdentifyRequest } from './identify.js';

serveRequests<IdentifyRequest, unknown>((req) => identifyBundle(req));
