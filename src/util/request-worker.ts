// A long-lived worker thread answering requests one message each: for work on untrusted input (parsing,
// signature checks, stat-ing thousands of files) that must never run on the daemon's event loop.
import { Worker, parentPort, workerData } from 'node:worker_threads';

type Answer<R> =
  { id: number; result: R } | { id: number; error: { message: string; code?: string; path?: string; failures?: unknown; failureCount?: number } };

export class RequestWorker<Q, R> {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: R) => void; reject: (e: Error) => void }>();
  private closed = false;

  /** `entry`: the worker module, which calls `serveRequests`; `data` reaches it as its workerData. */
  constructor(
    private readonly entry: URL,
    private readonly data: unknown = undefined,
    /** rebuild a thrown error from what crossed the thread boundary */
    private readonly revive: (e: Extract<Answer<R>, { error: unknown }>['error']) => Error = (e) => Object.assign(new Error(e.message), e),
  ) {}

  /** Send one request; the worker is started on first use and again after it died. */
  request(q: Q): Promise<R> {
    if (this.closed) return Promise.reject(new Error('worker closed'));
    const worker = this.ensure();
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, q });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.entry, { workerData: this.data, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    w.on('message', (m: Answer<R>) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if ('result' in m) p.resolve(m.result);
      else p.reject(this.revive(m.error));
    });
    // A worker that dies (out of memory on hostile input, say) fails what it held and is started again next time.
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`worker exited (${code})`)));
    // It must not keep a stopping process alive; the daemon's own timers keep it running while needed.
    w.unref();
    this.worker = w;
    return w;
  }
}

/** Inside the worker: answer each request with `handle(q, workerData)`. */
export function serveRequests<Q, R>(handle: (q: Q, data: unknown) => Promise<R>): void {
  parentPort?.on('message', (m: { id: number; q: Q }) => {
    handle(m.q, workerData).then(
      (result) => parentPort?.postMessage({ id: m.id, result }),
      (err: Error & { code?: string; path?: string; failures?: unknown; failureCount?: number }) =>
        parentPort?.postMessage({
          id: m.id,
          error: {
            message: err.message,
            ...(err.code ? { code: err.code } : {}),
            ...(err.path ? { path: err.path } : {}),
            ...(err.failures ? { failures: err.failures } : {}),
            ...(err.failureCount ? { failureCount: err.failureCount } : {}),
          },
        }),
    );
  });
}
