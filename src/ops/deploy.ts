// Deploy a model with rollback, written once: the CLI (`airlock deploy`), the daemon after an install and the
// API's rollback all come here. One rule picks the previous deployment; the runtime is only asked to do engine
// operations; and the store's current pointer always ends on the deployment that actually serves.
import { AirlockError, toAirlockError, type ErrorCode } from '../errors.js';
import { isDeployableKind } from '../format/manifest.js';
import type { DeploySettings } from '../runtime/config.js';
import { buildContainerSpec, containerName, LABELS, RUNTIME_MANIFEST } from '../runtime/container-spec.js';
import { probeHost, waitUntilReady } from '../runtime/health.js';
import type { ContainerState, DeploymentTarget, HealthAnswer, Runtime } from '../runtime/runtime.js';
import type { DeploymentInfo, ModelDeployments } from '../store/deployments.js';
import { access } from 'node:fs/promises';
import path from 'node:path';

export type DeployPhase = 'starting' | 'ready' | 'failed' | 'rolled-back';

export interface DeployOutcome {
  status: 'ready' | 'rolled-back' | 'failed';
  /** The container started for the target (absent when creating it failed). */
  containerId?: string;
  /** The last health answer from that container. */
  health?: HealthAnswer;
  /** When the target failed and a previous deployment existed: what restarting it gave. */
  previous?: DeployOutcome;
  /** ROLLED_BACK when the previous deployment serves again; otherwise why the target failed (NOT_READY, CONTAINER_FAILED). */
  code?: ErrorCode;
  message?: string;
  /** The failed container's last log lines, kept because the container itself is removed. */
  logs?: string;
}

export interface StateDetail {
  model: string;
  bundleId: string;
  containerId?: string;
  health?: HealthAnswer;
  code?: ErrorCode;
  message?: string;
}

export interface DeployHooks {
  onState?(state: DeployPhase, detail: StateDetail): void;
  /** Every health answer while waiting, for a live status view. */
  onHealth?(answer: HealthAnswer, detail: StateDetail): void;
  /**
   * Stop waiting for readiness (the daemon is shutting down): the deploy then ends ABORTED, leaving the container
   * that was starting as it is (neither removed nor replaced by the previous one), since nothing says it is bad.
   */
  signal?: AbortSignal;
}

/** What a deploy needs: the engine, the settings the container runs with, and the store's deployments. */
export interface DeployContext {
  runtime: Runtime;
  settings: DeploySettings;
  deployments: {
    list(): Promise<ModelDeployments[]>;
    /** make `to` (a bundle id) current again, without verifying anything */
    rollback(name: string, to?: string): Promise<DeploymentInfo>;
  };
  /** log lines kept from a container that failed (default 40) */
  logTail?: number;
}

export interface ModelDeployResult {
  outcome: DeployOutcome;
  target: DeploymentInfo;
  previous?: DeploymentInfo;
  /** the deployment the store's current pointer names afterwards: the one that serves, when one does */
  current: DeploymentInfo;
}

/** The runtime's view of a deployment; NOT_DEPLOYABLE for a files bundle, IMAGE_MISSING without an image. */
export function targetFor(d: DeploymentInfo): DeploymentTarget {
  if (!isDeployableKind(d.kind)) {
    throw new AirlockError('NOT_DEPLOYABLE', `${d.name} is a ${d.kind} bundle: installed in the store (${d.path}), never run as a container`, {
      path: d.name,
    });
  }
  const image = d.imageArchives[0];
  if (!image) throw new AirlockError('IMAGE_MISSING', `deployment ${d.bundleId} of ${d.name} carries no container image`, { path: d.name });
  return {
    name: d.name,
    bundleId: d.bundleId,
    manifestDigest: d.manifestDigest,
    path: d.path,
    kind: d.kind,
    hints: d.hints,
    image: { ref: image.ref, id: image.id, archivePath: image.path },
  };
}

/**
 * The one rule for "the previous deployment": the most recently active kept deployment other than the target
 * that can run (a deployable kind with an image). The store keeps deployments most recently active first.
 */
export function previousDeployment(model: ModelDeployments, targetBundleId: string): DeploymentInfo | undefined {
  return [model.current, ...model.kept].find(
    (d): d is DeploymentInfo => d !== undefined && d.bundleId !== targetBundleId && isDeployableKind(d.kind) && d.imageArchives.length > 0,
  );
}

/**
 * Start the store's current deployment of `name` (replacing the model's container), fall back to the previous one
 * when it does not become ready, and point the store's current at whichever serves. `expectDigest`: refuse
 * (NO_SUCH_DEPLOYMENT) when the current deployment is not that bundle (the daemon deploys what it just installed).
 */
