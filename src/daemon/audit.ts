// Audit events: one per decision. Written as pino JSON lines on stdout (journald), kept in a bounded ring
// for GET /v1/audit, and appended to STORE/daemon/audit.jsonl so they survive restarts. Never carries secrets.
import { promises as fsp } from 'node:fs';
import type { Logger } from 'pino';
import type { EventHub } from '../pipeline/event-hub.js';
import type { AuditEvent, AuditInput } from '../pipeline/audit-events.js';
import { systemClock, type Clock } from '../util/clock.js';

export type { AuditEvent, AuditInput, AuditKind, AuditSigner } from '../pipeline/audit-events.js';

/** Lines read back from audit.jsonl at start-up: enough for the ring, not the whole history. */
const TAIL_BYTES = 4 * 1024 * 1024;

export interface AuditLogOptions {
  file: string;
  logger: Logger;
  hub: EventHub;
  /** events kept in memory for GET /v1/audit */
  capacity: number;
  clock?: Clock;
  /** the trail cannot be kept: `maxFailures` appends in a row failed, or one has not completed in `timeoutMs` */
  onFatal?: (err: unknown) => void;
  maxFailures?: number;
  retryMs?: number;
  timeoutMs?: number;
}

export class AuditLog {
  private readonly ring: AuditEvent[] = [];
  private appending: Promise<void> = Promise.resolve();
  /** lines not in the file yet: a failed append is tried again with them, in order */
  private pending: string[] = [];
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;
  private fatal = false;
  private readonly file: string;
  private readonly logger: Logger;
  private readonly hub: EventHub;
  private readonly capacity: number;
  private readonly clock: Clock;

  constructor(private readonly o: AuditLogOptions) {
    this.file = o.file;
    this.logger = o.logger;
    this.hub = o.hub;
    this.capacity = o.capacity;
    this.clock = o.clock ?? systemClock;
  }

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
    this.logger[auditLevel(event)](
      { audit: event.event, ...withoutAt(event) },
      `audit: ${event.event}${event.name ? ` ${event.name}` : ''}${event.code ? ` ${event.code}` : ''}`,
    );
    this.pending.push(JSON.stringify(event) + '\n');
    this.scheduleAppend();
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

  /** Wait until every event is in the file (or the trail has failed for good). */
  async flush(): Promise<void> {
    if (this.pending.length > 0 && !this.fatal) this.scheduleAppend();
    await this.appending;
  }

  private scheduleAppend(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.appending = this.appending.then(() => this.appendPending());
  }

  // A daemon that cannot keep its audit trail must not linger: a run of failed appends, or one that hangs, is fatal.
  private async appendPending(): Promise<void> {
    if (this.pending.length === 0 || this.fatal) return;
    const n = this.pending.length;
    const timeoutMs = this.o.timeoutMs ?? 60000;
    const hung = setTimeout(() => this.die(new Error(`appending to ${this.file} has not completed within ${timeoutMs / 1000} s`)), timeoutMs);
    hung.unref();
    try {
      await fsp.appendFile(this.file, this.pending.slice(0, n).join(''), { mode: 0o600 });
      this.pending.splice(0, n);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.logger.error({ err }, 'cannot append to the audit file; trying again');
      if (this.failures >= (this.o.maxFailures ?? 3)) return this.die(err);
      this.retry = setTimeout(() => this.scheduleAppend(), this.o.retryMs ?? 1000);
      this.retry.unref();
    } finally {
      clearTimeout(hung);
    }
  }

  private die(err: unknown): void {
    if (this.fatal) return;
    this.fatal = true;
    (this.o.onFatal ?? ((e: unknown) => this.logger.error({ err: e }, 'cannot keep the audit file')))(err);
  }

  private push(e: AuditEvent): void {
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
  }
}

/**
 * The log level of a decision, so journald's priorities (`journalctl -p warning`) and log filters mean something:
 * a bundle refused is a warning, a bundle or container the host could not bring up is an error, an automatic
 * fallback to the previous deployment is a warning; everything else (and an operator's own rollback) is routine.
 */
export function auditLevel(e: Pick<AuditEvent, 'event' | 'actor'>): 'info' | 'warn' | 'error' {
  switch (e.event) {
    case 'rejected':
      return 'warn';
    case 'failed':
    case 'deploy-failed':
      return 'error';
    case 'rolled-back':
      return e.actor === 'api' ? 'info' : 'warn';
    default:
      return 'info';
  }
}

function withoutAt(e: AuditEvent): Omit<AuditEvent, 'at'> {
  const { at: _at, ...rest } = e;
  return rest;
}
