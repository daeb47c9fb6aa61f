// What the API (and the status page plugin) may see and do: a narrow view of the running daemon.
import type { FastifyInstance } from 'fastify';
import type { AuditEvent } from '../pipeline/audit-events.js';
import type { EventHub } from '../pipeline/event-hub.js';
import type { DeploymentInfo } from '../pipeline/deployment-types.js';
import type { BundleRecord, DeployState } from '../pipeline/types.js';

export interface WatchedRootView {
  /** as configured */
  path: string;
  /** the folder watched, when `path` is a symlink (resolved once at start-up) */
  realPath?: string;
  kind: 'drop' | 'media';
  depth: number;
  watching: boolean;
}

/** One registry subscription as the API shows it (src/daemon/registry-feed.ts keeps it). */
export interface RegistryView {
  url: string;
  repository: string;
  channel: string;
  pollSeconds: number;
  tag?: string;
  digest?: string;
  recordId?: string;
  lastPollAt?: string;
  lastSuccessAt?: string;
  nextPollAt?: string;
  error?: { code: string; message: string };
}

export interface ModelView {
  name: string;
  current?: DeploymentInfo;
  kept: DeploymentInfo[];
  runtime?: DeployState;
}

export interface DaemonView {
  version: string;
  startedAt: Date;
  config: {
    source: string;
    demoTrust: boolean;
    store: string;
    runtime: string;
    quietPeriodMs: number;
    arrival?: {
      verifyWhileArriving: boolean;
      settleMs: number;
      keepStagedSeconds: number;
      parts: { abandonAfterHours: number; maxBundles: number };
    };
  };
  watched(): WatchedRootView[];
  /** the registry subscriptions: what each last found, and why its last look failed */
  registries?(): RegistryView[];
  bundles(): BundleRecord[];
  bundle(id: string): BundleRecord | undefined;
  queue(): { verifying?: string; queued: string[] };
  models(): Promise<ModelView[]>;
  audit(limit?: number, recordId?: string): AuditEvent[];
  metricsText(): Promise<string>;
  /** Mutations: the API checks the bearer token before calling these. */
  retry(id: string): BundleRecord;
  rollback(name: string, to?: string): Promise<{ deployment: DeploymentInfo; runtime?: DeployState }>;
  hub: EventHub;
  /** an event-stream client was dropped for not reading (metrics) */
  eventClientDropped(): void;
}

/** An extra fastify plugin the daemon registers (the status page at `/`: src/api/ui/index.ts exports `registerUi`). */
export type ApiExtension = (app: FastifyInstance, view: DaemonView) => Promise<void>;
