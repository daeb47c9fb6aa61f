// Worker-thread entry of the parts spool: reads and judges parts indexes, reads copies of parts, unpacks spooled
// parts (read-index.ts, copy-part.ts, unpack-jobs.ts). None of it runs on the daemon's event loop.
import { serveRequests } from '../util/request-worker.js';
import { CopyJobs } from './copy-part.js';
import { readIndexAt } from './read-index.js';
import type { SpoolRequest } from './spool-client.js';
import { UnpackJobs } from './unpack-jobs.js';

const jobs = new CopyJobs();
const unpacks = new UnpackJobs();

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
    case 'unpack-start':
      return Promise.resolve(unpacks.start(q.req));
    case 'unpack-part':
      return Promise.resolve(unpacks.part(q.id, q.name));
    case 'unpack-wait':
      return unpacks.wait(q.id, q.seen);
    case 'unpack-stop':
      return Promise.resolve(unpacks.stop(q.id));
  }
});
