// doctor's probes: read the config, ask the engine, look at the store, the port and the disk. Facts only;
// checks.ts decides.
import { access, lstat, statfs } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { configFromDocument } from '../config/load-config.js';
import { toAirlockError } from '../errors.js';
import { readAllowedSigners } from '../trust/allowed-signers.js';
import { loadRevokedKeys, type RevokedKeys } from '../trust/revoked-keys.js';
import { summarizeTrust } from '../trust/trust-health.js';
import { chooseConfig, describeConfig } from '../config/discover.js';
import { loadDaemonConfig, readConfigDocument } from '../config/load-config.js';
import {
  deploySettingsOf,
  findSecret,
  isSecretEnvName,
  resolveRuntimeConfig,
  SECRET_ENV_NAMES,
  type DeploySettings,
  type RuntimeConfig,
} from '../runtime/config.js';
import { LABELS, RUNTIME_MANIFEST } from '../runtime/container-spec.js';
import { createRuntime } from '../runtime/index.js';
import type { Runtime } from '../runtime/runtime.js';
import { checkStore } from '../store/check-store.js';
import { listDeployments, type DeploymentInfo } from '../store/deployments.js';
import type { DockerFacts, DoctorFacts, ImageFacts, ModelFacts, PortFacts, TokenFacts, TrustFacts } from './checks.js';
import { parseContainerUser, treeAccess } from './tree-access.js';

