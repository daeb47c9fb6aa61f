// doctor's decisions: facts gathered by the probes (probes.ts) in, PASS/FAIL lines out. Pure.
import type { Failure } from '../errors.js';
import { deploySettingsOf, type EngineRuntimeConfig, type RuntimeConfig } from '../runtime/config.js';
import { isRemoteModelPath, RUNTIME_MANIFEST } from '../runtime/container-spec.js';
import { DEMO_KEY_FINGERPRINT, type TrustSummary } from '../trust/trust-health.js';
import { humanBytes } from '../util/human.js';

export interface Check {
  status: 'PASS' | 'FAIL';
  /** what was checked, e.g. "docker", "gpu-runtime", "image meta/llama-3.1-8b-instruct" */
  name: string;
  /** plain words: what was found and, on FAIL, what to do */
  message: string;
}

export interface DockerFacts {
  endpoint: string;
  reachable: boolean;
  error?: string;
  version?: string;
  /** names from `docker info` Runtimes */
  runtimes: string[];
  /** CDI spec files for nvidia.com devices found on this host */
  cdiSpecs: string[];
  /** nvidia-container-runtime-hook on PATH: what dockerd's built-in `--gpus` driver needs */
  nvidiaHook?: string;
}

export interface ImageFacts {
  ref: string;
  id: string;
  /** the engine holds an image with exactly this ID */
  present: boolean;
  /** the ID the ref's tag points to on this engine, when it has the tag */
  tagId?: string;
  archivePath?: string;
  archiveReadable: boolean;
}

export interface ModelFacts {
  name: string;
  bundleId: string;
  path: string;
  treeExists: boolean;
  /** entries the container user cannot read (dirs: read+search), first few */
  unreadable: string[];
  unreadableCount: number;
  /** user could not be checked (not numeric) */
  userProblem?: string;
  image?: ImageFacts;
  /** NIM_MODEL_PATH as it would be set: the config's modelPath, else the bundle's */
  modelPath?: string;
  hasRuntimeManifest: boolean;
}

export interface PortFacts {
  host: string;
  port: number;
  free: boolean;
  /** the airlock container publishing it, when one of ours holds the port */
  heldBy?: string;
  error?: string;
}

export interface TrustFacts {
  allowedSigners: string;
  /** trust.threshold: distinct keys a bundle needs */
  threshold: number;
  /** lines that parsed, when the file loads */
  keys?: number;
  /** what the keys can vouch for now (revoked and out-of-date keys left out), when the files load */
  summary?: TrustSummary;
  /** the embedded quick-start config, whose demo trust is expected (a config file trusting the demo key is not) */
  quickStart?: boolean;
  /** lines skipped (key types airlock cannot use) */
  warnings: string[];
  /** `CODE: message` when the file cannot be used */
  problem?: string;
  /** absent when trust.revokedKeys is not configured */
  revoked?: { path: string; keys?: number; problem?: string };
}

/** The API token file (config api.tokenFile): the bearer token that unlocks retry and rollback. */
export interface TokenFacts {
  path: string;
  exists: boolean;
  regular?: boolean;
  /** permission bits */
  mode?: number;
  /** why it could not be looked at */
  problem?: string;
}

export interface DoctorFacts {
  configSource: string;
  /** why the config file is not a valid daemon config (secrets are reported apart) */
  configProblem?: string;
  runtime: RuntimeConfig;
  envSecrets: string[];
  /** a credential found in the config's runtime section */
  configSecret?: string;
  /** absent when runtime.kind is none */
  docker?: DockerFacts;
  store?: string;
  /** the store folder does not exist yet: a host before its first install (the daemon creates it on start) */
  storeMissing?: boolean;
  storeProblems?: Failure[];
  models: ModelFacts[];
  port?: PortFacts;
  disk?: { path: string; freeBytes: number; needBytes: number };
  /** from the config's trust section; absent without a (valid) config file */
  trust?: TrustFacts;
  /** from the config's api section; absent without a (valid) config file */
  token?: TokenFacts;
}

const pass = (name: string, message: string): Check => ({ status: 'PASS', name, message });
const fail = (name: string, message: string): Check => ({ status: 'FAIL', name, message });

export function evaluateDoctor(f: DoctorFacts): Check[] {
  const checks: Check[] = [];
  checks.push(
    f.configProblem
      ? fail('config', `${f.configSource}: ${f.configProblem}; fix the file (see schema/config.schema.json)`)
      : pass('config', f.configSource),
  );
  checks.push(secretsCheck(f));
  if (f.trust) checks.push(...trustChecks(f.trust));
  if (f.token) checks.push(tokenCheck(f.token));
  if (f.runtime.kind === 'none') {
    checks.push(pass('runtime', 'kind "none": models are installed but no container is started, so Docker is not checked'));
  } else if (f.docker) {
    checks.push(dockerCheck(f.docker));
    if (f.docker.reachable) checks.push(gpuCheck(f.docker, f.runtime));
  }
  for (const m of f.models) checks.push(...modelChecks(m, f));
  if (f.port && f.runtime.kind !== 'none') checks.push(portCheck(f.port));
  if (f.disk) checks.push(diskCheck(f.disk));
  if (f.store !== undefined && f.storeMissing) {
    checks.push(pass('store', `${f.store} does not exist yet: the daemon creates it when it starts (or airlock install, with the first bundle)`));
  } else if (f.store !== undefined && f.storeProblems) checks.push(storeCheck(f.store, f.storeProblems));
  if (f.store === undefined) checks.push(pass('store', 'no store configured (give --config with "store", or --store): model checks skipped'));
  return checks;
}

