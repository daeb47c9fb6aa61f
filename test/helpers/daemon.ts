// Run the real daemon (`node bin/airlock daemon --config FILE`) as a child process on temporary folders.
//
//   const d = await startTestDaemon(t, { dir })            // dir/drop, dir/store, demo trust, a free port
//   await d.waitFor((bundles) => bundles.find((b) => b.state === 'installed'))
//   await d.stop()                                         // SIGTERM, resolves with the exit code
//
// The port is chosen by the daemon (api.port 0) and read from its "listening" log line, so there is no race.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { apiRequest, type ApiAnswer, type ApiRequestOptions } from '../../src/api/client.js';
import { DEMO_ALLOWED_SIGNERS } from '../../src/config/defaults.js';
import type { SourceRef } from '../../src/bundle/source.js';
import { AirlockError } from '../../src/errors.js';
import type { BundleIdentity, InstallCallOptions, InstallOutcome, Installer } from '../../src/pipeline/ports.js';
import type { BundleRecord } from '../../src/pipeline/types.js';
import { AIRLOCK_BIN, childEnv } from './cli.js';
import { scratchDir, type ScratchTest } from './scratch.js';

export interface TestDaemonOptions {
  /** base folder: drop/, store/ and the config live here (default the test's scratchDir) */
  dir?: string;
  /** merged over the test defaults (drop folder, store, demo trust, quietPeriodMs 400, port 0, no media) */
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** how long to wait for the listening line (default 30 s) */
  startTimeoutMs?: number;
  /** name the config by $AIRLOCK_CONFIG instead of --config */
  configFromEnv?: boolean;
}

export interface LogLine {
  level: number;
  msg: string;
  audit?: string;
  [key: string]: unknown;
}

export interface TestDaemon {
  url: string;
  token: string;
  dir: string;
  drop: string;
  store: string;
  configFile: string;
  child: ChildProcess;
  /** stdout JSON lines so far */
  lines(): LogLine[];
  stderr(): string;
  api<T = unknown>(route: string, opts?: ApiRequestOptions): Promise<ApiAnswer<T>>;
  bundles(): Promise<BundleRecord[]>;
  /** Poll GET /v1/bundles until `pick` returns something truthy; resolves with it. */
  waitFor<T>(pick: (bundles: BundleRecord[]) => T | undefined | null | false, opts?: { timeoutMs?: number; what?: string }): Promise<T>;
  /** SIGTERM (or the given signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

type TapLike = ScratchTest;

export function testConfig(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    dropFolders: [path.join(dir, 'drop')],
    store: path.join(dir, 'store'),
    mediaRoots: [],
    trust: { allowedSigners: DEMO_ALLOWED_SIGNERS, threshold: 1 },
    quietPeriodMs: 400,
    api: { host: '127.0.0.1', port: 0, tokenFile: path.join(dir, 'api-token') },
  };
  return { ...base, ...extra };
}

export async function startTestDaemon(t: TapLike, opts: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dir = opts.dir ?? scratchDir(t);
  mkdirSync(dir, { recursive: true });
  const config = testConfig(dir, opts.config);
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn(process.execPath, [AIRLOCK_BIN, 'daemon', ...(opts.configFromEnv ? [] : ['--config', configFile])], {
    env: childEnv({ ...opts.env, ...(opts.configFromEnv ? { AIRLOCK_CONFIG: configFile } : {}) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ level: 0, msg: p });
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  // Wait for the exit, so folders removed by earlier-registered teardowns are no longer written to.
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  const url = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(
      () => reject(new Error(`daemon did not start within ${opts.startTimeoutMs ?? 30000} ms; stderr: ${stderr}`)),
      opts.startTimeoutMs ?? 30000,
    );
    const timer = setInterval(() => {
      const l = lines.find((x) => typeof x['url'] === 'string' && x.msg.includes('listening on'));
      if (l && lines.some((x) => x.msg === 'watching for bundles')) {
        clearInterval(timer);
        clearTimeout(deadline);
        resolve(l['url'] as string);
      }
    }, 25);
    void exited.then(([code]) => {
      clearInterval(timer);
      clearTimeout(deadline);
      reject(new Error(`daemon exited (${code}) before listening; stderr: ${stderr}`));
    });
  });
  const api = config['api'] as { tokenFile: string };
  const token = readFileSync(api.tokenFile, 'utf8').trim();

  const handle: TestDaemon = {
    url,
    token,
    dir,
    drop: (config['dropFolders'] as string[])[0]!,
    store: config['store'] as string,
    configFile,
    child,
    lines: () => lines,
    stderr: () => stderr,
    api: (route, o) => apiRequest(url, route, o),
    bundles: async () => (await apiRequest<{ bundles: BundleRecord[] }>(url, '/v1/bundles')).body.bundles,
    async waitFor(pick, o = {}) {
      const deadline = Date.now() + (o.timeoutMs ?? 60000);
      let last: BundleRecord[] = [];
      for (;;) {
        last = await handle.bundles();
        const v = pick(last);
        if (v) return v;
        if (Date.now() > deadline) {
          throw new Error(
            `timed out waiting for ${o.what ?? 'a bundle condition'}; bundles: ${JSON.stringify(last.map((b) => ({ id: b.id, state: b.state, error: b.error?.code, note: b.note })))}`,
          );
        }
        if (child.exitCode !== null) throw new Error(`daemon exited (${child.exitCode}) while waiting; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
  return handle;
}

/** Audit events (pino lines with an `audit` field) the daemon printed so far. */
export function auditLines(d: TestDaemon, event?: string): LogLine[] {
  return d.lines().filter((l) => typeof l.audit === 'string' && (event === undefined || l.audit === event));
}

// ---------------------------------------------------------------------------------------------------------
// In-process doubles for pipeline and API tests: an Installer whose outcome each test decides.

export type FakeOutcome = 'install' | 'already-installed' | AirlockError | Error;

interface Gate {
  location: string;
  release: (outcome?: FakeOutcome) => void;
}

/** Identify = the location's base name as bundle id; install = whatever `outcomeFor` says, optionally held at a gate. */
export class FakeInstaller implements Installer {
  readonly installs: string[] = [];
  /** the source of each install, as the pipeline passed it */
  readonly sources: SourceRef[] = [];
  readonly identified: string[] = [];
  readonly aborted: string[] = [];
  /** when true, each install waits until `release()` */
  hold = false;
  outcomeFor: (location: string) => FakeOutcome = () => 'install';
  nameFor: (location: string) => string = (location) => `test/${path.basename(location).replace(/[^a-z0-9]/g, '') || 'model'}`;
  digestFor: (location: string) => string = (location) => createHash('sha256').update(path.basename(location)).digest('hex');
  private gates: Gate[] = [];