export interface DoctorOptions {
  configFile?: string;
  /** overrides the config's store */
  store?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const MIN_FREE = 1024 ** 3;
const CDI_DIRS = ['/etc/cdi', '/var/run/cdi'];

export async function gatherDoctorFacts(opts: DoctorOptions): Promise<DoctorFacts> {
  const cfg = await readConfig(opts);
  const store = opts.store !== undefined ? path.resolve(opts.cwd, opts.store) : cfg.store;
  const envSecrets = SECRET_ENV_NAMES.filter((n) => (opts.env[n] ?? '') !== '');
  const facts: DoctorFacts = {
    configSource: cfg.source,
    runtime: cfg.runtime,
    envSecrets,
    models: [],
    ...pick(cfg, 'configProblem', 'configSecret'),
  };
  if (cfg.trust) facts.trust = { ...(await trustFacts(cfg.trust)), ...(cfg.quickStart ? { quickStart: true } : {}) };
  if (cfg.tokenFile !== undefined) facts.token = await tokenFacts(cfg.tokenFile);
  let runtime = await createRuntime(cfg.runtime, opts.env);
  if (runtime) {
    facts.docker = await dockerFacts(runtime, opts.env);
    if (!facts.docker.reachable) runtime = undefined;
  }
  if (store !== undefined) {
    facts.store = store;
    // A fresh host has no store until the daemon's first start: nothing to check, and nothing wrong.
    if (
      await lstat(store).then(
        () => false,
        (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
      )
    )
      facts.storeMissing = true;
    else facts.storeProblems = await checkStore(store);
    const current = await listDeployments(store).then(
      (ms) => ms.flatMap((m) => (m.current ? [m.current] : [])),
      () => [] as DeploymentInfo[],
    );
    for (const d of current) facts.models.push(await modelFacts(d, deploySettingsOf(cfg.runtime), runtime));
    const largest = Math.max(0, ...current.map((d) => d.bytes + d.imageArchives.reduce((s, i) => s + i.size, 0)));
    const fs = await statfs(store).catch(() => undefined);
    if (fs) facts.disk = { path: store, freeBytes: fs.bavail * fs.bsize, needBytes: Math.max(MIN_FREE, largest) };
  }
  if (cfg.runtime.kind !== 'none') facts.port = await portFacts(cfg.runtime, runtime);
  return facts;
}

interface ConfigFacts {
  source: string;
  runtime: RuntimeConfig;
  store?: string;
  trust?: { allowedSigners: string; revokedKeys?: string; threshold: number };
  tokenFile?: string;
  quickStart?: boolean;
  configProblem?: string;
  configSecret?: string;
}

/** The daemon config, validated; a credential in it is reported, and the rest is still checked without it. */
async function readConfig(opts: DoctorOptions): Promise<ConfigFacts> {
  // The same config discovery as every command, so doctor checks the setup the daemon runs.
  const choice = chooseConfig(opts.configFile, opts.env);
  if (choice.file === undefined) return embeddedConfigFacts(opts.cwd);
  const abs = path.resolve(opts.cwd, choice.file);
  const source = describeConfig({ source: abs, origin: choice.origin });
  let doc: Record<string, unknown>;
  try {
    // The daemon's own reader: a FIFO or a huge file where the config should be is refused, never waited on.
    doc = (await readConfigDocument(abs)) as Record<string, unknown>;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
  } catch (err) {
    return { source, runtime: resolveRuntimeConfig({ kind: 'docker' }), configProblem: `cannot be read as JSON (${(err as Error).message})` };
  }
  const out: ConfigFacts = { source, runtime: resolveRuntimeConfig({ kind: 'none' }) };
  if (typeof doc['store'] === 'string') out.store = path.resolve(path.dirname(abs), doc['store']);
  const raw = doc['runtime'];
  const rawRuntime = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : raw;
  if (rawRuntime && typeof rawRuntime === 'object') {
    const r = rawRuntime as Record<string, unknown>;
    const top = Object.keys(r).find(isSecretEnvName);
    const env = r['env'] && typeof r['env'] === 'object' ? { ...(r['env'] as Record<string, unknown>) } : undefined;
    const inEnv = env ? findSecret(env) : undefined;
    if (top !== undefined || inEnv !== undefined) {
      out.configSecret = (top ?? `env.${inEnv}`) as string;
      // Check everything else as if the credential were gone.
      for (const k of Object.keys(r)) if (isSecretEnvName(k)) delete r[k];
      if (env) {
        for (const k of Object.keys(env)) if (findSecret({ [k]: env[k] }) !== undefined) delete env[k];
        r['env'] = env;
      }
    }
  }
  try {
    const config = configFromDocument({ ...doc, ...(rawRuntime !== undefined ? { runtime: rawRuntime } : {}) }, path.dirname(abs), abs);
    out.runtime = config.runtime;
    out.store = config.store;
    out.trust = config.trust;
    out.tokenFile = config.api.tokenFile;
  } catch (err) {
    out.configProblem = toAirlockError(err).message;
    try {
      out.runtime = resolveRuntimeConfig(rawRuntime ?? { kind: 'none' });
    } catch {
      // the config line already says what is wrong
    }
  }
  return out;
}

/** The trust files as the daemon would read them at start-up: loads, how many keys can sign now, what was skipped. */
async function trustFacts(files: { allowedSigners: string; revokedKeys?: string; threshold: number }): Promise<TrustFacts> {
  const describe = (err: unknown) => {
    const e = toAirlockError(err);
    return `${e.code}: ${e.message}`;
  };
  const base = { allowedSigners: files.allowedSigners, threshold: files.threshold };
  const parsed = await readAllowedSigners(files.allowedSigners).then(
    (f) => ({ ok: true as const, f }),
    (err: unknown) => ({ ok: false as const, problem: describe(err) }),
  );
  if (!parsed.ok) return { ...base, warnings: [], problem: parsed.problem };
  const out: TrustFacts = { ...base, keys: parsed.f.signers.length, warnings: parsed.f.warnings };
  let revoked: RevokedKeys | undefined;
  if (files.revokedKeys !== undefined) {
    const path = files.revokedKeys;
    out.revoked = await loadRevokedKeys(path).then(
      (r) => {
        revoked = r;
        return { path, keys: r.blobs.length };
      },
      (err: unknown) => ({ path, problem: describe(err) }),
    );
  }
  out.summary = summarizeTrust(parsed.f.signers, revoked, new Date());
  return out;
}

/** The token file's kind and mode, never its contents. */
async function tokenFacts(file: string): Promise<TokenFacts> {
  try {
    const st = await lstat(file);
    return { path: file, exists: true, regular: st.isFile(), mode: st.mode & 0o7777 };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path: file, exists: false };
    return { path: file, exists: false, problem: code ?? (err as Error).message };
  }
}

async function embeddedConfigFacts(cwd: string): Promise<ConfigFacts> {
  try {
    const loaded = await loadDaemonConfig(undefined, cwd);
    const c = loaded.config;
    return {
      source: describeConfig({ source: loaded.source, origin: 'embedded' }),
      runtime: c.runtime,
      store: c.store,
      trust: c.trust,
      tokenFile: c.api.tokenFile,
      quickStart: true,
    };
  } catch (err) {
    return { source: 'the embedded quick-start config', runtime: { kind: 'none' }, configProblem: toAirlockError(err).message };
  }
}

async function dockerFacts(runtime: Runtime, env: NodeJS.ProcessEnv): Promise<DockerFacts> {
  const cdiSpecs = await nvidiaCdiSpecs();
  const nvidiaHook = await onPath('nvidia-container-runtime-hook', env);
  return { ...(await runtime.describe()), cdiSpecs, ...(nvidiaHook ? { nvidiaHook } : {}) };
}

async function modelFacts(d: DeploymentInfo, rc: DeploySettings, runtime: Runtime | undefined): Promise<ModelFacts> {
  const user = parseContainerUser(rc.user);
  const tree = user ? await treeAccess(d.path, user) : { exists: true, unreadable: [], unreadableCount: 0 };
  const modelPath = rc.modelPath ?? d.hints.modelPath;
  const img = d.imageArchives[0];
  let image: ImageFacts | undefined;
  if (img && runtime) {
    const present = (await runtime.imageId(img.id).catch(() => undefined)) === img.id;
    const tagId = present ? undefined : await runtime.imageId(img.ref).catch(() => undefined);
    const archiveReadable = await access(img.path).then(
      () => true,
      () => false,
    );
    image = { ref: img.ref, id: img.id, present, archivePath: img.path, archiveReadable, ...(tagId ? { tagId } : {}) };
  }
  return {
    name: d.name,
    bundleId: d.bundleId,
    path: d.path,
    treeExists: tree.exists,
    unreadable: tree.unreadable,
    unreadableCount: tree.unreadableCount,
    ...(user ? {} : { userProblem: `runtime.user ${JSON.stringify(rc.user)} is not a uid or uid:gid` }),
    ...(image ? { image } : {}),
    ...(modelPath !== undefined ? { modelPath } : {}),
    hasRuntimeManifest: await access(path.join(d.path, RUNTIME_MANIFEST)).then(
      () => true,
      () => false,
    ),
  };
}

/** Free when we can listen on it; otherwise, whether one of airlock's containers publishes it. */
async function portFacts(rc: DeploySettings, runtime: Runtime | undefined): Promise<PortFacts> {
  const base = { host: rc.publishHost, port: rc.publishPort };
  const error = await new Promise<string | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(rc.publishPort, rc.publishHost, () => server.close(() => resolve(undefined)));
  });
  if (error === undefined) return { ...base, free: true };
  const ours = runtime ? await runtime.list({ labels: { [LABELS.managed]: 'true' } }).catch(() => []) : [];
  const holder = ours.find((c) => c.running && c.publishedPorts.includes(rc.publishPort));
  return { ...base, free: false, error, ...(holder ? { heldBy: holder.name } : {}) };
}

async function nvidiaCdiSpecs(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const found: string[] = [];
  for (const dir of CDI_DIRS) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (/nvidia/i.test(name) && /\.(ya?ml|json)$/.test(name)) found.push(path.join(dir, name));
    }
  }
  return found;
}

async function onPath(bin: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env['PATH'] ?? '').split(':').filter(Boolean)) {
    const p = path.join(dir, bin);
    if (
      await access(p).then(
        () => true,
        () => false,
      )
    )
      return p;
  }
  return undefined;
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
