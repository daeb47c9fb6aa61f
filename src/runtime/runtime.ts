// The narrow container-runtime interface the pipeline uses. Docker is one adapter (docker-runtime.ts);
// nothing outside src/runtime imports dockerode.
import type { ErrorCode } from '../errors.js';
import type { DeployableKind } from '../format/manifest.js';

/** An installed deployment, as the runtime needs it. */
export interface DeploymentTarget {
  /** The model (bundle) name: one container per name. */
  name: string;
  bundleId: string;
  /** sha256 hex of the bundle's airlock.json: the deployment's identity. */
  manifestDigest: string;
  kind: DeployableKind;
  /** Absolute path of the deployment directory (immutable store content). */
  path: string;
  profiles: { id: string; name?: string }[];
  servedModelName?: string;
  /** A model-free NIM's NIM_MODEL_PATH from the manifest (a remote URI such as ngc://…). */
  modelPath?: string;
  image: ImageSpec;
}

/** A container image as the manifest names it; `archivePath` is the bundle's `docker save` archive in the store. */
export interface ImageSpec {
  ref: string;
  /** `sha256:<hex>` as `docker image inspect` reports it. */
  id: string;
  archivePath?: string;
}

export type DeployState = 'starting' | 'ready' | 'failed' | 'rolled-back';

/** One health request and what came back (or why nothing did). */
export interface HealthAnswer {
  endpoint: string;
  at: string;
  status?: number;
  /** The start of the body (health answers are short JSON). */
  body?: string;
  error?: string;
}

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

export interface RuntimeHooks {
  onState?(state: DeployState, detail: StateDetail): void;
  /** Every health answer while waiting, for a live status view. */
  onHealth?(answer: HealthAnswer, detail: StateDetail): void;
}

/** What the engine says about a model's container. */
export interface ContainerState {
  model: string;
  containerName: string;
  containerId: string;
  bundleId?: string;
  manifestDigest?: string;
  /** The image ID the container runs. */
  image: string;
  running: boolean;
  /** Docker's state word: created, running, restarting, exited, … */
  status: string;
  exitCode?: number;
  startedAt?: string;
  restartCount: number;
}

export interface Runtime {
  /** Make the image available by its ID: reuse it, or load its archive and check the ID (IMAGE_MISMATCH). */
  ensureImage(image: ImageSpec): Promise<{ loaded: boolean }>;
  /**
   * Replace the model's container with one for `target` and wait until it is ready; when it is not,
   * restart `previous` and report both. Throws (touching nothing) when the target cannot be deployed at all:
   * SECRET_IN_CONFIG, REMOTE_MODEL_PATH, CONFIG_INVALID, IMAGE_MISSING, IMAGE_MISMATCH, DOCKER_UNREACHABLE.
   */
  replace(target: DeploymentTarget, previous?: DeploymentTarget, hooks?: RuntimeHooks): Promise<DeployOutcome>;
  /** Stop and remove the model's container; false when there was none. */
  stop(name: string): Promise<boolean>;
  inspect(name: string): Promise<ContainerState | undefined>;
  /** Throws DOCKER_UNREACHABLE when the engine does not answer. */
  ping(): Promise<void>;
}
