// Messages between the daemon and its install worker (structured-clone friendly: plain data only).
import type { ErrorCode, Failure } from '../errors.js';
import type { SourceRef } from '../bundle/source.js';
import type { TrustFiles } from '../trust/load-trust.js';
import type { InstallOutcome, InstallProgress } from './ports.js';

export interface WorkerRequest {
  source: SourceRef;
  maxManifestBytes: number;
  store: string;
  /** the worker reads these itself, at the start of its install */
  trust: TrustFiles;
  threshold: number;
  /** earlier deployments kept per model */
  retention: number;
}

export type WorkerMessage =
  | { type: 'progress'; progress: InstallProgress }
  | { type: 'result'; result: InstallOutcome }
  | { type: 'error'; error: { code: ErrorCode; message: string; path?: string; failures: Failure[]; failureCount: number }; aborted: boolean };
