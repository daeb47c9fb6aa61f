// `airlock CMD --help` and `airlock help`, generated from the command specs. Pure.
import { OPTION_GROUPS, type CommandSpec, type OptionSpec, type PositionalSpec } from './command.js';

export const HELP_WIDTH = 100;
const LABEL_COLUMN_MAX = 30;

/** Usage forms, each starting `airlock NAME`. */
export function synopsisLines(spec: CommandSpec): string[] {
  if (spec.synopsis) return spec.synopsis.map((s) => `airlock ${spec.name} ${s}`.trimEnd());
  const words = spec.positionals.map((p) => (p.optional ? `[${p.name}]` : p.name));
  const required = spec.options.filter((o) => o.required).map((o) => helpLabel(o) + (o.repeatable ? '...' : ''));
  const rest = spec.options.some((o) => !o.required) ? ['[options]'] : [];
  return [['airlock', spec.name, ...words, ...required, ...rest].join(' ')];
}

/** What help shows for an option: `--format dir|tar`, `--trust ALLOWED_SIGNERS`, `-q, --quiet`. */
export function helpLabel(o: Pick<OptionSpec, 'flag' | 'value' | 'choices'>): string {
  if (o.value === undefined) return o.flag;
  return `${o.flag} ${o.choices && o.choices.length <= 4 ? o.choices.join('|') : o.value}`;
}

/** The option's description with what parsing enforces spelled out: required, repeatable. */
export function optionText(o: OptionSpec): string {
  const notes = [o.required ? 'required' : '', o.repeatable ? 'repeatable' : ''].filter(Boolean);
  return notes.length ? `${o.description} (${notes.join('; ')})` : o.description;
}

/** `--json`'s description names the schema its output follows. */
export function describeOption(spec: CommandSpec, o: OptionSpec): string {
  const text = optionText(o);
  return o.flag === '--json' && spec.jsonSchema ? `${text}; its schema: schema/${spec.jsonSchema}.schema.json` : text;
}

export function optionGroups(spec: CommandSpec): Array<{ group: string; options: OptionSpec[] }> {
  return OPTION_GROUPS.map((group) => ({ group, options: spec.options.filter((o) => (o.group ?? 'Options') === group) })).filter(
    (g) => g.options.length > 0,
  );
}

export function helpText(spec: CommandSpec, width = HELP_WIDTH): string {
  // A long usage form continues on lines indented past `usage: airlock NAME`.
  const indent = ' '.repeat(`usage: airlock ${spec.name} `.length);
  const usageLines = synopsisLines(spec).flatMap((s, i) =>
    wrap(s, width - indent.length).map((l, j) => (j > 0 ? indent + l : `${i === 0 ? 'usage: ' : '   or: '}${l}`)),
  );
  const out = [...usageLines, '', sentence(spec.summary)];
  for (const p of spec.description) out.push('', ...wrap(p, width));
  if (spec.positionals.length > 0) {
    out.push(
      '',
      'Arguments:',
      ...columns(
        spec.positionals.map((p) => [p.name, positionalText(p)]),
        width,
      ),
    );
  }
  const withShort = spec.options.some((o) => o.short);
  const label = (o: OptionSpec) => (o.short ? `${o.short}, ` : withShort ? '    ' : '') + helpLabel(o);
  // One label column for every group, so the descriptions line up down the whole page.
  const labelWidth = Math.max(0, ...spec.options.map((o) => label(o).length));
  for (const g of optionGroups(spec)) {
    out.push(
      '',
      `${g.group}:`,
      ...columns(
        g.options.map((o): [string, string] => [label(o), describeOption(spec, o)]),
        width,
        labelWidth,
      ),
    );
  }
  if (spec.environment?.length)
    out.push(
      '',
      'Environment:',
      ...columns(
        spec.environment.map((e) => [e.name, e.description]),
        width,
      ),
    );
  if (spec.exitStatus) out.push('', ...wrap(`Exit status: ${spec.exitStatus}`, width));
  return out.join('\n') + '\n';
}

export function positionalText(p: PositionalSpec): string {
  return p.choices ? `${p.description} (${p.choices.join(', ')})` : p.description;
}

export interface CommandListing {
  section: string;
  commands: Array<{ name: string; summary: string }>;
}

/** `airlock help`: every command by section. */
export function overviewText(sections: CommandListing[], width = HELP_WIDTH): string {
  const out = [
    'usage: airlock COMMAND [options]',
    '       airlock help COMMAND    (or airlock COMMAND --help)',
    '',
    'airlock carries NVIDIA NIM model deployments across an air gap: signed bundles, a verifying installer,',
    'and a daemon that installs and deploys what arrives.',
  ];
  const nameWidth = Math.max(...sections.flatMap((s) => s.commands.map((c) => c.name.length)));
  for (const s of sections) {
    out.push('', `${s.section}:`);
    out.push(
      ...columns(
        s.commands.map((c) => [c.name.padEnd(nameWidth), c.summary]),
        width,
      ),
    );
  }
  out.push(
    '',
    ...wrap('Exit codes: 0 ok, 1 rejected or failed, 2 usage or configuration error. Every failure prints one line, airlock: CODE: message.', width),
  );
  return out.join('\n') + '\n';
}

/** Two columns, the second wrapped; a label too wide for the column puts its text on the next line. */
export function columns(rows: Array<[string, string]>, width: number, widest = Math.max(...rows.map(([l]) => l.length))): string[] {
  const labelWidth = Math.min(LABEL_COLUMN_MAX, widest);
  const indent = 2 + labelWidth + 2;
  const out: string[] = [];
  for (const [label, text] of rows) {
    const body = wrap(text, width - indent);
    if (label.length > labelWidth) {
      out.push(`  ${label}`, ...body.map((l) => ' '.repeat(indent) + l));
      continue;
    }
    out.push(`  ${label.padEnd(labelWidth)}  ${body[0] ?? ''}`.trimEnd(), ...body.slice(1).map((l) => ' '.repeat(indent) + l));
  }
  return out;
}

/** Words filled into lines of at most `width` characters (a longer word stands alone). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function sentence(s: string): string {
  const t = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
