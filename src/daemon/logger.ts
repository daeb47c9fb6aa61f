// pino JSON lines on stdout (journald collects them). Audit events use their own logger so a quieter
// log level never hides a decision.
import { pino, type Logger } from 'pino';

export interface Loggers {
  log: Logger;
  audit: Logger;
}

export function createLoggers(level: string, dest: NodeJS.WritableStream | number = 1): Loggers {
  // Synchronous writes: an audit line must not sit in a buffer when the process dies.
  const stream = typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest;
  const base = { service: 'airlock' };
  return {
    log: pino({ level, base, timestamp: pino.stdTimeFunctions.isoTime }, stream),
    audit: pino({ level: 'info', base: { ...base, kind: 'audit' }, timestamp: pino.stdTimeFunctions.isoTime }, stream),
  };
}
