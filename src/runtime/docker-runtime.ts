// The Runtime on a Docker Engine (dockerode): one container per model, replaced with a health-checked
// start and a rollback to the previous deployment when the new one does not become ready.
import { access } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { AirlockError, isAirlockError, toAirlockError } from '../errors.js';
import type { RuntimeConfig } from './config.js';
import { buildContainerSpec, containerName, LABELS, RUNTIME_MANIFEST } from './container-spec.js';
import { createDockerClient } from './docker-endpoint.js';
import { dockerFailure, isNotFound } from './docker-errors.js';
import { probeHost, waitUntilReady } from './health.js';
import { ensureImage } from './image-store.js';
import { demuxLogBuffer } from './log-frames.js';
import type { ContainerState, DeployOutcome, DeploymentTarget, ImageSpec, Runtime, RuntimeHooks, StateDetail } from './runtime.js';

export interface DockerRuntimeOptions {
  /** Seconds `docker stop` waits for a graceful exit before killing. */
  stopTimeoutSec?: number;
  /** Log lines kept from a container that failed (it is removed). */
  logTail?: number;
}

export class DockerRuntime implements Runtime {
  private readonly stopTimeoutSec: number;
  private readonly logTail: number;

  constructor(
    private readonly docker: Docker,
    private readonly config: RuntimeConfig,
    options: DockerRuntimeOptions = {},
  ) {
    this.stopTimeoutSec = options.stopTimeoutSec ?? 30;
    this.logTail = options.logTail ?? 40;
  }

