// NIM health over HTTP on this host only: /v1/health/ready says the model is loaded, /v1/health/live
// that the server is up (a live server still loading is slow, not broken).
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockError } from '../errors.js';
import type { HealthAnswer } from './runtime.js';

export const READY_PATH = '/v1/health/ready';
export const LIVE_PATH = '/v1/health/live';
const MAX_BODY = 2048;
/** After the server once answered live, this many failed live probes in a row mean it died inside the container. */
const LIVE_FAILURES_ALLOWED = 3;

/**
 * The address to poll for a port published on `publishHost`. The air-gapped side talks to nothing but this
 * host: a wildcard maps to loopback, and any other address must belong to one of this host's interfaces.
 */
export function probeHost(publishHost: string): string {
  if (publishHost === '0.0.0.0') return '127.0.0.1';
  if (publishHost === '::') return '::1';
  if ((net.isIPv4(publishHost) && publishHost.startsWith('127.')) || publishHost === '::1') return publishHost;
  const local = Object.values(os.networkInterfaces())
    .flat()
    .some((i) => i?.address === publishHost);
  if (local) return publishHost;
  throw new AirlockError('CONFIG_INVALID', `runtime.publishHost ${publishHost} is not an address of this host`, { path: 'runtime/publishHost' });
}

/** One GET; never throws: a refused connection or a timeout is an answer too. */
export function probe(host: string, port: number, endpoint: string, timeoutMs: number): Promise<HealthAnswer> {
  const at = new Date().toISOString();
  return new Promise((resolve) => {
    const req = http.request({ host, port, path: endpoint, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY);
        resolve({ endpoint, at, ...(res.statusCode === undefined ? {} : { status: res.statusCode }), body });
      });
      res.on('error', (err) => resolve({ endpoint, at, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ endpoint, at, error: err.message }));
    req.end();
  });
}

export interface WaitOptions {
  host: string;
  port: number;
  timeoutMs: number;
  intervalMs: number;
  /** Asked before every poll: a reason when the container has stopped or is restarting (fail fast), else undefined. */
  containerProblem: () => Promise<string | undefined>;
  onHealth?: (answer: HealthAnswer) => void;
  /** stop waiting (the daemon is shutting down): the outcome is then `abandoned` */
  signal?: AbortSignal;
}

export interface WaitResult {
  outcome: 'ready' | 'timeout' | 'crashed' | 'abandoned';
  health?: HealthAnswer;
  message: string;
}

/** Poll /v1/health/ready until 200, the deadline, or a crash (container state or a server that stopped answering live). */
export async function waitUntilReady(opts: WaitOptions): Promise<WaitResult> {
  const deadline = Date.now() + opts.timeoutMs;
  const requestTimeout = Math.max(1000, Math.min(10_000, opts.intervalMs));
  let last: HealthAnswer | undefined;
  let everLive = false;
  let liveFailures = 0;
  const abandoned = (): WaitResult => ({ outcome: 'abandoned', ...(last ? { health: last } : {}), message: 'stopped waiting for readiness' });
  for (;;) {
    if (opts.signal?.aborted) return abandoned();
    const problem = await opts.containerProblem();
    if (problem !== undefined) return { outcome: 'crashed', ...(last ? { health: last } : {}), message: problem };
    last = await probe(opts.host, opts.port, READY_PATH, requestTimeout);
    opts.onHealth?.(last);
    if (last.status === 200) return { outcome: 'ready', health: last, message: 'ready' };
    // Any HTTP answer (503 while loading) shows the server is up; only silence needs the live endpoint's word.
    const live = last.status !== undefined || (await probe(opts.host, opts.port, LIVE_PATH, requestTimeout)).status === 200;
    if (live) {
      everLive = true;
      liveFailures = 0;
    } else if (everLive && ++liveFailures >= LIVE_FAILURES_ALLOWED) {
      return { outcome: 'crashed', health: last, message: `the server stopped answering ${LIVE_PATH}` };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return { outcome: 'timeout', health: last, message: `not ready within ${opts.timeoutMs} ms (last: ${describeAnswer(last)})` };
    }
    const slept = await sleep(Math.min(opts.intervalMs, remaining), true, opts.signal ? { signal: opts.signal } : {}).catch(() => false);
    if (!slept) return abandoned();
  }
}

export function describeAnswer(a: HealthAnswer): string {
  if (a.status !== undefined) return `${a.endpoint} ${a.status}${a.body ? ` ${a.body.trim().slice(0, 200)}` : ''}`;
  return `${a.endpoint} ${a.error ?? 'no answer'}`;
}
