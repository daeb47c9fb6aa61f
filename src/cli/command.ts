// What every CLI command module exports, and the small helpers they share.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AirlockError } from '../errors.js';
import { escapeText } from '../util/escape-text.js';

/** The process pieces a command may touch; tests pass their own. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CommandModule {
  /** One line for `airlock help`. */
  summary: string;
  /** Full usage text for `airlock help CMD` and usage errors. */
  usage: string;
  /** Throw AirlockError on failure; return the exit code (0 unless the command reports a soft failure). */
  run(argv: string[], io: CliIO): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with airlock's conventions: strict, positionals allowed, usage errors as code USAGE. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new AirlockError('USAGE', `${(err as Error).message}\n${usage}`, { cause: err });
  }
}

export function requireOption<V>(value: V | undefined, flag: string, usage: string): V {
  if (value === undefined || value === '') throw new AirlockError('USAGE', `missing ${flag}\n${usage}`, { path: flag });
  return value;
}

export function onePositional(positionals: string[], what: string, usage: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new AirlockError('USAGE', `expected exactly one ${what}\n${usage}`);
  }
  return positionals[0];
}

export function parseIntegerOption(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new AirlockError('USAGE', `${flag} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`, { path: flag });
  }
  return Number(value);
}

export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * A human-readable report, one element per line, each escaped (util/escape-text.ts): names from bundles, stores
 * and trust files cannot break a line or reach the terminal as control sequences. Defaults to stdout.
 */
export function writeLines(io: CliIO, lines: string[], to: 'stdout' | 'stderr' = 'stdout'): void {
  io[to].write(lines.map(escapeText).join('\n') + '\n');
}
