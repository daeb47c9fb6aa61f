// The Runtime on a Docker Engine (dockerode): engine operations only. Which container to start, waiting for it
// to be ready and putting the previous one back are the deploy policy's (src/ops/deploy.ts).
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import { AirlockError } from '../../errors.js';
import type { ContainerSpec, ContainerState, EngineFacts, ImageSpec, RegistryAuthLookup, Runtime } from '../runtime.js';
import { dockerCreateOptions } from './docker-options.js';
import { createDockerClient, describeEndpoint } from './endpoint.js';
import { dockerFailure, engineStatus, isNotFound } from './errors.js';
import { ensureImage, imageId } from './image-store.js';
import { demuxLogBuffer } from './log-frames.js';
import { runOneShot } from './one-shot.js';

export interface DockerRuntimeOptions {
  /** Seconds `docker stop` waits for a graceful exit before killing. */
  stopTimeoutSec?: number;
  /** How the endpoint is named in messages and doctor. */
  endpoint?: string;
  /** credentials for pulling images by digest from a configured registry */
  registryAuth?: RegistryAuthLookup;
}

export class DockerRuntime implements Runtime {
  readonly kind = 'docker';
  private readonly stopTimeoutSec: number;

  constructor(
    private readonly docker: Docker,
    private readonly options: DockerRuntimeOptions = {},
  ) {
    this.stopTimeoutSec = options.stopTimeoutSec ?? 30;
  }

  /** The engine named by DOCKER_HOST in `env`, like the docker CLI. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: DockerRuntimeOptions = {}): DockerRuntime {
    return new DockerRuntime(createDockerClient(env), { endpoint: describeEndpoint(env), ...options });
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      const e = dockerFailure(err, 'ping');
      throw e.code === 'DOCKER_UNREACHABLE' ? e : new AirlockError('DOCKER_UNREACHABLE', e.message, { cause: err });
    }
  }

  async describe(): Promise<EngineFacts> {
    const endpoint = this.options.endpoint ?? 'docker';
    try {
      await withTimeout(this.docker.ping(), 10_000);
      const info = (await withTimeout(this.docker.info(), 10_000)) as { ServerVersion?: string; Runtimes?: Record<string, unknown> };
      return {
        endpoint,
        reachable: true,
        runtimes: Object.keys(info.Runtimes ?? {}),
        ...(info.ServerVersion ? { version: info.ServerVersion } : {}),
      };
    } catch (err) {
      return { endpoint, reachable: false, runtimes: [], error: (err as Error).message };
    }
  }

  imageId(nameOrId: string): Promise<string | undefined> {
    return imageId(this.docker, nameOrId);
  }

  ensureImage(image: ImageSpec): Promise<{ loaded: boolean }> {
    return ensureImage(this.docker, image, this.options.registryAuth);
  }

  async saveImage(ref: string, file: string): Promise<string> {
    const id = await imageId(this.docker, ref);
    if (id === undefined)
      throw new AirlockError('IMAGE_MISSING', `the engine has no image ${ref}; pull it first (docker pull ${ref})`, { path: ref });
    try {
      await pipeline(await this.docker.getImage(ref).get(), createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
      throw dockerFailure(err, `save image ${ref}`, 'IMAGE_MISSING');
    }
    return id;
  }

  async create(spec: ContainerSpec): Promise<string> {
    try {
      return (await this.docker.createContainer(dockerCreateOptions(spec))).id;
    } catch (err) {
      throw dockerFailure(err, `create ${spec.name ?? 'container'}`);
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      throw dockerFailure(err, `start container ${id.slice(0, 12)}`);
    }
  }

  async inspect(id: string): Promise<ContainerState | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw dockerFailure(err, `inspect container ${id.slice(0, 12)}`);
    }
    const s = info.State;
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      labels: info.Config.Labels ?? {},
      image: info.Image,
      running: s.Running,
      restarting: s.Restarting,
      status: s.Status,
      exitCode: s.ExitCode,
      oomKilled: s.OOMKilled,
      ...(s.Error ? { error: s.Error } : {}),
      ...(s.StartedAt ? { startedAt: s.StartedAt } : {}),
      restartCount: info.RestartCount,
      publishedPorts: Object.values(info.HostConfig.PortBindings ?? {})
        .flat()
        .map((b) => Number((b as { HostPort?: string } | null)?.HostPort))
        .filter((n) => Number.isInteger(n) && n > 0),
    };
  }

  async logs(id: string, tail: number): Promise<string | undefined> {
    try {
      const buf = (await this.docker.getContainer(id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
      return demuxLogBuffer(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf))).trimEnd() || undefined;
    } catch {
      return undefined; // logs are a courtesy; callers go on without them
    }
  }

  async remove(id: string): Promise<void> {
    const c = this.docker.getContainer(id);
    try {
      await c.stop({ t: this.stopTimeoutSec });
    } catch (err) {
      // 304: already stopped; 404: already gone.
      if (!isNotFound(err) && engineStatus(err) !== 304) throw dockerFailure(err, `stop container ${id.slice(0, 12)}`);
    }
    try {
      await c.remove({ force: true });
    } catch (err) {
      if (!isNotFound(err) && engineStatus(err) !== 409) throw dockerFailure(err, `remove container ${id.slice(0, 12)}`);
    }
  }

  async list(filter: { labels: Record<string, string> } | { name: string }): Promise<ContainerState[]> {
    const filters: Record<string, string[]> =
      'labels' in filter ? { label: Object.entries(filter.labels).map(([k, v]) => `${k}=${v}`) } : { name: [`^/${escapeRegExp(filter.name)}$`] };
    let found: Docker.ContainerInfo[];
    try {
      found = await this.docker.listContainers({ all: true, filters });
    } catch (err) {
      throw dockerFailure(err, 'list containers');
    }
    const states: ContainerState[] = [];
    for (const c of found) {
      const s = await this.inspect(c.Id);
      if (s) states.push(s);
    }
    return states;
  }

  runToCompletion(spec: ContainerSpec, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, signal?: AbortSignal): Promise<number> {
    return runOneShot(this.docker, spec, stdout, stderr, signal ? { signal } : {});
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
