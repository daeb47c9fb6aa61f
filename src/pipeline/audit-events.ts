// The audit trail's vocabulary: one event per decision the pipeline, the deploy step and the API make.
// Types only; the daemon's AuditLog (src/daemon/audit.ts) writes them to journald, a ring and audit.jsonl.
import type { ErrorCode, Failure } from '../errors.js';

export type AuditKind =
  | 'detected'
  | 'accepted'
  | 'rejected'
  | 'installed'
  | 'failed'
  | 'duplicate'
  | 'deployed'
  | 'deploy-failed'
  | 'rolled-back'
  | 'removed'
  | 'retry'
  | 'gone'
  // a part of a split bundle verified against its signed index and kept in the spool, or a copy of one refused (src/spool/)
  | 'part-spooled'
  | 'part-rejected';

export interface AuditSigner {
  principals: string[];
  fingerprint?: string;
  status: string;
}

export interface AuditEvent {
  /** ISO time of the decision */
  at: string;
  event: AuditKind;
  recordId?: string;
  bundleId?: string;
  name?: string;
  channel?: string;
  sequence?: number;
  manifestDigest?: string;
  location?: string;
  signers?: AuditSigner[];
  code?: ErrorCode;
  message?: string;
  /** the first MAX_REPORTED_FAILURES (src/errors.ts) */
  failures?: Failure[];
  /** how many failures there were in all */
  failureCount?: number;
  /** who asked: an API call, or a registry subscription retrying after a failure */
  actor?: 'api' | 'registry';
  containerId?: string;
}

export type AuditInput = Omit<AuditEvent, 'at'>;