export function doctorFailed(checks: Check[]): boolean {
  return checks.some((c) => c.status === 'FAIL');
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.status} ${c.name}: ${c.message}`).join('\n') + '\n';
}

function secretsCheck(f: DoctorFacts): Check {
  const where = [
    ...f.envSecrets.map((n) => `${n} in the environment`),
    ...(f.configSecret ? [`${f.configSecret} in the config's runtime section`] : []),
  ];
  if (where.length === 0) return pass('secrets', 'no NGC_API_KEY or HF_TOKEN in the environment or config');
  return fail('secrets', `${where.join(', ')}: the air-gapped side must not hold download credentials; unset them (and remove them from the config)`);
}

function trustChecks(tf: TrustFacts): Check[] {
  const r = tf.revoked;
  const revoked = !r
    ? pass('revoked-keys', 'none configured (trust.revokedKeys): a lost key is withdrawn only by removing it from allowed_signers')
    : r.problem
      ? fail('revoked-keys', `${r.problem}; fix the file (one public key per line, no KRL) or the daemon refuses to start`)
      : pass('revoked-keys', `${r.keys ?? 0} revoked key(s) in ${r.path}: their signatures never count`);
  if (tf.problem)
    return [fail('trust', `${tf.problem}; the daemon refuses to start until the allowed_signers file loads (see docs/keys.md)`), revoked];
  const checks = [usableKeysCheck(tf), revoked];
  if (tf.summary?.demoKey) checks.push(demoKeyCheck(tf));
  return checks;
}

// The threshold counts distinct keys that can vouch for a signature today: a file of expired or revoked keys
// loads, but no bundle could ever pass.
function usableKeysCheck(tf: TrustFacts): Check {
  const skipped = tf.warnings.length > 0 ? `; ${tf.warnings.length} line(s) skipped, e.g. ${tf.warnings[0]}` : '';
  const s = tf.summary;
  const usable = s?.usableKeys ?? tf.keys ?? 0;
  const left = s
    ? [
        s.revokedKeys && `${s.revokedKeys} revoked`,
        s.expiredKeys && `${s.expiredKeys} expired`,
        s.notYetValidKeys && `${s.notYetValidKeys} not valid yet`,
        s.otherNamespaceKeys && `${s.otherNamespaceKeys} limited to other namespaces`,
      ].filter(Boolean)
    : [];
  const excluded = left.length ? ` (left out: ${left.join(', ')})` : '';
  const text = `${usable} key(s) in ${tf.allowedSigners} can sign bundles now, threshold ${tf.threshold}${excluded}${skipped}`;
  if (usable >= tf.threshold) return pass('trust', text);
  return fail('trust', `only ${text}: no bundle can be accepted; add signers' keys (docs/keys.md) or lower trust.threshold`);
}

function demoKeyCheck(tf: TrustFacts): Check {
  const what = `${tf.allowedSigners} trusts the demo key ${DEMO_KEY_FINGERPRINT}, whose private half is published with airlock: anyone can sign bundles this host accepts`;
  if (tf.quickStart) return pass('demo-key', `${what} (expected of the embedded quick-start; never for real bundles)`);
  return fail('demo-key', `${what}; remove its line and trust your own keys (docs/keys.md)`);
}

function tokenCheck(tk: TokenFacts): Check {
  if (tk.problem) return fail('api-token', `${tk.path} cannot be checked (${tk.problem})`);
  if (!tk.exists) return pass('api-token', `${tk.path} does not exist yet; the daemon creates it, mode 0600, when it first starts`);
  if (!tk.regular) return fail('api-token', `${tk.path} is not a regular file; remove it and let the daemon create the token`);
  const mode = (tk.mode ?? 0) & 0o777;
  const octal = mode.toString(8).padStart(4, '0');
  if ((mode & 0o077) !== 0)
    return fail('api-token', `${tk.path} is mode ${octal}: group or others can read the token that unlocks retry and rollback; chmod 600 ${tk.path}`);
  return pass('api-token', `${tk.path} is mode ${octal}: only its owner reads it`);
}

function dockerCheck(d: DockerFacts): Check {
  if (!d.reachable) {
    return fail(
      'docker',
      `no Docker Engine answers at ${d.endpoint} (${d.error ?? 'no answer'}); start dockerd, or point DOCKER_HOST at the engine, and make sure this user may use its socket`,
    );
  }
  return pass('docker', `reachable at ${d.endpoint}${d.version ? ` (Docker ${d.version})` : ''}`);
}

