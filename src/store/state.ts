// The store's committed state (state.json) as a typed object, and the pure decisions made on it:
// rollback protection, activation with retention, and operator rollback.
import { AirlockError, type Failure } from '../errors.js';
import type { BundleKind, RuntimeHints } from '../format/manifest.js';
import { STATE_SCHEMA_V1, STATE_SCHEMA_VERSION } from './layout.js';

export interface ImageRecord {
  ref: string;
  /** image id (`sha256:…` of its config) the loaded image must have */
  id: string;
  /** sha256 of the docker save archive, stored as content */
  sha256: string;
  size: number;
}

/** One installed bundle: its tree lives at `dir` (store-relative) and never changes once committed. */
export interface DeploymentRecord {
  bundleId: string;
  name: string;
  channel: string;
  sequence: number;
  /** sha256 of the exact manifest bytes; the manifest itself is kept as content under this hash */
  manifestDigest: string;
  kind: BundleKind;
  dir: string;
  installedAt: string;
  /** the manifest's runtime hints (profiles, served name, model path), as one object */
  hints: RuntimeHints;
  images: ImageRecord[];
  files: number;
  symlinks: number;
  /** payload bytes of the tree (every listed file, delta-omitted ones included) */
  bytes: number;
  /** 'copy' when the file system refused hard links and files were copied out of content instead */
  linkMode: 'hardlink' | 'copy';
}

export interface ModelState {
  name: string;
  /** Kept deployments, most recently activated first: deployments[0] is the current one. */
  deployments: DeploymentRecord[];
}

/** Highest sequence ever installed for a (name, channel): rollback protection, never lowered. */
export interface SequenceRecord {
  name: string;
  channel: string;
  sequence: number;
  manifestDigest: string;
  bundleId: string;
}

export interface StoreState {
  schema: typeof STATE_SCHEMA_VERSION;
  /** incremented by every commit */
  generation: number;
  updated: string;
  sequences: SequenceRecord[];
  models: ModelState[];
}

export function emptyState(): StoreState {
  return { schema: STATE_SCHEMA_VERSION, generation: 0, updated: new Date(0).toISOString(), sequences: [], models: [] };
}

/**
 * A v1 state (a deployment's runtime hints as its own fields: profiles, servedModelName, modelPath) as v2 (one
 * `hints` object); the next commit writes it as v2. Anything else is returned as it is, for the schema to judge.
 */
export function upgradeState(doc: unknown): unknown {
  if (!isObject(doc) || doc['schema'] !== STATE_SCHEMA_V1 || !Array.isArray(doc['models'])) return doc;
  const models = doc['models'].map((m: unknown) =>
    isObject(m) && Array.isArray(m['deployments']) ? { ...m, deployments: m['deployments'].map(upgradeDeploymentV1) } : m,
  );
  return { ...doc, schema: STATE_SCHEMA_VERSION, models };
}

