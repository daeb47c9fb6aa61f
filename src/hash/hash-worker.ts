// Worker thread body: runs FileJobs posted by HashPool so hashing never blocks the caller's event loop.
import { parentPort } from 'node:worker_threads';
import { runFileJob, type FileJob } from './file-job.js';

interface Request {
  id: number;
  job: FileJob;
}

const PROGRESS_EVERY = 8 * 1024 * 1024;

parentPort?.on('message', (req: Request) => {
  let pending = 0;
  runFileJob(req.job, (n) => {
    pending += n;
    if (pending >= PROGRESS_EVERY) {
      parentPort?.postMessage({ id: req.id, progress: pending });
      pending = 0;
    }
  }).then(
    (result) => parentPort?.postMessage({ id: req.id, progress: pending, result }),
    (err: NodeJS.ErrnoException) =>
      parentPort?.postMessage({ id: req.id, error: { message: err.message, code: err.code, path: err.path, syscall: err.syscall } }),
  );
});