  async identify(source: SourceRef | string): Promise<BundleIdentity> {
    const location = typeof source === 'string' ? source : source.location;
    this.identified.push(location);
    const base = path.basename(location);
    if (base.startsWith('unreadable')) throw new AirlockError('MANIFEST_INVALID', `${location}/airlock.json is not JSON`, { path: 'airlock.json' });
    return {
      bundleId: base,
      name: this.nameFor(location),
      kind: 'model-dir',
      channel: 'stable',
      sequence: 1,
      manifestDigest: this.digestFor(location),
      signers: [
        {
          signature: 'signatures/demo.sig',
          status: 'trusted',
          principals: ['demo@airlock.invalid'],
          fingerprint: 'SHA256:fake',
          keyType: 'ssh-ed25519',
        },
      ],
    };
  }

  async install(source: SourceRef | string, opts: InstallCallOptions): Promise<InstallOutcome> {
    const location = typeof source === 'string' ? source : source.location;
    this.installs.push(location);
    if (typeof source !== 'string') this.sources.push(source);
    opts.onProgress?.({ phase: 'signatures', bytesDone: 0, bytesTotal: 1000 });
    let outcome = this.outcomeFor(location);
    if (this.hold) {
      opts.onProgress?.({ phase: 'payload', bytesDone: 400, bytesTotal: 1000 });
      const released = await new Promise<FakeOutcome | 'aborted'>((resolve) => {
        this.gates.push({ location, release: (o) => resolve(o ?? outcome) });
        opts.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
      });
      if (released === 'aborted') {
        this.aborted.push(location);
        throw new AirlockError('IO_ERROR', 'aborted');
      }
      outcome = released;
    }
    if (outcome instanceof Error) throw outcome;
    opts.onProgress?.({ phase: 'payload', bytesDone: 1000, bytesTotal: 1000 });
    const id = await this.identify(location);
    return {
      status: outcome === 'already-installed' ? 'already-installed' : 'installed',
      bundleId: id.bundleId!,
      name: id.name!,
      channel: id.channel!,
      sequence: id.sequence!,
      manifestDigest: id.manifestDigest,
      path: `/store/deployments/${id.bundleId}`,
      trust: { threshold: 1, trustedKeys: 1, satisfied: true, signers: id.signers, failures: [] },
      bytesVerified: outcome === 'already-installed' ? 0 : 1000,
      filesVerified: outcome === 'already-installed' ? 0 : 2,
      durationMs: 5,
    };
  }

  /** Locations waiting at the gate, in order. */
  waiting(): string[] {
    return this.gates.map((g) => g.location);
  }

  /** Let the oldest held install finish (with its planned outcome unless one is given). */
  release(outcome?: FakeOutcome): void {
    const g = this.gates.shift();
    if (!g) throw new Error('no install is waiting');
    g.release(outcome);
  }
}

/** Poll until `cond` holds (in-process tests). */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