function upgradeDeploymentV1(d: unknown): unknown {
  if (!isObject(d)) return d;
  const { profiles, servedModelName, modelPath, ...rest } = d;
  return {
    ...rest,
    hints: { profiles, ...(servedModelName !== undefined ? { servedModelName } : {}), ...(modelPath !== undefined ? { modelPath } : {}) },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What identifies a bundle for rollback protection; all of it comes from the signed manifest. */
export interface BundleFacts {
  bundleId: string;
  name: string;
  channel: string;
  sequence: number;
  manifestDigest: string;
}

export type InstallDecision =
  { action: 'install' } | { action: 'already-installed'; record: DeploymentRecord } | { action: 'reject'; failure: Failure };

/**
 * Rollback protection (TUF's rollback attack): decided from the manifest alone, before any payload byte.
 * The very same bundle (same manifest digest) still kept is a no-op; a lower sequence than the highest
 * installed for (name, channel) is refused unless downgrades are allowed; a different bundle claiming
 * the highest sequence is refused always.
 */
export function decideInstall(state: StoreState, b: BundleFacts, allowDowngrade: boolean): InstallDecision {
  const kept = findModel(state, b.name)?.deployments ?? [];
  const same = kept.find((d) => d.manifestDigest === b.manifestDigest);
  if (same) return { action: 'already-installed', record: same };
  const highest = findSequence(state, b.name, b.channel);
  if (highest && b.sequence < highest.sequence && !allowDowngrade) {
    return reject(
      'ROLLBACK',
      // What to do instead depends on the caller (the CLI has --allow-downgrade, the daemon has not): ops/install.ts adds it.
      `${b.name} (channel ${b.channel}) sequence ${b.sequence} is lower than the installed ${highest.sequence} (${highest.bundleId})`,
    );
  }
  if (highest && b.sequence === highest.sequence && b.manifestDigest !== highest.manifestDigest) {
    return reject(
      'SEQUENCE_CONFLICT',
      `${b.name} (channel ${b.channel}) sequence ${b.sequence} was already installed from a different bundle (${highest.bundleId}, manifest ${highest.manifestDigest.slice(0, 12)})`,
    );
  }
  const clash = kept.find((d) => d.bundleId === b.bundleId);
  if (clash) {
    return reject(
      'SEQUENCE_CONFLICT',
      `bundle id ${b.bundleId} of ${b.name} is already installed from a different manifest (${clash.manifestDigest.slice(0, 12)})`,
    );
  }
  return { action: 'install' };
}

export interface Activation {
  state: StoreState;
  /** deployments dropped by retention; their trees are removed after the commit */
  evicted: DeploymentRecord[];
}

/**
 * The state after activating `record`: it becomes current, at most `retention` earlier deployments of
 * the model stay kept (most recently activated first), and the highest sequence only ever rises.
 */
export function applyInstall(state: StoreState, record: DeploymentRecord, retention: number, now: Date): Activation {
  const models = state.models.map((m) => ({ ...m, deployments: [...m.deployments] }));
  let model = models.find((m) => m.name === record.name);
  if (!model) {
    model = { name: record.name, deployments: [] };
    models.push(model);
    models.sort((a, b) => a.name.localeCompare(b.name));
  }
  const ordered = [record, ...model.deployments.filter((d) => d.bundleId !== record.bundleId)];
  model.deployments = ordered.slice(0, retention + 1);
  const evicted = ordered.slice(retention + 1);
  const sequences = state.sequences.filter((s) => !(s.name === record.name && s.channel === record.channel));
  const highest = findSequence(state, record.name, record.channel);
  sequences.push(
    highest && highest.sequence >= record.sequence
      ? highest
      : { name: record.name, channel: record.channel, sequence: record.sequence, manifestDigest: record.manifestDigest, bundleId: record.bundleId },
  );
  sequences.sort((a, b) => a.name.localeCompare(b.name) || a.channel.localeCompare(b.channel));
  return { state: { ...state, generation: state.generation + 1, updated: now.toISOString(), sequences, models }, evicted };
}

/**
 * Make a kept deployment current again: `to` names it by bundle id or manifest digest; without `to`,
 * the most recently active one before the current. Sequences are untouched: rollback is an operator's
 * decision, not a new high-water mark.
 */
export function applyRollback(state: StoreState, name: string, to: string | undefined, now: Date): { state: StoreState; target: DeploymentRecord } {
  const model = findModel(state, name);
  if (!model || model.deployments.length === 0)
    throw new AirlockError('NO_SUCH_DEPLOYMENT', `no deployments of ${name} in this store`, { path: name });
  const target = to === undefined ? model.deployments[1] : model.deployments.find((d) => d.bundleId === to || d.manifestDigest === to);
  if (!target) {
    const why = to === undefined ? `${name} has no earlier deployment kept` : `${name} has no kept deployment ${to}`;
    throw new AirlockError('NO_SUCH_DEPLOYMENT', `${why} (kept: ${model.deployments.map((d) => d.bundleId).join(', ')})`, { path: to ?? name });
  }
  const deployments = [target, ...model.deployments.filter((d) => d !== target)];
  const models = state.models.map((m) => (m.name === name ? { ...m, deployments } : m));
  return { state: { ...state, generation: state.generation + 1, updated: now.toISOString(), models }, target };
}

export function findModel(state: StoreState, name: string): ModelState | undefined {
  return state.models.find((m) => m.name === name);
}

export function findSequence(state: StoreState, name: string, channel: string): SequenceRecord | undefined {
  return state.sequences.find((s) => s.name === name && s.channel === channel);
}

/** Every deployment the state keeps, current ones first. */
export function keptDeployments(state: StoreState): DeploymentRecord[] {
  return state.models.flatMap((m) => m.deployments);
}

/** Semantic checks the schema cannot express. */
export function stateProblems(state: StoreState): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const m of state.models) {
    if (names.has(m.name)) problems.push(`model ${m.name} listed twice`);
    names.add(m.name);
    if (m.deployments.length === 0) problems.push(`model ${m.name} has no deployment`);
    const ids = new Set<string>();
    for (const d of m.deployments) {
      if (d.name !== m.name) problems.push(`deployment ${d.bundleId} of ${d.name} listed under ${m.name}`);
      if (ids.has(d.bundleId)) problems.push(`deployment ${d.bundleId} of ${m.name} listed twice`);
      ids.add(d.bundleId);
    }
  }
  const pairs = new Set<string>();
  for (const s of state.sequences) {
    const key = `${s.name}\u0000${s.channel}`;
    if (pairs.has(key)) problems.push(`sequence of ${s.name} channel ${s.channel} listed twice`);
    pairs.add(key);
  }
  return problems;
}

function reject(code: Failure['code'], message: string): InstallDecision {
  return { action: 'reject', failure: { code, message } };
}
