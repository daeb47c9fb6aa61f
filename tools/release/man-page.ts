// The man pages: airlock(1) and airlock-CMD(1) per command, generated from the same command specs as --help,
// docs/reference/ and shell completion, so no page can drift from the commands. Pure.
import type { CommandSpec, OptionSpec } from '../../src/cli/command.js';
import { describeOption, helpLabel, optionGroups, positionalText, synopsisLines, type CommandListing } from '../../src/cli/help-text.js';

export interface ManPageContext {
  version: string;
  /** YYYY-MM-DD */
  date: string;
}

export interface ManPage {
  /** `airlock-verify.1` */
  file: string;
  text: string;
}

/**
 * Plain text as roff: backslashes and minus signs escaped, anything beyond ASCII as a \[uXXXX] glyph, and a
 * leading dot or quote neutralised so no text can become a request. One call per output line.
 */
export function roffText(text: string): string {
  const escaped = text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/[^\x20-\x7e]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

const bold = (s: string) => `\\fB${roffText(s)}\\fR`;

function header(name: string, summary: string, ctx: ManPageContext): string[] {
  return [
    `.TH ${roffText(name.toUpperCase())} 1 "${ctx.date}" "airlock ${roffText(ctx.version)}" "User Commands"`,
    '.SH NAME',
    `${roffText(name)} \\- ${roffText(summary)}`,
  ];
}

function optionEntry(spec: CommandSpec, o: OptionSpec): string[] {
  const label = helpLabel(o);
  const [flag, ...value] = label.split(' ');
  const names = [...(o.short ? [bold(o.short)] : []), `${bold(flag!)}${value.length ? ` \\fI${roffText(value.join(' '))}\\fR` : ''}`];
  return ['.TP', names.join(', '), roffText(describeOption(spec, o))];
}

export function commandManPage(spec: CommandSpec, ctx: ManPageContext): ManPage {
  const name = `airlock-${spec.name}`;
  const out = [...header(name, spec.summary, ctx), '.SH SYNOPSIS', '.nf'];
  for (const line of synopsisLines(spec)) {
    const rest = line.slice(`airlock ${spec.name}`.length).trim();
    out.push(`${bold(`airlock ${spec.name}`)}${rest ? ` ${roffText(rest)}` : ''}`);
  }
  out.push('.fi', '.SH DESCRIPTION');
  spec.description.forEach((p, i) => out.push(...(i > 0 ? ['.PP'] : []), roffText(p)));
  if (spec.positionals.length > 0) {
    out.push('.SH ARGUMENTS');
    for (const p of spec.positionals) out.push('.TP', `\\fI${roffText(p.name)}\\fR`, roffText(positionalText(p)));
  }
  if (spec.options.length > 0) {
    out.push('.SH OPTIONS');
    for (const g of optionGroups(spec)) out.push(`.SS ${roffText(g.group)}`, ...g.options.flatMap((o) => optionEntry(spec, o)));
    out.push('.TP', `${bold('-h')}, ${bold('--help')}`, 'print this text and exit');
  }
  if (spec.jsonSchema) {
    out.push(
      '.SH JSON OUTPUT',
      roffText(
        `With --json, stdout holds one document following schema/${spec.jsonSchema}.schema.json; a failure is {"ok": false, "error": {...}} (schema/cli-error.schema.json), with the same code on stderr.`,
      ),
    );
  }
  if (spec.environment?.length) {
    out.push('.SH ENVIRONMENT');
    for (const e of spec.environment) out.push('.TP', bold(e.name), roffText(e.description));
  }
  out.push('.SH EXIT STATUS', roffText(spec.exitStatus ?? '0 on success, 1 when the command failed, 2 for a usage or configuration error.'));
  if (spec.examples?.length) {
    out.push('.SH EXAMPLES');
    spec.examples.forEach((e, i) => out.push(...(i > 0 ? ['.PP'] : []), roffText(e.description), '.PP', '.RS', '.nf', roffText(e.command), '.fi', '.RE'));
  }
  out.push('.SH SEE ALSO', seeAlso(['airlock', ...(spec.seeAlso ?? []).map((n) => `airlock-${n}`)]));
  return { file: `${name}.1`, text: out.join('\n') + '\n' };
}

/** `.BR a (1), .BR b (1)` as one line of roff. */
function seeAlso(pages: string[]): string {
  return pages.map((p, i) => `\\fB${roffText(p)}\\fR(1)${i < pages.length - 1 ? ',' : ''}`).join('\n');
}

/** airlock(1): the commands by section, what they share, the files of an installation. */
export function overviewManPage(sections: CommandListing[], ctx: ManPageContext): ManPage {
  const out = [
    ...header('airlock', 'carry NVIDIA NIM model deployments across an air gap', ctx),
    '.SH SYNOPSIS',
    '.nf',
    `${bold('airlock')} \\fICOMMAND\\fR [\\fIoptions\\fR]`,
    `${bold('airlock help')} \\fICOMMAND\\fR`,
    `${bold('airlock')} \\fICOMMAND\\fR ${bold('--help')}`,
    '.fi',
    '.SH DESCRIPTION',
    roffText(
      'airlock packs, signs, verifies and installs NIM model bundles, and its daemon installs and deploys the bundles that arrive in its drop folders or on removable media. Each command has its own page, airlock-COMMAND(1).',
    ),
    '.SH COMMANDS',
  ];
  for (const s of sections) {
    out.push(`.SS ${roffText(s.section)}`);
    for (const c of s.commands) out.push('.TP', `${bold(`airlock ${c.name}`)}`, roffText(c.summary));
  }
  out.push(
    '.SH COMMON BEHAVIOUR',
    roffText(
      'Every failure prints one line on stderr, airlock: CODE: message, where CODE is a stable name (docs/reference/ and docs/security.md list them). With --json, stdout holds one JSON document, the report or {"ok": false, "error": {...}}. A mistyped option is named with the one that was probably meant. -q or --quiet silences progress. BUNDLE - reads a tar from standard input for verify, inspect and install.',
    ),
    '.SH ENVIRONMENT',
    '.TP',
    bold('NO_COLOR'),
    roffText('set to anything: no colour, even on a terminal (colour is never used when the output is not a terminal)'),
    '.TP',
    bold('AIRLOCK_CONFIG'),
    roffText('the config file when --config is not given (then /etc/airlock/config.json, then the embedded quick-start config)'),
    '.TP',
    bold('AIRLOCK_URL'),
    roffText('the daemon API for airlock status'),
    '.TP',
    bold('DOCKER_HOST'),
    roffText('the Docker Engine fetch, pack --image, deploy, stop and doctor use'),
    '.SH EXIT STATUS',
    roffText('0 ok, 1 rejected or failed, 2 usage or configuration error.'),
    '.SH FILES',
    '.TP',
    '.I /etc/airlock/config.json',
    'the daemon configuration (schema: /opt/airlock/schema/config.schema.json)',
    '.TP',
    '.I /etc/airlock/allowed_signers',
    'the keys whose signatures the daemon accepts (OpenSSH allowed_signers format)',
    '.TP',
    '.I /var/lib/airlock',
    'the store, the daemon state and its audit log, the API token',
    '.TP',
    '.I /var/spool/airlock/drop',
    'the drop folder (group airlock\\-operators may write)',
    '.SH SEE ALSO',
    seeAlso(sections.flatMap((s) => s.commands.filter((c) => c.name !== 'help').map((c) => `airlock-${c.name}`))) + ',',
    '\\fBssh\\-keygen\\fR(1), \\fBsystemctl\\fR(1)',
  );
  return { file: 'airlock.1', text: out.join('\n') + '\n' };
}

/** Every page: airlock(1), then one per documented command. */
export function manPages(specs: readonly CommandSpec[], sections: CommandListing[], ctx: ManPageContext): ManPage[] {
  return [overviewManPage(sections, ctx), ...specs.filter((s) => s.name !== 'help').map((s) => commandManPage(s, ctx))];
}
