// Worker-thread entry of the parts spool: reads and judges parts indexes, reads copies of parts (read-index.ts,
// copy-part.ts). Everything it touches is untrusted ground; none of it runs on the daemon's event loop.
import { serveRequests } from '../util/request-worker.js';
import { CopyJobs } from './copy-part.js';
import { readIndexAt } from './read-index.js';
import type { SpoolRequest } from './spool-client.js';

const jobs = new CopyJobs();

serveRequests<SpoolRequest, unknown>((q) => {
  switch (q.op) {
    case 'read-index':
      return readIndexAt(q.req);
    case 'copy-open':
      return jobs.open(q.req);
    case 'copy-step':
      return jobs.step(q.id, q.maxBytes);
    case 'copy-cancel':
      return jobs.cancel(q.id);
  }
});
