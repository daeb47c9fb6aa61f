// What every CLI command module exports, and the small helpers they share. A command is data (its spec) plus a
// run function: help, parsing, reference pages, man pages and shell completion are all generated from the spec.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AirlockError } from '../errors.js';
import { escapeText } from '../util/escape-text.js';

/** The process pieces a command may touch; tests pass their own. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** What a value is completed with in a shell: a file, a folder, or nothing (free text). Choices complete themselves. */
export type Completion = 'file' | 'dir' | 'none';

/** Help sections options are listed under, in this order. */
export const OPTION_GROUPS = ['Options', 'Trust', 'Signing', 'Store', 'Daemon', 'Limits', 'Output'] as const;
export type OptionGroup = (typeof OPTION_GROUPS)[number];

export interface OptionSpec {
  /** `--name`; the parsed value is keyed by `name`. */
  readonly flag: `--${string}`;
  /** `-x`, for the few options typed often. */
  readonly short?: `-${string}`;
  /** The value's name in help (`FILE`); absent for a switch. */
  readonly value?: string;
  readonly repeatable?: boolean;
  readonly required?: boolean;
  /** The only values accepted (checked while parsing, offered by completion). */
  readonly choices?: readonly string[];
  readonly complete?: Completion;
  /** One or a few sentences; the first is what a short listing shows. */
  readonly description: string;
  readonly group?: OptionGroup;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly optional?: boolean;
  readonly choices?: readonly string[];
  readonly complete?: Completion;
}

export interface CommandSpec {
  readonly name: string;
  /** One line, lower case, for `airlock help` and the man page's NAME. */
  readonly summary: string;
  /** Usage forms after `airlock NAME`; generated from the positionals and required options when absent. */
  readonly synopsis?: readonly string[];
  /** Paragraphs. */
  readonly description: readonly string[];
  readonly positionals: readonly PositionalSpec[];
  readonly options: readonly OptionSpec[];
  /** The schema/NAME.schema.json `--json` prints. */
  readonly jsonSchema?: string;
  readonly exitStatus?: string;
  readonly environment?: ReadonlyArray<{ readonly name: string; readonly description: string }>;
  readonly examples?: ReadonlyArray<{ readonly description: string; readonly command: string }>;
  readonly seeAlso?: readonly string[];
}

/** Keeps the spec's literal types, so `ParsedArgs<typeof spec>` knows every option. */
export function defineCommand<const S extends CommandSpec>(spec: S): S {
  return spec;
}

type OptionKey<O> = O extends { flag: `--${infer N}` } ? N : never;
/** An option with choices has their union as its type. */
type Scalar<O> = O extends { choices: readonly (infer C extends string)[] } ? C : string;
type OptionValue<O> = O extends { value: string }
  ? O extends { repeatable: true }
    ? Scalar<O>[]
    : O extends { required: true }
      ? Scalar<O>
      : Scalar<O> | undefined
  : boolean;
type PositionalValue<P> = P extends { optional: true } ? string | undefined : string;

export type OptionValues<Os extends readonly OptionSpec[]> = { [O in Os[number] as OptionKey<O>]: OptionValue<O> };
export type PositionalValues<Ps extends readonly PositionalSpec[]> = { [P in Ps[number] as P['name']]: PositionalValue<P> };

export interface ParsedArgs<S extends CommandSpec = CommandSpec> {
  values: OptionValues<S['options']>;
  positionals: PositionalValues<S['positionals']>;
}

export interface CommandModule<S extends CommandSpec = CommandSpec> {
  spec: S;
  /** Throw AirlockError on failure; return the exit code (0 unless the command reports a soft failure). */
  run(args: ParsedArgs<S>, io: CliIO): Promise<number>;
}

/** The long name an option's value is keyed by. */
export function optionKey(o: Pick<OptionSpec, 'flag'>): string {
  return o.flag.slice(2);
}

/** `--trust ALLOWED_SIGNERS`, `--json`. */
export function optionLabel(o: Pick<OptionSpec, 'flag' | 'value'>): string {
  return o.value ? `${o.flag} ${o.value}` : o.flag;
}

/**
 * node:util parseArgs with airlock's conventions (strict, usage errors as USAGE), for tools outside the CLI
 * (npm run release) whose options are not a command spec.
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new AirlockError('USAGE', `${(err as Error).message}\n${usage}`, { cause: err });
  }
}

export function parseIntegerOption(value: string | undefined, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max || !Number.isSafeInteger(Number(value))) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new AirlockError('USAGE', `${flag} must be an integer ${range}, got ${JSON.stringify(value)}`, { path: flag });
  }
  return Number(value);
}

const wroteJson = new WeakSet<CliIO>();

/** The command's one JSON document on stdout. */
export function writeJson(io: CliIO, value: unknown): void {
  wroteJson.add(io);
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Whether the command printed its JSON document (main then prints no error document of its own). */
export function jsonWritten(io: CliIO): boolean {
  return wroteJson.has(io);
}

/**
 * A human-readable report, one element per line, each escaped (util/escape-text.ts): names from bundles, stores
 * and trust files cannot break a line or reach the terminal as control sequences. Defaults to stdout. `decorate`
 * (colour) sees each line after escaping, so its own sequences are the only ones that reach the terminal.
 */
export function writeLines(io: CliIO, lines: string[], to: 'stdout' | 'stderr' = 'stdout', decorate?: (escaped: string) => string): void {
  const escaped = lines.map(escapeText);
  io[to].write((decorate ? escaped.map(decorate) : escaped).join('\n') + '\n');
}
