// Audit events: one per decision. Written as pino JSON lines on stdout (journald), kept in a bounded ring
// for GET /v1/audit, and appended to STORE/daemon/audit.jsonl so they survive restarts. Never carries secrets.
import { promises as fsp } from 'node:fs';
import type { Logger } from 'pino';
import type { ErrorCode, Failure } from '../errors.js';
import type { EventHub } from './event-hub.js';

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
  | 'gone';

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
  failures?: Failure[];
  /** who asked, for API-triggered decisions */
  actor?: 'api';
  containerId?: string;
}

export type AuditInput = Omit<AuditEvent, 'at'>;

/** Lines read back from audit.jsonl at start-up: enough for the ring, not the whole history. */
const TAIL_BYTES = 4 * 1024 * 1024;

export class AuditLog {
  private readonly ring: AuditEvent[] = [];
  private appending: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
    private readonly hub: EventHub,
    private readonly capacity: number,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Load the most recent events from the file (newest kept). */
  async load(): Promise<void> {
    let text: string;
    try {
      const fh = await fsp.open(this.file, 'r');
      try {
        const { size } = await fh.stat();
        const start = Math.max(0, size - TAIL_BYTES);
        const buf = Buffer.alloc(size - start);
        await fh.read(buf, 0, buf.length, start);
        text = buf.toString('utf8');
        if (start > 0) text = text.slice(text.indexOf('\n') + 1);
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        this.push(JSON.parse(line) as AuditEvent);
      } catch {
        // a line torn by a crash mid-append is skipped; the rest of the file is intact
      }
    }
  }

  record(input: AuditInput): AuditEvent {
    const event: AuditEvent = { at: this.clock().toISOString(), ...input };
    this.push(event);
    this.logger.info({ audit: event.event, ...withoutAt(event) }, `audit: ${event.event}${event.name ? ` ${event.name}` : ''}${event.code ? ` ${event.code}` : ''}`);
    const line = JSON.stringify(event) + '\n';
    this.appending = this.appending
      .then(() => fsp.appendFile(this.file, line, { mode: 0o600 }))
      .catch((err: unknown) => this.logger.error({ err }, 'cannot append to the audit file'));
    this.hub.publish({ event: 'audit', data: event });
    return event;
  }

  /** Newest first. */
  recent(limit = this.capacity, recordId?: string): AuditEvent[] {
    const out: AuditEvent[] = [];
    for (let i = this.ring.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.ring[i]!;
      if (recordId === undefined || e.recordId === recordId) out.push(e);
    }
    return out;
  }

  async flush(): Promise<void> {
    await this.appending;
  }

  private push(e: AuditEvent): void {
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
  }
}

function withoutAt(e: AuditEvent): Omit<AuditEvent, 'at'> {
  const { at: _at, ...rest } = e;
  return rest;
}
