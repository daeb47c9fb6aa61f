// The container runtime seam: engine operations only, in a vocabulary of airlock's own (no Docker types).
// Policy (which deployment to start, waiting for health, putting the previous one back, where the store's
// current pointer goes) lives in src/ops/deploy.ts, written once for every runtime. Docker is one adapter
// (runtime/docker/); a Podman or Kubernetes adapter implements this interface and nothing else.
import type { ErrorCode } from '../errors.js';
import type { DeployableKind, RuntimeHints } from '../format/manifest.js';

export type { RuntimeHints } from '../format/manifest.js';

/** An installed deployment, as the runtime needs it. */
export interface DeploymentTarget {
  /** The model (bundle) name: one container per name. */
  name: string;
  bundleId: string;
  /** sha256 hex of the bundle's airlock.json: the deployment's identity. */
  manifestDigest: string;
  /** Absolute path of the deployment directory (immutable store content). */
  path: string;
  /** what the tree is: it decides where the container mounts it */
  kind: DeployableKind;
  /** the manifest's hints (profiles, served name, model path), as the store recorded them */
  hints: RuntimeHints;
  image: ImageSpec;
}

/** A container image as the manifest names it; `archivePath` is the bundle's `docker save` archive in the store. */
export interface ImageSpec {
  ref: string;
  /** `sha256:<hex>` as `docker image inspect` reports it. */
  id: string;
  archivePath?: string;
}

export type GpuRequest = 'all' | 'none' | string[];
export type RestartPolicyName = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface MountSpec {
  /** absolute host path */
  source: string;
  target: string;
  readOnly: boolean;
}

/** A container to create, in no engine's vocabulary. */
export interface ContainerSpec {
  name?: string;
  /** an image ID (deployments: never a tag) or, for one-shot connected-side runs, a reference */
  image: string;
  command?: string[];
  /** NAME=value, in order */
  env: string[];
  user: string;
  mounts: MountSpec[];
  ports: Array<{ containerPort: number; hostIp: string; hostPort: number }>;
  shmBytes?: number;
  restart: RestartPolicyName;
  gpus: GpuRequest;
  labels: Record<string, string>;
  /** `host:address` lines, e.g. host.docker.internal:host-gateway */
  extraHosts?: string[];
}

/** What the engine says about one container. */
export interface ContainerState {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** the image ID the container runs */
  image: string;
  running: boolean;
  restarting: boolean;
  /** the engine's state word: created, running, restarting, exited, … */
  status: string;
  exitCode?: number;
  oomKilled: boolean;
  error?: string;
  startedAt?: string;
  restartCount: number;
  /** host ports the container publishes */
  publishedPorts: number[];
}

/** One health request and what came back (or why nothing did). */
export interface HealthAnswer {
  endpoint: string;
  at: string;
  status?: number;
  /** The start of the body (health answers are short JSON). */
  body?: string;
  error?: string;
}

/** What doctor reports about the engine. */
export interface EngineFacts {
  endpoint: string;
  reachable: boolean;
  version?: string;
  /** container runtimes the engine offers (nvidia among them on a GPU host) */
  runtimes: string[];
  error?: string;
}

export interface Runtime {
  /** The adapter's name, e.g. "docker". */
  readonly kind: string;
  /** Throws DOCKER_UNREACHABLE (the engine's code) when the engine does not answer. */
  ping(): Promise<void>;
  describe(): Promise<EngineFacts>;
  /** The image's ID when the engine has `nameOrId`, else undefined. */
  imageId(nameOrId: string): Promise<string | undefined>;
  /** Make the image available by its ID: reuse it, or load its archive and check the ID (IMAGE_MISMATCH). */
  ensureImage(image: ImageSpec): Promise<{ loaded: boolean }>;
  /** Write the image's archive (`docker save`) to `file`; returns its ID. */
  saveImage(ref: string, file: string): Promise<string>;
  /** Create (not start) a container; returns its id. */
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  /** undefined when there is no such container */
  inspect(id: string): Promise<ContainerState | undefined>;
  /** The last `tail` lines of output, undefined when there are none to be had. */
  logs(id: string, tail: number): Promise<string | undefined>;
  /** Stop gracefully (then kill) and remove; a container already gone is no error. */
  remove(id: string): Promise<void>;
  /** Containers carrying every one of `labels`, or holding the name `name`. */
  list(filter: { labels: Record<string, string> } | { name: string }): Promise<ContainerState[]>;
  /** Run to completion with output streamed, then remove (`docker run --rm`); returns the exit code. */
  runToCompletion(spec: ContainerSpec, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, signal?: AbortSignal): Promise<number>;
}

/** Why a deployment could not be replaced, the codes the deploy policy reports. */
export type DeployFailureCode = Extract<ErrorCode, 'NOT_READY' | 'CONTAINER_FAILED' | 'ROLLED_BACK'>;
