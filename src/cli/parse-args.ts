// A command line read strictly against its command's spec. Pure: every problem is one USAGE error that says what
// was wrong and what was probably meant; every missing argument and required option is named at once.
import { AirlockError } from '../errors.js';
import { optionKey, optionLabel, type CommandSpec, type OptionSpec, type ParsedArgs } from './command.js';
import { didYouMean } from './suggest.js';

export function parseCommandLine<S extends CommandSpec>(spec: S, argv: readonly string[]): ParsedArgs<S> {
  const byFlag = new Map(spec.options.map((o) => [o.flag, o]));
  const byShort = new Map(spec.options.filter((o) => o.short).map((o) => [o.short!, o]));
  const values: Record<string, string | string[] | boolean> = {};
  const seen = new Set<OptionSpec>();
  const words: string[] = [];

  const store = (o: OptionSpec, value: string | undefined, shownAs: string) => {
    if (o.value === undefined) {
      if (value !== undefined) usage(`${o.flag} takes no value (got ${shownAs}=${value})`, o.flag);
      values[optionKey(o)] = true;
      return;
    }
    if (value === undefined) usage(`${shownAs} needs a value: ${optionLabel(o)}`, o.flag);
    if (o.choices && !o.choices.includes(value)) {
      usage(`${o.flag} must be one of ${o.choices.join(', ')}, not ${JSON.stringify(value)}${didYouMean(value, o.choices)}`, o.flag);
    }
    if (o.repeatable) ((values[optionKey(o)] ??= []) as string[]).push(value);
    else if (seen.has(o)) usage(`${o.flag} given twice; it takes one value`, o.flag);
    else values[optionKey(o)] = value;
    seen.add(o);
  };
  // The next word as a value, unless it is plainly another option (`--trust --json` forgot the file).
  const valueAfter = (i: number): string | undefined => {
    const next = argv[i];
    if (next === undefined) return undefined;
    if (next.startsWith('--') || (next.length === 2 && byShort.has(next as `-${string}`))) return undefined;
    return next;
  };

  let onlyWords = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyWords || arg === '-' || !arg.startsWith('-')) {
      words.push(arg);
    } else if (arg === '--') {
      onlyWords = true;
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const flag = eq < 0 ? arg : arg.slice(0, eq);
      const o = byFlag.get(flag as `--${string}`) ?? unknownOption(spec, flag);
      let value = eq < 0 ? undefined : arg.slice(eq + 1);
      if (value === undefined && o.value !== undefined) {
        value = valueAfter(i + 1);
        if (value !== undefined) i++;
      }
      store(o, value, flag);
    } else {
      // -q, -qv, -oFILE, -o FILE: a cluster of switches, the last of which may take a value.
      for (let j = 1; j < arg.length; j++) {
        const short = `-${arg[j]}` as const;
        const o = byShort.get(short) ?? unknownOption(spec, j === 1 ? arg : short);
        if (o.value === undefined) {
          store(o, undefined, short);
          continue;
        }
        let value: string | undefined = arg.slice(j + 1);
        if (value === '') {
          value = valueAfter(i + 1);
          if (value !== undefined) i++;
        }
        store(o, value, short);
        break;
      }
    }
  }

  const positionals: Record<string, string> = {};
  const missing: string[] = [];
  spec.positionals.forEach((p, k) => {
    const w = words[k];
    if (w === undefined || w === '') {
      if (!p.optional) missing.push(p.name);
      return;
    }
    if (p.choices && !p.choices.includes(w))
      usage(`${p.name} must be one of ${p.choices.join(', ')}, not ${JSON.stringify(w)}${didYouMean(w, p.choices)}`);
    positionals[p.name] = w;
  });
  for (const o of spec.options) {
    const key = optionKey(o);
    const v = values[key];
    if (o.required && (v === undefined || v === '')) missing.push(optionLabel(o));
    // Switches are false and repeatable options [] when absent: a command never tests for undefined there.
    if (v === undefined && o.value === undefined) values[key] = false;
    else if (v === undefined && o.repeatable) values[key] = [];
  }
  if (missing.length > 0) usage(`missing ${listed(missing)}`, missing[0]);
  const extra = words[spec.positionals.length];
  if (extra !== undefined) {
    const what = spec.positionals.length === 0 ? 'takes no arguments' : `takes ${spec.positionals.map((p) => p.name).join(' ')}`;
    usage(`unexpected argument ${JSON.stringify(extra)}: airlock ${spec.name} ${what}`);
  }
  return { values, positionals } as unknown as ParsedArgs<S>;
}

function unknownOption(spec: CommandSpec, typed: string): never {
  const flags = spec.options.map((o) => o.flag.slice(2));
  // `-json` for `--json`: a single dash before a long name.
  const bare = typed.replace(/^-+/, '');
  const hint = didYouMean(bare, flags, (c) => `--${c}`);
  usage(`airlock ${spec.name} has no option ${typed}${hint}`, typed);
}

/** `a`, `a and b`, `a, b and c`. */
export function listed(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function usage(message: string, flag?: string): never {
  throw new AirlockError('USAGE', message, flag === undefined ? {} : { path: flag });
}