function gpuCheck(d: DockerFacts, rc: EngineRuntimeConfig): Check {
  if (rc.gpus === 'none') return pass('gpu-runtime', 'GPUs disabled in the config (runtime.gpus "none"): no device requests');
  const found = [
    ...(d.runtimes.includes('nvidia') ? ['the nvidia runtime in docker info'] : []),
    ...(d.nvidiaHook ? [`nvidia-container-runtime-hook at ${d.nvidiaHook}`] : []),
    ...(d.cdiSpecs.length > 0 ? [`CDI specs ${d.cdiSpecs.join(', ')}`] : []),
  ];
  if (found.length > 0) return pass('gpu-runtime', `NVIDIA GPU runtime available: ${found.join('; ')}`);
  return fail(
    'gpu-runtime',
    `no NVIDIA GPU runtime for device requests: docker info lists runtimes ${d.runtimes.join(', ') || '(none)'}, no nvidia-container-runtime-hook on PATH and no nvidia CDI spec; ` +
      'install the NVIDIA Container Toolkit (nvidia-ctk runtime configure --runtime=docker, then restart dockerd), or set runtime.gpus to "none"',
  );
}

function modelChecks(m: ModelFacts, f: DoctorFacts): Check[] {
  const out: Check[] = [];
  const docker = f.runtime.kind !== 'none' && f.docker?.reachable;
  if (docker && m.image) out.push(imageCheck(m.name, m.image));
  if (docker && !m.image)
    out.push(fail(`image ${m.name}`, `deployment ${m.bundleId} carries no container image; pack the bundle with --image or --image-archive`));
  out.push(treeCheck(m, deploySettingsOf(f.runtime).user));
  if (m.modelPath !== undefined && isRemoteModelPath(m.modelPath)) {
    out.push(
      m.hasRuntimeManifest
        ? pass(`model-path ${m.name}`, `remote NIM_MODEL_PATH ${m.modelPath} with ${RUNTIME_MANIFEST} in the deployment`)
        : fail(
            `model-path ${m.name}`,
            `remote NIM_MODEL_PATH ${m.modelPath} but no ${RUNTIME_MANIFEST} in the deployment: NIM would try the network; pack the cache after one connected run, or use a local model`,
          ),
    );
  }
  return out;
}

function imageCheck(model: string, i: ImageFacts): Check {
  const name = `image ${model}`;
  if (i.present) return pass(name, `${i.ref} present as ${i.id}`);
  const tag = i.tagId ? ` (the local tag ${i.ref} points to ${i.tagId}, which airlock never uses)` : '';
  if (i.archiveReadable) return pass(name, `${i.id} not loaded yet${tag}; deploy loads it from ${i.archivePath}`);
  return fail(
    name,
    `${i.ref} with ID ${i.id} is not in the engine${tag} and its archive ${i.archivePath ?? '(none)'} cannot be read; install the bundle again or docker load the image`,
  );
}

function treeCheck(m: ModelFacts, user: string): Check {
  const name = `deployment ${m.name}`;
  if (!m.treeExists) return fail(name, `${m.path} is missing; install the bundle again (airlock install)`);
  if (m.userProblem) return fail(name, m.userProblem);
  if (m.unreadableCount === 0) return pass(name, `${m.bundleId} at ${m.path}, readable by user ${user}`);
  return fail(
    name,
    `${m.unreadableCount} entries of ${m.path} are not readable by the container user ${user} (e.g. ${m.unreadable.join(', ')}); ` +
      `make them world-readable (chmod -R o+rX) or set runtime.user to their owner`,
  );
}

function portCheck(p: PortFacts): Check {
  const where = `${p.host}:${p.port}`;
  if (p.free) return pass('port', `${where} is free`);
  if (p.heldBy) return pass('port', `${where} is published by airlock's own container ${p.heldBy}`);
  return fail('port', `${where} is in use by something else${p.error ? ` (${p.error})` : ''}; stop it or choose runtime.publishPort`);
}

function diskCheck(d: { path: string; freeBytes: number; needBytes: number }): Check {
  const text = `${humanBytes(d.freeBytes)} free on the filesystem of ${d.path}`;
  if (d.freeBytes >= d.needBytes) return pass('disk', text);
  return fail('disk', `only ${text}, below ${humanBytes(d.needBytes)} (room for the next bundle of the largest model); free space or run airlock gc`);
}

function storeCheck(store: string, problems: Failure[]): Check {
  if (problems.length === 0) return pass('store', `${store} is consistent`);
  const shown = problems
    .slice(0, 3)
    .map((p) => p.message)
    .join('; ');
  return fail(
    'store',
    `${store} has ${problems.length} problem(s): ${shown}${problems.length > 3 ? '; …' : ''}; reinstall the affected bundles (airlock install) or restore the store`,
  );
}
