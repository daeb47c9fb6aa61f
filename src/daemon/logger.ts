// pino JSON lines on stdout (journald collects them). Audit events use their own logger so a quieter
// log level never hides a decision. Under systemd each line starts with its syslog priority, `<4>{"level":40,…}`:
// journald reads that prefix off stdout (sd-daemon(3), SyslogLevelPrefix=yes by default), stores the line
// without it at that PRIORITY, so `journalctl -p warning -u airlock` shows warnings and worse.
import { fstatSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export interface Loggers {
  log: Logger;
  audit: Logger;
}

export interface LoggerOptions {
  /** prefix each line with `<N>` (default: when stdout is the journal stream JOURNAL_STREAM names) */
  journal?: boolean;
}

/** pino's numeric level → syslog priority (sd-daemon(3) SD_* prefixes): fatal crit, error err, warn warning, info info, else debug. */
export function syslogPriority(level: number): number {
  if (level >= 60) return 2;
  if (level >= 50) return 3;
  if (level >= 40) return 4;
  if (level >= 30) return 6;
  return 7;
}

/**
 * True when fd 1 is the stream systemd connected to journald: systemd.exec(5) says to compare JOURNAL_STREAM
 * ("device:inode") with the fd, since a child that inherited the variable may have had its stdout redirected.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env, fd = 1): boolean {
  const want = env['JOURNAL_STREAM'];
  if (!want) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return want === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

interface LineSink {
  write(line: string): unknown;
}

/** A destination that puts each pino line's priority in front of it; pino tells the level of each write (pino.metadata). */
export function journalPrefixed(dest: LineSink): LineSink & { lastLevel: number } {
  return {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 30,
    write(line: string) {
      return dest.write(`<${syslogPriority(this.lastLevel)}>${line}`);
    },
  } as LineSink & { lastLevel: number };
}

export function createLoggers(level: string, dest: NodeJS.WritableStream | number = 1, opts: LoggerOptions = {}): Loggers {
  // Synchronous writes: an audit line must not sit in a buffer when the process dies.
  const raw = typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest;
  const journal = opts.journal ?? stdoutIsJournal(process.env, typeof dest === 'number' ? dest : 1);
  // Two loggers on one sink: each line is one write, so the prefix always lands at a line start.
  const stream = journal ? journalPrefixed(raw as LineSink) : raw;
  const base = { service: 'airlock' };
  return {
    log: pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, stream as NodeJS.WritableStream),
    audit: pino({ level: 'info', base: { ...base, kind: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime }, stream as NodeJS.WritableStream),
  };
}