  /** The engine named by DOCKER_HOST in `env`, like the docker CLI. */
  static fromEnv(config: RuntimeConfig, env: NodeJS.ProcessEnv = process.env, options?: DockerRuntimeOptions): DockerRuntime {
    return new DockerRuntime(createDockerClient(env), config, options);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      const e = dockerFailure(err, 'ping');
      throw e.code === 'DOCKER_UNREACHABLE' ? e : new AirlockError('DOCKER_UNREACHABLE', e.message, { cause: err });
    }
  }

  ensureImage(image: ImageSpec): Promise<{ loaded: boolean }> {
    return ensureImage(this.docker, image);
  }

  async replace(target: DeploymentTarget, previous?: DeploymentTarget, hooks: RuntimeHooks = {}): Promise<DeployOutcome> {
    // Everything that can refuse the deployment runs before the serving container is touched.
    const spec = await this.specFor(target);
    probeHost(this.config.publishHost);
    await this.ensureImage(target.image);
    await this.removeModelContainers(target.name);

    const attempt = await this.startAndWait(target, spec, hooks);
    if (attempt.status === 'ready') return attempt;
    const detail = (extra: Partial<StateDetail>): StateDetail => ({ model: target.name, bundleId: target.bundleId, ...extra });
    if (!previous) {
      hooks.onState?.('failed', detail({ ...pick(attempt), ...(attempt.code ? { code: attempt.code } : {}) }));
      return attempt;
    }
    const back = await this.restorePrevious(previous);
    if (back.status === 'ready') {
      const message = `${target.name}: bundle ${target.bundleId} failed (${attempt.message}); restarted bundle ${previous.bundleId}`;
      hooks.onState?.('rolled-back', { model: previous.name, bundleId: previous.bundleId, ...pick(back), code: 'ROLLED_BACK', message });
      return { ...attempt, status: 'rolled-back', code: 'ROLLED_BACK', message, previous: back };
    }
    const message = `${attempt.message}; restarting bundle ${previous.bundleId} failed too (${back.message})`;
    hooks.onState?.('failed', detail({ ...pick(attempt), ...(attempt.code ? { code: attempt.code } : {}), message }));
    return { ...attempt, message, previous: back };
  }

  async stop(name: string): Promise<boolean> {
    const found = await this.modelContainers(name);
    for (const c of found) await this.removeContainer(c.Id);
    return found.length > 0;
  }

  async inspect(name: string): Promise<ContainerState | undefined> {
    const [summary] = await this.modelContainers(name);
    if (!summary) return undefined;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(summary.Id).inspect();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw dockerFailure(err, `inspect container for ${name}`);
    }
    const labels = info.Config.Labels ?? {};
    return {
      model: name,
      containerName: info.Name.replace(/^\//, ''),
      containerId: info.Id,
      ...(labels[LABELS.bundleId] ? { bundleId: labels[LABELS.bundleId] } : {}),
      ...(labels[LABELS.manifestDigest] ? { manifestDigest: labels[LABELS.manifestDigest] } : {}),
      image: info.Image,
      running: info.State.Running,
      status: info.State.Status,
      ...(info.State.Running ? {} : { exitCode: info.State.ExitCode }),
      ...(info.State.StartedAt ? { startedAt: info.State.StartedAt } : {}),
      restartCount: info.RestartCount,
    };
  }

  private async specFor(target: DeploymentTarget): Promise<Docker.ContainerCreateOptions> {
    const hasRuntimeManifest = await access(path.join(target.path, RUNTIME_MANIFEST)).then(
      () => true,
      () => false,
    );
    return buildContainerSpec(target, this.config, { hasRuntimeManifest });
  }

  /** Start the previous deployment again; any failure becomes its outcome rather than an exception. */
  private async restorePrevious(previous: DeploymentTarget): Promise<DeployOutcome> {
    try {
      const spec = await this.specFor(previous);
      await this.ensureImage(previous.image);
      await this.removeModelContainers(previous.name);
      return await this.startAndWait(previous, spec, {});
    } catch (err) {
      const e = toAirlockError(err);
      return { status: 'failed', code: e.code, message: e.message };
    }
  }

  private async startAndWait(target: DeploymentTarget, spec: Docker.ContainerCreateOptions, hooks: RuntimeHooks): Promise<DeployOutcome> {
    const detail = (extra: Partial<StateDetail> = {}): StateDetail => ({ model: target.name, bundleId: target.bundleId, ...extra });
    let container: Docker.Container | undefined;
    try {
      container = await this.docker.createContainer(spec);
      await container.start();
    } catch (err) {
      const e = dockerFailure(err, `start ${spec.name}`);
      if (e.code === 'DOCKER_UNREACHABLE') throw e;
      const logs = container ? await this.tailLogs(container) : undefined;
      if (container) await this.removeContainer(container.id);
      return { status: 'failed', ...(container ? { containerId: container.id } : {}), code: 'CONTAINER_FAILED', message: e.message, ...(logs ? { logs } : {}) };
    }
    const started = container;
    hooks.onState?.('starting', detail({ containerId: started.id }));
    const result = await waitUntilReady({
      host: probeHost(this.config.publishHost),
      port: this.config.publishPort,
      timeoutMs: this.config.readyTimeoutMs,
      intervalMs: this.config.pollIntervalMs,
      containerProblem: () => this.containerProblem(started),
      onHealth: (answer) => hooks.onHealth?.(answer, detail({ containerId: started.id })),
    });
    const health = result.health ? { health: result.health } : {};
    if (result.outcome === 'ready') {
      hooks.onState?.('ready', detail({ containerId: started.id, ...health }));
      return { status: 'ready', containerId: started.id, ...health };
    }
    const logs = await this.tailLogs(started);
    await this.removeContainer(started.id);
    const code = result.outcome === 'timeout' ? 'NOT_READY' : 'CONTAINER_FAILED';
    return { status: 'failed', containerId: started.id, ...health, code, message: result.message, ...(logs ? { logs } : {}) };
  }

  /** Why the container can no longer become ready (stopped, or restarted by its policy), if so. */
  private async containerProblem(container: Docker.Container): Promise<string | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (err) {
      if (isNotFound(err)) return 'the container was removed';
      throw dockerFailure(err, 'inspect container');
    }
    const s = info.State;
    const oom = s.OOMKilled ? ', out of memory' : '';
    if (s.Restarting || info.RestartCount > 0) return `the container exited with code ${s.ExitCode}${oom} and is being restarted`;
    if (!s.Running) return `the container exited with code ${s.ExitCode}${oom}${s.Error ? `: ${s.Error}` : ''}`;
    return undefined;
  }

  private async tailLogs(container: Docker.Container): Promise<string | undefined> {
    try {
      const buf = (await container.logs({ stdout: true, stderr: true, tail: this.logTail, follow: false })) as unknown as Buffer;
      return demuxLogBuffer(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf))).trimEnd() || undefined;
    } catch {
      return undefined; // logs are a courtesy; the outcome stands without them
    }
  }

  /** Containers airlock made for the model (by label), plus whatever holds the model's container name. */
  private async modelContainers(name: string): Promise<Docker.ContainerInfo[]> {
    const cname = containerName(name);
    try {
      const byLabel = await this.docker.listContainers({ all: true, filters: { label: [`${LABELS.model}=${name}`] } });
      const byName = (await this.docker.listContainers({ all: true, filters: { name: [`^/${cname}$`] } })).filter(
        (c) => !byLabel.some((l) => l.Id === c.Id),
      );
      const foreign = byName.find((c) => c.Labels?.[LABELS.managed] !== 'true');
      if (foreign) {
        throw new AirlockError('CONFLICT', `a container airlock did not create is named ${cname} (${foreign.Id.slice(0, 12)}); remove or rename it`);
      }
      return [...byLabel, ...byName];
    } catch (err) {
      if (isAirlockError(err)) throw err;
      throw dockerFailure(err, `list containers for ${name}`);
    }
  }

  private async removeModelContainers(name: string): Promise<void> {
    for (const c of await this.modelContainers(name)) await this.removeContainer(c.Id);
  }

  private async removeContainer(id: string): Promise<void> {
    const c = this.docker.getContainer(id);
    try {
      await c.stop({ t: this.stopTimeoutSec });
    } catch (err) {
      // 304: already stopped; 404: already gone.
      if (!isNotFound(err) && (err as { statusCode?: number }).statusCode !== 304) throw dockerFailure(err, `stop container ${id.slice(0, 12)}`);
    }
    try {
      await c.remove({ force: true });
    } catch (err) {
      if (!isNotFound(err) && (err as { statusCode?: number }).statusCode !== 409) throw dockerFailure(err, `remove container ${id.slice(0, 12)}`);
    }
  }
}

function pick(o: DeployOutcome): Partial<StateDetail> {
  return {
    ...(o.containerId ? { containerId: o.containerId } : {}),
    ...(o.health ? { health: o.health } : {}),
    ...(o.message ? { message: o.message } : {}),
  };
}