export async function deployCurrent(ctx: DeployContext, name: string, hooks: DeployHooks = {}, expectDigest?: string): Promise<ModelDeployResult> {
  const model = (await ctx.deployments.list()).find((m) => m.name === name);
  const target = model?.current;
  if (!model || !target) throw new AirlockError('NO_SUCH_DEPLOYMENT', `the store holds no deployment of ${name}`, { path: name });
  if (expectDigest !== undefined && target.manifestDigest !== expectDigest) {
    throw new AirlockError('NO_SUCH_DEPLOYMENT', `the store's current deployment of ${name} is ${target.bundleId}, not the bundle expected`, {
      path: name,
    });
  }
  const previous = previousDeployment(model, target.bundleId);
  const outcome = await replaceModel(ctx, targetFor(target), previous ? targetFor(previous) : undefined, hooks);
  // What serves decides where current points: after a fallback, the previous deployment.
  const current = outcome.status === 'rolled-back' && previous ? await ctx.deployments.rollback(name, previous.bundleId) : target;
  return { outcome, target, ...(previous ? { previous } : {}), current };
}

/** The operator's rollback: make a kept deployment current in the store, then deploy it as above. */
export async function rollbackAndDeploy(
  ctx: DeployContext,
  name: string,
  to: string | undefined,
  hooks: DeployHooks = {},
): Promise<ModelDeployResult> {
  await ctx.deployments.rollback(name, to);
  return deployCurrent(ctx, name, hooks);
}

/**
 * Replace the model's container with one for `target` and wait until it is ready; when it is not, restart
 * `previous` and report both. Throws (touching nothing) when the target cannot be deployed at all:
 * SECRET_IN_CONFIG, REMOTE_MODEL_PATH, CONFIG_INVALID, IMAGE_MISSING, IMAGE_MISMATCH, DOCKER_UNREACHABLE, CONFLICT.
 */
export async function replaceModel(
  ctx: DeployContext,
  target: DeploymentTarget,
  previous?: DeploymentTarget,
  hooks: DeployHooks = {},
): Promise<DeployOutcome> {
  // Everything that can refuse the deployment runs before the serving container is touched.
  const spec = await specFor(target, ctx.settings);
  probeHost(ctx.settings.publishHost);
  await ctx.runtime.ensureImage(target.image);
  await removeModelContainers(ctx.runtime, target.name);

  const attempt = await startAndWait(ctx, target, spec, hooks);
  if (attempt.status === 'ready') return attempt;
  const detail = (extra: Partial<StateDetail>): StateDetail => ({ model: target.name, bundleId: target.bundleId, ...extra });
  if (!previous) {
    hooks.onState?.('failed', detail({ ...pick(attempt), ...(attempt.code ? { code: attempt.code } : {}) }));
    return attempt;
  }
  const back = await restorePrevious(ctx, previous);
  if (back.status === 'ready') {
    const message = `${target.name}: bundle ${target.bundleId} failed (${attempt.message}); restarted bundle ${previous.bundleId}`;
    hooks.onState?.('rolled-back', { model: previous.name, bundleId: previous.bundleId, ...pick(back), code: 'ROLLED_BACK', message });
    return { ...attempt, status: 'rolled-back', code: 'ROLLED_BACK', message, previous: back };
  }
  const message = `${attempt.message}; restarting bundle ${previous.bundleId} failed too (${back.message})`;
  hooks.onState?.('failed', detail({ ...pick(attempt), ...(attempt.code ? { code: attempt.code } : {}), message }));
  return { ...attempt, message, previous: back };
}

/** Stop and remove the model's container(s); false when there was none. */
export async function stopModel(runtime: Runtime, name: string): Promise<boolean> {
  const found = await modelContainers(runtime, name);
  for (const c of found) await runtime.remove(c.id);
  return found.length > 0;
}

/** The model's container as the engine sees it, with the bundle it was started for. */
export async function modelContainer(
  runtime: Runtime,
  name: string,
): Promise<(ContainerState & { bundleId?: string; manifestDigest?: string }) | undefined> {
  const [c] = await modelContainers(runtime, name);
  if (!c) return undefined;
  const bundleId = c.labels[LABELS.bundleId];
  const manifestDigest = c.labels[LABELS.manifestDigest];
  return { ...c, ...(bundleId ? { bundleId } : {}), ...(manifestDigest ? { manifestDigest } : {}) };
}

