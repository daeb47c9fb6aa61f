// Messages between the daemon and its install worker (structured-clone friendly: plain data only).
import type { ErrorCode, Failure } from '../errors.js';
import type { SourceRef } from '../bundle/source.js';
import type { TrustFiles } from '../trust/load-trust.js';
import type { InstallOutcome, InstallProgress } from './ports.js';

/**
 * ROLLBACK's advice in the daemon, which has no --allow-downgrade: what an operator can really do
 * (install in-process and in the install worker alike).
 */
export const DAEMON_DOWNGRADE_HINT =
  'the daemon never installs a lower sequence. To serve an earlier version kept in the store, roll back to it ' +
  '(the status page, POST /v1/deployments/NAME/rollback, or airlock rollback NAME --store STORE); ' +
  'to install this bundle anyway, run airlock install BUNDLE --store STORE --trust FILE --allow-downgrade on this host';

export interface WorkerRequest {
  source: SourceRef;
  maxManifestBytes: number;
  store: string;
  /** the worker reads these itself, at the start of its install */
  trust: TrustFiles;
  threshold: number;
  /** earlier deployments kept per model */
  retention: number;
  /** the daemon's clock when it asked (expiry, key validity, the install's time in the store) */
  now: Date;
}

export type WorkerMessage =
  | { type: 'progress'; progress: InstallProgress }
  | { type: 'result'; result: InstallOutcome }
  | { type: 'error'; error: { code: ErrorCode; message: string; path?: string; failures: Failure[]; failureCount: number }; aborted: boolean };
