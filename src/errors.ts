// Typed errors with stable string codes. Codes are part of airlock's interface:
// tests, scripts and the HTTP API rely on them; messages may change.
import { escapeText } from './util/escape-text.js';

/** Every code airlock can report, grouped by area; `ERROR_TABLE` maps each to an exit code and HTTP status. */
export const ERROR_TABLE = {
  // usage and configuration (exit 2)
  USAGE: { exit: 2, http: 400 },
  CONFIG_INVALID: { exit: 2, http: 400 },
  TRUST_INVALID: { exit: 2, http: 400 },
  KEY_INVALID: { exit: 2, http: 400 },
  UNSUPPORTED_KEY: { exit: 2, http: 400 },
  KRL_UNSUPPORTED: { exit: 2, http: 400 },
  PASSPHRASE_REQUIRED: { exit: 2, http: 400 },
  BAD_PASSPHRASE: { exit: 2, http: 400 },
  // the store, or a folder or file a command must write, refuses this user (or is read-only): the message says how out
  STORE_NOT_WRITABLE: { exit: 2, http: 500 },
  NOT_WRITABLE: { exit: 2, http: 500 },
  // pack: SOURCE does not look like the --kind given (a NIM cache packed as a model store, say)
  KIND_MISMATCH: { exit: 2, http: 400 },
  // daemon: the API's address is taken by another process
  ADDRESS_IN_USE: { exit: 2, http: 500 },
  // fetch with GPUs on an engine that has no NVIDIA runtime
  GPU_UNAVAILABLE: { exit: 2, http: 500 },
  // bundle format and integrity (exit 1)
  NOT_A_BUNDLE: { exit: 1, http: 422 },
  MANIFEST_MISSING: { exit: 1, http: 422 },
  MANIFEST_INVALID: { exit: 1, http: 422 },
  MANIFEST_TOO_LARGE: { exit: 1, http: 422 },
  MANIFEST_CHANGED: { exit: 1, http: 422 },
  MANIFEST_NOT_FIRST: { exit: 1, http: 422 },
  BAD_PATH: { exit: 1, http: 422 },
  DUPLICATE_PATH: { exit: 1, http: 422 },
  BAD_SYMLINK: { exit: 1, http: 422 },
  HASH_MISMATCH: { exit: 1, http: 422 },
  SIZE_MISMATCH: { exit: 1, http: 422 },
  MISSING_FILE: { exit: 1, http: 422 },
  UNLISTED_FILE: { exit: 1, http: 422 },
  WRONG_TYPE: { exit: 1, http: 422 },
  PART_MISSING: { exit: 1, http: 422 },
  PART_CORRUPT: { exit: 1, http: 422 },
  PARTS_INVALID: { exit: 1, http: 422 },
  TAR_INVALID: { exit: 1, http: 422 },
  SOURCE_INVALID: { exit: 1, http: 422 },
  // signatures and trust (exit 1)
  SIGNATURE_MALFORMED: { exit: 1, http: 422 },
  SIGNATURE_INVALID: { exit: 1, http: 422 },
  WRONG_NAMESPACE: { exit: 1, http: 422 },
  UNTRUSTED_SIGNER: { exit: 1, http: 422 },
  SIGNER_NOT_VALID_NOW: { exit: 1, http: 422 },
  THRESHOLD_NOT_MET: { exit: 1, http: 422 },
  EXPIRED: { exit: 1, http: 422 },
  NO_SIGNATURES: { exit: 1, http: 422 },
  KEY_REVOKED: { exit: 1, http: 422 },
  NO_USER_PRESENCE: { exit: 1, http: 422 },
  NO_USER_VERIFICATION: { exit: 1, http: 422 },
  // signing through ssh-agent or ssh-keygen (a security key): the agent or the token is missing or said no
  AGENT_UNAVAILABLE: { exit: 2, http: 400 },
  AGENT_KEY_MISSING: { exit: 2, http: 400 },
  SIGNING_FAILED: { exit: 1, http: 500 },
  // trust helper: refuse to overwrite a key file or a different signature under the same label
  KEY_EXISTS: { exit: 2, http: 409 },
  SIGNATURE_EXISTS: { exit: 2, http: 409 },
  // store and install (exit 1)
  ROLLBACK: { exit: 1, http: 409 },
  SEQUENCE_CONFLICT: { exit: 1, http: 409 },
  MISSING_CONTENT: { exit: 1, http: 422 },
  INSUFFICIENT_SPACE: { exit: 1, http: 507 },
  STORE_INVALID: { exit: 1, http: 500 },
  STORE_BUSY: { exit: 1, http: 409 },
  NO_SUCH_DEPLOYMENT: { exit: 1, http: 404 },
  // a files bundle (kind files) asked to run as a container
  NOT_DEPLOYABLE: { exit: 1, http: 409 },
  // store helper: an install stopped by its AbortSignal (staging removed, store unchanged)
  ABORTED: { exit: 1, http: 409 },
  // daemon and API
  NOT_FOUND: { exit: 1, http: 404 },
  BAD_REQUEST: { exit: 2, http: 400 },
  UNAUTHORIZED: { exit: 1, http: 401 },
  CONFLICT: { exit: 1, http: 409 },
  DAEMON_UNREACHABLE: { exit: 1, http: 502 },
  // a request whose Host is not one of the daemon's own names (DNS rebinding)
  MISDIRECTED_HOST: { exit: 1, http: 421 },
  // more event-stream clients than limits.eventClients
  TOO_MANY_CLIENTS: { exit: 1, http: 503 },
  // a bundle step that reported no progress for limits.stallSeconds; the queue moved on
  STALLED: { exit: 1, http: 504 },
  // container runtime
  DOCKER_UNREACHABLE: { exit: 1, http: 502 },
  IMAGE_MISSING: { exit: 1, http: 422 },
  IMAGE_MISMATCH: { exit: 1, http: 422 },
  SECRET_IN_CONFIG: { exit: 2, http: 400 },
  REMOTE_MODEL_PATH: { exit: 1, http: 422 },
  NOT_READY: { exit: 1, http: 503 },
  ROLLED_BACK: { exit: 1, http: 409 },
  CONTAINER_FAILED: { exit: 1, http: 500 },
  // npm run release: the clone or the build machine cannot make a release (tools/release)
  RELEASE_INVALID: { exit: 1, http: 500 },
  // anything unexpected
  IO_ERROR: { exit: 1, http: 500 },
  INTERNAL: { exit: 1, http: 500 },
} as const satisfies Record<string, { exit: 0 | 1 | 2; http: number }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** One problem found in a bundle; verification collects them all rather than stopping at the first. */
export interface Failure {
  code: ErrorCode;
  /** The offending file (bundle-relative) or manifest field, when there is one. */
  path?: string;
  message: string;
}