/** Containers airlock made for the model (by label), plus whatever holds the model's container name (CONFLICT if not ours). */
export async function modelContainers(runtime: Runtime, name: string): Promise<ContainerState[]> {
  const byLabel = await runtime.list({ labels: { [LABELS.model]: name } });
  const byName = (await runtime.list({ name: containerName(name) })).filter((c) => !byLabel.some((l) => l.id === c.id));
  const foreign = byName.find((c) => c.labels[LABELS.managed] !== 'true');
  if (foreign)
    throw new AirlockError(
      'CONFLICT',
      `a container airlock did not create is named ${containerName(name)} (${foreign.id.slice(0, 12)}); remove or rename it`,
    );
  return [...byLabel, ...byName];
}

async function removeModelContainers(runtime: Runtime, name: string): Promise<void> {
  for (const c of await modelContainers(runtime, name)) await runtime.remove(c.id);
}

async function specFor(target: DeploymentTarget, settings: DeploySettings) {
  const hasRuntimeManifest = await access(path.join(target.path, RUNTIME_MANIFEST)).then(
    () => true,
    () => false,
  );
  return buildContainerSpec(target, settings, { hasRuntimeManifest });
}

/** Start the previous deployment again; any failure becomes its outcome rather than an exception. */
async function restorePrevious(ctx: DeployContext, previous: DeploymentTarget): Promise<DeployOutcome> {
  try {
    const spec = await specFor(previous, ctx.settings);
    await ctx.runtime.ensureImage(previous.image);
    await removeModelContainers(ctx.runtime, previous.name);
    return await startAndWait(ctx, previous, spec, {});
  } catch (err) {
    const e = toAirlockError(err);
    return { status: 'failed', code: e.code, message: e.message };
  }
}

async function startAndWait(
  ctx: DeployContext,
  target: DeploymentTarget,
  spec: Awaited<ReturnType<typeof specFor>>,
  hooks: DeployHooks,
): Promise<DeployOutcome> {
  const { runtime, settings } = ctx;
  const detail = (extra: Partial<StateDetail> = {}): StateDetail => ({ model: target.name, bundleId: target.bundleId, ...extra });
  let id: string | undefined;
  try {
    id = await runtime.create(spec);
    await runtime.start(id);
  } catch (err) {
    const e = toAirlockError(err);
    if (e.code === 'DOCKER_UNREACHABLE') throw e;
    const logs = id ? await runtime.logs(id, ctx.logTail ?? 40) : undefined;
    if (id) await runtime.remove(id);
    return { status: 'failed', ...(id ? { containerId: id } : {}), code: 'CONTAINER_FAILED', message: e.message, ...(logs ? { logs } : {}) };
  }
  const started = id;
  hooks.onState?.('starting', detail({ containerId: started }));
  const result = await waitUntilReady({
    host: probeHost(settings.publishHost),
    port: settings.publishPort,
    timeoutMs: settings.readyTimeoutMs,
    intervalMs: settings.pollIntervalMs,
    containerProblem: () => containerProblem(runtime, started),
    onHealth: (answer) => hooks.onHealth?.(answer, detail({ containerId: started })),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
  if (result.outcome === 'abandoned') {
    throw new AirlockError(
      'ABORTED',
      `stopped before ${target.name} (bundle ${target.bundleId}) became ready; its container ${started.slice(0, 12)} was left running: see airlock status, or run airlock deploy ${target.name}`,
      { path: target.name },
    );
  }
  const health = result.health ? { health: result.health } : {};
  if (result.outcome === 'ready') {
    hooks.onState?.('ready', detail({ containerId: started, ...health }));
    return { status: 'ready', containerId: started, ...health };
  }
  const logs = await runtime.logs(started, ctx.logTail ?? 40);
  await runtime.remove(started);
  const code = result.outcome === 'timeout' ? 'NOT_READY' : 'CONTAINER_FAILED';
  return { status: 'failed', containerId: started, ...health, code, message: result.message, ...(logs ? { logs } : {}) };
}

/** Why the container can no longer become ready (stopped, or restarted by its policy), if so. */
async function containerProblem(runtime: Runtime, id: string): Promise<string | undefined> {
  const s = await runtime.inspect(id);
  if (!s) return 'the container was removed';
  const oom = s.oomKilled ? ', out of memory' : '';
  if (s.restarting || s.restartCount > 0) return `the container exited with code ${s.exitCode ?? '?'}${oom} and is being restarted`;
  if (!s.running) return `the container exited with code ${s.exitCode ?? '?'}${oom}${s.error ? `: ${s.error}` : ''}`;
  return undefined;
}

function pick(o: DeployOutcome): Partial<StateDetail> {
  return {
    ...(o.containerId ? { containerId: o.containerId } : {}),
    ...(o.health ? { health: o.health } : {}),
    ...(o.message ? { message: o.message } : {}),
  };
}
