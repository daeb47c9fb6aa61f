// The one place that turns a command's outcome into output and an exit code.
import { AirlockError, exitCodeFor, formatErrorLine, toAirlockError } from '../errors.js';
import { jsonWritten, type CliIO, type CommandSpec } from './command.js';
import { paintFor } from './colour.js';
import { helpText, overviewText } from './help-text.js';
import { parseCommandLine } from './parse-args.js';
import { COMMAND_NAMES, commandListing, findCommand } from './registry.js';
import { didYouMean } from './suggest.js';
import { packageVersion } from './version.js';

export interface ProcessLike {
  stdout: CliIO['stdout'];
  stderr: CliIO['stderr'];
  stdin: CliIO['stdin'];
  env: NodeJS.ProcessEnv;
  cwd(): string;
}

export async function main(argv: string[], proc: ProcessLike): Promise<number> {
  const io: CliIO = { stdout: proc.stdout, stderr: proc.stderr, stdin: proc.stdin, env: proc.env, cwd: proc.cwd() };
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout.write(overviewText(await commandListing()));
    return 0;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`airlock ${await packageVersion()}\n`);
    return 0;
  }
  const entry = findCommand(name);
  if (!entry) {
    const what = name.startsWith('-') ? `unknown option ${name} before the command` : `unknown command ${JSON.stringify(name)}`;
    return fail(io, new AirlockError('USAGE', `${what}${didYouMean(name.replace(/^-+/, ''), COMMAND_NAMES)}`), undefined, false);
  }
  const command = await entry.load();
  const spec = command.spec as CommandSpec;
  const beforeWords = rest.indexOf('--') < 0 ? rest : rest.slice(0, rest.indexOf('--'));
  if (beforeWords.includes('--help') || beforeWords.includes('-h')) {
    io.stdout.write(helpText(spec));
    return 0;
  }
  // A usage error with --json on the line is still answered as a document: a script asked for one.
  let json = beforeWords.includes('--json') && spec.options.some((o) => o.flag === '--json');
  try {
    const args = parseCommandLine(spec, rest);
    json = (args.values as Record<string, unknown>)['json'] === true;
    return await command.run(args, io);
  } catch (err) {
    return fail(io, toAirlockError(err), spec, json, err);
  }
}

/**
 * One line on stderr, `airlock: CODE: message`; with --json, the same error as a document on stdout unless the
 * command already printed its report there (verify prints a rejected bundle's report, then fails).
 */
function fail(io: CliIO, e: AirlockError, spec: CommandSpec | undefined, json: boolean, thrown?: unknown): number {
  if (json && !jsonWritten(io)) io.stdout.write(JSON.stringify({ ok: false, error: e.toJSON() }, null, 2) + '\n');
  const paint = paintFor(io.stderr, io.env);
  const hint = e.code === 'USAGE' ? (spec ? ` (airlock help ${spec.name} lists the options)` : ' (airlock help lists the commands)') : '';
  const line = formatErrorLine(e) + hint;
  const head = `airlock: ${e.code}:`;
  io.stderr.write((paint.enabled && line.startsWith(head) ? paint.bad(head) + line.slice(head.length) : line) + '\n');
  if (e.code === 'INTERNAL' && io.env.AIRLOCK_DEBUG) io.stderr.write(String((thrown as Error | undefined)?.stack) + '\n');
  return exitCodeFor(e.code);
}