// Bounded work before trust (TUF's "endless data"): an unsigned drop can yield millions of failures with
// megabyte paths. Every error keeps the first MAX_REPORTED_FAILURES and the total, so every record, state
// file, audit line and API answer built from an AirlockError inherits the bound.
export const MAX_REPORTED_FAILURES = 100;
/** A failure's message or path is cut to this many characters (UTF-16 units), with a marker. */
export const MAX_FAILURE_TEXT = 1024;
/** An error's own message (usage texts included) is cut to this many characters. */
export const MAX_ERROR_MESSAGE = 8192;

/** `s` cut to at most `max` characters, the cut marked and its size said. */
export function capText(s: string, max: number): string {
  if (s.length <= max) return s;
  const marker = `… (${s.length - max} more characters)`;
  return s.slice(0, Math.max(0, max - marker.length)) + marker;
}

/** One failure with its message and path cut to MAX_FAILURE_TEXT. */
export function capFailure(f: Failure): Failure {
  const message = capText(f.message, MAX_FAILURE_TEXT);
  const path = f.path === undefined ? undefined : capText(f.path, MAX_FAILURE_TEXT);
  if (message === f.message && path === f.path) return f;
  return { code: f.code, message, ...(path === undefined ? {} : { path }) };
}

/** The first MAX_REPORTED_FAILURES failures (each capped) and how many there were in all. */
export function capFailures(failures: readonly Failure[], total = failures.length): { failures: Failure[]; failureCount: number } {
  return { failures: failures.slice(0, MAX_REPORTED_FAILURES).map(capFailure), failureCount: Math.max(total, failures.length) };
}

/** Collects failures, keeping the first `max` and counting every one: hostile input can yield millions. */
export class FailureList {
  readonly items: Failure[] = [];
  total = 0;

