// A small loopback HTTP load client: N keep-alive connections in a loop, one latency per request.
import http from 'node:http';

export interface LoadOptions {
  port: number;
  path: string;
  concurrency: number;
  /** stop after this many requests in all */
  maxRequests: number;
  /** also stop when this says so (checked before each request) */
  stop?: () => boolean;
  timeoutMs?: number;
}

export interface LoadResult {
  latenciesMs: number[];
  errors: number;
}

/** Only loopback: the benchmark never sends a request anywhere else. */
const HOST = '127.0.0.1';

export function getOnce(agent: http.Agent, port: number, path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const result: LoadResult = { latenciesMs: [], errors: 0 };
  let sent = 0;
  const worker = async () => {
    while (sent < opts.maxRequests && !opts.stop?.()) {
      sent++;
      const started = process.hrtime.bigint();
      try {
        const { status } = await getOnce(agent, opts.port, opts.path, opts.timeoutMs);
        if (status !== 200) result.errors++;
        else result.latenciesMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      } catch {
        result.errors++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return result;
}
