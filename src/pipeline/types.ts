// The daemon's view of one dropped bundle, as kept in its state file and answered by the API.
import type { SourceRef } from '../bundle/source.js';
import type { ErrorCode, Failure } from '../errors.js';
import type { SignerReport, TrustReport } from '../trust/policy.js';
import type { ArrivalProgress } from '../watcher/arrival.js';
import type { BundleForm } from '../watcher/candidates.js';

/**
 * arriving → queued → verifying → installed → deploying → ready, or rejected / failed / duplicate.
 * `queued` is a complete bundle waiting for its turn: one bundle verifies at a time.
 * `duplicate`: signatures checked, but its manifest is that of a bundle already installed, so its payload was
 * never read and nothing of it is used. Its bytes may differ from what is installed: it is not "verified".
 */
export type BundleState = 'arriving' | 'queued' | 'verifying' | 'installed' | 'deploying' | 'ready' | 'rejected' | 'failed' | 'duplicate';

export const TERMINAL_STATES: ReadonlySet<BundleState> = new Set(['installed', 'ready', 'rejected', 'failed', 'duplicate']);

/** The installed bundle a `duplicate` drop repeats (same manifest digest), as far as the daemon knows it. */
export interface DuplicateOf {
  bundleId: string;
  /** the record (and drop) this daemon installed it from, when it remembers one */
  recordId?: string;
  location?: string;
  /** when that install happened */
  installedAt?: string;
  /** the deployment directory in the store, when the store was asked */
  path?: string;
}

export interface VerificationProgress {
  phase?: 'signatures' | 'payload' | 'activating';
  bytesDone: number;
  bytesTotal: number;
  /** bytes per second over the verification so far */
  rate?: number;
  startedAt?: string;
  durationMs?: number;
}

export interface BundleError {
  code: ErrorCode;
  message: string;
  path?: string;
  /** the first MAX_REPORTED_FAILURES (src/errors.ts) */
  failures: Failure[];
  /** how many failures there were in all (absent in records written before the cap) */
  failureCount?: number;
}

/** A trust report as the daemon keeps it: at most MAX_REPORTED_FAILURES signers and failures, with totals when cut. */
export type BoundedTrustReport = TrustReport & { signerCount?: number; failureCount?: number };

/** What a container deployment reached; filled by the Deployer (runtime), absent with runtime kind none. */
export interface DeployState {
  state: 'starting' | 'ready' | 'failed' | 'rolled-back';
  containerId?: string;
  /** the last health answer, e.g. "200 /v1/health/ready" */
  health?: string;
  code?: ErrorCode;
  message?: string;
  updatedAt?: string;
}

export interface BundleRecord {
  /** stable record id derived from the drop location */
  id: string;
  location: string;
  /** where the bundle is read from (a drop on disk: kind fs, confined below its watched root; or a registry) */
  source?: SourceRef;
  /** how it lies in its drop, or `registry` for a bundle a registry subscription found */
  form: BundleForm | 'registry';
  /** found on removable media (never modified) */
  media: boolean;
  state: BundleState;
  /** the manifest's bundle id, once read */
  bundleId?: string;
  name?: string;
  kind?: string;
  channel?: string;
  sequence?: number;
  manifestDigest?: string;
  arrival: ArrivalProgress;
  verification: VerificationProgress;
  /** signers as last evaluated: from the install on success, from the manifest's signatures otherwise */
  signers?: SignerReport[];
  /** how many signatures there were when `signers` lists only the first MAX_REPORTED_FAILURES */
  signerCount?: number;
  trust?: BoundedTrustReport;
  error?: BundleError;
  install?: { status: 'installed' | 'already-installed'; path: string; bytesVerified: number; bytesPrestaged?: number; durationMs: number };
  deployment?: DeployState;
  /** state duplicate: the installed bundle with the same manifest digest */
  duplicateOf?: DuplicateOf;
  /** why nothing was done, e.g. the same manifest digest was installed from elsewhere */
  note?: string;
  /** removed from its drop folder after install (removeAfterInstall) */
  removed?: boolean;
  /** fingerprint (sizes + mtimes) of the content last handed on */
  fingerprint?: string;
  detectedAt: string;
  updatedAt: string;
}

/** Outcome remembered per manifest digest, for idempotence across restarts. */
export interface ProcessedEntry {
  outcome: 'installed' | 'rejected';
  /** outcome rejected: the code it was rejected with (absent in entries written before it was kept) */
  code?: ErrorCode;
  recordId: string;
  location: string;
  fingerprint: string;
  at: string;
}