  constructor(readonly max = MAX_REPORTED_FAILURES) {}

  push(f: Failure): void {
    this.total++;
    if (this.items.length < this.max) this.items.push(f);
  }

  pushAll(fs: Iterable<Failure>): void {
    for (const f of fs) this.push(f);
  }

  /** Take over another capped list or an error's failures, counting what they had left out. */
  absorb(from: { failures: Failure[]; failureCount: number } | FailureList): void {
    const items = from instanceof FailureList ? from.items : from.failures;
    const total = from instanceof FailureList ? from.total : from.failureCount;
    this.pushAll(items);
    this.total += Math.max(0, total - items.length);
  }

  get empty(): boolean {
    return this.total === 0;
  }

  /** The error for these failures (at least one), its message saying how many there were in all. */
  toError(summary?: string): AirlockError {
    return AirlockError.fromFailures(this.items, summary, this.total);
  }
}

export interface AirlockErrorOptions {
  path?: string;
  cause?: unknown;
  failures?: readonly Failure[];
  /** How many failures there were in all, when `failures` is already a capped prefix (default its length). */
  failureCount?: number;
}

export class AirlockError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  /** The offending file or field, when there is one. */
  readonly path: string | undefined;
  /** The first MAX_REPORTED_FAILURES failures found (a rejected bundle); the first is this error's own. */
  readonly failures: Failure[];
  /** How many failures were found in all (at least failures.length). */
  readonly failureCount: number;

  constructor(code: C, message: string, options: AirlockErrorOptions = {}) {
    super(capText(message, MAX_ERROR_MESSAGE), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirlockError';
    this.code = code;
    this.path = options.path === undefined ? undefined : capText(options.path, MAX_FAILURE_TEXT);
    const own: Failure = { code, message, ...(options.path === undefined ? {} : { path: options.path }) };
    const capped = capFailures(options.failures ?? [own], options.failureCount);
    this.failures = capped.failures;
    this.failureCount = capped.failureCount;
  }

  /** An error from collected failures; `total` is their number when `failures` is already a capped prefix. */
  static fromFailures(failures: readonly Failure[], summary?: string, total = failures.length): AirlockError {
    const first = failures[0];
    if (!first) throw new Error('fromFailures needs at least one failure');
    const count = Math.max(total, failures.length);
    const more = count > 1 ? ` (and ${count - 1} more)` : '';
    return new AirlockError(first.code, capText(summary ?? first.message, MAX_FAILURE_TEXT) + more, {
      ...(first.path === undefined ? {} : { path: first.path }),
      failures,
      failureCount: count,
    });
  }

  toJSON(): { code: C; message: string; path?: string; failures: Failure[]; failureCount: number } {
    return {
      code: this.code,
      message: this.message,
      ...(this.path === undefined ? {} : { path: this.path }),
      failures: this.failures,
      failureCount: this.failureCount,
    };
  }
}

export function isAirlockError(err: unknown): err is AirlockError {
  return err instanceof AirlockError;
}

/** Wrap anything thrown into an AirlockError, keeping Node's errno code visible in the message. */
export function toAirlockError(err: unknown): AirlockError {
  if (isAirlockError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.syscall) {
    if (e.code === 'ENOSPC') return new AirlockError('INSUFFICIENT_SPACE', e.message, { cause: err, ...(e.path ? { path: e.path } : {}) });
    return new AirlockError('IO_ERROR', e.message, { cause: err, ...(e.path ? { path: e.path } : {}) });
  }
  return new AirlockError('INTERNAL', e instanceof Error ? e.message : String(err), { cause: err });
}

export function exitCodeFor(code: ErrorCode): 0 | 1 | 2 {
  return ERROR_TABLE[code].exit;
}

export function httpStatusFor(code: ErrorCode): number {
  return ERROR_TABLE[code].http;
}

/**
 * The one line a person sees: `airlock: CODE: message (path)`. Messages carry untrusted names (paths from a
 * bundle, principals, ids), so control characters are escaped: the error stays one line and cannot repaint
 * the terminal.
 */
export function formatErrorLine(err: AirlockError): string {
  const where = err.path && !err.message.includes(err.path) ? ` (${err.path})` : '';
  return escapeText(`airlock: ${err.code}: ${err.message}${where}`);
}
